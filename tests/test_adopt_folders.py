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
    assert "__diesel_schema_migrations records 1 applied migration with no file" in (
        result.stderr)
    assert sql_files(project) == set()
    assert not project.exists("public.schema_migrations")


# knex's lib/migrations/migrate/table-creator.js (_createMigrationTable and
# _createMigrationLockTable), as its PostgreSQL dialect renders them
KNEX_TABLES = (
    'create table "knex_migrations" ("id" serial primary key, "name" varchar(255), '
    '"batch" integer, "migration_time" timestamptz)',
    'create table "knex_migrations_lock" ("index" serial primary key, "is_locked" integer)',
    'insert into "knex_migrations_lock" ("is_locked") values (0)',
)
KNEX = {  # stem -> (JS migration, the SQL pair the team wrote, knex batch)
    "20200101120000_create_users": (
        "exports.up = (knex) => knex.schema.createTable('users', (t) => t.increments());\n",
        "CREATE TABLE users (id serial PRIMARY KEY);\n", "DROP TABLE users;\n", 1),
    "20200201120000_create_posts": (
        "exports.up = (knex) => knex.schema.createTable('posts', (t) => t.increments());\n",
        "CREATE TABLE posts (id serial PRIMARY KEY);\n", "DROP TABLE posts;\n", 2),
    "20200301120000_add_posts_title": (
        "exports.up = (knex) => knex.schema.table('posts', (t) => t.text('title'));\n",
        "ALTER TABLE posts ADD COLUMN title text;\n", "ALTER TABLE posts DROP COLUMN title;\n",
        2),
}
MIGRATION_TIME = datetime(2020, 3, 1, 12, 0, 5, tzinfo=UTC)


def knex_project(project: Project, *, locked: bool = False) -> None:
    """knex's JS files in migrations/, the SQL pairs in sql/, and the database as
    `knex migrate:latest` run twice leaves it (two batches)."""
    with psycopg.connect(project.url, autocommit=True) as conn:
        for statement in KNEX_TABLES:
            conn.execute(statement)
        for stem, (script, up, down, batch) in KNEX.items():
            project.write(f"{stem}.js", script, "migrations")
            project.pair(stem, up, down)
            conn.execute(up)
            conn.execute("INSERT INTO knex_migrations (name, batch, migration_time) "
                         "VALUES (%s, %s, %s)", (f"{stem}.js", batch, MIGRATION_TIME))
        if locked:
            conn.execute("UPDATE knex_migrations_lock SET is_locked = 1")


def test_knex_is_adopted_keeping_its_batches_and_times_and_round_trips(
    project: Project,
) -> None:
    knex_project(project)
    written = {p.name: p.read_text() for p in project.sql_dir.iterdir()}
    result = project.run("adopt", "--from", "knex")
    assert "write" not in result.stdout  # the team's pairs are already there
    assert "DROP TABLE public.knex_migrations, public.knex_migrations_lock;" in result.stdout
    assert {p.name: p.read_text() for p in project.sql_dir.iterdir()} == written
    rows = project.query("SELECT version, batch, applied_at, adopted FROM schema_migrations "
                         "ORDER BY version")
    assert rows == [(20200101120000, 1, MIGRATION_TIME, "knex"),
                    (20200201120000, 2, MIGRATION_TIME, "knex"),
                    (20200301120000, 2, MIGRATION_TIME, "knex")]
    project.run("rollback")  # knex's last batch, as `knex migrate:rollback` would
    assert project.query("SELECT version FROM schema_migrations") == [(20200101120000,)]
    project.run("migrate")
    round_trip(project, [20200101120000, 20200201120000, 20200301120000],
               "public.schema_migrations")
    assert project.tables() == {"knex_migrations", "knex_migrations_lock", "schema_migrations"}


def test_adopt_refuses_while_the_knex_lock_is_held(project: Project) -> None:
    knex_project(project, locked=True)
    result = project.run("adopt", "--from", "knex", code=1)
    assert "public.knex_migrations_lock is held (is_locked = 1)" in result.stderr
    assert "knex migrate:unlock" in result.stderr
    assert not project.exists("public.schema_migrations")


def test_a_knex_migration_without_its_sql_pair_is_refused_naming_it(project: Project) -> None:
    knex_project(project)
    for path in project.sql_dir.glob("20200301120000_*"):
        path.unlink()
    result = project.run("adopt", "--from", "knex", code=1)
    assert "20200301120000_add_posts_title.js: knex migrations cannot be converted" in (
        result.stderr)
    assert "sql/20200301120000_add_posts_title.up.sql" in result.stderr
    assert not project.exists("public.schema_migrations")
