"""A plain text grid: padded, truncated columns without rich's Table.

The panes redraw several times a second; a rich Table measures every cell of every
row on each frame, which cost more than the engine's own tick. Columns here have
widths decided by the caller, so a frame is string padding and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.text import Text

Justify = Literal["left", "right"]
Cell = Text | str


def grid(rows: Sequence[Sequence[Cell]], widths: Sequence[int], justify: Sequence[Justify],
         gap: int = 1, styles: Sequence[str] = ()) -> Text:  # fmt: skip
    """Rows of cells laid out in columns of the given widths (cells are truncated with
    an ellipsis, never wrapped). styles: a base style per column for plain strings."""
    out = Text(no_wrap=True, overflow="ellipsis")
    sep = " " * gap
    for i, row in enumerate(rows):
        if i:
            out.append("\n")
        for j, cell in enumerate(row):
            width = widths[j]
            if j:
                out.append(sep)
            if isinstance(cell, str):
                cell = Text(cell, style=styles[j] if j < len(styles) else "")
            if cell.cell_len > width:
                cell = cell.copy()
                cell.truncate(width, overflow="ellipsis")
            pad = " " * (width - cell.cell_len)
            if justify[j] == "right":
                out.append(pad)
                out.append_text(cell)
            else:
                out.append_text(cell)
                out.append(pad)
    return out


def split(width: int, fixed: int, n: int, gap: int = 1) -> list[int]:
    """Widths of n equal columns filling `width` after a fixed first column."""
    free = max(n, width - fixed - gap * n)
    base, extra = divmod(free, n)
    return [base + (1 if k < extra else 0) for k in range(n)]
