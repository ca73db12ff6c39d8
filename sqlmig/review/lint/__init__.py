"""Static checks of migration files with the real Postgres parser (pglast): operations that lock or
rewrite busy tables, lose data, or cannot be rolled back, each with the safer alternative.

Pure and offline: reads text, returns findings; never connects, never prints. "Existing table"
means a table not created earlier in the same file. The rules and their advice are in
rules.py, the check of each kind of statement in statements.py, the down file's check in
reversal.py.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlmig.core import sqlfile
from sqlmig.core.checks import meta_command
from sqlmig.core.directives import parse_directives
from sqlmig.core.files import Migration
from sqlmig.core.hazards import hazards, non_transactional, transaction_control, unwrapped
from sqlmig.core.located import locate
from sqlmig.core.pg_ast import dotted, enum_name
from sqlmig.core.statements import first_token
from sqlmig.review.lint import parsed
from sqlmig.review.lint.ignores import Ignores
from sqlmig.review.lint.known import Known
from sqlmig.review.lint.reversal import uncovered
from sqlmig.review.lint.rules import DEFAULT_RULES, RULES, Finding, finding
from sqlmig.review.lint.sizes import weigh
from sqlmig.review.lint.state import NEWEST_PG, FileState
from sqlmig.review.lint.statements import (
    CHECKS,
    MAX_IDENTIFIER,
    long_identifiers,
    new_enum_value_used,
)
from sqlmig.review.lint.style import StyleChecks

__all__ = ["RULES", "Finding", "lint_file", "lint_migration"]

def lint_migration(
    migration: Migration, *, disabled: frozenset[str] = frozenset(), lock_timeout: bool = False,
    pg_version: int = NEWEST_PG, known: Known | None = None,
    enabled: frozenset[str] = frozenset(), sizes: Mapping[str, int | None] | None = None,
    small_rows: int = 10000,
) -> list[Finding]:
    """Both files of a migration; the up is also checked against what its down drops. Big
    files (bulk data, held as bytes) are not linted, so not decoded either. `known` carries
    what the earlier migrations' ups did to the schema, for migrations linted in order; the
    up adds to it. `enabled`: the opt-in rules to run too."""
    up, down = migration.up, migration.down
    findings = []
    if migration.no_op and "no-op-migration" not in disabled:
        findings.append(finding("no-op-migration", up.path, 1, None,
                                "the up file holds only comments: it is applied and recorded, "
                                "and changes nothing"))
    if not up.big:
        down_text = down.text if down is not None and not down.big else None
        findings += lint_file(up.path, up.text, direction="up", down_text=down_text,
                              disabled=disabled, lock_timeout=lock_timeout,
                              pg_version=pg_version, known=known, enabled=enabled,
                              sizes=sizes, small_rows=small_rows)
    if down is not None and not down.big:
        findings += lint_file(down.path, down.text, direction="down", disabled=disabled,
                              lock_timeout=lock_timeout, pg_version=pg_version,
                              enabled=enabled, sizes=sizes, small_rows=small_rows)
    return findings


def lint_file(
    path: Path, text: str, *, direction: str = "up", down_text: str | None = None,
    disabled: frozenset[str] = frozenset(), lock_timeout: bool = False,
    pg_version: int = NEWEST_PG, known: Known | None = None,
    enabled: frozenset[str] = frozenset(), sizes: Mapping[str, int | None] | None = None,
    small_rows: int = 10000,
) -> list[Finding]:
    """Findings for one file. `lock_timeout` says one is configured for every migration;
    `pg_version` is the major version of the server it will run on; `enabled` names the
    opt-in rules to run too. `sizes`: rows per table and index a server reported (a lock on
    fewer than `small_rows` is a note). Files over sqlfile.BIG_FILE are not parsed."""
    if len(text) > sqlfile.BIG_FILE:
        return []
    directives = parse_directives(text, path)
    ignores = Ignores.read(path, text)
    statements = parsed.statements(text)
    if statements is None:
        return ignores.problems + [
            finding("syntax-error", path, hazard.line, hazard.column,
                     hazard.what if hazard.kind == "syntax" else
                     meta_command(hazard.what), text=text)
            for hazard in hazards(text)
            if "syntax-error" not in disabled
        ]
    state = FileState(path, text, direction, disabled,
                       transactional="no-transaction" not in directives,
                       lock_timeout=lock_timeout or "lock-timeout" in directives,
                       pg_version=pg_version,
                       known=known if known is not None and direction == "up" else Known(),
                       ignores=ignores)
    if state.transactional and unwrapped(text) is not None:
        statements = statements[1:-1]  # its own BEGIN/COMMIT: run as sqlmig's transaction
    style = StyleChecks(state, enabled, "statement-timeout" in directives) if enabled else None
    previous_end = 0
    starts: list[int] = []
    ignored: list[frozenset[str]] = []  # the rules ignored for each statement
    for raw in statements:
        start = first_token(text, raw.stmt_location or 0)
        starts.append(start)
        ignored.append(ignores.between(previous_end, start) if ignores.comments else frozenset())
        state.begin_statement(start, ignored[-1])
        before = len(state.findings)
        _check_statement(state, raw.stmt)
        if style is not None:
            style.check(raw.stmt)
        if sizes and len(state.findings) > before:
            found = state.findings[before:]
            weigh(found, raw.stmt, sizes, small_rows)
            state.findings[before:] = found
        previous_end = start + (raw.stmt_len or len(text) - start)
    if direction == "up" and down_text is not None:
        _check_down_drops(state, down_text)
    if "identifier-too-long" not in disabled:
        for offset, name in long_identifiers(text):
            at = bisect_right(starts, offset) - 1
            if at >= 0 and ignores.silences("identifier-too-long", starts[at], ignored[at]):
                continue
            line, column = locate(text, offset + 1)
            kept = name.encode("utf-8")[:MAX_IDENTIFIER].decode("utf-8", "ignore")
            state.findings.append(finding(
                "identifier-too-long", path, line, column,
                f"{name!r} is {len(name.encode('utf-8'))} bytes: PostgreSQL keeps the first "
                f"{MAX_IDENTIFIER} and names it {kept!r}", text=text))
    if ignores.comments:
        state.findings += ignores.problems
        if "unused-ignore" not in disabled:
            active = (DEFAULT_RULES | enabled) - disabled
            if direction != "up" or down_text is None:  # no down to hold the up against
                active -= {"down-does-not-drop", "enum-value-irreversible"}
            state.findings += ignores.unused(path, text, starts, active)
    return state.findings


def _check_statement(state: FileState, node: Any) -> None:
    kind = type(node).__name__
    if not state.transactional:
        _explicit_block(state, node)
    else:
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
    if state.enum_values:
        new_enum_value_used(state, node)
    check = CHECKS.get(kind)
    if check is not None:
        check(state, node)


def _explicit_block(state: FileState, node: Any) -> None:
    """A no-transaction file may still open a transaction of its own: what PostgreSQL refuses
    in a transaction block is refused between its BEGIN and COMMIT too."""
    if type(node).__name__ == "TransactionStmt":
        kind = enum_name(node.kind)
        if kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
            state.in_block = True
        elif kind in ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"):
            state.in_block = False
        return
    what = non_transactional(node) if state.in_block else None
    if what is not None:
        rule = "concurrently-in-transaction" if "CONCURRENTLY" in what else (
            "needs-no-transaction")
        state.report(rule, f"{what} cannot run inside a transaction block, and this file "
                           "opened one with BEGIN above it")


def _check_down_drops(state: FileState, down_text: str) -> None:
    if not state.created:
        return
    for created in uncovered(state.created, down_text):
        if created.kind == "enum-value":
            if not state.suppressed("enum-value-irreversible", created.statement,
                                    created.ignored):
                state.findings.append(finding(
                    "enum-value-irreversible", state.path, created.line, created.column,
                    f"the up adds a value to enum {dotted((created.schema, created.name))}, "
                    "and PostgreSQL cannot remove an enum value: the down leaves it there",
                    text=state.text))
            continue
        if state.suppressed("down-does-not-drop", created.statement, created.ignored):
            continue
        what = f"{created.kind} {dotted((created.schema, created.name))}"
        if created.table is not None:
            what += f" on {dotted(created.table)}"
        state.findings.append(finding(
            "down-does-not-drop", state.path, created.line, created.column,
            f"the up creates {what}, and the down file never drops it", text=state.text))
