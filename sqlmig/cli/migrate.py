"""The commands that run migrations: migrate, up, rollback, redo, new, fresh, reset."""

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockTimeoutOption,
    LockWaitOption,
    OutOfOrderOption,
    RollbackOnFailureOption,
    StatementTimeoutOption,
    UrlOption,
    WaitOption,
    YesOption,
    app,
    change_settings,
    database_url,
    guard_destructive,
    reported,
    settings_for,
)
from sqlmig.errors import EXIT_ERROR, MigrationFailed, PlanError

if TYPE_CHECKING:
    from sqlmig.core.config import Settings


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
    from sqlmig import engine
    from sqlmig.cli import render

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
                from sqlmig.core import protect

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
    from sqlmig.cli import render
    from sqlmig.pg import dump

    version = max((a.version for a in session.applied), default=0)
    path = dump.backup(url, session.conn.info.server_version // 10000,
                       settings.root / dump.SNAPSHOT_DIR, settings.env, version)
    render.notice(f"snapshot: {path.relative_to(settings.root)}; to get back: "
                  f"{dump.restore_command(path, url)}")


def current_schema_text(settings: "Settings", url: str, conn: Any) -> str:
    from sqlmig.pg import dump, snapshot

    exclude = settings.own_tables
    return dump.schema_text(url, conn.info.server_version // 10000, exclude,
                            snapshot.take(conn, exclude=exclude))


def write_schema_file(settings: "Settings", url: str, conn: Any) -> None:
    path = settings.root / settings.schema_file
    path.write_text(current_schema_text(settings, url, conn), encoding="utf-8")


def dry_run_migrate(settings: "Settings", to: int | None, json_: bool) -> None:
    from sqlmig import engine
    from sqlmig.cli import render
    from sqlmig.cli import render_review as review
    from sqlmig.core import plan

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
    from sqlmig.core import plan

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
    from sqlmig.core import plan

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
    from sqlmig.core import plan

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
    from sqlmig.core import plan

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
    from sqlmig.core import files, templates
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
    from sqlmig import engine
    from sqlmig.core import plan

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
    from sqlmig import engine
    from sqlmig.cli import render
    from sqlmig.core import plan, protect

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
