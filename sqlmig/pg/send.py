"""Sending SQL: a file's text (with what goes before and after it), or a big file's bytes in
pieces, as simple queries; back come the rows affected, or a MigrationFailed located in the
file (core/located.py says where), Interrupted or ConnectionLost. What to send and when is
the engine's business.

psycopg's cursor raises on the first failed statement without saying how many succeeded
before it; for errors the server cannot place (division by zero, a raising trigger) that
count is what names the failing statement. So a query goes through libpq's own calls (the
Link's pgconn: psycopg's documented `pq` layer, or pg/libpq.py): send, then collect every
result while waiting on the socket, which keeps Ctrl-C and SIGTERM deliverable (they cancel
the statement on the server before propagating).
"""

from __future__ import annotations

import select
from collections.abc import Callable
from contextlib import suppress
from typing import NamedTuple

from sqlmig.core.located import Part, ServerError, located, located_in_piece
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.statements import Statement, statement_runs
from sqlmig.errors import ConnectionLost, Interrupted, display_path
from sqlmig.pg.link import (
    BAD_RESPONSE,
    CONNECTION_BAD,
    COPY_IN,
    COPY_OUT,
    FATAL_ERROR,
    IDLE,
    MESSAGE_PRIMARY,
    SQLSTATE,
    Link,
    LinkError,
    PQconn,
    Result,
    text,
)

# A big file goes to the server in pieces of about this many bytes, cut where statements end.
BIG_FILE_PIECE = 4_000_000


def send(
    conn: Link, file: SqlFile, text: str | bytes, *, prefix: str = "",
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
    conn: Link, running: Callable[[], SqlFile], query: str | bytes,
    on_result: Callable[[Result], None] | None = None,
) -> Sent:
    """One simple query (see _query), with an interrupt rolled back and raised as Interrupted
    and a broken connection as ConnectionLost; `running` names the file being executed then."""
    try:
        return _query(conn, query, on_result)
    except (KeyboardInterrupt, SystemExit):
        rollback_quietly(conn)
        raise Interrupted(f"{display_path(running().path)}: interrupted; rolled back") from None
    except conn.lost as err:
        raise ConnectionLost(running().path, f"connection lost: {err}") from None


def rollback_quietly(conn: Link) -> None:
    """End a failed transaction; nothing to do (and no "there is no transaction in progress"
    warning) after a failed statement of a no-transaction file, which ran in autocommit."""
    if conn.closed or conn.pgconn.transaction_status == IDLE:
        return
    with suppress(*conn.lost):
        conn.run("ROLLBACK")


def _send_piece(conn: Link, file: SqlFile, data: bytes, start: int, end: int) -> int:
    """One piece of a big file; an error is located in the whole file."""
    sent = execute(conn, lambda: file, data[start:end])
    if sent.error is None:
        return sent.rows
    rollback_quietly(conn)
    raise located_in_piece(file, sent.error, data, start, end)


FAILED = (FATAL_ERROR, BAD_RESPONSE)
# libpq's PG_DIAG_* fields: detail, hint, context, positions, internal query
DETAIL, HINT, CONTEXT = ord("D"), ord("H"), ord("W")
POSITION, INTERNAL_POSITION, INTERNAL_QUERY = ord("P"), ord("p"), ord("q")


def _field(result: Result, field: int) -> str | None:
    return text(result.error_field(field))


def _int_field(result: Result, field: int) -> int | None:
    value = _field(result, field)
    return int(value) if value else None


def _error(result: Result, index: int) -> ServerError:
    message = _field(result, MESSAGE_PRIMARY) or (
        result.error_message.decode("utf-8", "replace").strip() or "unknown server error"
    )
    return ServerError(
        message=message,
        statement_index=index,
        sqlstate=_field(result, SQLSTATE),
        detail=_field(result, DETAIL),
        hint=_field(result, HINT),
        context=_field(result, CONTEXT),
        position=_int_field(result, POSITION),
        internal_position=_int_field(result, INTERNAL_POSITION),
        internal_query=_field(result, INTERNAL_QUERY),
    )


def _wait(pgconn: PQconn) -> None:
    select.select([pgconn.socket], [], [])


class Sent(NamedTuple):
    error: ServerError | None  # the first failed statement, if any
    rows: int  # rows inserted, updated, deleted or copied by the statements that succeeded


def _query(
    conn: Link, text: str | bytes,
    on_result: Callable[[Result], None] | None = None,
) -> Sent:
    """Run `text` (one or many statements) as a single simple query; `on_result` sees each
    statement's successful result as it arrives. Interrupts cancel the query on the server,
    wait for it to stop (results still arriving are seen too), then propagate."""
    pgconn = conn.pgconn
    results = _Results(pgconn, on_result)
    try:
        pgconn.send_query(text if isinstance(text, bytes) else text.encode("utf-8"))
        # While a big query is still going out, the server is already answering each of its
        # statements: read those answers as they come, or libpq buffers them all.
        while pgconn.flush():
            readable, _, _ = select.select([pgconn.socket], [pgconn.socket], [])
            if readable:
                pgconn.consume_input()
                results.take(wait=False)
        return results.take(wait=True)
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM turned into SystemExit
        _cancel_and_drain(conn, results)
        raise


class _Results:
    """The results of one query, taken as they arrive."""

    def __init__(
        self, pgconn: PQconn, on_result: Callable[[Result], None] | None
    ) -> None:
        self.pgconn, self.on_result = pgconn, on_result
        self.succeeded = self.rows = 0
        self.error: ServerError | None = None

    def take(self, *, wait: bool) -> Sent:
        """Every result available (all of them, to the end of the query, when `wait`)."""
        pgconn = self.pgconn
        while True:
            while pgconn.is_busy():
                if not wait:
                    return Sent(self.error, self.rows)
                _wait(pgconn)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                if pgconn.status == CONNECTION_BAD:
                    raise LinkError(
                        pgconn.error_message.decode("utf-8", "replace").strip()
                        or "the connection to the server was lost"
                    )
                return Sent(self.error, self.rows)
            self._count(result)

    def _count(self, result: Result) -> None:
        pgconn, status = self.pgconn, result.status
        if status in FAILED:
            if self.error is None:
                self.error = _error(result, self.succeeded)
        elif status == COPY_IN:
            # COPY ... FROM STDIN has no data in a migration file; end it as a failure
            pgconn.put_copy_end(b"COPY FROM STDIN is not supported in migration files")
        elif status == COPY_OUT:
            # COPY ... TO STDOUT: read and discard (blocking read until the copy ends)
            while pgconn.get_copy_data(0)[0] >= 0:
                pass
        else:
            self.succeeded += 1
            self.rows += result.command_tuples or 0
            if self.on_result is not None:
                self.on_result(result)


def _cancel_and_drain(conn: Link, results: _Results) -> None:
    """Ask the server to stop the running statement and read what is left, so the
    connection can still roll back and release the lock cleanly (and the caller learns of
    statements that completed before the cancel landed)."""
    try:
        conn.cancel()
        pgconn = conn.pgconn
        deadline_polls = 50
        while deadline_polls and pgconn.status != CONNECTION_BAD:
            if not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:
                    return
                results._count(result)
                continue
            readable, _, _ = select.select([pgconn.socket], [], [], 0.1)
            if readable:
                pgconn.consume_input()
            deadline_polls -= 1
    except Exception:
        return
