"""Static checks of migration files with the real Postgres parser (pglast): operations that lock or
rewrite busy tables, lose data, or cannot be rolled back, each with the safer alternative.

Pure and offline: reads text, returns findings; never connects, never prints. "Existing table"
means a table not created earlier in the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlmig.core import sqltext
from sqlmig.core.directives import parse_directives
from sqlmig.core.files import Migration
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
from sqlmig.core.sqltext import (
    first_token,
    hazards,
    locate,
    non_transactional,
    transaction_control,
)
from sqlmig.errors import MigrationFileError
from sqlmig.review.lint_reversal import Created, uncovered


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


def lint_migration(
    migration: Migration, *, disabled: frozenset[str] = frozenset(), lock_timeout: bool = False,
) -> list[Finding]:
    """Both files of a migration; the up is also checked against what its down drops. Big
    files (bulk data, held as bytes) are not linted, so not decoded either."""
    up, down = migration.up, migration.down
    findings = []
    if not up.big:
        down_text = down.text if down is not None and not down.big else None
        findings += lint_file(up.path, up.text, direction="up", down_text=down_text,
                              disabled=disabled, lock_timeout=lock_timeout)
    if down is not None and not down.big:
        findings += lint_file(down.path, down.text, direction="down", disabled=disabled,
                              lock_timeout=lock_timeout)
    return findings


def lint_file(
    path: Path, text: str, *, direction: str = "up", down_text: str | None = None,
    disabled: frozenset[str] = frozenset(), lock_timeout: bool = False,
) -> list[Finding]:
    """Findings for one file. `lock_timeout` says one is configured for every migration. Files
    over sqltext.BIG_FILE (bulk data) are not parsed."""
    if len(text) > sqltext.BIG_FILE:
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
        return not among(relation_key(relation), self.created_tables)

    def renamed_table(self, old: tuple[str | None, str], new_name: str) -> None:
        """A table created in this file got a new name: the down must drop that one."""
        new = (old[0], new_name)
        self.created_tables.add(new)
        self.created = [
            replace(c, name=new_name) if c.kind == "table" and among((c.schema, c.name), {old})
            else replace(c, table=new) if c.table is not None and among(c.table, {old})
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
    state.created_tables.add(relation_key(relation))
    if relation.relpersistence != "t":
        state.remember("table", relation.schemaname, relation.relname)


def _create_table_as(state: _FileState, node: Any) -> None:
    relation = node.into.rel
    state.created_tables.add(relation_key(relation))
    if relation.relpersistence != "t":
        kind = "matview" if enum_name(node.objtype) == "OBJECT_MATVIEW" else "table"
        state.remember(kind, relation.schemaname, relation.relname)


def _select(state: _FileState, node: Any) -> None:
    into = getattr(node, "intoClause", None)
    if into is not None:  # SELECT ... INTO new_table
        state.created_tables.add(relation_key(into.rel))
    for call in nodes(node):
        if type(call).__name__ != "FuncCall" or strings(call.funcname)[-1:] != ["set_config"]:
            continue
        name, value = (constant(arg) for arg in (call.args or (None, None))[:2])
        if name == "lock_timeout":
            state.lock_timeout = value is None or not ZERO_DURATION.match(value)


def _create_index(state: _FileState, node: Any) -> None:
    relation = node.relation
    if not node.concurrent and state.existing(relation):
        state.report("index-not-concurrent",
                     f"CREATE INDEX on existing table {relation_name(relation)} blocks its writes "
                     "until the index is built")
    if node.idxname:
        state.remember("index", relation.schemaname, node.idxname, table=relation_key(relation))


def _alter_table(state: _FileState, node: Any) -> None:
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


def _added_column(state: _FileState, table: str, column: Any) -> None:
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
        how = column_type if column_type in SERIAL_TYPES else "an identity or generated column"
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


def _added_constraint(state: _FileState, relation: Any, existing: bool, constraint: Any) -> None:
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


def _rename(state: _FileState, node: Any) -> None:
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


def _drop(state: _FileState, node: Any) -> None:
    if state.direction != "up" or enum_name(node.removeType) != "OBJECT_TABLE":
        return
    for parts in node.objects or ():
        key = qualified(parts)
        if not among(key, state.created_tables):
            state.report("drop-table",
                         f"DROP TABLE {dotted(key)} in an up migration deletes its data, and "
                         "running code that still uses it breaks")


def _truncate(state: _FileState, node: Any) -> None:
    if state.direction != "up":
        return
    for relation in node.relations or ():
        if state.existing(relation):
            state.report("truncate",
                         f"TRUNCATE {relation_name(relation)} in an up migration deletes every row "
                         "and cannot be rolled back once committed")


def _set(state: _FileState, node: Any) -> None:
    if node.name != "lock_timeout":
        return
    kind = enum_name(node.kind)
    args: tuple[Any, ...] = tuple(node.args or ())
    value = constant(args[0]) if len(args) == 1 else None
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
    state.remember("trigger", None, node.trigname, table=relation_key(node.relation),
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

def _check_down_drops(state: _FileState, down_text: str) -> None:
    if "down-does-not-drop" in state.disabled or not state.created:
        return
    for created in uncovered(state.created, down_text):
        if "down-does-not-drop" in created.ignored:
            continue
        what = f"{created.kind} {dotted((created.schema, created.name))}"
        if created.table is not None:
            what += f" on {dotted(created.table)}"
        state.findings.append(_finding(
            "down-does-not-drop", state.path, created.line, created.column,
            f"the up creates {what}, and the down file never drops it"))
