"""What a command says as it runs, and what each step did: the reporter protocol the engine and
the commands talk through (the CLI renders it; SilentReporter says nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from sqlmig.core.plan import Step

if TYPE_CHECKING:
    from sqlmig.core.lock_retries import RetryAttempt
    from sqlmig.pg.db import LockHolder


class Reporter(Protocol):
    """What a command says as it runs. `line` and `result` are its own output (a result is
    kept even when the rest is silenced); `notice` and `detail` are side remarks."""

    def target(self, message: str) -> None: ...  # the first line: which database, as whom
    def line(self, message: str) -> None: ...
    def result(self, message: str) -> None: ...
    def notice(self, message: str) -> None: ...
    def detail(self, message: str) -> None: ...
    def planned(self, steps: Sequence[Step]) -> None: ...
    def done(self) -> None: ...
    def waiting(self, holder: LockHolder | None) -> None: ...
    def started(self, step: Step) -> None: ...
    def finished(self, step: Step, ms: int) -> None: ...
    # a WARNING, NOTICE, INFO... the server sent while `step` ran (None: outside any step)
    def server_message(self, severity: str, message: str, step: Step | None) -> None: ...
    # a statement gave up waiting for a lock and runs again after attempt.delay
    def lock_retry(self, attempt: RetryAttempt) -> None: ...


class SilentReporter:
    def target(self, message: str) -> None:
        pass

    def line(self, message: str) -> None:
        pass

    def result(self, message: str) -> None:
        pass

    def notice(self, message: str) -> None:
        pass

    def detail(self, message: str) -> None:
        pass

    def planned(self, steps: Sequence[Step]) -> None:
        pass

    def done(self) -> None:
        pass

    def waiting(self, holder: LockHolder | None) -> None:
        pass

    def started(self, step: Step) -> None:
        pass

    def finished(self, step: Step, ms: int) -> None:
        pass

    def server_message(self, severity: str, message: str, step: Step | None) -> None:
        pass

    def lock_retry(self, attempt: RetryAttempt) -> None:
        pass


class Outcome(NamedTuple):
    step: Step
    ms: int
