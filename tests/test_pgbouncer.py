"""sqlmig through a real PgBouncer: in session mode everything works, with sqlmig's settings
SET after connecting (PgBouncer refuses the `options` startup parameter, or drops it when told
to ignore it); pooling per transaction is refused before anything is touched. A direct
connection is unchanged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from sqlmig.core.config import resolve
from sqlmig.errors import EXIT_ERROR
from sqlmig.pg import connection
from tests import provision
from tests.conftest import Project


def through(project: Project, bouncer: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the project's DATABASE_URL at its database through `bouncer`; the witness
    (project.query) still connects directly."""
    url = provision.through_pgbouncer(project.url, bouncer)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def versions(project: Project) -> list[int]:
    return [version for version, *_ in project.history()]


def test_migrate_status_and_rollback_work_through_pgbouncer_in_session_mode(
    project: Project, pgbouncer_session: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    through(project, pgbouncer_session, monkeypatch)
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    project.pair("0002_posts", "SET search_path = public;\nCREATE TABLE posts (id int);",
                 "DROP TABLE posts;")
    project.pair("0003_tags", "CREATE TABLE tags (id int);", "DROP TABLE tags;")
    project.run("migrate")
    assert versions(project) == [1, 2, 3]
    assert project.tables() >= {"users", "posts", "tags"}
    assert "3 applied, 0 pending" in project.run("status").stdout
    project.run("rollback")
    assert versions(project) == []
    assert not project.tables() & {"users", "posts", "tags"}


@contextmanager
def table_held(project: Project, table: str, seconds: float) -> Iterator[None]:
    """Another session holds a lock on `table` that any ALTER TABLE waits for, for at most
    `seconds` (so code that ignores lock_timeout finishes, late, instead of hanging)."""
    holder = psycopg.connect(project.url)
    holder.execute(f"LOCK TABLE {table} IN ACCESS SHARE MODE")
    release = threading.Timer(seconds, holder.rollback)
    release.start()
    try:
        yield
    finally:
        release.cancel()
        holder.close()


@pytest.mark.parametrize("after_a_session_reset", [False, True])
def test_the_configured_lock_timeout_applies_through_pgbouncer(
    project: Project, pgbouncer_ignoring_options: str, monkeypatch: pytest.MonkeyPatch,
    after_a_session_reset: bool,
) -> None:
    through(project, pgbouncer_ignoring_options, monkeypatch)
    monkeypatch.setenv("SQLMIG_LOCK_TIMEOUT", "1s")
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    project.run("migrate")
    if after_a_session_reset:  # RESET ALL runs before the ALTER: the SETs must follow it
        project.pair("0002_path", "SET search_path = public;", "SELECT 1;")
    project.pair("0003_alter", "ALTER TABLE users ADD COLUMN email text;",
                 "ALTER TABLE users DROP COLUMN email;")
    with table_held(project, "users", seconds=10):
        started = time.monotonic()
        result = project.run("migrate", "--lock-retries", "0", code=EXIT_ERROR)
        elapsed = time.monotonic() - started
    assert "lock timeout" in result.stderr
    assert elapsed < 6, f"the ALTER waited {elapsed:.1f}s against lock_timeout = 1s"
    assert 3 not in versions(project)


@pytest.mark.parametrize("command", ["migrate", "rollback", "status"])
def test_pooling_per_transaction_is_refused_before_anything_is_touched(
    project: Project, pgbouncer_transaction: str, monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    through(project, pgbouncer_transaction, monkeypatch)
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    result = project.run(command, code=EXIT_ERROR)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "is pooled per transaction" in line
    assert "connect to PostgreSQL directly or use PgBouncer in session mode" in line
    assert not project.exists("public.schema_migrations")
    assert not project.exists("public.sqlmig_metadata")
    assert not project.exists("public.users")
    assert project.query(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ) == [(0,)]


@pytest.mark.parametrize("pool_mode", ["session", "transaction", "statement"])
def test_a_pool_of_one_server_is_told_apart_without_waiting_for_it_forever(
    project: Project, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch, pool_mode: str
) -> None:
    """The second connection of the check cannot have a server of its own (session mode: it
    gives up after a while) or takes sqlmig's only one (transaction mode: sqlmig's next
    query must not wait for it)."""
    session = pool_mode == "session"
    monkeypatch.setattr(connection, "POOL_PROBE_SECONDS", 1.0)
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    with provision.pgbouncer(pg_admin_url, pool_mode, ignore_options=not session,
                             pool_size=1) as bouncer:
        through(project, bouncer, monkeypatch)
        started = time.monotonic()
        result = project.run("migrate", code=0 if session else EXIT_ERROR)
        elapsed = time.monotonic() - started
    if session:
        assert versions(project) == [1]
        assert elapsed < connection.POOL_PROBE_SECONDS + 5
    else:
        assert "is pooled per transaction" in result.stderr
        assert not project.exists("public.schema_migrations")
        assert elapsed < 5


def test_concurrent_runs_through_session_mode_apply_each_migration_once(
    project: Project, pgbouncer_session: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    through(project, pgbouncer_session, monkeypatch)
    project.pair("0001_a", "CREATE TABLE a (id int);\nSELECT pg_sleep(0.5);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    runs = [project.spawn("migrate") for _ in range(6)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, outputs
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 1), (3, 1)]
    assert sum("applied 3 migrations" in out for out, _ in outputs) == 1
    assert sum("up to date" in out for out, _ in outputs) == 5


def test_a_direct_connection_works_with_the_settings_set_in_its_session(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SQLMIG_LOCK_TIMEOUT", "3s")
    project.pair(
        "0001_seen",
        "CREATE TABLE seen AS SELECT setting, source FROM pg_settings "
        "WHERE name IN ('lock_timeout', 'client_min_messages') ORDER BY name;",
        "DROP TABLE seen;",
    )
    project.run("migrate")
    assert project.query("SELECT setting, source FROM seen") == [
        ("notice", "session"), ("3000", "session"),
    ]


def test_the_urls_own_options_win_over_configured_settings_even_after_a_reset(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", make_conninfo(project.url, options="-c lock_timeout=7s"))
    monkeypatch.setenv("SQLMIG_LOCK_TIMEOUT", "3s")
    project.pair("0001_path", "SET search_path = public;", "SELECT 1;")
    project.pair("0002_seen", "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS v;",
                 "DROP TABLE seen;")
    project.run("migrate")
    assert project.query("SELECT v FROM seen") == [("7s",)]


def test_session_sets_skip_what_the_url_sets_and_watch_the_client_from_postgresql_14(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.delenv("PGOPTIONS", raising=False)
    settings = resolve(root=tmp_path, environ={
        "SQLMIG_LOCK_TIMEOUT": "1 s", "SQLMIG_STATEMENT_TIMEOUT": "1min",
        "DATABASE_URL": "postgresql://db/app",
    })
    with connection.open_link(db_url, libpq=True) as link:  # quotes them, as libpq does
        assert link.psycopg is None
        assert connection.session_sets("postgresql://db/app", settings, 140000, link) == (
            'SET "client_min_messages" = \'notice\'',
            'SET "client_connection_check_interval" = \'2s\'',
            'SET "lock_timeout" = \'1 s\'',
            'SET "statement_timeout" = \'1min\'',
        )
        assert connection.session_sets("postgresql://db/app", None, 130000, link) == (
            'SET "client_min_messages" = \'notice\'',
        )
        url = "postgresql://db/app?options=-c%20lock_timeout%3D5s%20--statement-timeout%3D0"
        sets = connection.session_sets(url, settings, 130000, link)
        assert sets == ('SET "client_min_messages" = \'notice\'',)
        monkeypatch.setenv("PGOPTIONS", "-c client_min_messages=warning")
        assert connection.session_sets("postgresql://db/app", None, 130000, link) == ()


@pytest.mark.parametrize("libpq", [False, True])
def test_connections_prepare_nothing_and_their_reset_sets_sqlmigs_settings_again(
    project: Project, libpq: bool
) -> None:
    """A pooler may not keep a prepared statement; RESET ALL undoes the SETs, so the reset
    sends them again (through either driver)."""
    with connection.open_link(project.url, libpq=libpq) as link:
        assert (link.psycopg is None) == libpq
        if link.psycopg is not None:
            assert link.psycopg.prepare_threshold is None
        reset = connection.session_reset(link)
        assert reset.startswith("RESET ALL;\nDISCARD TEMP;\n")
        assert link.sets and all(f"{statement};\n" in reset for statement in link.sets)
        link.run("SET client_min_messages = warning")
        link.run(reset)
        assert link.rows("SHOW client_min_messages") == [("notice",)]
