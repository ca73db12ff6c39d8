"""Flyway's folder: `V<version>__<desc>.sql` (with `U<version>__<desc>.sql`, an undo, as its
down; none: irreversible), `V...sql.conf` with `executeInTransaction=false` -> the
no-transaction directive. Dotted versions (`1.2.3`) become integers in Flyway's order, the
original kept in the name; repeatable `R__` files are refused. Also Flyway's checksum, to tell
an edited file. Pure: reads files only.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlmig.core.adoption import (
    AdoptionError,
    Conversion,
    PlannedMigration,
    ToolRecord,
    planned,
    read_text,
    sql_file,
)

# Flyway's naming: prefix, version (`.` or `_` between parts), `__`, description
FILE_NAME = re.compile(r"^(?P<prefix>[VU])(?P<version>[0-9]+(?:[._][0-9]+)*)__(?P<desc>.+)\.sql$")
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def version_key(version: str) -> str:
    """A version as Flyway compares it (MigrationVersion): parts as numbers, trailing zero
    parts dropped, so `1_1`, `1.1` and `1.1.0` are one version."""
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return ".".join(map(str, parts))


def order(key: str) -> tuple[int, ...]:
    return tuple(int(p) for p in key.split("."))


def checksum(raw: bytes) -> int:
    """Flyway's checksum of a file (internal/resolver/ChecksumCalculator): CRC32 over its lines
    without their line breaks, a BOM dropped, as a signed 32-bit integer."""
    text = raw.decode("utf-8").removeprefix("\ufeff")
    lines = LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # BufferedReader.readLine sees no line after the last break
    crc = 0
    for line in lines:
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - 2**32 if crc >= 2**31 else crc


def convert(directory: Path) -> Conversion:
    versioned: dict[str, tuple[str, Path, str]] = {}
    undo: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith("R__") and path.name.endswith(".sql"):
            raise AdoptionError(
                f"{path}: a repeatable migration (Flyway reruns it whenever it changes); sqlmig "
                "runs each migration once: fold it into a versioned migration (or keep it "
                "outside migrations, e.g. as a seed), then adopt again")
        match = FILE_NAME.match(path.name)
        if match is None:
            continue
        key = version_key(match["version"])
        if match["prefix"] == "U":
            undo[key] = path
        elif key in versioned:
            raise AdoptionError(f"{path}: version {key} is also {versioned[key][1]}")
        else:
            versioned[key] = (match["desc"], path, match["version"])
    keys = sorted(versioned, key=order)
    dotted = any("." in key for key in keys)
    width = max(4, len(str(len(keys))))
    migrations, notes = [], []
    for index, key in enumerate(keys, start=1):
        desc, path, written = versioned[key]
        no_transaction = _runs_outside_a_transaction(path)
        up = sql_file(read_text(path), no_transaction=no_transaction)
        down = (sql_file(read_text(undo[key]), no_transaction=no_transaction)
                if key in undo else None)
        digits = f"{index:0{width}d}" if dotted else written
        name = f"v{key}_{desc}" if dotted else desc
        migrations.append(planned(digits, name, up, down, str(path), key))
        if dotted:
            notes.append(f"Flyway version {key} is version {digits} ({digits}_{name})")
    return Conversion("flyway", migrations, notes)


@dataclass(frozen=True)
class HistoryRow:
    """One row of flyway_schema_history, as its PostgreSQL createMetaDataTable.sql defines it."""

    installed_rank: int
    version: str | None
    type: str
    script: str
    checksum: int | None
    installed_on: datetime | None
    execution_time: int
    success: bool


def applied(rows: Sequence[HistoryRow], conversion: Conversion) -> list[ToolRecord]:
    """What Flyway's history says is applied, read in installed_rank order as Flyway does:
    undo and delete rows take a version back out, a baseline row covers every version up to
    it. Refuses a failed row and a file edited since Flyway applied it (its checksum)."""
    files = {m.key: m for m in conversion.migrations}
    done: dict[str, ToolRecord] = {}
    for row in sorted(rows, key=lambda r: r.installed_rank):
        if not row.success:
            raise AdoptionError(
                f"flyway_schema_history: {row.script} (version {row.version}, installed_rank "
                f"{row.installed_rank}) failed (success = false) and may be half-applied: fix "
                "the database by hand, run `flyway repair` to remove the row, then adopt again")
        if row.version is None:
            continue  # a repeatable migration's run: no version to adopt
        key = version_key(row.version)
        record = ToolRecord(key, row.installed_on, None, row.execution_time)
        if row.type == "BASELINE":
            done.update((k, replace(record, key=k)) for k in files if order(k) <= order(key))
        elif row.type in ("UNDO_SQL", "UNDO_SCRIPT", "DELETE"):
            done.pop(key, None)
        elif row.type != "SCHEMA":
            _check_unchanged(row, files.get(key))
            done[key] = record
    return sorted(done.values(), key=lambda r: order(r.key))


def _check_unchanged(row: HistoryRow, migration: PlannedMigration | None) -> None:
    if migration is None or row.checksum is None:
        return  # no file: refused by adopted_rows, naming it
    current = checksum(Path(migration.source).read_bytes())
    if current != row.checksum:
        raise AdoptionError(
            f"{migration.source}: edited since Flyway applied it (Flyway's checksum "
            f"{row.checksum}, the file's now {current}); restore the applied version from "
            "version control (or, if the edit is deliberate, `flyway repair`), then adopt")


def _runs_outside_a_transaction(path: Path) -> bool:
    conf = path.with_name(path.name + ".conf")
    if not conf.is_file():
        return False
    for line in read_text(conf).splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executeInTransaction" and value.strip().lower() == "false":
            return True
    return False
