"""The opt-in style rules, off unless named in `lint_enable` or `--enable`: column types that age
badly (int, varchar(n), timestamp, serial) in an up, a file that never bounds how long its
statements on existing tables may run, and no-transaction files a rerun after a failure trips
over. Each finding carries the SQL to write instead, in the migration's own names. Reports
through FileState like statements.py; never decides which rules are on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmig.core.pg_ast import constant, enum_name, nodes, relation_name, strings
from sqlmig.review.lint import suggest
from sqlmig.review.lint.altering import SERIAL_TYPES
from sqlmig.review.lint.state import FileState
from sqlmig.review.lint.statements import ZERO_DURATION

# `lint_enable = ["style"]` turns on every rule RULES marks opt_in
STYLE = "style"

# pglast's names of the built-in types, as the parser spells them (`int` is pg_catalog.int4)
NARROW = {"int4": 2147483647, "int2": 32767, "serial": 2147483647, "serial4": 2147483647,
          "smallserial": 32767, "serial2": 32767}
LIMITED_TEXT = ("varchar", "bpchar")  # varchar(n), char(n)
BIGINT = "pg_catalog.int8"  # the parser's name, which prints as bigint
TYPE_RULES = frozenset({"prefer-bigint", "prefer-identity", "prefer-text", "prefer-timestamptz"})

# A rewrite longer than this (a whole CREATE TABLE, a function body) is left to the message
LONGEST_SUGGESTION = 200


@dataclass
class StyleChecks:
    """The enabled style rules for one file, fed every statement after the hazard checks (so
    state.created_tables already holds what the file has created so far)."""

    state: FileState
    enabled: frozenset[str]
    statement_timeout: bool = False  # set so far in this file (directive or SET)
    timeout_reported: bool = False

    def check(self, node: Any) -> None:
        if "statement-timeout-missing" in self.enabled:
            self._timeout(node)
        if self.enabled & TYPE_RULES and self.state.direction == "up":
            for column, relation, added in _new_columns(node):
                self._column_type(column, relation, added)
        if "no-transaction-idempotent" in self.enabled and not self.state.transactional:
            _idempotent(self.state, node)
        if "statement-timeout-missing" in self.enabled and not (
                self.statement_timeout or self.timeout_reported):
            what = LONG_RUNNING.get(type(node).__name__, _never)(self.state, node)
            if what is not None:
                # Once per file, even when suppressed here: the fix is one line at its top.
                self.timeout_reported = True
                self.state.report(
                    "statement-timeout-missing",
                    f"{what} with no statement_timeout set: if it runs longer than planned, it "
                    "holds its lock (and every query waiting on it) until it ends",
                    suggestion="-- sqlmig:statement-timeout 5min")

    def _timeout(self, node: Any) -> None:
        """SET [LOCAL] statement_timeout or set_config('statement_timeout', ...); 0 and RESET
        turn it off."""
        kind = type(node).__name__
        if kind == "VariableSetStmt" and node.name == "statement_timeout":
            args = tuple(node.args or ())
            value = constant(args[0]) if len(args) == 1 else None
            self.statement_timeout = (
                enum_name(node.kind) in ("VAR_SET_VALUE", "VAR_SET_CURRENT")
                and not (value is not None and ZERO_DURATION.match(value)))
        elif kind == "SelectStmt":
            for call in nodes(node):
                if (type(call).__name__ == "FuncCall"
                        and strings(call.funcname)[-1:] == ["set_config"]):
                    name, value = (constant(a) for a in (call.args or (None, None))[:2])
                    if name == "statement_timeout":
                        self.statement_timeout = value is None or not ZERO_DURATION.match(value)

    def _column_type(self, column: Any, relation: Any, added: bool) -> None:
        names = strings(column.typeName)
        if len(names) > 1 and names[0] != "pg_catalog":
            return  # a type of the project's own, whatever its name
        base, built_in = names[-1], names[0] == "pg_catalog"
        identity = base in SERIAL_TYPES

        def report(rule: str, message: str, new_type: str, check: str = "") -> None:
            if rule in self.enabled:
                where = f"{_name(relation)}.{_quoted(column.colname)} {_shown(column.typeName)}"
                self.state.report(
                    rule, f"{where} {message}", getattr(column, "location", None),
                    suggestion=_column(relation if added else None, column, new_type,
                                       identity=identity, check=check))

        if base in NARROW:
            report("prefer-bigint",
                   f"holds at most {NARROW[base]:,}: ids and counters outgrow it, and widening "
                   "it later rewrites the table under an exclusive lock", BIGINT)
        if identity:
            report("prefer-identity",
                   "a sequence and a DEFAULT bolted on: an identity column is the "
                   "SQL-standard form, owned by the column (grants, copies and dumps follow it)",
                   BIGINT)
        typmods = column.typeName.typmods
        if base in LIMITED_TEXT and built_in and typmods:
            # an array's elements would need a function of their own to check: text[] alone
            check = "" if column.typeName.arrayBounds else (
                f"char_length({_quoted(column.colname)}) <= {constant(typmods[0])}")
            report("prefer-text",
                   "pads values with spaces and ignores the padding in comparisons; text stores "
                   "the same without surprises" if base == "bpchar" else
                   "keeps its limit in the type: changing it takes an ACCESS EXCLUSIVE lock (and "
                   "a rewrite to shorten it); text stores the same, and a CHECK holds the limit",
                   "text", check)
        if base == "timestamp" and built_in:
            report("prefer-timestamptz",
                   "stores no time zone: the same instant reads differently in sessions of "
                   "other zones, and local times around daylight saving are ambiguous",
                   "timestamptz")


def _never(state: FileState, node: Any) -> str | None:
    return None


def _new_columns(node: Any) -> list[tuple[Any, Any, bool]]:
    """(column definition, its table, whether ADD COLUMN) for every column a CREATE TABLE or
    an ADD COLUMN makes."""
    kind = type(node).__name__
    if kind == "CreateStmt":
        return [(e, node.relation, False) for e in node.tableElts or ()
                if type(e).__name__ == "ColumnDef" and e.typeName is not None]
    if kind == "AlterTableStmt" and enum_name(node.objtype) == "OBJECT_TABLE":
        return [(c.def_, node.relation, True) for c in node.cmds or ()
                if enum_name(c.subtype) == "AT_AddColumn"]
    return []


def _column(relation: Any, column: Any, new_type: str, *, identity: bool, check: str) -> str:
    """The column definition with its new type: `ALTER TABLE t ADD COLUMN ...` when given the
    table (an added column), the definition alone inside a CREATE TABLE."""
    from pglast import ast, enums

    old = column.typeName
    constraints = tuple(column.constraints or ())
    if identity:  # BY DEFAULT: like serial, explicit ids (seeds, copies) are still accepted
        constraints = (ast.Constraint(contype=enums.ConstrType.CONSTR_IDENTITY,
                                      generated_when="d"), *constraints)
    new = suggest.changed(column, constraints=constraints or None, typeName=ast.TypeName(
        names=tuple(ast.String(sval=n) for n in new_type.split(".")), typemod=-1,
        arrayBounds=old.arrayBounds,
        typmods=old.typmods if new_type == "timestamptz" else None))  # keeps its precision
    definition = suggest.sql(new) + (f" CHECK ({check})" if check else "")
    if relation is None:
        return definition
    return f"ALTER TABLE {_name(relation)} ADD COLUMN {definition};"


# How the types this module flags are written, from the parser's names
SPELLED = {"int4": "integer", "int2": "smallint", "bpchar": "char", "varchar": "varchar"}


def _shown(type_name: Any) -> str:
    """A built-in type as SQL spells it: `varchar(255)`, `integer[]`."""
    base = strings(type_name)[-1]
    modifiers = [constant(m) for m in type_name.typmods or ()]
    shown = SPELLED.get(base, base) + (f"({', '.join(map(str, modifiers))})" if modifiers else "")
    return shown + "[]" * len(type_name.arrayBounds or ())


def _name(relation: Any) -> str:
    return ".".join(_quoted(n) for n in (relation.schemaname, relation.relname) if n)


def _opening(node: Any) -> str:
    """A statement's first words, enough to name it: `CREATE INDEX CONCURRENTLY i ON t`."""
    text = re.split(r" \(| AS ", suggest.sql(node), maxsplit=1)[0]
    return text if len(text) <= 60 else text[:57] + "..."


def _quoted(name: str) -> str:
    from pglast.stream import maybe_double_quote_name

    return str(maybe_double_quote_name(name))


# --- statement-timeout-missing: statements that can run long on an existing table ----------

def _altered(state: FileState, node: Any) -> str | None:
    if enum_name(node.objtype) != "OBJECT_TABLE" or not state.existing(node.relation):
        return None
    # VALIDATE CONSTRAINT scans without blocking reads or writes: a timeout would only cut
    # the safe recipe short
    if all(enum_name(c.subtype) == "AT_ValidateConstraint" for c in node.cmds or ()):
        return None
    return f"ALTER TABLE {relation_name(node.relation)}"


def _indexed(state: FileState, node: Any) -> str | None:
    if node.concurrent or not state.existing(node.relation):
        return None
    return f"CREATE INDEX on {relation_name(node.relation)}"


def _reindexed(state: FileState, node: Any) -> str | None:
    concurrent = any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    if concurrent or node.relation is None:
        return None
    return f"REINDEX {relation_name(node.relation)}"


def _written(state: FileState, node: Any) -> str | None:
    if not state.existing(node.relation):
        return None
    verb = "DELETE FROM" if type(node).__name__ == "DeleteStmt" else "UPDATE"
    return f"{verb} {relation_name(node.relation)}"


def _rewritten(state: FileState, node: Any) -> str | None:
    if type(node).__name__ == "ClusterStmt":
        return "CLUSTER"
    full = any(getattr(o, "defname", None) == "full" for o in node.options or ())
    return "VACUUM FULL" if full else None


LONG_RUNNING: dict[str, Callable[[FileState, Any], str | None]] = {
    "AlterTableStmt": _altered,
    "IndexStmt": _indexed,
    "ReindexStmt": _reindexed,
    "UpdateStmt": _written,
    "DeleteStmt": _written,
    "VacuumStmt": _rewritten,
    "ClusterStmt": _rewritten,
}


# --- no-transaction-idempotent: what a rerun of a half-applied file runs into ---------------

# node type -> (the flag that makes it idempotent, how the SQL says it)
RERUNNABLE = {
    "IndexStmt": ("if_not_exists", "IF NOT EXISTS"),
    "CreateStmt": ("if_not_exists", "IF NOT EXISTS"),
    "CreateTableAsStmt": ("if_not_exists", "IF NOT EXISTS"),
    "CreateSeqStmt": ("if_not_exists", "IF NOT EXISTS"),
    "CreateSchemaStmt": ("if_not_exists", "IF NOT EXISTS"),
    "CreateExtensionStmt": ("if_not_exists", "IF NOT EXISTS"),
    "ViewStmt": ("replace", "OR REPLACE"),
    "CreateFunctionStmt": ("replace", "OR REPLACE"),
    "CreateTrigStmt": ("replace", "OR REPLACE"),
    "AlterEnumStmt": ("skipIfNewValExists", "IF NOT EXISTS"),
    "DropStmt": ("missing_ok", "IF EXISTS"),
}
ALTER_RERUNNABLE = {"AT_AddColumn": "IF NOT EXISTS", "AT_DropColumn": "IF EXISTS",
                    "AT_DropConstraint": "IF EXISTS"}
OR_REPLACE_TRIGGER = 14  # CREATE OR REPLACE TRIGGER is PostgreSQL 14+


def _idempotent(state: FileState, node: Any) -> None:
    kind = type(node).__name__
    words = _missing(kind, node)
    if not words:
        return
    if kind == "AlterTableStmt":
        fixed = suggest.changed(node, cmds=tuple(
            suggest.changed(c, missing_ok=True) if enum_name(c.subtype) in ALTER_RERUNNABLE
            else c for c in node.cmds))
    else:
        fixed = suggest.changed(node, **{RERUNNABLE[kind][0]: True})
    message = (f"{_opening(node)} without {' / '.join(words)} in a no-transaction file: after a "
               "failure later in the file, the rerun fails here")
    suggestion: str | None = suggest.sql(fixed) + ";"
    if kind == "IndexStmt" and not node.idxname:
        message += " (name the index: IF NOT EXISTS needs the name)"
        suggestion = None
    elif kind == "CreateTrigStmt" and (node.isconstraint or state.pg_version < OR_REPLACE_TRIGGER):
        suggestion = (f"DROP TRIGGER IF EXISTS {_quoted(node.trigname)} ON "
                      f"{_name(node.relation)};\n{suggest.sql(node)};")
    if suggestion is not None and len(suggestion) > LONGEST_SUGGESTION:
        suggestion = None
    state.report("no-transaction-idempotent", message, suggestion=suggestion)


def _missing(kind: str, node: Any) -> list[str]:
    """What the statement lacks to be rerun harmlessly (IF NOT EXISTS, ...), if anything."""
    if kind == "AlterTableStmt":
        return sorted({ALTER_RERUNNABLE[enum_name(c.subtype)] for c in node.cmds or ()
                       if enum_name(c.subtype) in ALTER_RERUNNABLE and not c.missing_ok})
    if kind not in RERUNNABLE or getattr(node, RERUNNABLE[kind][0]):
        return []
    if kind == "AlterEnumStmt" and node.oldVal:
        return []  # RENAME VALUE has no IF NOT EXISTS
    relation = {"CreateStmt": "relation", "CreateSeqStmt": "sequence", "ViewStmt": "view"}.get(kind)
    if relation is not None and getattr(node, relation).relpersistence == "t":
        return []  # a temporary object is gone when the rerun's new session starts
    return [RERUNNABLE[kind][1]]
