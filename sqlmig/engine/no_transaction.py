"""No-transaction steps: statement by statement in autocommit mode, as CONCURRENTLY and
friends require. The history row says `running` first and `failed` (with where and why) if a
statement fails, so a half-done migration is never mistaken for applied or pending."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import suppress

import psycopg

from sqlmig.core import plan
from sqlmig.core.aftermath import failed_verb, invalid_note, stopped
from sqlmig.core.files import Migration
from sqlmig.core.located import syntax_failure
from sqlmig.core.lock_retries import LOCK_NOT_AVAILABLE
from sqlmig.core.plan import Step
from sqlmig.core.retry_safety import (
    INDEX_BUILDS,
    opens_transactions,
    statement_kind,
    statement_unsafe,
)
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.statements import Statement, iter_statements, split_statements
from sqlmig.engine.common import timeouts
from sqlmig.engine.retries import Retrier
from sqlmig.errors import Interrupted, InvalidIndexes, MigrationFailed
from sqlmig.pg import connection, db
from sqlmig.pg.send import send
from sqlmig.pg.session import Session


def run_no_transaction(session: Session, step: Step, retries: Retrier | None = None) -> int:
    """Run the step's statements one by one, recording it as it goes; its milliseconds. A
    statement that timed out on a lock is sent again (`retries`) when that is safe."""
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
    own = timeouts(session.link, file, local=False)
    started = time.perf_counter()
    session.dirty = True  # statements commit one by one; whatever they SET stays
    try:
        conn.execute(connection.session_reset(session.link))
        for timeout in own:
            conn.execute(timeout)
        for index, statement in enumerate(statements, start=1):
            try:
                _send_retrying(session, step, statement, index, retries)
            except (MigrationFailed, Interrupted) as failure:
                of = f" of {len(statements)}" if isinstance(statements, list) else ""
                raise _stopped(session, step, failure, index, of, statement.line) from None
    finally:
        if own:  # the file's own timeouts end with it; the configured ones apply again
            with suppress(psycopg.Error):
                conn.execute(connection.session_reset(session.link))
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


def _send_retrying(session: Session, step: Step, statement: Statement, index: int,
                   retries: Retrier | None) -> None:
    """Send one statement; after a lock timeout its own work was undone (autocommit), so it
    is sent again, unless it ran in pieces or in a transaction the file opened."""
    while True:
        try:
            send(session.link, step.file, statement.text, statement=statement)
            return
        except MigrationFailed as failure:
            if retries is None or failure.sqlstate != LOCK_NOT_AVAILABLE:
                raise
            retries.again(step, failure, statement=index,
                          unsafe=_unsafe(session, step.file, statement.text))


def _unsafe(session: Session, file: SqlFile, text: str) -> str | None:
    """Why sending `text` again would not be the same as sending it once (see
    retry_safety.statement_unsafe), or None."""
    kind = statement_kind(text)
    invalid: list[str] = []
    if kind in INDEX_BUILDS:
        with suppress(psycopg.Error):
            invalid = [i.name for i in db.invalid_indexes(session.conn)]
    return statement_unsafe(kind, transactions=opens_transactions(
        None if file.big else file.text), invalid=invalid)


def _parse_statements(file: SqlFile) -> list[Statement] | Iterator[Statement]:
    """The file's statements: parsed by pglast, or for a big file found one at a time."""
    data = file.sql()
    if isinstance(data, bytes):
        return iter_statements(data)
    try:
        return split_statements(file.text)
    except Exception as err:  # pglast.parser.ParseError: a syntax error, located for the user
        raise syntax_failure(file, err) from None


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
