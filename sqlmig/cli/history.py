"""Commands that read or mend the history rather than run migrations: status, verify, repair,
baseline; and the project's own: init, config. Each parses its options, calls one
sqlmig.commands function and prints its result.
"""


from pathlib import Path
from typing import Annotated

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
from sqlmig.errors import EXIT_ERROR, EXIT_PENDING

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
OutOfOrderOption = Annotated[
    bool,
    typer.Option("--allow-out-of-order", help="Do not report pending migrations older than the "
                 "newest applied one (what migrate --allow-out-of-order would apply)."),
]


@app.command(short_help="Every migration's state, time and batch.")
def status(
    json_: JsonOption = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help=f"Exit {EXIT_PENDING} when anything is pending, "
                           "changed, missing or failed, or an index is INVALID (for CI).")
    ] = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Show every migration: applied, pending, changed (checksum differs), missing (file gone)
    or failed (stopped halfway); and warn of INVALID indexes (an interrupted CONCURRENTLY).

    Example: sqlmig status --exit-code   # in CI: fails when migrations are pending
    """
    from sqlmig.cli.status_run import StatusOptions, run

    with reported(debug):
        code = run(StatusOptions(json=json_, exit_code=exit_code, env=env,
                                 migrations_dir=migrations_dir, database_url=database_url_,
                                 wait=wait, debug=debug))
    if code:
        raise typer.Exit(code)


@app.command(short_help="Check files against history and report every problem.")
def verify(
    json_: JsonOption = False,
    show_diff: Annotated[
        bool, typer.Option("--diff", help="Show what changed in edited applied migrations.")
    ] = False,
    allow_out_of_order: OutOfOrderOption = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Files only, no database: names, pairs, "
                           "duplicate versions, directives and syntax (for pre-commit).")
    ] = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Check files against history: edited applied migrations (checksum drift), missing files,
    duplicates, out-of-order pending migrations, missing down files, failed migrations; and
    the database for INVALID indexes (an interrupted CREATE INDEX CONCURRENTLY).
    Exits 1 when anything is wrong; migrate/up/rollback run the same checks first.

    Example: sqlmig verify --diff
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = settings_for(env, database_url_, connect_wait=wait, require_url=not offline,
                                allow_out_of_order=allow_out_of_order or None,
                                migrations_dir=migrations_dir)
        result = commands.verify(settings, render.LineReporter(machine=json_), diff=show_diff,
                                 offline=offline)
        if json_:
            render.print_json(render.verify_json(result))
        else:
            render.verify_report(result)
        if not result.ok:
            raise typer.Exit(EXIT_ERROR)


@app.command(short_help="Mend the history after a manual fix.")
def repair(
    accept: Annotated[
        list[int] | None,
        typer.Option("--accept", metavar="VERSION",
                     help="Record the current checksum of this edited applied "
                     "migration (repeatable)."),
    ] = None,
    all_changed: Annotated[
        bool, typer.Option("--all-changed", help="Accept every edited applied migration.")
    ] = False,
    yes: YesOption = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Mend the history after a manual fix: remove failed records (so the migration is pending
    again) and, only when asked, accept edited files' checksums. Prints every change.

    Example: sqlmig repair --accept 7
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = settings_for(env, database_url_, lock_wait=lock_wait, connect_wait=wait,
                                migrations_dir=migrations_dir)
        result = commands.repair(settings, render.LineReporter(), accept=accept or [],
                                 all_changed=all_changed, yes=yes, confirm=terminal_confirm())
        render.changes(result.changes, result.nothing)
        render.invalid_warnings(result.invalid)  # a rerun with IF NOT EXISTS would skip them


@app.command(short_help="Adopt an existing database: record migrations as applied.")
def baseline(
    version: Annotated[int, typer.Option("--version", metavar="VERSION",
                                         help="Record every migration numbered this or lower "
                                         "as applied (need not be a file's number).")],
    yes: YesOption = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Adopt an existing database: record every migration numbered VERSION or lower as
    applied (batch 0, flagged baseline) without running them, naming the files that covers
    (VERSION need not be a file's). Refuses unless the history is empty.

    Example: sqlmig baseline --version 12 --env production --yes
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = settings_for(env, database_url_, lock_wait=lock_wait, connect_wait=wait,
                                migrations_dir=migrations_dir)
        result = commands.baseline(settings, render.LineReporter(), version, yes=yes,
                                   confirm=terminal_confirm())
        render.changes(result.changes, result.nothing)


@app.command(short_help="Scaffold a project: sql/, seeds/, sqlmig.toml.")
def init(
    directory: Annotated[
        Path, typer.Argument(help="Project folder.", metavar="[DIRECTORY]")
    ] = Path("."),
    ci: Annotated[str | None, typer.Option(
        "--ci", metavar="PROVIDER",
        help="Also write CI workflows: github (review on pull requests, migrate on main).",
    )] = None,
    compose: Annotated[bool, typer.Option(
        "--compose", help="Also write Dockerfile.sqlmig and compose.sqlmig.yaml (an init step).",
    )] = False,
    debug: DebugOption = False,
) -> None:
    """Scaffold a project: sql/, seeds/development/, seeds/production/, sqlmig.toml with every
    key commented, .env.example, and .sqlmig/ and .env in .gitignore (added to an existing
    one); with --ci github and --compose, the workflows and container files that install
    sqlmig as a package. Never overwrites: files already there are kept.

    Example: sqlmig init my-service --ci github --compose
    """
    from sqlmig import commands

    with reported(debug):
        for path, action in commands.init(directory, ci=ci, compose=compose):
            typer.echo(f"{action} {path}")
        typer.echo("next: sqlmig new create_users -t create_table --table users, then sqlmig "
                   "migrate")


@app.command("config",
             short_help="The resolved configuration and where each value came from.")
def show_config(
    json_: JsonOption = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Print the resolved configuration of an environment and where each value came from
    (flag, environment variable, .env, config file, default). Passwords are redacted.

    Example: sqlmig config --env production --json
    """
    from sqlmig import commands
    from sqlmig.cli import render, render_settings

    with reported(debug):
        settings = settings_for(env, database_url_, require_url=False,
                                migrations_dir=migrations_dir)
        values = commands.config(settings)
        if json_:
            render.print_json(render_settings.config_json(settings.env, values))
        else:
            render_settings.config_table(values)
