"""Sending SQL: a file's text (with what goes before and after it), or a big file's bytes in
pieces, as simple queries; back come the rows affected, or a MigrationFailed located in the
file (core/located.py says where), Interrupted or ConnectionLost. What to send and when is
the engine's business; the wire protocol is simple_query's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

import psycopg
from psycopg import pq

from sqlmig.core.located import Part, located, located_in_piece
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.sqltext import Statement, statement_runs
from sqlmig.errors import ConnectionLost, Interrupted, display_path
from sqlmig.pg import simple_query

# A big file goes to the server in pieces of about this many bytes, cut where statements end.
BIG_FILE_PIECE = 4_000_000


def send(
    conn: psycopg.Connection, file: SqlFile, text: str | bytes, *, prefix: str = "",
    prefix_statements: int = 0, statement: Statement | None = None, suffix: str = "",
) -> int:
    """Run `prefix + text + suffix` as one simple query and return the rows it affected; on
    error roll back and raise MigrationFailed located in `file` (an error in the suffix, the
    history row and COMMIT, is reported as the commit failing). A big file's bytes go between
    the prefix and the suffix in statement-aligned pieces of their own: never concatenated,
    re-encoded or copied whole (libpq keeps two copies of every query it sends)."""
    if isinstance(text, bytes):
        rows = send(conn, file, "", prefix=prefix) if prefix else 0
        for start, end in statement_runs(text, BIG_FILE_PIECE):
            rows += _send_piece(conn, file, text, start, end)
        return rows + (send(conn, file, "", suffix=suffix) if suffix else 0)
    sent = execute(conn, lambda: file, prefix + text + suffix)
    if sent.error is not None:
        rollback_quietly(conn)
        raise located(Part(file, text, prefix, prefix_statements, suffix, statement),
                      sent.error)
    return sent.rows


def execute(
    conn: psycopg.Connection, running: Callable[[], SqlFile], query: str | bytes,
    on_result: Callable[[pq.abc.PGresult], None] | None = None,
) -> simple_query.Sent:
    """simple_query.execute, with an interrupt rolled back and raised as Interrupted and a
    broken connection as ConnectionLost; `running` names the file being executed then."""
    try:
        return simple_query.execute(conn, query, on_result)
    except (KeyboardInterrupt, SystemExit):
        rollback_quietly(conn)
        raise Interrupted(f"{display_path(running().path)}: interrupted; rolled back") from None
    except psycopg.OperationalError as err:
        raise ConnectionLost(running().path, f"connection lost: {err}") from None


def rollback_quietly(conn: psycopg.Connection) -> None:
    if conn.closed:
        return
    with suppress(psycopg.Error):
        conn.execute("ROLLBACK")


def _send_piece(conn: psycopg.Connection, file: SqlFile, data: bytes, start: int, end: int) -> int:
    """One piece of a big file; an error is located in the whole file."""
    sent = execute(conn, lambda: file, data[start:end])
    if sent.error is None:
        return sent.rows
    rollback_quietly(conn)
    raise located_in_piece(file, sent.error, data, start, end)
