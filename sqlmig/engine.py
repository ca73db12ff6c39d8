"""Executing plans: lock, load history, plan, run each step with its history row, report.

A transactional step is its file between BEGIN and its history row + COMMIT, all in one
simple query, so a migration and its record commit together or not at all; consecutive ones
share a query (see BATCH_SECONDS). A no-transaction step runs statement by statement in
autocommit mode and is recorded `running` first, so a crash or failure halfway is never
silent. Rendering is the CLI's job: the engine only calls a Reporter (reporting.py); the
locked session it runs in is pg/session.py's. Sending SQL is
pg/send.py's, placing an error in a file core/located.py's, and what is refused before
anything runs core/checks.py's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

import psycopg
from psycopg import pq, sql

from sqlmig.core import plan
from sqlmig.core.aftermath import (
    failed_verb,
    invalid_note,
    loss_note,
    stopped,
    unconfirmed_note,
)
from sqlmig.core.checks import check_file, check_run
from sqlmig.core.files import Migration, SqlFile
from sqlmig.core.located import Part, failed_part, located, syntax_failure
from sqlmig.core.plan import Step
from sqlmig.core.sqltext import (
    Statement,
    iter_statements,
    may_leave_session_state,
    split_statements,
)
from sqlmig.errors import (
    ConnectionFailed,
    ConnectionLost,
    Interrupted,
    InvalidIndexes,
    MigrationFailed,
    MigrationFileError,
    VerifyFailed,
)
from sqlmig.pg import connection, db
from sqlmig.pg.send import execute, rollback_quietly, send
from sqlmig.pg.session import Session, record_environment
from sqlmig.reporting import Outcome, Reporter

TIMEOUT_SETTINGS = {"lock-timeout": "lock_timeout", "statement-timeout": "statement_timeout"}
# Each migration starts from a clean session, as if run alone: a `SET search_path` or a temp
# table left by one file must not change what the next one does. connection.session_reset()
# gives the SQL: RESET ALL and DISCARD TEMP (not DISCARD ALL: it would release the advisory
# lock), then sqlmig's own SETs (configured timeouts among them) again. It goes in a round trip
# of its own, never in the query of the next file: the server lexes a whole simple query
# before running any of it, so a reset travelling with the file would come too late for how
# that file is read (`SET standard_conforming_strings = off` turns the next file's 'C:\new'
# into a newline). It runs before a file only when the file before it may have left session
# state behind (sqltext.may_leave_session_state): it is a fifth of the server time of a
# trivial migration.
# Not seen: a function created earlier that calls set_config(..., false) when a file calls it.
# Every migration of a run but the last commits without waiting for its WAL flush: the last
# one's synchronous commit flushes them all (WAL is written in order), and a run that stops
# early flushes before it returns. A crash in between loses a tail of whole migrations, each
# with its history row: the state of a run that stopped sooner, never a half-recorded one.
ASYNC_COMMIT = ", set_config('synchronous_commit', 'off', true)"
# The commits that report a run's end do wait for the disk, even where the server or role
# sets synchronous_commit = off (then `local`; a stricter setting is left as it is).
SYNC_COMMIT = (", set_config('synchronous_commit', CASE current_setting('synchronous_commit') "
               "WHEN 'off' THEN 'local' ELSE current_setting('synchronous_commit') END, true)")
# If the connection breaks, what was reported done is checked against the history over a
# new connection, waiting for a restarting server at least this long (or --wait).
RECONNECT_SECONDS = 3.0
# Between the migrations of a batch. The server sends its answers when its buffer fills or the
# query ends, but a notice goes out at once, taking what is buffered with it: each migration is
# reported (and the next one shown running) as soon as it commits. Only where plpgsql is usable.
PROGRESS_NOTICE = "DO $sqlmig$BEGIN RAISE NOTICE 'sqlmig: committed'; END$sqlmig$;\n"


def run(
    session: Session,
    steps: Sequence[Step],
    reporter: Reporter,
    *,
    single_transaction: bool = False,
    rollback_on_failure: bool = False,
) -> list[Outcome]:
    """Execute steps in order. On failure the failing step is rolled back and unrecorded, later
    steps don't run and earlier ones stay: unless single_transaction (the whole run is one
    transaction, for steps planned so: see plan.check_single_transaction) or
    rollback_on_failure (their downs run, newest first)."""
    check_run(steps, single_transaction=single_transaction,
              rollback_on_failure=rollback_on_failure)
    if steps:
        session.history.ensure(session.conn)
        record_environment(session, reporter)
    reporter.planned(steps)
    try:
        outcomes: list[Outcome] = []
        try:
            if single_transaction:
                _run_single_transaction(session, steps, reporter, outcomes)
            else:
                _run_steps(session, steps, reporter, outcomes)
        except ConnectionLost as failure:
            halfway = any(not s.transactional and s.file.path == failure.path for s in steps)
            account_for_loss(session, outcomes, failure, indexes=halfway)
            raise
        except MigrationFailed as failure:
            if rollback_on_failure and outcomes and not single_transaction:
                failure.undone = _undo(session, outcomes, reporter)
            raise
        return outcomes
    finally:
        if session.unflushed:
            _flush(session)
        reporter.done()


def _run_steps(
    session: Session, steps: Sequence[Step], reporter: Reporter, outcomes: list[Outcome]
) -> None:
    """Run steps in order, appending each one's outcome as it commits: consecutive
    transactional steps in batches, the others one at a time."""
    pace, index = _Pace(), 0
    while index < len(steps):
        batch = _batch(steps, index, pace.size)
        durable = index + max(len(batch), 1) == len(steps)
        if not batch:
            outcomes.append(_run_step(session, steps[index], reporter, durable=durable))
            index += 1
            continue
        started = time.perf_counter()
        _run_batch(session, batch, reporter, outcomes, durable=durable)
        pace.after(len(batch), time.perf_counter() - started)
        index += len(batch)


def _run_step(
    session: Session, step: Step, reporter: Reporter, *, durable: bool = True
) -> Outcome:
    """One step on its own: a no-transaction step, a big file, or any step via a batch of one."""
    if step.transactional and not step.file.big:
        outcomes: list[Outcome] = []
        _run_batch(session, [step], reporter, outcomes, durable=durable)
        return outcomes[0]
    reporter.started(step)
    if not step.transactional:
        ms = _run_no_transaction(session, step)
        _flush(session)  # its autocommitted history writes may not have waited for the disk
    else:
        ms = _run_big(session, step, durable=durable)
    reporter.finished(step, ms)
    return Outcome(step, ms)


# Consecutive transactional migrations go to the server together as one simple query, each
# still its own BEGIN ... COMMIT with its history row: the server runs them back to back, with
# no round trip or client turn in between, and skips the rest of the query at the first
# error, so a failure stops the run exactly where running them one by one would. A batch
# ends after a file that may leave session state: the next file must start clean (and the
# server parses a whole query before running any of it, so a SET could not change how a later
# file in it is read). Batches start at one migration and grow only while migrations are
# fast (about BATCH_SECONDS of work each), and PROGRESS_NOTICE keeps reporting exact.
BATCH_SECONDS = 0.2
BATCH_MAX = 100
BATCH_CHARS = 1_000_000


@dataclass
class _Pace:
    size: int = 1

    def after(self, count: int, seconds: float) -> None:
        fits = int(BATCH_SECONDS * count / seconds) if seconds > 0 else BATCH_MAX
        self.size = max(1, min(BATCH_MAX, 2 * count, fits))


def _batch(steps: Sequence[Step], start: int, size: int) -> list[Step]:
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


def _flush(session: Session) -> None:
    """A synchronous commit that writes WAL (taking a transaction id does) waits for every
    earlier commit to reach the disk."""
    with suppress(psycopg.Error):
        session.conn.execute(f"BEGIN; SELECT txid_current(){SYNC_COMMIT}; COMMIT;")
        session.unflushed = False
        session.unconfirmed.clear()


def account_for_loss(session: Session, outcomes: Sequence[Outcome],
                     failure: MigrationFailed, *, indexes: bool = False) -> None:
    """The connection broke after `outcomes` were reported done: reconnect once and say, from
    the history, which of them survived (an asynchronous commit lost in a server crash does
    not); if that fails, say which of them may not have. `indexes`: a no-transaction file
    was cut off, so also name the INVALID indexes it may have left."""
    if not outcomes and not indexes:
        return
    settings = session.settings
    try:
        if settings is None:
            raise ConnectionFailed("no settings to reconnect with")
        wait = max(settings.connect_wait, RECONNECT_SECONDS)
        conn = connection.connect(session.url, settings=replace(settings, connect_wait=wait),
                          connect_timeout=5)
    except ConnectionFailed as err:
        failure.add_note(unconfirmed_note([o.step.migration.id for o in outcomes],
                                          session.unconfirmed, str(err)))
        return
    try:
        with conn:
            recorded = {a.version for a in session.history.read(conn) if a.state == "applied"}
            invalid = db.invalid_indexes(conn) if indexes else []
    except psycopg.Error as err:
        failure.add_note(unconfirmed_note([o.step.migration.id for o in outcomes],
                                          session.unconfirmed, str(err).strip()))
        return
    if invalid:
        failure.add_note(invalid_note([(i.name, i.table) for i in invalid]))
    if outcomes:
        failure.add_note(loss_note([o.step for o in outcomes], recorded))


def _undo(session: Session, outcomes: list[Outcome], reporter: Reporter) -> list[str]:
    """Run the downs of this run's successful ups, newest first; stop at one that can't."""
    undone = []
    for outcome in reversed(outcomes):
        migration = outcome.step.migration
        if outcome.step.direction != "up" or migration.down is None:
            break
        _run_step(session, Step(migration, "down"), reporter)
        undone.append(migration.id)
    return undone


def _record(session: Session, step: Step, ms: int) -> tuple[sql.Composed, tuple]:
    history = session.history
    if step.direction == "up":
        assert step.batch is not None
        return history.insert, history.insert_params(step.migration, step.batch, ms=ms)
    return history.delete, (step.migration.version,)


def _timeouts(file: SqlFile, *, local: bool) -> list[sql.Composed]:
    """SET [LOCAL] for the file's own timeout directives (values quoted by psycopg)."""
    keyword = sql.SQL("SET LOCAL" if local else "SET")
    return [
        sql.SQL("{} {} = {}").format(keyword, sql.Identifier(setting), sql.Literal(value))
        for directive, setting in TIMEOUT_SETTINGS.items()
        if (value := file.directives.get(directive))
    ]


def _prefix(conn: psycopg.Connection, statements: list[sql.Composed]) -> str:
    return "".join(f"{s.as_string(conn)};\n" for s in statements)


@dataclass(frozen=True)
class _Segment:
    """One step's part of a batch's query: BEGIN, settings, the file, its history row and
    COMMIT."""

    step: Step
    file: SqlFile
    offset: int  # characters before it in the query
    prefix: str
    prefix_statements: int
    suffix: str
    durable: bool  # its commit waits for the disk

    def part(self) -> Part:
        return Part(self.file, self.file.text, self.prefix, self.prefix_statements,
                    self.suffix, offset=self.offset)


def _segment(session: Session, step: Step, offset: int, *, notice: bool,
             durable: bool) -> _Segment:
    conn, file = session.conn, step.file
    timeouts = _timeouts(file, local=True)
    before = PROGRESS_NOTICE if notice else ""
    began = f"SELECT {db.MARK_BEGAN}{SYNC_COMMIT if durable else ASYNC_COMMIT};\n"
    record = _record_inline(session, step)
    return _Segment(
        step, file, offset,
        prefix=before + "BEGIN;\n" + began + _prefix(conn, timeouts),
        prefix_statements=notice + 2 + len(timeouts),
        suffix=f"\n;\n{record};\nCOMMIT;\n",
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
        self.last: pq.abc.PGresult | None = None

    @property
    def running(self) -> _Segment:
        return self.segments[min(self.committed, len(self.segments) - 1)]

    def result(self, result: pq.abc.PGresult) -> None:
        self.results += 1
        if result.command_status != b"COMMIT":
            self.last = result
            return
        segment = self.segments[self.committed]
        step, ms = segment.step, _returned_ms(self.last)
        _committed(self.session, step, durable=segment.durable)
        self.outcomes.append(Outcome(step, ms))
        self.reporter.finished(step, ms)
        self.committed += 1
        self.before = self.results
        if self.committed < len(self.segments):
            self.reporter.started(self.segments[self.committed].step)


def _committed(session: Session, step: Step, *, durable: bool) -> None:
    if durable:
        session.unconfirmed.clear()
    else:
        session.unconfirmed.append(step.migration.id)


def _returned_ms(result: pq.abc.PGresult | None) -> int:
    value = result.get_value(0, 0) if result is not None and result.ntuples == 1 else None
    return int(value) if value else 0


def start_clean(session: Session, file: SqlFile) -> None:
    """Send connection.session_reset() in its own round trip, if the file before `file` may
    have left session state behind."""
    if not session.dirty:
        return
    sent = execute(session.conn, lambda: file, connection.session_reset(session.conn))
    if sent.error is not None:
        rollback_quietly(session.conn)
        raise MigrationFailed(file.path, f"could not reset the session before it: "
                              f"{sent.error.message}", sqlstate=sent.error.sqlstate)
    session.dirty = False


def _run_batch(session: Session, steps: Sequence[Step], reporter: Reporter,
               outcomes: list[Outcome], *, durable: bool) -> None:
    """Steps as one simple query (see BATCH_SECONDS); each outcome is appended, and reported,
    as its COMMIT arrives, so on failure `outcomes` holds exactly the steps that committed."""
    conn, offset = session.conn, 0
    segments: list[_Segment] = []
    parts: list[str] = []
    start_clean(session, steps[0].file)
    notices = len(steps) > 1 and session.can_notice()
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        segment = _segment(session, step, offset, notice=notices and index > 0,
                           durable=durable and last)
        text = segment.file.text
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
    sent = execute(conn, lambda: progress.running.file, "".join(parts), progress.result)
    if sent.error is not None:
        rollback_quietly(conn)
        failed = failed_part([s.offset for s in segments], sent.error, progress.committed)
        if failed > progress.committed:
            # The server refused the whole query before running any of it: a syntax error
            # in a later file that the parser here accepts (a newer PostgreSQL's grammar).
            # Run the migrations before it, as going one by one would have.
            _run_batch(session, steps[progress.committed:failed], reporter, outcomes,
                       durable=False)
        raise located(segments[failed].part(), sent.error, progress.before)
    session.ran(segments[-1].file)
    session.unflushed = not durable


def _run_big(session: Session, step: Step, *, durable: bool = True) -> int:
    """A big file's migration: its pieces follow BEGIN in their own queries, then its history
    row and COMMIT (see `send`)."""
    conn = session.conn
    start_clean(session, step.file)
    segment = _segment(session, step, 0, notice=False, durable=durable)
    started = time.perf_counter()
    session.dirty = True
    send(conn, segment.file, segment.file.sql(), prefix=segment.prefix, suffix=segment.suffix,
         prefix_statements=segment.prefix_statements)
    session.ran(segment.file)
    _committed(session, step, durable=durable)
    session.unflushed = not durable
    return round((time.perf_counter() - started) * 1000)


def _record_inline(session: Session, step: Step) -> str:
    history, migration = session.history, step.migration
    if step.direction == "down":
        return history.delete_inline(session.conn, migration.version)
    assert step.batch is not None
    return history.insert_inline(session.conn, migration, step.batch)


def _parse_statements(file: SqlFile) -> list[Statement] | Iterator[Statement]:
    """The file's statements: parsed by pglast, or for a big file found one at a time."""
    data = file.sql()
    if isinstance(data, bytes):
        return iter_statements(data)
    try:
        return split_statements(file.text)
    except Exception as err:  # pglast.parser.ParseError: a syntax error, located for the user
        raise syntax_failure(file, err) from None


def _run_no_transaction(session: Session, step: Step) -> int:
    """Statement by statement in autocommit mode, as CONCURRENTLY and friends require. The
    history row says `running` meanwhile and `failed` (with where and why) if a statement
    fails, so a half-done migration is never mistaken for applied or pending."""
    conn, file, history = session.conn, step.file, session.history
    migration = step.migration
    statements = _parse_statements(file)
    if step.direction == "up":
        assert step.batch is not None
        conn.execute(history.insert, history.insert_params(
            migration, step.batch, ms=None, state="running"
        ))
    else:
        conn.execute(history.mark, ("running", plan.ROLLING_BACK, migration.version))
    timeouts = _timeouts(file, local=False)
    started = time.perf_counter()
    session.dirty = True  # statements commit one by one; whatever they SET stays
    try:
        conn.execute(connection.session_reset(conn))
        for timeout in timeouts:
            conn.execute(timeout)
        for index, statement in enumerate(statements, start=1):
            try:
                send(conn, file, statement.text, statement=statement)
            except (MigrationFailed, Interrupted) as failure:
                of = f" of {len(statements)}" if isinstance(statements, list) else ""
                raise _stopped(session, step, failure, index, of, statement.line) from None
    finally:
        if timeouts:  # the file's own timeouts end with it; the configured ones apply again
            with suppress(psycopg.Error):
                conn.execute(connection.session_reset(conn))
    ms = round((time.perf_counter() - started) * 1000)
    # Never recorded done while an index is INVALID: a CREATE INDEX CONCURRENTLY ... IF NOT
    # EXISTS rerun after an interrupted one skips the broken index and "succeeds".
    invalid = db.invalid_indexes(conn)
    if invalid:
        error = InvalidIndexes(file.path, migration.id, [(i.name, i.table) for i in invalid],
                               step.direction)
        _mark_failed(session, migration, f"{failed_verb(step)}: {error}")
        raise error
    if step.direction == "up":
        conn.execute(history.finish, (ms, migration.version))
    else:
        conn.execute(history.delete, (migration.version,))
    return ms


def _stopped(session: Session, step: Step, failure: MigrationFailed | Interrupted, index: int,
             of: str, line: int) -> MigrationFailed | Interrupted:
    """A no-transaction file stopped at statement `index`: record it failed, and say what the
    database holds now (aftermath.stopped), INVALID indexes included."""
    recorded, failure = stopped(step, failure, index, of, line)
    _mark_failed(session, step.migration, recorded)
    with suppress(psycopg.Error):  # the connection may be gone
        invalid = db.invalid_indexes(session.conn)
        if invalid:
            failure.add_note(invalid_note([(i.name, i.table) for i in invalid]))
    return failure


def _mark_failed(session: Session, migration: Migration, error: str) -> None:
    with suppress(psycopg.Error):
        session.conn.execute(session.history.mark, ("failed", error[:4000], migration.version))


def _run_single_transaction(
    session: Session, steps: Sequence[Step], reporter: Reporter, outcomes: list[Outcome]
) -> None:
    """Every step in one transaction; each is reported as it runs, but nothing is committed
    (or recorded in `session.unconfirmed` as done) until the last one's COMMIT."""
    conn = session.conn
    conn.execute("BEGIN")
    for step in steps:
        reporter.started(step)
        file = step.file
        timeouts = _timeouts(file, local=True)
        start_clean(session, file)
        started = time.perf_counter()
        session.dirty = True
        send(conn, file, file.sql(), prefix=_prefix(conn, timeouts),
             prefix_statements=len(timeouts))
        session.ran(file)
        ms = round((time.perf_counter() - started) * 1000)
        statement, params = _record(session, step, ms)
        try:
            conn.execute(statement, params)
        except psycopg.Error as err:
            rollback_quietly(conn)
            raise MigrationFailed(file.path, f"could not record: {err}") from None
        session.unconfirmed.append(step.migration.id)
        reporter.finished(step, ms)
        outcomes.append(Outcome(step, ms))
    try:
        conn.execute(f"SELECT 1{SYNC_COMMIT}")
        conn.execute("COMMIT")
    except psycopg.Error as err:  # a deferred constraint: the whole run is rolled back
        rollback_quietly(conn)
        raise MigrationFailed(
            steps[-1].file.path, f"rolled back at commit: {err.diag.message_primary or err}",
            detail=err.diag.message_detail, sqlstate=err.diag.sqlstate,
        ) from None
    session.unconfirmed.clear()


def preflight(session: Session, allow_out_of_order: bool, verb: str = "run") -> None:
    """Validate-on-migrate: refuse when `sqlmig verify` would report anything."""
    problems = plan.verify(
        session.migrations, session.applied, allow_out_of_order=allow_out_of_order
    )
    if problems:
        raise VerifyFailed(verb, [p.message for p in problems])


@dataclass(frozen=True)
class DryRun:
    step: Step
    ms: int | None = None
    error: Exception | None = None  # MigrationFailed / MigrationFileError
    skipped: str | None = None  # why it was not tried


def dry_run(session: Session, steps: Sequence[Step]) -> list[DryRun]:
    """Run the pending transactional migrations, in order, inside ONE transaction that is
    always rolled back: each sees the ones before it, nothing is committed, history is not
    touched. Stops at the first failure; no-transaction migrations cannot be tried."""
    conn, results = session.conn, []
    failed = False
    conn.execute("BEGIN")
    try:
        for step in steps:
            file = step.file
            if failed:
                results.append(DryRun(step, skipped="not tried: an earlier migration failed"))
                continue
            if not step.transactional:
                results.append(DryRun(step, skipped="no-transaction: cannot be dry-run"))
                continue
            timeouts = _timeouts(file, local=True)
            started = time.perf_counter()
            try:
                check_file(file, transactional=True)
                start_clean(session, file)  # as migrate would, so it reads each file the same
                session.dirty = True
                send(conn, file, file.sql(), prefix=_prefix(conn, timeouts),
                     prefix_statements=len(timeouts))
                session.ran(file)
            except (MigrationFailed, MigrationFileError) as err:
                results.append(DryRun(step, error=err))
                failed = True
                continue
            ms = round((time.perf_counter() - started) * 1000)
            results.append(DryRun(step, ms=ms))
    finally:
        rollback_quietly(conn)
    return results
