"""`sqlmig migrate` and `sqlmig rollback` without Typer: the commands' bodies (the Typer
`rollback` calls this one), and the start-up path they take when their arguments are plain.
A deploy runs `migrate` on every release: importing Typer and building its commands is
40 ms before the database is asked anything. Help, an option only the Typer command reads
(--dry-run, --json, --snapshot...) or a value Typer would check go to Typer, which words
those errors. The same pattern as status_run.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from sqlmig.cli import fast_args
from sqlmig.cli.fast_args import OUTPUT_OPTIONS, SETTINGS_OPTIONS

if TYPE_CHECKING:
    from sqlmig.core.config import Settings


class ChangeOptions(NamedTuple):
    """What `sqlmig migrate` or `sqlmig rollback` was asked for."""

    env: str | None = None
    migrations_dir: str | None = None
    database_url: str | None = None
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    lock_retries: int | None = None
    lock_retry_delay: str | None = None
    lock_wait: float | None = None
    wait: float | None = None
    debug: bool = False
    # the app's output flags, which may also follow the command name (cli/group.py)
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    # migrate's
    to: int | None = None  # rollback's too
    single_transaction: bool = False
    rollback_on_failure: bool = False
    allow_out_of_order: bool = False
    # rollback's
    steps: int | None = None
    everything: bool = False
    yes: bool = False

    def settings(self) -> Settings:
        from sqlmig.cli.common import change_settings

        return change_settings(self.env, self.database_url, self.lock_wait, self.wait,
                               self.lock_timeout, self.statement_timeout,
                               self.allow_out_of_order, migrations_dir=self.migrations_dir,
                               lock_retries=(self.lock_retries, self.lock_retry_delay))


def migrate(options: ChangeOptions) -> int:
    """Apply every pending migration (up to --to) as one new batch: the Typer command's run
    without --dry-run, --json or --snapshot."""
    from sqlmig import commands
    from sqlmig.cli.common import line_reporter, terminal_confirm

    commands.migrate(options.settings(), line_reporter(), to=options.to,
                     single_transaction=options.single_transaction,
                     rollback_on_failure=options.rollback_on_failure,
                     create_missing=terminal_confirm())
    return 0


def rollback(options: ChangeOptions) -> int:
    """Undo the last batch (or --steps N, --to VERSION, --all), newest first."""
    from sqlmig import commands
    from sqlmig.cli.common import line_reporter, terminal_confirm

    commands.rollback(options.settings(), line_reporter(), steps=options.steps, to=options.to,
                      everything=options.everything, yes=options.yes,
                      confirm=terminal_confirm())
    return 0


# The options both commands read: flag -> (field, "value" or "flag", KINDS of a value)
_COMMON: dict[str, tuple[str, ...]] = {
    **SETTINGS_OPTIONS,
    "--lock-timeout": ("lock_timeout", "value"),
    "--statement-timeout": ("statement_timeout", "value"),
    "--lock-retries": ("lock_retries", "value", "count"),
    "--lock-retry-delay": ("lock_retry_delay", "value"),
    "--lock-wait": ("lock_wait", "value", "seconds"),
    "--wait": ("wait", "value", "seconds"),
    "--to": ("to", "value", "version"),
    **OUTPUT_OPTIONS,
}
OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "migrate": {
        **_COMMON,
        "--single-transaction": ("single_transaction", "flag"),
        "--rollback-on-failure": ("rollback_on_failure", "flag"),
        "--allow-out-of-order": ("allow_out_of_order", "flag"),
    },
    "rollback": {
        **_COMMON,
        "--steps": ("steps", "value", "positive"),
        "--all": ("everything", "flag"),
        "--yes": ("yes", "flag"),
        "-y": ("yes", "flag"),
    },
}
RUNS: dict[str, Callable[[ChangeOptions], int]] = {"migrate": migrate, "rollback": rollback}


def parse(command: str, args: list[str]) -> ChangeOptions | None:
    """The options of `sqlmig COMMAND ARGS`, or None for anything Typer should handle."""
    read = fast_args.parse(args, OPTIONS[command])
    return None if read is None else ChangeOptions()._replace(**read)


def fast(command: str, args: list[str]) -> None:
    """Run `sqlmig migrate|rollback ARGS` and exit, or return when Typer must parse the
    arguments."""
    options = parse(command, args)
    if options is None:
        return
    from sqlmig.cli import render
    from sqlmig.cli.common import outcome

    render.OUTPUT.no_color, render.OUTPUT.quiet, render.OUTPUT.verbose = (
        options.no_color, options.quiet, options.verbose)
    raise SystemExit(outcome(lambda: RUNS[command](options), options.debug))
