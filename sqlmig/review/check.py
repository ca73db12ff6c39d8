"""`sqlmig check`: prove on a scratch database that every down reverses its up.

For each migration in order: snapshot, up, down, snapshot, require equality, up again. Then
roll the whole chain back and require the schema we started from. The scratch database is
created beside the target (`sqlmig_check_<random>`) and dropped afterwards, or given.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from sqlmig import engine
from sqlmig.core.config import Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Step
from sqlmig.errors import ConnectionFailed, Interrupted, MigrationFailed
from sqlmig.pg import catalog, connection, db
from sqlmig.pg.session import Session
from sqlmig.reporting import Reporter, SilentReporter


@dataclass(frozen=True)
class MigrationCheck:
    migration: Migration
    up_ms: int
    down_ms: int | None  # None: irreversible, not round-tripped
    differences: list[catalog.Difference] = field(default_factory=list)


@dataclass
class CheckReport:
    checks: list[MigrationCheck] = field(default_factory=list)
    leftovers: list[catalog.Difference] = field(default_factory=list)  # after all the way down
    stopped_at: str | None = None  # an irreversible migration the full rollback stopped at

    @property
    def failed(self) -> MigrationCheck | None:
        return next((c for c in self.checks if c.differences), None)

    @property
    def ok(self) -> bool:
        return self.failed is None and not self.leftovers


SCRATCH_PREFIX = "sqlmig_check_"
# A scratch database's name carries the server's clock at its creation: another check's
# database, between its CREATE and its first connection, has no session yet and must not
# pass for one a killed check left behind.
SCRATCH_NAME = re.compile(rf"^{SCRATCH_PREFIX}(?P<created>[0-9]+)_[0-9a-f]+$")
STALE_AFTER = 60  # seconds


@contextmanager
def scratch_database(
    url: str, on_notice: Callable[[str], None] = lambda message: None
) -> Iterator[str]:
    """A new database on the same server as `url`, dropped afterwards whatever happens; those
    that a killed check left behind are dropped first (and named through `on_notice`)."""
    try:
        admin = psycopg.connect(url, autocommit=True, application_name="sqlmig")
    except psycopg.Error as err:
        target = connection.describe_target(url)
        raise ConnectionFailed(f"cannot connect to {target}: {err}") from None
    with admin:
        now = drop_stale_scratch_databases(admin, on_notice)
        name = f"{SCRATCH_PREFIX}{now}_{uuid.uuid4().hex[:8]}"
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as err:
            raise ConnectionFailed(
                f"cannot create the scratch database {name} on {connection.describe_target(url)}: "
                f"{(err.diag.message_primary or str(err)).strip()}; pass --scratch-url"
            ) from None
    try:
        yield make_conninfo(url, dbname=name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def drop_stale_scratch_databases(
    admin: psycopg.Connection, on_notice: Callable[[str], None]
) -> int:
    """Drop the scratch databases no session uses that are older than STALE_AFTER (or named
    by an older sqlmig, without a time); returns the server's clock, in epoch seconds."""
    clock = admin.execute("SELECT extract(epoch FROM now())::bigint").fetchone()
    now = int(clock[0]) if clock else 0
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
) -> CheckReport:
    """Round-trip every migration on the (empty) database at `url`; stop at the first down
    that does not reverse its up."""
    scratch = f"the scratch database {connection.describe_target(url)}"
    try:
        return _run_check(settings, migrations, url, on_result)
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(f"check interrupted; it ran only on {scratch}, the target database "
                          "was not touched") from None
    except MigrationFailed as failure:
        # its notes are about a target database (`sqlmig repair`): there is none here
        failure.__notes__ = [f"this ran on {scratch}; the target database was not touched"]
        raise


def _run_check(
    settings: Settings,
    migrations: list[Migration],
    url: str,
    on_result: Callable[[MigrationCheck], None],
) -> CheckReport:
    report = CheckReport()
    exclude = settings.own_tables
    conn = connection.connect(url, settings=settings)
    try:
        session = Session(conn, db.History(settings.schema, settings.table), migrations)
        quiet = SilentReporter()
        start = catalog.take(conn, exclude=exclude)
        for migration in migrations:
            before = catalog.take(conn, exclude=exclude)
            up_ms = _step(session, Step(migration, "up", 1), quiet)
            if migration.irreversible:
                check = MigrationCheck(migration, up_ms, None)
            else:
                down_ms = _step(session, Step(migration, "down"), quiet)
                differences = catalog.compare(before, catalog.take(conn, exclude=exclude))
                check = MigrationCheck(migration, up_ms, down_ms, differences)
                if differences:
                    report.checks.append(check)
                    on_result(check)
                    return report
                _step(session, Step(migration, "up", 1), quiet)
            report.checks.append(check)
            on_result(check)
        session.reload()
        for applied in sorted(session.applied, key=lambda a: a.version, reverse=True):
            migration = next(m for m in migrations if m.version == applied.version)
            if migration.irreversible:
                report.stopped_at = migration.id
                return report
            _step(session, Step(migration, "down"), quiet)
        report.leftovers = catalog.compare(start, catalog.take(conn, exclude=exclude))
        return report
    finally:
        conn.close()


def _step(session: Session, step: Step, reporter: Reporter) -> int:
    [outcome] = engine.run(session, [step], reporter)
    return outcome.ms

