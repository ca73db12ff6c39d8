"""`sqlmig adopt --from flyway`: V/U files, dotted versions, per-script .conf, with
flyway_schema_history built exactly as flyway-core's PostgreSQL createMetaDataTable.sql
defines it (Flyway cannot run here); then the round trip and every refusal."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import psycopg
import pytest

from tests.conftest import Project
from tests.test_adopt import round_trip, sql_files

# flyway-core: org/flywaydb/database/postgresql/createMetaDataTable.sql
FLYWAY_TABLE = """CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk"
    PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
"""
FILES = {
    "V1__create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\r\n-- made by Flyway\r\n",
    "U1__create_users.sql": "DROP TABLE users;\n",
    "V1.1__add_email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "U1.1__add_email.sql": "ALTER TABLE users DROP COLUMN email;\n",
    "V1.10__index_email.sql": "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
    "V1.10__index_email.sql.conf": "executeInTransaction=false\n",
    "U1.10__index_email.sql": "DROP INDEX CONCURRENTLY users_email_idx;\n",
    "V1.2__create_posts.sql": "CREATE TABLE posts (id int);\n",
    "U1.2__create_posts.sql": "DROP TABLE posts;\n",
}
INSTALLED_ON = datetime(2021, 5, 1, 8, 30, tzinfo=UTC)


def flyway_checksum(text: str) -> int:
    """Flyway's checksum computed the way its ChecksumCalculator reads: CRC32 updated line by
    line without line breaks, which is the CRC32 of the lines joined; as a Java int."""
    value = zlib.crc32("".join(text.splitlines()).encode())
    return value - 2**32 if value >= 2**31 else value


def flyway_project(project: Project, *, failed: bool = False) -> None:
    """The files in db/migration, and the database as `flyway migrate` leaves it (versions in
    Flyway's order: 1, 1.1, 1.2, 1.10)."""
    for name, text in FILES.items():
        project.write(name, text.encode(), "db/migration")
    order = ["V1__create_users.sql", "V1.1__add_email.sql", "V1.2__create_posts.sql",
             "V1.10__index_email.sql"]
    with psycopg.connect(project.url, autocommit=True) as conn:
        conn.execute(FLYWAY_TABLE)
        for rank, script in enumerate(order, start=1):
            version, description = script[1:-4].split("__")
            success = not (failed and rank == 4)
            if success:
                conn.execute(FILES[script].encode())
            conn.execute(
                "INSERT INTO flyway_schema_history VALUES "
                "(%s, %s, %s, 'SQL', %s, %s, 'postgres', %s, 12, %s)",
                (rank, version, description.replace("_", " "), script,
                 flyway_checksum(FILES[script]), INSTALLED_ON.replace(tzinfo=None), success))


def test_flyway_is_adopted_with_versions_mapped_in_its_order_and_round_trips(
    project: Project,
) -> None:
    flyway_project(project)
    result = project.run("adopt", "--from", "flyway")
    for line in ("Flyway version 1 is version 0001 (0001_v1_create_users)",
                 "Flyway version 1.1 is version 0002 (0002_v1.1_add_email)",
                 "Flyway version 1.2 is version 0003 (0003_v1.2_create_posts)",
                 "Flyway version 1.10 is version 0004 (0004_v1.10_index_email)",
                 "DROP TABLE public.flyway_schema_history;"):
        assert line in result.stdout
    assert "0004_v1.10_index_email.down.sql" in sql_files(project)
    index_up = (project.sql_dir / "0004_v1.10_index_email.up.sql").read_text()
    assert index_up.splitlines()[0] == "-- sqlmig:no-transaction"
    rows = project.query("SELECT version, name, applied_at, execution_ms, adopted "
                         "FROM schema_migrations ORDER BY version")
    assert rows == [(1, "v1_create_users", INSTALLED_ON, 12, "flyway"),
                    (2, "v1.1_add_email", INSTALLED_ON, 12, "flyway"),
                    (3, "v1.2_create_posts", INSTALLED_ON, 12, "flyway"),
                    (4, "v1.10_index_email", INSTALLED_ON, 12, "flyway")]
    round_trip(project, [1, 2, 3, 4], "public.schema_migrations")
    assert project.tables() == {"flyway_schema_history", "schema_migrations"}


def test_a_versioned_file_without_an_undo_becomes_irreversible(project: Project) -> None:
    flyway_project(project)
    project.write("V2__backfill.sql", "UPDATE users SET email = 'x';\n", "db/migration")
    project.run("adopt", "--from", "flyway")
    assert "0005_v2_backfill.down.sql" not in sql_files(project)
    up = (project.sql_dir / "0005_v2_backfill.up.sql").read_text()
    assert up.splitlines()[0] == "-- sqlmig:irreversible"
    assert "applied 1 migration" in project.run("migrate").stdout


def test_a_failed_flyway_row_is_refused(project: Project) -> None:
    flyway_project(project, failed=True)
    result = project.run("adopt", "--from", "flyway", code=1)
    assert "V1.10__index_email.sql (version 1.10, installed_rank 4) failed" in result.stderr
    assert "flyway repair" in result.stderr
    assert sql_files(project) == set()
    assert not project.exists("public.schema_migrations")


@pytest.mark.parametrize(("name", "text", "said"), [
    ("V1.1__add_email.sql", "ALTER TABLE users ADD COLUMN email varchar;\n",
     ["V1.1__add_email.sql: edited since Flyway applied it",
      f"Flyway's checksum {flyway_checksum(FILES['V1.1__add_email.sql'])}"]),
    ("R__refresh_views.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;\n",
     ["R__refresh_views.sql: a repeatable migration", "sqlmig runs each migration once"]),
])
def test_an_edited_file_and_a_repeatable_migration_are_refused_saying_why(
    project: Project, name: str, text: str, said: list[str],
) -> None:
    flyway_project(project)
    project.write(name, text, "db/migration")
    result = project.run("adopt", "--from", "flyway", code=1)
    for words in said:
        assert words in result.stderr
    assert sql_files(project) == set()
    assert not project.exists("public.schema_migrations")


def test_a_line_ending_change_is_no_edit_to_flyway(project: Project) -> None:
    flyway_project(project)
    project.write("V1__create_users.sql", FILES["V1__create_users.sql"].replace("\r\n", "\n"),
                  "db/migration")
    project.run("adopt", "--from", "flyway")
    assert len(project.query("SELECT 1 FROM schema_migrations")) == 4
