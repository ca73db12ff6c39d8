"""Trying again after a lock timeout: count the attempts of each step (or statement), name
the blocking session the watch saw, report the attempt, sleep, or raise the failure saying
why there is no retry. What to retry and when is core/lock_retries.py's; where a retry
starts again (a whole migration, a statement) is the caller's.
"""

from __future__ import annotations

import random as randoms
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from sqlmig.core.lock_retries import RetryAttempt, RetryPolicy, decide, gave_up
from sqlmig.core.plan import Step
from sqlmig.errors import Interrupted, MigrationFailed, display_path
from sqlmig.pg import connection
from sqlmig.pg.session import Session
from sqlmig.reporting import Reporter

if TYPE_CHECKING:
    from sqlmig.pg.blockers import BlockerWatch


class Retrier:
    """The retries of one run (with `policy.retries == 0` every failure is raised as it
    is, as without retries), and the watch that names blockers."""

    def __init__(self, reporter: Reporter, policy: RetryPolicy, watch: BlockerWatch | None = None,
                 session: Session | None = None, random: Callable[[], float] = randoms.random,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.reporter, self.policy, self.watch = reporter, policy, watch
        self.session = session  # whose waits the watch follows, if it starts late
        self.random, self.sleep = random, sleep
        self.attempts: dict[tuple[int, str, int | None], int] = {}

    def again(self, step: Step, failure: MigrationFailed, *, statement: int | None = None,
              unsafe: str | None = None, whole_run: bool = False) -> None:
        """Return, after the backoff, if the failed `step` (its `statement`, in a
        no-transaction file) should run again; else raise `failure`, saying why not and who
        held the lock when it is a lock timeout."""
        key = (step.migration.version, step.direction, statement)
        attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        blockers = self.watch.seen() if self.watch is not None else ()
        decision = decide(self.policy, failure.sqlstate, attempt, self.random, unsafe)
        if decision.retry and self.watch is None and self.session is not None:
            self.watch = _watch(self.session)  # to name the next attempt's blocker
        if not decision.retry:
            if decision.why_not:
                failure.extend(gave_up(decision, blockers))
            raise failure
        try:
            self.reporter.lock_retry(RetryAttempt(
                step.migration.id, step.file.path.name, attempt, self.policy.attempts,
                decision.delay, tuple(blockers), statement, whole_run,
            ))
            self.sleep(decision.delay)
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM turned into SystemExit
            what = "the run was" if whole_run else f"{step.migration.id} was"
            raise Interrupted(
                f"{display_path(step.file.path)}: interrupted while waiting to retry after a "
                f"lock timeout; {what} rolled back and not recorded"
            ) from None
        if self.watch is not None:
            self.watch.forget()

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()


def retrier(session: Session, steps: Sequence[Step], reporter: Reporter) -> Retrier:
    """The run's Retrier. When retries are on and a lock_timeout is plainly in effect
    (configured, in the URL, in a file), it watches for blockers from the start; otherwise
    (a role's or database's default) from the first lock timeout on."""
    settings = session.settings
    policy = settings.lock_retries if settings is not None else RetryPolicy(0)
    retries = Retrier(reporter, policy, session=session if session.url else None)
    if policy.retries > 0 and session.url and (
        (settings is not None and settings.lock_timeout)
        or "lock_timeout" in connection.given_options(session.url)
        or any(_sets_lock_timeout(s) for s in steps)
    ):
        retries.watch = _watch(session)
    return retries


def _watch(session: Session) -> BlockerWatch:
    from sqlmig.pg.blockers import BlockerWatch  # psycopg's: only once a lock timeout is likely

    # the server's own pid: behind PgBouncer, libpq's is the pooler's
    link, pid = session.link, session.link.backend_pid
    with suppress(*link.lost):
        pid = int(link.value("SELECT pg_backend_pid()") or pid)
    return BlockerWatch(session.url, pid)


def _sets_lock_timeout(step: Step) -> bool:
    file = step.file
    return "lock-timeout" in file.directives or (not file.big and "lock_timeout" in file.text)
