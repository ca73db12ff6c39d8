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
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

FORMAT = "sqlmig-file-cache 3"
# A file changed this recently may change again within its mtime's resolution unseen
RACY_NS = 2_000_000_000

Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Entry = tuple[int, int, int, int, str, bool, str, int]  # stamp, Known (directives as JSON), version


@dataclass(frozen=True)
class Known:
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
    marshal (a tenth of JSON's time to load 10,000 entries), under a header naming the format,
    sqlmig's and Python's versions and the folder: any other file is ignored."""

    def __init__(self, cache_dir: Path, directory: Path) -> None:
        self.path = location(cache_dir, directory)
        self.directory = os.path.abspath(directory)
        self.entries: dict[str, Entry] = {}  # up file name -> what its last read found
        self.listing: list[str] = []  # every name the last scan saw in the folder
        # the folder's own stamp before that scan listed it: a name added or gone changes it
        self.folder: Stamp | None = None
        self.clean = False  # that scan found no problem
        self.summary: tuple[int, str] | None = None  # what unchanged() returns
        # the migrations of that clean scan: (version, name, digits, up name, down name)
        self.layout: list[tuple[int, str, str, str, str | None]] = []
        self.changed = False
        self._load(self.path)
        self.seen = _folder_stamp(self.directory)  # made before a scan lists the folder

    def _header(self) -> tuple[str, str, str, str]:
        return FORMAT, _version(), sys.version, self.directory

    def _load(self, path: Path) -> None:
        try:  # (marshal.load on a file would read it in thousands of small pieces)
            header, clean, folder, listing, entries, summary, layout = marshal.loads(
                path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return
        if header != self._header() or not isinstance(entries, dict) \
                or not isinstance(listing, list):
            return
        self.clean, self.folder, self.summary = clean is True, folder, summary
        self.layout = layout if isinstance(layout, list) else []
        self.listing, self.entries = listing, entries

    def unchanged(self) -> tuple[int, str] | None:
        """How many migrations there are and the digest() of their (version, checksum) pairs,
        when the folder holds exactly the names of its last scan, that scan was clean and no
        up file's stat has changed since: a scan now would find the same. None when that
        cannot be told so."""
        if not self.clean or self.summary is None:
            return None
        try:
            # every name, folders and other files too (a clean scan saw no folder), unless the
            # folder's own stamp says no name was added, removed or renamed since
            same = self.seen is not None and self.folder is not None \
                and self.seen[1:] == self.folder[1:]
            if not same and sorted(name for name in os.listdir(self.directory)
                                   if name[:1] != ".") != self.listing:
                return None
            folder = os.open(self.directory, os.O_RDONLY)
            try:
                for name, entry in self.entries.items():
                    stat = os.stat(name, dir_fd=folder)
                    if (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns,
                            stat.st_ino) != entry[:4]:
                        return None
            finally:
                os.close(folder)
        except OSError:
            return None
        return self.summary

    def found(self) -> tuple[list[int], list[str], list[str], list[str], list[bool]]:
        """The migrations of the last clean scan as columns (versions, names, digits,
        checksums, has_sql), in version order: for after unchanged() has vouched for them."""
        layout, entries = self.layout, self.entries
        ups = [entries[up] for _, _, _, up, _ in layout]
        return ([m[0] for m in layout], [m[1] for m in layout], [m[2] for m in layout],
                [e[4] for e in ups], [e[5] for e in ups])

    def get(self, name: str, stat: os.stat_result | None = None) -> Known | None:
        """What the cache knows of an up file whose stat is `stat` (None: unchanged() has
        just checked it)."""
        entry = self.entries.get(name)
        if entry is None or (stat is not None and entry[:4] != stamp(stat)):
            return None
        directives: Mapping[str, str] = {}
        if entry[6]:
            import json

            try:
                directives = json.loads(entry[6])
            except ValueError:
                return None
        return Known(entry[4], entry[5], directives)

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
        if any(name not in names for name in self.entries):  # files gone since
            self.entries = {name: e for name, e in self.entries.items() if name in names}
            self.changed = True
        folder = self.seen
        if folder is not None and time.time_ns() - max(folder[1:3]) < RACY_NS:
            folder = None  # changed too recently to vouch for: the names are compared
        layout = layout or []
        if not self.changed and (listing, clean, folder, layout) == (
                self.listing, self.clean, self.folder, self.layout):
            return
        pairs = sorted((entry[7], entry[4]) for entry in self.entries.values())
        summary = (len(pairs), digest(pairs)) if clean and len(pairs) == sum(
            name.endswith(".up.sql") for name in listing) else None
        if summary is None:
            layout = []
        data = marshal.dumps((self._header(), clean, folder, listing, self.entries, summary,
                              layout))
        import threading  # (only here: the quick path never writes)

        # a name of this process and thread alone: concurrent writers never share one
        temporary = self.path.with_name(
            f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():  # a project that does not ignore .sqlmig/ yet
                ignore.write_text("# sqlmig's cache: never committed\n*\n", encoding="utf-8")
            temporary.write_bytes(data)
            os.replace(temporary, self.path)
        except OSError:
            with suppress(OSError):
                temporary.unlink(missing_ok=True)


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
