"""Understanding SQL text without a database: statement boundaries (via pglast, the real Postgres
parser) and mapping a server error position back to line:column with a caret excerpt.

Pure: never connects, never prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, AnyStr


@dataclass(frozen=True)
class Statement:
    text: str
    offset: int  # character offset of `text` in the file
    line: int  # 1-based line where the statement starts


def split_statements(sql: str) -> list[Statement]:
    """Top-level statements in file order. Dollar quotes, DO blocks, comments and semicolons in
    strings are handled because the real Postgres parser finds the boundaries.

    Raises pglast.parser.ParseError on a syntax error (its `location` is a char offset).
    """
    from pglast import parser  # imported lazily: only no-transaction migrations need it

    statements = []
    for piece in parser.split(sql, with_parser=True, only_slices=True):
        start = piece.start or 0
        statements.append(Statement(sql[piece], start, sql.count("\n", 0, start) + 1))
    return statements


def locate(text: str, position: int) -> tuple[int, int]:
    """1-based (line, column) of a 1-based character position, as Postgres reports it."""
    index = max(0, min(position - 1, len(text)))
    line = text.count("\n", 0, index) + 1
    line_start = text.rfind("\n", 0, index) + 1
    return line, index - line_start + 1


def excerpt(text: str, line: int, column: int | None = None) -> str:
    """The offending line with its number, and a caret under the column."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    source = lines[line - 1].replace("\t", " ")
    gutter = f"{line:>5} | "
    out = gutter + source
    if column is not None:
        out += "\n" + " " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^"
    return out


@dataclass(frozen=True)
class Hazard:
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


# Above this size a file is bulk data. It is held as bytes only (see sqlfile.SqlFile): a 200 MB
# data file then costs its bytes plus libpq's send buffer, not also a str and two re-encoded
# copies. And it is neither parsed ahead nor linted: a full parse tree would cost many times
# its size in memory; the server still reports its errors.
BIG_FILE = 10_000_000


def hazards(sql: str) -> list[Hazard]:
    """Syntax errors, transaction control, statements PostgreSQL refuses inside a transaction
    block, and psql meta-commands, each with its line, found with the real Postgres parser
    before anything runs. Text over BIG_FILE is data: not parsed ahead."""
    if len(sql) > BIG_FILE:
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


_BLANKS = re.compile(r"(?:\s+|--[^\n]*)*")
_COMMENT_MARKS = re.compile(r"/\*|\*/")
_BYTE_BLANKS = re.compile(rb"(?:\s+|--[^\n]*)*")
_BYTE_COMMENT_MARKS = re.compile(rb"/\*|\*/")


def first_token(text: str | bytes, offset: int = 0) -> int:
    """The offset of the first token at or after `offset`: whitespace and comments (block
    comments nest) skipped, a regex per comment. An unterminated block comment runs to the end
    (there is no token). Bytes are a big file's, scanned without decoding."""
    if isinstance(text, str):
        return _first_token(text, offset, _BLANKS, _COMMENT_MARKS, "/*")
    return _first_token(text, offset, _BYTE_BLANKS, _BYTE_COMMENT_MARKS, b"/*")


def _first_token(text: AnyStr, offset: int, blanks: re.Pattern[AnyStr],
                 marks: re.Pattern[AnyStr], opening: AnyStr) -> int:
    while True:
        skipped = blanks.match(text, offset)  # matches, if only the empty string
        offset = skipped.end() if skipped else offset
        if not text.startswith(opening, offset):
            return offset
        depth, offset = 1, offset + 2
        while depth:
            mark = marks.search(text, offset)
            if mark is None:
                return len(text)
            depth += 1 if mark[0] == opening else -1
            offset = mark.end()


# One SQL token as psql's lexer sees it, for files too big for the parser: strings (with ''
# and, in E'', backslash escapes), quoted names, comments, dollar quotes (not after a name
# character, where `$` belongs to the name), and runs of anything else except `;`.
# Possessive quantifiers: a file that does not end in `;` must not make the regex backtrack.
_TOKEN = (
    rb"[^'\";$\-/Ee]++"
    rb"|(?<![\w\x80-\xff$])[Ee]'[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'"
    rb"|[Ee]"
    rb"|'[^']*+(?:''[^']*+)*+'"
    rb"|\"[^\"]*+(?:\"\"[^\"]*+)*+\""
    rb"|--[^\n]*+"
    rb"|/\*[^*]*+\*++(?:[^/*][^*]*+\*++)*+/"
    rb"|[-/]"
    rb"|(?<![\w\x80-\xff$])\$(?P<tag>(?:[A-Za-z_\x80-\xff][\w\x80-\xff]*+)?)\$.*?\$(?P=tag)\$"
    rb"|\$"
)
_STATEMENT_RUN = re.compile(rb"(?:(?:" + _TOKEN + rb")*+;){1,64}+", re.DOTALL)
_STATEMENT = re.compile(rb"(?:" + _TOKEN + rb")*+;", re.DOTALL)
_NESTED_COMMENT = re.compile(rb"/\*(?:[^*]|\*(?!/))*?/\*", re.DOTALL)


def statement_runs(data: bytes, size: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of `data`, in order and covering it, that end where statements end: about
    `size` bytes each (one statement, if it is bigger). Where the lexer could be wrong (nested
    comments) or stops understanding the text, the rest is one range."""
    if b"/*" in data and _NESTED_COMMENT.search(data):
        yield 0, len(data)
        return
    start = end = 0
    while end < len(data):
        match = _STATEMENT_RUN.match(data, end)
        if match is None or match.end() == end:
            break
        end = match.end()
        if end - start >= size:
            yield start, end
            start = end
    if data[start:].strip():
        yield start, len(data)


def _statement_spans(data: bytes) -> Iterator[tuple[int, int, bool]]:
    """Byte spans covering `data`, one per statement (from after the previous `;` through its
    own), each with whether the lexer found its end; where it cannot follow the text, the
    rest is one last span."""
    position = 0
    while position < len(data):
        match = _STATEMENT.match(data, position)
        found = match is not None and match.end() > position
        end = match.end() if match is not None and found else len(data)
        yield position, end, found
        position = end


def iter_statements(data: bytes) -> Iterator[Statement]:
    """The statements of a big file one at a time, found by the lexer-level regex (never a
    full parse of hundreds of megabytes): text from its first token, character offset, line.
    Whatever the lexer cannot follow is sent as one last statement for the server to judge."""
    chars, line = 0, 1
    for start_byte, end_byte, _ in _statement_spans(data):
        piece = data[start_byte:end_byte].decode("utf-8")
        start = first_token(piece, 0)
        if start < len(piece):
            yield Statement(piece[start:], chars + start, line + piece.count("\n", 0, start))
        chars += len(piece)
        line += piece.count("\n")


def statement_offsets(data: bytes) -> list[int]:
    """Byte offsets where each statement of `data` begins (after the previous `;`)."""
    return _statement_scan(data)[0]


def _statement_scan(data: bytes) -> tuple[list[int], bool]:
    """Statement offsets, and whether the lexer understood the text to its end."""
    offsets, complete = [], True
    for start, _, found in _statement_spans(data):
        if found:
            offsets.append(start)
            continue
        tail = data[start:].decode("utf-8", "replace")
        if first_token(tail, 0) < len(tail):  # an unterminated statement, or lexer gave up
            offsets.append(start)
            complete = b";" not in data[start:]
    return offsets, complete


# Session state that outlives a transaction: statements that begin with one of these words
# (SET, PREPARE, DECLARE ... WITH HOLD, LISTEN, LOAD; DO and CALL may run any of them), and
# temporary objects or set_config() anywhere.
# (Matched against the lower-cased text, with a first-letter lookahead: many files, each
# checked once per run.)
_SESSION_FIRST_WORDS = ("set", "reset", "prepare", "declare", "listen", "load", "do", "call")
_SESSION_INITIALS = "".join(sorted({word[0] for word in _SESSION_FIRST_WORDS}))
_SESSION_WORDS = re.compile(rf"\b(?=[{_SESSION_INITIALS}])({'|'.join(_SESSION_FIRST_WORDS)})\b")
_SESSION_ANYWHERE = re.compile(r"\b(?=[pst])(temp|temporary|pg_temp|set_config)\b")
_FIRST_WORD = re.compile(rb"(?:\s++|--[^\n]*+)*+([A-Za-z]+)")


def may_leave_session_state(text: str) -> bool:
    """Whether running `text` can change session state that outlives its transaction (so the
    next file needs a reset). Errs towards yes: `UPDATE ... SET` is found to be harmless, but
    a file with block comments (which may nest) or text the lexer cannot follow is not."""
    lower = text.lower()
    if _SESSION_ANYWHERE.search(lower):
        return True
    if not _SESSION_WORDS.search(lower):
        return False
    if "/*" in text:
        return True
    data = text.encode("utf-8")
    offsets, complete = _statement_scan(data)
    if not complete:
        return True
    for offset in offsets:
        word = _FIRST_WORD.match(data, offset)
        if word is not None and word[1].decode().lower() in _SESSION_FIRST_WORDS:
            return True
    return False
