"""Statement boundaries in SQL text without a database: parsed with pglast (the real Postgres
parser) for files it reads ahead, lexed as bytes for big ones; and whether a file may leave
session state behind. Pure: never connects, never prints.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import AnyStr, NamedTuple


class Statement(NamedTuple):
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


# Up to 64 statements, and one: compiled on first use (_compiled), as only big files need them
_STATEMENT_RUN = rb"(?:(?:" + _TOKEN + rb")*+;){1,64}+"
_STATEMENT = rb"(?:" + _TOKEN + rb")*+;"


@functools.cache
def _compiled(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern, re.DOTALL)


_NESTED_COMMENT = re.compile(rb"/\*(?:[^*]|\*(?!/))*?/\*", re.DOTALL)


def statement_runs(data: bytes, size: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of `data`, in order and covering it, that end where statements end: about
    `size` bytes each (one statement, if it is bigger). Where the lexer could be wrong (nested
    comments) or stops understanding the text, the rest is one range."""
    if b"/*" in data and _NESTED_COMMENT.search(data):
        yield 0, len(data)
        return
    start = end = 0
    statements = _compiled(_STATEMENT_RUN)
    while end < len(data):
        match = statements.match(data, end)
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
    statement = _compiled(_STATEMENT)
    while position < len(data):
        match = statement.match(data, position)
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
