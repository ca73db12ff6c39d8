"""Projects as people bring them from other tools: comment-only migrations kept so the
numbering stays whole, names and version widths golang-migrate accepts."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import Project

NO_OP = "-- The backfill moved into application code; kept so numbering stays whole.\n"


def test_a_comment_only_migration_is_applied_recorded_and_rolled_back(project: Project) -> None:
    project.pair("001_create_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    project.pair("002_Backfill-Users", NO_OP, "-- nothing to undo\n")
    project.pair("003_no_tx_no_op", "-- sqlmig:no-transaction\n" + NO_OP, "-- nothing to undo\n")
    project.pair("20240101120000_add.email", "ALTER TABLE users ADD COLUMN email text;",
                 "ALTER TABLE users DROP COLUMN email;")
    result = project.run("migrate")
    assert "applied 4 migrations" in result.stdout
    history = project.history()
    assert [(v, n) for v, n, _, _ in history] == [
        (1, "create_users"), (2, "Backfill-Users"), (3, "no_tx_no_op"),
        (20240101120000, "add.email")]
    assert history[1][3] == hashlib.sha256(NO_OP.encode()).hexdigest()
    status = project.run("status").stdout
    assert "002" in status and "Backfill-Users" in status and "20240101120000" in status
    project.run("rollback", "--all")
    assert project.history() == []
    assert project.tables() == {"schema_migrations"}


def test_new_keeps_the_numbering_the_folder_uses(project: Project) -> None:
    project.pair("001_first", "SELECT 1;")
    project.run("new", "second")
    assert sorted(p.name for p in project.sql_dir.glob("002_*")) == [
        "002_second.down.sql", "002_second.up.sql"]
    for path in project.sql_dir.iterdir():
        path.unlink()
    project.pair("20240101120000_first", "SELECT 1;")
    project.run("new", "second")
    [up] = project.sql_dir.glob("*_second.up.sql")
    stamp = up.name.split("_")[0]
    assert len(stamp) == 14 and stamp > "20240101120000"


def test_verify_offline_reports_everything_migrate_would_refuse_at_once(project: Project) -> None:
    """The pre-commit hook passes only files migrate then runs: every refusal, every file."""
    project.pair("0001_index", "CREATE INDEX CONCURRENTLY users_idx ON users (id);",
                 "DROP INDEX users_idx;")
    project.pair("0002_two_transactions", "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\nBEGIN;\n"
                 "CREATE TABLE u (id int);\nCOMMIT;\n", "DROP TABLE t, u;")
    project.pair("0003_down_vacuums", "SELECT 1;", "SELECT 1;\nVACUUM;")
    project.pair("0004_fine", "SELECT 1;", "SELECT 1;")
    result = project.run("verify", "--offline", "--json", code=1)
    problems = json.loads(result.stdout)["problems"]
    messages = " | ".join(p["message"] for p in problems)
    assert "0001_index.up.sql:1" in messages and "CREATE INDEX CONCURRENTLY" in messages
    assert all(f"0002_two_transactions.up.sql:{line}" in messages for line in (1, 3, 4, 6))
    assert "0003_down_vacuums.down.sql:2" in messages and "VACUUM" in messages
    assert "0004" not in messages
    migrate = project.run("migrate", code=None)
    assert migrate.exit_code != 0 and not project.exists("public.schema_migrations")


@pytest.mark.parametrize("statement", [
    "DROP TABLE IF EXISTS schema_migrations;",
    "DROP TABLE public.schema_migrations, other;",
    "ALTER TABLE schema_migrations RENAME TO old_migrations;",
])
def test_a_migration_dropping_a_table_named_like_the_history_table_is_refused_with_why(
    project: Project, statement: str,
) -> None:
    """golang-migrate's and dbmate's history tables are also called schema_migrations; a
    migration that cleans one up must not meet `relation ... does not exist`."""
    project.pair("0001_first", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.pair("0002_drop_old_tool", f"-- the old tool's table goes\n{statement}\n")
    result = project.run("migrate", code=1)
    assert "0002_drop_old_tool.up.sql:2:" in result.stderr
    assert "sqlmig's history table (public.schema_migrations)" in result.stderr
    assert 'table = "sqlmig_migrations"' in result.stderr
    assert not project.exists("public.schema_migrations") and project.tables() == set()


def test_a_table_merely_sharing_the_name_in_another_schema_is_not_refused(
    project: Project,
) -> None:
    project.pair("0001_other", "CREATE SCHEMA legacy;\n"
                 "CREATE TABLE legacy.schema_migrations (v int);\n"
                 "DROP TABLE legacy.schema_migrations;", "DROP SCHEMA legacy;")
    project.run("migrate")
    assert [row[0] for row in project.history()] == [1]


def test_migrate_refuses_a_folder_in_diesels_layout_instead_of_finding_nothing(
    project: Project,
) -> None:
    project.write("2019-01-01-000000_create_users/up.sql", "CREATE TABLE users (id int);")
    project.write("2019-01-01-000000_create_users/down.sql", "DROP TABLE users;")
    result = project.run("migrate", code=1)
    assert "2019-01-01-000000_create_users: is a migration in a folder of its own" in result.stderr
    assert "up to date" not in result.stdout
    assert not project.exists("public.schema_migrations")


WRAPPED = "-- golang-migrate sends a file as one query\nBEGIN;\n{body}\nCOMMIT;\n"


def test_a_file_wrapped_in_begin_commit_runs_as_one_transaction_with_its_history_row(
    project: Project,
) -> None:
    project.pair("0001_a", WRAPPED.format(body="CREATE TABLE a (id int);"),
                 WRAPPED.format(body="DROP TABLE a;"))
    project.pair("0002_b", WRAPPED.format(body="CREATE TABLE b (id int);"), "DROP TABLE b;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    assert "transaction-control" not in project.run("lint").stdout
    project.run("migrate", "--dry-run")
    assert not project.exists("public.schema_migrations")
    project.run("migrate")
    assert [row[0] for row in project.history()] == [1, 2, 3]
    project.run("rollback", "--all")
    assert project.history() == [] and project.tables() == {"schema_migrations"}
    project.run("migrate", "--single-transaction")
    assert [row[0] for row in project.history()] == [1, 2, 3]


def test_a_failure_inside_a_wrapped_file_keeps_nothing_and_names_its_line(
    project: Project,
) -> None:
    project.pair("0001_ok", "CREATE TABLE ok (id int);", "DROP TABLE ok;")
    project.pair("0002_divides", WRAPPED.format(
        body="CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1/0;"))
    result = project.run("migrate", code=1)
    assert "0002_divides.up.sql:5: division by zero" in result.stderr
    assert [row[0] for row in project.history()] == [1]
    assert not project.exists("public.half")
    project.pair("0002_divides", WRAPPED.format(body="INSERT INTO missing VALUES (1);"))
    result = project.run("migrate", code=1)
    assert "0002_divides.up.sql:3:13: relation \"missing\" does not exist" in result.stderr


def test_migrate_names_every_file_it_refuses_at_once(project: Project) -> None:
    project.pair("0001_two", "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n")
    project.pair("0002_index", "CREATE INDEX CONCURRENTLY i ON t (id);")
    result = project.run("migrate", code=1)
    assert "refusing to run: 5 problems" in result.stderr
    for where in ("0001_two.up.sql:1:", "0001_two.up.sql:6:", "0002_index.up.sql:1:"):
        assert where in result.stderr
    assert not project.exists("public.schema_migrations")
    verify = project.run("verify", code=1)
    assert "0002_index.up.sql:1" in verify.stdout


def test_lint_reports_a_layout_problem_as_a_finding_and_still_lints_every_other_file(
    project: Project,
) -> None:
    project.pair("0001_fine", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.pair("0002_index", "CREATE INDEX t_idx ON t (id);", "DROP INDEX t_idx;")
    project.write("0003-no-separator.up.sql", "SELECT 1;")
    project.pair("0004_empty", "\n", "SELECT 1;")
    result = project.run("lint", "--json", code=5)
    findings = json.loads(result.stdout)["findings"]
    found = {(f["rule"], f["file"].rsplit("/", 1)[-1]) for f in findings}
    assert found == {("file-problem", "0003-no-separator.up.sql"),
                     ("file-problem", "0004_empty.up.sql"),
                     ("index-not-concurrent", "0002_index.up.sql"),
                     ("lock-timeout-missing", "0002_index.up.sql")}


def test_lint_notes_a_no_op_migration_at_info_level_and_passes(project: Project) -> None:
    project.pair("0001_kept", NO_OP, "-- nothing to undo\n")
    result = project.run("lint", "--json")
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["severity"]) == ("no-op-migration", "info")


def test_a_no_op_note_is_a_notice_on_github_and_counted_apart(project: Project) -> None:
    project.pair("0001_kept", NO_OP, "-- nothing to undo\n")
    github = project.run("lint", "--format", "github").stdout
    assert github.startswith("::notice file=sql/0001_kept.up.sql,line=1,title=sqlmig no-op")
    assert "0 errors, 0 warnings, 1 note" in project.run("lint").stdout


def test_status_shows_a_file_problem_on_its_row_and_fails_only_with_exit_code(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_kept", NO_OP, "-- nothing to undo\n")
    project.run("migrate")
    project.pair("0003_c", "CREATE TABLE c (id int);", None)  # its down file forgotten
    project.write("0004-d.up.sql", "SELECT 1;")
    printed = project.run("status").stdout
    lines = printed.splitlines()
    assert any(line.split()[:3] == ["0002", "kept", "applied"] and "(no-op)" in line
               for line in lines)
    [row] = [line for line in lines if line.startswith("0003")]
    assert "problem: has no down file: create 0003_c.down.sql" in row
    assert "problem: sql/0004-d.up.sql: name does not match" in printed
    assert "1 problem" in printed
    project.run("status", "--exit-code", code=3)
    document = json.loads(project.run("status", "--json").stdout)
    by_version = {m["version"]: m for m in document["migrations"]}
    assert by_version[3]["state"] == "problem" and by_version[2]["no_op"] is True
    assert len(document["problems"]) == 2
