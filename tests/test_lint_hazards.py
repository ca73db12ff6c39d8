"""Lint's hazards beyond the basics, each with an unsafe case that fires and a safe variant that
stays quiet: inline constraints on ADD COLUMN, defaults of unknown volatility, NOT VALID and
VALIDATE together, what a no-transaction file's own BEGIN blocks, domains, partitions, the same
column twice, the lock each statement takes, what earlier migrations tell about a column, and
the safer SQL shown with each finding. Pure: pglast parses, nothing connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlmig.core.files import discover
from sqlmig.review.lint import Finding, lint_file, lint_migration
from sqlmig.review.lint.known import Known

PATH = Path("0002_x.up.sql")
NO_TX = "-- sqlmig:no-transaction\n"
USERS = "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(20), price numeric(10, 2));\n"


def findings(sql: str, **kw: Any) -> list[Finding]:
    kw.setdefault("lock_timeout", True)
    return lint_file(PATH, sql, **kw)


def rules(sql: str, **kw: Any) -> list[str]:
    return [f.rule for f in findings(sql, **kw)]


def history(tmp_path: Path, *ups: str, **kw: Any) -> list[Finding]:
    """Lint migrations in order, as `sqlmig lint` does: each up tells the next about the
    schema. Each down is a harmless SELECT."""
    for number, up in enumerate(ups, start=1):
        (tmp_path / f"{number:04d}_m.up.sql").write_text(up, encoding="utf-8")
        (tmp_path / f"{number:04d}_m.down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    known = Known()
    found = []
    for migration in discover(tmp_path):
        found += lint_migration(migration, known=known, lock_timeout=True, **kw)
    return [f for f in found if f.rule != "down-does-not-drop"]


# --- ADD COLUMN with an inline CHECK or REFERENCES --------------------------------------------


def test_add_column_with_an_inline_check_scans_the_table() -> None:
    [finding] = findings("ALTER TABLE users ADD COLUMN age int CHECK (age > 0);\n")
    assert finding.rule == "constraint-not-valid"
    assert "ACCESS EXCLUSIVE" in finding.message and "age" in finding.message
    assert finding.suggestion is not None
    assert "ADD COLUMN age integer;" in finding.suggestion
    assert "CHECK (age > 0) NOT VALID" in finding.suggestion
    assert "VALIDATE CONSTRAINT users_age_check" in finding.suggestion


def test_add_column_with_an_inline_reference_locks_both_tables() -> None:
    [finding] = findings("ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);\n")
    assert finding.rule == "constraint-not-valid"
    assert "SHARE ROW EXCLUSIVE" in finding.message and "users" in finding.message
    assert finding.suggestion is not None
    assert ("FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID" in finding.suggestion)


def test_the_column_first_then_a_not_valid_constraint_is_quiet() -> None:
    sql = ("ALTER TABLE orders ADD COLUMN user_id bigint;\n"
           "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
           "REFERENCES users (id) NOT VALID;\n"
           "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;\n")
    assert rules(sql) == []


def test_inline_constraints_on_a_new_table_are_quiet() -> None:
    sql = ("CREATE TABLE orders (id bigint);\n"
           "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id) CHECK (id > 0);\n")
    assert rules(sql) == []


# --- defaults whose volatility lint knows, or cannot know -------------------------------------


@pytest.mark.parametrize("default", ["now()", "lower('X')", "CURRENT_TIMESTAMP", "'x'",
                                     "now() + interval '1 day'", "to_char(now(), 'YYYY')"])
def test_built_in_stable_and_immutable_defaults_are_quiet(default: str) -> None:
    assert rules(f"ALTER TABLE users ADD COLUMN c text DEFAULT {default};\n") == []


def test_a_volatile_built_in_default_rewrites() -> None:
    [finding] = findings("ALTER TABLE users ADD COLUMN c timestamptz DEFAULT clock_timestamp();\n")
    assert finding.rule == "add-column-volatile-default"
    assert "clock_timestamp() is volatile" in finding.message
    assert finding.suggestion is not None
    assert "SET DEFAULT clock_timestamp()" in finding.suggestion


def test_a_function_lint_has_never_seen_may_be_volatile() -> None:
    [finding] = findings("ALTER TABLE users ADD COLUMN ref text DEFAULT make_ref();\n")
    assert finding.rule == "add-column-volatile-default"
    assert "make_ref() is not a built-in function" in finding.message


def test_a_function_created_immutable_earlier_is_known_to_be_safe(tmp_path: Path) -> None:
    found = history(
        tmp_path,
        "CREATE FUNCTION make_ref() RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT 'r' $$;\n",
        "CREATE FUNCTION next_ref() RETURNS text LANGUAGE sql AS $$ SELECT 'r' $$;\n",
        "ALTER TABLE users ADD COLUMN a text DEFAULT make_ref();\n"
        "ALTER TABLE users ADD COLUMN b text DEFAULT next_ref();\n",
    )
    assert [(f.rule, f.line) for f in found] == [("add-column-volatile-default", 2)]
    assert "next_ref() is volatile" in found[0].message  # declared without a volatility


def test_before_postgresql_11_every_default_rewrites() -> None:
    sql = "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\n"
    assert rules(sql, pg_version=10) == ["add-column-volatile-default"]
    assert rules(sql, pg_version=11) == []


def test_a_virtual_generated_column_rewrites_only_before_postgresql_18() -> None:
    sql = "ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS (id * 2) VIRTUAL;\n"
    assert rules(sql) == []
    assert rules(sql, pg_version=17) == ["add-column-volatile-default"]


# --- NOT VALID and VALIDATE in the same transaction -------------------------------------------

ADD_THEN_VALIDATE = (
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
    "REFERENCES users (id) NOT VALID;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;\n"
)


def test_validate_in_the_same_transactional_file_holds_the_add_lock_through_the_scan() -> None:
    [finding] = findings(ADD_THEN_VALIDATE)
    assert (finding.rule, finding.line) == ("validate-in-same-transaction", 2)
    assert "SHARE ROW EXCLUSIVE" in finding.message and "orders" in finding.message


def test_validate_in_a_no_transaction_file_or_a_later_migration_is_quiet(tmp_path: Path) -> None:
    assert rules(NO_TX + ADD_THEN_VALIDATE) == []
    first, second = ADD_THEN_VALIDATE.splitlines(keepends=True)
    assert history(tmp_path, first, second) == []


# --- ALTER DOMAIN ... ADD CONSTRAINT ----------------------------------------------------------


def test_a_domain_constraint_without_not_valid_checks_every_column_of_the_domain() -> None:
    [finding] = findings("ALTER DOMAIN price ADD CONSTRAINT positive CHECK (VALUE > 0);\n")
    assert finding.rule == "constraint-not-valid" and "price" in finding.message
    assert finding.suggestion == (
        "ALTER DOMAIN price ADD CONSTRAINT positive CHECK (value > 0) NOT VALID;\n"
        "-- in a later migration:\nALTER DOMAIN price VALIDATE CONSTRAINT positive;")


def test_a_domain_constraint_not_valid_or_on_a_new_domain_is_quiet() -> None:
    assert rules("ALTER DOMAIN price ADD CONSTRAINT p CHECK (VALUE > 0) NOT VALID;\n") == []
    assert rules("CREATE DOMAIN price AS numeric;\n"
                 "ALTER DOMAIN price ADD CONSTRAINT p CHECK (VALUE > 0);\n") == []


# --- DETACH PARTITION -------------------------------------------------------------------------


def test_detach_partition_without_concurrently_locks_the_partitioned_table() -> None:
    [finding] = findings("ALTER TABLE events DETACH PARTITION events_2020;\n")
    assert finding.rule == "detach-partition-not-concurrent"
    assert finding.suggestion == ("-- sqlmig:no-transaction   (a file of its own)\n"
                                  "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;")
    [finding] = findings("ALTER TABLE events DETACH PARTITION events_2020;\n", pg_version=13)
    assert finding.suggestion is None  # CONCURRENTLY came with PostgreSQL 14


def test_detach_partition_concurrently_in_a_no_transaction_file_is_quiet() -> None:
    assert rules(NO_TX + "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;\n") == []


# --- the same column twice in one statement ---------------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE users SET name = 'a', name = 'b' WHERE id = 1;\n",
    "INSERT INTO users (id, name, id) VALUES (1, 'a', 2);\n",
    "ALTER TABLE users ALTER COLUMN id TYPE bigint, ALTER COLUMN id TYPE numeric;\n",
])
def test_the_same_column_assigned_twice_is_refused_by_postgresql(sql: str) -> None:
    assert "same-column-twice" in rules(sql)


@pytest.mark.parametrize("sql", [
    "UPDATE users SET tags[1] = 'a', tags[2] = 'b' WHERE id = 1;\n",
    "UPDATE users SET (name, id) = ('a', 1), price = 2 WHERE id = 1;\n",
    "INSERT INTO users (id, name) VALUES (1, 'a');\n",
])
def test_distinct_columns_and_subscripts_are_quiet(sql: str) -> None:
    assert "same-column-twice" not in rules(sql)


# --- lock-timeout-missing names the lock ------------------------------------------------------


@pytest.mark.parametrize(("sql", "lock"), [
    ("CREATE INDEX users_name_idx ON users (name);\n",
     "a SHARE lock on users (blocks every write)"),
    ("CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION f();\n",
     "a SHARE ROW EXCLUSIVE lock on users (blocks every write)"),
    ("TRUNCATE users;\n", "an ACCESS EXCLUSIVE lock on users (blocks every read and write)"),
    ("CREATE TABLE orders (id int, user_id bigint REFERENCES users (id));\n",
     "a SHARE ROW EXCLUSIVE lock on users"),
    ("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID;\n",
     "a SHARE ROW EXCLUSIVE lock on orders"),
    ("ALTER TABLE users ADD COLUMN bio text;\n", "an ACCESS EXCLUSIVE lock on users"),
    ("LOCK TABLE users IN EXCLUSIVE MODE;\n", "an EXCLUSIVE lock on users"),
    ("DROP INDEX users_name_idx;\n", "an ACCESS EXCLUSIVE lock on the table of users_name_idx"),
    ("REINDEX TABLE users;\n", "a SHARE lock on users"),
])
def test_every_statement_that_locks_an_existing_table_needs_a_lock_timeout(sql: str,
                                                                           lock: str) -> None:
    [finding] = [f for f in findings(sql, lock_timeout=False)
                 if f.rule == "lock-timeout-missing"]
    assert lock in finding.message


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users VALIDATE CONSTRAINT users_name_check;\n",
    NO_TX + "CREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n",
    "ALTER TABLE users ALTER COLUMN name SET STATISTICS 500;\n",
    "CREATE TABLE orders (id int);\nCREATE INDEX orders_id_idx ON orders (id);\n",
    "LOCK TABLE users IN ACCESS SHARE MODE;\n",
    "UPDATE users SET name = 'x' WHERE id = 1;\n",
])
def test_statements_that_do_not_block_reads_or_writes_need_no_lock_timeout(sql: str) -> None:
    assert "lock-timeout-missing" not in rules(sql, lock_timeout=False)


def test_a_down_that_drops_what_its_up_made_needs_no_lock_timeout() -> None:
    sql = "DROP INDEX users_name_idx;\nDROP TABLE orders;\n"
    assert rules(sql, lock_timeout=False, direction="down") == []


# --- what earlier migrations tell about a column: SET NOT NULL, ALTER COLUMN TYPE -------------

CHECK_NOT_VALID = ("ALTER TABLE users ADD CONSTRAINT users_name_present "
                   "CHECK (name IS NOT NULL) NOT VALID;\n")
VALIDATE = "ALTER TABLE users VALIDATE CONSTRAINT users_name_present;\n"
SET_NOT_NULL = "ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n"


def test_set_not_null_after_a_validated_not_null_check_skips_the_scan(tmp_path: Path) -> None:
    assert history(tmp_path, USERS, CHECK_NOT_VALID, VALIDATE,
                   SET_NOT_NULL + "ALTER TABLE users DROP CONSTRAINT users_name_present;\n") == []


def test_set_not_null_after_the_check_in_one_no_transaction_file_is_quiet() -> None:
    assert rules(NO_TX + CHECK_NOT_VALID + VALIDATE + SET_NOT_NULL) == []


@pytest.mark.parametrize("steps", [
    [CHECK_NOT_VALID, SET_NOT_NULL],  # never validated
    [CHECK_NOT_VALID, VALIDATE, "ALTER TABLE users DROP CONSTRAINT users_name_present;\n",
     SET_NOT_NULL],  # dropped before
    [CHECK_NOT_VALID, VALIDATE, SET_NOT_NULL.replace("name", "price")],  # another column
    [SET_NOT_NULL],
])
def test_set_not_null_without_a_validated_check_on_that_column_scans(
    tmp_path: Path, steps: list[str],
) -> None:
    found = history(tmp_path, USERS, *steps)
    assert [f.rule for f in found] == ["set-not-null"]
    assert found[0].suggestion is not None
    assert "CHECK (" in found[0].suggestion and "IS NOT NULL) NOT VALID" in found[0].suggestion


def test_set_not_null_after_a_check_scans_before_postgresql_12(tmp_path: Path) -> None:
    found = history(tmp_path, USERS, CHECK_NOT_VALID, VALIDATE, SET_NOT_NULL, pg_version=11)
    assert [f.rule for f in found] == ["set-not-null"]


TYPES = (
    "CREATE TABLE items (code varchar(20), note varchar, price numeric(10, 2), "
    "n int, at timestamp(3), addr cidr, body text, flag char(2));\n"
)


@pytest.mark.parametrize("change", [
    "code TYPE text", "code TYPE varchar(50)", "code TYPE varchar", "code TYPE varchar(20)",
    "note TYPE text", "body TYPE varchar", "price TYPE numeric(12, 2)", "price TYPE numeric",
    "at TYPE timestamp(6)", "at TYPE timestamp", "addr TYPE inet",
    "code TYPE character varying(30)",
])
def test_a_type_change_postgresql_makes_in_place_is_quiet(tmp_path: Path, change: str) -> None:
    assert history(tmp_path, TYPES, f"ALTER TABLE items ALTER COLUMN {change};\n") == []


@pytest.mark.parametrize("change", [
    "code TYPE varchar(10)", "body TYPE varchar(10)", "price TYPE numeric(12, 3)",
    "price TYPE numeric(8, 2)", "n TYPE bigint", "at TYPE timestamptz", "flag TYPE text",
    "code TYPE text USING trim(code)", "note TYPE varchar(5)", "code TYPE text[]",
])
def test_a_type_change_that_rewrites_is_an_error(tmp_path: Path, change: str) -> None:
    found = history(tmp_path, TYPES, f"ALTER TABLE items ALTER COLUMN {change};\n")
    assert [f.rule for f in found] == ["alter-column-type"]
    if change.startswith("n "):
        assert "TYPE bigint from integer on existing table items" in found[0].message


def test_the_type_is_followed_through_renames_and_later_changes(tmp_path: Path) -> None:
    found = history(
        tmp_path, TYPES,
        "ALTER TABLE items RENAME COLUMN code TO sku;\n-- sqlmig:lint-ignore rename-table\n"
        "ALTER TABLE items RENAME TO products;\n",
        "ALTER TABLE products ALTER COLUMN sku TYPE varchar(40);\n",
        "ALTER TABLE products ALTER COLUMN sku TYPE varchar(30);\n",
    )
    assert [(f.path.name, f.rule) for f in found] == [
        ("0002_m.up.sql", "rename-column"), ("0004_m.up.sql", "alter-column-type")]
    assert "from varchar(40)" in found[1].message


def test_an_unknown_column_changed_to_text_is_taken_for_a_varchar() -> None:
    assert rules("ALTER TABLE users ALTER COLUMN bio TYPE text;\n") == []
    assert rules("ALTER TABLE users ALTER COLUMN bio TYPE varchar(200);\n") == [
        "alter-column-type"]


# --- down-does-not-drop: what real histories do -----------------------------------------------


AUDIT = (
    "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
    "CREATE TRIGGER users_audit AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit();\n"
)


def dropped(up: str, down: str) -> list[tuple[str, str]]:
    """(rule, message) of the findings about what the down leaves behind."""
    return [(f.rule, f.message) for f in findings(up, down_text=down)
            if f.rule in ("down-does-not-drop", "enum-value-irreversible")]


@pytest.mark.parametrize(("up", "down"), [
    ("CREATE FUNCTION pg_temp.helper() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
     "SELECT pg_temp.helper();\n", "SELECT 1;\n"),
    ("CREATE SEQUENCE tmp_seq;\nSELECT nextval('tmp_seq');\nDROP SEQUENCE tmp_seq;\n",
     "SELECT 1;\n"),
    ("CREATE TABLE scratch (id int);\nCREATE INDEX scratch_idx ON scratch (id);\n"
     "DROP TABLE scratch;\n", "SELECT 1;\n"),
    ("CREATE TABLE t (id int);\nCREATE SEQUENCE t_seq OWNED BY t.id;\n", "DROP TABLE t;\n"),
    ("CREATE TABLE t (id int);\nCREATE SEQUENCE t_seq;\nALTER SEQUENCE t_seq OWNED BY t.id;\n",
     "DROP TABLE t;\n"),
    ("CREATE MATERIALIZED VIEW totals AS SELECT 1 AS n;\nCREATE INDEX totals_n ON totals (n);\n",
     "DROP MATERIALIZED VIEW totals;\n"),
    (AUDIT, "DROP FUNCTION audit() CASCADE;\n"),
])
def test_objects_the_down_removes_indirectly_or_the_up_removes_itself_are_quiet(
    up: str, down: str,
) -> None:
    assert dropped(up, down) == []


def test_a_trigger_is_still_missed_when_its_function_is_dropped_without_cascade() -> None:
    found = dropped(AUDIT, "DROP FUNCTION audit();\n")
    assert [rule for rule, _ in found] == ["down-does-not-drop"]


def test_a_sequence_owned_by_a_table_the_down_keeps_is_missed() -> None:
    up = "CREATE SEQUENCE order_no OWNED BY orders.no;\n"
    [(rule, message)] = dropped(up, "DROP TABLE customers;\n")
    assert rule == "down-does-not-drop" and "order_no" in message


ADD_VALUE = "ALTER TYPE mood ADD VALUE 'meh';\n"


def test_an_enum_value_cannot_be_removed_by_a_down() -> None:
    [(rule, message)] = dropped(ADD_VALUE, "SELECT 1;\n")
    assert rule == "enum-value-irreversible" and "mood" in message


@pytest.mark.parametrize("down", [
    "DROP TYPE mood;\n",
    "ALTER TYPE mood RENAME TO mood_old;\nCREATE TYPE mood AS ENUM ('ok');\n"
    "ALTER TABLE users ALTER COLUMN m TYPE mood USING m::text::mood;\nDROP TYPE mood_old;\n",
])
def test_a_down_that_drops_or_rebuilds_the_enum_is_quiet(down: str) -> None:
    assert dropped(ADD_VALUE, down) == []


def test_an_irreversible_migration_adding_an_enum_value_is_quiet(tmp_path: Path) -> None:
    (tmp_path / "0001_m.up.sql").write_text("-- sqlmig:irreversible\n" + ADD_VALUE,
                                           encoding="utf-8")
    [migration] = discover(tmp_path)
    assert lint_migration(migration, lock_timeout=True) == []


# --- the safer SQL, in the migration's own names ----------------------------------------------


@pytest.mark.parametrize(("sql", "safer"), [
    ("CREATE INDEX users_name_idx ON users USING btree (lower(name)) WHERE id > 0;\n",
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users ((lower(name))) "
     "WHERE id > 0;"),
    ("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n",
     "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);\n"
     "-- in a later migration:\n"
     "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;"),
    ("ALTER TABLE app.users ALTER COLUMN email SET NOT NULL;\n",
     "ALTER TABLE app.users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) "
     "NOT VALID;"),
    ("DROP INDEX users_name_idx;\n", "DROP INDEX CONCURRENTLY IF EXISTS users_name_idx;"),
    ("REINDEX INDEX users_name_idx;\n", "REINDEX INDEX CONCURRENTLY users_name_idx;"),
    ("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);\n",
     "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) "
     "REFERENCES users (id) NOT VALID;\n-- in a later migration:\n"
     "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;"),
])
def test_a_finding_shows_the_safer_sql_with_the_users_names(sql: str, safer: str) -> None:
    suggestions = [f.suggestion for f in findings(sql) if f.suggestion]
    assert len(suggestions) == 1 and safer in suggestions[0]


def test_every_suggestion_is_sql_postgresql_parses() -> None:
    from pglast import parser

    sqls = [
        "CREATE INDEX i ON users (name);\n", "DROP INDEX i;\n", "REINDEX TABLE users;\n",
        "ALTER TABLE users ADD COLUMN a uuid DEFAULT gen_random_uuid();\n",
        "ALTER TABLE users ADD COLUMN b int CHECK (b > 0);\n",
        "ALTER TABLE users ADD COLUMN c bigint REFERENCES orgs;\n",
        "ALTER TABLE users ADD CHECK (age > 0);\n",
        "ALTER TABLE users ADD PRIMARY KEY (id);\n",
        "ALTER TABLE users ALTER COLUMN age SET NOT NULL;\n",
        "ALTER TABLE events DETACH PARTITION e1;\n",
        "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0);\n",
    ]
    suggestions = [f.suggestion for sql in sqls for f in findings(sql) if f.suggestion]
    assert len(suggestions) == len(sqls)
    for suggestion in suggestions:
        parser.parse_sql(suggestion)


# --- more whole-table operations --------------------------------------------------------------


@pytest.mark.parametrize("change", ["SET LOGGED", "SET UNLOGGED", "SET TABLESPACE archive",
                                    "SET ACCESS METHOD heap"])
def test_alter_table_that_copies_the_table_is_a_rewrite(change: str) -> None:
    [finding] = findings(f"ALTER TABLE users {change};\n")
    assert finding.rule == "table-rewrite" and change.split()[1] in finding.message
    assert rules(f"CREATE TABLE t (id int);\nALTER TABLE t {change};\n") == []


def test_refresh_without_concurrently_blocks_reads_of_the_view() -> None:
    [finding] = findings("REFRESH MATERIALIZED VIEW totals;\n")
    assert finding.rule == "refresh-not-concurrent"
    assert finding.suggestion is not None
    assert finding.suggestion.startswith("REFRESH MATERIALIZED VIEW CONCURRENTLY totals;")
    assert rules("REFRESH MATERIALIZED VIEW CONCURRENTLY totals;\n") == []
    assert rules("CREATE MATERIALIZED VIEW totals AS SELECT 1 AS n WITH NO DATA;\n"
                 "REFRESH MATERIALIZED VIEW totals;\n", down_text="DROP MATERIALIZED VIEW "
                 "totals;\n") == []


def test_drop_schema_cascade_in_an_up_deletes_its_tables() -> None:
    [finding] = findings("DROP SCHEMA legacy CASCADE;\n")
    assert finding.rule == "drop-table" and "legacy" in finding.message
    assert rules("DROP SCHEMA legacy;\n") == []  # refused by PostgreSQL unless empty
    assert rules("CREATE SCHEMA tmp;\nDROP SCHEMA tmp CASCADE;\n") == []


# --- a backfill while the ALTER's lock is held; a new enum value used too soon -----------------


def test_a_backfill_after_an_alter_in_one_transaction_holds_the_exclusive_lock() -> None:
    sql = ("ALTER TABLE users ADD COLUMN plan text;\n"
           "UPDATE users SET plan = 'free' WHERE id BETWEEN 1 AND 1000;\n"
           "INSERT INTO users (id, plan) VALUES (0, 'x');\n")
    found = findings(sql)
    assert [(f.rule, f.line) for f in found] == [("backfill-under-lock", 2),
                                                 ("backfill-under-lock", 3)]
    assert "lock taken at line 1" in found[0].message


@pytest.mark.parametrize("sql", [
    NO_TX + "ALTER TABLE users ADD COLUMN plan text;\n"
    "UPDATE users SET plan = 'free' WHERE id BETWEEN 1 AND 1000;\n",
    "ALTER TABLE users VALIDATE CONSTRAINT c;\nUPDATE users SET n = 1 WHERE id = 1;\n",
    "ALTER TABLE users ADD COLUMN plan text;\nUPDATE orders SET total = 1 WHERE id = 1;\n",
    "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN n int;\nUPDATE t SET n = 1;\n",
])
def test_data_changes_not_under_an_exclusive_lock_are_quiet(sql: str) -> None:
    assert "backfill-under-lock" not in rules(sql)


def test_a_new_enum_value_cannot_be_used_before_it_commits() -> None:
    sql = ("ALTER TYPE status ADD VALUE 'archived';\n"
           "UPDATE posts SET status = 'archived' WHERE id = 1;\n")
    assert [(f.rule, f.line) for f in findings(sql)] == [("enum-value-used-in-transaction", 2)]
    assert rules(NO_TX + sql) == []
    assert rules("ALTER TYPE status ADD VALUE 'archived';\n") == []


def test_adding_an_enum_value_in_a_transaction_fails_before_postgresql_12() -> None:
    sql = "ALTER TYPE status ADD VALUE 'archived';\n"
    assert rules(sql, pg_version=11) == ["needs-no-transaction"]
    assert rules(NO_TX + sql, pg_version=11) == []


# --- partitions and PostgreSQL 18's NOT NULL constraints ---------------------------------------

ATTACH = ("ALTER TABLE events ATTACH PARTITION events_2021 "
          "FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');\n")


def test_attaching_an_existing_table_scans_it_unless_a_validated_check_proves_the_bound(
    tmp_path: Path,
) -> None:
    [finding] = findings(ATTACH)
    assert finding.rule == "attach-partition-scan" and "events_2021" in finding.message
    check = ("ALTER TABLE events_2021 ADD CONSTRAINT in_2021 CHECK (at >= '2021-01-01' "
             "AND at < '2022-01-01') NOT VALID;\n")
    assert history(tmp_path, check, "ALTER TABLE events_2021 VALIDATE CONSTRAINT in_2021;\n",
                   ATTACH) == []
    assert rules("CREATE TABLE events_2021 (id int, at date);\n" + ATTACH) == []


def test_an_index_on_only_the_partitioned_parent_builds_nothing() -> None:
    assert rules("CREATE INDEX events_at_idx ON ONLY events (at);\n") == []
    assert rules("CREATE INDEX events_at_idx ON events (at);\n") == ["index-not-concurrent"]


def test_a_not_null_constraint_added_without_not_valid_scans_like_set_not_null() -> None:
    [finding] = findings("ALTER TABLE users ADD CONSTRAINT users_name_nn NOT NULL name;\n")
    assert finding.rule == "set-not-null" and "users.name" in finding.message
    assert rules("ALTER TABLE users ADD CONSTRAINT users_name_nn NOT NULL name NOT VALID;\n") == []
