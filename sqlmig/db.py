"""Everything that speaks to PostgreSQL except running migrations: connecting, the advisory lock,
and the history table. The only module besides engine.py that imports psycopg.

Identifiers from configuration always pass through psycopg.sql.Identifier; values are parameters.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from sqlmig import __version__
from sqlmig.errors import ConnectionFailed, LockTimeout
from sqlmig.plan import Applied

APPLICATION_NAME = "sqlmig"

# The history table, one row per applied migration. Readable as SQL on purpose.
HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    version        bigint      PRIMARY KEY,
    name           text        NOT NULL,
    checksum       text        NOT NULL,
    applied_at     timestamptz NOT NULL DEFAULT now(),
    execution_ms   integer     NOT NULL,
    batch          integer     NOT NULL,
    applied_by     text        NOT NULL,
    sqlmig_version text        NOT NULL
)
"""


def describe_target(url: str) -> str:
    """`user@host:port/dbname` for messages; never the password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid database URL>"
    host = params.get("host") or "localhost"
    if str(host).startswith("/"):
        host = f"socket {host}"
    port = params.get("port") or "5432"
    return f"{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}".lstrip("@")


def _reason(err: Exception) -> str:
    """The server's or libpq's reason, last line first: that is the part people act on."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    reason = lines[-1] if lines[-1].startswith(("FATAL", "ERROR")) else lines[0]
    reason = reason.removeprefix("connection failed: ")
    return reason.replace("FATAL:  ", "").replace("ERROR:  ", "")


def connect(url: str, *, connect_timeout: int = 10) -> psycopg.Connection:
    """An autocommit connection named `sqlmig`; the engine issues BEGIN/COMMIT itself."""
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        from sqlmig.config import redact

        raise ConnectionFailed(f"invalid database URL {redact(url)}: {_reason(err)}") from None
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            application_name=APPLICATION_NAME,
            connect_timeout=connect_timeout,
        )
    except psycopg.Error as err:
        target = describe_target(url)
        raise ConnectionFailed(f"cannot connect to {target}: {_reason(err)}") from None


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


def release_lock(conn: psycopg.Connection, key: int) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


class History:
    """The history table's statements, composed once per command with quoted identifiers."""

    def __init__(self, schema: str, table: str) -> None:
        self.schema = schema
        self.table = table
        self.ident = sql.Identifier(schema, table)
        self.insert = sql.SQL(
            "INSERT INTO {} (version, name, checksum, execution_ms, batch, applied_by, "
            "sqlmig_version) VALUES (%s, %s, %s, %s, %s, current_user || '@' || %s, %s)"
        ).format(self.ident)
        self.delete = sql.SQL("DELETE FROM {} WHERE version = %s").format(self.ident)
        self.host = socket.gethostname()

    def insert_params(self, version: int, name: str, checksum: str, ms: int, batch: int) -> tuple:
        return (version, name, checksum, ms, batch, self.host, __version__)

    def exists(self, conn: psycopg.Connection) -> bool:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL",
            (self.ident.as_string(conn),),
        ).fetchone()
        return bool(row and row[0])

    def ensure(self, conn: psycopg.Connection) -> None:
        """Create schema and table on first use; call with the lock held so two first runs
        don't race on CREATE TABLE."""
        if self.exists(conn):
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
        conn.execute(sql.SQL(HISTORY_DDL).format(table=self.ident))

    def read(self, conn: psycopg.Connection) -> list[Applied]:
        if not self.exists(conn):
            return []
        query = sql.SQL(
            "SELECT version, name, checksum, batch, applied_at, execution_ms, applied_by "
            "FROM {} ORDER BY version"
        ).format(self.ident)
        return [Applied(*row) for row in conn.execute(query).fetchall()]
