"""What `sqlmig status` shows: the table of every migration (laid out by hand: a Rich
Table of 10,000 rows takes tens of seconds) and its JSON document. Decides nothing."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmig.cli.render import STATE_STYLES, invalid_indexes_json, run_output

if TYPE_CHECKING:
    from sqlmig.core.plan import StatusRow
    from sqlmig.core.status import Status


def _when(value: datetime | None) -> str:
    """Local time to the second. A batch shares a few seconds, so a long history formats a
    handful of distinct values, not one per row."""
    return _local_second(int(value.timestamp())) if value else ""


@functools.lru_cache(maxsize=4096)
def _local_second(epoch: int) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _state(row: StatusRow) -> str:
    """The state and its marks (`baseline`, `adopted from TOOL`, `no-op`), or its problem."""
    if row.problem is not None:
        return f"{row.state}: {row.problem}"
    applied, migration = row.applied, row.migration
    tool = applied.adopted if applied else None
    baseline = applied is not None and applied.baseline
    no_op = migration is not None and migration.no_op
    if not (baseline or tool is not None or no_op):  # most rows: no list built
        return row.state.value
    marks = [mark for mark, on in (("baseline", baseline), (f"adopted from {tool}",
                                   tool is not None), ("no-op", no_op)) if on]
    return f"{row.state} ({', '.join(marks)})"


def status_table(status: Status) -> None:
    """The same look as Rich's tables, laid out by hand: a Rich Table of 10,000 rows takes
    tens of seconds to render, and long histories are exactly when status is run in CI."""
    rows, env, target = status.rows, status.env, status.target
    headers = ("version", "name", "state", "applied at", "duration", "batch")
    cells = [
        (
            row.shown_version,
            row.name,
            _state(row),
            _when(row.applied.applied_at) if row.applied else "",
            f"{row.applied.execution_ms} ms"
            if row.applied and row.applied.execution_ms is not None else "",
            str(row.applied.batch) if row.applied else "",
        )
        for row in rows
    ]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    right = (4, 5)
    layout = "  ".join(f"{{:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))

    def line(values: Sequence[str]) -> str:
        return layout.format(*values).rstrip()

    out: Any = run_output()
    if out.color_system is None:  # a log, a pipe or NO_COLOR: Rich's rendering would be pure cost
        out.file.write("".join([f"{env} · {target}\n", line(headers), "\n",
                                *(line(values) + "\n" for values in cells),
                                status_summary(status.counts), "\n",
                                *(f"problem: {p}\n" for p in status.problems)]))
        return
    from rich.text import Text

    text = Text()
    text.append(line(headers) + "\n", style="bold")
    text.append("─" * len(line(headers)) + "\n")
    state_at = sum(widths[:2]) + 4
    for values, row in zip(cells, rows, strict=True):
        rendered = line(values)
        text.append(rendered[:state_at])
        text.append(rendered[state_at:state_at + len(values[2])], style=STATE_STYLES[row.state])
        text.append(rendered[state_at + len(values[2]):] + "\n")
    out.print(Text.assemble((env, "bold"), f" · {target}"), soft_wrap=True)
    out.print(text, soft_wrap=True, no_wrap=True, overflow="ignore", crop=False)
    out.print(status_summary(status.counts))
    for problem in status.problems:
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
