"""`seed` and `setup` (migrate, then seed): each parses its options, calls one commands
function and renders what it returns."""


from typing import TYPE_CHECKING, Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockWaitOption,
    MigrationsDirOption,
    UrlOption,
    WaitOption,
    app,
    change_settings,
    reported,
)

if TYPE_CHECKING:
    from sqlmig.commands.seeds import SeedRun

OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Run only this seed (file name, or its name without the NN_ "
                 "prefix); repeatable."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def show_seeds(run: "SeedRun", json_: bool) -> None:
    from sqlmig.cli import render

    if json_:
        render.print_json(render.seeds_json(run))
    else:
        render.seeds_table(run)


@app.command()
def seed(
    only: OnlyOption = None,
    json_: JsonOption = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Load the environment's seeds (seeds/<set>/NN_name.sql and NN_table.csv, in file-name
    order) in one transaction: all or nothing. Refuses while migrations are pending.

    Example: sqlmig seed --env development --only users
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait,
                                   migrations_dir=migrations_dir)
        run = commands.seed(settings, render.LineReporter(machine=json_), only=only)
        show_seeds(run, json_)


@app.command()
def setup(
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Migrate to the latest version, then seed: a ready database in one command.

    Example: sqlmig setup --env development
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait,
                                   migrations_dir=migrations_dir)
        _, run = commands.setup(settings, render.LineReporter())
        show_seeds(run, False)
