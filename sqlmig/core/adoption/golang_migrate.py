"""golang-migrate's folder: `VERSION_name.up.sql` / `VERSION_name.down.sql`, any version width.
golang-migrate sends each file as one query outside a transaction, so a file PostgreSQL would
refuse inside sqlmig's transaction gets the no-transaction directive. Pure: reads files only.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlmig.core.adoption import (
    AdoptionError,
    Conversion,
    planned,
    read_text,
    sql_file,
)

# golang-migrate's own pattern (source/parse.go): version, `_`, name, direction, extension
FILE_NAME = re.compile(r"^(?P<digits>[0-9]+)_(?P<name>.*)\.(?P<direction>up|down)\.sql$")


def convert(directory: Path) -> Conversion:
    ups: dict[str, tuple[str, Path]] = {}
    downs: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        match = FILE_NAME.match(path.name)
        if match is None:
            continue
        if match["direction"] == "up":
            ups[match["digits"]] = (match["name"], path)
        else:
            downs[match["digits"]] = path
    for digits, path in downs.items():
        if digits not in ups:
            raise AdoptionError(f"{path}: a down file with no up file")
    migrations = []
    for digits, (name, up_path) in ups.items():
        up = sql_file(read_text(up_path))
        down_path = downs.get(digits)
        down = sql_file(read_text(down_path)) if down_path else None
        migrations.append(planned(digits, name, up, down, str(up_path), str(int(digits))))
    migrations.sort(key=lambda m: m.version)
    return Conversion("golang-migrate", migrations)
