"""What messages say: counts agree with their nouns, types are named as the config file names
them, and no Python value (None, True) stands in for words."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from sqlmig.core import config
from sqlmig.errors import ConfigError, counted
from sqlmig.pg.catalog import Difference
from tests.conftest import Project


@pytest.mark.parametrize(("count", "said"), [(0, "0 files"), (1, "1 file"), (2, "2 files")])
def test_a_count_agrees_with_its_noun(count: int, said: str) -> None:
    assert counted(count, "file") == said


def test_an_irregular_plural_is_given_once() -> None:
    assert counted(3, "index", "indexes") == "3 indexes"
    assert counted(1, "index", "indexes") == "1 index"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lock_wait = 'x'", "sqlmig.toml: 'lock_wait' must be a number, got 'x'"),
        ("dump_schema = 1", "sqlmig.toml: 'dump_schema' must be true or false, got 1"),
        ("lint_disable = 'drop-table'",
         "sqlmig.toml: 'lint_disable' must be a list of rule ids, got 'drop-table'"),
        ("connect_wait = false", "sqlmig.toml: 'connect_wait' must be a number, got false"),
    ],
)
def test_a_config_type_error_names_the_type_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sqlmig.toml").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        config.resolve(env="development", database_url="postgresql://u@h/db", overrides={})
    assert str(raised.value) == message


def test_a_removed_default_is_said_in_words_not_as_none() -> None:
    dropped = Difference("column", "public.t.created_at", "changed", "default", "now()", None)
    assert str(dropped) == "column public.t.created_at: default: 'now()' -> no default"
    made_not_null = Difference("column", "public.t.id", "changed", "nullable", True, False)
    assert made_not_null.detail() == "nullable: true -> false"


def test_diff_of_a_dropped_default_prints_no_python_none(
    project: Project, second_database: str
) -> None:
    project.query("CREATE TABLE t (at timestamptz DEFAULT now())")
    with psycopg.connect(second_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (at timestamptz)")
    out = project.run("diff", "--from", project.url, "--to", second_database, code=3).stdout
    assert "default: 'now()' -> no default" in out
    assert "None" not in out and "1 difference from" in out


def test_verbose_counts_one_migration_file_in_the_singular(project: Project) -> None:
    project.pair("0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    err = project.run("--verbose", "migrate").stderr
    assert "0 applied, 1 migration file" in err and "1 migration files" not in err


def test_seed_of_one_file_and_one_row_is_counted_in_the_singular(project: Project) -> None:
    project.pair("0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.write("01_t.csv", "id\n1\n", "seeds/development")
    project.run("migrate")
    assert ": 1 file, 1 row in " in project.run("seed").stdout
