"""`sqlmig status` through libpq (commands/quick.py) builds the very Status the ordinary way
builds through psycopg, in every state a history can be in; where it cannot (no history
table, an older one, an INVALID index, dump_schema, a bad URL) it says None and the ordinary
way runs."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg
import pytest

from sqlmig import commands
from sqlmig.cli import render_status
from sqlmig.commands import quick
from sqlmig.core import config
from sqlmig.core import status as status_module
from sqlmig.core.status import Status, StatusTable
from sqlmig.reporting import SilentReporter
from tests.conftest import AgedFolders, Project


def _both(project: Project, **overrides: Any) -> tuple[Status | None, Status]:
    settings = config.resolve(root=project.root)._replace(**overrides)
    return quick.status(settings), commands.status(settings, SilentReporter())


def test_every_state_reads_the_same_as_the_ordinary_way(project: Project) -> None:
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    project.pair("0002_noop", "-- only a comment\n")
    project.pair("0003_edited", "SELECT 1;")
    project.pair("0004_gone", "SELECT 1;")
    project.pair("0005_failed", "SELECT 1;")
    project.run("migrate")
    project.run("baseline", "--version", "5", code=None)
    project.pair("0006_pending", "SELECT 1;")
    project.write("0007_bad.up.sql", "")  # a problem: empty
    (project.sql_dir / "0004_gone.up.sql").unlink()
    (project.sql_dir / "0004_gone.down.sql").unlink()
    project.write("0003_edited.up.sql", "SELECT 2;")
    project.query("UPDATE public.schema_migrations SET state = 'failed', "
                  "error = E'stopped: ünïcode\\ttab\\nline' WHERE version = 5")
    project.query("UPDATE public.schema_migrations SET adopted = 'dbmate', execution_ms = NULL "
                  "WHERE version = 2")
    fast, ordinary = _both(project)
    assert fast is not None and ordinary is not None
    # (exceptions compare by identity: the problems by their words)
    assert [str(p) for p in fast.problems] == [str(p) for p in ordinary.problems]
    assert fast._replace(problems=[]) == ordinary._replace(problems=[])
    assert {str(row.state) for row in fast.rows} == {
        "applied", "changed", "missing", "failed", "pending", "problem"}
    assert render_status.status_json(fast) == render_status.status_json(ordinary)


def test_an_empty_history_table_is_a_history_table(project: Project) -> None:
    project.pair("0001_a", "SELECT 1;")
    project.run("migrate")
    project.query("DELETE FROM public.schema_migrations")
    fast, ordinary = _both(project)
    assert fast is not None and fast == ordinary and fast.history_table


def test_where_only_the_ordinary_way_can_tell_it_says_none(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    assert _both(project)[0] is None  # no history table yet
    project.run("migrate")
    assert _both(project)[0] is not None
    assert _both(project, dump_schema=True)[0] is None
    settings = config.resolve(root=project.root)._replace(
        database_url="postgresql://nobody@127.0.0.1:1/none")
    assert quick.status(settings) is None
    project.query("INSERT INTO a SELECT 1 FROM generate_series(1, 2)")
    with psycopg.connect(project.url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY a_id ON a (id)")
    assert _both(project)[0] is None  # an INVALID index: the ordinary way reads it twice
    project.query("DROP INDEX a_id")
    project.query("ALTER TABLE public.schema_migrations DROP COLUMN adopted")  # an older one
    assert _both(project)[0] is None


def test_the_command_answers_without_psycopg(project: Project) -> None:
    project.pair("0001_a", "SELECT 1;")
    project.run("migrate")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sqlmig", "status"],
                          text=True, capture_output=True, cwd=project.root, timeout=60)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert done.returncode == 0 and "0001" in done.stdout
    assert "psycopg" not in imported


def _tables(project: Project) -> tuple[StatusTable | None, StatusTable]:
    settings = config.resolve(root=project.root)
    return quick.status_table(settings), commands.status(settings, SilentReporter()).table()


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> AgedFolders:
    return AgedFolders(tmp_path_factory.mktemp("aged"), {
        "0001_users": ("CREATE TABLE users (id int);", "DROP TABLE users;"),
        "0002_noop": ("-- kept for the numbering\n", "SELECT 1;"),
        **{f"000{v}_step {v} ü": ("SELECT 1;", "SELECT 1;") for v in (3, 4, 5)},
    }, count=9)


@pytest.fixture
def cached(project: Project, aged: AgedFolders) -> Project:
    """Five applied migrations (one a no-op), written long enough ago for the file cache to
    vouch for them, and scanned clean once."""
    aged.take(project)
    project.run("migrate")
    return project


def test_a_healthy_history_reads_a_column_at_a_time_as_the_ordinary_way(
    cached: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy: list[Any] = []
    monkeypatch.setattr(status_module, "healthy_columns",
                        _spy(status_module.healthy_columns, healthy))
    fast, ordinary = _tables(cached)
    assert healthy and fast == ordinary
    assert [line[2] for line in fast.lines] == ["applied"] * 5
    assert fast.lines[1][3] == "no-op" and fast.clean


@pytest.mark.parametrize(("change", "clean"), [
    ("UPDATE public.schema_migrations SET checksum = repeat('0', 64) WHERE version = 3", False),
    ("UPDATE public.schema_migrations SET state = 'failed', error = 'x' WHERE version = 4",
     False),
    ("DELETE FROM public.schema_migrations WHERE version = 5", False),
    ("UPDATE public.schema_migrations SET baseline = true WHERE version <= 2", True),
    ("UPDATE public.schema_migrations SET adopted = 'dbmate', execution_ms = NULL "
     "WHERE version = 1", True),
    ("INSERT INTO public.schema_migrations (version, name, checksum, batch, applied_by, "
     "sqlmig_version) SELECT 9, 'gone ü', repeat('1', 64), 7, 'me', '0.1.0'", False),
])
def test_every_state_and_mark_reads_as_the_ordinary_way(cached: Project, change: str,
                                                        clean: bool) -> None:
    before, _ = _tables(cached)
    cached.query(change)
    fast, ordinary = _tables(cached)
    assert fast is not None and fast == ordinary
    assert before is not None and fast.lines != before.lines and fast.clean is clean


def test_where_the_table_cannot_be_read_as_text_it_says_none(cached: Project) -> None:
    assert _tables(cached)[0] is not None
    cached.query("INSERT INTO public.schema_migrations (version, name, checksum, batch, "
                 "applied_by, sqlmig_version) SELECT 9, E'tab\\there', 'x', 1, 'me', '0.1.0'")
    fast, ordinary = _tables(cached)
    assert fast is None and ordinary.lines[-1][1] == "tab\there"
    cached.query("DELETE FROM public.schema_migrations WHERE version = 9")
    cached.pair("0006_new", "SELECT 1;")  # too fresh for the cache to vouch for the folder
    assert _tables(cached)[0] is None
    assert quick.status(config.resolve(root=cached.root)) is not None


def _spy(function: Any, calls: list[Any]) -> Any:
    def spied(*args: Any) -> Any:
        calls.append(args)
        return function(*args)

    return spied
