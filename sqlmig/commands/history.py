"""The commands that read or mend the history rather than run migrations: status, verify,
repair, baseline; and the project's configuration: config. Each returns what it found or changed
as data; the read commands take no lock and create nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlmig.commands.common import Confirm, connection_url, current_schema_text, guard
from sqlmig.core import files, plan
from sqlmig.core.config import Settings, explain
from sqlmig.core.files import Migration
from sqlmig.core.plan import Applied, Problem
from sqlmig.core.status import InvalidIndex, Status
from sqlmig.errors import invalid_index_problem
from sqlmig.pg import connection, db
from sqlmig.pg.session import locked_session, record_baseline, repair_history
from sqlmig.reporting import Reporter


@dataclass(frozen=True)
class Edit:
    """An applied migration whose file was edited since: its text as applied (None when the
    history did not keep it) and as the file reads now."""

    name: str
    applied: str | None
    current: str


@dataclass(frozen=True)
class Verification:
    """What verify found: every problem in version order (INVALID indexes last) and, when
    asked for, the edit behind each `changed` problem, by version."""

    problems: list[Problem]
    edits: dict[int, Edit] = field(default_factory=dict)
    offline: bool = False  # the files alone: no history was read
    files: int = 0  # migrations found in the folder
    applied: int = 0  # history rows read

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class HistoryChanges:
    """The history records a command wrote, one line each; `nothing` says so when there
    are none."""

    changes: list[str]
    nothing: str


@dataclass(frozen=True)
class RepairResult(HistoryChanges):
    """Also the INVALID indexes left in the database: a rerun of their migration with
    IF NOT EXISTS would skip them."""

    invalid: list[InvalidIndex] = field(default_factory=list)


class ConfigValue(NamedTuple):
    """One resolved setting and where it came from (flag, environment variable, .env,
    config file, default)."""

    key: str
    value: Any
    source: str


def _stale_schema_file(settings: Settings, url: str, conn: Any) -> str | None:
    path = settings.root / settings.schema_file
    current = current_schema_text(settings, url, conn)
    if path.is_file() and path.read_text(encoding="utf-8") == current:
        return None
    return (f"warning: {settings.schema_file} is stale (it does not match the database); "
            "run `sqlmig dump` and commit it")


def status(settings: Settings, reporter: Reporter) -> Status:
    """Every migration: applied, pending, changed (checksum differs), missing (file gone) or
    failed (stopped halfway); the INVALID indexes (an interrupted CONCURRENTLY)."""
    # no down file is read: a broken one is for verify and rollback to report; a file that
    # is no migration as it is becomes a row marked with its problem, never a failed status
    scan = files.scan(settings.migrations_dir, defer_downs=True, cache=settings.cache_dir)
    if not settings.migrations_dir.is_dir():
        raise scan.problems[0]
    url = connection_url(settings, reporter)
    history = db.History(settings.schema, settings.table)
    # no lock, nothing created: status must work on a database sqlmig has never touched,
    # and while a migration runs
    with connection.open_link(url, settings=settings) as link:
        conn = link.conn
        applied = history.read(link)
        invalid = db.invalid_indexes(conn)
        exists = bool(applied) or history.exists(link)
        stale = _stale_schema_file(settings, url, conn) if settings.dump_schema else None
    rows = plan.status(scan.migrations, applied, scan.problems)
    return Status(settings.env, connection.describe_target(url), rows, invalid, exists, stale,
                  scan.problems)


def verify(settings: Settings, reporter: Reporter, *, diff: bool = False,
           offline: bool = False) -> Verification:
    """Files against history: edited applied migrations (checksum drift), missing files,
    duplicates, out-of-order pending migrations, missing down files, failed migrations; and
    the database's INVALID indexes; and everything a run would refuse in the files.
    `offline`: the files alone, no database. `diff`: keep each edit's two texts."""
    from sqlmig.core.checks import offline_problems  # pglast's checks: not for status

    scan = files.scan(settings.migrations_dir)
    applied: list[Applied] = []
    invalid: list[InvalidIndex] = []
    scan.problems.extend(offline_problems(scan.migrations))
    if not offline:
        url = connection_url(settings, reporter)
        with connection.open_link(url, settings=settings) as link:  # no lock: as status
            applied = db.History(settings.schema, settings.table).read(link, scripts=True)
            invalid = db.invalid_indexes(link.conn)
    problems = plan.verify(
        scan.migrations, applied, file_problems=scan.problems,
        allow_out_of_order=settings.allow_out_of_order,
    ) + [Problem("invalid_index", invalid_index_problem(i.name, i.table)) for i in invalid]
    edits = _edits(problems, scan.migrations, applied) if diff else {}
    return Verification(problems, edits, offline, len(scan.migrations), len(applied))


def _edits(problems: list[Problem], migrations: list[Migration], applied: list[Applied]
           ) -> dict[int, Edit]:
    scripts = {a.version: a.script for a in applied}
    by_version = {m.version: m for m in migrations}
    return {
        p.version: Edit(by_version[p.version].id, scripts.get(p.version),
                        by_version[p.version].up.text)
        for p in problems
        if p.kind == "changed" and p.version is not None and p.version in by_version
    }


def repair(
    settings: Settings,
    reporter: Reporter,
    *,
    accept: Sequence[int] = (),
    all_changed: bool = False,
    yes: bool = False,
    confirm: Confirm = None,
) -> RepairResult:
    """Mend the history after a manual fix: remove failed records (so the migration is
    pending again) and, only when asked, accept edited files' checksums (the versions in
    `accept`, or with `all_changed` every one). Rewriting the history is guarded as a
    destructive command (see common.guard)."""
    url = connection_url(settings, reporter)
    with locked_session(settings, url, reporter) as session:
        fixes = plan.plan_repair(session.migrations, session.applied, accept=accept,
                                 all_changed=all_changed)
        count = len(fixes.remove) + len(fixes.accept) + len(fixes.restore)
        if count:
            guard(session, reporter, "repair",
                  f"rewrites {count} history record{'s' * (count != 1)}", yes=yes,
                  confirm=confirm)
        changes = repair_history(session, fixes)
        invalid = db.invalid_indexes(session.conn)
    return RepairResult(changes, "nothing to repair: no failed records, no checksums to accept",
                        invalid)


def baseline(settings: Settings, reporter: Reporter, version: int, *, yes: bool = False,
             confirm: Confirm = None) -> HistoryChanges:
    """Adopt an existing database: record every migration numbered `version` or lower (a
    file of that number or not) as applied (batch 0, flagged baseline) without running
    them. Refuses unless the history is empty; guarded as a destructive command (see
    common.guard)."""
    url = connection_url(settings, reporter)
    with locked_session(settings, url, reporter) as session:
        chosen = plan.plan_baseline(session.migrations, session.applied, version)
        if chosen:
            guard(session, reporter, "baseline",
                  f"records {len(chosen)} migration{'s' * (len(chosen) != 1)} "
                  f"({plan.covers(chosen, version)}) as applied without running them",
                  yes=yes, confirm=confirm)
        changes = record_baseline(session, chosen)
    return HistoryChanges(changes, "nothing to baseline")


def config(settings: Settings) -> list[ConfigValue]:
    """Every resolved setting of `settings.env` and where its value came from; passwords
    hidden."""
    return [ConfigValue(*row) for row in explain(settings)]
