"""Executing plans: lock, load history, plan, run each step with its history row, report.

A transactional step is two round trips: `BEGIN;` + the file as one simple-query execute, then
the history insert/delete pipelined with COMMIT, so the migration and its record commit together
or not at all. A no-transaction step runs statement by statement in autocommit mode.
Rendering is the CLI's job: the engine only calls a Reporter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol

import psycopg

from sqlmig import db, files
from sqlmig.config import Settings
from sqlmig.errors import MigrationFailed, PlanError
from sqlmig.files import Migration, SqlFile
from sqlmig.plan import Applied, Step
from sqlmig.sqltext import excerpt, locate, split_statements

TX_PREFIX = "BEGIN;\n"


class Reporter(Protocol):
    def waiting(self, holder: db.LockHolder | None) -> None: ...
    def started(self, step: Step) -> None: ...
    def finished(self, step: Step, ms: int) -> None: ...


class SilentReporter:
    def waiting(self, holder: db.LockHolder | None) -> None:
        pass

    def started(self, step: Step) -> None:
        pass

    def finished(self, step: Step, ms: int) -> None:
        pass


@dataclass(frozen=True)
class Outcome:
    step: Step
    ms: int


@dataclass
class Session:
    """A connection holding the migration lock, with the history as it was when the lock was
    taken."""

    conn: psycopg.Connection
    history: db.History
    migrations: list[Migration]
    applied: list[Applied] = field(default_factory=list)

    def reload(self) -> None:
        self.applied = self.history.read(self.conn)


def step_file(step: Step) -> SqlFile:
    """The file a step executes: the up file, or the down file (planning guarantees it exists)."""
    chosen = step.migration.up if step.direction == "up" else step.migration.down
    assert chosen is not None, "planner never rolls back an irreversible migration"
    return chosen


def is_no_transaction(step: Step) -> bool:
    return "no-transaction" in step_file(step).directives


@contextmanager
def locked_session(settings: Settings, url: str, reporter: Reporter) -> Iterator[Session]:
    """Read the files first (a bad file must leave the database untouched), then connect, take
    the lock, create the history table if needed and read it."""
    migrations = files.discover(settings.migrations_dir)
    conn = db.connect(url)
    try:
        if settings.lock_timeout:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (settings.lock_timeout,))
        db.acquire_lock(
            conn, db.lock_key(settings.schema, settings.table), settings.lock_wait, reporter.waiting
        )
        history = db.History(settings.schema, settings.table)
        history.ensure(conn)
        session = Session(conn, history, migrations)
        session.reload()
        yield session
    finally:
        conn.close()  # closing the session releases the advisory lock too


def run(
    session: Session, steps: Sequence[Step], reporter: Reporter, *, single_transaction: bool = False
) -> list[Outcome]:
    """Execute steps in order. On failure the failing step is rolled back and unrecorded, later
    steps don't run, earlier ones stay (all are undone with single_transaction)."""
    if single_transaction:
        blocking = [s.migration.id for s in steps if is_no_transaction(s)]
        if blocking:
            raise PlanError(
                f"--single-transaction cannot include no-transaction migrations: "
                f"{', '.join(blocking)}; run without --single-transaction"
            )
        return _run_single_transaction(session, steps, reporter)
    outcomes = []
    for step in steps:
        reporter.started(step)
        if is_no_transaction(step):
            ms = _run_no_transaction(session, step)
        else:
            ms = _run_in_transaction(session, step)
        reporter.finished(step, ms)
        outcomes.append(Outcome(step, ms))
    return outcomes


def _record(session: Session, step: Step, ms: int) -> tuple[psycopg.sql.Composed, tuple]:
    m, history = step.migration, session.history
    if step.direction == "up":
        assert step.batch is not None
        return history.insert, history.insert_params(m.version, m.name, m.checksum, ms, step.batch)
    return history.delete, (m.version,)


def _execute(
    conn: psycopg.Connection, step: Step, text: str, offset: int = 0, line: int | None = None
) -> int:
    """Send `text` as one simple-query execute; return elapsed ms or raise MigrationFailed with
    the position mapped back into the step's file (`offset`: chars of `text` before the file's
    own text starts, negative for a statement that starts inside the file; `line`: where that
    statement starts, named when the server gives no position)."""
    started = time.perf_counter()
    try:
        conn.execute(text, prepare=False)
    except psycopg.Error as err:
        _rollback_quietly(conn)
        raise _failure(step, err, offset, line) from None
    return round((time.perf_counter() - started) * 1000)


def _rollback_quietly(conn: psycopg.Connection) -> None:
    if conn.closed:
        return
    with suppress(psycopg.Error):
        conn.execute("ROLLBACK")


def _failure(
    step: Step, err: psycopg.Error, offset: int, statement_line: int | None
) -> MigrationFailed:
    file = step_file(step)
    diag = err.diag
    message = (diag.message_primary or str(err)).strip()
    line = column = None
    snippet = None
    if diag.statement_position:
        position = int(diag.statement_position) - offset
        line, column = locate(file.text, position)
        snippet = excerpt(file.text, line, column)
    elif statement_line is not None:
        line = statement_line
        snippet = excerpt(file.text, line)
    return MigrationFailed(
        file.path,
        message,
        line=line,
        column=column,
        excerpt=snippet,
        detail=diag.message_detail,
        hint=diag.message_hint,
        sqlstate=diag.sqlstate,
    )


def _run_in_transaction(session: Session, step: Step) -> int:
    conn = session.conn
    ms = _execute(conn, step, TX_PREFIX + step_file(step).text, len(TX_PREFIX))
    statement, params = _record(session, step, ms)
    try:
        with conn.pipeline():
            conn.execute(statement, params)
            conn.execute("COMMIT")
    except psycopg.Error as err:
        # a deferred constraint or a trigger on the history table: nothing was committed
        _rollback_quietly(conn)
        diag = err.diag
        raise MigrationFailed(
            step_file(step).path,
            f"rolled back at commit: {(diag.message_primary or str(err)).strip()}",
            detail=diag.message_detail,
            hint=diag.message_hint,
            sqlstate=diag.sqlstate,
        ) from None
    return ms


def _run_no_transaction(session: Session, step: Step) -> int:
    """Statement by statement in autocommit mode, as CONCURRENTLY and friends require."""
    conn, file = session.conn, step_file(step)
    try:
        statements = split_statements(file.text)
    except Exception as err:  # pglast.parser.ParseError: a syntax error, located for the user
        location = getattr(err, "location", None)
        line, column = locate(file.text, location + 1) if location is not None else (None, None)
        raise MigrationFailed(
            file.path, f"syntax error: {err.args[0] if err.args else err}", line=line,
            column=column, excerpt=excerpt(file.text, line, column) if line else None,
        ) from None
    started = time.perf_counter()
    for statement in statements:
        _execute(conn, step, statement.text, -statement.offset, statement.line)
    ms = round((time.perf_counter() - started) * 1000)
    statement_sql, params = _record(session, step, ms)
    conn.execute(statement_sql, params)
    return ms


def _run_single_transaction(
    session: Session, steps: Sequence[Step], reporter: Reporter
) -> list[Outcome]:
    conn = session.conn
    conn.execute("BEGIN")
    outcomes = []
    for step in steps:
        reporter.started(step)
        ms = _execute(conn, step, step_file(step).text)
        statement, params = _record(session, step, ms)
        try:
            conn.execute(statement, params)
        except psycopg.Error as err:
            _rollback_quietly(conn)
            raise MigrationFailed(step_file(step).path, f"could not record: {err}") from None
        reporter.finished(step, ms)
        outcomes.append(Outcome(step, ms))
    conn.execute("COMMIT")
    return outcomes


# Everything in one schema, dropped server-side so names never pass through Python strings.
# Extension members are left to DROP EXTENSION; CASCADE + IF EXISTS make the order irrelevant.
DROP_SCHEMA_OBJECTS = """
DO $sqlmig$
DECLARE
    target text := current_setting('sqlmig.fresh_schema');
    r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = target AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                            AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
            CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                           WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                           ELSE 'TABLE' END,
            target, r.relname);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS signature, p.prokind FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = target
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                            AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
            CASE r.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                           ELSE 'FUNCTION' END,
            r.signature);
    END LOOP;
    FOR r IN
        SELECT t.typname, t.typtype FROM pg_type t
          JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = target AND t.typtype IN ('e', 'd', 'r', 'c')
           AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                            AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
            CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, target, r.typname);
    END LOOP;
    FOR r IN
        SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE n.nspname = target
    LOOP
        EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
    END LOOP;
END
$sqlmig$
"""


def drop_schema_objects(session: Session, schema: str) -> None:
    """Empty `schema` (tables, views, sequences, routines, types, extensions) in one
    transaction; other schemas are left alone."""
    conn = session.conn
    with conn.transaction():
        conn.execute("SELECT set_config('sqlmig.fresh_schema', %s, true)", (schema,))
        conn.execute(DROP_SCHEMA_OBJECTS)
    session.history.ensure(conn)
    session.reload()


PlanFn = Callable[[list[Migration], list[Applied]], list[Step]]


def execute_plan(
    session: Session, make_plan: PlanFn, reporter: Reporter, *, single_transaction: bool = False
) -> list[Outcome]:
    steps = make_plan(session.migrations, session.applied)
    return run(session, steps, reporter, single_transaction=single_transaction)

