"""`seed` and `setup` (migrate, then seed): load the environment's seed files in one
transaction, refused while migrations are pending."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmig.commands.common import RunResult, with_url
from sqlmig.commands.run import migrate
from sqlmig.core import config, plan
from sqlmig.core.config import Settings
from sqlmig.errors import PlanError
from sqlmig.pg.session import locked_session
from sqlmig.reporting import Reporter
from sqlmig.seeds import loading, on_disk
from sqlmig.seeds.loading import SeedResult


@dataclass(frozen=True)
class SeedRun:
    """What `seed` loaded: each seed's rows and time in the order run, and the environment
    and seed folder they came from."""

    results: list[SeedResult]
    env: str
    seed_set: str
    seeds_dir: Path


def seed(settings: Settings, reporter: Reporter, *, only: list[str] | None = None) -> SeedRun:
    """Every seed of the environment (or those `only` names: a file name, or its name
    without the NN_ prefix), in one transaction. Refuses while migrations are pending."""
    chosen = on_disk.discover(settings.seeds_dir)
    for name in only or []:
        if not any(s.matches(name) for s in chosen):
            raise PlanError(f"--only {name}: no such seed in {settings.seeds_dir}")
    if only:
        chosen = [s for s in chosen if any(s.matches(name) for name in only)]
    settings = with_url(settings, reporter)
    assert settings.database_url is not None
    with locked_session(settings, settings.database_url, reporter) as session:
        plan.refuse_seeding(session.migrations, session.applied)
        results = loading.run(session, chosen, config.load_environ(settings.root))
    return SeedRun(results, settings.env, settings.seed_set, settings.seeds_dir)


def setup(settings: Settings, reporter: Reporter) -> tuple[RunResult, SeedRun]:
    """Migrate to the latest version (no snapshot), then seed: a ready database."""
    settings = with_url(settings, reporter)
    return migrate(settings, reporter, snapshot=False), seed(settings, reporter)
