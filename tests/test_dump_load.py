"""`dump` writes a schema file the server it came from can read back; `load` applies it to
an empty database and records the migrations it holds."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from sqlmig.pg import dump
from tests import provision
from tests.conftest import Project

PSQL_15 = "/usr/lib/postgresql/15/bin/psql"


@pytest.fixture
def empty_pg15(pg15_admin_url: str) -> Iterator[str]:
    url = provision.create_database(pg15_admin_url)
    yield url
    provision.drop_database(pg15_admin_url, url)


def load_with_psql(url: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PSQL_15, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                          input=text, capture_output=True, text=True)


def test_dump_of_a_postgresql_15_database_uses_its_pg_dump_and_loads_back_into_it(
    pg15_project: Project, empty_pg15: str
) -> None:
    found = dump.find_pg_dump(15)
    assert found is not None and dump._major(found) == 15
    pg15_project.copy_examples()
    pg15_project.run("migrate")
    pg15_project.run("dump", "-o", "schema.sql")
    text = (pg15_project.root / "schema.sql").read_text(encoding="utf-8")
    assert "CREATE TABLE public.users" in text and "transaction_timeout" not in text
    loaded = load_with_psql(empty_pg15, text)
    assert loaded.returncode == 0, loaded.stderr


def test_a_newer_pg_dump_leaves_out_settings_the_older_server_cannot_read(
    pg15_project: Project, empty_pg15: str
) -> None:
    newer = next(path for path in dump.candidates() if dump._major(path) >= 17)
    pg15_project.query("CREATE TABLE kept (id int PRIMARY KEY, note text)")
    text = dump.schema_sql(pg15_project.url, 15, [], binary=newer)
    assert text is not None and "CREATE TABLE public.kept" in text
    assert "transaction_timeout" not in text
    loaded = load_with_psql(empty_pg15, text)
    assert loaded.returncode == 0, loaded.stderr
    assert "kept" in subprocess.run(
        [PSQL_15, "-X", "-At", "-d", empty_pg15, "-c", "SELECT tablename FROM pg_tables"],
        capture_output=True, text=True).stdout


@pytest.fixture
def empty(pg_admin_url: str) -> Iterator[str]:
    url = provision.create_database(pg_admin_url)
    yield url
    provision.drop_database(pg_admin_url, url)


def witness(url: str) -> Project:
    """Project's queries (tables, history...) against another database: the loaded one."""
    other = Project.__new__(Project)
    other.url = url
    return other


def dumped(project: Project) -> str:
    project.pair("0001_users", "CREATE TABLE users (id int PRIMARY KEY, email text);",
                 "DROP TABLE users;")
    project.pair("0002_posts", "CREATE TABLE posts (id int REFERENCES users (id));",
                 "DROP TABLE posts;")
    project.run("migrate")
    project.run("dump")
    return (project.root / "schema.sql").read_text(encoding="utf-8")


def test_dump_ends_with_the_migrations_the_schema_holds(project: Project) -> None:
    text = dumped(project)
    checksums = {v: c for v, _, _, c in project.history()}
    assert text.endswith(f"-- sqlmig:applied 1 users {checksums[1]}\n"
                         f"-- sqlmig:applied 2 posts {checksums[2]}\n")
    assert "schema_migrations" not in text


def test_load_applies_the_schema_to_an_empty_database_and_the_history_verifies(
    project: Project, empty: str
) -> None:
    dumped(project)
    result = project.run("load", "-u", empty)
    assert "loaded schema.sql and recorded 2 migrations as applied" in result.stdout
    loaded = witness(empty)
    assert loaded.tables() == {"users", "posts", "schema_migrations"}
    assert [(v, n, c) for v, n, _, c in loaded.history()] == \
        [(v, n, c) for v, n, _, c in project.history()]
    project.run("verify", "-u", empty)
    project.pair("0003_tags", "CREATE TABLE tags (id int);", "DROP TABLE tags;")
    assert "applied 1 migration as batch 2" in project.run("migrate", "-u", empty).stdout
    assert loaded.recorded_environment() == "development"


def test_load_refuses_a_database_that_is_not_empty(project: Project) -> None:
    dumped(project)
    result = project.run("load", code=1)
    assert "load refused: " in result.stderr and "is not empty (it has table public.posts)" \
        in result.stderr
    assert len(project.history()) == 2


def test_load_refuses_a_dump_whose_migration_was_edited_since(
    project: Project, empty: str
) -> None:
    dumped(project)
    project.write("0002_posts.up.sql", "CREATE TABLE posts (id bigint);")
    result = project.run("load", "-u", empty, code=1)
    assert "schema.sql holds 0002_posts as applied with checksum " in result.stderr
    assert "(edited after the dump)" in result.stderr
    loaded = witness(empty)
    assert loaded.tables() == set() and not loaded.exists("public.schema_migrations")


def test_a_failing_schema_file_is_named_by_line_and_leaves_the_database_empty(
    project: Project, empty: str
) -> None:
    text = dumped(project)
    broken = text.replace("CREATE TABLE public.posts", "CREATE TABLE public.nonsense.posts")
    (project.root / "broken.sql").write_text(broken, encoding="utf-8")
    line = broken.splitlines().index(next(x for x in broken.splitlines() if "nonsense" in x)) + 1
    result = project.run("load", "-u", empty, "--file", "broken.sql", code=1)
    assert result.stderr.startswith(f"error: broken.sql:{line}:")
    loaded = witness(empty)
    assert loaded.tables() == set() and not loaded.exists("public.schema_migrations")


def test_load_of_a_pg15_dump_whose_history_lives_in_its_own_schema(
    pg15_project: Project, empty_pg15: str
) -> None:
    pg15_project.write("sqlmig.toml", 'schema = "sqlmig"\n', directory=".")
    pg15_project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    pg15_project.run("migrate")
    pg15_project.run("dump")
    assert "CREATE SCHEMA sqlmig;" in (pg15_project.root / "schema.sql").read_text()
    pg15_project.run("load", "-u", empty_pg15)
    loaded = witness(empty_pg15)
    assert loaded.query("SELECT version FROM sqlmig.schema_migrations") == [(1,)]
    pg15_project.run("verify", "-u", empty_pg15)
