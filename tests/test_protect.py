"""A database says what it is: the environment it was migrated as is recorded beside the
history, and destructive commands run with the wrong settings refuse to touch it."""

from __future__ import annotations

import pytest

from sqlmig.core import protect
from sqlmig.errors import PlanError
from tests.conftest import Project

PROD = protect.Destruction("fresh", "u@db:5432/app", "production", "drops everything")


@pytest.mark.parametrize(
    ("recorded", "env", "expected"),
    [(None, "development", True), (None, "production", True),
     ("development", "production", True), ("staging", "production", True),
     ("production", "development", False), ("production", "staging", False),
     ("staging", "test", False), ("test", "development", False)],
)
def test_the_recorded_environment_only_moves_up(
    recorded: str | None, env: str, expected: bool
) -> None:
    assert protect.should_record(recorded, env) is expected


def test_a_production_database_refuses_another_environment_even_with_yes() -> None:
    with pytest.raises(PlanError, match="recorded as a production database, and this runs as "
                       "development; run it with --env production --yes"):
        protect.check(PROD, "development", yes=True, confirm=lambda question: True)


def test_a_production_database_needs_yes_or_a_confirmation_from_its_own_environment() -> None:
    asked: list[str] = []
    protect.check(PROD, "production", yes=True, confirm=None)
    protect.check(PROD, "production", yes=False, confirm=lambda q: asked.append(q) or True)
    assert asked == ["fresh on u@db:5432/app (recorded as production): drops everything. "
                     "Continue?"]
    with pytest.raises(PlanError, match="add --yes"):
        protect.check(PROD, "production", yes=False, confirm=lambda question: False)
    with pytest.raises(PlanError, match="add --yes"):
        protect.check(PROD, "production", yes=False, confirm=None)


def test_an_unrecorded_development_database_needs_nothing() -> None:
    free = protect.Destruction("reset", "u@localhost:5432/dev", None, "undoes 0001_a")
    protect.check(free, "development", yes=False, confirm=None)
    assert str(free) == "reset on u@localhost:5432/dev (no environment recorded): undoes 0001_a"


def _migrated_as_production(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate", "--env", "production", "--no-snapshot")
    assert project.recorded_environment() == "production"


def test_fresh_on_a_production_database_from_the_default_environment_refuses(
    project: Project,
) -> None:
    _migrated_as_production(project)
    result = project.run("fresh", code=1)  # DATABASE_URL is the production database
    assert "fresh on " in result.stdout and "(recorded as production)" in result.stdout
    assert result.stderr.startswith("error: `fresh` refused: ")
    assert "--env production --yes" in result.stderr and len(result.stderr.splitlines()) == 1
    assert project.tables() == {"a", "b", "schema_migrations"}
    assert [v for v, *_ in project.history()] == [1, 2]


@pytest.mark.parametrize("command", [["rollback", "--all"], ["reset"], ["redo"],
                                     ["rollback", "--to", "1"]])
def test_undoing_a_production_database_as_development_refuses_even_with_yes(
    project: Project, command: list[str]
) -> None:
    _migrated_as_production(project)
    result = project.run(*command, "--env", "development", "--database-url", project.url,
                         "--yes", code=1)
    assert "recorded as a production database, and this runs as development" in result.stderr
    assert project.tables() == {"a", "b", "schema_migrations"}
    assert [v for v, *_ in project.history()] == [1, 2]


def test_repair_and_baseline_on_a_production_database_refuse_from_development(
    project: Project,
) -> None:
    _migrated_as_production(project)
    project.write("0002_b.up.sql", "CREATE TABLE b (id bigint);")
    before = project.query("SELECT version, checksum FROM schema_migrations ORDER BY 1")
    result = project.run("repair", "--all-changed", "--yes", code=1)
    assert "repair on " in result.stdout and "rewrites 1 history record" in result.stdout
    assert project.query("SELECT version, checksum FROM schema_migrations ORDER BY 1") == before


def test_production_with_yes_may_undo_its_own_database(project: Project) -> None:
    _migrated_as_production(project)
    result = project.run("rollback", "--all", "--env", "production", "--yes")
    assert "rollback on " in result.stdout
    assert "(recorded as production): undoes 0002_b, 0001_a" in result.stdout
    assert project.tables() == {"schema_migrations"}
    assert project.recorded_environment() == "production"


def test_migrating_a_production_database_as_development_keeps_its_record(
    project: Project,
) -> None:
    _migrated_as_production(project)
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    result = project.run("migrate")
    assert "this database is recorded as production" in result.stderr
    assert project.recorded_environment() == "production"


def test_development_records_itself_and_destructive_commands_name_the_target(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    assert project.recorded_environment() is None
    project.run("migrate")
    assert project.recorded_environment() == "development"
    result = project.run("fresh")
    target, first = result.stdout.splitlines()[:2]
    database = project.query("SELECT current_database()")[0][0]
    assert target.startswith("development · ") and target.endswith(f"/{database}")
    assert first.startswith("fresh on ") and "(recorded as development)" in first
    assert "drops every table, view, sequence, routine, type and extension in schema public" \
        in first
    assert project.tables() == {"a", "schema_migrations"}


def test_a_production_migration_relabels_a_development_database(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate", "--to", "1")
    assert project.recorded_environment() == "development"
    project.run("migrate", "--env", "production", "--no-snapshot")
    assert project.recorded_environment() == "production"
    project.run("rollback", code=1)
    assert project.tables() == {"a", "b", "schema_migrations"}


def test_a_url_without_a_database_name_says_which_database_it_migrates(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(project.url)
    database = params.pop("dbname")
    monkeypatch.setenv("PGDATABASE", str(database))  # what libpq falls back to, unseen in the URL
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    result = project.run("migrate", "--database-url", make_conninfo("", **params))
    assert result.stdout.splitlines()[0].endswith(f"/{database}")
    assert project.tables() == {"a", "schema_migrations"}


def test_the_metadata_table_stays_out_of_dumps_docs_and_diffs(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    assert project.exists("public.sqlmig_metadata")
    docs = project.run("docs").stdout
    assert "## public.a" in docs
    assert "sqlmig_metadata" not in docs
    dumped = project.run("dump", "-o", "-").stdout
    assert "CREATE TABLE public.a" in dumped and "sqlmig_metadata" not in dumped
