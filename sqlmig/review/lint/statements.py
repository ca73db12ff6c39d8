"""One check per kind of statement: what it does to an existing table (lock, rewrite, data), and
what it creates (for the down-does-not-drop check). ALTER TABLE and its kin are in altering.py.
Each reports through FileState."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlmig.core.pg_ast import (
    among,
    constant,
    dotted,
    enum_name,
    nodes,
    qualified,
    qualified_strings,
    relation_key,
    relation_name,
    strings,
)
from sqlmig.review.lint import locks, suggest
from sqlmig.review.lint.altering import alter_domain, alter_table, learn_column
from sqlmig.review.lint.known import not_null_check
from sqlmig.review.lint.state import FileState

ZERO_DURATION = re.compile(r"^\s*0+\s*(us|ms|s|min|h|d)?\s*$")


def _create_table(state: FileState, node: Any) -> None:
    relation = node.relation
    state.created_tables.add(relation_key(relation))
    if relation.relpersistence != "t":
        state.remember("table", relation.schemaname, relation.relname)
    state.known.drop_table(relation.relname)
    for index, element in enumerate(node.tableElts or ()):
        if type(element).__name__ == "ColumnDef":
            learn_column(state, relation.relname, element)
        elif (type(element).__name__ == "Constraint"
              and enum_name(element.contype) == "CONSTR_CHECK"):
            name = element.conname or f"{relation.relname}_check{index}"
            state.known.table(relation.relname).checks[name] = (
                not_null_check(element.raw_expr) or "", True)
    for referenced in _references(node):
        if state.existing(referenced):
            name = relation_name(referenced)
            state.needs_lock_timeout(locks.SHARE_ROW_EXCLUSIVE, name,
                                     f"CREATE TABLE {relation_name(relation)} REFERENCES {name}")


def _references(node: Any) -> list[Any]:
    constraints = [c for element in node.tableElts or ()
                   for c in (element.constraints or () if type(element).__name__ == "ColumnDef"
                             else (element,))]
    return [c.pktable for c in constraints
            if type(c).__name__ == "Constraint" and enum_name(c.contype) == "CONSTR_FOREIGN"]


def _copies_from(state: FileState, query: Any) -> None:
    """The tables a query reads into another table: their rows live on after a DROP (the
    copy-and-swap rebuild: copy, drop the old table, rename the new one in its place)."""
    state.copied |= {n.relname for n in nodes(query) if type(n).__name__ == "RangeVar"}


def _create_table_as(state: FileState, node: Any) -> None:
    _copies_from(state, node.query)
    relation = node.into.rel
    state.created_tables.add(relation_key(relation))
    if relation.relpersistence != "t":
        kind = "matview" if enum_name(node.objtype) == "OBJECT_MATVIEW" else "table"
        state.remember(kind, relation.schemaname, relation.relname)


def _select(state: FileState, node: Any) -> None:
    into = getattr(node, "intoClause", None)
    if into is not None:  # SELECT ... INTO new_table
        state.created_tables.add(relation_key(into.rel))
        _copies_from(state, node.fromClause)
    if "set_config" not in state.text:
        return
    for call in nodes(node):
        if type(call).__name__ != "FuncCall" or strings(call.funcname)[-1:] != ["set_config"]:
            continue
        name, value = (constant(arg) for arg in (call.args or (None, None))[:2])
        if name == "lock_timeout":
            state.lock_timeout = value is None or not ZERO_DURATION.match(value)


def _create_index(state: FileState, node: Any) -> None:
    relation = node.relation
    if not node.concurrent and state.existing(relation):
        table = relation_name(relation)
        state.needs_lock_timeout(locks.SHARE, table, f"CREATE INDEX on {table}")
    # ON ONLY a partitioned table: an empty parent index, built by none
    if not node.concurrent and state.existing(relation) and relation.inh:
        held = state.locked.get(relation.relname)
        blocked = "writes" if held is None else (
            f"reads and writes (under the ACCESS EXCLUSIVE lock taken at line {held})")
        state.report("index-not-concurrent",
                     f"CREATE INDEX on existing table {relation_name(relation)} blocks its "
                     f"{blocked} until the index is built",
                     suggestion=suggest.concurrent_index(node))
    if node.idxname:
        state.remember("index", relation.schemaname, node.idxname, table=relation_key(relation))


def _rename(state: FileState, node: Any) -> None:
    kind = enum_name(node.renameType)
    relation = node.relation
    if kind not in ("OBJECT_COLUMN", "OBJECT_TABLE") or relation is None:
        return
    if kind == "OBJECT_COLUMN" and enum_name(node.relationType) != "OBJECT_TABLE":
        return
    if kind == "OBJECT_COLUMN":
        state.known.rename_column(relation.relname, node.subname, node.newname)
    else:
        state.known.rename_table(relation.relname, node.newname)
    if not state.existing(relation):
        if kind == "OBJECT_TABLE":
            state.renamed_table(relation_key(relation), node.newname)
        return
    table = relation_name(relation)
    state.needs_lock_timeout(locks.ACCESS_EXCLUSIVE, table, f"ALTER TABLE {table}")
    if kind == "OBJECT_COLUMN":
        state.report("rename-column",
                     f"RENAME COLUMN {table}.{node.subname} breaks running code that still uses "
                     "the old name")
    else:
        state.report("rename-table",
                     f"RENAME of table {table} breaks running code that still uses the old name")


def _drop(state: FileState, node: Any) -> None:
    kind = enum_name(node.removeType)
    targets = [qualified(parts) for parts in node.objects or ()
               if kind not in ("OBJECT_TRIGGER", "OBJECT_FUNCTION", "OBJECT_PROCEDURE")]
    if kind == "OBJECT_INDEX" and not node.concurrent:
        created = {(c.schema, c.name) for c in state.created if c.kind == "index"}
        for key in targets:
            if among(key, created):
                continue
            if state.direction == "up":  # a down drops what its up made: not yet in use
                state.needs_lock_timeout(locks.ACCESS_EXCLUSIVE, f"the table of {dotted(key)}",
                                         f"DROP INDEX {dotted(key)}")
                state.report("index-not-concurrent",
                             f"DROP INDEX {dotted(key)} without CONCURRENTLY locks its table "
                             "against reads and writes until it is done",
                             suggestion=suggest.NO_TRANSACTION +
                             f"DROP INDEX CONCURRENTLY IF EXISTS {dotted(key)};")
    if kind == "OBJECT_TABLE":
        for key in targets:
            if not among(key, state.created_tables) and state.direction == "up":
                state.needs_lock_timeout(locks.ACCESS_EXCLUSIVE, dotted(key),
                                         f"DROP TABLE {dotted(key)}")
            # quiet when its rows were copied into a table that replaces it
            if not among(key, state.created_tables) and state.direction == "up" and (
                    key[1] not in state.copied):
                state.report("drop-table",
                             f"DROP TABLE {dotted(key)} in an up migration deletes its data, "
                             "and running code that still uses it breaks")
            state.known.drop_table(key[1])
    if kind == "OBJECT_SCHEMA" and state.direction == "up" and (
            enum_name(node.behavior) == "DROP_CASCADE"):
        schemas = {c.name for c in state.created if c.kind == "schema"}
        for key in targets:
            if key[1] not in schemas:
                state.report("drop-table",
                             f"DROP SCHEMA {key[1]} CASCADE in an up migration deletes every "
                             "table in it, with its data")
    if state.direction == "up":
        state.forget(kind, targets)  # created and dropped again in the same up


def _reindex(state: FileState, node: Any) -> None:
    concurrent = any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    kind = enum_name(node.kind)
    if not concurrent and kind in ("REINDEX_OBJECT_TABLE", "REINDEX_OBJECT_INDEX"):
        what = kind.rsplit("_", 1)[-1]
        name = relation_name(node.relation)
        state.needs_lock_timeout(locks.SHARE, name if what == "TABLE" else f"the table of {name}",
                                 f"REINDEX {what} {name}")
        state.report("index-not-concurrent",
                     f"REINDEX {what} {name} without CONCURRENTLY blocks writes to the table "
                     "(and reads that use the index) until it is done",
                     suggestion=None if state.pg_version < 12 else
                     f"{suggest.NO_TRANSACTION}REINDEX {what} CONCURRENTLY {name};")


def _rewrite(state: FileState, node: Any) -> None:
    """VACUUM FULL and CLUSTER rewrite whole tables under ACCESS EXCLUSIVE."""
    if type(node).__name__ == "VacuumStmt":
        if not any(getattr(o, "defname", None) == "full" for o in node.options or ()):
            return
        names = [relation_name(r.relation) for r in node.rels or () if r.relation is not None]
        what = f"VACUUM FULL {', '.join(names) or '(every table)'}"
    else:
        relation = node.relation
        names = [relation_name(relation)] if relation is not None else []
        what = f"CLUSTER {names[0] if names else '(every table)'}"
    state.needs_lock_timeout(locks.ACCESS_EXCLUSIVE, ", ".join(names) or "every table", what)
    state.report("table-rewrite", f"{what} rewrites the table under an ACCESS EXCLUSIVE lock: "
                                  "every read and write waits until it is done")


def _lock(state: FileState, node: Any) -> None:
    mode = locks.LOCK_STATEMENT_MODES.get(node.mode)
    tables = [relation_name(r) for r in node.relations or () if state.existing(r)]
    if mode is not None and tables and not node.nowait:
        state.needs_lock_timeout(mode, ", ".join(tables), f"LOCK TABLE {', '.join(tables)}")


def _under_lock(state: FileState, node: Any, what: str) -> None:
    """Data changed on a table an earlier ALTER of this transaction holds ACCESS EXCLUSIVE on:
    every read and write of it waits for the whole backfill."""
    line = state.locked.get(node.relation.relname)
    if line is not None:
        state.report("backfill-under-lock",
                     f"{what} {relation_name(node.relation)} runs while the ACCESS EXCLUSIVE lock "
                     f"taken at line {line} is held: every read and write of the table waits "
                     "until the migration commits")


def _whole_table(state: FileState, node: Any) -> None:
    """DELETE or UPDATE with no WHERE on an existing table, in an up migration: every row,
    each locked until the migration commits."""
    if type(node).__name__ == "UpdateStmt":
        _assigned_twice(state, node.targetList, "UPDATE ... SET")
    _under_lock(state, node, "UPDATE" if type(node).__name__ == "UpdateStmt" else "DELETE FROM")
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


def _assigned_twice(state: FileState, targets: Any, what: str) -> None:
    """The same column named twice (without a subscript or field): PostgreSQL refuses it."""
    seen = set()
    for target in targets or ():
        if target.indirection:
            continue
        if target.name in seen:
            state.report("same-column-twice",
                         f"{what} names column {target.name} twice: PostgreSQL refuses it "
                         "(multiple assignments to same column)",
                         getattr(target, "location", None))
        seen.add(target.name)


def _insert(state: FileState, node: Any) -> None:
    _assigned_twice(state, node.cols, "INSERT")
    if node.selectStmt is not None:
        _copies_from(state, node.selectStmt)
    _under_lock(state, node, "INSERT INTO")


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
    for relation in node.relations or ():
        if not state.existing(relation):
            continue
        table = relation_name(relation)
        state.needs_lock_timeout(locks.ACCESS_EXCLUSIVE, table, f"TRUNCATE {table}")
        if state.direction == "up":
            state.report("truncate",
                         f"TRUNCATE {table} in an up migration deletes every row and cannot be "
                         "rolled back once committed")


def _set(state: FileState, node: Any) -> None:
    if node.name != "lock_timeout":
        return
    kind = enum_name(node.kind)
    args: tuple[Any, ...] = tuple(node.args or ())
    value = constant(args[0]) if len(args) == 1 else None
    zero = value is not None and ZERO_DURATION.match(value) is not None  # 0 turns it off
    state.lock_timeout = kind in ("VAR_SET_VALUE", "VAR_SET_CURRENT") and not zero


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
    relation = node.relation
    if state.existing(relation):
        table = relation_name(relation)
        state.needs_lock_timeout(locks.SHARE_ROW_EXCLUSIVE, table, f"CREATE TRIGGER on {table}")
    state.remember("trigger", None, node.trigname, table=relation_key(relation),
                   replace=bool(getattr(node, "replace", False)),
                   function=qualified(node.funcname))


def _function(state: FileState, node: Any) -> None:
    schema, name = qualified(node.funcname)
    if schema == "pg_temp":
        return  # gone with the session: nothing for the down to drop
    volatility = next((constant(o.arg) or getattr(o.arg, "sval", None)
                       for o in node.options or () if o.defname == "volatility"), "volatile")
    state.known.volatile[name] = volatility == "volatile"
    state.remember("function", schema, name, replace=bool(node.replace))


def _sequence(state: FileState, node: Any) -> None:
    sequence = node.sequence
    if sequence.relpersistence != "t":
        state.remember("sequence", sequence.schemaname, sequence.relname,
                       table=_owned_by(node.options))


def _sequence_owner(state: FileState, node: Any) -> None:
    table = _owned_by(node.options)
    if table is not None:
        state.sequence_owned_by(relation_key(node.sequence), table)


def _owned_by(options: Any) -> tuple[str | None, str] | None:
    """The table of `OWNED BY table.column`: dropping it drops the sequence."""
    for option in options or ():
        if option.defname == "owned_by":
            parts = strings(option.arg)
            if len(parts) >= 2:
                return qualified_strings(parts[:-1])
    return None


def _enum_value(state: FileState, node: Any) -> None:
    if node.newVal is None or node.oldVal is not None:
        return
    schema, name = qualified(node.typeName)
    state.remember("enum-value", schema, name)
    if not state.transactional:
        return
    if state.pg_version < 12:
        state.report("needs-no-transaction",
                     f"ALTER TYPE ... ADD VALUE cannot run inside a transaction block on "
                     f"PostgreSQL {state.pg_version}, and this file runs in one")
    state.enum_values.add(node.newVal)


def new_enum_value_used(state: FileState, node: Any) -> None:
    """A value added to an enum is unusable until that transaction commits."""
    for value in nodes(node):
        if type(value).__name__ == "String" and value.sval in state.enum_values:
            state.report("enum-value-used-in-transaction",
                         f"'{value.sval}' was added to its enum earlier in this transaction: "
                         "PostgreSQL refuses to use it before the ADD VALUE commits "
                         "(unsafe use of new value)")
            return


def _refresh(state: FileState, node: Any) -> None:
    relation = node.relation
    if node.concurrent or not state.existing(relation):
        return
    name = relation_name(relation)
    state.needs_lock_timeout(locks.ACCESS_EXCLUSIVE, name, f"REFRESH MATERIALIZED VIEW {name}")
    state.report("refresh-not-concurrent",
                 f"REFRESH MATERIALIZED VIEW {name} without CONCURRENTLY takes an ACCESS "
                 f"EXCLUSIVE lock: every read of {name} waits until it is rebuilt",
                 suggestion=f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name};  "
                 "-- needs a unique index on the view")


CHECKS: dict[str, Any] = {
    "CreateStmt": _create_table,
    "CreateForeignTableStmt": lambda state, node: _create_table(state, node.base),
    "CreateTableAsStmt": _create_table_as,
    "SelectStmt": _select,
    "IndexStmt": _create_index,
    "AlterTableStmt": alter_table,
    "AlterDomainStmt": alter_domain,
    "AlterEnumStmt": _enum_value,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "TruncateStmt": _truncate,
    "DeleteStmt": _whole_table,
    "UpdateStmt": _whole_table,
    "InsertStmt": _insert,
    "ReindexStmt": _reindex,
    "VacuumStmt": _rewrite,
    "ClusterStmt": _rewrite,
    "LockStmt": _lock,
    "RefreshMatViewStmt": _refresh,
    "VariableSetStmt": _set,
    "ViewStmt": _view,
    "CreateTrigStmt": _trigger,
    "CreateSeqStmt": _sequence,
    "AlterSeqStmt": _sequence_owner,
    "CreateEnumStmt": _remember_simple("type", lambda n: qualified(n.typeName)),
    "CreateRangeStmt": _remember_simple("type", lambda n: qualified(n.typeName)),
    "CreateDomainStmt": _remember_simple("type", lambda n: qualified(n.domainname)),
    "CompositeTypeStmt": _remember_simple(
        "type", lambda n: (n.typevar.schemaname, n.typevar.relname)),
    "CreateFunctionStmt": _function,
    "CreateSchemaStmt": _remember_simple("schema", lambda n: (None, n.schemaname)),
    "CreateExtensionStmt": _remember_simple("extension", lambda n: (None, n.extname)),
}
