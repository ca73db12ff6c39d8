"""Commits within a run: every migration but the last commits without waiting for its WAL
flush, and the last one's synchronous commit flushes them all before sqlmig reports success.
Each migration records the synchronous_commit its own transaction ran with."""

from __future__ import annotations

from tests.conftest import Project

RECORD = "INSERT INTO commits SELECT {v}, current_setting('synchronous_commit');"


def log_migrations(project: Project, count: int) -> None:
    project.pair("0001_log", "CREATE TABLE commits (version int, mode text);\n"
                 + RECORD.format(v=1), "DROP TABLE commits;")
    for v in range(2, count + 1):
        project.pair(f"{v:04d}_m", RECORD.format(v=v), f"DELETE FROM commits WHERE version = {v};")


def modes(project: Project) -> list[tuple[int, str]]:
    return project.query("SELECT version, mode FROM commits ORDER BY version")


def test_only_the_last_migration_of_a_run_waits_for_the_flush(project: Project) -> None:
    log_migrations(project, 4)
    project.run("migrate")
    assert modes(project) == [(1, "off"), (2, "off"), (3, "off"), (4, "on")]
    assert [row[0] for row in project.history()] == [1, 2, 3, 4]


def test_a_single_migration_commits_synchronously(project: Project) -> None:
    log_migrations(project, 2)
    project.run("up")
    assert modes(project) == [(1, "on")]


def test_a_no_transaction_migration_keeps_the_session_setting(project: Project) -> None:
    log_migrations(project, 3)
    project.pair("0002_m", "-- sqlmig:no-transaction\n" + RECORD.format(v=2),
                 "-- sqlmig:no-transaction\nDELETE FROM commits WHERE version = 2;")
    project.run("migrate")
    assert modes(project) == [(1, "off"), (2, "on"), (3, "on")]


def test_a_failed_run_keeps_the_migrations_before_the_failure(project: Project) -> None:
    log_migrations(project, 3)
    project.pair("0004_bad", "SELECT 1 / 0;", "SELECT 1;")
    project.run("migrate", code=1)
    assert modes(project) == [(1, "off"), (2, "off"), (3, "off")]
    assert [row[0] for row in project.history()] == [1, 2, 3]
