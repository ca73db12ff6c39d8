"""Migration files on disk: discover `NNNN_name.up.sql` / `.down.sql` pairs, read and checksum them.

Pure: no database access. Every problem becomes a MigrationFileError naming the file (and line);
`scan` collects them all (for reports), `discover` raises the first (for commands that run SQL).
"""

from __future__ import annotations

import codecs
import gc
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlmig.core import sqltext
from sqlmig.errors import MigrationFileError, display_path

FILE_NAME = re.compile(
    r"^(?P<version>[0-9]{4,})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$"
)
# Any word after `sqlmig:` is taken as the name, so `sqlmig:No-Transaction` is reported as
# unknown instead of passing as a plain comment.
DIRECTIVE = re.compile(r"^--\s*sqlmig:(?P<name>\S*)\s*(?P<args>.*?)\s*$")
BOM = "\ufeff"
# Versions are stored as bigint; a bigger one would only fail once earlier ones had run.
MAX_VERSION = 2**63 - 1
# Byte order marks of encodings people save SQL in by accident (Windows editors, PowerShell's
# `>`), longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)

# Header directives a file may carry, and what each means to the engine.
KNOWN_DIRECTIVES = {
    "no-transaction": "run outside a transaction, statement by statement",
    "irreversible": "the migration has no down file; rollback stops here",
    "requires": "versions that must be applied first (and rolled back after this one)",
    "lock-timeout": "SET lock_timeout while this file runs, e.g. 5s",
    "statement-timeout": "SET statement_timeout while this file runs, e.g. 10min",
    "lint-ignore": "lint rules not to report for the next statement",
}
FLAG_DIRECTIVES = ("no-transaction", "irreversible")
VERSION_LIST = re.compile(r"^[0-9]+([\s,]+[0-9]+)*$")


class SqlFile:
    """One file's text, normalised (BOM stripped, CRLF -> LF) exactly as it will be executed.

    Immutable by convention. The path is kept as a string and made a Path on first use: a scan
    of 20,000 files spends more on building Paths than on reading the files. A big file (bulk
    data, over sqltext.BIG_FILE bytes) is kept as its UTF-8 bytes only, which is what gets
    hashed and sent: its text is decoded again on each use (error messages), never held. A
    deferred file (a down file, for commands that only go up) is read, and checked, on first
    use.
    """

    __slots__ = ("_checksum", "_data", "_directives", "_location", "_path", "_reader", "_text")

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

    @classmethod
    def deferred(
        cls, path: Path | str, reader: Callable[[Path | str], SqlFile] | None = None
    ) -> SqlFile:
        """A file read (by `reader`) on first use; problems with it (MigrationFileError)
        surface then."""
        self = cls.__new__(cls)
        self._location = os.fspath(path)
        self._path = path if isinstance(path, Path) else None
        self._checksum = self._text = self._data = self._directives = None
        self._reader = reader or read_sql_file
        return self

    def _load(self) -> None:
        if self._directives is None:
            loaded = self._reader(self._location)
            self._text, self._data, self._directives = loaded._text, loaded._data, loaded.directives

    @property
    def directives(self) -> Mapping[str, str]:
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


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: SqlFile
    down: SqlFile | None

    @property
    def id(self) -> str:
        """How users see it: `0003_add_user_settings` (version padded to at least 4 digits)."""
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def irreversible(self) -> bool:
        return "irreversible" in self.up.directives

    @property
    def requires(self) -> tuple[int, ...]:
        """Versions named by `-- sqlmig:requires` in the up file."""
        args = self.up.directives.get("requires")
        if not args:
            return ()
        return tuple(int(v) for v in re.split(r"[\s,]+", args) if v)


@dataclass
class Scan:
    migrations: list[Migration] = field(default_factory=list)
    problems: list[MigrationFileError] = field(default_factory=list)


def checksum(text: str) -> str:
    """SHA-256 of the normalised text, so CRLF checkouts and editors adding a BOM don't count
    as drift."""
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


def parse_directives(
    text: str, path: Path | str, known: Mapping[str, str] = KNOWN_DIRECTIVES
) -> dict[str, str]:
    """`-- sqlmig:NAME [ARGS]` lines in the header (the comments and blank lines before the
    first SQL), checked so a typo is an error rather than a silently ignored comment."""
    found: dict[str, str] = {}
    if "sqlmig:" not in text:
        return found
    from sqlmig.core.config import DURATION
    for number, line in enumerate(lines(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = DIRECTIVE.match(stripped)
        if match is None:
            continue
        name = match["name"]
        if name not in known:
            names = ", ".join(f"sqlmig:{d}" for d in known)
            message = f"unknown directive 'sqlmig:{name}' (known: {names})"
            raise MigrationFileError(path, message, number)
        args = match["args"]
        if name in FLAG_DIRECTIVES and args:
            message = f"sqlmig:{name} takes no arguments, got {args!r}"
            raise MigrationFileError(path, message, number)
        if name == "requires" and not VERSION_LIST.match(args):
            raise MigrationFileError(
                path, f"sqlmig:requires needs one or more versions, e.g. 0003, got {args!r}", number
            )
        if name in ("lock-timeout", "statement-timeout") and not DURATION.match(args):
            raise MigrationFileError(
                path, f"sqlmig:{name} needs a duration like 5s, 500ms or 10min, got {args!r}",
                number,
            )
        if name == "requires" and name in found:
            args = f"{found[name]} {args}"
        found[name] = args
    return found


def lines(text: str) -> Iterator[str]:
    """The lines of `text`, one at a time: header scans stop early, so a 200 MB file is never
    split into a list."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def has_sql(text: str | SqlFile) -> bool:
    """True when anything but whitespace and comments (`--` and `/* */`, nested) is left."""
    if isinstance(text, SqlFile):
        sql = text.sql()
        if isinstance(sql, bytes):  # a big file: scanned as bytes, never decoded
            from sqlmig.core.sqltext import first_token

            return first_token(sql) < len(sql)
        text = sql
    stripped = text.lstrip()
    if not stripped.startswith(("--", "/*")):
        return bool(stripped)
    from sqlmig.core.sqltext import first_token

    return first_token(text) < len(text)


def read_sql_file(path: Path | str) -> SqlFile:
    raw = read_bytes(path)
    if len(raw) > sqltext.BIG_FILE:
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


def read_down_file(path: Path | str) -> SqlFile:
    """A down file, which may hold only comments but not nothing: an empty file is more
    likely a forgotten one than a migration with nothing to undo."""
    down = read_sql_file(path)
    if not down.big and not down.text.strip():
        raise MigrationFileError(
            path,
            "down file is empty; write the SQL that undoes the up file, or, if there is "
            "nothing to undo, a comment saying so (e.g. `-- nothing to undo`)",
        )
    return down


def scan(directory: Path, *, defer_downs: bool = False) -> Scan:
    """Read every migration in `directory`, collecting problems instead of stopping at the first.
    `defer_downs`: down files are read on first use (commands that only go up or report)."""
    # Tens of thousands of small objects and no cycles: the cyclic GC would only rescan them
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(directory, defer_downs)
    finally:
        if enabled:
            gc.enable()


def _scan(directory: Path, defer_downs: bool) -> Scan:
    result = Scan()
    if not directory.is_dir():
        result.problems.append(MigrationFileError(directory, "migrations directory does not exist"))
        return result

    ups: dict[int, list[tuple[str, str]]] = {}
    downs: dict[tuple[int, str], str] = {}
    base = os.path.join(os.fspath(directory), "")
    # os.scandir and plain strings: with 20,000 files, Path sorting and stat calls dominate
    try:
        with os.scandir(directory) as entries:
            names = sorted(
                entry.name for entry in entries
                if entry.name[-4:].lower() == ".sql" and not entry.name.startswith(".")
                and _is_migration_file(entry, result)
            )
    except OSError as err:
        result.problems.append(MigrationFileError(
            directory, f"cannot list the migrations directory: {err.strerror or err}"
        ))
        return result
    # named like a migration but refused: its partner is not reported as unpaired too
    refused = {os.fspath(p.path).lower() for p in result.problems}
    for file_name in names:
        path = base + file_name
        match = FILE_NAME.match(file_name)
        if match is None and FILE_NAME.match(file_name[:-4] + ".sql"):
            result.problems.append(MigrationFileError(
                path, f"extension must be lower-case .sql: rename it to {file_name[:-4]}.sql"
            ))
            refused.add(path.lower())
            continue
        if match is None:
            result.problems.append(
                MigrationFileError(
                    path,
                    "name does not match NNNN_name.up.sql / NNNN_name.down.sql "
                    "(version: 4+ digits; name: lower-case letters, digits, _)",
                )
            )
            continue
        version, name = int(match["version"]), match["name"]
        if version > MAX_VERSION:
            result.problems.append(MigrationFileError(
                path, f"version {match['version']} is too big: versions are stored as bigint "
                f"(at most {MAX_VERSION})"
            ))
            continue
        if match["direction"] == "up":
            ups.setdefault(version, []).append((name, path))
        else:
            downs[(version, name)] = path

    for version in sorted(ups):
        if len(ups[version]) > 1:
            paths = [p for _, p in ups[version]]
            others = ", ".join(os.path.basename(p) for p in paths[1:])
            result.problems.append(
                MigrationFileError(paths[0], f"duplicate version {version}: also used by {others}")
            )
            continue
        name, up_path = ups[version][0]
        down_path = downs.pop((version, name), None)
        if down_path is None and f"{up_path[:-len('.up.sql')]}.down.sql".lower() in refused:
            continue  # its down is there but refused, and reported as such
        try:
            migration = _read_pair(version, name, up_path, down_path, defer_downs)
        except MigrationFileError as err:
            result.problems.append(err)
            continue
        result.migrations.append(migration)

    for (version, _name), down_path in sorted(downs.items()):
        owners = ups.get(version, [])
        if len(owners) > 1 or f"{down_path[:-len('.down.sql')]}.up.sql".lower() in refused:
            continue  # already reported: a duplicate version, or an up that is refused
        message = "down file has no matching up file"
        if owners:
            message += f" (version {version} is {os.path.basename(owners[0][1])})"
        result.problems.append(MigrationFileError(down_path, message))
    _check_requires(result)
    result.problems.sort(key=lambda e: str(e.path))
    return result


def _is_migration_file(entry: os.DirEntry[str], result: Scan) -> bool:
    """True for a regular file (or a link to one). Anything else named like SQL is a problem:
    skipping a directory, a dangling link or a link loop would silently skip a migration."""
    try:
        if entry.is_file():
            return True
        problem = "is a directory, not a migration file" if entry.is_dir() else (
            "is not a regular file")
        if entry.is_symlink():
            target = os.readlink(entry.path)
            if not os.path.exists(entry.path):
                problem = f"is a symbolic link to {target}, which does not exist"
    except OSError as err:
        problem = f"cannot be read: {err.strerror or err}"
        if entry.is_symlink():
            problem = f"is a symbolic link that cannot be followed: {err.strerror or err}"
    result.problems.append(MigrationFileError(entry.path, problem))
    return False


def _check_requires(result: Scan) -> None:
    versions = {m.version for m in result.migrations}
    for migration in result.migrations:
        for required in migration.requires:
            if required >= migration.version:
                problem = f"sqlmig:requires {required:04d}: a migration can only require older ones"
            elif required not in versions:
                problem = f"sqlmig:requires {required:04d}: no migration has that version"
            else:
                continue
            result.problems.append(MigrationFileError(migration.up.path, problem))


def _read_pair(
    version: int, name: str, up_path: str, down_path: str | None, defer_down: bool = False
) -> Migration:
    up = read_sql_file(up_path)
    if not has_sql(up):
        raise MigrationFileError(up_path, "up file is empty (no SQL besides comments)")
    if down_path is None:
        if "irreversible" not in up.directives:
            expected = os.path.basename(up_path)[: -len(".up.sql")] + ".down.sql"
            raise MigrationFileError(
                up_path,
                f"has no down file: create {expected}, "
                "or mark the up as '-- sqlmig:irreversible' in its header",
            )
        return Migration(version, name, up, None)
    if "irreversible" in up.directives:
        raise MigrationFileError(
            up_path,
            f"is marked sqlmig:irreversible but {os.path.basename(down_path)} exists: remove one",
        )
    down = SqlFile.deferred(down_path, read_down_file) if defer_down else read_down_file(down_path)
    return Migration(version, name, up, down)


def discover(directory: Path, *, defer_downs: bool = False) -> list[Migration]:
    """All migrations in version order, or the first problem as a MigrationFileError."""
    result = scan(directory, defer_downs=defer_downs)
    if result.problems:
        raise result.problems[0]
    return result.migrations


def migration_file_name(version: int, name: str, direction: str, width: int = 4) -> str:
    return f"{version:0{width}d}_{name}.{direction}.sql"


def syntax_problems(migrations: list[Migration]) -> list[MigrationFileError]:
    """Syntax errors in every up and down file, found by the Postgres parser, offline."""
    from sqlmig.core.sqltext import hazards

    problems = []
    for migration in migrations:
        for sql_file in (migration.up, migration.down):
            if sql_file is None:
                continue
            for hazard in hazards(sql_file.text):
                if hazard.kind == "syntax":
                    problems.append(MigrationFileError(sql_file.path, hazard.what, hazard.line))
    return problems
