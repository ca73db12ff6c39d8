"""The `sqlmig` command line: Typer commands that parse arguments and render results.

base.py holds the app and the shared options; each command module registers its commands on
it when `app` is first asked for. Importing this package alone loads no Typer, so `sqlmig
lint` with plain arguments (lint_run.py) and the render modules start without it.
"""

from __future__ import annotations

import importlib
import sys

# Not `typing.TYPE_CHECKING`: importing typing is a third of a bare `sqlmig --help`
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sqlmig.cli.base import app

__all__ = ["app", "main"]

# The command modules, in the order --help lists their commands
COMMAND_MODULES = ("migrate", "history", "database", "lint", "review", "seed", "server",
                   "adoption", "locks", "fleet")


def __getattr__(name: str) -> Any:
    """`sqlmig.cli.app`: the Typer app with every command registered (on first use)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sqlmig.cli.base import app

    for module in COMMAND_MODULES:  # importing one registers its commands on `app`
        importlib.import_module(f"sqlmig.cli.{module}")
    globals()["app"] = app
    return app


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (docker stop, CI cancel) behaves like Ctrl-C: cancel, roll back, exit 130."""
    raise KeyboardInterrupt


def main() -> None:
    import os

    if len(sys.argv) <= 2 and not os.environ.get("_SQLMIG_COMPLETE"):
        from sqlmig.cli.top_help import fast as top_level

        top_level(sys.argv[1:])  # `--help`, `--version`: exits, unless Typer must answer
    import gc
    import signal  # (imports enum: a third of what `--help` took before it returned)

    # before the quick `migrate` too: a `docker stop` while it asks the server still ends
    # as an interrupt (exit 130, said so), not a silent kill
    signal.signal(signal.SIGTERM, _terminate)
    if sys.argv[1:2] == ["migrate"] and not os.environ.get("_SQLMIG_COMPLETE"):
        from sqlmig.cli.migrate_run import fast as migrate

        migrate(sys.argv[2:])  # nothing to do: says so and exits, before any other set-up
    sys.argv[1:] = fleet_spelling(sys.argv[1:])
    try:
        if sys.argv[1:2] == ["lint"] and not os.environ.get("_SQLMIG_COMPLETE"):
            from sqlmig.cli.lint_run import fast

            fast(sys.argv[2:])  # exits, unless Typer must read the arguments
        if sys.argv[1:2] == ["status"] and not os.environ.get("_SQLMIG_COMPLETE"):
            from sqlmig.cli.status_run import fast as status

            status(sys.argv[2:])  # exits, unless Typer must read the arguments
        if sys.argv[1:2] in (["migrate"], ["rollback"]) and not os.environ.get(
                "_SQLMIG_COMPLETE"):
            from sqlmig.cli.change_run import fast as change

            change(sys.argv[1], sys.argv[2:])  # exits, unless Typer must read the arguments
        app = __getattr__("app")
        if not os.environ.get("_SQLMIG_COMPLETE"):  # completion must see every command
            _only_the_named_command(sys.argv[1:])
        app()
    except Exception as err:  # a bug: its traceback (Typer's excepthook would print it raw)
        from sqlmig.cli import render
        from sqlmig.errors import EXIT_ERROR

        render.traceback(err)
        raise SystemExit(EXIT_ERROR) from None
    finally:
        # The interpreter's last garbage collection would walk every object the imports made
        # (30-40 ms, a fifth of a short command) only to free memory the OS takes back anyway.
        gc.freeze()


# The commands `sqlmig fleet` runs (commands.fleets.COMMANDS; a test keeps them equal), and
# the options that name a fleet's targets.
FLEET_COMMANDS = ("migrate", "up", "rollback", "redo", "status", "verify", "plan", "check")
_TARGET_OPTIONS = ("--targets", "--schemas", "--targets-query")


def fleet_spelling(args: list[str]) -> list[str]:
    """`sqlmig migrate --targets FILE ...` is `sqlmig fleet migrate --targets FILE ...`: any
    command a fleet runs takes the fleet's options when it is given targets."""
    at = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
    if at is None or args[at] not in FLEET_COMMANDS:
        return args
    if not any(arg == option or arg.startswith(option + "=")
               for arg in args[at + 1:] for option in _TARGET_OPTIONS):
        return args
    return [*args[:at], "fleet", *args[at:]]


def _only_the_named_command(args: list[str]) -> None:
    """Typer turns every command's signature into Click parameters on each start (20 ms for
    all of them); a process runs one. Keep only the command named on the command line (the
    global options before it are all flags); anything else keeps them all, for help and for
    Click's own error on an unknown name."""
    from typer.main import get_command_name

    app = __getattr__("app")
    name = next((a for a in args if not a.startswith("-")), None)
    chosen = [
        c for c in app.registered_commands
        if (c.name or (get_command_name(c.callback.__name__) if c.callback else None)) == name
    ]
    if name is not None and len(chosen) == 1:
        app.registered_commands = chosen
