"""The parse trees of the texts lint reads, each file parsed once: a down is read by its up's
check (what does it drop?) and then linted itself. Pure."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4)
def statements(text: str) -> tuple[Any, ...] | None:
    """pglast's RawStmt nodes of `text`, or None when PostgreSQL's parser refuses it. The
    nodes are shared between callers: read them, never change them (suggest.changed copies)."""
    from pglast import parser

    try:
        return tuple(parser.parse_sql(text))
    except parser.ParseError:
        return None
