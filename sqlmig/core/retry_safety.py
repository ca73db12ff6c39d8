"""Whether a no-transaction file's statement that timed out on a lock can simply be sent
again: a lock timeout cancels one statement and undoes its own work, except where the
statement runs as several transactions (CONCURRENTLY) or belongs to a transaction the file
opened itself. Pure: the engine asks the database for INVALID indexes and passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence

# Statements that run as several transactions: stopped after the first, they leave an
# INVALID index (the engine looks for one before retrying such a statement).
INDEX_BUILDS = ("CREATE INDEX CONCURRENTLY", "DROP INDEX CONCURRENTLY", "REINDEX CONCURRENTLY")


def statement_kind(text: str) -> str | None:
    """What of `text` (one statement) matters to a retry: one of INDEX_BUILDS, "DETACH
    PARTITION CONCURRENTLY" (never retried: stopped, it may leave the partition
    detach-pending), or None for a statement whose own work a lock timeout undoes whole."""
    from pglast import parser

    from sqlmig.core.hazards import non_transactional

    try:
        statements = parser.parse_sql(text)
    except parser.ParseError:
        return None  # the server read it; nothing here says it runs in pieces
    for raw in statements:
        what = non_transactional(raw.stmt)
        if what in INDEX_BUILDS or what == "DETACH PARTITION CONCURRENTLY":
            return what
    return None


def opens_transactions(text: str | None) -> bool:
    """Whether a no-transaction file (None: a big one, not read ahead) opens or ends
    transactions itself: a lock timeout inside one rolls back the statements before it
    too, so retrying the one statement would not be the same."""
    if text is None:
        return True
    from pglast import parser

    from sqlmig.core.hazards import transaction_control

    try:
        return any(transaction_control(raw.stmt) for raw in parser.parse_sql(text))
    except parser.ParseError:
        return True


def statement_unsafe(kind: str | None, *, transactions: bool,
                     invalid: Sequence[str] = ()) -> str | None:
    """Why a no-transaction file's statement (of `kind`, see statement_kind) that timed out
    must not simply be sent again, or None. `transactions`: the file opens its own;
    `invalid`: the INVALID indexes there are after the failure."""
    if transactions:
        return ("the file opens its own transactions (or is too big to read ahead), so "
                "the timeout may have rolled back more than this statement")
    if kind == "DETACH PARTITION CONCURRENTLY":
        return ("a DETACH PARTITION CONCURRENTLY that stopped may leave the partition "
                "detach-pending (finish it with ALTER TABLE ... DETACH PARTITION ... FINALIZE)")
    if kind in INDEX_BUILDS and invalid:
        return (f"the {kind} stopped partway and left an INVALID index "
                f"({', '.join(invalid)}), which running it again would not repair")
    return None
