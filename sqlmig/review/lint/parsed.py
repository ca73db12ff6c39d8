"""The parse trees of the texts lint reads, each file parsed once: a down is read by its up's
check (what does it drop?) and then linted itself. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlmig.core.hazards import Hazard, syntax_error


@lru_cache(maxsize=4)
def statements(text: str) -> tuple[Any, ...] | None:
    """pglast's RawStmt nodes of `text`, or None when PostgreSQL's parser refuses it. The
    nodes are shared between callers: read them, never change them (suggest.changed copies)."""
    from pglast import parser

    try:
        return tuple(parser.parse_sql(text))
    except parser.ParseError:
        return None


@dataclass
class Salvaged:
    """What can be read of a text PostgreSQL's parser refuses."""

    statements: list[Any] = field(default_factory=list)  # RawStmts, located in the whole text
    refused: list[Hazard] = field(default_factory=list)  # each piece the parser refuses
    creates: list[tuple[str | None, str]] = field(default_factory=list)  # tables they create


def salvage(text: str) -> Salvaged:
    """The statements that parse on their own (split by the scanner at semicolons), so one
    bad statement does not hide the others' findings; the syntax error of each piece that
    does not; and the tables those pieces would create (new in the file, not existing)."""
    from pglast import ast, parser

    found = Salvaged()
    try:
        pieces = parser.split(text, with_parser=False, only_slices=True)
    except parser.ParseError:  # an unterminated quote: nothing can be told apart
        return found
    for piece in [*pieces, *_rest(text, pieces)]:
        chunk = text[piece]
        try:
            raws = parser.parse_sql(chunk)
        except parser.ParseError as err:
            found.creates += _creates(chunk)
            found.refused.append(_shifted(syntax_error(chunk, err), text, piece.start))
            continue
        for raw in raws:
            at = raw.stmt_location or 0
            found.statements.append(ast.RawStmt(stmt=raw.stmt, stmt_location=piece.start + at,
                                                stmt_len=raw.stmt_len or len(chunk) - at))
    return found


def _rest(text: str, pieces: tuple[slice, ...]) -> list[slice]:
    """The text after the last piece the scanner split off: it stops splitting at an
    unbalanced parenthesis, and what follows must be reported, not dropped."""
    from pglast import parser

    end = pieces[-1].stop if pieces else 0
    try:
        tokens = [t for t in parser.scan(text[end:]) if t.name != "ASCII_59"]  # not ';'
    except parser.ParseError:
        tokens = []
    return [slice(end + tokens[0].start, len(text))] if tokens else []


def _shifted(hazard: Hazard, text: str, start: int) -> Hazard:
    """A piece's syntax error placed in the whole text, the piece starting at `start`."""
    line_start = text.rfind("\n", 0, start) + 1
    column = hazard.column
    if column is not None and hazard.line == 1:
        column += start - line_start
    return hazard._replace(line=hazard.line + text.count("\n", 0, start), column=column)


_TABLE_PREFIX = {"GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED"}


def _creates(chunk: str) -> list[tuple[str | None, str]]:
    """The tables `CREATE [UNLOGGED|TEMP] TABLE [IF NOT EXISTS] name` in a refused piece
    names (a missing semicolon can merge several statements into one piece)."""
    from pglast import parser

    try:
        tokens = parser.scan(chunk)
    except parser.ParseError:
        return []
    names = [t.name for t in tokens]
    found: list[tuple[str | None, str]] = []
    for i, name in enumerate(names):
        if name != "CREATE":
            continue
        j = i + 1
        while j < len(names) and names[j] in _TABLE_PREFIX:
            j += 1
        if j >= len(names) or names[j] != "TABLE":
            continue
        j += 1
        if names[j:j + 3] == ["IF_P", "NOT", "EXISTS"]:
            j += 3
        parts = []
        while j < len(tokens) and tokens[j].kind != "RESERVED_KEYWORD":
            word = chunk[tokens[j].start:tokens[j].end + 1]
            parts.append(word[1:-1].replace('""', '"') if word.startswith('"') else word.lower())
            if j + 1 < len(names) and names[j + 1] == "ASCII_46":  # schema.table
                j += 2
                continue
            break
        if parts:
            found.append((parts[0], parts[1]) if len(parts) == 2 else (None, parts[-1]))
    return found
