"""`sqlmig fleet COMMAND`: migrate or status over many databases (--targets FILE) or many
schemas of one database (--schemas); parses the options, calls commands.fleet, renders."""

from pathlib import Path
from typing import Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockTimeoutOption,
    LockWaitOption,
    MigrationsDirOption,
    StatementTimeoutOption,
    UrlOption,
    YesOption,
    app,
    reported,
)
from sqlmig.cli.common import change_settings
from sqlmig.cli.migrate import _RequiredArgumentUsage as RequiredArgumentUsage
from sqlmig.errors import ConfigError


@app.command(cls=RequiredArgumentUsage,
             short_help="Migrate (or check) many databases or schemas at once.")
def fleet(
    verb: Annotated[str, typer.Argument(
        help="migrate, up, rollback, redo, status, verify, plan, or check (on the first "
        "target only).", metavar="COMMAND")],
    targets: Annotated[
        Path | None,
        typer.Option("--targets", metavar="FILE", help="One database URL or environment name "
                     "a line (# comments), or a .toml file with a [targets] table of "
                     "name = URL.", show_default=False),
    ] = None,
    schemas: Annotated[
        str | None,
        typer.Option("--schemas", metavar="A,B,C", help="Schemas of the one database "
                     "(--database-url or the environment's): each gets its own history "
                     "table and search_path. @FILE reads them from a file, one a line.",
                     show_default=False),
    ] = None,
    targets_query: Annotated[
        str | None,
        typer.Option("--targets-query", metavar="SQL", help="A query run (read-only) on the "
                     "--database-url or environment's database: a database URL or a schema "
                     "name in the first column of each row.", show_default=False),
    ] = None,
    parallel: Annotated[int, typer.Option("--parallel", "-j", metavar="N", min=1,
                                          help="Targets at once (one connection each).")] = 4,
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", help="Start no new target after the first failure.")] = False,
    canary: Annotated[int, typer.Option(
        "--canary", metavar="N", min=0,
        help="Run the first N targets alone first; stop if any fails.")] = 0,
    only_failed: Annotated[
        Path | None,
        typer.Option("--only-failed", metavar="REPORT", help="Only the targets a previous "
                     "run's --json report did not finish.", show_default=False),
    ] = None,
    to: Annotated[int | None, typer.Option(
        "--to", metavar="VERSION", help="migrate, plan: stop after this version; rollback: "
        "undo every migration above it.", show_default=False)] = None,
    count: Annotated[int, typer.Option("--count", metavar="N", min=1,
                                       help="up: how many pending migrations.")] = 1,
    steps: Annotated[int | None, typer.Option(
        "--steps", metavar="N", min=1, help="rollback: undo the last N migrations.",
        show_default=False)] = None,
    everything: Annotated[bool, typer.Option("--all", help="rollback: undo every "
                                             "migration.")] = False,
    yes: YesOption = False,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per target.")] = False,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="Also write the --json report to FILE "
                     "(for a later --only-failed).", show_default=False),
    ] = None,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Run COMMAND (migrate, up, rollback, redo, status, verify, plan; check on the first) on
    every target, --parallel at a time, each exactly as a single run; then a table of every
    target (versions, migrations run, time, error). Exit 0 when all succeeded, 1 when any
    failed, 130 when interrupted. Rerun to resume.

    Example: sqlmig fleet migrate --targets tenants.txt --parallel 8 --report report.json
    """
    from sqlmig import commands
    from sqlmig.cli import render, render_fleet
    from sqlmig.commands.fleets import Options
    from sqlmig.core import targets as fleet_targets

    with reported(debug):
        if [targets, schemas, targets_query].count(None) != 2:
            raise ConfigError("fleet: give one of --targets FILE, --schemas A,B,C or "
                              "--targets-query SQL")
        settings = change_settings(env, database_url_, lock_wait, None, lock_timeout,
                                   statement_timeout, migrations_dir=migrations_dir)
        if targets is not None:
            chosen = fleet_targets.parse_targets(_read(targets, "--targets"), targets)
        elif schemas is not None and schemas.startswith("@"):  # a list too long to type
            chosen = fleet_targets.parse_schema_file(_read(Path(schemas[1:]), "--schemas"),
                                                     Path(schemas[1:]))
        elif schemas is not None:
            chosen = fleet_targets.parse_schemas(schemas)
        else:
            chosen = commands.query_targets(settings, targets_query or "")
        if only_failed is not None:
            names = fleet_targets.unfinished(_read(only_failed, "--only-failed"), only_failed)
            chosen = fleet_targets.only(chosen, names)
            if not chosen and json_:
                render_fleet.print_report(fleet_targets.FleetReport(verb), json_)
                return
            if not chosen:
                render.run_line(f"nothing to rerun: {only_failed} names no unfinished target "
                                "of this run")
                return
        progress = render_fleet.FleetProgress(len(chosen))
        try:
            options = Options(to=to, count=count, steps=steps, everything=everything, yes=yes)
            report = commands.fleet(settings, chosen, command=verb, parallel=parallel,
                                    fail_fast=fail_fast, canary=canary, events=progress,
                                    options=options)
        finally:
            progress.close()
        render_fleet.print_report(report, json_)
        if report_file is not None:
            render_fleet.write_report(report, report_file)
    raise typer.Exit(report.exit_code)


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigError(f"{option}: cannot read {path}: {reason}") from None
