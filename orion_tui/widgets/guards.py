"""Guards: every gate per side, exactly as the strategy evaluated it this tick.

This pane renders TickEvent.decision (the GateResult objects the strategy decided
from) and never recomputes a gate: if it showed its own opinion it could disagree
with what the engine did, which is the bug this pane exists to rule out.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from engine.events import TickEvent
from engine.models import GATE_ORDER, KEEP_GATE, GateResult, SideDecision
from orion_tui import fmt
from orion_tui.widgets.grid import grid, split

WIDE = 56  # inner width from which full gate names and words fit

SHORT_NAMES = {
    "halted": "halted",
    "market_stale": "stale",
    "book_invalid": "book",
    "exposure_limit": "exposure",
    "momentum": "momentum",
    "cross_protection": "cross",
    "insufficient_balance": "balance",
    "live_order_exists": "live_order",
}


def gate_names(decision_sides: tuple[SideDecision, ...]) -> list[str]:
    """Gates present in either side, in the strategy's order (unknown names last)."""
    seen = {g.name for side in decision_sides for g in side.gates}
    ordered = [name for name in GATE_ORDER if name in seen]
    extra = [g.name for side in decision_sides for g in side.gates if g.name not in GATE_ORDER]
    return ordered + list(dict.fromkeys(extra))


def gate_cell(gate: GateResult | None, *, reason: bool, wide: bool) -> Text:
    """passed / BLOCKED (or KEEP for the dedupe gate) with value vs threshold."""
    if gate is None:
        return Text("·", style="dim")  # not evaluated for this side
    figures = fmt.compact(gate.value)
    if figures and gate.threshold is not None:
        figures = f"{figures}/{fmt.compact(gate.threshold)}"
    if gate.passed:
        word, style = ("pass " if wide else "✓ "), "green"
    elif gate.name == KEEP_GATE:
        word, style = ("KEEP " if wide else "= "), "bold cyan"
    else:
        word, style = ("BLOCKED " if wide else "✗ "), "bold reverse red"
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(word + figures, style=style + (" underline" if reason else ""))
    return text


def _reason_cell(side: SideDecision) -> Text:
    reason = side.reason
    if reason is None:
        return Text("quoting", style="green")
    if reason == KEEP_GATE:
        return Text("keep order", style="cyan")
    short = SHORT_NAMES.get(reason, reason)
    return Text(f"BLOCKED {short}", style="bold red", no_wrap=True, overflow="ellipsis")


def _action_cell(side: SideDecision, *, wide: bool) -> Text:
    text = Text(side.action, style="bold" if side.quoting else "dim")
    if side.price is not None and side.action in ("place", "replace"):
        size = fmt.compact(round(side.size, 2)) if side.size is not None and wide else ""
        text.append(f" {size}@{fmt.compact(side.price)}")
    return text


def render_guards(tick: TickEvent, width: int) -> Text:
    """Gates as rows, sides as columns; the deciding gate is underlined."""
    wide = width >= WIDE
    sides = (tick.decision.buy, tick.decision.sell)
    names = gate_names(sides)
    labels = [name if wide else SHORT_NAMES.get(name, name) for name in names]
    first = max([6, *(len(label) for label in labels)])
    widths = [first, *split(width, first, 2)]
    rows: list[list[Text | str]] = [[Text("gate", "bold"), Text("BUY", "bold"),
                                     Text("SELL", "bold")]]  # fmt: skip
    for name, label in zip(names, labels, strict=True):
        cells: list[Text | str] = [Text(label, "dim")]
        for side in sides:
            gate = next((g for g in side.gates if g.name == name), None)
            cells.append(gate_cell(gate, reason=side.reason == name, wide=wide))
        rows.append(cells)
    rows.append([Text("reason", style="bold"), *(_reason_cell(s) for s in sides)])
    rows.append([Text("action", style="bold"), *(_action_cell(s, wide=wide) for s in sides)])
    return grid(rows, widths, ("left", "left", "left"))


class GuardsPane(Static):
    """Which guard stopped a quote this tick, on which side, and against what number."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("waiting for the first tick…", id=id, classes=classes)
        self.border_title = "Guards"
        self._tick: TickEvent | None = None
        self._shape: object = None

    def show(self, tick: TickEvent) -> None:
        self._tick = tick
        self._render_tick()

    def on_resize(self, event: events.Resize) -> None:
        if self._tick is not None:
            self._render_tick()

    def _render_tick(self) -> None:
        tick = self._tick
        assert tick is not None
        blocked = [
            s.side
            for s in (tick.decision.buy, tick.decision.sell)
            if s.reason is not None and s.reason != KEEP_GATE
        ]
        self.set_class(bool(blocked), "-blocked")
        legend = "value/threshold" if self.content_region.width >= WIDE else "✗ BLOCKED · value/thr"
        self.border_subtitle = f"blocked: {'+'.join(blocked)}" if blocked else legend
        # Lay out again only when the table's shape can change (gates shown, width):
        # a layout pass re-flows the whole screen and costs more than the engine's tick.
        width = self.content_region.width or 44
        shape = (tuple(gate_names((tick.decision.buy, tick.decision.sell))), width)
        self.update(render_guards(tick, width), layout=shape != self._shape)
        self._shape = shape
