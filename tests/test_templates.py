"""`sqlmig new` without a disk or database: names, column specs, and the SQL each template
writes, checked with pglast (the real Postgres parser) so a template can never emit bad SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pglast.parser import parse_sql

from sqlmig.core.directives import parse_directives
from sqlmig.core.files import FILE_NAME, discover
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import has_sql
from sqlmig.core.templates import (
    TEMPLATES,
    Column,
    next_version,
    parse_column,
    render,
    slug,
)
from sqlmig.errors import ConfigError

COLUMNS = [
    parse_column("email:text:notnull:unique"),
    parse_column("author_id:uuid:references=users.id"),
    parse_column("score:numeric(10,2):default=0"),
]


def statements(sql: str) -> list[Any]:
    return [raw.stmt for raw in parse_sql(sql)]


# --- slug ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("add_user_settings", "add_user_settings"),
        ("Add user settings", "add_user_settings"),
        ("  Create-Users!! ", "create_users"),
        ("v2: posts.tags", "v2_posts_tags"),
        ("__already__snake__", "already_snake"),
    ],
)
def test_slug_turns_a_name_into_a_file_name_part(name: str, expected: str) -> None:
    assert slug(name) == expected


@pytest.mark.parametrize("name", ["Add user settings", "ça marche", "x--y", "2024 Q1 cleanup"])
def test_a_slug_always_makes_a_valid_migration_file_name(name: str) -> None:
    assert FILE_NAME.match(f"0001_{slug(name)}.up.sql") is not None


@pytest.mark.parametrize("name", ["", "   ", "!!!", "-_-"])
def test_a_name_without_letters_or_digits_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"NAME: .* has no letters or digits"):
        slug(name)


# --- parse_column --------------------------------------------------------------------------


def test_a_column_spec_is_name_and_type() -> None:
    assert parse_column("title:text") == Column("title", "text")


@pytest.mark.parametrize(
    ("spec", "column"),
    [
        ("data:jsonb:notnull:default='{}'::jsonb",
         Column("data", "jsonb", not_null=True, default="'{}'::jsonb")),
        ("opens:time:default='09:00'::time:notnull",
         Column("opens", "time", not_null=True, default="'09:00'::time")),
        ("tags:text[]:default=ARRAY[]::text[]",
         Column("tags", "text[]", default="ARRAY[]::text[]")),
    ],
)
def test_a_default_may_hold_casts_and_colons(spec: str, column: Column) -> None:
    assert parse_column(spec) == column


def test_a_column_spec_takes_every_option() -> None:
    column = parse_column("owner_id:uuid:notnull:unique:default=gen_random_uuid():references=users")
    assert column == Column(
        "owner_id", "uuid", not_null=True, unique=True, default="gen_random_uuid()",
        references="users (id)",
    )


@pytest.mark.parametrize("option", ["notnull", "not_null", "NotNull", "not-null"])
def test_not_null_may_be_spelt_several_ways(option: str) -> None:
    assert parse_column(f"title:text:{option}").not_null


@pytest.mark.parametrize(
    ("spec", "references"),
    [
        ("author_id:uuid:references=users.id", "users (id)"),
        ("author_id:uuid:references=users", "users (id)"),
        ("author_email:text:references=users.email", "users (email)"),
    ],
)
def test_references_name_a_table_and_column_defaulting_to_id(spec: str, references: str) -> None:
    assert parse_column(spec).references == references


def test_a_type_may_contain_spaces_and_parentheses() -> None:
    column = parse_column("price: numeric(10, 2) :notnull")
    assert (column.name, column.type, column.not_null) == ("price", "numeric(10, 2)", True)


def test_an_index_column_may_be_a_bare_name() -> None:
    assert parse_column("email", typed=False) == Column("email", "")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("email", "expected name:type"),
        ("email:", "expected name:type"),
        ("email:  ", "expected name:type"),
        ("Email:text", "'Email' is not a lower-case SQL identifier"),
        ("1st:text", "'1st' is not a lower-case SQL identifier"),
        ("e mail:text", "'e mail' is not a lower-case SQL identifier"),
        ("email:text; DROP TABLE users", "a type cannot contain ';'"),
        ("email:text:indexed", "unknown option 'indexed'"),
        ("email:text:default=", "unknown option 'default='"),
        ("author_id:uuid:references=Users.id", "references=Users.id is not table[.column]"),
        ("author_id:uuid:references=users.id;", "references=users.id; is not table[.column]"),
    ],
)
def test_a_bad_column_spec_is_refused_naming_the_spec(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_column(spec)
    assert str(raised.value).startswith(f"--column {spec!r}: ")
    assert message in str(raised.value)


def test_a_column_definition_reads_as_sql() -> None:
    column = Column("n", "int", not_null=True, unique=True, default="0", references="t (id)")
    assert column.definition() == "n int NOT NULL UNIQUE DEFAULT 0 REFERENCES t (id)"


# --- render --------------------------------------------------------------------------------


def test_create_table_has_the_template_columns_around_the_given_ones() -> None:
    up, _ = render("create_table", "create_posts", "posts", COLUMNS)
    [create] = statements(up)
    names = [c.colname for c in create.tableElts]
    assert names == ["id", "email", "author_id", "score", "created_at", "updated_at", "deleted_at"]
    assert "id uuid PRIMARY KEY DEFAULT gen_random_uuid()" in up
    assert "created_at timestamptz NOT NULL DEFAULT now()" in up
    assert "deleted_at timestamptz\n" in up


def test_create_table_down_drops_the_table() -> None:
    _, down = render("create_table", "create_posts", "app.posts", [])
    [drop] = statements(down)
    assert type(drop).__name__ == "DropStmt"
    assert "DROP TABLE app.posts;" in down


def test_alter_table_adds_columns_and_its_down_drops_them_in_reverse() -> None:
    up, down = render("alter_table", "add_profile", "users", COLUMNS)
    [alter_up] = statements(up)
    [alter_down] = statements(down)
    added = [c.def_.colname for c in alter_up.cmds]
    dropped = [c.name for c in alter_down.cmds]
    assert added == ["email", "author_id", "score"]
    assert dropped == ["score", "author_id", "email"]


def test_alter_table_sets_a_lock_timeout_both_ways() -> None:
    up, down = render("alter_table", "add_profile", "users", COLUMNS)
    assert parse_directives(up, Path("up.sql")) == {"lock-timeout": "5s"}
    assert parse_directives(down, Path("down.sql")) == {"lock-timeout": "5s"}


@pytest.mark.parametrize("template", ["create_table", "alter_table", "create_index"])
def test_what_the_templates_write_is_lint_clean_unless_the_columns_ask_otherwise(
    template: str,
) -> None:
    from sqlmig.review.lint import lint_file

    columns = ([parse_column("nickname:text"), parse_column("karma:int:notnull:default=0")]
               if template != "create_index" else [Column("email", "")])
    up, down = render(template, "change_users", "users", columns)
    assert lint_file(Path("0001_x.up.sql"), up, down_text=down) == []
    assert lint_file(Path("0001_x.down.sql"), down, direction="down") == []


def test_create_index_builds_concurrently_outside_a_transaction() -> None:
    email = parse_column("email", typed=False)
    up, down = render("create_index", "index_users_email", "users", [email])
    assert parse_directives(up, Path("up.sql")) == {"no-transaction": ""}
    assert parse_directives(down, Path("down.sql")) == {"no-transaction": ""}
    [index] = statements(up)
    [drop] = statements(down)
    assert (index.idxname, index.concurrent, index.if_not_exists) == ("users_email_idx", True, True)
    assert drop.concurrent and drop.missing_ok


def test_create_index_on_a_schema_table_drops_the_index_in_that_schema() -> None:
    columns = [parse_column("author_id", typed=False), parse_column("created_at", typed=False)]
    up, down = render("create_index", "index_posts", "blog.posts", columns)
    assert "ON blog.posts (author_id, created_at);" in up
    assert "DROP INDEX CONCURRENTLY IF EXISTS blog.posts_author_id_created_at_idx;" in down


@pytest.mark.parametrize("template", ["create_table", "alter_table", "create_index"])
@pytest.mark.parametrize("table", ["users", "app.users"])
def test_every_table_template_renders_sql_postgres_can_parse(template: str, table: str) -> None:
    columns = COLUMNS if template != "create_index" else [Column("email", "")]
    up, down = render(template, "change_users", table, columns)
    assert len(statements(up)) == 1
    assert len(statements(down)) == 1


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_starts_with_a_header_naming_the_migration(template: str) -> None:
    up, down = render(template, "add_things", "things", [Column("x", "int")])
    assert "-- Migration: add_things\n" in up
    assert "-- Migration: add_things\n" in down


@pytest.mark.parametrize("template", ["raw", "empty"])
def test_raw_and_empty_templates_hold_no_sql_and_no_directive(template: str) -> None:
    up, down = render(template, "by_hand", None, [])
    assert not has_sql(up) and not has_sql(down)
    assert parse_directives(up, Path("up.sql")) == {}


def test_a_rendered_pair_is_discovered_as_a_migration(tmp_path: Path) -> None:
    up, down = render("create_table", "create_posts", "posts", COLUMNS)
    for direction, text in (("up", up), ("down", down)):
        (tmp_path / f"{next_version([])}_create_posts.{direction}.sql").write_text(
            text, encoding="utf-8"
        )
    [migration] = discover(tmp_path)
    assert (migration.id, Step(migration, "up").transactional) == ("0001_create_posts", True)


def test_an_unknown_template_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="--template: 'drop_table' is not one of create_table"):
        render("drop_table", "x", "users", [])


@pytest.mark.parametrize("template", ["create_table", "alter_table", "create_index"])
def test_a_table_template_without_a_table_is_refused(template: str) -> None:
    with pytest.raises(ConfigError, match=f"--table is required for the {template} template"):
        render(template, "x", None, COLUMNS)


@pytest.mark.parametrize("table", ["Users", "users; DROP TABLE x", "a.b.c", "1users", "a" * 64])
def test_a_table_that_is_not_a_plain_lower_case_name_is_refused(table: str) -> None:
    with pytest.raises(ConfigError, match=r"--table: .* is not a lower-case"):
        render("create_table", "x", table, [])


@pytest.mark.parametrize("template", ["alter_table", "create_index"])
def test_templates_that_act_on_columns_need_at_least_one(template: str) -> None:
    with pytest.raises(ConfigError, match=f"--column is required for the {template} template"):
        render(template, "x", "users", [])


# --- next_version --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "expected"),
    [([], "0001"), (["0001", "0002", "0003"], "0004"), (["0010", "0003"], "0011"),
     (["001", "005"], "006"), (["1", "2"], "3"), (["0001", "000009"], "000010"),
     (["0000000000000041"], "0000000000000042"), (["9999"], "10000")],
)
def test_next_version_follows_the_newest_at_the_width_in_use(
    existing: list[str], expected: str
) -> None:
    assert next_version(existing) == expected


def test_a_folder_numbered_by_timestamps_gets_the_current_time() -> None:
    now = datetime(2026, 12, 2, 16, 45, 0, tzinfo=UTC)
    assert next_version(["20240101120000", "20250301093000"], now) == "20261202164500"
    # never at or below the newest, even when a clock is behind the files
    assert next_version(["20261202164500"], now) == "20261202164501"
    assert next_version(["20241399000000"], now) == "20241399000001"  # not a real time


def test_references_may_name_a_table_in_another_schema() -> None:
    column = parse_column("author_id:uuid:references=auth.users.id")
    assert column.references == "auth.users (id)"
