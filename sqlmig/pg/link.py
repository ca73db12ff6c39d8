"""The locked session's connection as a run uses it: a statement's rows as text, simple
queries, libpq's own quoting, the server's notices, cancelling, and libpq's calls themselves
(`pgconn`) for sending migrations (send.py). Either driver carries it: psycopg's connection
(through its documented `pq` layer), or pg/libpq.py's ctypes binding, which spares a run
psycopg's import (150-250 ms: more than Python spends on the rest of rolling back a thousand
migrations). Nothing here imports psycopg; psycopg_link() does, when it is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import psycopg

# libpq's numbers (ExecStatusType, ConnStatusType, PGTransactionStatusType, PG_DIAG_*)
COMMAND_OK, TUPLES_OK, COPY_OUT, COPY_IN, BAD_RESPONSE, FATAL_ERROR = 1, 2, 3, 4, 5, 7
CONNECTION_BAD = 1
IDLE = 0
SEVERITY, SEVERITY_NONLOCALIZED, SQLSTATE, MESSAGE_PRIMARY = ord("S"), ord("V"), ord("C"), ord("M")


class Result(Protocol):
    """What is read of a PGresult (psycopg's pq.abc.PGresult has it all)."""

    @property
    def status(self) -> int: ...
    @property
    def ntuples(self) -> int: ...
    @property
    def nfields(self) -> int: ...
    @property
    def error_message(self) -> bytes: ...
    @property
    def command_status(self) -> bytes | None: ...
    @property
    def command_tuples(self) -> int | None: ...
    def get_value(self, row_number: int, column_number: int) -> bytes | None: ...
    def error_field(self, fieldcode: int) -> bytes | None: ...


class PQconn(Protocol):
    """The libpq calls a run makes (psycopg's pq.abc.PGconn has them all)."""

    @property
    def status(self) -> int: ...
    @property
    def transaction_status(self) -> int: ...
    @property
    def error_message(self) -> bytes: ...
    @property
    def socket(self) -> int: ...
    @property
    def backend_pid(self) -> int: ...
    @property
    def server_version(self) -> int: ...
    @property
    def user(self) -> bytes: ...
    @property
    def host(self) -> bytes: ...
    @property
    def port(self) -> bytes: ...
    @property
    def db(self) -> bytes: ...
    def send_query(self, command: bytes) -> None: ...
    def flush(self) -> int: ...
    def consume_input(self) -> None: ...
    def is_busy(self) -> int: ...
    def get_result(self) -> Result | None: ...
    def exec_(self, command: bytes) -> Result: ...
    def exec_params(self, command: bytes,
                    param_values: Sequence[bytes | None] | None) -> Result: ...
    def get_copy_data(self, async_: int) -> tuple[int, memoryview]: ...
    def put_copy_end(self, error: bytes | None = None) -> int: ...


class Escaper(Protocol):
    def escape_identifier(self, data: bytes) -> bytes: ...
    def escape_literal(self, data: bytes) -> bytes: ...


class LinkError(Exception):
    """A statement failed, or the connection did: the server's (or libpq's) message."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


Value = str | int | bool | None


def text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


class Link:
    """One connection, whichever driver holds it; `lost` are the driver's exceptions for a
    connection that broke (its pq calls raise them)."""

    def __init__(self, pgconn: PQconn, escaper: Escaper, *, lost: tuple[type[Exception], ...],
                 cancel: Callable[[], None], close: Callable[[], None],
                 psycopg: psycopg.Connection | None = None) -> None:
        self.pgconn, self.escaper = pgconn, escaper
        self.lost: tuple[type[Exception], ...] = (LinkError, *lost)
        self._cancel, self._close = cancel, close
        self.psycopg = psycopg  # the psycopg connection underneath, if that is the driver
        self.sets: tuple[str, ...] = ()  # the SETs sent after connecting (session_reset)
        self.listener: Callable[[str, str], None] | None = None  # (severity, message)
        self.closed = False

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> psycopg.Connection:
        """The psycopg connection underneath, for what only psycopg does (COPY, the catalog,
        typed rows): a link that may need it is opened through psycopg."""
        assert self.psycopg is not None, "this connection was opened without psycopg"
        return self.psycopg

    def rows(self, query: str, params: Sequence[Value] = ()) -> list[tuple[str | None, ...]]:
        """One statement's rows, its values as text ($1, $2 ... take `params`)."""
        result = self._checked(self.pgconn.exec_params(
            query.encode("utf-8"), [None if v is None else str(v).encode("utf-8")
                                    for v in params]))
        columns = range(result.nfields)
        return [tuple(text(result.get_value(row, column)) for column in columns)
                for row in range(result.ntuples)]

    def value(self, query: str, params: Sequence[Value] = ()) -> str | None:
        """The first value of a statement's first row (None also when there is no row)."""
        found = self.rows(query, params)
        return found[0][0] if found and found[0] else None

    def run(self, query: str) -> None:
        """One simple query (any number of statements); LinkError at the first that fails."""
        self._checked(self.pgconn.exec_(query.encode("utf-8")))

    def _checked(self, result: Result) -> Result:
        if result.status in (COMMAND_OK, TUPLES_OK):
            return result
        message = text(result.error_field(MESSAGE_PRIMARY)) or text(
            result.error_message or self.pgconn.error_message) or "unknown server error"
        raise LinkError(message.strip(), text(result.error_field(SQLSTATE)))

    def ident(self, *names: str) -> str:
        """Names quoted by libpq as an identifier, dotted (schema.table)."""
        return ".".join(self.escaper.escape_identifier(name.encode("utf-8")).decode("utf-8")
                        for name in names)

    def literal(self, value: Value) -> str:
        """A value as an SQL literal, quoted by libpq."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return self.escaper.escape_literal(value.encode("utf-8")).decode("utf-8")

    def heard(self, severity: str, message: str) -> None:
        """The driver's notice hook: a warning or notice the server sent."""
        if self.listener is not None:
            self.listener(severity, message)

    def cancel(self) -> None:
        """Ask the server to stop the running statement."""
        self._cancel()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()

    @property
    def backend_pid(self) -> int:
        return self.pgconn.backend_pid

    @property
    def server_version(self) -> int:
        return self.pgconn.server_version

    def described(self) -> tuple[str, str, str, str]:
        """(user, host, port, dbname) as libpq really connected."""
        pgconn = self.pgconn
        return (pgconn.user.decode("utf-8", "replace"), pgconn.host.decode("utf-8", "replace"),
                pgconn.port.decode("utf-8", "replace"), pgconn.db.decode("utf-8", "replace"))


def libpq_link(parameters: dict[str, str]) -> Link:
    """A Link through pg/libpq.py, connected with libpq's keywords ("dbname" may hold a
    URL); libpq.LibpqError when there is no libpq or the connection fails."""
    from sqlmig.pg import libpq

    pgconn = libpq.PGconn.connect(parameters)
    link = Link(pgconn, pgconn, lost=(libpq.LibpqError,), cancel=pgconn.cancel,
                close=pgconn.finish)
    pgconn.notice_handler = lambda result: link.heard(
        text(result.error_field(SEVERITY_NONLOCALIZED) or result.error_field(SEVERITY))
        or "NOTICE", text(result.error_field(MESSAGE_PRIMARY)) or "")
    return link


def psycopg_link(conn: psycopg.Connection) -> Link:
    """A Link over a psycopg connection (the one a command already has, or a new one)."""
    import psycopg
    from psycopg import pq

    link = Link(conn.pgconn, pq.Escaping(conn.pgconn), lost=(psycopg.Error,),
                cancel=lambda: conn.cancel_safe(timeout=5.0), close=conn.close, psycopg=conn)
    conn.add_notice_handler(lambda diag: link.heard(
        diag.severity_nonlocalized or diag.severity or "NOTICE", diag.message_primary or ""))
    return link
