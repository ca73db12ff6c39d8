"""`sqlmig check`: prove on a scratch database that every down reverses its up.

For each migration in order: snapshot, up, down, snapshot, require equality, up again. Then
roll the whole chain back and require the schema we started from. The scratch database is
created beside the target (`sqlmig_check_<random>`) and dropped afterwards, or given.
Stops at the first failure, or (keep_going) goes on from the schema the migration's up made,
on a new scratch database if need be. Column order alone is set apart: a warning, or with
`strict` a failure. Never touches the target database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from sqlmig import engine
from sqlmig.core.config import Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Step
from sqlmig.errors import ConnectionFailed, Interrupted, MigrationFailed, counted
from sqlmig.pg import catalog, connection, db
from sqlmig.pg.session import Session
from sqlmig.reporting import SilentReporter


@dataclass(frozen=True)
class MigrationCheck:
    migration: Migration
    up_ms: int
    down_ms: int | None  # None: irreversible (not round-tripped), or its down failed
    # what up + down changed, column order aside
    differences: list[catalog.Difference] = field(default_factory=list)
    # columns the migration dropped and added again, now at another position
    moved: list[catalog.Difference] = field(default_factory=list)
    error: str | None = None  # its down, or its up applied again, failed on the server

    @property
    def result(self) -> str:
        """ok, fails, column order (only the order of columns differs) or irreversible."""
        if self.differences or self.error is not None:
            return "fails"
        if self.migration.irreversible:
            return "irreversible"
        return "column order" if self.moved else "ok"

    def fails(self, strict: bool) -> bool:
        return self.result == "fails" or (strict and self.result == "column order")


@dataclass
class CheckReport:
    checks: list[MigrationCheck] = field(default_factory=list)
    strict: bool = False  # a change of column order fails too
    leftovers: list[catalog.Difference] = field(default_factory=list)  # after all the way down
    stopped_at: str | None = None  # an irreversible migration the full rollback stopped at
    rollback_error: str | None = None  # a down that failed in the full rollback (--keep-going)
    halted: str | None = None  # why --keep-going could not carry on
    # the migrations after whose bad down --keep-going went on from a new scratch database
    restarted: list[str] = field(default_factory=list)
    unchecked: list[Migration] = field(default_factory=list)  # after where the check stopped

    @property
    def failures(self) -> list[MigrationCheck]:
        return [c for c in self.checks if c.fails(self.strict)]

    @property
    def warnings(self) -> list[MigrationCheck]:
        """Round trips that changed only the order of columns: not failures unless strict."""
        return [c for c in self.checks if c.result == "column order" and not self.strict]

    @property
    def ok(self) -> bool:
        return not (self.failures or self.leftovers or self.rollback_error or self.halted)


def split_column_order(
    differences: list[catalog.Difference], numbers_before: dict[str, int],
    numbers_after: dict[str, int],
) -> tuple[list[catalog.Difference], list[catalog.Difference]]:
    """(what differs, the columns moved). A column dropped and added again comes back last,
    with a new attribute number; the columns after its old place move up one, keeping
    theirs: only the first kind was touched, so only it is named."""
    rest, moved = [], []
    for difference in differences:
        if difference.kind == "column" and difference.attribute == "position":
            if numbers_before.get(difference.name) != numbers_after.get(difference.name):
                moved.append(difference)
        else:
            rest.append(difference)
    return rest, moved


SCRATCH_PREFIX = "sqlmig_check_"
# A scratch database's name carries the server's clock at its creation: another check's
# database, between its CREATE and its first connection, has no session yet and must not
# pass for one a killed check left behind.
SCRATCH_NAME = re.compile(rf"^{SCRATCH_PREFIX}(?P<created>[0-9]+)_[0-9a-f]+$")
STALE_AFTER = 60  # seconds


@contextmanager
def scratch_databases(
    url: str, on_notice: Callable[[str], None] = lambda message: None
) -> Iterator[Callable[[], str]]:
    """Makes new databases on the same server as `url`, each call one (and dropping the one
    before: a check uses one at a time); the last is dropped afterwards whatever happens.
    Those that a killed check left behind are dropped first (and named through `on_notice`)."""
    made: list[str] = []

    def new() -> str:
        try:
            admin = psycopg.connect(url, autocommit=True, application_name="sqlmig")
        except psycopg.Error as err:
            target = connection.describe_target(url)
            raise ConnectionFailed(f"cannot connect to {target}: {err}") from None
        with admin:
            now = _clock(admin) if made else drop_stale_scratch_databases(admin, on_notice)
            if made:
                _drop(admin, made.pop())
            name = f"{SCRATCH_PREFIX}{now}_{uuid.uuid4().hex[:8]}"
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.Error as err:
                raise ConnectionFailed(
                    f"cannot create the scratch database {name} on "
                    f"{connection.describe_target(url)}: "
                    f"{(err.diag.message_primary or str(err)).strip()}; pass --scratch-url"
                ) from None
            made.append(name)
        return make_conninfo(url, dbname=name)

    try:
        yield new
    finally:
        if made:
            with psycopg.connect(url, autocommit=True) as admin:
                _drop(admin, made.pop())


def _drop(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _clock(admin: psycopg.Connection) -> int:
    """The server's clock, in epoch seconds."""
    clock = admin.execute("SELECT extract(epoch FROM now())::bigint").fetchone()
    return int(clock[0]) if clock else 0


def drop_stale_scratch_databases(
    admin: psycopg.Connection, on_notice: Callable[[str], None]
) -> int:
    """Drop the scratch databases no session uses that are older than STALE_AFTER (or named
    by an older sqlmig, without a time); returns the server's clock, in epoch seconds."""
    now = _clock(admin)
    unused = admin.execute(
        "SELECT d.datname FROM pg_database d WHERE starts_with(d.datname, %s) "
        "AND NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.datid = d.oid) ORDER BY 1",
        (SCRATCH_PREFIX,),
    ).fetchall()
    for (name,) in unused:
        match = SCRATCH_NAME.match(name)
        if match and now - int(match["created"]) < STALE_AFTER:
            continue
        try:  # no FORCE: a session that connected meanwhile keeps its database
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        except psycopg.Error as err:
            reason = (err.diag.message_primary or str(err)).strip()
            on_notice(f"note: could not drop {name}, left behind by an interrupted check: "
                      f"{reason}")
            continue
        on_notice(f"dropped {name}, a scratch database left behind by an interrupted check")
    return now


def run_check(
    settings: Settings,
    migrations: list[Migration],
    url: str,
    on_result: Callable[[MigrationCheck], None] = lambda check: None,
    *,
    keep_going: bool = False,
    strict: bool = False,
    renew: Callable[[], str] | None = None,
) -> CheckReport:
    """Round-trip every migration on the (empty) database at `url`; stop at the first down
    that does not reverse its up (with `strict`, that changes the order of columns), or with
    `keep_going` check them all. `renew` gives a new empty database, where a check that
    keeps going starts again when a bad down left a state its up cannot be applied on."""
    run = _Run(settings, migrations, url, renew, keep_going=keep_going)
    try:
        return run.check(on_result, strict=strict)
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(f"check interrupted; it ran only on {run.scratch()}, the target "
                          "database was not touched") from None
    except MigrationFailed as failure:
        # its notes are about a target database (`sqlmig repair`): there is none here
        failure.__notes__ = [f"this ran on {run.scratch()}; the target database was not touched"]
        raise
    finally:
        run.conn.close()


class _Run:
    """One check's connection to its scratch database, and the steps it runs there."""

    def __init__(self, settings: Settings, migrations: list[Migration], url: str,
                 renew: Callable[[], str] | None, *, keep_going: bool) -> None:
        self.settings, self.migrations, self.url = settings, migrations, url
        self.renew, self.keep_going = renew, keep_going
        self.connect()

    def connect(self) -> None:
        self.link = connection.open_link(self.url, settings=self.settings)
        self.conn = self.link.conn
        self.session = Session(self.link, db.History(self.settings.schema, self.settings.table),
                               self.migrations)

    def scratch(self) -> str:
        return f"the scratch database {connection.describe_target(self.url)}"

    def take(self) -> catalog.Snapshot:
        return catalog.take(self.conn, exclude=self.settings.own_tables)

    def step(self, migration: Migration, direction: Literal["up", "down"]) -> int:
        [outcome] = engine.run(self.session, [Step(migration, direction, 1)], SilentReporter())
        return outcome.ms

    def check(self, on_result: Callable[[MigrationCheck], None], *, strict: bool) -> CheckReport:
        report = CheckReport(strict=strict)
        start = self.take()
        for index, migration in enumerate(self.migrations):
            check, as_up_left_it = self.round_trip(migration, strict=strict)
            report.checks.append(check)
            on_result(check)
            if check.fails(strict) and not self.keep_going:
                report.unchecked = self.migrations[index + 1:]
                return report
            if not as_up_left_it and not self.go_on(index, check, report):
                report.unchecked = self.migrations[index + 1:]
                return report
        self.roll_all_back(report)
        if report.stopped_at is None and report.rollback_error is None:
            report.leftovers = catalog.compare(start, self.take())
        return report

    def round_trip(self, migration: Migration, *, strict: bool) -> tuple[MigrationCheck, bool]:
        """Up, down, compare, up again: the migration's check, and whether the database is
        now as its up left it (else the check cannot go on from here)."""
        before, numbers = self.take(), catalog.column_numbers(self.conn)
        up_ms = self.step(migration, "up")
        if migration.irreversible:
            return MigrationCheck(migration, up_ms, None), True
        after_up = self.take() if self.keep_going else None
        try:
            down_ms = self.step(migration, "down")
        except MigrationFailed as failure:
            if not self.keep_going:
                raise
            check = MigrationCheck(migration, up_ms, None, error=f"its down fails: {failure}")
            # a failed down in a transaction left nothing behind
            down = Step(migration, "down")
            return check, down.transactional and self.is_as(after_up)
        differences, moved = split_column_order(
            catalog.compare(before, self.take()), numbers, catalog.column_numbers(self.conn))
        check = MigrationCheck(migration, up_ms, down_ms, differences, moved)
        if check.fails(strict) and not self.keep_going:
            return check, False
        try:
            self.step(migration, "up")
        except MigrationFailed as failure:
            if not self.keep_going:
                raise
            again = f"its up fails when applied again after its down: {failure}"
            return replace(check, error=again), False
        return check, check.result != "fails" or self.is_as(after_up)

    def is_as(self, snapshot: catalog.Snapshot | None) -> bool:
        """The schema is `snapshot`, the order of columns aside."""
        assert snapshot is not None, "taken when keeping going"
        differences = catalog.compare(snapshot, self.take())
        return all(d.attribute == "position" for d in differences)

    def go_on(self, index: int, check: MigrationCheck, report: CheckReport) -> bool:
        """After a bad down, apply the migrations up to `index` on a new database and carry
        on from there; on --scratch-url (no new database), carry on from the schema the down
        and the up again left, if the up could be applied again. Or say why not (`halted`)."""
        migration = self.migrations[index]
        rest = f"{counted(len(self.migrations) - index - 1, 'migration')} after it not checked"
        if self.renew is None:
            if check.error is not None:
                report.halted = (f"cannot go on after {migration.id}: {check.error}; a check on "
                                 f"--scratch-url cannot start again on a new database; {rest}")
            return check.error is None
        self.conn.close()
        self.url = self.renew()
        self.connect()
        try:
            engine.run(self.session, [Step(m, "up", 1) for m in self.migrations[:index + 1]],
                       SilentReporter())
        except MigrationFailed as failure:
            report.halted = (f"cannot go on after {migration.id}: applying the migrations up to "
                             f"it on a new scratch database failed: {failure}; {rest}")
            return False
        report.restarted.append(migration.id)
        return True

    def roll_all_back(self, report: CheckReport) -> None:
        """Every down, newest first, to where the check started; stops at an irreversible
        migration (`stopped_at`), or, keeping going, at a down that fails (`rollback_error`)."""
        self.session.reload()
        for applied in sorted(self.session.applied, key=lambda a: a.version, reverse=True):
            migration = next(m for m in self.migrations if m.version == applied.version)
            if migration.irreversible:
                report.stopped_at = migration.id
                return
            try:
                self.step(migration, "down")
            except MigrationFailed as failure:
                if not self.keep_going:
                    raise
                report.rollback_error = f"{migration.id}: {failure}"
                return
