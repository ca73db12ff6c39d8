"""`sqlmig migrate` and `sqlmig rollback` with plain arguments start without Typer
(cli/change_run.py): they must read every option they take as Typer does, leave anything
else to Typer, and print and exit as the Typer commands do."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer.main

from sqlmig.cli import app
from sqlmig.cli.change_run import OPTIONS, ChangeOptions, parse
from tests.conftest import Project

OUTPUT_FLAGS = {"--quiet", "-q", "--verbose", "-v", "--no-color"}


@pytest.mark.parametrize("command", ["migrate", "rollback"])
def test_the_fast_path_reads_only_options_the_typer_command_has(command: str) -> None:
    group = typer.main.get_command(app)
    typer_command = group.commands[command]  # type: ignore[attr-defined]
    names = {name for p in typer_command.params for name in [*p.opts, *p.secondary_opts]
             if name.startswith("-")}
    output = {name for p in group.params for name in p.opts if name in OUTPUT_FLAGS}
    assert output == OUTPUT_FLAGS
    assert set(OPTIONS[command]) <= names | output
    # what it leaves to Typer is only what it cannot run the same way
    left = names - set(OPTIONS[command]) - {"--help", "-h"}
    assert left == ({"--dry-run", "--json", "--locks", "--snapshot", "--no-snapshot"}
                    if command == "migrate" else set())


@pytest.mark.parametrize("args", [
    ["--help"], ["--dry-run"], ["--json"], ["--snapshot"], ["--steps", "0"], ["--steps=x"],
    ["--to", "-1"], ["--to=+3"], ["--lock-wait", "-1"], ["--wait=soon"],
    ["--lock-retries", "1.5"], ["-qv"], ["3"], ["--env"], ["--all=1"], ["--", "--all"]])
def test_help_typos_arguments_and_values_typer_checks_are_left_to_typer(args: list[str]) -> None:
    assert parse("rollback", args) is None and parse("migrate", args) is None


def test_the_fast_path_reads_values_as_typer_does() -> None:
    assert parse("rollback", ["--steps", "2", "-e", "test", "--url=postgresql://x/y", "-d",
                              "db", "--lock-wait", "2.5", "--wait=3", "--lock-retries", "0",
                              "--lock-retry-delay", "1s", "--lock-timeout", "5s", "-y", "-q",
                              "--statement-timeout=1min", "--to", "007"]) == ChangeOptions(
        steps=2, env="test", database_url="postgresql://x/y", migrations_dir="db",
        lock_wait=2.5, wait=3.0, lock_retries=0, lock_retry_delay="1s", lock_timeout="5s",
        yes=True, quiet=True, statement_timeout="1min", to=7)
    assert parse("migrate", ["--to", "3", "--single-transaction", "--rollback-on-failure",
                             "--allow-out-of-order", "--env", "a", "--env", "b"]) == \
        ChangeOptions(to=3, single_transaction=True, rollback_on_failure=True,
                      allow_out_of_order=True, env="b")
    assert parse("migrate", ["--all"]) is None and parse("rollback", ["--all"]) == \
        ChangeOptions(everything=True)
    assert parse("migrate", []) == parse("rollback", []) == ChangeOptions()


def _fast(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "sqlmig", *args],
                          text=True, capture_output=True, cwd=project.root, timeout=120)


def _said(text: str) -> str:
    return re.sub(r"\b\d+ ms\b", "N ms", text)


def test_the_installed_commands_print_and_exit_as_typer_does(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "SELECT 1;", "SELECT 1;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    for change, undo in ((["migrate", "--to", "2"], ["rollback"]),  # none -> 1, 2
                         (["migrate", "-q"], ["rollback"]),  # -> 1, 2, 3
                         (["rollback", "--steps", "1"], ["migrate"]),  # -> 1, 2
                         (["rollback", "--to", "1", "-v"], ["migrate", "--to", "2"]),  # -> 1
                         (["rollback", "--all"], ["migrate", "--to", "1"])):  # -> none
        fast = _fast(project, *change)
        imported = {line.rsplit("|", 1)[-1].strip() for line in fast.stderr.splitlines()
                    if line.startswith("import time:")}
        stderr = "".join(line + "\n" for line in fast.stderr.splitlines()
                         if not line.startswith("import time:"))
        assert "typer" not in imported and "sqlmig.pg.session" in imported, change
        after_fast = project.history()
        project.run(*undo)
        typer_run = project.run(*change, code=None)
        assert (fast.returncode, _said(fast.stdout), _said(stderr)) == (
            typer_run.exit_code, _said(typer_run.stdout), _said(typer_run.stderr)), change
        assert [row[:2] for row in project.history()] == [row[:2] for row in after_fast]
        assert fast.stdout


@pytest.mark.parametrize("args", [
    ["rollback", "--all", "-u", "postgresql://nobody@127.0.0.1:1/none"],
    ["migrate", "--lock-timeout", "soon"],
    ["rollback", "--to", "9"],
    ["migrate", "--env", "nowhere"],
])
def test_failures_are_said_and_exit_as_typer_does(project: Project, args: list[str]) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    fast = subprocess.run([sys.executable, "-m", "sqlmig", *args], text=True,
                          capture_output=True, cwd=project.root, timeout=120)
    typer_run = project.run(*args, code=None)
    assert fast.returncode != 0 or "nothing" in fast.stdout
    assert (fast.returncode, _said(fast.stdout), _said(fast.stderr)) == (
        typer_run.exit_code, _said(typer_run.stdout), _said(typer_run.stderr))
