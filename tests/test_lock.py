"""The advisory lock: concurrent runs apply each migration exactly once; waiting is bounded and
names who holds the lock."""

from __future__ import annotations

import psycopg

from sqlmig.errors import EXIT_LOCK_TIMEOUT
from sqlmig.pg import db
from tests.conftest import Project


def slow_migrations(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);\nSELECT pg_sleep(0.5);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")


def test_two_concurrent_migrate_processes_apply_each_migration_once(project: Project) -> None:
    slow_migrations(project)
    first = project.spawn("migrate")
    second = project.spawn("migrate")
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 1), (3, 1)]
    stdout = [out for out, _ in outputs]
    assert sum("applied 3 migrations" in out for out in stdout) == 1
    assert sum("up to date" in out for out in stdout) == 1


def test_lock_wait_gives_up_and_names_the_holder(project: Project) -> None:
    slow_migrations(project)
    key = db.lock_key("public", "schema_migrations")
    with psycopg.connect(project.url, autocommit=True, application_name="deploy-bot") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        result = project.run("migrate", "--lock-wait", "0.5", code=EXIT_LOCK_TIMEOUT)
    assert "waiting for the migration lock (held by pid" in result.stderr
    assert "deploy-bot" in result.stderr
    assert "gave up after 0.5s" in result.stderr
    assert not project.exists("a")


def test_a_lock_held_by_a_sqlmig_session_on_postgresql_13_says_how_to_end_it(
    project: Project,
) -> None:
    """A kill -9 frees nothing on 13 until the running statement ends (no
    client_connection_check_interval); 14+ frees it within seconds, so no hint there."""
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    key = db.lock_key("public", "schema_migrations")
    with psycopg.connect(project.url, autocommit=True, application_name="sqlmig") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        pid = holder.info.backend_pid
        result = project.run("migrate", "--lock-wait", "0.2", code=EXIT_LOCK_TIMEOUT)
        old = holder.info.server_version < 140000
    hint = f"end it with SELECT pg_terminate_backend({pid})"
    assert (hint in result.stderr) is old, result.stderr
    assert f"held by pid {pid} (sqlmig" in result.stderr


def test_lock_is_released_after_a_failed_run(project: Project) -> None:
    project.pair("0001_bad", "SELECT 1/0;", "SELECT 1;")
    project.run("migrate", code=1)
    key = db.lock_key("public", "schema_migrations")
    with psycopg.connect(project.url, autocommit=True) as witness:
        assert witness.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)


def test_runs_on_different_history_tables_do_not_share_a_lock() -> None:
    assert db.lock_key("public", "schema_migrations") != db.lock_key("app", "schema_migrations")
    assert db.lock_key("public", "a") != db.lock_key("public", "b")


def test_migrations_run_with_application_name_sqlmig(project: Project) -> None:
    project.pair(
        "0001_who",
        "CREATE TABLE who AS SELECT current_setting('application_name') AS name;",
        "DROP TABLE who;",
    )
    project.run("migrate")
    assert project.query("SELECT name FROM who") == [("sqlmig",)]
