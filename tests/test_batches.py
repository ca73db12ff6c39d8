"""Consecutive transactional migrations share a query to the server, yet each one still commits
alone with its history row, a failure stops the run exactly where it happens, and what is
reported (progress, timings, errors) is per migration."""

from __future__ import annotations

import signal
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from sqlmig import engine
from sqlmig.engine import batch
from sqlmig.pg import send
from tests.conftest import Project
from tests.test_resilience import lock_is_free

LOG = ("INSERT INTO log SELECT {v}, txid_current(), clock_timestamp(), "
       "current_setting('search_path');\n")


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str | bytes]:
    """Every query engine sends through pg.send, in order."""
    sent: list[str | bytes] = []
    execute = send._query

    def recording(conn, query, *rest):  # type: ignore[no-untyped-def]
        sent.append(query)
        return execute(conn, query, *rest)

    monkeypatch.setattr(send, "_query", recording)
    return sent


def is_reset(query: str | bytes) -> bool:
    """The session reset (connection.session_reset): RESET ALL, DISCARD TEMP, sqlmig's SETs
    again."""
    return isinstance(query, str) and query.startswith("RESET ALL;\nDISCARD TEMP;\n") and (
        'SET "client_min_messages" = \'notice\';\n' in query
    )


@pytest.fixture
def one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every batchable run of migrations goes in a single query."""
    monkeypatch.setattr(engine, "Pace", lambda: SimpleNamespace(size=1000,
                                                               after=lambda *args: None))


def logged(project: Project, count: int) -> None:
    project.pair("0001_log", "CREATE TABLE log (version int, txid bigint, at timestamptz, "
                 "search_path text);\n" + LOG.format(v=1), "DROP TABLE log;")
    for v in range(2, count + 1):
        project.pair(f"{v:04d}_m{v}", LOG.format(v=v), f"DELETE FROM log WHERE version = {v};")


def test_fast_migrations_share_queries_but_each_commits_in_its_own_transaction(
    project: Project, queries: list[str | bytes],
) -> None:
    logged(project, 40)
    result = project.run("migrate")
    assert len(queries) < 10, "batched: far fewer queries than migrations"
    rows = project.query("SELECT version, txid FROM log ORDER BY version")
    assert [v for v, _ in rows] == list(range(1, 41))
    assert len({txid for _, txid in rows}) == 40, "one transaction per migration"
    history = project.query("SELECT version, applied_at, execution_ms FROM schema_migrations "
                            "ORDER BY version")
    assert [v for v, *_ in history] == list(range(1, 41))
    assert all(ms is not None and ms >= 0 for *_, ms in history)
    applied_at = [at for _, at, _ in history]
    assert applied_at == sorted(applied_at) and len(set(applied_at)) == 40, (
        "applied_at is when each migration's own transaction began")
    ups = [line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith("up")]
    assert ups == [f"{v:04d}_{'log' if v == 1 else f'm{v}'}" for v in range(1, 41)]


def test_the_summary_gives_the_runs_wall_time_not_the_sum_of_the_migrations(
    project: Project,
) -> None:
    """A migration's own time ends at its history row; its COMMIT (here a deferred trigger
    sleeping 0.3 s) and everything between migrations still belong to the run."""
    project.pair("0001_slow_commit", """CREATE TABLE slow_commit (id int);
CREATE FUNCTION nap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER nap AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION nap();""", "DROP TABLE slow_commit;\nDROP FUNCTION nap();")
    project.pair("0002_insert", "INSERT INTO slow_commit VALUES (1);",
                 "DELETE FROM slow_commit;")
    started = time.monotonic()
    result = project.run("migrate")
    wall_ms = (time.monotonic() - started) * 1000
    target, *lines = result.stdout.strip().splitlines()
    assert target.startswith("development · ")
    own = sum(int(line.rsplit("(", 1)[1].split()[0]) for line in lines[:-1])
    total = int(lines[-1].split(" in ")[1].split()[0])
    assert lines[-1].startswith("applied 2 migrations as batch 1 in ")
    assert own < 250 and 300 <= total <= wall_ms


def test_verbose_names_the_migrations_each_query_carries(
    project: Project, one_batch: None,
) -> None:
    logged(project, 3)
    result = project.run("--verbose", "migrate")
    assert ("one query: 0001_log .. 0003_m3 (3 migrations, each in its own transaction)"
            in result.stderr)


def finish_times(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """When each migration was reported finished."""
    from sqlmig.cli import render

    times: dict[str, float] = {}
    finished = render.LineReporter.finished

    def timed(self, step, ms):  # type: ignore[no-untyped-def]
        times[step.migration.id] = time.monotonic()
        finished(self, step, ms)

    monkeypatch.setattr(render.LineReporter, "finished", timed)
    return times


@pytest.mark.parametrize("quiet_database", [False, True])
def test_each_migration_of_a_batch_is_reported_as_soon_as_it_commits(
    project: Project, one_batch: None, queries: list[str | bytes],
    monkeypatch: pytest.MonkeyPatch, quiet_database: bool,
) -> None:
    if quiet_database:  # notices silenced for every session, sqlmig's included
        database = project.query("SELECT current_database()")[0][0]
        project.query(f'ALTER DATABASE "{database}" SET client_min_messages = warning')
    times = finish_times(monkeypatch)
    logged(project, 2)
    project.pair("0003_slow", "SELECT pg_sleep(1);", "SELECT 1;")
    project.run("migrate")
    assert len(queries) == 1
    assert times["0003_slow"] - times["0002_m2"] >= 0.9, "not held back until the query ended"


def test_without_plpgsql_a_batch_still_runs_and_reports_at_its_end(
    project: Project, one_batch: None, queries: list[str | bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project.query("DROP EXTENSION plpgsql")
    times = finish_times(monkeypatch)
    logged(project, 2)
    project.pair("0003_slow", "SELECT pg_sleep(0.5);", "SELECT 1;")
    project.run("migrate")
    assert len(queries) == 1 and isinstance(queries[0], str)
    assert "RAISE NOTICE" not in queries[0]
    assert [v for v, *_ in project.history()] == [1, 2, 3]
    assert times["0003_slow"] - times["0002_m2"] < 0.2


def test_execution_ms_is_each_migrations_own_time(project: Project, one_batch: None) -> None:
    project.pair("0001_slow", "SELECT pg_sleep(0.3);", "SELECT 1;")
    project.pair("0002_fast", "SELECT 1;", "SELECT 1;")
    project.run("migrate")
    (slow,), (fast,) = project.query(
        "SELECT execution_ms FROM schema_migrations ORDER BY version")
    assert slow >= 300
    assert fast < slow - 250, "not counted from the start of the shared query"


@pytest.mark.parametrize(
    ("bad", "where", "message"),
    [("SELECT 1;\nINSERT INTO missing VALUES (1);\n", ":2:13", 'relation "missing" does not exist'),
     ("SELECT 1;\nSELECT 1 / 0;\n", ":2", "division by zero")],
)
def test_a_failure_inside_a_batch_keeps_what_committed_before_it_and_runs_nothing_after(
    project: Project, one_batch: None, queries: list[str | bytes], bad: str, where: str,
    message: str,
) -> None:
    logged(project, 3)
    project.pair("0004_bad", bad, "SELECT 1;")
    project.pair("0005_after", "CREATE TABLE after_bad (id int);", "DROP TABLE after_bad;")
    result = project.run("migrate", code=1)
    assert len(queries) == 1
    assert f"0004_bad.up.sql{where}" in result.stderr and message in result.stderr
    assert [v for v, *_ in project.history()] == [1, 2, 3]
    assert project.query("SELECT version FROM log ORDER BY 1") == [(1,), (2,), (3,)]
    assert not project.exists("after_bad")
    assert "0003_m3" in result.stdout and "0004_bad" not in result.stdout


def test_newer_syntax_the_server_refuses_stops_the_batch_where_one_by_one_would(
    pg15_project: Project, one_batch: None,
) -> None:
    """PostgreSQL 15 refuses a query with JSON_TABLE (17) in it before running any of it."""
    project = pg15_project
    logged(project, 2)
    project.pair("0003_json", "SELECT 1;\nSELECT * FROM JSON_TABLE('[1]'::jsonb, '$[*]' "
                 "COLUMNS (a int PATH '$')) AS t;\n", "SELECT 1;")
    project.pair("0004_after", "CREATE TABLE after_bad (id int);", "DROP TABLE after_bad;")
    result = project.run("migrate", code=1)
    assert "0003_json.up.sql:2:" in result.stderr and "syntax error" in result.stderr
    assert [v for v, *_ in project.history()] == [1, 2]
    assert not project.exists("after_bad")
    assert "0002_m2" in result.stdout


def test_a_commit_that_fails_inside_a_batch_names_its_migration(
    project: Project, one_batch: None,
) -> None:
    project.pair("0001_parent", "CREATE TABLE parent (id int PRIMARY KEY);\n"
                 "CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY "
                 "DEFERRED);", "DROP TABLE child, parent;")
    project.pair("0002_orphan", "INSERT INTO child VALUES (7);", "DELETE FROM child;")
    project.pair("0003_after", "CREATE TABLE after_bad (id int);", "DROP TABLE after_bad;")
    result = project.run("migrate", code=1)
    assert "0002_orphan.up.sql" in result.stderr and "rolled back at commit" in result.stderr
    assert [v for v, *_ in project.history()] == [1]
    assert not project.exists("after_bad")


def test_a_file_that_sets_session_state_ends_its_batch_and_the_next_starts_clean(
    project: Project, one_batch: None, queries: list[str | bytes],
) -> None:
    logged(project, 2)
    project.pair("0003_path", "CREATE SCHEMA other;\nSET search_path TO other;\n" + LOG.format(v=3)
                 .replace("INTO log", "INTO public.log"), "DROP SCHEMA other;")
    project.pair("0004_m4", LOG.format(v=4), "SELECT 1;")
    project.pair("0005_m5", LOG.format(v=5), "SELECT 1;")
    project.run("migrate")
    assert len(queries) == 3, "0001-0003, the reset on its own, then 0004-0005 together"
    assert is_reset(queries[1])
    assert LOG.format(v=4) in str(queries[2]) and LOG.format(v=5) in str(queries[2])
    paths = project.query("SELECT version, search_path FROM log ORDER BY version")
    assert paths[2] == (3, "other") and {p for v, p in paths if v != 3} == {'"$user", public'}


@pytest.mark.parametrize("args", [(), ("--single-transaction",), ("--dry-run",)])
def test_a_file_after_one_turning_off_standard_conforming_strings_is_read_as_written(
    project: Project, one_batch: None, queries: list[str | bytes], args: tuple[str, ...],
) -> None:
    """The server lexes a whole query before running any of it: a reset sent in the same
    query as the next file would come too late for how its string literals are read."""
    project.pair("0001_paths", "CREATE TABLE paths (v int, p text);\n"
                 "SET standard_conforming_strings = off;\n", "DROP TABLE paths;")
    project.pair("0002_windows", "INSERT INTO paths VALUES (2, 'C:\\new\\table');\n",
                 "DELETE FROM paths WHERE v = 2;")
    # 'C:\new\table' read with escapes is 10 characters (a newline, a tab), not 12
    project.pair("0003_check", "SELECT 1 / (length(p) = 12)::int FROM paths WHERE v = 2;\n",
                 "SELECT 1;")
    project.run("migrate", *args)
    assert any(is_reset(query) for query in queries), "the reset travelled alone"
    if args != ("--dry-run",):
        assert project.query("SELECT v, p FROM paths ORDER BY v") == [(2, "C:\\new\\table")]


def test_rollback_all_in_batches_removes_each_row_with_its_down(
    project: Project, queries: list[str | bytes],
) -> None:
    logged(project, 20)
    project.run("migrate")
    queries.clear()
    result = project.run("rollback", "--all")
    assert len(queries) < 10
    assert project.history() == [] and not project.exists("log")
    downs = [line.split()[1] for line in result.stdout.splitlines()
             if line.strip().startswith("down")]
    assert downs[0] == "0020_m20" and downs[-1] == "0001_log" and len(downs) == 20


def test_an_interrupt_inside_a_batch_reports_the_migrations_that_committed(
    project: Project,
) -> None:
    logged(project, 4)  # batches of 1, 2, then 4: migrations 4-7 share a query
    project.pair("0005_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\n",
                 "DROP TABLE slow;")
    project.pair("0006_m6", LOG.format(v=6), "SELECT 1;")
    process = project.spawn("migrate")
    wait_for_pg_sleep(project)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "0005_slow.up.sql: interrupted; rolled back" in stderr
    assert [v for v, *_ in project.history()] == [1, 2, 3, 4]
    assert "0004_m4" in stdout, "reported once its COMMIT is known, even after the cancel"
    assert not project.exists("slow")
    assert lock_is_free(project, timeout=1)


def wait_until(project: Project, query: str, never: str, timeout: float = 20) -> None:
    """Until `query` returns a row, or fail saying `never`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if project.query(query):
            return
        time.sleep(0.05)
    raise AssertionError(never)


def wait_for_pg_sleep(project: Project, timeout: float = 20) -> None:
    """Until a sqlmig session sleeps in this test's database (a batch's query text is too
    long for pg_stat_activity to show the pg_sleep inside it, so look at what it waits on)."""
    wait_until(project, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'sqlmig' "
               "AND datname = current_database() AND wait_event = 'PgSleep'",
               "the slow migration never started", timeout)


def run_terminated_while_sleeping(project: Project, *args: str) -> Any:
    """Run sqlmig; once its session sleeps, terminate that backend (as a failover or an
    admin would). The run must exit 1."""

    def terminate() -> None:
        wait_for_pg_sleep(project)
        project.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'sqlmig' AND datname = current_database() "
                      "AND wait_event = 'PgSleep'")

    killer = threading.Thread(target=terminate)
    killer.start()
    try:
        return project.run(*args, code=1)
    finally:
        killer.join()


@pytest.mark.parametrize(
    ("count", "seconds", "size"),
    [(1, 0.004, 2),  # fast: grows by doubling
     (16, 0.128, 25),  # 8 ms each: as many as fit in BATCH_SECONDS
     (1, 5.0, 1),  # slow: one at a time
     (64, 0.01, batch.BATCH_MAX),  # never beyond the cap
     (3, 0.0, 6)],
)
def test_batches_grow_while_migrations_are_fast(count: int, seconds: float, size: int) -> None:
    pace = batch.Pace()
    pace.after(count, seconds)
    assert pace.size == size


def test_sql_as_people_write_it_applies_in_batches_and_rolls_back(project: Project) -> None:
    """Dollar quotes holding semicolons and COMMIT, enums extended and then used, triggers,
    DO blocks, a temp table, search_path changes, a CONCURRENTLY index and a file ending in a
    comment: the batches must split and join these files exactly as one by one would."""
    project.pair("0001_enum", "CREATE TYPE mood AS ENUM ('sad', 'ok');", "DROP TYPE mood;")
    project.pair("0002_add_value", "ALTER TYPE mood ADD VALUE 'happy';", None)
    project.write("0002_add_value.up.sql",
                  "-- sqlmig:irreversible\nALTER TYPE mood ADD VALUE 'happy';")
    project.pair("0003_people", "CREATE TABLE people (id int PRIMARY KEY, m mood DEFAULT "
                 "'happy', note text);\nINSERT INTO people VALUES (1, 'happy', 'a; b');",
                 "DROP TABLE people;")
    project.pair("0004_trigger", """CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  -- COMMIT; is only a word in here; so is 'ROLLBACK;'
  NEW.note := coalesce(NEW.note, '') || ';touched';
  RETURN NEW;
END;
$f$;
CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch();
""", "DROP TRIGGER people_touch ON people;\nDROP FUNCTION touch();")
    project.pair("0005_do", "DO $$BEGIN UPDATE people SET m = 'ok' WHERE id = 1; END$$;\n"
                 "-- a last comment, no newline", "SELECT 1;")
    project.pair("0006_path", "CREATE SCHEMA app;\nSET search_path TO app, public;\n"
                 "CREATE TABLE things (id int);", "DROP TABLE app.things;\nDROP SCHEMA app;")
    project.pair("0007_temp", "CREATE TEMP TABLE scratch AS SELECT 1 AS x;\n"
                 "INSERT INTO people SELECT 2, 'sad', 'from ' || x FROM scratch;",
                 "DELETE FROM people WHERE id = 2;")
    project.pair("0008_after_temp", "CREATE TABLE scratch (y int);", "DROP TABLE scratch;")
    project.pair("0009_index", "-- sqlmig:no-transaction\n"
                 "CREATE INDEX CONCURRENTLY people_note_idx ON people (note);",
                 "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY people_note_idx;")
    for v in range(10, 60):
        project.pair(f"{v:04d}_t{v}", f"CREATE TABLE t{v} (id int);\n"
                     f"COMMENT ON TABLE t{v} IS 'it''s; table {v}';", f"DROP TABLE t{v};")
    project.run("migrate")
    assert len(project.history()) == 59
    assert project.query("SELECT id, m::text, note FROM people ORDER BY id") == [
        (1, "ok", "a; b;touched"), (2, "sad", "from 1")]
    assert project.exists("app.things") and project.exists("public.scratch")
    assert project.exists("public.t10") and not project.exists("app.t10")
    project.run("rollback", "--to", "2")
    assert [v for v, *_ in project.history()] == [1, 2]
    assert project.tables() == {"schema_migrations"} and project.tables("app") == set()
    assert project.query("SELECT count(*) FROM pg_type WHERE typname = 'mood'") == [(1,)]



def test_a_failing_down_inside_a_batched_rollback_leaves_exactly_the_migrations_before_it(
    project: Project, one_batch: None, queries: list[str | bytes],
) -> None:
    logged(project, 3)
    project.pair("0004_bad_down", LOG.format(v=4),
                 "DELETE FROM log WHERE version = 4;\nSELECT 1 / 0;\n")
    for v in (5, 6):
        project.pair(f"{v:04d}_m{v}", LOG.format(v=v), f"DELETE FROM log WHERE version = {v};")
    project.run("migrate")
    queries.clear()
    result = project.run("rollback", "--all", code=1)
    assert len(queries) == 1, "the downs went in one query"
    assert "0004_bad_down.down.sql:2" in result.stderr and "division by zero" in result.stderr
    assert [v for v, *_ in project.history()] == [1, 2, 3, 4]
    assert project.query("SELECT version FROM log ORDER BY 1") == [(1,), (2,), (3,), (4,)]
    downs = [line.split()[1] for line in result.stdout.splitlines()
             if line.strip().startswith("down")]
    assert downs == ["0006_m6", "0005_m5"]


def test_an_interrupt_inside_a_batched_rollback_keeps_the_downs_that_committed(
    project: Project,
) -> None:
    logged(project, 4)
    project.pair("0005_slow", "SELECT 1;\n", "SELECT pg_sleep(30);\n")
    for v in (6, 7):
        project.pair(f"{v:04d}_m{v}", LOG.format(v=v), f"DELETE FROM log WHERE version = {v};")
    project.run("migrate")
    process = project.spawn("rollback", "--all")  # batches of 1, then 2: 0006 and 0005
    wait_for_pg_sleep(project)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "0005_slow.down.sql: interrupted; rolled back" in stderr
    assert [v for v, *_ in project.history()] == [1, 2, 3, 4, 5]
    assert project.query("SELECT version FROM log ORDER BY 1") == [(1,), (2,), (3,), (4,)]
    assert "0006_m6" in stdout, "reported once its COMMIT is known, even after the cancel"
    assert lock_is_free(project, timeout=1)
