"""What a run that stopped early says it left behind, without a server: a no-transaction file
cut off halfway, INVALID indexes, and commits a server crash may have lost."""

from __future__ import annotations

from sqlmig.core.aftermath import invalid_note, loss_note, stopped, unconfirmed_note
from sqlmig.core.files import Migration
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import SqlFile
from sqlmig.errors import Interrupted, MigrationFailed

INDEX = Migration(3, "index", SqlFile("sql/0003_index.up.sql", "SELECT 1;\n"),
                  SqlFile("sql/0003_index.down.sql", "SELECT 1;\n"))


def step(version: int, direction: str = "up") -> Step:
    migration = Migration(version, f"m{version}", SqlFile(f"sql/{version:04d}.up.sql", ""), None)
    return Step(migration, "up" if direction == "up" else "down", 1)


def test_a_failure_at_the_third_statement_says_the_first_two_stay_applied() -> None:
    failure = MigrationFailed("sql/0003_index.up.sql", "boom", line=7)
    recorded, raised = stopped(Step(INDEX, "up", 1), failure, 3, " of 4", 7)
    assert recorded == ("migration failed at statement 3 of 4 (line 7): "
                        "sql/0003_index.up.sql:7: boom")
    assert raised is failure
    assert raised.__notes__ == ["0003_index.up.sql runs outside a transaction: statements 1-2 "
                                "stay applied. It is recorded as failed; fix the database by "
                                "hand, then run `sqlmig repair`."]


def test_a_failure_at_the_first_statement_only_asks_for_repair() -> None:
    _, raised = stopped(Step(INDEX, "up", 1), MigrationFailed("x", "boom"), 1, "", 1)
    assert raised.__notes__ == ["0003_index.up.sql is recorded as failed; fix the cause, then "
                                "run `sqlmig repair` and migrate again."]


def test_an_interrupted_down_is_not_said_to_be_rolled_back() -> None:
    down = Step(INDEX, "down")
    failure = Interrupted("sql/0003_index.down.sql: interrupted; rolled back")
    recorded, raised = stopped(down, failure, 2, "", 4)
    assert recorded.startswith("rollback failed at statement 2 (line 4): ")
    assert raised is not failure and isinstance(raised, Interrupted)
    assert "interrupted at statement 2 (line 4); it runs outside a transaction, so it was not " \
        "rolled back: statement 1 stays done" in str(raised)
    assert "Finish the down by hand" in raised.__notes__[0]


def test_invalid_indexes_are_named_with_the_statement_that_drops_each() -> None:
    note = invalid_note([('public."Big_idx"', "big"), ("public.other_idx", "other")])
    lines = note.splitlines()
    assert lines[0] == 'INVALID now: public."Big_idx" (on big), public.other_idx (on other)'
    assert lines[-2:] == ['    DROP INDEX CONCURRENTLY IF EXISTS public."Big_idx";',
                          "    DROP INDEX CONCURRENTLY IF EXISTS public.other_idx;"]


def test_after_reconnecting_every_reported_migration_survived() -> None:
    note = loss_note([step(1), step(2)], {1, 2})
    assert note == ("reconnected: the history has every migration reported done (0001_m1, "
                    "0002_m2); nothing reported was lost")


def test_after_reconnecting_lost_commits_are_named_and_the_last_step_counts() -> None:
    # 0002 went up then down (redo-like): its down is what was reported last
    note = loss_note([step(1), step(2), step(2, "down"), step(3)], {1, 2})
    assert note.startswith("reconnected: the history has 0001_m1 (survived), but does NOT have "
                           "0002_m2, 0003_m3: reported done, but lost")


def test_without_a_connection_the_unconfirmed_commits_are_the_doubtful_ones() -> None:
    note = unconfirmed_note(["0001_m1", "0002_m2", "0003_m3"], ["0002_m2", "0003_m3"], "refused")
    assert note == ("could not reconnect to check the history (refused). 0002_m2, 0003_m3 were "
                    "reported done but committed without waiting for the disk: if the server "
                    "crashed, they may not have survived. 0001_m1 reached the disk. Run "
                    "`sqlmig status` once the server is back.")
