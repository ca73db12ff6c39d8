"""One check per kind of statement: what it does to an existing table, and what it creates
(for the down-does-not-drop check). Each reports through FileState."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlmig.core.pg_ast import (
    among,
    constant,
    dotted,
    enum_name,
    function_names,
    nodes,
    qualified,
    relation_key,
    relation_name,
    strings,
    type_name,
)
from sqlmig.review.lint.state import FileState

ZERO_DURATION = re.compile(r"^\s*0+\s*(us|ms|s|min|h|d)?\s*$")


# Functions whose DEFAULT makes PostgreSQL rewrite the table to fill every existing row.
VOLATILE = frozenset({
    "random", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "nextval", "random_normal",
    "txid_current", "setseed",
})


SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


def _create_table(state: FileState, node: Any) -> None:
    relation = node.relation
    state.created_tables.add(relation_key(relation))
    if relation.relpersistence != "t":
        state.remember("table", relation.schemaname, relation.relname)


def _create_table_as(state: FileState, node: Any) -> None:
    relation = node.into.rel
    state.created_tables.add(relation_key(relation))
    if relation.relpersistence != "t":
        kind = "matview" if enum_name(node.objtype) == "OBJECT_MATVIEW" else "table"
        state.remember(kind, relation.schemaname, relation.relname)


def _select(state: FileState, node: Any) -> None:
    into = getattr(node, "intoClause", None)
    if into is not None:  # SELECT ... INTO new_table
        state.created_tables.add(relation_key(into.rel))
    for call in nodes(node):
        if type(call).__name__ != "FuncCall" or strings(call.funcname)[-1:] != ["set_config"]:
            continue
        name, value = (constant(arg) for arg in (call.args or (None, None))[:2])
        if name == "lock_timeout":
            state.lock_timeout = value is None or not ZERO_DURATION.match(value)


def _create_index(state: FileState, node: Any) -> None:
    relation = node.relation
    if not node.concurrent and state.existing(relation):
        state.report("index-not-concurrent",
                     f"CREATE INDEX on existing table {relation_name(relation)} blocks its writes "
                     "until the index is built")
    if node.idxname:
        state.remember("index", relation.schemaname, node.idxname, table=relation_key(relation))


def _alter_table(state: FileState, node: Any) -> None:
    if enum_name(node.objtype) != "OBJECT_TABLE":
        return
    relation = node.relation
    existing = state.existing(relation)
    table = relation_name(relation)
    if existing:
        _needs_lock_timeout(state, f"ALTER TABLE {table}")
    for command in node.cmds or ():
        subtype = enum_name(command.subtype)
        definition = command.def_
        if subtype == "AT_AddColumn":
            if existing:
                _added_column(state, table, definition)
            state.remember("column", None, definition.colname, table=relation_key(relation),
                           location=getattr(definition, "location", None))
        elif subtype == "AT_AddConstraint":
            _added_constraint(state, relation, existing, definition)
        elif not existing:
            continue
        elif subtype == "AT_AlterColumnType":
            state.report("alter-column-type",
                         f"ALTER COLUMN {command.name} TYPE on existing table {table} rewrites "
                         "it under an exclusive lock (reads and writes wait)")
        elif subtype == "AT_SetNotNull":
            state.report("set-not-null",
                         f"SET NOT NULL on {table}.{command.name} scans the whole table under "
                         "an exclusive lock")
        elif subtype == "AT_DropColumn" and state.direction == "up":
            state.report("drop-column",
                         f"DROP COLUMN {table}.{command.name} in an up migration deletes its "
                         "data, and running code that still reads it breaks")


def _added_column(state: FileState, table: str, column: Any) -> None:
    constraints = [enum_name(c.contype) for c in column.constraints or ()]
    defaults = [c.raw_expr for c in column.constraints or ()
                if enum_name(c.contype) == "CONSTR_DEFAULT"
                and not getattr(c.raw_expr, "isnull", False)]  # DEFAULT NULL is no default
    # PostgreSQL 18 virtual generated columns are computed on read: no rewrite
    stored = [c for c in column.constraints or () if enum_name(c.contype) == "CONSTR_GENERATED"
              and getattr(c, "generated_kind", "s") == "s"]
    column_type = type_name(column.typeName)
    location = getattr(column, "location", None)
    computed = "CONSTR_IDENTITY" in constraints or bool(stored)
    if column_type in SERIAL_TYPES or computed:
        how = (column_type if column_type in SERIAL_TYPES
               else "as an identity column" if "CONSTR_IDENTITY" in constraints
               else "as a stored generated column")
        state.report("add-column-volatile-default",
                     f"ADD COLUMN {column.colname} {how} on existing table {table} rewrites it "
                     "under an exclusive lock to fill every row", location)
        return
    volatile = sorted({name for expr in defaults for name in function_names(expr)} & VOLATILE)
    if volatile:
        state.report("add-column-volatile-default",
                     f"ADD COLUMN {column.colname} DEFAULT {volatile[0]}() on existing table "
                     f"{table} rewrites it under an exclusive lock to fill every row", location)
    not_null = "CONSTR_NOTNULL" in constraints or "CONSTR_PRIMARY" in constraints
    if not_null and not defaults:
        state.report("add-column-not-null",
                     f"ADD COLUMN {column.colname} NOT NULL without a DEFAULT fails on "
                     f"{table} as soon as it has rows", location)
    unique = [k for k in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") if k in constraints]
    if unique:
        what = "PRIMARY KEY" if unique[0] == "CONSTR_PRIMARY" else "UNIQUE"
        state.report("add-unique-constraint",
                     f"ADD COLUMN {column.colname} {what} on existing table {table} builds its "
                     "index while blocking writes", location)


def _added_constraint(state: FileState, relation: Any, existing: bool, constraint: Any) -> None:
    kind = enum_name(constraint.contype)
    if constraint.conname:
        state.remember("constraint", None, constraint.conname, table=relation_key(relation))
    if existing and kind in ("CONSTR_FOREIGN", "CONSTR_CHECK") and not constraint.skip_validation:
        what = "FOREIGN KEY" if kind == "CONSTR_FOREIGN" else "CHECK"
        state.report("constraint-not-valid",
                     f"ADD {what} on existing table {relation_name(relation)} without NOT "
                     "VALID scans every row while blocking writes",
                     getattr(constraint, "location", None))
    unique = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY",
              "CONSTR_EXCLUSION": "EXCLUDE"}.get(kind)
    if existing and unique and not constraint.indexname:
        state.report("add-unique-constraint",
                     f"ADD {unique} on existing table {relation_name(relation)} builds its "
                     "index while blocking writes", getattr(constraint, "location", None))


def _rename(state: FileState, node: Any) -> None:
    kind = enum_name(node.renameType)
    relation = node.relation
    if kind not in ("OBJECT_COLUMN", "OBJECT_TABLE") or relation is None:
        return
    if kind == "OBJECT_COLUMN" and enum_name(node.relationType) != "OBJECT_TABLE":
        return
    if not state.existing(relation):
        if kind == "OBJECT_TABLE":
            state.renamed_table(relation_key(relation), node.newname)
        return
    _needs_lock_timeout(state, f"ALTER TABLE {relation_name(relation)}")
    if kind == "OBJECT_COLUMN":
        state.report("rename-column",
                     f"RENAME COLUMN {relation_name(relation)}.{node.subname} breaks running "
                     "code that still uses the old name")
    else:
        state.report("rename-table",
                     f"RENAME of table {relation_name(relation)} breaks running code that "
                     "still uses the old name")


def _drop(state: FileState, node: Any) -> None:
    kind = enum_name(node.removeType)
    if kind == "OBJECT_INDEX" and not node.concurrent and state.direction == "up":
        created = {(c.schema, c.name) for c in state.created if c.kind == "index"}
        for parts in node.objects or ():
            key = qualified(parts)
            if not among(key, created):
                state.report("index-not-concurrent",
                             f"DROP INDEX {dotted(key)} without CONCURRENTLY locks its table "
                             "against reads and writes until it is done")
    if state.direction != "up" or kind != "OBJECT_TABLE":
        return
    for parts in node.objects or ():
        key = qualified(parts)
        if not among(key, state.created_tables):
            state.report("drop-table",
                         f"DROP TABLE {dotted(key)} in an up migration deletes its data, and "
                         "running code that still uses it breaks")


def _reindex(state: FileState, node: Any) -> None:
    concurrent = any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    kind = enum_name(node.kind)
    if not concurrent and kind in ("REINDEX_OBJECT_TABLE", "REINDEX_OBJECT_INDEX"):
        state.report("index-not-concurrent",
                     f"REINDEX {kind.rsplit('_', 1)[-1]} {relation_name(node.relation)} without "
                     "CONCURRENTLY blocks writes to the table (and reads that use the index) "
                     "until it is done")


def _rewrite(state: FileState, node: Any) -> None:
    """VACUUM FULL and CLUSTER rewrite whole tables under ACCESS EXCLUSIVE."""
    if type(node).__name__ == "VacuumStmt":
        if not any(getattr(o, "defname", None) == "full" for o in node.options or ()):
            return
        names = [relation_name(r.relation) for r in node.rels or () if r.relation is not None]
        what = f"VACUUM FULL {', '.join(names) or '(every table)'}"
    else:
        relation = node.relation
        what = f"CLUSTER {relation_name(relation) if relation is not None else '(every table)'}"
    state.report("table-rewrite", f"{what} rewrites the table under an ACCESS EXCLUSIVE lock: "
                                  "every read and write waits until it is done")


def _whole_table(state: FileState, node: Any) -> None:
    """DELETE or UPDATE with no WHERE on an existing table, in an up migration: every row,
    each locked until the migration commits."""
    if state.direction != "up" or node.whereClause is not None:
        return
    relation = node.relation
    if not state.existing(relation):
        return
    if type(node).__name__ == "DeleteStmt":
        state.report("delete-without-where",
                     f"DELETE FROM {relation_name(relation)} without WHERE deletes every row, "
                     "and holds a lock on each until the migration commits")
    else:
        state.report("update-without-where",
                     f"UPDATE {relation_name(relation)} without WHERE rewrites every row in one "
                     "transaction, each locked until the migration commits")


# Names PostgreSQL truncates (NAMEDATALEN - 1 bytes) with only a NOTICE, as it reads them: the
# object is then called something else than the migration says. Found in the tokens, since
# the parse tree holds the names already cut.
MAX_IDENTIFIER = 63


def long_identifiers(text: str) -> Iterator[tuple[int, str]]:
    """(character offset, name) of each distinct identifier over MAX_IDENTIFIER bytes."""
    from pglast import parser

    seen = set()
    for token in parser.scan(text):  # offsets in characters, the end inclusive
        if token.name != "IDENT":
            continue
        raw = text[token.start:token.end + 1]
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()
        if len(name.encode("utf-8")) > MAX_IDENTIFIER and name not in seen:
            seen.add(name)
            yield token.start, name


def _truncate(state: FileState, node: Any) -> None:
    if state.direction != "up":
        return
    for relation in node.relations or ():
        if state.existing(relation):
            state.report("truncate",
                         f"TRUNCATE {relation_name(relation)} in an up migration deletes every row "
                         "and cannot be rolled back once committed")


def _set(state: FileState, node: Any) -> None:
    if node.name != "lock_timeout":
        return
    kind = enum_name(node.kind)
    args: tuple[Any, ...] = tuple(node.args or ())
    value = constant(args[0]) if len(args) == 1 else None
    zero = value is not None and ZERO_DURATION.match(value) is not None  # 0 turns it off
    state.lock_timeout = kind in ("VAR_SET_VALUE", "VAR_SET_CURRENT") and not zero


def _needs_lock_timeout(state: FileState, what: str) -> None:
    if state.lock_timeout or state.lock_timeout_reported:
        return
    # Once per file, even when suppressed here: the fix is one line at the file's top.
    state.lock_timeout_reported = True
    state.report("lock-timeout-missing",
                 f"{what} with no lock_timeout set: if another session holds a lock, this "
                 "waits and every query on the table queues behind it")


def _remember_simple(kind: str, name_of: Any, *, replace_attr: str | None = None) -> Any:
    def remember(state: FileState, node: Any) -> None:
        schema, name = name_of(node)
        if name:
            replace = bool(getattr(node, replace_attr, False)) if replace_attr else False
            state.remember(kind, schema, name, replace=replace)
    return remember


def _view(state: FileState, node: Any) -> None:
    view = node.view
    if view.relpersistence != "t":
        state.remember("view", view.schemaname, view.relname, replace=bool(node.replace))


def _trigger(state: FileState, node: Any) -> None:
    state.remember("trigger", None, node.trigname, table=relation_key(node.relation),
                   replace=bool(getattr(node, "replace", False)))


CHECKS: dict[str, Any] = {
    "CreateStmt": _create_table,
    "CreateForeignTableStmt": lambda state, node: _create_table(state, node.base),
    "CreateTableAsStmt": _create_table_as,
    "SelectStmt": _select,
    "IndexStmt": _create_index,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "TruncateStmt": _truncate,
    "DeleteStmt": _whole_table,
    "UpdateStmt": _whole_table,
    "ReindexStmt": _reindex,
    "VacuumStmt": _rewrite,
    "ClusterStmt": _rewrite,
    "VariableSetStmt": _set,
    "ViewStmt": _view,
    "CreateTrigStmt": _trigger,
    "CreateSeqStmt": _remember_simple(
        "sequence", lambda n: (n.sequence.schemaname, n.sequence.relname)),
    "CreateEnumStmt": _remember_simple("type", lambda n: qualified(n.typeName)),
    "CreateRangeStmt": _remember_simple("type", lambda n: qualified(n.typeName)),
    "CreateDomainStmt": _remember_simple("type", lambda n: qualified(n.domainname)),
    "CompositeTypeStmt": _remember_simple(
        "type", lambda n: (n.typevar.schemaname, n.typevar.relname)),
    "CreateFunctionStmt": _remember_simple(
        "function", lambda n: qualified(n.funcname), replace_attr="replace"),
    "CreateSchemaStmt": _remember_simple("schema", lambda n: (None, n.schemaname)),
    "CreateExtensionStmt": _remember_simple("extension", lambda n: (None, n.extname)),
}
