"""sqlmig's Python API: one plain function per command.

Each takes the resolved Settings and a reporter (what a run says as it goes: see
engine.Reporter; engine.SilentReporter says nothing), and returns what it did. None of them
imports Typer or Rich: the CLI, a test suite or a fleet runner call them alike.

    from sqlmig import commands
    from sqlmig.core.config import resolve
    from sqlmig.engine import SilentReporter

    settings = resolve(env="test", database_url=url)
    commands.migrate(settings, SilentReporter())
"""

from sqlmig.commands.common import RunResult
from sqlmig.commands.history import baseline, config, init, repair, status, verify
from sqlmig.commands.migrate import dry_run, fresh, migrate, redo, reset, rollback, up
from sqlmig.commands.new import new
from sqlmig.commands.review import check, diff, docs, dump, lint, plan, snapshots
from sqlmig.commands.seeds import SeedRun, seed, setup

__all__ = ["RunResult", "dry_run", "fresh", "migrate", "new", "redo", "reset", "rollback", "up"]
__all__ += ["baseline", "config", "init", "repair", "status", "verify"]
__all__ += ["check", "diff", "docs", "dump", "lint", "plan", "snapshots"]
__all__ += ["SeedRun", "seed", "setup"]
