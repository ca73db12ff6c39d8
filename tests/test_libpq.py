"""pg/libpq.py's PGconn and PGresult against a real server: the calls a migration run makes
(send a simple query, take its results, read errors and notices, quote, cancel, end a COPY)
behave as psycopg's `pq` layer does, without psycopg loaded."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from sqlmig.pg import libpq
from sqlmig.pg.libpq import PGconn, PGresult
from tests.conftest import REPO

SQLSTATE, PRIMARY, DETAIL, HINT, CONTEXT = ord("C"), ord("M"), ord("D"), ord("H"), ord("W")
SEVERITY, SEVERITY_NONLOCALIZED = ord("S"), ord("V")
POSITION, INTERNAL_POSITION, INTERNAL_QUERY = ord("P"), ord("p"), ord("q")

# a name that needs every kind of quoting: a double quote, a quote and non-ASCII text
AWKWARD = 'we"ird \'name\' ünïcode ✓'


def _connect(url: str) -> PGconn:
    return PGconn.connect({"dbname": url, "application_name": "sqlmig-test",
                           "client_encoding": "UTF8"})


@pytest.fixture
def pgconn(db_url: str) -> Iterator[PGconn]:
    conn = _connect(db_url)
    yield conn
    conn.finish()


def _results(pgconn: PGconn, query: bytes) -> list[PGresult]:
    """Every result of a simple query, taken as send.py takes them: waiting on the socket."""
    pgconn.send_query(query)
    while pgconn.flush():
        select.select([pgconn.socket], [pgconn.socket], [])
        pgconn.consume_input()
    results = []
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return results
        results.append(result)


def _value(pgconn: PGconn, query: bytes) -> bytes | None:
    result = pgconn.exec_(query)
    assert result.status == libpq.TUPLES_OK, result.error_message
    return result.get_value(0, 0)


def test_a_connection_says_which_server_process_and_transaction_state_it_has(
    pgconn: PGconn, db_url: str
) -> None:
    assert pgconn.status == libpq.CONNECTION_OK
    assert pgconn.server_version > 0
    assert pgconn.socket >= 0
    assert _value(pgconn, b"SELECT pg_backend_pid()") == str(pgconn.backend_pid).encode()
    assert pgconn.db == libpq.parse(db_url)["dbname"].encode()
    assert pgconn.user == _value(pgconn, b"SELECT current_user")
    assert pgconn.host and pgconn.port
    assert pgconn.transaction_status == libpq.IDLE
    assert pgconn.exec_(b"BEGIN").status == libpq.COMMAND_OK
    assert pgconn.transaction_status == libpq.INTRANS
    assert pgconn.exec_(b"SELECT 1/0").status == libpq.FATAL_ERROR
    assert pgconn.transaction_status == libpq.INERROR


def test_a_simple_query_gives_one_result_per_statement_with_its_row_count(
    pgconn: PGconn,
) -> None:
    pgconn.nonblocking = 1  # as a big file is sent: flush() until all of it is out
    assert pgconn.nonblocking == 1
    results = _results(pgconn, b"CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3); "
                               b"UPDATE t SET x = x * 10 WHERE x > 1; SELECT x FROM t ORDER BY x")
    assert [(r.status, r.command_status, r.command_tuples) for r in results] == [
        (libpq.COMMAND_OK, b"CREATE TABLE", None),
        (libpq.COMMAND_OK, b"INSERT 0 3", 3),
        (libpq.COMMAND_OK, b"UPDATE 2", 2),
        (libpq.TUPLES_OK, b"SELECT 3", 3),
    ]
    rows = results[-1]
    assert (rows.ntuples, rows.nfields) == (3, 1)
    assert [rows.get_value(row, 0) for row in range(3)] == [b"1", b"20", b"30"]


def test_a_failed_statement_ends_the_query_with_the_servers_error_fields(
    pgconn: PGconn,
) -> None:
    results = _results(pgconn, b"SELECT 1; SELECT 1/0; SELECT 2")
    assert [r.status for r in results] == [libpq.TUPLES_OK, libpq.FATAL_ERROR]
    failed = results[1]
    assert failed.error_field(SQLSTATE) == b"22012"
    assert failed.error_field(PRIMARY) == b"division by zero"
    assert failed.error_field(SEVERITY_NONLOCALIZED) == b"ERROR"
    assert failed.error_field(DETAIL) is None
    assert b"division by zero" in failed.error_message


def test_a_syntax_error_says_where_in_the_query_it_is(pgconn: PGconn) -> None:
    [failed] = _results(pgconn, "SELECT 'ü';\nSELEC 2".encode())
    assert failed.status == libpq.FATAL_ERROR
    assert failed.error_field(SQLSTATE) == b"42601"
    assert failed.error_field(POSITION) == b"13"  # characters, not bytes: SELEC is the 13th


def test_an_error_inside_a_block_has_its_detail_hint_context_and_inner_query(
    pgconn: PGconn,
) -> None:
    raised = pgconn.exec_(b"DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', "
                          b"HINT = 'the hint', ERRCODE = '22023'; END $$")
    assert raised.status == libpq.FATAL_ERROR
    assert [raised.error_field(f) for f in (SQLSTATE, PRIMARY, DETAIL, HINT)] == [
        b"22023", b"boom", b"the detail", b"the hint"]
    assert b"PL/pgSQL function inline_code_block" in (raised.error_field(CONTEXT) or b"")
    inner = pgconn.exec_(b"DO $$ BEGIN PERFORM x FROM no_such_table; END $$")
    assert inner.error_field(SQLSTATE) == b"42P01"
    assert inner.error_field(INTERNAL_QUERY) == b"SELECT x FROM no_such_table"
    assert inner.error_field(INTERNAL_POSITION) == b"15"
    assert inner.error_field(POSITION) is None


def test_a_notice_reaches_the_handler_with_its_message_and_severity(pgconn: PGconn) -> None:
    heard: list[tuple[int, bytes | None, bytes | None, bytes | None]] = []
    kept: list[PGresult] = []

    def handler(notice: PGresult) -> None:
        heard.append((notice.status, notice.error_field(PRIMARY),
                      notice.error_field(SEVERITY), notice.error_field(SEVERITY_NONLOCALIZED)))
        kept.append(notice)

    pgconn.notice_handler = handler
    results = _results(pgconn, "DO $$ BEGIN RAISE NOTICE 'héllo'; RAISE WARNING 'careful'; "
                               "END $$".encode())
    assert [r.status for r in results] == [libpq.COMMAND_OK]
    assert heard == [(libpq.NONFATAL_ERROR, "héllo".encode(), b"NOTICE", b"NOTICE"),
                     (libpq.NONFATAL_ERROR, b"careful", b"WARNING", b"WARNING")]
    # libpq freed the notice once the handler returned: a result kept past it reads nothing
    assert kept[0].error_field(PRIMARY) is None
    pgconn.notice_handler = None
    assert pgconn.exec_(b"DO $$ BEGIN RAISE NOTICE 'unheard'; END $$").status == libpq.COMMAND_OK
    assert len(heard) == 2


def test_a_handler_that_fails_does_not_stop_the_query(pgconn: PGconn) -> None:
    def handler(notice: PGresult) -> None:
        raise ValueError("a broken handler")

    pgconn.notice_handler = handler
    result = pgconn.exec_(b"DO $$ BEGIN RAISE NOTICE 'one'; END $$")
    assert result.status == libpq.COMMAND_OK


def test_ctrl_c_in_a_notice_handler_is_raised_once_libpq_returns(pgconn: PGconn) -> None:
    """Ctrl-C arriving while libpq runs the handler would otherwise be lost in ctypes."""
    def handler(notice: PGresult) -> None:
        raise KeyboardInterrupt

    pgconn.notice_handler = handler
    with pytest.raises(KeyboardInterrupt):
        pgconn.exec_(b"DO $$ BEGIN RAISE NOTICE 'interrupted'; END $$")
    pgconn.notice_handler = None
    assert _value(pgconn, b"SELECT 'still usable'") == b"still usable"


def test_a_quoted_name_and_literal_round_trip_through_the_server(pgconn: PGconn) -> None:
    raw = AWKWARD.encode()
    identifier, literal = pgconn.escape_identifier(raw), pgconn.escape_literal(raw)
    assert identifier.startswith(b'"') and b'""' in identifier
    created = pgconn.exec_(b"CREATE TABLE " + identifier + b" (x int)")
    assert created.status == libpq.COMMAND_OK, created.error_message
    result = pgconn.exec_(b"SELECT relname, " + literal + b" FROM pg_class WHERE relname = "
                          + literal)
    assert result.ntuples == 1
    assert result.get_value(0, 0) == result.get_value(0, 1) == raw
    backslash = pgconn.escape_literal(b"C:\\path\\n")
    assert backslash.startswith(b" E'")  # libpq's own spelling of a literal with a backslash
    assert _value(pgconn, b"SELECT" + backslash) == b"C:\\path\\n"


def test_parameters_go_as_text_with_null_and_non_ascii_values(pgconn: PGconn) -> None:
    text = "ünïcode ✓".encode()
    result = pgconn.exec_params(b"SELECT $1::text IS NULL, $2::text, length($2), $1, ''",
                                [None, text])
    assert result.status == libpq.TUPLES_OK, result.error_message
    assert [result.get_value(0, column) for column in range(5)] == [
        b"t", text, b"9", None, b""]
    assert pgconn.exec_params(b"SELECT 1", None).get_value(0, 0) == b"1"


def test_cancel_stops_a_running_statement(pgconn: PGconn, db_url: str) -> None:
    witness = _connect(db_url)
    try:
        started = time.monotonic()
        pgconn.send_query(b"SELECT pg_sleep(30)")
        while witness.exec_params(  # the cancel must find the statement running
            b"SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
            [str(pgconn.backend_pid).encode()],
        ).ntuples == 0:
            time.sleep(0.01)
        pgconn.cancel()
        results = _results_taken(pgconn)
    finally:
        witness.finish()
    assert time.monotonic() - started < 10
    assert [r.status for r in results] == [libpq.FATAL_ERROR]
    assert results[0].error_field(SQLSTATE) == b"57014"


def _results_taken(pgconn: PGconn) -> list[PGresult]:
    results = []
    while (result := pgconn.get_result()) is not None:
        results.append(result)
    return results


def test_a_copy_to_stdout_is_drained_row_by_row(pgconn: PGconn) -> None:
    pgconn.send_query("COPY (SELECT g, 'ü' FROM generate_series(1, 3) g) TO STDOUT".encode())
    copying = pgconn.get_result()
    assert copying is not None and copying.status == libpq.COPY_OUT
    rows = []
    while (copied := pgconn.get_copy_data(0))[0] >= 0:
        length, data = copied
        assert len(data) == length
        rows.append(bytes(data))
    assert copied == (-1, memoryview(b""))
    assert rows == [f"{g}\tü\n".encode() for g in (1, 2, 3)]
    ended = _results_taken(pgconn)
    assert [(r.status, r.command_tuples) for r in ended] == [(libpq.COMMAND_OK, 3)]


def test_a_copy_from_stdin_ended_with_an_error_fails_with_that_message(pgconn: PGconn) -> None:
    pgconn.exec_(b"CREATE TABLE t (x int)")
    pgconn.send_query(b"COPY t FROM STDIN")
    copying = pgconn.get_result()
    assert copying is not None and copying.status == libpq.COPY_IN
    assert pgconn.put_copy_end(b"no COPY FROM STDIN here") == 1
    [failed] = _results_taken(pgconn)
    assert failed.status == libpq.FATAL_ERROR
    assert b"no COPY FROM STDIN here" in (failed.error_field(PRIMARY) or b"")
    assert _value(pgconn, b"SELECT count(*) FROM t") == b"0"


def test_a_database_that_does_not_exist_is_named_in_the_error(db_url: str) -> None:
    parameters = libpq.parse(db_url) | {"dbname": "sqlmig_no_such_database"}
    with pytest.raises(libpq.LibpqError, match='"sqlmig_no_such_database" does not exist'):
        PGconn.connect(parameters)


def test_finishing_twice_is_harmless_and_a_finished_connection_says_so(db_url: str) -> None:
    pgconn = _connect(db_url)
    pgconn.finish()
    pgconn.finish()
    assert pgconn.status == libpq.CONNECTION_BAD
    assert pgconn.transaction_status == libpq.UNKNOWN
    with pytest.raises(libpq.LibpqError, match="closed"):
        pgconn.send_query(b"SELECT 1")
    with pytest.raises(libpq.LibpqError, match="closed"):
        pgconn.flush()


def test_a_result_cleared_twice_is_harmless(pgconn: PGconn) -> None:
    result = pgconn.exec_(b"SELECT 1")
    result.clear()
    result.clear()
    assert result.ntuples == 0


def test_talking_to_the_server_never_imports_psycopg(db_url: str) -> None:
    probe = (
        "import sys\n"
        "from sqlmig.pg import libpq\n"
        "conn = libpq.PGconn.connect({'dbname': sys.argv[1]})\n"
        "assert conn.exec_(b'SELECT 1').get_value(0, 0) == b'1'\n"
        "conn.finish()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('psycopg')\n"
        "             or m in ('enum', 'dataclasses')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True,
                            text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"
