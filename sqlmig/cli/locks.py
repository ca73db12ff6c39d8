"""Seeing locks before taking them: `sqlmig locks`, and the output of `plan --locks` and
`migrate --dry-run --locks` (their options live with plan and migrate)."""

from typing import TYPE_CHECKING, Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    MigrationsDirOption,
    UrlOption,
    WaitOption,
    app,
    reported,
)
from sqlmig.cli.common import line_reporter, settings_for
from sqlmig.errors import EXIT_ERROR, EXIT_LOCK_TIMEOUT, EXIT_PENDING

if TYPE_CHECKING:
    from sqlmig.core.config import Settings

LocksOption = Annotated[
    bool, typer.Option("--locks", help="Run each pending migration statement by statement in "
                       "a transaction that is rolled back, under dry_run_lock_timeout, and "
                       "report the locks each statement takes, on which tables, how big, "
                       "rewritten or scanned, for how long. Exit 4 if one timed out.")
]


def show_lock_plan(settings: "Settings", to: int | None, json_: bool) -> None:
    """Measure the pending migrations' locks and print them; exit 1 if a statement failed,
    4 if one could not be measured because it timed out."""
    from sqlmig import commands
    from sqlmig.cli import render_locks

    report = commands.lock_plan(settings, line_reporter(machine=json_), to=to)
    if json_:
        render_locks.print_json(render_locks.lock_plan_json(report))
    else:
        render_locks.lock_plan_table(report)
    if report.failed:
        raise typer.Exit(EXIT_ERROR)
    if report.unmeasured:
        raise typer.Exit(EXIT_LOCK_TIMEOUT)


@app.command(short_help="Who holds or waits for locks on the tables pending migrations lock.")
def locks(
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help=f"Exit {EXIT_PENDING} when a session holds a "
                           "lock the pending migrations would wait for, or waits for a lock "
                           "on their tables.")
    ] = False,
    older_than: Annotated[
        float, typer.Option("--older-than", metavar="SECONDS", min=0,
                            help="A transaction open this long is flagged long-running.")
    ] = 60.0,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Show who holds or waits for locks right now on the tables the pending migrations would
    lock (read from their parse), who blocks whom, and transactions open longer than
    --older-than: decide before you migrate. Changes nothing.

    Example: sqlmig locks --exit-code --env production
    """
    from sqlmig import commands
    from sqlmig.cli import render_locks

    with reported(debug):
        settings = settings_for(env, database_url_, connect_wait=wait,
                                migrations_dir=migrations_dir)
        found = commands.locks(settings, line_reporter(machine=json_), older_than=older_than)
        if json_:
            render_locks.print_json(render_locks.locks_json(found))
        else:
            render_locks.locks_table(found)
        if exit_code and found.blocking:
            raise typer.Exit(EXIT_PENDING)
