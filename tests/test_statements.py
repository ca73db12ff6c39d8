"""SQL text without a database: statement boundaries from pglast, and server error positions
mapped back to line:column with a caret, for LF, CRLF-normalised and non-ASCII files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pglast.parser import ParseError

from sqlmig.core.hazards import Hazard, hazards
from sqlmig.core.located import excerpt, locate
from sqlmig.core.sqlfile import normalise
from sqlmig.core.statements import Statement, split_statements


def texts(sql: str) -> list[str]:
    return [s.text for s in split_statements(sql)]


# --- split_statements ----------------------------------------------------------------------


def test_statements_come_in_file_order_with_offset_and_line() -> None:
    sql = "CREATE TABLE a (id int);\n\nCREATE TABLE b (id int);\n"
    assert split_statements(sql) == [
        Statement("CREATE TABLE a (id int)", 0, 1),
        Statement("CREATE TABLE b (id int)", 26, 3),
    ]


def test_each_statement_text_is_the_slice_of_the_file_at_its_offset() -> None:
    sql = "-- intro\nSELECT 1;\n  SELECT 2; SELECT 3\n"
    for statement in split_statements(sql):
        assert sql[statement.offset:].startswith(statement.text)


def test_a_last_statement_without_a_semicolon_is_kept() -> None:
    assert texts("SELECT 1;\nSELECT 2") == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("sql", ["", "\n  \n", "-- only a comment\n", "/* block ; */", ";;"])
def test_text_without_statements_splits_into_nothing(sql: str) -> None:
    assert split_statements(sql) == []


def test_a_dollar_quoted_function_body_is_one_statement() -> None:
    sql = (
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    NEW.updated_at = now();\n"
        "    RETURN NEW;\n"
        "END;\n"
        "$$;\n"
        "SELECT 1;\n"
    )
    [function, select] = split_statements(sql)
    assert function.text.endswith("END;\n$$")
    assert (select.text, select.line) == ("SELECT 1", 7)


def test_tagged_dollar_quotes_may_contain_plain_dollar_quotes_and_semicolons() -> None:
    sql = "SELECT $outer$ $$ ; $$ ; $outer$;\nSELECT 2;"
    assert texts(sql) == ["SELECT $outer$ $$ ; $$ ; $outer$", "SELECT 2"]


def test_a_do_block_is_one_statement() -> None:
    sql = "DO $do$\nBEGIN\n  PERFORM 1;\n  RAISE NOTICE 'done;';\nEND\n$do$;\nSELECT 2;\n"
    [block, select] = split_statements(sql)
    assert block.text.startswith("DO $do$") and block.text.endswith("$do$")
    assert select.line == 7


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 'a;b';SELECT 2;", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT 'it''s; fine';SELECT 2;", ["SELECT 'it''s; fine'", "SELECT 2"]),
        ("SELECT E'a\\';b';SELECT 2;", ["SELECT E'a\\';b'", "SELECT 2"]),
        ('SELECT 1 AS "semi;colon";SELECT 2;', ['SELECT 1 AS "semi;colon"', "SELECT 2"]),
    ],
    ids=["string", "doubled-quote", "escape-string", "quoted-identifier"],
)
def test_a_semicolon_inside_a_string_or_identifier_does_not_end_the_statement(
    sql: str, expected: list[str]
) -> None:
    assert texts(sql) == expected


def test_a_semicolon_inside_a_comment_does_not_end_the_statement() -> None:
    sql = "SELECT 1 -- not here;\n  + 1 /* nor; /* nested; */ here; */ AS two;\nSELECT 3;"
    [first, second] = split_statements(sql)
    assert first.text.startswith("SELECT 1 -- not here;") and first.text.endswith("AS two")
    assert (second.text, second.line) == ("SELECT 3", 3)


def test_comments_before_a_statement_are_not_part_of_it() -> None:
    sql = "-- header\n/* block */\nSELECT 1;"
    assert split_statements(sql) == [Statement("SELECT 1", 22, 3)]


def test_offsets_count_characters_not_bytes_in_non_ascii_text() -> None:
    sql = "-- 🐘 café\nSELECT 'naïve';\nSELECT 2;"
    [first, second] = split_statements(sql)
    assert sql[first.offset:first.offset + len(first.text)] == "SELECT 'naïve'"
    assert sql[second.offset:second.offset + len(second.text)] == "SELECT 2"
    assert (first.line, second.line) == (2, 3)


def test_crlf_normalised_text_splits_like_the_lf_text() -> None:
    lf = "CREATE TABLE a (id int);\n-- x;\nCREATE TABLE b (id int);\n"
    crlf = normalise(lf.replace("\n", "\r\n").encode(), Path("f.sql"))
    assert split_statements(crlf) == split_statements(lf)


def test_a_syntax_error_raises_with_its_character_offset() -> None:
    sql = "SELECT 'é';\nSELECT FROM WHERE;"
    with pytest.raises(ParseError) as raised:
        split_statements(sql)
    assert raised.value.args[1] == sql.index("WHERE")


# --- locate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "expected"),
    [(1, (1, 1)), (9, (1, 9)), (10, (1, 10)), (11, (2, 1)), (14, (2, 4))],
)
def test_locate_maps_a_one_based_position_to_line_and_column(
    position: int, expected: tuple[int, int]
) -> None:
    assert locate("SELECT 1;\nSELECT x;", position) == expected


def test_locate_counts_characters_in_non_ascii_text() -> None:
    text = "-- ☕ café 🐘\nSELECT 'ü', nope FROM t;"
    position = text.index("nope") + 1  # Postgres reports character positions, 1-based
    assert locate(text, position) == (2, 13)


def test_locate_in_crlf_normalised_text_matches_the_lf_text() -> None:
    lf = "CREATE TABLE a (id int);\n\nCREATE TABLE b (id nope);\n"
    crlf = normalise(lf.replace("\n", "\r\n").encode(), Path("f.sql"))
    position = crlf.index("nope") + 1
    assert locate(crlf, position) == locate(lf, position) == (3, 20)


@pytest.mark.parametrize(("position", "expected"), [(0, (1, 1)), (-5, (1, 1)), (99, (2, 3))])
def test_locate_clamps_positions_outside_the_text_to_its_ends(
    position: int, expected: tuple[int, int]
) -> None:
    assert locate("ab\ncd", position) == expected


def test_a_statement_relative_position_maps_to_the_file_through_its_offset() -> None:
    sql = "-- setup\nSELECT 1;\n\n  SELECT nope\n  FROM t;\n"
    statement = split_statements(sql)[1]
    position_in_statement = statement.text.index("nope") + 1
    assert locate(sql, statement.offset + position_in_statement) == (4, 10)


# --- excerpt -------------------------------------------------------------------------------


def test_excerpt_shows_the_numbered_line_and_a_caret_under_the_column() -> None:
    text = "SELECT 1;\n    CREATE INDEX users_email_idx ON users (email);\n"
    column = text.split("\n")[1].index("users (") + 1
    assert excerpt(text, 2, column) == (
        "    2 |     CREATE INDEX users_email_idx ON users (email);\n"
        "      |                                     ^"
    )


def test_excerpt_without_a_column_shows_only_the_line() -> None:
    assert excerpt("SELECT 1;\nSELECT 2;", 2) == "    2 | SELECT 2;"


def test_excerpt_turns_tabs_into_single_spaces_so_the_caret_lines_up() -> None:
    lines = excerpt("\tSELECT nope;", 1, 9).split("\n")
    assert lines[0] == "    1 |  SELECT nope;"
    assert lines[0].index("nope") == lines[1].index("^")


def test_excerpt_caret_lines_up_under_non_ascii_text() -> None:
    text = "SELECT 'café', 'ü', nope;"
    column = text.index("nope") + 1
    lines = excerpt(text, 1, column).split("\n")
    assert lines[0].index("nope") == lines[1].index("^")


@pytest.mark.parametrize("line", [0, 3, -1])
def test_excerpt_of_a_line_outside_the_text_is_empty(line: int) -> None:
    assert excerpt("SELECT 1;\nSELECT 2;", line, 1) == ""


def test_locate_and_excerpt_point_at_the_token_postgres_names() -> None:
    text = "-- 0007 ünïcode header\r\nCREATE TABLE t (\r\n    id int,\r\n    bad nope\r\n);\r\n"
    normalised = normalise(text.encode(), Path("f.sql"))
    line, column = locate(normalised, normalised.index("nope") + 1)
    lines = excerpt(normalised, line, column).split("\n")
    assert (line, column) == (4, 9)
    assert lines[0][lines[1].index("^"):].startswith("nope")


# --- hazards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "what", "line"),
    [
        ("BEGIN;\nCREATE TABLE t (a int);", "BEGIN", 1),
        ("CREATE TABLE t (a int);\nCOMMIT;", "COMMIT", 2),
        ("CREATE TABLE t (a int);\n\nEND;\n", "END", 3),
        ("END;\nSELECT 1;", "END", 1),
        ("SELECT 1;\nabort;\n", "ABORT", 2),
        ("SELECT 1;\nROLLBACK;", "ROLLBACK", 2),
    ],
)
def test_transaction_control_is_a_hazard_named_as_written_with_its_line(
    sql: str, what: str, line: int
) -> None:
    assert hazards(sql) == [Hazard("transaction-control", what, line)]


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("CREATE INDEX CONCURRENTLY i ON t (a);", "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY i;", "DROP INDEX CONCURRENTLY"),
        ("REINDEX INDEX CONCURRENTLY i;", "REINDEX CONCURRENTLY"),
        ("VACUUM ANALYZE t;", "VACUUM"),
        ("CREATE DATABASE other;", "CREATE DATABASE"),
        ("ALTER SYSTEM SET work_mem = '64MB';", "ALTER SYSTEM"),
    ],
)
def test_statements_postgres_refuses_in_a_transaction_are_hazards(sql: str, what: str) -> None:
    [hazard] = hazards(f"SELECT 1;\n{sql}")
    assert (hazard.kind, hazard.what, hazard.line) == ("non-transactional", what, 2)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;",
        "DO $$ BEGIN RAISE NOTICE 'begin; commit'; END $$;",
        "CREATE INDEX i ON t (a); -- CONCURRENTLY later\n",
        "SELECT 'VACUUM; COMMIT;';",
    ],
)
def test_keywords_inside_bodies_strings_and_comments_are_not_hazards(sql: str) -> None:
    assert hazards(sql) == []


def test_a_psql_meta_command_is_a_hazard_with_its_line() -> None:
    [hazard] = hazards("SELECT 1;\n\\connect other\nSELECT 2;")
    assert (hazard.kind, hazard.what, hazard.line) == ("meta-command", "\\connect", 2)


def test_a_syntax_error_is_a_hazard_with_line_and_column_in_non_ascii_text() -> None:
    [hazard] = hazards("-- ü 🐘\nSELECT 'é' FROM WHERE;")
    assert (hazard.kind, hazard.line, hazard.column) == ("syntax", 2, 17)
    assert 'syntax error at or near "WHERE"' in hazard.what
