"""What every way of running a step shares: the file's own timeouts, its history row, the
clean session it starts from, and when its commit waits for the disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import SqlFile
from sqlmig.errors import MigrationFailed
from sqlmig.pg import connection
from sqlmig.pg.link import Link
from sqlmig.pg.send import execute, rollback_quietly
from sqlmig.pg.session import Session
from sqlmig.reporting import Reporter

if TYPE_CHECKING:
    from psycopg import sql

TIMEOUT_SETTINGS = {"lock-timeout": "lock_timeout", "statement-timeout": "statement_timeout"}
# Every migration of a run but the last commits without waiting for its WAL flush: the last
# one's synchronous commit flushes them all (WAL is written in order), and a run that stops
# early flushes before it returns. A crash in between loses a tail of whole migrations, each
# with its history row: the state of a run that stopped sooner, never a half-recorded one.
ASYNC_COMMIT = ", set_config('synchronous_commit', 'off', true)"
# The commits that report a run's end do wait for the disk, even where the server or role
# sets synchronous_commit = off (then `local`; a stricter setting is left as it is).
SYNC_COMMIT = (", set_config('synchronous_commit', CASE current_setting('synchronous_commit') "
               "WHEN 'off' THEN 'local' ELSE current_setting('synchronous_commit') END, true)")


def timeouts(link: Link, file: SqlFile, *, local: bool) -> list[str]:
    """SET [LOCAL] for the file's own timeout directives (quoted by libpq)."""
    keyword = "SET LOCAL" if local else "SET"
    return [
        f"{keyword} {link.ident(setting)} = {link.literal(value)}"
        for directive, setting in TIMEOUT_SETTINGS.items()
        if (value := file.directives.get(directive))
    ]


def as_text(statements: list[str]) -> str:
    """Statements as the text that goes before a file in its query."""
    return "".join(f"{s};\n" for s in statements)


def record(session: Session, step: Step, ms: int) -> tuple[sql.Composed, tuple]:
    """The step's history statement and its parameters: a row inserted for an up, deleted
    for a down."""
    history = session.history
    if step.direction == "up":
        assert step.batch is not None
        return history.insert, history.insert_params(step.migration, step.batch, ms=ms)
    return history.delete, (step.migration.version,)


def record_inline(session: Session, step: Step) -> str:
    """The same as text, to travel in the query of the step's file."""
    history, migration = session.history, step.migration
    if step.direction == "down":
        return history.delete_inline(session.link, migration.version)
    assert step.batch is not None
    return history.insert_inline(session.link, migration, step.batch)


# Each migration starts from a clean session, as if run alone: a `SET search_path` or a temp
# table left by one file must not change what the next one does. connection.session_reset()
# gives the SQL: RESET ALL and DISCARD TEMP (not DISCARD ALL: it would release the advisory
# lock), then sqlmig's own SETs (configured timeouts among them) again. It goes in a round trip
# of its own, never in the query of the next file: the server lexes a whole simple query
# before running any of it, so a reset travelling with the file would come too late for how
# that file is read (`SET standard_conforming_strings = off` turns the next file's 'C:\new'
# into a newline). It runs before a file only when the file before it may have left session
# state behind (statements.may_leave_session_state): it is a fifth of the server time of a
# trivial migration.
# Not seen: a function created earlier that calls set_config(..., false) when a file calls it.
def start_clean(session: Session, file: SqlFile) -> None:
    """Send connection.session_reset() in its own round trip, if the file before `file` may
    have left session state behind."""
    if not session.dirty:
        return
    sent = execute(session.link, lambda: file, connection.session_reset(session.link))
    if sent.error is not None:
        rollback_quietly(session.link)
        raise MigrationFailed(file.path, f"could not reset the session before it: "
                              f"{sent.error.message}", sqlstate=sent.error.sqlstate)
    session.dirty = False


def committed(session: Session, step: Step, *, durable: bool) -> None:
    """Note a step's commit: one that did not wait for the disk is unconfirmed until one that
    did."""
    if durable:
        session.unconfirmed.clear()
    else:
        session.unconfirmed.append(step.migration.id)


@contextmanager
def listening(session: Session, reporter: Reporter,
              running: Step | Callable[[], Step]) -> Iterator[None]:
    """The server's warnings and notices go to the reporter, naming the step that ran (or,
    for a batch, the one `running()` says was running when each arrived)."""
    step_of = running if callable(running) else lambda: running
    session.listener = lambda severity, message: reporter.server_message(severity, message,
                                                                         step_of())
    try:
        yield
    finally:
        session.listener = None


def flush(session: Session) -> None:
    """A synchronous commit that writes WAL (taking a transaction id does) waits for every
    earlier commit to reach the disk."""
    with suppress(*session.link.lost):
        session.link.run(f"BEGIN; SELECT txid_current(){SYNC_COMMIT}; COMMIT;")
        session.unflushed = False
        session.unconfirmed.clear()
