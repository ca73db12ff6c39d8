"""The `sqlmig` command: Typer commands that resolve settings, call the engine and render.

No decisions and no SQL live here. Heavy imports (psycopg, pglast, Rich tables) happen inside
the commands that need them, so `sqlmig --help` starts fast.
"""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sqlmig import __version__
from sqlmig.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    Interrupted,
    MigrationFailed,
    PlanError,
    SqlmigError,
)

if TYPE_CHECKING:
    from sqlmig.config import Settings

app = typer.Typer(
    help="Plain-SQL migrations for PostgreSQL.\n\nExample: sqlmig migrate --env development",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="development, test, staging or production [default: $SQLMIG_ENV or "
        "development]", show_default=False,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides DATABASE_URL* and the config file.", show_default=False
    ),
]
LockWaitOption = Annotated[
    float | None,
    typer.Option("--lock-wait", help="Seconds to wait for the migration lock [default: 60].",
                 show_default=False, min=0),
]
OutOfOrderOption = Annotated[
    bool,
    typer.Option("--allow-out-of-order", help="Apply pending migrations older than the newest "
                 "applied one."),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Confirm a destructive command in staging/production.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]


WaitOption = Annotated[
    float | None,
    typer.Option("--wait", help="Retry connecting for up to this many seconds (containers "
                 "starting up).", show_default=False, min=0),
]
LockTimeoutOption = Annotated[
    str | None,
    typer.Option("--lock-timeout", help="SET lock_timeout for migration statements, e.g. 5s.",
                 show_default=False),
]
StatementTimeoutOption = Annotated[
    str | None,
    typer.Option("--statement-timeout", help="SET statement_timeout, e.g. 10min.",
                 show_default=False),
]
RollbackOnFailureOption = Annotated[
    bool,
    typer.Option("--rollback-on-failure", help="If a migration fails, run the downs of those this "
                 "command applied, leaving the database as it was."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sqlmig {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours or styles (also: NO_COLOR=1).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress, no "
                           "per-migration lines, no notices.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also say where sqlmig connected and what "
                           "it found.")
    ] = False,
) -> None:
    """Plain-SQL migrations for PostgreSQL: paired NNNN_name.up.sql / .down.sql files in sql/.

    Example: sqlmig migrate && sqlmig status
    """
    from sqlmig import render

    render.OUTPUT.no_color, render.OUTPUT.quiet, render.OUTPUT.verbose = no_color, quiet, verbose


@contextmanager
def reported(debug: bool) -> Iterator[None]:
    """Turn SqlmigError into `error: ...` and its exit code; tracebacks only with --debug,
    and those too without passwords (secrets.hide)."""
    try:
        yield
    except KeyboardInterrupt as err:
        from sqlmig import render

        if debug:
            render.traceback(err)
        render.error(Interrupted("interrupted; nothing was left half-done"))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except SqlmigError as err:
        from sqlmig import render

        if debug:
            render.traceback(err)
        render.error(err)
        raise typer.Exit(err.exit_code) from None
    except Exception as err:  # a database error sqlmig did not foresee: still one line
        import psycopg

        from sqlmig import render

        if debug:
            render.traceback(err)
            if not isinstance(err, psycopg.Error):
                raise typer.Exit(EXIT_ERROR) from None
        elif not isinstance(err, psycopg.Error):
            raise  # a bug: main's excepthook prints it, passwords hidden
        render.error(SqlmigError(f"database error: {str(err).splitlines()[0]}"))
        raise typer.Exit(EXIT_ERROR) from None


def settings_for(
    env: str | None, url: str | None, *, require_url: bool = True, **overrides: Any
) -> "Settings":
    from sqlmig import config

    return config.resolve(
        env=env, database_url=url, overrides=overrides, require_url=require_url
    )


def database_url(settings: "Settings") -> str:
    """The configured URL, or the embedded server's for development/test (said on stderr)."""
    if settings.database_url:
        return settings.database_url
    from sqlmig import embedded, render

    url = embedded.database_url(settings.root, settings.env)
    render.notice(
        f"no database URL for {settings.env}: using the embedded PostgreSQL in "
        f"{embedded.DATA_DIR}/ (database '{settings.env}')"
    )
    return url


def guard_destructive(
    settings: "Settings", url: str, session: Any, yes: bool, command: str, what: str
) -> None:
    """Name the target and what is about to be dropped or undone, then go ahead only if
    protect.check allows: a database recorded as staging or production needs that very
    environment, and a protected one --yes (or an answer at a terminal)."""
    from sqlmig import db, protect, render

    destruction = protect.Destruction(
        command, db.describe_target(url), session.history.recorded_environment(session.conn), what
    )
    render.run_line(str(destruction))

    def confirm(question: str) -> bool:
        return typer.confirm(question, default=False, err=True)

    protect.check(destruction, settings.env, yes=yes,
                  confirm=confirm if sys.stdin.isatty() else None)


def run_plan(
    settings: "Settings",
    make_plan: Callable[[list, list], list],
    *,
    verb: str,
    nothing: str,
    single_transaction: bool = False,
    rollback_on_failure: bool = False,
    check: bool = True,
    snapshot: bool = False,
    before: Callable[[Any], None] | None = None,
    destructive: tuple[str, bool] | None = None,
) -> None:
    """Lock, read history, verify, plan, (back up), run, report, (dump the schema): the shape
    of every command that changes the database. `check` refuses on any problem `sqlmig
    verify` would report; `snapshot` takes a pg_dump first and refuses if it fails;
    `destructive` = (command, --yes) guards the undoing of migrations (guard_destructive)."""
    from sqlmig import engine, render

    reporter = render.LineReporter()
    url = database_url(settings)
    try:
        with engine.locked_session(settings, url, reporter) as session:
            if check:
                engine.preflight(session, settings.allow_out_of_order)
            if before is not None:
                before(session)
            steps = make_plan(session.migrations, session.applied)
            if destructive is not None and any(s.direction == "down" for s in steps):
                from sqlmig import protect

                guard_destructive(settings, url, session, destructive[1], destructive[0],
                                  protect.undoes(steps))
            if snapshot and steps:
                take_snapshot(settings, url, session)
            started = time.perf_counter()
            outcomes = engine.run(
                session, steps, reporter,
                single_transaction=single_transaction, rollback_on_failure=rollback_on_failure,
            )
            ms = round((time.perf_counter() - started) * 1000)
            if outcomes and settings.dump_schema:
                write_schema_file(settings, url, session.conn)
    except MigrationFailed as failure:
        if failure.undone:
            failure.add_note(f"--rollback-on-failure undid: {', '.join(failure.undone)}")
        raise
    render.summary(outcomes, verb, nothing, ms)


def take_snapshot(settings: "Settings", url: str, session: Any) -> None:
    from sqlmig import dump, render

    version = max((a.version for a in session.applied), default=0)
    path = dump.backup(url, session.conn.info.server_version // 10000,
                       settings.root / dump.SNAPSHOT_DIR, settings.env, version)
    render.notice(f"snapshot: {path.relative_to(settings.root)}; to get back: "
                  f"{dump.restore_command(path, url)}")


def current_schema_text(settings: "Settings", url: str, conn: Any) -> str:
    from sqlmig import dump, snapshot

    exclude = settings.own_tables
    return dump.schema_text(url, conn.info.server_version // 10000, exclude,
                            snapshot.take(conn, exclude=exclude))


def write_schema_file(settings: "Settings", url: str, conn: Any) -> None:
    path = settings.root / settings.schema_file
    path.write_text(current_schema_text(settings, url, conn), encoding="utf-8")


def dry_run_migrate(settings: "Settings", to: int | None, json_: bool) -> None:
    from sqlmig import engine, plan, render
    from sqlmig import render_review as review

    reporter = render.LineReporter(machine=json_)
    with engine.locked_session(settings, database_url(settings), reporter) as session:
        engine.preflight(session, settings.allow_out_of_order, "dry-run")
        steps = plan.plan_migrate(session.migrations, session.applied, to=to,
                                  allow_out_of_order=settings.allow_out_of_order)
        results = engine.dry_run(session, steps)
    if json_:
        review.print_json(review.dry_run_json(results))
    else:
        review.dry_run_table(results)
    if any(r.error is not None for r in results):
        raise typer.Exit(EXIT_ERROR)


def change_settings(
    env: str | None, url: str | None, lock_wait: float | None, wait: float | None,
    lock_timeout: str | None = None, statement_timeout: str | None = None,
    allow_out_of_order: bool = False,
) -> "Settings":
    return settings_for(
        env, url, lock_wait=lock_wait, connect_wait=wait, lock_timeout=lock_timeout,
        statement_timeout=statement_timeout, allow_out_of_order=allow_out_of_order or None,
    )


@app.command()
def migrate(
    to: Annotated[int | None, typer.Option("--to", help="Stop after this version.")] = None,
    single_transaction: Annotated[
        bool, typer.Option("--single-transaction", help="All pending migrations or none.")
    ] = False,
    rollback_on_failure: RollbackOnFailureOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the pending transactional migrations in a "
                           "transaction that is rolled back: errors and timings, no changes.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="With --dry-run: JSON output.")] = False,
    snapshot: Annotated[
        bool | None,
        typer.Option("--snapshot/--no-snapshot", help="pg_dump the database to "
                     ".sqlmig/snapshots/ first and refuse if that fails [default: "
                     "snapshot_before_migrate, on for production].", show_default=False),
    ] = None,
    allow_out_of_order: OutOfOrderOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Apply every pending migration, in version order, as one new batch.

    Example: sqlmig migrate --to 3 --env staging
    """
    from sqlmig import plan

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, allow_out_of_order)
        if dry_run:
            dry_run_migrate(settings, to, json_)
            return
        run_plan(
            settings,
            lambda files, applied: plan.plan_migrate(
                files, applied, to=to, allow_out_of_order=settings.allow_out_of_order
            ),
            verb="applied",
            nothing="nothing to migrate: the database is up to date",
            single_transaction=single_transaction,
            rollback_on_failure=rollback_on_failure,
            snapshot=settings.snapshot_before_migrate if snapshot is None else snapshot,
        )


@app.command()
def up(
    count: Annotated[int, typer.Argument(help="How many pending migrations to apply.", min=1)] = 1,
    rollback_on_failure: RollbackOnFailureOption = False,
    allow_out_of_order: OutOfOrderOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Apply the next COUNT pending migrations (default 1).

    Example: sqlmig up 2
    """
    from sqlmig import plan

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, allow_out_of_order)
        run_plan(
            settings,
            lambda files, applied: plan.plan_up(
                files, applied, count, allow_out_of_order=settings.allow_out_of_order
            ),
            verb="applied",
            nothing="nothing to apply: the database is up to date",
            rollback_on_failure=rollback_on_failure,
        )


@app.command()
def rollback(
    steps: Annotated[int | None, typer.Option("--steps", help="Undo the last N migrations.",
                                              min=1)] = None,
    to: Annotated[int | None, typer.Option("--to", help="Undo every migration above this "
                                           "version (0 = all).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Undo every migration.")] = False,
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Undo the last batch (or --steps N, --to VERSION, --all), newest first.

    Example: sqlmig rollback --to 2
    """
    from sqlmig import plan

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout)
        run_plan(
            settings,
            lambda files, applied: plan.plan_rollback(
                files, applied, steps=steps, to=to, everything=everything
            ),
            verb="rolled back",
            nothing="nothing to roll back",
            destructive=("rollback", yes),
        )


@app.command()
def redo(
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Roll back the newest migration and apply it again (handy while writing it).

    Example: sqlmig redo
    """
    from sqlmig import plan

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait)
        run_plan(settings, plan.plan_redo, verb="redid", nothing="nothing to redo",
                 destructive=("redo", yes))


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_user_settings.")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="create_table, alter_table, create_index, "
                          "raw or empty.")
    ] = "raw",
    table: Annotated[
        str | None, typer.Option("--table", help="Table the template acts on.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", "-c", help="name:type[:notnull][:unique][:default=EXPR]"
                     "[:references=table.col]; repeatable."),
    ] = None,
    env: EnvOption = None,
    debug: DebugOption = False,
) -> None:
    """Write the next-numbered NNNN_name.up.sql / .down.sql pair from a template.

    Example: sqlmig new create_comments -t create_table --table comments
    -c body:text:notnull -c post_id:uuid:notnull:references=posts.id
    """
    from sqlmig import files, templates
    from sqlmig.errors import ConfigError

    with reported(debug):
        settings = settings_for(env, None)
        try:
            slug = templates.slug(name)
            typed = template != "create_index"
            columns = [templates.parse_column(spec, typed=typed) for spec in column or []]
            up_sql, down_sql = templates.render(template, slug, table, columns)
        except templates.TemplateError as err:
            raise ConfigError(str(err)) from None
        directory = settings.migrations_dir
        directory.mkdir(parents=True, exist_ok=True)
        existing = [files.FILE_NAME.match(p.name) for p in directory.glob("*.sql")]
        matches = [m for m in existing if m]
        if any(m["name"] == slug for m in matches):
            raise PlanError(f"a migration named '{slug}' already exists in {directory}")
        versions = [int(m["version"]) for m in matches]
        width = max([len(m["version"]) for m in matches], default=4)
        version = templates.next_version(versions)
        written = []
        for direction, text in (("up", up_sql), ("down", down_sql)):
            path = directory / files.migration_file_name(version, slug, direction, width)
            with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite
                handle.write(text)
            written.append(path)
        for path in written:
            typer.echo(f"created {_relative(path, settings.root)}")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@app.command()
def fresh(
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Drop everything in the configured schema, then apply every migration.

    Example: sqlmig fresh   # development: rebuild the schema from sql/
    """
    from sqlmig import engine, plan

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait)
        url = database_url(settings)

        def drop_everything(session: engine.Session) -> None:
            guard_destructive(settings, url, session, yes, "fresh",
                              f"drops every table, view, sequence, routine, type and extension "
                              f"in schema {settings.schema}, then applies every migration")
            engine.drop_schema_objects(session, settings.schema)

        run_plan(
            replace(settings, database_url=url),
            plan.plan_migrate,
            verb="applied",
            nothing="schema emptied; there are no migrations to apply",
            check=False,  # whatever history says is about to be dropped
            before=drop_everything,
        )


@app.command()
def reset(
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Roll back every migration (running the downs), then apply them all again.

    Example: sqlmig reset --env test
    """
    from sqlmig import engine, plan, protect, render

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait)
        url = database_url(settings)

        def rollback_all(session: engine.Session) -> None:
            steps = plan.plan_rollback(session.migrations, session.applied, everything=True)
            guard_destructive(settings, url, session, yes, "reset",
                              f"{protect.undoes(steps)}, then applies every migration")
            started = time.perf_counter()
            outcomes = engine.run(session, steps, reporter)
            render.summary(outcomes, "rolled back", "nothing to roll back",
                           round((time.perf_counter() - started) * 1000))
            session.reload()

        reporter = render.LineReporter()
        run_plan(replace(settings, database_url=url), plan.plan_migrate, verb="applied",
                 nothing="nothing to migrate", before=rollback_all)


# The commands that read and repair history live in their own module; importing it registers
# them on `app`.
from sqlmig import cli_history, cli_lint, cli_review, cli_seed  # noqa: E402, F401


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (docker stop, CI cancel) behaves like Ctrl-C: cancel, roll back, exit 130."""
    raise KeyboardInterrupt


def main() -> None:
    import gc
    import os
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    if not os.environ.get("_SQLMIG_COMPLETE"):  # completion must see every command
        _only_the_named_command(sys.argv[1:])
    try:
        app()
    except Exception as err:  # a bug: its traceback (Typer's excepthook would print it raw)
        from sqlmig import render

        render.traceback(err)
        raise SystemExit(EXIT_ERROR) from None
    finally:
        # The interpreter's last garbage collection would walk every object the imports made
        # (30-40 ms, a fifth of a short command) only to free memory the OS takes back anyway.
        gc.freeze()


def _only_the_named_command(args: list[str]) -> None:
    """Typer turns every command's signature into Click parameters on each start (20 ms for
    all of them); a process runs one. Keep only the command named on the command line (the
    global options before it are all flags); anything else keeps them all, for help and for
    Click's own error on an unknown name."""
    from typer.main import get_command_name

    name = next((a for a in args if not a.startswith("-")), None)
    chosen = [
        c for c in app.registered_commands
        if (c.name or (get_command_name(c.callback.__name__) if c.callback else None)) == name
    ]
    if name is not None and len(chosen) == 1:
        app.registered_commands = chosen
