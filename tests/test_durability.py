"""Commits within a run: every migration but the last commits without waiting for its WAL
flush, and the last one's synchronous commit flushes them all before sqlmig reports success.
Each migration records the synchronous_commit its own transaction ran with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import provision
from tests.conftest import REPO, Project
from tests.test_batches import run_terminated_while_sleeping, wait_for_pg_sleep

RECORD = "INSERT INTO commits SELECT {v}, current_setting('synchronous_commit');"


def log_migrations(project: Project, count: int) -> None:
    project.pair("0001_log", "CREATE TABLE commits (version int, mode text);\n"
                 + RECORD.format(v=1), "DROP TABLE commits;")
    for v in range(2, count + 1):
        project.pair(f"{v:04d}_m", RECORD.format(v=v), f"DELETE FROM commits WHERE version = {v};")


def modes(project: Project) -> list[tuple[int, str]]:
    return project.query("SELECT version, mode FROM commits ORDER BY version")


def test_only_the_last_migration_of_a_run_waits_for_the_flush(project: Project) -> None:
    log_migrations(project, 4)
    project.run("migrate")
    assert modes(project) == [(1, "off"), (2, "off"), (3, "off"), (4, "on")]
    assert [row[0] for row in project.history()] == [1, 2, 3, 4]


def test_a_single_migration_commits_synchronously(project: Project) -> None:
    log_migrations(project, 2)
    project.run("up")
    assert modes(project) == [(1, "on")]


def test_a_no_transaction_migration_keeps_the_session_setting(project: Project) -> None:
    log_migrations(project, 3)
    project.pair("0002_m", "-- sqlmig:no-transaction\n" + RECORD.format(v=2),
                 "-- sqlmig:no-transaction\nDELETE FROM commits WHERE version = 2;")
    project.run("migrate")
    assert modes(project) == [(1, "off"), (2, "on"), (3, "on")]


def test_a_failed_run_keeps_the_migrations_before_the_failure(project: Project) -> None:
    log_migrations(project, 3)
    project.pair("0004_bad", "SELECT 1 / 0;", "SELECT 1;")
    project.run("migrate", code=1)
    assert modes(project) == [(1, "off"), (2, "off"), (3, "off")]
    assert [row[0] for row in project.history()] == [1, 2, 3]


def slow_third(project: Project) -> None:
    """0001 and 0002 commit asynchronously (neither ends the run); 0003 sleeps."""
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "INSERT INTO a VALUES (2);", "DELETE FROM a;")
    project.pair("0003_slow", "INSERT INTO a VALUES (3);\nSELECT pg_sleep(60);\n",
                 "DELETE FROM a WHERE id = 3;")


def test_a_terminated_backend_is_followed_by_a_check_that_what_was_reported_survived(
    project: Project,
) -> None:
    slow_third(project)
    result = run_terminated_while_sleeping(project, "migrate")
    assert "0003_slow.up.sql: connection lost" in result.stderr
    assert ("reconnected: the history has every migration reported done (0001_a, 0002_b); "
            "nothing reported was lost") in result.stderr
    assert [v for v, *_ in project.history()] == [1, 2]


def reported(stdout: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.strip().startswith("up")]


@pytest.mark.pg  # a server of its own
@pytest.mark.parametrize("restart", [True, False])
def test_a_server_crash_mid_run_says_which_reported_migrations_survived(
    tmp_path: Path, restart: bool,
) -> None:
    """Asynchronous commits reach the disk when the WAL writer gets to them (every 10 s here):
    an immediate stop before then loses them although sqlmig printed them as `up`."""
    with provision.debian_cluster(15, "-c wal_writer_delay=10000") as cluster:
        url = provision.create_database(cluster.url)
        project = Project(tmp_path, url)
        slow_third(project)
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            [sys.executable, "-m", "sqlmig", "migrate", *(["--wait", "60"] if restart else [])],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        wait_for_pg_sleep(project)
        cluster.stop("immediate")
        if restart:
            cluster.start()
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 1, stderr
        assert reported(stdout) == ["0001_a", "0002_b"], stdout
        if not restart:
            assert ("0001_a, 0002_b were reported done but committed without waiting for the "
                    "disk: if the server crashed, they may not have survived") in stderr
            assert "Run `sqlmig status` once the server is back" in stderr
            cluster.start()
        survived = [f"{v:04d}_{n}" for v, n, *_ in project.history()]
        lost = [m for m in reported(stdout) if m not in survived]
        if restart and lost:  # what the WAL writer had not written yet
            assert f"does NOT have {', '.join(lost)}: reported done, but lost" in stderr
        elif restart:
            assert "nothing reported was lost" in stderr


@pytest.mark.pg  # a server of its own
def test_where_commits_are_asynchronous_a_run_still_ends_on_the_disk_before_it_says_so(
    tmp_path: Path,
) -> None:
    """synchronous_commit = off on the server: the commit that ends the run (and a
    no-transaction migration's records) still wait for the disk, so a crash right after
    `applied ...` keeps everything it printed."""
    with provision.debian_cluster(15, "-c wal_writer_delay=10000 -c synchronous_commit=off") \
            as cluster:
        url = provision.create_database(cluster.url)
        project = Project(tmp_path, url)
        log_migrations(project, 3)
        project.pair("0004_nt", "-- sqlmig:no-transaction\n" + RECORD.format(v=4),
                     "-- sqlmig:no-transaction\nSELECT 1;")
        project.pair("0005_m", RECORD.format(v=5), "SELECT 1;")
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-m", "sqlmig", "migrate"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
        assert "applied 5 migrations" in done.stdout, done.stderr
        cluster.stop("immediate")
        cluster.start()
        assert [v for v, *_ in project.history()] == [1, 2, 3, 4, 5]
        assert modes(project) == [(1, "off"), (2, "off"), (3, "off"), (4, "off"), (5, "local")]
