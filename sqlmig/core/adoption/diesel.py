"""Diesel's folder (and Sourcegraph's): a folder per migration, `2019-01-01-000000_name/`
holding `up.sql` and `down.sql`; its version is the digits of the folder's prefix, as Diesel
records it (migrations_internals::version_from_string drops the dashes). `metadata.toml` with
`run_in_transaction = false` becomes the no-transaction directive. Pure: reads files only.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from sqlmig.core.adoption import AdoptionError, Conversion, planned, read_text, sql_file

# Sourcegraph names a migration in metadata.yaml when its folder is the bare version
YAML_NAME = re.compile(r"^name:\s*['\"]?(?P<name>[^'\"\n]+?)['\"]?\s*$", re.MULTILINE)


def convert(directory: Path) -> Conversion:
    migrations = []
    for folder in sorted(directory.iterdir()):
        if folder.name.startswith(".") or not (folder / "up.sql").is_file():
            continue  # Diesel skips the same folders
        prefix, _, name = folder.name.partition("_")
        key = prefix.replace("-", "")
        if not key.isdigit():
            raise AdoptionError(f"{folder}: the version {prefix!r} is not a number; sqlmig "
                                "versions are digits: rename the folder first")
        no_transaction = _runs_outside_a_transaction(folder)
        up = sql_file(read_text(folder / "up.sql"), no_transaction=no_transaction)
        down = None
        if (folder / "down.sql").is_file():
            down = sql_file(read_text(folder / "down.sql"), no_transaction=no_transaction)
        migrations.append(planned(key, name or _yaml_name(folder), up, down, str(folder)))
    migrations.sort(key=lambda m: m.version)
    return Conversion("diesel", migrations)


def _runs_outside_a_transaction(folder: Path) -> bool:
    path = folder / "metadata.toml"
    if not path.is_file():
        return False
    try:
        metadata = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as err:
        raise AdoptionError(f"{path}: not valid TOML ({err})") from None
    return metadata.get("run_in_transaction", True) is False


def _yaml_name(folder: Path) -> str:
    path = folder / "metadata.yaml"
    match = YAML_NAME.search(read_text(path)) if path.is_file() else None
    return re.sub(r"\W+", "_", match["name"]).strip("_") if match else "migration"
