"""Migration files on disk: discover `NNNN_name.up.sql` / `.down.sql` pairs, read and checksum them.

Pure: no database access. Every problem becomes a MigrationFileError naming the file (and line);
`scan` collects them all (for reports), `discover` raises the first (for commands that run SQL).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlmig.errors import MigrationFileError

FILE_NAME = re.compile(r"^(?P<version>\d{4,})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")
DIRECTIVE = re.compile(r"^--\s*sqlmig:(?P<name>[a-z-]+)\s*(?P<args>.*?)\s*$")
BOM = "\ufeff"

# Header directives a migration may carry, and what each means to the engine.
KNOWN_DIRECTIVES = {
    "no-transaction": "run outside a transaction, statement by statement",
    "irreversible": "the migration has no down file; rollback stops here",
}


@dataclass(frozen=True)
class SqlFile:
    """One file's text, normalised (BOM stripped, CRLF -> LF) exactly as it will be executed."""

    path: Path
    text: str
    directives: frozenset[str] = frozenset()

    @property
    def checksum(self) -> str:
        return checksum(self.text)


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
    def no_transaction(self) -> bool:
        return "no-transaction" in self.up.directives

    @property
    def irreversible(self) -> bool:
        return "irreversible" in self.up.directives


@dataclass
class Scan:
    migrations: list[Migration] = field(default_factory=list)
    problems: list[MigrationFileError] = field(default_factory=list)


def checksum(text: str) -> str:
    """SHA-256 of the normalised text, so CRLF checkouts and editors adding a BOM don't count
    as drift."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise(raw: bytes, path: Path) -> str:
    """Decode strictly as UTF-8, strip a BOM, turn CRLF into LF."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise MigrationFileError(
            path, f"is not valid UTF-8 (byte 0x{raw[err.start]:02x}); save it as UTF-8", line
        ) from None
    if text.startswith(BOM):
        text = text[1:]
    return text.replace("\r\n", "\n")


def parse_directives(text: str, path: Path) -> frozenset[str]:
    """`-- sqlmig:NAME` lines in the header (the comments and blank lines before the first SQL)."""
    found: set[str] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = DIRECTIVE.match(stripped)
        if match is None:
            continue
        name = match["name"]
        if name not in KNOWN_DIRECTIVES:
            known = ", ".join(f"sqlmig:{d}" for d in KNOWN_DIRECTIVES)
            message = f"unknown directive 'sqlmig:{name}' (known: {known})"
            raise MigrationFileError(path, message, number)
        found.add(name)
    return frozenset(found)


def has_sql(text: str) -> bool:
    """True when anything but blank lines and `--` comments is left."""
    return any(
        line.strip() and not line.strip().startswith("--") for line in text.split("\n")
    )


def read_sql_file(path: Path) -> SqlFile:
    text = normalise(path.read_bytes(), path)
    return SqlFile(path=path, text=text, directives=parse_directives(text, path))


def scan(directory: Path) -> Scan:
    """Read every migration in `directory`, collecting problems instead of stopping at the first."""
    result = Scan()
    if not directory.is_dir():
        result.problems.append(MigrationFileError(directory, "migrations directory does not exist"))
        return result

    ups: dict[int, list[tuple[str, Path]]] = {}
    downs: dict[tuple[int, str], Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix != ".sql" or not path.is_file():
            continue
        match = FILE_NAME.match(path.name)
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
        if match["direction"] == "up":
            ups.setdefault(version, []).append((name, path))
        else:
            downs[(version, name)] = path

    for version in sorted(ups):
        if len(ups[version]) > 1:
            paths = [p for _, p in ups[version]]
            others = ", ".join(p.name for p in paths[1:])
            result.problems.append(
                MigrationFileError(paths[0], f"duplicate version {version}: also used by {others}")
            )
            continue
        name, up_path = ups[version][0]
        down_path = downs.pop((version, name), None)
        try:
            migration = _read_pair(version, name, up_path, down_path)
        except MigrationFileError as err:
            result.problems.append(err)
            continue
        result.migrations.append(migration)

    for (version, _name), down_path in sorted(downs.items()):
        owners = ups.get(version, [])
        if len(owners) > 1:
            continue  # already reported as a duplicate version
        message = "down file has no matching up file"
        if owners:
            message += f" (version {version} is {owners[0][1].name})"
        result.problems.append(MigrationFileError(down_path, message))
    result.problems.sort(key=lambda e: str(e.path))
    return result


def _read_pair(version: int, name: str, up_path: Path, down_path: Path | None) -> Migration:
    up = read_sql_file(up_path)
    if not has_sql(up.text):
        raise MigrationFileError(up_path, "up file is empty (no SQL besides comments)")
    if down_path is None:
        if "irreversible" not in up.directives:
            expected = up_path.with_name(f"{up_path.name[: -len('.up.sql')]}.down.sql").name
            raise MigrationFileError(
                up_path,
                f"has no down file: create {expected}, "
                "or mark the up as '-- sqlmig:irreversible' in its header",
            )
        return Migration(version, name, up, None)
    if "irreversible" in up.directives:
        raise MigrationFileError(
            up_path, f"is marked sqlmig:irreversible but {down_path.name} exists: remove one"
        )
    return Migration(version, name, up, read_sql_file(down_path))


def discover(directory: Path) -> list[Migration]:
    """All migrations in version order, or the first problem as a MigrationFileError."""
    result = scan(directory)
    if result.problems:
        raise result.problems[0]
    return result.migrations


def migration_file_name(version: int, name: str, direction: str, width: int = 4) -> str:
    return f"{version:0{width}d}_{name}.{direction}.sql"
