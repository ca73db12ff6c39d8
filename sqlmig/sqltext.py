"""Understanding SQL text without a database: statement boundaries (via pglast, the real Postgres
parser) and mapping a server error position back to line:column with a caret excerpt.

Pure: never connects, never prints.
"""

from __future__ import annotations

from dataclasses import dataclass


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
