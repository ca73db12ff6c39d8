"""sqlmig's Python API called directly, as a test suite or a fleet runner would: the commands
functions take Settings and a reporter and return data, against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlmig import commands
from sqlmig.core.config import Settings, resolve
from sqlmig.core.plan import State
from sqlmig.errors import MigrationFailed, PlanError
from sqlmig.reporting import SilentReporter
from tests.conftest import Project


def settings(project: Project) -> Settings:
    return resolve(root=project.root, database_url=project.url)


def two_tables(project: Project) -> None:
    project.pair("0001_create_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_create_b", "CREATE TABLE b (id int);", "DROP TABLE b;")


def test_status_of_a_database_sqlmig_never_touched_has_no_history_table(
    project: Project,
) -> None:
    status = commands.status(settings(project), SilentReporter())
    assert status.rows == []
    assert not status.history_table
    assert status.clean
    assert status.counts == {"applied": 0, "pending": 0, "changed": 0, "missing": 0,
                             "failed": 0, "problem": 0}
    assert not project.exists("public.schema_migrations")  # a read command creates nothing


def test_status_tells_an_emptied_history_table_from_none(project: Project) -> None:
    two_tables(project)
    commands.migrate(settings(project), SilentReporter())
    commands.rollback(settings(project), SilentReporter(), everything=True)
    status = commands.status(settings(project), SilentReporter())
    assert status.history_table
    assert [(row.version, row.state) for row in status.rows] == [
        (1, State.PENDING), (2, State.PENDING)
    ]


def test_status_returns_each_migration_with_its_state_and_the_counts(project: Project) -> None:
    two_tables(project)
    commands.migrate(settings(project), SilentReporter(), to=1)
    status = commands.status(settings(project), SilentReporter())
    assert [(row.id, row.state) for row in status.rows] == [
        ("0001_create_a", State.APPLIED), ("0002_create_b", State.PENDING)
    ]
    assert status.rows[0].applied is not None and status.rows[0].applied.batch == 1
    assert status.counts["applied"] == 1 and status.counts["pending"] == 1
    assert not status.clean
    assert status.env == "development" and status.invalid == []
    assert status.stale_schema_file is None


def test_verify_returns_no_problems_when_files_and_history_agree(project: Project) -> None:
    two_tables(project)
    commands.migrate(settings(project), SilentReporter())
    verification = commands.verify(settings(project), SilentReporter())
    assert verification.ok
    assert verification.problems == [] and verification.edits == {}


def test_verify_with_diff_returns_the_edit_of_an_applied_migration(project: Project) -> None:
    two_tables(project)
    commands.migrate(settings(project), SilentReporter())
    project.write("0001_create_a.up.sql", "CREATE TABLE a (id bigint);")
    plain = commands.verify(settings(project), SilentReporter())
    assert [(p.kind, p.version) for p in plain.problems] == [("changed", 1)]
    assert plain.edits == {}
    edit = commands.verify(settings(project), SilentReporter(), diff=True).edits[1]
    assert (edit.name, edit.applied, edit.current) == (
        "0001_create_a", "CREATE TABLE a (id int);", "CREATE TABLE a (id bigint);"
    )


def test_verify_offline_reads_only_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "0001_a.up.sql").write_text("SELEC 1;", encoding="utf-8")
    (tmp_path / "sql" / "0001_a.down.sql").write_text("SELECT 1;", encoding="utf-8")
    offline = resolve(root=tmp_path, env="production", require_url=False)
    verification = commands.verify(offline, SilentReporter(), offline=True)
    assert [p.kind for p in verification.problems] == ["file"]
    assert "syntax error" in verification.problems[0].message


def test_repair_removes_a_failed_record_and_reports_each_change(project: Project) -> None:
    project.pair("0001_create_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_broken", "-- sqlmig:no-transaction\nCREATE TABLE b (id int);\n"
                 "SELECT 1/0;", "DROP TABLE b;")
    with pytest.raises(MigrationFailed):
        commands.migrate(settings(project), SilentReporter())
    result = commands.repair(settings(project), SilentReporter())
    assert len(result.changes) == 1 and "removed the failed record of 0002_broken" in (
        result.changes[0]
    )
    assert result.invalid == []
    assert [v for v, *_ in project.history()] == [1]
    assert commands.repair(settings(project), SilentReporter()).changes == []


def test_repair_accepts_an_edited_checksum_only_when_asked(project: Project) -> None:
    two_tables(project)
    commands.migrate(settings(project), SilentReporter())
    project.write("0002_create_b.up.sql", "CREATE TABLE b (id bigint);")
    assert commands.repair(settings(project), SilentReporter()).changes == []
    result = commands.repair(settings(project), SilentReporter(), accept=[2])
    assert result.changes[0].startswith("accepted the edited 0002_create_b")
    assert commands.verify(settings(project), SilentReporter()).ok


def test_baseline_records_migrations_as_applied_without_running_them(project: Project) -> None:
    two_tables(project)
    result = commands.baseline(settings(project), SilentReporter(), 1)
    assert result.changes == ["baselined 0001_create_a (recorded as applied, not run)"]
    assert not project.exists("public.a")
    rows = commands.status(settings(project), SilentReporter()).rows
    assert rows[0].applied is not None and rows[0].applied.baseline
    assert rows[1].state == State.PENDING


def test_init_writes_the_scaffold_and_never_overwrites(tmp_path: Path) -> None:
    written = commands.init(tmp_path / "service")
    assert (tmp_path / "service" / "sqlmig.toml", "created") in written
    assert all(path.is_file() for path, _ in written)
    with pytest.raises(PlanError, match="init never overwrites"):
        commands.init(tmp_path / "service")


def test_config_says_where_each_value_came_from(project: Project) -> None:
    values = {value.key: value for value in commands.config(settings(project))}
    assert values["database_url"].source == "--database-url"
    assert (values["table"].value, values["table"].source) == ("schema_migrations", "default")
