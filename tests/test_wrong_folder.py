"""sqlmig run outside a project (no migrations folder): one line saying so, before any
embedded server starts or any connection is made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlmig.cli import app
from tests.conftest import HISTORY, Project

NEEDS_MIGRATIONS = [
    ["migrate"], ["up"], ["rollback"], ["redo"], ["status"], ["verify"], ["plan"], ["check"],
    ["migrate", "--dry-run"], ["fresh"], ["reset"], ["repair", "--all-changed"],
    ["baseline", "--version", "1"], ["seed"], ["setup"], ["lint"],
]
READS_THE_DATABASE_ONLY = [["dump"], ["docs"]]


@pytest.mark.parametrize("args", NEEDS_MIGRATIONS + READS_THE_DATABASE_ONLY, ids=" ".join)
def test_outside_a_project_nothing_starts_and_one_line_says_why(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("DATABASE_URL", "DATABASE_URL_TEST", "SQLMIG_ENV", "MIGRATION_DIRECTORY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: sql: migrations directory does not exist (in {tmp_path}); run `sqlmig init` "
        "to start a project there, or run sqlmig from the project's folder"
    ]
    assert not (tmp_path / ".sqlmig").exists()  # the embedded server never started


def test_a_configured_migrations_dir_that_is_missing_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sqlmig.toml").write_text('migrations_dir = "db/migrations"\n')
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: db/migrations: migrations directory does not exist")
    assert not (tmp_path / ".sqlmig").exists()


def test_with_a_database_url_the_database_is_left_untouched(project: Project) -> None:
    shutil.rmtree(project.sql_dir)
    for args in NEEDS_MIGRATIONS:  # one database for all: each command must leave it as it is
        result = project.run(*args, code=1)
        assert "migrations directory does not exist" in result.stderr, args
    assert not project.exists(HISTORY) and not project.exists("public.sqlmig_metadata")
