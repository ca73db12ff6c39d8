"""What the commands share: where to connect, the destructive-command guard, the shape of a
run (lock -> verify -> plan -> back up -> run -> dump) and its result."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlmig.core import files, protect
from sqlmig.core.config import Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Applied, Step
from sqlmig.errors import MigrationFailed, SqlmigError, display_path
from sqlmig.pg import connection, db
from sqlmig.pg.session import Session, locked_session
from sqlmig.reporting import Outcome, Reporter

# A question for a person ("... Continue?"), answered yes or no; None where nobody can answer.
Confirm = Callable[[str], bool] | None
Planner = Callable[[list[Migration], list[Applied]], list[Step]]
# What a run with nothing to do says; a function when it depends on the files and history.
Nothing = str | Callable[[list[Migration], list[Applied]], str]


class RunResult(NamedTuple):
    """What a command that runs migrations did: each step as it committed, the wall time,
    and the one line that sums it up."""

    outcomes: list[Outcome]
    ms: int
    summary: str


def unforeseen_database_error(err: Exception) -> SqlmigError | None:
    """A database error no command turned into a message of its own, as one line; None for
    anything else (a bug, to be shown with its traceback)."""
    import psycopg

    if isinstance(err, psycopg.Error):
        return SqlmigError(f"database error: {str(err).splitlines()[0]}")
    return None


def connection_url(settings: Settings, reporter: Reporter, *,
                   needs_migrations: bool = True) -> str:
    """The configured URL, or the embedded server's for development/test (said as a notice).
    First refuses a folder with no migrations directory, before anything starts; commands
    that read only the database (`needs_migrations` False) skip that when given a URL."""
    if needs_migrations or not settings.database_url:
        files.require_migrations_directory(settings.migrations_dir)
    if settings.database_url:
        return settings.database_url
    from sqlmig.pg import embedded

    url = embedded.database_url(settings.root, settings.env)
    reporter.notice(
        f"no database URL for {settings.env}: using the embedded PostgreSQL in "
        f"{embedded.DATA_DIR}/ (database '{settings.env}')"
    )
    return url


def with_url(settings: Settings, reporter: Reporter) -> Settings:
    """`settings` with the URL resolved once (the embedded server is started, and said, once)."""
    return settings._replace(database_url=connection_url(settings, reporter))


def guard(session: Session, reporter: Reporter, command: str, what: str, *, yes: bool,
          confirm: Confirm) -> None:
    """Name the target and what is about to be dropped or undone, then go ahead only if
    protect.check allows: a database recorded as staging or production needs that very
    environment, and a protected one --yes (or `confirm`)."""
    settings = session.settings
    assert settings is not None
    destruction = protect.Destruction(
        command, connection.describe_connection(session.link),
        session.history.recorded_environment(session.link), what,
    )
    reporter.line(str(destruction))
    protect.check(destruction, settings.env, yes=yes, confirm=confirm)


def summary(outcomes: Sequence[Outcome], verb: str, nothing: str, ms: int) -> str:
    """`applied 3 migrations as batch 2 in 41 ms` (`ms`: the run's wall time; the
    migrations' own times leave out checks, round trips and commits)."""
    if not outcomes:
        return nothing
    count = len({o.step.migration.version for o in outcomes})
    batches = sorted({o.step.batch for o in outcomes if o.step.batch is not None})
    batch = f" as batch {batches[0]}" if len(batches) == 1 and verb == "applied" else ""
    noun = "migration" if count == 1 else "migrations"
    return f"{verb} {count} {noun}{batch} in {ms} ms"


def run_plan(
    settings: Settings,
    reporter: Reporter,
    make_plan: Planner,
    *,
    verb: str,
    nothing: Nothing,
    single_transaction: bool = False,
    rollback_on_failure: bool = False,
    check: bool = True,
    snapshot_first: bool = False,
    before: Callable[[Session], None] | None = None,
    destructive: tuple[str, bool, Confirm] | None = None,
) -> RunResult:
    """Lock, read history, verify, plan, (back up), run, report, (dump the schema): the shape
    of every command that changes the database. `check` refuses on any problem `verify`
    would report; `snapshot_first` takes a pg_dump first and refuses if it fails;
    `destructive` = (command, --yes, confirm) guards the undoing of migrations."""
    if snapshot_first:  # a folder it cannot write must fail before anything starts
        from sqlmig.pg import dump

        dump.check_snapshot_folder(settings.snapshot_dir)
    settings = with_url(settings, reporter)
    url = settings.database_url
    assert url is not None
    # A run that needs nothing only psycopg does goes through libpq alone (see pg/link.py).
    # Its plan is known only once the history is read: one with a no-transaction or big
    # file lets the lock go and starts again through psycopg, nothing done yet.
    libpq = before is None and not (snapshot_first or single_transaction or rollback_on_failure
                                    or settings.dump_schema)
    attempt = functools.partial(
        _locked_run, settings, url, reporter, make_plan, nothing, check=check, before=before,
        destructive=destructive, snapshot_first=snapshot_first,
        single_transaction=single_transaction, rollback_on_failure=rollback_on_failure)
    try:
        ran, again = None, None
        if libpq:
            try:
                ran = attempt(libpq=True)
            except _NeedsPsycopg as needs:
                again = needs.migrations
        # (not in the handler: its traceback would hold the first attempt's files, twice
        # what a 200 MB file costs)
        outcomes, ms, said = ran or attempt(libpq=False, announce=again is None,
                                            migrations=again)
    except MigrationFailed as failure:
        if failure.undone:
            failure.add_note(f"--rollback-on-failure undid: {', '.join(failure.undone)}")
        if failure.rolled_back:
            failure.add_note(f"--single-transaction rolled back: {', '.join(failure.rolled_back)} "
                             "(nothing this run applied is kept)")
        raise
    result = RunResult(outcomes, ms, summary(outcomes, verb, said, ms))
    reporter.result(result.summary)
    return result


class _NeedsPsycopg(Exception):
    """The plan holds a step only the psycopg engine runs; nothing was done. The files as
    read go to the next attempt: read once, held once."""

    def __init__(self, migrations: list[Migration]) -> None:
        super().__init__()
        self.migrations = migrations


def _locked_run(
    settings: Settings, url: str, reporter: Reporter, make_plan: Planner, nothing: Nothing, *,
    libpq: bool, check: bool, before: Callable[[Session], None] | None,
    destructive: tuple[str, bool, Confirm] | None, snapshot_first: bool,
    single_transaction: bool, rollback_on_failure: bool, announce: bool = True,
    migrations: list[Migration] | None = None,
) -> tuple[list[Outcome], int, str]:
    """run_plan's work under the lock: (outcomes, wall ms, what to say if nothing ran)."""
    from sqlmig import engine  # here, not at the top: status and verify run no plan
    from sqlmig.core.checks import check_history

    with locked_session(settings, url, reporter, libpq=libpq, announce=announce,
                        migrations=migrations) as session:
        if check:
            check_history(session.migrations, session.applied,
                          allow_out_of_order=settings.allow_out_of_order)
        if before is not None:
            before(session)
        steps = make_plan(session.migrations, session.applied)
        if session.link.psycopg is None and not all(
                s.transactional and not s.file.big for s in steps):
            raise _NeedsPsycopg(session.migrations)
        said = nothing if isinstance(nothing, str) else nothing(session.migrations,
                                                                session.applied)
        if destructive is not None and any(s.direction == "down" for s in steps):
            command, yes, confirm = destructive
            guard(session, reporter, command, protect.undoes(steps), yes=yes, confirm=confirm)
        if snapshot_first and steps:
            take_snapshot(settings, session, reporter)
        started = time.perf_counter()
        outcomes = engine.run(
            session, steps, reporter,
            single_transaction=single_transaction, rollback_on_failure=rollback_on_failure,
        )
        ms = round((time.perf_counter() - started) * 1000)
        if outcomes and settings.dump_schema:
            write_schema_file(settings, session.conn)
    return outcomes, ms, said


def take_snapshot(settings: Settings, session: Session, reporter: Reporter) -> None:
    """A pg_dump backup before migrating; refuses (raises) if it fails."""
    from sqlmig.pg import dump

    version = max((a.version for a in session.applied), default=0)
    path = dump.backup(session.url, session.conn.info.server_version // 10000,
                       settings.snapshot_dir, settings.env, version)
    reporter.notice(f"snapshot: {display_path(path)}; to get back: "
                    f"{dump.restore_command(path, session.url)}")


def current_schema_text(settings: Settings, url: str, conn: Any) -> str:
    """The schema as `dump` writes it, sqlmig's own tables left out, ending with the
    migrations it holds (for `load`)."""
    # here, not at the top: only dumps need them, and a run's start-up is part of its time
    from sqlmig.core import schema_file
    from sqlmig.pg import catalog, dump

    exclude = settings.own_tables
    text = dump.schema_text(url, conn.info.server_version // 10000, exclude,
                            catalog.take(conn, exclude=exclude))
    from sqlmig.pg.link import psycopg_link

    held = db.History(settings.schema, settings.table).read(psycopg_link(conn))
    return text + schema_file.held_block(held)


def write_schema_file(settings: Settings, conn: Any) -> None:
    assert settings.database_url is not None
    path = settings.root / settings.schema_file
    path.write_text(current_schema_text(settings, settings.database_url, conn),
                    encoding="utf-8")
