"""Table sizes a server reported (`sqlmig lint --against`): a lock, rewrite or scan of a
table with a few hundred rows lasts milliseconds, so its finding becomes a note; on a larger
one, the message says how many rows wait. Pure: given the sizes, never connects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlmig.core.pg_ast import nodes, strings
from sqlmig.review.lint.rules import Finding

# Rules about how long a lock is held (a build, a rewrite, a scan): harmless on a small table.
# Not data loss, refused statements, or lock-timeout-missing (any lock can queue traffic).
BY_SIZE = frozenset({
    "index-not-concurrent", "add-column-volatile-default", "constraint-not-valid",
    "add-unique-constraint", "alter-column-type", "set-not-null", "validate-in-same-transaction",
    "detach-partition-not-concurrent", "attach-partition-scan", "refresh-not-concurrent",
    "backfill-under-lock", "table-rewrite", "update-without-where",
})


def relations(node: Any) -> list[str]:
    """The tables and indexes a statement names (DROP INDEX names its index by a string)."""
    names = [n.relname for n in nodes(node) if type(n).__name__ == "RangeVar"]
    if type(node).__name__ == "DropStmt":
        names += [strings(target)[-1] for target in node.objects or () if strings(target)]
    return names


def weigh(findings: list[Finding], node: Any, sizes: Mapping[str, int | None],
          small_rows: int) -> None:
    """Rewrite in place the findings a statement produced, by the size of what it touches."""
    if not any(f.rule in BY_SIZE for f in findings):
        return
    touched = list(dict.fromkeys(n for n in relations(node) if n in sizes))
    counts = {n: rows for n in touched if (rows := sizes[n]) is not None}
    if not counts:
        return
    said = ", ".join(f"{name}: about {rows:,} rows" for name, rows in counts.items())
    small = len(counts) == len(touched) and max(counts.values()) < small_rows
    for index, found in enumerate(findings):
        if found.rule not in BY_SIZE:
            continue
        if small:
            findings[index] = replace(found, severity="info", message=(
                f"{found.message} ({said} on the --against server, under "
                f"lint_small_table_rows = {small_rows:,}: over in moments)"))
        else:
            findings[index] = replace(found, message=f"{found.message} ({said})")
