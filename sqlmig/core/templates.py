"""`sqlmig new`: the next file pair's name and its SQL for each template.

Pure: returns text; commands.new writes the files. A bad argument is a ConfigError naming
it. Column specs are `name:type[:notnull][:unique][:default=EXPR][:references=table.col]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmig.errors import ConfigError

TEMPLATES = ("create_table", "alter_table", "create_index", "raw", "empty")
IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
QUALIFIED = re.compile(r"^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    unique: bool = False
    default: str | None = None
    references: str | None = None  # `table (column)`

    def definition(self) -> str:
        parts = [self.name, self.type]
        if self.not_null:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.references:
            parts.append(f"REFERENCES {self.references}")
        return " ".join(parts)


def slug(name: str) -> str:
    """`Add user settings` -> `add_user_settings`: the file-name part of a migration."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if not cleaned:
        raise ConfigError(f"NAME: {name!r} has no letters or digits to name a migration")
    return cleaned


def parse_column(spec: str, *, typed: bool = True) -> Column:
    """A column spec; `typed=False` (index columns) accepts a bare name."""
    # `::` is a cast (default='{}'::jsonb), not a separator
    parts = re.split(r"(?<!:):(?!:)", spec)
    if not typed and len(parts) == 1:
        parts.append("")
    elif len(parts) < 2 or not parts[1].strip():
        raise ConfigError(f"--column {spec!r}: expected name:type[:notnull][:unique]...")
    name, type_ = parts[0].strip(), parts[1].strip()
    if not IDENT.match(name):
        raise ConfigError(f"--column {spec!r}: {name!r} is not a lower-case SQL identifier")
    if ";" in type_:
        raise ConfigError(f"--column {spec!r}: a type cannot contain ';'")
    options: dict[str, object] = {}
    rest = parts[2:]
    while rest:
        part = rest.pop(0)
        key, _, value = part.partition("=")
        key = _option_key(key)
        if key == "default" and value:
            # a default may hold colons ('09:00'::time): it runs to the next option
            while rest and not _is_option(rest[0]):
                value += ":" + rest.pop(0)
        if key == "notnull":
            options["not_null"] = True
        elif key == "unique":
            options["unique"] = True
        elif key == "default" and value:
            options["default"] = value
        elif key == "references" and value:
            # `schema.table.column`, `table.column`, or a bare `table` (its id column)
            parts = value.split(".")
            table, column = (".".join(parts[:2]), parts[2]) if len(parts) == 3 else (
                parts[0], parts[1] if len(parts) == 2 else ""
            )
            if not QUALIFIED.match(table) or (column and not IDENT.match(column)):
                raise ConfigError(f"--column {spec!r}: references={value} is not table[.column]")
            options["references"] = f"{table} ({column or 'id'})"
        else:
            raise ConfigError(
                f"--column {spec!r}: unknown option {part!r} "
                "(notnull, unique, default=EXPR, references=table.col)"
            )
    return Column(name, type_, **options)  # type: ignore[arg-type]


def _option_key(key: str) -> str:
    return key.strip().lower().replace("_", "").replace("-", "")


def _is_option(part: str) -> bool:
    key, equals, _ = part.partition("=")
    key = _option_key(key)
    if equals:
        return key in ("default", "references")
    return key in ("notnull", "unique")


TIMESTAMP = "%Y%m%d%H%M%S"


def next_version(existing: Sequence[str], now: datetime | None = None) -> str:
    """The next version as its file name writes it: one above the newest, as wide as the
    widest in use (`0001` in a new folder); or, in a folder numbered by timestamps (the newest
    version reads as YYYYMMDDHHMMSS), the current UTC time, kept above the newest."""
    if not existing:
        return "0001"
    newest = max(existing, key=int)
    if _is_timestamp(newest):
        stamp = (now or datetime.now(UTC)).strftime(TIMESTAMP)
        return str(max(int(stamp), int(newest) + 1))
    return f"{int(newest) + 1:0{max(len(d) for d in existing)}d}"


def _is_timestamp(digits: str) -> bool:
    if len(digits) != 14:
        return False
    try:
        datetime.strptime(digits, TIMESTAMP)
    except ValueError:
        return False
    return True


def render(
    template: str, name: str, table: str | None, columns: list[Column]
) -> tuple[str, str]:
    """(up SQL, down SQL) for a template."""
    if template not in TEMPLATES:
        raise ConfigError(f"--template: {template!r} is not one of {', '.join(TEMPLATES)}")
    if template in ("create_table", "alter_table", "create_index"):
        if not table:
            raise ConfigError(f"--table is required for the {template} template")
        if not QUALIFIED.match(table):
            raise ConfigError(f"--table: {table!r} is not a lower-case [schema.]table name")
    header = f"-- Migration: {name}\n"
    if template == "create_table":
        assert table
        body = ["    id uuid PRIMARY KEY DEFAULT gen_random_uuid()"]
        body += [f"    {c.definition()}" for c in columns]
        body += [
            "    created_at timestamptz NOT NULL DEFAULT now()",
            "    updated_at timestamptz NOT NULL DEFAULT now()",
            "    deleted_at timestamptz",
        ]
        up = f"{header}\nCREATE TABLE {table} (\n" + ",\n".join(body) + "\n);\n"
        down = f"{header}\nDROP TABLE {table};\n"
        return up, down
    if template == "alter_table":
        assert table
        if not columns:
            raise ConfigError("--column is required for the alter_table template (one or more)")
        adds = ",\n".join(f"    ADD COLUMN {c.definition()}" for c in columns)
        drops = ",\n".join(f"    DROP COLUMN {c.name}" for c in reversed(columns))
        # a blocked ALTER fails after 5 s instead of queueing every query on the table
        directive = "-- sqlmig:lock-timeout 5s\n"
        up = f"{directive}{header}\nALTER TABLE {table}\n{adds};\n"
        down = f"{directive}{header}\nALTER TABLE {table}\n{drops};\n"
        return up, down
    if template == "create_index":
        assert table
        if not columns:
            raise ConfigError("--column is required for the create_index template (one or more)")
        names = [c.name for c in columns]
        index = f"{table.split('.')[-1]}_{'_'.join(names)}_idx"
        schema = f"{table.split('.')[0]}." if "." in table else ""
        directive = "-- sqlmig:no-transaction\n"
        up = (
            f"{directive}{header}\n"
            "-- CONCURRENTLY builds the index without blocking writes; it cannot run in a\n"
            "-- transaction, hence the no-transaction directive above.\n"
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} ({', '.join(names)});\n"
        )
        down = f"{directive}{header}\nDROP INDEX CONCURRENTLY IF EXISTS {schema}{index};\n"
        return up, down
    if template == "raw":
        up = (
            f"{header}"
            "-- Plain SQL, run in one transaction together with its history row.\n"
            "-- Header directives (before the first statement):\n"
            "--   -- sqlmig:no-transaction   run outside a transaction (CONCURRENTLY, VACUUM)\n"
            "--   -- sqlmig:irreversible     no down file; rollback stops here\n\n"
        )
        down = f"{header}-- Undo exactly what the up file does, in reverse order.\n\n"
        return up, down
    return header, header
