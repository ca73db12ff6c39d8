"""The database itself: create, drop and wait (dbmate's commands), and migrate meeting a
database that does not exist; end to end on the real server, checked from the server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from sqlmig import commands
from sqlmig.core.config import resolve
from sqlmig.errors import DatabaseMissing
from sqlmig.reporting import SilentReporter
from tests import provision
from tests.conftest import Project

NOWHERE = "postgresql://nobody@127.0.0.1:1/nowhere"


@pytest.fixture
def missing(project: Project, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[str]:
    """DATABASE_URL naming a database that does not exist yet (a name that needs quoting);
    dropped afterwards if a test created it."""
    url = make_conninfo(project.url, dbname=f"sqlmig_t New-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    provision.drop_database(pg_admin_url, url)


def exists(admin_url: str, url: str) -> bool:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def test_create_makes_the_database_and_a_second_create_says_it_exists(
    project: Project, missing: str, pg_admin_url: str
) -> None:
    first = project.run("create")
    assert first.stdout.startswith("created database sqlmig_t New-")
    assert exists(pg_admin_url, missing)
    again = project.run("create")
    assert "already exists" in again.stdout and "nothing to do" in again.stdout


def test_drop_removes_the_database_and_a_second_drop_says_there_is_none(
    project: Project, missing: str, pg_admin_url: str
) -> None:
    project.run("create")
    result = project.run("drop")
    assert "drop on " in result.stdout and "(no environment recorded)" in result.stdout
    assert "dropped database sqlmig_t New-" in result.stdout
    assert not exists(pg_admin_url, missing)
    assert "does not exist" in project.run("drop").stdout


def test_drop_of_a_production_database_needs_its_environment_and_yes(
    project: Project, pg_admin_url: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.run("migrate", "--env", "production", "--no-snapshot")
    refused = project.run("drop", "--yes", code=1)
    assert "`drop` refused" in refused.stderr and "--env production --yes" in refused.stderr
    assert "add --yes" in project.run("drop", "--env", "production", code=1).stderr
    assert exists(pg_admin_url, project.url)
    project.run("drop", "--env", "production", "--yes")
    assert not exists(pg_admin_url, project.url)


def test_drop_refuses_the_databases_every_server_needs(project: Project) -> None:
    result = project.run("drop", "-u", make_conninfo(project.url, dbname="template1"), code=1)
    assert "template1 is a database every PostgreSQL server needs" in result.stderr


def test_migrate_on_a_missing_database_without_a_terminal_suggests_create(
    project: Project, missing: str, pg_admin_url: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    result = project.run("migrate", code=1)
    assert result.stderr.startswith("error: cannot connect to ")
    assert 'does not exist; create it with `sqlmig create`' in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not exists(pg_admin_url, missing)


def test_migrate_on_a_missing_development_database_creates_it_when_the_user_says_yes(
    project: Project, missing: str, pg_admin_url: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    asked: list[str] = []
    settings = resolve(root=project.root, database_url=missing)
    result = commands.migrate(settings, SilentReporter(),
                              create_missing=lambda question: asked.append(question) or True)
    assert asked and asked[0].endswith("does not exist. Create it?")
    assert result.summary.startswith("applied 1 migration")
    with psycopg.connect(missing) as conn:
        assert conn.execute("SELECT to_regclass('a') IS NOT NULL").fetchone() == (True,)
    production = resolve(root=project.root, env="production", database_url=make_conninfo(
        missing, dbname=f"sqlmig_t_gone_{uuid.uuid4().hex[:8]}"))
    with pytest.raises(DatabaseMissing):  # never offered outside development and test
        commands.migrate(production, SilentReporter(), snapshot=False,
                         create_missing=lambda question: True)


def test_wait_returns_once_the_server_accepts_connections(project: Project, missing: str
                                                          ) -> None:
    up = project.run("wait", "-u", project.url)
    assert "accepts connections" in up.stdout
    no_database = project.run("wait", "--timeout", "1")
    assert "does not exist yet: `sqlmig create`" in no_database.stdout


def test_wait_gives_up_after_the_timeout_with_the_reason(project: Project) -> None:
    result = project.run("wait", "--timeout", "0.3", "-u", NOWHERE, code=1)
    waiting, error = result.stderr.splitlines()
    assert waiting.startswith("waiting for the database at nobody@127.0.0.1:1/nowhere (")
    assert error.startswith("error: gave up after 0.3s: cannot connect to "
                            "nobody@127.0.0.1:1/nowhere: ")
    assert "refused" in error
