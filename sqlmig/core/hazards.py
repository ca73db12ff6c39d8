"""Statements that would break sqlmig's transaction handling, found with the real Postgres
parser before anything runs: syntax errors, transaction control, statements PostgreSQL refuses
inside a transaction block, psql meta-commands. Pure: never connects, never prints.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from sqlmig.core import sqlfile
from sqlmig.core.located import locate
from sqlmig.core.statements import first_token


class Hazard(NamedTuple):
    """A statement that breaks sqlmig's transaction handling, found before anything runs."""

    kind: str  # "transaction-control" | "non-transactional" | "meta-command" | "syntax"
    what: str  # e.g. "COMMIT", "CREATE INDEX CONCURRENTLY", "\connect", the parser's message
    line: int
    column: int | None = None


# Cheap pre-filter: only files mentioning one of these words are parsed in full.
# (The lookahead on first letters lets the regex skip most positions quickly.)
_SUSPECT = re.compile(
    r"\b(?=[abcdeprstv])(begin|start|commit|end|rollback|abort|prepare|concurrently|vacuum|"
    r"database|system|tablespace|subscription|cluster)\b|^\s*\\",
    re.IGNORECASE | re.MULTILINE,
)


_FORBIDDEN_TRANSACTION_KINDS = {
    "TRANS_STMT_BEGIN": "BEGIN",
    "TRANS_STMT_START": "START TRANSACTION",
    "TRANS_STMT_COMMIT": "COMMIT",
    "TRANS_STMT_ROLLBACK": "ROLLBACK",
    "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
    "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED",
    "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
}


def hazards(sql: str) -> list[Hazard]:
    """Syntax errors, transaction control, statements PostgreSQL refuses inside a transaction
    block, and psql meta-commands, each with its line, found with the real Postgres parser
    before anything runs. Text over sqlfile.BIG_FILE is data: not parsed ahead."""
    if len(sql) > sqlfile.BIG_FILE:
        return []
    from pglast import parser

    suspect = _SUSPECT.search(sql)
    try:
        if not suspect:
            parser.split(sql, with_parser=True, only_slices=True)  # syntax check only
            return []
        statements = parser.parse_sql(sql)
    except parser.ParseError as err:
        return _meta_commands(sql) or [syntax_error(sql, err)]
    found = []
    for raw in statements:
        what = transaction_control(raw.stmt)
        kind = "transaction-control"
        if what is None:
            what, kind = non_transactional(raw.stmt), "non-transactional"
        if what is not None:
            start = raw.stmt_location or 0
            word = re.match(r"(end|abort)\b", sql[start:start + 6], re.IGNORECASE)
            if kind == "transaction-control" and word:
                what = word[1].upper()  # synonyms of COMMIT/ROLLBACK: name what the user wrote
            found.append(Hazard(kind, what, sql.count("\n", 0, start) + 1))
    return found


def syntax_error(sql: str, err: Exception) -> Hazard:
    message = str(err.args[0]) if err.args else str(err)
    index = err.args[1] if len(err.args) > 1 and isinstance(err.args[1], int) else None
    if index is None:
        return Hazard("syntax", message, 1)
    line, column = locate(sql, index + 1)
    return Hazard("syntax", message, line, column)


def transaction_control(node: object) -> str | None:
    if type(node).__name__ != "TransactionStmt":
        return None
    kind = getattr(node, "kind", None)
    return _FORBIDDEN_TRANSACTION_KINDS.get(getattr(kind, "name", ""))


def _has_concurrently(options: Any) -> bool:
    return any(getattr(o, "defname", None) == "concurrently" for o in options or ())


def non_transactional(node: object) -> str | None:
    """The statement as users write it, if PostgreSQL refuses it in a transaction block."""
    name = type(node).__name__
    if name == "IndexStmt" and getattr(node, "concurrent", False):
        return "CREATE INDEX CONCURRENTLY"
    if name == "DropStmt" and getattr(node, "concurrent", False):
        return "DROP INDEX CONCURRENTLY"
    if name == "ReindexStmt":
        kind = getattr(getattr(node, "kind", None), "name", "")
        if _has_concurrently(getattr(node, "params", None)):
            return "REINDEX CONCURRENTLY"
        if kind in ("REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_DATABASE"):
            return "REINDEX " + kind.rsplit("_", 1)[-1]
    if name == "VacuumStmt" and getattr(node, "is_vacuumcmd", False):
        return "VACUUM"
    if name == "ClusterStmt" and getattr(node, "relation", None) is None:
        return "CLUSTER (every table)"
    if name == "AlterTableStmt":
        for command in getattr(node, "cmds", None) or ():
            definition = getattr(command, "def_", None)
            if getattr(definition, "concurrent", False):
                return "DETACH PARTITION CONCURRENTLY"
    simple = {
        "CreatedbStmt": "CREATE DATABASE",
        "DropdbStmt": "DROP DATABASE",
        "AlterSystemStmt": "ALTER SYSTEM",
        "CreateTableSpaceStmt": "CREATE TABLESPACE",
        "DropTableSpaceStmt": "DROP TABLESPACE",
        "CreateSubscriptionStmt": "CREATE SUBSCRIPTION",
        "DropSubscriptionStmt": "DROP SUBSCRIPTION",
    }
    return simple.get(name)


def _meta_commands(sql: str) -> list[Hazard]:
    """Backslash commands at the start of a line, outside strings and comments."""
    from pglast import parser

    try:
        tokens = parser.scan(sql)
    except parser.ParseError:
        return []
    found = []
    for token in tokens:
        if token.name != "ASCII_92":
            continue
        line_start = sql.rfind("\n", 0, token.start) + 1
        if sql[line_start:token.start].strip():
            continue
        word = re.match(r"\\[A-Za-z!?]*", sql[token.start:])
        found.append(Hazard("meta-command", word.group(0) if word else "\\",
                            sql.count("\n", 0, token.start) + 1))
    return found


# A file that wraps itself in one transaction (golang-migrate sends a file as one query, so
# its users write BEGIN; ... COMMIT; themselves) runs as sqlmig's own transaction instead:
# the outer pair is blanked out, so the file's statements and its history row still commit
# together. Only a plain pair with no other transaction control in between: BEGIN with
# options (an isolation level) or COMMIT AND CHAIN mean more than a wrapper.
_OPENS = re.compile(r"(begin|start)\b", re.IGNORECASE)


def unwrapped(text: str) -> str | None:
    """`text` with its outer BEGIN; and COMMIT; blanked (the same length and lines, so
    positions in it are positions in the file), or None when it is not wrapped so."""
    if not _OPENS.match(text, first_token(text)) or len(text) > sqlfile.BIG_FILE:
        return None
    from pglast import parser

    try:
        raws = parser.parse_sql(text)
    except parser.ParseError:
        return None
    kinds = [transaction_control(raw.stmt) for raw in raws]
    first, last = raws[0].stmt, raws[-1].stmt
    if (len(raws) < 2 or kinds[0] not in ("BEGIN", "START TRANSACTION") or kinds[-1] != "COMMIT"
            or any(kinds[1:-1]) or getattr(first, "options", None)
            or getattr(last, "chain", False)):
        return None
    chars = list(text)
    for raw in (raws[0], raws[-1]):
        start = first_token(text, raw.stmt_location or 0)
        end = (raw.stmt_location or 0) + raw.stmt_len if raw.stmt_len else len(text)
        end += text.startswith(";", end)
        chars[start:end] = [c if c == "\n" else " " for c in text[start:end]]
    return "".join(chars)


def runnable(file: sqlfile.SqlFile) -> str | bytes:
    """What to send for `file`: its SQL, unwrapped when it is a transactional file that wraps
    itself in BEGIN/COMMIT (a no-transaction file manages its transactions as written)."""
    data = file.sql()
    if isinstance(data, bytes) or "no-transaction" in file.directives:
        return data
    return unwrapped(data) or data
