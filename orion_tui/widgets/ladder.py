"""The quote ladder: book levels on both sides, our orders, and the reference prices.

Rows are sorted by price, so where the mid, the AMM price and our anchor sit relative
to the book is read off the ladder itself rather than from numbers side by side.
The depth shown adapts to the pane's height: 2 levels a side at 80x24, more when tall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual import events
from textual.widgets import Static

from engine.events import TickEvent
from orion_tui import fmt

MAX_DEPTH = 12
_SAME_PRICE = 1e-9

_MARK_STYLE = {
    "mid": "bold",
    "AMM": "bold magenta",
    "anchor": "bold yellow",
}
_MARK_GLYPH = {"mid": "─ mid", "AMM": "◇ AMM", "anchor": "◆ anchor"}


@dataclass
class LadderRow:
    """One printed row: a book level, a reference price, or one of our orders."""

    price: float
    bid: float | None = None
    ask: float | None = None
    marks: list[str] = field(default_factory=list)  # "mid" | "AMM" | "anchor"
    ours: list[tuple[str, float]] = field(default_factory=list)  # (side, size)

    @property
    def is_level(self) -> bool:
        return self.bid is not None or self.ask is not None


def _find(rows: list[LadderRow], price: float) -> LadderRow | None:
    for row in rows:
        if abs(row.price - price) <= _SAME_PRICE * max(1.0, abs(price)):
            return row
    return None


def ladder_rows(tick: TickEvent, depth: int) -> list[LadderRow]:
    """Book levels (depth a side), markers and our orders, highest price first."""
    rows: list[LadderRow] = []
    book = tick.market.book
    if book is not None:
        rows.extend(LadderRow(lvl.price, ask=lvl.size) for lvl in book.asks[:depth])
        for lvl in book.bids[:depth]:
            existing = _find(rows, lvl.price)  # a crossed/locked book shares a price
            if existing is not None:
                existing.bid = lvl.size
            else:
                rows.append(LadderRow(lvl.price, bid=lvl.size))
    anchor = tick.decision.anchor
    for name, value in (("mid", anchor.mid), ("AMM", anchor.amm_price), ("anchor", anchor.price)):
        if value is None:
            continue
        row = _find(rows, value)
        if row is None:
            row = LadderRow(value)
            rows.append(row)
        row.marks.append(name)
    for order in tick.live_orders:
        row = _find(rows, order.price)
        if row is None:
            row = LadderRow(order.price)
            rows.append(row)
        row.ours.append((order.side, order.size))
    rows.sort(key=lambda r: r.price, reverse=True)
    return rows


def spread_bps(tick: TickEvent) -> float | None:
    """Best ask minus best bid, in bps of the mid (None without a two-sided book)."""
    book = tick.market.book
    if book is None or book.mid is None or book.mid <= 0:
        return None
    assert book.best_ask is not None and book.best_bid is not None
    return (book.best_ask - book.best_bid) / book.mid * 1e4


def fit_depth(tick: TickEvent, rows_available: int) -> int:
    """The largest depth whose rows (plus the column header) fit the pane.

    Rows grow by at most two per extra level, so start from the estimate and step
    down: two or three ladder_rows calls instead of twelve per frame."""
    book = tick.market.book
    levels = max(len(book.bids), len(book.asks)) if book is not None else 0
    depth = max(1, min(MAX_DEPTH, levels or 1, (rows_available - 1) // 2 + 2))
    while depth > 1 and len(ladder_rows(tick, depth)) + 1 > rows_available:
        depth -= 1
    return depth


def _cell(text: str, width: int, style: str, right: bool) -> tuple[str, str]:
    pad = " " * max(0, width - len(text))
    return (pad + text, style) if right else (text + pad, style)


def render_ladder(rows: list[LadderRow], width: int = 0) -> Text:
    """Bid sizes left, prices centre, ask sizes right, annotations last.

    Built as padded text, not a rich Table: the ladder redraws several times a
    second and a Table measures every cell on every frame."""
    cells = []
    for row in rows:
        bid = fmt.amount(row.bid, 1) if row.bid is not None else ""
        ask = fmt.amount(row.ask, 1) if row.ask is not None else ""
        bid_style, ask_style = "green", "red"
        note = Text()
        for side, size in row.ours:
            if not row.is_level:
                if side == "BUY":
                    bid += fmt.amount(size, 1)
                else:
                    ask += fmt.amount(size, 1)
            if side == "BUY":
                bid_style = "bold reverse cyan"
            else:
                ask_style = "bold reverse cyan"
            note.append(
                "◀ ours " + (f"{fmt.amount(size, 1)} " if row.is_level else ""), "bold cyan"
            )
        for mark in row.marks:
            note.append(f"{_MARK_GLYPH[mark]} ", _MARK_STYLE[mark])
        price_style = "bold" if row.is_level else _MARK_STYLE[row.marks[0]] if row.marks else ""
        cells.append((bid, bid_style, fmt.price(row.price), price_style, ask, ask_style, note))
    wb = max([7, *(len(c[0]) for c in cells)])
    wp = max([7, *(len(c[2]) for c in cells)])
    wa = max([7, *(len(c[4]) for c in cells)])
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    out.append_text(
        Text.assemble(
            _cell("bid", wb, "bold dim", True), " ", _cell("price", wp, "bold dim", True), " ",
            _cell("ask", wa, "bold dim", False),
        )
    )  # fmt: skip
    room = width - (wb + wp + wa + 3) if width > 0 else 0
    for bid, bid_style, px, px_style, ask, ask_style, note in cells:
        out.append("\n")
        if width > 0 and note.cell_len > room:
            note.truncate(max(0, room), overflow="ellipsis")
        out.append_text(
            Text.assemble(
                _cell(bid, wb, bid_style, True), " ", _cell(px, wp, px_style, True), " ",
                _cell(ask, wa, ask_style, False), " ", note,
            )
        )  # fmt: skip
    return out


class QuoteLadder(Static):
    """What we quote against what the book offers, at the depth the pane can hold."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("waiting for the first tick…", id=id, classes=classes)
        self.border_title = "Quote ladder"
        self._tick: TickEvent | None = None

    def show(self, tick: TickEvent) -> None:
        self._tick = tick
        self._render_tick()

    def on_resize(self, event: events.Resize) -> None:
        if self._tick is not None:
            self._render_tick()

    def _render_tick(self) -> None:
        tick = self._tick
        assert tick is not None
        height = self.content_region.height
        depth = fit_depth(tick, height) if height > 0 else 5
        book = tick.market.book
        if book is None or not (book.bids or book.asks):
            self.border_subtitle = "no book"
        elif book.crossed:
            self.border_subtitle = "BOOK CROSSED"
        else:
            spread = spread_bps(tick)
            buys, sells = tick.fill_counts
            spread_text = "one-sided" if spread is None else f"spread {spread:.1f} bps"
            self.border_subtitle = f"{spread_text} · fills {buys}B/{sells}S"
        self.set_class(book is None or book.crossed, "-warn")
        # The pane's height comes from the CSS (fr): no layout pass per tick.
        rows = ladder_rows(tick, depth)
        self.update(render_ladder(rows, self.content_region.width), layout=False)
