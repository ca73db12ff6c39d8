"""The locked session's connection (pg/link.py) reads, quotes and fails the same through
either driver, and a run whose plan needs psycopg's engine starts again through psycopg
without doing anything twice or saying anything twice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sqlmig.pg import connection
from sqlmig.pg.link import LinkError
from tests.conftest import Project


@pytest.mark.parametrize("libpq", [False, True])
def test_both_drivers_read_quote_and_fail_alike(db_url: str, libpq: bool) -> None:
    with connection.open_link(db_url, libpq=libpq) as link:
        assert (link.psycopg is None) == libpq
        name, value = 'odd "name" é', "it's a \\ value é"
        link.run(f"CREATE TABLE {link.ident('public', name)} (v text)")
        link.run(f"INSERT INTO {link.ident(name)} VALUES ({link.literal(value)}), "
                 f"({link.literal(None)})")
        assert link.rows(f"SELECT v FROM {link.ident(name)} ORDER BY v NULLS LAST") == [
            (value,), (None,)]
        assert link.rows("SELECT $1::int + 1, $2::text IS NULL", (41, None)) == [("42", "t")]
        assert link.value("SELECT 1 WHERE false") is None
        with pytest.raises(LinkError) as failed:
            link.run("SELECT 1 / 0")
        assert failed.value.sqlstate == "22012" and "division by zero" in str(failed.value)
        heard: list[tuple[str, str]] = []
        link.listener = lambda severity, message: heard.append((severity, message))
        link.run("DO $$BEGIN RAISE WARNING 'careful: %', 1; END$$")
        assert heard == [("WARNING", "careful: 1")]
        assert link.value("SELECT pg_backend_pid()") == str(link.backend_pid)
        assert link.server_version >= 130000
    assert link.closed


def test_a_run_whose_plan_needs_psycopg_starts_again_through_it_once(project: Project) -> None:
    project.pair("0001_users", "CREATE TABLE users (id int);", "DROP TABLE users;")
    project.pair("0002_index", "-- sqlmig:no-transaction\n"
                 "CREATE INDEX CONCURRENTLY users_id ON users (id);",
                 "-- sqlmig:no-transaction\nDROP INDEX CONCURRENTLY users_id;")
    script = ("import sys\nsys.argv = ['sqlmig', *sys.argv[1:]]\nfrom sqlmig.cli import main\n"
              "try:\n    main()\nfinally:\n"
              "    print('PSYCOPG', 'psycopg' in sys.modules, file=sys.stderr)\n")
    for args, said in ((("migrate",), "applied 2 migrations"),
                       (("rollback", "--all"), "rolled back 2 migrations")):
        done = subprocess.run([sys.executable, "-c", script, *args], text=True,
                              capture_output=True, cwd=project.root, timeout=120)
        assert done.returncode == 0 and said in done.stdout, done.stderr
        assert "PSYCOPG True" in done.stderr  # the no-transaction engine is psycopg's
        assert done.stdout.count("development · ") == 1, done.stdout
    assert project.history() == [] and "users" not in project.tables()
    project.run("migrate")
    assert [row[0] for row in project.history()] == [1, 2]
