"""Static lint of migration files: each rule fires on the hazardous statement (with its line and
the object it names) and stays quiet on the safe variant; suppression comments; real-world SQL.

Pure: pglast parses the text, nothing connects to a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlmig.core import sqlfile
from sqlmig.core.files import discover
from sqlmig.review.lint import RULES, Finding, lint_file, lint_migration
from sqlmig.review.lint.rules import DEFAULT_RULES, OPT_IN_RULES

REPO = Path(__file__).parents[1]
PATH = Path("0001_x.up.sql")
NO_TX = "-- sqlmig:no-transaction\n"


def findings(sql: str, **kw: Any) -> list[Finding]:
    """Findings of `sql` as an up file; a lock_timeout is configured unless the test says not
    (lock-timeout-missing fires on nearly every statement on an existing table)."""
    kw.setdefault("lock_timeout", True)
    return lint_file(PATH, sql, **kw)


def lint(sql: str, **kw: Any) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in findings(sql, **kw)]


def of(rule: str, sql: str, **kw: Any) -> list[Finding]:
    """Findings of one rule only, so other rules' findings do not blur the assertion."""
    return [f for f in findings(sql, **kw) if f.rule == rule]


# --- every rule, at a glance ------------------------------------------------------------------

# One firing example per rule: (sql, keyword arguments, line of the finding).
EXAMPLES: dict[str, tuple[str, dict[str, Any], int]] = {
    "syntax-error": ("SELECT 1;\nSELEC 2;\n", {}, 2),
    "index-not-concurrent": ("SELECT 1;\nCREATE INDEX i ON users (email);\n", {}, 2),
    "add-column-not-null": ("ALTER TABLE users ADD COLUMN a int NOT NULL;\n", {}, 1),
    "add-column-volatile-default": (
        "ALTER TABLE users ADD COLUMN a uuid DEFAULT gen_random_uuid();\n", {}, 1),
    "constraint-not-valid": (
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0);\n", {}, 1),
    "add-unique-constraint": (
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n", {}, 1),
    "alter-column-type": ("ALTER TABLE users ALTER COLUMN age TYPE bigint;\n", {}, 1),
    "set-not-null": ("ALTER TABLE users ALTER COLUMN age SET NOT NULL;\n", {}, 1),
    "rename-column": ("ALTER TABLE users RENAME COLUMN age TO years;\n", {}, 1),
    "rename-table": ("ALTER TABLE users RENAME TO people;\n", {}, 1),
    "drop-table": ("DROP TABLE users;\n", {}, 1),
    "drop-column": ("ALTER TABLE users DROP COLUMN age;\n", {}, 1),
    "truncate": ("TRUNCATE users;\n", {}, 1),
    "table-rewrite": (NO_TX + "VACUUM FULL users;\n", {}, 2),
    "delete-without-where": ("SELECT 1;\nDELETE FROM users;\n", {}, 2),
    "update-without-where": ("UPDATE users SET age = 0;\n", {}, 1),
    "identifier-too-long": ("CREATE TABLE " + "t" * 64 + " (id int);\n", {}, 1),
    "concurrently-in-transaction": ("CREATE INDEX CONCURRENTLY i ON users (email);\n", {}, 1),
    "needs-no-transaction": ("VACUUM users;\n", {}, 1),
    "transaction-control": ("COMMIT;\n", {}, 1),
    "down-does-not-drop": ("CREATE TABLE t (id int);\n", {"down_text": "SELECT 1;\n"}, 1),
    "lock-timeout-missing": ("ALTER TABLE users ADD COLUMN a int;\n", {"lock_timeout": False},
                             1),
    "validate-in-same-transaction": (
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c;\n", {}, 2),
    "detach-partition-not-concurrent": ("ALTER TABLE events DETACH PARTITION events_2020;\n",
                                        {}, 1),
    "same-column-twice": ("UPDATE users SET age = 1, age = 2 WHERE id = 1;\n", {}, 1),
    "refresh-not-concurrent": ("REFRESH MATERIALIZED VIEW totals;\n", {}, 1),
    "attach-partition-scan": ("ALTER TABLE events ATTACH PARTITION events_2020 "
                              "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');\n", {}, 1),
    "backfill-under-lock": ("ALTER TABLE users ADD COLUMN plan text;\n"
                            "UPDATE users SET plan = 'free' WHERE id < 1000;\n", {}, 2),
    "enum-value-used-in-transaction": ("ALTER TYPE mood ADD VALUE 'meh';\n"
                                       "UPDATE users SET mood = 'meh' WHERE id = 1;\n", {}, 2),
    "enum-value-irreversible": ("ALTER TYPE mood ADD VALUE 'meh';\n",
                                {"down_text": "SELECT 1;\n"}, 1),
    "bad-ignore": ("SELECT 1;\n-- sqlmig:lint-ignore drop-tabel\nDROP TABLE a;\n", {}, 2),
    "unused-ignore": ("-- sqlmig:lint-ignore drop-table\nSELECT 1;\n", {}, 1),
}


# Found for a migration, not in a file's statements: tested through `sqlmig lint` in
# test_adoption.py.
OF_A_MIGRATION = {"file-problem", "no-op-migration"}


@pytest.mark.parametrize("rule", sorted(DEFAULT_RULES - OF_A_MIGRATION))
def test_every_rule_has_an_example_that_fires_it_with_its_severity_and_fix(rule: str) -> None:
    sql, kw, line = EXAMPLES[rule]
    [finding] = of(rule, sql, **kw)
    assert (finding.line, finding.path) == (line, PATH)
    assert finding.severity == RULES[rule].severity
    assert finding.fix == RULES[rule].fix


@pytest.mark.parametrize(("sql", "rule"), [
    ("DROP INDEX users_email_idx;", "index-not-concurrent"),
    ("DROP INDEX a, public.b;", "index-not-concurrent"),
    ("REINDEX TABLE users;", "index-not-concurrent"),
    ("REINDEX INDEX users_email_idx;", "index-not-concurrent"),
    (NO_TX + "VACUUM (FULL, ANALYZE) users;", "table-rewrite"),
    ("CLUSTER users USING users_pkey;", "table-rewrite"),
])
def test_operations_that_block_an_existing_table_are_errors(sql: str, rule: str) -> None:
    found = of(rule, sql)
    assert found and all(f.severity == "error" for f in found)
    if sql.startswith("DROP INDEX a"):
        assert [f.message.split(" without")[0] for f in found] == [
            "DROP INDEX a", "DROP INDEX public.b"]


@pytest.mark.parametrize("sql", [
    NO_TX + "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
    "CREATE TABLE t (id int);\nCREATE INDEX t_idx ON t (id);\nDROP INDEX t_idx;",
    NO_TX + "REINDEX INDEX CONCURRENTLY users_email_idx;",
    NO_TX + "VACUUM (ANALYZE) users;",
])
def test_their_safe_variants_are_quiet(sql: str) -> None:
    assert [f.rule for f in findings(sql)
            if f.rule in ("index-not-concurrent", "table-rewrite")] == []


@pytest.mark.parametrize(("sql", "rule"), [
    ("DELETE FROM users;", "delete-without-where"),
    ("DELETE FROM users USING posts;", "delete-without-where"),
    ("UPDATE users SET age = 0;", "update-without-where"),
    ("CREATE INDEX CONCURRENTLY " + "i" * 64 + " ON users (id);", "identifier-too-long"),
    ("ALTER TABLE users ADD COLUMN " + "é" * 32 + " int;", "identifier-too-long"),
    ("ALTER TABLE users ADD CONSTRAINT " + "c" * 70 + " CHECK (age > 0) NOT VALID;",
     "identifier-too-long"),
])
def test_whole_table_writes_and_truncated_names_are_found(sql: str, rule: str) -> None:
    assert [f.rule for f in of(rule, sql)] == [rule]


@pytest.mark.parametrize("sql", [
    "DELETE FROM users WHERE age < 0;",
    "UPDATE users SET age = 0 WHERE age IS NULL;",
    "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\nUPDATE t SET id = 2;\nDELETE FROM t;",
    "CREATE TABLE " + "t" * 63 + " (id int);",
    "ALTER TABLE users ADD COLUMN " + "é" * 31 + "x int;",
])
def test_their_safe_variants_are_quiet_too(sql: str) -> None:
    rules = ("delete-without-where", "update-without-where", "identifier-too-long")
    assert [f.rule for f in findings(sql) if f.rule in rules] == []


@pytest.mark.parametrize(("column", "said"), [
    ("n bigint GENERATED ALWAYS AS IDENTITY", "ADD COLUMN n as an identity column on"),
    ("s text GENERATED ALWAYS AS (lower(name)) STORED",
     "ADD COLUMN s as a stored generated column on"),
    ("k bigserial", "ADD COLUMN k bigserial on"),
])
def test_a_computed_column_is_named_as_the_migration_writes_it(column: str, said: str) -> None:
    [found] = of("add-column-volatile-default", f"ALTER TABLE users ADD COLUMN {column};")
    assert found.message.startswith(said + " existing table users rewrites it")


def test_a_down_may_drop_the_index_its_up_built() -> None:
    """Dropping what the up created is a down's job; lint reads downs for data loss only."""
    assert of("index-not-concurrent", "DROP INDEX users_email_idx;", direction="down") == []


def test_every_rule_is_an_error_a_warning_or_info_with_a_fix() -> None:
    assert {rule.severity for rule in RULES.values()} == {"error", "warning", "info"}
    assert [name for name, rule in RULES.items() if rule.severity == "info"] == [
        "no-op-migration"]
    assert all(rule.fix for rule in RULES.values())
    assert {name for name in DEFAULT_RULES if RULES[name].severity == "warning"} == {
        "rename-column", "rename-table", "lock-timeout-missing", "update-without-where",
        "backfill-under-lock", "attach-partition-scan", "unused-ignore",
    }


def test_a_clean_file_has_no_findings() -> None:
    sql = (
        "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL);\n"
        "CREATE INDEX t_name_idx ON t (name);\n"
        "INSERT INTO t VALUES (1, 'one');\n"
    )
    assert lint(sql, down_text="DROP TABLE t;\n") == []


def test_a_finding_carries_the_path_line_column_message_and_fix() -> None:
    [finding] = findings("-- comment\n\n  DROP TABLE public.accounts;\n", lock_timeout=True)
    assert finding == Finding(
        "drop-table", "error", PATH, 3, 3, finding.message, RULES["drop-table"].fix,
        "  DROP TABLE public.accounts;",
    )
    assert "DROP TABLE public.accounts" in finding.message


# --- syntax-error -----------------------------------------------------------------------------


def test_a_syntax_error_is_one_finding_with_line_and_column() -> None:
    [finding] = findings("SELECT 1;\n\n  SELECT (;\nSELEC 2;\n")
    assert (finding.rule, finding.line, finding.column) == ("syntax-error", 3, 11)
    assert '";"' in finding.message


def test_a_syntax_error_stops_the_other_rules() -> None:
    assert lint("DROP TABLE users;\nCREATE INDEX i ON users (a)\nSELEC 1;\n") == [
        ("syntax-error", 3),
    ]


def test_valid_sql_has_no_syntax_error() -> None:
    assert of("syntax-error", "SELECT 1;\nSELECT 'x' || 'y';\n") == []


def test_a_psql_meta_command_is_reported_as_a_syntax_error_on_its_line() -> None:
    [finding] = findings("SELECT 1;\n\\connect other\nSELECT 2;\n")
    assert (finding.rule, finding.line) == ("syntax-error", 2)
    assert "psql meta-command \\connect" in finding.message


def test_a_disabled_syntax_error_is_not_reported() -> None:
    assert lint("SELEC 1;\n", disabled=frozenset({"syntax-error"})) == []


# --- index-not-concurrent ---------------------------------------------------------------------


def test_create_index_on_an_existing_table_without_concurrently_is_an_error() -> None:
    [finding] = findings("-- users are busy\nCREATE INDEX users_email_idx ON app.users (email);\n")
    assert (finding.rule, finding.line, finding.column) == ("index-not-concurrent", 2, 1)
    assert "app.users" in finding.message
    assert finding.severity == "error"


def test_create_index_on_a_table_created_earlier_in_the_same_file_is_fine() -> None:
    sql = "CREATE TABLE t (id int);\nCREATE UNIQUE INDEX t_id_idx ON t (id);\n"
    assert lint(sql, down_text="DROP TABLE t;\n") == []


def test_create_index_on_a_temporary_table_created_earlier_is_fine() -> None:
    assert lint("CREATE TEMP TABLE scratch (id int);\nCREATE INDEX ON scratch (id);\n") == []


def test_a_table_created_later_in_the_file_does_not_count_as_new_for_an_earlier_index() -> None:
    sql = "CREATE INDEX i ON t (id);\nCREATE TABLE t (id int);\n"
    assert lint(sql) == [("index-not-concurrent", 1)]


def test_a_table_of_the_same_name_in_another_schema_is_still_existing() -> None:
    sql = (
        "CREATE TABLE app.a (id int);\n"
        "CREATE INDEX ON app.a (id);\n"
        "CREATE INDEX ON other.a (id);\n"
    )
    [finding] = findings(sql)
    assert (finding.rule, finding.line) == ("index-not-concurrent", 3)
    assert "other.a" in finding.message


def test_create_index_concurrently_in_a_no_transaction_file_is_fine() -> None:
    sql = NO_TX + "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    assert lint(sql) == []


# --- add-column-not-null ----------------------------------------------------------------------


def test_add_column_not_null_without_default_on_an_existing_table_is_an_error() -> None:
    sql = "SELECT 1;\nALTER TABLE users\n    ADD COLUMN nickname text NOT NULL;\n"
    [finding] = of("add-column-not-null", sql, lock_timeout=True)
    assert (finding.line, finding.column) == (3, 16)
    assert "nickname" in finding.message
    assert "users" in finding.message


def test_add_column_primary_key_without_default_is_not_null_and_builds_an_index() -> None:
    sql = "ALTER TABLE users ADD COLUMN code int PRIMARY KEY;\n"
    assert lint(sql, lock_timeout=True) == [
        ("add-column-not-null", 1), ("add-unique-constraint", 1),
    ]


def test_add_column_not_null_default_null_has_no_default() -> None:
    sql = "ALTER TABLE users ADD COLUMN code int NOT NULL DEFAULT NULL;\n"
    assert lint(sql, lock_timeout=True) == [("add-column-not-null", 1)]


def test_add_column_not_null_with_a_constant_default_is_fine() -> None:
    sql = "ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';\n"
    assert lint(sql, lock_timeout=True) == []


def test_add_column_nullable_is_fine() -> None:
    assert lint("ALTER TABLE users ADD COLUMN bio text;\n", lock_timeout=True) == []


def test_add_column_not_null_on_a_table_created_earlier_is_fine() -> None:
    sql = "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN name text NOT NULL;\n"
    assert lint(sql) == []


# --- add-column-volatile-default ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "named"),
    [
        ("token uuid DEFAULT gen_random_uuid()", "gen_random_uuid"),
        ("token uuid DEFAULT public.gen_random_uuid()", "gen_random_uuid"),
        ("seen_at timestamptz DEFAULT clock_timestamp()", "clock_timestamp"),
        ("score float8 NOT NULL DEFAULT random() * 10", "random"),
        ("n bigint DEFAULT nextval('users_n_seq')", "nextval"),
    ],
)
def test_add_column_with_a_volatile_default_is_an_error(column: str, named: str) -> None:
    sql = f"-- rewrite\nALTER TABLE users ADD COLUMN {column};\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.line, finding.column) == ("add-column-volatile-default", 2, 30)
    assert f"DEFAULT {named}()" in finding.message
    assert "users" in finding.message
    assert column.split()[0] in finding.message


@pytest.mark.parametrize(
    ("column", "named"),
    [
        ("n serial", "serial"),
        ("n bigserial", "bigserial"),
        ("n int GENERATED ALWAYS AS IDENTITY", "identity"),
        ("n bigint GENERATED BY DEFAULT AS IDENTITY", "identity"),
        ("twice int GENERATED ALWAYS AS (age * 2) STORED", "generated"),
    ],
)
def test_add_column_serial_identity_or_stored_generated_rewrites_the_table(
    column: str, named: str,
) -> None:
    sql = f"ALTER TABLE users ADD COLUMN {column};\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.line) == ("add-column-volatile-default", 1)
    assert named in finding.message
    assert column.split()[0] in finding.message


@pytest.mark.parametrize(
    "column",
    [
        "created_at timestamptz NOT NULL DEFAULT now()",
        "created_at timestamptz DEFAULT CURRENT_TIMESTAMP",
        "flags int NOT NULL DEFAULT 0",
        "settings jsonb NOT NULL DEFAULT '{}'::jsonb",
    ],
)
def test_add_column_with_a_stable_or_constant_default_is_fine(column: str) -> None:
    assert lint(f"ALTER TABLE users ADD COLUMN {column};\n", lock_timeout=True) == []


def test_add_column_serial_on_a_table_created_earlier_is_fine() -> None:
    sql = (
        "CREATE TABLE t (name text);\n"
        "ALTER TABLE t ADD COLUMN id bigserial, ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
    )
    assert lint(sql) == []


def test_add_column_virtual_generated_does_not_rewrite_the_table() -> None:
    sql = "ALTER TABLE users ADD COLUMN twice int GENERATED ALWAYS AS (age * 2) VIRTUAL;\n"
    assert lint(sql, lock_timeout=True) == []


# --- constraint-not-valid ---------------------------------------------------------------------


def test_add_foreign_key_without_not_valid_on_an_existing_table_is_an_error() -> None:
    sql = (
        "SELECT 1;\n"
        "ALTER TABLE posts ADD CONSTRAINT posts_user_fk\n"
        "    FOREIGN KEY (user_id) REFERENCES users (id);\n"
    )
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.line, finding.column) == ("constraint-not-valid", 2, 23)
    assert "FOREIGN KEY" in finding.message
    assert "posts" in finding.message


def test_add_check_without_not_valid_on_an_existing_table_is_an_error() -> None:
    [finding] = findings("ALTER TABLE users ADD CHECK (age >= 0);\n", lock_timeout=True)
    assert (finding.rule, finding.line) == ("constraint-not-valid", 1)
    assert "CHECK" in finding.message
    assert "users" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)\n"
        "    NOT VALID;",
        "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0) NOT VALID;",
        "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0) NOT ENFORCED;",
        "ALTER TABLE users VALIDATE CONSTRAINT users_age_check;",
    ],
)
def test_not_valid_constraints_and_validate_constraint_are_fine(sql: str) -> None:
    assert lint(sql, lock_timeout=True) == []


def test_add_foreign_key_on_a_table_created_earlier_is_fine() -> None:
    sql = (
        "CREATE TABLE t (id int, user_id uuid);\n"
        "ALTER TABLE t ADD FOREIGN KEY (user_id) REFERENCES users (id), ADD CHECK (id > 0);\n"
    )
    assert lint(sql) == []


# --- add-unique-constraint --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "what"),
    [
        ("CONSTRAINT users_email_key UNIQUE (email)", "ADD UNIQUE"),
        ("PRIMARY KEY (id)", "ADD PRIMARY KEY"),
        ("CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&)", "ADD EXCLUDE"),
    ],
)
def test_add_unique_primary_key_or_exclude_on_an_existing_table_is_an_error(
    constraint: str, what: str,
) -> None:
    sql = f"SELECT 1;\nALTER TABLE app.users ADD {constraint};\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.line, finding.column) == ("add-unique-constraint", 2, 27)
    assert f"{what} on existing table app.users" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;",
    ],
)
def test_add_unique_or_primary_key_using_an_existing_index_is_fine(sql: str) -> None:
    assert lint(sql, lock_timeout=True) == []


def test_add_unique_on_a_table_created_earlier_is_fine() -> None:
    sql = (
        "CREATE TABLE t (id int, email text);\n"
        "ALTER TABLE t ADD PRIMARY KEY (id), ADD CONSTRAINT t_email_key UNIQUE (email);\n"
    )
    assert lint(sql, down_text="DROP TABLE t;\n") == []


def test_add_column_unique_on_an_existing_table_is_an_error() -> None:
    sql = "ALTER TABLE users ADD COLUMN code int UNIQUE;\n"
    assert lint(sql, lock_timeout=True) == [("add-unique-constraint", 1)]


# --- alter-column-type, set-not-null ----------------------------------------------------------


def test_alter_column_type_on_an_existing_table_is_an_error() -> None:
    sql = "SELECT 1;\nALTER TABLE users ALTER COLUMN age TYPE bigint;\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.line) == ("alter-column-type", 2)
    assert "age" in finding.message
    assert "users" in finding.message


def test_alter_column_type_on_a_table_created_earlier_is_fine() -> None:
    sql = "CREATE TABLE t (age int);\nALTER TABLE t ALTER COLUMN age TYPE bigint;\n"
    assert lint(sql) == []


def test_set_not_null_on_an_existing_table_is_an_error() -> None:
    sql = "ALTER TABLE users\n  ALTER COLUMN age TYPE bigint,\n  ALTER COLUMN email SET NOT NULL;\n"
    result = findings(sql, lock_timeout=True)
    assert [f.rule for f in result] == ["alter-column-type", "set-not-null"]
    assert "users.email" in result[1].message
    assert result[1].line == 1


def test_set_not_null_on_a_table_created_earlier_and_drop_not_null_are_fine() -> None:
    sql = (
        "CREATE TABLE t (email text);\n"
        "ALTER TABLE t ALTER COLUMN email SET NOT NULL;\n"
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;\n"
    )
    assert lint(sql, lock_timeout=True) == []


# --- rename-column, rename-table --------------------------------------------------------------


def test_rename_column_on_an_existing_table_is_a_warning() -> None:
    sql = "SELECT 1;\nALTER TABLE users RENAME COLUMN age TO years;\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.severity, finding.line) == ("rename-column", "warning", 2)
    assert "users.age" in finding.message


def test_rename_table_is_a_warning() -> None:
    sql = "SELECT 1;\nALTER TABLE posts RENAME TO articles;\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.severity, finding.line) == ("rename-table", "warning", 2)
    assert "posts" in finding.message


def test_renames_of_a_table_created_earlier_are_fine_and_the_new_name_counts_as_new() -> None:
    sql = (
        "CREATE TABLE t (id int);\n"
        "ALTER TABLE t RENAME COLUMN id TO key;\n"
        "ALTER TABLE t RENAME TO u;\n"
        "ALTER TABLE u RENAME COLUMN key TO id;\n"
        "CREATE INDEX ON u (id);\n"
    )
    assert lint(sql) == []


def test_renaming_an_index_or_a_view_is_not_a_table_rename() -> None:
    sql = (
        "ALTER INDEX users_email_idx RENAME TO users_email_key;\n"
        "ALTER VIEW active_users RENAME TO live_users;\n"
        "ALTER VIEW live_users RENAME COLUMN email TO address;\n"
    )
    assert lint(sql) == []


# --- drop-table, drop-column, truncate --------------------------------------------------------


def test_drop_table_in_an_up_migration_is_an_error() -> None:
    [finding] = findings("SELECT 1;\nDROP TABLE IF EXISTS legacy_audit;\n")
    assert (finding.rule, finding.line) == ("drop-table", 2)
    assert "legacy_audit" in finding.message


def test_drop_table_names_only_the_existing_tables_of_a_list() -> None:
    [finding] = findings("CREATE TABLE a (id int); DROP TABLE a, b;\n")
    assert (finding.rule, finding.line, finding.column) == ("drop-table", 1, 26)
    assert "DROP TABLE b " in finding.message


def test_dropping_a_table_created_earlier_in_the_same_file_is_fine() -> None:
    assert lint("CREATE TABLE t (id int);\nDROP TABLE t;\n") == []


def test_drop_column_in_an_up_migration_is_an_error() -> None:
    sql = "SELECT 1;\nALTER TABLE users DROP COLUMN legacy_flags;\n"
    [finding] = findings(sql, lock_timeout=True)
    assert (finding.rule, finding.line) == ("drop-column", 2)
    assert "users.legacy_flags" in finding.message


def test_drop_column_of_a_table_created_earlier_is_fine() -> None:
    assert lint("CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;\n") == []


def test_truncate_in_an_up_migration_is_an_error() -> None:
    [finding] = findings("SELECT 1;\nTRUNCATE sessions;\n")
    assert (finding.rule, finding.line) == ("truncate", 2)
    assert "sessions" in finding.message


def test_truncate_of_a_table_created_earlier_is_fine() -> None:
    assert lint("CREATE TABLE t (id int);\nTRUNCATE t;\n") == []


def test_drop_table_drop_column_and_truncate_in_a_down_file_are_fine() -> None:
    sql = (
        "DROP TABLE posts;\n"
        "ALTER TABLE users DROP COLUMN locale;\n"
        "TRUNCATE sessions;\n"
    )
    assert lint(sql, direction="down", lock_timeout=True) == []


# --- concurrently-in-transaction, needs-no-transaction, transaction-control -------------------


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("CREATE INDEX CONCURRENTLY i ON users (email);", "CREATE INDEX CONCURRENTLY"),
        ("CREATE UNIQUE INDEX CONCURRENTLY i ON users (email);", "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY IF EXISTS i;", "DROP INDEX CONCURRENTLY"),
        ("REINDEX INDEX CONCURRENTLY i;", "REINDEX CONCURRENTLY"),
    ],
)
def test_concurrently_in_a_transactional_file_is_an_error(sql: str, what: str) -> None:
    [finding] = findings(f"SELECT 1;\n{sql}\n")
    assert (finding.rule, finding.line) == ("concurrently-in-transaction", 2)
    assert what in finding.message


def test_concurrently_on_a_table_created_earlier_still_needs_no_transaction() -> None:
    sql = "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY ON t (id);\n"
    assert lint(sql) == [("concurrently-in-transaction", 2)]


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("VACUUM users;", "VACUUM"),
        ("VACUUM;", "VACUUM"),
        ("CREATE DATABASE reports;", "CREATE DATABASE"),
        ("ALTER SYSTEM SET work_mem = '64MB';", "ALTER SYSTEM"),
    ],
)
def test_statements_refused_in_a_transaction_need_no_transaction(sql: str, what: str) -> None:
    [finding] = findings(f"SELECT 1;\n\n{sql}\n")
    assert (finding.rule, finding.line) == ("needs-no-transaction", 3)
    assert what in finding.message


def test_analyze_runs_in_a_transaction() -> None:
    assert lint("ANALYZE users;\n") == []


def test_a_file_wrapped_in_begin_commit_is_run_as_one_transaction_not_an_error() -> None:
    assert findings("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n") == []


def test_begin_and_commit_in_a_transactional_file_are_errors() -> None:
    sql = "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\nCREATE TABLE u (id int);\n"
    result = findings(sql)
    assert [(f.rule, f.line) for f in result] == [
        ("transaction-control", 1), ("transaction-control", 3),
    ]
    assert result[0].message.startswith("BEGIN ")
    assert result[1].message.startswith("COMMIT ")


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("ROLLBACK;", "ROLLBACK"),
        ("START TRANSACTION;", "START TRANSACTION"),
        ("END;", "COMMIT"),
        ("PREPARE TRANSACTION 'x';", "PREPARE TRANSACTION"),
    ],
)
def test_other_transaction_control_is_an_error(sql: str, what: str) -> None:
    [finding] = findings(f"SELECT 1;\n{sql}\n")
    assert (finding.rule, finding.line) == ("transaction-control", 2)
    assert finding.message.startswith(what)


def test_savepoints_are_not_transaction_control() -> None:
    assert lint("SAVEPOINT s;\nRELEASE SAVEPOINT s;\n") == []


def test_none_of_the_transaction_rules_fire_in_a_no_transaction_file() -> None:
    sql = NO_TX + (
        "VACUUM users;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);\n"
        "BEGIN;\n"
        "UPDATE users SET age = 0 WHERE id < 100;\n"
        "COMMIT;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS j;\n"
    )
    assert lint(sql) == []


def test_what_needs_no_transaction_is_an_error_between_begin_and_commit_of_a_no_tx_file() -> None:
    sql = NO_TX + (
        "BEGIN;\n"
        "VACUUM users;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);\n"
        "COMMIT;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS j;\n"
        "START TRANSACTION;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS k;\n"
        "ROLLBACK;\n"
    )
    assert lint(sql) == [("needs-no-transaction", 3), ("concurrently-in-transaction", 4),
                         ("concurrently-in-transaction", 8)]
    assert "opened one with BEGIN" in findings(sql)[1].message


# --- lock-timeout-missing ---------------------------------------------------------------------


def test_alter_table_without_a_lock_timeout_is_a_warning_naming_the_table() -> None:
    [finding] = findings("SELECT 1;\nALTER TABLE app.users ADD COLUMN bio text;\n",
                         lock_timeout=False)
    assert (finding.rule, finding.severity, finding.line) == ("lock-timeout-missing", "warning", 2)
    assert "app.users" in finding.message


def test_lock_timeout_missing_is_reported_once_per_file() -> None:
    sql = (
        "ALTER TABLE users ADD COLUMN a int;\n"
        "ALTER TABLE posts ADD COLUMN b int;\n"
        "ALTER TABLE posts RENAME COLUMN b TO c;\n"
    )
    assert [(r, n) for r, n in lint(sql, lock_timeout=False) if r == "lock-timeout-missing"] == [
        ("lock-timeout-missing", 1),
    ]


def test_a_rename_on_an_existing_table_also_needs_a_lock_timeout() -> None:
    assert lint("ALTER TABLE users RENAME COLUMN age TO years;\n", lock_timeout=False) == [
        ("lock-timeout-missing", 1), ("rename-column", 1),
    ]


@pytest.mark.parametrize(
    "before",
    [
        "SET lock_timeout = '5s';\n",
        "SET LOCAL lock_timeout TO '5s';\n",
        "SET lock_timeout = 5000;\n",
        "SELECT set_config('lock_timeout', '5s', false);\n",
        "-- sqlmig:lock-timeout 5s\n",
    ],
)
def test_a_lock_timeout_set_first_silences_the_warning(before: str) -> None:
    assert lint(before + "ALTER TABLE users ADD COLUMN bio text;\n", lock_timeout=False) == []


def test_a_lock_timeout_from_configuration_silences_the_warning() -> None:
    assert lint("ALTER TABLE users ADD COLUMN bio text;\n", lock_timeout=True) == []


@pytest.mark.parametrize(
    "before",
    [
        "SET lock_timeout = 0;\n",
        "SET lock_timeout TO DEFAULT;\n",
        "SET lock_timeout = '5s';\nRESET lock_timeout;\n",
    ],
)
def test_a_lock_timeout_turned_off_again_does_not_count(before: str) -> None:
    sql = before + "ALTER TABLE users ADD COLUMN bio text;\n"
    assert lint(sql, lock_timeout=False) == [("lock-timeout-missing", before.count("\n") + 1)]


@pytest.mark.parametrize(
    "before",
    [
        "SET lock_timeout = '0';\n",
        "SET lock_timeout = '0s';\n",
        "SELECT set_config('lock_timeout', '0', false);\n",
    ],
)
def test_a_lock_timeout_of_zero_written_as_a_string_does_not_count(before: str) -> None:
    assert lint(before + "ALTER TABLE users ADD COLUMN bio text;\n", lock_timeout=False) == [
        ("lock-timeout-missing", 2),
    ]


def test_a_lock_timeout_set_after_the_alter_comes_too_late() -> None:
    sql = "ALTER TABLE users ADD COLUMN bio text;\nSET lock_timeout = '5s';\n"
    assert lint(sql, lock_timeout=False) == [("lock-timeout-missing", 1)]


def test_altering_a_table_created_earlier_needs_no_lock_timeout() -> None:
    sql = "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN bio text;\n"
    assert lint(sql, lock_timeout=False) == []


# --- down-does-not-drop -----------------------------------------------------------------------

# Line numbers of each CREATE below: the no-transaction header is line 1.
UP_CREATES = NO_TX + (
    "CREATE SCHEMA reporting;\n"                                                   # 2
    "CREATE TYPE mood AS ENUM ('ok', 'meh');\n"                                    # 3
    "CREATE TABLE notes (id int);\n"                                               # 4
    "CREATE INDEX notes_id_idx ON notes (id);\n"                                   # 5
    "CREATE SEQUENCE note_numbers;\n"                                              # 6
    "CREATE VIEW recent_notes AS SELECT 1 AS one;\n"                               # 7
    "CREATE FUNCTION note_count() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"       # 8
    "CREATE TRIGGER users_touch BEFORE UPDATE ON users\n"                          # 9
    "    FOR EACH ROW EXECUTE FUNCTION note_count();\n"
    "ALTER TABLE users ADD COLUMN mood mood;\n"                                    # 11
    "ALTER TABLE users ADD CONSTRAINT users_mood_check CHECK (mood <> 'meh') NOT VALID;\n"  # 12
    "CREATE INDEX CONCURRENTLY users_mood_idx ON users (mood);\n"                  # 13
)
DOWN_DROPS = [
    "DROP INDEX CONCURRENTLY users_mood_idx;",
    "ALTER TABLE users DROP CONSTRAINT users_mood_check;",
    "ALTER TABLE users DROP COLUMN mood;",
    "DROP TRIGGER users_touch ON users;",
    "DROP FUNCTION note_count();",
    "DROP VIEW recent_notes;",
    "DROP SEQUENCE note_numbers;",
    "DROP TABLE notes;",
    "DROP TYPE mood;",
    "DROP SCHEMA reporting;",
]


def test_a_down_that_drops_everything_the_up_creates_is_fine() -> None:
    assert lint(UP_CREATES, down_text="\n".join(DOWN_DROPS), lock_timeout=True) == []


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("DROP INDEX CONCURRENTLY users_mood_idx;", [(13, "index users_mood_idx on users")]),
        ("ALTER TABLE users DROP CONSTRAINT users_mood_check;",
         [(12, "constraint users_mood_check on users")]),
        ("ALTER TABLE users DROP COLUMN mood;", [(11, "column mood on users")]),
        ("DROP TRIGGER users_touch ON users;", [(9, "trigger users_touch on users")]),
        ("DROP FUNCTION note_count();", [(8, "function note_count")]),
        ("DROP VIEW recent_notes;", [(7, "view recent_notes")]),
        ("DROP SEQUENCE note_numbers;", [(6, "sequence note_numbers")]),
        # The index on notes was covered by dropping its table only.
        ("DROP TABLE notes;", [(4, "table notes"), (5, "index notes_id_idx on notes")]),
        ("DROP TYPE mood;", [(3, "type mood")]),
        ("DROP SCHEMA reporting;", [(2, "schema reporting")]),
    ],
)
def test_a_down_that_misses_one_object_points_at_its_create(
    missing: str, expected: list[tuple[int, str]],
) -> None:
    down = "\n".join(d for d in DOWN_DROPS if d != missing)
    result = findings(UP_CREATES, down_text=down, lock_timeout=True)
    assert [(f.rule, f.line, f.path) for f in result] == [
        ("down-does-not-drop", line, PATH) for line, _ in expected
    ]
    for finding, (_, what) in zip(result, expected, strict=True):
        assert f"creates {what}," in finding.message


def test_a_missed_column_points_at_the_column_name_in_its_alter() -> None:
    up = "ALTER TABLE users\n    ADD COLUMN bio text;\n"
    [finding] = findings(up, down_text="SELECT 1;\n", lock_timeout=True)
    assert (finding.rule, finding.line, finding.column) == ("down-does-not-drop", 2, 16)


def test_dropping_the_parent_table_covers_its_indexes_triggers_columns_and_constraints() -> None:
    up = (
        "CREATE TABLE t (id int);\n"
        "CREATE INDEX t_id_idx ON t (id);\n"
        "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();\n"
        "ALTER TABLE t ADD COLUMN name text, ADD CONSTRAINT t_name_check CHECK (name <> '');\n"
    )
    assert lint(up, down_text="DROP TABLE IF EXISTS t CASCADE;\n") == []


def test_dropping_the_schema_with_cascade_covers_everything_in_it() -> None:
    up = (
        "CREATE SCHEMA app;\n"
        "CREATE TABLE app.t (id int);\n"
        "CREATE INDEX t_id_idx ON app.t (id);\n"
        "CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
        "CREATE TYPE app.mood AS ENUM ('ok');\n"
    )
    assert lint(up, down_text="DROP SCHEMA app CASCADE;\n") == []


def test_create_or_replace_in_the_down_restores_a_replaced_function_or_view() -> None:
    up = (
        "CREATE OR REPLACE FUNCTION touch() RETURNS int LANGUAGE sql AS 'SELECT 2';\n"
        "CREATE OR REPLACE VIEW v AS SELECT 2 AS n;\n"
    )
    down = (
        "CREATE OR REPLACE FUNCTION touch() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
        "CREATE OR REPLACE VIEW v AS SELECT 1 AS n;\n"
    )
    assert lint(up, down_text=down) == []


def test_create_or_replace_in_the_down_does_not_undo_a_plain_create() -> None:
    up = "CREATE FUNCTION touch() RETURNS int LANGUAGE sql AS 'SELECT 2';\n"
    down = "CREATE OR REPLACE FUNCTION touch() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
    [finding] = findings(up, down_text=down)
    assert (finding.rule, finding.line) == ("down-does-not-drop", 1)
    assert "function touch" in finding.message


def test_a_down_that_drops_another_table_points_at_the_missed_one() -> None:
    up = "SELECT 1;\nCREATE TABLE kept (id int);\nCREATE TABLE dropped (id int);\n"
    [finding] = findings(up, down_text="DROP TABLE dropped;\n")
    assert (finding.rule, finding.line) == ("down-does-not-drop", 2)
    assert "table kept," in finding.message


def test_a_drop_in_another_schema_does_not_cover_a_qualified_create() -> None:
    [finding] = findings("CREATE TABLE app.t (id int);\n", down_text="DROP TABLE other.t;\n")
    assert "table app.t," in finding.message


def test_other_kinds_are_matched_with_their_drop() -> None:
    up = (
        "CREATE EXTENSION IF NOT EXISTS citext;\n"
        "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS n;\n"
        "CREATE DOMAIN positive AS int CHECK (VALUE > 0);\n"
        "CREATE TYPE pair AS (a int, b int);\n"
        "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1';\n"
        "CREATE TABLE copy AS SELECT 1 AS n;\n"
    )
    down = (
        "DROP TABLE copy;\nDROP PROCEDURE p;\nDROP TYPE pair;\nDROP DOMAIN positive;\n"
        "DROP MATERIALIZED VIEW mv;\nDROP EXTENSION citext;\n"
    )
    assert lint(up, down_text=down) == []
    assert lint(up, down_text="SELECT 1;\n") == [("down-does-not-drop", n) for n in range(1, 7)]


def test_without_a_down_text_there_is_no_down_check() -> None:
    assert lint("CREATE TABLE t (id int);\n") == []


def test_an_empty_down_drops_nothing() -> None:
    assert lint("CREATE TABLE t (id int);\n", down_text="-- nothing\n") == [
        ("down-does-not-drop", 1),
    ]


def test_a_down_with_a_do_block_is_not_judged() -> None:
    down = "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;\n"
    assert lint("CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n", down_text=down) == []


def test_a_down_that_does_not_parse_is_not_judged() -> None:
    assert lint("CREATE TABLE t (id int);\n", down_text="DROP TABL t;\n") == []


def test_temporary_tables_need_no_drop() -> None:
    assert lint("CREATE TEMP TABLE scratch (id int);\n", down_text="SELECT 1;\n") == []


def test_the_down_file_itself_is_not_checked_for_drops() -> None:
    down = "CREATE TABLE restored (id int);\n"
    assert lint(down, direction="down", down_text="SELECT 1;\n") == []


def test_a_down_that_drops_a_renamed_new_table_under_its_new_name_is_fine() -> None:
    up = "CREATE TABLE t (id int);\nALTER TABLE t RENAME TO u;\n"
    assert lint(up, down_text="DROP TABLE u;\n") == []


# --- suppression ------------------------------------------------------------------------------


def test_an_ignore_comment_silences_only_the_next_statement() -> None:
    sql = (
        "SELECT 1;\n"
        "-- The feature was removed in 3.2; nothing reads this table any more.\n"
        "-- sqlmig:lint-ignore drop-table\n"
        "DROP TABLE legacy_audit;\n"
        "DROP TABLE legacy_events;\n"
    )
    [finding] = findings(sql)
    assert (finding.rule, finding.line) == ("drop-table", 5)
    assert "legacy_events" in finding.message


def test_an_ignore_comment_silences_only_the_rule_it_names() -> None:
    sql = "-- sqlmig:lint-ignore drop-table\nALTER TABLE users DROP COLUMN age;\n"
    assert lint(sql, lock_timeout=True) == [("drop-column", 2), ("unused-ignore", 1)]


def test_an_ignore_comment_applies_to_the_next_statement_not_a_later_one() -> None:
    sql = "-- sqlmig:lint-ignore drop-table\nSELECT 1;\nDROP TABLE a;\n"
    assert lint(sql) == [("drop-table", 3), ("unused-ignore", 1)]


@pytest.mark.parametrize("rules", ["drop-column, rename-column", "drop-column,rename-column",
                                   "drop-column rename-column"])
def test_an_ignore_comment_can_name_several_rules(rules: str) -> None:
    sql = (
        "SELECT 1;\n"
        f"-- sqlmig:lint-ignore {rules}\n"
        "ALTER TABLE users DROP COLUMN age, ALTER COLUMN email SET NOT NULL;\n"
        "ALTER TABLE users DROP COLUMN bio;\n"
    )
    assert lint(sql, lock_timeout=True) == [("set-not-null", 3), ("drop-column", 4),
                                            ("unused-ignore", 2)]  # rename-column


def test_each_statement_keeps_its_own_ignore_comment() -> None:
    sql = (
        "-- sqlmig:lint-ignore drop-table\n"
        "DROP TABLE a;\n"
        "-- sqlmig:lint-ignore truncate\n"
        "TRUNCATE b;\n"
        "-- sqlmig:lint-ignore drop-table\n"
        "DROP TABLE c;\n"
        "TRUNCATE d;\n"
    )
    assert lint(sql) == [("truncate", 7)]


def test_an_ignored_lock_timeout_warning_stays_silent_for_the_whole_file() -> None:
    sql = (
        "-- sqlmig:lint-ignore lock-timeout-missing\n"
        "ALTER TABLE users ADD COLUMN a int;\n"
        "ALTER TABLE posts ADD COLUMN b int;\n"
    )
    assert lint(sql, lock_timeout=False) == []


def test_an_ignore_comment_above_a_create_silences_only_its_down_check() -> None:
    up = (
        "-- sqlmig:lint-ignore down-does-not-drop\n"
        "CREATE TABLE kept_on_rollback (id int);\n"
        "CREATE TABLE t (id int);\n"
    )
    [finding] = findings(up, down_text="SELECT 1;\n")
    assert (finding.rule, finding.line) == ("down-does-not-drop", 3)
    assert "table t," in finding.message


def test_a_disabled_rule_is_silent_everywhere() -> None:
    sql = "DROP TABLE a;\nSELECT 1;\nDROP TABLE b;\nTRUNCATE c;\n"
    assert lint(sql, disabled=frozenset({"drop-table"})) == [("truncate", 4)]
    assert lint(sql, disabled=frozenset({"drop-table", "truncate"})) == []


def test_disabling_down_does_not_drop_skips_the_down_check() -> None:
    up = "CREATE TABLE t (id int);\n"
    assert lint(up, down_text="SELECT 1;\n", disabled=frozenset({"down-does-not-drop"})) == []


def test_an_unknown_rule_in_an_ignore_comment_is_a_finding_and_the_file_is_still_linted() -> None:
    sql = "SELECT 1;\nSELECT 2;\n-- sqlmig:lint-ignore drop-tabel, truncate\nDROP TABLE a;\n"
    found = findings(sql)
    assert [(f.rule, f.line) for f in found] == [("drop-table", 4), ("bad-ignore", 3),
                                                  ("unused-ignore", 3)]
    assert "unknown rule drop-tabel" in found[1].message and found[1].severity == "error"
    assert "lint-ignore truncate:" in found[2].message


def test_an_ignore_comment_without_a_rule_is_a_finding_naming_its_line() -> None:
    sql = "SELECT 1;\n\n-- sqlmig:lint-ignore\nDROP TABLE a;\n"
    assert lint(sql) == [("drop-table", 4), ("bad-ignore", 3)]
    assert "names no rule" in of("bad-ignore", sql)[0].message


def test_an_ignore_that_silences_nothing_is_a_warning_and_a_used_one_is_not() -> None:
    sql = ("-- sqlmig:lint-ignore drop-table, truncate\nDROP TABLE a;\n"
           "-- sqlmig:lint-ignore drop-column\nALTER TABLE b ADD COLUMN c int;\n"
           "-- sqlmig:lint-ignore drop-table\n")
    found = of("unused-ignore", sql)
    assert [(f.line, f.severity) for f in found] == [(1, "warning"), (3, "warning"),
                                                     (5, "warning")]
    assert "lint-ignore truncate: no such finding in the statement below it" in found[0].message
    assert "any statement" in found[2].message
    assert of("unused-ignore", sql, disabled=frozenset({"unused-ignore"})) == []


def test_an_ignore_of_a_rule_that_does_not_run_is_not_called_unused() -> None:
    sql = "-- sqlmig:lint-ignore prefer-text, truncate\nTRUNCATE a;\n"
    assert lint(sql) == []  # prefer-text is opt-in and off
    assert lint(sql, disabled=frozenset({"truncate"})) == []


def test_an_ignore_silences_down_does_not_drop_and_identifier_too_long() -> None:
    up = ("-- sqlmig:lint-ignore down-does-not-drop, identifier-too-long\n"
          f"CREATE TABLE {'t' * 64} (id int);\n")
    assert lint(up, down_text="SELECT 1;\n") == []


def test_a_file_ignore_silences_its_rules_everywhere_in_the_file() -> None:
    sql = ("-- sqlmig:lint-ignore-file drop-table, truncate\n"
           "DROP TABLE a;\nSELECT 1;\nDROP TABLE b;\nALTER TABLE c DROP COLUMN d;\n")
    found = lint(sql)
    assert found == [("drop-column", 5), ("unused-ignore", 1)]
    assert "no such finding in this file" in of("unused-ignore", sql)[0].message


def test_a_file_ignore_with_an_unknown_rule_is_a_bad_ignore() -> None:
    assert lint("-- sqlmig:lint-ignore-file drop-tabel\nDROP TABLE a;\n") == [
        ("drop-table", 2), ("bad-ignore", 1)]


def test_a_trailing_ignore_comment_does_not_silence_the_next_statement() -> None:
    sql = "DROP TABLE a; -- sqlmig:lint-ignore drop-table\nDROP TABLE b;\n"
    assert ("drop-table", 2) in lint(sql)


# --- real-world SQL ---------------------------------------------------------------------------


def test_dollar_quoted_bodies_with_semicolons_and_dangerous_words_do_not_fire() -> None:
    sql = (
        "CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $body$\n"
        "BEGIN\n"
        "    DROP TABLE IF EXISTS scratch;\n"
        "    TRUNCATE audit;\n"
        "    EXECUTE 'DROP TABLE users; COMMIT;';\n"
        "    ALTER TABLE users DROP COLUMN age;\n"
        "END;\n"
        "$body$;\n"
        "CREATE FUNCTION note() RETURNS text LANGUAGE sql AS $$ SELECT 'VACUUM; BEGIN;' $$;\n"
        "DROP TABLE users;\n"
    )
    down = "DROP FUNCTION purge();\nDROP FUNCTION note();\n"
    [finding] = findings(sql, down_text=down)
    assert (finding.rule, finding.line, finding.column) == ("drop-table", 10, 1)
    assert "users" in finding.message


def test_a_do_block_in_the_up_is_not_looked_into() -> None:
    assert lint("DO $$ BEGIN DROP TABLE users; TRUNCATE posts; END $$;\n") == []


def test_non_ascii_text_before_a_statement_keeps_its_line_and_column() -> None:
    sql = "-- café au lait\nSELECT 'naïve ✓';\n  DROP TABLE users;\n"
    [finding] = findings(sql)
    assert (finding.rule, finding.line, finding.column) == ("drop-table", 3, 3)


def test_non_ascii_text_earlier_on_the_same_line_keeps_the_column_in_characters() -> None:
    sql = "SELECT 'naïve', 'é'; CREATE INDEX i ON users (email);\n"
    [finding] = findings(sql)
    assert (finding.rule, finding.line) == ("index-not-concurrent", 1)
    assert finding.column == sql.index("CREATE") + 1


def test_non_ascii_identifiers_keep_the_column_of_a_later_clause() -> None:
    sql = 'ALTER TABLE users ADD COLUMN "naïve" int NOT NULL, ADD COLUMN b serial;\n'
    result = findings(sql, lock_timeout=True)
    assert [(f.rule, f.column) for f in result] == [
        ("add-column-not-null", sql.index('"naïve"') + 1),
        ("add-column-volatile-default", sql.index("b serial") + 1),
    ]
    assert "naïve" in result[0].message


def test_non_ascii_text_before_a_syntax_error_keeps_its_line_and_column() -> None:
    sql = "-- café\nSELECT 'naïve'; SELEC 1;\n"
    [finding] = findings(sql)
    assert (finding.rule, finding.line, finding.column) == ("syntax-error", 2, 17)


def test_non_ascii_text_in_a_function_body_keeps_later_lines_right() -> None:
    sql = (
        "CREATE FUNCTION greet() RETURNS text LANGUAGE sql AS $$\n"
        "    SELECT 'grüß dich; DROP TABLE users;'\n"
        "$$;\n"
        "  TRUNCATE sessions;\n"
    )
    assert [(f.rule, f.line, f.column) for f in findings(sql)] == [("truncate", 4, 3)]


def test_files_over_the_parse_limit_are_not_linted(monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "DROP TABLE users;\n"
    assert lint(sql) == [("drop-table", 1)]
    monkeypatch.setattr(sqlfile, "BIG_FILE", len(sql) - 1)
    assert lint(sql) == []


# --- lint_migration ---------------------------------------------------------------------------


def test_lint_migration_combines_the_findings_of_the_up_and_the_down(tmp_path: Path) -> None:
    (tmp_path / "0001_x.up.sql").write_text(
        "-- sqlmig:lock-timeout 5s\n"
        "CREATE TABLE t (id int);\n"
        "CREATE SEQUENCE s;\n"
        "ALTER TABLE users DROP COLUMN legacy;\n",
        encoding="utf-8",
    )
    (tmp_path / "0001_x.down.sql").write_text(
        "DROP TABLE t;\n"
        "ALTER TABLE users ADD COLUMN legacy text NOT NULL;\n"
        "TRUNCATE users;\n",
        encoding="utf-8",
    )
    [migration] = discover(tmp_path)
    result = lint_migration(migration)
    assert sorted((f.path.name, f.rule, f.line) for f in result) == [
        ("0001_x.down.sql", "add-column-not-null", 2),
        ("0001_x.down.sql", "lock-timeout-missing", 2),
        ("0001_x.up.sql", "down-does-not-drop", 3),
        ("0001_x.up.sql", "drop-column", 4),
    ]
    assert lint_migration(migration, lock_timeout=True,
                          disabled=frozenset({"down-does-not-drop"})) == [
        f for f in result if f.rule not in ("down-does-not-drop", "lock-timeout-missing")
    ]


def test_lint_migration_of_an_irreversible_migration_lints_only_the_up(tmp_path: Path) -> None:
    (tmp_path / "0001_x.up.sql").write_text(
        "-- sqlmig:irreversible\nCREATE TABLE t (id int);\nTRUNCATE users;\n", encoding="utf-8",
    )
    [migration] = discover(tmp_path)
    assert [(f.path.name, f.rule, f.line) for f in lint_migration(migration)] == [
        ("0001_x.up.sql", "lock-timeout-missing", 3), ("0001_x.up.sql", "truncate", 3),
    ]


def test_the_example_migrations_have_no_errors() -> None:
    migrations = discover(REPO / "sql")
    assert migrations
    errors = [
        f"{f.path.name}:{f.line}: {f.rule}"
        for migration in migrations
        for f in lint_migration(migration)
        if f.severity == "error"
    ]
    assert errors == []


# Statements as real migration sets write them, of every kind the linter might meet: it must
# judge each (up or down, in a transaction or not) without failing.
BROAD = """
CREATE TABLE p (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE p2026 PARTITION OF p FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE p ATTACH PARTITION p2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
ALTER TABLE p DETACH PARTITION p2026;
ALTER TABLE IF EXISTS users ADD COLUMN IF NOT EXISTS x int;
ALTER TABLE ONLY users ALTER COLUMN x SET DEFAULT 1;
ALTER TABLE users ALTER COLUMN x DROP DEFAULT, ALTER COLUMN x SET STATISTICS 100;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users OWNER TO postgres;
ALTER TABLE users SET (fillfactor = 70);
ALTER TABLE users CLUSTER ON users_pkey;
ALTER TABLE users VALIDATE CONSTRAINT c;
ALTER TABLE users DROP CONSTRAINT IF EXISTS c CASCADE;
ALTER TABLE users RENAME CONSTRAINT a TO b;
ALTER INDEX users_idx RENAME TO users_idx2;
ALTER SEQUENCE s RESTART WITH 10;
ALTER VIEW v RENAME TO w;
ALTER SCHEMA app RENAME TO app2;
ALTER TYPE mood ADD VALUE 'x' BEFORE 'y';
ALTER TYPE mood RENAME VALUE 'x' TO 'z';
ALTER FUNCTION f(int) RENAME TO g;
ALTER MATERIALIZED VIEW mv RENAME TO mv2;
ALTER FOREIGN TABLE ft ADD COLUMN y int NOT NULL;
CREATE UNIQUE INDEX ON users (lower(email));
CREATE INDEX CONCURRENTLY users_a ON users USING gin (tags) WITH (fastupdate = off) WHERE d;
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one WITH NO DATA;
REFRESH MATERIALIZED VIEW CONCURRENTLY mv;
CREATE OR REPLACE VIEW v AS SELECT 1;
CREATE RECURSIVE VIEW r (n) AS VALUES (1) UNION ALL SELECT n + 1 FROM r WHERE n < 10;
CREATE TEMP VIEW tv AS SELECT 1;
CREATE SCHEMA IF NOT EXISTS app AUTHORIZATION postgres CREATE TABLE app.t (id int);
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;
CREATE DOMAIN email AS text CHECK (VALUE ~ '@');
CREATE TYPE pair AS (a int, b int);
CREATE TYPE r AS RANGE (subtype = int4);
CREATE AGGREGATE agg (int) (sfunc = int4pl, stype = int);
CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE OR REPLACE TRIGGER t AFTER INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION f();
CREATE CONSTRAINT TRIGGER ct AFTER INSERT ON users DEFERRABLE FOR EACH ROW EXECUTE FUNCTION f();
CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION f();
CREATE POLICY pol ON users USING (true);
CREATE RULE rl AS ON INSERT TO users DO INSTEAD NOTHING;
CREATE PUBLICATION pub FOR TABLE users;
CREATE STATISTICS st ON a, b FROM users;
CREATE COLLATION c (provider = icu, locale = 'und');
CREATE CAST (text AS int) WITH INOUT;
CREATE OPERATOR === (leftarg = int, rightarg = int, function = int4eq);
CREATE SERVER srv FOREIGN DATA WRAPPER postgres_fdw;
CREATE FOREIGN TABLE ft (id int) SERVER srv;
CREATE UNLOGGED TABLE u (id int);
CREATE TABLE IF NOT EXISTS l (LIKE users INCLUDING ALL);
CREATE TABLE inh () INHERITS (users);
CREATE TABLE AS_t AS SELECT * FROM users WITH NO DATA;
SELECT * INTO newt FROM users;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;
REVOKE ALL ON users FROM PUBLIC;
COMMENT ON COLUMN users.email IS 'x';
SECURITY LABEL ON TABLE users IS 'x';
DROP TABLE IF EXISTS a, b CASCADE;
DROP VIEW IF EXISTS v;
DROP OWNED BY someone;
DROP INDEX CONCURRENTLY IF EXISTS i;
DROP TRIGGER IF EXISTS t ON users;
DROP FUNCTION IF EXISTS f;
DROP TYPE IF EXISTS a, b;
DROP SCHEMA app CASCADE;
DROP EXTENSION x;
DROP POLICY pol ON users;
DROP RULE rl ON users;
TRUNCATE ONLY users RESTART IDENTITY CASCADE;
TRUNCATE TABLE users, posts;
INSERT INTO users VALUES (1) ON CONFLICT DO NOTHING RETURNING *;
UPDATE users SET x = 1 WHERE false;
DELETE FROM users USING posts WHERE posts.u = users.id;
MERGE INTO users u USING posts p ON p.id = u.id WHEN MATCHED THEN UPDATE SET x = 1;
COPY users TO STDOUT;
VACUUM ANALYZE users;
ANALYZE users;
CLUSTER users USING users_pkey;
REINDEX TABLE CONCURRENTLY users;
LOCK TABLE users IN ACCESS EXCLUSIVE MODE;
SET LOCAL statement_timeout = '1s';
RESET lock_timeout;
SET lock_timeout TO DEFAULT;
SET SESSION AUTHORIZATION DEFAULT;
SET ROLE NONE;
SET TIME ZONE 'UTC';
SELECT pg_advisory_xact_lock(1);
NOTIFY chan, 'x';
LISTEN chan;
DISCARD ALL;
PREPARE q AS SELECT 1;
EXECUTE q;
DEALLOCATE q;
DO LANGUAGE plpgsql $$ BEGIN NULL; END $$;
CALL p();
EXPLAIN SELECT 1;
WITH x AS (SELECT 1) SELECT * FROM x;
SAVEPOINT s; RELEASE SAVEPOINT s;
CHECKPOINT;
ALTER DATABASE current SET x = 1;
ALTER ROLE r SET search_path = app;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;
ALTER TABLE users ADD COLUMN id2 int GENERATED BY DEFAULT AS IDENTITY;
ALTER TABLE users ADD CONSTRAINT ex EXCLUDE USING gist (r WITH &&);
ALTER TABLE users ADD PRIMARY KEY USING INDEX users_idx;
ALTER TABLE users ALTER COLUMN x TYPE bigint USING x::bigint, ALTER COLUMN y SET NOT NULL;
ALTER TABLE users ADD COLUMN z int REFERENCES posts (id) ON DELETE CASCADE;
ALTER TABLE users ADD FOREIGN KEY (a) REFERENCES posts;
ALTER TABLE users INHERIT parent;
ALTER TABLE users SET SCHEMA app;
ALTER TABLE users SET LOGGED;
ALTER TABLE users SET TABLESPACE pg_default;
ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE pg_default;
"""


@pytest.mark.parametrize("direction", ["up", "down"])
@pytest.mark.parametrize("header", ["", "-- sqlmig:no-transaction\n"])
def test_the_linter_copes_with_every_kind_of_statement(direction: str, header: str) -> None:
    for statement in filter(None, map(str.strip, BROAD.splitlines())):
        findings = lint_file(Path("sql/0001_x.up.sql"), header + statement + "\n",
                             direction=direction, down_text="SELECT 1;\n",
                             enabled=OPT_IN_RULES)  # the opt-in rules read them too
        assert all(f.rule in RULES for f in findings), statement


# --- table sizes from a server (--against): a lock on a small table is a note -----------------

INDEX = "CREATE INDEX users_email_idx ON users (email);\n"


def test_a_lock_on_a_table_under_the_small_size_is_a_note_saying_the_size() -> None:
    [found] = findings(INDEX, sizes={"users": 120})
    assert (found.rule, found.severity) == ("index-not-concurrent", "info")
    assert "(users: about 120 rows on the --against server, under lint_small_table_rows = " \
        "10,000: over in moments)" in found.message


def test_a_lock_on_a_large_table_stays_an_error_and_says_its_size() -> None:
    [found] = findings(INDEX, sizes={"users": 2_500_000})
    assert found.severity == "error" and found.message.endswith("(users: about 2,500,000 rows)")
    [found] = findings(INDEX, sizes={"users": 120}, small_rows=100)
    assert found.severity == "error"


@pytest.mark.parametrize("sizes", [{}, {"users": None}, {"orders": 5}])
def test_a_table_of_unknown_size_is_judged_as_before(sizes: dict[str, int | None]) -> None:
    assert findings(INDEX, sizes=sizes) == findings(INDEX)


def test_size_weighs_only_lock_rules_and_every_table_named() -> None:
    assert [(f.rule, f.severity) for f in findings(
        "DROP INDEX users_email_idx;\nTRUNCATE users;\n",
        sizes={"users": 3, "users_email_idx": 3})] == [
        ("index-not-concurrent", "info"), ("truncate", "error")]
    sql = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users;\n"
    assert of("constraint-not-valid", sql, sizes={"orders": 5, "users": 10**6})[0].severity == (
        "error")
    assert of("constraint-not-valid", sql, sizes={"orders": 5, "users": 7})[0].severity == "info"


def test_an_ignore_of_the_down_check_is_not_unused_when_there_is_no_down_to_check() -> None:
    sql = "-- sqlmig:lint-ignore down-does-not-drop\nCREATE TABLE kept (id int);\n"
    assert lint(sql) == []  # an up on stdin, or an irreversible one
    assert lint(sql, down_text="DROP TABLE kept;\n") == [("unused-ignore", 1)]
