"""How the command line is read: output flags and --json wherever a user types them, and the
names other migrators give a command pointing at sqlmig's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlmig.cli import app
from sqlmig.cli.group import arrange
from sqlmig.errors import EXIT_USAGE
from tests.conftest import Project


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        (["migrate", "--verbose"], ["--verbose", "migrate"]),
        (["-q", "status", "--no-color", "--json"], ["-q", "--no-color", "status", "--json"]),
        (["--json", "status", "--env", "test"], ["status", "--json", "--env", "test"]),
        (["new", "x", "--", "-v"], ["new", "x", "--", "-v"]),
        (["--version"], ["--version"]),
        ([], []),
    ],
)
def test_output_flags_go_before_the_command_and_json_after_it(
    typed: list[str], read: list[str]
) -> None:
    assert arrange(typed) == read


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [("info", "status"), ("validate", "verify"), ("clean", "fresh"), ("undo", "down")],
)
def test_another_tools_command_name_points_at_sqlmigs(theirs: str, ours: str) -> None:
    result = CliRunner().invoke(app, [theirs, "--env", "test"])
    assert result.exit_code == EXIT_USAGE
    assert f"error: sqlmig has no `{theirs}`: use `sqlmig {ours}`" in result.stderr.lower()


def test_output_flags_after_the_command_name_work(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    verbose = project.run("migrate", "--to", "1", "--verbose")
    assert "holding the migration lock; 0 applied, 2 migration files" in verbose.stderr
    quiet = project.run("migrate", "-q")
    assert quiet.stdout.startswith("applied 1 migration as batch 2 in ")
    assert "0002_b" not in quiet.stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in project.run("status").stdout
    assert "\x1b[" not in project.run("status", "--no-color").stdout


def test_json_before_the_command_name_works(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    result = project.run("--json", "status")
    assert json.loads(result.stdout)["summary"]["pending"] == 1


def test_url_and_migrations_dir_flags_stand_in_for_the_config_keys(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("0001_a.up.sql", "CREATE TABLE a (id int);", directory="db/migrations")
    project.write("0001_a.down.sql", "DROP TABLE a;", directory="db/migrations")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    project.run("migrate", "-u", project.url, "-d", "db/migrations")
    assert [(v, n) for v, n, _, _ in project.history()] == [(1, "a")]
    status = json.loads(project.run("status", "--url", project.url, "--migrations-dir",
                                    str(project.root / "db/migrations"), "--json").stdout)
    assert (status["summary"]["applied"], status["summary"]["missing"]) == (1, 0)
    missing = json.loads(project.run("status", "-u", project.url, "--json").stdout)
    assert missing["summary"]["missing"] == 1  # sql/ has no files: the flag was what counted


def test_config_names_a_migrations_dir_outside_the_project_as_given(project: Project) -> None:
    result = json.loads(project.run("config", "-d", "/srv/migrations", "--json").stdout)
    assert result["settings"]["migrations_dir"] == {
        "value": "/srv/migrations", "source": "--migrations-dir"}


READS_MIGRATIONS = ["migrate", "up", "rollback", "down", "redo", "new", "fresh", "reset",
                    "status", "verify", "repair", "baseline", "config", "plan", "check", "lint",
                    "seed", "setup", "adopt"]


@pytest.mark.parametrize("command", READS_MIGRATIONS)
def test_commands_that_read_migrations_take_migrations_dir(command: str) -> None:
    help_text = CliRunner().invoke(app, [command, "--help"]).stdout
    assert "-d, --migrations-dir DIR" in help_text


@pytest.mark.parametrize(
    "command", [c.name or (c.callback.__name__ if c.callback else "")
                for c in app.registered_commands])
def test_commands_with_database_url_also_take_url_and_u(command: str) -> None:
    help_text = CliRunner().invoke(app, [command, "--help"]).stdout
    if "--database-url" in help_text:
        assert "-u, --database-url, --url URL" in help_text


@pytest.mark.parametrize(
    ("words", "offered"),
    [("sqlmig migrate --env ", ["development", "test", "staging", "production"]),
     ("sqlmig down -e st", ["staging"]),
     ("sqlmig new add_x --template cr", ["create_table", "create_index"])],
)
def test_shell_completion_offers_environments_and_templates(
    words: str, offered: list[str], tmp_path: Path
) -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "sqlmig")], capture_output=True, text=True,
        cwd=tmp_path, timeout=60,
        env={**os.environ, "_SQLMIG_COMPLETE": "complete_bash", "COMP_WORDS": words,
             "COMP_CWORD": str(len(words.split(" ")) - 1)},
    )
    assert completed.stdout.split() == offered, completed.stderr


# --- the top-level help and --version start without Typer, and say what Typer would ----------

def _started(*args: str, columns: str = "80") -> subprocess.CompletedProcess[str]:
    """The installed `sqlmig` command (`python -m sqlmig` is named otherwise in help)."""
    command = Path(sys.executable).with_name("sqlmig")
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": columns})


def test_the_static_top_level_help_is_what_typer_prints() -> None:
    from sqlmig.cli.top_help import HELP

    # Click wraps at min(columns, 80) - 2
    typer = CliRunner().invoke(app, ["--help"], prog_name="sqlmig", terminal_width=78)
    assert typer.exit_code == 0
    assert typer.stdout == HELP, "regenerate sqlmig/cli/top_help.py's HELP from Typer's output"


@pytest.mark.parametrize("columns", ["80", "200"])
def test_help_alone_and_version_print_typers_text_from_the_fast_start(columns: str) -> None:
    from sqlmig import __version__
    from sqlmig.cli.top_help import HELP

    for flag in ("--help", "-h"):
        shown = _started(flag, columns=columns)
        assert (shown.returncode, shown.stdout, shown.stderr) == (0, HELP, "")
    bare = _started(columns=columns)  # Click: the help on stderr, a usage error
    typer = CliRunner().invoke(app, [], prog_name="sqlmig", terminal_width=78)
    assert (bare.returncode, bare.stderr, bare.stdout) == (EXIT_USAGE, HELP, "")
    assert typer.exit_code == EXIT_USAGE and typer.output == HELP
    version = _started("--version", columns=columns)
    assert (version.returncode, version.stdout) == (0, f"sqlmig {__version__}\n")


def test_a_narrow_terminal_gets_typers_own_wrapping() -> None:
    shown = _started("--help", columns="60")
    typer = CliRunner().invoke(app, ["--help"], prog_name="sqlmig", terminal_width=58)
    assert shown.returncode == 0 and shown.stdout == typer.stdout
    assert "Usage: sqlmig" in shown.stdout
