"""What `sqlmig lint --against URL` reads from a server: its major version and how many rows
each table and index holds (the planner's estimate), so lint can tell a lock on a tiny table
from one on a busy table. Read-only; one connection, one query."""

from __future__ import annotations

import psycopg

from sqlmig.errors import ConnectionFailed
from sqlmig.pg import connection

# reltuples is -1 (PostgreSQL 14+) or 0 (13) until the first VACUUM or ANALYZE: a table with
# no pages on disk is empty for sure, any other unanalyzed one unknown. A partitioned table
# holds no rows of its own: unknown too.
ROWS = """
SELECT c.relname,
       CASE WHEN c.relkind IN ('p', 'I') THEN NULL
            WHEN c.reltuples > 0 OR (c.reltuples = 0 AND c.relpages > 0)
                THEN c.reltuples::bigint
            WHEN pg_relation_size(c.oid) = 0 THEN 0
       END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'p', 'i', 'I')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
"""


def read(url: str) -> tuple[int, dict[str, int | None]]:
    """(server major version, relation name -> rows or None when unknown). A name found in
    several schemas keeps the largest count, or None if any is unknown."""
    with connection.open_link(url) as link:
        conn, target = link.conn, connection.describe_connection(link)
        try:
            found = conn.execute(ROWS).fetchall()
        except psycopg.Error as err:
            raise ConnectionFailed(f"cannot read table sizes from {target}: "
                                   f"{str(err).strip()}") from None
        major = conn.info.server_version // 10000
    rows: dict[str, int | None] = {}
    for name, count in found:
        if name in rows and (rows[name] is None or count is None):
            rows[name] = None
        else:
            rows[name] = max(rows.get(name) or 0, count) if count is not None else None
    return major, rows
