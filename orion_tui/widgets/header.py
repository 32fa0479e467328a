"""The one-line header: mode, session, tick / ledger, clock, and the halt banner.

The halt state shown is the engine's live HaltState, not the last tick's: a halt
takes effect between ticks and the operator must see it the moment it does.
"""

from __future__ import annotations

from typing import Literal

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.events import TickEvent
from engine.models import HaltState
from orion_tui import fmt

Phase = Literal["starting", "running", "stopping", "ended", "failed"]

_MODE_STYLE = {"live": "bold reverse red", "paper": "bold reverse yellow"}


class OrionHeader(Static):
    """Who, where and when, with a HALTED banner that turns the whole line red."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._key: tuple[object, ...] | None = None

    def show(
        self,
        *,
        mode: str,
        session_id: int | None,
        tick: TickEvent | None,
        halt: HaltState,
        now: float,
        phase: Phase,
        open_orders: int,
    ) -> None:
        """Re-render only when something visible changed (called at the refresh rate)."""
        clock = fmt.clock(now)
        key = (mode, session_id, tick.seq if tick else None, halt, clock, phase, open_orders)
        if key == self._key:
            return
        self._key = key
        self.set_class(halt.any, "-halted")
        self.update(self._render_line(mode, session_id, tick, halt, clock, phase, open_orders))

    @staticmethod
    def _render_line(
        mode: str,
        session_id: int | None,
        tick: TickEvent | None,
        halt: HaltState,
        clock: str,
        phase: Phase,
        open_orders: int,
    ) -> Table:
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(" ORION ", "bold reverse")
        left.append(" ")
        left.append(f" {mode.upper()} ", _MODE_STYLE.get(mode, "bold reverse cyan"))
        left.append(f"  session {session_id if session_id is not None else fmt.DASH}")
        if tick is None:
            left.append("  waiting for first tick", "italic")
        else:
            left.append(f"  tick {tick.seq}  ledger {tick.market.ledger_index}")
        left.append(f"  {clock}Z")

        right = Text(no_wrap=True, justify="right")
        if phase == "stopping":
            right.append(" STOPPING: cancelling orders ", "bold reverse yellow")
        elif phase == "ended":
            right.append(" SESSION ENDED ", "bold reverse yellow")
        elif phase == "failed":
            right.append(" ENGINE ERROR ", "bold reverse red")
        if halt.any:
            right.append(f" HALTED: {halt.label()} ", "bold reverse")
        elif phase in ("running", "starting"):
            right.append(f"orders {open_orders} ", "bold")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(left, right)
        return grid
