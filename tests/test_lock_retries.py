"""Lock-timeout retries: the schedule and the decision without a database, then on a real
PostgreSQL a session holding a conflicting lock, released after a while or never, in front of
transactional (batched) and no-transaction migrations."""

from __future__ import annotations

import json
import re
import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from sqlmig.core.config import resolve
from sqlmig.core.lock_retries import (
    Blocker,
    RetryAttempt,
    RetryPolicy,
    backoff,
    decide,
    seconds,
)
from sqlmig.core.retry_safety import opens_transactions, statement_kind, statement_unsafe
from sqlmig.core.secrets import without_passwords
from sqlmig.errors import EXIT_INTERRUPTED, ConfigError
from sqlmig.pg.blockers import blockers
from tests.conftest import Project

POLICY = RetryPolicy(retries=5, delay=2.0, max_delay=30.0)


# -- the pure part ------------------------------------------------------------------------

def test_the_delay_doubles_with_jitter_up_to_the_cap() -> None:
    middle = [backoff(POLICY, attempt, lambda: 0.5) for attempt in range(1, 7)]
    assert middle == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff(POLICY, 1, lambda: 0.0) == 1.5  # jitter: -25% ..
    assert backoff(POLICY, 1, lambda: 0.999) == pytest.approx(2.5, abs=0.01)  # .. +25%
    assert backoff(POLICY, 5, lambda: 0.999) == 30.0  # never over the cap


def test_only_a_lock_timeout_is_retried_while_attempts_are_left() -> None:
    def after(attempt: int, sqlstate: str | None = "55P03", policy: RetryPolicy = POLICY,
              unsafe: str | None = None) -> tuple[bool, float, str | None]:
        decision = decide(policy, sqlstate, attempt, lambda: 0.5, unsafe)
        return decision.retry, decision.delay, decision.why_not

    assert after(1) == (True, 2.0, None)
    assert after(5) == (True, 30.0, None)
    assert after(6) == (False, 0.0, "gave up after 6 attempts")
    assert after(1, sqlstate="42P01") == (False, 0.0, None)  # another error: as it was
    assert after(1, sqlstate=None) == (False, 0.0, None)
    assert after(1, policy=RetryPolicy(retries=0)) == (False, 0.0, None)  # retries off
    assert after(1, unsafe="it ran in pieces") == (False, 0.0, "not retried: it ran in pieces")


def test_a_statement_that_ran_in_pieces_is_not_retried_blindly() -> None:
    index = "CREATE INDEX CONCURRENTLY orders_x ON orders (x)"
    assert statement_kind(index) == "CREATE INDEX CONCURRENTLY"
    assert statement_kind("ALTER TABLE orders ADD COLUMN x int") is None
    assert statement_kind("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY") == (
        "DETACH PARTITION CONCURRENTLY")
    assert statement_unsafe("CREATE INDEX CONCURRENTLY", transactions=False) is None
    left = statement_unsafe("CREATE INDEX CONCURRENTLY", transactions=False,
                            invalid=["public.orders_x"])
    assert left is not None and "INVALID index (public.orders_x)" in left
    detach = statement_unsafe("DETACH PARTITION CONCURRENTLY", transactions=False)
    assert detach is not None and "FINALIZE" in detach
    assert statement_unsafe(None, transactions=False) is None
    assert statement_unsafe(None, transactions=True) is not None


def test_a_file_that_opens_its_own_transactions_is_told_apart() -> None:
    assert opens_transactions("BEGIN;\nALTER TABLE t ADD x int;\nCOMMIT;")
    assert opens_transactions(None)  # a big file is not read ahead
    assert not opens_transactions("VACUUM t;\nALTER TABLE t ADD x int;")
    assert not opens_transactions("-- begin here\nSELECT 'commit';")


def test_durations_need_a_unit() -> None:
    assert seconds("2s", "k") == 2.0
    assert seconds("250ms", "k") == 0.25
    assert seconds("1min", "k") == 60.0
    with pytest.raises(ConfigError, match="k: '2' is not a duration with a unit"):
        seconds("2", "k")


def test_the_settings_come_from_config_environment_and_flags(tmp_path: Path) -> None:
    assert resolve(root=tmp_path, environ={}).lock_retries == RetryPolicy(5, 2.0, 30.0)
    (tmp_path / "sqlmig.toml").write_text('lock_retries = 3\nlock_retry_delay = "500ms"\n')
    environ = {"SQLMIG_LOCK_RETRY_MAX_DELAY": "4s"}
    assert resolve(root=tmp_path, environ=environ).lock_retries == RetryPolicy(3, 0.5, 4.0)
    flags = resolve(root=tmp_path, environ={"SQLMIG_LOCK_RETRIES": "7"},
                    overrides={"lock_retries": 0})
    assert flags.lock_retries.retries == 0
    assert resolve(root=tmp_path, environ={"SQLMIG_LOCK_RETRIES": "7"}).lock_retries.retries == 7


def test_bad_retry_settings_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SQLMIG_LOCK_RETRIES: 'lock_retries' = 'many'"):
        resolve(root=tmp_path, environ={"SQLMIG_LOCK_RETRIES": "many"})
    (tmp_path / "sqlmig.toml").write_text('lock_retry_delay = "2"\n')
    with pytest.raises(ConfigError, match=r"sqlmig\.toml: 'lock_retry_delay': '2' is not"):
        resolve(root=tmp_path, environ={})
    (tmp_path / "sqlmig.toml").write_text("lock_retries = -1\n")
    with pytest.raises(ConfigError, match="must be a whole number >= 0"):
        resolve(root=tmp_path, environ={})


def test_an_attempt_names_the_blocker_in_one_line() -> None:
    blocker = Blocker(1234, "psql", "idle in transaction", datetime(2026, 1, 1, 12, 1, 0),
                      datetime(2026, 1, 1, 12, 1, 2),
                      "UPDATE orders SET status = 'shipped'\n WHERE id IN (SELECT id FROM "
                      "pending_orders WHERE created_at < now() - interval '1 day')")
    attempt = RetryAttempt("0005_x", "0005_x.up.sql", 2, 6, 2.3, (blocker,))
    assert str(attempt) == (
        "lock timeout on 0005_x.up.sql (attempt 2 of 6), blocked by pid 1234 (psql, idle in "
        "transaction since 12:01:02: UPDATE orders SET status = 'shipped' WHERE id IN "
        "(SELECT...), retrying in 2.3 s")
    unseen = RetryAttempt("0005_x", "0005_x.up.sql", 1, 6, 2.0, (), statement=3)
    assert str(unseen) == ("lock timeout on statement 3 of 0005_x.up.sql (attempt 1 of 6), "
                           "blocker not seen, retrying in 2.0 s")


def test_a_blocking_session_s_password_is_never_shown() -> None:
    assert without_passwords("ALTER ROLE app PASSWORD 'hunter2' VALID UNTIL 'infinity'") == (
        "ALTER ROLE app PASSWORD '***' VALID UNTIL 'infinity'")
    assert without_passwords("CREATE ROLE a LOGIN ENCRYPTED password 'it''s") == (
        "CREATE ROLE a LOGIN ENCRYPTED password '***'")  # cut short by the watcher
    assert without_passwords("UPDATE users SET password_hash = 'x'") == (
        "UPDATE users SET password_hash = 'x'")


# -- on PostgreSQL -------------------------------------------------------------------------

FAST = ("--lock-timeout", "500ms", "--lock-retry-delay", "100ms")


@contextmanager
def blocker(project: Project, statement: str, *, hold: float | None = None,
            ) -> Iterator[int]:
    """A session named `blocker` holding the locks of `statement` in an open transaction,
    for `hold` seconds (None: until the block ends); its pid."""
    conn = psycopg.connect(project.url, application_name="blocker")
    conn.execute(statement)
    done = threading.Event()

    def release() -> None:
        done.wait(hold)
        conn.rollback()

    thread = threading.Thread(target=release)
    thread.start()
    try:
        yield conn.info.backend_pid
    finally:
        done.set()
        thread.join()
        conn.close()


@pytest.fixture
def orders(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    project.query("CREATE TABLE orders (id int PRIMARY KEY, status text);"
                  "INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 100) g")
    monkeypatch.setenv("SQLMIG_LOCK_RETRY_MAX_DELAY", "200ms")
    return project


def columns(project: Project) -> list[str]:
    return [r[0] for r in project.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum")]


def test_blockers_names_the_sessions_a_waiting_session_waits_for(orders: Project) -> None:
    with blocker(orders, "UPDATE orders SET status = 'paid' WHERE id = 1") as pid, \
            psycopg.connect(orders.url, autocommit=True) as waiting, \
            psycopg.connect(orders.url, autocommit=True) as watch:
        assert blockers(watch, waiting.info.backend_pid) == []  # not waiting: none

        def wait() -> None:
            with suppress(psycopg.errors.QueryCanceled):  # cancelled below, once seen
                waiting.execute("ALTER TABLE orders ADD COLUMN waited int")

        waiter = threading.Thread(target=wait)
        waiter.start()
        deadline, found = time.monotonic() + 5, []
        while not found and time.monotonic() < deadline:
            found = blockers(watch, waiting.info.backend_pid)
        watch.execute("SELECT pg_cancel_backend(%s)", (waiting.info.backend_pid,))
        waiter.join()
    [row] = found
    assert (row.pid, row.application_name, row.state) == (pid, "blocker", "idle in transaction")
    assert row.query == "UPDATE orders SET status = 'paid' WHERE id = 1"
    assert row.query_start is not None and row.state_change is not None


def test_a_migration_blocked_for_a_while_is_retried_and_the_history_stays_exact(
    orders: Project,
) -> None:
    orders.pair("0001_audit", "CREATE TABLE audit (id int);")
    orders.pair("0002_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    orders.pair("0003_log", "CREATE TABLE log (id int);")  # shares 0002's batch
    with blocker(orders, "UPDATE orders SET status = 'paid' WHERE id = 1", hold=1.2) as pid:
        result = orders.run("migrate", *FAST, "--lock-retries", "10")
    attempts = re.findall(r"lock timeout on 0002_add_note.up.sql \(attempt (\d+) of 11\), "
                          r"blocked by pid (\d+) \(blocker, idle in transaction since "
                          r"[\d:]+: UPDATE orders SET status = 'paid' WHERE id = 1\), "
                          r"retrying in 0\.\d s", result.stderr)
    assert attempts, result.stderr
    assert [int(a) for a, _ in attempts] == list(range(1, len(attempts) + 1))
    assert {int(p) for _, p in attempts} == {pid}
    assert "applied 3 migrations as batch 1" in result.stdout
    assert [(v, n, b) for v, n, b, _ in orders.history()] == [
        (1, "audit", 1), (2, "add_note", 1), (3, "log", 1)]
    assert columns(orders) == ["id", "status", "note"]
    assert orders.tables() >= {"audit", "log"}


def test_a_single_transaction_run_starts_again_from_its_first_migration(
    orders: Project,
) -> None:
    orders.pair("0001_audit", "CREATE TABLE audit (id int);")
    orders.pair("0002_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    with blocker(orders, "LOCK TABLE orders IN ROW EXCLUSIVE MODE", hold=0.8):
        result = orders.run("migrate", "--single-transaction", *FAST, "--lock-retries", "10")
    assert "lock timeout on 0002_add_note.up.sql (attempt 1 of 11), blocked by pid " \
        in result.stderr
    assert "retrying the whole run in 0.1 s" in result.stderr
    assert [(v, b) for v, _, b, _ in orders.history()] == [(1, 1), (2, 1)]
    assert columns(orders) == ["id", "status", "note"]


def test_a_blocker_that_never_lets_go_fails_the_run_after_the_last_retry(
    orders: Project,
) -> None:
    orders.pair("0001_audit", "CREATE TABLE audit (id int);")
    orders.pair("0002_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    with blocker(orders, "UPDATE orders SET status = 'paid' WHERE id = 1") as pid:
        result = orders.run("migrate", *FAST, "--lock-retries", "2", "--json", code=1)
    assert result.stderr.count("lock timeout on 0002_add_note.up.sql (attempt") == 2
    document = json.loads(result.stdout)
    assert (document["ok"], document["summary"]) == (False, None)
    assert [(m["name"], m["direction"]) for m in document["migrations"]] == [("audit", "up")]
    assert [(r["migration"], r["attempt"], r["attempts"], [b["pid"] for b in r["blockers"]])
            for r in document["lock_retries"]] == [("0002_add_note", 1, 3, [pid]),
                                                   ("0002_add_note", 2, 3, [pid])]
    first = document["lock_retries"][0]["blockers"][0]
    assert (first["application_name"], first["state"], first["query"]) == (
        "blocker", "idle in transaction", "UPDATE orders SET status = 'paid' WHERE id = 1")
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "canceling statement due to lock timeout; gave up after 3 attempts, blocked by " \
           f"pid {pid} (blocker, idle in transaction since " in error
    assert "UPDATE orders SET status = 'paid' WHERE id = 1)" in error
    assert [v for v, *_ in orders.history()] == [1]
    assert columns(orders) == ["id", "status"]


def test_a_lock_timeout_set_on_the_database_is_retried_and_watched_from_then_on(
    orders: Project,
) -> None:
    dbname = orders.query("SELECT current_database()")[0][0]
    orders.query(f'ALTER DATABASE "{dbname}" SET lock_timeout = \'300ms\'')
    orders.pair("0001_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    with blocker(orders, "LOCK TABLE orders IN ROW EXCLUSIVE MODE") as pid:
        result = orders.run("migrate", "--lock-retries", "1", "--lock-retry-delay", "100ms",
                            code=1)
    assert "(attempt 1 of 2), blocker not seen, retrying in 0.1 s" in result.stderr
    assert f"gave up after 2 attempts, blocked by pid {pid} (blocker, " in result.stderr
    assert orders.history() == []


def test_without_retries_a_lock_timeout_fails_at_once_as_before(orders: Project) -> None:
    orders.pair("0001_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    with blocker(orders, "LOCK TABLE orders IN ROW EXCLUSIVE MODE"):
        result = orders.run("migrate", *FAST, "--lock-retries", "0", code=1)
    assert "lock timeout on" not in result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert error.endswith("0001_add_note.up.sql:1: canceling statement due to lock timeout")
    assert orders.history() == []


def test_a_no_transaction_migration_retries_only_the_statement_that_timed_out(
    orders: Project,
) -> None:
    orders.pair("0001_split", "-- sqlmig:no-transaction\nCREATE TABLE before_it (id int);\n"
                "ALTER TABLE orders ADD COLUMN note text;\nCREATE TABLE after_it (id int);\n")
    with blocker(orders, "LOCK TABLE orders IN ROW EXCLUSIVE MODE", hold=0.8):
        result = orders.run("migrate", *FAST, "--lock-retries", "10")
    assert "lock timeout on statement 2 of 0001_split.up.sql (attempt 1 of 11)" \
        in result.stderr, result.stderr
    assert [v for v, *_ in orders.history()] == [1]
    assert orders.query("SELECT state FROM schema_migrations") == [("applied",)]
    assert columns(orders) == ["id", "status", "note"]
    assert orders.tables() >= {"before_it", "after_it"}


def test_a_concurrent_index_build_that_left_an_invalid_index_is_not_retried(
    orders: Project,
) -> None:
    # ROW EXCLUSIVE does not stop the build from starting; it waits for the writer later,
    # with its INVALID index already in the catalog
    orders.pair("0001_index", "-- sqlmig:no-transaction\n"
                "CREATE INDEX CONCURRENTLY orders_status ON orders (status);\n")
    with blocker(orders, "UPDATE orders SET status = 'paid' WHERE id = 1"):
        result = orders.run("migrate", *FAST, "--lock-retries", "10", code=1)
    assert "lock timeout on" not in result.stderr
    assert "not retried: the CREATE INDEX CONCURRENTLY stopped partway and left an INVALID " \
           "index (public.orders_status)" in result.stderr
    assert orders.query("SELECT state FROM schema_migrations") == [("failed",)]


def test_ctrl_c_while_waiting_to_retry_exits_130_with_nothing_applied(
    orders: Project,
) -> None:
    orders.pair("0001_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    with blocker(orders, "LOCK TABLE orders IN ROW EXCLUSIVE MODE"):
        process = orders.spawn("migrate", "--lock-timeout", "200ms", "--lock-retry-delay", "1min")
        assert process.stderr is not None
        seen, deadline = "", time.monotonic() + 30
        while "retrying in" not in seen and time.monotonic() < deadline:
            if select.select([process.stderr], [], [], 0.5)[0]:
                seen += process.stderr.readline()
        assert "retrying in" in seen
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert time.monotonic() - started < 5
    assert "interrupted while waiting to retry after a lock timeout; 0001_add_note was " \
           "rolled back and not recorded" in stderr
    assert orders.history() == []
    assert columns(orders) == ["id", "status"]


def test_through_pgbouncer_the_blocker_is_still_named(
    orders: Project, pgbouncer_session: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_pgbouncer import through

    through(orders, pgbouncer_session, monkeypatch)
    orders.pair("0001_add_note", "ALTER TABLE orders ADD COLUMN note text;")
    with blocker(orders, "LOCK TABLE orders IN ROW EXCLUSIVE MODE") as pid:
        result = orders.run("migrate", *FAST, "--lock-retries", "1", code=1)
    assert f"(attempt 1 of 2), blocked by pid {pid} (blocker, " in result.stderr
    assert f"gave up after 2 attempts, blocked by pid {pid} (blocker, " in result.stderr
