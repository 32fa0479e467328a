"""AMM price against the book mid, drawn against the divergence cap band.

Shows the numbers the strategy recorded (Anchor): divergence bps, the cap state and
the displacement of the anchor from the AMM price; a gauge places the divergence
inside or outside ±cap, and a sparkline shows where it has been lately.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from engine.events import TickEvent
from engine.models import Anchor
from orion_tui import fmt

_STATE_BADGE = {
    "above": (" ABOVE cap ", "bold reverse yellow"),
    "below": (" BELOW cap ", "bold reverse yellow"),
    "inside": (" inside ", "bold green"),
    "no_amm": (" no AMM ", "bold reverse"),
    "none": (" — ", "dim"),
}


def cap_gauge(divergence: float | None, cap: float, width: int) -> Text:
    """A bar spanning ±2·cap: the band ±cap is heavy, the divergence is a dot.

    A divergence beyond the scale becomes an arrow at that end, so a wild AMM print
    never disappears off the gauge.
    """
    scale = 2.0 * cap if cap > 0 else max(abs(divergence or 0.0), 1.0)
    left, right = f"-{fmt.compact(cap)} ", f" +{fmt.compact(cap)}"
    bar_width = max(5, width - len(left) - len(right))
    cells: list[tuple[str, str]] = []
    for i in range(bar_width):
        x = -scale + i * (2.0 * scale) / (bar_width - 1)
        inside = abs(x) <= cap
        cells.append(("━", "green") if inside else ("─", "dim"))
    cells[(bar_width - 1) // 2] = ("┼", "bold")
    if divergence is not None:
        outside = abs(divergence) > cap
        style = "bold reverse yellow" if outside else "bold reverse green"
        if divergence > scale:
            cells[-1] = ("▶", style)
        elif divergence < -scale:
            cells[0] = ("◀", style)
        else:
            pos = round((divergence + scale) / (2.0 * scale) * (bar_width - 1))
            cells[pos] = ("●", style)
    text = Text(left, style="dim", no_wrap=True)
    for char, style in cells:
        text.append(char, style)
    text.append(right, style="dim")
    return text


def divergence_lines(anchor: Anchor, width: int, *, compact: bool) -> list[Text]:
    """The pane's text: reference prices (wide only), divergence vs cap, gauge, anchor."""
    lines: list[Text] = []
    if not compact:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("mid ", "dim")
        line.append(fmt.price(anchor.mid), "bold")
        line.append("  AMM ", "dim")
        line.append(fmt.price(anchor.amm_price), "bold magenta")
        line.append(f"  mode {anchor.mode}", "dim")
        lines.append(line)
    badge, badge_style = _STATE_BADGE.get(anchor.cap_state, (anchor.cap_state, ""))
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("div ", "dim")
    line.append(f"{fmt.signed(anchor.divergence_bps)} bps", "bold")
    line.append(f"  cap ±{fmt.compact(anchor.cap_bps)}  ", "dim")
    line.append(badge, badge_style)
    lines.append(line)
    lines.append(cap_gauge(anchor.divergence_bps, anchor.cap_bps, width))
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("anchor ", "dim")
    line.append(fmt.price(anchor.price), "bold yellow")
    line.append("  disp ", "dim")
    line.append(f"{fmt.signed(anchor.displacement_bps)} bps", "bold")
    lines.append(line)
    return lines


class DivergencePane(Vertical):
    """Anchor divergence: where the AMM sits against the mid and the cap."""

    compact: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = "AMM vs mid"
        self._tick: TickEvent | None = None
        self._shape: object = None

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first tick…", id="div-text")
        yield Sparkline([], summary_function=statistics.fmean, id="div-spark")

    def show(self, tick: TickEvent, history: Sequence[float]) -> None:
        self._tick = tick
        self.query_one("#div-spark", Sparkline).data = list(history)
        self.border_subtitle = f"last {len(history)} ticks" if history else ""
        self._render_text()

    def watch_compact(self) -> None:
        if self._tick is not None:
            self._render_text()

    def on_resize(self) -> None:
        if self._tick is not None:
            self._render_text()

    def _render_text(self) -> None:
        assert self._tick is not None
        anchor = self._tick.decision.anchor
        width = self.content_region.width or 36
        self.set_class(anchor.cap_state in ("above", "below"), "-capped")
        shape = (width, self.compact)  # same shape, same height: skip the layout pass
        self.query_one("#div-text", Static).update(
            Group(*divergence_lines(anchor, width, compact=self.compact)),
            layout=shape != self._shape,
        )
        self._shape = shape
