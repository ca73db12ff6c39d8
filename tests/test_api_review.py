"""The review commands called as Python functions, no CLI: each returns what it found, and
what the database holds is checked through a separate connection."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from sqlmig import commands
from sqlmig.core.config import Settings, resolve
from sqlmig.errors import ConfigError
from sqlmig.reporting import SilentReporter
from tests import provision
from tests.conftest import HISTORY, Project

QUIET = SilentReporter()


def settings_of(project: Project, env: str = "development") -> Settings:
    return resolve(root=project.root, env=env, database_url=project.url)


def two_tables(project: Project) -> None:
    project.pair("0001_create_a", "CREATE TABLE a (id int PRIMARY KEY);", "DROP TABLE a;")
    project.pair("0002_create_b", "CREATE TABLE b (id int REFERENCES a (id));",
                 "DROP TABLE b;")


def offline(root: Path) -> Settings:
    """Settings from defaults alone: no database, whatever this process's environment says."""
    return resolve(root=root, environ={}, require_url=False)


def test_lint_of_a_named_up_returns_its_findings_and_its_downs(tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    up = sql / "0001_idx.up.sql"
    up.write_text("-- sqlmig:lock-timeout 5s\nCREATE INDEX users_email_idx ON users (email);\n")
    (sql / "0001_idx.down.sql").write_text(
        "SET lock_timeout = '5s';\nALTER TABLE users RENAME COLUMN a TO b;\n"
        "DROP INDEX users_email_idx;\n"
    )
    settings = offline(tmp_path)
    findings = commands.lint(settings, [up])
    assert [(f.rule, f.severity, f.path.name, f.line) for f in findings] == [
        ("rename-column", "warning", "0001_idx.down.sql", 2),
        ("index-not-concurrent", "error", "0001_idx.up.sql", 2),
    ]
    assert commands.lint(settings, [up], disable=["rename-column", "index-not-concurrent"]) == []


def test_lint_refuses_an_unknown_rule_before_reading_any_file(tmp_path: Path) -> None:
    settings = offline(tmp_path)
    with pytest.raises(ConfigError, match="unknown rule"):
        commands.lint(settings, [tmp_path / "missing.sql"], disable=["no-such-rule"])


def test_plan_returns_the_pending_steps_and_applies_nothing(project: Project) -> None:
    two_tables(project)
    settings = settings_of(project)
    commands.migrate(settings, QUIET, to=1)
    planned = commands.plan(settings, QUIET)
    assert [(s.migration.version, s.direction, s.batch) for s in planned.steps] == [(2, "up", 2)]
    assert planned.later == []
    assert [v for v, *_ in project.history()] == [1]


def test_dump_returns_the_schema_text_without_sqlmigs_tables(project: Project) -> None:
    two_tables(project)
    settings = settings_of(project)
    commands.migrate(settings, QUIET)
    text = commands.dump(settings, QUIET)
    assert "CREATE TABLE public.a" in text and "CREATE TABLE public.b" in text
    assert "schema_migrations" not in text
    assert not (project.root / settings.schema_file).exists()  # returned, not written


def test_docs_returns_markdown_of_the_tables(project: Project) -> None:
    two_tables(project)
    settings = settings_of(project)
    commands.migrate(settings, QUIET)
    text = commands.docs(settings, QUIET)
    assert text.startswith("# Database schema (development)\n")
    assert "## public.a" in text and "| id | integer | no |" in text


def test_check_hears_each_round_trip_and_reports_ok(project: Project) -> None:
    two_tables(project)
    heard: list[int] = []
    report = commands.check(settings_of(project), QUIET,
                            on_result=lambda check: heard.append(check.migration.version))
    assert report.ok and heard == [1, 2]
    assert not project.exists(HISTORY)  # the target was not touched


def test_diff_names_a_url_side_by_its_target_and_an_environment_by_its_name(
    project: Project, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = provision.create_database(pg_admin_url)
    try:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE only_there (id int)")
        monkeypatch.setenv("DATABASE_URL_TEST", other)
        compared = commands.diff(settings_of(project), QUIET, project.url, "test")
    finally:
        provision.drop_database(pg_admin_url, other)
    assert compared.target == "test" and "@" in compared.source
    assert not compared.same
    assert [(d.kind, d.name, d.change) for d in compared.differences] == [
        ("table", "public.only_there", "added"),
        ("column", "public.only_there.id", "added"),
    ]


def test_snapshots_lists_one_environments_backups_or_every_one(project: Project) -> None:
    folder = project.root / ".sqlmig" / "snapshots"
    folder.mkdir(parents=True)
    for name in ("development-20260101T000000-v3.dump", "staging-20260101T000000-v3.dump"):
        (folder / name).write_bytes(b"x" * 10)
    [mine] = commands.snapshots(settings_of(project))
    assert (mine.file, mine.environment, mine.size) == (
        ".sqlmig/snapshots/development-20260101T000000-v3.dump", "development", 10
    )
    assert mine.restore.endswith(str(mine.path))
    assert [s.environment for s in commands.snapshots()] == ["development", "staging"]
