"""Reading another migrator's history table (never changing it) for `sqlmig adopt`, and
writing the sqlmig rows that take its place. Each reader returns what the tool applied, or
refuses (AdoptionError) when its state is unsafe to adopt: a dirty or failed migration, a lock
held. Identifiers pass through psycopg.sql.Identifier; values are parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from sqlmig import __version__
from sqlmig.core.adoption import Adopted, AdoptionError, Conversion, ToolRecord, flyway
from sqlmig.core.adoption.knex import stem as knex_stem
from sqlmig.pg.db import SCRIPT_KEEP_LIMIT, History

# each tool's history table, as its source creates it
TABLES = {
    "golang-migrate": "schema_migrations",
    "dbmate": "schema_migrations",
    "diesel": "__diesel_schema_migrations",
    "knex": "knex_migrations",
    "flyway": "flyway_schema_history",
}
# how to remove each tool's own tables, printed once the team is happy (adopt never does)
DROP = {
    "golang-migrate": "DROP TABLE {schema}.schema_migrations;",
    "dbmate": "DROP TABLE {schema}.schema_migrations;",
    "diesel": "DROP TABLE {schema}.__diesel_schema_migrations;",
    "knex": "DROP TABLE {schema}.knex_migrations, {schema}.knex_migrations_lock;",
    "flyway": "DROP TABLE {schema}.flyway_schema_history;",
}


def table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                       (sql.Identifier(schema, table).as_string(conn),)).fetchone()
    return bool(row and row[0])


def read_records(conn: psycopg.Connection, tool: str, schema: str, conversion: Conversion
                 ) -> list[ToolRecord]:
    """What `tool` applied to this database, as its history table says."""
    table = TABLES[tool]
    if not table_exists(conn, schema, table):
        raise AdoptionError(
            f"{schema}.{table} does not exist: this database was not migrated by {tool} (or "
            "in another schema: set 'schema'); leave out the database URL to convert the "
            "files only"
        )
    return READERS[tool](conn, schema, sql.Identifier(schema, table), conversion)


def _golang_migrate(conn: psycopg.Connection, schema: str, table: sql.Identifier,
                    conversion: Conversion) -> list[ToolRecord]:
    """One row: the current version; every file up to it is applied (database/postgres in
    golang-migrate: `version bigint PRIMARY KEY, dirty boolean NOT NULL`)."""
    rows = conn.execute(sql.SQL("SELECT version, dirty FROM {}").format(table)).fetchall()
    if not rows:
        return []
    if len(rows) > 1:
        raise AdoptionError(f"{table.as_string(conn)} holds {len(rows)} rows; golang-migrate "
                            "keeps one (the current version): fix it by hand first")
    version, dirty = rows[0]
    if dirty:
        raise AdoptionError(
            f"golang-migrate's {table.as_string(conn)} says version {version} is dirty (it "
            "failed halfway): fix the database by hand, then `migrate force "
            f"{version}` (or the version before it, if its changes are not there) and run "
            "adopt again"
        )
    if version < 0:  # golang-migrate's "nil version" after migrating all the way down
        return []
    if str(version) not in {m.key for m in conversion.migrations}:
        return [ToolRecord(str(version))]  # refused by adopted_rows: no file for it
    return [ToolRecord(m.key) for m in conversion.migrations if m.version <= version]


def _dbmate(conn: psycopg.Connection, schema: str, table: sql.Identifier,
            conversion: Conversion) -> list[ToolRecord]:
    """One row per applied version (dbmate's pkg/driver/postgres: `version varchar(128)
    PRIMARY KEY`); dbmate records no time."""
    rows = conn.execute(sql.SQL("SELECT version FROM {} ORDER BY version").format(table))
    return [ToolRecord(row[0]) for row in rows.fetchall()]


def _diesel(conn: psycopg.Connection, schema: str, table: sql.Identifier,
            conversion: Conversion) -> list[ToolRecord]:
    """One row per applied version with when it ran (diesel_migrations'
    setup_migration_table.sql: `version VARCHAR(50) PRIMARY KEY, run_on TIMESTAMP`); run_on
    is the server's local time, read in this session's zone as Diesel's default wrote it."""
    rows = conn.execute(
        sql.SQL("SELECT version, run_on::timestamptz FROM {} ORDER BY version").format(table))
    return [ToolRecord(version, applied_at) for version, applied_at in rows.fetchall()]


def _knex(conn: psycopg.Connection, schema: str, table: sql.Identifier,
          conversion: Conversion) -> list[ToolRecord]:
    """One row per applied migration with its batch and time (knex's
    lib/migrations/migrate/table-creator.js); refused while knex_migrations_lock is held."""
    lock = sql.Identifier(schema, "knex_migrations_lock")
    if table_exists(conn, schema, "knex_migrations_lock") and conn.execute(
            sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE is_locked = 1)").format(lock)
    ).fetchone() == (True,):
        raise AdoptionError(
            f"{schema}.knex_migrations_lock is held (is_locked = 1): a knex migration is "
            "running, or one died holding it; wait for it, or once sure nothing runs, "
            "`npx knex migrate:unlock`, then adopt again")
    rows = conn.execute(sql.SQL(
        "SELECT name, migration_time, batch FROM {} ORDER BY id").format(table)).fetchall()
    return [ToolRecord(knex_stem(name), at, batch) for name, at, batch in rows]


Reader = Callable[[psycopg.Connection, str, sql.Identifier, Conversion], list[ToolRecord]]
def _flyway(conn: psycopg.Connection, schema: str, table: sql.Identifier,
            conversion: Conversion) -> list[ToolRecord]:
    """Every row (flyway-core's PostgreSQL createMetaDataTable.sql), read as Flyway reads them
    (flyway.applied); installed_on is the server's local time, like run_on in Diesel's."""
    rows = conn.execute(sql.SQL(
        "SELECT installed_rank, version, type, script, checksum, installed_on::timestamptz, "
        "execution_time, success FROM {} ORDER BY installed_rank").format(table)).fetchall()
    return flyway.applied([flyway.HistoryRow(*row) for row in rows], conversion)


READERS: dict[str, Reader] = {
    "golang-migrate": _golang_migrate,
    "dbmate": _dbmate,
    "diesel": _diesel,
    "knex": _knex,
    "flyway": _flyway,
}


def record_adopted(conn: psycopg.Connection, history: History, tool: str,
                   rows: Sequence[Adopted]) -> None:
    """The history rows, in the caller's transaction."""
    for row in rows:
        migration = row.migration
        script = migration.up if len(migration.up) <= SCRIPT_KEEP_LIMIT else None
        conn.execute(history.adopt, (
            migration.version, migration.name, migration.checksum, row.applied_at,
            row.execution_ms, row.batch, history.host, __version__, script, tool,
        ))
