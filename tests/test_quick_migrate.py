"""`sqlmig migrate` with nothing to do answers from the file cache's stats and one query
through libpq (commands/quick.py, cli/migrate_run.py): it prints exactly what the ordinary
way prints, and anything but "up to date" (an edit, a pending file, a history that differs,
a connection that fails) goes the ordinary way, which says what is wrong."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
import typer.main

from sqlmig.cli import app
from sqlmig.cli.migrate_run import OPTIONS, parse
from sqlmig.commands.quick import UP_TO_DATE
from sqlmig.core.plan import nothing_to_migrate
from sqlmig.errors import EXIT_ERROR
from tests import provision
from tests.conftest import AgedFolders, Project


def _migrate(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str], bool]:
    """`sqlmig migrate ARGS` as its own process; and whether it went the ordinary way (took
    the locked session) or answered without it."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sqlmig", "migrate",
                           *args], text=True, capture_output=True, cwd=project.root,
                          timeout=120)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    done.stderr = "".join(line + "\n" for line in done.stderr.splitlines()
                          if not line.startswith("import time:"))
    return done, "sqlmig.pg.session" in imported


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> AgedFolders:
    return AgedFolders(tmp_path_factory.mktemp("aged"), {
        "0001_users": ("CREATE TABLE IF NOT EXISTS users (id int);", "DROP TABLE users;"),
        "0002_noop": ("-- kept for the numbering\n", "SELECT 1;"),
        "0003_orders": ("CREATE TABLE IF NOT EXISTS orders (id int);", "DROP TABLE orders;"),
    }, count=8)


@pytest.fixture
def applied(project: Project, aged: AgedFolders) -> Project:
    """Three applied migrations, written long enough ago for the file cache to vouch for
    them (files younger than RACY_NS are read every time)."""
    aged.take(project)
    first, _ = _migrate(project)
    assert first.returncode == 0 and "applied 3 migrations" in first.stdout
    return project


def test_nothing_to_do_is_told_without_psycopg_in_the_ordinary_words(applied: Project) -> None:
    quick, ordinary_way = _migrate(applied)
    assert not ordinary_way
    assert (quick.returncode, quick.stderr) == (0, "")
    assert quick.stdout.splitlines()[-1] == UP_TO_DATE
    ordinary = applied.run("migrate")  # in-process: the Typer command
    assert quick.stdout == ordinary.stdout
    assert [row[0] for row in applied.history()] == [1, 2, 3]
    quiet, ordinary_way = _migrate(applied, "-q", "--url", applied.url)
    assert not ordinary_way and quiet.stdout == applied.run("migrate", "-q").stdout


@pytest.mark.parametrize("change", [
    "UPDATE public.schema_migrations SET checksum = repeat('0', 64) WHERE version = 2",
    "UPDATE public.schema_migrations SET state = 'failed' WHERE version = 3",
    "INSERT INTO public.schema_migrations (version, name, checksum, batch, applied_by, "
    "sqlmig_version) SELECT 4, 'gone', repeat('1', 64), 1, 'me', '0.1.0'",
    "DELETE FROM public.schema_migrations WHERE version = 3",
])
def test_a_history_that_differs_from_the_files_goes_the_ordinary_way(
    applied: Project, change: str
) -> None:
    applied.query(change)
    done, ordinary_way = _migrate(applied)
    assert ordinary_way
    if change.startswith("DELETE"):  # pending again: applied again
        assert done.returncode == 0 and "applied 1 migration" in done.stdout
        assert [row[0] for row in applied.history()] == [1, 2, 3]
    else:
        assert done.returncode != 0 and done.stderr.startswith("error: ")


def test_an_edited_or_new_file_goes_the_ordinary_way(applied: Project) -> None:
    up = applied.sql_dir / "0001_users.up.sql"
    up.write_text(up.read_text() + "\n-- an edit\n")
    done, ordinary_way = _migrate(applied)
    assert ordinary_way and done.returncode != 0 and "0001_users" in done.stderr
    up.write_text(up.read_text().replace("\n-- an edit\n", ""))
    applied.pair("0004_items", "CREATE TABLE items (id int);", "DROP TABLE items;")
    done, ordinary_way = _migrate(applied)
    assert ordinary_way and done.returncode == 0 and "0004_items" in done.stdout
    assert "items" in applied.tables()


def test_a_connection_that_fails_goes_the_ordinary_way(applied: Project) -> None:
    bad = "postgresql://nobody:secret-pw@127.0.0.1:1/none"
    done, ordinary_way = _migrate(applied, "--url", bad)
    assert ordinary_way and done.returncode != 0
    assert done.stderr.startswith("error: cannot connect to nobody@127.0.0.1:1/none")
    assert "secret-pw" not in done.stdout + done.stderr


def test_sigterm_while_the_quick_answer_waits_is_an_interrupt(applied: Project) -> None:
    """A server that accepts the connection and never answers: `docker stop` meanwhile ends
    the run as an interrupt (exit 130, said so), not a silent kill nor a 10 s wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/none"
        process = applied.spawn("migrate", "--url", url)
        time.sleep(1.5)  # started, stat'ed its files, and waiting for the server
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130 and time.monotonic() - started < 5
    assert stderr == "error: interrupted; nothing was left half-done\n"


def test_the_words_are_the_ordinary_ones() -> None:
    assert nothing_to_migrate(None, []) == UP_TO_DATE


def test_the_fast_path_reads_only_options_of_the_typer_command() -> None:
    group = typer.main.get_command(app)
    command = group.commands["migrate"]  # type: ignore[attr-defined]
    names = {name for p in [*command.params, *group.params] for name in p.opts}
    assert set(OPTIONS) <= names
    assert parse(["-e", "test", "--url=postgresql://x/y", "-d", "db", "-q", "--no-color"]) \
        == {"env": "test", "database_url": "postgresql://x/y", "migrations_dir": "db",
            "quiet": True, "no_color": True}
    for args in (["--to", "3"], ["--json"], ["--dry-run"], ["--help"], ["-qv"], ["--env"]):
        assert parse(args) is None


def test_behind_a_pooler_the_ordinary_way_decides(
    applied: Project, pgbouncer_transaction: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick answer is given only where libpq's backend is the one answering: behind
    PgBouncer pooling per transaction, migrate and status are refused as ever, with a
    history that is up to date."""
    monkeypatch.setenv("DATABASE_URL",
                       provision.through_pgbouncer(applied.url, pgbouncer_transaction))
    done, ordinary_way = _migrate(applied)
    assert ordinary_way and done.returncode == EXIT_ERROR
    assert "is pooled per transaction" in done.stderr
    status = applied.run("status", code=EXIT_ERROR)
    assert "is pooled per transaction" in status.stderr
