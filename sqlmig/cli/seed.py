"""`seed` and `setup` (migrate, then seed): Typer + rendering only, registered from cli.py."""


from typing import TYPE_CHECKING, Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockWaitOption,
    UrlOption,
    WaitOption,
    app,
    change_settings,
    database_url,
    reported,
)
from sqlmig.errors import PlanError

if TYPE_CHECKING:
    from sqlmig.core.config import Settings

OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Run only this seed (file name, or its name without the NN_ "
                 "prefix); repeatable."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def run_seeds(settings: "Settings", only: list[str] | None, json_: bool) -> None:
    from sqlmig import engine
    from sqlmig.cli import render
    from sqlmig.core import config, plan
    from sqlmig.seeds import files as seeds
    from sqlmig.seeds import seeding

    chosen = seeds.discover(settings.seeds_dir)
    for name in only or []:
        if not any(seed.matches(name) for seed in chosen):
            raise PlanError(f"--only {name}: no such seed in {settings.seeds_dir}")
    if only:
        chosen = [seed for seed in chosen if any(seed.matches(name) for name in only)]
    reporter = render.LineReporter(machine=json_)
    with engine.locked_session(settings, database_url(settings), reporter) as session:
        waiting = [
            row.id for row in plan.status(session.migrations, session.applied)
            if row.state in (plan.State.PENDING, plan.State.FAILED)
        ]
        if waiting:
            raise PlanError(
                f"{len(waiting)} migration(s) not applied ({', '.join(waiting[:5])}"
                f"{', …' if len(waiting) > 5 else ''}): seeds expect the latest schema; run "
                "`sqlmig migrate` first (or `sqlmig setup`)"
            )
        results = seeding.run(session, chosen, config.load_environ(settings.root))
    if json_:
        render.print_json(render.seeds_json(results, settings))
    else:
        render.seeds_table(results, settings)


@app.command()
def seed(
    only: OnlyOption = None,
    json_: JsonOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Load the environment's seeds (seeds/<set>/NN_name.sql and NN_table.csv, in file-name
    order) in one transaction: all or nothing. Refuses while migrations are pending.

    Example: sqlmig seed --env development --only users
    """
    with reported(debug):
        settings = change_settings(env, database_url_, lock_wait, wait)
        run_seeds(settings, only, json_)


@app.command()
def setup(
    env: EnvOption = None,
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
        settings = change_settings(env, database_url_, lock_wait, wait)
        commands.migrate(settings, render.LineReporter(), snapshot=False)
        run_seeds(settings, None, False)
