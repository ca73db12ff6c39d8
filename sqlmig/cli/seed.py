"""`seed` and `setup` (migrate, then seed): each parses its options, calls one commands
function and renders what it returns."""


from typing import TYPE_CHECKING, Annotated, Any

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockWaitOption,
    MigrationsDirOption,
    UrlOption,
    WaitOption,
    app,
    reported,
)
from sqlmig.cli.common import change_settings

if TYPE_CHECKING:
    from sqlmig.commands.seeds import SeedRun

OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", metavar="SEED",
                 help="Run only this seed (file name, or its name without the NN_ "
                 "prefix); repeatable."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def show_seeds(run: "SeedRun", json_: bool) -> None:
    from sqlmig.cli import render

    if json_:
        render.print_json(seeds_json(run))
    else:
        seeds_table(run)


def seeds_json(run: "SeedRun") -> dict[str, Any]:
    results = run.results
    return {
        "environment": run.env,
        "seed_set": run.seed_set,
        "seeds": [
            {
                "file": r.seed.path.name,
                "kind": r.seed.kind,
                "table": r.seed.name if r.seed.kind == "csv" else None,
                "rows": r.rows,
                "ms": r.ms,
            }
            for r in results
        ],
        "rows": sum(r.rows for r in results),
        "ms": sum(r.ms for r in results),
    }


def seeds_table(run: "SeedRun") -> None:
    from sqlmig.cli import render

    out = render.console()
    results = run.results
    if not results:
        out.print(f"no seeds in {run.seeds_dir}", markup=False)
        return
    grid = render.table(("seed", "kind", "rows", "time"), right=("rows", "time"))
    for r in results:
        grid.add_row(render.escape(r.seed.path.name), r.seed.kind, f"{r.rows:,}", f"{r.ms} ms")
    out.print(grid)
    total = sum(r.rows for r in results)
    out.print(
        f"seeded {run.env} from seeds/{run.seed_set}: {render.counted(len(results), 'file')}, "
        f"{total:,} {'row' if total == 1 else 'rows'} in {sum(r.ms for r in results)} ms",
        markup=False,
    )


@app.command(short_help="Load the environment's seeds in one transaction.")
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


@app.command(short_help="Migrate, then seed.")
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
