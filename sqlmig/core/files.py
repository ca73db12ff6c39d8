"""The migrations folder: find the `NNNN_name.up.sql` / `.down.sql` pairs, read them
(sqlfile.py) and check that they make a whole history.

Pure: no database access. Every problem becomes a MigrationFileError naming the file (and line);
`scan` collects them all (for reports), `discover` raises the first (for commands that run SQL).
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from typing import NamedTuple

from sqlmig.core.file_cache import FileCache, Known
from sqlmig.core.sqlfile import SqlFile, has_sql, read_down_file, read_migration_file
from sqlmig.core.states import version_text
from sqlmig.errors import MigrationFileError

# What golang-migrate accepts: a version of any width (compared as an integer), `_`, then any
# name (upper case, `-` and `.` included), then the direction.
FILE_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<name>.*)\.(?P<direction>up|down)\.sql\Z")


# Versions are stored as bigint; a bigger one would only fail once earlier ones had run.
MAX_VERSION = 2**63 - 1


class Migration(NamedTuple):
    version: int
    name: str
    up: SqlFile
    down: SqlFile | None
    digits: str = ""  # the version as the file names write it, leading zeros kept

    @property
    def id(self) -> str:
        """How users see it: `0003_add_user_settings`, the version as its files write it."""
        return f"{version_text(self.version, self.digits)}_{self.name}"

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def no_op(self) -> bool:
        """Its up file holds only comments: kept so the numbering stays whole, applied and
        recorded like any other."""
        return not has_sql(self.up)

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


class Scan:
    """The migrations a folder holds, and what is wrong with the files that are none."""

    def __init__(self, migrations: list[Migration] | None = None,
                 problems: list[MigrationFileError] | None = None) -> None:
        self.migrations = [] if migrations is None else migrations
        self.problems = [] if problems is None else problems


# The scan a fleet run made once for all its targets (scanned_once), seen by the scans its
# targets' commands make of the same folder in the same context
_SHARED: ContextVar[tuple[Path, Scan] | None] = ContextVar("sqlmig_shared_scan", default=None)


@contextmanager
def scanned_once(directory: Path, *, cache: Path | None = None) -> Iterator[Scan]:
    """Read and hash `directory` once; in this context (and its copies, one per fleet worker
    thread) every `scan(directory, defer_downs=True)` returns that same Scan."""
    result = scan(directory, defer_downs=True, cache=cache)
    for migration in result.migrations:
        _ = migration.checksum  # hashed here, not by the first target of each worker
    token = _SHARED.set((directory, result))
    try:
        yield result
    finally:
        _SHARED.reset(token)


def scan(directory: Path, *, defer_downs: bool = False, cache: Path | None = None) -> Scan:
    """Read every migration in `directory`, collecting problems instead of stopping at the first.
    `defer_downs`: down files are read on first use (commands that only go up or report).
    `cache`: the folder of the file cache (core/file_cache.py), where up files whose stat is
    unchanged since an earlier scan are not read again."""
    shared = _SHARED.get()
    if shared is not None and defer_downs and shared[0] == directory:
        return shared[1]
    # Tens of thousands of small objects and no cycles: the cyclic GC would only rescan them
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(directory, defer_downs, cache)
    finally:
        if enabled:
            gc.enable()


def _scan(directory: Path, defer_downs: bool, cache: Path | None = None) -> Scan:
    result = Scan()
    if not directory.is_dir():
        result.problems.append(no_migrations_directory(directory))
        return result

    known = FileCache(cache, directory) if cache is not None else None
    if known is not None and defer_downs and known.unchanged() is not None:
        with suppress(ValueError, TypeError):  # (directives the cache cannot read: scan)
            return _as_cached(known, directory)  # a scan would find what the last one found
    ups: dict[int, list[tuple[str, str, str]]] = {}  # version -> (name, path, digits)
    downs: dict[tuple[int, str], str] = {}
    base = os.path.join(os.fspath(directory), "")
    # os.scandir and plain strings: with 20,000 files, Path sorting and stat calls dominate
    folders: list[str] = []
    listing: list[str] = []  # every name but hidden ones, for the file cache
    names: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                listing.append(entry.name)
                if entry.name[-4:].lower() == ".sql":
                    if _is_migration_file(entry, result):
                        names.append(entry.name)
                else:
                    _note_folder(entry, folders)
        names.sort()
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
                    "name does not match VERSION_name.up.sql / VERSION_name.down.sql "
                    "(VERSION: digits, then `_` and the name)",
                )
            )
            continue
        digits, name, direction = match.groups()
        version = int(digits)
        if version > MAX_VERSION:
            result.problems.append(MigrationFileError(
                path, f"version {digits} is too big: versions are stored as bigint "
                f"(at most {MAX_VERSION})"
            ))
            continue
        if direction == "up":
            ups.setdefault(version, []).append((name, path, digits))
        else:
            downs[(version, name)] = path

    for version in sorted(ups):
        if len(ups[version]) > 1:
            paths = [p for _, p, _ in ups[version]]
            others = ", ".join(os.path.basename(p) for p in paths[1:])
            result.problems.append(
                MigrationFileError(paths[0], f"duplicate version {version}: also used by {others}")
            )
            continue
        name, up_path, digits = ups[version][0]
        down_path = downs.pop((version, name), None)
        if down_path is None and f"{up_path[:-len('.up.sql')]}.down.sql".lower() in refused:
            continue  # its down is there but refused, and reported as such
        try:
            migration = _read_pair(version, name, up_path, down_path, defer_downs, digits,
                                   known)
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
    _check_folders(directory, sorted(folders), result)
    result.problems.sort(key=lambda e: str(e.path))
    if known is not None:
        clean = not result.problems and not folders
        known.save(sorted(listing), clean, [
            (m.version, m.name, m.digits, os.path.basename(m.up._location),
             None if m.down is None else os.path.basename(m.down._location))
            for m in result.migrations] if clean else None)
    return result


def _as_cached(known: FileCache, directory: Path) -> Scan:
    """The migrations of the last clean scan, from the cache (FileCache.unchanged() has just
    checked every up file's stat and the folder's names): what _scan would build, without
    reading, matching or sorting 20,000 names again."""
    base = os.path.join(os.fspath(directory), "")
    migrations = []
    for version, name, digits, up_name, down_name, found in known.cached():
        up = SqlFile.known(base + up_name, read_migration_file, found.checksum,
                           found.directives, found.has_sql)
        down = None if down_name is None else SqlFile.deferred(base + down_name, read_down_file)
        migrations.append(Migration(version, name, up, down, digits))
    return Scan(migrations)


# A folder per migration holding up.sql and down.sql: Diesel's layout, and Sourcegraph's.
FOLDER_VERSION = re.compile(r"^(?P<version>[0-9][0-9-]*)_(?P<name>.+)$")


def _note_folder(entry: os.DirEntry[str], folders: list[str]) -> None:
    """Keep the folders of the migrations directory aside; they are never migrations."""
    with suppress(OSError):
        if entry.is_dir():
            folders.append(entry.path)


def _check_folders(directory: Path, folders: list[str], result: Scan) -> None:
    """SQL in subfolders is never skipped in silence: a folder in Diesel's layout is named
    with the pair it should become, and finding no migration while `.sql` files sit in
    subfolders is a problem, not an empty history."""
    for folder in folders:
        if not any(os.path.exists(os.path.join(folder, f)) for f in ("up.sql", "down.sql")):
            continue
        match = FOLDER_VERSION.match(os.path.basename(folder))
        stem = (f"{match['version'].replace('-', '')}_{match['name']}" if match
                else "VERSION_name")
        result.problems.append(MigrationFileError(
            folder, "is a migration in a folder of its own (up.sql and down.sql, Diesel's "
            "layout); sqlmig reads pairs of files in the migrations directory: make it "
            f"{stem}.up.sql and {stem}.down.sql"))
    if result.migrations or result.problems or not folders:
        return
    nested = next((os.path.join(root, name) for folder in folders
                   for root, _, names in os.walk(folder) for name in sorted(names)
                   if name.lower().endswith(".sql")), None)
    if nested is not None:
        result.problems.append(MigrationFileError(
            directory, f"holds no migration, but there is SQL in its subfolders (e.g. "
            f"{os.path.relpath(nested, directory)}); sqlmig reads VERSION_name.up.sql and "
            ".down.sql files in the migrations directory itself"))


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
    version: int, name: str, up_path: str, down_path: str | None, defer_down: bool = False,
    digits: str = "", known: FileCache | None = None,
) -> Migration:
    up = read_migration_file(up_path) if known is None else _read_up(up_path, known)
    if down_path is None:
        if "irreversible" not in up.directives:
            expected = os.path.basename(up_path)[: -len(".up.sql")] + ".down.sql"
            raise MigrationFileError(
                up_path,
                f"has no down file: create {expected}, "
                "or mark the up as '-- sqlmig:irreversible' in its header",
            )
        return Migration(version, name, up, None, digits)
    if "irreversible" in up.directives:
        raise MigrationFileError(
            up_path,
            f"is marked sqlmig:irreversible but {os.path.basename(down_path)} exists: remove one",
        )
    down = SqlFile.deferred(down_path, read_down_file) if defer_down else read_down_file(down_path)
    return Migration(version, name, up, down, digits)


def _read_up(path: str, known: FileCache) -> SqlFile:
    """An up file as the cache knows it when its stat is unchanged, else read (and the
    cache told what the read found)."""
    try:
        stat = os.stat(path)
    except OSError:
        return read_migration_file(path)  # the read says what is wrong
    name = os.path.basename(path)
    found = known.get(name, stat)
    if found is not None:
        return SqlFile.known(path, read_migration_file, found.checksum, found.directives,
                             found.has_sql)
    up = read_migration_file(path)
    known.put(name, stat, Known(up.checksum, has_sql(up), dict(up.directives)))
    return up


def no_migrations_directory(directory: Path) -> MigrationFileError:
    """The error of a folder that is not a sqlmig project (or not its root)."""
    what = "is not a directory" if directory.exists() else "does not exist"
    return MigrationFileError(
        directory, f"migrations directory {what} (in {directory.parent}); run `sqlmig init` "
        "to start a project there, or run sqlmig from the project's folder"
    )


def require_migrations_directory(directory: Path) -> None:
    """Refuse a folder with no migrations directory before any server starts or connection
    is made: in the wrong folder, the embedded server would start for nothing."""
    if not directory.is_dir():
        raise no_migrations_directory(directory)


def discover(
    directory: Path, *, defer_downs: bool = False, cache: Path | None = None
) -> list[Migration]:
    """All migrations in version order, or the first problem as a MigrationFileError."""
    result = scan(directory, defer_downs=defer_downs, cache=cache)
    if result.problems:
        raise result.problems[0]
    return result.migrations
