"""`lint`: offline static checks of migration files. Imports no database driver, so the
pre-commit hook starts fast (`--against` reads sizes through sqlmig.pg, imported then only).

Every file is judged with what the earlier ups of the project did to the schema (`Known`),
whether the whole directory is linted or files are named: one pass over the migrations in
version order, so naming 2,000 files costs what linting the directory does."""

from __future__ import annotations

import copy
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from sqlmig.core import files, sqlfile
from sqlmig.core.config import PG_VERSIONS, Settings, check_pg_version
from sqlmig.errors import ConfigError, MigrationFileError, display_path
from sqlmig.review.lint import RULES, Finding, lint_file, lint_migration
from sqlmig.review.lint.known import Known
from sqlmig.review.lint.rules import OPT_IN_RULES, file_problem
from sqlmig.review.lint.state import NEWEST_PG
from sqlmig.review.lint.style import STYLE

LEARN_ONLY = frozenset(RULES)  # every rule disabled: the file only teaches Known


@dataclass
class _Run:
    """What every file of one lint run is checked with."""

    disabled: frozenset[str]
    enabled: frozenset[str]
    lock_timeout: bool
    pg_version: int
    exclude: tuple[str, ...]
    sizes: dict[str, int | None] | None = None  # rows per relation, from --against
    small_rows: int = 10000
    findings: list[Finding] = field(default_factory=list)

    def excluded(self, path: Path | str) -> bool:
        return bool(self.exclude) and _matches(path, self.exclude)

    def file(self, path: Path, text: str, direction: str, known: Known | None,
             down_text: str | None = None) -> None:
        """Lint one file; an excluded one (an up) only teaches `known`."""
        quiet = self.excluded(path)
        try:
            found = lint_file(path, text, direction=direction, down_text=down_text,
                              disabled=LEARN_ONLY if quiet else self.disabled,
                              lock_timeout=self.lock_timeout, pg_version=self.pg_version,
                              known=known, enabled=frozenset() if quiet else self.enabled,
                              sizes=self.sizes, small_rows=self.small_rows)
        except MigrationFileError as problem:  # a bad directive in a file scan never read
            found = [] if quiet else [file_problem(problem)]
        self.findings += found

    def migration(self, migration: files.Migration, known: Known) -> None:
        if not (self.excluded(migration.up.path) or (
                migration.down is not None and self.excluded(migration.down.path))):
            self.findings += lint_migration(
                migration, disabled=self.disabled, lock_timeout=self.lock_timeout,
                pg_version=self.pg_version, known=known, enabled=self.enabled,
                sizes=self.sizes, small_rows=self.small_rows)
            return
        up, down = migration.up, migration.down
        if not up.big:
            self.file(up.path, up.text, "up", known,
                      down.text if down is not None and not down.big else None)
        if down is not None and not down.big:
            self.file(down.path, down.text, "down", None)


def lint(settings: Settings, paths: Sequence[Path] = (), *,
         disable: Iterable[str] = (), enable: Iterable[str] = (),
         exclude: Iterable[str] = (), texts: Mapping[Path, str] | None = None,
         pg_version: int | None = None, against: str | None = None) -> list[Finding]:
    """Static checks of the named files (default: every migration in the migrations
    directory), offline; findings in file, line and rule order. `disable` names rules to
    skip besides the setting lint_disable; `enable` opt-in rules to run besides lint_enable
    ("style": all of them); `exclude` globs of files not to report besides lint_exclude.
    `texts`: the text of named files that are not on disk as given (stdin). `pg_version`:
    the major version to judge for, over the setting pg_version. `against`: a database URL
    whose server gives the version (when neither does; else the newest) and the table sizes
    (a lock on a table under lint_small_table_rows is a note)."""
    disabled = frozenset(settings.lint_disable) | frozenset(disable)
    unknown = sorted(disabled - set(RULES))
    if unknown:
        raise ConfigError(f"lint_disable/--disable: unknown rule(s) {', '.join(unknown)} "
                          f"(rules: {', '.join(sorted(RULES))})")
    check_pg_version(pg_version, "--pg-version")
    enabled = _enabled(settings, enable)
    server, sizes = None, None
    if against is not None:
        from sqlmig.pg import sizes as pg_sizes

        server, sizes = pg_sizes.read(against)
        server = min(max(server, PG_VERSIONS[0]), PG_VERSIONS[-1])
    run = _Run(disabled, enabled, settings.lock_timeout is not None,
               pg_version or settings.pg_version or server or NEWEST_PG,
               (*settings.lint_exclude, *exclude), sizes, settings.lint_small_table_rows)
    if not paths:
        _lint_directory(run, settings.migrations_dir)
    else:
        _lint_paths(run, paths, settings.migrations_dir, texts or {})
    run.findings.sort(key=lambda f: (str(f.path), f.line, f.rule))
    return run.findings


def _lint_directory(run: _Run, migrations_dir: Path) -> None:
    scan = files.scan(migrations_dir)
    if not migrations_dir.is_dir():
        raise scan.problems[0]
    # a file that is no migration is a finding: lint still reads every other one
    if "file-problem" not in run.disabled:
        run.findings += [file_problem(p) for p in scan.problems if not run.excluded(p.path)]
    known = Known()  # in version order, each up tells the next what the schema holds
    for migration in scan.migrations:
        run.migration(migration, known)


def _lint_paths(run: _Run, paths: Sequence[Path], migrations_dir: Path,
                texts: Mapping[Path, str]) -> None:
    """Named files (e.g. what pre-commit passes): an up is checked with its down, and with
    what the project's earlier ups created; a file outside the migrations directory on its
    own. One walk over the migrations, whatever the number of files named."""
    missing = [str(p) for p in paths if p not in texts and not p.is_file()]
    if missing:
        raise ConfigError(f"lint: no such file: {', '.join(missing)}")
    key = _Keys()
    shown: dict[str, Path] = {}  # key -> the path as the user named it (first time)
    for path in paths:
        shown.setdefault(key(path), path)
    given = {key(path): text for path, text in texts.items()}
    # scan, not discover: a problem elsewhere in sql/ is `verify --offline`'s to report
    scan = files.scan(migrations_dir) if migrations_dir.is_dir() else files.Scan()
    migrations = scan.migrations
    if "file-problem" not in run.disabled:  # a named file's own layout problem is said
        run.findings += [file_problem(p) for p in scan.problems
                         if key(p.path) in shown and not run.excluded(p.path)]
    known = Known()
    loose = deque(_loose(shown, migrations, key))  # named files that no migration holds
    for migration in migrations:
        while loose and loose[0][0] is not None and loose[0][0] <= migration.version:
            _lint_loose(run, loose.popleft()[1], shown, given, known)
        up = key(migration.up.path)
        down = key(migration.down.path) if migration.down is not None else None
        if up in shown and up not in given and (down is None or down not in given):
            run.migration(migration, known)
            continue
        down_text = None if migration.down is None or migration.down.big else (
            given.get(down, migration.down.text) if down is not None else None)
        if up in shown:  # its text, or its down's, comes from stdin
            run.file(migration.up.path, given.get(up, migration.up.text), "up", known,
                     down_text)
        elif not migration.up.big:
            lint_file(migration.up.path, migration.up.text, disabled=LEARN_ONLY, known=known,
                      pg_version=run.pg_version)
        if down in shown and migration.down is not None and down_text is not None:
            run.file(migration.down.path, down_text, "down", None)
    for _version, named in loose:
        _lint_loose(run, named, shown, given, known)


class _Keys:
    """A file's identity, to match a named path with a scanned one: its folder's real path
    and its name. os.path.realpath once per folder, not once per file (2,000 files named:
    0.4 s of lstat calls)."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}

    def __call__(self, path: Path | str) -> str:
        folder, name = os.path.split(os.path.abspath(path))
        real = self.folders.get(folder)
        if real is None:
            real = self.folders[folder] = os.path.realpath(folder)
        return os.path.join(real, name)


def _loose(shown: Mapping[str, Path], migrations: list[files.Migration], key: _Keys
           ) -> list[tuple[int | None, str]]:
    """Named files not among the scanned migrations, with the version their name gives
    (None: no version; judged after every migration), in version order."""
    scanned = {key(m.up.path) for m in migrations} | {
        key(m.down.path) for m in migrations if m.down is not None}
    loose = []
    for path in shown:
        if path in scanned:
            continue
        match = files.FILE_NAME.match(os.path.basename(path))
        loose.append((int(match["version"]) if match else None, path))
    return sorted(loose, key=lambda v: (v[0] is None, v[0] or 0))


def _lint_loose(run: _Run, path: str, shown: Mapping[str, Path],
                given: Mapping[str, str], known: Known) -> None:
    """A named file outside the scan (a new file on stdin, a file elsewhere): judged with what
    the ups before it created, teaching later ones nothing."""
    if path in given:
        text = given[path]
    else:
        sql_file = sqlfile.read_sql_file(path)
        if sql_file.big:
            return  # bulk data: not linted (see lint_migration)
        text = sql_file.text
    direction = "down" if path.endswith(".down.sql") else "up"
    run.file(shown[path], text, direction, copy.deepcopy(known) if direction == "up" else None)


def _matches(path: Path | str, globs: Iterable[str]) -> bool:
    """A glob matches the path from its right end (`0001_*.sql`, `sql/legacy_*`), as written
    relative to the working directory, or from the root when it starts with `/`."""
    pure = PurePath(display_path(path))
    return any(pure.match(glob) for glob in globs)


def _enabled(settings: Settings, enable: Iterable[str]) -> frozenset[str]:
    """The opt-in rules to run. Naming a rule that runs anyway is allowed (a no-op)."""
    named = frozenset(settings.lint_enable) | frozenset(enable)
    unknown = sorted(named - set(RULES) - {STYLE})
    if unknown:
        raise ConfigError(f"lint_enable/--enable: unknown rule(s) {', '.join(unknown)} "
                          f"(opt-in rules: {STYLE} for all, {', '.join(sorted(OPT_IN_RULES))})")
    enabled = OPT_IN_RULES if STYLE in named else named & OPT_IN_RULES
    if settings.statement_timeout is not None:  # config sets one for every migration
        enabled -= {"statement-timeout-missing"}
    return enabled
