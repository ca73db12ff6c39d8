"""The linter's advice checked against a real PostgreSQL: what it calls an error really fails or
blocks, and the safer patterns it recommends lint clean and apply to a table that has rows."""

from __future__ import annotations

import json

from tests.conftest import Project

USERS = (
    "CREATE TABLE users (id int PRIMARY KEY, email text);\n"
    "INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 50) g;\n"
)
LOCK = "SET lock_timeout = '5s';\n"


def findings(project: Project) -> list[tuple[str, str, int]]:
    result = project.run("lint", "--json", code=None)
    return [(f["file"], f["rule"], f["line"]) for f in json.loads(result.stdout)["findings"]]


def test_the_recommended_expand_steps_lint_clean_and_apply_to_a_table_with_rows(
    project: Project,
) -> None:
    project.pair("0001_users", USERS, "DROP TABLE users;")
    project.pair("0002_plan", LOCK + "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';",
                 LOCK + "ALTER TABLE users DROP COLUMN plan;")
    project.pair(
        "0003_email_idx",
        "-- sqlmig:no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);",
        "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
    )
    project.pair(
        "0004_email_check",
        LOCK + "ALTER TABLE users ADD CONSTRAINT users_email_present "
        "CHECK (email IS NOT NULL) NOT VALID;",
        LOCK + "ALTER TABLE users DROP CONSTRAINT users_email_present;",
    )
    project.pair("0005_validate",
                 LOCK + "ALTER TABLE users VALIDATE CONSTRAINT users_email_present;", "SELECT 1;")
    project.pair(
        "0006_email_not_null",
        LOCK + "-- the validated check above lets PostgreSQL skip the scan (lint knows it)\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        LOCK + "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    )
    assert findings(project) == []
    project.run("migrate")
    assert project.query("SELECT count(*) FROM users WHERE plan = 'free'") == [(50,)]
    assert project.query(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass "
        "AND attname = 'email'") == [(True,)]
    assert project.exists("users_email_idx")
    project.run("rollback", "--all")
    assert not project.exists("users")


def test_a_not_null_column_without_default_is_a_lint_error_and_really_fails(
    project: Project,
) -> None:
    project.pair("0001_users", USERS, "DROP TABLE users;")
    project.pair("0002_tier", LOCK + "ALTER TABLE users ADD COLUMN tier int NOT NULL;",
                 LOCK + "ALTER TABLE users DROP COLUMN tier;")
    assert findings(project) == [("sql/0002_tier.up.sql", "add-column-not-null", 2)]
    assert project.run("lint", code=5).exit_code == 5
    result = project.run("migrate", code=1)
    assert 'column "tier" of relation "users" contains null values' in result.stderr
    assert [row[0] for row in project.history()] == [1]


def test_a_down_that_forgets_an_object_is_found_by_lint_offline_and_by_check_online(
    project: Project,
) -> None:
    project.pair("0001_users", USERS + "CREATE INDEX users_email_idx ON users (email);",
                 "DROP INDEX users_email_idx;")
    assert findings(project) == [("sql/0001_users.up.sql", "down-does-not-drop", 1)]
    result = project.run("check", code=None)
    assert result.exit_code != 0 and "users" in result.stdout + result.stderr


def test_against_a_server_a_small_table_index_is_a_note_and_a_large_ones_an_error(
    project: Project,
) -> None:
    project.query("CREATE TABLE tiny (id int); CREATE TABLE busy (id int);"
                  "INSERT INTO tiny SELECT generate_series(1, 100);"
                  "INSERT INTO busy SELECT generate_series(1, 20000);"
                  "ANALYZE tiny; ANALYZE busy; CREATE TABLE fresh (id int)")
    project.pair("0001_idx", LOCK + "CREATE INDEX tiny_idx ON tiny (id);\n"
                 "CREATE INDEX busy_idx ON busy (id);\nCREATE INDEX fresh_idx ON fresh (id);",
                 LOCK + "DROP INDEX tiny_idx, busy_idx, fresh_idx;")
    result = project.run("lint", "--json", "--against", project.url, code=5)
    found = {f["line"]: (f["severity"], f["message"])
             for f in json.loads(result.stdout)["findings"] if f["file"].endswith(".up.sql")}
    assert found[2][0] == "info" and "tiny: about 100 rows on the --against server" in found[2][1]
    assert found[3] == ("error", found[3][1]) and found[3][1].endswith("(busy: about 20,000 rows)")
    assert found[4][0] == "info" and "fresh: about 0 rows" in found[4][1]  # empty for sure
    assert project.run("lint", "--json", code=5).stdout.count('"error"') == 3  # without: all


def test_against_reads_the_servers_version_unless_pg_version_says(
    project: Project, pg15_admin_url: str,
) -> None:
    project.pair("0001_total", LOCK + "ALTER TABLE items ADD COLUMN total int "
                 "GENERATED ALWAYS AS (price * 2) VIRTUAL;",
                 LOCK + "ALTER TABLE items DROP COLUMN total;")

    def rules(*args: str) -> list[str]:
        result = project.run("lint", "--json", *args, code=None)
        return [f["rule"] for f in json.loads(result.stdout)["findings"]]

    # computed on read from PostgreSQL 18; before it (the matrix's 13-17) a stored rewrite
    major = int(project.query("SHOW server_version_num")[0][0]) // 10000
    assert rules("--against", project.url) == (
        [] if major >= 18 else ["add-column-volatile-default"])
    assert rules("--against", pg15_admin_url) == ["add-column-volatile-default"]
    assert rules("--against", pg15_admin_url, "--pg-version", "18") == []


def test_against_an_unreachable_server_is_one_line_without_the_password(
    project: Project,
) -> None:
    result = project.run("lint", "--against", "postgresql://u:s3cretpw@127.0.0.1:1/x", code=1)
    assert "cannot connect to u@127.0.0.1:1/x" in result.stderr
    assert "s3cretpw" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 2
