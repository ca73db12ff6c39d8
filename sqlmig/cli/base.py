"""What every `sqlmig` Typer command shares: the app, the common options and turning errors
into one line and an exit code (resolving settings is common.py's). Imports no command
module.

Heavy imports (psycopg, pglast, Rich tables) happen inside the functions that need them, so
`sqlmig --help` starts fast.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from sqlmig import __version__
from sqlmig.cli.group import SqlmigGroup

app = typer.Typer(
    cls=SqlmigGroup,
    help="Plain-SQL migrations for PostgreSQL.\n\nExample: sqlmig migrate --env development",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

def complete_env(incomplete: str) -> list[str]:
    """Shell completion of --env: the environments sqlmig knows."""
    from sqlmig.core.config import ENVIRONMENTS

    return [name for name in ENVIRONMENTS if name.startswith(incomplete)]


EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", metavar="ENV", help="development, test, staging or production "
        "[default: $SQLMIG_ENV or development]", show_default=False,
        autocompletion=complete_env,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", "--url", "-u", metavar="URL", help="Overrides DATABASE_URL* and the "
        "config file.", show_default=False,
    ),
]
MigrationsDirOption = Annotated[
    str | None,
    typer.Option(
        "--migrations-dir", "-d", metavar="DIR", help="Folder of the migration files "
        "[default: migrations_dir, sql].", show_default=False,
    ),
]
LockWaitOption = Annotated[
    float | None,
    typer.Option("--lock-wait", metavar="SECONDS",
                 help="Seconds to wait for the migration lock [default: 60].",
                 show_default=False, min=0),
]
OutOfOrderOption = Annotated[
    bool,
    typer.Option("--allow-out-of-order", help="Apply pending migrations older than the newest "
                 "applied one."),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Confirm a destructive command in staging/production.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]


WaitOption = Annotated[
    float | None,
    typer.Option("--wait", metavar="SECONDS",
                 help="Retry connecting for up to this many seconds (containers "
                 "starting up).", show_default=False, min=0),
]
LockTimeoutOption = Annotated[
    str | None,
    typer.Option("--lock-timeout", metavar="DURATION",
                 help="SET lock_timeout for migration statements, e.g. 5s.",
                 show_default=False),
]
StatementTimeoutOption = Annotated[
    str | None,
    typer.Option("--statement-timeout", metavar="DURATION",
                 help="SET statement_timeout, e.g. 10min.",
                 show_default=False),
]
LockRetriesOption = Annotated[
    int | None,
    typer.Option("--lock-retries", metavar="N", min=0,
                 help="Retry a statement that hit lock_timeout up to N times, backing off "
                 "[default: lock_retries, 5; 0: no retries].", show_default=False),
]
LockRetryDelayOption = Annotated[
    str | None,
    typer.Option("--lock-retry-delay", metavar="DURATION",
                 help="Wait before the first lock-timeout retry, doubling up to "
                 "lock_retry_max_delay [default: 2s].", show_default=False),
]
RollbackOnFailureOption = Annotated[
    bool,
    typer.Option("--rollback-on-failure", help="If a migration fails, run the downs of those this "
                 "command applied, leaving the database as it was."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sqlmig {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours or styles (also: NO_COLOR=1).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress, no "
                           "per-migration lines, no notices.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also say where sqlmig connected and what "
                           "it found.")
    ] = False,
) -> None:
    """Plain-SQL migrations for PostgreSQL: paired NNNN_name.up.sql / .down.sql files in sql/.

    Example: sqlmig migrate && sqlmig status
    """
    from sqlmig.cli import render

    render.OUTPUT.no_color, render.OUTPUT.quiet, render.OUTPUT.verbose = no_color, quiet, verbose


@contextmanager
def reported(debug: bool) -> Iterator[None]:
    """Turn SqlmigError into `error: ...` and its exit code; tracebacks only with --debug,
    and those too without passwords (secrets.hide)."""
    try:
        yield
    except (Exception, KeyboardInterrupt) as err:
        from sqlmig.cli.common import failure_code

        code = failure_code(err, debug)
        if code is None:
            raise  # a bug: main's excepthook prints it, passwords hidden
        raise typer.Exit(code) from None
