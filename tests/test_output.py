"""Output conventions: NO_COLOR / --no-color, --quiet, --verbose, progress, --json everywhere."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sqlmig.core.files import Migration
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import SqlFile
from tests.conftest import README, Project

ESCAPE = "\x1b["


def many(project: Project, count: int = 7) -> None:
    for version in range(1, count + 1):
        project.pair(f"{version:04d}_t{version}", f"CREATE TABLE t{version} (id int);",
                     f"DROP TABLE t{version};")


def test_forced_colour_has_escape_codes_but_no_color_and_the_flag_remove_them_all(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    many(project, 2)
    project.run("migrate")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ESCAPE in project.run("status").stdout
    assert ESCAPE not in project.run("--no-color", "status").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    result = project.run("status")
    assert ESCAPE not in result.stdout + result.stderr
    assert "applied" in result.stdout


def test_quiet_keeps_only_the_summary(project: Project) -> None:
    many(project, 3)
    result = project.run("-q", "migrate")
    assert result.stdout.strip() == "applied 3 migrations as batch 1 in " + \
        result.stdout.strip().rsplit(" in ", 1)[1]
    assert "0001_t1" not in result.stdout


def test_verbose_says_where_it_connected(project: Project) -> None:
    many(project, 1)
    result = project.run("--verbose", "migrate")
    assert "holding the migration lock; 0 applied, 1 migration file" in result.stderr


def steps(count: int) -> list[Step]:
    def file(version: int, direction: str) -> SqlFile:
        return SqlFile(Path(f"{version:04d}_m.{direction}.sql"), "SELECT 1;")

    return [Step(Migration(v, "m", file(v, "up"), file(v, "down")), "up", 1)
            for v in range(1, count + 1)]


@pytest.mark.parametrize(
    ("count", "terminal", "quiet", "shown"),
    [(7, True, False, True), (5, True, False, False), (7, False, False, False),
     (7, True, True, False)],
)
def test_progress_bar_only_for_long_runs_on_a_terminal_without_quiet(
    count: int, terminal: bool, quiet: bool, shown: bool
) -> None:
    from rich.console import Console

    from sqlmig.cli import render

    render.OUTPUT.quiet = quiet
    try:
        reporter = render.LineReporter()
        reporter.out = Console(file=io.StringIO(), force_terminal=terminal)
        reporter.planned(steps(count))
        assert (reporter.progress is not None) is shown
        for step in steps(count):
            reporter.started(step)
            reporter.finished(step, 1)
        reporter.done()
        assert reporter.progress is None
        printed = reporter.out.file.getvalue()  # type: ignore[attr-defined]
        assert ("0001_m" in printed) is not quiet
    finally:
        render.OUTPUT.quiet = False


# Every read command with --json, and the keys its document promises (README, "JSON output").
JSON_COMMANDS = {
    ("status", "--json"): {"environment", "migrations", "summary", "invalid_indexes",
                           "problems"},
    ("verify", "--json"): {"ok", "problems"},
    ("plan", "--json"): {"environment", "migrations", "pending_after_target"},
    ("config", "--json"): {"environment", "settings"},
    ("snapshots", "--json"): {"snapshots"},
    ("lint", "--json"): {"ok", "findings"},
    ("check", "--json"): {"ok", "migrations", "not_checked", "halted", "stopped_at",
                          "rollback_error", "leftovers"},
    ("seed", "--json"): {"environment", "seed_set", "seeds", "rows", "ms"},
    ("migrate", "--dry-run", "--json"): {"ok", "migrations", "pending_after_target"},
    ("plan", "--locks", "--json"): {"ok", "migrations", "pending_after_target", "lock_timeout",
                                    "statement_timeout"},
    ("locks", "--json"): {"blocking", "migrations_take", "sessions", "tables"},
}


@pytest.mark.parametrize("args", list(JSON_COMMANDS), ids=" ".join)
def test_every_read_command_has_json_with_its_documented_keys(
    project: Project, args: tuple[str, ...]
) -> None:
    many(project, 2)
    if args[0] == "seed":
        project.run("migrate")
    result = project.run(*args)
    document = json.loads(result.stdout)
    assert set(document) == JSON_COMMANDS[args]
    documented = f"| `{' '.join(args)}` | {', '.join(f'`{k}`' for k in sorted(document))} |"
    assert documented in README


def test_progress_bar_also_appears_once_a_short_run_gets_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.console import Console

    from sqlmig.cli import render

    reporter = render.LineReporter()
    reporter.out = Console(file=io.StringIO(), force_terminal=True)
    few = steps(3)
    reporter.planned(few)
    assert reporter.progress is None
    reporter.started(few[0])
    reporter.finished(few[0], 1)
    monkeypatch.setattr(render, "PROGRESS_AFTER_SECONDS", -1.0)
    reporter.started(few[1])
    assert reporter.progress is not None
    reporter.done()


# --- user and server text is printed as written, never read as Rich markup -----------------


@pytest.mark.parametrize("text", ["[/x]", "[b]oops", "[production]", "a[/] [red]b"])
def test_a_failing_statement_is_quoted_literally_in_the_error(project: Project, text: str) -> None:
    project.pair("0001_a", f"SELECT '{text}'::int;")
    result = project.run("migrate", code=1)
    assert result.stderr.startswith(
        f'error: sql/0001_a.up.sql:1:8: invalid input syntax for type integer: "{text}"\n'
    )
    assert f"    1 | SELECT '{text}'::int;" in result.stderr


def test_a_config_section_named_in_an_error_keeps_its_brackets(project: Project) -> None:
    project.write("sqlmig.toml", "[production]\nbogus = 1\n", directory=".")
    result = project.run("config", "--env", "production", code=2)
    assert result.stderr.startswith("error: sqlmig.toml [production]: unknown key 'bogus'")


@pytest.mark.parametrize("flag", [(), ("--json",)], ids=["text", "json"])
def test_diff_names_a_database_given_as_url_by_user_host_port_and_name(
    project: Project, flag: tuple[str, ...]
) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(project.url)
    url = make_conninfo(project.url, password="Diff-Label-Secret")
    result = project.run("diff", "--from", url, "--to", project.url, *flag)
    label = f"{params.get('user', '')}@"
    assert label in result.stdout
    assert str(params["dbname"]) in result.stdout
    assert "Diff-Label-Secret" not in result.stdout + result.stderr
