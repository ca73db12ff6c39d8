"""libpq through ctypes, for the two paths where importing psycopg (its typing, adapters and
asyncio: 150-250 ms) would be most of the time: `sqlmig migrate` or `status` with nothing to
do (commands/quick.py), and a run talking to its server; both through a Link (link.py).
PGconn and PGresult have the names and meanings of psycopg's `pq` layer, so code written
against `conn.pgconn` runs on either. It never imports psycopg. The library is the one psycopg's
binary package ships, else the system's; without one, or on any failure, LibpqError.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable, Sequence

# libpq-fe.h's numbers, as psycopg's pq enums have them (ConnStatus, ExecStatus,
# TransactionStatus)
CONNECTION_OK, CONNECTION_BAD = 0, 1
EMPTY_QUERY, COMMAND_OK, TUPLES_OK, COPY_OUT, COPY_IN = 0, 1, 2, 3, 4
BAD_RESPONSE, NONFATAL_ERROR, FATAL_ERROR = 5, 6, 7
IDLE, ACTIVE, INTRANS, INERROR, UNKNOWN = 0, 1, 2, 3, 4


class LibpqError(Exception):
    """libpq is missing, or the connection or a call failed: libpq's own message."""


def _library() -> ctypes.CDLL:
    """psycopg[binary]'s own libpq (it ships one beside its extension), else the system's."""
    candidates: list[str] = []
    for entry in sys.path:  # where the import system would find psycopg_binary (as its
        package = os.path.join(entry or ".", "psycopg_binary")  # own loader does)
        for folder in (f"{package}.libs", os.path.join(package, ".dylibs")):
            try:
                candidates += sorted(os.path.join(folder, name) for name in os.listdir(folder)
                                     if name.startswith("libpq"))
            except OSError:
                continue
        if candidates:
            break
    candidates.append("libpq.5.dylib" if sys.platform == "darwin" else "libpq.so.5")
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    raise LibpqError("no libpq")


class _Option(ctypes.Structure):
    """libpq's PQconninfoOption."""

    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p),
                ("compiled", ctypes.c_char_p), ("val", ctypes.c_char_p),
                ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


# libpq's PQnoticeReceiver: void (*)(void *arg, const PGresult *res)
_NoticeReceiver = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


def parse(conninfo: str) -> dict[str, str]:
    """The parameters a URL or conninfo string sets, as libpq reads it (psycopg's
    conninfo_to_dict does the same)."""
    lib = _libpq()
    options = lib.PQconninfoParse(conninfo.encode("utf-8"), None)
    if not options:
        raise LibpqError("invalid connection string")
    try:
        found = {}
        index = 0
        while options[index].keyword is not None:
            if options[index].val is not None:
                found[options[index].keyword.decode()] = options[index].val.decode("utf-8")
            index += 1
        return found
    finally:
        lib.PQconninfoFree(options)


@functools.cache
def _libpq() -> ctypes.CDLL:
    return _bind(_library())


def load() -> None:
    """Load and bind the library now (LibpqError without one), not on first use."""
    _libpq()


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Every function used, typed: without argtypes ctypes would pass pointers as C ints,
    and without restype read every pointer returned as one (cut to 32 bits)."""
    p, c_int, c_char_p = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    strings = ctypes.POINTER(c_char_p)
    for name, argtypes, restype in (
        ("PQconnectdbParams", [strings, strings, c_int], p),
        ("PQsetNoticeReceiver", [p, _NoticeReceiver, p], p),
        ("PQstatus", [p], c_int),
        ("PQtransactionStatus", [p], c_int),
        ("PQerrorMessage", [p], c_char_p),
        ("PQsocket", [p], c_int),
        ("PQbackendPID", [p], c_int),
        ("PQserverVersion", [p], c_int),
        ("PQuser", [p], c_char_p),
        ("PQhost", [p], c_char_p),
        ("PQport", [p], c_char_p),
        ("PQdb", [p], c_char_p),
        ("PQfinish", [p], None),
        ("PQexec", [p, c_char_p], p),
        ("PQexecParams", [p, c_char_p, c_int, p, strings, p, p, c_int], p),
        ("PQsendQuery", [p, c_char_p], c_int),
        ("PQflush", [p], c_int),
        ("PQconsumeInput", [p], c_int),
        ("PQisBusy", [p], c_int),
        ("PQgetResult", [p], p),
        ("PQisnonblocking", [p], c_int),
        ("PQsetnonblocking", [p, c_int], c_int),
        ("PQgetCopyData", [p, ctypes.POINTER(p), c_int], c_int),
        ("PQputCopyEnd", [p, c_char_p], c_int),
        ("PQescapeIdentifier", [p, c_char_p, ctypes.c_size_t], p),
        ("PQescapeLiteral", [p, c_char_p, ctypes.c_size_t], p),
        ("PQfreemem", [p], None),
        ("PQgetCancel", [p], p),
        ("PQcancel", [p, c_char_p, c_int], c_int),
        ("PQfreeCancel", [p], None),
        ("PQresultStatus", [p], c_int),
        ("PQresultErrorMessage", [p], c_char_p),
        ("PQresultErrorField", [p, c_int], c_char_p),
        ("PQntuples", [p], c_int),
        ("PQnfields", [p], c_int),
        ("PQgetvalue", [p, c_int, c_int], p),
        ("PQgetlength", [p, c_int, c_int], c_int),
        ("PQgetisnull", [p, c_int, c_int], c_int),
        ("PQcmdStatus", [p], c_char_p),
        ("PQcmdTuples", [p], c_char_p),
        ("PQclear", [p], None),
        ("PQconninfoParse", [c_char_p, p], ctypes.POINTER(_Option)),
        ("PQconninfoFree", [ctypes.POINTER(_Option)], None),
    ):
        function = getattr(lib, name)
        function.argtypes, function.restype = argtypes, restype
    return lib


def _strings(values: Sequence[bytes | None]) -> ctypes.Array[ctypes.c_char_p]:
    """A NULL-terminated char * array (connection keywords and values, query parameters)."""
    array = (ctypes.c_char_p * (len(values) + 1))()
    for i, value in enumerate(values):
        array[i] = value
    return array


class PGresult:
    """A `PGresult *`, as psycopg's pq.PGresult reads it. An owned result is cleared when
    collected; a borrowed one (a notice) belongs to libpq and is never cleared here."""

    def __init__(self, lib: ctypes.CDLL, pointer: int | None, owned: bool = True) -> None:
        self.lib, self._pointer, self.owned = lib, pointer, owned

    def __del__(self) -> None:
        self.clear()

    def clear(self) -> None:
        if self.owned:
            self._pointer, pointer = None, self._pointer
            if pointer:
                self.lib.PQclear(pointer)

    @property
    def status(self) -> int:
        return int(self.lib.PQresultStatus(self._pointer))

    @property
    def ntuples(self) -> int:
        return int(self.lib.PQntuples(self._pointer))

    @property
    def nfields(self) -> int:
        return int(self.lib.PQnfields(self._pointer))

    @property
    def error_message(self) -> bytes:
        return self.lib.PQresultErrorMessage(self._pointer) or b""

    def error_field(self, fieldcode: int) -> bytes | None:
        """A field of the error or notice: ord("C") its SQLSTATE, ord("M") its message..."""
        return self.lib.PQresultErrorField(self._pointer, fieldcode)

    @property
    def command_status(self) -> bytes | None:
        return self.lib.PQcmdStatus(self._pointer)

    @property
    def command_tuples(self) -> int | None:
        """The rows the command affected; None for one that counts none (CREATE...)."""
        value = self.lib.PQcmdTuples(self._pointer)
        return int(value) if value else None

    def get_value(self, row_number: int, column_number: int) -> bytes | None:
        """The value's bytes, read to its length; None for NULL (b"" for an empty one)."""
        length = self.lib.PQgetlength(self._pointer, row_number, column_number)
        if length:
            return ctypes.string_at(
                self.lib.PQgetvalue(self._pointer, row_number, column_number), length)
        if self.lib.PQgetisnull(self._pointer, row_number, column_number):
            return None
        return b""


class _Notices:
    """What the notice receiver needs, apart from the PGconn: holding the PGconn itself
    would make a cycle, finished only by the cycle collector instead of on the last
    reference, and a weak reference would cost the weakref module's import."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.handler: Callable[[PGresult], None] | None = None
        self.interrupt: BaseException | None = None

    def receive(self, arg: int | None, pointer: int | None) -> None:
        """Called by libpq, inside one of its calls: an exception must not reach C (ctypes
        would print and drop it). A handler's error is ignored, as psycopg does; Ctrl-C
        (or SystemExit) landing here is raised once the libpq call returns (check())."""
        try:
            if self.handler is not None:
                result = PGresult(self.lib, pointer, owned=False)
                try:
                    self.handler(result)
                finally:
                    result._pointer = None  # libpq frees it on return: never read it after
        except Exception:
            pass
        except BaseException as interrupt:
            self.interrupt = interrupt

    def check(self) -> None:
        if self.interrupt is not None:
            interrupt, self.interrupt = self.interrupt, None
            raise interrupt


class PGconn:
    """A `PGconn *`, with psycopg's pq.PGconn names and meanings (failures raise LibpqError
    with libpq's message, where psycopg raises OperationalError). Finished when collected,
    except in a forked child: finishing there would end the parent's session."""

    def __init__(self, lib: ctypes.CDLL, pointer: int) -> None:
        self.lib, self._pid = lib, os.getpid()
        self._pointer: int | None = pointer
        self._notices = _Notices(lib)
        self._receiver = _NoticeReceiver(self._notices.receive)  # alive as long as libpq
        lib.PQsetNoticeReceiver(pointer, self._receiver, None)  # may call it

    @classmethod
    def connect(cls, parameters: dict[str, str]) -> PGconn:
        """A connection made with these keywords (libpq's, as in a conninfo string);
        "dbname" may hold a whole URL or conninfo string, expanded as libpq does."""
        lib = _libpq()
        pointer = lib.PQconnectdbParams(
            _strings([key.encode("utf-8") for key in parameters]),
            _strings([value.encode("utf-8") for value in parameters.values()]), 1)
        if not pointer:
            raise LibpqError("out of memory")
        if lib.PQstatus(pointer) != CONNECTION_OK:
            message = _text(lib.PQerrorMessage(pointer)) or "cannot connect"
            lib.PQfinish(pointer)
            raise LibpqError(message)
        return cls(lib, pointer)

    def __del__(self, _getpid: Callable[[], int] = os.getpid) -> None:  # (a default: at
        if _getpid() == self._pid:  # interpreter exit, the module's globals may be gone)
            self.finish()

    def finish(self) -> None:
        self._pointer, pointer = None, self._pointer
        if pointer:
            self.lib.PQfinish(pointer)

    @property
    def _open(self) -> int:
        if not self._pointer:
            raise LibpqError("the connection is closed")
        return self._pointer

    def _failed(self, doing: str) -> LibpqError:
        return LibpqError(f"{doing} failed: {_text(self.error_message)}")

    @property
    def notice_handler(self) -> Callable[[PGresult], None] | None:
        """Called with each notice or warning the server sends (a borrowed PGresult,
        valid only during the call: read its fields there)."""
        return self._notices.handler

    @notice_handler.setter
    def notice_handler(self, handler: Callable[[PGresult], None] | None) -> None:
        self._notices.handler = handler

    @property
    def status(self) -> int:
        return int(self.lib.PQstatus(self._pointer))  # CONNECTION_BAD once finished

    @property
    def transaction_status(self) -> int:
        return int(self.lib.PQtransactionStatus(self._pointer))  # UNKNOWN once finished

    @property
    def error_message(self) -> bytes:
        return self.lib.PQerrorMessage(self._pointer) or b""

    @property
    def socket(self) -> int:
        if (socket := int(self.lib.PQsocket(self._open))) == -1:
            raise LibpqError("the connection is lost")
        return socket

    @property
    def backend_pid(self) -> int:
        return int(self.lib.PQbackendPID(self._open))

    @property
    def server_version(self) -> int:
        return int(self.lib.PQserverVersion(self._open))

    @property
    def user(self) -> bytes:
        return self.lib.PQuser(self._open) or b""

    @property
    def host(self) -> bytes:
        return self.lib.PQhost(self._open) or b""

    @property
    def port(self) -> bytes:
        return self.lib.PQport(self._open) or b""

    @property
    def db(self) -> bytes:
        return self.lib.PQdb(self._open) or b""

    def send_query(self, command: bytes) -> None:
        if not self.lib.PQsendQuery(self._open, command):
            raise self._failed("sending query")

    def flush(self) -> int:
        """0 once everything is sent, 1 while some is left (a nonblocking connection)."""
        if (left := int(self.lib.PQflush(self._open))) < 0:  # (PQflush(NULL) crashes)
            raise self._failed("flushing")
        return left

    def consume_input(self) -> None:
        if self.lib.PQconsumeInput(self._pointer) != 1:
            raise self._failed("consuming input")
        self._notices.check()

    def is_busy(self) -> int:
        busy = int(self.lib.PQisBusy(self._pointer))
        self._notices.check()
        return busy

    def get_result(self) -> PGresult | None:
        """The next statement's result; None once the query's results are all taken."""
        pointer = self.lib.PQgetResult(self._pointer)
        result = PGresult(self.lib, pointer) if pointer else None
        self._notices.check()
        return result

    def exec_(self, command: bytes) -> PGresult:
        """Send and wait: the last statement's result (a failed one's, on error)."""
        return self._result(self.lib.PQexec(self._open, command), "executing query")

    def exec_params(self, command: bytes,
                    param_values: Sequence[bytes | None] | None) -> PGresult:
        """One statement with $1, $2... from `param_values` (text; None for NULL), and its
        values as text; the server infers the parameters' types."""
        values = param_values or ()
        return self._result(self.lib.PQexecParams(
            self._open, command, len(values), None, _strings(values), None, None, 0),
            "executing query")

    def _result(self, pointer: int | None, doing: str) -> PGresult:
        if not pointer:
            raise self._failed(doing)
        result = PGresult(self.lib, pointer)
        self._notices.check()
        return result

    @property
    def nonblocking(self) -> int:
        return int(self.lib.PQisnonblocking(self._pointer))

    @nonblocking.setter
    def nonblocking(self, arg: int) -> None:
        if self.lib.PQsetnonblocking(self._pointer, arg) < 0:
            raise self._failed("setting nonblocking")

    def get_copy_data(self, async_: int) -> tuple[int, memoryview]:
        """(length, bytes) of the next row of a COPY TO STDOUT; -1 when it is over, 0 with
        `async_` when no row has arrived yet."""
        buffer = ctypes.c_void_p()
        length = int(self.lib.PQgetCopyData(self._pointer, ctypes.byref(buffer), async_))
        self._notices.check()
        if length == -2:
            raise self._failed("receiving copy data")
        if not buffer:
            return length, memoryview(b"")
        try:
            return length, memoryview(ctypes.string_at(buffer, length))
        finally:
            self.lib.PQfreemem(buffer)

    def put_copy_end(self, error: bytes | None = None) -> int:
        """End a COPY FROM STDIN; with `error`, make it fail with that message."""
        if (sent := int(self.lib.PQputCopyEnd(self._pointer, error))) < 0:
            raise self._failed("sending copy end")
        self._notices.check()
        return sent

    def escape_identifier(self, data: bytes) -> bytes:
        """`data` double-quoted as an SQL identifier, in the connection's encoding."""
        return self._escaped(self.lib.PQescapeIdentifier, data, "escaping identifier")

    def escape_literal(self, data: bytes) -> bytes:
        """`data` single-quoted as an SQL literal (E'' where it holds a backslash)."""
        return self._escaped(self.lib.PQescapeLiteral, data, "escaping literal")

    def _escaped(self, escape: Callable[..., int | None], data: bytes, doing: str) -> bytes:
        quoted = escape(self._open, data, len(data))
        if not quoted:
            raise self._failed(doing)
        try:
            return ctypes.string_at(quoted)
        finally:
            self.lib.PQfreemem(quoted)

    def cancel(self) -> None:
        """Ask the server to stop the running statement (over a connection of its own);
        its result then comes as an error, SQLSTATE 57014."""
        cancel = self.lib.PQgetCancel(self._open)
        if not cancel:
            raise LibpqError("cannot cancel: the connection is lost")
        try:
            errbuf = ctypes.create_string_buffer(256)
            if not self.lib.PQcancel(cancel, errbuf, len(errbuf)):
                raise LibpqError(f"cancel failed: {_text(errbuf.value)}")
        finally:
            self.lib.PQfreeCancel(cancel)


def _text(message: bytes) -> str:
    return message.decode("utf-8", "replace").strip()
