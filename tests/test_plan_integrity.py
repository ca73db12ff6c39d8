"""Pure planning rules added for integrity: requires, verify, repair, baseline (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlmig.core import plan
from sqlmig.core.files import Migration
from sqlmig.core.sqlfile import SqlFile
from sqlmig.errors import PlanError


def m(version: int, requires: str = "", *, text: str | None = None) -> Migration:
    header = f"-- sqlmig:requires {requires}\n" if requires else ""
    directives = {"requires": requires} if requires else {}
    up = SqlFile(Path(f"{version:04d}_m.up.sql"), text or f"{header}SELECT {version};", directives)
    return Migration(version, "m", up, SqlFile(Path(f"{version:04d}_m.down.sql"), "SELECT 1;"))


def applied(*migrations: Migration, batch: int = 1, state: str = "applied") -> list[plan.Applied]:
    return [plan.Applied(x.version, x.name, x.checksum, batch, state=state) for x in migrations]


def test_rollback_refuses_to_undo_a_migration_that_a_staying_one_requires() -> None:
    files = [m(1), m(2), m(3, "0001")]
    history = applied(files[0], files[2], batch=1) + applied(files[1], batch=2)
    # out-of-order history: 2 applied last, so the last batch is just 2: fine
    assert [s.migration.version for s in plan.plan_rollback(files, history)] == [2]
    with pytest.raises(PlanError, match="cannot roll back 0001: 0003_m requires it"):
        plan.check_requires_for_down([plan.Step(files[0], "down")], files, history)


def test_rolling_back_a_dependency_together_with_its_dependent_is_fine() -> None:
    files = [m(1), m(2, "0001")]
    steps = plan.plan_rollback(files, applied(*files), everything=True)
    assert [s.migration.version for s in steps] == [2, 1]


def test_up_step_whose_requirement_is_neither_applied_nor_earlier_is_refused() -> None:
    files = [m(1), m(2, "0001")]
    with pytest.raises(PlanError, match="0002_m requires 0001, which is not applied"):
        plan.check_requires_for_up([plan.Step(files[1], "up", 1)], [])
    plan.check_requires_for_up([plan.Step(f, "up", 1) for f in files], [])


def test_verify_reports_failed_and_running_records_with_their_error() -> None:
    files = [m(1), m(2)]
    history = [*applied(files[0]), plan.Applied(2, "m", files[1].checksum, 1, state="running")]
    [problem] = plan.verify(files, history)
    assert problem.kind == "failed"
    assert "its process died while it was running" in problem.message


def test_status_shows_failed_records_even_when_the_file_is_gone() -> None:
    rows = plan.status([], [plan.Applied(5, "gone", "x", 1, state="failed", error="boom")])
    assert [(r.version, r.state) for r in rows] == [(5, plan.State.FAILED)]


def test_repair_removes_failed_records_and_accepts_only_named_changes() -> None:
    files = [m(1, text="SELECT 10;"), m(2, text="SELECT 20;"), m(3)]
    history = [
        plan.Applied(1, "m", "old1", 1),
        plan.Applied(2, "m", "old2", 1),
        plan.Applied(3, "m", files[2].checksum, 2, state="failed"),
    ]
    fixes = plan.plan_repair(files, history, accept=[2])
    assert [(row.version, mig.version) for row, mig in fixes.accept] == [(2, 2)]
    assert [row.version for row in fixes.remove] == [3]
    everything = plan.plan_repair(files, history, all_changed=True)
    assert sorted(row.version for row, _ in everything.accept) == [1, 2]


def test_repair_restores_a_stopped_rollback_to_applied_and_removes_a_stopped_up() -> None:
    files = [m(1), m(2), m(3)]
    history = [
        plan.Applied(1, "m", files[0].checksum, 1, state="failed",
                     error="migration failed at statement 2 of 2 (line 3): boom"),
        plan.Applied(2, "m", files[1].checksum, 1, state="running", error=plan.ROLLING_BACK),
        plan.Applied(3, "m", files[2].checksum, 1, state="failed",
                     error=f"{plan.ROLLBACK_FAILED} at statement 2 of 3 (line 3): boom"),
    ]
    fixes = plan.plan_repair(files, history)
    assert [row.version for row in fixes.remove] == [1]
    assert [row.version for row in fixes.restore] == [2, 3]
    messages = [p.message for p in plan.verify(files, history)]
    assert "the rollback of 0002_m did not finish (its process died while it was rolling " \
           "back)" in messages[1]


def test_repair_accept_of_an_unknown_version_is_refused() -> None:
    with pytest.raises(PlanError, match="no applied migration has that version"):
        plan.plan_repair([m(1)], [], accept=[1])


def test_baseline_takes_every_migration_up_to_the_version() -> None:
    files = [m(1), m(2), m(5)]
    assert [x.version for x in plan.plan_baseline(files, [], 2)] == [1, 2]
    assert [x.version for x in plan.plan_baseline(files, [], 3)] == [1, 2]
    assert plan.covers(plan.plan_baseline(files, [], 12), 12) == \
        "0001_m to 0005_m, every file numbered 12 or lower"
    with pytest.raises(PlanError, match="no migration file is numbered 0 or lower "
                       r"\(the first is 0001_m\)"):
        plan.plan_baseline(files, [], 0)
    with pytest.raises(PlanError, match="needs an empty history"):
        plan.plan_baseline(files, applied(files[0]), 2)
