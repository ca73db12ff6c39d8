"""sqlmig's own tables and the advisory lock: the history table, the metadata table, dropping a
schema's objects, INVALID indexes. Connecting is connection.py's, sending a migration's SQL
send.py's.

Identifiers from configuration are quoted by psycopg.sql.Identifier, or by libpq through a Link
(link.py: a run may hold no psycopg); values are parameters or libpq's literals.
"""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlmig import __version__
from sqlmig.core.config import METADATA_TABLE
from sqlmig.core.files import Migration
from sqlmig.core.plan import APPLIED_FIELDS, Applied, applied_from_json
from sqlmig.core.status import INVALID_INDEXES, InvalidIndex
from sqlmig.errors import ConfigError, LockTimeout
from sqlmig.pg.connection import APPLICATION_NAME
from sqlmig.pg.link import IDLE, Link

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

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


def lock_holder(link: Link, key: int) -> LockHolder | None:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    rows = link.rows(
        """
        SELECT a.pid, a.application_name, coalesce(host(a.client_addr), 'local socket'),
               to_json(a.backend_start) #>> '{}'
          FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """,
        (unsigned >> 32, unsigned & 0xFFFF_FFFF),
    )
    if not rows:
        return None
    pid, application, client, since = rows[0]
    return LockHolder(int(pid or 0), application or "", client or "",
                      datetime.fromisoformat(since) if since else None)


def _killed_run_hint(link: Link, holder: LockHolder | None) -> str:
    """Before PostgreSQL 14 (no client_connection_check_interval) a killed sqlmig's session
    keeps the lock until its running statement ends; say how to end it sooner."""
    version = link.server_version
    if holder is None or holder.application_name != APPLICATION_NAME or version >= 140000:
        return ""
    return (f"; PostgreSQL {version // 10000} keeps a killed sqlmig's statement running until "
            "it ends: if no sqlmig run is alive, end it with "
            f"SELECT pg_terminate_backend({holder.pid})")


def acquire_lock(
    link: Link,
    key: int,
    wait: float,
    on_wait: Callable[[LockHolder | None], None] = lambda holder: None,
) -> None:
    """Session-level advisory lock, polled so the wait is bounded and the holder is named."""
    deadline = time.monotonic() + wait
    delay, last_report, holder = 0.05, None, None
    while True:
        if link.value("SELECT pg_try_advisory_lock($1)", (key,)) == "t":
            return
        now = time.monotonic()
        if last_report is None or now - last_report >= 5:
            holder = lock_holder(link, key)
            on_wait(holder)
            last_report = now
        if now >= deadline:
            who = f" held by {holder}" if holder else ""
            raise LockTimeout(
                f"gave up after {wait:g}s waiting for the migration lock{who}; "
                "another sqlmig run is in progress (raise --lock-wait to wait longer)"
                + _killed_run_hint(link, holder)
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
    """The history table's statements. A run sends them as text, quoted by its Link; the
    commands that write history row by row through psycopg use the composed ones (its
    placeholders, %s), composed on first use."""

    def __init__(self, schema: str, table: str) -> None:
        self.schema = schema
        self.table = table
        self.host = socket.gethostname()
        self._inline_insert: tuple[str, str] | None = None
        self._inline_delete: tuple[str, str] | None = None

    @functools.cached_property
    def ident(self) -> sql.Identifier:
        from psycopg import sql

        return sql.Identifier(self.schema, self.table)

    def _composed(self, text: str) -> sql.Composed:
        from psycopg import sql

        return sql.SQL(text).format(self.ident)

    @functools.cached_property
    def insert(self) -> sql.Composed:
        return self._composed(
            "INSERT INTO {} (version, name, checksum, state, execution_ms, batch, applied_by, "
            "sqlmig_version, baseline, script) "
            "VALUES (%s, %s, %s, %s, %s, %s, current_user || '@' || %s, %s, %s, %s)")

    @functools.cached_property
    def delete(self) -> sql.Composed:
        return self._composed("DELETE FROM {} WHERE version = %s")

    @functools.cached_property
    def finish(self) -> sql.Composed:
        return self._composed(
            "UPDATE {} SET state = 'applied', execution_ms = %s, applied_at = now(), "
            "error = NULL WHERE version = %s")

    @functools.cached_property
    def mark(self) -> sql.Composed:
        return self._composed("UPDATE {} SET state = %s, error = %s WHERE version = %s")

    @functools.cached_property
    def accept(self) -> sql.Composed:
        return self._composed("UPDATE {} SET checksum = %s, script = %s WHERE version = %s")

    @functools.cached_property
    def adopt(self) -> sql.Composed:
        """A migration another tool applied (`sqlmig adopt`): its time and batch kept, the
        tool named in `adopted`."""
        return self._composed(
            "INSERT INTO {} (version, name, checksum, state, applied_at, execution_ms, batch, "
            "applied_by, sqlmig_version, baseline, script, adopted) VALUES (%s, %s, %s, "
            "'applied', coalesce(%s, now()), %s, %s, current_user || '@' || %s, %s, false, %s, "
            "%s)")

    def recorded_environment(self, link: Link) -> str | None:
        """The environment this database was migrated as, or None if none is recorded."""
        metadata = link.ident(self.schema, METADATA_TABLE)
        if not self._exists(link, metadata):
            return None
        return link.value(f"SELECT value FROM {metadata} WHERE key = 'environment'")

    def record_environment(self, link: Link, env: str) -> None:
        """Record `env` as the database's environment (creating the metadata table first)."""
        metadata = link.ident(self.schema, METADATA_TABLE)
        if not self._exists(link, metadata):
            link.run(METADATA_DDL.format(table=metadata))
        link.rows(f"INSERT INTO {metadata} (key, value) VALUES ('environment', $1) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
                  (env,))

    def insert_inline(self, link: Link, migration: Migration, batch: int) -> str:
        """The history row as one statement with its values quoted by libpq, for sending in
        the same simple query as the migration; execution_ms is measured by the server (the
        time since the migration's transaction began) and returned."""
        head, tail = self._inline_insert or self._compose_inline_insert(link)
        values = (migration.version, migration.name, migration.checksum, batch,
                  kept_script(migration))
        return head + ", ".join(link.literal(v) for v in values) + tail

    def _compose_inline_insert(self, link: Link) -> tuple[str, str]:
        """What every inline history row shares, composed once per command."""
        self._inline_insert = (
            f"INSERT INTO {link.ident(self.schema, self.table)} (version, name, checksum, "
            "batch, script, state, execution_ms, applied_by, sqlmig_version, baseline, "
            "applied_at) VALUES (",
            f", 'applied', {ELAPSED_MS}, current_user || '@' || {link.literal(self.host)}, "
            f"{link.literal(__version__)}, false, {BEGAN_AT}) RETURNING execution_ms",
        )
        return self._inline_insert

    def delete_inline(self, link: Link, version: int) -> str:
        """Removing the row in the rollback's own transaction; returns the milliseconds the
        transaction ran, as measured by the server."""
        head, tail = self._inline_delete or self._compose_inline_delete(link)
        return head + link.literal(version) + tail

    def _compose_inline_delete(self, link: Link) -> tuple[str, str]:
        """What every inline delete shares, composed once per command (as the insert)."""
        self._inline_delete = (
            f"DELETE FROM {link.ident(self.schema, self.table)} WHERE version = ",
            f" RETURNING {ELAPSED_MS}",
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

    def columns(self, link: Link) -> set[str] | None:
        """The table's column names, or None when it does not exist."""
        table = link.ident(self.schema, self.table)
        rows = link.rows(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) "
            "AND a.attnum > 0 AND NOT a.attisdropped", (table,))
        if not rows and not self._exists(link, table):
            return None
        return {str(row[0]) for row in rows}

    def exists(self, link: Link) -> bool:
        return self._exists(link, link.ident(self.schema, self.table))

    @staticmethod
    def _exists(link: Link, table: str) -> bool:
        """Whether `table` (quoted) exists."""
        return link.value("SELECT to_regclass($1) IS NOT NULL", (table,)) == "t"

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

    def ensure(self, link: Link) -> None:
        """Create schema and table on first use, or add the columns newer sqlmig versions
        record; call with the lock held so two first runs don't race."""
        columns = self.columns(link)
        table = link.ident(self.schema, self.table)
        if columns is None:
            link.run(f"CREATE SCHEMA IF NOT EXISTS {link.ident(self.schema)}")
            link.run(HISTORY_DDL.format(table=table))
            return
        missing = [c for c in ADDED_COLUMNS if c not in self._checked(columns)]
        if not missing:
            return
        alters = "".join(
            f"ALTER TABLE {table} ADD COLUMN {link.ident(column)} {ADDED_COLUMNS[column]}; "
            for column in missing
        ) + f"ALTER TABLE {table} ALTER COLUMN execution_ms DROP NOT NULL"
        if link.pgconn.transaction_status != IDLE:  # inside the caller's transaction
            link.run(alters)
            return
        try:
            link.run(f"BEGIN; {alters}; COMMIT")
        except link.lost:
            with suppress(*link.lost):
                link.run("ROLLBACK")
            raise

    def read(self, link: Link, *, scripts: bool = False) -> list[Applied]:
        """Every row in version order, read as one JSON value; the applied scripts (large,
        only `verify --diff` shows them) only when asked for."""
        columns = self.columns(link)
        if columns is None:
            return []
        self._checked(columns)
        # a table from an older sqlmig may lack newer columns until the next write adds them
        select = ", ".join(
            link.ident(name)
            if (name in columns or name not in ADDED_COLUMNS) and (scripts or name != "script")
            else ADDED_DEFAULTS[name]
            for name in APPLIED_FIELDS
        )
        found = link.value(f"SELECT json_agg(json_build_array({select}) ORDER BY version) "
                           f"FROM {link.ident(self.schema, self.table)}")
        return applied_from_json(json.loads(found)) if found else []


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
