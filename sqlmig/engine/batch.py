"""Transactional steps: each is its file between BEGIN and its history row + COMMIT, in one
simple query, so a migration and its record commit together or not at all.

Consecutive transactional migrations go to the server together as one simple query, each
still its own BEGIN ... COMMIT with its history row: the server runs them back to back, with
no round trip or client turn in between, and skips the rest of the query at the first error,
so a failure stops the run exactly where running them one by one would. A batch ends after a
file that may leave session state: the next file must start clean (and the server parses a
whole query before running any of it, so a SET could not change how a later file in it is
read). Batches start at one migration and grow only while migrations are fast (about
BATCH_SECONDS of work each), and PROGRESS_NOTICE keeps reporting exact.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from sqlmig.core.hazards import runnable
from sqlmig.core.located import Part, failed_part, located
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.statements import may_leave_session_state
from sqlmig.engine.common import (
    ASYNC_COMMIT,
    SYNC_COMMIT,
    as_text,
    committed,
    listening,
    record_inline,
    start_clean,
    timeouts,
)
from sqlmig.pg import db
from sqlmig.pg.link import Result
from sqlmig.pg.send import execute, rollback_quietly, send
from sqlmig.pg.session import PROGRESS_MESSAGE, Session
from sqlmig.reporting import Outcome, Reporter

BATCH_SECONDS = 0.2
BATCH_MAX = 100
BATCH_CHARS = 1_000_000
# Between the migrations of a batch. The server sends its answers when its buffer fills or the
# query ends, but a notice goes out at once, taking what is buffered with it: each migration is
# reported (and the next one shown running) as soon as it commits. Only where plpgsql is usable.
PROGRESS_NOTICE = f"DO $sqlmig$BEGIN RAISE NOTICE '{PROGRESS_MESSAGE}'; END$sqlmig$;\n"


class Pace:
    """How many migrations the next batch may hold: it doubles while they run fast."""

    def __init__(self) -> None:
        self.size = 1

    def after(self, count: int, seconds: float) -> None:
        fits = int(BATCH_SECONDS * count / seconds) if seconds > 0 else BATCH_MAX
        self.size = max(1, min(BATCH_MAX, 2 * count, fits))


def next_batch(steps: Sequence[Step], start: int, size: int) -> list[Step]:
    """Up to `size` consecutive steps from `start` that can share a query (none, if the step
    at `start` must run on its own)."""
    batch: list[Step] = []
    chars = 0
    for step in steps[start:start + size]:
        file = step.file
        if not step.transactional or file.big:
            break
        batch.append(step)
        chars += len(file.text)
        if chars >= BATCH_CHARS or may_leave_session_state(file.text):
            break
    return batch


class _Segment(NamedTuple):
    """One step's part of a batch's query: BEGIN, settings, the file, its history row and
    COMMIT."""

    step: Step
    file: SqlFile
    text: str  # what of the file goes in the query (hazards.runnable); "" for a big file
    offset: int  # characters before it in the query
    prefix: str
    prefix_statements: int
    suffix: str
    durable: bool  # its commit waits for the disk

    def part(self) -> Part:
        return Part(self.file, self.text, self.prefix, self.prefix_statements,
                    self.suffix, offset=self.offset)


def _segment(session: Session, step: Step, offset: int, *, notice: bool,
             durable: bool) -> _Segment:
    link, file = session.link, step.file
    own = timeouts(link, file, local=True)
    before = PROGRESS_NOTICE if notice else ""
    began = f"SELECT {db.MARK_BEGAN}{SYNC_COMMIT if durable else ASYNC_COMMIT};\n"
    text = runnable(file)
    return _Segment(
        step, file, text if isinstance(text, str) else "", offset,
        prefix=before + "BEGIN;\n" + began + as_text(own),
        prefix_statements=notice + 2 + len(own),
        suffix=f"\n;\n{record_inline(session, step)};\nCOMMIT;\n",
        durable=durable,
    )


class _Progress:
    """Follows a batch's results as they arrive. Only the batch's own COMMITs end a
    migration (transaction control is refused inside transactional files), and the result
    just before each is its history statement, returning the milliseconds it took."""

    def __init__(self, session: Session, segments: list[_Segment], reporter: Reporter,
                 outcomes: list[Outcome]) -> None:
        self.session, self.segments = session, segments
        self.reporter, self.outcomes = reporter, outcomes
        self.committed = 0  # segments done
        self.results = 0  # successful results so far
        self.before = 0  # successful results before the running segment
        self.last: Result | None = None

    @property
    def running(self) -> _Segment:
        return self.segments[min(self.committed, len(self.segments) - 1)]

    def result(self, result: Result) -> None:
        self.results += 1
        if result.command_status != b"COMMIT":
            self.last = result
            return
        segment = self.segments[self.committed]
        step, ms = segment.step, _returned_ms(self.last)
        committed(self.session, step, durable=segment.durable)
        self.outcomes.append(Outcome(step, ms))
        self.reporter.finished(step, ms)
        self.committed += 1
        self.before = self.results
        if self.committed < len(self.segments):
            self.reporter.started(self.segments[self.committed].step)


def _returned_ms(result: Result | None) -> int:
    value = result.get_value(0, 0) if result is not None and result.ntuples == 1 else None
    return int(value) if value else 0


def run_batch(session: Session, steps: Sequence[Step], reporter: Reporter,
              outcomes: list[Outcome], *, durable: bool) -> None:
    """Steps as one simple query; each outcome is appended, and reported, as its COMMIT
    arrives, so on failure `outcomes` holds exactly the steps that committed."""
    link, offset = session.link, 0
    segments: list[_Segment] = []
    parts: list[str] = []
    start_clean(session, steps[0].file)
    notices = len(steps) > 1 and session.can_notice()
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        segment = _segment(session, step, offset, notice=notices and index > 0,
                           durable=durable and last)
        text = segment.text
        parts += (segment.prefix, text, segment.suffix)
        offset += len(segment.prefix) + len(text) + len(segment.suffix)
        segments.append(segment)
    progress = _Progress(session, segments, reporter, outcomes)
    session.dirty = True  # until it is known to have succeeded
    session.unflushed = session.unflushed or len(steps) > 1 or not durable
    if len(steps) > 1:  # what pg_stat_activity and the server log show as one statement
        reporter.detail(f"one query: {steps[0].migration.id} .. {steps[-1].migration.id} "
                        f"({len(steps)} migrations, each in its own transaction)")
    reporter.started(steps[0])
    session.boundaries = 0

    def running() -> Step:
        # with progress notices, they say exactly which migration was running; without,
        # the last COMMIT processed does (a batch's results may be read a little late)
        at = session.boundaries if notices else progress.committed
        return segments[min(at, len(segments) - 1)].step

    with listening(session, reporter, running):
        sent = execute(link, lambda: progress.running.file, "".join(parts), progress.result)
    if sent.error is not None:
        rollback_quietly(link)
        failed = failed_part([s.offset for s in segments], sent.error, progress.committed)
        if failed > progress.committed:
            # The server refused the whole query before running any of it: a syntax error
            # in a later file that the parser here accepts (a newer PostgreSQL's grammar).
            # Run the migrations before it, as going one by one would have.
            run_batch(session, steps[progress.committed:failed], reporter, outcomes,
                      durable=False)
        raise located(segments[failed].part(), sent.error, progress.before)
    session.ran(segments[-1].file)
    session.unflushed = not durable


def run_big(session: Session, step: Step, *, durable: bool = True) -> int:
    """A big file's migration: its pieces follow BEGIN in their own queries, then its history
    row and COMMIT (see pg.send)."""
    start_clean(session, step.file)
    segment = _segment(session, step, 0, notice=False, durable=durable)
    started = time.perf_counter()
    session.dirty = True
    send(session.link, segment.file, segment.file.sql(), prefix=segment.prefix,
         suffix=segment.suffix, prefix_statements=segment.prefix_statements)
    session.ran(segment.file)
    committed(session, step, durable=durable)
    session.unflushed = not durable
    return round((time.perf_counter() - started) * 1000)
