"""`sqlmig adopt --from diesel`: a folder per migration (Diesel's layout, Sourcegraph's too),
with the history table built exactly as diesel_migrations defines it, since Diesel cannot run
here; then the round trip and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from tests.conftest import Project
from tests.test_adopt import round_trip, sql_files

# diesel_migrations/src/migration/setup_migration_table.sql (Diesel 2.x)
DIESEL_TABLE = """CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)"""
# what `diesel setup` writes first (diesel_cli/src/setup_sql/postgres/initial_setup), shortened
INITIAL_UP = """CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass)
RETURNS VOID AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;
"""
DIESEL = {
    "00000000000000_diesel_initial_setup": (
        INITIAL_UP, "DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\n", None),
    "2019-01-01-000000_create_users": (
        "CREATE TABLE users (id serial PRIMARY KEY, email text);\n", "DROP TABLE users;\n",
        None),
    "2019-02-01-000000_index_users_email": (
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
        "DROP INDEX CONCURRENTLY users_email_idx;\n", "run_in_transaction = false\n"),
}
RUN_ON = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)


def diesel_project(project: Project, applied: list[str]) -> None:
    """The folders in migrations/, and the database as `diesel migration run` leaves it."""
    for folder, (up, down, metadata) in DIESEL.items():
        project.write(f"{folder}/up.sql", up, "migrations")
        project.write(f"{folder}/down.sql", down, "migrations")
        if metadata:
            project.write(f"{folder}/metadata.toml", metadata, "migrations")
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(DIESEL_TABLE)
        for folder in applied:
            conn.execute(DIESEL[folder][0].encode())
            conn.execute("INSERT INTO __diesel_schema_migrations VALUES (%s, %s)",
                         (folder.split("_")[0].replace("-", ""), RUN_ON.replace(tzinfo=None)))


def test_diesel_is_adopted_with_its_run_times_and_round_trips(project: Project) -> None:
    diesel_project(project, list(DIESEL))
    result = project.run("adopt", "--from", "diesel")
    assert "DROP TABLE public.__diesel_schema_migrations;" in result.stdout
    assert sql_files(project) == {
        "00000000000000_diesel_initial_setup.up.sql",
        "00000000000000_diesel_initial_setup.down.sql",
        "20190101000000_create_users.up.sql", "20190101000000_create_users.down.sql",
        "20190201000000_index_users_email.up.sql", "20190201000000_index_users_email.down.sql"}
    for direction in ("up", "down"):
        text = (project.sql_dir / f"20190201000000_index_users_email.{direction}.sql").read_text()
        assert text.splitlines()[0] == "-- sqlmig:no-transaction"
    assert not (project.root / "sqlmig.toml").exists()  # no shared table name to avoid
    rows = project.query("SELECT version, name, batch, applied_at, adopted "
                         "FROM public.schema_migrations ORDER BY version")
    assert [(v, n, b, a) for v, n, b, _, a in rows] == [
        (0, "diesel_initial_setup", 0, "diesel"), (20190101000000, "create_users", 0, "diesel"),
        (20190201000000, "index_users_email", 0, "diesel")]
    assert {at for _, _, _, at, _ in rows} == {RUN_ON}
    round_trip(project, [0, 20190101000000, 20190201000000], "public.schema_migrations")
    assert project.tables() == {"__diesel_schema_migrations", "schema_migrations"}


def test_a_diesel_version_applied_with_no_folder_is_refused(project: Project) -> None:
    diesel_project(project, list(DIESEL))
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20200101000000')")
    result = project.run("adopt", "--from", "diesel", code=1)
    assert "__diesel_schema_migrations records 1 applied migration(s) with no file" in (
        result.stderr)
    assert sql_files(project) == set()
    assert not project.exists("public.schema_migrations")
