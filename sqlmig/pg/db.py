"""sqlmig's own tables and the advisory lock: the history table, the metadata table, dropping a
schema's objects, INVALID indexes. Connecting is connection.py's, sending a migration's SQL
send.py's.

Identifiers from configuration always pass through psycopg.sql.Identifier; values are parameters.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

import psycopg
from psycopg import sql

from sqlmig import __version__
from sqlmig.core.config import METADATA_TABLE
from sqlmig.core.files import Migration
from sqlmig.core.plan import APPLIED_FIELDS, Applied
from sqlmig.core.status import INVALID_INDEXES, InvalidIndex
from sqlmig.errors import ConfigError, LockTimeout
from sqlmig.pg.connection import APPLICATION_NAME

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
    script         text,
    adopted        text
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
    "adopted": "text",
}
ADDED_DEFAULTS = {"state": "'applied'", "baseline": "false", "error": "NULL", "script": "NULL",
                  "adopted": "NULL"}
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


def lock_key(schema: str, table: str) -> int:
    """A stable signed 64-bit key per history table, so two projects in one database don't
    block each other while two runs against the same table do."""
    digest = hashlib.sha256(f"sqlmig:{schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LockHolder(NamedTuple):
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


def _killed_run_hint(conn: psycopg.Connection, holder: LockHolder | None) -> str:
    """Before PostgreSQL 14 (no client_connection_check_interval) a killed sqlmig's session
    keeps the lock until its running statement ends; say how to end it sooner."""
    version = conn.info.server_version
    if holder is None or holder.application_name != APPLICATION_NAME or version >= 140000:
        return ""
    return (f"; PostgreSQL {version // 10000} keeps a killed sqlmig's statement running until "
            "it ends: if no sqlmig run is alive, end it with "
            f"SELECT pg_terminate_backend({holder.pid})")


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
                + _killed_run_hint(conn, holder)
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
        # a migration another tool applied (`sqlmig adopt`): its time and batch kept, the tool
        # named in `adopted`
        self.adopt = sql.SQL(
            "INSERT INTO {} (version, name, checksum, state, applied_at, execution_ms, batch, "
            "applied_by, sqlmig_version, baseline, script, adopted) VALUES (%s, %s, %s, "
            "'applied', coalesce(%s, now()), %s, %s, current_user || '@' || %s, %s, false, %s, %s)"
        ).format(self.ident)
        self.host = socket.gethostname()
        self._inline_insert: tuple[str, str] | None = None
        self._inline_delete: tuple[str, str] | None = None
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
        head, tail = self._inline_delete or self._compose_inline_delete(conn)
        return head + sql.Literal(version).as_string(conn) + tail

    def _compose_inline_delete(self, conn: psycopg.Connection) -> tuple[str, str]:
        """What every inline delete shares, composed once per command (as the insert)."""
        self._inline_delete = (
            sql.SQL("DELETE FROM {} WHERE version = ").format(self.ident).as_string(conn),
            sql.SQL(" RETURNING {}").format(sql.SQL(ELAPSED_MS)).as_string(conn),
        )
        return self._inline_delete

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
        return [Applied.from_row(row) for row in conn.execute(query).fetchall()]




def invalid_indexes(conn: psycopg.Connection) -> list[InvalidIndex]:
    """Every INVALID index in the database (see INVALID_INDEXES). Any found are read again:
    a build in another session can commit after the catalog snapshot but before the live
    views are read (a fleet builds the same index in each schema side by side), and is
    valid by the second read."""
    found = [InvalidIndex(*row) for row in conn.execute(INVALID_INDEXES).fetchall()]
    if found:
        again = {InvalidIndex(*row) for row in conn.execute(INVALID_INDEXES).fetchall()}
        found = [index for index in found if index in again]
    return found
