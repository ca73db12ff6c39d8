"""Reading locks: the relation locks this session holds and the state of the tables it can
see (for `plan --locks`), and who holds or waits for locks on given tables right now (for
`sqlmig locks`). Only reads the catalogs; what the rows mean is review/lock_report.py's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from sqlmig.core.secrets import without_passwords
from sqlmig.review.lock_report import HeldLock, TableState, mode_name

# User tables, materialized views and partitioned tables: what a migration's locks matter on.
_USER_RELATION = ("c.relkind IN ('r', 'p', 'm') AND c.relnamespace NOT IN "
                  "('pg_catalog'::regnamespace, 'information_schema'::regnamespace)")


def guard(conn: psycopg.Connection, lock_timeout: str, statement_timeout: str) -> None:
    """The dry run's own timeouts, for the rest of the transaction: set again before each
    statement, so a SET in the migration cannot make the dry run queue behind traffic."""
    conn.execute("SELECT set_config('lock_timeout', %s, true), "
                 "set_config('statement_timeout', %s, true)", (lock_timeout, statement_timeout))


def held(conn: psycopg.Connection) -> list[HeldLock]:
    """The granted relation locks of this session on user tables, with their size and
    estimated rows."""
    rows = conn.execute(
        "SELECT c.oid, c.oid::regclass::text, l.mode, pg_total_relation_size(c.oid), "
        "CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END "
        "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted "
        f"AND {_USER_RELATION}"
    ).fetchall()
    return [HeldLock(oid, name, mode_name(mode), size, tuples)
            for oid, name, mode, size, tuples in rows]


def tables(conn: psycopg.Connection) -> dict[int, TableState]:
    """Each user table's file and this session's sequential-scan counters (cumulative until
    the session's statistics are flushed: only their change over a statement means anything)."""
    rows = conn.execute(
        "SELECT c.oid, c.relfilenode, coalesce(s.seq_scan, 0), coalesce(s.seq_tup_read, 0) "
        "FROM pg_class c LEFT JOIN pg_stat_xact_user_tables s ON s.relid = c.oid "
        f"WHERE {_USER_RELATION}"
    ).fetchall()
    return {oid: TableState(node, scans, read) for oid, node, scans, read in rows}


@dataclass(frozen=True)
class Table:
    """A table as the catalog describes it, without opening it: its size is pages as of the
    last VACUUM or ANALYZE (heap only)."""

    oid: int
    name: str  # as pg_locks rows show it (regclass)
    bytes: int | None  # None: never analysed
    rows: int | None


@dataclass(frozen=True)
class SessionLock:
    """Another session's lock (held or awaited) on a watched table."""

    pid: int
    relation: str
    mode: str
    granted: bool
    user: str | None
    application: str | None
    state: str | None
    transaction_start: datetime | None
    transaction_seconds: float | None
    waiting_seconds: float | None  # how long an awaited lock has been waited for
    query: str | None
    blocked_by: list[int]


def resolve(conn: psycopg.Connection, keys: Iterable[tuple[str | None, str]]
            ) -> dict[tuple[str | None, str], Table]:
    """The tables named (schema or None for the search path, name) that exist; an index
    stands for its table. Reads pg_class only, so it never waits for a table's lock."""
    found = {}
    for schema, name in set(keys):
        row = conn.execute(
            "SELECT t.oid, t.oid::regclass::text, "
            "CASE WHEN t.reltuples >= 0 THEN "  # else never analysed: relpages says 0
            "t.relpages::bigint * current_setting('block_size')::bigint END, "
            "CASE WHEN t.reltuples >= 0 THEN t.reltuples::bigint END FROM pg_class c "
            "LEFT JOIN pg_index i ON i.indexrelid = c.oid "
            "JOIN pg_class t ON t.oid = coalesce(i.indrelid, c.oid) WHERE c.relname = %s AND "
            "CASE WHEN %s::text IS NULL THEN pg_table_is_visible(c.oid) "
            "ELSE c.relnamespace::regnamespace::text = %s END LIMIT 1",
            (name, schema, schema)).fetchone()
        if row is not None:
            found[(schema, name)] = Table(*row)
    return found


def session_locks(conn: psycopg.Connection, oids: list[int]) -> list[SessionLock]:
    """Every other session's relation lock on the tables `oids`, held or awaited."""
    rows = conn.execute(
        "SELECT l.pid, l.relation::regclass::text, l.mode, l.granted, a.usename, "
        "a.application_name, a.state, a.xact_start, "
        "extract(epoch FROM clock_timestamp() - a.xact_start)::float8, "
        "CASE WHEN NOT l.granted THEN extract(epoch FROM clock_timestamp() - "
        "a.query_start)::float8 END, a.query, pg_blocking_pids(l.pid) "
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.relation = ANY(%s) AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.pid <> pg_backend_pid() ORDER BY a.xact_start NULLS LAST, l.pid",
        (oids,)).fetchall()
    return [SessionLock(pid, relation, mode_name(mode), granted, user, application, state,
                        started, seconds, waited,
                        None if query is None else without_passwords(query), list(blockers))
            for (pid, relation, mode, granted, user, application, state, started, seconds,
                 waited, query, blockers) in rows]
