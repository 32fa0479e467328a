"""Inventory: fills-only, overlay and total side by side, with limits and headroom.

Total = fills-only + overlay is the whole point of this pane, so it checks the sum
itself from the snapshot as well as trusting the engine's InventoryCheck; either
failing raises an alarm row that cannot be missed.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from engine.events import InventoryCheck, TickEvent
from engine.models import ASSETS, Asset, InventorySnapshot
from orion_tui import fmt
from orion_tui.widgets.grid import grid, split

_TOLERANCE = 1e-9


def sum_mismatches(snapshot: InventorySnapshot) -> list[Asset]:
    """Assets whose total is not fills-only + overlay (checked here, not trusted)."""
    bad: list[Asset] = []
    for asset in ASSETS:
        expected = snapshot.fills_only(asset) + snapshot.overlay(asset)
        actual = snapshot.total(asset)
        if abs(actual - expected) > _TOLERANCE * max(1.0, abs(expected)):
            bad.append(asset)
    return bad


def inventory_alarms(snapshot: InventorySnapshot, check: InventoryCheck) -> list[str]:
    """One line per reason the inventory shown cannot be trusted (empty when fine)."""
    alarms = [
        f"{asset} total {fmt.amount(snapshot.total(asset), 4)} ≠ fills-only + overlay "
        f"{fmt.amount(snapshot.fills_only(asset) + snapshot.overlay(asset), 4)}"
        for asset in sum_mismatches(snapshot)
    ]
    if not check.sums_ok and not alarms:
        alarms.append("engine reports total ≠ fills-only + overlay")
    if check.rebuild_ok is False:
        alarms.append("in-memory inventory ≠ rebuild from the database")
    if alarms and check.detail:
        alarms.append(check.detail)
    return alarms


def render_inventory(tick: TickEvent, width: int = 48) -> Text:
    """Assets as columns so the three balances line up for the eye to add."""
    snap, check = tick.snapshot, tick.check
    bad = set(sum_mismatches(snap))
    if not check.sums_ok:
        bad.update(ASSETS)
    limits = dict(zip(ASSETS, tick.limits, strict=True))
    values = {"XRP": snap.xrp_value_in_rlusd, "RLUSD": snap.rlusd_balance}
    headroom: list[Text | str] = []
    for asset in ASSETS:
        if not limits[asset]:
            headroom.append(Text(fmt.DASH))
            continue
        room = limits[asset] - values[asset]
        style = "bold reverse red" if room <= 0 else "yellow" if room < 0.2 * limits[asset] else ""
        headroom.append(Text(fmt.amount(room, 2), style=style))
    rows: list[list[Text | str]] = [
        ["", *(Text(a, "bold") for a in ASSETS)],
        ["fills-only", *(fmt.amount(snap.fills_only(a), 4) for a in ASSETS)],
        ["overlay", *(fmt.signed(snap.overlay(a), 4) for a in ASSETS)],
        [
            "total",
            *(
                Text(fmt.amount(snap.total(a), 4), style="bold reverse red" if a in bad else "bold")
                for a in ASSETS
            ),
        ],
        ["value RLUSD", *(fmt.amount(values[a], 2) for a in ASSETS)],
        ["limit", *(fmt.amount(limits[a], 2) if limits[a] else fmt.DASH for a in ASSETS)],
        ["headroom", *headroom],
    ]
    first = 11
    widths = [first, *split(width, first, 2)]
    return grid(rows, widths, ("left", "right", "right"), styles=("dim", "", ""))


def _status_line(tick: TickEvent, alarms: list[str]) -> Text:
    if alarms:
        text = Text(" ✗ INVENTORY MISMATCH ", style="bold reverse red")
        text.append("\n" + "\n".join(alarms), style="bold red")
        return text
    snap = tick.snapshot
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Σ ", "dim")
    text.append(fmt.amount(snap.total_value_in_rlusd, 2), "bold")
    text.append(f"  drift {fmt.signed(snap.drift_pct, 1)}%", "")
    text.append("  ✓ sums", "green")
    rebuild = tick.check.rebuild_ok
    text.append(" ✓ rebuild" if rebuild else " · rebuild n/a", "green" if rebuild else "dim")
    return text


class InventoryPane(Static):
    """Balances as the gates read them (the total), and how they were made up."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("waiting for the first tick…", id=id, classes=classes)
        self.border_title = "Inventory"
        self._shape: object = None
        self._tick: TickEvent | None = None

    def on_resize(self) -> None:
        if self._tick is not None:
            self.show(self._tick)

    def show(self, tick: TickEvent) -> None:
        self._tick = tick
        alarms = inventory_alarms(tick.snapshot, tick.check)
        self.set_class(bool(alarms), "-alarm")
        self.border_title = "Inventory ✗ ALARM" if alarms else "Inventory"
        self.border_subtitle = f"mark {fmt.price(tick.snapshot.mark_price)}"
        shape = (tuple(alarms), self.content_region.width)  # rows fixed; alarms add lines
        width = self.content_region.width or 48
        body = Group(render_inventory(tick, width), _status_line(tick, alarms))
        self.update(body, layout=shape != self._shape)
        self._shape = shape

    @property
    def alarmed(self) -> bool:
        return self.has_class("-alarm")
