"""Reading pglast's AST: names of relations, types and functions, constants, node walks.

Pure helpers for the linter; never parses or prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def relation_key(relation: Any) -> tuple[str | None, str]:
    return (relation.schemaname, relation.relname)


def among(key: tuple[str | None, str], keys: set[tuple[str | None, str]]) -> bool:
    """Same name, and the same schema when both name one (unqualified means search_path)."""
    schema, name = key
    return any(n == name and (schema is None or s is None or s == schema) for s, n in keys)


def strings(node: Any) -> list[str]:
    if type(node).__name__ == "TypeName":
        node = node.names
    if type(node).__name__ == "String":
        return [node.sval]
    return [part.sval for part in node or () if type(part).__name__ == "String"]


def qualified_strings(parts: list[str]) -> tuple[str | None, str]:
    if not parts:
        return (None, "")
    return (parts[-2] if len(parts) > 1 else None, parts[-1])


def qualified(node: Any) -> tuple[str | None, str]:
    return qualified_strings(strings(node))


def dotted(key: tuple[str | None, str]) -> str:
    return f"{key[0]}.{key[1]}" if key[0] else key[1]


def relation_name(relation: Any) -> str:
    return dotted(relation_key(relation))


def type_name(type_name: Any) -> str:
    names = strings(type_name) if type_name is not None else []
    return names[-1] if names else ""


def nodes(value: Any) -> Iterator[Any]:
    from pglast import ast

    if isinstance(value, ast.Node):
        yield value
        for attribute in value:
            yield from nodes(getattr(value, attribute))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from nodes(item)


def function_names(expr: Any) -> set[str]:
    return {strings(n.funcname)[-1] for n in nodes(expr)
            if type(n).__name__ == "FuncCall" and strings(n.funcname)}


def constant(node: Any) -> str | None:
    """The text of a literal (string or number), else None."""
    value = getattr(node, "val", None)
    for attribute in ("sval", "ival", "fval"):
        if hasattr(value, attribute):
            return str(getattr(value, attribute))
    return None
