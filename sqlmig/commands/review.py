"""The commands that look without changing anything: plan, check, diff, docs, dump,
snapshots and lint. Each returns what it found; what to print and which exit code a finding
deserves is the caller's decision. `check` writes only to a scratch database."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmig.commands.common import connection_url, current_schema_text
from sqlmig.core import config, files, secrets
from sqlmig.core.config import Settings
from sqlmig.core.plan import Step, plan_migrate
from sqlmig.engine import Reporter
from sqlmig.errors import ConfigError, PlanError
from sqlmig.pg import db, snapshot
from sqlmig.pg import dump as dumps
from sqlmig.review import lint as linter
from sqlmig.review import roundtrip
from sqlmig.review.docs import schema_markdown
from sqlmig.review.lint import Finding
from sqlmig.review.roundtrip import CheckReport, MigrationCheck


def plan(settings: Settings, reporter: Reporter, *, to: int | None = None) -> list[Step]:
    """What `migrate` would run, up to `to`: the pending steps, as one batch. Runs nothing."""
    migrations = files.discover(settings.migrations_dir, defer_downs=True)
    with db.connect(connection_url(settings, reporter), settings=settings) as conn:
        applied = db.History(settings.schema, settings.table).read(conn)
    return plan_migrate(migrations, applied, to=to,
                        allow_out_of_order=settings.allow_out_of_order)


def check(
    settings: Settings,
    reporter: Reporter,
    *,
    scratch_url: str | None = None,
    on_result: Callable[[MigrationCheck], None] | None = None,
) -> CheckReport:
    """Prove every down reverses its up on a scratch database (created beside the target and
    dropped afterwards, or `scratch_url`, which must be empty); the target is never touched.
    `on_result` hears each migration's check as it ends; the report says which failed."""
    migrations = files.discover(settings.migrations_dir)
    on_result = on_result or (lambda check: None)
    if scratch_url:
        with db.connect(scratch_url) as conn:
            if not snapshot.is_empty(snapshot.take(conn)):
                raise PlanError("--scratch-url: that database is not empty; give an empty one")
        return roundtrip.run_check(settings, migrations, scratch_url, on_result)
    with roundtrip.scratch_database(connection_url(settings, reporter), reporter.notice) as url:
        return roundtrip.run_check(settings, migrations, url, on_result)


@dataclass(frozen=True)
class SchemaDiff:
    """Two schemas compared: how each side is named (its environment, or user@host:port/db
    for a URL) and what differs from `source` to `target`."""

    source: str
    target: str
    differences: list[snapshot.Difference]

    @property
    def same(self) -> bool:
        return not self.differences


def diff(settings: Settings, reporter: Reporter, source: str, target: str) -> SchemaDiff:
    """Compare two databases' schemas, each given as an environment name (its URL resolved
    in `settings`' project) or a URL; `settings`' own tables are left out of both."""
    labels = [_label(where) for where in (source, target)]
    taken = []
    for where in (source, target):
        with db.connect(_resolve(settings, reporter, where)) as conn:
            taken.append(snapshot.take(conn, exclude=settings.own_tables))
    return SchemaDiff(labels[0], labels[1], snapshot.compare(*taken))


def _resolve(settings: Settings, reporter: Reporter, where: str) -> str:
    """An environment's URL, or `where` itself: a URL (remembered so it is never printed
    with its password)."""
    if where in config.ENVIRONMENTS:
        return connection_url(config.resolve(root=settings.root, env=where), reporter)
    secrets.remember(where)
    return where


def _label(where: str) -> str:
    return where if where in config.ENVIRONMENTS else db.describe_target(where)


def docs(settings: Settings, reporter: Reporter) -> str:
    """Markdown documentation of the schema: tables, columns, types, defaults, comments,
    foreign keys, indexes, enums."""
    with db.connect(connection_url(settings, reporter), settings=settings) as conn:
        taken = snapshot.take(conn, exclude=settings.own_tables)
    return schema_markdown(taken, settings.env)


def dump(settings: Settings, reporter: Reporter) -> str:
    """The schema as deterministic SQL (pg_dump --schema-only, or the catalog snapshot when
    no suitable pg_dump exists), sqlmig's own tables left out."""
    url = connection_url(settings, reporter)
    with db.connect(url, settings=settings) as conn:
        return current_schema_text(settings, url, conn)


@dataclass(frozen=True)
class SnapshotFile:
    """A backup `migrate --snapshot` took."""

    path: Path
    file: str  # relative to the project root
    environment: str
    bytes: int
    restore: str  # the command that restores it, URL left for the reader to fill in


def snapshots(settings: Settings | None = None) -> list[SnapshotFile]:
    """The backups `migrate --snapshot` took, newest last: those of `settings`' environment
    in its project, or (None) every environment's under the current directory."""
    root = settings.root if settings else Path.cwd()
    found = dumps.list_snapshots(root / dumps.SNAPSHOT_DIR)
    if settings:
        found = [p for p in found if p.name.startswith(f"{settings.env}-")]
    return [
        SnapshotFile(p, str(p.relative_to(root)), p.name.split("-", 1)[0], p.stat().st_size,
                     f"pg_restore --clean --if-exists --no-owner --dbname URL {p}")
        for p in found
    ]


def lint(settings: Settings, paths: Sequence[Path] = (), *,
         disable: Iterable[str] = ()) -> list[Finding]:
    """Static checks of the named files (default: every migration in the migrations
    directory), offline; findings in file, line and rule order. `disable` names rules to
    skip besides the setting lint_disable."""
    disabled = frozenset(settings.lint_disable) | frozenset(disable)
    unknown = sorted(disabled - set(linter.RULES))
    if unknown:
        raise ConfigError(f"lint_disable/--disable: unknown rule(s) {', '.join(unknown)} "
                          f"(rules: {', '.join(sorted(linter.RULES))})")
    lock_timeout = settings.lock_timeout is not None
    findings = []
    if not paths:
        for migration in files.discover(settings.migrations_dir):
            findings += linter.lint_migration(migration, disabled=disabled,
                                              lock_timeout=lock_timeout)
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
            findings += linter.lint_migration(ups[path], disabled=disabled,
                                              lock_timeout=lock_timeout)
            continue
        pair = next((m for m in ups.values() if m.down and m.down.path.resolve() == path), None)
        if pair is not None and pair.up.path.resolve() in wanted:
            continue  # linted with its up
        sql_file = files.read_sql_file(path)
        if sql_file.big:
            continue  # bulk data: not linted (see lint_migration)
        direction = "down" if path.name.endswith(".down.sql") else "up"
        shown = next(p for p in paths if p.resolve() == path)
        findings += linter.lint_file(shown, sql_file.text, direction=direction,
                                     disabled=disabled, lock_timeout=lock_timeout)
    return findings
