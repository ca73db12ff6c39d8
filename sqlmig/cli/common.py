"""What the commands share that needs no Typer: resolving settings from the options, the
terminal's reporter and its confirmation. Used by the Typer commands and by the paths that
start without Typer (change_run.py, status_run.py), and how all of them say a failure."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmig.errors import EXIT_ERROR, EXIT_INTERRUPTED, Interrupted, SqlmigError

if TYPE_CHECKING:
    from sqlmig.core.config import Settings
    from sqlmig.reporting import Reporter


def settings_for(
    env: str | None, url: str | None, *, require_url: bool = True, **overrides: Any
) -> Settings:
    from sqlmig.core import config

    return config.resolve(
        env=env, database_url=url, overrides=overrides, require_url=require_url
    )


def line_reporter(*, machine: bool = False) -> Reporter:
    """The reporter of a command run from the terminal (`machine`: stdout carries --json)."""
    from sqlmig.cli import render

    return render.LineReporter(machine=machine)


def terminal_confirm() -> Callable[[str], bool] | None:
    """Ask at a terminal (on stderr) before a destructive command; None where nobody can
    answer (CI, a pipe), so the command refuses unless --yes."""
    if not sys.stdin.isatty():
        return None

    def confirm(question: str) -> bool:
        import typer

        return typer.confirm(question, default=False, err=True)

    return confirm


def change_settings(
    env: str | None, url: str | None, lock_wait: float | None, wait: float | None,
    lock_timeout: str | None = None, statement_timeout: str | None = None,
    allow_out_of_order: bool = False, migrations_dir: str | None = None,
    lock_retries: tuple[int | None, str | None] = (None, None),
) -> Settings:
    """Settings for a command that runs migrations; `lock_retries`: --lock-retries and
    --lock-retry-delay."""
    return settings_for(
        env, url, lock_wait=lock_wait, connect_wait=wait, lock_timeout=lock_timeout,
        statement_timeout=statement_timeout, allow_out_of_order=allow_out_of_order or None,
        migrations_dir=migrations_dir, lock_retries=lock_retries[0],
        lock_retry_delay=lock_retries[1],
    )


def failure_code(err: BaseException, debug: bool) -> int | None:
    """Say a failure as cli.base.reported does; its exit code, or None for a bug (to be
    raised with its traceback)."""
    from sqlmig.cli import render

    if isinstance(err, KeyboardInterrupt):
        if debug:
            render.traceback(err)
        render.error(Interrupted("interrupted; nothing was left half-done"))
        return EXIT_INTERRUPTED
    if isinstance(err, SqlmigError):
        if debug:
            render.traceback(err)
        render.error(err)
        return err.exit_code
    from sqlmig.commands.common import unforeseen_database_error

    failure = unforeseen_database_error(err)  # type: ignore[arg-type]
    if debug:
        render.traceback(err)
        if failure is None:
            return EXIT_ERROR
    elif failure is None:
        return None
    render.error(failure)
    return EXIT_ERROR


def outcome(run: Callable[[], int], debug: bool) -> int:
    """The exit code of `run()`, or of its failure, said as cli.base.reported says it (a
    bug is raised, for main to print its traceback)."""
    try:
        return run()
    except (Exception, KeyboardInterrupt) as err:
        failed = failure_code(err, debug)
        if failed is None:
            raise
        return failed
