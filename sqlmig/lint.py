"""Static checks of migration files with the real Postgres parser (pglast): operations that lock or
rewrite busy tables, lose data, or cannot be rolled back, each with the safer alternative.

Pure and offline: reads text, returns findings; never connects, never prints. "Existing table"
means a table not created earlier in the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlmig.errors import MigrationFileError
from sqlmig.files import Migration, parse_directives
from sqlmig.sqltext import (
    PARSE_AHEAD_LIMIT,
    first_token,
    hazards,
    locate,
    non_transactional,
    transaction_control,
)


@dataclass(frozen=True)
class Rule:
    severity: str  # "error" fails `sqlmig lint`; "warning" is reported only
    fix: str  # the safer alternative, shown next to every finding


RULES: dict[str, Rule] = {
    "syntax-error": Rule("error", "fix the SQL; PostgreSQL would refuse the file"),
    "index-not-concurrent": Rule(
        "error",
        "CREATE INDEX CONCURRENTLY in a file with `-- sqlmig:no-transaction` (it does not block "
        "writes)",
    ),
    "add-column-not-null": Rule(
        "error",
        "add the column nullable or with a constant DEFAULT, backfill it, then add NOT NULL",
    ),
    "add-column-volatile-default": Rule(
        "error",
        "add the column without a default, set the default for new rows, backfill in batches",
    ),
    "constraint-not-valid": Rule(
        "error",
        "add it with NOT VALID (no scan, brief lock), then VALIDATE CONSTRAINT in a later "
        "statement or migration (does not block writes)",
    ),
    "add-unique-constraint": Rule(
        "error",
        "CREATE UNIQUE INDEX CONCURRENTLY first (no-transaction file), then ADD CONSTRAINT ... "
        "UNIQUE / PRIMARY KEY USING INDEX (instant)",
    ),
    "alter-column-type": Rule(
        "error",
        "add a new column of the new type, backfill it, switch reads, drop the old one later "
        "(varchar(n) -> text or a larger n is safe: suppress with sqlmig:lint-ignore)",
    ),
    "set-not-null": Rule(
        "error",
        "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT "
        "NULL (PostgreSQL 12+ skips the scan) and drop the check",
    ),
    "rename-column": Rule(
        "warning",
        "add the new column, write both, move readers, drop the old one later (expand/contract)",
    ),
    "rename-table": Rule(
        "warning",
        "create a view under the old name for running code, or rename in a release where no "
        "code uses the old name",
    ),
    "drop-table": Rule(
        "error",
        "stop using the table in a release first; if the data may go, say so with "
        "`-- sqlmig:lint-ignore drop-table`",
    ),
    "drop-column": Rule(
        "error",
        "stop reading the column in a release first; if the data may go, say so with "
        "`-- sqlmig:lint-ignore drop-column`",
    ),
    "truncate": Rule(
        "error",
        "delete in batches with a WHERE clause, or say so with `-- sqlmig:lint-ignore truncate`",
    ),
    "concurrently-in-transaction": Rule(
        "error",
        "add `-- sqlmig:no-transaction` as the file's first line and keep the statement "
        "idempotent (IF NOT EXISTS / IF EXISTS)",
    ),
    "needs-no-transaction": Rule(
        "error", "add `-- sqlmig:no-transaction` as the file's first line",
    ),
    "transaction-control": Rule(
        "error",
        "remove it (sqlmig wraps the file in one transaction), or add `-- sqlmig:no-transaction` "
        "to manage transactions yourself",
    ),
    "down-does-not-drop": Rule(
        "error",
        "drop it in the down file so rollback returns the schema to where it was "
        "(`sqlmig check` proves it)",
    ),
    "lock-timeout-missing": Rule(
        "warning",
        "SET lock_timeout = '5s' first (or `-- sqlmig:lock-timeout 5s`), so a blocked ALTER fails "
        "fast instead of queueing every query behind it; retry later",
    ),
}

# A comment line of its own: a trailing `-- sqlmig:lint-ignore` after a statement does not count
IGNORE = re.compile(r"^[ \t]*--\s*sqlmig:lint-ignore\b(?P<rules>[^\n]*)", re.MULTILINE)
ZERO_DURATION = re.compile(r"^\s*0+\s*(us|ms|s|min|h|d)?\s*$")
# Functions whose DEFAULT makes PostgreSQL rewrite the table to fill every existing row.
VOLATILE = frozenset({
    "random", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "nextval", "random_normal",
    "txid_current", "setseed",
})
SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    path: Path
    line: int
    column: int | None
    message: str
    fix: str


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


def lint_migration(
    migration: Migration, *, disabled: frozenset[str] = frozenset(), lock_timeout: bool = False,
) -> list[Finding]:
    """Both files of a migration; the up is also checked against what its down drops."""
    down = migration.down
    findings = lint_file(migration.up.path, migration.up.text, direction="up",
                         down_text=down.text if down else None, disabled=disabled,
                         lock_timeout=lock_timeout)
    if down is not None:
        findings += lint_file(down.path, down.text, direction="down", disabled=disabled,
                              lock_timeout=lock_timeout)
    return findings


def lint_file(
    path: Path, text: str, *, direction: str = "up", down_text: str | None = None,
    disabled: frozenset[str] = frozenset(), lock_timeout: bool = False,
) -> list[Finding]:
    """Findings for one file. `lock_timeout` says one is configured for every migration. Files
    over PARSE_AHEAD_LIMIT (bulk data) are not parsed."""
    if len(text) > PARSE_AHEAD_LIMIT:
        return []
    from pglast import parser

    directives = parse_directives(text, path)
    try:
        statements = parser.parse_sql(text)
    except parser.ParseError:
        return [
            _finding("syntax-error", path, hazard.line, hazard.column,
                     hazard.what if hazard.kind == "syntax" else
                     f"psql meta-command {hazard.what}: sqlmig runs plain SQL, not psql scripts")
            for hazard in hazards(text)
            if "syntax-error" not in disabled
        ]
    state = _FileState(path, text, direction, disabled,
                       transactional="no-transaction" not in directives,
                       lock_timeout=lock_timeout or "lock-timeout" in directives)
    previous_end = 0
    for raw in statements:
        start = first_token(text, raw.stmt_location or 0)
        state.begin_statement(start, _ignored(path, text, previous_end, start))
        _check_statement(state, raw.stmt)
        previous_end = start + (raw.stmt_len or len(text) - start)
    if direction == "up" and down_text is not None:
        _check_down_drops(state, down_text)
    return state.findings


@dataclass
class _FileState:
    path: Path
    text: str
    direction: str
    disabled: frozenset[str]
    transactional: bool
    lock_timeout: bool
    findings: list[Finding] = field(default_factory=list)
    created_tables: set[tuple[str | None, str]] = field(default_factory=set)
    created: list[Created] = field(default_factory=list)
    lock_timeout_reported: bool = False
    start: int = 0
    ignored: frozenset[str] = frozenset()

    def begin_statement(self, start: int, ignored: frozenset[str]) -> None:
        self.start, self.ignored = start, ignored

    def report(self, rule: str, message: str, location: int | None = None) -> None:
        if rule in self.disabled or rule in self.ignored:
            return
        offset = location if location is not None and location >= 0 else self.start
        line, column = locate(self.text, offset + 1)
        self.findings.append(_finding(rule, self.path, line, column, message))

    def existing(self, relation: Any) -> bool:
        return not _among(_relation_key(relation), self.created_tables)

    def renamed_table(self, old: tuple[str | None, str], new_name: str) -> None:
        """A table created in this file got a new name: the down must drop that one."""
        new = (old[0], new_name)
        self.created_tables.add(new)
        self.created = [
            replace(c, name=new_name) if c.kind == "table" and _among((c.schema, c.name), {old})
            else replace(c, table=new) if c.table is not None and _among(c.table, {old})
            else c
            for c in self.created
        ]

    def remember(self, kind: str, schema: str | None, name: str, *,
                 table: tuple[str | None, str] | None = None, location: int | None = None,
                 replace: bool = False) -> None:
        offset = location if location is not None and location >= 0 else self.start
        line, column = locate(self.text, offset + 1)
        self.created.append(Created(kind, schema, name, table, line, column, replace,
                                    self.ignored))


def _finding(rule: str, path: Path, line: int, column: int | None, message: str) -> Finding:
    spec = RULES[rule]
    return Finding(rule, spec.severity, path, line, column, message, spec.fix)


def _ignored(path: Path, text: str, start: int, end: int) -> frozenset[str]:
    """Rules named by `-- sqlmig:lint-ignore RULE[, RULE]` comments just above a statement."""
    rules: set[str] = set()
    for match in IGNORE.finditer(text, start, end):
        names = [n for n in re.split(r"[\s,]+", match["rules"].strip()) if n]
        line = text.count("\n", 0, match.start()) + 1
        if not names:
            raise MigrationFileError(path, "sqlmig:lint-ignore needs the rule(s) to ignore, "
                                     "e.g. -- sqlmig:lint-ignore drop-column", line)
        unknown = [n for n in names if n not in RULES]
        if unknown:
            raise MigrationFileError(
                path, f"sqlmig:lint-ignore: unknown rule {', '.join(unknown)} "
                f"(rules: {', '.join(sorted(RULES))})", line)
        rules.update(names)
    return frozenset(rules)


def _check_statement(state: _FileState, node: Any) -> None:
    kind = type(node).__name__
    if state.transactional:
        what = transaction_control(node)
        if what is not None:
            state.report("transaction-control",
                         f"{what} inside a transactional migration breaks its all-or-nothing run")
        what = non_transactional(node)
        if what is not None:
            rule = "concurrently-in-transaction" if "CONCURRENTLY" in what else (
                "needs-no-transaction")
            state.report(rule, f"{what} cannot run inside a transaction block, and this file "
                               "runs in one")
    check = _CHECKS.get(kind)
    if check is not None:
        check(state, node)


def _create_table(state: _FileState, node: Any) -> None:
    relation = node.relation
    state.created_tables.add(_relation_key(relation))
    if relation.relpersistence != "t":
        state.remember("table", relation.schemaname, relation.relname)


def _create_table_as(state: _FileState, node: Any) -> None:
    relation = node.into.rel
    state.created_tables.add(_relation_key(relation))
    if relation.relpersistence != "t":
        kind = "matview" if _enum_name(node.objtype) == "OBJECT_MATVIEW" else "table"
        state.remember(kind, relation.schemaname, relation.relname)


def _select(state: _FileState, node: Any) -> None:
    into = getattr(node, "intoClause", None)
    if into is not None:  # SELECT ... INTO new_table
        state.created_tables.add(_relation_key(into.rel))
    for call in _nodes(node):
        if type(call).__name__ != "FuncCall" or _strings(call.funcname)[-1:] != ["set_config"]:
            continue
        name, value = (_constant(arg) for arg in (call.args or (None, None))[:2])
        if name == "lock_timeout":
            state.lock_timeout = value is None or not ZERO_DURATION.match(value)


def _create_index(state: _FileState, node: Any) -> None:
    relation = node.relation
    if not node.concurrent and state.existing(relation):
        state.report("index-not-concurrent",
                     f"CREATE INDEX on existing table {_name(relation)} blocks its writes "
                     "until the index is built")
    if node.idxname:
        state.remember("index", relation.schemaname, node.idxname, table=_relation_key(relation))


def _alter_table(state: _FileState, node: Any) -> None:
    if _enum_name(node.objtype) != "OBJECT_TABLE":
        return
    relation = node.relation
    existing = state.existing(relation)
    table = _name(relation)
    if existing:
        _needs_lock_timeout(state, f"ALTER TABLE {table}")
    for command in node.cmds or ():
        subtype = _enum_name(command.subtype)
        definition = command.def_
        if subtype == "AT_AddColumn":
            if existing:
                _added_column(state, table, definition)
            state.remember("column", None, definition.colname, table=_relation_key(relation),
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


def _added_column(state: _FileState, table: str, column: Any) -> None:
    constraints = [_enum_name(c.contype) for c in column.constraints or ()]
    defaults = [c.raw_expr for c in column.constraints or ()
                if _enum_name(c.contype) == "CONSTR_DEFAULT"
                and not getattr(c.raw_expr, "isnull", False)]  # DEFAULT NULL is no default
    # PostgreSQL 18 virtual generated columns are computed on read: no rewrite
    stored = [c for c in column.constraints or () if _enum_name(c.contype) == "CONSTR_GENERATED"
              and getattr(c, "generated_kind", "s") == "s"]
    type_name = _type_name(column.typeName)
    location = getattr(column, "location", None)
    computed = "CONSTR_IDENTITY" in constraints or bool(stored)
    if type_name in SERIAL_TYPES or computed:
        how = type_name if type_name in SERIAL_TYPES else "an identity or generated column"
        state.report("add-column-volatile-default",
                     f"ADD COLUMN {column.colname} {how} on existing table {table} rewrites it "
                     "under an exclusive lock to fill every row", location)
        return
    volatile = sorted({name for expr in defaults for name in _function_names(expr)} & VOLATILE)
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


def _added_constraint(state: _FileState, relation: Any, existing: bool, constraint: Any) -> None:
    kind = _enum_name(constraint.contype)
    if constraint.conname:
        state.remember("constraint", None, constraint.conname, table=_relation_key(relation))
    if existing and kind in ("CONSTR_FOREIGN", "CONSTR_CHECK") and not constraint.skip_validation:
        what = "FOREIGN KEY" if kind == "CONSTR_FOREIGN" else "CHECK"
        state.report("constraint-not-valid",
                     f"ADD {what} on existing table {_name(relation)} without NOT VALID scans "
                     "every row while blocking writes", getattr(constraint, "location", None))
    unique = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY",
              "CONSTR_EXCLUSION": "EXCLUDE"}.get(kind)
    if existing and unique and not constraint.indexname:
        state.report("add-unique-constraint",
                     f"ADD {unique} on existing table {_name(relation)} builds its index while "
                     "blocking writes", getattr(constraint, "location", None))


def _rename(state: _FileState, node: Any) -> None:
    kind = _enum_name(node.renameType)
    relation = node.relation
    if kind not in ("OBJECT_COLUMN", "OBJECT_TABLE") or relation is None:
        return
    if kind == "OBJECT_COLUMN" and _enum_name(node.relationType) != "OBJECT_TABLE":
        return
    if not state.existing(relation):
        if kind == "OBJECT_TABLE":
            state.renamed_table(_relation_key(relation), node.newname)
        return
    _needs_lock_timeout(state, f"ALTER TABLE {_name(relation)}")
    if kind == "OBJECT_COLUMN":
        state.report("rename-column",
                     f"RENAME COLUMN {_name(relation)}.{node.subname} breaks running code that "
                     "still uses the old name")
    else:
        state.report("rename-table",
                     f"RENAME of table {_name(relation)} breaks running code that still uses "
                     "the old name")


def _drop(state: _FileState, node: Any) -> None:
    if state.direction != "up" or _enum_name(node.removeType) != "OBJECT_TABLE":
        return
    for parts in node.objects or ():
        key = _qualified(parts)
        if not _among(key, state.created_tables):
            state.report("drop-table",
                         f"DROP TABLE {_dotted(key)} in an up migration deletes its data, and "
                         "running code that still uses it breaks")


def _truncate(state: _FileState, node: Any) -> None:
    if state.direction != "up":
        return
    for relation in node.relations or ():
        if state.existing(relation):
            state.report("truncate",
                         f"TRUNCATE {_name(relation)} in an up migration deletes every row "
                         "and cannot be rolled back once committed")


def _set(state: _FileState, node: Any) -> None:
    if node.name != "lock_timeout":
        return
    kind = _enum_name(node.kind)
    args = node.args or ()
    value = _constant(args[0]) if len(args) == 1 else None
    zero = value is not None and ZERO_DURATION.match(value) is not None  # 0 turns it off
    state.lock_timeout = kind in ("VAR_SET_VALUE", "VAR_SET_CURRENT") and not zero


def _needs_lock_timeout(state: _FileState, what: str) -> None:
    if state.lock_timeout or state.lock_timeout_reported:
        return
    # Once per file, even when suppressed here: the fix is one line at the file's top.
    state.lock_timeout_reported = True
    state.report("lock-timeout-missing",
                 f"{what} with no lock_timeout set: if another session holds a lock, this "
                 "waits and every query on the table queues behind it")


def _remember_simple(kind: str, name_of: Any, *, replace_attr: str | None = None) -> Any:
    def remember(state: _FileState, node: Any) -> None:
        schema, name = name_of(node)
        if name:
            replace = bool(getattr(node, replace_attr, False)) if replace_attr else False
            state.remember(kind, schema, name, replace=replace)
    return remember


def _view(state: _FileState, node: Any) -> None:
    view = node.view
    if view.relpersistence != "t":
        state.remember("view", view.schemaname, view.relname, replace=bool(node.replace))


def _trigger(state: _FileState, node: Any) -> None:
    state.remember("trigger", None, node.trigname, table=_relation_key(node.relation),
                   replace=bool(getattr(node, "replace", False)))


_CHECKS: dict[str, Any] = {
    "CreateStmt": _create_table,
    "CreateForeignTableStmt": lambda state, node: _create_table(state, node.base),
    "CreateTableAsStmt": _create_table_as,
    "SelectStmt": _select,
    "IndexStmt": _create_index,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "TruncateStmt": _truncate,
    "VariableSetStmt": _set,
    "ViewStmt": _view,
    "CreateTrigStmt": _trigger,
    "CreateSeqStmt": _remember_simple(
        "sequence", lambda n: (n.sequence.schemaname, n.sequence.relname)),
    "CreateEnumStmt": _remember_simple("type", lambda n: _qualified(n.typeName)),
    "CreateRangeStmt": _remember_simple("type", lambda n: _qualified(n.typeName)),
    "CreateDomainStmt": _remember_simple("type", lambda n: _qualified(n.domainname)),
    "CompositeTypeStmt": _remember_simple(
        "type", lambda n: (n.typevar.schemaname, n.typevar.relname)),
    "CreateFunctionStmt": _remember_simple(
        "function", lambda n: _qualified(n.funcname), replace_attr="replace"),
    "CreateSchemaStmt": _remember_simple("schema", lambda n: (None, n.schemaname)),
    "CreateExtensionStmt": _remember_simple("extension", lambda n: (None, n.extname)),
}

# DROP object types, as the kinds `Created` uses.
_DROP_KINDS = {
    "OBJECT_TABLE": "table", "OBJECT_FOREIGN_TABLE": "table", "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "matview", "OBJECT_INDEX": "index", "OBJECT_SEQUENCE": "sequence",
    "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function", "OBJECT_AGGREGATE": "function",
    "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension", "OBJECT_TRIGGER": "trigger",
}


@dataclass
class _Drops:
    """What a down file removes (or restores with CREATE OR REPLACE)."""

    objects: set[tuple[str, str | None, str]] = field(default_factory=set)
    table_parts: set[tuple[str, tuple[str | None, str], str]] = field(default_factory=set)
    replaced: set[tuple[str, str | None, str]] = field(default_factory=set)

    def covers(self, created: Created) -> bool:
        if created.table is not None:
            if _among(created.table, self._of("table")):
                return True
            if created.kind in ("column", "constraint", "trigger"):
                return any(kind == created.kind and name == created.name and
                           _among(table, {created.table})
                           for kind, table, name in self.table_parts)
        schema = created.schema or (created.table[0] if created.table else None)
        if schema is not None and schema in self._names("schema"):
            return True
        key = (created.schema, created.name)
        if _among(key, self._of(created.kind)):
            return True
        return created.replace and _among(key, {(s, n) for k, s, n in self.replaced
                                                if k == created.kind})

    def _of(self, kind: str) -> set[tuple[str | None, str]]:
        return {(schema, name) for k, schema, name in self.objects if k == kind}

    def _names(self, kind: str) -> set[str]:
        return {name for k, _schema, name in self.objects if k == kind}


def _check_down_drops(state: _FileState, down_text: str) -> None:
    if "down-does-not-drop" in state.disabled or not state.created:
        return
    drops = _down_drops(down_text)
    if drops is None:
        return
    for created in state.created:
        if "down-does-not-drop" in created.ignored or drops.covers(created):
            continue
        what = f"{created.kind} {_dotted((created.schema, created.name))}"
        if created.table is not None:
            what += f" on {_dotted(created.table)}"
        state.findings.append(_finding(
            "down-does-not-drop", state.path, created.line, created.column,
            f"the up creates {what}, and the down file never drops it"))


def _down_drops(text: str) -> _Drops | None:
    """None when the down cannot be judged: it does not parse, or builds SQL dynamically."""
    from pglast import parser

    try:
        statements = parser.parse_sql(text)
    except parser.ParseError:
        return None
    drops = _Drops()
    for raw in statements:
        node = raw.stmt
        kind = type(node).__name__
        if kind == "DoStmt":
            return None
        if kind == "DropStmt":
            _collect_drop(drops, node)
        elif kind == "AlterTableStmt":
            table = _relation_key(node.relation)
            for command in node.cmds or ():
                subtype = _enum_name(command.subtype)
                if subtype == "AT_DropColumn":
                    drops.table_parts.add(("column", table, command.name))
                elif subtype == "AT_DropConstraint":
                    drops.table_parts.add(("constraint", table, command.name))
        elif kind == "CreateFunctionStmt" and node.replace:
            drops.replaced.add(("function", *_qualified(node.funcname)))
        elif kind == "ViewStmt" and node.replace:
            drops.replaced.add(("view", node.view.schemaname, node.view.relname))
        elif kind == "CreateTrigStmt" and getattr(node, "replace", False):
            drops.table_parts.add(("trigger", _relation_key(node.relation), node.trigname))
    return drops


def _collect_drop(drops: _Drops, node: Any) -> None:
    kind = _DROP_KINDS.get(_enum_name(node.removeType))
    if kind is None:
        return
    for target in node.objects or ():
        if kind == "trigger":
            *table, name = _strings(target)
            drops.table_parts.add(("trigger", _qualified_strings(table), name))
        elif kind == "function":
            drops.objects.add((kind, *_qualified(target.objname)))
        else:
            drops.objects.add((kind, *_qualified(target)))


# --- names and small AST helpers ------------------------------------------------------------

def _enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def _relation_key(relation: Any) -> tuple[str | None, str]:
    return (relation.schemaname, relation.relname)


def _among(key: tuple[str | None, str], keys: set[tuple[str | None, str]]) -> bool:
    """Same name, and the same schema when both name one (unqualified means search_path)."""
    schema, name = key
    return any(n == name and (schema is None or s is None or s == schema) for s, n in keys)


def _strings(node: Any) -> list[str]:
    if type(node).__name__ == "TypeName":
        node = node.names
    if type(node).__name__ == "String":
        return [node.sval]
    return [part.sval for part in node or () if type(part).__name__ == "String"]


def _qualified_strings(parts: list[str]) -> tuple[str | None, str]:
    if not parts:
        return (None, "")
    return (parts[-2] if len(parts) > 1 else None, parts[-1])


def _qualified(node: Any) -> tuple[str | None, str]:
    return _qualified_strings(_strings(node))


def _dotted(key: tuple[str | None, str]) -> str:
    return f"{key[0]}.{key[1]}" if key[0] else key[1]


def _name(relation: Any) -> str:
    return _dotted(_relation_key(relation))


def _type_name(type_name: Any) -> str:
    names = _strings(type_name) if type_name is not None else []
    return names[-1] if names else ""


def _nodes(value: Any) -> Iterator[Any]:
    from pglast import ast

    if isinstance(value, ast.Node):
        yield value
        for attribute in value:
            yield from _nodes(getattr(value, attribute))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _nodes(item)


def _function_names(expr: Any) -> set[str]:
    return {_strings(n.funcname)[-1] for n in _nodes(expr)
            if type(n).__name__ == "FuncCall" and _strings(n.funcname)}


def _constant(node: Any) -> str | None:
    """The text of a literal (string or number), else None."""
    value = getattr(node, "val", None)
    for attribute in ("sval", "ival", "fval"):
        if hasattr(value, attribute):
            return str(getattr(value, attribute))
    return None
