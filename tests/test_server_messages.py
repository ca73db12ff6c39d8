"""What the server says while a migration runs: warnings always, notices with --verbose, each
naming the migration that raised it; sqlmig's own progress notice never."""

from __future__ import annotations

from tests.conftest import Project


def raise_(level: str, text: str) -> str:
    return f"DO $$BEGIN RAISE {level} '{text}'; END$$;"


def test_warnings_are_shown_and_notices_only_with_verbose(project: Project) -> None:
    for version in range(1, 11):
        up = f"CREATE TABLE t{version} (id int);"
        if version == 7:
            up += "\n" + raise_("WARNING", "seven is careful")
        if version == 8:
            up += "\nCREATE TABLE " + "x" * 70 + " (id int);"  # NOTICE: identifier truncated
        down = f"DROP TABLE t{version};" + (f"\nDROP TABLE {'x' * 63};" if version == 8 else "")
        project.pair(f"{version:04d}_m{version}", up, down)
    project.pair("0011_concurrently", "-- sqlmig:no-transaction\n"
                 "CREATE INDEX CONCURRENTLY t1_idx ON t1 (id);\n"
                 + raise_("WARNING", "eleven warns outside a transaction"), "SELECT 1;")
    quiet = project.run("migrate").stderr
    assert "warning from 0007_m7.up.sql: seven is careful" in quiet
    assert "warning from 0011_concurrently.up.sql: eleven warns outside a transaction" in quiet
    assert "truncated" not in quiet and "sqlmig: committed" not in quiet
    project.run("rollback", "--all")
    verbose = project.run("--verbose", "migrate").stderr
    assert "warning from 0007_m7.up.sql: seven is careful" in verbose
    assert ("notice from 0008_m8.up.sql: identifier \"" + "x" * 70 + "\" will be truncated"
            in verbose)
    assert "sqlmig: committed" not in verbose


def test_a_warning_in_a_single_transaction_run_names_its_migration(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", raise_("WARNING", "b speaks"), "SELECT 1;")
    stderr = project.run("migrate", "--single-transaction").stderr
    assert "warning from 0002_b.up.sql: b speaks" in stderr
