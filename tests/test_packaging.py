"""The files that fit sqlmig into other tools: Dockerfile, compose, workflows, pre-commit.
No Docker engine runs here, so the pieces are checked, not a running stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO, Project

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is a test dependency (pyproject [test] extra)"
    return found


def test_compose_runs_migrate_as_an_init_step() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql") for v in db["volumes"])
    assert "pgdata" in compose["volumes"]
    migrate = services["migrate"]
    assert migrate["build"] == "."
    assert migrate["command"] == ["migrate", "--wait", "60"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["app"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }


def test_dockerfile_is_hadolint_clean() -> None:
    result = subprocess.run([tool("hadolint"), str(REPO / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["sqlmig"]' in text
    assert "USER 10001" in text and "slim" in text


def test_workflows_pass_actionlint() -> None:
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert [p.name for p in workflows] == ["ci.yml", "migrate.yml", "pr.yml"]
    result = subprocess.run([tool("actionlint"), *map(str, workflows)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pr_workflow_reviews_migrations_and_migrate_workflow_deploys() -> None:
    pr = yaml.safe_load((REPO / ".github/workflows/pr.yml").read_text())
    assert pr[True]["pull_request"]["paths"] == ["sql/**", "schema.sql"]  # YAML 1.1: on=True
    runs = [s.get("run", "") for s in pr["jobs"]["review"]["steps"]]
    steps = " ".join(runs)
    for command in ("sqlmig lint --format github", "sqlmig verify", "sqlmig check",
                    "sqlmig plan", "sqlmig dump"):
        assert command in steps
    # the upgrade path: the base branch's migrations first, then this PR's, then the checks
    base = next(i for i, run in enumerate(runs) if 'origin/$BASE_REF' in run)
    assert "cd ../base && sqlmig migrate" in runs[base]
    ours = runs.index("sqlmig migrate --wait 60")
    assert base < ours < runs.index("sqlmig verify") and ours < runs.index("sqlmig check")
    assert pr["jobs"]["review"]["env"]["BASE_REF"] == "${{ github.base_ref }}"
    # a schema.sql that is missing fails as surely as a stale one
    schema = next(run for run in runs if "sqlmig dump" in run)
    assert "git ls-files --error-unmatch schema.sql" in schema
    assert schema.count("exit 1") == 2 and "::warning" not in schema
    deploy = yaml.safe_load((REPO / ".github/workflows/migrate.yml").read_text())
    steps = " ".join(s.get("run", "") for s in deploy["jobs"]["migrate"]["steps"])
    assert "sqlmig migrate --env production --wait 60 --no-snapshot" in steps
    assert "sqlmig status --env production --exit-code" in steps
    assert deploy["jobs"]["migrate"]["env"]["DATABASE_URL"] == "${{ secrets.DATABASE_URL }}"


def test_pre_commit_manifest_and_config_are_valid() -> None:
    pre_commit = tool("pre-commit")
    for args in (["validate-manifest", ".pre-commit-hooks.yaml"],
                 ["validate-config", ".pre-commit-config.yaml"]):
        result = subprocess.run([pre_commit, *args], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"sqlmig-lint", "sqlmig-verify-files"}
    assert hooks["sqlmig-verify-files"]["entry"] == "sqlmig verify --offline"
    assert hooks["sqlmig-lint"]["entry"] == "sqlmig lint" and hooks["sqlmig-lint"]["pass_filenames"]
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    local = {h["id"] for r in config["repos"] if r["repo"] == "local" for h in r["hooks"]}
    assert local == {"sqlmig-lint", "sqlmig-verify-files"}


def test_verify_offline_needs_no_database(project: Project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    out = project.run("verify", "--offline").stdout
    assert "ok: 1 migration in files: names, pairs, duplicate versions, directives and " \
        "syntax check out (--offline: the history was not read)" in out
    assert "history agree" not in out
    project.pair("0002_b", "CREATE TABLE b (id int,);", "DROP TABLE b;")
    result = project.run("verify", "--offline", code=1)
    assert "sql/0002_b.up.sql:1: syntax error at or near \")\"" in result.stdout


def test_init_scaffolds_a_project_and_never_overwrites(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from sqlmig.cli import app
    from sqlmig.core import config

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["init", "svc"])
    assert result.exit_code == 0, result.stdout
    root = tmp_path / "svc"
    for name in ("sqlmig.toml", ".env.example", "seeds/development/README.md",
                 "seeds/production/README.md", "sql/README.md"):
        assert (root / name).is_file(), name
    toml = (root / "sqlmig.toml").read_text()
    for key in config.KEY_TYPES:
        assert f"# {key} = " in toml, f"{key} is documented in the scaffold"
    settings = config.resolve(root=root, environ={})  # the commented file is valid config
    assert settings.table == "schema_migrations"
    before = toml
    again = CliRunner().invoke(app, ["init", "svc"])
    assert again.exit_code == 1
    assert "already exists; init never overwrites" in again.stderr
    assert (root / "sqlmig.toml").read_text() == before


def test_config_shows_each_value_and_its_source_with_the_password_redacted(
    project: Project, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    import json

    project.write("sqlmig.toml", 'lock_timeout = "5s"\n[production]\nlock_timeout = "2s"\n',
                  directory=".")
    project.write(".env", "DATABASE_URL=postgresql://u:Top-Secret-1@db/app\n", directory=".")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("MIGRATION_TABLE_NAME", "history")
    result = project.run("config", "--env", "production", "--json")
    settings = json.loads(result.stdout)["settings"]
    assert settings["lock_timeout"] == {"value": "2s", "source": "sqlmig.toml [production]"}
    assert settings["table"] == {"value": "history", "source": "MIGRATION_TABLE_NAME"}
    assert settings["database_url"] == {"value": "postgresql://u:***@db/app",
                                        "source": "DATABASE_URL (.env)"}
    assert settings["env"]["source"] == "--env"
    assert settings["schema"] == {"value": "public", "source": "default"}
    table = project.run("config", "--env", "production").stdout
    assert "sqlmig.toml [production]" in table
    assert "Top-Secret-1" not in result.stdout + table


def test_pr_workflow_schema_step_fails_when_schema_sql_is_missing_or_stale(
    project: Project,
) -> None:
    pr = yaml.safe_load((REPO / ".github/workflows/pr.yml").read_text())
    script = next(s["run"] for s in pr["jobs"]["review"]["steps"]
                  if "sqlmig dump" in s.get("run", ""))
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=project.root, check=True, capture_output=True)

    def step() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-e", "-c", script], cwd=project.root, env=env,
                              capture_output=True, text=True)

    git("init", "-q")
    git("add", "sql")
    git("commit", "-qm", "migrations without schema.sql")
    missing = step()
    assert missing.returncode == 1 and "schema.sql is not committed" in missing.stdout
    git("add", "schema.sql")
    git("commit", "-qm", "schema")
    assert step().returncode == 0, "committed and current"
    (project.root / "schema.sql").write_text("-- an older schema\n")
    git("commit", "-qam", "stale schema")
    stale = step()
    assert stale.returncode == 1 and "schema.sql is stale" in stale.stdout
