"""Everything that speaks to PostgreSQL except running migrations: connecting (sqlmig's
session settings, and refusing a pool that gives each transaction another session), the
advisory lock, and the history table. Sending a migration's SQL is send.py's.

Identifiers from configuration always pass through psycopg.sql.Identifier; values are parameters.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from sqlmig import __version__
from sqlmig.core.config import METADATA_TABLE, Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Applied
from sqlmig.core.secrets import hide, remember, unencoded
from sqlmig.errors import ConfigError, ConnectionFailed, LockTimeout, PooledPerTransaction

APPLICATION_NAME = "sqlmig"

# The history table, one row per applied migration. Readable as SQL on purpose.
# state: 'applied'; 'running' while a no-transaction migration runs (left behind only by a
# crash); 'failed' when one stopped halfway and needs a person (see `sqlmig repair`).
HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    version        bigint      PRIMARY KEY,
    name           text        NOT NULL,
    checksum       text        NOT NULL,
    state          text        NOT NULL DEFAULT 'applied'
                               CHECK (state IN ('applied', 'running', 'failed')),
    applied_at     timestamptz NOT NULL DEFAULT now(),
    execution_ms   integer,
    batch          integer     NOT NULL,
    applied_by     text        NOT NULL,
    sqlmig_version text        NOT NULL,
    baseline       boolean     NOT NULL DEFAULT false,
    error          text,
    script         text
)
"""
# Beside the history table: what sqlmig knows about the database itself. `environment` is the
# environment it was migrated as, so a destructive command run with the wrong settings (a
# production URL in DATABASE_URL on a laptop) can tell (see protect.py).
METADATA_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""
# What every sqlmig history table has had since the first release; a table of the same name
# without all of them belongs to another tool.
CORE_COLUMNS = (
    "version", "name", "checksum", "applied_at", "execution_ms", "batch", "applied_by",
    "sqlmig_version",
)
# Columns added after the first release, with how to add them and what to read meanwhile.
ADDED_COLUMNS = {
    "state": "text NOT NULL DEFAULT 'applied'",
    "baseline": "boolean NOT NULL DEFAULT false",
    "error": "text",
    "script": "text",
}
ADDED_DEFAULTS = {"state": "'applied'", "baseline": "false", "error": "NULL", "script": "NULL"}
APPLIED_FIELDS = (
    "version", "name", "checksum", "batch", "applied_at", "execution_ms", "applied_by",
    "state", "baseline", "error", "script",
)
# When a migration's transaction began, as the server saw it: noted by MARK_BEGAN right after
# its BEGIN (transaction_timestamp() is when the whole query began, shared by every migration
# of a batch), read back by the history row in the same transaction. Its applied_at and
# execution_ms (the time since then, measured by the server) come from it.
MARK_BEGAN = "set_config('sqlmig.began', extract(epoch FROM clock_timestamp())::text, true)"
BEGAN_AT = ("coalesce(to_timestamp(nullif(current_setting('sqlmig.began', true), '')::float8), "
            "transaction_timestamp())")
ELAPSED_MS = f"(extract(epoch FROM clock_timestamp() - {BEGAN_AT}) * 1000)::integer"
# The up file's text is kept (for `verify --diff`) unless it is bigger than this.
SCRIPT_KEEP_LIMIT = 1_000_000


def describe_target(url: str) -> str:
    """`user@host:port/dbname` for messages; never the password, even where libpq reads a
    malformed URL's password as part of the host or the database name."""
    remember(url)
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid database URL>"
    host = params.get("host") or "localhost"
    if str(host).startswith("/"):
        host = f"socket {host}"
    port = params.get("port") or "5432"
    return hide(f"{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}".lstrip("@"))


def describe_connection(conn: psycopg.Connection) -> str:
    """`user@host:port/dbname` as libpq really connected: a URL without a database name
    still lands in one (the user's), and the first line of a changing command names it."""
    info = conn.info
    host = f"socket {info.host}" if info.host.startswith("/") else info.host
    return f"{info.user}@{host}:{info.port}/{info.dbname}"


def _reason(err: Exception) -> str:
    """The server's or libpq's reason, last line first: that is the part people act on."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    reason = lines[-1] if lines[-1].startswith(("FATAL", "ERROR")) else lines[0]
    reason = reason.removeprefix("connection failed: ")
    return reason.replace("FATAL:  ", "").replace("ERROR:  ", "")


class Connection(psycopg.Connection[TupleRow]):
    """psycopg's connection, remembering the SET statements sqlmig sent after connecting, so
    a session reset (RESET ALL) can send them again."""

    sets: tuple[str, ...] = ()


# The session's settings are SET after connecting, never sent as the `options` startup
# parameter: PgBouncer refuses that parameter, or drops it unseen when told to ignore it, and
# configured timeouts would silently not apply.
# The engine's progress notices must reach it even where a role or database has quieted them.
NOTICES = ("client_min_messages", "notice")
# If sqlmig is killed mid-statement, the server notices within seconds, rolls back and frees the
# lock, instead of finishing a long statement for nobody (PostgreSQL 14+, and only on platforms
# that can poll for a closed socket: elsewhere the SET is refused and left out).
WATCH_CLIENT = ("client_connection_check_interval", "2s")
# What a session reset between migrations undoes (not DISCARD ALL: it would release the
# advisory lock); session_reset() sends the connection's SETs again after it.
RESET = ("RESET ALL", "DISCARD TEMP")
_OPTION_NAME = re.compile(r"(?:^|\s)(?:-c\s*|--)([A-Za-z_][\w.-]*)\s*=")


def given_options(url: str) -> set[str]:
    """The settings the user passes as startup options themselves (the URL's `options`, else
    PGOPTIONS, as libpq reads them): theirs win, so sqlmig does not SET them."""
    options = str(conninfo_to_dict(url).get("options") or os.environ.get("PGOPTIONS") or "")
    return {name.lower().replace("-", "_") for name in _OPTION_NAME.findall(options)}


def session_sets(
    url: str, settings: Settings | None, server_version: int, *, watch: bool = True
) -> tuple[str, ...]:
    """The SET statements that give a new session sqlmig's settings: notices, the client
    watch (PostgreSQL 14+) and the configured timeouts, minus any the URL sets itself."""
    wanted = [NOTICES]
    if watch and server_version >= 140000:
        wanted.append(WATCH_CLIENT)
    if settings is not None:
        for name in ("lock_timeout", "statement_timeout"):
            value = getattr(settings, name)
            if value:
                wanted.append((name, value))
    given = given_options(url)
    return tuple(
        sql.SQL("SET {} = {}").format(sql.Identifier(name), sql.Literal(value)).as_string(None)
        for name, value in wanted
        if name not in given
    )


def session_reset(conn: psycopg.Connection) -> str:
    """The SQL that returns the session to how connect() left it: RESET ALL and DISCARD TEMP,
    then the SETs connect() sent, which RESET ALL undoes."""
    statements = (*RESET, *(conn.sets if isinstance(conn, Connection) else ()))
    return "".join(f"{statement};\n" for statement in statements)


def connect(
    url: str,
    *,
    settings: Settings | None = None,
    connect_timeout: int = 10,
    on_retry: Callable[[str], None] = lambda message: None,
) -> Connection:
    """An autocommit UTF-8 connection named `sqlmig`, with a server session of its own for
    its whole life (a pool that hands out one per transaction is refused) and sqlmig's
    settings SET; the engine issues BEGIN/COMMIT itself. No prepared statements: a pooler
    may not keep them."""
    remember(url)
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        raise _failed(f"invalid database URL {hide(url)}: {hide(_reason(err))}", url) from None
    target = describe_target(url)
    wait = settings.connect_wait if settings is not None else 0.0
    deadline = time.monotonic() + wait
    delay, last_said = 0.25, 0.0
    while True:
        try:
            conn = Connection.connect(
                url,
                autocommit=True,
                prepare_threshold=None,
                application_name=APPLICATION_NAME,
                connect_timeout=connect_timeout,
                client_encoding="UTF8",
            )
            break
        except psycopg.Error as err:
            now = time.monotonic()
            reason = hide(_reason(err))
            if now >= deadline or _hopeless(reason):
                raise _failed(f"cannot connect to {target}: {reason}", url) from None
            if now - last_said >= 3 or not last_said:
                left = deadline - now
                on_retry(f"waiting for the database at {target} ({reason}); {left:.0f}s left")
                last_said = now
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 2.0)
    try:
        refuse_transaction_pooling(conn, url, target)
        _set_session(conn, url, settings, target)
    except BaseException:
        conn.close()
        raise
    return conn


def _set_session(conn: Connection, url: str, settings: Settings | None, target: str) -> None:
    """Send session_sets() in one query; left out of what a session reset sends again when
    the server refuses the client watch (a platform that cannot poll for a closed socket)."""
    sets = session_sets(url, settings, conn.info.server_version)
    try:
        if sets:
            conn.execute("; ".join(sets))
    except psycopg.Error as err:
        if WATCH_CLIENT[0] not in str(err):
            reason = hide(_reason(err))
            raise ConnectionFailed(f"cannot set up the session on {target}: {reason}") from None
        sets = session_sets(url, settings, conn.info.server_version, watch=False)
        conn.execute("; ".join(sets))
    conn.sets = sets


# A proxy between sqlmig and the server (PgBouncer, say) may hand each transaction whichever
# server session is free. sqlmig needs one session for its whole run: its advisory lock, its
# SETs and its temp state live there, and would otherwise stay behind on a pooled session.
POOL_ROUNDS = 8
POOL_PROBE_SECONDS = 3.0


def refuse_transaction_pooling(conn: psycopg.Connection, url: str, target: str) -> None:
    """Raise PooledPerTransaction, before anything is run, when `conn`'s transactions do not
    all run in one server session. libpq's cancel key names the backend it connected to: when
    the backend answering is that one, nothing sits between. Otherwise a second connection
    holds a transaction open while `conn` runs a few transactions of its own; a pool per
    transaction gives the second one `conn`'s backend, or `conn` another one."""
    first = _backend_pid(conn)
    if first == conn.info.backend_pid:
        return
    with _occupied(url) as other:
        # `conn` must not wait for the backend `other` holds: a pool of one would never free it
        pooled = other in (first, REFUSED) or any(
            _backend_pid(conn) != first for _ in range(POOL_ROUNDS)
        )
    if pooled:
        raise PooledPerTransaction(
            f"{target} is pooled per transaction (PgBouncer in transaction or statement "
            "mode): the migration lock and sqlmig's settings need one server session for the "
            "whole run; connect to PostgreSQL directly or use PgBouncer in session mode"
        )


def _backend_pid(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


REFUSED = 0  # _occupied: the pool would not let a transaction stay open (statement mode)


@contextmanager
def _occupied(url: str) -> Iterator[int | None]:
    """A second connection holding a transaction open while the block runs. Yields its
    backend's pid; REFUSED when its transaction is refused; None when it gets no connection,
    or no server session within POOL_PROBE_SECONDS (a session pool that is full)."""
    try:
        other = psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=3,
                                application_name=APPLICATION_NAME)
    except psycopg.Error:
        yield None
        return
    try:
        pid = _open_transaction(other.pgconn, time.monotonic() + POOL_PROBE_SECONDS)
        yield pid
    finally:
        if other.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            with suppress(psycopg.Error):
                other.execute("ROLLBACK")  # so the pool can give its session to someone else
        other.close()


def _open_transaction(pgconn: pq.abc.PGconn, deadline: float) -> int | None:
    """BEGIN and the backend's pid (REFUSED on any error), not waiting past `deadline`."""
    pid, failed = REFUSED, False
    try:
        pgconn.send_query(b"BEGIN; SELECT pg_backend_pid()")
        while True:
            while pgconn.is_busy():
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([pgconn.socket], [], [], left)[0]:
                    return None
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                return REFUSED if failed or pgconn.status != pq.ConnStatus.OK else pid
            if result.status in (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.BAD_RESPONSE):
                failed = True
            elif result.ntuples == 1:
                pid = int(result.get_value(0, 0) or REFUSED)
    except psycopg.Error:  # the pool closed the connection
        return REFUSED


def _failed(message: str, url: str) -> ConnectionFailed:
    failure = ConnectionFailed(message)
    failure.hint = unencoded(url)  # libpq cut the password short: the likely cause
    return failure


def _hopeless(reason: str) -> bool:
    """Failures that waiting cannot fix: wrong credentials or a refused role."""
    return any(
        text in reason
        for text in ("password authentication failed", "no pg_hba.conf entry", "role \"")
    )


def lock_key(schema: str, table: str) -> int:
    """A stable signed 64-bit key per history table, so two projects in one database don't
    block each other while two runs against the same table do."""
    digest = hashlib.sha256(f"sqlmig:{schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    client: str
    since: datetime | None

    def __str__(self) -> str:
        since = f", connected since {self.since:%Y-%m-%d %H:%M:%S%z}" if self.since else ""
        app = self.application_name or "unknown application"
        return f"pid {self.pid} ({app}, {self.client}{since})"


def lock_holder(conn: psycopg.Connection, key: int) -> LockHolder | None:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        """
        SELECT a.pid, a.application_name, coalesce(host(a.client_addr), 'local socket'),
               a.backend_start
          FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """,
        (unsigned >> 32, unsigned & 0xFFFF_FFFF),
    ).fetchone()
    return LockHolder(*row) if row else None


def acquire_lock(
    conn: psycopg.Connection,
    key: int,
    wait: float,
    on_wait: Callable[[LockHolder | None], None] = lambda holder: None,
) -> None:
    """Session-level advisory lock, polled so the wait is bounded and the holder is named."""
    deadline = time.monotonic() + wait
    delay, last_report, holder = 0.05, None, None
    while True:
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:  # type: ignore[index]
            return
        now = time.monotonic()
        if last_report is None or now - last_report >= 5:
            holder = lock_holder(conn, key)
            on_wait(holder)
            last_report = now
        if now >= deadline:
            who = f" held by {holder}" if holder else ""
            raise LockTimeout(
                f"gave up after {wait:g}s waiting for the migration lock{who}; "
                "another sqlmig run is in progress (raise --lock-wait to wait longer)"
            )
        time.sleep(min(delay, max(0.0, deadline - now)))
        delay = min(delay * 2, 0.5)


# Everything in one schema, dropped server-side so names never pass through Python strings.
# Extension members are left to DROP EXTENSION; CASCADE + IF EXISTS make the order irrelevant.
DROP_SCHEMA_OBJECTS = """
DO $sqlmig$
DECLARE
    target text := current_setting('sqlmig.fresh_schema');
    r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = target AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                            AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
            CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                           WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                           ELSE 'TABLE' END,
            target, r.relname);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS signature, p.prokind FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = target
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                            AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
            CASE r.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                           ELSE 'FUNCTION' END,
            r.signature);
    END LOOP;
    FOR r IN
        SELECT t.typname, t.typtype FROM pg_type t
          JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = target AND t.typtype IN ('e', 'd', 'r', 'c')
           AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                            AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
            CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, target, r.typname);
    END LOOP;
    FOR r IN
        SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE n.nspname = target
    LOOP
        EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
    END LOOP;
END
$sqlmig$
"""


def drop_schema_objects(conn: psycopg.Connection, schema: str) -> None:
    """Empty `schema` (tables, views, sequences, routines, types, extensions) in one
    transaction; other schemas are left alone."""
    with conn.transaction():
        conn.execute("SELECT set_config('sqlmig.fresh_schema', %s, true)", (schema,))
        conn.execute(DROP_SCHEMA_OBJECTS)


def kept_script(migration: Migration) -> str | None:
    """The up file's text, kept in history for `verify --diff`, unless it is too big to keep."""
    if migration.up.big:
        return None
    text = migration.up.text
    return text if len(text) <= SCRIPT_KEEP_LIMIT else None


class History:
    """The history table's statements, composed once per command with quoted identifiers."""

    def __init__(self, schema: str, table: str) -> None:
        self.schema = schema
        self.table = table
        self.ident = sql.Identifier(schema, table)
        self.insert = sql.SQL(
            "INSERT INTO {} (version, name, checksum, state, execution_ms, batch, applied_by, "
            "sqlmig_version, baseline, script) "
            "VALUES (%s, %s, %s, %s, %s, %s, current_user || '@' || %s, %s, %s, %s)"
        ).format(self.ident)
        self.delete = sql.SQL("DELETE FROM {} WHERE version = %s").format(self.ident)
        self.finish = sql.SQL(
            "UPDATE {} SET state = 'applied', execution_ms = %s, applied_at = now(), error = NULL "
            "WHERE version = %s"
        ).format(self.ident)
        self.mark = sql.SQL(
            "UPDATE {} SET state = %s, error = %s WHERE version = %s"
        ).format(self.ident)
        self.accept = sql.SQL(
            "UPDATE {} SET checksum = %s, script = %s WHERE version = %s"
        ).format(self.ident)
        self.host = socket.gethostname()
        self._inline_insert: tuple[str, str] | None = None
        self.metadata = sql.Identifier(schema, METADATA_TABLE)

    def recorded_environment(self, conn: psycopg.Connection) -> str | None:
        """The environment this database was migrated as, or None if none is recorded."""
        if not self._exists(conn, self.metadata):
            return None
        row = conn.execute(
            sql.SQL("SELECT value FROM {} WHERE key = 'environment'").format(self.metadata)
        ).fetchone()
        return row[0] if row else None

    def record_environment(self, conn: psycopg.Connection, env: str) -> None:
        """Record `env` as the database's environment (creating the metadata table first)."""
        if not self._exists(conn, self.metadata):
            conn.execute(sql.SQL(METADATA_DDL).format(table=self.metadata))
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (key, value) VALUES ('environment', %s) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, updated_at = now()"
            ).format(self.metadata),
            (env,),
        )

    def insert_inline(self, conn: psycopg.Connection, migration: Migration, batch: int) -> str:
        """The history row as one statement with its values quoted by psycopg, for sending in
        the same simple query as the migration; execution_ms is measured by the server (the
        time since the migration's transaction began) and returned."""
        head, tail = self._inline_insert or self._compose_inline_insert(conn)
        values = (migration.version, migration.name, migration.checksum, batch,
                  kept_script(migration))
        return head + ", ".join(sql.Literal(v).as_string(conn) for v in values) + tail

    def _compose_inline_insert(self, conn: psycopg.Connection) -> tuple[str, str]:
        """What every inline history row shares, composed once per command."""
        self._inline_insert = (
            sql.SQL(
                "INSERT INTO {} (version, name, checksum, batch, script, state, execution_ms, "
                "applied_by, sqlmig_version, baseline, applied_at) VALUES ("
            ).format(self.ident).as_string(conn),
            sql.SQL(
                ", 'applied', {}, current_user || '@' || {}, {}, false, {}) RETURNING execution_ms"
            ).format(sql.SQL(ELAPSED_MS), sql.Literal(self.host), sql.Literal(__version__),
                     sql.SQL(BEGAN_AT)).as_string(conn),
        )
        return self._inline_insert

    def delete_inline(self, conn: psycopg.Connection, version: int) -> str:
        """Removing the row in the rollback's own transaction; returns the milliseconds the
        transaction ran, as measured by the server."""
        return sql.SQL("DELETE FROM {} WHERE version = {} RETURNING {}").format(
            self.ident, sql.Literal(version), sql.SQL(ELAPSED_MS)).as_string(conn)

    def insert_params(
        self,
        migration: Migration,
        batch: int,
        *,
        ms: int | None,
        state: str = "applied",
        baseline: bool = False,
    ) -> tuple:
        script = kept_script(migration)
        return (
            migration.version, migration.name, migration.checksum, state, ms, batch,
            self.host, __version__, baseline, script,
        )

    def columns(self, conn: psycopg.Connection) -> set[str] | None:
        """The table's column names, or None when it does not exist."""
        rows = conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
            "AND a.attnum > 0 AND NOT a.attisdropped",
            (self.ident.as_string(conn),),
        ).fetchall()
        if not rows and not self.exists(conn):
            return None
        return {row[0] for row in rows}

    def exists(self, conn: psycopg.Connection) -> bool:
        return self._exists(conn, self.ident)

    @staticmethod
    def _exists(conn: psycopg.Connection, table: sql.Identifier) -> bool:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (table.as_string(conn),)
        ).fetchone()
        return bool(row and row[0])

    def _checked(self, columns: set[str]) -> set[str]:
        """Refuse a table of the same name that another tool owns (dbmate, golang-migrate and
        Rails all default to `schema_migrations`)."""
        missing = [column for column in CORE_COLUMNS if column not in columns]
        if missing:
            raise ConfigError(
                f"table: {self.schema}.{self.table} exists but is not sqlmig's history table "
                f"(missing columns: {', '.join(missing)}; it has "
                f"{', '.join(sorted(columns)) or 'no columns'}); set 'table' to another name, "
                "then adopt the database with `sqlmig baseline`"
            )
        return columns

    def ensure(self, conn: psycopg.Connection) -> None:
        """Create schema and table on first use, or add the columns newer sqlmig versions
        record; call with the lock held so two first runs don't race."""
        columns = self.columns(conn)
        if columns is None:
            schema = sql.Identifier(self.schema)
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(sql.SQL(HISTORY_DDL).format(table=self.ident))
            return
        missing = [c for c in ADDED_COLUMNS if c not in self._checked(columns)]
        if not missing:
            return
        with conn.transaction():
            for column in missing:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} " + ADDED_COLUMNS[column])
                    .format(self.ident, sql.Identifier(column))
                )
            conn.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN execution_ms DROP NOT NULL")
                .format(self.ident)
            )

    def read(self, conn: psycopg.Connection, *, scripts: bool = False) -> list[Applied]:
        """Every row in version order; the applied scripts (large, only `verify --diff` shows
        them) only when asked for."""
        columns = self.columns(conn)
        if columns is None:
            return []
        self._checked(columns)
        # a table from an older sqlmig may lack newer columns until the next write adds them
        select = sql.SQL(", ").join(
            sql.Identifier(name)
            if (name in columns or name not in ADDED_COLUMNS) and (scripts or name != "script")
            else sql.SQL(ADDED_DEFAULTS[name])
            for name in APPLIED_FIELDS
        )
        query = sql.SQL("SELECT {} FROM {} ORDER BY version").format(select, self.ident)
        return [Applied(*row) for row in conn.execute(query).fetchall()]


# An index left INVALID (pg_index.indisvalid false) by a CREATE INDEX CONCURRENTLY or REINDEX
# CONCURRENTLY that did not finish: queries never use it, every write still maintains it, and
# `CREATE INDEX CONCURRENTLY IF NOT EXISTS` skips it. Builds running right now in other
# sessions are left out, and so are partitioned indexes (`CREATE INDEX ... ON ONLY`: invalid
# by design until every partition's index is attached); names come quoted by the server.
INVALID_INDEXES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       quote_ident(tn.nspname) || '.' || quote_ident(t.relname)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE NOT i.indisvalid
   AND c.relkind = 'i'
   AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index p
                    WHERE p.index_relid = i.indexrelid AND p.pid <> pg_backend_pid())
 ORDER BY 1
"""


@dataclass(frozen=True)
class InvalidIndex:
    name: str  # schema-qualified, quoted where SQL needs it
    table: str


def invalid_indexes(conn: psycopg.Connection) -> list[InvalidIndex]:
    """Every INVALID index in the database (see INVALID_INDEXES)."""
    return [InvalidIndex(*row) for row in conn.execute(INVALID_INDEXES).fetchall()]
