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
        replay: str | None = None,
    ) -> None:
        """Re-render only when something visible changed (called at the refresh rate).

        replay: set by the replay console (a short note, "" for none); the line then
        carries a REPLAY badge, `now` is the recorded tick's time and halt and
        open_orders are as recorded with the tick.
        """
        clock = fmt.clock(now)
        key = (
            mode, session_id, tick.seq if tick else None, halt, clock, phase, open_orders, replay
        )  # fmt: skip
        if key == self._key:
            return
        self._key = key
        self.set_class(halt.any, "-halted")
        # One docked line: its size never changes, so skip the screen-wide layout pass.
        line = self._render_line(mode, session_id, tick, halt, clock, phase, open_orders, replay)
        self.update(line, layout=False)

    @staticmethod
    def _render_line(
        mode: str,
        session_id: int | None,
        tick: TickEvent | None,
        halt: HaltState,
        clock: str,
        phase: Phase,
        open_orders: int,
        replay: str | None = None,
    ) -> Table:
        left = Text(no_wrap=True, overflow="ellipsis")
        if replay is None:
            left.append(" ORION ", "bold reverse")
        else:  # one badge: the line is full at 80 columns
            left.append(" ORION REPLAY ", "bold reverse magenta")
        left.append(" ")
        left.append(f" {mode.upper()} ", _MODE_STYLE.get(mode, "bold reverse cyan"))
        left.append(f"  session {session_id if session_id is not None else fmt.DASH}")
        if tick is None:
            left.append("  waiting for first tick", "italic")
        else:
            left.append(f"  tick {tick.seq}  ledger {tick.market.ledger_index}")
        left.append(f"  {clock}Z")

        right = Text(no_wrap=True, justify="right")
        if replay is not None:  # the state recorded with the tick, plus the replay's note
            if halt.any:
                right.append(f" HALTED: {halt.label()} ", "bold reverse")
            elif tick is not None:
                right.append(f"orders {open_orders} ", "bold")
            if replay:
                right.append(f" {replay} ", "bold reverse green")
            return _grid(left, right)
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
        return _grid(left, right)


def _grid(left: Text, right: Text) -> Table:
    """Left part takes the room (and is cut first), right part keeps its width."""
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(no_wrap=True, justify="right")
    grid.add_row(left, right)
    return grid
