"""`sqlmig server status` and `sqlmig server stop`: the project's embedded development server
(data in .sqlmig/pgdata), which otherwise keeps running between commands. Each parses its
options, calls one commands function and prints what it returns."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from sqlmig.cli.base import DebugOption, app, reported
from sqlmig.cli.common import settings_for

if TYPE_CHECKING:
    from sqlmig.pg.embedded import ServerState

server_app = typer.Typer(
    help="The project's embedded development PostgreSQL (.sqlmig/pgdata).\n\n"
    "Example: sqlmig server status --json",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


def state_json(state: "ServerState", root: Any) -> dict[str, Any]:
    return {
        "data_dir": str(state.data_dir.relative_to(root)),
        "initialised": state.initialised,
        "running": state.running,
        "pid": state.pid,
        "started_at": state.started_at.isoformat() if state.started_at else None,
        "socket_dir": state.socket_dir,
        "port": state.port,
    }


@server_app.command("status")
def server_status(
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    debug: DebugOption = False,
) -> None:
    """Say whether the project's embedded PostgreSQL runs (pid, since when, socket) or not,
    and whether its data folder holds a database. Starts nothing.

    Example: sqlmig server status --json
    """
    from sqlmig import commands
    from sqlmig.cli import render

    with reported(debug):
        settings = settings_for(None, None, require_url=False)
        state = commands.server_status(settings)
        where = state.data_dir.relative_to(settings.root)
        if json_:
            render.print_json(state_json(state, settings.root))
        elif state.running:
            socket = f", socket {state.socket_dir}" if state.socket_dir else ""
            since = f" since {state.started_at:%Y-%m-%d %H:%M:%S} UTC" if state.started_at else ""
            typer.echo(f"running: pid {state.pid}{since}, data in {where}/, port "
                       f"{state.port}{socket}")
        elif state.initialised:
            typer.echo(f"stopped: data in {where}/ (the next command that needs it starts it)")
        else:
            typer.echo(f"none: no embedded PostgreSQL in {where}/ yet")


@server_app.command("stop")
def server_stop(debug: DebugOption = False) -> None:
    """Stop the project's embedded PostgreSQL (a fast shutdown; its data is kept, and the
    next command that needs it starts it again). Nothing running is not an error.

    Example: sqlmig server stop && rm -rf .sqlmig
    """
    from sqlmig import commands

    with reported(debug):
        settings = settings_for(None, None, require_url=False)
        state = commands.server_stop(settings)
        where = state.data_dir.relative_to(settings.root)
        if state.running:
            typer.echo(f"stopped the embedded PostgreSQL (pid {state.pid}, data in {where}/)")
        else:
            typer.echo(f"the embedded PostgreSQL is not running (data in {where}/)")
