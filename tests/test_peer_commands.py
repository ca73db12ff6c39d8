"""Commands people bring from dbmate and Flyway: `down` (one migration), the timeouts every
command that runs migrations takes, end to end through the CLI, checked in the database."""

from __future__ import annotations

import pytest

from tests.conftest import Project


def two_batches(project: Project) -> None:
    for version, name in ((1, "a"), (2, "b"), (3, "c")):
        project.pair(f"{version:04d}_create_{name}", f"CREATE TABLE {name} (id int);",
                     f"DROP TABLE {name};")
    project.run("migrate", "--to", "1")
    project.run("migrate")


def test_down_undoes_exactly_one_migration_of_the_last_batch(project: Project) -> None:
    two_batches(project)
    result = project.run("down")
    assert "rolled back 1 migration" in result.stdout
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 2)]
    assert project.tables() == {"a", "b", "schema_migrations"}
    project.run("down")
    project.run("down")
    assert project.history() == []
    assert "nothing to roll back" in project.run("down").stdout


def test_down_on_a_production_database_needs_its_environment_and_yes(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate", "--env", "production", "--no-snapshot")
    refused = project.run("down", code=1)
    assert "`down` refused" in refused.stderr and "--env production --yes" in refused.stderr
    assert "add --yes" in project.run("down", "--env", "production", code=1).stderr
    assert [v for v, *_ in project.history()] == [1]
    project.run("down", "--env", "production", "--yes")
    assert project.history() == []


SETTING = "CREATE TABLE seen AS SELECT current_setting('statement_timeout') AS statement_timeout, "\
    "current_setting('lock_timeout') AS lock_timeout;"


@pytest.mark.parametrize("command", [["redo"], ["fresh"], ["reset"], ["down"]])
def test_commands_that_run_migrations_take_the_timeouts(
    project: Project, command: list[str]
) -> None:
    project.pair("0001_seen", SETTING, "DROP TABLE seen;")
    project.pair("0002_other", "CREATE TABLE other (id int);",
                 f"DROP TABLE other; DROP TABLE seen; {SETTING}")
    project.run("migrate")
    project.run(*command, "--statement-timeout", "7s", "--lock-timeout", "3s")
    assert project.query("SELECT statement_timeout, lock_timeout FROM seen") == [("7s", "3s")]
