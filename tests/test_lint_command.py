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
    assert out.count("rename-column") == 2 and "0 errors, 2 warnings" in out


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
    }
    assert "users" in finding["message"] and "CONCURRENTLY" in finding["fix"]


def test_github_format_prints_one_workflow_annotation_per_finding(offline: Path) -> None:
    write(offline, "0001_idx.up.sql", RISKY_UP)
    write(offline, "0001_idx.down.sql", "DROP INDEX users_email_idx;\n")
    write(offline, "0002_rename.up.sql", "SET lock_timeout = '1s';\n" + WARNING_ONLY_UP)
    write(offline, "0002_rename.down.sql", "SELECT 1;\n")
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


def test_an_unknown_rule_in_an_ignore_comment_names_file_and_line(offline: Path) -> None:
    write(offline, "0001_drop.up.sql",
          "SELECT 1;\n-- sqlmig:lint-ignore drop-tables\nDROP TABLE x;\n")
    write(offline, "0001_drop.down.sql", "SELECT 1;\n")
    code, _, err = lint()
    assert code == 1 and "sql/0001_drop.up.sql:2:" in err and "drop-tables" in err


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
