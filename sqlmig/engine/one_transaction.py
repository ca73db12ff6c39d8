"""Steps that share one transaction: a --single-transaction run, committed at its end, and a
dry run, always rolled back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from sqlmig.core.checks import check_file
from sqlmig.core.hazards import runnable
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import SqlFile
from sqlmig.engine.common import (
    SYNC_COMMIT,
    as_text,
    listening,
    record,
    start_clean,
    timeouts,
)
from sqlmig.errors import MigrationFailed, MigrationFileError
from sqlmig.pg.send import rollback_quietly, send
from sqlmig.pg.session import Session
from sqlmig.reporting import Outcome, Reporter


def _send_file(session: Session, file: SqlFile) -> int:
    """The file inside the open transaction, from a clean session; its milliseconds."""
    own = timeouts(session.link, file, local=True)
    start_clean(session, file)  # as a run one by one would, so each file is read the same
    started = time.perf_counter()
    session.dirty = True
    send(session.link, file, runnable(file), prefix=as_text(own), prefix_statements=len(own))
    session.ran(file)
    return round((time.perf_counter() - started) * 1000)


def run_single_transaction(
    session: Session, steps: Sequence[Step], reporter: Reporter, outcomes: list[Outcome]
) -> None:
    """Every step in one transaction; each is reported as it runs, but nothing is committed
    (or recorded in `session.unconfirmed` as done) until the last one's COMMIT."""
    conn = session.conn
    conn.execute("BEGIN")
    for step in steps:
        reporter.started(step)
        with listening(session, reporter, step):
            ms = _send_file(session, step.file)
        statement, params = record(session, step, ms)
        try:
            conn.execute(statement, params)
        except psycopg.Error as err:
            rollback_quietly(session.link)
            raise MigrationFailed(step.file.path, f"could not record: {err}") from None
        session.unconfirmed.append(step.migration.id)
        reporter.finished(step, ms)
        outcomes.append(Outcome(step, ms))
    try:
        conn.execute(f"SELECT 1{SYNC_COMMIT}")
        conn.execute("COMMIT")
    except psycopg.Error as err:  # a deferred constraint: the whole run is rolled back
        rollback_quietly(session.link)
        raise MigrationFailed(
            steps[-1].file.path, f"rolled back at commit: {err.diag.message_primary or err}",
            detail=err.diag.message_detail, sqlstate=err.diag.sqlstate,
        ) from None
    session.unconfirmed.clear()


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
    results: list[DryRun] = []
    failed = False
    session.conn.execute("BEGIN")
    try:
        for step in steps:
            if failed:
                results.append(DryRun(step, skipped="not tried: an earlier migration failed"))
                continue
            if not step.transactional:
                results.append(DryRun(step, skipped="no-transaction: cannot be dry-run"))
                continue
            try:
                check_file(step.file, transactional=True)
                ms = _send_file(session, step.file)
            except (MigrationFailed, MigrationFileError) as err:
                results.append(DryRun(step, error=err))
                failed = True
                continue
            results.append(DryRun(step, ms=ms))
    finally:
        rollback_quietly(session.link)
    return results
