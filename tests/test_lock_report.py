"""The pure half of `plan --locks` and `locks`: conflict table, wording, and the locks a
statement took, from rows as pg_locks and pg_class give them; no database."""

from __future__ import annotations

import pytest
from pglast import parser

from sqlmig.review.lint.takes import sql_takes, statement_takes
from sqlmig.review.lock_report import (
    ALL_MODES,
    HeldLock,
    Lock,
    MigrationLocks,
    StatementLocks,
    TableState,
    already_held,
    conflicts,
    count,
    describe,
    duration,
    excerpt,
    mode_name,
    new_locks,
    size,
    strongest_held,
    with_hold_times,
)

# PostgreSQL's table 13.2, "Conflicting Lock Modes", row by row (X: conflicts).
PG_TABLE = """
ACCESS SHARE           .......X
ROW SHARE              ......XX
ROW EXCLUSIVE          ....XXXX
SHARE UPDATE EXCLUSIVE ...XXXXX
SHARE                  ..XX.XXX
SHARE ROW EXCLUSIVE    ..XXXXXX
EXCLUSIVE              .XXXXXXX
ACCESS EXCLUSIVE       XXXXXXXX
"""


def test_conflicts_follow_postgresqls_table() -> None:
    for row in PG_TABLE.strip().splitlines():
        mode, marks = row[:23].strip(), row[23:]
        assert conflicts(mode) == [m for m, x in zip(ALL_MODES, marks, strict=True) if x == "X"]


def test_mode_names_read_as_sql_writes_them() -> None:
    assert mode_name("ShareRowExclusiveLock") == "SHARE ROW EXCLUSIVE"
    assert mode_name("AccessShareLock") == "ACCESS SHARE"
    assert mode_name("ExclusiveLock") == "EXCLUSIVE"


def test_a_lock_is_described_with_size_rows_what_it_blocks_and_for_how_long() -> None:
    lock = Lock("orders", "ACCESS EXCLUSIVE", 8_697_308_774, 40_000_000, held_ms=212_000)
    assert describe(lock) == ("ACCESS EXCLUSIVE on orders (8.1 GB, ~40 M rows): blocks every "
                              "read and write for 212 s")
    share = Lock("orders", "SHARE", None, None, scanned=True, held_ms=1500)
    assert describe(share) == "SHARE on orders: blocks every write for 1.5 s; scans it"
    validate = Lock("orders", "SHARE UPDATE EXCLUSIVE", held_ms=40)
    assert describe(validate).endswith("not reads or writes (40 ms)")
    guess = Lock("orders", "SHARE", estimated=True)
    assert describe(guess) == "SHARE on orders (estimated): blocks every write"


@pytest.mark.parametrize(("n", "text"), [(0, "0 bytes"), (1536, "1.5 kB"),
                                         (5 * 1024**3, "5.0 GB")])
def test_sizes_read_as_people_say_them(n: int, text: str) -> None:
    assert size(n) == text


def test_counts_and_durations_read_as_people_say_them() -> None:
    assert [count(n) for n in (200, 20_000, 1_500_000, 40_000_000)] == [
        "200", "20 k", "1.5 M", "40 M"]
    assert [duration(ms) for ms in (35, 1200, 212_000, 720_000)] == [
        "35 ms", "1.2 s", "212 s", "12 min"]


def test_excerpt_is_one_line_cut_to_width() -> None:
    assert excerpt("ALTER TABLE t\n   ADD c int") == "ALTER TABLE t ADD c int"
    assert excerpt("x" * 100, 10) == "x" * 9 + "…"


ORDERS, CUSTOMERS, NEW = 100, 200, 300


def test_new_locks_are_the_stronger_ones_on_tables_that_existed_with_rewrite_and_scan() -> None:
    before = {ORDERS: "ACCESS SHARE", CUSTOMERS: "SHARE ROW EXCLUSIVE"}
    after = [HeldLock(ORDERS, "orders", "ACCESS SHARE"),
             HeldLock(ORDERS, "orders", "ACCESS EXCLUSIVE", 10, 5),
             HeldLock(CUSTOMERS, "customers", "SHARE ROW EXCLUSIVE"),  # held already
             HeldLock(NEW, "fresh", "ACCESS EXCLUSIVE")]  # created by this migration
    tables = {ORDERS: TableState(1, 0, 0), CUSTOMERS: TableState(2, 0, 0)}
    later = {ORDERS: TableState(9, 1, 500), CUSTOMERS: TableState(2, 1, 0)}
    taken = new_locks(before, after, tables, later, existing={ORDERS, CUSTOMERS})
    assert taken == [Lock("orders", "ACCESS EXCLUSIVE", 10, 5, rewritten=True, scanned=True)]
    assert strongest_held(after)[ORDERS] == "ACCESS EXCLUSIVE"


def test_a_scan_under_a_lock_an_earlier_statement_took_is_reported_with_that_lock() -> None:
    before = {ORDERS: "ACCESS EXCLUSIVE", CUSTOMERS: "ACCESS EXCLUSIVE"}
    after = [HeldLock(ORDERS, "orders", "ACCESS EXCLUSIVE", 10, 5),
             HeldLock(CUSTOMERS, "customers", "ACCESS EXCLUSIVE")]
    tables = {ORDERS: TableState(1, 0, 0), CUSTOMERS: TableState(2, 0, 0)}
    later = {ORDERS: TableState(1, 1, 500), CUSTOMERS: TableState(2, 0, 0)}
    taken = new_locks(before, after, tables, later, existing={ORDERS, CUSTOMERS})
    assert taken == [Lock("orders", "ACCESS EXCLUSIVE", 10, 5, scanned=True, earlier=True)]
    assert taken[0].summary == (
        "ACCESS EXCLUSIVE on orders (10 bytes, ~5 rows), taken by an earlier statement; scans it")


def test_a_lock_is_held_from_its_statement_to_the_migrations_end() -> None:
    statements = [StatementLocks(1, "a", 100, [Lock("t", "SHARE")]),
                  StatementLocks(2, "b", 50, [Lock("u", "ACCESS EXCLUSIVE")])]
    timed = with_hold_times(statements)
    assert [s.locks[0].held_ms for s in timed] == [150, 50]


def test_a_migrations_strongest_lock_per_table_is_the_one_it_holds_longest_at_worst() -> None:
    migration = MigrationLocks("0002_x", 2, "x", True, [
        StatementLocks(1, "a", 10, [Lock("t", "SHARE", held_ms=30), Lock("u", "SHARE")]),
        StatementLocks(2, "b", 20, [Lock("t", "ACCESS EXCLUSIVE", held_ms=20),
                                    Lock("u", "ROW EXCLUSIVE")])])
    assert [(lock.relation, lock.mode, lock.held_ms) for lock in migration.strongest] == [
        ("t", "ACCESS EXCLUSIVE", 20), ("u", "SHARE", None)]


def test_a_lock_an_earlier_statement_took_shows_as_estimated() -> None:
    holding = [HeldLock(ORDERS, "orders", "ACCESS EXCLUSIVE", 10, 5)]
    found = already_held([((None, "orders"), "SHARE")], holding, [])
    assert found == [Lock("orders", "SHARE", 10, 5, estimated=True)]
    assert already_held([((None, "orders"), "SHARE")], holding, found) == []


@pytest.mark.parametrize(("sql", "expected"), [
    ("ALTER TABLE orders ADD FOREIGN KEY (c) REFERENCES app.customers",
     [((None, "orders"), "SHARE ROW EXCLUSIVE"), (("app", "customers"), "SHARE ROW EXCLUSIVE")]),
    ("ALTER TABLE orders VALIDATE CONSTRAINT c", [((None, "orders"), "SHARE UPDATE EXCLUSIVE")]),
    ("ALTER TABLE orders ADD COLUMN x int REFERENCES users",
     [((None, "orders"), "ACCESS EXCLUSIVE"), ((None, "users"), "SHARE ROW EXCLUSIVE")]),
    ("CREATE INDEX CONCURRENTLY i ON orders (x)", [((None, "orders"), "SHARE UPDATE EXCLUSIVE")]),
    ("CREATE INDEX i ON orders (x)", [((None, "orders"), "SHARE")]),
    ("UPDATE orders SET x = 1", [((None, "orders"), "ROW EXCLUSIVE")]),
    ("TRUNCATE a, b", [((None, "a"), "ACCESS EXCLUSIVE"), ((None, "b"), "ACCESS EXCLUSIVE")]),
    ("LOCK TABLE orders IN SHARE MODE", [((None, "orders"), "SHARE")]),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY totals", [((None, "totals"), "EXCLUSIVE")]),
    ("CREATE TABLE t (id int)", []),
    ("SELECT 1", []),
])
def test_the_parse_says_which_locks_a_statement_takes(sql: str, expected: list) -> None:
    assert statement_takes(parser.parse_sql(sql)[0].stmt) == expected


def test_a_file_takes_the_strongest_lock_each_statement_asks_per_table() -> None:
    assert sql_takes("CREATE INDEX i ON t (x); ALTER TABLE t ADD y int; UPDATE t SET y = 1;") \
        == [((None, "t"), "ACCESS EXCLUSIVE")]
    assert sql_takes("SELEC nothing") == []
