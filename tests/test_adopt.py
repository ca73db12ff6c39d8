"""`sqlmig adopt --from TOOL`: each tool's real files and real history table, converted and
adopted, then the whole round trip (status, migrate as a no-op, a new migration, rollback
through the converted downs); and every refusal, each leaving files and database untouched.

Tools that cannot run here get their tables built exactly as their source defines them (cited
at each DDL); dbmate runs for real (tests/test_adopt_dbmate.py)."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import Project

ADOPTED = "public.sqlmig_migrations"

# golang-migrate v4, database/postgres/postgres.go, ensureVersionTable
GOLANG_MIGRATE_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations "
                        "(version bigint not null primary key, dirty boolean not null)")
GOLANG_MIGRATE_FILES = {
    "000001_create_users.up.sql": "CREATE TABLE users (id bigserial PRIMARY KEY, email text);\n",
    "000001_create_users.down.sql": "DROP TABLE users;\n",
    "000002_index_users_email.up.sql":
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
    "000002_index_users_email.down.sql": "DROP INDEX CONCURRENTLY users_email_idx;\n",
    "000003_Create-Posts.up.sql":
        "BEGIN;\nCREATE TABLE posts (id bigint PRIMARY KEY, title text);\nCOMMIT;\n",
    "000003_Create-Posts.down.sql": "BEGIN;\nDROP TABLE posts;\nCOMMIT;\n",
}


def golang_migrate_project(project: Project, applied: int, *, dirty: bool = False) -> None:
    """The files in migrations/, and the database as golang-migrate leaves it after
    `migrate up`: each up file sent as one query, then its one-row table."""
    for name, text in GOLANG_MIGRATE_FILES.items():
        project.write(name, text, "migrations")
    with psycopg.connect(project.url, autocommit=True) as conn:
        for name, text in sorted(GOLANG_MIGRATE_FILES.items()):
            if name.endswith(".up.sql") and int(name[:6]) <= applied:
                conn.execute(text.encode())
        conn.execute(GOLANG_MIGRATE_TABLE)
        conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (applied, dirty))


def adopted_rows(project: Project, table: str = ADOPTED) -> list[tuple]:
    return project.query(f"SELECT version, name, batch, checksum, adopted FROM {table} "
                         "ORDER BY version")


def sql_files(project: Project) -> set[str]:
    return {p.name for p in project.sql_dir.iterdir()}


def round_trip(project: Project, versions: list[int], table: str = ADOPTED) -> None:
    """After adopt: everything applied, migrate a no-op, a new migration applies, rollback
    runs the converted downs, migrate runs the converted ups again, and a last rollback
    leaves only the tools' tables."""
    summary = json.loads(project.run("status", "--json").stdout)["summary"]
    assert summary["applied"] == len(versions)
    assert summary["pending"] == summary["changed"] == summary["missing"] == 0
    before = adopted_rows(project, table)
    assert "nothing to migrate" in project.run("migrate").stdout
    assert adopted_rows(project, table) == before
    project.run("new", "add_note")
    project.run("migrate")
    assert len(adopted_rows(project, table)) == len(versions) + 1
    project.run("rollback")  # the new one
    assert adopted_rows(project, table) == before
    project.run("rollback", "--all")  # the adopted ones, through the converted downs
    assert adopted_rows(project, table) == []
    project.run("migrate")  # and up again, through the converted ups
    assert len(adopted_rows(project, table)) == len(versions) + 1
    project.run("rollback", "--all")
    assert adopted_rows(project, table) == []


def test_golang_migrate_is_adopted_and_round_trips(project: Project) -> None:
    golang_migrate_project(project, applied=3)
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations")
    assert "set table = \"sqlmig_migrations\" in sqlmig.toml" in result.stdout
    assert "DROP TABLE public.schema_migrations;" in result.stdout
    assert sql_files(project) == set(GOLANG_MIGRATE_FILES)
    index_up = (project.sql_dir / "000002_index_users_email.up.sql").read_text()
    assert index_up.splitlines()[0] == "-- sqlmig:no-transaction"
    wrapped = (project.sql_dir / "000003_Create-Posts.up.sql").read_text()
    assert wrapped == GOLANG_MIGRATE_FILES["000003_Create-Posts.up.sql"]  # runs as one transaction
    assert 'table = "sqlmig_migrations"' in (project.root / "sqlmig.toml").read_text()
    rows = adopted_rows(project)
    assert [(v, n, b, a) for v, n, b, _, a in rows] == [
        (1, "create_users", 0, "golang-migrate"), (2, "index_users_email", 0, "golang-migrate"),
        (3, "Create-Posts", 0, "golang-migrate")]
    status = json.loads(project.run("status", "--json").stdout)
    assert [m["checksum"] == m["applied_checksum"] for m in status["migrations"]] == [True] * 3
    assert project.query("SELECT version, dirty FROM schema_migrations") == [(3, False)]
    round_trip(project, [1, 2, 3])
    assert project.tables() == {"schema_migrations", "sqlmig_migrations"}
    assert project.query("SELECT version, dirty FROM schema_migrations") == [(3, False)]


def test_golang_migrate_files_above_its_version_stay_pending(project: Project) -> None:
    golang_migrate_project(project, applied=1)
    project.run("adopt", "--from", "golang-migrate", "--dir", "migrations")
    assert [r[0] for r in adopted_rows(project)] == [1]
    assert "applied 2 migrations" in project.run("migrate").stdout
    assert project.tables() >= {"users", "posts"}


def unchanged(project: Project, before_tables: set[str]) -> None:
    """A refusal wrote no file and changed no table."""
    assert sql_files(project) == set()
    assert not (project.root / "sqlmig.toml").exists()
    assert project.tables() == before_tables


def test_a_dirty_golang_migrate_history_is_refused_naming_the_version(project: Project) -> None:
    golang_migrate_project(project, applied=2, dirty=True)
    before = project.tables()
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", code=1)
    assert "version 2 is dirty" in result.stderr and "migrate force 2" in result.stderr
    unchanged(project, before)


def test_an_applied_version_with_no_file_is_refused(project: Project) -> None:
    golang_migrate_project(project, applied=3)
    for path in (project.root / "migrations").glob("000003_*"):
        path.unlink()
    before = project.tables()
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", code=1)
    assert "public.schema_migrations records 1 applied migration with no file" in result.stderr
    assert ": 3;" in result.stderr
    unchanged(project, before)


def test_a_file_already_in_sql_is_never_overwritten(project: Project) -> None:
    golang_migrate_project(project, applied=3)
    project.write("000001_create_users.down.sql", "DROP TABLE users CASCADE;\n")
    before = project.tables()
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", code=1)
    assert "sql/000001_create_users.down.sql already exists" in result.stderr
    assert sql_files(project) == {"000001_create_users.down.sql"}
    assert (project.sql_dir / "000001_create_users.down.sql").read_text() == (
        "DROP TABLE users CASCADE;\n")
    assert project.tables() == before


def test_dry_run_lists_every_file_and_row_and_changes_nothing(project: Project) -> None:
    golang_migrate_project(project, applied=2)
    before = project.tables()
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations",
                         "--dry-run")
    for name in GOLANG_MIGRATE_FILES:
        assert f"would write sql/{name}" in result.stdout
    assert "would record in sqlmig_migrations: 000001_create_users: applied, batch 0" in (
        result.stdout)
    assert "000002_index_users_email: applied" in result.stdout
    assert "000003_Create-Posts: applied" not in result.stdout
    assert "would set table" in result.stdout
    unchanged(project, before)


def test_adopt_keeps_the_rest_of_an_existing_sqlmig_toml(project: Project) -> None:
    golang_migrate_project(project, applied=1)
    project.write("sqlmig.toml", '# ours\nlock_wait = 5\n\n[production]\nlock_timeout = "5s"\n',
                  ".")
    project.run("adopt", "--from", "golang-migrate", "--dir", "migrations")
    text = (project.root / "sqlmig.toml").read_text()
    assert text.startswith('table = "sqlmig_migrations"')
    assert '# ours\nlock_wait = 5\n\n[production]\nlock_timeout = "5s"\n' in text
    assert "lock_wait" in project.run("config").stdout


def test_without_a_database_url_only_the_files_are_converted(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in GOLANG_MIGRATE_FILES.items():
        project.write(name, text, "migrations")
    monkeypatch.delenv("DATABASE_URL")
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations")
    assert "record" not in result.stdout
    assert sql_files(project) == set(GOLANG_MIGRATE_FILES)
    assert not project.exists(ADOPTED)


def test_a_version_already_taken_in_sql_by_another_migration_is_refused(
    project: Project,
) -> None:
    golang_migrate_project(project, applied=1)
    project.pair("0002_ours", "SELECT 1;")
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", code=1)
    assert "sql/0002_ours.up.sql already has version 2" in result.stderr
    assert "000002_index_users_email.up.sql would take" in result.stderr
    assert sql_files(project) == {"0002_ours.up.sql", "0002_ours.down.sql"}


def test_the_migrations_folder_itself_cannot_be_adopted_from(project: Project) -> None:
    project.write("20200101120000_x.sql", "-- migrate:up\nSELECT 1;\n", "sql")
    result = project.run("adopt", "--from", "dbmate", "--dir", "sql", code=1)
    assert "--dir sql is sqlmig's own migrations folder" in result.stderr


def test_adopt_sets_the_table_under_tool_sqlmig_in_pyproject(project: Project) -> None:
    golang_migrate_project(project, applied=1)
    project.write("pyproject.toml", '[project]\nname = "app"\n\n[tool.sqlmig]\n'
                  'lock_wait = 5\n', ".")
    project.run("adopt", "--from", "golang-migrate", "--dir", "migrations")
    text = (project.root / "pyproject.toml").read_text()
    assert text == ('[project]\nname = "app"\n\n[tool.sqlmig]\n'
                    'table = "sqlmig_migrations"  # schema_migrations is golang-migrate\'s '
                    "history table\nlock_wait = 5\n")
    assert not (project.root / "sqlmig.toml").exists()
    assert [r[0] for r in adopted_rows(project)] == [1]


def test_adopting_into_production_needs_yes_and_names_what_it_records(
    project: Project,
) -> None:
    golang_migrate_project(project, applied=2)
    before = project.tables()
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", "--env",
                         "production", code=1)
    assert "records 2 migrations golang-migrate applied as applied" in result.stdout
    assert "--yes" in result.stderr
    unchanged(project, before)
    project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", "--env",
                "production", "--yes")
    assert [r[0] for r in adopted_rows(project)] == [1, 2]
    assert project.recorded_environment() == "production"


def test_a_history_that_cannot_be_written_leaves_no_file_or_config_change_behind(
    project: Project,
) -> None:
    golang_migrate_project(project, applied=2)
    project.write("sqlmig.toml", 'table = "sqlmig_migrations"\n', ".")
    project.run("status")
    project.pair("000009_ours", "SELECT 1;")
    project.run("migrate")  # sqlmig's own table exists, with one row
    for path in project.sql_dir.iterdir():
        path.unlink()
    project.query(f"ALTER TABLE {ADOPTED} ADD CHECK (adopted IS NULL)")
    project.write("sqlmig.toml", "lock_wait = 5\n", ".")  # adopt would set the table again
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", code=1)
    assert "violates check constraint" in result.stderr
    assert sql_files(project) == set()
    assert (project.root / "sqlmig.toml").read_text() == "lock_wait = 5\n"
    assert [r[0] for r in adopted_rows(project)] == [9]


def test_a_table_of_sqlmigs_name_that_is_not_sqlmigs_is_refused_before_any_write(
    project: Project,
) -> None:
    golang_migrate_project(project, applied=1)
    project.query("CREATE TABLE sqlmig_migrations (id int)")
    result = project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", code=2)
    assert "public.sqlmig_migrations exists but is not sqlmig's history table" in result.stderr
    assert sql_files(project) == set()


def test_golang_migrate_is_adopted_on_postgresql_15_too(pg15_project: Project) -> None:
    golang_migrate_project(pg15_project, applied=3)
    pg15_project.run("adopt", "--from", "golang-migrate", "--dir", "migrations")
    round_trip(pg15_project, [1, 2, 3])
    assert pg15_project.tables() == {"schema_migrations", "sqlmig_migrations"}


def test_the_pairs_go_to_the_migrations_dir_given(project: Project) -> None:
    golang_migrate_project(project, applied=1)
    project.run("adopt", "--from", "golang-migrate", "--dir", "migrations", "-d", "db/sql")
    assert sorted(p.name for p in (project.root / "db/sql").iterdir()) == sorted(
        GOLANG_MIGRATE_FILES)
    assert sql_files(project) == set()
    assert "1 applied" in project.run("status", "-d", "db/sql").stdout


def test_the_python_api_returns_what_adopt_wrote(project: Project) -> None:
    from sqlmig import commands
    from sqlmig.core.config import resolve
    from sqlmig.reporting import SilentReporter

    golang_migrate_project(project, applied=1)
    settings = resolve(root=project.root, database_url=project.url)
    result = commands.adopt(settings, SilentReporter(), "golang-migrate")
    assert (result.tool, result.dry_run, result.table) == (
        "golang-migrate", False, "sqlmig_migrations")
    assert sorted(result.files) == sorted(f"sql/{name}" for name in GOLANG_MIGRATE_FILES)
    assert result.rows == ["000001_create_users: applied, batch 0"]
    assert result.config == "sqlmig.toml"
    assert result.cleanup == "DROP TABLE public.schema_migrations;"
