"""Tables for the terminal that never cut an id a user must copy (check, scan, organisation, control ids, profile
and dataset names).

An id column never wraps: it is as wide as its longest id (a cell holding several ids has one a line); a column
of short values (severity, status, numbers) never wraps either, and every other column wraps its text at spaces
(breaking only words longer than ``WORD``). When the terminal is too narrow for that, the rows are printed one
block each instead (the row's id, then ``column  value`` lines), so every id is still whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

#: a column whose values (and header) are at most this long never wraps either: "critical", not "critica" "l"
SHORT = 12

#: in a column of text, a word up to this long must not be broken over lines (else: blocks)
WORD = 16

#: a cell: plain text (printed as is, never as markup) or styled text
Cell = str | Text


@dataclass
class Listing:
    """The rows of a listing; ``ids``: the headers of the columns whose values are ids (a cell may hold several,
    one a line)."""

    headers: Sequence[str]
    ids: Sequence[str] = ()
    rows: list[Sequence[Cell]] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.headers):
            raise ValueError(f"{len(cells)} cells for {len(self.headers)} columns")
        self.rows.append(cells)

    def must_show(self) -> set[str]:
        """What must appear whole for the table to be printed: every id and every short value, and each word of the
        other columns up to ``WORD`` long (a longer one, an e-mail address, may be broken over lines; a column so
        narrow that it breaks shorter words is unreadable)."""
        keep = {i for i, header in enumerate(self.headers) if header in self.ids or self._short(i)}
        return {
            word
            for row in (self.headers, *self.rows)
            for i, cell in enumerate(row)
            for word in _plain(cell).split()
            if i in keep or len(word) <= WORD
        }

    def _longest(self, column: int) -> int:
        lines = (line for row in self.rows for line in _plain(row[column]).splitlines())
        return max((len(line) for line in lines), default=0)

    def _short(self, column: int) -> bool:
        return max(self._longest(column), len(self.headers[column])) <= SHORT

    def narrowest_table(self) -> int:
        """A width the table cannot fit below: its unwrapped columns whole, a word of each other, the gaps."""
        widths = [
            max(self._longest(i), len(h)) if h in self.ids or self._short(i) else min(WORD, len(h))
            for i, h in enumerate(self.headers)
        ]
        return sum(widths) + 3 * (len(widths) - 1)

    def table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
        for i, header in enumerate(self.headers):
            if header in self.ids or self._short(i):
                table.add_column(header, no_wrap=True)
            else:
                table.add_column(header, overflow="fold")
        for row in self.rows:
            table.add_row(*(_text(c) for c in row))
        return table

    def blocks(self, console: Console) -> Text:
        """Each row as a block: its first id (bold), then a ``column  value`` line per other non-empty cell, the
        value wrapped beside it (or under it, on a narrow console); an id is only ever wrapped at a space."""
        key = self.headers.index(self.ids[0]) if self.ids else 0
        label = max(len(h) for i, h in enumerate(self.headers) if i != key) if len(self.headers) > 1 else 0
        # values beside their labels, or (too narrow for that) under them
        beside = console.width - (2 + label + 2) >= WORD + WORD // 2
        indent = " " * (2 + label + 2 if beside else 6)
        width = max(console.width - len(indent), WORD)
        out = Text()
        for row in self.rows:
            out.append_text(Text.assemble(_text(row[key]), "\n", style="bold"))
            for i, (header, cell) in enumerate(zip(self.headers, row, strict=True)):
                if i == key or not _plain(cell):
                    continue
                out.append(f"  {header:<{label}}  " if beside else f"  {header}\n{indent}")
                value = _text(cell)
                lines = (
                    _wrap_at_spaces(value, width) if header in self.ids else value.wrap(console, width, overflow="fold")
                )
                for line in lines:
                    line.rstrip()
                out.append_text(Text("\n" + indent).join(lines))
                out.append("\n")
        out.rstrip()
        return out


def print_listing(console: Console, listing: Listing) -> None:
    """The listing as a table when it fits the console's width with no word cut or folded (no id above all),
    else as one block per row."""
    if listing.narrowest_table() <= console.width:  # else not worth rendering: it cannot fit
        # rendered once, uncropped, to measure the real width; printed as rendered when it fits
        segments = list(console.render(listing.table(), console.options))
        lines = list(Segment.split_lines(segments))
        shown = ["".join(segment.text for segment in line) for line in lines]
        fits = all(Segment.get_line_length(line) <= console.width for line in lines)
        if fits and listing.must_show() <= {word for line in shown for word in line.split()}:
            console.print(Segments(segments), soft_wrap=True)
            return
    console.print(listing.blocks(console), soft_wrap=True)


def _wrap_at_spaces(text: Text, width: int) -> list[Text]:
    """``text`` wrapped at spaces only: an id is never broken, and one wider than ``width`` has a line of its own."""
    lines: list[Text] = []
    for line in text.split("\n"):
        current: Text | None = None
        for word in line.split(" "):
            if not word.plain:
                continue
            if current is None:
                current = word.copy()
            elif len(current) + 1 + len(word) <= width:
                current.append(" ")
                current.append_text(word)
            else:
                lines.append(current)
                current = word.copy()
        lines.append(current or Text())
    return lines


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell
