"""Seed files on disk: `seeds/<set>/NN_name.sql` and `NN_[schema.]table.csv`, in file-name order,
with the parameters a seed takes from environment variables.

Pure: reads files, never connects. Which set an environment uses is config's business.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlmig.core.directives import parse_directives
from sqlmig.core.sqlfile import normalise
from sqlmig.errors import MigrationFileError

SEED_NAME = re.compile(r"^(?P<order>\d+)_(?P<name>[A-Za-z0-9_$.]+)\.(?P<kind>sql|csv)$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
PARAM = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\s*=\s*(?P<variable>[A-Za-z_][A-Za-z0-9_]*)$")
SEED_DIRECTIVES = {
    "param": "NAME=ENV_VAR: current_setting('sqlmig.NAME') holds the variable's value",
}


@dataclass(frozen=True)
class Seed:
    path: Path
    kind: str  # "sql" | "csv"
    name: str  # file name without order prefix and extension: `users`, `audit.events`
    params: tuple[tuple[str, str], ...]  # (setting name, environment variable) for sql seeds

    @property
    def stem(self) -> str:
        return self.path.name.rsplit(".", 1)[0]

    @property
    def table(self) -> tuple[str, ...]:
        """`(schema, table)` or `(table,)` for a csv seed."""
        return tuple(self.name.split("."))

    def matches(self, only: str) -> bool:
        return only in (self.stem, self.name, self.path.name)


def discover(directory: Path) -> list[Seed]:
    """Seeds in file-name order. A missing directory means no seeds; a bad name is an error."""
    if not directory.is_dir():
        return []
    seeds = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix not in (".sql", ".csv") or not path.is_file():
            continue
        match = SEED_NAME.match(path.name)
        if match is None:
            raise MigrationFileError(
                path, "seed name does not match NN_name.sql or NN_[schema.]table.csv"
            )
        kind, name = match["kind"], match["name"]
        params: tuple[tuple[str, str], ...] = ()
        if kind == "csv":
            parts = name.split(".")
            if len(parts) > 2 or not all(IDENTIFIER.match(p) for p in parts):
                raise MigrationFileError(
                    path, f"'{name}' is not a table name (table or schema.table)"
                )
        else:
            params = tuple(_params(path).items())
        seeds.append(Seed(path, kind, name, params))
    return seeds


def _params(path: Path) -> dict[str, str]:
    text = normalise(path.read_bytes(), path)
    params = {}
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("-- sqlmig:param"):
            match = PARAM.match(stripped.removeprefix("-- sqlmig:param").strip())
            if match is None:
                raise MigrationFileError(
                    path, "sqlmig:param needs NAME=ENV_VAR, e.g. admin_password=SEED_PASSWORD",
                    number,
                )
            params[match["name"]] = match["variable"]
    parse_directives(text, path, SEED_DIRECTIVES)  # typos in the header are errors too
    return params


def read_sql(seed: Seed) -> str:
    return normalise(seed.path.read_bytes(), seed.path)


def csv_header(seed: Seed) -> list[str]:
    """Column names from the first row; they become quoted identifiers, never raw SQL."""
    with seed.path.open("r", encoding="utf-8-sig", newline="") as handle:
        try:
            header = next(csv.reader(handle))
        except StopIteration:
            raise MigrationFileError(seed.path, "CSV seed is empty: no header row") from None
        except (UnicodeDecodeError, csv.Error) as err:
            raise MigrationFileError(seed.path, f"unreadable header row: {err}", 1) from None
    columns = [c.strip() for c in header]
    if not columns or any(not c for c in columns):
        raise MigrationFileError(seed.path, "CSV header has an empty column name", 1)
    if len(set(columns)) != len(columns):
        raise MigrationFileError(seed.path, "CSV header names a column twice", 1)
    return columns


def open_csv(path: Path) -> io.BufferedReader:
    """The CSV file opened for streaming in binary chunks (a UTF-8 BOM is skipped)."""
    handle = path.open("rb")
    if handle.peek(3)[:3] == b"\xef\xbb\xbf":
        handle.read(3)
    return handle
