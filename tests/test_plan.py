"""What to run, given files and history: ordering, batches, targets, irreversible migrations.

Pure planning, no database: every test reuses the world drawn below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlmig.core.files import Migration
from sqlmig.core.plan import (
    Applied,
    State,
    Step,
    pending,
    plan_migrate,
    plan_redo,
    plan_rollback,
    plan_up,
    refuse_seeding,
    status,
    verify,
)
from sqlmig.core.sqlfile import SqlFile
from sqlmig.errors import PlanError

# The test world. Versions 0003 and 0004 never existed (a gap); 0005 has no down file; 0006's
# up and down both run outside a transaction.
#
#   version  name            header                     applied in batch
#   0001     create_users                               1
#   0002     create_posts                               1
#   0005     freeze_prices   -- sqlmig:irreversible     2
#   0006     index_posts     -- sqlmig:no-transaction   3
#   0007     add_settings                               pending
#   0010     add_tags                                   pending
WORLD = [
    (1, "create_users", None, 1),
    (2, "create_posts", None, 1),
    (5, "freeze_prices", "irreversible", 2),
    (6, "index_posts", "no-transaction", 3),
    (7, "add_settings", None, None),
    (10, "add_tags", None, None),
]


def migration(version: int, name: str, directive: str | None = None) -> Migration:
    stem = f"sql/{version:04d}_{name}"
    header = f"-- sqlmig:{directive}\n" if directive else ""
    directives = {directive: ""} if directive else {}
    up = SqlFile(Path(f"{stem}.up.sql"), f"{header}SELECT {version};\n", directives)
    down: SqlFile | None = SqlFile(Path(f"{stem}.down.sql"), "SELECT 0;")
    if directive == "irreversible":
        down = None
    elif directive == "no-transaction":
        down = SqlFile(Path(f"{stem}.down.sql"), f"{header}SELECT 0;", directives)
    return Migration(version, name, up, down)


def record(m: Migration, batch: int, **extra: Any) -> Applied:
    return Applied(m.version, m.name, m.checksum, batch, **extra)


FILES = [migration(version, name, directive) for version, name, directive, _ in WORLD]
BY_VERSION = {m.version: m for m in FILES}
APPLIED = [
    record(BY_VERSION[version], batch) for version, _, _, batch in WORLD if batch is not None
]
# The world after `migrate`: 0007 and 0010 applied together as batch 4.
MIGRATED = [*APPLIED, record(BY_VERSION[7], 4), record(BY_VERSION[10], 4)]


def versions(steps: list[Step]) -> list[int]:
    return [s.migration.version for s in steps]


def applied_up_to(version: int) -> list[Applied]:
    return [a for a in MIGRATED if a.version <= version]


def test_the_world_is_what_the_table_says() -> None:
    assert [m.id for m in FILES] == [
        "0001_create_users", "0002_create_posts", "0005_freeze_prices",
        "0006_index_posts", "0007_add_settings", "0010_add_tags",
    ]
    assert [m.version for m in FILES if m.irreversible] == [5]
    assert [m.version for m in FILES if not Step(m, "up").transactional] == [6]
    assert [(a.version, a.batch) for a in APPLIED] == [(1, 1), (2, 1), (5, 2), (6, 3)]


# --- steps ---------------------------------------------------------------------------------


def test_a_step_runs_in_a_transaction_unless_its_own_file_says_no_transaction() -> None:
    index = BY_VERSION[6]
    assert (Step(index, "up").transactional, Step(index, "down").transactional) == (False, False)
    concurrent_up_only = Migration(8, "index_tags", index.up, FILES[0].down)
    assert Step(concurrent_up_only, "up").transactional is False
    assert Step(concurrent_up_only, "down").transactional is True
    assert Step(FILES[0], "up").transactional is True


def test_a_step_executes_the_file_of_its_direction() -> None:
    assert Step(FILES[0], "up").file is FILES[0].up
    assert Step(FILES[0], "down").file is FILES[0].down


# --- status --------------------------------------------------------------------------------


def test_status_lists_every_version_in_order_with_its_state() -> None:
    rows = status(FILES, APPLIED)
    assert [(r.id, r.state) for r in rows] == [
        ("0001_create_users", State.APPLIED),
        ("0002_create_posts", State.APPLIED),
        ("0005_freeze_prices", State.APPLIED),
        ("0006_index_posts", State.APPLIED),
        ("0007_add_settings", State.PENDING),
        ("0010_add_tags", State.PENDING),
    ]


def test_status_keeps_the_history_row_and_the_file_of_each_version() -> None:
    row = status(FILES, APPLIED)[3]
    assert row.applied == APPLIED[3]
    assert row.migration is BY_VERSION[6]
    pending_row = status(FILES, APPLIED)[4]
    assert (pending_row.applied, pending_row.migration) == (None, BY_VERSION[7])


def test_status_shows_an_applied_migration_whose_up_file_was_edited_as_changed() -> None:
    history = [*APPLIED[:1], Applied(2, "create_posts", "0" * 64, 1), *APPLIED[2:]]
    states = {r.version: r.state for r in status(FILES, history)}
    assert states[2] is State.CHANGED
    assert states[1] is State.APPLIED


def test_status_shows_an_applied_migration_without_files_as_missing() -> None:
    history = [*APPLIED, Applied(4, "lost_work", "abc", 3)]
    row = next(r for r in status(FILES, history) if r.version == 4)
    assert (row.id, row.state, row.migration) == ("0004_lost_work", State.MISSING, None)


@pytest.mark.parametrize("state", ["failed", "running"])
def test_status_shows_a_half_done_no_transaction_migration_as_failed(state: str) -> None:
    history = [*APPLIED[:3], record(BY_VERSION[6], 3, state=state)]
    assert status(FILES, history)[3].state is State.FAILED


def test_status_of_no_files_and_no_history_is_empty() -> None:
    assert status([], []) == []


# --- pending -------------------------------------------------------------------------------


def test_pending_is_every_unapplied_migration_in_version_order() -> None:
    assert [m.version for m in pending(list(reversed(FILES)), APPLIED)] == [7, 10]


def test_with_no_history_everything_is_pending() -> None:
    assert [m.version for m in pending(FILES, [])] == [1, 2, 5, 6, 7, 10]


def test_a_pending_migration_older_than_the_newest_applied_one_is_refused() -> None:
    late = migration(3, "from_a_branch")
    with pytest.raises(PlanError) as raised:
        pending([*FILES, late], APPLIED)
    message = str(raised.value)
    assert "0003_from_a_branch is pending but older than the newest applied migration (0006)" \
        in message
    assert "--allow-out-of-order" in message


def test_out_of_order_migrations_run_in_version_order_when_allowed() -> None:
    late = migration(3, "from_a_branch")
    todo = pending([*FILES, late], APPLIED, allow_out_of_order=True)
    assert [m.version for m in todo] == [3, 7, 10]


def test_verify_reports_an_out_of_order_migration_as_migrate_refuses_it() -> None:
    files = [*FILES, migration(3, "from_a_branch")]
    with pytest.raises(PlanError) as raised:
        pending(files, APPLIED)
    problems = verify(files, APPLIED)
    assert [(p.kind, p.version, p.message) for p in problems] == [
        ("out_of_order", 3, str(raised.value)),
    ]
    assert verify(files, APPLIED, allow_out_of_order=True) == []


# --- seeding -------------------------------------------------------------------------------


def test_seeding_is_refused_while_migrations_are_pending() -> None:
    with pytest.raises(PlanError) as raised:
        refuse_seeding(FILES, APPLIED)
    assert str(raised.value) == (
        "2 migrations not applied (0007_add_settings, 0010_add_tags): seeds expect the "
        "latest schema; run `sqlmig migrate` first (or `sqlmig setup`)"
    )


def test_seeding_is_allowed_once_everything_is_applied() -> None:
    refuse_seeding(FILES, MIGRATED)


def test_seeding_is_refused_while_a_migration_is_stopped_halfway() -> None:
    history = [*MIGRATED[:3], record(BY_VERSION[6], 3, state="failed"), *MIGRATED[4:]]
    with pytest.raises(PlanError, match=r"^1 migration not applied \(0006_index_posts\)"):
        refuse_seeding(FILES, history)


def test_seeding_refused_for_many_pending_migrations_names_the_first_five() -> None:
    with pytest.raises(PlanError) as raised:
        refuse_seeding(FILES, [])
    assert str(raised.value).startswith(
        "6 migrations not applied (0001_create_users, 0002_create_posts, "
        "0005_freeze_prices, 0006_index_posts, 0007_add_settings, …): "
    )


# --- migrate -------------------------------------------------------------------------------


def test_migrate_applies_everything_pending_as_the_next_batch() -> None:
    steps = plan_migrate(FILES, APPLIED)
    assert [(s.migration.version, s.direction, s.batch) for s in steps] == [
        (7, "up", 4), (10, "up", 4),
    ]


def test_migrate_on_an_empty_history_applies_all_in_order_as_batch_one() -> None:
    steps = plan_migrate(FILES, [])
    assert versions(steps) == [1, 2, 5, 6, 7, 10]
    assert {s.batch for s in steps} == {1}


def test_migrate_keeps_the_no_transaction_flag_on_its_step() -> None:
    step = plan_migrate(FILES, [])[3]
    assert step.migration.version == 6 and not step.transactional


def test_migrate_with_nothing_pending_plans_nothing() -> None:
    assert plan_migrate(FILES, MIGRATED) == []


@pytest.mark.parametrize(("to", "expected"), [(7, [7]), (10, [7, 10]), (6, []), (0, [])])
def test_migrate_to_a_version_stops_there_inclusive(to: int, expected: list[int]) -> None:
    assert versions(plan_migrate(FILES, APPLIED, to=to)) == expected


@pytest.mark.parametrize("to", [3, 8, 11])
def test_migrate_to_a_version_that_is_not_a_migration_is_refused(to: int) -> None:
    with pytest.raises(PlanError, match=f"version {to} is not a known migration"):
        plan_migrate(FILES, APPLIED, to=to)


def test_migrate_refuses_an_out_of_order_migration_unless_allowed() -> None:
    files = [*FILES, migration(4, "from_a_branch")]
    with pytest.raises(PlanError, match="0004_from_a_branch is pending but older"):
        plan_migrate(files, APPLIED)
    steps = plan_migrate(files, APPLIED, allow_out_of_order=True)
    assert versions(steps) == [4, 7, 10]


def test_migrate_in_a_single_transaction_refuses_a_no_transaction_migration() -> None:
    with pytest.raises(PlanError) as raised:
        plan_migrate(FILES, [], single_transaction=True)
    assert str(raised.value) == (
        "--single-transaction cannot include no-transaction migrations: 0006_index_posts; "
        "run without --single-transaction"
    )


def test_migrate_in_a_single_transaction_minds_only_the_migrations_it_runs() -> None:
    assert versions(plan_migrate(FILES, [], to=5, single_transaction=True)) == [1, 2, 5]
    assert versions(plan_migrate(FILES, APPLIED, single_transaction=True)) == [7, 10]


# --- up ------------------------------------------------------------------------------------


def test_up_applies_only_the_next_migration_by_default() -> None:
    steps = plan_up(FILES, APPLIED)
    assert [(s.migration.version, s.direction, s.batch) for s in steps] == [(7, "up", 4)]


def test_up_with_a_count_larger_than_what_is_pending_applies_all_pending() -> None:
    assert versions(plan_up(FILES, APPLIED, 5)) == [7, 10]


def test_up_with_nothing_pending_plans_nothing() -> None:
    assert plan_up(FILES, MIGRATED, 3) == []


@pytest.mark.parametrize("count", [0, -1])
def test_up_with_a_count_below_one_is_refused(count: int) -> None:
    with pytest.raises(PlanError, match=f"positive number of migrations, got {count}"):
        plan_up(FILES, APPLIED, count)


# --- rollback ------------------------------------------------------------------------------


def test_rollback_undoes_the_last_batch() -> None:
    steps = plan_rollback(FILES, APPLIED)
    assert [(s.migration.version, s.direction) for s in steps] == [(6, "down")]
    assert not steps[0].transactional


def test_rollback_of_a_batch_undoes_its_migrations_newest_first() -> None:
    assert versions(plan_rollback(FILES, MIGRATED)) == [10, 7]


def test_rollback_steps_counts_migrations_across_batches() -> None:
    assert versions(plan_rollback(FILES, MIGRATED, steps=3)) == [10, 7, 6]


def test_rollback_to_a_version_undoes_everything_above_it() -> None:
    assert versions(plan_rollback(FILES, MIGRATED, to=5)) == [10, 7, 6]


def test_rollback_to_a_pending_version_above_the_newest_applied_undoes_nothing() -> None:
    assert plan_rollback(FILES, APPLIED, to=10) == []


def test_rollback_to_0_undoes_a_0000_migration_too() -> None:
    files = [migration(0, "extensions"), *FILES[:2]]
    history = [record(m, 1) for m in files]
    assert versions(plan_rollback(files, history, to=0)) == [2, 1, 0]


def test_rollback_to_0_stopping_at_an_irreversible_0000_migration_suggests_steps() -> None:
    files = [migration(0, "extensions", "irreversible"), *FILES[:2]]
    with pytest.raises(PlanError) as raised:
        plan_rollback(files, [record(m, 1) for m in files], to=0)
    assert ("`sqlmig rollback --steps 2`, which would undo 0002_create_posts, "
            "0001_create_users") in str(raised.value)


def test_rollback_stops_at_the_irreversible_migration() -> None:
    with pytest.raises(PlanError) as raised:
        plan_rollback(FILES, MIGRATED, steps=4)
    message = str(raised.value)
    assert "cannot roll back 0005_freeze_prices: it is marked sqlmig:irreversible" in message
    assert "`sqlmig rollback --to 5`" in message
    assert "which would undo 0010_add_tags, 0007_add_settings, 0006_index_posts" in message
    assert message.endswith("Nothing was rolled back")


@pytest.mark.parametrize(
    "how", [{"to": 2}, {"to": 0}, {"everything": True}], ids=["to-2", "to-0", "all"]
)
def test_rollback_past_the_irreversible_migration_is_refused(how: dict[str, Any]) -> None:
    with pytest.raises(PlanError, match="cannot roll back 0005_freeze_prices"):
        plan_rollback(FILES, MIGRATED, **how)


def test_rollback_when_the_irreversible_migration_is_the_newest_names_nothing_to_undo() -> None:
    with pytest.raises(PlanError, match=r"which would undo nothing\)"):
        plan_rollback(FILES, applied_up_to(5), steps=1)


def test_rollback_all_below_the_irreversible_migration_undoes_everything() -> None:
    assert versions(plan_rollback(FILES, applied_up_to(2), everything=True)) == [2, 1]


def test_rollback_with_nothing_applied_plans_nothing() -> None:
    assert plan_rollback(FILES, []) == []
    assert plan_rollback(FILES, [], everything=True) == []


def test_rollback_of_a_migration_whose_files_are_gone_is_refused() -> None:
    history = [*APPLIED, Applied(8, "lost_work", "abc", 4)]
    with pytest.raises(PlanError, match="cannot roll back 0008_lost_work: its files are missing"):
        plan_rollback(FILES, history)


@pytest.mark.parametrize("steps", [0, -2])
def test_rollback_steps_below_one_is_refused(steps: int) -> None:
    with pytest.raises(PlanError, match=f"--steps needs a positive number, got {steps}"):
        plan_rollback(FILES, MIGRATED, steps=steps)


def test_rollback_to_an_unknown_version_is_refused() -> None:
    with pytest.raises(PlanError, match="version 4 is not a known migration"):
        plan_rollback(FILES, MIGRATED, to=4)


@pytest.mark.parametrize(
    "how",
    [{"steps": 1, "to": 5}, {"steps": 1, "everything": True}, {"to": 5, "everything": True}],
)
def test_rollback_refuses_more_than_one_way_of_choosing(how: dict[str, Any]) -> None:
    with pytest.raises(PlanError, match="choose one of --steps, --to and --all"):
        plan_rollback(FILES, MIGRATED, **how)


# --- redo ----------------------------------------------------------------------------------


def test_redo_rolls_back_the_newest_migration_and_applies_it_in_its_batch() -> None:
    steps = plan_redo(FILES, APPLIED)
    assert [(s.migration.version, s.direction, s.batch) for s in steps] == [
        (6, "down", None), (6, "up", 3),
    ]


def test_redo_takes_the_newest_version_not_the_whole_batch() -> None:
    steps = plan_redo(FILES, MIGRATED)
    assert [(s.migration.version, s.direction, s.batch) for s in steps] == [
        (10, "down", None), (10, "up", 4),
    ]


def test_redo_of_an_irreversible_migration_is_refused() -> None:
    with pytest.raises(PlanError, match="cannot roll back 0005_freeze_prices"):
        plan_redo(FILES, applied_up_to(5))


def test_redo_with_nothing_applied_is_refused() -> None:
    with pytest.raises(PlanError, match="nothing to redo: no migration has been applied"):
        plan_redo(FILES, [])


def test_a_history_row_read_fast_is_the_same_frozen_applied() -> None:
    from datetime import UTC, datetime

    row = (3, "add_users", "ab" * 32, 2, datetime(2026, 1, 2, tzinfo=UTC), 41, "ci@host",
           "failed", False, "rolling back", None, "dbmate")
    fast = Applied.from_row(row)
    assert fast == Applied(*row) and hash(fast) == hash(Applied(*row))
    assert fast.down_stopped and fast.adopted == "dbmate"
    with pytest.raises(AttributeError):
        fast.state = "applied"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Applied.from_row(row[:-1])  # a column missing is never a shifted record
