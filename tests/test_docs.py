"""Docs can't drift: every command has help with an example and a row in the README, and the
README's exit codes match errors.py."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from sqlmig import errors
from sqlmig.cli import app
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(
    c.name or (c.callback.__name__ if c.callback else "")
    for c in app.registered_commands
)


def test_every_command_is_registered() -> None:
    assert sorted(
        ["migrate", "up", "rollback", "down", "redo", "status", "new", "fresh", "reset", "verify",
         "repair", "baseline", "seed", "setup", "plan", "check", "diff", "docs", "dump",
         "snapshots", "init", "config", "lint", "create", "drop", "load", "wait",
         "adopt", "locks"]
    ) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert re.search(r"Example: sqlmig " + command, result.stdout), result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_documents_every_command(command: str) -> None:
    assert re.search(rf"^\| `{command}[ `]", README, re.MULTILINE), command


def test_readme_first_screen_shows_the_two_setup_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:40])
    assert "make migrate" in first_screen and "make test" in first_screen


def test_readme_exit_codes_match_errors_module() -> None:
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", README, re.MULTILINE)}
    defined = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert documented == defined


def test_usage_errors_exit_2() -> None:
    result = CliRunner().invoke(app, ["rollback", "--steps", "0"])
    assert result.exit_code == errors.EXIT_USAGE


def test_readme_lists_every_lint_rule_with_its_severity() -> None:
    from sqlmig.review.lint import RULES

    for rule, spec in RULES.items():
        row = re.search(rf"^\| [^|]*`{rule}`[^|]*\| (\w+) \|", README, re.MULTILINE)
        assert row is not None and row[1] == spec.severity, rule


LOCK_NAMES = ("ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE", "ROW EXCLUSIVE",
              "none", "the statement's")


def test_every_lint_rule_has_an_anchor_and_a_lock_in_the_readme_table() -> None:
    from sqlmig.review.lint import RULES

    for rule in RULES:
        row = re.search(rf'^\| [^|]*<a id="rule-{rule}"></a>[^|]*`{rule}`[^|]*\| \w+ \| '
                        r"([^|]+) \|", README, re.MULTILINE)
        assert row is not None, f"{rule}: no README row with the anchor rule-{rule}"
        assert row[1].strip().startswith(LOCK_NAMES), f"{rule}: lock cell {row[1]!r}"


def test_rule_links_point_at_the_project_url_in_pyproject() -> None:
    import tomllib

    from sqlmig.review.lint.rules import rule_url

    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    assert rule_url("drop-table") == f"{urls['Homepage']}/blob/main/README.md#rule-drop-table"


def test_the_installed_entry_point_runs_one_command_and_still_knows_them_all() -> None:
    import subprocess
    import sys

    def sqlmig(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sqlmig", *args], capture_output=True,
                              text=True, timeout=60)

    one = sqlmig("--quiet", "lint", "--help")
    assert one.returncode == 0 and "sqlmig lint [OPTIONS]" in one.stdout
    typo = sqlmig("migrat")
    assert typo.returncode == 2 and "Did you mean 'migrate'?" in typo.stderr
    listing = sqlmig("--help")
    assert listing.returncode == 0
    assert all(re.search(rf"^\s+{command}\s", listing.stdout, re.MULTILINE) for command in COMMANDS)


def test_no_command_summary_in_the_listing_is_cut_short() -> None:
    listing = CliRunner().invoke(app, ["--help"], terminal_width=80).stdout
    commands = listing.split("Commands:", 1)[1]
    summaries = [line for line in commands.splitlines() if line.strip()]
    assert len(summaries) >= len(COMMANDS)  # and command groups (server)
    assert not [s for s in summaries if s.rstrip().endswith("...")]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_values_in_capitals_not_by_type_or_in_braces(command: str) -> None:
    text = CliRunner().invoke(app, [command, "--help"], terminal_width=80).stdout
    usage = text.splitlines()[0]
    assert "{" not in usage and not re.search(r"\[[a-z]", usage), usage
    assert not re.search(r"<(str|int|float|path)>", text), text


@pytest.mark.parametrize("command", ["verify", "plan"])
def test_allow_out_of_order_is_described_for_what_the_command_does(command: str) -> None:
    text = CliRunner().invoke(app, [command, "--help"], terminal_width=200).stdout
    described = re.search(r"--allow-out-of-order\s+(.*)", text)
    assert described is not None and not described[1].startswith("Apply"), text
