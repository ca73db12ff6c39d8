"""Big migration files (bulk data) are held as bytes and sent without copies; they must still be
checked, hashed, located and recorded exactly like any other file. BIG_FILE is lowered here so
a few kilobytes take the big-file path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sqlmig.core import files, sqlfile, statements
from sqlmig.errors import MigrationFileError
from tests.conftest import Project

ROWS = "".join(f"INSERT INTO big VALUES ({i}, 'row {i}');\n" for i in range(200))
UP = "-- sqlmig:lock-timeout 5s\nCREATE TABLE big (id int, note text);\n" + ROWS


@pytest.fixture(autouse=True)
def small_big_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlfile, "BIG_FILE", 1000)


def test_a_big_file_is_held_as_bytes_with_the_checksum_of_its_text(tmp_path: Path) -> None:
    path = tmp_path / "0001_big.up.sql"
    path.write_text(UP, encoding="utf-8")
    big = sqlfile.read_sql_file(path)
    assert big.big and big.sql() == UP.encode()
    assert big.checksum == sqlfile.checksum(UP) == hashlib.sha256(UP.encode()).hexdigest()
    assert big.directives == {"lock-timeout": "5s"}
    assert big.text == UP


def test_a_big_file_with_crlf_and_a_bom_hashes_like_its_lf_twin(tmp_path: Path) -> None:
    path = tmp_path / "0001_big.up.sql"
    path.write_bytes(b"\xef\xbb\xbf" + UP.replace("\n", "\r\n").encode())
    big = sqlfile.read_sql_file(path)
    assert big.sql() == UP.encode() and big.checksum == sqlfile.checksum(UP)


def test_invalid_utf8_in_a_big_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "0001_big.up.sql"
    path.write_bytes(UP.encode() + b"INSERT INTO big VALUES (1, 'caf\xe9');\n")
    with pytest.raises(MigrationFileError) as raised:
        sqlfile.read_sql_file(path)
    assert raised.value.line == UP.count("\n") + 1
    assert "not valid UTF-8 (byte 0xe9)" in str(raised.value)


@pytest.mark.parametrize("comments", [
    "-- nothing to see\n" * 100,
    "/* nothing\n   to see */\n" * 100,
    "/* an outer /* nested\n */ comment */\n-- and a line\n" * 50,
    "/* never closed\n" + "SELECT 1;\n" * 100,
])
def test_a_big_up_file_of_comments_only_is_a_no_op(tmp_path: Path, comments: str) -> None:
    (tmp_path / "0001_big.up.sql").write_text(comments, encoding="utf-8")
    (tmp_path / "0001_big.down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    [migration] = files.discover(tmp_path)
    assert migration.up.big and migration.no_op


@pytest.mark.parametrize("text", [
    "/* a comment */ SELECT 1;\n" * 100,
    "-- a line\n/* a /* nested */ one */\n\tINSERT INTO t VALUES (1);\n" * 50,
    "/**/-" + "-x\n" * 500 + "SELECT 1;",
])
def test_a_big_file_with_a_statement_after_its_comments_has_sql(tmp_path: Path, text: str) -> None:
    path = tmp_path / "0001_big.up.sql"
    path.write_text(text, encoding="utf-8")
    big = sqlfile.read_sql_file(path)
    data = big.sql()
    assert big.big and isinstance(data, bytes) and sqlfile.has_sql(big)
    assert statements.first_token(data) == statements.first_token(text)  # bytes and text agree


def test_a_big_file_applies_and_is_recorded_with_its_time_and_checksum(project: Project) -> None:
    project.pair("0001_big", UP, "DROP TABLE big;")
    project.pair("0002_small", "CREATE TABLE small (id int);", "DROP TABLE small;")
    project.run("migrate")
    assert project.query("SELECT count(*) FROM big") == [(200,)]
    [(checksum, script, ms)] = project.query(
        "SELECT checksum, script, execution_ms FROM schema_migrations WHERE version = 1")
    assert checksum == sqlfile.checksum(UP) and script is None and ms is not None and ms >= 0
    project.run("verify")
    project.run("rollback")
    project.run("rollback")
    assert project.history() == [] and not project.exists("big")


def test_an_error_in_a_big_file_names_its_line_and_leaves_nothing_behind(
    project: Project,
) -> None:
    bad_line = UP.count("\n") + 1
    project.pair("0001_big", UP + "INSERT INTO missing VALUES (1);\n", "DROP TABLE big;")
    result = project.run("migrate", code=1)
    assert f"sql/0001_big.up.sql:{bad_line}:" in result.stderr
    assert 'relation "missing" does not exist' in result.stderr
    assert not project.exists("big") and project.history() == []


def test_plan_does_not_print_a_big_file(project: Project) -> None:
    project.pair("0001_big", UP, "DROP TABLE big;")
    result = project.run("plan")
    assert "MB of SQL, not shown" in result.stdout and "row 199" not in result.stdout


FUNCTION = """CREATE FUNCTION big_note(i int) RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
    RETURN 'row; ' || i;  -- a semicolon in a string, in a comment; and in the body
END
$body$;
"""


def test_a_big_file_goes_in_statement_aligned_pieces_and_applies_whole(
    project: Project, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlmig.pg import send

    monkeypatch.setattr(send, "BIG_FILE_PIECE", 300)
    sent: list[bytes] = []
    execute = send._query
    monkeypatch.setattr(send, "_query", lambda conn, query, *rest: (
        sent.append(query) or execute(conn, query, *rest)))
    project.pair("0001_big", FUNCTION + UP + "INSERT INTO big VALUES (-1, big_note(-1));\n",
                 "DROP TABLE big;\nDROP FUNCTION big_note(int);")
    project.run("migrate")
    assert project.query("SELECT count(*), max(note) FROM big WHERE id < 0") == [(1, "row; -1")]
    pieces = [q for q in sent if isinstance(q, bytes)]
    assert len(pieces) >= 3 and all(p.rstrip().endswith(b";") for p in pieces)
    assert b"".join(pieces).decode() + "\n" == (
        FUNCTION + UP + "INSERT INTO big VALUES (-1, big_note(-1));\n")


@pytest.mark.parametrize(
    ("bad", "message", "column"),
    [("INSERT INTO missing VALUES (1);", 'relation "missing" does not exist', 13),
     ("INSERT INTO big VALUES (1 / 0, 'x');", "division by zero", None)],
)
def test_an_error_in_a_later_piece_names_its_line(
    project: Project, monkeypatch: pytest.MonkeyPatch, bad: str, message: str,
    column: int | None,
) -> None:
    from sqlmig.pg import send

    monkeypatch.setattr(send, "BIG_FILE_PIECE", 300)
    text = "-- café ☕\n" + UP + bad + "\n" + ROWS
    project.pair("0001_big", text, "DROP TABLE big;")
    result = project.run("migrate", code=1)
    line = text.count("\n", 0, text.index(bad)) + 1
    where = f"sql/0001_big.up.sql:{line}:{column}:" if column else f"sql/0001_big.up.sql:{line}:"
    assert where in result.stderr and message in result.stderr
    assert not project.exists("big") and project.history() == []


def test_plan_json_does_not_inline_a_big_file(project: Project) -> None:
    import json

    project.pair("0001_big", UP, "DROP TABLE big;")
    project.pair("0002_small", "CREATE TABLE small (id int);", "DROP TABLE small;")
    migrations = json.loads(project.run("plan", "--json").stdout)["migrations"]
    assert [m["sql"] for m in migrations] == [None, "CREATE TABLE small (id int);"]


NO_TX = ("-- sqlmig:no-transaction\nCREATE TABLE big (id int, note text);\n" + ROWS
         + "DO $$ BEGIN INSERT INTO big VALUES (-1, 'from a block; with a semicolon'); END $$;\n"
         + "CREATE INDEX CONCURRENTLY big_id_idx ON big (id);\n")


def test_a_big_no_transaction_file_runs_statement_by_statement(project: Project) -> None:
    project.pair("0001_big", NO_TX, "-- sqlmig:no-transaction\nDROP TABLE big;")
    project.run("migrate")
    assert project.query("SELECT count(*) FROM big") == [(201,)]
    assert project.exists("big_id_idx")
    assert project.query("SELECT state FROM schema_migrations") == [("applied",)]


def test_a_failing_statement_of_a_big_no_transaction_file_is_recorded_with_its_line(
    project: Project,
) -> None:
    text = NO_TX + "INSERT INTO big VALUES (1 / 0, 'x');\nSELECT 1;\n"
    project.pair("0001_big", text, "-- sqlmig:no-transaction\nDROP TABLE big;")
    result = project.run("migrate", code=1)
    line = text.count("\n", 0, text.index("INSERT INTO big VALUES (1 / 0")) + 1
    assert f"sql/0001_big.up.sql:{line}:" in result.stderr
    [(state, error)] = project.query("SELECT state, error FROM schema_migrations")
    assert state == "failed" and f"statement 204 (line {line})" in error
    assert project.query("SELECT count(*) FROM big") == [(201,)]  # what ran before stays


def test_lint_skips_a_big_file_without_decoding_it(
    project: Project, monkeypatch: pytest.MonkeyPatch,
) -> None:
    project.pair("0001_big", UP + "DROP TABLE users;\n", "DROP TABLE big;")
    text = sqlfile.SqlFile.text.fget
    assert text is not None
    monkeypatch.setattr(sqlfile.SqlFile, "text", property(
        lambda self: pytest.fail("a big file was decoded") if self.big else text(self)))
    assert project.run("lint", "--json").stdout.count('"rule"') == 0
