"""`sqlmig lint` end to end, offline: no database is configured or reached (pre-commit runs it on
a laptop without one). The rules themselves are unit-tested in test_lint.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlmig.cli import app

RISKY_UP = """-- sqlmig:lock-timeout 5s
CREATE INDEX users_email_idx ON users (email);
"""
WARNING_ONLY_UP = "ALTER TABLE users RENAME COLUMN name TO full_name;\n"


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with an sql/ folder and no database anywhere in its settings."""
    for name in ("DATABASE_URL", "DATABASE_URL_DEVELOPMENT", "SQLMIG_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sql").mkdir()
    return tmp_path


def write(root: Path, name: str, text: str) -> Path:
    path = root / "sql" / name
    path.write_text(text, encoding="utf-8")
    return path


def lint(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["lint", *args])
    return result.exit_code, result.stdout, result.stderr


def test_an_error_finding_exits_5_and_names_file_line_rule_and_fix(offline: Path) -> None:
    write(offline, "0001_idx.up.sql", RISKY_UP)
    write(offline, "0001_idx.down.sql", "DROP INDEX users_email_idx;\n")
    code, out, _ = lint()
    assert code == 5
    assert "sql/0001_idx.up.sql" in out and "index-not-concurrent" in out
    assert "CONCURRENTLY" in out and "1 error, 0 warnings" in out


def test_warnings_alone_exit_0(offline: Path) -> None:
    write(offline, "0001_rename.up.sql", "SET lock_timeout = '5s';\n" + WARNING_ONLY_UP)
    write(offline, "0001_rename.down.sql",
          "SET lock_timeout = '5s';\nALTER TABLE users RENAME COLUMN full_name TO name;\n")
    code, out, _ = lint()
    assert code == 0
    assert out.count("  rename-column  ") == 2 and "0 errors, 2 warnings" in out


def test_clean_migrations_print_ok_and_exit_0(offline: Path) -> None:
    write(offline, "0001_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY);\n")
    write(offline, "0001_t.down.sql", "DROP TABLE t;\n")
    assert lint() == (0, "ok: no findings\n", "")


def test_json_lists_each_finding_with_its_documented_keys(offline: Path) -> None:
    write(offline, "0001_idx.up.sql", RISKY_UP)
    write(offline, "0001_idx.down.sql", "DROP INDEX users_email_idx;\n")
    code, out, _ = lint("--json")
    document = json.loads(out)
    assert code == 5 and document["ok"] is False
    [finding] = document["findings"]
    assert finding == {
        "rule": "index-not-concurrent", "severity": "error", "file": "sql/0001_idx.up.sql",
        "line": 2, "column": 1, "message": finding["message"], "fix": finding["fix"],
        "suggestion": "-- sqlmig:no-transaction   (a file of its own)\n"
                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);",
        "docs": "https://github.com/sqlmig/sqlmig/blob/main/README.md#rule-index-not-concurrent",
    }
    assert "users" in finding["message"] and "CONCURRENTLY" in finding["fix"]


@pytest.fixture
def error_and_warning(offline: Path) -> Path:
    """An index built in place (error) and a renamed column (warning), in two migrations."""
    write(offline, "0001_idx.up.sql", RISKY_UP)
    write(offline, "0001_idx.down.sql", "DROP INDEX users_email_idx;\n")
    write(offline, "0002_rename.up.sql", "SET lock_timeout = '1s';\n" + WARNING_ONLY_UP)
    write(offline, "0002_rename.down.sql", "SELECT 1;\n")
    return offline


def test_github_format_prints_one_workflow_annotation_per_finding(
        error_and_warning: Path) -> None:
    code, out, _ = lint("--format", "github")
    lines = out.splitlines()
    assert code == 5 and len(lines) == 2
    assert lines[0].startswith(
        "::error file=sql/0001_idx.up.sql,line=2,col=1,title=sqlmig index-not-concurrent::")
    assert lines[1].startswith(
        "::warning file=sql/0002_rename.up.sql,line=2,col=1,title=sqlmig rename-column::")


def test_named_files_are_linted_alone_and_a_pair_is_not_reported_twice(offline: Path) -> None:
    up = write(offline, "0001_drop.up.sql", "SET lock_timeout = '5s';\nDROP TABLE legacy;\n")
    down = write(offline, "0001_drop.down.sql", "SET lock_timeout = '5s';\nTRUNCATE legacy;\n")
    write(offline, "0002_other.up.sql", "DROP TABLE other;\n")
    write(offline, "0002_other.down.sql", "SELECT 1;\n")
    code, out, _ = lint("--json", str(up.relative_to(offline)), str(down.relative_to(offline)))
    rules = [(f["file"], f["rule"]) for f in json.loads(out)["findings"]]
    assert code == 5
    assert rules == [("sql/0001_drop.up.sql", "drop-table")]  # TRUNCATE in a down is fine


def test_a_down_file_named_alone_is_linted_as_a_down(offline: Path) -> None:
    write(offline, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    down = write(offline, "0001_t.down.sql", "DROP TABLE t;\n")
    assert lint(str(down))[0] == 0


def test_lint_disable_in_config_and_disable_flag_silence_rules(offline: Path) -> None:
    write(offline, "0001_drop.up.sql", "DROP TABLE legacy;\nTRUNCATE audit;\n")
    write(offline, "0001_drop.down.sql", "SELECT 1;\n")
    (offline / "sqlmig.toml").write_text(
        'lint_disable = ["drop-table", "lock-timeout-missing"]\n', encoding="utf-8")
    code, out, _ = lint("--json")
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["truncate"]
    assert code == 5
    assert lint("--json", "--disable", "truncate")[0] == 0


def test_an_unknown_rule_to_disable_is_a_usage_error_naming_it(offline: Path) -> None:
    code, _, err = lint("--disable", "drop-tabel")
    assert code == 2 and "drop-tabel" in err and "drop-table" in err


def test_bad_files_and_ignores_are_findings_and_every_other_file_is_linted(
        offline: Path) -> None:
    write(offline, "0001_drop.up.sql",
          "SELECT 1;\n-- sqlmig:lint-ignore drop-tables\nDROP TABLE x;\n")
    write(offline, "0001_drop.down.sql", "SELECT 1;\n")
    write(offline, "0002_no_down.up.sql", "SELECT 1;\n")
    write(offline, "0003_empty.up.sql", "")
    write(offline, "0003_empty.down.sql", "SELECT 1;\n")
    write(offline, "0004_Bad.UP.sql", "SELECT 1;\n")
    write(offline, "0005_t.up.sql", "TRUNCATE t;\n")
    write(offline, "0005_t.down.sql", "SELECT 1;\n")
    code, out, err = lint("--json")
    found = [(f["file"], f["line"], f["rule"]) for f in json.loads(out)["findings"]]
    assert code == 5 and err == ""
    assert found == [
        ("sql/0001_drop.up.sql", 2, "bad-ignore"), ("sql/0001_drop.up.sql", 3, "drop-table"),
        ("sql/0001_drop.up.sql", 3, "lock-timeout-missing"),
        ("sql/0002_no_down.up.sql", 1, "file-problem"),
        ("sql/0003_empty.up.sql", 1, "file-problem"),
        ("sql/0004_Bad.UP.sql", 1, "file-problem"),
        ("sql/0005_t.up.sql", 1, "lock-timeout-missing"), ("sql/0005_t.up.sql", 1, "truncate"),
    ]


def test_a_missing_file_is_a_usage_error(offline: Path) -> None:
    code, _, err = lint("sql/0009_nope.up.sql")
    assert code == 2 and "0009_nope.up.sql" in err


def test_an_unknown_format_is_a_usage_error(offline: Path) -> None:
    code, _, err = lint("--format", "xml")
    assert code == 2 and "xml" in err


def test_a_syntax_error_is_a_finding_with_line_and_column(offline: Path) -> None:
    write(offline, "0001_bad.up.sql", "-- café\nCREATE TABLE t (id int,);\n")
    write(offline, "0001_bad.down.sql", "DROP TABLE t;\n")
    code, out, _ = lint("--json")
    [finding] = json.loads(out)["findings"]
    assert code == 5
    assert (finding["rule"], finding["line"], finding["column"]) == ("syntax-error", 2, 24)


# --- the opt-in style rules: off unless lint_enable or --enable names them ---------------------

STYLE_UP = "CREATE TABLE orders (id serial PRIMARY KEY, placed timestamp, note varchar(80));\n"


def style_rules(*args: str) -> tuple[int, list[str]]:
    code, out, _ = lint("--json", *args)
    return code, sorted(f["rule"] for f in json.loads(out)["findings"])


@pytest.fixture
def styled(offline: Path) -> Path:
    write(offline, "0001_orders.up.sql", STYLE_UP)
    write(offline, "0001_orders.down.sql", "DROP TABLE orders;\n")
    return offline


def test_style_rules_are_off_by_default(styled: Path) -> None:
    assert lint() == (0, "ok: no findings\n", "")


def test_enable_flag_turns_on_the_rules_it_names_and_style_turns_on_all(styled: Path) -> None:
    assert style_rules("--enable", "prefer-text", "--enable", "prefer-bigint") == (
        0, ["prefer-bigint", "prefer-text"])
    assert style_rules("--enable", "style") == (0, [
        "prefer-bigint", "prefer-identity", "prefer-text", "prefer-timestamptz"])
    named = str(styled / "sql" / "0001_orders.up.sql")
    assert style_rules("--enable", "prefer-timestamptz", named) == (0, ["prefer-timestamptz"])


def test_lint_enable_in_config_adds_to_enable_and_disable_still_wins(styled: Path) -> None:
    (styled / "sqlmig.toml").write_text('lint_enable = ["prefer-identity"]\n', encoding="utf-8")
    assert style_rules() == (0, ["prefer-identity"])
    assert style_rules("--enable", "prefer-text") == (0, ["prefer-identity", "prefer-text"])
    assert style_rules("--enable", "style", "--disable", "prefer-identity") == (0, [
        "prefer-bigint", "prefer-text", "prefer-timestamptz"])
    shown = CliRunner().invoke(app, ["config", "--json"])
    assert json.loads(shown.stdout)["settings"]["lint_enable"] == {
        "value": ["prefer-identity"], "source": "sqlmig.toml"}


def test_statement_timeout_in_config_covers_every_file(offline: Path) -> None:
    write(offline, "0001_note.up.sql", "ALTER TABLE orders ADD COLUMN note text;\n")
    write(offline, "0001_note.down.sql", "ALTER TABLE orders DROP COLUMN note;\n")
    enable = ("--enable", "statement-timeout-missing", "--disable", "lock-timeout-missing")
    assert style_rules(*enable) == (0, ["statement-timeout-missing"] * 2)
    (offline / "sqlmig.toml").write_text('statement_timeout = "1min"\n', encoding="utf-8")
    assert style_rules(*enable) == (0, [])


@pytest.mark.parametrize("where", ["flag", "config"])
def test_an_unknown_rule_to_enable_is_a_one_line_error_naming_the_setting(
        offline: Path, where: str) -> None:
    if where == "config":
        (offline / "sqlmig.toml").write_text('lint_enable = ["prefer-bigints"]\n',
                                             encoding="utf-8")
    code, out, err = lint(*(["--enable", "prefer-bigints"] if where == "flag" else []))
    assert code == 2 and out == ""
    assert err.startswith("error: lint_enable/--enable: unknown rule(s) prefer-bigints "
                          "(opt-in rules: style for all, no-transaction-idempotent, ")
    assert len(err.strip().splitlines()) == 1


# --- named files, stdin and excludes: judged with what the earlier ups created -----------------

WIDEN = ("-- sqlmig:lock-timeout 5s\nALTER TABLE users ALTER COLUMN name TYPE varchar(80);\n")


@pytest.fixture
def history(offline: Path) -> Path:
    """users(name varchar(40)) created by 0001; 0002 widens the column (no rewrite)."""
    write(offline, "0001_users.up.sql", "CREATE TABLE users (name varchar(40));\n")
    write(offline, "0001_users.down.sql", "DROP TABLE users;\n")
    write(offline, "0002_widen.up.sql", WIDEN)
    write(offline, "0002_widen.down.sql", "SELECT 1;  -- values may have grown past 40\n")
    return offline


def rules_of(*args: str, stdin: str | None = None) -> tuple[int, list[tuple[str, str]]]:
    result = CliRunner().invoke(app, ["lint", "--json", *args], input=stdin)
    return result.exit_code, [(f["file"], f["rule"])
                              for f in json.loads(result.stdout)["findings"]]


def test_a_named_file_is_judged_with_what_earlier_ups_created(history: Path) -> None:
    assert rules_of("sql/0002_widen.up.sql") == (0, [])  # varchar(40) -> (80): no rewrite
    assert rules_of("sql/0002_widen.up.sql", "sql/0001_users.up.sql") == (0, [])
    (history / "sql" / "0001_users.up.sql").write_text("CREATE TABLE users (name text);\n")
    assert rules_of("sql/0002_widen.up.sql") == (
        5, [("sql/0002_widen.up.sql", "alter-column-type")])


def test_stdin_is_linted_under_its_stdin_name_with_the_earlier_ups(history: Path) -> None:
    assert rules_of("-", "--stdin-name", "sql/0003_more.up.sql", stdin=WIDEN) == (0, [])
    assert rules_of("-", stdin="DROP TABLE users;\n") == (
        5, [("stdin.up.sql", "drop-table"), ("stdin.up.sql", "lock-timeout-missing")])
    assert rules_of("-", "--stdin-name", "x.down.sql", stdin="DROP TABLE users;\n") == (0, [])
    # the text on stdin replaces the file's own, which is clean
    assert rules_of("-", "--stdin-name", "sql/0002_widen.up.sql",
                    stdin="-- sqlmig:lock-timeout 5s\nTRUNCATE users;\n") == (
        5, [("sql/0002_widen.up.sql", "truncate")])


def test_excluded_files_are_not_reported_but_still_create_their_tables(history: Path) -> None:
    write(history, "0003_drop.up.sql", "DROP TABLE users;\n")
    write(history, "0003_drop.down.sql", "SELECT 1;\n")
    write(history, "0004_Bad.up.sql", "SELECT 1;\n")
    (history / "sql" / "0001_users.up.sql").write_text("CREATE TABLE users (name text);\n")
    code, found = rules_of("--exclude", "0001_*", "--exclude", "sql/0003_*")
    assert code == 5 and found == [("sql/0002_widen.up.sql", "alter-column-type"),
                                   ("sql/0004_Bad.up.sql", "file-problem")]
    (history / "sqlmig.toml").write_text('lint_exclude = ["0002_*", "*Bad*"]\n')
    assert rules_of("sql/0002_widen.up.sql") == (0, [])
    assert rules_of("--exclude", "0003_*") == (0, [])


@pytest.mark.parametrize(("args", "config", "where"), [
    (["--pg-version", "12"], "", "--pg-version: 'pg_version' = 12 must be"),
    ([], "pg_version = 19\n", "sqlmig.toml: 'pg_version' = 19 must be"),
    ([], 'pg_version = "15"\n', "sqlmig.toml: 'pg_version' must be a whole number"),
])
def test_a_bad_pg_version_is_a_one_line_error_naming_the_setting(
        offline: Path, args: list[str], config: str, where: str) -> None:
    (offline / "sqlmig.toml").write_text(config)
    code, out, err = lint(*args)
    assert code == 2 and out == "" and err.startswith(f"error: {where}")
    assert len(err.strip().splitlines()) == 1


# --- what each finding shows: the line with a caret, the safer SQL, the rule's README link ----

def test_the_table_shows_the_line_a_caret_the_safer_sql_and_the_link(offline: Path) -> None:
    write(offline, "0001_idx.up.sql", "-- sqlmig:lock-timeout 5s\n\tCREATE INDEX i ON users (a);\n")
    write(offline, "0001_idx.down.sql", "DROP INDEX i;\n")
    code, out, _ = lint()
    indent = " " * 28
    assert code == 5
    assert out.splitlines()[4:10] == [
        f"{indent}2 | \tCREATE INDEX i ON users (a);",
        f"{indent}  | \t^",
        f"{indent}instead:",
        f"{indent}  -- sqlmig:no-transaction   (a file of its own)",
        f"{indent}  CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (a);",
        f"{indent}see https://github.com/sqlmig/sqlmig/blob/main/README.md"
        "#rule-index-not-concurrent",
    ]


def test_markdown_is_one_comment_grouped_by_file_with_the_snippets(
        error_and_warning: Path) -> None:
    code, out, _ = lint("--format", "markdown")
    assert code == 5
    assert out.startswith("### sqlmig lint\n\n**1 error, 1 warning**\n\n#### `sql/0001_idx.up.sql`")
    assert out.index("#### `sql/0001_idx.up.sql`") < out.index("#### `sql/0002_rename.up.sql`")
    assert ("- **error** [`index-not-concurrent`](https://github.com/sqlmig/sqlmig/blob/main/"
            "README.md#rule-index-not-concurrent) line 2: ") in out
    assert "  ```text\n  2 | CREATE INDEX users_email_idx ON users (email);\n    | ^\n  ```" in out
    assert "  ```sql\n  -- sqlmig:no-transaction" in out
    assert lint("--format", "markdown", "--disable", "index-not-concurrent",
                "--disable", "rename-column") == (0, "### sqlmig lint\n\nNo findings.\n", "")


def test_a_caret_stands_under_its_column_after_non_ascii_text() -> None:
    from sqlmig.cli.render_lint import snippet
    from sqlmig.review.lint.rules import finding

    text = "\n" * 11 + "/* é */ DROP TABLE t;"
    shown = finding("drop-table", Path("x.up.sql"), 12, 11, "m", text=text)
    assert snippet(shown) == ["12 | /* é */ DROP TABLE t;", "   |           ^"]
    assert snippet(finding("drop-table", Path("x.up.sql"), 1, None, "m")) == []


# --- the fast start: plain arguments are read without Typer, with the same result ------------

def test_the_fast_path_knows_every_option_of_the_typer_command() -> None:
    import typer.main

    from sqlmig.cli.lint_run import OPTIONS

    command = typer.main.get_command(app).commands["lint"]  # type: ignore[attr-defined]
    names = {name for p in command.params for name in p.opts if name.startswith("-")}
    assert names - {"--help", "-h"} == set(OPTIONS)


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--formt", "json"], ["--pg-version=x"],
                                  ["--json=1"], ["--format"]])
def test_help_typos_and_bad_values_are_left_to_typer(args: list[str]) -> None:
    from sqlmig.cli.lint_run import parse

    assert parse(args) is None


def test_the_fast_path_reads_values_as_typer_does() -> None:
    from sqlmig.cli.lint_run import LintOptions, parse

    assert parse(["--disable=truncate", "--disable", "drop-table", "-d", "db", "--pg-version",
                  "14", "-", "--json", "--", "--odd-name.up.sql"]) == LintOptions(
        paths=[Path("-"), Path("--odd-name.up.sql")], json=True,
        disable=["truncate", "drop-table"], migrations_dir="db", pg_version=14)


@pytest.mark.parametrize("args", [["--json"], ["--format", "xml"]])
def test_the_installed_command_prints_what_typer_would(error_and_warning: Path,
                                                       args: list[str]) -> None:
    import subprocess
    import sys

    fast = subprocess.run([sys.executable, "-m", "sqlmig", "lint", *args], text=True,
                          capture_output=True, cwd=error_and_warning, timeout=60)
    assert (fast.returncode, fast.stdout, fast.stderr) == lint(*args)


def test_pg_version_in_config_and_the_flag_change_what_lint_reports(offline: Path) -> None:
    write(offline, "0001_total.up.sql", "-- sqlmig:lock-timeout 5s\nALTER TABLE items ADD COLUMN "
          "total int GENERATED ALWAYS AS (price * 2) VIRTUAL;\n")
    write(offline, "0001_total.down.sql", "ALTER TABLE items DROP COLUMN total;\n")
    # PostgreSQL 18 computes a virtual column on read
    assert style_rules("--disable", "lock-timeout-missing") == (0, [])
    (offline / "sqlmig.toml").write_text(
        'pg_version = 17\nlint_disable = ["lock-timeout-missing"]\n')
    assert style_rules() == (5, ["add-column-volatile-default"])
    assert style_rules("--pg-version", "18") == (0, [])


def test_a_named_file_with_a_layout_problem_says_so_and_is_still_linted(offline: Path) -> None:
    write(offline, "0001_t.up.sql", "-- sqlmig:lock-timeout 5s\nTRUNCATE t;\n")
    write(offline, "0002_Bad.up.sql", "SELECT 1;\n")  # elsewhere: not this run's to report
    assert rules_of("sql/0001_t.up.sql") == (5, [("sql/0001_t.up.sql", "file-problem"),
                                                 ("sql/0001_t.up.sql", "truncate")])
