"""Where a failed query went wrong, in the user's file: the server's position (characters into
the query sent) or its count of statements that succeeded, in a query made of prefixes, files
and suffixes or in one piece of a big file, mapped to file:line:column with the line quoted.
Pure: it never touches a socket (pg/send.py and the engine call it when a query fails).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from contextlib import suppress
from typing import NamedTuple

from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.statements import Statement, first_token, split_statements, statement_offsets
from sqlmig.errors import MigrationFailed


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


class ServerError(NamedTuple):
    """One failed statement, as the server described it."""

    message: str
    statement_index: int  # how many statements of the query succeeded before this one
    sqlstate: str | None = None
    detail: str | None = None
    hint: str | None = None
    context: str | None = None
    position: int | None = None  # 1-based character position in the query sent
    internal_position: int | None = None  # position inside `internal_query` (function bodies)
    internal_query: str | None = None


class Part(NamedTuple):
    """One file's share of a query sent: `prefix + text + suffix`, starting `offset`
    characters into the query. The suffix, when there is one, is the file's history row and
    COMMIT."""

    file: SqlFile
    text: str  # the file's text, or the one statement of it that was sent (`statement`)
    prefix: str = ""
    prefix_statements: int = 0  # how many statements `prefix` holds
    suffix: str = ""
    statement: Statement | None = None
    offset: int = 0


def failed_part(offsets: Sequence[int], error: ServerError, running: int) -> int:
    """Which of a query's parts (starting at `offsets`) an error belongs to: the one holding
    its position, or else `running`, the part whose statements were executing when it came."""
    if error.position is None:
        return running
    return bisect_right(offsets, error.position - 1) - 1


def located(part: Part, error: ServerError, before: int = 0) -> MigrationFailed:
    """The failure of a query, located in `part`'s file; `before` statements of the query
    (those of earlier parts) succeeded before the part began. An error in the suffix is
    reported as the commit failing."""
    error = error._replace(
        statement_index=error.statement_index - before,
        position=None if error.position is None else error.position - part.offset,
    )
    if part.suffix and _in_suffix(error, part):
        return MigrationFailed(
            part.file.path, f"rolled back at commit: {error.message}", detail=error.detail,
            hint=error.hint, context=error.context, sqlstate=error.sqlstate,
        )
    return _failure(part.file, error, len(part.prefix), part.prefix_statements, part.statement,
                    part.text)


def located_in_piece(file: SqlFile, error: ServerError, data: bytes, start: int,
                     end: int) -> MigrationFailed:
    """The failure of `data[start:end]`, a piece of a big file sent as a query of its own,
    located in the whole file (decoded only now). The server counts its position in
    characters from the piece's start, not in bytes."""
    if error.position is not None:
        return _failure(file, error, 0, 0, Statement("", len(data[:start].decode("utf-8")), 0))
    offsets = statement_offsets(data[start:end])
    failed = start + (offsets[error.statement_index] if error.statement_index < len(offsets) else 0)
    text = file.text
    begins = first_token(text, len(data[:failed].decode("utf-8")))
    return _failure(file, error, 0, 0, Statement("", begins, text.count("\n", 0, begins) + 1))


def syntax_failure(file: SqlFile, err: Exception) -> MigrationFailed:
    """pglast's ParseError for `file`, located (its location is a 0-based character offset)."""
    location = err.args[1] if len(err.args) > 1 and isinstance(err.args[1], int) else None
    line, column = locate(file.text, location + 1) if location is not None else (None, None)
    return MigrationFailed(
        file.path, f"syntax error: {err.args[0] if err.args else err}", line=line,
        column=column, excerpt=excerpt(file.text, line, column) if line else None,
    )


def _in_suffix(error: ServerError, part: Part) -> bool:
    if error.position is not None:
        return error.position > len(part.prefix) + len(part.text)
    try:
        count = len(split_statements(part.text))
    except Exception:  # unparseable text: the error is the file's own
        return False
    return error.statement_index >= part.prefix_statements + count


def _failure(
    file: SqlFile,
    error: ServerError,
    prefix_length: int,
    prefix_statements: int,
    statement: Statement | None,
    sent: str | None = None,
) -> MigrationFailed:
    """Point at file:line:column when the server gives a position; otherwise at the first line
    of the failing statement (found by counting the statements that succeeded)."""
    line = column = None
    if error.position is not None:
        position = error.position - prefix_length + (statement.offset if statement else 0)
        line, column = locate(file.text, position)
    elif statement is not None:
        line = statement.line
    else:
        index = error.statement_index - prefix_statements
        with suppress(Exception):  # an unparseable file still gets the message, just no line
            statements = split_statements(file.text if sent is None else sent)
            if 0 <= index < len(statements):
                line = statements[index].line
    context = error.context
    if error.internal_query and error.internal_position:
        context = (context + "\n" if context else "") + (
            f"in: {error.internal_query.strip()[:200]}"
        )
    return MigrationFailed(
        file.path,
        error.message,
        line=line,
        column=column,
        excerpt=excerpt(file.text, line, column) if line else None,
        detail=error.detail,
        hint=error.hint,
        context=context,
        sqlstate=error.sqlstate,
    )
