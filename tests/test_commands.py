"""migrate, up, rollback, redo and status end to end through the CLI, checked in the database."""

from __future__ import annotations

import json

import pytest

from sqlmig.errors import EXIT_PENDING
from tests.conftest import HISTORY, Project


def three_tables(project: Project) -> None:
    for version, name in ((1, "a"), (2, "b"), (3, "c")):
        project.pair(
            f"{version:04d}_create_{name}",
            f"CREATE TABLE {name} (id int);",
            f"DROP TABLE {name};",
        )


def test_migrate_applies_pending_in_version_order(project: Project) -> None:
    project.pair("0010_second", "CREATE TABLE second (id int REFERENCES first (id));",
                 "DROP TABLE second;")
    project.pair("0002_first", "CREATE TABLE first (id int PRIMARY KEY);", "DROP TABLE first;")
    project.run("migrate")
    assert [(v, n) for v, n, _, _ in project.history()] == [(2, "first"), (10, "second")]


def test_second_migrate_is_a_new_batch_and_rollback_undoes_only_it(project: Project) -> None:
    three_tables(project)
    project.run("migrate", "--to", "1")
    project.run("migrate")
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 2), (3, 2)]
    result = project.run("rollback")
    assert "rolled back 2 migrations" in result.stdout
    assert [v for v, *_ in project.history()] == [1]
    assert project.tables() == {"a", "schema_migrations"}


def test_migrate_with_nothing_pending_says_so(project: Project) -> None:
    three_tables(project)
    project.run("migrate")
    result = project.run("migrate")
    assert "up to date" in result.stdout
    assert len(project.history()) == 3


def test_migrate_to_an_unknown_version_is_refused(project: Project) -> None:
    three_tables(project)
    result = project.run("migrate", "--to", "7", code=1)
    assert "version 7 is not a known migration" in result.stderr
    assert not project.exists(HISTORY)


def test_up_applies_the_next_n_as_one_batch(project: Project) -> None:
    three_tables(project)
    project.run("up")
    project.run("up", "2")
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 2), (3, 2)]


@pytest.mark.parametrize(
    ("args", "remaining"),
    [
        (("--steps", "1"), [1, 2]),
        (("--steps", "2"), [1]),
        (("--to", "1"), [1]),
        (("--to", "0"), []),
        (("--all",), []),
    ],
)
def test_rollback_variants(project: Project, args: tuple[str, ...], remaining: list[int]) -> None:
    three_tables(project)
    project.run("migrate")
    project.run("rollback", *args)
    assert [v for v, *_ in project.history()] == remaining
    names = {1: "a", 2: "b", 3: "c"}
    assert project.tables() == {names[v] for v in remaining} | {"schema_migrations"}


def test_rollback_to_0_undoes_a_0000_migration_too(project: Project) -> None:
    project.pair("0000_extensions", "CREATE TABLE base (id int);", "DROP TABLE base;")
    three_tables(project)
    project.run("migrate")
    project.run("rollback", "--to", "0")
    assert project.history() == []
    assert project.tables() == {"schema_migrations"}


def test_rollback_refuses_conflicting_options(project: Project) -> None:
    three_tables(project)
    project.run("migrate")
    result = project.run("rollback", "--all", "--steps", "1", code=1)
    assert "choose one of" in result.stderr
    assert len(project.history()) == 3


def test_rollback_stops_at_irreversible_migration_before_running_anything(
    project: Project,
) -> None:
    project.pair("0001_keep", "-- sqlmig:irreversible\nCREATE TABLE keep (id int);", None)
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate")
    result = project.run("rollback", "--all", code=1)
    assert "0001_keep" in result.stderr and "irreversible" in result.stderr
    assert "rollback --to 1" in result.stderr
    assert [v for v, *_ in project.history()] == [1, 2]
    assert project.tables() == {"keep", "b", "schema_migrations"}
    project.run("rollback", "--to", "1")
    assert project.tables() == {"keep", "schema_migrations"}


def test_redo_rolls_back_and_reapplies_the_newest_migration(project: Project) -> None:
    three_tables(project)
    project.run("migrate")
    project.query("INSERT INTO c VALUES (1)")
    result = project.run("redo")
    assert "redid 1 migration" in result.stdout
    assert project.query("SELECT count(*) FROM c") == [(0,)]
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 1), (3, 1)]


def test_status_lists_applied_pending_changed_and_missing(project: Project) -> None:
    three_tables(project)
    project.pair("0004_create_d", "CREATE TABLE d (id int);", "DROP TABLE d;")
    project.run("migrate", "--to", "3")
    project.write("0002_create_b.up.sql", "CREATE TABLE b (id bigint);")
    (project.sql_dir / "0003_create_c.up.sql").unlink()
    (project.sql_dir / "0003_create_c.down.sql").unlink()
    result = project.run("status")
    lines = {line.split()[0]: line for line in result.stdout.splitlines()
             if line.split() and line.split()[0].isdigit()}
    assert "applied" in lines["0001"]
    assert "changed" in lines["0002"]
    assert "missing" in lines["0003"]
    assert "pending" in lines["0004"]
    assert "1 applied, 1 pending, 1 changed, 1 missing" in result.stdout


def test_status_json_has_every_migration_and_a_summary(project: Project) -> None:
    three_tables(project)
    project.run("up")
    document = json.loads(project.run("status", "--json").stdout)
    assert document["environment"] == "development"
    assert [(m["version"], m["state"], m["batch"]) for m in document["migrations"]] == [
        (1, "applied", 1), (2, "pending", None), (3, "pending", None)
    ]
    assert document["migrations"][0]["checksum"] == document["migrations"][0]["applied_checksum"]
    assert document["summary"] == {
        "applied": 1, "pending": 2, "changed": 0, "missing": 0, "failed": 0, "problem": 0
    }


def test_status_exit_code_flags_pending_for_ci(project: Project) -> None:
    three_tables(project)
    project.run("status", "--exit-code", code=EXIT_PENDING)
    project.run("migrate")
    project.run("status", "--exit-code", code=0)


def test_status_does_not_create_the_history_table(project: Project) -> None:
    three_tables(project)
    project.run("status")
    assert not project.exists("public.schema_migrations")


def test_pending_migration_older_than_the_newest_applied_is_refused(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    project.run("migrate")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    result = project.run("migrate", code=1)
    assert "0002_b is pending but older than the newest applied migration (0003)" in result.stderr
    assert not project.exists("b")
    project.run("migrate", "--allow-out-of-order")
    assert [v for v, *_ in project.history()] == [1, 2, 3]


def test_sql_with_percent_signs_dollar_quotes_and_semicolons_in_strings(project: Project) -> None:
    project.pair(
        "0001_tricky",
        "CREATE TABLE t (v text);\n"
        "INSERT INTO t VALUES ('50%; off'), ('%s'), ('%(x)s');\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\n"
        "BEGIN RETURN 1; END;\n$body$;\n"
        "DO $$ BEGIN PERFORM f(); END $$;\n",
        "DROP FUNCTION f(); DROP TABLE t;",
    )
    project.run("migrate")
    assert sorted(r[0] for r in project.query("SELECT v FROM t")) == ["%(x)s", "%s", "50%; off"]


def test_crlf_and_bom_files_apply_with_the_normalised_checksum(project: Project) -> None:
    project.write("0001_a.up.sql", b"\xef\xbb\xbfCREATE TABLE a (id int);\r\nSELECT 1;\r\n")
    project.write("0001_a.down.sql", b"DROP TABLE a;\r\n")
    project.run("migrate")
    import hashlib

    expected = hashlib.sha256(b"CREATE TABLE a (id int);\nSELECT 1;\n").hexdigest()
    assert project.history()[0][3] == expected


def test_history_lives_in_the_configured_schema_and_table(project: Project) -> None:
    project.write("sqlmig.toml", 'schema = "app"\ntable = "MigrationLog"\n', directory=".")
    three_tables(project)
    project.query("CREATE SCHEMA app")
    project.run("migrate")
    assert project.query('SELECT count(*) FROM app."MigrationLog"') == [(3,)]
    assert not project.exists("public.schema_migrations")
