"""Locating a server error in the user's files, without a server: the position Postgres
reports (characters into the query sent) or its count of statements that succeeded, in a
query made of prefixes, files and suffixes or in a piece of a big file, becomes
file:line:column; and the checks a run makes before it sends anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlmig.core.checks import check_file, check_run
from sqlmig.core.files import Migration
from sqlmig.core.located import (
    Part,
    ServerError,
    failed_part,
    located,
    located_in_piece,
    syntax_failure,
)
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import SqlFile, read_sql_file
from sqlmig.core.statements import split_statements, statement_runs
from sqlmig.errors import MigrationFailed, MigrationFileError, PlanError

# What the engine puts around a file in a batch: BEGIN, the began mark, a SET LOCAL; then the
# history row and COMMIT.
PREFIX = "BEGIN;\nSELECT 1;\nSET LOCAL lock_timeout = '1s';\n"
SUFFIX = "\n;\nINSERT INTO history VALUES (1);\nCOMMIT;\n"


def at(query: str, needle: str, detail: str | None = None) -> ServerError:
    """The error the server reports for `needle`'s first occurrence in the query sent."""
    return ServerError("relation does not exist", 0, detail=detail,
                       position=query.index(needle) + 1)


def query_of(*files: SqlFile) -> tuple[str, list[Part]]:
    """A batch's query of `files`, each wrapped in PREFIX and SUFFIX, and its parts."""
    query, parts = "", []
    for file in files:
        parts.append(Part(file, file.text, PREFIX, 3, SUFFIX, offset=len(query)))
        query += PREFIX + file.text + SUFFIX
    return query, parts


def test_a_crlf_file_is_located_by_its_lines_as_sent(tmp_path: Path) -> None:
    path = tmp_path / "0001_crlf.up.sql"
    path.write_bytes(b"CREATE TABLE a (id int);\r\n\r\nINSERT INTO missing VALUES (1);\r\n")
    file = read_sql_file(path)
    failure = located(Part(file, file.text), at(file.text, "missing"))
    assert (failure.path, failure.line, failure.column) == (path, 3, 13)
    assert failure.excerpt is not None and "\r" not in failure.excerpt
    assert failure.excerpt.splitlines()[0].endswith("INSERT INTO missing VALUES (1);")


def test_a_position_after_non_ascii_text_counts_characters_not_bytes() -> None:
    text = "-- café ☕ 日本\nSELECT 'é' || x FROM missing;\n"
    file = SqlFile("0001_accents.up.sql", text)
    error = at(text, "missing")
    assert error.position != text.encode().index(b"missing") + 1  # bytes would be off
    failure = located(Part(file, text), error)
    assert (failure.line, failure.column) == (2, 22)
    assert failure.excerpt is not None and failure.excerpt.endswith(" " * 21 + "^")


def test_an_error_in_a_batch_is_located_in_the_file_that_holds_its_position() -> None:
    first = SqlFile("sql/0001_a.up.sql", "CREATE TABLE a (id int);\n")
    second = SqlFile("sql/0002_b.up.sql", "-- ünïcode\nCREATE TABLE b (id int);\n\n"
                                          "  INSERT INTO missing VALUES (1);\n")
    third = SqlFile("sql/0003_c.up.sql", "SELECT missing FROM a;\n")
    query, parts = query_of(first, second, third)
    error = at(query, "missing")
    index = failed_part([p.offset for p in parts], error, 0)
    assert index == 1
    failure = located(parts[index], error, before=6)
    assert (failure.path, failure.line, failure.column) == (Path("sql/0002_b.up.sql"), 4, 15)


def test_the_first_character_of_a_part_belongs_to_it() -> None:
    files = [SqlFile(f"sql/000{n}.up.sql", "SELECT 1;\n") for n in (1, 2)]
    _, parts = query_of(*files)
    error = ServerError("boom", 0, position=parts[1].offset + 1)
    assert failed_part([p.offset for p in parts], error, 0) == 1


def test_an_error_without_a_position_is_in_the_running_part_at_its_statement() -> None:
    first = SqlFile("sql/0001_a.up.sql", "SELECT 1;\n")
    second = SqlFile("sql/0002_b.up.sql", "SELECT 1;\n\nSELECT 1 / 0;\n")
    _, parts = query_of(first, second)
    # the first part's 3 + 1 + 2 statements succeeded, then the second's prefix and one of it
    error = ServerError("division by zero", 6 + 3 + 1, sqlstate="22012")
    assert failed_part([p.offset for p in parts], error, 1) == 1
    failure = located(parts[1], error, before=6)
    assert (failure.path, failure.line, failure.column) == (Path("sql/0002_b.up.sql"), 3, None)
    assert failure.sqlstate == "22012" and "division by zero" in str(failure)


def test_an_error_in_the_suffix_is_the_commit_failing() -> None:
    file = SqlFile("sql/0001_a.up.sql", "CREATE TABLE a (id int);\n")
    query, [part] = query_of(file)
    by_position = located(part, at(query, "history", detail="a deferred constraint"))
    assert str(by_position).endswith("rolled back at commit: relation does not exist")
    assert by_position.line is None and by_position.detail == "a deferred constraint"
    by_count = located(part, ServerError("violates a deferred constraint", 3 + 1 + 1))
    assert "rolled back at commit: violates a deferred constraint" in str(by_count)


def test_an_error_in_the_prefix_or_the_file_is_not_the_commit() -> None:
    file = SqlFile("sql/0001_a.up.sql", "SELECT 1;\nSELECT 1 / 0;\n")
    _, [part] = query_of(file)
    failure = located(part, ServerError("division by zero", 3 + 1))
    assert "commit" not in str(failure) and failure.line == 2


def test_one_statement_sent_alone_is_located_in_its_file() -> None:
    text = "-- ☕\nCREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY i ON missing (id);\n"
    file = SqlFile("sql/0001_a.up.sql", text, {"no-transaction": ""})
    statement = split_statements(text)[1]
    failure = located(Part(file, statement.text, statement=statement),
                      at(statement.text, "missing"))
    assert (failure.line, failure.column) == (3, 32)
    no_position = located(Part(file, statement.text, statement=statement),
                          ServerError("canceled", 0))
    assert (no_position.line, no_position.column) == (3, None)


def test_an_unparseable_file_keeps_the_message_without_a_line() -> None:
    file = SqlFile("sql/0001_a.up.sql", "SELECT 1;\nSELEC oops;\n")
    failure = located(Part(file, file.text), ServerError("syntax error", 1))
    assert failure.line is None and str(failure).endswith("syntax error")


def test_an_error_inside_a_function_body_names_the_inner_query() -> None:
    file = SqlFile("sql/0001_a.up.sql", "SELECT f();\n")
    error = ServerError("boom", 0, context="PL/pgSQL function f()", internal_position=8,
                        internal_query="  SELECT * FROM missing  ")
    failure = located(Part(file, file.text), error)
    assert failure.context == "PL/pgSQL function f()\nin: SELECT * FROM missing"


BIG = ("-- données ☕\n" + "".join(f"INSERT INTO t VALUES ({n}, 'é{n}');\n" for n in range(100))
       + "INSERT INTO missing VALUES (1);\n"
       + "".join(f"INSERT INTO t VALUES ({n}, 'ü');\n" for n in range(100)))


def big_pieces() -> tuple[SqlFile, bytes, list[tuple[int, int]]]:
    data = BIG.encode()
    return SqlFile("sql/0001_big.up.sql", None, data=data), data, list(statement_runs(data, 300))


def test_a_position_in_a_later_piece_of_a_big_file_is_located_in_the_whole_file() -> None:
    file, data, pieces = big_pieces()
    start, end = next((s, e) for s, e in pieces if b"missing" in data[s:e])
    assert start > 0
    piece = data[start:end].decode()
    failure = located_in_piece(file, at(piece, "missing"), data, start, end)
    line = BIG.count("\n", 0, BIG.index("missing")) + 1
    assert (failure.line, failure.column) == (line, 13)
    assert failure.excerpt is not None and "INSERT INTO missing" in failure.excerpt


def test_a_statement_count_in_a_later_piece_of_a_big_file_names_its_line() -> None:
    file, data, pieces = big_pieces()
    start, end = next((s, e) for s, e in pieces if b"missing" in data[s:e])
    before = data[start:data.index(b"INSERT INTO missing")].count(b";")
    failure = located_in_piece(file, ServerError("boom", before), data, start, end)
    assert failure.line == BIG.count("\n", 0, BIG.index("missing")) + 1
    assert failure.column is None


def test_a_pglast_syntax_error_is_located() -> None:
    text = "-- é\nSELECT 1;\nSELECT FROM WHERE;\n"
    file = SqlFile("sql/0001_a.up.sql", text)
    with pytest.raises(Exception) as raised:
        split_statements(text)
    failure = syntax_failure(file, raised.value)
    assert failure.line == 3 and failure.column is not None
    assert str(failure).startswith("sql/0001_a.up.sql:3:") and "syntax error" in str(failure)


def up(version: int, text: str, directives: dict[str, str] | None = None,
       down: str | None = None) -> Step:
    migration = Migration(version, "m", SqlFile(f"sql/{version:04d}_m.up.sql", text, directives),
                          None if down is None else SqlFile(f"sql/{version:04d}_m.down.sql", down))
    return Step(migration, "up", 1)


def test_check_file_refuses_transaction_control_in_a_transactional_file_with_its_line() -> None:
    file = SqlFile("sql/0001_a.up.sql", "SELECT 1;\nCOMMIT;\n")
    with pytest.raises(MigrationFileError, match="COMMIT inside a transactional migration"):
        check_file(file, transactional=True)
    check_file(file, transactional=False)


def test_check_file_refuses_a_psql_meta_command_even_without_a_transaction() -> None:
    file = SqlFile("sql/0001_a.up.sql", "SELECT 1;\n\\connect other\n")
    with pytest.raises(MigrationFileError, match="psql meta-command"):
        check_file(file, transactional=False)


def test_check_file_raises_a_syntax_error_with_line_and_column() -> None:
    with pytest.raises(MigrationFailed) as raised:
        check_file(SqlFile("sql/0001_a.up.sql", "SELECT 1;\nSELEC 2;\n"), transactional=True)
    assert raised.value.line == 2 and raised.value.column is not None


def test_check_run_reads_the_downs_only_for_rollback_on_failure() -> None:
    steps = [up(1, "SELECT 1;\n", down="BEGIN;\nSELECT 1;\n")]
    check_run(steps)
    with pytest.raises(MigrationFileError, match=r"0001_m\.down\.sql"):
        check_run(steps, rollback_on_failure=True)


def test_check_run_refuses_a_no_transaction_step_in_a_single_transaction() -> None:
    steps = [up(1, "SELECT 1;\n"), up(2, "VACUUM;\n", {"no-transaction": ""})]
    check_run(steps)
    with pytest.raises(PlanError, match="0002_m"):
        check_run(steps, single_transaction=True)

