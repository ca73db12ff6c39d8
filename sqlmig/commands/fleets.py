"""One command over a fleet of targets (databases, or schemas of one database): `migrate`,
`up`, `rollback`, `redo`, `status`, `verify` or `plan` on each (`check` on the first), at
most `parallel` at once, each exactly as a single run (its own connection, migration lock
and history table, so concurrent runs never apply a migration twice), the migration files
read and hashed once for the whole fleet. Returns a FleetReport and tells `events` as
targets start and finish; never imports Typer or Rich.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol

import psycopg

from sqlmig.commands.common import Planner, run_plan, with_url
from sqlmig.core import config, files, plan
from sqlmig.core.config import Settings
from sqlmig.core.lock_retries import RetryAttempt
from sqlmig.core.plan import Step
from sqlmig.core.secrets import hide
from sqlmig.core.targets import (
    FleetReport,
    State,
    Target,
    TargetResult,
    split_canary,
    targets_from_rows,
)
from sqlmig.errors import ConfigError, Interrupted, SqlmigError, counted
from sqlmig.pg.db import LockHolder
from sqlmig.pg.session import Session
from sqlmig.reporting import SilentReporter

CHANGES = ("migrate", "up", "rollback", "redo")
COMMANDS = (*CHANGES, "status", "verify", "plan", "check")
DEFAULT_PARALLEL = 4


class Events(Protocol):
    """What a fleet run says as it goes (the CLI's progress display); called from the
    thread that called fleet(), never from a worker."""

    def started(self, target: str) -> None: ...
    def finished(self, result: TargetResult) -> None: ...


class NoEvents:
    def started(self, target: str) -> None:
        pass

    def finished(self, result: TargetResult) -> None:
        pass


class _Counting(SilentReporter):
    """A target's reporter: silent, keeping the steps it ran and the applied versions, so
    the row says the version before and after."""

    def __init__(self, interrupted: Callable[[], bool]) -> None:
        self.interrupted = interrupted
        self.steps: list[Step] = []
        self.applied: set[int] = set()  # as the history said when the lock was taken
        self.before: int | None = None  # None: the history was never read
        self.pending: int | None = None  # status: how many are pending

    def finished(self, step: Step, ms: int) -> None:
        self.steps.append(step)
        if step.direction == "up":
            self.applied.add(step.migration.version)
        else:
            self.applied.discard(step.migration.version)

    def target(self, message: str) -> None:  # connected: the lock comes next
        self.go_on()

    def waiting(self, holder: LockHolder | None) -> None:  # every few seconds of lock wait
        self.go_on()

    def lock_retry(self, attempt: RetryAttempt) -> None:
        """Before the backoff of a lock-timeout retry: after Ctrl-C, the retrier's own
        interrupt (the step rolled back and not recorded), not the sleep."""
        if self.interrupted():
            raise KeyboardInterrupt

    def go_on(self) -> None:
        """Stop a target that has not started its migrations once the fleet is interrupted
        (it may be waiting for the lock, which no cancel reaches)."""
        if self.interrupted():
            raise Interrupted("interrupted before it started")

    def read(self, applied: set[int]) -> None:
        """The versions applied when the target's history was read."""
        self.applied, self.before = applied, max(applied, default=0)

    @property
    def after(self) -> int | None:
        return None if self.before is None else max(self.applied, default=0)


@dataclass(frozen=True)
class Options:
    """What a fleet's command takes besides its targets, as its single-run flags: migrate
    and rollback `to`; up `count`; rollback `steps`, `everything` and `yes`."""

    to: int | None = None
    count: int = 1
    steps: int | None = None
    everything: bool = False
    yes: bool = False


@dataclass
class _Run:
    settings: TargetSettings
    command: str
    options: Options
    events: Events
    fail_fast: bool
    results: dict[str, TargetResult] = field(default_factory=dict)
    running: dict[str, psycopg.Connection] = field(default_factory=dict)  # to cancel
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    why_stopped: str = ""
    interrupted: bool = False

    def wave(self, targets: Sequence[Target], parallel: int) -> None:
        """Run `targets`, never more than `parallel` at once, starting none after a stop."""
        queue = deque(targets)
        futures: dict[Future[TargetResult], Target] = {}
        with ThreadPoolExecutor(parallel, thread_name_prefix="sqlmig-fleet") as pool:
            try:
                while queue or futures:
                    while queue and len(futures) < parallel and not self.stop.is_set():
                        target = queue.popleft()
                        self.events.started(target.name)
                        # each worker sees the fleet's one scan of the files (files.scanned_once)
                        context = contextvars.copy_context()
                        futures[pool.submit(context.run, self.one, target)] = target
                    if not futures:
                        break
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        self.record(futures.pop(future), future.result())
            except KeyboardInterrupt:
                self.interrupt()
                for future, target in futures.items():  # each stops as a single run would
                    self.record(target, future.result())
                raise

    def record(self, target: Target, result: TargetResult) -> None:
        self.results[target.name] = result
        self.events.finished(result)
        if result.state == State.FAILED and self.fail_fast and not self.stop.is_set():
            self.halt(f"not started: --fail-fast after {target.name} failed")

    def halt(self, why: str) -> None:
        self.why_stopped = why
        self.stop.set()

    def interrupt(self) -> None:
        """Ctrl-C: start nothing more and cancel what runs on the server; each running
        target then ends as a single run's cancelled statement does."""
        self.interrupted = True
        self.halt("not started: interrupted")
        with self.lock:
            running = list(self.running.values())
        for conn in running:  # one already finished, or gone, has nothing to cancel
            with suppress(psycopg.Error):
                conn.cancel_safe()

    def one(self, target: Target) -> TargetResult:
        """The target as a single run of the command; any error is its row, never raised."""
        started = time.perf_counter()
        reporter = _Counting(lambda: self.interrupted)
        try:
            if self.command in CHANGES:
                self.change(target, reporter)
            else:
                {"status": self.status, "verify": self.verify, "plan": self.plan,
                 "check": self.check}[self.command](target, reporter)
            state, error = State.SUCCEEDED, None
        except (SqlmigError, psycopg.Error) as err:
            state = State.CANCELLED if self.interrupted else State.FAILED
            error = _first_line(err)
        except Exception as err:  # a bug shows on its own row; the fleet goes on
            state, error = State.FAILED, hide(f"{type(err).__name__}: {err}")
        finally:
            with self.lock:
                self.running.pop(target.name, None)
        ms = round((time.perf_counter() - started) * 1000)
        return TargetResult(target.name, state, reporter.before, reporter.after,
                            len(reporter.steps), reporter.pending, ms, error)

    def change(self, target: Target, reporter: _Counting) -> None:
        """migrate, up or rollback, through the same run_plan as a single run."""
        settings = self.settings.of(target)

        def hold(session: Session) -> None:
            reporter.go_on()
            reporter.read({a.version for a in session.applied if a.state == "applied"})
            with self.lock:
                self.running[target.name] = session.conn

        options = self.options
        planners: dict[str, Planner] = {
            "migrate": lambda migrations, applied: plan.plan_migrate(
                migrations, applied, to=options.to,
                allow_out_of_order=settings.allow_out_of_order),
            "up": lambda migrations, applied: plan.plan_up(
                migrations, applied, options.count,
                allow_out_of_order=settings.allow_out_of_order),
            "rollback": lambda migrations, applied: plan.plan_rollback(
                migrations, applied, steps=options.steps, to=options.to,
                everything=options.everything),
            "redo": plan.plan_redo,
        }
        undoes = self.command in ("rollback", "redo")
        run_plan(
            settings, reporter, planners[self.command],
            verb="changed", nothing="nothing",
            snapshot_first=self.command == "migrate" and settings.snapshot_before_migrate,
            before=hold, destructive=(self.command, options.yes, None) if undoes else None,
        )

    def status(self, target: Target, reporter: _Counting) -> None:
        from sqlmig.commands.history import status

        found = status(self.settings.of(target), SilentReporter())
        reporter.pending = found.counts["pending"]
        reporter.read({row.version for row in found.rows if row.state == "applied"})
        wrong = {state: n for state, n in found.counts.items()
                 if n and state not in ("applied", "pending")}
        if wrong or found.invalid:
            what = [f"{n} {state}" for state, n in wrong.items()]
            what += [f"{len(found.invalid)} INVALID index(es)"] if found.invalid else []
            raise SqlmigError(f"not clean: {', '.join(what)}; see `sqlmig status`")

    def verify(self, target: Target, reporter: _Counting) -> None:
        from sqlmig.commands.history import verify

        found = verify(self.settings.of(target), SilentReporter())
        if not found.ok:
            first = found.problems[0].message
            raise SqlmigError(f"{counted(len(found.problems), 'problem')}: {first}"
                              + ("; see `sqlmig verify`" if len(found.problems) > 1 else ""))

    def plan(self, target: Target, reporter: _Counting) -> None:
        from sqlmig.commands.review import plan as planned

        reporter.pending = len(planned(self.settings.of(target), SilentReporter(),
                                       to=self.options.to).steps)

    def check(self, target: Target, reporter: _Counting) -> None:
        from sqlmig.commands.review import check

        found = check(self.settings.of(target), SilentReporter())
        if not found.ok:
            first = found.failures[0].migration.id if found.failures else "the full rollback"
            raise SqlmigError(f"{first}: its down does not reverse its up; see `sqlmig check`")


def _first_line(err: Exception) -> str:
    """An error as one line of a report, without passwords."""
    text = str(err).strip()
    return hide(text.splitlines()[0] if text else type(err).__name__)


@dataclass(frozen=True)
class TargetSettings:
    """How each target's settings are made: from the fleet's own (a URL target: its URL; a
    schema target: the one database's URL, the history table and search_path in that
    schema), or from its environment's, resolved before anything starts so that a bad
    environment stops the whole run untouched. Made per target as it starts: memory does
    not grow with the number of targets."""

    base: Settings
    environments: dict[str, Settings]

    def of(self, target: Target) -> Settings:
        if target.env is not None:
            return self.environments[target.env]
        if target.schema is not None:
            return self.base._replace(schema=target.schema, search_path=target.schema)
        return self.base._replace(database_url=target.url)


def target_settings(settings: Settings, targets: Sequence[Target]) -> TargetSettings:
    """The fleet's settings (the URL resolved once, for --schemas) and each environment's,
    with the command line's flags (lock timeouts, waits) and migrations folder."""
    flags = {key: getattr(settings, key) for key, source in settings.sources.items()
             if source.startswith("--") and key not in ("env", "database_url")
             and key in Settings._fields}
    flags["migrations_dir"] = settings.migrations_dir  # one folder, read once, for all
    environments = {
        env: config.resolve(root=settings.root, env=env)._replace(**flags)
        for env in dict.fromkeys(t.env for t in targets if t.env is not None)
    }
    if any(t.schema is not None for t in targets):
        settings = with_url(settings, SilentReporter())
    return TargetSettings(settings, environments)


def query_targets(settings: Settings, query: str) -> list[Target]:
    """`--targets-query`: the targets a query returns on the control database (the fleet's
    URL), in a read-only transaction: its first column, a database URL or a schema name a
    row (see targets.targets_from_rows)."""
    from sqlmig.pg import connection

    settings = with_url(settings, SilentReporter())
    assert settings.database_url is not None
    with connection.connect(settings.database_url, settings=settings) as conn:
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                rows = conn.execute(query).fetchall()  # the user's own SQL, as written
        except psycopg.Error as err:
            raise ConfigError(f"--targets-query: {_first_line(err)}") from None
    return targets_from_rows([row[0] if row else None for row in rows])


def fleet(
    settings: Settings,
    targets: Sequence[Target],
    *,
    command: str = "migrate",
    parallel: int = DEFAULT_PARALLEL,
    fail_fast: bool = False,
    canary: int = 0,
    events: Events | None = None,
    options: Options | None = None,
) -> FleetReport:
    """Run `command` (one of COMMANDS, with `options` as its single-run flags) on every
    target (`check`: on the first, as they all share the files), `parallel` at a time. By default a
    failed target leaves the others going; `fail_fast` starts none after the first failure;
    `canary` runs that many targets first and stops if any fails. Ctrl-C cancels what runs and
    returns the report so far (interrupted). Targets never started are `skipped`."""
    if command not in COMMANDS:
        raise ConfigError(f"fleet: {command!r} is not a fleet command (one of "
                          f"{', '.join(COMMANDS)})")
    if parallel < 1:
        raise ConfigError("--parallel: must be at least 1")
    files.require_migrations_directory(settings.migrations_dir)
    if command == "check":  # a round trip on a scratch database: one target stands for all
        targets = targets[:1]
    run = _Run(target_settings(settings, targets), command, options or Options(),
               events or NoEvents(), fail_fast)
    with files.scanned_once(settings.migrations_dir, cache=settings.cache_dir) as scan:
        if command in CHANGES and scan.problems:
            raise scan.problems[0]  # a bad file: no target is touched
        try:
            for wave in split_canary(targets, canary):
                run.wave(wave, parallel)
                if canary and any(r.state != State.SUCCEEDED for r in run.results.values()):
                    run.halt(f"not started: a canary target failed (--canary {canary})")
                if run.stop.is_set():
                    break
        except KeyboardInterrupt:
            run.interrupted = True
    skipped = run.why_stopped or "not started"
    rows = [run.results.get(t.name) or TargetResult(t.name, State.SKIPPED, error=skipped)
            for t in targets]
    return FleetReport(command, rows, run.interrupted)

