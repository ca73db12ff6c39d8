"""The safer SQL for a finding, written with the migration's own names (the way
strong_migrations shows it): printed by pglast from the user's statement, changed where the
safe recipe differs. Pure."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

NO_TRANSACTION = "-- sqlmig:no-transaction   (a file of its own)\n"
LATER = "-- in a later migration:\n"


def sql(node: Any) -> str:
    from pglast.stream import RawStream

    return str(RawStream()(node))


def changed(node: Any, **attributes: Any) -> Any:
    """A shallow copy of a parse node with some attributes replaced."""
    copied = copy.copy(node)
    for name, value in attributes.items():
        setattr(copied, name, value)
    return copied


def constraint_name(table: str, columns: Iterable[str], suffix: str) -> str:
    """The name PostgreSQL would give, so the suggestion can VALIDATE it by name."""
    return "_".join([table.rsplit(".", 1)[-1], *columns, suffix])


def concurrent_index(node: Any) -> str:
    return (NO_TRANSACTION
            + sql(changed(node, concurrent=True, if_not_exists=bool(node.idxname))) + ";")


def not_valid_then_validate(table: str, constraint: Any, columns: Iterable[str],
                            suffix: str) -> str:
    name = constraint.conname or constraint_name(table, columns, suffix)
    added = sql(changed(constraint, conname=name, skip_validation=True))
    return (f"ALTER TABLE {table} ADD {added};\n{LATER}"
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {name};")


def set_not_null(table: str, column: str) -> str:
    name = constraint_name(table, [column], "not_null")
    return (f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IS NOT NULL) "
            f"NOT VALID;\n{LATER}ALTER TABLE {table} VALIDATE CONSTRAINT {name};\n{LATER}"
            f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;\n"
            f"ALTER TABLE {table} DROP CONSTRAINT {name};")


def column_then_default(table: str, column: Any, default: Any) -> str:
    name, expression = column.colname, sql(default)
    return (f"ALTER TABLE {table} ADD COLUMN {name} {sql(column.typeName)};\n"
            f"ALTER TABLE {table} ALTER COLUMN {name} SET DEFAULT {expression};\n"
            "-- then backfill in batches, each its own transaction (a no-transaction file):\n"
            f"-- UPDATE {table} SET {name} = {expression} WHERE {name} IS NULL AND <key range>;")


def unique_using_index(table: str, constraint: Any, kind: str) -> str:
    columns = [getattr(k, "sval", "") for k in constraint.keys or ()]
    suffix = "pkey" if kind == "PRIMARY KEY" else "key"
    index = constraint.conname or constraint_name(table, columns, suffix)
    return (f"{NO_TRANSACTION}CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} "
            f"({', '.join(columns)});\n{LATER}"
            f"ALTER TABLE {table} ADD CONSTRAINT {index} {kind} USING INDEX {index};")
