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
