"""Just enough of libpq, through ctypes, for one read-only query at start-up, where importing
psycopg (its typing, adapters and asyncio: a tenth of a second and more) would be most of
the command's time: `sqlmig migrate` with nothing to do (commands/quick.py). The library is
the one psycopg's binary package ships, else the system's; without one, or on any failure,
the caller goes the ordinary way through psycopg. Values come back as text; identifiers are
quoted by libpq's own PQescapeIdentifier, values passed as parameters.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Sequence

CONNECTION_OK = 0
PGRES_TUPLES_OK = 2


class LibpqError(Exception):
    """libpq is missing, or the connection or the query failed: go the ordinary way."""


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
    p, c_int, c_char_p = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    strings = ctypes.POINTER(c_char_p)
    for name, argtypes, restype in (
        ("PQconnectdbParams", [strings, strings, c_int], p),
        ("PQstatus", [p], c_int),
        ("PQerrorMessage", [p], c_char_p),
        ("PQfinish", [p], None),
        ("PQexecParams", [p, c_char_p, c_int, p, strings, p, p, c_int], p),
        ("PQresultStatus", [p], c_int),
        ("PQntuples", [p], c_int),
        ("PQnfields", [p], c_int),
        ("PQgetvalue", [p, c_int, c_int], c_char_p),
        ("PQgetisnull", [p, c_int, c_int], c_int),
        ("PQclear", [p], None),
        ("PQescapeIdentifier", [p, c_char_p, ctypes.c_size_t], p),
        ("PQfreemem", [p], None),
        ("PQuser", [p], c_char_p),
        ("PQhost", [p], c_char_p),
        ("PQport", [p], c_char_p),
        ("PQdb", [p], c_char_p),
        ("PQbackendPID", [p], c_int),
        ("PQconninfoParse", [c_char_p, p], ctypes.POINTER(_Option)),
        ("PQconninfoFree", [ctypes.POINTER(_Option)], None),
    ):
        function = getattr(lib, name)
        function.argtypes, function.restype = argtypes, restype
    return lib


def _strings(values: Sequence[str | None]) -> ctypes.Array[ctypes.c_char_p]:
    array = (ctypes.c_char_p * (len(values) + 1))()
    for i, value in enumerate(values):
        array[i] = None if value is None else value.encode("utf-8")
    return array


class Connection:
    """One libpq connection; a context manager that always finishes it."""

    def __init__(self, parameters: dict[str, str]) -> None:
        self.lib = _libpq()
        keywords, values = _strings(list(parameters)), _strings(list(parameters.values()))
        self.conn = self.lib.PQconnectdbParams(keywords, values, 1)  # dbname may be a URL
        if not self.conn or self.lib.PQstatus(self.conn) != CONNECTION_OK:
            self.close()
            raise LibpqError("cannot connect")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn:
            self.lib.PQfinish(self.conn)
            self.conn = None

    def identifier(self, name: str) -> str:
        """`name` quoted as an SQL identifier, by libpq."""
        raw = name.encode("utf-8")
        quoted = self.lib.PQescapeIdentifier(self.conn, raw, len(raw))
        if not quoted:
            raise LibpqError("cannot quote an identifier")
        try:
            return ctypes.string_at(quoted).decode("utf-8")
        finally:
            self.lib.PQfreemem(quoted)

    def rows(self, query: str, parameters: Sequence[str] = ()) -> list[list[str | None]]:
        """The rows of one query (its values as text), or LibpqError."""
        values = _strings(parameters)
        result = self.lib.PQexecParams(self.conn, query.encode("utf-8"), len(parameters),
                                       None, values, None, None, 0)
        try:
            if not result or self.lib.PQresultStatus(result) != PGRES_TUPLES_OK:
                raise LibpqError("the query failed")
            fields = range(self.lib.PQnfields(result))
            return [
                [None if self.lib.PQgetisnull(result, row, field)
                 else self.lib.PQgetvalue(result, row, field).decode("utf-8") for field in fields]
                for row in range(self.lib.PQntuples(result))
            ]
        finally:
            if result:
                self.lib.PQclear(result)

    def backend_pid(self) -> int:
        """The server process libpq connected to (from the cancel key): a pooler in between
        answers queries from another."""
        return int(self.lib.PQbackendPID(self.conn))

    def described(self) -> tuple[str, str, str, str]:
        """(user, host, port, dbname) as libpq really connected."""
        return tuple(  # type: ignore[return-value]
            (getattr(self.lib, name)(self.conn) or b"").decode("utf-8")
            for name in ("PQuser", "PQhost", "PQport", "PQdb"))
