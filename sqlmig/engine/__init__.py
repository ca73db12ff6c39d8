"""Executing plans: run each step with its history row, and report as it goes.

How a step runs depends on it: transactional ones in batches of one query each (batch.py),
no-transaction ones statement by statement (no_transaction.py), a --single-transaction run or
a dry run in one transaction (one_transaction.py). Deciding what to run is core/plan.py's,
what is refused before anything runs core/checks.py's; the locked session is
pg/session.py's, sending SQL pg/send.py's and rendering the CLI's: the engine only calls a
Reporter (reporting.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlmig.core.aftermath import invalid_note, loss_note, unconfirmed_note
from sqlmig.core.checked import Checked
from sqlmig.core.checks import check_run
from sqlmig.core.plan import Step
from sqlmig.engine.batch import Pace, next_batch, run_batch, run_big
from sqlmig.engine.common import flush, listening
from sqlmig.engine.retries import Retrier, retrier
from sqlmig.errors import ConnectionFailed, ConnectionLost, MigrationFailed
from sqlmig.pg import connection, db
from sqlmig.pg.session import Session, record_environment
from sqlmig.reporting import Outcome, Reporter

if TYPE_CHECKING:
    from sqlmig.engine.one_transaction import DryRun

__all__ = ["dry_run", "run"]

# If the connection breaks, what was reported done is checked against the history over a
# new connection, waiting for a restarting server at least this long (or --wait).
RECONNECT_SECONDS = 3.0


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
    checked = Checked(session.settings.cache_dir if session.settings else None)
    try:
        check_run(steps, single_transaction=single_transaction,
                  rollback_on_failure=rollback_on_failure,
                  history=(session.history.schema, session.history.table), verdicts=checked)
    finally:
        checked.save()
    if steps:
        session.history.ensure(session.link)
        record_environment(session, reporter)
    reporter.planned(steps)
    retries = retrier(session, steps, reporter)
    try:
        outcomes: list[Outcome] = []
        try:
            if single_transaction:
                _run_single_transaction(session, steps, reporter, outcomes, retries)
            else:
                _run_steps(session, steps, reporter, outcomes, retries)
        except ConnectionLost as failure:
            halfway = any(not s.transactional and s.file.path == failure.path for s in steps)
            _account_for_loss(session, outcomes, failure, indexes=halfway)
            raise
        except MigrationFailed as failure:
            if single_transaction:
                failure.rolled_back = [o.step.migration.id for o in outcomes]
            elif rollback_on_failure and outcomes:
                failure.undone = _undo(session, outcomes, reporter)
            raise
        return outcomes
    finally:
        retries.close()
        if session.unflushed:
            flush(session)
        reporter.done()


def dry_run(session: Session, steps: Sequence[Step]) -> list[DryRun]:
    """Each step run in a transaction that is rolled back (one_transaction.dry_run)."""
    from sqlmig.engine.one_transaction import dry_run

    return dry_run(session, steps)


def _run_steps(
    session: Session, steps: Sequence[Step], reporter: Reporter, outcomes: list[Outcome],
    retries: Retrier,
) -> None:
    """Run steps in order, appending each one's outcome as it commits: consecutive
    transactional steps in batches, the others one at a time. A transactional migration
    that timed out on a lock was rolled back whole (those of its batch before it committed,
    those after it did not run): the run goes on from it, as a new batch."""
    pace, index = Pace(), 0
    while index < len(steps):
        batch = next_batch(steps, index, pace.size)
        durable = index + max(len(batch), 1) == len(steps)
        committed = len(outcomes)
        try:
            if not batch:
                outcomes.append(_run_step(session, steps[index], reporter, retries,
                                          durable=durable))
                index += 1
                continue
            started = time.perf_counter()
            run_batch(session, batch, reporter, outcomes, durable=durable)
        except MigrationFailed as failure:
            index += len(outcomes) - committed
            failed = steps[index]
            if not failed.transactional or failed.file.path != failure.path:
                raise  # a no-transaction file retries its statements itself
            retries.again(failed, failure)
            pace = Pace()
            continue
        pace.after(len(batch), time.perf_counter() - started)
        index += len(batch)


def _run_single_transaction(
    session: Session, steps: Sequence[Step], reporter: Reporter, outcomes: list[Outcome],
    retries: Retrier,
) -> None:
    """The run as one transaction; after a lock timeout it was all rolled back, so it
    starts again from its first migration."""
    from sqlmig.engine.one_transaction import run_single_transaction

    while True:
        try:
            run_single_transaction(session, steps, reporter, outcomes)
            return
        except MigrationFailed as failure:
            failed = next((s for s in steps if s.file.path == failure.path), None)
            if failed is None:
                raise
            retries.again(failed, failure, whole_run=True)
            outcomes.clear()
            session.unconfirmed.clear()


def _run_step(
    session: Session, step: Step, reporter: Reporter, retries: Retrier | None = None, *,
    durable: bool = True,
) -> Outcome:
    """One step on its own: a no-transaction step, a big file, or any step via a batch of one."""
    if step.transactional and not step.file.big:
        outcomes: list[Outcome] = []
        run_batch(session, [step], reporter, outcomes, durable=durable)
        return outcomes[0]
    reporter.started(step)
    with listening(session, reporter, step):
        if not step.transactional:
            # here, not at the top: most runs have none, and start-up is part of a run's time
            from sqlmig.engine.no_transaction import run_no_transaction

            ms = run_no_transaction(session, step, retries)
            flush(session)  # its autocommitted history writes may not have waited for the disk
        else:
            ms = run_big(session, step, durable=durable)
    reporter.finished(step, ms)
    return Outcome(step, ms)


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


def _account_for_loss(session: Session, outcomes: Sequence[Outcome],
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
        link = connection.open_link(session.url, settings=settings._replace(connect_wait=wait),
                                    connect_timeout=5)
    except ConnectionFailed as err:
        failure.add_note(unconfirmed_note([o.step.migration.id for o in outcomes],
                                          session.unconfirmed, str(err)))
        return
    try:
        with link:
            recorded = {a.version for a in session.history.read(link) if a.state == "applied"}
            invalid = db.invalid_indexes(link.conn) if indexes else []
    except link.lost as err:
        failure.add_note(unconfirmed_note([o.step.migration.id for o in outcomes],
                                          session.unconfirmed, str(err).strip()))
        return
    if invalid:
        failure.add_note(invalid_note([(i.name, i.table) for i in invalid]))
    if outcomes:
        failure.add_note(loss_note([o.step for o in outcomes], recorded))
