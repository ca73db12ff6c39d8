"""Tables for a pipe or a log (CI): plain aligned lines, where Rich would draw borders, pad
to 80 columns and wrap. Decides nothing; render.table() picks it when stdout is no terminal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text


class PlainTable:
    """A table for a pipe or a log: the columns aligned, each row on one line, nothing
    drawn, padded or cut (a cell of several lines continues under its column)."""

    def __init__(self, columns: Sequence[str], right: Sequence[str]) -> None:
        self.columns, self.right = list(columns), set(right)
        self.rows: list[tuple[str, ...]] = []  # plain text: a fleet's may be 10,000 rows
        self.title: str | None = None
        self.title_justify, self.title_style = "left", ""

    def add_row(self, *cells: str) -> None:
        from rich.text import Text

        self.rows.append(tuple(Text.from_markup(cell).plain for cell in cells))

    def lines(self) -> Iterator[str]:
        """The lines one by one, so a long table is printed without being built whole."""
        from rich.text import Text

        widths = [len(column) for column in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len((cell.splitlines() or [""])[0]))
        if self.title:
            yield Text.from_markup(self.title).plain
        for row in (tuple(self.columns), *self.rows):
            cells = [cell.splitlines() or [""] for cell in row]
            first = [
                cells[i][0].rjust(w) if self.columns[i] in self.right else cells[i][0].ljust(w)
                for i, w in enumerate(widths)
            ]
            yield "  ".join(first).rstrip()
            for i, more in enumerate(cells):
                indent = " " * (sum(widths[:i]) + 2 * i)
                yield from (f"{indent}{line}".rstrip() for line in more[1:])

    def __rich__(self) -> Text:
        from rich.text import Text

        return Text("\n".join(self.lines()))
