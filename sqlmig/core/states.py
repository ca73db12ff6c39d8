"""A migration's state in `sqlmig status`, and its version as users see it: all the status
table needs to know of migrations, importable without the planner or the files (a long
history's table is built without them: commands/quick.py)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    APPLIED = "applied"
    PENDING = "pending"
    CHANGED = "changed"  # applied, but the up file's checksum differs from the recorded one
    MISSING = "missing"  # applied, but its files are gone
    FAILED = "failed"  # a no-transaction migration stopped halfway (or its process died)
    PROBLEM = "problem"  # its files are not a migration as they are (no down file, empty...)


def state_of(checksum: str | None, recorded: str | None, recorded_checksum: str | None) -> State:
    """A migration's state from its up file's checksum (None: no files), the state of its
    history row (None: no row) and the checksum recorded there."""
    if recorded is None:
        return State.PENDING
    if recorded != "applied":
        return State.FAILED
    if checksum is None:
        return State.MISSING
    return State.APPLIED if checksum == recorded_checksum else State.CHANGED


def version_text(version: int, digits: str = "") -> str:
    """A version as users see it: as its file writes it (`001`, `20240101120000`), or padded
    to four digits when there is no file to say."""
    return digits or f"{version:04d}"
