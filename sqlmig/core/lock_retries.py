"""Retrying a statement that gave up waiting for a lock (lock_timeout, SQLSTATE 55P03), the
strong_migrations way: the delay before each retry, with jitter, the decision to retry or
not, and the words that say so. Pure: the random source is passed in, the engine sleeps and
the database is asked elsewhere (pg/blockers.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sqlmig.errors import ConfigError

if TYPE_CHECKING:
    from datetime import datetime

LOCK_NOT_AVAILABLE = "55P03"
# Each delay is spread over +-JITTER of itself, so runs that timed out together (several
# app servers deploying at once) do not retry in step.
JITTER = 0.25
# How much of a blocking session's query a message shows (the watcher reads more).
QUERY_SHOWN = 60

_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)$")


def seconds(value: str, key: str) -> float:
    """A duration setting with its unit ('2s', '500ms', '1min') in seconds; `key` names the
    setting in the error. A bare number is refused: PostgreSQL reads it as milliseconds,
    a person often means seconds."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ConfigError(f"{key}: {value!r} is not a duration with a unit, like '2s', "
                          "'500ms' or '1min'")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


class RetryPolicy(NamedTuple):
    """How often, and after how long, a statement that timed out on a lock is tried again."""

    retries: int = 5  # attempts after the first; 0: fail at once, as without retries
    delay: float = 2.0  # seconds before the first retry; doubled before each next one
    max_delay: float = 30.0

    @property
    def attempts(self) -> int:
        return self.retries + 1


def backoff(policy: RetryPolicy, attempt: int, random: Callable[[], float]) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): delay * 2^(attempt-1),
    spread by +-JITTER with `random()` in [0, 1), never over max_delay."""
    base = min(policy.max_delay, policy.delay * 2 ** min(attempt - 1, 60))
    return round(min(policy.max_delay, base * (1 - JITTER + 2 * JITTER * random())), 3)


class Decision(NamedTuple):
    """Whether to try again, after how long, or why not (said to the user)."""

    retry: bool
    delay: float = 0.0
    why_not: str | None = None  # None: not a lock timeout, or retries are off


def decide(policy: RetryPolicy, sqlstate: str | None, attempt: int,
           random: Callable[[], float], unsafe: str | None = None) -> Decision:
    """After failed attempt `attempt`: retry a lock timeout while attempts are left, unless
    `unsafe` says why running it again would not be the same (the statement partly ran)."""
    if sqlstate != LOCK_NOT_AVAILABLE or policy.retries <= 0:
        return Decision(False)
    if unsafe is not None:
        return Decision(False, why_not=f"not retried: {unsafe}")
    if attempt >= policy.attempts:
        return Decision(False, why_not=f"gave up after {attempt} attempts")
    return Decision(True, backoff(policy, attempt, random))


class Blocker(NamedTuple):
    """A session holding a lock the migration waited for (pg_blocking_pids), as read by the
    watcher connection: never its user's password, only what pg_stat_activity shows."""

    pid: int
    application_name: str
    state: str | None  # 'idle in transaction', 'active', ...; None if not visible
    query_start: datetime | None
    state_change: datetime | None
    query: str  # its current or last query, cut short by the watcher

    def __str__(self) -> str:
        app = self.application_name or "no application_name"
        state = self.state or "state not visible"
        since = self.state_change or self.query_start
        when = f" since {since:%H:%M:%S}" if since is not None else ""
        query = " ".join(self.query.split())
        if len(query) > QUERY_SHOWN:
            query = query[:QUERY_SHOWN - 3].rstrip() + "..."
        return f"pid {self.pid} ({app}, {state}{when}: {query or 'no query'})"


def blocked_by(blockers: Sequence[Blocker]) -> str:
    """`blocked by pid 1234 (...)`, or that the watcher did not see who."""
    if not blockers:
        return "blocker not seen"
    return "blocked by " + ", ".join(str(b) for b in blockers)


class RetryAttempt(NamedTuple):
    """One failed attempt that will be tried again, as printed and in --json."""

    migration: str
    file: str  # the file's name
    attempt: int  # the attempt that failed, 1-based
    attempts: int  # how many there may be in all
    delay: float  # seconds until the next one
    blockers: tuple[Blocker, ...]
    statement: int | None = None  # in a no-transaction file, the statement retried
    whole_run: bool = False  # --single-transaction: the run starts again from its first

    def __str__(self) -> str:
        where = f" statement {self.statement} of" if self.statement is not None else ""
        what = "the whole run " if self.whole_run else ""
        return (f"lock timeout on{where} {self.file} (attempt {self.attempt} of "
                f"{self.attempts}), {blocked_by(self.blockers)}, retrying {what}in "
                f"{self.delay:.1f} s")


def gave_up(decision: Decision, blockers: Sequence[Blocker]) -> str:
    """What the final error adds after the server's message: why there is no retry, and who
    held the lock."""
    return f"; {decision.why_not}, {blocked_by(blockers)}"
