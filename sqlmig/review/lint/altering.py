"""ALTER TABLE, ALTER DOMAIN and ALTER TYPE: what each subcommand does to an existing table
(rewrite, scan, lock), judged with what earlier migrations told lint about its columns."""

from __future__ import annotations

from typing import Any

from sqlmig.core.pg_ast import (
    dotted,
    enum_name,
    function_names,
    qualified,
    relation_key,
    relation_name,
    strings,
    type_name,
)
from sqlmig.review.lint import locks, suggest
from sqlmig.review.lint.known import ColumnType, not_null_check, rewrites
from sqlmig.review.lint.state import FileState
from sqlmig.review.lint.volatility import volatile

SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


def alter_table(state: FileState, node: Any) -> None:
    if enum_name(node.objtype) != "OBJECT_TABLE":
        return
    relation = node.relation
    existing = state.existing(relation)
    table, key = relation_name(relation), relation.relname
    if existing:
        mode = locks.alter_table(node.cmds)
        state.needs_lock_timeout(mode, table, f"ALTER TABLE {table}")
        if mode == locks.ACCESS_EXCLUSIVE and state.transactional:
            state.locked.setdefault(key, state.line())
    _same_column_twice(state, node.cmds or ())
    for command in node.cmds or ():
        subtype = enum_name(command.subtype)
        definition = command.def_
        if subtype == "AT_AddColumn":
            if existing:
                _added_column(state, table, definition)
            state.remember("column", None, definition.colname, table=relation_key(relation),
                           location=getattr(definition, "location", None))
            learn_column(state, key, definition)
        elif subtype == "AT_AddConstraint":
            _added_constraint(state, relation, existing, definition)
        elif subtype == "AT_ValidateConstraint":
            _validated(state, table, key, command.name)
        elif subtype == "AT_DropConstraint":
            state.known.table(key).checks.pop(command.name, None)
        elif subtype == "AT_AlterColumnType":
            if existing:
                _altered_type(state, table, key, command.name, definition)
            state.known.table(key).columns[command.name] = ColumnType.of(definition.typeName)
        elif subtype == "AT_DropColumn":
            if existing and state.direction == "up":
                state.report("drop-column",
                             f"DROP COLUMN {table}.{command.name} in an up migration deletes "
                             "its data, and running code that still reads it breaks")
            state.known.drop_column(key, command.name)
        elif subtype in _REWRITES and existing:
            state.report("table-rewrite",
                         f"{_REWRITES[subtype]} on {table} rewrites the table under an ACCESS "
                         "EXCLUSIVE lock: every read and write waits until it is done")
        elif subtype == "AT_SetNotNull" and existing:
            _set_not_null(state, table, key, command.name)
        elif subtype == "AT_AttachPartition" and state.existing(definition.name):
            partition = definition.name
            if not state.known.has_valid_check(partition.relname):
                state.report(
                    "attach-partition-scan",
                    f"ATTACH PARTITION {relation_name(partition)} scans it under an ACCESS "
                    "EXCLUSIVE lock to prove every row fits the partition bound")
        elif subtype == "AT_DetachPartition" and existing and not definition.concurrent:
            state.report(
                "detach-partition-not-concurrent",
                f"DETACH PARTITION {relation_name(definition.name)} from {table} without "
                "CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the partitioned table: every "
                "read and write of it waits",
                suggestion=None if state.pg_version < 14 else (
                    suggest.NO_TRANSACTION + f"ALTER TABLE {table} DETACH PARTITION "
                    f"{relation_name(definition.name)} CONCURRENTLY;"))


# ALTER TABLE subcommands that copy the whole table to a new file.
_REWRITES = {"AT_SetLogged": "SET LOGGED", "AT_SetUnLogged": "SET UNLOGGED",
             "AT_SetTableSpace": "SET TABLESPACE", "AT_SetAccessMethod": "SET ACCESS METHOD"}


def learn_column(state: FileState, table: str, column: Any) -> None:
    known = state.known.table(table)
    known.columns[column.colname] = ColumnType.of(column.typeName)
    for constraint in column.constraints or ():
        kind = enum_name(constraint.contype)
        if kind == "CONSTR_NOTNULL" and constraint.conname:
            known.checks[constraint.conname] = (column.colname, True)
        elif kind == "CONSTR_CHECK":  # named as PostgreSQL names it when the file does not
            name = constraint.conname or f"{table}_{column.colname}_check"
            known.checks[name] = (not_null_check(constraint.raw_expr) or "", True)


def _same_column_twice(state: FileState, commands: Any) -> None:
    seen: set[tuple[str, str]] = set()
    for command in commands:
        subtype = enum_name(command.subtype)
        if subtype != "AT_AlterColumnType":
            continue
        if (subtype, command.name) in seen:
            state.report("same-column-twice",
                         f"ALTER TABLE changes the type of column {command.name} twice in one "
                         "statement: PostgreSQL refuses it")
        seen.add((subtype, command.name))


def _added_column(state: FileState, table: str, column: Any) -> None:
    constraints = list(column.constraints or ())
    kinds = [enum_name(c.contype) for c in constraints]
    defaults = [c.raw_expr for c in constraints if enum_name(c.contype) == "CONSTR_DEFAULT"
                and not getattr(c.raw_expr, "isnull", False)]  # DEFAULT NULL is no default
    # PostgreSQL 18 virtual generated columns are computed on read: no rewrite
    stored = [c for c in constraints if enum_name(c.contype) == "CONSTR_GENERATED"
              and (getattr(c, "generated_kind", "s") == "s" or state.pg_version < 18)]
    column_type = type_name(column.typeName)
    location = getattr(column, "location", None)
    if column_type in SERIAL_TYPES or "CONSTR_IDENTITY" in kinds or stored:
        how = (column_type if column_type in SERIAL_TYPES
               else "as an identity column" if "CONSTR_IDENTITY" in kinds
               else "as a stored generated column")
        state.report("add-column-volatile-default",
                     f"ADD COLUMN {column.colname} {how} on existing table {table} rewrites it "
                     "under an exclusive lock to fill every row", location)
        return
    _default(state, table, column, defaults, location)
    not_null = "CONSTR_NOTNULL" in kinds or "CONSTR_PRIMARY" in kinds
    if not_null and not defaults:
        state.report("add-column-not-null",
                     f"ADD COLUMN {column.colname} NOT NULL without a DEFAULT fails on "
                     f"{table} as soon as it has rows", location)
    unique = [k for k in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") if k in kinds]
    if unique:
        what = "PRIMARY KEY" if unique[0] == "CONSTR_PRIMARY" else "UNIQUE"
        state.report("add-unique-constraint",
                     f"ADD COLUMN {column.colname} {what} on existing table {table} builds its "
                     "index while blocking writes", location)
    for constraint in constraints:
        kind = enum_name(constraint.contype)
        if kind == "CONSTR_CHECK" and not constraint.skip_validation:
            state.report("constraint-not-valid",
                         f"ADD COLUMN {column.colname} with a CHECK on existing table {table} "
                         "scans every row under an ACCESS EXCLUSIVE lock", location,
                         suggestion=_column_then_constraint(table, column, constraint, "check"))
        elif kind == "CONSTR_FOREIGN":
            state.report("constraint-not-valid",
                         f"ADD COLUMN {column.colname} REFERENCES "
                         f"{relation_name(constraint.pktable)} on existing table {table} takes "
                         "a SHARE ROW EXCLUSIVE lock on both tables and validates the key",
                         location,
                         suggestion=_column_then_constraint(table, column, constraint, "fkey"))


def _column_then_constraint(table: str, column: Any, constraint: Any, suffix: str) -> str:
    if suffix == "fkey":
        constraint = suggest.changed(constraint, fk_attrs=(_string(column.colname),))
    return (f"ALTER TABLE {table} ADD COLUMN {column.colname} {suggest.sql(column.typeName)};\n"
            + suggest.not_valid_then_validate(table, constraint, [column.colname], suffix))


def _string(value: str) -> Any:
    from pglast import ast

    return ast.String(sval=value)


def _default(state: FileState, table: str, column: Any, defaults: list[Any],
             location: int | None) -> None:
    if not defaults:
        return
    if state.pg_version < 11:
        state.report("add-column-volatile-default",
                     f"ADD COLUMN {column.colname} with a DEFAULT on existing table {table} "
                     f"rewrites it on PostgreSQL {state.pg_version} (before 11, every default "
                     "does)", location, suggestion=suggest.column_then_default(
                         table, column, defaults[0]))
        return
    names = sorted({name for expr in defaults for name in function_names(expr)})
    verdicts = {name: volatile(name, state.known.volatile) for name in names}
    sure = [name for name, verdict in verdicts.items() if verdict]
    unsure = [name for name, verdict in verdicts.items() if verdict is None]
    if sure or unsure:
        name = (sure or unsure)[0]
        why = ("is volatile" if sure else
               "is not a built-in function, so lint cannot tell whether it is volatile")
        state.report("add-column-volatile-default",
                     f"ADD COLUMN {column.colname} DEFAULT {name}() on existing table {table}: "
                     f"{name}() {why}; a volatile default rewrites the table under an "
                     "exclusive lock to fill every row", location,
                     suggestion=suggest.column_then_default(table, column, defaults[0]))


def _added_constraint(state: FileState, relation: Any, existing: bool, constraint: Any) -> None:
    kind = enum_name(constraint.contype)
    table, key = relation_name(relation), relation.relname
    if constraint.conname:
        state.remember("constraint", None, constraint.conname, table=relation_key(relation))
        if kind == "CONSTR_CHECK":  # "" for a check that proves no column NOT NULL
            state.known.table(key).checks[constraint.conname] = (
                not_null_check(constraint.raw_expr) or "", not constraint.skip_validation)
        if existing and constraint.skip_validation:
            lock = locks.SHARE_ROW_EXCLUSIVE if kind == "CONSTR_FOREIGN" else (
                locks.ACCESS_EXCLUSIVE)
            state.not_valid[(key, constraint.conname)] = lock
    if existing and kind == "CONSTR_NOTNULL" and not constraint.skip_validation:
        for column in strings(constraint.keys):  # PostgreSQL 18: ADD CONSTRAINT ... NOT NULL c
            _set_not_null(state, table, key, column)
    if existing and kind in ("CONSTR_FOREIGN", "CONSTR_CHECK") and not constraint.skip_validation:
        what = "FOREIGN KEY" if kind == "CONSTR_FOREIGN" else "CHECK"
        columns = strings(constraint.fk_attrs) if kind == "CONSTR_FOREIGN" else []
        state.report("constraint-not-valid",
                     f"ADD {what} on existing table {table} without NOT VALID scans every row "
                     "while blocking writes", getattr(constraint, "location", None),
                     suggestion=suggest.not_valid_then_validate(
                         table, constraint, columns, "fkey" if columns else "check"))
    unique = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY",
              "CONSTR_EXCLUSION": "EXCLUDE"}.get(kind)
    if existing and unique and not constraint.indexname:
        state.report("add-unique-constraint",
                     f"ADD {unique} on existing table {table} builds its index while blocking "
                     "writes", getattr(constraint, "location", None),
                     suggestion=None if unique == "EXCLUDE" else
                     suggest.unique_using_index(table, constraint, unique))


def _validated(state: FileState, table: str, key: str, name: str) -> None:
    lock = state.not_valid.get((key, name))
    if lock is not None and state.transactional:
        state.report("validate-in-same-transaction",
                     f"VALIDATE CONSTRAINT {name} runs in the same transaction as its ADD ... "
                     f"NOT VALID: the {lock} lock the ADD took on {table} is held through the "
                     "whole scan, as if NOT VALID had not been written")
    state.known.validate(key, name)


def _altered_type(state: FileState, table: str, key: str, column: str, definition: Any) -> None:
    new = ColumnType.of(definition.typeName)
    old = state.known.column_type(key, column)
    using = definition.raw_default is not None
    if new is not None and not using:
        if old is not None and not rewrites(old, new):
            return
        if old is None and new.name in ("text", "varchar") and not new.modifiers:
            return  # most often from varchar(n), which this does not rewrite
    was = " USING ..." if using else f" from {old.shown()}" if old is not None else ""
    state.report("alter-column-type",
                 f"ALTER COLUMN {column} TYPE {suggest.sql(definition.typeName)}{was} on "
                 f"existing table {table} rewrites it under an ACCESS EXCLUSIVE lock (reads and "
                 "writes wait)", getattr(definition.typeName, "location", None))


def _set_not_null(state: FileState, table: str, key: str, column: str) -> None:
    if state.pg_version >= 12 and state.known.not_null_proven(key, column):
        return  # a validated CHECK (column IS NOT NULL) lets PostgreSQL skip the scan
    state.report("set-not-null",
                 f"SET NOT NULL on {table}.{column} scans the whole table under an ACCESS "
                 "EXCLUSIVE lock", suggestion=suggest.set_not_null(table, column))


def alter_domain(state: FileState, node: Any) -> None:
    """ALTER DOMAIN ... ADD CONSTRAINT checks every column of the domain in every table."""
    if node.subtype != "C" or node.def_ is None or node.def_.skip_validation:
        return
    domain = qualified(node.typeName)
    if any(c.kind == "type" and (c.schema, c.name) == domain for c in state.created):
        return
    name = dotted(domain)
    constraint = node.def_
    state.report("constraint-not-valid",
                 f"ALTER DOMAIN {name} ADD CONSTRAINT checks every column of type {name} in "
                 "every table, blocking their writes while it scans",
                 suggestion=f"ALTER DOMAIN {name} ADD "
                 f"{suggest.sql(suggest.changed(constraint, skip_validation=True))};\n"
                 f"{suggest.LATER}ALTER DOMAIN {name} VALIDATE CONSTRAINT "
                 f"{constraint.conname or '<name>'};")
