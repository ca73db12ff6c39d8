"""sqlmig's Python API: one plain function per command.

Each takes the resolved Settings and a reporter (what a run says as it goes: see
reporting.Reporter; reporting.SilentReporter says nothing), and returns what it did. None of them
imports Typer or Rich: the CLI, a test suite or a fleet runner call them alike.

    from sqlmig import commands
    from sqlmig.core.config import resolve
    from sqlmig.reporting import SilentReporter

    settings = resolve(env="test", database_url=url)
    commands.migrate(settings, SilentReporter())

A function's module is imported when the function is first used: `commands.lint` (the
pre-commit hook) must not pay for loading the database driver. No module here is named like
a function, or importing it would bind the module over the function's name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmig.commands.adoption import adopt
    from sqlmig.commands.authoring import new
    from sqlmig.commands.common import RunResult
    from sqlmig.commands.database import create, drop, load, wait
    from sqlmig.commands.history import baseline, config, repair, status, verify
    from sqlmig.commands.linting import lint
    from sqlmig.commands.locking import lock_plan, locks
    from sqlmig.commands.project import init, server_status, server_stop
    from sqlmig.commands.review import check, diff, docs, dump, plan, snapshots
    from sqlmig.commands.run import down, dry_run, fresh, migrate, redo, reset, rollback, up
    from sqlmig.commands.seeds import SeedRun, seed, setup

HOMES = {
    "common": ["RunResult"],
    "run": ["down", "dry_run", "fresh", "migrate", "redo", "reset", "rollback", "up"],
    "authoring": ["new"],
    "database": ["create", "drop", "load", "wait"],
    "history": ["baseline", "config", "repair", "status", "verify"],
    "project": ["init", "server_status", "server_stop"],
    "linting": ["lint"],
    "locking": ["lock_plan", "locks"],
    "review": ["check", "diff", "docs", "dump", "plan", "snapshots"],
    "seeds": ["SeedRun", "seed", "setup"],
    "adoption": ["adopt"],
}
_HOME = {name: module for module, names in HOMES.items() for name in names}
__all__ = [  # the same names as HOMES (ruff reads a literal list)
    "RunResult", "SeedRun", "adopt", "baseline", "check", "config", "create", "diff", "docs",
    "down", "drop", "dry_run", "dump", "fresh", "init", "lint", "load", "lock_plan",
    "locks", "migrate", "new", "plan",
    "redo", "repair", "reset", "rollback", "seed", "server_status", "server_stop", "setup",
    "snapshots", "status", "up", "verify", "wait",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'sqlmig.commands' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sqlmig.commands.{_HOME[name]}"), name)
