"""The commands that show locks before a migration takes them: `plan --locks` (also
`migrate --dry-run --locks`), which measures what each pending migration locks in a
transaction that is rolled back, and `locks`, who holds or waits for locks right now on the
tables the pending migrations touch. Neither changes the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmig.commands.common import connection_url, with_url
from sqlmig.commands.run import pending
from sqlmig.core import files, plan
from sqlmig.core.config import Settings
from sqlmig.core.files import Migration
from sqlmig.core.sqlfile import SqlFile
from sqlmig.engine.lock_probe import probe
from sqlmig.pg import connection, db
from sqlmig.pg import locks as pg_locks
from sqlmig.pg.session import locked_session
from sqlmig.reporting import Reporter
from sqlmig.review.lint.takes import Take, sql_takes
from sqlmig.review.lock_report import MigrationLocks, conflicts, stronger


@dataclass(frozen=True)
class LockPlan:
    """Each pending migration's locks, the pending migrations `--to` leaves for later, the
    dry run's timeouts, and what to say when nothing is pending."""

    migrations: list[MigrationLocks]
    later: list[Migration]
    lock_timeout: str
    statement_timeout: str
    nothing: str

    @property
    def unmeasured(self) -> bool:
        """Some statement timed out (so was not measured): exit 4."""
        return any(s.outcome == "timed out" for m in self.migrations for s in m.statements)

    @property
    def failed(self) -> bool:
        return any(s.outcome == "failed" for m in self.migrations for s in m.statements)


def lock_plan(settings: Settings, reporter: Reporter, *, to: int | None = None) -> LockPlan:
    """Run each pending transactional migration statement by statement in a transaction that
    is rolled back, under dry_run_lock_timeout and dry_run_statement_timeout, and report the
    locks each statement takes; no-transaction ones are estimated from their parse."""
    settings = with_url(settings, reporter)
    assert settings.database_url is not None
    timeouts = settings.dry_run_lock_timeout, settings.dry_run_statement_timeout
    with locked_session(settings, settings.database_url, reporter) as session:
        steps, later = pending(session, settings, to, verb="dry-run")
        return LockPlan(probe(session, steps, *timeouts), later, *timeouts,
                        plan.nothing_to_migrate(to, later))


@dataclass(frozen=True)
class Locks:
    """Who holds or waits for locks on the tables the pending migrations would lock."""

    tables: list[str]  # the existing ones, as pg_locks rows name them
    sessions: list[pg_locks.SessionLock]
    takes: dict[str, str]  # table (as pg names it) -> the strongest mode the migrations take
    older_than: float

    def blocks_migration(self, lock: pg_locks.SessionLock) -> bool:
        """A lock the pending migrations would queue behind (a held one that conflicts with
        theirs), or one that is itself stuck waiting."""
        wanted = self.takes.get(lock.relation)
        return not lock.granted or (wanted is not None and lock.mode in conflicts(wanted))

    def long_running(self, lock: pg_locks.SessionLock) -> bool:
        return (lock.transaction_seconds or 0) >= self.older_than

    @property
    def blocking(self) -> bool:
        """Something would make the migrations wait: exit 3 with --exit-code."""
        return any(self.blocks_migration(lock) for lock in self.sessions)


def locks(settings: Settings, reporter: Reporter, *, older_than: float = 60.0) -> Locks:
    """The sessions holding or waiting for locks on the tables the pending migrations would
    lock (from their parse), with who blocks whom; `older_than` seconds of transaction make
    one long-running."""
    migrations = files.discover(settings.migrations_dir, defer_downs=True,
                                cache=settings.cache_dir)
    with connection.open_link(connection_url(settings, reporter), settings=settings) as link:
        conn, applied = link.conn, db.History(settings.schema, settings.table).read(link)
        steps = plan.plan_migrate(migrations, applied,
                                  allow_out_of_order=settings.allow_out_of_order)
        takes = [take for step in steps for take in _file_takes(step.file)]
        tables = pg_locks.resolve(conn, [key for key, _ in takes])
        strongest: dict[str, str] = {}
        for key, mode in takes:
            if key in tables and stronger(mode, strongest.get(tables[key].name)):
                strongest[tables[key].name] = mode
        oids = sorted({table.oid for table in tables.values()})
        found = pg_locks.session_locks(conn, oids) if oids else []
    return Locks(sorted(strongest), found, strongest, older_than)


def _file_takes(file: SqlFile) -> list[Take]:
    text = file.sql()
    return [] if isinstance(text, bytes) else sql_takes(text)
