"""What `sqlmig status` shows: the table of every migration (laid out by hand: a Rich
Table of 10,000 rows takes tens of seconds) and its JSON document. Decides nothing."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlmig.cli.render import STATE_STYLES, invalid_indexes_json, run_output
from sqlmig.core.states import State

if TYPE_CHECKING:
    from sqlmig.core.status import Status, StatusTable


@functools.lru_cache(maxsize=4096)
def _when(epoch: str) -> str:
    """Local time to the second. A batch shares a few seconds, so a long history formats a
    handful of distinct values, not one per row."""
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(epoch))) if epoch else ""


def _state(state: State, note: str) -> str:
    """The state and its marks (`baseline`, `adopted from TOOL`, `no-op`), or its problem."""
    if not note:
        return state.value
    return f"{state}: {note}" if state is State.PROBLEM else f"{state} ({note})"


def status_table(table: StatusTable) -> None:
    """The same look as Rich's tables, laid out by hand: a Rich Table of 10,000 rows takes
    tens of seconds to render, and long histories are exactly when status is run in CI.
    Built a column at a time, each cell by C code where it can be."""
    headers = ("version", "name", "state", "applied at", "duration", "batch")
    versions, names, states, notes, ats, durations, batches = table.columns
    columns = [versions, names,
               states if not any(notes) else list(map(_state, states, notes)),
               list(map(_when, ats)), [f"{ms} ms" if ms else "" for ms in durations], batches]
    widths = [max(len(header), max(map(len, column), default=0))
              for header, column in zip(headers, columns, strict=True)]
    right = (4, 5)
    layout = "  ".join(f"%{'' if i in right else '-'}{w}s" for i, w in enumerate(widths))
    rows = list(map(str.rstrip, map(layout.__mod__, zip(*columns, strict=True))))
    out: Any = run_output()
    head = f"{table.env} · {table.target}"
    header = (layout % headers).rstrip()
    if out.color_system is None:  # a log, a pipe or NO_COLOR: Rich's rendering would be pure cost
        out.file.write("".join([head, "\n", header, "\n", *(f"{row}\n" for row in rows),
                                status_summary(table.counts), "\n",
                                *(f"problem: {p}\n" for p in table.problems)]))
        return
    from rich.text import Text

    text = Text()
    text.append(header + "\n", style="bold")
    text.append("─" * len(header) + "\n")
    state_at = sum(widths[:2]) + 4
    for rendered, state, shown in zip(rows, states, columns[2], strict=True):
        text.append(rendered[:state_at])
        text.append(rendered[state_at:state_at + len(shown)], style=STATE_STYLES[state])
        text.append(rendered[state_at + len(shown):] + "\n")
    out.print(Text.assemble((table.env, "bold"), f" · {table.target}"), soft_wrap=True)
    out.print(text, soft_wrap=True, no_wrap=True, overflow="ignore", crop=False)
    out.print(status_summary(table.counts))
    for problem in table.problems:
        out.print(Text(f"problem: {problem}", style="red"), soft_wrap=True)


def status_summary(counts: dict[str, int]) -> str:
    """`3 applied, 1 pending, 1 failed`: applied and pending always, the rest when any."""
    parts = [f"{n} {state}" for state, n in counts.items() if n or state in ("applied", "pending")]
    return ", ".join(parts)


def status_json(status: Status) -> dict[str, Any]:
    return {
        "environment": status.env,
        "migrations": [
            {
                "version": row.version,
                "name": row.name,
                "state": str(row.state),
                "checksum": row.migration.checksum if row.migration else None,
                "applied_checksum": row.applied.checksum if row.applied else None,
                "applied_at": row.applied.applied_at.isoformat()
                if row.applied and row.applied.applied_at
                else None,
                "execution_ms": row.applied.execution_ms if row.applied else None,
                "batch": row.applied.batch if row.applied else None,
                "baseline": row.applied.baseline if row.applied else False,
                "adopted": row.applied.adopted if row.applied else None,
                "error": row.applied.error if row.applied else None,
                "no_op": bool(row.migration and row.migration.no_op),
                "problem": row.problem,
            }
            for row in status.rows
        ],
        "problems": [str(p) for p in status.problems],
        "summary": status.counts,
        "invalid_indexes": invalid_indexes_json(status.invalid),
    }
