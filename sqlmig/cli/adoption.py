"""`adopt`: parses its options, calls commands.adopt and prints what it wrote or would write."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockWaitOption,
    MigrationsDirOption,
    UrlOption,
    WaitOption,
    YesOption,
    app,
    reported,
)
from sqlmig.cli.common import settings_for, terminal_confirm
from sqlmig.errors import counted

if TYPE_CHECKING:
    from sqlmig.commands.adoption import Adoption


@app.command()
def adopt(
    tool: Annotated[str, typer.Option(
        "--from", metavar="TOOL",
        help="The migrator the project used: golang-migrate, dbmate, diesel, knex or flyway.",
    )],
    directory: Annotated[Path | None, typer.Option(
        "--dir", metavar="DIR", help="Its migrations folder (default: where the tool keeps "
        "them); the pairs go to --migrations-dir.",
    )] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List every file and history row it would write; change nothing.",
    )] = False,
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    migrations_dir: MigrationsDirOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Switch from another migrator: its files and its history.

    Converts its migrations into sql/ pairs and, with a database URL, records every migration
    it applied as applied (its table is read, never changed). Refuses a dirty or failed
    history, a held lock, an applied migration with no file, or a file in sql/ it would
    overwrite.

    Example: sqlmig adopt --from golang-migrate --dir migrations --dry-run
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = settings_for(env, database_url_, require_url=False, lock_wait=lock_wait,
                                connect_wait=wait, migrations_dir=migrations_dir)
        result = commands.adopt(settings, render.LineReporter(), tool, directory=directory,
                                dry_run=dry_run, yes=yes, confirm=terminal_confirm())
        render.changes(report(result), "nothing to adopt")


def report(result: "Adoption") -> list[str]:
    """What adopt wrote, or with --dry-run would write, one line each."""
    would = "would " if result.dry_run else ""
    lines = [f"{would}write {path}" for path in result.files]
    if result.config:
        lines.append(f'{would}set table = "{result.table}" in {result.config} (the '
                     f"{result.tool} table keeps its name)")
    lines += [f"{would}record in {result.table}: {row}" for row in result.rows]
    lines += result.notes
    if result.dry_run:
        lines.append("dry run: nothing was changed")
    elif result.cleanup:
        lines.append(f"adopted {counted(len(result.rows), 'applied migration')} from "
                     f"{result.tool}; its table is left as it was: once the team is happy, "
                     f"drop it: {result.cleanup}")
    return lines
