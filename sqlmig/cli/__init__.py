"""The `sqlmig` command line: Typer commands that parse arguments and render results.

base.py holds the app and the shared options; each command module registers its commands on
it when imported here.
"""

import importlib
import sys

from sqlmig.cli.base import app
from sqlmig.errors import EXIT_ERROR

# Importing a command module registers its commands on `app`, in this order (as --help lists).
for _module in ("migrate", "history", "database", "lint", "review", "seed", "server",
                "adoption", "locks"):
    importlib.import_module(f"sqlmig.cli.{_module}")

__all__ = ["app", "main"]


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (docker stop, CI cancel) behaves like Ctrl-C: cancel, roll back, exit 130."""
    raise KeyboardInterrupt


def main() -> None:
    import gc
    import os
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    if not os.environ.get("_SQLMIG_COMPLETE"):  # completion must see every command
        _only_the_named_command(sys.argv[1:])
    try:
        app()
    except Exception as err:  # a bug: its traceback (Typer's excepthook would print it raw)
        from sqlmig.cli import render

        render.traceback(err)
        raise SystemExit(EXIT_ERROR) from None
    finally:
        # The interpreter's last garbage collection would walk every object the imports made
        # (30-40 ms, a fifth of a short command) only to free memory the OS takes back anyway.
        gc.freeze()


def _only_the_named_command(args: list[str]) -> None:
    """Typer turns every command's signature into Click parameters on each start (20 ms for
    all of them); a process runs one. Keep only the command named on the command line (the
    global options before it are all flags); anything else keeps them all, for help and for
    Click's own error on an unknown name."""
    from typer.main import get_command_name

    name = next((a for a in args if not a.startswith("-")), None)
    chosen = [
        c for c in app.registered_commands
        if (c.name or (get_command_name(c.callback.__name__) if c.callback else None)) == name
    ]
    if name is not None and len(chosen) == 1:
        app.registered_commands = chosen
