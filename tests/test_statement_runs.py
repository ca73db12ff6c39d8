"""Cutting big files where statements end, without the parser: every cut the lexer-level regex
makes must be a statement boundary the real Postgres parser (pglast) agrees with."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pglast import parser

from sqlmig.core.statements import (
    first_token,
    iter_statements,
    may_leave_session_state,
    split_statements,
    statement_offsets,
    statement_runs,
)

TRICKY = [
    "INSERT INTO t VALUES (1, 'a;b');",
    "INSERT INTO t VALUES (2, 'it''s; fine');",
    "SELECT E'back\\'slash; still a string';",
    "SELECT \"odd;name\" FROM t;",
    "SELECT 1; -- a comment; with semicolons",
    "SELECT /* block; comment */ 2;",
    "DO $$ BEGIN RAISE NOTICE 'x;y'; END $$;",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$;",
    "SELECT 'date' || date'2024-01-01';",
    "SELECT a$b FROM (SELECT 1 AS a$b) s;",
    "SELECT $tag$ $$ ; $$ $tag$;",
    "SELECT 'naïve; café ☕';",
]


def boundaries_of(data: bytes, size: int) -> list[int]:
    runs = list(statement_runs(data, size))
    assert runs[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(runs))
    assert runs[-1][1] == len(data) or not data[runs[-1][1]:].strip()
    return [end for _, end in runs]


def parser_boundaries(text: str) -> set[int]:
    """Byte offsets just after each statement's `;`, per the real parser."""
    ends = set()
    for piece in parser.split(text, with_parser=True, only_slices=True):
        after = text.find(";", piece.stop)
        ends.add(len(text[: after + 1].encode()))
    return ends


@pytest.mark.parametrize("statement", TRICKY)
def test_a_semicolon_inside_a_string_comment_name_or_body_is_not_a_cut(statement: str) -> None:
    text = f"{statement}\nSELECT 'after';\n"
    data = text.encode()
    assert boundaries_of(data, 1)[0] in parser_boundaries(text)
    first, second = statement_offsets(data)
    after = data[second:].decode()
    assert first == 0 and after[first_token(after, 0):].startswith("SELECT 'after'")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=40), st.integers(1, 400))
def test_every_cut_is_a_statement_boundary_the_parser_agrees_with(
    statements: list[str], size: int,
) -> None:
    text = "\n".join(statements) + "\n"
    data = text.encode()
    cuts = boundaries_of(data, size)
    assert set(cuts[:-1]) <= parser_boundaries(text)
    assert len(statement_offsets(data)) == len(statements)


def test_runs_hold_at_least_the_asked_size_unless_it_is_the_last() -> None:
    data = b"".join(f"INSERT INTO t VALUES ({i});\n".encode() for i in range(1000))
    runs = list(statement_runs(data, 1000))
    assert len(runs) > 5
    assert all(end - start >= 1000 for start, end in runs[:-1])


def test_an_unterminated_last_statement_is_its_own_tail() -> None:
    data = b"SELECT 1;\nSELECT 2"
    assert list(statement_runs(data, 1)) == [(0, 9), (9, len(data))]
    assert statement_offsets(data) == [0, 9]


def test_nested_comments_are_not_cut_at_all() -> None:
    data = b"SELECT 1; /* outer /* inner */ still; outer */ SELECT 2;\nSELECT 3;\n"
    assert list(statement_runs(data, 1)) == [(0, len(data))]


def test_an_unterminated_string_stops_the_cutting_there() -> None:
    data = b"SELECT 1;\nSELECT 'never closed;\nSELECT 3;\n"
    assert list(statement_runs(data, 1)) == [(0, 9), (9, len(data))]


def test_first_token_skips_whitespace_and_nested_comments() -> None:
    text = "  -- one\n /* a /* b */ c */\n\tSELECT 1;"
    assert text[first_token(text, 0):].startswith("SELECT")


@pytest.mark.parametrize(
    ("text", "leaves"),
    [
        ("CREATE TABLE t (id int);", False),
        ("UPDATE t\n   SET n = 1;\nALTER TABLE t ALTER COLUMN v SET NOT NULL;", False),
        ("SELECT setval('s', 1);", False),
        ("SET search_path TO app;", True),
        ("CREATE TABLE t (id int);\n-- now\n  set lock_timeout = '1s';", True),
        ("SELECT set_config('search_path', 'app', false);", True),
        ("CREATE TEMP TABLE scratch (x int);", True),
        ("PREPARE q AS SELECT 1;", True),
        ("DO $$ BEGIN EXECUTE 'SET search_path TO app'; END $$;", True),
        ("CALL reconfigure();", True),
        ("SELECT 1; /* a comment */ UPDATE t SET n = 2;", True),  # block comments: assume so
        ("SELECT 'unterminated; SET x = 1;", True),  # the lexer gave up: assume so
        ("SELECT 'SET x = 1;';", False),
    ],
)
def test_which_files_may_leave_session_state_behind(text: str, leaves: bool) -> None:
    assert may_leave_session_state(text) is leaves


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=30))
def test_statements_found_one_at_a_time_match_the_parsers(statements: list[str]) -> None:
    text = "-- header\n" + "\n\n".join(statements) + "\n"
    ours = list(iter_statements(text.encode()))
    theirs = split_statements(text)
    assert [(s.offset, s.line) for s in ours] == [(s.offset, s.line) for s in theirs]
    assert all(o.text.startswith(t.text) for o, t in zip(ours, theirs, strict=True))
