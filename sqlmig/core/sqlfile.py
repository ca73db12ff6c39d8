"""One migration file as sqlmig reads it: strict UTF-8, BOM stripped, CRLF turned into LF,
its header directives and its SHA-256 checksum; a big file kept as bytes. Every problem is a
MigrationFileError naming the file (and line). Pure: no database access.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlmig.core.directives import parse_directives
from sqlmig.core.statements import first_token
from sqlmig.errors import MigrationFileError, display_path

BOM = "\ufeff"

# Above this size a file is bulk data. It is held as bytes only (see SqlFile): a 200 MB
# data file then costs its bytes plus libpq's send buffer, not also a str and two re-encoded
# copies. And it is neither parsed ahead nor linted: a full parse tree would cost many times
# its size in memory; the server still reports its errors.
BIG_FILE = 10_000_000


# Byte order marks of encodings people save SQL in by accident (Windows editors, PowerShell's
# `>`), longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)


class SqlFile:
    """One file's text, normalised (BOM stripped, CRLF -> LF) exactly as it will be executed.

    Immutable by convention. The path is kept as a string and made a Path on first use: a scan
    of 20,000 files spends more on building Paths than on reading the files. A big file (bulk
    data, over BIG_FILE bytes) is kept as its UTF-8 bytes only, which is what gets
    hashed and sent: its text is decoded again on each use (error messages), never held. A
    deferred file (a down file, for commands that only go up) is read, and checked, on first
    use.
    """

    __slots__ = ("_checksum", "_data", "_directives", "_has_sql", "_location", "_path",
                 "_reader", "_text")

    def __init__(self, path: Path | str, text: str | None,
                 directives: Mapping[str, str] | None = None, *, data: bytes | None = None):
        if (text is None) == (data is None):
            raise ValueError("SqlFile needs its text or (for a big file) its bytes")
        self._location = os.fspath(path)
        self._path = path if isinstance(path, Path) else None
        self._checksum: str | None = None
        self._text = text
        self._data = data
        # name -> arguments ("" for flags)
        self._directives: Mapping[str, str] | None = {} if directives is None else directives
        self._reader: Callable[[Path | str], SqlFile] = read_sql_file
        self._has_sql: bool | None = None

    @classmethod
    def deferred(
        cls, path: Path | str, reader: Callable[[Path | str], SqlFile] | None = None
    ) -> SqlFile:
        """A file read (by `reader`) on first use; problems with it (MigrationFileError)
        surface then."""
        self = cls.__new__(cls)
        self._location = os.fspath(path)
        self._path = path if isinstance(path, Path) else None
        self._checksum = self._text = self._data = self._directives = self._has_sql = None
        self._reader = reader or read_sql_file
        return self

    @classmethod
    def known(
        cls, path: Path | str, reader: Callable[[Path | str], SqlFile], checksum: str,
        directives: Mapping[str, str], has_sql: bool,
    ) -> SqlFile:
        """A file an earlier read found unchanged since (core/file_cache.py): its checksum,
        directives and has_sql as that read found them, its text read on first use. Text
        that no longer has that checksum (the file was edited since the scan) is refused:
        what was planned from the cache must be what runs."""
        self = cls.deferred(path, reader)
        self._checksum, self._directives, self._has_sql = checksum, directives, has_sql
        return self

    def _load(self) -> None:
        if self._text is None and self._data is None:
            loaded = self._reader(self._location)
            if self._checksum is not None and loaded.checksum != self._checksum:
                raise MigrationFileError(self._location, "changed while sqlmig was running "
                                         "(after its scan of the folder); run it again")
            self._text, self._data, self._directives = loaded._text, loaded._data, loaded.directives

    @property
    def directives(self) -> Mapping[str, str]:
        if self._directives is None:
            self._load()
        assert self._directives is not None
        return self._directives

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = Path(self._location)
        return self._path

    @property
    def text(self) -> str:
        if self._text is not None:
            return self._text
        self._load()
        if self._text is not None:
            return self._text
        assert self._data is not None
        return self._data.decode("utf-8")

    @property
    def big(self) -> bool:
        """Held as bytes: too big to parse ahead, lint, keep in history or copy around."""
        self._load()
        return self._data is not None

    def sql(self) -> str | bytes:
        """What to send to the server: the text, or a big file's bytes (no copy)."""
        self._load()
        return self._text if self._text is not None else self._data  # type: ignore[return-value]

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            self._load()
            if self._data is not None:
                import hashlib

                self._checksum = hashlib.sha256(self._data).hexdigest()
            else:
                self._checksum = checksum(self.text)
        return self._checksum

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SqlFile):
            return NotImplemented
        return (self._location, self.checksum, dict(self.directives)) == (
            other._location, other.checksum, dict(other.directives))

    def __hash__(self) -> int:
        return hash((self._location, self.checksum))

    def __repr__(self) -> str:
        size = f"{len(self._data)} bytes" if self._data is not None else f"{len(self.text)} chars"
        return f"SqlFile({self._location!r}, {size}, {dict(self.directives)!r})"


def checksum(text: str) -> str:
    """SHA-256 of the normalised text, so CRLF checkouts and editors adding a BOM don't count
    as drift."""
    import hashlib  # (here: a status whose files the cache knows never hashes one)

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise(raw: bytes, path: Path | str) -> str:
    """Decode strictly as UTF-8, strip a BOM, turn CRLF into LF."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        foreign(raw, path)
        line = raw[: err.start].count(b"\n") + 1
        raise MigrationFileError(
            path, f"is not valid UTF-8 (byte 0x{raw[err.start]:02x}); save it as UTF-8", line
        ) from None
    if "\x00" in text:
        foreign(raw, path)
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise MigrationFileError(path, NUL_BYTE, line)
    if text.startswith(BOM):
        text = text[1:]
    return text.replace("\r\n", "\n") if "\r" in text else text


NUL_BYTE = ("contains a NUL byte (0x00), which PostgreSQL cannot take in SQL text; "
            "is it a binary file, or saved as UTF-16? Save it as UTF-8")


def foreign(raw: bytes, path: Path | str) -> None:
    """Raise if `raw` starts with the byte order mark of UTF-16 or UTF-32: said as such, with
    the command that converts it, rather than as a stray byte."""
    for mark, encoding in FOREIGN_BOMS:
        if raw.startswith(mark):
            shown = display_path(path)
            raise MigrationFileError(
                path,
                f"is {encoding} (it starts with a {encoding} byte order mark), not UTF-8; "
                f"convert it: iconv -f {encoding} -t UTF-8 {shown} > {shown}.utf8 && "
                f"mv {shown}.utf8 {shown}",
            )


def has_sql(text: str | SqlFile) -> bool:
    """True when anything but whitespace and comments (`--` and `/* */`, nested) is left."""
    if isinstance(text, SqlFile):
        if text._has_sql is None:
            text._has_sql = _has_sql(text)
        return text._has_sql
    return _has_sql(text)


def _has_sql(text: str | SqlFile) -> bool:
    if isinstance(text, SqlFile):
        sql = text.sql()
        if isinstance(sql, bytes):  # a big file: scanned as bytes, never decoded
            return first_token(sql) < len(sql)
        text = sql
    stripped = text.lstrip()
    if not stripped.startswith(("--", "/*")):
        return bool(stripped)
    return first_token(text) < len(text)


def read_sql_file(path: Path | str) -> SqlFile:
    raw = read_bytes(path)
    if len(raw) > BIG_FILE:
        return _read_big(path, raw)
    text = normalise(raw, path)
    return SqlFile(path, text, parse_directives(text, path))


def _read_big(path: Path | str, raw: bytes) -> SqlFile:
    """The same checks and normalisation as for any file, done on the bytes in slices."""
    if raw.startswith(BOM.encode("utf-8")):
        raw = raw[3:]
    if b"\r\n" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), 1 << 20):
            decoder.decode(view[start:start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        normalise(raw, path)  # the error again, with its line, from the one-piece decoder
        raise
    nul = raw.find(b"\x00")
    if nul != -1:
        raise MigrationFileError(path, NUL_BYTE, raw.count(b"\n", 0, nul) + 1)
    header = raw[:SMALL_FILE].decode("utf-8", "ignore")
    directives = parse_directives(header.rsplit("\n", 1)[0], path)
    return SqlFile(path, None, directives, data=raw)


SMALL_FILE = 65536


def read_bytes(path: Path | str) -> bytes:
    """A file's bytes. Most migrations are small: one os.read is a third of the cost of a
    buffered open(), which adds up over 20,000 files; big files take the one-allocation path."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, SMALL_FILE)
        finally:
            os.close(fd)
        if len(data) < SMALL_FILE:
            return data
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        raise MigrationFileError(path, f"cannot be read: {err.strerror or err}") from None


EMPTY = {
    "up": "up file is empty; write the migration's SQL, or, if it deliberately changes "
          "nothing, a comment saying why (e.g. `-- moved to application code`)",
    "down": "down file is empty; write the SQL that undoes the up file, or, if there is "
            "nothing to undo, a comment saying so (e.g. `-- nothing to undo`)",
}


def read_migration_file(path: Path | str, direction: str = "up") -> SqlFile:
    """An up or down file, which may hold only comments (a deliberate no-op) but not
    nothing: an empty file is more likely a forgotten save than a migration that does
    nothing on purpose."""
    read = read_sql_file(path)
    text = read._text  # None for a big file
    if text is not None and (not text or text.isspace()):  # (strip() would copy every file)
        raise MigrationFileError(path, EMPTY[direction])
    return read


def read_down_file(path: Path | str) -> SqlFile:
    return read_migration_file(path, "down")
