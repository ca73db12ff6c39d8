"""verify, repair, baseline, requires, and validate-on-migrate, end to end."""

from __future__ import annotations

import json

from tests.conftest import Project


def two(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")


def test_verify_is_quiet_when_files_and_history_agree(project: Project) -> None:
    two(project)
    project.run("migrate")
    result = project.run("verify")
    assert "ok: files and history agree (2 migrations in files, 2 applied)" in result.stdout
    assert json.loads(project.run("verify", "--json").stdout) == {"ok": True, "problems": []}


def test_verify_reports_an_edited_applied_migration_with_both_checksums_and_the_diff(
    project: Project,
) -> None:
    two(project)
    project.run("migrate")
    old = project.history()[0][3]
    project.write("0001_a.up.sql", "CREATE TABLE a (id bigint);")
    result = project.run("verify", "--diff", code=1)
    assert f"0001_a was applied with checksum {old[:12]}" in result.stdout
    assert "repair --accept 1" in result.stdout
    assert "-CREATE TABLE a (id int);" in result.stdout
    assert "+CREATE TABLE a (id bigint);" in result.stdout
    document = json.loads(project.run("verify", "--json", "--diff", code=1).stdout)
    [problem] = document["problems"]
    assert problem["kind"] == "changed" and problem["version"] == 1
    assert problem["recorded_checksum"] == old
    assert problem["current_checksum"] != old
    assert "+CREATE TABLE a (id bigint);" in problem["diff"]


def test_verify_reports_every_problem_at_once(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    project.pair("0004_d", "CREATE TABLE d (id int);", "DROP TABLE d;")
    project.run("migrate")
    project.write("0001_a.up.sql", "CREATE TABLE a (id bigint);")  # changed
    for suffix in ("up", "down"):
        (project.sql_dir / f"0004_d.{suffix}.sql").unlink()  # missing
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")  # out of order
    project.write("0005_e.up.sql", "SELECT 1;")  # no down file
    project.pair("0006_f", "SELECT 1;")
    project.pair("0006_g", "SELECT 1;")  # duplicate version
    document = json.loads(project.run("verify", "--json", code=1).stdout)
    kinds = sorted((p["kind"], p["version"]) for p in document["problems"])
    assert kinds == [
        ("changed", 1), ("file", None), ("file", None), ("missing", 4), ("out_of_order", 2)
    ]
    messages = " ".join(p["message"] for p in document["problems"])
    assert "0005_e.up.sql: has no down file" in messages
    assert "duplicate version 6" in messages


def test_migrate_refuses_on_drift_naming_it_and_runs_nothing(project: Project) -> None:
    two(project)
    project.run("up")
    project.write("0001_a.up.sql", "CREATE TABLE a (id bigint);")
    result = project.run("migrate", code=1)
    assert "refusing to run: 1 problem (see `sqlmig verify`)" in result.stderr
    assert "0001_a was applied with checksum" in result.stderr
    assert not project.exists("b")
    project.run("rollback", code=1)
    assert project.exists("a")


def test_repair_accepts_an_edited_checksum_only_when_asked(project: Project) -> None:
    two(project)
    project.run("migrate")
    project.write("0001_a.up.sql", "CREATE TABLE a (id int); -- reformatted")
    result = project.run("repair")
    assert "nothing to repair" in result.stdout
    project.run("verify", code=1)
    result = project.run("repair", "--accept", "1")
    assert "accepted the edited 0001_a" in result.stdout
    project.run("verify")
    import hashlib

    expected = hashlib.sha256(b"CREATE TABLE a (id int); -- reformatted").hexdigest()
    assert project.history()[0][3] == expected


def test_repair_all_changed_and_refusing_an_unchanged_version(project: Project) -> None:
    two(project)
    project.run("migrate")
    result = project.run("repair", "--accept", "2", code=1)
    assert "0002_b is applied, not changed" in result.stderr
    project.write("0001_a.up.sql", "CREATE TABLE a (id int);\n")
    project.write("0002_b.up.sql", "CREATE TABLE b (id int);\n")
    result = project.run("repair", "--all-changed")
    assert result.stdout.count("accepted the edited") == 2
    project.run("verify")


def test_baseline_records_without_running_then_migrate_applies_the_rest(
    project: Project,
) -> None:
    project.query("CREATE TABLE a (id int)")  # the existing database being adopted
    two(project)
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    result = project.run("baseline", "--version", "2")
    assert "baselined 0001_a" in result.stdout and "baselined 0002_b" in result.stdout
    rows = project.query(
        "SELECT version, batch, baseline, state FROM schema_migrations ORDER BY version"
    )
    assert rows == [(1, 0, True, "applied"), (2, 0, True, "applied")]
    assert not project.exists("b")  # recorded, not run
    project.run("migrate")
    assert project.exists("c")
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 0), (2, 0), (3, 1)]


def test_baseline_takes_a_version_no_file_has_and_says_which_files_it_covers(
    project: Project,
) -> None:
    two(project)
    project.pair("0020_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    result = project.run("baseline", "--version", "12")
    assert "records 2 migrations (0001_a to 0002_b, every file numbered 12 or lower) as " \
        "applied without running them" in result.stdout
    assert [v for v, *_ in project.history()] == [1, 2]
    project.run("migrate")
    assert [v for v, *_ in project.history()] == [1, 2, 20] and project.exists("c")


def test_status_marks_baselined_rows_apart_from_applied_ones(project: Project) -> None:
    project.query("CREATE TABLE a (id int)")
    two(project)
    project.run("baseline", "--version", "1")
    project.run("migrate")
    lines = project.run("status").stdout.splitlines()
    assert "applied (baseline)" in next(line for line in lines if line.startswith("0001"))
    row_b = next(line for line in lines if line.startswith("0002"))
    assert "applied" in row_b and "baseline" not in row_b
    rows = json.loads(project.run("status", "--json").stdout)["migrations"]
    assert [(r["version"], r["state"], r["baseline"]) for r in rows] == [
        (1, "applied", True), (2, "applied", False)
    ]


def test_baseline_refuses_a_non_empty_history(project: Project) -> None:
    two(project)
    project.run("up")
    result = project.run("baseline", "--version", "2", code=1)
    assert "baseline needs an empty history" in result.stderr
    assert len(project.history()) == 1


def test_requires_directive_must_name_an_older_known_version(project: Project) -> None:
    project.pair("0001_a", "-- sqlmig:requires 0009\nSELECT 1;")
    result = project.run("migrate", code=1)
    assert "0001_a.up.sql: sqlmig:requires 0009" in result.stderr
    assert not project.exists("public.schema_migrations")


def test_a_failed_no_transaction_migration_blocks_until_repaired(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair(
        "0002_idx",
        "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (id);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS b_idx ON a (missing);\n",
        "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS b_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS a_idx;\n",
    )
    project.run("migrate", code=1)
    status = project.run("status", "--exit-code", code=3)
    assert "failed" in status.stdout
    result = project.run("migrate", code=1)
    assert "0002_idx did not finish (migration failed at statement 2 of 2 (line 3)" in result.stderr
    assert "`sqlmig repair`" in result.stderr
    # the person fixes the file (and would fix the database), then repairs
    project.write(
        "0002_idx.up.sql",
        "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (id);\n",
    )
    result = project.run("repair")
    assert "removed the failed record of 0002_idx" in result.stdout
    project.run("migrate")
    assert project.query("SELECT version, state FROM schema_migrations ORDER BY 1") == [
        (1, "applied"), (2, "applied")
    ]


def test_rollback_on_failure_leaves_the_database_as_before_the_command(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    project.pair("0004_bad", "SELECT 1/0;", "SELECT 1;")
    result = project.run("migrate", "--rollback-on-failure", code=1)
    assert "note: --rollback-on-failure undid: 0003_c, 0002_b" in result.stderr
    assert [v for v, *_ in project.history()] == [1]
    assert project.tables() == {"a", "schema_migrations"}


def test_without_rollback_on_failure_earlier_migrations_of_the_run_stay(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_bad", "SELECT 1/0;", "SELECT 1;")
    project.run("migrate", code=1)
    assert [v for v, *_ in project.history()] == [1]
