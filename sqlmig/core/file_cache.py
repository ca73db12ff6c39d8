"""What reading each up file found (checksum, directives, whether it holds SQL), kept under
`.sqlmig/cache/` and keyed by the file's size, mtime, ctime and inode, the way git's index
avoids re-hashing unchanged files: a scan of 10,000 migrations stats them instead of reading
them. Never trusted for a file whose stat changed, never written for a file changed in the
last seconds (a later edit in the same clock tick would keep its stat), and never a reason
for a command to fail: a cache that cannot be read or written is simply not used.

Also the folder's listing, whether its last scan was clean and the migrations it found, so
that, from stats alone, a scan can be rebuilt without reading or matching names again
(files._as_cached) and `sqlmig migrate` with nothing to do can tell that a scan would find
exactly what the last one found (commands/quick.py).
"""

from __future__ import annotations

import marshal
import os
import sys
import time
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

FORMAT = "sqlmig-file-cache 4"
# A file changed this recently may change again within its mtime's resolution unseen
RACY_NS = 2_000_000_000

Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Entry = tuple[int, int, int, int, str, bool, str, int]  # stamp, Known (directives as JSON), version


class Known(NamedTuple):
    """What a read of an up file found."""

    checksum: str
    has_sql: bool
    directives: Mapping[str, str]


def stamp(stat: os.stat_result) -> Stamp:
    """The part of a stat that changes whenever the file's content may have."""
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def location(cache_dir: Path, directory: Path) -> Path:
    """One cache file per migrations folder, under the project's `.sqlmig/cache/`."""
    # (a checksum, not hashlib: loading OpenSSL would cost the quick path more than it saves;
    # two folders that collide only take turns, as the header names the folder)
    return cache_dir / f"files-{zlib.crc32(os.fsencode(os.path.abspath(directory))):08x}"


class FileCache:
    """The cache of one migrations folder, loaded on creation, saved by save(). Stored with
    marshal under a header naming the format, sqlmig's and Python's versions and the folder
    (any other file is ignored), as columns: a few long strings and arrays load in a
    millisecond where 10,000 tuples took twenty, and are split only where needed."""

    def __init__(self, cache_dir: Path, directory: Path) -> None:
        self.path = location(cache_dir, directory)
        self.directory = os.path.abspath(directory)
        self._entries: dict[str, Entry] | None = None  # built from the columns on first use
        self._columns: _Columns | None = None  # what the file holds
        # the folder's own stamp before the last scan listed it: a name added or gone changes it
        self.folder: Stamp | None = None
        self.clean = False  # that scan found no problem
        self.summary: tuple[int, str] | None = None  # what unchanged() returns
        self.changed = False
        self._load(self.path)
        self.seen = _folder_stamp(self.directory)  # made before a scan lists the folder

    def _header(self) -> tuple[str, str, str, str]:
        return FORMAT, _version(), sys.version, self.directory

    def _load(self, path: Path) -> None:
        try:  # (marshal.load on a file would read it in thousands of small pieces)
            header, clean, folder, summary, *columns = marshal.loads(path.read_bytes())
            loaded = _Columns.loaded(columns)
        except (OSError, EOFError, ValueError, TypeError):
            return
        if header != self._header() or not loaded.valid():
            return
        self.clean, self.folder, self.summary = clean is True, folder, summary
        self._columns = loaded

    @property
    def entries(self) -> dict[str, Entry]:
        """Up file name -> what its last read found."""
        if self._entries is None:
            self._entries = self._columns.entries() if self._columns else {}
        return self._entries

    @property
    def listing(self) -> list[str]:
        """Every name the last scan saw in the folder, but hidden ones, sorted."""
        return _split(self._columns.listing) if self._columns else []

    @property
    def layout(self) -> list[tuple[int, str, str, str, str | None]]:
        """The migrations of the last clean scan: (version, name, digits, up name, down
        name)."""
        return self._columns.layout() if self._columns else []

    def unchanged(self) -> tuple[int, str] | None:
        """How many migrations there are and the digest() of their (version, checksum) pairs,
        when the folder holds exactly the names of its last scan, that scan was clean and no
        up file's stat has changed since: a scan now would find the same. None when that
        cannot be told so."""
        columns = self._columns
        if not self.clean or self.summary is None or columns is None:
            return None
        try:
            # every name, folders and other files too (a clean scan saw no folder), unless the
            # folder's own stamp says no name was added, removed or renamed since
            same = self.seen is not None and self.folder is not None \
                and self.seen[1:] == self.folder[1:]
            if not same and sorted(name for name in os.listdir(self.directory)
                                   if name[:1] != ".") != _split(columns.listing):
                return None
            sizes, times = columns.sizes, columns.times
            folder = os.open(self.directory, os.O_RDONLY)
            try:
                for name, size, inode, mtime, ctime in zip(
                        _split(columns.names), sizes[0::2], sizes[1::2], times[0::2],
                        times[1::2], strict=True):
                    stat = os.stat(name, dir_fd=folder)
                    if (stat.st_size != size or stat.st_mtime_ns != mtime
                            or stat.st_ctime_ns != ctime or stat.st_ino != inode):
                        return None
            finally:
                os.close(folder)
        except OSError:
            return None
        return self.summary

    def found(self, *, checksums: bool = True
              ) -> tuple[list[int], list[str], list[str], list[str], list[bool]]:
        """The migrations of the last clean scan as columns (versions, names, digits,
        checksums, has_sql), in version order: for after unchanged() has vouched for them.
        Without `checksums`, that column is left empty."""
        columns = self._columns
        if columns is None:
            return [], [], [], [], []
        ups, count = columns.ups.tolist(), len(columns.versions)
        known, has_sql = _split(columns.checksums) if checksums else [], columns.has_sql
        return (columns.versions.tolist(), _split(columns.migration_names, count),
                _split(columns.digits, count), [known[i] for i in ups] if checksums else [],
                [has_sql[i] == 1 for i in ups])

    def cached(self) -> Iterator[tuple[int, str, str, str, str | None, Known]]:
        """The migrations of the last clean scan with what reading each up file found:
        (version, name, digits, up name, down name, Known), straight from the columns (no
        entries built): for after unchanged() has vouched for them."""
        columns = self._columns
        if columns is None:
            return
        entries = len(columns.directives)
        names, checksums = _split(columns.names, entries), _split(columns.checksums, entries)
        has_sql, directives = columns.has_sql, columns.directives
        for version, name, digits, up, down in columns.migrations():
            yield (version, name, digits, names[up], down or None,
                   Known(checksums[up], has_sql[up] == 1, _directives(directives[up])))

    def get(self, name: str, stat: os.stat_result | None = None) -> Known | None:
        """What the cache knows of an up file whose stat is `stat` (None: unchanged() has
        just checked it)."""
        entry = self.entries.get(name)
        if entry is None or (stat is not None and entry[:4] != stamp(stat)):
            return None
        try:
            return Known(entry[4], entry[5], _directives(entry[6]))
        except (ValueError, TypeError):
            return None

    def put(self, name: str, stat: os.stat_result, known: Known) -> None:
        if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) < RACY_NS:
            if self.entries.pop(name, None) is not None:  # too fresh to vouch for
                self.changed = True
            return
        import json

        directives = json.dumps(dict(known.directives)) if known.directives else ""
        entry = (*stamp(stat), known.checksum, known.has_sql, directives,
                 int(name.partition("_")[0]))
        if self.entries.get(name) != entry:
            self.entries[name] = entry
            self.changed = True

    def save(self, listing: list[str], clean: bool,
             layout: list[tuple[int, str, str, str, str | None]] | None = None) -> None:
        """Write the cache if anything changed (atomically; failures ignored: a read-only
        checkout or a container's read-only volume just goes without). `listing`: every
        name in the folder but hidden ones, sorted."""
        names = set(listing)
        entries = self.entries
        if any(name not in names for name in entries):  # files gone since
            self._entries = entries = {name: e for name, e in entries.items() if name in names}
            self.changed = True
        folder = self.seen
        if folder is not None and time.time_ns() - max(folder[1:3]) < RACY_NS:
            folder = None  # changed too recently to vouch for: the names are compared
        layout = layout or []
        if not self.changed and (listing, clean, folder, layout) == (
                self.listing, self.clean, self.folder, self.layout):
            return
        pairs = sorted((entry[7], entry[4]) for entry in entries.values())
        summary = (len(pairs), digest(pairs)) if clean and len(pairs) == sum(
            name.endswith(".up.sql") for name in listing) else None
        if summary is None or any(up not in entries for _, _, _, up, _ in layout):
            layout = []
        store(self.path, marshal.dumps((self._header(), clean, folder, summary,
                                        *_Columns.of(listing, entries, layout).stored())))


def store(path: Path, data: bytes) -> bool:
    """Write a file of the cache folder atomically, with the folder's `.gitignore`; False
    when it cannot be written (a read-only checkout or volume just goes without)."""
    import threading  # (only here: the quick paths never write)

    # a name of this process and thread alone: concurrent writers never share one
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ignore = path.parent / ".gitignore"
        if not ignore.exists():  # a project that does not ignore .sqlmig/ yet
            ignore.write_text("# sqlmig's cache: never committed\n*\n", encoding="utf-8")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        return True
    except OSError:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        return False


class _Columns(NamedTuple):
    """The cache as stored: names joined by NUL (which no file name holds), numbers in
    arrays. The entries' columns are in the order of `names`; the layout's `ups` index them.
    (NamedTuples, not dataclasses, on the quick paths: core/config.py's Settings says why.)"""

    listing: str  # every name the scan saw
    names: str  # the up files read
    sizes: array[int]  # size and inode of each ('Q')
    times: array[int]  # mtime_ns and ctime_ns of each ('q')
    checksums: str
    has_sql: bytes
    directives: list[str]  # as JSON, "" for none
    versions: array[int]  # the layout: each migration's version ('q'),
    migration_names: str  # name,
    digits: str  # version as its files write it,
    ups: array[int]  # up file (an index into names, 'q')
    downs: str  # and down file ("" for none)

    @classmethod
    def of(cls, listing: list[str], entries: dict[str, Entry],
           layout: list[tuple[int, str, str, str, str | None]]) -> _Columns:
        index = {name: i for i, name in enumerate(entries)}
        values = list(entries.values())
        return cls(
            _join(listing), _join(entries),
            array("Q", [n for e in values for n in (e[0], e[3])]),
            array("q", [n for e in values for n in (e[1], e[2])]),
            _join(e[4] for e in values), bytes(e[5] for e in values), [e[6] for e in values],
            array("q", [m[0] for m in layout]), _join(m[1] for m in layout),
            _join(m[2] for m in layout), array("q", [index[m[3]] for m in layout]),
            _join(m[4] or "" for m in layout))

    @classmethod
    def loaded(cls, stored: list[Any]) -> _Columns:
        """stored()'s values back (TypeError or ValueError if they are not)."""
        values: list[Any] = [
            array(_ARRAYS[name], value) if name in _ARRAYS and isinstance(value, bytes) else value
            for name, value in zip(cls._fields, stored, strict=True)]
        return cls(*values)

    def stored(self) -> tuple[Any, ...]:
        return tuple(value.tobytes() if isinstance(value, array) else value for value in self)

    def valid(self) -> bool:
        """Whether the columns are as save() writes them (counted, not split)."""
        count, migrations = len(self.directives), len(self.versions)
        strings = (self.listing, self.names, self.checksums, self.migration_names,
                   self.digits, self.downs)
        return (all(isinstance(s, str) for s in strings) and isinstance(self.has_sql, bytes)
                and len(self.has_sql) == count == len(self.sizes) // 2 == len(self.times) // 2
                and all(_counted(s, count) for s in (self.names, self.checksums))
                and len(self.ups) == migrations
                and all(_counted(s, migrations)
                        for s in (self.migration_names, self.digits, self.downs))
                and (not migrations or (min(self.ups) >= 0 and max(self.ups) < count)))

    def entries(self) -> dict[str, Entry]:
        sizes, times = self.sizes, self.times
        return {
            name: (sizes[2 * i], times[2 * i], times[2 * i + 1], sizes[2 * i + 1], checksum,
                   has_sql == 1, directives, int(name.partition("_")[0]))
            for i, (name, checksum, has_sql, directives) in enumerate(zip(
                _split(self.names, len(self.directives)),
                _split(self.checksums, len(self.directives)), self.has_sql, self.directives,
                strict=True))
        }

    def migrations(self) -> Iterator[tuple[int, str, str, int, str]]:
        """The layout's rows: (version, name, digits, up file's index, down name or "")."""
        count = len(self.versions)
        return zip(self.versions, _split(self.migration_names, count),
                   _split(self.digits, count), self.ups, _split(self.downs, count), strict=True)

    def layout(self) -> list[tuple[int, str, str, str, str | None]]:
        names = _split(self.names, len(self.directives))
        return [(version, name, digits, names[up], down or None)
                for version, name, digits, up, down in self.migrations()]


# The columns stored as arrays, with their typecodes
_ARRAYS = {"sizes": "Q", "times": "q", "versions": "q", "ups": "q"}

_NO_DIRECTIVES: Mapping[str, str] = MappingProxyType({})


def _directives(stored: str) -> Mapping[str, str]:
    """Directives as stored (JSON, "" for none); ValueError or TypeError if they are not."""
    if not stored:
        return _NO_DIRECTIVES
    import json

    return dict(json.loads(stored))


def _join(strings: Iterable[str]) -> str:
    return "\0".join(strings)


def _split(joined: str, count: int | None = None) -> list[str]:
    """_join's strings back; `count` tells none from one empty string (None: no string
    is empty)."""
    if count == 0 or (count is None and not joined):
        return []
    return joined.split("\0")


def _counted(joined: str, count: int) -> bool:
    """Whether _join joined `count` strings into `joined` ("" is none, or one empty)."""
    return count <= 1 if not joined else joined.count("\0") + 1 == count


def digest(pairs: list[tuple[int, str]]) -> str:
    """SHA-256 of `version:checksum` pairs joined by commas, in version order: what
    commands/quick.py asks the server to compute over the history."""
    import hashlib

    text = ",".join(f"{version}:{checksum}" for version, checksum in pairs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _folder_stamp(directory: str) -> Stamp | None:
    try:
        return stamp(os.stat(directory))
    except OSError:
        return None


def _version() -> str:
    from sqlmig import __version__

    return __version__
