"""Tables for a pipe or a log (CI): plain aligned lines, where Rich would draw borders, pad
to 80 columns and wrap. Decides nothing; render.table() picks it when stdout is no terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text


class PlainTable:
    """A table for a pipe or a log: the columns aligned, each row on one line, nothing
    drawn, padded or cut (a cell of several lines continues under its column)."""

    def __init__(self, columns: Sequence[str], right: Sequence[str]) -> None:
        self.columns, self.right = list(columns), set(right)
        self.rows: list[list[list[str]]] = []
        self.title: str | None = None
        self.title_justify, self.title_style = "left", ""

    def add_row(self, *cells: str) -> None:
        from rich.text import Text

        self.rows.append([Text.from_markup(cell).plain.splitlines() or [""] for cell in cells])

    def lines(self) -> list[str]:
        from rich.text import Text

        rows = [[[c] for c in self.columns], *self.rows]
        widths = [max(len(line) for row in rows for line in row[i][:1])
                  for i in range(len(self.columns))]
        out = [Text.from_markup(self.title).plain] if self.title else []
        for row in rows:
            first = [
                row[i][0].rjust(w) if self.columns[i] in self.right else row[i][0].ljust(w)
                for i, w in enumerate(widths)
            ]
            out.append("  ".join(first).rstrip())
            for i, cell in enumerate(row):
                indent = " " * (sum(widths[:i]) + 2 * i)
                out.extend(f"{indent}{line}".rstrip() for line in cell[1:])
        return out

    def __rich__(self) -> Text:
        from rich.text import Text

        return Text("\n".join(self.lines()))
