"""The texts the pre-run check (core/checks.py) found nothing in, remembered by their SHA-256
under `.sqlmig/cache/`: a file checked clean once is not parsed again while its text is the
same. Importing pglast and parsing are a tenth of rolling back 1,000 small migrations, and
only a text that could be refused needs them. Only clean verdicts are kept (a refusal is
always found again, with its line), keyed by the text itself, so an edit is always checked;
and the header names sqlmig, Python and the pglast installed, so an upgrade of the parser
checks everything again. As the file cache, it is never a reason for a command to fail.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path

FORMAT = "sqlmig-checked 1"
NAME = "checked"
# Texts kept at most; past it the memory starts again (a project rarely has a tenth of it)
LIMIT = 200_000


class Checked:
    """The clean verdicts of one project, loaded on creation; save() writes what was added."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = None if cache_dir is None else cache_dir / NAME
        self.digests: set[str] = set()
        self.added = False
        self._asked: tuple[str, str] | None = None  # the last text clean() hashed, and its digest
        if self.path is not None:
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            header, joined = marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return
        if header == _header() and isinstance(joined, str) and joined:
            self.digests = set(joined.split(","))

    def clean(self, text: str) -> bool:
        """Whether `text` was checked and found clean before."""
        if not self.digests:
            return False
        self._asked = (text, _digest(text))
        return self._asked[1] in self.digests

    def add(self, text: str) -> None:
        """Remember `text` as clean (hashed once, when clean() has just asked about it)."""
        if self.path is None:
            return
        if len(self.digests) >= LIMIT:
            self.digests.clear()
        asked = self._asked
        digest = asked[1] if asked is not None and asked[0] is text else _digest(text)
        if digest not in self.digests:
            self.digests.add(digest)
            self.added = True

    def save(self) -> None:
        """Write the verdicts if any was added (atomically; failures ignored)."""
        if self.path is None or not self.added:
            return
        from sqlmig.core.file_cache import store

        if store(self.path, marshal.dumps((_header(), ",".join(sorted(self.digests))))):
            self.added = False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _header() -> tuple[str, str, str, str]:
    from sqlmig import __version__

    return FORMAT, __version__, sys.version, _parser()


def _parser() -> str:
    """Which pglast is installed (its location and when it was written), found without
    importing it: the check's verdicts are its grammar's."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("pglast")
        origin = spec.origin if spec is not None else None
        return f"{origin}:{os.stat(origin).st_mtime_ns}" if origin else ""
    except (ImportError, OSError, ValueError):
        return ""
