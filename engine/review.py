"""Safety review of a config before it is applied (console reload, check-config).

A file that validates can still be unusable: an exposure limit with no headroom
for one round trip, a divergence cap the market would pin at all the time, an
order bigger than the balance that funds it. The review states those as findings,
errors first, so the operator sees them before confirming. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

from engine.models import InventorySnapshot
from engine.settings import RETIRED_KEYS, LoadedConfig, OrionSettings, settings_as_flat_dict
from engine.strategy import side_notionals

Severity = Literal["error", "warning", "info"]
_SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
_SEVERITY_STYLE: dict[str, str] = {"error": "bold red", "warning": "yellow", "info": "cyan"}

__all__ = [
    "Finding",
    "Severity",
    "config_diff",
    "render_diff",
    "render_findings",
    "review_config",
    "starting_snapshot",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about a config: severity, the key it concerns, and why."""

    severity: Severity
    key: str
    message: str


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


def starting_snapshot(settings: OrionSettings) -> InventorySnapshot:
    """The inventory a new database would start from: starting balances at start_price."""
    return InventorySnapshot(
        xrp_fills_only=settings.inventory.starting_xrp,
        xrp_overlay=0.0,
        rlusd_fills_only=settings.inventory.starting_rlusd,
        rlusd_overlay=0.0,
        mark_price=settings.sim.start_price,
        target_xrp_share_pct=settings.strategy.target_xrp_share_pct,
    )


def config_diff(current: OrionSettings, new: OrionSettings) -> list[tuple[str, Any, Any]]:
    """(key, old, new) for every key whose value differs, in settings order."""
    old_flat = settings_as_flat_dict(current)
    new_flat = settings_as_flat_dict(new)
    return [
        (key, old_flat.get(key), value)
        for key, value in new_flat.items()
        if old_flat.get(key) != value
    ]


def _headroom_finding(
    key: str, asset: str, limit: float, held: float, held_label: str, base: float, source: str
) -> Finding:
    """Headroom of one exposure limit against one round trip (two orders of base size)."""
    headroom = limit - held
    round_trip = 2.0 * base
    orders = int(headroom // base) if headroom > 0 else 0
    text = (
        f"{asset} headroom {_fmt(headroom)} RLUSD ({key.split('.')[-1]} {_fmt(limit)} - "
        f"{held_label} {_fmt(held)}, {source}) vs one round trip {_fmt(round_trip)} RLUSD "
        f"(2 x base_size_rlusd {_fmt(base)}): room for {orders} order(s)"
    )
    if headroom < base:
        return Finding("error", key, text + "; no room for even one order")
    if headroom < round_trip:
        return Finding("warning", key, text + "; less than one round trip")
    return Finding("info", key, text)


def review_config(
    current: OrionSettings | None,
    new: LoadedConfig,
    snapshot: InventorySnapshot | None,
    recent_divergence_bps: Sequence[float],
) -> list[Finding]:
    """Findings for `new`, errors first, then warnings, then info (stable within each).

    Without a snapshot the balances are the starting balances at sim.start_price,
    i.e. what a fresh database would hold.
    """
    s = new.settings
    strategy = s.strategy
    findings: list[Finding] = []

    if snapshot is None:
        snap = starting_snapshot(s)
        source = f"starting balances at sim.start_price {s.sim.start_price:g}"
    else:
        snap = snapshot
        source = f"current inventory at mark {snapshot.mark_price:g}"

    base = strategy.base_size_rlusd
    findings.append(
        _headroom_finding(
            "risk.max_xrp_exposure",
            "XRP",
            s.risk.max_xrp_exposure,
            snap.xrp_value_in_rlusd,
            "XRP value",
            base,
            source,
        )
    )
    findings.append(
        _headroom_finding(
            "risk.max_rlusd_exposure",
            "RLUSD",
            s.risk.max_rlusd_exposure,
            snap.rlusd_balance,
            "RLUSD balance",
            base,
            source,
        )
    )

    # Order sizes against the balance that funds them (the same sizing as decide()).
    buy_notional, sell_notional = side_notionals(snap, strategy)
    if buy_notional > snap.rlusd_balance:
        findings.append(
            Finding(
                "warning",
                "strategy.base_size_rlusd",
                f"BUY order notional {_fmt(buy_notional)} RLUSD exceeds the RLUSD total "
                f"{_fmt(snap.rlusd_balance)} that funds it ({source}): BUY would be "
                "blocked by insufficient_balance",
            )
        )
    if snap.mark_price > 0:
        sell_size = sell_notional / snap.mark_price
        if sell_size > snap.xrp_balance:
            findings.append(
                Finding(
                    "warning",
                    "strategy.base_size_rlusd",
                    f"SELL order size {sell_size:,.4f} XRP exceeds the XRP total "
                    f"{snap.xrp_balance:,.4f} that funds it ({source}): SELL would be "
                    "blocked by insufficient_balance",
                )
            )

    # Divergence cap: does the recent market sit outside it most of the time?
    if strategy.anchor_mode == "capped_amm" and recent_divergence_bps:
        cap = strategy.anchor_max_divergence_bps
        n = len(recent_divergence_bps)
        clamped = sum(1 for d in recent_divergence_bps if abs(d) > cap)
        share = clamped / n * 100.0
        text = f"cap {cap:g} bps would have clamped {clamped} of the last {n} ticks ({share:.0f}%)"
        if clamped * 2 > n:
            findings.append(
                Finding(
                    "warning",
                    "strategy.anchor_max_divergence_bps",
                    text + ": the anchor would sit on the cap most of the time",
                )
            )
        else:
            findings.append(Finding("info", "strategy.anchor_max_divergence_bps", text))

    for full in new.retired_keys:
        leaf = full.rsplit(".", 1)[-1]
        findings.append(Finding("warning", full, RETIRED_KEYS.get(leaf, f"{full} is retired")))

    if current is not None:
        for key, old, value in config_diff(current, s):
            findings.append(Finding("info", key, f"{old!r} -> {value!r}"))

    findings.sort(key=lambda f: _SEVERITY_RANK[f.severity])
    return findings


def render_findings(findings: Sequence[Finding]) -> Table:
    """The review table the console and check-config show."""
    table = Table(title="Safety review", expand=False, show_lines=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Key", no_wrap=True)
    table.add_column("Finding", overflow="fold")
    if not findings:
        table.add_row(Text("info", style="cyan"), "-", "no findings")
    for f in findings:
        table.add_row(
            Text(f.severity, style=_SEVERITY_STYLE[f.severity]),
            Text(f.key),
            Text(f.message),
        )
    return table


def render_diff(current: OrionSettings, new: OrionSettings) -> Table:
    """Changed keys old -> new (the wallet seed is never part of settings)."""
    table = Table(title="Config changes", expand=False)
    table.add_column("Key", no_wrap=True)
    table.add_column("Old", overflow="fold")
    table.add_column("New", overflow="fold")
    changes = config_diff(current, new)
    if not changes:
        table.add_row("-", "", "no changes")
    for key, old, value in changes:
        table.add_row(Text(key), Text(repr(old), style="red"), Text(repr(value), style="green"))
    return table
