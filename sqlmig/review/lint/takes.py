"""The relation locks a statement would take, read from its parse: lint's knowledge of lock
levels (locks.py) per statement, for what cannot be measured (a no-transaction migration, a
statement that timed out in the dry run) and for finding the tables a migration touches.
Pure: never connects. An estimate: PostgreSQL also locks indexes, toast tables and the
tables of foreign keys a statement checks."""

from __future__ import annotations

from typing import Any

from sqlmig.core.pg_ast import enum_name, qualified, relation_key
from sqlmig.review.lint import locks

ROW_EXCLUSIVE = "ROW EXCLUSIVE"  # what INSERT, UPDATE, DELETE and MERGE take

Key = tuple[str | None, str]  # (schema or None for the search_path, relation)
Take = tuple[Key, str]  # a relation as written, and the lock mode it gets


def statement_takes(node: Any) -> list[Take]:
    """(relation, mode) for each relation the statement locks in a mode worth reporting,
    strongest per relation, in the order written; [] for a statement that locks no
    existing relation (or that this estimate does not know)."""
    check = _TAKES.get(type(node).__name__)
    return _strongest(check(node) if check is not None else [])


def sql_takes(text: str) -> list[Take]:
    """statement_takes of every statement in `text`, strongest per relation; [] for text
    pglast cannot parse."""
    from pglast import parser

    try:
        parsed = parser.parse_sql(text)
    except parser.ParseError:
        return []
    return _strongest([take for raw in parsed for take in statement_takes(raw.stmt)])


def _strongest(takes: list[Take]) -> list[Take]:
    """One per relation, its strongest mode, in the order first written."""
    strongest: dict[Key, str] = {}
    for key, mode in takes:
        strongest[key] = locks.strongest([strongest.get(key), mode]) or mode
    return list(strongest.items())


def _alter_table(node: Any) -> list[Take]:
    if enum_name(node.objtype) not in ("OBJECT_TABLE", "OBJECT_MATVIEW"):
        return []
    taken = [(relation_key(node.relation), locks.alter_table(node.cmds))]
    for command in node.cmds or ():
        definition = command.def_
        constraints = (definition,) if type(definition).__name__ == "Constraint" else (
            getattr(definition, "constraints", None) or ())
        taken += [(relation_key(c.pktable), locks.SHARE_ROW_EXCLUSIVE) for c in constraints
                  if type(c).__name__ == "Constraint" and enum_name(c.contype) == "CONSTR_FOREIGN"]
    return taken


def _create_table(node: Any) -> list[Take]:
    constraints = [c for element in node.tableElts or ()
                   for c in (element.constraints or () if type(element).__name__ == "ColumnDef"
                             else (element,))]
    return [(relation_key(c.pktable), locks.SHARE_ROW_EXCLUSIVE) for c in constraints
            if type(c).__name__ == "Constraint" and enum_name(c.contype) == "CONSTR_FOREIGN"]


def _create_index(node: Any) -> list[Take]:
    mode = locks.SHARE_UPDATE_EXCLUSIVE if node.concurrent else locks.SHARE
    return [(relation_key(node.relation), mode)]


def _drop(node: Any) -> list[Take]:
    kind = enum_name(node.removeType)
    if kind not in ("OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_MATVIEW", "OBJECT_VIEW"):
        return []
    mode = locks.SHARE_UPDATE_EXCLUSIVE if node.concurrent else locks.ACCESS_EXCLUSIVE
    return [(qualified(parts), mode) for parts in node.objects or ()]


def _rename(node: Any) -> list[Take]:
    if node.relation is None:
        return []
    return [(relation_key(node.relation), locks.ACCESS_EXCLUSIVE)]


def _reindex(node: Any) -> list[Take]:
    if node.relation is None:
        return []
    concurrent = any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    mode = locks.SHARE_UPDATE_EXCLUSIVE if concurrent else locks.SHARE
    return [(relation_key(node.relation), mode)]


def _vacuum(node: Any) -> list[Take]:
    full = any(getattr(o, "defname", None) == "full" for o in node.options or ())
    mode = locks.ACCESS_EXCLUSIVE if full else locks.SHARE_UPDATE_EXCLUSIVE
    return [(relation_key(r.relation), mode) for r in node.rels or () if r.relation is not None]


def _on_relation(mode: str) -> Any:
    def takes(node: Any) -> list[Take]:
        return [] if node.relation is None else [(relation_key(node.relation), mode)]
    return takes


def _lock(node: Any) -> list[Take]:
    mode = locks.LOCK_STATEMENT_MODES.get(node.mode)
    return [(relation_key(r), mode) for r in node.relations or ()] if mode else []


def _truncate(node: Any) -> list[Take]:
    return [(relation_key(r), locks.ACCESS_EXCLUSIVE) for r in node.relations or ()]


def _refresh(node: Any) -> list[Take]:
    mode = locks.EXCLUSIVE if node.concurrent else locks.ACCESS_EXCLUSIVE
    return [(relation_key(node.relation), mode)]


_TAKES: dict[str, Any] = {
    "AlterTableStmt": _alter_table,
    "CreateStmt": _create_table,
    "IndexStmt": _create_index,
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "ReindexStmt": _reindex,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _on_relation(locks.ACCESS_EXCLUSIVE),
    "LockStmt": _lock,
    "TruncateStmt": _truncate,
    "CreateTrigStmt": _on_relation(locks.SHARE_ROW_EXCLUSIVE),
    "RefreshMatViewStmt": _refresh,
    "CreatePolicyStmt": lambda node: [(relation_key(node.table), locks.ACCESS_EXCLUSIVE)],
    "InsertStmt": _on_relation(ROW_EXCLUSIVE),
    "UpdateStmt": _on_relation(ROW_EXCLUSIVE),
    "DeleteStmt": _on_relation(ROW_EXCLUSIVE),
    "MergeStmt": _on_relation(ROW_EXCLUSIVE),
}
