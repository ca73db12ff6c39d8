"""Review tools: plan, migrate --dry-run, check (round trip), diff, docs."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests import provision
from tests.conftest import Project


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
    assert "column public.a.v: nullable True -> False" in result.stdout


def test_check_with_a_scratch_url_refuses_a_non_empty_database(
    project: Project, pg_admin_url: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.query("CREATE TABLE existing (id int)")
    result = project.run("check", "--scratch-url", project.url, code=1)
    assert "--scratch-url: that database is not empty" in result.stderr
    scratch = provision.create_database(pg_admin_url)
    try:
        assert "ok: 1 migrations round-trip" in project.run(
            "check", "--scratch-url", scratch
        ).stdout
    finally:
        provision.drop_database(pg_admin_url, scratch)


@pytest.fixture
def second_database(pg_admin_url: str):  # type: ignore[no-untyped-def]
    url = provision.create_database(pg_admin_url)
    yield url
    provision.drop_database(pg_admin_url, url)


def test_diff_finds_a_column_type_change_between_two_databases(
    project: Project, second_database: str
) -> None:
    for url, kind in ((project.url, "int"), (second_database, "bigint")):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE t (id {kind} PRIMARY KEY, note text)")
    result = project.run("diff", "--from", project.url, "--to", second_database, code=3)
    assert "public.t.id" in result.stdout and "'integer' → 'bigint'" in result.stdout
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
    from sqlmig import dump

    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    monkeypatch.setattr(dump, "candidates", lambda: [])
    result = project.run("migrate", "--snapshot", code=1)
    assert "no pg_dump" in result.stderr
    assert not project.exists("a")
