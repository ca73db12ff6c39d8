"""Does a down file undo what its up creates? The objects an up migration creates, and whether
its down drops each (itself, with its table or its schema) or restores it (CREATE OR REPLACE).

Pure: parses text with pglast, never connects or prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmig.core.pg_ast import (
    among,
    enum_name,
    qualified,
    qualified_strings,
    relation_key,
    strings,
)
from sqlmig.review.lint import parsed


@dataclass(frozen=True)
class Created:
    """An object an up migration creates, to be found again among its down's drops."""

    kind: str  # table, view, matview, index, sequence, type, function, schema, extension, ...
    schema: str | None
    name: str
    table: tuple[str | None, str] | None  # for indexes, triggers, columns, constraints
    line: int
    column: int | None
    replace: bool = False  # CREATE OR REPLACE: a down may also restore it with OR REPLACE
    ignored: frozenset[str] = frozenset()
    function: tuple[str | None, str] | None = None  # a trigger's: DROP FUNCTION CASCADE drops it
    statement: int = 0  # the offset of the statement that creates it (for lint-ignore)


# DROP object types, as the kinds `Created` uses.
DROP_KINDS = {
    "OBJECT_TABLE": "table", "OBJECT_FOREIGN_TABLE": "table", "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "matview", "OBJECT_INDEX": "index", "OBJECT_SEQUENCE": "sequence",
    "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function", "OBJECT_AGGREGATE": "function",
    "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension", "OBJECT_TRIGGER": "trigger",
}


@dataclass
class Drops:
    """What a down file removes (or restores with CREATE OR REPLACE)."""

    objects: set[tuple[str, str | None, str]] = field(default_factory=set)
    cascaded: set[tuple[str | None, str]] = field(default_factory=set)  # functions, CASCADE
    table_parts: set[tuple[str, tuple[str | None, str], str]] = field(default_factory=set)
    replaced: set[tuple[str, str | None, str]] = field(default_factory=set)

    def covers(self, created: Created) -> bool:
        if created.function is not None and among(created.function, self.cascaded):
            return True
        if created.kind == "enum-value":  # gone only with the type (dropped or rebuilt)
            return among((created.schema, created.name), self._of("type"))
        if created.table is not None:
            if among(created.table, self._of("table") | self._of("matview") | self._of("view")):
                return True
            if created.kind in ("column", "constraint", "trigger"):
                return any(kind == created.kind and name == created.name and
                           among(table, {created.table})
                           for kind, table, name in self.table_parts)
        schema = created.schema or (created.table[0] if created.table else None)
        if schema is not None and schema in self._names("schema"):
            return True
        key = (created.schema, created.name)
        if among(key, self._of(created.kind)):
            return True
        return created.replace and among(key, {(s, n) for k, s, n in self.replaced
                                                if k == created.kind})

    def _of(self, kind: str) -> set[tuple[str | None, str]]:
        return {(schema, name) for k, schema, name in self.objects if k == kind}

    def _names(self, kind: str) -> set[str]:
        return {name for k, _schema, name in self.objects if k == kind}


def down_drops(text: str) -> Drops | None:
    """None when the down cannot be judged: it does not parse, or builds SQL dynamically."""
    statements = parsed.statements(text)
    if statements is None:
        return None
    drops = Drops()
    for raw in statements:
        node: Any = raw.stmt
        kind = type(node).__name__
        if kind == "DoStmt":
            return None
        if kind == "DropStmt":
            _collect_drop(drops, node)
        elif kind == "AlterTableStmt":
            table = relation_key(node.relation)
            for command in node.cmds or ():
                subtype = enum_name(command.subtype)
                if subtype == "AT_DropColumn":
                    drops.table_parts.add(("column", table, command.name))
                elif subtype == "AT_DropConstraint":
                    drops.table_parts.add(("constraint", table, command.name))
        elif kind in ("CreateEnumStmt", "RenameStmt") and (rebuilt := _type_rebuilt(node)):
            drops.objects.add(("type", *rebuilt))  # the enum rebuilt without a value
        elif kind == "CreateFunctionStmt" and node.replace:
            drops.replaced.add(("function", *qualified(node.funcname)))
        elif kind == "ViewStmt" and node.replace:
            drops.replaced.add(("view", node.view.schemaname, node.view.relname))
        elif kind == "CreateTrigStmt" and getattr(node, "replace", False):
            drops.table_parts.add(("trigger", relation_key(node.relation), node.trigname))
    return drops


def _collect_drop(drops: Drops, node: Any) -> None:
    kind = DROP_KINDS.get(enum_name(node.removeType))
    if kind is None:
        return
    for target in node.objects or ():
        if kind == "trigger":
            *table, name = strings(target)
            drops.table_parts.add(("trigger", qualified_strings(table), name))
        elif kind == "function":
            drops.objects.add((kind, *qualified(target.objname)))
            if enum_name(node.behavior) == "DROP_CASCADE":
                drops.cascaded.add(qualified(target.objname))
        else:
            drops.objects.add((kind, *qualified(target)))


def _type_rebuilt(node: Any) -> tuple[str | None, str] | None:
    """The type a down re-creates (CREATE TYPE ... AS ENUM) or renames out of the way."""
    if type(node).__name__ == "CreateEnumStmt":
        return qualified(node.typeName)
    if enum_name(node.renameType) == "OBJECT_TYPE":
        return qualified(node.object)
    return None


def uncovered(created: list[Created], down_text: str) -> list[Created]:
    """The created objects the down leaves behind; none when the down cannot be judged."""
    drops = down_drops(down_text)
    if drops is None:
        return []
    return [c for c in created if not drops.covers(c)]
