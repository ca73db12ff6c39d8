"""knex: its JavaScript/TypeScript migrations cannot be converted, so the team writes the SQL
pairs in sql/ under the same `VERSION_name` stems; this module pairs each knex file with its
SQL pair (refusing a knex file left without one) and keys it by that stem, as knex's
`knex_migrations.name` records it minus the extension. Pure: reads files only.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlmig.core import files
from sqlmig.core.adoption import AdoptionError, Conversion, PlannedMigration
from sqlmig.core.states import version_text

# what knex loads from its folder (lib/migrations/migrate/sources: loadExtensions)
SCRIPT = re.compile(r"^(?P<stem>[0-9]+_.+)\.(?:js|cjs|mjs|ts|cts|mts|coffee|litcoffee|ls)$")


def stem(name: str) -> str:
    """`20200101120000_create_users.js` -> `20200101120000_create_users`."""
    match = SCRIPT.match(name)
    return match["stem"] if match else name


def convert(directory: Path, migrations_dir: Path) -> Conversion:
    scripts = sorted(p for p in directory.iterdir() if SCRIPT.match(p.name))
    pairs = {m.id: m for m in files.discover(migrations_dir)} if migrations_dir.is_dir() else {}
    for script in scripts:
        if stem(script.name) not in pairs:
            raise AdoptionError(
                f"{script}: knex migrations cannot be converted; write its SQL as "
                f"{migrations_dir.name}/{stem(script.name)}.up.sql and .down.sql first")
    migrations = [
        PlannedMigration(m.version, version_text(m.version, m.digits), m.name, m.up.text,
                         m.down.text if m.down is not None else None, str(m.up.path), m.id)
        for m in pairs.values()
    ]
    return Conversion("knex", migrations)
