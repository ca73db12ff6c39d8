"""Deciding what to run: given the migration files and the history rows, which steps a command
takes, in which order and batch, or a PlanError saying exactly why not.

Pure: no database, no files, no output. Every ordering rule is a unit test away.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlmig.core.files import FILE_NAME, Migration
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.states import State, state_of, version_text
from sqlmig.errors import MigrationFileError, PlanError, counted

# How the history row of a no-transaction migration whose down stopped halfway begins its
# error: `rolling back` while the down runs (left behind if its process died), `rollback
# failed at ...` once a statement of it failed. Its objects are still (partly) there, so
# repair must make it applied again, not pending.
ROLLING_BACK = "rolling back"
ROLLBACK_FAILED = "rollback failed"


class Applied(NamedTuple):
    """One row of the history table."""

    version: int
    name: str
    checksum: str
    batch: int
    applied_at: datetime | None = None
    execution_ms: int | None = None
    applied_by: str | None = None
    state: str = "applied"  # or 'running' / 'failed': a no-transaction migration stopped halfway
    baseline: bool = False
    error: str | None = None
    script: str | None = None  # the up file's text when it was applied, if kept
    adopted: str | None = None  # the tool that applied it, when `sqlmig adopt` recorded it

    @property
    def id(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Applied:
        """A history row, its values in the order of the fields (TypeError: not as many)."""
        return cls._make(row)

    @property
    def down_stopped(self) -> bool:
        """A no-transaction rollback of this migration failed or was cut off halfway."""
        return self.state != "applied" and (self.error or "").startswith(
            (ROLLING_BACK, ROLLBACK_FAILED)
        )


# Applied's fields in order: pg/db.py reads the history's columns in this order
APPLIED_FIELDS = Applied._fields


def applied_from_json(rows: list[list[Any]]) -> list[Applied]:
    """History rows read as a JSON array of arrays (in APPLIED_FIELDS' order): the time
    comes as ISO text."""
    at = APPLIED_FIELDS.index("applied_at")
    for row in rows:
        if row[at] is not None:
            row[at] = datetime.fromisoformat(row[at])
    return [Applied._make(row) for row in rows]


class Step(NamedTuple):
    migration: Migration
    direction: Literal["up", "down"]
    batch: int | None = None  # the batch an up step is recorded in

    @property
    def file(self) -> SqlFile:
        """The file the step executes: the up file, or the down file (planning never rolls
        back a migration without one)."""
        chosen = self.migration.up if self.direction == "up" else self.migration.down
        assert chosen is not None, "planner never rolls back an irreversible migration"
        return chosen

    @property
    def transactional(self) -> bool:
        """Whether the step runs inside a transaction, committed with its history row. Not
        when its file says `-- sqlmig:no-transaction`: CREATE INDEX CONCURRENTLY and friends
        cannot run in one, so such a file runs statement by statement in autocommit mode."""
        return "no-transaction" not in self.file.directives


class StatusRow(NamedTuple):
    version: int
    name: str
    state: State
    applied: Applied | None = None
    migration: Migration | None = None
    problem: str | None = None  # State.PROBLEM: what is wrong with its files

    @property
    def id(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def shown_version(self) -> str:
        """The version as its files write it (padded to four digits without files)."""
        return version_text(self.version, self.migration.digits if self.migration else "")


def status(files: Sequence[Migration], applied: Sequence[Applied],
           problems: Sequence[MigrationFileError] = ()) -> list[StatusRow]:
    """Every version known to files or history, in version order, with its state. A file
    that is no migration as it is (`problems` from files.scan) is still a row, marked with
    what is wrong, when its name gives its version."""
    by_version = {m.version: m for m in files}
    history = {a.version: a for a in applied}
    broken: dict[int, tuple[str, str]] = {}
    for problem in problems:
        named = FILE_NAME.match(problem.path.name)
        if named is not None and int(named["version"]) not in by_version:
            broken.setdefault(int(named["version"]), (named["name"], problem.message))
    rows = []
    for version in sorted(by_version.keys() | history.keys() | broken.keys()):
        migration, row = by_version.get(version), history.get(version)
        if version in broken:
            name, message = broken[version]
            rows.append(StatusRow(version, name, State.PROBLEM, row, None, message))
        elif migration is not None:
            state = state_of(migration.checksum, row.state, row.checksum) if row else State.PENDING
            rows.append(StatusRow(version, migration.name, state, row, migration))
        else:
            assert row is not None
            rows.append(StatusRow(version, row.name, state_of(None, row.state, row.checksum),
                                  row, None))
    return rows


def next_batch(applied: Sequence[Applied]) -> int:
    return max((a.batch for a in applied), default=0) + 1


def out_of_order(
    todo: Sequence[Migration], newest: int | None, *, allowed: bool = False
) -> str | None:
    """Why the pending migrations `todo` may not run: some are older than `newest`, the
    newest applied version. Refused unless allowed: teams merge branches, and silently
    applying an old migration after newer ones hides a real ordering question. None when
    nothing is out of order."""
    if allowed or newest is None:
        return None
    late = [m.id for m in todo if m.version < newest]
    if not late:
        return None
    return (f"{', '.join(late)} is pending but older than the newest applied migration "
            f"({newest:04d}); renumber it above {newest:04d} or allow out-of-order "
            "migrations (--allow-out-of-order)")


def pending(
    files: Sequence[Migration], applied: Sequence[Applied], *, allow_out_of_order: bool = False
) -> list[Migration]:
    """Unapplied migrations in version order; a PlanError if some would run out of order
    (see out_of_order)."""
    done = {a.version for a in applied}
    todo = sorted((m for m in files if m.version not in done), key=lambda m: m.version)
    refusal = out_of_order(todo, max(done, default=None), allowed=allow_out_of_order)
    if refusal:
        raise PlanError(refusal)
    return todo


def after_target(
    files: Sequence[Migration], applied: Sequence[Applied], to: int | None, *,
    allow_out_of_order: bool = False,
) -> list[Migration]:
    """The pending migrations `--to` leaves for later (none without a target)."""
    if to is None:
        return []
    todo = pending(files, applied, allow_out_of_order=allow_out_of_order)
    return [m for m in todo if m.version > to]


def nothing_to_migrate(to: int | None, later: Sequence[Migration]) -> str:
    """What migrate and plan say when there is nothing to apply: up to date, or only
    migrations after the target are pending."""
    if not later or to is None:
        return "nothing to migrate: the database is up to date"
    return (f"nothing to apply up to {to:04d}; {counted(len(later), 'pending migration')} "
            "after it")


def refuse_seeding(files: Sequence[Migration], applied: Sequence[Applied]) -> None:
    """Seeds expect the latest schema: refuse while a migration is pending or stopped
    halfway."""
    waiting = [row.id for row in status(files, applied)
               if row.state in (State.PENDING, State.FAILED)]
    if waiting:
        raise PlanError(
            f"{counted(len(waiting), 'migration')} not applied ({', '.join(waiting[:5])}"
            f"{', …' if len(waiting) > 5 else ''}): seeds expect the latest schema; run "
            "`sqlmig migrate` first (or `sqlmig setup`)"
        )


def _known_version(files: Sequence[Migration], applied: Sequence[Applied], version: int) -> None:
    if version == 0:
        return
    if not any(m.version == version for m in files) and not any(
        a.version == version for a in applied
    ):
        raise PlanError(f"version {version} is not a known migration (see `sqlmig status`)")


def plan_migrate(
    files: Sequence[Migration],
    applied: Sequence[Applied],
    *,
    to: int | None = None,
    allow_out_of_order: bool = False,
    single_transaction: bool = False,
) -> list[Step]:
    """Apply everything pending (up to and including `to`) as one new batch; with
    `single_transaction`, all in one transaction (see check_single_transaction)."""
    if to is not None:
        _known_version(files, applied, to)
    batch = next_batch(applied)
    todo = pending(files, applied, allow_out_of_order=allow_out_of_order)
    steps = [Step(m, "up", batch) for m in todo if to is None or m.version <= to]
    check_requires_for_up(steps, applied)
    if single_transaction:
        check_single_transaction(steps)
    return steps


def plan_up(
    files: Sequence[Migration],
    applied: Sequence[Applied],
    count: int = 1,
    *,
    allow_out_of_order: bool = False,
) -> list[Step]:
    """Apply the next `count` pending migrations as one new batch."""
    if count < 1:
        raise PlanError(f"up needs a positive number of migrations, got {count}")
    batch = next_batch(applied)
    todo = pending(files, applied, allow_out_of_order=allow_out_of_order)
    steps = [Step(m, "up", batch) for m in todo[:count]]
    check_requires_for_up(steps, applied)
    return steps


def plan_rollback(
    files: Sequence[Migration],
    applied: Sequence[Applied],
    *,
    steps: int | None = None,
    to: int | None = None,
    everything: bool = False,
) -> list[Step]:
    """Undo, newest version first: the last batch by default, or the last `steps` migrations,
    or every migration above version `to`, or all of them. Refuses before anything runs if
    one of them is irreversible or its files are gone."""
    chosen = [k for k in (steps is not None, to is not None, everything) if k]
    if len(chosen) > 1:
        raise PlanError("choose one of --steps, --to and --all")
    newest_first = sorted(applied, key=lambda a: a.version, reverse=True)
    if steps is not None:
        if steps < 1:
            raise PlanError(f"--steps needs a positive number, got {steps}")
        undo = newest_first[:steps]
    elif to is not None:
        _known_version(files, applied, to)
        # --to 0 is "all": a 0000_* migration is undone too, not kept as if it were the target
        undo = [a for a in newest_first if a.version > to or to == 0]
    elif everything:
        undo = newest_first
    else:
        last = max((a.batch for a in applied), default=None)
        undo = [a for a in newest_first if a.batch == last]

    by_version = {m.version: m for m in files}
    plan: list[Step] = []
    for row in undo:
        migration = by_version.get(row.version)
        if migration is None:
            raise PlanError(
                f"cannot roll back {row.id}: its files are missing from the migrations directory; "
                "restore them (e.g. from version control) first"
            )
        if migration.irreversible:
            done = ", ".join(s.migration.id for s in plan) or "nothing"
            above = f"--to {row.version}" if row.version else f"--steps {len(plan)}"
            raise PlanError(
                f"cannot roll back {migration.id}: it is marked sqlmig:irreversible; "
                f"roll back only the migrations above it (`sqlmig rollback {above}`, "
                f"which would undo {done}). Nothing was rolled back"
            )
        plan.append(Step(migration, "down"))
    check_requires_for_down(plan, files, applied)
    return plan


def plan_redo(files: Sequence[Migration], applied: Sequence[Applied]) -> list[Step]:
    """Roll back the newest applied migration and apply it again, in its original batch."""
    down = plan_rollback(files, applied, steps=1)
    if not down:
        raise PlanError("nothing to redo: no migration has been applied")
    newest = max(applied, key=lambda a: a.version)
    return [down[0], Step(down[0].migration, "up", newest.batch)]


def check_requires_for_up(steps: Sequence[Step], applied: Sequence[Applied]) -> None:
    """Every `-- sqlmig:requires` of an up step is applied already or runs earlier."""
    available = {a.version for a in applied}
    for step in steps:
        missing = [v for v in step.migration.requires if v not in available]
        if missing:
            names = ", ".join(f"{v:04d}" for v in missing)
            raise PlanError(
                f"{step.migration.id} requires {names}, which is not applied and not in this run"
            )
        available.add(step.migration.version)


def check_single_transaction(steps: Sequence[Step]) -> None:
    """Refuse to run steps in one transaction when one of them cannot run inside any."""
    blocking = [s.migration.id for s in steps if not s.transactional]
    if blocking:
        raise PlanError(
            f"--single-transaction cannot include no-transaction migrations: "
            f"{', '.join(blocking)}; run without --single-transaction"
        )


def check_requires_for_down(
    steps: Sequence[Step], files: Sequence[Migration], applied: Sequence[Applied]
) -> None:
    """Refuse to roll back a migration that a migration staying applied requires."""
    undone = {s.migration.version for s in steps if s.direction == "down"}
    staying = {a.version for a in applied} - undone
    for migration in files:
        if migration.version not in staying:
            continue
        blocked = [v for v in migration.requires if v in undone]
        if blocked:
            raise PlanError(
                f"cannot roll back {', '.join(f'{v:04d}' for v in blocked)}: "
                f"{migration.id} requires it and stays applied; roll back {migration.id} too "
                f"(e.g. `sqlmig rollback --to {min(blocked) - 1}`)"
            )


class Problem(NamedTuple):
    """One inconsistency between files and history, as `verify` reports it."""

    kind: str  # file | changed | missing | out_of_order | failed | invalid_index
    message: str
    version: int | None = None
    recorded: str | None = None  # checksum in history (kind 'changed')
    current: str | None = None  # checksum of the file now (kind 'changed')


def verify(
    files: Sequence[Migration],
    applied: Sequence[Applied],
    *,
    file_problems: Sequence[Exception] = (),
    allow_out_of_order: bool = False,
) -> list[Problem]:
    """Everything that makes files and history disagree, in version order."""
    problems = [Problem("file", str(err)) for err in file_problems]
    newest = max((a.version for a in applied), default=None)
    for row in status(files, applied):
        if row.state is State.CHANGED:
            assert row.applied is not None and row.migration is not None
            problems.append(Problem(
                "changed",
                f"{row.id} was applied with checksum {row.applied.checksum[:12]}, the file now "
                f"has {row.migration.checksum[:12]}: revert the edit, or accept it with "
                f"`sqlmig repair --accept {row.version}`",
                row.version, row.applied.checksum, row.migration.checksum,
            ))
        elif row.state is State.MISSING:
            problems.append(Problem(
                "missing",
                f"{row.id} is applied but its files are missing; restore them "
                "(e.g. from version control)",
                row.version,
            ))
        elif row.state is State.FAILED and row.applied is not None \
                and row.applied.down_stopped:
            reason = row.applied.error
            if reason == ROLLING_BACK:
                reason = "its process died while it was rolling back"
            problems.append(Problem(
                "failed",
                f"the rollback of {row.id} did not finish ({reason}); finish its down by hand "
                "and run `sqlmig repair`, or run `sqlmig repair` (it becomes applied again) "
                "and roll it back again",
                row.version,
            ))
        elif row.state is State.FAILED:
            assert row.applied is not None
            reason = row.applied.error or "its process died while it was running"
            problems.append(Problem(
                "failed",
                f"{row.id} did not finish ({reason}); fix the database by hand, then run "
                "`sqlmig repair`",
                row.version,
            ))
        elif row.state is State.PENDING and row.migration is not None and (
            refusal := out_of_order([row.migration], newest, allowed=allow_out_of_order)
        ):
            problems.append(Problem("out_of_order", refusal, row.version))
    return problems


def plan_baseline(
    files: Sequence[Migration], applied: Sequence[Applied], version: int
) -> list[Migration]:
    """The migrations to record as applied, without running them, when adopting a database:
    every file numbered `version` or lower (`version` need not be a file's: a database at
    release 12 is adopted with --version 12 whatever the files are numbered)."""
    if applied:
        raise PlanError(
            f"baseline needs an empty history, but {counted(len(applied), 'migration')} "
            f"{'is' if len(applied) == 1 else 'are'} recorded; "
            "baseline is only for adopting an existing database"
        )
    if version < 0:
        raise PlanError(f"baseline --version must be 0 or more, got {version}")
    chosen = sorted((m for m in files if m.version <= version), key=lambda m: m.version)
    if not chosen:
        first = min((m.id for m in files), default=None)
        raise PlanError(f"baseline --version {version}: no migration file is numbered {version} "
                        f"or lower ({f'the first is {first}' if first else 'there are none'})")
    return chosen


def covers(chosen: Sequence[Migration], version: int) -> str:
    """`0001_a to 0007_g, every file numbered 12 or lower` for baseline's messages."""
    span = chosen[0].id if len(chosen) == 1 else f"{chosen[0].id} to {chosen[-1].id}"
    return f"{span}, every file numbered {version} or lower"


class Repair(NamedTuple):
    accept: list[tuple[Applied, Migration]]  # record the file's current checksum
    remove: list[Applied]  # failed/running ups, removed after a manual fix: pending again
    restore: list[Applied]  # stopped downs: applied again


def plan_repair(files: Sequence[Migration], applied: Sequence[Applied], *,
                accept: Sequence[int] = (), all_changed: bool = False) -> Repair:
    """What `repair` changes: failed ups are removed (pending again), failed downs are applied
    again (their objects are still there, so a rollback can be rerun); checksums are accepted
    only when asked."""
    rows = {row.version: row for row in status(files, applied)}
    changed = [r for r in rows.values() if r.state is State.CHANGED]
    chosen = list(changed) if all_changed else []
    for version in accept:
        row = rows.get(version)
        if row is None or row.applied is None:
            raise PlanError(f"repair --accept {version}: no applied migration has that version")
        if row.state is not State.CHANGED:
            raise PlanError(f"repair --accept {version}: {row.id} is {row.state}, not "
                            "changed; nothing to accept")
        if row not in chosen:
            chosen.append(row)
    failed = [r.applied for r in rows.values() if r.state is State.FAILED and r.applied]
    return Repair(
        accept=[(r.applied, r.migration) for r in chosen if r.applied and r.migration],
        remove=[a for a in failed if not a.down_stopped],
        restore=[a for a in failed if a.down_stopped],
    )
