"""Review tools: plan, migrate --dry-run, check (round trip), diff, docs."""

from __future__ import annotations

import json
import signal
import time

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from sqlmig.pg import connection
from sqlmig.review import check
from tests import provision
from tests.conftest import Project
from tests.test_resilience import sleep_for


def test_plan_lists_pending_migrations_with_mode_directives_and_sql(project: Project) -> None:
    project.copy_examples()
    project.run("migrate", "--to", "2")
    document = json.loads(project.run("plan", "--json").stdout)
    assert [(m["version"], m["mode"], m["batch"]) for m in document["migrations"]] == [
        (3, "transaction", 2), (4, "no-transaction", 2)
    ]
    assert document["migrations"][1]["directives"] == {"no-transaction": ""}
    assert "CREATE INDEX CONCURRENTLY" in document["migrations"][1]["sql"]
    text = project.run("plan").stdout
    assert "0003_add_user_settings · transaction" in text
    assert "2 migrations would be applied as batch 2" in text
    assert len(project.history()) == 2


def test_dry_run_reports_errors_and_timings_and_leaves_no_trace(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    project.pair("0002_b", "CREATE TABLE b (id int);\nINSERT INTO a VALUES (1);", "DROP TABLE b;")
    project.pair("0003_c", "INSERT INTO b VALUES (1);\nSELECT * FROM nope;", "SELECT 1;")
    project.pair("0004_d", "CREATE TABLE d (id int);", "DROP TABLE d;")
    before = (project.tables(), project.history(), project.query("SELECT count(*) FROM a"))
    result = project.run("migrate", "--dry-run", code=1)
    assert "0002_b" in result.stdout and "ok" in result.stdout
    assert 'sql/0003_c.up.sql:2:15: relation "nope" does not exist' in result.stdout
    assert "not tried: an earlier migration failed" in result.stdout
    assert (project.tables(), project.history(), project.query("SELECT count(*) FROM a")) == before
    document = json.loads(project.run("migrate", "--dry-run", "--json", code=1).stdout)
    assert [m["result"] for m in document["migrations"]] == ["ok", "failed", "skipped"]


def test_dry_run_lists_no_transaction_migrations_as_not_dry_runnable(project: Project) -> None:
    project.copy_examples()
    document = json.loads(project.run("migrate", "--dry-run", "--json").stdout)
    assert [(m["version"], m["result"]) for m in document["migrations"]] == [
        (1, "ok"), (2, "ok"), (3, "ok"), (4, "skipped")
    ]
    assert document["migrations"][3]["skipped"] == "no-transaction: cannot be dry-run"
    assert project.tables() == set()


def test_check_proves_the_examples_round_trip(project: Project) -> None:
    project.copy_examples()
    result = project.run("check")
    assert "ok: 4 migrations round-trip" in result.stdout
    assert project.tables() == set(), "check used a scratch database, not the target"
    leftover = project.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'sqlmig_check_%'")
    assert leftover == [(0,)]


def test_check_names_the_migration_whose_down_forgets_a_column(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair(
        "0002_b",
        "ALTER TABLE a ADD COLUMN note text;\nCREATE INDEX a_note_idx ON a (note);",
        "DROP INDEX a_note_idx;",
    )
    project.pair("0003_c", "CREATE TABLE c (id int);", "DROP TABLE c;")
    result = project.run("check", code=1)
    assert "FAIL 0002_b: its down does not reverse its up" in result.stdout
    assert "column public.a.note added" in result.stdout
    document = json.loads(project.run("check", "--json", code=1).stdout)
    assert document["ok"] is False
    assert document["migrations"][-1]["differences"][0]["name"] == "public.a.note"


def test_check_finds_a_changed_attribute_left_by_a_down(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int, v text);", "DROP TABLE a;")
    project.pair("0002_b", "ALTER TABLE a ALTER COLUMN v SET NOT NULL;", "SELECT 1;")
    result = project.run("check", code=1)
    assert "column public.a.v: nullable: true -> false" in result.stdout


def test_check_with_a_scratch_url_refuses_a_non_empty_database(
    project: Project, pg_admin_url: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.query("CREATE TABLE existing (id int)")
    result = project.run("check", "--scratch-url", project.url, code=1)
    assert "--scratch-url: that database is not empty" in result.stderr
    scratch = provision.create_database(pg_admin_url)
    try:
        assert "ok: 1 migration round-trips" in project.run(
            "check", "--scratch-url", scratch
        ).stdout
    finally:
        provision.drop_database(pg_admin_url, scratch)


def test_diff_finds_a_column_type_change_between_two_databases(
    project: Project, second_database: str
) -> None:
    for url, kind in ((project.url, "int"), (second_database, "bigint")):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE t (id {kind} PRIMARY KEY, note text)")
    result = project.run("diff", "--from", project.url, "--to", second_database, code=3)
    assert "public.t.id" in result.stdout and "'integer' -> 'bigint'" in result.stdout
    document = json.loads(
        project.run("diff", "--from", project.url, "--to", second_database, "--json",
                    code=3).stdout
    )
    assert document["same"] is False
    assert {(d["kind"], d["name"], d["attribute"]) for d in document["differences"]} == {
        ("column", "public.t.id", "type")
    }


def test_diff_of_identical_schemas_exits_0(project: Project, second_database: str) -> None:
    result = project.run("diff", "--from", project.url, "--to", second_database)
    assert "same schema" in result.stdout


def test_docs_describe_tables_columns_keys_indexes_and_enums(project: Project) -> None:
    project.copy_examples()
    project.run("migrate")
    project.query("COMMENT ON COLUMN users.email IS 'login | contact'")
    out = project.root / "docs" / "schema.md"
    project.run("docs", "--output", str(out))
    text = out.read_text()
    assert "## public.users" in text
    assert "| email | text | no |  | login \\| contact |" in text
    assert "`posts_user_id_fkey` (foreign key): `FOREIGN KEY (user_id) REFERENCES users(id) " \
           "ON DELETE CASCADE`" in text
    assert "- `public.user_role`: admin, moderator, user" in text
    assert "schema_migrations" not in text
    assert project.run("docs").stdout == text


def test_docs_describe_views_and_functions(project: Project) -> None:
    project.pair("0001_a", """
        CREATE TABLE a (id int PRIMARY KEY, name text);
        CREATE VIEW named_a AS SELECT id, name FROM a WHERE name IS NOT NULL;
        COMMENT ON VIEW named_a IS 'rows with | a name';
        CREATE MATERIALIZED VIEW a_count AS SELECT count(*) AS n FROM a;
        CREATE FUNCTION double_it(x integer) RETURNS integer LANGUAGE sql IMMUTABLE
            AS 'SELECT x * 2';
        COMMENT ON FUNCTION double_it(integer) IS 'twice x';
    """, "DROP MATERIALIZED VIEW a_count; DROP VIEW named_a; DROP TABLE a; "
         "DROP FUNCTION double_it(integer);")
    project.run("migrate")
    text = project.run("docs").stdout
    assert "## public.named_a (view)\n\nrows with | a name\n" in text
    assert "| name | text | yes |  |  |" in text.split("## public.named_a")[1]
    assert "name IS NOT NULL);\n```\n" in text
    assert "## public.a_count (materialized view)" in text and "| n | bigint |" in text
    assert "| `public.double_it(x integer)` | function | integer | sql | twice x |" in text


def test_dump_is_byte_identical_across_runs_and_leaves_out_history(project: Project) -> None:
    project.copy_examples()
    project.run("migrate")
    first, second = project.root / "one.sql", project.root / "two.sql"
    project.run("dump", "--output", str(first))
    project.run("dump", "--output", str(second))
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert "CREATE TABLE public.users" in text and "CREATE TYPE public.user_role" in text
    assert "schema_migrations" not in text
    assert "Dumped by" not in text and "\\restrict" not in text


def test_dump_schema_config_rewrites_schema_sql_and_status_warns_when_stale(
    project: Project,
) -> None:
    project.write("sqlmig.toml", "dump_schema = true\n", directory=".")
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate")
    schema = (project.root / "schema.sql").read_text()
    assert "CREATE TABLE public.a" in schema and "CREATE TABLE public.b" in schema
    assert "stale" not in project.run("status").stderr
    project.query("CREATE TABLE sneaky (id int)")
    assert "warning: schema.sql is stale" in project.run("status").stderr
    project.run("rollback", "--steps", "1")
    assert "CREATE TABLE public.b" not in (project.root / "schema.sql").read_text()


def test_migrate_snapshot_backs_up_first_and_prints_the_restore_command(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate")
    project.query("INSERT INTO a VALUES (42)")
    project.pair("0002_b", "DROP TABLE a;", "CREATE TABLE a (id int);")
    result = project.run("migrate", "--snapshot")
    assert "snapshot: .sqlmig/snapshots/development-" in result.stderr
    assert "pg_restore --clean --if-exists --no-owner" in result.stderr
    [dump_file] = list((project.root / ".sqlmig" / "snapshots").glob("*.dump"))
    assert dump_file.name.endswith("-0001.dump") and dump_file.stat().st_size > 0
    listed = json.loads(project.run("snapshots", "--json").stdout)["snapshots"]
    assert [s["file"] for s in listed] == [str(dump_file.relative_to(project.root))]


def test_migrate_refuses_when_the_snapshot_fails(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmig.pg import dump

    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    monkeypatch.setattr(dump, "candidates", lambda: [])
    result = project.run("migrate", "--snapshot", code=1)
    assert "no pg_dump" in result.stderr
    assert not project.exists("a")


def scratch_databases(project: Project) -> set[str]:
    rows = project.query(
        "SELECT datname FROM pg_database WHERE starts_with(datname, 'sqlmig_check_')"
    )
    return {name for (name,) in rows}


def wait_for_check_sleeping(project: Project, timeout: float = 20) -> str:
    """The scratch database in which a check's migration sleeps, once it does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = project.query(
            "SELECT datname FROM pg_stat_activity WHERE application_name = 'sqlmig' "
            "AND starts_with(datname, 'sqlmig_check_') AND wait_event = 'PgSleep'"
        )
        if rows:
            return str(rows[0][0])
        time.sleep(0.05)
    raise AssertionError("the check never reached its slow migration")


@pytest.mark.parametrize("header", ["", "-- sqlmig:no-transaction\n"],
                         ids=["transactional", "no-transaction"])
def test_an_interrupted_check_says_the_target_was_not_touched(
    project: Project, header: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_slow", f"{header}SELECT pg_sleep(30);", f"{header}SELECT 1;")
    process = project.spawn("check")
    scratch = wait_for_check_sleeping(project)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    target = connection.describe_target(make_conninfo(project.url, dbname=scratch))
    assert stderr == (
        f"error: check interrupted; it ran only on the scratch database {target}, "
        "the target database was not touched\n"
    )
    assert "repair" not in stderr
    assert project.tables() == set() and not project.exists("schema_migrations")
    assert scratch not in scratch_databases(project), "the scratch database was dropped"


def test_a_check_killed_with_9_leaves_a_scratch_database_the_next_check_drops(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_slow", f"SELECT pg_sleep({sleep_for(project)});", "SELECT 1;")
    process = project.spawn("check")
    scratch = wait_for_check_sleeping(project)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 15  # until the server notices the dead client (13: the
    # sleep's end)
    while project.query("SELECT 1 FROM pg_stat_activity WHERE datname = %s", (scratch,)):
        assert time.monotonic() < deadline, "the server never noticed the killed check"
        time.sleep(0.1)
    assert scratch in scratch_databases(project)

    project.write("0002_slow.up.sql", "SELECT 1;")
    monkeypatch.setattr(check, "STALE_AFTER", 0)  # it died a moment ago
    result = project.run("check")
    assert f"dropped {scratch}, a scratch database left behind by an interrupted check" in (
        result.stderr)
    assert scratch_databases(project) == set()


def test_check_drops_only_scratch_databases_no_session_uses_and_not_just_created(
    project: Project, pg_admin_url: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    now = int(project.query("SELECT extract(epoch FROM now())::bigint")[0][0])
    stale = ["sqlmig_check_1000_0badc0de", "sqlmig_check_0a1b2c3d4e"]  # the second: old naming
    kept = [f"sqlmig_check_{now}_0000f4e5", "sqlmig_check_1000_00in0use"]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        for name in stale + kept:
            admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(make_conninfo(project.url, dbname=kept[1])):
            result = project.run("check")
        for name in stale:
            assert f"dropped {name}, a scratch database left behind" in result.stderr
        assert scratch_databases(project) == set(kept)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            for name in stale + kept:
                admin.execute(f"DROP DATABASE IF EXISTS {name}")


def test_a_failing_no_transaction_migration_in_check_does_not_send_the_user_to_repair(
    project: Project,
) -> None:
    project.pair("0001_a", "-- sqlmig:no-transaction\nSELECT * FROM nope;", "SELECT 1;")
    result = project.run("check", code=1)
    assert 'sql/0001_a.up.sql:2:15: relation "nope" does not exist' in result.stderr
    assert "note: this ran on the scratch database " in result.stderr
    assert "the target database was not touched" in result.stderr
    assert "repair" not in result.stderr
    assert not project.exists("schema_migrations")
