"""Output to a pipe or a CI log: whole lines, as written. No box drawing, no padding to 80
columns, no wrapping, nothing cut, whatever the length of names and messages."""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from tests.conftest import Project

LONG = "create_a_table_with_a_name_long_enough_to_overflow_any_eighty_column_terminal"
BOX = re.compile(r"[\u2500-\u257f]")  # Rich's rules and table borders


@pytest.fixture
def piped(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose output goes to a pipe at Rich's default width (no COLUMNS)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    return project


def whole_lines(text: str) -> list[str]:
    """The output's lines, after asserting nothing was drawn or padded."""
    assert not BOX.search(text), text
    lines = text.splitlines()
    assert not [line for line in lines if line != line.rstrip()], text
    return lines


def long_pair(project: Project, version: int = 1, up: str | None = None) -> str:
    stem = f"{version:04d}_{LONG}"
    project.pair(stem, up or f"CREATE TABLE t{version} (id int);", f"DROP TABLE t{version};")
    return stem


def test_dry_run_prints_the_failing_migrations_error_in_full(piped: Project) -> None:
    long_pair(piped, 1)
    stem = long_pair(piped, 2, "INSERT INTO a_table_that_is_not_there_at_all_anywhere VALUES (1);")
    out = piped.run("migrate", "--dry-run", code=1).stdout
    lines = whole_lines(out)
    row = next(line for line in lines if line.startswith(stem))
    assert row.endswith(f'fails: sql/{stem}.up.sql:1:13: relation '
                        '"a_table_that_is_not_there_at_all_anywhere" does not exist'), out


def test_lint_prints_each_finding_and_its_fix_whole(piped: Project) -> None:
    long_pair(piped, 1)
    stem = long_pair(piped, 2, f"ALTER TABLE t1 RENAME COLUMN id TO {LONG[:60]};")
    lines = whole_lines(piped.run("lint").stdout)
    assert f"sql/{stem}.up.sql" in lines
    assert "   1  rename-column         RENAME COLUMN t1.id breaks running code that still " \
        "uses the old name" in lines
    assert "                            safer: add the new column, write both, move readers, " \
        "drop the old one later (expand/contract)" in lines


def test_verify_prints_each_problem_on_one_line(piped: Project) -> None:
    stem = long_pair(piped, 1)
    piped.run("migrate")
    piped.write(f"{stem}.up.sql", "CREATE TABLE t1 (id bigint);")
    lines = whole_lines(piped.run("verify", code=1).stdout)
    problem = next(line for line in lines if line.startswith("changed"))
    assert stem in problem and "checksum" in problem


def test_verify_ok_is_one_line(piped: Project) -> None:
    long_pair(piped, 1)
    piped.run("migrate")
    lines = whole_lines(piped.run("verify").stdout)
    assert lines == ["ok: files and history agree (1 migration in files, 1 applied)"]


def test_seed_prints_long_file_names_and_the_summary_whole(piped: Project) -> None:
    long_pair(piped, 1)
    piped.run("migrate")
    piped.write(f"01_{LONG}.sql", "SELECT 1;", "seeds/development")
    lines = whole_lines(piped.run("seed").stdout)
    assert any(line.startswith(f"01_{LONG}.sql") for line in lines), lines
    assert any(line.startswith("seeded development from seeds/development: 1 file, ")
               for line in lines), lines


def test_config_prints_each_setting_with_its_value_and_source_on_one_line(
    piped: Project,
) -> None:
    piped.write("sqlmig.toml", f'migrations_dir = "{LONG}/sql"\n', ".")
    (piped.root / LONG / "sql").mkdir(parents=True)
    lines = whole_lines(piped.run("config").stdout)
    row = next(line for line in lines if line.startswith("migrations_dir"))
    assert row.split()[1].endswith(f"{LONG}/sql") and row.endswith("sqlmig.toml"), row


def test_check_prints_each_result_whole(piped: Project) -> None:
    stem = long_pair(piped, 1)
    lines = whole_lines(piped.run("check").stdout)
    assert any(line.startswith(f"  ok   {stem} (up ") for line in lines), lines


def test_diff_prints_each_difference_on_one_line(piped: Project, second_database: str) -> None:
    piped.query(f"CREATE TABLE {LONG[:60]} (at timestamptz DEFAULT now())")
    with psycopg.connect(second_database, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {LONG[:60]} (at timestamptz)")
    lines = whole_lines(piped.run("diff", "--from", piped.url, "--to", second_database,
                                  code=3).stdout)
    row = next(line for line in lines if line.startswith("changed"))
    assert row.endswith(f"public.{LONG[:60]}.at  default: 'now()' -> no default"), row


def test_plan_prints_the_heading_and_sql_lines_whole(piped: Project) -> None:
    stem = long_pair(piped, 1, f"CREATE TABLE t1 (id int, {LONG} text);")
    lines = whole_lines(piped.run("plan").stdout)
    assert f"{stem} · transaction" in lines
    assert f"1  CREATE TABLE t1 (id int, {LONG} text);" in lines


def test_status_prints_long_names_whole(piped: Project) -> None:
    stem = long_pair(piped, 1)
    piped.run("migrate")
    out = piped.run("status").stdout
    lines = whole_lines(out)
    assert re.match(rf"0001 +{stem[5:]} +applied +\S+ \S+ +\d+ ms +1$", lines[2]), out
    assert json.loads(piped.run("status", "--json").stdout)["migrations"][0]["name"] == LONG
