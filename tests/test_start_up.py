"""What the commands CI runs on every push load before they answer. A short `status` or a
`migrate` with nothing to do is mostly Python starting and importing, so their paths load
neither the database driver, nor Typer or Rich, nor dataclasses: importing dataclasses (and
the inspect module it needs) cost ten milliseconds here, and making each dataclass one more
(fourteen on `status`'s path: a quarter of its run), where a NamedTuple costs a tenth of
that. Records on these paths are NamedTuples or plain classes. A run that changes the
database imports psycopg (most of its start-up), but makes no dataclass either and leaves
unloaded what it does not run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import AgedFolders, Project

# Modules none of the quick starts may load
HEAVY = ("psycopg", "typer", "rich", "dataclasses", "inspect", "pglast")


def _imported(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`sqlmig ARGS` as its own process (the console script: `python -m sqlmig --help` is
    Click's), and the modules it imported."""
    done = subprocess.run([str(Path(sys.executable).with_name("sqlmig")), *args], text=True,
                          capture_output=True, cwd=project.root, timeout=120,
                          env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "COLUMNS": "120"})
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    return done, imported


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> AgedFolders:
    return AgedFolders(tmp_path_factory.mktemp("aged"), {
        "0001_users": ("CREATE TABLE users (id int);", "DROP TABLE users;"),
        "0002_noop": ("-- kept for the numbering\n", "SELECT 1;"),
    }, count=2)


def test_status_and_a_migrate_with_nothing_to_do_load_nothing_heavy(
        project: Project, aged: AgedFolders) -> None:
    aged.take(project)
    first, loaded = _imported(project, "migrate")
    assert first.returncode == 0 and "applied 2 migrations" in first.stdout
    assert "sqlmig.pg.session" in loaded  # the ordinary way: the check sees
    again, loaded = _imported(project, "migrate")
    assert again.returncode == 0 and again.stdout.endswith("up to date\n")
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))
    status, loaded = _imported(project, "status")
    assert status.returncode == 0, status.stderr
    assert [line.split()[:3] for line in status.stdout.splitlines()[2:4]] == [
        ["0001", "users", "applied"], ["0002", "noop", "applied"]]
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_help_loads_nothing_heavy(project: Project) -> None:
    done, loaded = _imported(project, "--help")
    assert done.returncode == 0 and "migrate" in done.stdout
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


# What `rollback` and `migrate` with work load only when a run needs them: the single-
# transaction, dry-run and no-transaction engines, dumps and the catalog, the embedded server
# (with a URL) and database creation
LAZY = ("sqlmig.engine.one_transaction", "sqlmig.engine.no_transaction", "sqlmig.pg.dump",
        "sqlmig.pg.catalog", "sqlmig.pg.embedded", "sqlmig.core.schema_file",
        "sqlmig.commands.database")

# Runs the CLI, then names the sqlmig modules it loaded and the dataclasses they define
_RUN_AND_LIST = """
import dataclasses, sys
sys.argv = ["sqlmig", *sys.argv[1:]]
from sqlmig.cli import main
try:
    main()
finally:
    loaded = sorted(name for name in sys.modules if name.startswith(("sqlmig", "psycopg")))
    made = sorted(f"{name}.{value.__qualname__}" for name in loaded
                  for value in vars(sys.modules[name]).values()
                  if isinstance(value, type) and value.__module__ == name
                  and dataclasses.is_dataclass(value))
    print("LOADED", *loaded, file=sys.stderr)
    print("DATACLASSES", *made, file=sys.stderr)
"""


def _run_listing(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                         list[str], list[str]]:
    done = subprocess.run([sys.executable, "-c", _RUN_AND_LIST, *args], text=True,
                          capture_output=True, cwd=project.root, timeout=120)
    lines = dict(line.partition(" ")[::2] for line in done.stderr.splitlines()
                 if line.startswith(("LOADED", "DATACLASSES")))
    return done, lines["LOADED"].split(), lines["DATACLASSES"].split()


def test_a_rollback_and_a_migrate_with_work_make_no_dataclass_and_load_only_what_they_run(
        project: Project) -> None:
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    project.pair("0002_orders", "CREATE TABLE orders (id int);", "DROP TABLE orders;")
    for args, said in ((("migrate",), "applied 2 migrations"),
                       (("rollback", "--all"), "rolled back 2 migrations")):
        done, loaded, dataclasses = _run_listing(project, *args)
        assert done.returncode == 0 and said in done.stdout, done.stderr
        assert "sqlmig.engine.batch" in loaded  # it did run through the engine
        assert not [name for name in loaded if name.startswith("psycopg")]  # libpq alone
        assert dataclasses == [], dataclasses
        assert set(loaded).isdisjoint(LAZY), sorted(set(loaded).intersection(LAZY))
    assert project.tables() == {"schema_migrations"} and project.history() == []
