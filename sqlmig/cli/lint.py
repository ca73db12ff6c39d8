"""`sqlmig lint`: static checks of migration files, offline. Parses options; lint_run.py runs
the command (and parses plain arguments itself, without Typer, for a fast start)."""


from pathlib import Path
from typing import Annotated

import typer

from sqlmig.cli.base import DebugOption, MigrationsDirOption, app, reported


@app.command(short_help="Offline checks for unsafe operations, each with the safer way.")
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Migration files to check [default: every file in sql/].",
                       metavar="[FILES]...",
                       show_default=False),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT",
                          help="table, json, github (workflow annotations) or markdown (one "
                               "pull-request comment).")
    ] = "table",
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", metavar="RULE",
                     help="Rule to skip (repeatable); adds to lint_disable."),
    ] = None,
    enable: Annotated[
        list[str] | None,
        typer.Option("--enable", metavar="RULE",
                     help="Opt-in rule to run (repeatable; `style` for all of them); adds to "
                          "lint_enable."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", metavar="GLOB",
                     help="Files not to report (repeatable; e.g. 'sql/0001_*'); adds to "
                          "lint_exclude. An excluded up still tells later files what "
                          "tables exist."),
    ] = None,
    stdin_name: Annotated[
        str, typer.Option("--stdin-name", metavar="NAME",
                          help="The file name `-` (stdin) stands for; .down.sql lints it as "
                               "a down.")
    ] = "stdin.up.sql",
    pg_version: Annotated[
        int | None,
        typer.Option("--pg-version", metavar="N",
                     help="PostgreSQL major version the migrations will run on (13-18) "
                          "[default: pg_version, else the --against server's, else the "
                          "newest].", show_default=False),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option("--against", metavar="URL",
                     help="A database to read the PostgreSQL version and table sizes from "
                          "(read-only): a lock on a table under lint_small_table_rows rows "
                          "is only a note.", show_default=False),
    ] = None,
    migrations_dir: MigrationsDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Check migrations for operations that lock or rewrite tables, lose data or cannot be
    rolled back, with the safer alternative for each. Offline: no database needed. Exits 5
    when a finding has severity error. Silence one statement with a comment line
    `-- sqlmig:lint-ignore RULE` just above it.

    Example: sqlmig lint --format github sql/0042_add_index.up.sql

    Example: sqlmig lint --pg-version 13 --exclude 'sql/0001_*'

    Example: sqlmig lint --against "$DATABASE_URL_PRODUCTION" --format markdown

    Example: sqlmig lint - --stdin-name sql/0042_add_index.up.sql < edited.sql
    """
    from sqlmig.cli.lint_run import LintOptions, run

    with reported(debug):
        code = run(LintOptions(
            paths=list(paths or []), output_format=output_format, json=json_,
            disable=disable or [], enable=enable or [], exclude=exclude or [],
            stdin_name=stdin_name, pg_version=pg_version, against=against,
            migrations_dir=migrations_dir,
            debug=debug))
    if code:
        raise typer.Exit(code)
