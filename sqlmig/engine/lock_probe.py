"""`plan --locks`: each pending transactional migration run statement by statement in a
transaction that is always rolled back, reading after each statement the locks it took and
what it did to the tables (review/lock_report.py builds the report). Each migration gets a
transaction of its own, after the pending ones before it are re-run unmeasured in it, so
it sees what they built while its locks are its own, as when each commits. Guarded by short
timeouts, so looking at production never queues its traffic. Never touches the history."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlmig.core.checks import check_file
from sqlmig.core.hazards import runnable
from sqlmig.core.pg_ast import dotted
from sqlmig.core.plan import Step
from sqlmig.core.statements import Statement, split_statements
from sqlmig.engine.common import start_clean
from sqlmig.errors import MigrationFailed, MigrationFileError
from sqlmig.pg import locks as pg_locks
from sqlmig.pg.send import rollback_quietly, send
from sqlmig.pg.session import Session
from sqlmig.review.lint.takes import sql_takes
from sqlmig.review.lock_report import (
    Lock,
    MigrationLocks,
    StatementLocks,
    already_held,
    excerpt,
    new_locks,
    strongest_held,
    with_hold_times,
)

LOCK_NOT_AVAILABLE, QUERY_CANCELED = "55P03", "57014"


def probe(session: Session, steps: Sequence[Step], lock_timeout: str,
          statement_timeout: str) -> list[MigrationLocks]:
    """Each step's locks, measured or (no-transaction, or after one that failed) estimated
    from its parse. Each is measured alone first; one that fails alone is measured again
    after the pending ones before it, which it may need. A statement that times out stops its
    own migration only: the next is measured on its own."""
    results: list[MigrationLocks] = []
    stopped: str | None = None  # why the rest can only be estimated
    timeouts = lock_timeout, statement_timeout
    for index, step in enumerate(steps):
        if not step.transactional:
            results.append(estimate(session, step, "no-transaction: estimated from the parse (its "
                                    "statements cannot run in a transaction to be measured)"))
            continue
        if stopped:
            results.append(estimate(session, step, stopped))
            continue
        measured = _measure(session, [], step, timeouts)
        before = [s for s in steps[:index] if s.transactional]
        if before and any(s.outcome == "failed" for s in measured.statements):
            measured = _measure(session, before, step, timeouts)  # it needs what they build
        results.append(measured)
        if any(s.outcome == "failed" for s in measured.statements):  # later ones may need it
            stopped = f"not measured: {measured.id} failed"
    return results


def estimate(session: Session, step: Step, note: str) -> MigrationLocks:
    return MigrationLocks(*_named(step), step.transactional,
                          [_estimated(session, s, "estimated") for s in _statements(step)], note)


def _named(step: Step) -> tuple[str, int, str]:
    migration = step.migration
    return migration.id, migration.version, migration.name


def _statements(step: Step) -> list[Statement]:
    text = runnable(step.file)
    if isinstance(text, bytes):  # bulk data: one piece, not parsed
        return [Statement("-- bulk data file", 0, 1)]
    try:
        return split_statements(text)
    except Exception:  # pglast.parser.ParseError: the run reports it, located
        return [Statement(text, 0, 1)]


def _estimated(session: Session, statement: Statement, outcome: str,
               note: str | None = None) -> StatementLocks:
    """The locks the parse says the statement takes, sized from the catalog (which it can
    read while another session holds the table's lock)."""
    takes = sql_takes(statement.text)
    tables = pg_locks.resolve(session.conn, [key for key, _ in takes]) if takes else {}
    locks = [Lock(t.name, mode, t.bytes, t.rows, estimated=True) if (t := tables.get(key))
             else Lock(dotted(key), mode, estimated=True) for key, mode in takes]
    return StatementLocks(statement.line, excerpt(statement.text), None, locks, outcome, note)


def _measure(session: Session, before: Sequence[Step], step: Step,
             timeouts: tuple[str, str]) -> MigrationLocks:
    conn = session.conn
    statements = _statements(step)
    try:
        check_file(step.file, transactional=True)
    except MigrationFileError as err:  # a syntax error, a statement no transaction takes
        return MigrationLocks(*_named(step), True, [
            _estimated(session, statements[0], "failed", str(err)),
            *(_estimated(session, s, "not run") for s in statements[1:])])
    conn.execute("BEGIN")
    try:
        try:
            for earlier in before:
                start_clean(session, earlier.file)
                pg_locks.guard(conn, *timeouts)
                session.dirty = True
                send(session.link, earlier.file, runnable(earlier.file))
        except MigrationFailed as err:  # most likely a lock_timeout behind another session
            outcome, why = _why(err, timeouts)
            note = f"not measured: re-running the pending migrations before it: {why}"
            return MigrationLocks(*_named(step), True,
                                  [_estimated(session, s, outcome) for s in statements], note)
        again = (f"measured after re-running the {len(before)} pending migration(s) before it, "
                 "which it needs: a lock they already took shows as estimated")
        return MigrationLocks(*_named(step), True, with_hold_times(
            _each_statement(session, step, statements, timeouts)), again if before else None)
    finally:
        rollback_quietly(session.link)


def _each_statement(session: Session, step: Step, statements: list[Statement],
                    timeouts: tuple[str, str]) -> list[StatementLocks]:
    conn, file = session.conn, step.file
    start_clean(session, file)
    session.dirty = True
    tables = pg_locks.tables(conn)
    holding = pg_locks.held(conn)
    replayed = holding  # what re-running the migrations before it locked
    existing = set(tables)
    results: list[StatementLocks] = []
    for index, statement in enumerate(statements):
        pg_locks.guard(conn, *timeouts)
        started = time.perf_counter()
        try:
            if isinstance(file.sql(), bytes):
                send(session.link, file, runnable(file))
            else:
                send(session.link, file, statement.text, statement=statement)
        except MigrationFailed as err:
            results.append(_estimated(session, statement, *_why(err, timeouts)))
            results += [_estimated(session, s, "not run", "an earlier statement did not finish")
                        for s in statements[index + 1:]]
            return results
        ms = round((time.perf_counter() - started) * 1000)
        after, tables_after = pg_locks.held(conn), pg_locks.tables(conn)
        taken = new_locks(strongest_held(holding), after, tables, tables_after, existing)
        taken += already_held(sql_takes(statement.text), replayed, taken)
        results.append(StatementLocks(statement.line, excerpt(statement.text), ms, taken))
        holding, tables = after, tables_after
    return results


def _why(err: MigrationFailed, timeouts: tuple[str, str]) -> tuple[str, str]:
    """The outcome of a statement that did not finish, and what to say about it."""
    if err.sqlstate == LOCK_NOT_AVAILABLE:
        return "timed out", (f"could not be measured: waited longer than "
                             f"dry_run_lock_timeout ({timeouts[0]}) for a lock another session "
                             "holds; these are the locks it would take")
    if err.sqlstate == QUERY_CANCELED:
        return "timed out", (f"could not be measured: ran longer than "
                             f"dry_run_statement_timeout ({timeouts[1]}), so it would hold its "
                             "locks at least that long; these are the locks it would take")
    return "failed", str(err)
