"""What may run inside a transaction, and the per-file and configured time limits."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Project


@pytest.mark.parametrize(
    ("sql", "line", "what"),
    [
        ("CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);", 2, "COMMIT"),
        ("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nSELECT 1;", 1, "BEGIN"),
        ("CREATE TABLE a (id int);\n\nEND;", 3, "END"),
        ("CREATE TABLE a (id int);\nROLLBACK;", 2, "ROLLBACK"),
    ],
)
def test_transaction_control_in_a_transactional_migration_is_refused_with_its_line(
    project: Project, sql: str, line: int, what: str
) -> None:
    project.pair("0001_a", sql, "DROP TABLE IF EXISTS a;")
    result = project.run("migrate", code=1)
    assert f"sql/0001_a.up.sql:{line}: {what} inside a transactional migration" in result.stderr
    assert not project.exists("a")
    assert not project.exists("public.schema_migrations")


def test_savepoints_and_function_bodies_with_begin_are_fine(project: Project) -> None:
    project.pair(
        "0001_a",
        "CREATE TABLE a (id int);\nSAVEPOINT s;\nINSERT INTO a VALUES (1);\n"
        "ROLLBACK TO SAVEPOINT s;\nRELEASE SAVEPOINT s;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n"
        "DO $$ BEGIN PERFORM f(); END $$;\n",
        "DROP FUNCTION f(); DROP TABLE a;",
    )
    project.run("migrate")
    assert project.query("SELECT count(*) FROM a") == [(0,)]


def test_no_transaction_file_may_manage_its_own_transactions(project: Project) -> None:
    project.pair(
        "0001_a",
        "-- sqlmig:no-transaction\nCREATE TABLE a (id int);\nBEGIN;\n"
        "INSERT INTO a VALUES (1);\nCOMMIT;\nCREATE INDEX CONCURRENTLY a_idx ON a (id);\n",
        "-- sqlmig:no-transaction\nDROP TABLE a;",
    )
    project.run("migrate")
    assert project.query("SELECT count(*) FROM a") == [(1,)]
    assert project.exists("a_idx")


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("VACUUM a;", "VACUUM"),
        ("REINDEX (CONCURRENTLY) TABLE a;", "REINDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY IF EXISTS nothing;", "DROP INDEX CONCURRENTLY"),
        ("CREATE DATABASE nope;", "CREATE DATABASE"),
        ("ALTER SYSTEM SET work_mem = '8MB';", "ALTER SYSTEM"),
    ],
)
def test_statements_that_cannot_run_in_a_transaction_need_the_directive(
    project: Project, statement: str, what: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", f"-- maintenance\n{statement}\n", "SELECT 1;")
    result = project.run("migrate", code=1)
    assert f"sql/0002_b.up.sql:2: {what} cannot run inside a transaction block" in result.stderr
    assert not project.exists("a"), "refused before anything ran"


def test_psql_meta_commands_are_refused_with_their_line(project: Project) -> None:
    project.pair(
        "0001_a",
        "-- sqlmig:no-transaction\nCREATE TABLE a (id int);\n\\set ON_ERROR_STOP on\n"
        "SELECT $$\n\\not_a_command\n$$;\n",
        "DROP TABLE a;",
    )
    result = project.run("migrate", code=1)
    assert "sql/0001_a.up.sql:3: psql meta-command \\set: sqlmig runs plain SQL" in result.stderr
    assert not project.exists("a")


def test_statement_timeout_directive_cancels_a_slow_migration(project: Project) -> None:
    project.pair(
        "0001_slow",
        "-- sqlmig:statement-timeout 200ms\nCREATE TABLE a (id int);\nSELECT pg_sleep(5);\n",
        "DROP TABLE a;",
    )
    result = project.run("migrate", code=1)
    assert "sql/0001_slow.up.sql:3: canceling statement due to statement timeout" in result.stderr
    assert not project.exists("a")


def test_lock_timeout_directive_fails_fast_instead_of_queueing(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    project.pair(
        "0002_alter",
        "-- sqlmig:lock-timeout 300ms\nALTER TABLE a ADD COLUMN b int;\n",
        "ALTER TABLE a DROP COLUMN b;",
    )
    with psycopg.connect(project.url) as blocker:
        blocker.execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
        result = project.run("migrate", "--lock-retries", "0", code=1)  # no retries: at once
    assert "sql/0002_alter.up.sql:2: canceling statement due to lock timeout" in result.stderr
    assert [v for v, *_ in project.history()] == [1]


def test_file_timeouts_apply_to_that_file_only(project: Project) -> None:
    project.pair(
        "0001_a",
        "-- sqlmig:lock-timeout 7s\nCREATE TABLE seen AS SELECT current_setting('lock_timeout') v;",
        "DROP TABLE seen;",
    )
    project.pair(
        "0002_b",
        "-- sqlmig:no-transaction\n-- sqlmig:statement-timeout 9s\n"
        "INSERT INTO seen SELECT current_setting('statement_timeout');\n",
        "-- sqlmig:no-transaction\nSELECT 1;",
    )
    project.pair(
        "0003_c",
        "INSERT INTO seen SELECT current_setting('lock_timeout') || '/' || "
        "current_setting('statement_timeout');",
        "SELECT 1;",
    )
    project.write("sqlmig.toml", 'lock_timeout = "3s"\n', directory=".")
    project.run("migrate", "--statement-timeout", "1min")
    assert [r[0] for r in project.query("SELECT v FROM seen")] == ["7s", "9s", "3s/1min"]


def test_bad_timeout_directive_is_a_file_error(project: Project) -> None:
    project.pair("0001_a", "-- sqlmig:lock-timeout soon\nSELECT 1;")
    result = project.run("migrate", code=1)
    assert "0001_a.up.sql:1: sqlmig:lock-timeout needs a duration" in result.stderr


def test_each_migration_starts_from_a_clean_session(project: Project) -> None:
    project.pair(
        "0001_a",
        "CREATE SCHEMA elsewhere;\nSET search_path TO elsewhere, public;\n"
        "CREATE TEMP TABLE scratch (x int);\nSET ROLE NONE;\n",
        "DROP SCHEMA elsewhere;",
    )
    project.pair(
        "0002_b",
        "CREATE TEMP TABLE scratch (x int);\n"
        "CREATE TABLE seen AS SELECT current_setting('search_path') AS path;\n",
        "DROP TABLE seen;",
    )
    project.pair(
        "0003_c",
        "-- sqlmig:no-transaction\nSET search_path TO elsewhere;\n"
        "CREATE TEMP TABLE scratch (x int);\n",
        "-- sqlmig:no-transaction\nSELECT 1;",
    )
    project.pair(
        "0004_d", "INSERT INTO seen SELECT current_setting('search_path');", "SELECT 1;"
    )
    project.run("migrate")
    assert project.exists("public.seen")
    assert [r[0] for r in project.query("SELECT path FROM public.seen")] == [
        '"$user", public', '"$user", public'
    ]
