"""A case set of unsafe migrations and their safe variants, each linted and then run on a real
PostgreSQL against tables with rows, to prove lint right both ways: what it flags really
rewrites, scans, takes a lock that blocks traffic, or fails; what it leaves quiet does not.

The server tells: relfilenode changes when a table is rewritten, pg_stat_xact_user_tables counts
sequential scans inside the transaction, pg_locks shows the locks the session holds. Every case
runs in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from sqlmig.review.lint import lint_file
from sqlmig.review.lint.known import Known
from tests import provision

SETUP = """
CREATE TABLE users (id bigint PRIMARY KEY, name varchar(20), price numeric(10, 2),
                    at timestamp(3), addr cidr, n int, email text);
INSERT INTO users SELECT g, 'u' || g, g, now(), '10.0.0.0/8', g, g || '@x'
  FROM generate_series(1, 500) g;
CREATE INDEX users_n_idx ON users (n);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total int);
INSERT INTO orders SELECT g, g, g FROM generate_series(1, 500) g;
CREATE DOMAIN posint AS int;
CREATE TABLE d (v posint);
INSERT INTO d VALUES (1);
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TYPE mood AS ENUM ('ok');
CREATE FUNCTION make_ref() RETURNS text LANGUAGE sql AS $$ SELECT md5(random()::text) $$;
CREATE FUNCTION fixed_ref() RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT 'r' $$;
ALTER TABLE users ADD CONSTRAINT users_email_present CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_email_present;
CREATE MATERIALIZED VIEW totals AS SELECT user_id, sum(total) AS total FROM orders GROUP BY 1;
CREATE UNIQUE INDEX totals_user ON totals (user_id);
CREATE TABLE posts (id int PRIMARY KEY, status mood);
CREATE TABLE events_2021 (id int, at date);
INSERT INTO events_2021 SELECT g, '2021-06-01' FROM generate_series(1, 500) g;
CREATE TABLE events_2022 (id int,
  at date NOT NULL CHECK (at >= '2022-01-01' AND at < '2023-01-01'));
INSERT INTO events_2022 SELECT g, '2022-06-01' FROM generate_series(1, 500) g;
"""
BLOCKING = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
TABLES = ("users", "orders", "d", "events", "events_2020", "totals", "events_2021",
          "events_2022")


@dataclass(frozen=True)
class Case:
    sql: str
    rule: str | None  # the lint finding expected; None: lint stays quiet
    rewrite: bool = False  # the statement rewrites a table
    scan: str | None = None  # it reads every row of this table
    blocks: str | None = None  # it holds a lock on this table that blocks writes (or reads)
    fails: bool = False  # PostgreSQL refuses it on a table with rows


CASES = {
    # ADD COLUMN
    "volatile default": Case("ALTER TABLE users ADD COLUMN r float DEFAULT random()",
                             "add-column-volatile-default", rewrite=True, blocks="users"),
    "unknown function default": Case("ALTER TABLE users ADD COLUMN r text DEFAULT make_ref()",
                                     "add-column-volatile-default", rewrite=True),
    "identity column": Case("ALTER TABLE orders ADD COLUMN no int GENERATED ALWAYS AS IDENTITY",
                            "add-column-volatile-default", rewrite=True),
    "serial column": Case("ALTER TABLE orders ADD COLUMN no serial",
                          "add-column-volatile-default", rewrite=True),
    "stored generated": Case("ALTER TABLE orders ADD COLUMN t2 int GENERATED ALWAYS AS "
                             "(total * 2) STORED", "add-column-volatile-default", rewrite=True),
    "constant default": Case("ALTER TABLE users ADD COLUMN plan text DEFAULT 'free'", None),
    "stable default": Case("ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT now()", None),
    "immutable function default": Case(
        "ALTER TABLE users ADD COLUMN r text DEFAULT fixed_ref()", None),
    "not null without default": Case("ALTER TABLE users ADD COLUMN tier int NOT NULL",
                                     "add-column-not-null", fails=True),
    "not null with default": Case("ALTER TABLE users ADD COLUMN tier int NOT NULL DEFAULT 0",
                                  None),
    "inline check": Case("ALTER TABLE users ADD COLUMN b int CHECK (b > 0)",
                         "constraint-not-valid", scan="users", blocks="users"),
    "inline reference": Case("ALTER TABLE users ADD COLUMN o bigint REFERENCES orders (id)",
                             "constraint-not-valid", blocks="orders"),
    # constraints
    "foreign key": Case("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id)",
                        "constraint-not-valid", scan="orders", blocks="users"),
    "foreign key not valid": Case("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) "
                                  "REFERENCES users (id) NOT VALID", None),
    "check": Case("ALTER TABLE users ADD CHECK (n > 0)", "constraint-not-valid", scan="users",
                  blocks="users"),
    "check not valid": Case("ALTER TABLE users ADD CONSTRAINT c CHECK (n > 0) NOT VALID", None),
    "validate in the same transaction": Case(
        "ALTER TABLE users ADD CONSTRAINT c CHECK (n > 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c", "validate-in-same-transaction",
        scan="users", blocks="users"),
    "unique": Case("ALTER TABLE users ADD UNIQUE (name)", "add-unique-constraint",
                   blocks="users"),
    "domain constraint": Case("ALTER DOMAIN posint ADD CONSTRAINT p CHECK (VALUE > 0)",
                              "constraint-not-valid", scan="d", blocks="d"),
    "domain constraint not valid": Case(
        "ALTER DOMAIN posint ADD CONSTRAINT p CHECK (VALUE > 0) NOT VALID", None),
    # NOT NULL
    "set not null": Case("ALTER TABLE users ALTER COLUMN name SET NOT NULL", "set-not-null",
                         scan="users", blocks="users"),
    "set not null after a validated check": Case(
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL", None),
    # types
    "int to bigint": Case("ALTER TABLE users ALTER COLUMN n TYPE bigint", "alter-column-type",
                          rewrite=True),
    "varchar shrunk": Case("ALTER TABLE users ALTER COLUMN name TYPE varchar(10)",
                           "alter-column-type", rewrite=True),
    "numeric scale changed": Case("ALTER TABLE users ALTER COLUMN price TYPE numeric(12, 3)",
                                  "alter-column-type", rewrite=True),
    "timestamp to timestamptz": Case("ALTER TABLE users ALTER COLUMN at TYPE timestamptz",
                                     "alter-column-type", rewrite=True),
    "varchar to text": Case("ALTER TABLE users ALTER COLUMN name TYPE text", None),
    "varchar grown": Case("ALTER TABLE users ALTER COLUMN name TYPE varchar(50)", None),
    "varchar limit dropped": Case("ALTER TABLE users ALTER COLUMN name TYPE varchar", None),
    "numeric widened": Case("ALTER TABLE users ALTER COLUMN price TYPE numeric(14, 2)", None),
    "timestamp precision grown": Case("ALTER TABLE users ALTER COLUMN at TYPE timestamp(6)",
                                      None),
    "cidr to inet": Case("ALTER TABLE users ALTER COLUMN addr TYPE inet", None),
    # indexes and whole-table operations
    "create index": Case("CREATE INDEX users_name_idx ON users (name)", "index-not-concurrent",
                         blocks="users"),
    "drop index": Case("DROP INDEX users_n_idx", "index-not-concurrent", blocks="users"),
    "reindex table": Case("REINDEX TABLE users", "index-not-concurrent", blocks="users"),
    "cluster": Case("CLUSTER users USING users_pkey", "table-rewrite", rewrite=True,
                    blocks="users"),
    "detach partition": Case("ALTER TABLE events DETACH PARTITION events_2020",
                             "detach-partition-not-concurrent", blocks="events"),
    "attach partition": Case("ALTER TABLE events ATTACH PARTITION events_2021 "
                             "FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
                             "attach-partition-scan", scan="events_2021", blocks="events_2021"),
    "attach partition with its check": Case(
        "ALTER TABLE events ATTACH PARTITION events_2022 "
        "FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')", None),
    "index on only the parent": Case("CREATE INDEX events_at ON ONLY events (at)", None),
    "truncate": Case("TRUNCATE orders", "truncate", rewrite=True, blocks="orders"),  # new file
    "set unlogged": Case("ALTER TABLE orders SET UNLOGGED", "table-rewrite", rewrite=True,
                         blocks="orders"),
    "refresh": Case("REFRESH MATERIALIZED VIEW totals", "refresh-not-concurrent",
                    rewrite=True, blocks="totals"),
    # reads the view's query again, as any refresh must; reads of the view go on
    "refresh concurrently": Case("REFRESH MATERIALIZED VIEW CONCURRENTLY totals", None,
                                 scan="orders"),
    "backfill under the alter's lock": Case(
        "ALTER TABLE orders ADD COLUMN paid bool;\n"
        "UPDATE orders SET paid = false WHERE id < 100", "backfill-under-lock",
        blocks="orders"),
    "new enum value used": Case("ALTER TYPE mood ADD VALUE 'meh';\n"
                                "INSERT INTO posts VALUES (1, 'meh')",
                                "enum-value-used-in-transaction", fails=True),
    "new enum value": Case("ALTER TYPE mood ADD VALUE 'meh'", None),
    "delete everything": Case("DELETE FROM orders", "delete-without-where", scan="orders"),
    "delete some": Case("DELETE FROM orders WHERE id < 10", None),
    "same column twice": Case("UPDATE users SET n = 1, n = 2 WHERE id = 1",
                              "same-column-twice", fails=True),
    "subscripts of one column": Case("CREATE TABLE tags (t text[]);\n"
                                     "UPDATE tags SET t[1] = 'a', t[2] = 'b'", None),
}


@pytest.fixture(scope="module", params=["newest", "15"])
def witness(request: pytest.FixtureRequest, pg_admin_url: str) -> Iterator[psycopg.Connection]:
    """A database on the suite's server (the newest PostgreSQL) and on PostgreSQL 15."""
    admin = pg_admin_url if request.param == "newest" else request.getfixturevalue(
        "pg15_admin_url")
    url = provision.create_database(admin)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # timestamp -> timestamptz rewrites unless the session's time zone is UTC
            conn.execute("SET TimeZone = 'Europe/Paris'")
            conn.execute(SETUP)  # once: every case is rolled back
            yield conn
    finally:
        provision.drop_database(admin, url)


def lint_rules(case: Case) -> list[str]:
    """Lint's findings for the case, as a migration after one that ran SETUP."""
    known = Known()
    lint_file(Path("0001_setup.up.sql"), SETUP, known=known)
    found = lint_file(Path("0002_case.up.sql"), case.sql + ";\n", known=known,
                      lock_timeout=True)
    return sorted({f.rule for f in found})


@dataclass
class Observed:
    rewritten: set[str]
    scanned: set[str]
    blocking: set[str]
    failed: bool


def observe(conn: psycopg.Connection, sql: str) -> Observed:
    with conn.transaction(force_rollback=True):
        files = dict(conn.execute(
            "SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(%s) "
            "AND relnamespace = 'public'::regnamespace", (list(TABLES),)).fetchall())
        scans = dict(conn.execute(
            "SELECT relname, seq_scan FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'public'").fetchall())
        try:
            with conn.transaction():
                conn.execute(sql)
        except psycopg.errors.Error:
            return Observed(set(), set(), set(), True)
        after = dict(conn.execute(
            "SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(%s) "
            "AND relnamespace = 'public'::regnamespace", (list(TABLES),)).fetchall())
        scanned = {name for name, count in conn.execute(
            "SELECT relname, seq_scan FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'public'").fetchall() if count > scans.get(name, 0)}
        blocking = {name for (name,) in conn.execute(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND l.mode = ANY(%s) AND c.relname = ANY(%s)",
            (list(BLOCKING), list(TABLES))).fetchall()}
    rewritten = {name for name in files if after.get(name) != files[name]}
    return Observed(rewritten, scanned, blocking, False)


@pytest.mark.parametrize("name", list(CASES))
def test_lint_is_right_about_what_postgresql_does(witness: psycopg.Connection, name: str) -> None:
    case = CASES[name]
    assert lint_rules(case) == ([case.rule] if case.rule else [])
    seen = observe(witness, case.sql)
    assert seen.failed == case.fails
    if case.fails:
        return
    assert bool(seen.rewritten) == case.rewrite, seen
    if case.scan:
        assert case.scan in seen.scanned, seen
    if case.blocks:
        assert case.blocks in seen.blocking, seen
    if case.rule is None:  # the safe variant: no rewrite, no full scan of an existing table
        assert not seen.scanned & {"users", "orders", "d", "events_2022"} - {case.scan}, seen


def test_the_shipped_list_of_built_in_functions_matches_the_servers_catalog(
    witness: psycopg.Connection,
) -> None:
    """pg_functions.txt (tools/pg_functions.py) says, for every name the server knows too,
    what the server's pg_proc says: volatile or not."""
    from sqlmig.review.lint.volatility import builtins

    server = dict(witness.execute(
        "SELECT proname, bool_or(provolatile = 'v') FROM pg_proc "
        "WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY proname").fetchall())
    shipped = builtins()
    common = server.keys() & shipped.keys()
    assert len(common) > 0.9 * len(server)  # an older server lacks a few newer names
    # Before 15, timezone(text, timetz) was volatile (15 made it stable); the list is 18's.
    older = {"timezone"} if witness.info.server_version < 150000 else set()
    assert {name for name in common if server[name] != shipped[name]} == older
    assert shipped["random"] and shipped["nextval"] and not shipped["now"]
