"""Sending a migration as one simple query and learning exactly how far it got.

psycopg's cursor raises on the first failed statement without saying how many succeeded
before it; for errors the server cannot place (division by zero, a raising trigger) that
count is what names the failing statement. So this drives libpq through psycopg's documented
`pq` layer: send, then collect every result while waiting on the socket, which keeps Ctrl-C
and SIGTERM deliverable (they cancel the statement on the server before propagating).
"""

from __future__ import annotations

import select
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import pq

from sqlmig.core.located import ServerError

DIAG = pq.DiagnosticField
FAILED = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.BAD_RESPONSE)


def _field(result: pq.abc.PGresult, field: DIAG) -> str | None:
    value = result.error_field(field)
    return value.decode("utf-8", "replace") if value is not None else None


def _int_field(result: pq.abc.PGresult, field: DIAG) -> int | None:
    value = _field(result, field)
    return int(value) if value else None


def _error(result: pq.abc.PGresult, index: int) -> ServerError:
    message = _field(result, DIAG.MESSAGE_PRIMARY) or (
        result.error_message.decode("utf-8", "replace").strip() or "unknown server error"
    )
    return ServerError(
        message=message,
        statement_index=index,
        sqlstate=_field(result, DIAG.SQLSTATE),
        detail=_field(result, DIAG.MESSAGE_DETAIL),
        hint=_field(result, DIAG.MESSAGE_HINT),
        context=_field(result, DIAG.CONTEXT),
        position=_int_field(result, DIAG.STATEMENT_POSITION),
        internal_position=_int_field(result, DIAG.INTERNAL_POSITION),
        internal_query=_field(result, DIAG.INTERNAL_QUERY),
    )


def _wait(pgconn: pq.abc.PGconn) -> None:
    select.select([pgconn.socket], [], [])


@dataclass(frozen=True)
class Sent:
    error: ServerError | None  # the first failed statement, if any
    rows: int  # rows inserted, updated, deleted or copied by the statements that succeeded


def execute(
    conn: psycopg.Connection, text: str | bytes,
    on_result: Callable[[pq.abc.PGresult], None] | None = None,
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
        self, pgconn: pq.abc.PGconn, on_result: Callable[[pq.abc.PGresult], None] | None
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
                if pgconn.status == pq.ConnStatus.BAD:
                    raise psycopg.OperationalError(
                        pgconn.error_message.decode("utf-8", "replace").strip()
                        or "the connection to the server was lost"
                    )
                return Sent(self.error, self.rows)
            self._count(result)

    def _count(self, result: pq.abc.PGresult) -> None:
        pgconn, status = self.pgconn, result.status
        if status in FAILED:
            if self.error is None:
                self.error = _error(result, self.succeeded)
        elif status == pq.ExecStatus.COPY_IN:
            # COPY ... FROM STDIN has no data in a migration file; end it as a failure
            pgconn.put_copy_end(b"COPY FROM STDIN is not supported in migration files")
        elif status == pq.ExecStatus.COPY_OUT:
            # COPY ... TO STDOUT: read and discard (blocking read until the copy ends)
            while pgconn.get_copy_data(0)[0] >= 0:
                pass
        else:
            self.succeeded += 1
            self.rows += result.command_tuples or 0
            if self.on_result is not None:
                self.on_result(result)


def _cancel_and_drain(conn: psycopg.Connection, results: _Results) -> None:
    """Ask the server to stop the running statement and read what is left, so the
    connection can still roll back and release the lock cleanly (and the caller learns of
    statements that completed before the cancel landed)."""
    try:
        conn.cancel_safe(timeout=5.0)
        pgconn = conn.pgconn
        deadline_polls = 50
        while deadline_polls and pgconn.status == pq.ConnStatus.OK:
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
