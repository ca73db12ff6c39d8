"""What earlier up migrations of a lint run left in the schema, as far as lint follows it:
column types, NOT NULL checks and functions' volatility. It lets a later file's ALTER COLUMN
TYPE, SET NOT NULL or DEFAULT be judged by what the column or function really is.

Tables are keyed by name alone (schemas aside): migrations rarely reuse a name across schemas,
and a wrong guess only costs a finding. Pure: fed parse trees, never connects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmig.core.pg_ast import constant, enum_name, strings


@dataclass(frozen=True)
class ColumnType:
    name: str  # the type's own name as PostgreSQL stores it: varchar, int4, numeric, text...
    modifiers: tuple[int, ...]  # (20,) for varchar(20), (10, 2) for numeric(10,2)
    array: bool = False

    @classmethod
    def of(cls, node: Any) -> ColumnType | None:
        """None for what lint cannot compare (%TYPE, non-constant modifiers)."""
        if node is None or node.pct_type or not strings(node):
            return None
        modifiers = []
        for modifier in node.typmods or ():
            value = constant(modifier)
            if value is None or not value.lstrip("-").isdigit():
                return None
            modifiers.append(int(value))
        return cls(strings(node)[-1], tuple(modifiers), bool(node.arrayBounds))

    def shown(self) -> str:
        """As users write it: integer, not int4."""
        modifiers = f"({', '.join(map(str, self.modifiers))})" if self.modifiers else ""
        name = _WRITTEN.get(self.name, self.name)
        return f"{name}{modifiers}{'[]' if self.array else ''}"


_WRITTEN = {"int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
            "float8": "double precision", "bool": "boolean", "bpchar": "char"}


# Types whose modifier can grow (or go) without PostgreSQL touching a row: the length of
# varchar and varbit, the precision of time types (their *_support functions say so).
_GROWS_IN_PLACE = frozenset({"varchar", "varbit", "timestamp", "timestamptz", "time", "timetz"})
# Binary-coercible pairs: the stored bytes are already valid in the new type.
_BINARY = frozenset({("varchar", "text"), ("text", "varchar"), ("cidr", "inet")})


def rewrites(old: ColumnType, new: ColumnType) -> bool:
    """Whether ALTER COLUMN ... TYPE new (without USING) rewrites a column of type old."""
    if old.array != new.array:
        return True
    if old.name != new.name:  # text -> varchar(n) checks and converts every value
        return (old.name, new.name) not in _BINARY or bool(new.modifiers)
    if old.modifiers == new.modifiers:
        return False
    if old.name not in _GROWS_IN_PLACE | {"numeric"}:
        return True
    if not new.modifiers:
        return False  # the limit dropped
    if not old.modifiers:
        return True  # a limit added: every value is checked and converted
    if old.name == "numeric":
        precision, scale = (*old.modifiers, 0)[:2]
        new_precision, new_scale = (*new.modifiers, 0)[:2]
        return new_scale != scale or new_precision < precision
    return new.modifiers[0] < old.modifiers[0]


def not_null_check(expr: Any) -> str | None:
    """The column of a `CHECK (col IS NOT NULL)`, else None."""
    if type(expr).__name__ != "NullTest" or enum_name(expr.nulltesttype) != "IS_NOT_NULL":
        return None
    fields = strings(getattr(expr.arg, "fields", None) or ())
    return fields[-1] if len(fields) == 1 else None


@dataclass
class Table:
    columns: dict[str, ColumnType | None] = field(default_factory=dict)
    # constraint -> (the column it proves NOT NULL, whether it is validated)
    checks: dict[str, tuple[str, bool]] = field(default_factory=dict)


@dataclass
class Known:
    tables: dict[str, Table] = field(default_factory=dict)
    volatile: dict[str, bool] = field(default_factory=dict)  # functions created, by name

    def table(self, name: str) -> Table:
        return self.tables.setdefault(name, Table())

    def column_type(self, table: str, column: str) -> ColumnType | None:
        known = self.tables.get(table)
        return known.columns.get(column) if known is not None else None

    def not_null_proven(self, table: str, column: str) -> bool:
        known = self.tables.get(table)
        return known is not None and (column, True) in known.checks.values()

    def has_valid_check(self, table: str) -> bool:
        known = self.tables.get(table)
        return known is not None and any(valid for _column, valid in known.checks.values())

    def validate(self, table: str, name: str) -> None:
        checks = self.table(table).checks
        if name in checks:
            checks[name] = (checks[name][0], True)

    def drop_table(self, table: str) -> None:
        self.tables.pop(table, None)

    def rename_table(self, table: str, new: str) -> None:
        if table in self.tables:
            self.tables[new] = self.tables.pop(table)

    def rename_column(self, table: str, column: str, new: str) -> None:
        known = self.tables.get(table)
        if known is None:
            return
        if column in known.columns:
            known.columns[new] = known.columns.pop(column)
        known.checks = {name: (new if c == column else c, valid)
                        for name, (c, valid) in known.checks.items()}

    def drop_column(self, table: str, column: str) -> None:
        known = self.tables.get(table)
        if known is not None:
            known.columns.pop(column, None)
            known.checks = {k: v for k, v in known.checks.items() if v[0] != column}
