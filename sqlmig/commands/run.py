"""The commands that run migrations: migrate, up, rollback, down, redo, fresh, reset, and
migrate's dry run. Each reads as settings -> lock -> history -> plan -> run, through
common.run_plan, and returns what it did."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

from sqlmig import engine
from sqlmig.commands.common import Confirm, RunResult, guard, run_plan, summary, with_url
from sqlmig.core import plan, protect
from sqlmig.core.checks import check_history
from sqlmig.core.config import EMBEDDED_ALLOWED, Settings
from sqlmig.core.files import Migration
from sqlmig.core.plan import Step
from sqlmig.errors import DatabaseMissing
from sqlmig.pg.connection import describe_target
from sqlmig.pg.session import Session, drop_schema_objects, locked_session
from sqlmig.reporting import Reporter

if TYPE_CHECKING:
    from sqlmig.engine.one_transaction import DryRun


def migrate(
    settings: Settings,
    reporter: Reporter,
    *,
    to: int | None = None,
    single_transaction: bool = False,
    rollback_on_failure: bool = False,
    snapshot: bool | None = None,
    create_missing: Confirm = None,
) -> RunResult:
    """Every pending migration up to `to`, as one new batch. `snapshot` (None: the setting
    snapshot_before_migrate) takes a pg_dump first. A development or test database that does
    not exist is created first if `create_missing` says yes; otherwise DatabaseMissing."""
    settings = with_url(settings, reporter)

    def run() -> RunResult:
        return run_plan(
            settings, reporter,
            lambda files, applied: plan.plan_migrate(
                files, applied, to=to, allow_out_of_order=settings.allow_out_of_order,
                single_transaction=single_transaction,
            ),
            verb="applied",
            nothing=lambda files, applied: plan.nothing_to_migrate(to, plan.after_target(
                files, applied, to, allow_out_of_order=settings.allow_out_of_order)),
            single_transaction=single_transaction,
            rollback_on_failure=rollback_on_failure,
            snapshot_first=settings.snapshot_before_migrate if snapshot is None else snapshot,
        )

    try:
        return run()
    except DatabaseMissing:
        assert settings.database_url is not None
        question = f"{describe_target(settings.database_url)} does not exist. Create it?"
        if settings.env not in EMBEDDED_ALLOWED or create_missing is None \
                or not create_missing(question):
            raise
    from sqlmig.commands.database import create  # only now: it loads what dumps need

    reporter.line(create(settings, reporter))
    return run()


def up(settings: Settings, reporter: Reporter, count: int = 1, *,
       rollback_on_failure: bool = False) -> RunResult:
    """The next `count` pending migrations."""
    return run_plan(
        settings, reporter,
        lambda files, applied: plan.plan_up(
            files, applied, count, allow_out_of_order=settings.allow_out_of_order
        ),
        verb="applied",
        nothing="nothing to apply: the database is up to date",
        rollback_on_failure=rollback_on_failure,
    )


def rollback(
    settings: Settings,
    reporter: Reporter,
    *,
    steps: int | None = None,
    to: int | None = None,
    everything: bool = False,
    yes: bool = False,
    confirm: Confirm = None,
) -> RunResult:
    """The last batch, or the last `steps` migrations, or every one above `to`, or all."""
    return run_plan(
        settings, reporter,
        lambda files, applied: plan.plan_rollback(
            files, applied, steps=steps, to=to, everything=everything
        ),
        verb="rolled back",
        nothing="nothing to roll back",
        destructive=("rollback", yes, confirm),
    )


def down(settings: Settings, reporter: Reporter, *, yes: bool = False,
         confirm: Confirm = None) -> RunResult:
    """Undo exactly one migration, the newest (dbmate's `down`), whatever batch it came in;
    `rollback` undoes the whole last batch."""
    return run_plan(
        settings, reporter,
        lambda files, applied: plan.plan_rollback(files, applied, steps=1),
        verb="rolled back",
        nothing="nothing to roll back",
        destructive=("down", yes, confirm),
    )


def redo(settings: Settings, reporter: Reporter, *, yes: bool = False,
         confirm: Confirm = None) -> RunResult:
    """Roll back the newest migration and apply it again."""
    return run_plan(settings, reporter, plan.plan_redo, verb="redid",
                    nothing="nothing to redo", destructive=("redo", yes, confirm))


def fresh(settings: Settings, reporter: Reporter, *, yes: bool = False,
          confirm: Confirm = None) -> RunResult:
    """Drop every object in the configured schema, then apply every migration."""
    settings = with_url(settings, reporter)

    def drop_everything(session: Session) -> None:
        guard(session, reporter, "fresh",
              f"drops every table, view, sequence, routine, type and extension in schema "
              f"{settings.schema}, then applies every migration", yes=yes, confirm=confirm)
        drop_schema_objects(session, settings.schema)

    return run_plan(
        settings, reporter, plan.plan_migrate,
        verb="applied",
        nothing="schema emptied; there are no migrations to apply",
        check=False,  # whatever history says is about to be dropped
        before=drop_everything,
    )


def reset(settings: Settings, reporter: Reporter, *, yes: bool = False,
          confirm: Confirm = None) -> RunResult:
    """Roll back every migration (running the downs), then apply them all again; returns
    the applying half (the rolling back is reported as it happens)."""
    settings = with_url(settings, reporter)

    def rollback_all(session: Session) -> None:
        steps = plan.plan_rollback(session.migrations, session.applied, everything=True)
        guard(session, reporter, "reset", f"{protect.undoes(steps)}, then applies every "
              "migration", yes=yes, confirm=confirm)
        started = time.perf_counter()
        outcomes = engine.run(session, steps, reporter)
        ms = round((time.perf_counter() - started) * 1000)
        reporter.result(summary(outcomes, "rolled back", "nothing to roll back", ms))
        session.reload()

    return run_plan(settings, reporter, plan.plan_migrate, verb="applied",
                    nothing="nothing to migrate", before=rollback_all)


class DryRunReport(NamedTuple):
    """Each pending migration's dry-run result, and the pending migrations `--to` leaves
    for later; `nothing` is what to say when there were none to try."""

    results: list[DryRun]
    later: list[Migration]
    nothing: str


def dry_run(settings: Settings, reporter: Reporter, *, to: int | None = None
            ) -> DryRunReport:
    """Run the pending transactional migrations in a transaction that is rolled back; each
    one's result, error and time."""
    settings = with_url(settings, reporter)
    assert settings.database_url is not None
    with locked_session(settings, settings.database_url, reporter) as session:
        steps, later = pending(session, settings, to, verb="dry-run")
        return DryRunReport(engine.dry_run(session, steps), later,
                            plan.nothing_to_migrate(to, later))


def pending(session: Session, settings: Settings, to: int | None, *, verb: str
            ) -> tuple[list[Step], list[Migration]]:
    """What `migrate --to` would run, and the pending migrations it leaves for later; refused
    (naming `verb`) when the history does not verify."""
    check_history(session.migrations, session.applied,
                  allow_out_of_order=settings.allow_out_of_order, verb=verb)
    out_of_order = settings.allow_out_of_order
    steps = plan.plan_migrate(session.migrations, session.applied, to=to,
                              allow_out_of_order=out_of_order)
    later = plan.after_target(session.migrations, session.applied, to,
                              allow_out_of_order=out_of_order)
    return steps, later
