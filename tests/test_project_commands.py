"""new, fresh, reset, environments and the embedded development server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import HISTORY, Project


def test_new_create_table_writes_a_pair_that_migrates_and_rolls_back(project: Project) -> None:
    result = project.run(
        "new", "create comments", "--template", "create_table", "--table", "comments",
        "--column", "body:text:notnull", "--column", "score:integer:default=0",
        "--column", "slug:text:unique",
    )
    assert "created sql/0001_create_comments.up.sql" in result.stdout
    assert "created sql/0001_create_comments.down.sql" in result.stdout
    project.run("migrate")
    columns = project.query(
        "SELECT column_name, data_type, is_nullable, column_default FROM "
        "information_schema.columns WHERE table_name = 'comments' ORDER BY ordinal_position"
    )
    assert [c[0] for c in columns] == [
        "id", "body", "score", "slug", "created_at", "updated_at", "deleted_at"
    ]
    assert columns[0][3] == "gen_random_uuid()"
    assert columns[1][2] == "NO"
    assert columns[2][3] == "0"
    project.run("rollback")
    assert not project.exists("comments")


def test_new_numbers_after_the_highest_version_keeping_its_width(project: Project) -> None:
    project.pair("000041_existing", "SELECT 1;")
    project.run("new", "next_one", "-t", "empty")
    assert (project.sql_dir / "000042_next_one.up.sql").exists()
    assert (project.sql_dir / "000042_next_one.down.sql").exists()


def test_new_alter_table_and_create_index_templates_apply(project: Project) -> None:
    project.run("new", "create_posts", "-t", "create_table", "--table", "posts")
    project.run("new", "add_title", "-t", "alter_table", "--table", "posts",
                "-c", "title:text", "-c", "author_id:uuid:references=posts.id")
    project.run("new", "index_title", "-t", "create_index", "--table", "posts", "-c", "title")
    project.run("migrate")
    assert project.exists("posts_title_idx")
    project.run("rollback", "--steps", "2")
    columns = {r[0] for r in project.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'posts'"
    )}
    assert "title" not in columns and not project.exists("posts_title_idx")


def test_new_refuses_an_existing_name(project: Project) -> None:
    project.run("new", "add_things")
    up = project.sql_dir / "0001_add_things.up.sql"
    before = up.read_text()
    result = project.run("new", "add_things", code=1)
    assert "a migration named 'add_things' already exists" in result.stderr
    assert up.read_text() == before
    assert not (project.sql_dir / "0002_add_things.up.sql").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x", "-t", "nope"), "--template: 'nope' is not one of"),
        (("x", "-t", "create_table"), "--table is required for the create_table template"),
        (("x", "-t", "alter_table", "--table", "t", "-c", "Bad:int"), "is not a lower-case"),
        (("x", "-t", "alter_table", "--table", "t", "-c", "a"), "expected name:type"),
        (("x", "-t", "alter_table", "--table", "t", "-c", "a:int:wat"), "unknown option 'wat'"),
    ],
)
def test_new_rejects_bad_arguments(project: Project, args: tuple[str, ...], message: str) -> None:
    result = project.run("new", *args, code=2)
    assert message in result.stderr
    assert list(project.sql_dir.iterdir()) == []


def test_fresh_drops_everything_in_the_schema_and_migrates(project: Project) -> None:
    project.copy_examples()
    project.run("migrate")
    project.query(
        "CREATE TABLE stray (id serial); CREATE VIEW stray_v AS SELECT 1 AS x; "
        "CREATE TYPE stray_t AS (a int); CREATE DOMAIN stray_d AS int; "
        "CREATE FUNCTION stray_f() RETURNS int LANGUAGE sql AS 'SELECT 1'; "
        "CREATE SCHEMA other; CREATE TABLE other.kept (id int);"
    )
    project.query("INSERT INTO users (email, password_hash) VALUES ('a@example.com', 'x')")
    project.run("fresh")
    assert project.tables() == {"users", "posts", "schema_migrations"}
    assert project.query("SELECT count(*) FROM users") == [(0,)]
    assert project.exists("other.kept")
    leftovers = project.query(
        "SELECT typname FROM pg_type WHERE typname IN ('stray_t', 'stray_d') "
        "UNION ALL SELECT proname FROM pg_proc WHERE proname = 'stray_f' "
        "UNION ALL SELECT relname FROM pg_class WHERE relname LIKE 'stray%'"
    )
    assert leftovers == []
    assert [(v, b) for v, _, b, _ in project.history()] == [(1, 1), (2, 1), (3, 1), (4, 1)]


def test_reset_rolls_everything_back_then_migrates(project: Project) -> None:
    project.copy_examples()
    project.run("migrate", "--to", "2")
    project.run("migrate")
    project.query("INSERT INTO users (email, password_hash) VALUES ('a@example.com', 'x')")
    result = project.run("reset")
    assert "rolled back 4 migrations" in result.stdout
    assert "applied 4 migrations as batch 1" in result.stdout
    assert project.query("SELECT count(*) FROM users") == [(0,)]


@pytest.mark.parametrize(
    ("command", "env"),
    [("fresh", "production"), ("reset", "production"), ("rollback", "production"),
     ("redo", "staging"), ("repair", "staging"), ("baseline", "production")],
)
def test_destructive_commands_in_protected_environments_need_yes(
    project: Project, monkeypatch: pytest.MonkeyPatch, command: str, env: str
) -> None:
    monkeypatch.setenv("DATABASE_URL_STAGING", project.url)
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    args = {"baseline": ["--version", "1"], "repair": ["--all-changed"]}.get(command, [])
    if command != "baseline":
        project.run("migrate", "--env", env)
    if command == "repair":  # something to repair: an edited applied migration
        project.write("0001_a.up.sql", "CREATE TABLE a (id bigint);")
    def history() -> list[tuple] | None:  # None: no history table (baseline starts there)
        return project.history() if project.exists(HISTORY) else None

    before = history()
    result = project.run(command, *args, "--env", env, code=1)
    assert f"`{command}` in {env} is destructive: add --yes to confirm" in result.stderr
    assert history() == before
    project.run(command, *args, "--env", env, "--yes")


def test_staging_without_a_url_is_an_error_never_the_embedded_server(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "SELECT 1;")
    result = project.run("migrate", "--env", "staging", code=2)
    assert "DATABASE_URL_STAGING: no database URL for the staging environment" in result.stderr
    assert not (project.root / ".sqlmig").exists()


def test_environment_chooses_its_own_url_variable(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    monkeypatch.setenv("DATABASE_URL_STAGING", project.url)
    monkeypatch.setenv("SQLMIG_ENV", "staging")
    project.run("migrate")
    assert project.exists("a")


def test_dotenv_supplies_the_url_but_real_variables_win(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    monkeypatch.delenv("DATABASE_URL")
    project.write(".env", f"DATABASE_URL='{project.url}'\n", directory=".")
    project.run("migrate")
    assert project.exists("a")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    result = project.run("status", code=1)
    assert "cannot connect to nobody@127.0.0.1:1/nowhere" in result.stderr


def test_connection_errors_are_one_line_without_the_password(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pair("0001_a", "SELECT 1;")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bob:s3cret-pw@127.0.0.1:1/app")
    result = project.run("migrate", code=1)
    assert result.stderr.startswith("error: cannot connect to bob@127.0.0.1:1/app:")
    assert result.stderr.count("\n") == 1
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_development_without_a_url_uses_the_embedded_server(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.copy_examples()
    monkeypatch.delenv("DATABASE_URL")
    try:
        result = project.run("migrate")
        assert "using the embedded PostgreSQL in .sqlmig/pgdata/" in result.stderr
        assert "applied 4 migrations" in result.stdout
        status = project.run("status", "--json")
        assert '"applied": 4' in status.stdout
    finally:
        _stop_embedded(project.root / ".sqlmig" / "pgdata")


def _stop_embedded(data_dir: Path) -> None:
    """The embedded server outlives the command on purpose; tests stop it themselves."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    os.kill(pid, signal.SIGINT)  # fast shutdown
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
