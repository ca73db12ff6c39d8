"""An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index behind, which `IF NOT
EXISTS` then skips: sqlmig says so when it happens, never records a no-transaction migration
done while an index is invalid, and status and verify report such indexes with the statement
that drops them."""

from __future__ import annotations

import contextlib
import json
import signal
import threading

import psycopg

from tests.conftest import Project
from tests.test_batches import run_terminated_while_sleeping, wait_for_pg_sleep, wait_until

INDEX = '"Users Email"'  # a name that needs quoting
DROP = 'DROP INDEX CONCURRENTLY IF EXISTS public."Users Email";'


def slow_index(project: Project) -> None:
    """0002 builds an index whose expression sleeps for each row (one row: 30 s)."""
    project.pair(
        "0001_users",
        "CREATE TABLE users (id int, email text);\nINSERT INTO users VALUES (1, 'a@b');\n"
        "CREATE FUNCTION slow(text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$\n"
        "BEGIN PERFORM pg_sleep(30); RETURN $1; END $$;\n",
        "DROP TABLE users;\nDROP FUNCTION slow(text);",
    )
    project.pair(
        "0002_email_index",
        f"-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON users (slow(email));\n",
        f"-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS {INDEX};\n",
    )


def index_state(project: Project) -> list[tuple]:
    return project.query(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'Users Email'"
    )


def states(project: Project) -> list[tuple]:
    return project.query("SELECT version, state FROM schema_migrations ORDER BY 1")


def test_sigterm_during_create_index_concurrently_says_the_index_is_left_invalid(
    project: Project,
) -> None:
    slow_index(project)
    process = project.spawn("migrate")
    wait_for_pg_sleep(project)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "rolled back;" not in stderr and "interrupted; rolled back" not in stderr
    assert ("0002_email_index.up.sql: interrupted at statement 1 of 1 (line 2); it runs "
            "outside a transaction, so it was not rolled back") in stderr
    assert 'INVALID now: public."Users Email" (on public.users)' in stderr
    assert DROP in stderr
    assert index_state(project) == [("Users Email", False)]
    assert states(project) == [(1, "applied"), (2, "failed")]


def test_a_rerun_that_skips_an_invalid_index_is_not_recorded_applied(project: Project) -> None:
    """The backend building the index is terminated (as a failover or an admin would), the
    record is repaired, and the IF NOT EXISTS rerun skips the invalid index."""
    slow_index(project)
    cut = run_terminated_while_sleeping(project, "migrate")
    assert "0002_email_index.up.sql: connection lost" in cut.stderr
    assert 'INVALID now: public."Users Email" (on public.users)' in cut.stderr, "reconnected"
    assert index_state(project) == [("Users Email", False)]
    assert states(project) == [(1, "applied"), (2, "running")]
    repaired = project.run("repair")
    assert 'warning: index public."Users Email" on public.users is INVALID' in repaired.stderr
    result = project.run("migrate", code=1)
    assert ("0002_email_index ran to its end, but index is INVALID: public.\"Users Email\" "
            "(on public.users); it is recorded as failed, not applied") in result.stderr
    assert f"    {DROP}" in result.stderr
    assert states(project) == [(1, "applied"), (2, "failed")]

    status = project.run("status", "--json")
    assert json.loads(status.stdout)["invalid_indexes"] == [
        {"name": 'public."Users Email"', "table": "public.users", "drop": DROP}
    ]
    project.run("status", "--exit-code", code=3)
    text = project.run("status")
    assert 'warning: index public."Users Email" on public.users is INVALID' in text.stderr
    verify = project.run("verify", "--json", code=1)
    problems = json.loads(verify.stdout)["problems"]
    assert [p["kind"] for p in problems] == ["failed", "invalid_index"]
    assert DROP in problems[1]["message"]

    project.query(DROP)
    project.query("CREATE OR REPLACE FUNCTION slow(text) RETURNS text IMMUTABLE "
                  "LANGUAGE sql AS 'SELECT $1'")
    project.run("repair")
    project.run("migrate")
    assert index_state(project) == [("Users Email", True)]
    assert states(project) == [(1, "applied"), (2, "applied")]
    project.run("verify")
    assert json.loads(project.run("status", "--json").stdout)["invalid_indexes"] == []


def test_an_index_another_session_is_building_right_now_is_not_reported(
    project: Project,
) -> None:
    slow_index(project)
    project.write("0002_email_index.up.sql", "-- sqlmig:no-transaction\nSELECT 1;\n")
    project.run("up")
    with psycopg.connect(project.url, autocommit=True) as builder:
        thread = threading.Thread(target=lambda: _quietly(
            builder, "CREATE INDEX CONCURRENTLY elsewhere ON users (slow(email))"))
        thread.start()
        wait_for_index_build(project)
        result = project.run("up")
        assert "0002_email_index (" in result.stdout
        assert json.loads(project.run("status", "--json").stdout)["invalid_indexes"] == []
        project.query("SELECT pg_cancel_backend(pid) FROM pg_stat_progress_create_index")
        thread.join()


def _quietly(conn: psycopg.Connection, query: str) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.execute(query)


def wait_for_index_build(project: Project, timeout: float = 20) -> None:
    wait_until(project, "SELECT 1 FROM pg_stat_progress_create_index p JOIN pg_index i "
               "ON i.indexrelid = p.index_relid WHERE NOT i.indisvalid",
               "the index build never started", timeout)


def test_a_partitioned_index_awaiting_its_partitions_is_not_an_invalid_one(
    project: Project,
) -> None:
    project.pair(
        "0001_measurements",
        "CREATE TABLE m (at date, v int) PARTITION BY RANGE (at);\n"
        "CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
        "CREATE INDEX m_v ON ONLY m (v);\n",
        "DROP TABLE m;",
    )
    project.pair("0002_nt", "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY m_2026_v "
                 "ON m_2026 (v);\n", "-- sqlmig:no-transaction\nDROP INDEX m_2026_v;")
    project.run("migrate")
    assert project.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'm_v'::regclass") \
        == [(False,)]
    assert states(project) == [(1, "applied"), (2, "applied")]
    assert json.loads(project.run("status", "--json").stdout)["invalid_indexes"] == []
