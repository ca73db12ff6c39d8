"""`lint`: offline static checks of migration files. Imports no database driver, so the
pre-commit hook starts fast."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlmig.core import files, sqlfile
from sqlmig.core.config import Settings
from sqlmig.errors import ConfigError
from sqlmig.review.lint import RULES, Finding, lint_file, lint_migration
from sqlmig.review.lint.known import Known
from sqlmig.review.lint.rules import file_problem


def lint(settings: Settings, paths: Sequence[Path] = (), *,
         disable: Iterable[str] = ()) -> list[Finding]:
    """Static checks of the named files (default: every migration in the migrations
    directory), offline; findings in file, line and rule order. `disable` names rules to
    skip besides the setting lint_disable."""
    disabled = frozenset(settings.lint_disable) | frozenset(disable)
    unknown = sorted(disabled - set(RULES))
    if unknown:
        raise ConfigError(f"lint_disable/--disable: unknown rule(s) {', '.join(unknown)} "
                          f"(rules: {', '.join(sorted(RULES))})")
    lock_timeout = settings.lock_timeout is not None
    findings = []
    if not paths:
        scan = files.scan(settings.migrations_dir)
        if not settings.migrations_dir.is_dir():
            raise scan.problems[0]
        # a file that is no migration is a finding: lint still reads every other one
        findings += [file_problem(p) for p in scan.problems if "file-problem" not in disabled]
        known = Known()  # in version order, each up tells the next what the schema holds
        for migration in scan.migrations:
            findings += lint_migration(migration, disabled=disabled, lock_timeout=lock_timeout,
                                       known=known)
    else:
        findings = _lint_paths(paths, settings.migrations_dir, disabled, lock_timeout)
    findings.sort(key=lambda f: (str(f.path), f.line, f.rule))
    return findings


def _lint_paths(paths: Sequence[Path], migrations_dir: Path, disabled: frozenset[str],
                lock_timeout: bool) -> list[Finding]:
    """Named files (e.g. what pre-commit passes): an up is checked with its down; a file outside
    the migrations directory on its own."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"lint: no such file: {', '.join(missing)}")
    # scan, not discover: a problem elsewhere in sql/ is `verify --offline`'s to report
    ups = {m.up.path.resolve(): m for m in files.scan(migrations_dir).migrations}
    wanted = {p.resolve() for p in paths}
    findings = []
    for path in dict.fromkeys(p.resolve() for p in paths):
        if path in ups:
            findings += lint_migration(ups[path], disabled=disabled,
                                              lock_timeout=lock_timeout)
            continue
        pair = next((m for m in ups.values() if m.down and m.down.path.resolve() == path), None)
        if pair is not None and pair.up.path.resolve() in wanted:
            continue  # linted with its up
        sql_file = sqlfile.read_sql_file(path)
        if sql_file.big:
            continue  # bulk data: not linted (see lint_migration)
        direction = "down" if path.name.endswith(".down.sql") else "up"
        shown = next(p for p in paths if p.resolve() == path)
        findings += lint_file(shown, sql_file.text, direction=direction,
                                     disabled=disabled, lock_timeout=lock_timeout)
    return findings
