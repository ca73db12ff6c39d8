"""`sqlmig init` in the user's own project: the .gitignore lines it needs (added once, never
duplicated). Checked with git itself, which decides what a commit would take."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlmig.cli import app
from sqlmig.core import scaffold
from tests.test_packaging import tool


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


def test_init_ci_and_compose_write_files_that_install_sqlmig_as_a_package(
    tmp_path: Path,
) -> None:
    import yaml

    from sqlmig import __version__

    root = tmp_path / "service"
    printed = init(root, "--ci", "github", "--compose")
    written = {".github/workflows/sqlmig-review.yml", ".github/workflows/sqlmig-migrate.yml",
               "Dockerfile.sqlmig", "compose.sqlmig.yaml"}
    for name in written:
        assert (root / name).is_file() and f"created {root / name}" in printed
        text = (root / name).read_text()
        assert 'pip install "."' not in text and ".[embedded]" not in text
    workflows = [root / n for n in sorted(written) if n.endswith(".yml")]
    for workflow in workflows:
        assert f'pip install "sqlmig[embedded]=={__version__}"' in workflow.read_text()
    lint = subprocess.run([tool("actionlint"), *map(str, workflows)], capture_output=True,
                          text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    dockerfile = root / "Dockerfile.sqlmig"
    hadolint = subprocess.run([tool("hadolint"), str(dockerfile)], capture_output=True,
                              text=True)
    assert hadolint.returncode == 0, hadolint.stdout + hadolint.stderr
    image = dockerfile.read_text()
    assert "COPY sql/ /app/sql/" in image and "USER 10001" in image
    compose = yaml.safe_load((root / "compose.sqlmig.yaml").read_text())
    migrate = compose["services"]["migrate"]
    assert migrate["build"] == {"context": ".", "dockerfile": "Dockerfile.sqlmig"}
    assert migrate["restart"] == "no" and migrate["command"] == ["migrate", "--wait", "60"]
    assert "sqlmig-data" in compose["volumes"]
    review = yaml.safe_load((root / ".github/workflows/sqlmig-review.yml").read_text())
    steps = [s.get("run", "") for s in review["jobs"]["review"]["steps"]]
    order = [next(i for i, run in enumerate(steps) if needle in run)
             for needle in ("cd ../base && sqlmig migrate", "sqlmig verify", "sqlmig check",
                            "git ls-files")]
    order.insert(1, steps.index("sqlmig migrate --wait 60"))
    assert order == sorted(order), "base branch first, then this branch, then the checks"
    init(root, "--ci", "github", code=1)  # everything there already: nothing overwritten


def test_init_ci_follows_a_configured_migrations_folder(tmp_path: Path) -> None:
    (tmp_path / "sqlmig.toml").write_text('migrations_dir = "db/migrations"\n')
    init(tmp_path, "--ci", "github", "--compose")
    review = (tmp_path / ".github/workflows/sqlmig-review.yml").read_text()
    assert '"db/migrations/**"' in review and '"sql/**"' not in review
    assert "COPY db/migrations/ /app/db/migrations/" in (tmp_path / "Dockerfile.sqlmig").read_text()


def test_init_refuses_a_ci_provider_it_does_not_know(tmp_path: Path) -> None:
    printed = init(tmp_path, "--ci", "gitlab", code=2)
    assert "--ci: 'gitlab' is not supported (supported: github)" in printed
    assert not (tmp_path / "sqlmig.toml").exists()
