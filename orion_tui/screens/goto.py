"""`g` in replay: go to a tick number, a ledger index or a time (UTC).

Parsing and resolving are plain functions (tested without a UI); the dialog only
shows their one-line error under the input and stays open until the input resolves.

Accepted:
  1234, #1234, t1234, tick 1234         a tick of the session
  90001234, L90001234, ledger 90001234  a ledger index (the last tick at or before it)
  01:02:03, 01:02, 01:02:03.5           that time (UTC) on the current tick's day
  2026-01-01T01:02:03, ... 01:02:03Z    an ISO date and time (UTC unless it says)
A bare number is a tick when it is within the session's ticks, else a ledger.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from engine.store.replay import ReplaySource, TickBounds
from orion_tui import fmt


class GotoError(ValueError):
    """Input that names no tick of the session; str() is shown in the dialog."""


@dataclass(frozen=True, slots=True)
class GotoTarget:
    kind: Literal["tick", "ledger", "number", "time"]
    value: float


_NUMBER = re.compile(r"^(?P<prefix>#|t|tick|l|ledger)?\s*(?P<n>\d[\d,_]*)$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}(?:\.\d+)?))?$")


def help_text(bounds: TickBounds) -> str:
    return (
        f"tick {bounds.first_seq:,}–{bounds.last_seq:,} · ledger L{bounds.first_ledger}–"
        f"L{bounds.last_ledger} · HH:MM:SS or ISO time (UTC)"
    )


def parse_target(text: str, *, day_of: float) -> GotoTarget:
    """What the operator typed; `day_of` dates a bare HH:MM:SS (the current tick's day)."""
    raw = text.strip()
    if not raw:
        raise GotoError("type a tick number, a ledger index or a time")
    m = _NUMBER.match(raw)
    if m:
        n = int(m["n"].replace(",", "").replace("_", ""))
        prefix = (m["prefix"] or "").lower()
        kind: Literal["tick", "ledger", "number"] = (
            "tick" if prefix in ("#", "t", "tick") else "ledger" if prefix else "number"
        )
        return GotoTarget(kind, n)
    m = _CLOCK.match(raw)
    if m:
        h, minute, sec = int(m["h"]), int(m["m"]), float(m["s"] or 0)
        if h > 23 or minute > 59 or sec >= 60:
            raise GotoError(f"{raw!r} is not a time of day (HH:MM:SS, 00:00:00–23:59:59)")
        day = dt.datetime.fromtimestamp(day_of, dt.UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return GotoTarget("time", day.timestamp() + h * 3600 + minute * 60 + sec)
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise GotoError(
            f"cannot read {raw!r}: type a tick (1234), a ledger (L90001234) "
            "or a UTC time (12:34:56 or 2026-01-01T12:34:56)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return GotoTarget("time", when.timestamp())


def resolve_target(
    target: GotoTarget, source: ReplaySource, session_id: int, bounds: TickBounds
) -> int:
    """The tick seq a target names in this session; GotoError when outside it."""
    b = bounds
    if target.kind == "number":
        if b.first_seq <= target.value <= b.last_seq:
            return int(target.value)
        if b.first_ledger <= target.value <= b.last_ledger:
            target = GotoTarget("ledger", target.value)
        else:
            raise GotoError(
                f"{int(target.value):,} is neither a tick ({b.first_seq:,}–{b.last_seq:,}) "
                f"nor a ledger of this session ({b.first_ledger}–{b.last_ledger})"
            )
    if target.kind == "tick":
        if not b.first_seq <= target.value <= b.last_seq:
            raise GotoError(
                f"no tick {int(target.value):,}: this session has ticks "
                f"{b.first_seq:,}–{b.last_seq:,}"
            )
        return int(target.value)
    if target.kind == "ledger":
        if not b.first_ledger <= target.value <= b.last_ledger:
            raise GotoError(
                f"ledger {int(target.value)} is outside this session "
                f"(ledgers {b.first_ledger}–{b.last_ledger})"
            )
        seq = source.seq_at_ledger(session_id, int(target.value))
    else:
        if target.value < b.first_ts or target.value > b.last_ts:
            raise GotoError(
                f"{fmt.stamp(target.value)}Z is outside this session "
                f"({fmt.stamp(b.first_ts)}Z – {fmt.stamp(b.last_ts)}Z)"
            )
        seq = source.seq_at_time(session_id, target.value)
    if seq is None:
        raise GotoError("the session has no ticks yet")
    return seq


class GotoScreen(ModalScreen[int | None]):
    """One input; enter resolves it (error shown in place) and dismisses with the seq."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="goto.cancel")]
    AUTO_FOCUS = "#goto-input"

    def __init__(self, resolve: Callable[[str], int], hint: str) -> None:
        super().__init__(classes="dialog-screen")
        self._resolve = resolve
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-dialog", classes="dialog"):
            yield Static("Go to tick, ledger or time", classes="dialog-title")
            yield Input(placeholder="1234 · L90001234 · 12:34:56", id="goto-input")
            yield Static("", id="goto-error", markup=False)
            yield Static(self._hint, id="goto-hint", classes="dialog-hint", markup=False)
            yield Static("enter go · esc cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#goto-error", Static)
        try:
            seq = self._resolve(event.value)
        except GotoError as exc:
            error.update(str(exc))
            error.add_class("-visible")
            return
        self.dismiss(seq)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#goto-error", Static).remove_class("-visible")

    def action_cancel(self) -> None:
        self.dismiss(None)
