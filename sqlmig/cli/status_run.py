"""`sqlmig status` without Typer: the command's body (the Typer command in history.py calls
it), and the start-up path `sqlmig status ...` takes when its arguments are plain (CI runs
status on every deploy: importing Typer is a third of a short history's run). Help, an
unknown option or a value Typer would check go to Typer, which words those errors. The
same pattern as lint_run.py."""

from __future__ import annotations

from typing import NamedTuple

from sqlmig.cli import fast_args
from sqlmig.cli.common import outcome
from sqlmig.cli.fast_args import OUTPUT_OPTIONS, SETTINGS_OPTIONS
from sqlmig.errors import EXIT_PENDING


class StatusOptions(NamedTuple):
    """What `sqlmig status` was asked for (a NamedTuple: a dataclass costs a start-up a
    millisecond to make, and importing dataclasses ten more)."""

    json: bool = False
    exit_code: bool = False
    env: str | None = None
    migrations_dir: str | None = None
    database_url: str | None = None
    wait: float | None = None
    debug: bool = False
    # the app's output flags, which may also follow the command name (cli/group.py)
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False


def run(options: StatusOptions) -> int:
    """Show every migration's state; the exit code (EXIT_PENDING with --exit-code when
    anything is not applied as written)."""
    from sqlmig import commands
    from sqlmig.cli import render, render_status
    from sqlmig.core import config

    settings = config.resolve(env=options.env, database_url=options.database_url,
                              overrides={"connect_wait": options.wait,
                                         "migrations_dir": options.migrations_dir})
    from sqlmig.commands import quick
    from sqlmig.core.status import Status, StatusTable

    shown: Status | StatusTable | None = None if options.json else quick.status_table(settings)
    if shown is None:
        shown = quick.status(settings) or commands.status(
            settings, render.LineReporter(machine=options.json))
    if isinstance(shown, Status):
        if options.json:
            render.print_json(render_status.status_json(shown))
        else:
            shown = shown.table()
    if isinstance(shown, StatusTable):
        render_status.status_table(shown)
        render.invalid_warnings(shown.invalid)
    if shown.stale_schema_file:
        render.notice(shown.stale_schema_file)
    return EXIT_PENDING if options.exit_code and not shown.clean else 0


# Options the fast path reads: flag -> (field, "value" if it takes one)
OPTIONS: dict[str, tuple[str, ...]] = {
    "--json": ("json", "flag"),
    "--exit-code": ("exit_code", "flag"),
    **SETTINGS_OPTIONS,
    "--wait": ("wait", "value", "seconds"),
    **OUTPUT_OPTIONS,
}


def parse(args: list[str]) -> StatusOptions | None:
    """The options of `sqlmig status ARGS`, or None for anything Typer should handle."""
    options = fast_args.parse(args, OPTIONS)
    if options is None:
        return None
    return StatusOptions()._replace(**options)


def fast(args: list[str]) -> None:
    """Run `sqlmig status ARGS` and exit, or return when Typer must parse the arguments."""
    options = parse(args)
    if options is None:
        return
    from sqlmig.cli import render

    render.OUTPUT.no_color, render.OUTPUT.quiet, render.OUTPUT.verbose = (
        options.no_color, options.quiet, options.verbose)
    raise SystemExit(outcome(lambda: run(options), options.debug))
