"""Which database a destructive command may touch: the environment the database itself records
(the way Rails keeps it in `ar_internal_metadata`) weighs as much as the one the command runs in.

Pure: decides from names and flags; pg/session.py reads and writes the record,
commands/common.py guards each destructive command, the CLI asks at a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlmig.core.config import PROTECTED
from sqlmig.core.plan import Step
from sqlmig.errors import PlanError

# A database's recorded environment only ever moves up this ladder by itself: migrating a
# production database from a laptop set to development must not relabel it development.
RANK = {"development": 0, "test": 0, "staging": 1, "production": 2}


def should_record(recorded: str | None, env: str) -> bool:
    """Record `env` on a database recorded as `recorded` (None: nothing recorded yet)?"""
    return recorded is None or RANK[env] > RANK.get(recorded, 0)


class Destruction(NamedTuple):
    """What a destructive command is about to do, to which database."""

    command: str  # fresh, reset, rollback, redo, repair, baseline
    target: str  # user@host:port/db
    recorded: str | None  # the environment the database records
    what: str  # "undoes 0003_b, 0002_a", "drops every object in schema public", ...

    def __str__(self) -> str:
        recorded = f"recorded as {self.recorded}" if self.recorded else "no environment recorded"
        return f"{self.command} on {self.target} ({recorded}): {self.what}"


def check(
    destruction: Destruction, env: str, *, yes: bool, confirm: Callable[[str], bool] | None
) -> None:
    """Raise PlanError unless the command may go ahead. A database recorded as staging or
    production is only touched from that very environment; a protected database (recorded
    or by the current environment) needs --yes, or `confirm` (a person at a terminal)."""
    recorded = destruction.recorded
    if recorded in PROTECTED and env != recorded:
        raise PlanError(
            f"`{destruction.command}` refused: {destruction.target} is recorded as a {recorded} "
            f"database, and this runs as {env}; run it with --env {recorded} --yes if you "
            "really mean to"
        )
    if not (env in PROTECTED or recorded in PROTECTED) or yes:
        return
    if confirm is not None and confirm(f"{destruction}. Continue?"):
        return
    raise PlanError(f"`{destruction.command}` in {env} is destructive: add --yes to confirm")


def undoes(steps: Sequence[Step], limit: int = 5) -> str:
    """`undoes 0005_e, 0004_d and 3 more` for the messages above."""
    downs = [s.migration.id for s in steps if s.direction == "down"]
    if not downs:
        return "undoes nothing"
    shown = ", ".join(downs[:limit])
    more = f" and {len(downs) - limit} more" if len(downs) > limit else ""
    return f"undoes {shown}{more}"
