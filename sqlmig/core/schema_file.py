"""The migrations a schema file holds: `dump` ends the file with one comment line per applied
migration (version, name, checksum), the way dbmate appends its versions, so `load` can
record them after applying the schema. Comments keep the file plain SQL for psql.

Pure: writes and reads those lines, and checks them against the migration files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmig.core.files import Migration
from sqlmig.core.plan import Applied
from sqlmig.errors import MigrationFileError, PlanError

HEADER = ("--\n-- sqlmig: the migrations this schema holds (`sqlmig load` records them as "
          "applied)\n--\n\n")
MARKER = "-- sqlmig:applied "
LINE = re.compile(rf"^{MARKER}(?P<version>\d+) (?P<name>[a-z0-9_]+) (?P<checksum>[0-9a-f]{{64}})$")
# What dump writes when no pg_dump suits the server: a catalog snapshot, not SQL.
SNAPSHOT_HEADER = "-- sqlmig schema snapshot"


@dataclass(frozen=True)
class Held:
    """A migration the schema file says it holds, with the checksum it was applied with."""

    version: int
    name: str
    checksum: str

    @property
    def id(self) -> str:
        return f"{self.version:04d}_{self.name}"


def held_block(applied: Sequence[Applied]) -> str:
    """The lines `dump` appends: every applied migration, in version order ("" for none)."""
    rows = [a for a in applied if a.state == "applied"]
    if not rows:
        return ""
    return "\n" + HEADER + "".join(f"{MARKER}{a.version} {a.name} {a.checksum}\n"
                                   for a in sorted(rows, key=lambda a: a.version))


def held(path: Path, text: str) -> list[Held]:
    """The migrations a schema file holds; MigrationFileError naming the line of a malformed
    one, or the file when it is a catalog snapshot rather than SQL."""
    if text.startswith(SNAPSHOT_HEADER):
        raise MigrationFileError(path, "a catalog snapshot (JSON, written when no pg_dump "
                                 "suited the server), not SQL: it cannot be loaded")
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(MARKER):
            match = LINE.match(line)
            if match is None:
                raise MigrationFileError(path, "expected `-- sqlmig:applied VERSION NAME "
                                         "SHA256`", number)
            found.append(Held(int(match["version"]), match["name"], match["checksum"]))
    return found


def plan_load(path: Path, files: Sequence[Migration], contents: Sequence[Held]
              ) -> list[Migration]:
    """The migration files to record as applied: one for each the schema holds, unchanged
    since (so the history verifies); PlanError naming the first that is gone or edited."""
    by_version = {m.version: m for m in files}
    chosen = []
    for item in contents:
        migration = by_version.get(item.version)
        if migration is None or migration.name != item.name:
            raise PlanError(f"{path.name} holds {item.id}, which is not among the migration "
                            "files; load a dump taken with the current files")
        if migration.checksum != item.checksum:
            raise PlanError(f"{path.name} holds {item.id} as applied with checksum "
                            f"{item.checksum[:12]}, but its up file is now "
                            f"{migration.checksum[:12]} (edited after the dump); load a dump "
                            "taken with the current files")
        chosen.append(migration)
    return chosen
