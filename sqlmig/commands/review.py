"""The commands that look without changing anything: plan, check, diff, docs, dump and
snapshots (lint, which needs no database, is linting.py's). Each returns what it found; what
to print and which exit code a finding deserves is the caller's decision. `check` writes
only to a scratch database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmig.commands.common import connection_url, current_schema_text
from sqlmig.core import config, files, secrets
from sqlmig.core.config import Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Step, after_target, nothing_to_migrate, plan_migrate
from sqlmig.errors import PlanError, display_path
from sqlmig.pg import catalog, connection, db
from sqlmig.pg.dump import list_snapshots
from sqlmig.reporting import Reporter
from sqlmig.review.check import CheckReport, MigrationCheck, run_check, scratch_databases
from sqlmig.review.docs import schema_markdown


@dataclass(frozen=True)
class Planned:
    """What `migrate` would run, and the pending migrations `--to` leaves for later;
    `nothing` is what to say when there are no steps."""

    steps: list[Step]
    later: list[Migration]
    nothing: str


def plan(settings: Settings, reporter: Reporter, *, to: int | None = None) -> Planned:
    """What `migrate` would run, up to `to`: the pending steps, as one batch. Runs nothing."""
    migrations = files.discover(settings.migrations_dir, defer_downs=True,
                                cache=settings.cache_dir)
    with connection.open_link(connection_url(settings, reporter), settings=settings) as link:
        applied = db.History(settings.schema, settings.table).read(link)
    out_of_order = settings.allow_out_of_order
    steps = plan_migrate(migrations, applied, to=to, allow_out_of_order=out_of_order)
    later = after_target(migrations, applied, to, allow_out_of_order=out_of_order)
    return Planned(steps, later, nothing_to_migrate(to, later))


def check(
    settings: Settings,
    reporter: Reporter,
    *,
    scratch_url: str | None = None,
    on_result: Callable[[MigrationCheck], None] | None = None,
    keep_going: bool = False,
    strict: bool = False,
) -> CheckReport:
    """Prove every down reverses its up on a scratch database (created beside the target and
    dropped afterwards, or `scratch_url`, which must be empty); the target is never touched.
    `on_result` hears each migration's check as it ends; the report says which failed. Stops
    at the first failure unless `keep_going`; a change of column order alone is a warning
    unless `strict`."""
    migrations = files.discover(settings.migrations_dir)
    on_result = on_result or (lambda check: None)
    if scratch_url:
        with connection.connect(scratch_url) as conn:
            if not catalog.is_empty(catalog.take(conn)):
                raise PlanError("--scratch-url: that database is not empty; give an empty one")
        return run_check(settings, migrations, scratch_url, on_result, keep_going=keep_going,
                         strict=strict)
    with scratch_databases(connection_url(settings, reporter), reporter.notice) as new:
        return run_check(settings, migrations, new(), on_result, keep_going=keep_going,
                         strict=strict, renew=new)


@dataclass(frozen=True)
class SchemaDiff:
    """Two schemas compared: how each side is named (its environment, or user@host:port/db
    for a URL) and what differs from `source` to `target`."""

    source: str
    target: str
    differences: list[catalog.Difference]

    @property
    def same(self) -> bool:
        return not self.differences


def diff(settings: Settings, reporter: Reporter, source: str, target: str) -> SchemaDiff:
    """Compare two databases' schemas, each given as an environment name (its URL resolved
    in `settings`' project) or a URL; `settings`' own tables are left out of both."""
    labels = [_label(where) for where in (source, target)]
    taken = []
    for where in (source, target):
        with connection.connect(_resolve(settings, reporter, where)) as conn:
            taken.append(catalog.take(conn, exclude=settings.own_tables))
    return SchemaDiff(labels[0], labels[1], catalog.compare(*taken))


def _resolve(settings: Settings, reporter: Reporter, where: str) -> str:
    """An environment's URL, or `where` itself: a URL (remembered so it is never printed
    with its password)."""
    if where in config.ENVIRONMENTS:
        return connection_url(config.resolve(root=settings.root, env=where), reporter,
                              needs_migrations=False)
    secrets.remember(where)
    return where


def _label(where: str) -> str:
    return where if where in config.ENVIRONMENTS else connection.describe_target(where)


def docs(settings: Settings, reporter: Reporter) -> str:
    """Markdown documentation of the schema: tables, columns, types, defaults, comments,
    foreign keys, indexes; views, functions; enums."""
    url = connection_url(settings, reporter, needs_migrations=False)
    with connection.connect(url, settings=settings) as conn:
        taken = catalog.take(conn, exclude=settings.own_tables)
    return schema_markdown(taken, settings.env)


def dump(settings: Settings, reporter: Reporter) -> str:
    """The schema as deterministic SQL (pg_dump --schema-only, or the catalog snapshot when
    no suitable pg_dump exists), sqlmig's own tables left out."""
    url = connection_url(settings, reporter, needs_migrations=False)
    with connection.connect(url, settings=settings) as conn:
        return current_schema_text(settings, url, conn)


@dataclass(frozen=True)
class SnapshotFile:
    """A backup `migrate --snapshot` took."""

    path: Path
    file: str  # relative to the project root
    environment: str
    size: int  # in bytes
    restore: str  # the command that restores it, URL left for the reader to fill in


def snapshots(settings: Settings | None = None) -> list[SnapshotFile]:
    """The backups `migrate --snapshot` took, newest last: those of `settings`' environment
    in its project, or (None) every environment's under the current directory."""
    where = settings or config.resolve(require_url=False)
    found = list_snapshots(where.snapshot_dir)
    if settings:
        found = [p for p in found if p.name.startswith(f"{settings.env}-")]
    return [
        SnapshotFile(p, display_path(p), p.name.split("-", 1)[0], p.stat().st_size,
                     f"pg_restore --clean --if-exists --no-owner --dbname URL {p}")
        for p in found
    ]
