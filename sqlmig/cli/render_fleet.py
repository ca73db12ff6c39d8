"""What a fleet run shows: a live progress display (done / running / failed, the slowest
running targets) on a terminal, one plain line per finished target in a pipe, then the
summary table or the JSON report. Target names and errors are printed literally."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmig.cli import render
from sqlmig.cli.plain import PlainTable
from sqlmig.core.targets import FleetReport, State, TargetResult
from sqlmig.errors import ConfigError

if TYPE_CHECKING:
    from rich.live import Live

SLOWEST = 3  # running targets named in the live display
STATE_STYLES = {State.SUCCEEDED: "green", State.FAILED: "bold red", State.CANCELLED: "yellow",
                State.SKIPPED: "dim"}


class FleetProgress:
    """The fleet's Events: a Rich Live display on stderr when it is a terminal, else (and
    with --quiet nothing) a plain line on stderr as each target finishes."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.running: dict[str, float] = {}
        self.counts = {str(state): 0 for state in State}
        self.err = render.console(stderr=True)
        self.live: Live | None = None
        if self.err.is_terminal and not render.OUTPUT.quiet:
            from rich.live import Live

            # drawn anew at each refresh: the running targets' times keep counting
            self.live = Live(console=self.err, transient=True, refresh_per_second=4,
                             get_renderable=self._view)
            self.live.start()

    def started(self, target: str) -> None:
        self.running[target] = time.monotonic()
        self._refresh()

    def finished(self, result: TargetResult) -> None:
        self.running.pop(result.target, None)
        self.counts[result.state] += 1
        if self.live is not None:
            self._refresh()
        elif not render.OUTPUT.quiet:
            end = f": {result.error}" if result.error else ""
            self.err.print(f"{result.state} {result.target} ({result.ms} ms){end}",
                           markup=False, highlight=False, soft_wrap=True, emoji=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def _view(self) -> Any:
        from rich.text import Text

        # drawn by Rich's refresh thread: copies, each taken at once
        running, counts = self.running.copy(), self.counts.copy()
        now = time.monotonic()
        text = Text(f"{sum(counts.values())}/{self.total} done · {len(running)} running · "
                    f"{counts['failed']} failed")
        slowest = sorted(running.items(), key=lambda item: item[1])[:SLOWEST]
        for name, since in slowest:
            text.append(f"\n  {name}: {now - since:.1f}s")
        return text


def _versions(row: TargetResult) -> str:
    if row.from_version is None:
        return ""
    if row.to_version == row.from_version:
        return f"{row.from_version:04d}"
    return f"{row.from_version:04d} → {row.to_version or 0:04d}"


def report_table(report: FleetReport) -> None:
    command = report.command
    counted = {"status": "pending", "plan": "would apply", "rollback": "rolled back",
               "redo": "steps"}.get(command, "applied")
    columns = ["target", "state", "version", counted, "time", "error"]
    table = render.table(columns, right=[counted, "time"], wrap=["error"])
    for row in report.results:
        count = (row.pending if command in ("status", "plan")
                 else None if command in ("verify", "check") else row.applied)
        cells = [row.target, str(row.state), _versions(row),
                 "" if count is None else str(count), f"{row.ms} ms", row.error or ""]
        # escaped: a target's name or a server's message is never read as markup
        cells = [render.escape(cell) for cell in cells]
        cells[1] = f"[{STATE_STYLES[row.state]}]{cells[1]}[/]"
        table.add_row(*cells)
    if isinstance(table, PlainTable):  # line by line: 10,000 targets are never built whole
        out = render.HiddenFile()
        for line in table.lines():
            out.write(line + "\n")
    else:
        render.console().print(table)
    render.console().print(report.summary(), markup=False, highlight=False, soft_wrap=True)


def write_report(report: FleetReport, path: Path) -> None:
    from sqlmig.core.secrets import hide

    try:
        with path.open("w", encoding="utf-8") as out:
            out.writelines(hide(chunk) for chunk in report.json_chunks())
    except OSError as err:
        raise ConfigError(f"--report: cannot write {path}: {err.strerror or err}") from None


def print_report(report: FleetReport, json_: bool) -> None:
    if json_:
        out = render.HiddenFile()
        for chunk in report.json_chunks():  # a target at a time: flat memory at any size
            out.write(chunk)
    else:
        report_table(report)
