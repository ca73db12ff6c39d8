"""The lint rules: each one's name, severity and the safer alternative users are shown with
every finding. The advice lives here, reviewed together; statements.py words the findings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmig.core.checks import ADD_NO_TRANSACTION, OR_MANAGE_THEM, REMOVE_TRANSACTION_CONTROL
from sqlmig.errors import MigrationFileError


@dataclass(frozen=True)
class Rule:
    severity: str  # "error" fails `sqlmig lint`; "warning" and "info" are reported only
    fix: str  # the safer alternative, shown next to every finding
    opt_in: bool = False  # off unless named in lint_enable / --enable (the style rules)


RULES: dict[str, Rule] = {
    "syntax-error": Rule("error", "fix the SQL; PostgreSQL would refuse the file"),
    "no-op-migration": Rule(
        "info", "nothing to do if the change moved elsewhere (the file keeps the numbering "
        "whole); otherwise write its SQL"),
    "file-problem": Rule(
        "error", "fix the file or its name: sqlmig cannot run it as it is (every such problem: "
        "`sqlmig verify --offline`)"),
    "bad-ignore": Rule(
        "error", "name the rule(s) to silence, as `sqlmig lint --help` lists them: "
        "`-- sqlmig:lint-ignore drop-column`"),
    "unused-ignore": Rule(
        "warning", "remove the comment, or the rule names in it that no longer fire"),
    "index-not-concurrent": Rule(
        "error",
        "CREATE INDEX / DROP INDEX / REINDEX ... CONCURRENTLY, in a file with "
        "`-- sqlmig:no-transaction` (it does not block writes)",
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
    "validate-in-same-transaction": Rule(
        "error",
        "VALIDATE CONSTRAINT in a later migration (or put both in a no-transaction file), so the "
        "lock the ADD takes is released before the scan",
    ),
    "detach-partition-not-concurrent": Rule(
        "error",
        "DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+), in a file with "
        "`-- sqlmig:no-transaction`",
    ),
    "same-column-twice": Rule(
        "error", "name each column once per statement; PostgreSQL refuses the statement",
    ),
    "attach-partition-scan": Rule(
        "warning",
        "first ADD CONSTRAINT ... CHECK (key IS NOT NULL AND the bound) NOT VALID on the table "
        "and VALIDATE it in a later migration: ATTACH PARTITION then skips the scan; drop the "
        "check afterwards",
    ),
    "refresh-not-concurrent": Rule(
        "error",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view): reads go "
        "on while it runs",
    ),
    "backfill-under-lock": Rule(
        "warning",
        "change the schema in one migration and the data in the next (in batches), so the "
        "exclusive lock is held for an instant, not for the whole backfill",
    ),
    "enum-value-used-in-transaction": Rule(
        "error",
        "add the value in a migration of its own (or a no-transaction file), and use it in a "
        "later one",
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
    "table-rewrite": Rule(
        "error",
        "pg_repack or pg_squeeze rebuild a table online; or run it in a maintenance window, "
        "outside migrations",
    ),
    "delete-without-where": Rule(
        "error",
        "delete in batches with a WHERE clause (each batch its own transaction), or say so with "
        "`-- sqlmig:lint-ignore delete-without-where`",
    ),
    "update-without-where": Rule(
        "warning",
        "backfill in batches with a WHERE clause, each its own transaction (a no-transaction "
        "file), so rows are not all locked at once",
    ),
    "identifier-too-long": Rule(
        "error", "shorten the name to at most 63 bytes, the longest PostgreSQL keeps"),
    "truncate": Rule(
        "error",
        "delete in batches with a WHERE clause, or say so with `-- sqlmig:lint-ignore truncate`",
    ),
    "concurrently-in-transaction": Rule(
        "error",
        f"{ADD_NO_TRANSACTION} and keep the statement idempotent (IF NOT EXISTS / IF EXISTS)",
    ),
    "needs-no-transaction": Rule(
        "error", ADD_NO_TRANSACTION,
    ),
    "transaction-control": Rule(
        "error",
        f"{REMOVE_TRANSACTION_CONTROL}, {OR_MANAGE_THEM}",
    ),
    "down-does-not-drop": Rule(
        "error",
        "drop it in the down file so rollback returns the schema to where it was "
        "(`sqlmig check` proves it)",
    ),
    "enum-value-irreversible": Rule(
        "error",
        "mark the up `-- sqlmig:irreversible` (and remove the down), or rebuild the type in the "
        "down: rename it, create it without the value, move the columns, drop the old one",
    ),
    "lock-timeout-missing": Rule(
        "warning",
        "SET lock_timeout = '5s' first (or `-- sqlmig:lock-timeout 5s`, or lock_timeout in "
        "config), so a blocked statement fails fast instead of queueing every query behind it; "
        "retry later",
    ),
    # Opt-in (style.py): a project's conventions more than hazards, so off by default
    "prefer-bigint": Rule(
        "warning", "bigint for new integer columns (serial: bigint GENERATED BY DEFAULT AS "
        "IDENTITY): 4 more bytes a row, against a rewrite of the table when the ids run out",
        opt_in=True),
    "prefer-identity": Rule(
        "warning", "bigint GENERATED BY DEFAULT AS IDENTITY instead of serial/bigserial (BY "
        "DEFAULT still accepts explicit ids, as serial did)", opt_in=True),
    "prefer-text": Rule(
        "warning", "text, with CHECK (char_length(col) <= n) if the limit matters: a check is "
        "replaced NOT VALID, then validated without blocking writes", opt_in=True),
    "prefer-timestamptz": Rule(
        "warning", "timestamptz: it stores the instant, and shows it in each session's time "
        "zone", opt_in=True),
    "statement-timeout-missing": Rule(
        "warning", "`-- sqlmig:statement-timeout 5min` at the top (or SET statement_timeout, or "
        "statement_timeout in config), sized to what the statement should take, so one that "
        "runs long fails instead of holding its lock", opt_in=True),
    "no-transaction-idempotent": Rule(
        "warning", "IF NOT EXISTS / IF EXISTS / OR REPLACE on every statement of a "
        "no-transaction file, so a rerun after a failure halfway skips what is already done",
        opt_in=True),
}

# Each rule has a section (an anchor `rule-NAME`) in the README; [project.urls] says the same
README = "https://github.com/sqlmig/sqlmig/blob/main/README.md"


def rule_url(rule: str) -> str:
    return f"{README}#rule-{rule}"


# Rules that run unless disabled, and those that run only when enabled
DEFAULT_RULES = frozenset(name for name, rule in RULES.items() if not rule.opt_in)
OPT_IN_RULES = frozenset(name for name, rule in RULES.items() if rule.opt_in)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    path: Path
    line: int
    column: int | None
    message: str
    fix: str
    source: str | None = None  # the line of the file the finding points at, for a caret
    suggestion: str | None = None  # the safer SQL, in the migration's own names

    @property
    def docs(self) -> str:
        """The rule's section of the README."""
        return rule_url(self.rule)


def source_line(text: str, line: int) -> str:
    """Line `line` (1-based) of text, without its line break."""
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def file_problem(problem: MigrationFileError) -> Finding:
    """A problem that keeps a file from being a migration at all, as a finding."""
    return finding("file-problem", problem.path, problem.line or 1, None, problem.message)


def finding(rule: str, path: Path, line: int, column: int | None, message: str, *,
            text: str | None = None, suggestion: str | None = None) -> Finding:
    """`text` is the file's, to quote the line the finding points at."""
    spec = RULES[rule]
    source = source_line(text, line) if text is not None else None
    return Finding(rule, spec.severity, path, line, column, message, spec.fix, source,
                   suggestion)
