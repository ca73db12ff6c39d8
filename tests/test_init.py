"""`sqlmig init` in the user's own project: the .gitignore lines it needs (added once, never
duplicated). Checked with git itself, which decides what a commit would take."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlmig.cli import app
from sqlmig.core import scaffold


def init(root: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["init", str(root), *args])
    assert result.exit_code == code, result.stdout + result.stderr
    return result.stdout + result.stderr


def ignored(root: Path, *paths: str) -> set[str]:
    """Which of `paths` git would leave out of a commit in `root`."""
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    result = subprocess.run(["git", "check-ignore", *paths], cwd=root,
                            capture_output=True, text=True)
    return set(result.stdout.split())


def test_init_writes_a_gitignore_that_keeps_data_snapshots_and_env_out(tmp_path: Path) -> None:
    out = init(tmp_path / "svc")
    assert f"created {tmp_path / 'svc' / '.gitignore'}" in out
    root = tmp_path / "svc"
    secret = [".sqlmig/pgdata/PG_VERSION", ".sqlmig/snapshots/production-1.dump", ".env"]
    kept = ["sql/README.md", ".env.example", "sqlmig.toml"]
    assert ignored(root, *secret, *kept) == set(secret)


def test_init_adds_to_an_existing_gitignore_without_repeating_lines(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n/.sqlmig\n*.log")  # no final newline
    out = init(tmp_path)
    assert f"updated {tmp_path / '.gitignore'}" in out
    text = (tmp_path / ".gitignore").read_text()
    assert text.startswith("node_modules/\n/.sqlmig\n*.log\n")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == ["node_modules/", "/.sqlmig", "*.log", ".env"]
    assert ignored(tmp_path, ".env", ".sqlmig/pgdata/x", "a.log") == {
        ".env", ".sqlmig/pgdata/x", "a.log"}
    again = init(tmp_path, code=1)
    assert "already exists; init never overwrites" in again
    assert (tmp_path / ".gitignore").read_text() == text


def test_init_in_a_project_with_some_files_adds_only_the_missing_ones(tmp_path: Path) -> None:
    (tmp_path / "sqlmig.toml").write_text('table = "history"\n')
    out = init(tmp_path)
    assert "sqlmig.toml" not in out
    assert (tmp_path / "sqlmig.toml").read_text() == 'table = "history"\n'
    assert (tmp_path / "sql" / "README.md").is_file() and (tmp_path / ".gitignore").is_file()


@pytest.mark.parametrize(("existing", "added"), [
    (None, [".sqlmig/", ".env"]),
    ("", [".sqlmig/", ".env"]),
    (".sqlmig/\n.env\n", []),
    ("/.sqlmig/\n/.env\n", []),
    (".env.example\n", [".sqlmig/", ".env"]),
    ("# .env\n", [".sqlmig/", ".env"]),
])
def test_gitignore_lines_are_added_only_when_missing(existing: str | None,
                                                      added: list[str]) -> None:
    merged = scaffold.gitignore(existing)
    if not added:
        assert merged is None
        return
    assert merged is not None and merged.startswith(existing or "")
    new = merged[len(existing or ""):].splitlines()
    assert [line for line in new if not line.startswith("#")] == added
