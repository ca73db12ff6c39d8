"""Bad files and failing SQL: one clear error naming the file, a non-zero exit, and a database
left as it was."""

from __future__ import annotations

import pytest

from tests.conftest import HISTORY, Project

BAD_FILES = {
    "name not matching the pattern": (
        {"0001_a.up.sql": "SELECT 1;", "0001_a.down.sql": "SELECT 1;",
         "002-b.up.sql": "SELECT 1;"},
        "002-b.up.sql: name does not match",
    ),
    "no name after the version": (
        {"0001.up.sql": "SELECT 1;", "0001.down.sql": "SELECT 1;"},
        "0001.down.sql: name does not match",
    ),
    "duplicate version": (
        {"0001_a.up.sql": "SELECT 1;", "0001_a.down.sql": "SELECT 1;",
         "00001_b.up.sql": "SELECT 1;", "00001_b.down.sql": "SELECT 1;"},
        "duplicate version 1",
    ),
    "up without down": (
        {"0001_a.up.sql": "SELECT 1;"},
        "0001_a.up.sql: has no down file: create 0001_a.down.sql",
    ),
    "down without up": (
        {"0001_a.up.sql": "SELECT 1;", "0001_a.down.sql": "SELECT 1;",
         "0002_b.down.sql": "SELECT 1;"},
        "0002_b.down.sql: down file has no matching up file",
    ),
    "empty up file": (
        {"0001_a.up.sql": "\n  \n", "0001_a.down.sql": "SELECT 1;"},
        "0001_a.up.sql: up file is empty",
    ),
    "non-UTF-8 bytes": (
        {"0001_a.up.sql": b"SELECT 1;\nSELECT 'caf\xe9';\n", "0001_a.down.sql": "SELECT 1;"},
        "0001_a.up.sql:2: is not valid UTF-8",
    ),
    "unknown directive": (
        {"0001_a.up.sql": "-- sqlmig:no-transactions\nSELECT 1;", "0001_a.down.sql": "SELECT 1;"},
        "0001_a.up.sql:1: unknown directive 'sqlmig:no-transactions'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_refused_before_touching_the_database(project: Project, case: str) -> None:
    files, message = BAD_FILES[case]
    project.pair("0000_first", "CREATE TABLE first (id int);", "DROP TABLE first;")
    for name, text in files.items():
        project.write(name, text)
    result = project.run("migrate", code=1)
    assert message in result.stderr
    assert result.stderr.count("\n") <= 2, "one clear error, no traceback"
    assert "Traceback" not in result.stderr
    assert not project.exists("public.schema_migrations")
    assert not project.exists("first")


def test_failing_migration_names_file_line_column_with_caret(project: Project) -> None:
    project.pair("0001_ok", "CREATE TABLE ok (id int);", "DROP TABLE ok;")
    project.pair(
        "0002_broken",
        "-- a comment\nCREATE TABLE half (id int);\nINSERT INTO missing_table VALUES (1);\n",
        "DROP TABLE half;",
    )
    project.pair("0003_later", "CREATE TABLE later (id int);", "DROP TABLE later;")
    result = project.run("migrate", code=1)
    assert "0002_broken.up.sql:3:13: relation \"missing_table\" does not exist" in result.stderr
    assert "    3 | INSERT INTO missing_table VALUES (1);" in result.stderr
    caret_line = result.stderr.splitlines()[2]
    assert caret_line.index("^") == len("    3 | INSERT INTO ")
    assert "42P01" in result.stderr
    # earlier migration stays, the failing one is rolled back and unrecorded, later never ran
    assert [v for v, *_ in project.history()] == [1]
    assert project.tables() == {"ok", "schema_migrations"}


def test_error_position_is_right_after_crlf_and_non_ascii_lines(project: Project) -> None:
    project.pair(
        "0001_x",
        "-- café, naïve, 日本\r\nSELECT 'é' AS ü;\r\nSELECT nope FROM pg_class;\r\n",
        "SELECT 1;",
    )
    result = project.run("migrate", code=1)
    assert "0001_x.up.sql:3:8: column \"nope\" does not exist" in result.stderr


def test_server_detail_and_hint_are_shown(project: Project) -> None:
    project.pair(
        "0001_x",
        "CREATE TABLE p (id int PRIMARY KEY);\nINSERT INTO p VALUES (1), (1);\n",
        "DROP TABLE p;",
    )
    result = project.run("migrate", code=1)
    assert "duplicate key value violates unique constraint" in result.stderr
    assert "detail: Key (id)=(1) already exists." in result.stderr
    assert not project.exists("p")


def test_single_transaction_failure_undoes_the_whole_run(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.pair("0003_c", "CREATE TABLE c (id int); SELECT 1/0;", "DROP TABLE c;")
    result = project.run("migrate", "--single-transaction", code=1)
    assert "error: sql/0003_c.up.sql:1: division by zero" in result.stderr
    assert project.history() == []
    assert project.tables() == {"schema_migrations"}


def test_single_transaction_failure_says_the_migrations_before_it_were_rolled_back(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int); SELECT 1/0;", "DROP TABLE b;")
    result = project.run("migrate", "--single-transaction", code=1)
    assert "note: --single-transaction rolled back: 0001_a (nothing this run applied is " \
        "kept)" in result.stderr
    assert project.history() == []


def test_single_transaction_applies_everything_when_all_succeed(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate", "--single-transaction")
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 1)]


def test_single_transaction_refuses_a_no_transaction_migration(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_idx", "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);",
                 "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY i;")
    result = project.run("migrate", "--single-transaction", code=1)
    assert "cannot include no-transaction migrations: 0002_idx" in result.stderr
    assert not project.exists(HISTORY), "refused before anything was written"
    assert not project.exists("a")


def test_single_transaction_refuses_a_no_transaction_migration_before_any_snapshot(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_idx", "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);",
                 "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY i;")
    result = project.run("migrate", "--single-transaction", "--snapshot", code=1)
    assert "cannot include no-transaction migrations: 0002_idx" in result.stderr
    assert "snapshot:" not in result.stderr
    assert not (project.root / ".sqlmig" / "snapshots").exists()
    assert not project.exists(HISTORY)


def test_no_transaction_migration_runs_statement_by_statement(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int, v text);", "DROP TABLE a;")
    project.pair(
        "0002_idx",
        "-- sqlmig:no-transaction\n"
        "CREATE INDEX CONCURRENTLY a_id_idx ON a (id);\n"
        "CREATE INDEX CONCURRENTLY a_v_idx ON a (v) WHERE v <> ';';\n",
        "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY a_v_idx;\n"
        "DROP INDEX CONCURRENTLY a_id_idx;\n",
    )
    project.run("migrate")
    assert project.exists("a_id_idx") and project.exists("a_v_idx")
    assert [v for v, *_ in project.history()] == [1, 2]
    project.run("rollback", "--steps", "1")
    assert not project.exists("a_id_idx") and not project.exists("a_v_idx")


def test_concurrently_without_the_directive_fails_and_is_rolled_back(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY i ON a (id);",
                 "DROP TABLE a;")
    result = project.run("migrate", code=1)
    assert (
        "error: sql/0001_a.up.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction "
        "block; add `-- sqlmig:no-transaction` as the file's first line"
    ) in result.stderr
    assert not project.exists("a")
    assert not project.exists("public.schema_migrations")


def test_no_transaction_error_maps_to_the_file_line(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair(
        "0002_idx",
        "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);\n\n"
        "CREATE INDEX CONCURRENTLY j ON a (nope);\n",
        "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS j;",
    )
    result = project.run("migrate", code=1)
    assert "0002_idx.up.sql:4: column \"nope\" does not exist" in result.stderr
    assert "    4 | CREATE INDEX CONCURRENTLY j ON a (nope);" in result.stderr
    note = "note: 0002_idx.up.sql runs outside a transaction: statement 1 stays applied"
    assert note in result.stderr
    assert project.query("SELECT version, state, error FROM schema_migrations ORDER BY 1") == [
        (1, "applied", None),
        (2, "failed", "migration failed at statement 2 of 2 (line 4): sql/0002_idx.up.sql:4: "
                      "column \"nope\" does not exist"),
    ]


def test_runtime_error_without_position_names_the_failing_statement_line(
    project: Project,
) -> None:
    project.pair(
        "0001_a",
        "CREATE TABLE a (n int);\n\nINSERT INTO a VALUES (1);\n"
        "UPDATE a\n   SET n = n / 0;\nSELECT 1;\n",
        "DROP TABLE a;",
    )
    result = project.run("migrate", code=1)
    assert "error: sql/0001_a.up.sql:4: division by zero" in result.stderr
    assert "    4 | UPDATE a" in result.stderr


def test_error_inside_a_function_body_shows_the_context(project: Project) -> None:
    project.pair(
        "0001_f",
        "CREATE FUNCTION boom() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  RETURN 1 / 0;\nEND $$;\nSELECT boom();\n",
        "DROP FUNCTION boom();",
    )
    result = project.run("migrate", code=1)
    assert "sql/0001_f.up.sql:5: division by zero" in result.stderr
    assert "context: PL/pgSQL function boom() line 3 at RETURN" in result.stderr


def test_migration_and_its_history_row_commit_together_or_not_at_all(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("up")
    # make recording 0002 fail after its SQL succeeded
    project.query(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.version = 2 THEN RAISE EXCEPTION 'history refuses %', NEW.version; END IF; "
        "RETURN NEW; END $$; "
        "CREATE TRIGGER refuse BEFORE INSERT ON schema_migrations "
        "FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    result = project.run("migrate", code=1)
    assert "0002_b.up.sql: rolled back at commit: history refuses 2" in result.stderr
    assert not project.exists("b")
    assert [v for v, *_ in project.history()] == [1]


def test_deferred_constraint_failing_at_commit_rolls_the_migration_back(project: Project) -> None:
    project.pair(
        "0001_a",
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE c (p_id int REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO c VALUES (42);\n",
        "DROP TABLE c; DROP TABLE p;",
    )
    result = project.run("migrate", code=1)
    assert "rolled back at commit: insert or update on table \"c\"" in result.stderr
    assert not project.exists("p")
    assert project.history() == []


def test_invalid_config_key_is_named_and_the_database_untouched(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.write("sqlmig.toml", 'migration_dir = "db"\n', directory=".")
    result = project.run("migrate", code=2)
    assert "sqlmig.toml: unknown key 'migration_dir'" in result.stderr
    assert not project.exists("public.schema_migrations")


def test_missing_migrations_directory_is_named(project: Project) -> None:
    project.sql_dir.rmdir()
    result = project.run("migrate", code=1)
    assert "sql: migrations directory does not exist" in result.stderr
    assert not project.exists("public.schema_migrations")
