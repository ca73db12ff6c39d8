"""The commands that run migrations: migrate, up, rollback, down, redo, new, fresh, reset."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockRetriesOption,
    LockRetryDelayOption,
    LockTimeoutOption,
    LockWaitOption,
    MigrationsDirOption,
    OutOfOrderOption,
    RollbackOnFailureOption,
    StatementTimeoutOption,
    UrlOption,
    WaitOption,
    YesOption,
    app,
    reported,
)
from sqlmig.cli.common import change_settings, line_reporter, settings_for, terminal_confirm
from sqlmig.cli.locks import LocksOption, show_lock_plan
from sqlmig.errors import EXIT_ERROR, ConfigError, SqlmigError

if TYPE_CHECKING:
    from sqlmig.commands.run import DryRunReport


def show_dry_run(report: "DryRunReport", json_: bool) -> None:
    from sqlmig.cli import render_review

    if json_:
        render_review.print_json(render_review.dry_run_json(report))
    else:
        render_review.dry_run_table(report)
    if any(r.error is not None for r in report.results):
        raise typer.Exit(EXIT_ERROR)


@app.command(short_help="Apply every pending migration as one new batch.")
def migrate(
    to: Annotated[int | None, typer.Option("--to", metavar="VERSION",
                                           help="Stop after this version.")] = None,
    single_transaction: Annotated[
        bool, typer.Option("--single-transaction", help="All pending migrations or none.")
    ] = False,
    rollback_on_failure: RollbackOnFailureOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the pending transactional migrations in a "
                           "transaction that is rolled back: errors and timings, no changes.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="JSON output: the migrations applied "
                                        "and each lock-timeout retry (or the dry run's).")
                     ] = False,
    locks: LocksOption = False,
    snapshot: Annotated[
        bool | None,
        typer.Option("--snapshot/--no-snapshot", help="pg_dump the database to "
                     ".sqlmig/snapshots/ first and refuse if that fails [default: "
                     "snapshot_before_migrate, on for production].", show_default=False),
    ] = None,
    allow_out_of_order: OutOfOrderOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Apply every pending migration, in version order, as one new batch.

    Example: sqlmig migrate --to 3 --env staging
    """
    from sqlmig import commands
    from sqlmig.cli import render, render_run

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, allow_out_of_order,
                                   migrations_dir=migrations_dir,
                                   lock_retries=(lock_retries, lock_retry_delay))
        if locks and not dry_run:
            raise ConfigError("--locks: only with --dry-run (or use `sqlmig plan --locks`)")
        if dry_run and locks:
            show_lock_plan(settings, to, json_)
            return
        reporter = render.LineReporter(machine=json_)
        if dry_run:
            show_dry_run(commands.dry_run(settings, reporter, to=to), json_)
            return
        try:
            result = commands.migrate(
                settings, reporter, to=to, single_transaction=single_transaction,
                rollback_on_failure=rollback_on_failure, snapshot=snapshot,
                create_missing=terminal_confirm())
        except SqlmigError as err:
            if json_:
                render.print_json(render_run.run_json(reporter, None, err))
            raise
        if json_:
            render.print_json(render_run.run_json(reporter, result))

@app.command(short_help="Apply the next COUNT pending migrations (default 1).")
def up(
    count: Annotated[int, typer.Argument(help="How many pending migrations to apply.",
                                                metavar="[COUNT]", min=1)] = 1,
    rollback_on_failure: RollbackOnFailureOption = False,
    allow_out_of_order: OutOfOrderOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Apply the next COUNT pending migrations (default 1).

    Example: sqlmig up 2
    """
    from sqlmig import commands

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, allow_out_of_order,
                                   migrations_dir=migrations_dir,
                                   lock_retries=(lock_retries, lock_retry_delay))
        commands.up(settings, line_reporter(), count, rollback_on_failure=rollback_on_failure)

@app.command(short_help="Undo the last batch (or --steps, --to, --all).")
def rollback(
    steps: Annotated[int | None, typer.Option("--steps", metavar="N",
                                              help="Undo the last N migrations.",
                                              min=1)] = None,
    to: Annotated[int | None, typer.Option("--to", metavar="VERSION",
                                           help="Undo every migration above this "
                                           "version (0 = all).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Undo every migration.")] = False,
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Undo the last batch (or --steps N, --to VERSION, --all), newest first.

    Example: sqlmig rollback --to 2
    """
    from sqlmig.cli import change_run

    with reported(debug):
        change_run.rollback(change_run.ChangeOptions(
            env=env, migrations_dir=migrations_dir, database_url=database_url_,
            lock_timeout=lock_timeout, statement_timeout=statement_timeout,
            lock_retries=lock_retries, lock_retry_delay=lock_retry_delay, lock_wait=lock_wait,
            wait=wait, to=to, steps=steps, everything=everything, yes=yes))


@app.command(short_help="Undo exactly one migration, the newest.")
def down(
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Undo exactly one migration, the newest (dbmate's `down`); `rollback` undoes the whole
    last batch.

    Example: sqlmig down
    """
    from sqlmig import commands

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, migrations_dir=migrations_dir,
                                   lock_retries=(lock_retries, lock_retry_delay))
        commands.down(settings, line_reporter(), yes=yes, confirm=terminal_confirm())


@app.command(short_help="Roll back the newest migration and apply it again.")
def redo(
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Roll back the newest migration and apply it again (handy while writing it).

    Example: sqlmig redo
    """
    from sqlmig import commands

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, migrations_dir=migrations_dir,
                                   lock_retries=(lock_retries, lock_retry_delay))
        commands.redo(settings, line_reporter(), yes=yes, confirm=terminal_confirm())

def complete_template(incomplete: str) -> list[str]:
    """Shell completion of --template: the template names."""
    from sqlmig.core.templates import TEMPLATES

    return [name for name in TEMPLATES if name.startswith(incomplete)]


class _RequiredArgumentUsage(TyperCommand):
    """`sqlmig new [OPTIONS] NAME`: Typer would write a required argument as `{NAME}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.removeprefix("{").removesuffix("}")
                for piece in super().collect_usage_pieces(ctx)]


@app.command(cls=_RequiredArgumentUsage,
             short_help="Write the next-numbered up/down pair from a template.")
def new(
    name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_user_settings.",
                                          metavar="NAME")],
    template: Annotated[
        str, typer.Option("--template", "-t", metavar="TEMPLATE",
                          help="create_table, alter_table, create_index, "
                          "raw or empty.", autocompletion=complete_template)
    ] = "raw",
    table: Annotated[
        str | None, typer.Option("--table", metavar="TABLE", help="Table the template acts on.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", "-c", metavar="SPEC",
                     help="A column: name:type, then any of :notnull :unique :default=EXPR "
                     ":references=TABLE.COLUMN; repeatable."),
    ] = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Write the next-numbered NNNN_name.up.sql / .down.sql pair from a template.

    Example: sqlmig new create_comments -t create_table --table comments
    -c body:text:notnull -c post_id:uuid:notnull:references=posts.id
    """
    from sqlmig import commands

    with reported(debug):
        settings = settings_for(env, None, migrations_dir=migrations_dir)
        for path in commands.new(settings, name, template, table, column or []):
            typer.echo(f"created {_relative(path, settings.root)}")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@app.command(short_help="Drop everything in the schema, then migrate.")
def fresh(
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Drop everything in the configured schema, then apply every migration.

    Example: sqlmig fresh   # development: rebuild the schema from sql/
    """
    from sqlmig import commands

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, migrations_dir=migrations_dir,
                                   lock_retries=(lock_retries, lock_retry_delay))
        commands.fresh(settings, line_reporter(), yes=yes, confirm=terminal_confirm())

@app.command(short_help="Roll back every migration, then migrate again.")
def reset(
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    lock_retries: LockRetriesOption = None,
    lock_retry_delay: LockRetryDelayOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Roll back every migration (running the downs), then apply them all again.

    Example: sqlmig reset --env test
    """
    from sqlmig import commands

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait, lock_timeout,
                                   statement_timeout, migrations_dir=migrations_dir,
                                   lock_retries=(lock_retries, lock_retry_delay))
        commands.reset(settings, line_reporter(), yes=yes, confirm=terminal_confirm())
