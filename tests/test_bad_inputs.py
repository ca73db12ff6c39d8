"""Every bad input gets one clear error naming the file (and line) or setting at fault, a
non-zero exit, and leaves the database as it was. One table, one test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import HISTORY, Project

OK = {"0001_a.up.sql": "CREATE TABLE a (id int);", "0001_a.down.sql": "DROP TABLE a;"}


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes]
    message: str
    code: int = 1
    applied_first: dict[str, str] = field(default_factory=dict)  # migrated before the case
    remove: tuple[str, ...] = ()
    config: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ("migrate",)
    links: dict[str, str] = field(default_factory=dict)  # symbolic link -> its target
    directories: tuple[str, ...] = ()
    sql: str = ""  # run on the database before the case


CASES = {
    "no separator after the version": Case(
        {"0002AddB.up.sql": "SELECT 1;", "0002AddB.down.sql": "SELECT 1;"},
        "sql/0002AddB.down.sql: name does not match VERSION_name.up.sql",
    ),
    "a dash for the separator": Case(
        {"002-b.up.sql": "SELECT 1;"}, "sql/002-b.up.sql: name does not match"
    ),
    "no direction": Case({"0002_b.sql": "SELECT 1;"}, "sql/0002_b.sql: name does not match"),
    "duplicate version": Case(
        {"0001_b.up.sql": "SELECT 1;", "0001_b.down.sql": "SELECT 1;"},
        "sql/0001_a.up.sql: duplicate version 1: also used by 0001_b.up.sql",
    ),
    "duplicate version of another width": Case(
        {"00001_b.up.sql": "SELECT 1;", "00001_b.down.sql": "SELECT 1;"},
        "duplicate version 1",
    ),
    "up without down": Case(
        {"0002_b.up.sql": "SELECT 1;"}, "sql/0002_b.up.sql: has no down file"
    ),
    "down without up": Case(
        {"0002_b.down.sql": "SELECT 1;"}, "sql/0002_b.down.sql: down file has no matching up"
    ),
    "empty up file": Case(
        {"0002_b.up.sql": "\n   \n", "0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql: up file is empty",
    ),
    "non-UTF-8 bytes": Case(
        {"0002_b.up.sql": b"SELECT 1;\n\nSELECT '\xff';", "0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql:3: is not valid UTF-8 (byte 0xff)",
    ),
    "unknown directive": Case(
        {"0002_b.up.sql": "-- sqlmig:notransaction\nSELECT 1;", "0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql:1: unknown directive 'sqlmig:notransaction'",
    ),
    "flag directive with an argument": Case(
        {"0002_b.up.sql": "-- sqlmig:no-transaction yes\nSELECT 1;",
         "0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql:1: sqlmig:no-transaction takes no arguments",
    ),
    "requires an unknown version": Case(
        {"0002_b.up.sql": "-- sqlmig:requires 0001, 0007\nSELECT 1;",
         "0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql: sqlmig:requires 0007",
    ),
    "irreversible with a down file": Case(
        {"0002_b.up.sql": "-- sqlmig:irreversible\nSELECT 1;", "0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql: is marked sqlmig:irreversible but 0002_b.down.sql exists",
    ),
    "out-of-order pending migration": Case(
        {"0002_b.up.sql": "CREATE TABLE b (id int);", "0002_b.down.sql": "DROP TABLE b;"},
        "0002_b is pending but older than the newest applied migration (0003)",
        applied_first={**OK, "0003_c.up.sql": "SELECT 1;", "0003_c.down.sql": "SELECT 1;"},
    ),
    "checksum drift": Case(
        {"0001_a.up.sql": "CREATE TABLE a (id bigint);",
         "0002_b.up.sql": "CREATE TABLE b (id int);", "0002_b.down.sql": "DROP TABLE b;"},
        "0001_a was applied with checksum",
        applied_first=OK,
    ),
    "applied migration's files missing": Case(
        {"0002_b.up.sql": "CREATE TABLE b (id int);", "0002_b.down.sql": "DROP TABLE b;"},
        "0001_a is applied but its files are missing",
        applied_first=OK,
        remove=("0001_a.up.sql", "0001_a.down.sql"),
    ),
    "psql meta-command": Case(
        {"0002_b.up.sql": "CREATE TABLE b (id int);\n\\i other.sql\n",
         "0002_b.down.sql": "DROP TABLE b;"},
        "sql/0002_b.up.sql:2: psql meta-command \\i",
    ),
    "COMMIT inside a transactional migration": Case(
        {"0002_b.up.sql": "CREATE TABLE b (id int);\nCOMMIT;\n",
         "0002_b.down.sql": "DROP TABLE b;"},
        "sql/0002_b.up.sql:2: COMMIT inside a transactional migration",
    ),
    "CONCURRENTLY without the directive": Case(
        {"0002_b.up.sql": "\nCREATE INDEX CONCURRENTLY b_idx ON a (id);",
         "0002_b.down.sql": "DROP INDEX b_idx;"},
        "sql/0002_b.up.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
    ),
    "syntax error at a known line": Case(
        {"0002_b.up.sql": "-- header\nCREATE TABLE b (id int);\nCREATE TABLE c (id int,);\n",
         "0002_b.down.sql": "SELECT 1;"},
        'sql/0002_b.up.sql:3:24: syntax error at or near ")"',
    ),
    "syntax error in a CRLF file": Case(
        {"0002_b.up.sql": b"-- header\r\nSELECT 1;\r\nSELEC 2;\r\n",
         "0002_b.down.sql": "SELECT 1;"},
        'sql/0002_b.up.sql:3:1: syntax error at or near "SELEC"',
    ),
    "syntax error after a BOM and non-ASCII text": Case(
        {"0002_b.up.sql": "\ufeff-- café\nSELECT 'é', 1 +;\n".encode(),
         "0002_b.down.sql": "SELECT 1;"},
        'sql/0002_b.up.sql:2:16: syntax error at or near ";"',
    ),
    "unparseable URL": Case(
        {}, "invalid database URL", env={"DATABASE_URL": "postgresql://u:pw@[::1"}
    ),
    "URL that is not a URL": Case(
        {}, "invalid database URL notaurl", env={"DATABASE_URL": "notaurl"}
    ),
    "unreachable host": Case(
        {}, "cannot connect to app@127.0.0.1:1/app: connection",
        env={"DATABASE_URL": "postgresql://app@127.0.0.1:1/app"},
    ),
    "database that does not exist": Case(
        {}, 'database "no_such_db_here" does not exist', env={"DATABASE_URL": "@no_such_db_here"}
    ),
    "unknown config key": Case(
        {}, "sqlmig.toml: unknown key 'tabel'", code=2, config='tabel = "x"\n'
    ),
    "config value of the wrong type": Case(
        {}, "sqlmig.toml: 'lock_wait' must be a number", code=2, config='lock_wait = "1"\n'
    ),
    "bad table identifier": Case(
        {}, "sqlmig.toml: 'table' = 'mig-rations' is not a plain SQL identifier", code=2,
        config='table = "mig-rations"\n',
    ),
    "bad schema identifier from the environment": Case(
        {}, "SQLMIG_SCHEMA: 'schema' = 'a;drop' is not a plain SQL identifier", code=2,
        env={"SQLMIG_SCHEMA": "a;drop"},
    ),
    "bad lock_timeout": Case(
        {}, "'lock_timeout' = 'forever' is not a duration", code=2,
        config='[development]\nlock_timeout = "forever"\n',
    ),
    "invalid TOML": Case({}, "sqlmig.toml: invalid TOML", code=2, config="table = \n"),
    "unknown environment": Case(
        {}, "unknown environment 'prod'", code=2, env={"SQLMIG_ENV": "prod"}
    ),
    "dangling symbolic link pair": Case(
        {}, "sql/0002_b.down.sql: is a symbolic link to gone/0002_b.down.sql, which does not exist",
        links={"0002_b.up.sql": "gone/0002_b.up.sql", "0002_b.down.sql": "gone/0002_b.down.sql"},
    ),
    "symbolic link loop": Case(
        {"0002_b.down.sql": "SELECT 1;"},
        "sql/0002_b.up.sql: is a symbolic link that cannot be followed: Too many levels",
        links={"0002_b.up.sql": "0002_b.up.sql"},
    ),
    "directory named like a migration": Case(
        {}, "sql/0002_b.up.sql: is a directory, not a migration file",
        directories=("0002_b.up.sql",),
    ),
    "upper-case extension": Case(
        {"0002_b.up.SQL": "CREATE TABLE b (id int);", "0002_b.down.SQL": "DROP TABLE b;"},
        "sql/0002_b.down.SQL: extension must be lower-case .sql: rename it to 0002_b.down.sql",
    ),
    "NUL byte in a later migration": Case(
        {"0002_b.up.sql": b"CREATE TABLE b (id int);\nSELECT '\x00';\n",
         "0002_b.down.sql": "DROP TABLE b;"},
        "sql/0002_b.up.sql:2: contains a NUL byte (0x00)",
    ),
    "version above the bigint range": Case(
        {"9223372036854775808_b.up.sql": "CREATE TABLE b (id int);",
         "9223372036854775808_b.down.sql": "DROP TABLE b;"},
        "sql/9223372036854775808_b.down.sql: version 9223372036854775808 is too big",
    ),
    "UTF-16 file": Case(
        {"0002_b.up.sql": "CREATE TABLE b (id int);\n".encode("utf-16"),
         "0002_b.down.sql": "DROP TABLE b;"},
        "sql/0002_b.up.sql: is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8; "
        "convert it: iconv -f UTF-16 -t UTF-8 sql/0002_b.up.sql",
    ),
    "--single-transaction with a no-transaction migration": Case(
        {"0002_b.up.sql": "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);",
         "0002_b.down.sql": "DROP INDEX i;"},
        "--single-transaction cannot include no-transaction migrations: 0002_b",
        args=("migrate", "--single-transaction"),
    ),
    "empty down file at rollback": Case(
        {}, "sql/0002_b.down.sql: down file is empty",
        applied_first={**OK, "0002_b.up.sql": "CREATE TABLE b (id int);", "0002_b.down.sql": ""},
        args=("rollback",),
    ),
    "table of another tool with the history table's name": Case(
        {}, "table: public.schema_migrations exists but is not sqlmig's history table "
        "(missing columns: execution_ms, applied_by, sqlmig_version;", code=2,
        sql="CREATE TABLE schema_migrations (version bigint, name text, checksum text, "
        "batch int, applied_at timestamptz)",
    ),
    "lock_wait = nan": Case(
        {}, "sqlmig.toml: 'lock_wait' = nan must be a finite number of seconds", code=2,
        config="lock_wait = nan\n",
    ),
    "invalid section of another environment": Case(
        {}, "'lock_timeout' = 'forever' is not a duration", code=2,
        config='[production]\nlock_timeout = "forever"\n',
    ),
}


def snapshot(url: str) -> tuple[list[tuple], list[tuple]]:
    """User tables with their columns, and the history rows (if the table exists)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM "
            "information_schema.columns WHERE table_schema NOT IN "
            "('pg_catalog', 'information_schema') AND table_name <> 'schema_migrations' "
            "ORDER BY 1, 2, 3"
        ).fetchall()
        has_history = conn.execute(
            "SELECT to_regclass('public.schema_migrations') IS NOT NULL"
        ).fetchone()
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'schema_migrations'"
        ).fetchall()}
        history = conn.execute(
            "SELECT version, name, checksum, state, batch FROM schema_migrations ORDER BY 1"
        ).fetchall() if has_history and has_history[0] and "state" in columns else []
    return tables, [(bool(has_history and has_history[0]),), *history]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_error_and_the_database_is_unchanged(
    project: Project, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case = CASES[name]
    if case.applied_first:
        for filename, text in case.applied_first.items():
            project.write(filename, text)
        project.run("migrate")
    else:
        for filename, text in OK.items():
            project.write(filename, text)
    for filename in case.remove:
        (project.sql_dir / filename).unlink()
    for filename, text in case.files.items():
        project.write(filename, text)
    for link, target in case.links.items():
        (project.sql_dir / link).symlink_to(target)
    for directory in case.directories:
        (project.sql_dir / directory).mkdir()
    if case.sql:
        project.query(case.sql)
    if case.config is not None:
        project.write("sqlmig.toml", case.config, directory=".")
    before = snapshot(project.url)
    for variable, value in case.env.items():
        if value.startswith("@"):  # a database name on the test server
            value = project.url.replace(
                f"dbname={project.url.split('dbname=')[1].split()[0]}", f"dbname={value[1:]}"
            )
        monkeypatch.setenv(variable, value)

    result = project.run(*case.args, code=case.code)

    assert case.message in result.stderr, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    assert snapshot(project.url) == before


def test_there_are_at_least_25_bad_inputs() -> None:
    assert len(CASES) >= 25


BROKEN_DOWN = b"-- sqlmig:no-transactoin\nDROP TABLE b;\n"


def test_a_broken_down_file_stops_rollback_before_anything_runs(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.write("0002_b.up.sql", "CREATE TABLE b (id int);")
    project.write("0002_b.down.sql", BROKEN_DOWN)
    project.run("migrate")
    result = project.run("rollback", "--all", code=1)
    assert "sql/0002_b.down.sql:1: unknown directive 'sqlmig:no-transactoin'" in result.stderr
    assert project.exists("a") and project.exists("b") and len(project.history()) == 2


def test_rollback_on_failure_checks_the_downs_it_may_need_before_anything_runs(
    project: Project,
) -> None:
    project.write("0001_b.up.sql", "CREATE TABLE b (id int);")
    project.write("0001_b.down.sql", BROKEN_DOWN)
    project.pair("0002_bad", "SELECT 1 / 0;", "SELECT 1;")
    result = project.run("migrate", "--rollback-on-failure", code=1)
    assert "sql/0001_b.down.sql:1: unknown directive" in result.stderr
    assert not project.exists("b") and not project.exists(HISTORY)


def test_going_up_and_status_read_no_down_file_and_verify_names_the_broken_one(
    project: Project,
) -> None:
    project.write("0001_b.up.sql", "CREATE TABLE b (id int);")
    project.write("0001_b.down.sql", BROKEN_DOWN)
    project.run("migrate")
    assert "1 applied" in project.run("status").stdout
    result = project.run("verify", code=1)
    assert "sql/0001_b.down.sql:1: unknown directive" in result.stdout + result.stderr


# Root reads any file whatever its mode; these runs drop the capabilities that allow it.
WITHOUT_ROOT_POWERS = (
    "setpriv", "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
)


def run_unprivileged(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """`sqlmig ARGS` as root without the power to read what its mode forbids. A server's
    socket directory (the embedded server's data directory) is then out of reach too, so the
    socket gets a second name (a hard link) in a directory root owns."""
    url, sockets = project.url, tempfile.mkdtemp(prefix="sqlmig-sock-")
    params = conninfo_to_dict(url)
    host, port = str(params.get("host") or ""), params.get("port") or 5432
    if host.startswith("/"):
        os.link(f"{host}/.s.PGSQL.{port}", f"{sockets}/.s.PGSQL.{port}")
        url = make_conninfo(url, host=sockets)
    try:
        return subprocess.run(
            [*WITHOUT_ROOT_POWERS, sys.executable, "-m", "sqlmig", *args],
            cwd=project.root, capture_output=True, text=True, timeout=60,
            env={**os.environ, "DATABASE_URL": url},
        )
    finally:
        shutil.rmtree(sockets)


@pytest.mark.parametrize(("command", "code"), [("migrate", 1), ("verify", 1), ("status", 0)])
def test_an_unreadable_file_is_one_error_naming_it_and_nothing_runs(
    project: Project, command: str, code: int
) -> None:
    """status reports rather than refuses: the file is a problem row, every other still shown."""
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    (project.sql_dir / "0002_b.up.sql").chmod(0)
    result = run_unprivileged(project, command)
    assert result.returncode == code, result.stderr
    message = "sql/0002_b.up.sql: cannot be read: Permission denied"
    assert message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert project.tables() == set() and not project.exists("schema_migrations")


def test_a_migrations_directory_that_cannot_be_listed_is_one_error_naming_it(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.sql_dir.chmod(0)
    try:
        result = run_unprivileged(project, "migrate")
    finally:
        project.sql_dir.chmod(0o755)
    assert result.returncode == 1
    assert result.stderr == (
        "error: sql: cannot list the migrations directory: Permission denied\n"
    )
    assert project.tables() == set() and not project.exists("schema_migrations")


def test_an_unreadable_down_file_stops_rollback_before_anything_runs(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate")
    (project.sql_dir / "0001_a.down.sql").chmod(0)
    result = run_unprivileged(project, "rollback")
    assert result.returncode == 1
    assert result.stderr.startswith("error: sql/0001_a.down.sql: cannot be read: Permission "
                                    "denied\n")
    assert "Traceback" not in result.stderr
    assert project.tables() == {"a", "b", "schema_migrations"} and len(project.history()) == 2


def test_verify_names_an_empty_down_file_and_asks_for_a_comment(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "")
    project.pair("0002_b", "CREATE TABLE b (id int);", "\n  \n")
    result = project.run("verify", "--json", code=1)
    problems = [p["message"] for p in json.loads(result.stdout)["problems"]]
    assert problems == [
        f"sql/{stem}.down.sql: down file is empty; write the SQL that undoes the up file, or, if "
        "there is nothing to undo, a comment saying so (e.g. `-- nothing to undo`)"
        for stem in ("0001_a", "0002_b")
    ]
