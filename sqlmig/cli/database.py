"""The database itself: create, drop, load, wait (dbmate's names). Each parses its options, calls
one commands function and prints the line it returns."""

from pathlib import Path
from typing import Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    MigrationsDirOption,
    UrlOption,
    YesOption,
    app,
    reported,
)
from sqlmig.cli.common import line_reporter, settings_for, terminal_confirm


@app.command(short_help="Create the database the URL names.")
def create(
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Create the database the URL names (connecting to `postgres`, else `template1`, on the
    same server); an existing one is left as it is.

    Example: sqlmig create --env test
    """
    from sqlmig import commands

    with reported(debug):
        reporter = line_reporter()
        reporter.result(commands.create(settings_for(env, database_url_), reporter))


@app.command(short_help="Drop the database the URL names, and everything in it.")
def drop(
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Drop the database the URL names, and everything in it (from a connection to
    `postgres`, else `template1`). Guarded like fresh: a database recorded as staging or
    production needs that --env and --yes.

    Example: sqlmig drop --env test
    """
    from sqlmig import commands

    with reported(debug):
        reporter = line_reporter()
        reporter.result(commands.drop(settings_for(env, database_url_), reporter, yes=yes,
                                      confirm=terminal_confirm()))


@app.command(short_help="Wait until the database server accepts connections.")
def wait(
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", min=0,
                            help="Seconds to wait before giving up.")
    ] = 60,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Wait until the database server accepts connections, then exit 0; exit 1 with the last
    reason after --timeout seconds. For a docker-compose step before migrate.

    Example: sqlmig wait --timeout 30 && sqlmig migrate
    """
    from sqlmig import commands

    with reported(debug):
        reporter = line_reporter()
        reporter.result(commands.wait(settings_for(env, database_url_), reporter, timeout))


@app.command(short_help="Load schema.sql into an empty database and record its migrations.")
def load(
    file: Annotated[
        Path | None, typer.Option("--file", "-f", metavar="FILE", show_default=False,
                                  help="The schema file [default: schema_file, schema.sql].")
    ] = None,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Apply the schema file `sqlmig dump` wrote to an EMPTY database and record the
    migrations it holds as applied, in one transaction: a test database of a long history
    in one step (dbmate's load, Rails' db:schema:load). Then `migrate` applies the newer ones.

    Example: sqlmig load --env test && sqlmig migrate --env test
    """
    from sqlmig import commands

    with reported(debug):
        settings = settings_for(env, database_url_, migrations_dir=migrations_dir)
        reporter = line_reporter()
        reporter.result(commands.load(settings, reporter, file))
