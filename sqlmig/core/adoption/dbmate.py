"""dbmate's folder: one `VERSION_name.sql` per migration, its `-- migrate:up` and
`-- migrate:down` sections becoming the pair; `transaction:false` on a section's marker line
becomes the no-transaction directive. Pure: reads files only.
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

# dbmate's pkg/dbmate/migration.go: the version is the leading digits
FILE_NAME = re.compile(r"^(?P<digits>[0-9]+)_?(?P<name>.*)\.sql$")
# a section's marker line and its options (pkg/dbmate/migration.go: upRegExp, downRegExp)
MARKER = re.compile(r"^--\s*migrate:(?P<direction>up|down)(?P<options>[^\n]*)$", re.MULTILINE)


def convert(directory: Path) -> Conversion:
    migrations = []
    for path in sorted(directory.iterdir()):
        match = FILE_NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        sections = _sections(path, read_text(path))
        up = sections.get("up")
        if up is None:
            raise AdoptionError(f"{path}: no `-- migrate:up` line; dbmate would refuse it too")
        migrations.append(planned(match["digits"], match["name"] or "migration", up,
                                  sections.get("down"), str(path)))
    migrations.sort(key=lambda m: m.version)
    return Conversion("dbmate", migrations)


def _sections(path: Path, text: str) -> dict[str, str]:
    """Each section's SQL, converted: from its marker line to the next marker."""
    markers = list(MARKER.finditer(text))
    sections: dict[str, str] = {}
    for index, marker in enumerate(markers):
        direction = marker["direction"]
        if direction in sections:
            raise AdoptionError(f"{path}: more than one `-- migrate:{direction}` section")
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        body = text[marker.end():end].strip("\n") + "\n"
        no_transaction = "transaction:false" in marker["options"].split()
        sections[direction] = sql_file(body, no_transaction=no_transaction)
    return sections
