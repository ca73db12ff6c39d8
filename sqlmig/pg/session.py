"""The locked session: one connection holding the migration lock, with the files and the
history as they were when it was taken; and the history changes made through it that run no
migration (repair, baseline, fresh's drop)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlmig.core import files, plan, protect
from sqlmig.core.config import Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Applied
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.statements import may_leave_session_state
from sqlmig.errors import counted
from sqlmig.pg import connection, db
from sqlmig.pg.link import Link
from sqlmig.reporting import Reporter, SilentReporter

if TYPE_CHECKING:
    import psycopg

# The text of the notice engine/batch.py raises between the migrations of a batch.
PROGRESS_MESSAGE = "sqlmig: committed"


class Session:
    """A connection holding the migration lock, with the history as it was when the lock was
    taken."""

    def __init__(self, link: Link, history: db.History, migrations: list[Migration],
                 applied: list[Applied] | None = None, *, env: str | None = None, url: str = "",
                 settings: Settings | None = None) -> None:
        self.link, self.history, self.migrations = link, history, migrations
        link.listener = self.heard
        self.applied = [] if applied is None else applied
        self.dirty = False  # SQL run on this connection may have changed its session state
        self.unflushed = False  # a commit of this run may not be on disk yet
        self.notices: bool | None = None  # whether PROGRESS_NOTICE can run here; None: not asked
        # the environment to record on the database (None: a scratch one)
        self.env = env
        self.url = url  # where to reconnect to after a lost connection
        self.settings = settings
        # migrations reported done whose commit did not wait for the disk (ASYNC_COMMIT),
        # since the last commit that did: a server crash may still lose them
        self.unconfirmed: list[str] = []
        # who hears the server's warnings and notices (the engine points it at the running step)
        self.listener: Callable[[str, str], None] | None = None
        self.boundaries = 0  # PROGRESS_NOTICEs seen in the running query: where a batch is

    @property
    def conn(self) -> psycopg.Connection:
        """The psycopg connection, for what only psycopg does (COPY, the catalog, the
        no-transaction and single-transaction engines): a session that may need it is opened
        through psycopg (locked_session's `libpq`)."""
        return self.link.conn

    def heard(self, severity: str, message: str) -> None:
        """The connection's notice handler. The engine's own progress notice marks where a
        batch is (notices arrive in the order the server sent them, results may lag)."""
        if message == PROGRESS_MESSAGE:
            self.boundaries += 1
        elif self.listener is not None:
            self.listener(severity, message)

    def ran(self, file: SqlFile) -> None:
        self.dirty = file.big or may_leave_session_state(file.text)

    def reload(self) -> None:
        self.applied = self.history.read(self.link)

    def can_notice(self) -> bool:
        if self.notices is None:
            self.notices = self.link.value(
                "SELECT EXISTS (SELECT FROM pg_language WHERE lanname = 'plpgsql' "
                "AND has_language_privilege(oid, 'USAGE'))") == "t"
        return self.notices


@contextmanager
def locked_session(settings: Settings, url: str, reporter: Reporter, *,
                   libpq: bool = False, announce: bool = True,
                   migrations: list[Migration] | None = None) -> Iterator[Session]:
    """Read the files first (a bad file must leave the database untouched), then connect, take
    the lock and read the history. The history table is created only before the first write,
    so a refused command leaves no trace. `libpq`: the session may be one without psycopg
    (connection.open_link), for a run that needs none. `announce`: say which database (not
    when a run starts again, having said it, with the `migrations` it read)."""
    if migrations is None:
        # downs are read when a step needs one (check_hazards reads them before anything runs)
        migrations = files.discover(settings.migrations_dir, defer_downs=True,
                                    cache=settings.cache_dir)
    link = connection.open_link(url, settings=settings, on_retry=reporter.notice, libpq=libpq)
    if announce:
        reporter.target(f"{settings.env} · {connection.describe_connection(link)}")
    try:
        db.acquire_lock(
            link, db.lock_key(settings.schema, settings.table), settings.lock_wait,
            reporter.waiting
        )
        history = db.History(settings.schema, settings.table)
        session = Session(link, history, migrations, env=settings.env, url=url,
                          settings=settings)
        session.reload()
        reporter.detail(
            f"connected to {connection.describe_target(url)}, holding the migration lock; "
            f"{len(session.applied)} applied, {counted(len(migrations), 'migration file')}"
        )
        yield session
    finally:
        link.close()  # closing the session releases the advisory lock too


def record_environment(session: Session, reporter: Reporter) -> None:
    """Note on the database the environment it is migrated as (only ever upwards, see
    protect.RANK), so destructive commands can tell a production database later."""
    if session.env is None:
        return
    recorded = session.history.recorded_environment(session.link)
    if protect.should_record(recorded, session.env):
        session.history.record_environment(session.link, session.env)
    elif recorded != session.env:
        reporter.notice(f"note: this database is recorded as {recorded}; running as "
                        f"{session.env} leaves that record as it is")
    session.env = None  # once per command


def repair_history(session: Session, fixes: plan.Repair) -> list[str]:
    """Apply a repair plan in one transaction; return what changed, one line each."""
    conn, history = session.conn, session.history
    changes: list[str] = []
    if not fixes.remove and not fixes.accept and not fixes.restore:
        return changes
    with conn.transaction():
        for row in fixes.remove:
            conn.execute(history.delete, (row.version,))
            changes.append(
                f"removed the {row.state} record of {row.id} ({row.error or 'no error recorded'});"
                " it is pending again"
            )
        for row in fixes.restore:
            conn.execute(history.mark, ("applied", None, row.version))
            changes.append(
                f"{row.id} is applied again: its rollback stopped halfway ({row.error}), so "
                "some of its objects are still there; finish its down by hand, or run "
                "`sqlmig rollback` again to rerun it"
            )
        for row, migration in fixes.accept:
            script = db.kept_script(migration)
            conn.execute(history.accept, (migration.checksum, script, row.version))
            changes.append(
                f"accepted the edited {migration.id}: checksum {row.checksum[:12]} -> "
                f"{migration.checksum[:12]}"
            )
    session.reload()
    return changes


def record_baseline(session: Session, migrations: Sequence[Migration]) -> list[str]:
    """Record migrations as applied without running them (batch 0, flagged baseline)."""
    conn, history = session.conn, session.history
    history.ensure(session.link)
    record_environment(session, SilentReporter())
    with conn.transaction():
        for migration in migrations:
            conn.execute(history.insert, history.insert_params(
                migration, 0, ms=0, baseline=True
            ))
    session.reload()
    return [f"baselined {m.id} (recorded as applied, not run)" for m in migrations]


def drop_schema_objects(session: Session, schema: str) -> None:
    db.drop_schema_objects(session.conn, schema)
    session.reload()
