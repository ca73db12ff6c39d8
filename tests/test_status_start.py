"""`sqlmig status` with plain arguments starts without Typer (cli/status_run.py): it must read
every option as Typer does, leave anything else to Typer, and print what Typer would."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main

from sqlmig.cli import app
from sqlmig.cli.status_run import OPTIONS, StatusOptions, parse
from tests.conftest import Project


def test_the_fast_path_knows_every_option_of_the_typer_command_and_the_output_flags() -> None:
    group = typer.main.get_command(app)
    command = group.commands["status"]  # type: ignore[attr-defined]
    names = {name for p in command.params for name in p.opts if name.startswith("-")}
    output = {name for p in group.params for name in p.opts
              if name in ("--quiet", "-q", "--verbose", "-v", "--no-color")}
    assert output == {"--quiet", "-q", "--verbose", "-v", "--no-color"}
    assert names - {"--help", "-h"} | output == set(OPTIONS)


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--jsn"], ["--json=1"], ["--env"],
                                  ["--wait", "-1"], ["--wait=soon"], ["-qv"], ["pending"],
                                  ["-etest"], ["--", "--json"]])
def test_help_typos_arguments_and_values_typer_checks_are_left_to_typer(args: list[str]) -> None:
    assert parse(args) is None


def test_the_fast_path_reads_values_as_typer_does() -> None:
    assert parse(["--json", "-e", "test", "--url=postgresql://x/y", "-d", "db", "--wait", "2.5",
                  "--env", "staging", "-q", "--exit-code"]) == StatusOptions(
        json=True, exit_code=True, env="staging", migrations_dir="db",
        database_url="postgresql://x/y", wait=2.5, quiet=True)
    assert parse([]) == StatusOptions()


@pytest.mark.parametrize("args", [[], ["--json"], ["--exit-code", "-q"],
                                  ["-u", "postgresql://nobody@127.0.0.1:1/none"]])
def test_the_installed_command_prints_what_typer_would(project: Project,
                                                       args: list[str]) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "SELECT 1;")
    project.run("up")
    typer_run = project.run("status", *args, code=None)
    fast = subprocess.run([sys.executable, "-m", "sqlmig", "status", *args], text=True,
                          capture_output=True, cwd=project.root, timeout=60)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer_run.exit_code, typer_run.stdout, typer_run.stderr)
    assert fast.stdout or fast.stderr


def test_plain_status_imports_no_typer(project: Project) -> None:
    project.pair("0001_a", "SELECT 1;")
    started = subprocess.run([sys.executable, "-X", "importtime", "-m", "sqlmig", "status"],
                             text=True, capture_output=True, cwd=project.root, timeout=60)
    assert started.returncode == 0 and "0001" in started.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in started.stderr.splitlines()]
    assert "sqlmig.core.plan" in imported and "typer" not in imported
