"""Converting another migrator's folder into sqlmig pairs, planned before anything is written:
one module per tool reads its folder into PlannedMigrations; this one holds what they share
(the plan's shape, the no-transaction directive, the sqlmig.toml edit, matching the other
tool's history). Pure: reads files, never connects, never writes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmig.core.directives import parse_directives
from sqlmig.core.hazards import hazards, unwrapped
from sqlmig.core.sqlfile import SqlFile, checksum, normalise, read_bytes
from sqlmig.errors import PlanError, SqlmigError, counted

# module per tool, and the folder its users keep migrations in when --dir is not given
TOOLS = {
    "golang-migrate": ("golang_migrate", "migrations"),
    "dbmate": ("dbmate", "db/migrations"),
    "diesel": ("diesel", "migrations"),
    "knex": ("knex", "migrations"),
    "flyway": ("flyway", "db/migration"),
}
NO_TRANSACTION = "-- sqlmig:no-transaction"
IRREVERSIBLE = "-- sqlmig:irreversible"
# golang-migrate and dbmate name their table like sqlmig's default; sqlmig's then moves here
ADOPTED_TABLE = "sqlmig_migrations"


class AdoptionError(PlanError):
    """The other tool's files or history cannot be adopted as they are (nothing was
    written)."""


@dataclass(frozen=True)
class PlannedMigration:
    """One migration as sqlmig will write it; `key` is how the other tool's history names it."""

    version: int
    digits: str  # the version as the file names write it
    name: str
    up: str
    down: str | None  # None: irreversible
    source: str  # the other tool's file or folder, as the user names it
    key: str

    @property
    def stem(self) -> str:
        return f"{self.digits}_{self.name}"

    @property
    def files(self) -> dict[str, str]:
        """File name -> text, as written into sql/."""
        written = {f"{self.stem}.up.sql": self.up}
        if self.down is not None:
            written[f"{self.stem}.down.sql"] = self.down
        return written

    @property
    def checksum(self) -> str:
        return checksum(self.up)


def planned(digits: str, name: str, up: str, down: str | None, source: str,
            key: str | None = None) -> PlannedMigration:
    """A converted migration; with no down, its up says it is irreversible. `key` defaults to
    the version as written."""
    if down is None:
        up = with_directive(up, IRREVERSIBLE)
    return PlannedMigration(int(digits), digits, name, up, down, source,
                            digits if key is None else key)


@dataclass(frozen=True)
class Conversion:
    tool: str
    migrations: list[PlannedMigration]
    notes: list[str] = field(default_factory=list)  # e.g. how Flyway versions were mapped


@dataclass(frozen=True)
class ToolRecord:
    """One applied migration as the other tool recorded it."""

    key: str
    applied_at: datetime | None = None
    batch: int | None = None
    execution_ms: int | None = None


@dataclass(frozen=True)
class Adopted:
    """A sqlmig history row to write for a migration the other tool applied."""

    migration: PlannedMigration
    applied_at: datetime | None
    batch: int
    execution_ms: int | None


def convert(tool: str, directory: Path, migrations_dir: Path) -> Conversion:
    """`directory` (the other tool's migrations) as sqlmig pairs, in version order; knex's
    are the pairs the team wrote in `migrations_dir`."""
    if tool not in TOOLS:
        raise AdoptionError(f"--from: unknown tool '{tool}' (one of {', '.join(TOOLS)})")
    if not directory.is_dir():
        raise AdoptionError(f"{directory}: no such folder; point --dir at the {tool} "
                            "migrations folder")
    module = importlib.import_module(f"sqlmig.core.adoption.{TOOLS[tool][0]}")
    conversion: Conversion = (module.convert(directory, migrations_dir) if tool == "knex"
                              else module.convert(directory))
    check_versions(conversion.migrations)
    for migration in conversion.migrations:
        check_runnable(migration)
    return conversion


def check_runnable(migration: PlannedMigration) -> None:
    """Refuse, naming the other tool's file, SQL sqlmig would refuse to run (a syntax error
    PostgreSQL's parser finds, a psql meta-command): written as it is, it would block every
    later `migrate`."""
    from sqlmig.core.checks import check_file

    for name, text in migration.files.items():
        try:
            file = SqlFile(name, text, parse_directives(text, name))
            check_file(file, transactional="no-transaction" not in file.directives)
        except SqlmigError as err:
            raise AdoptionError(f"{migration.source}: sqlmig could not run it as {name}: "
                                f"{str(err).splitlines()[0]}") from None


def check_versions(migrations: Sequence[PlannedMigration]) -> None:
    seen: dict[int, PlannedMigration] = {}
    for migration in migrations:
        if migration.version in seen:
            raise AdoptionError(f"{migration.source}: version {migration.version} is also "
                                f"{seen[migration.version].source}; sqlmig needs one "
                                "migration per version")
        seen[migration.version] = migration
    if not migrations:
        raise AdoptionError("found no migration to adopt")


def read_text(path: Path) -> str:
    """A file of the other tool, read as sqlmig reads its own (UTF-8, BOM and CRLF gone)."""
    return normalise(read_bytes(path), path)


def needs_no_transaction(text: str) -> bool:
    """True when PostgreSQL would refuse the file inside sqlmig's transaction: a statement
    that cannot run in one (CREATE INDEX CONCURRENTLY...) or transaction control other than
    one wrapping BEGIN/COMMIT pair."""
    found = {h.kind for h in hazards(text)}
    if "non-transactional" in found:
        return True
    return "transaction-control" in found and unwrapped(text) is None


def with_directive(text: str, directive: str) -> str:
    return f"{directive}\n{text}"


def sql_file(text: str, *, no_transaction: bool = False) -> str:
    """A converted file's text: the directive on its first line when it must run outside a
    transaction (asked for by the other tool, or needed by its statements). An empty file,
    which sqlmig would refuse as a forgotten save, becomes a comment saying so."""
    if not text.strip():
        return "-- empty in the original tool's file: nothing to run\n"
    if no_transaction or needs_no_transaction(text):
        return with_directive(text, NO_TRANSACTION)
    return text


def adopted_rows(conversion: Conversion, records: Sequence[ToolRecord], tool_table: str
                 ) -> list[Adopted]:
    """The sqlmig history rows for every migration the other tool applied; refuses an applied
    migration with no file (its down could never run, nor could status say what it was)."""
    by_key = {m.key: m for m in conversion.migrations}
    missing = [r.key for r in records if r.key not in by_key]
    if missing:
        raise AdoptionError(
            f"{tool_table} records {counted(len(missing), 'applied migration')} with no "
            f"file in the folder: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            "; restore their files (git history) before adopting"
        )
    return [Adopted(by_key[r.key], r.applied_at, r.batch or 0, r.execution_ms)
            for r in records]


TOP_LEVEL_TABLE = re.compile(r'^\s*table\s*=.*$')
HEADER = re.compile(r"^\s*\[")


def with_table(text: str | None, table: str, section: str | None = None,
               why: str = "") -> str:
    """The config file's text with `table = "..."` set (replaced where it is, else added),
    everything else kept. `section`: the table header holding sqlmig's keys
    (`[tool.sqlmig]` in pyproject.toml), None for sqlmig.toml's top level; `why`, a comment
    on the line."""
    setting = f'table = "{table}"' + (f"  # {why}" if why else "")
    lines = (text or "").splitlines()
    inside = section is None
    start = None
    for index, line in enumerate(lines):
        if HEADER.match(line):
            if inside and start is not None:
                break
            inside = line.strip() == section
            if inside:
                start = index + 1
            continue
        if inside and TOP_LEVEL_TABLE.match(line):
            lines[index] = setting
            return "\n".join(lines) + "\n"
    if section is None:
        lines.insert(0, setting)
    elif start is not None:
        lines.insert(start, setting)
    else:
        lines += ["", section, setting]
    return "\n".join(lines) + "\n"
