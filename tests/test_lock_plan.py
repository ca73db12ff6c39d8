"""`plan --locks` and `migrate --dry-run --locks` on a table with real rows: the lock each
statement takes, on which tables, rewritten or scanned, measured in a transaction that is
rolled back; a blocker makes the dry run give up after its own lock_timeout, never queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import Project

WORLD = """
CREATE TABLE customers (id int PRIMARY KEY);
INSERT INTO customers SELECT g FROM generate_series(1, 200) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, note varchar(10), qty int,
                     amount int);
INSERT INTO orders SELECT g, g % 200 + 1, 'x', g, g FROM generate_series(1, 20000) g;
ALTER TABLE orders ADD CONSTRAINT orders_qty_positive CHECK (qty > 0) NOT VALID;
ANALYZE customers, orders;
"""
# Each case its own pending migration, so each is measured on its own.
CASES = {
    2: "ALTER TABLE orders ADD COLUMN r float8 DEFAULT random();",
    3: "CREATE INDEX orders_qty_idx ON orders (qty);",
    4: "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;",
    5: "ALTER TABLE orders VALIDATE CONSTRAINT orders_qty_positive;",
    6: "ALTER TABLE orders ALTER qty SET NOT NULL;",
    7: "ALTER TABLE orders ALTER note TYPE text;",
    8: "ALTER TABLE orders ALTER amount TYPE bigint;",
    9: "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY orders_amount_idx ON orders (amount);",
}
SCHEMA = ("SELECT table_name, column_name, data_type, is_nullable FROM "
          "information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2")
INDEXES = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
CONSTRAINTS = "SELECT conname, convalidated FROM pg_constraint ORDER BY 1"


@pytest.fixture
def orders(project: Project) -> Project:
    project.pair("0001_orders", WORLD)
    project.run("migrate")
    for version, up in CASES.items():
        project.pair(f"{version:04d}_case", up)
    return project


def _state(project: Project) -> tuple[list[tuple], ...]:
    return (project.query(SCHEMA), project.query(INDEXES), project.query(CONSTRAINTS),
            project.history(),
            project.query("SELECT relfilenode FROM pg_class WHERE relname = 'orders'"))


def _locks(report: dict, version: int) -> dict[str, dict]:
    """relation -> its lock in the one statement of migration `version`."""
    migration = next(m for m in report["migrations"] if m["version"] == version)
    (statement,) = migration["statements"]
    return {lock["relation"]: lock for lock in statement["locks"]}


def test_plan_locks_reports_each_statements_locks_rewrites_and_scans(orders: Project) -> None:
    before = _state(orders)
    report = json.loads(orders.run("plan", "--locks", "--json").stdout)
    assert report["ok"] is True

    added = _locks(report, 2)["orders"]
    assert (added["mode"], added["rewritten"]) == ("ACCESS EXCLUSIVE", True)
    assert added["rows"] == 20000 and added["bytes"] > 500_000
    assert added["blocks"] == "blocks every read and write"
    assert added["summary"].startswith("ACCESS EXCLUSIVE on orders (")
    assert "~20 k rows): blocks every read and write for " in added["summary"]

    index = _locks(report, 3)["orders"]
    assert (index["mode"], index["rewritten"], index["scanned"]) == ("SHARE", False, True)
    assert "ROW EXCLUSIVE" in index["conflicts_with"] and "SHARE" not in index["conflicts_with"]

    (strongest,) = next(m for m in report["migrations"] if m["version"] == 2)["strongest"]
    assert (strongest["relation"], strongest["mode"]) == ("orders", "ACCESS EXCLUSIVE")

    foreign = _locks(report, 4)
    assert {name: lock["mode"] for name, lock in foreign.items()} == {
        "orders": "SHARE ROW EXCLUSIVE", "customers": "SHARE ROW EXCLUSIVE"}
    assert foreign["orders"]["scanned"] and not foreign["orders"]["rewritten"]

    validated = _locks(report, 5)["orders"]
    assert (validated["mode"], validated["scanned"]) == ("SHARE UPDATE EXCLUSIVE", True)
    assert "not reads or writes" in validated["blocks"]

    not_null = _locks(report, 6)["orders"]
    assert (not_null["mode"], not_null["scanned"], not_null["rewritten"]) == (
        "ACCESS EXCLUSIVE", True, False)

    to_text = _locks(report, 7)["orders"]
    assert (to_text["mode"], to_text["scanned"], to_text["rewritten"]) == (
        "ACCESS EXCLUSIVE", False, False)
    to_bigint = _locks(report, 8)["orders"]
    assert (to_bigint["mode"], to_bigint["rewritten"]) == ("ACCESS EXCLUSIVE", True)

    concurrent = next(m for m in report["migrations"] if m["version"] == 9)
    assert concurrent["transactional"] is False and "estimated" in concurrent["note"]
    (estimated,) = concurrent["statements"][0]["locks"]
    assert (estimated["relation"], estimated["mode"], estimated["estimated"]) == (
        "orders", "SHARE UPDATE EXCLUSIVE", True)

    assert _state(orders) == before  # rolled back: schema, files and history as they were


def test_migrate_dry_run_locks_prints_a_table_of_each_statement(orders: Project) -> None:
    for version in range(3, 10):
        (orders.sql_dir / f"{version:04d}_case.up.sql").unlink()
        (orders.sql_dir / f"{version:04d}_case.down.sql").unlink()
    before = _state(orders)
    out = orders.run("migrate", "--dry-run", "--locks").stdout
    assert "ACCESS EXCLUSIVE on orders (" in out
    assert "blocks every read and write for" in out and "rewrites it" in out
    assert "everything was rolled back; history unchanged" in out
    assert _state(orders) == before


@pytest.fixture
def blocker(orders: Project) -> Iterator[psycopg.Connection]:
    """A second session holding ACCESS EXCLUSIVE on orders until the test ends."""
    with psycopg.connect(orders.url) as conn:
        conn.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        yield conn
        conn.rollback()


def test_plan_locks_gives_up_after_its_lock_timeout_behind_a_blocker(
        orders: Project, blocker: psycopg.Connection) -> None:
    orders.write("sqlmig.toml", 'dry_run_lock_timeout = "300ms"\n', directory=".")
    for path in orders.sql_dir.glob("000[4-8]_case.*.sql"):  # keep 2, 3 and 9
        path.unlink()
    before = _state(orders)
    started = time.monotonic()
    result = orders.run("plan", "--locks", "--json", code=4)
    assert time.monotonic() - started < 10  # one lock_timeout, not a queue behind the blocker
    report = json.loads(result.stdout)
    first = report["migrations"][0]
    statement = first["statements"][0]
    assert statement["outcome"] == "timed out"
    assert "could not be measured" in statement["note"] and "300ms" in statement["note"]
    assert [(lock["relation"], lock["mode"], lock["estimated"]) for lock in statement["locks"]] \
        == [("orders", "ACCESS EXCLUSIVE", True)]
    # the next migration is tried on its own, and gives up as quickly; the no-transaction
    # one is estimated, sized from the catalog without waiting for the blocker
    second, concurrent = report["migrations"][1:]
    assert second["statements"][0]["outcome"] == "timed out"
    (estimated,) = concurrent["statements"][0]["locks"]
    assert (estimated["mode"], estimated["rows"]) == ("SHARE UPDATE EXCLUSIVE", 20000)
    assert report["ok"] is False
    assert _state(orders) == before


def test_a_statement_longer_than_the_dry_runs_statement_timeout_is_not_measured(
        project: Project) -> None:
    project.write("sqlmig.toml", 'dry_run_statement_timeout = "200ms"\n', directory=".")
    project.pair("0001_slow", "CREATE TABLE t (id int);\nSELECT pg_sleep(5);\n"
                              "ALTER TABLE t ADD c int;")
    started = time.monotonic()
    result = project.run("migrate", "--dry-run", "--locks", code=4)
    assert time.monotonic() - started < 4
    assert "timed out: could not be measured: ran longer than dry_run_statement_timeout " \
        "(200ms)" in " ".join(result.stdout.split())
    assert "not run" in result.stdout and not project.exists("public.t")
    assert not project.exists("public.schema_migrations")


def test_locks_names_the_blocker_and_who_waits_behind_it(orders: Project) -> None:
    quiet = orders.run("locks", "--exit-code")
    assert "no other session holds or waits for a lock on them" in quiet.stdout
    with psycopg.connect(orders.url) as holder, psycopg.connect(orders.url) as waiter:
        holder.execute(  # ACCESS SHARE, idle in transaction; its query shows a password
            "SELECT count(*) FROM orders -- ALTER ROLE app PASSWORD 'hunter2'")
        holder_pid, waiter_pid = holder.info.backend_pid, waiter.info.backend_pid
        queued = threading.Thread(
            target=lambda: waiter.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
        queued.start()
        try:
            for _ in range(100):  # until the waiter is queued
                if orders.query("SELECT 1 FROM pg_locks WHERE NOT granted AND pid = %s",
                                (waiter_pid,)):
                    break
                time.sleep(0.05)
            report = json.loads(orders.run("locks", "--json", "--exit-code", "--older-than",
                                           "0", code=3).stdout)
            text = orders.run("locks", code=0).stdout
        finally:
            holder.rollback()
            queued.join()
            waiter.rollback()
    assert report["blocking"] is True and "orders" in report["tables"]
    by_pid = {s["pid"]: s for s in report["sessions"]}
    held = by_pid[holder_pid]
    assert (held["mode"], held["granted"], held["blocks_migration"]) == (
        "ACCESS SHARE", True, True)
    assert held["state"] == "idle in transaction" and held["long_running"] is True
    assert held["query"].endswith("PASSWORD '***'") and "hunter2" not in text
    waiting = by_pid[waiter_pid]
    assert (waiting["granted"], waiting["blocked_by"]) == (False, [holder_pid])
    assert f"blocked by {holder_pid}" in text and "the migrations would wait for it" in text


def test_a_migration_that_needs_an_earlier_pending_one_is_measured_after_it(
        orders: Project) -> None:
    for path in orders.sql_dir.glob("000[2-9]_case.*.sql"):
        path.unlink()
    orders.pair("0002_extra", "CREATE TABLE extra (id int);")
    orders.pair("0003_both", "ALTER TABLE extra ADD COLUMN x int;\n"
                             "ALTER TABLE orders ADD COLUMN y int;")
    report = json.loads(orders.run("plan", "--locks", "--json").stdout)
    both = report["migrations"][1]
    assert both["note"].startswith("measured after re-running the 1 pending migration")
    first, second = both["statements"]
    assert [(lock["relation"], lock["mode"], lock["estimated"]) for lock in first["locks"]] == [
        ("extra", "ACCESS EXCLUSIVE", True)]  # the re-run CREATE TABLE holds it already
    assert [(lock["relation"], lock["mode"], lock["estimated"]) for lock in second["locks"]] == [
        ("orders", "ACCESS EXCLUSIVE", False)]
    assert not orders.exists("public.extra")


@pytest.mark.parametrize("value", ["0", "0ms", "soon"])
def test_the_dry_runs_timeouts_must_be_real_durations(project: Project, value: str) -> None:
    project.write("sqlmig.toml", f'dry_run_lock_timeout = "{value}"\n', directory=".")
    result = project.run("plan", "--locks", code=2)
    assert "dry_run_lock_timeout" in result.stderr and "Traceback" not in result.stderr


def test_a_statement_that_fails_exits_1_and_the_rest_are_not_measured(project: Project) -> None:
    project.pair("0001_create", "CREATE TABLE t (id int);")
    project.pair("0002_wrong", "ALTER TABLE t ADD c int;\nALTER TABLE nope ADD c int;")
    project.pair("0003_later", "ALTER TABLE t ADD d int;")
    result = project.run("plan", "--locks", "--json", code=1)
    report = json.loads(result.stdout)
    wrong = report["migrations"][1]["statements"]
    assert [s["outcome"] for s in wrong] == ["measured", "failed"]
    assert 'relation "nope" does not exist' in wrong[1]["note"]
    assert report["migrations"][2]["note"] == "not measured: 0002_wrong failed"
    assert not project.exists("public.t")


def test_a_migration_whose_earlier_pending_one_times_out_is_not_measured_either(
        orders: Project, blocker: psycopg.Connection) -> None:
    for path in orders.sql_dir.glob("000[2-9]_case.*.sql"):
        path.unlink()
    orders.write("sqlmig.toml", 'dry_run_lock_timeout = "200ms"\n', directory=".")
    orders.pair("0002_extra", "CREATE TABLE extra (id int);\nALTER TABLE orders ADD z int;")
    orders.pair("0003_more", "ALTER TABLE extra ADD x int;")
    report = json.loads(orders.run("plan", "--locks", "--json", code=4).stdout)
    extra, more = report["migrations"]
    assert [s["outcome"] for s in extra["statements"]] == ["measured", "timed out"]
    assert more["note"].startswith("not measured: re-running the pending migrations before it: "
                                   "could not be measured: waited longer than")
    assert [s["outcome"] for s in more["statements"]] == ["timed out"]


def test_migrate_locks_without_dry_run_is_refused_before_anything_runs(project: Project) -> None:
    project.pair("0001_create", "CREATE TABLE t (id int);")
    result = project.run("migrate", "--locks", code=2)
    assert "--locks: only with --dry-run" in result.stderr
    assert not project.exists("public.t") and not project.exists("public.schema_migrations")
