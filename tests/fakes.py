"""A fake engine with the Engine API, producing realistic, deterministic TickEvents.

The numbers follow DESIGN.md: book mid 2.2000, an AMM pool 14 bps above it that the
capped_amm anchor clamps to +10 bps, skew from a +5% XRP drift, gates with the values
and thresholds the strategy would compare. Tests and scripts/screenshots.py share it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.events import (
    Command,
    Event,
    FillEvent,
    Halt,
    HaltEvent,
    InventoryCheck,
    LogEvent,
    OrderEvent,
    RecordCapital,
    ReloadConfig,
    Resume,
    SessionEvent,
    Stop,
    TickEvent,
)
from engine.models import (
    Action,
    AmmPool,
    Anchor,
    Book,
    CapState,
    Decision,
    Fill,
    GateResult,
    HaltState,
    InventorySnapshot,
    Level,
    LiveOrder,
    MarketState,
    OrderUpdate,
    Side,
    SideDecision,
)
from engine.settings import ConfigError, LoadedConfig, OrionSettings, parse_config_text
from orion_tui.screens.config_review import ReviewFinding

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
FIXED_NOW = T0 + 3723.0  # 01:02:03Z, the header clock in every snapshot
SESSION_ID = 7
LEDGER = 95_123_456
CONFIG_PATH = "config/orion.toml"
REPO = Path(__file__).resolve().parent.parent


def fixed_clock() -> float:
    return FIXED_NOW


def make_book() -> Book:
    bids = (2.1990, 2.1985, 2.1978, 2.1970, 2.1962, 2.1951, 2.1940, 2.1932)
    asks = (2.2010, 2.2016, 2.2023, 2.2031, 2.2040, 2.2052, 2.2061, 2.2075)
    bid_sizes = (420.5, 655.0, 812.3, 1204.8, 950.0, 1730.2, 640.0, 2210.0)
    ask_sizes = (390.2, 512.7, 880.1, 1010.0, 760.4, 1500.0, 925.5, 1880.0)
    return Book(
        bids=tuple(Level(p, s) for p, s in zip(bids, bid_sizes, strict=True)),
        asks=tuple(Level(p, s) for p, s in zip(asks, ask_sizes, strict=True)),
    )


def make_snapshot(
    xrp_fills_only: float = 50.0,
    xrp_overlay: float = 0.0,
    rlusd_fills_only: float = 80.0,
    rlusd_overlay: float = 10.0,
    mark: float = 2.2,
) -> InventorySnapshot:
    return InventorySnapshot(
        xrp_fills_only=xrp_fills_only,
        xrp_overlay=xrp_overlay,
        rlusd_fills_only=rlusd_fills_only,
        rlusd_overlay=rlusd_overlay,
        mark_price=mark,
    )


def corrupt_total(snapshot: InventorySnapshot, xrp_balance: float) -> InventorySnapshot:
    """A snapshot whose XRP total disagrees with fills-only + overlay (a bug to flag)."""
    bad = replace(snapshot)
    object.__setattr__(bad, "xrp_balance", xrp_balance)
    return bad


def make_anchor(book: Book, amm: AmmPool | None, cap_bps: float = 10.0) -> Anchor:
    mid = book.mid
    assert mid is not None
    amm_price = amm.price if amm else None
    if amm_price is None:
        return Anchor("capped_amm", mid, mid, None, None, "no_amm", None, cap_bps)
    divergence = (amm_price - mid) / mid * 1e4
    c = cap_bps / 1e4
    anchor = min(max(amm_price, mid * (1 - c)), mid * (1 + c))
    state: CapState = (
        "above" if amm_price > mid * (1 + c) else "below" if amm_price < mid * (1 - c) else "inside"
    )
    displacement = (anchor - amm_price) / mid * 1e4
    return Anchor("capped_amm", anchor, mid, amm_price, divergence, state, displacement, cap_bps)


def _gates(
    side: Side,
    *,
    snapshot: InventorySnapshot,
    book: Book,
    price: float,
    size: float,
    limits: tuple[float, float],
    halt: HaltState,
    age_s: float,
    momentum_bps: float,
    live_distance_bps: float | None,
) -> tuple[GateResult, ...]:
    """Every gate with the value and threshold the strategy compares (all evaluated)."""
    notional = size * price
    spread = (book.asks[0].price - book.bids[0].price) / (book.mid or 1.0) * 1e4
    if side == "BUY":
        exposure = snapshot.xrp_value_in_rlusd + notional
        limit = limits[0]
        opposite = book.asks[0].price
        crosses = price >= opposite
        balance, needed = snapshot.rlusd_balance, notional
    else:
        exposure = snapshot.rlusd_balance + notional
        limit = limits[1]
        opposite = book.bids[0].price
        crosses = price <= opposite
        balance, needed = snapshot.xrp_balance, size
    halted = halt.side_halted(side)
    return (
        GateResult("halted", not halted, halt.label() if halted else "no", None),
        GateResult("market_stale", age_s <= 15.0, round(age_s, 1), 15.0, "data age s"),
        GateResult("book_invalid", spread > 0, round(spread, 2), 0.0, "spread bps"),
        GateResult("exposure_limit", exposure <= limit, round(exposure, 2), limit),
        GateResult("momentum", momentum_bps <= 30.0, round(momentum_bps, 1), 30.0, "adverse bps"),
        GateResult("cross_protection", not crosses, round(price, 5), opposite),
        GateResult("insufficient_balance", balance >= needed, round(balance, 2), round(needed, 2)),
        GateResult(
            "live_order_exists",
            live_distance_bps is None or live_distance_bps > 3.0,
            None if live_distance_bps is None else round(live_distance_bps, 1),
            3.0,
            "bps from target",
        ),
    )


def _action(gates: tuple[GateResult, ...], has_live: bool) -> Action:
    reason = next((g.name for g in gates if not g.passed), None)
    if reason is None:
        return "replace" if has_live else "place"
    if reason == "live_order_exists":
        return "keep"
    return "cancel" if has_live else "none"


def make_tick(
    seq: int = 1234,
    *,
    halt: HaltState | None = None,
    snapshot: InventorySnapshot | None = None,
    check: InventoryCheck | None = None,
    stale_s: float = 3.8,
    momentum: tuple[float, float] = (-4.2, 4.2),
    amm: AmmPool | None = AmmPool(1_250_000.0, 2_753_875.0, 500),
    limits: tuple[float, float] = (150.0, 120.0),
    with_orders: bool = True,
) -> TickEvent:
    """A full TickEvent; each override pushes one gate to block (see the scenarios below)."""
    halt = halt or HaltState()
    snapshot = snapshot or make_snapshot()
    book = make_book()
    anchor = make_anchor(book, amm)
    assert anchor.price is not None
    centre = anchor.price * (1 - snapshot.drift_pct * 0.4 / 1e4)
    buy_px = round(centre * (1 - 12 / 1e4), 5)
    sell_px = round(centre * (1 + 12 / 1e4), 5)
    buy_size = round(15 * (1 - snapshot.drift_pct * 0.02) / buy_px, 4)
    sell_size = round(15 * (1 + snapshot.drift_pct * 0.02) / sell_px, 4)
    live = (
        (
            LiveOrder("B-1041", "BUY", round(buy_px + 0.00017, 5), buy_size, T0 + 3690.0, buy_size),
            LiveOrder("S-1042", "SELL", 2.20520, 7.4, T0 + 3650.0, 7.4),
        )
        if with_orders and not halt.all
        else ()
    )
    live_by_side = {o.side: o for o in live}

    def gates(
        side: Side, price: float, size: float, momentum_bps: float, distance: float
    ) -> tuple[GateResult, ...]:
        return _gates(
            side,
            snapshot=snapshot,
            book=book,
            price=price,
            size=size,
            limits=limits,
            halt=halt,
            age_s=stale_s,
            momentum_bps=momentum_bps,
            live_distance_bps=distance if side in live_by_side else None,
        )

    buy_gates = gates("BUY", buy_px, buy_size, momentum[0], 0.8)
    sell_gates = gates("SELL", sell_px, sell_size, momentum[1], 3.6)
    decision = Decision(
        anchor=anchor,
        buy=SideDecision(
            "BUY", buy_px, buy_size, buy_gates, _action(buy_gates, "BUY" in live_by_side)
        ),
        sell=SideDecision(
            "SELL", sell_px, sell_size, sell_gates, _action(sell_gates, "SELL" in live_by_side)
        ),
    )
    ts = T0 + 3720.0
    market = MarketState(LEDGER + seq, ts, book, amm, ts - stale_s, ts - stale_s)
    return TickEvent(
        session_id=SESSION_ID,
        seq=seq,
        mode="sim",
        market=market,
        decision=decision,
        snapshot=snapshot,
        live_orders=live,
        fills=(),
        halt=halt,
        fill_counts=(3, 2),
        check=check or InventoryCheck(sums_ok=True, rebuild_ok=True),
        limits=limits,
    )


# ---- scenarios: one blocking gate each ------------------------------------------


def tick_exposure_blocked() -> TickEvent:
    """BUY blocked: XRP value 64.5 x 2.2 = 141.9 plus the order exceeds 150."""
    return make_tick(snapshot=make_snapshot(xrp_fills_only=60.5, xrp_overlay=4.0))


def tick_momentum_blocked() -> TickEvent:
    """SELL blocked: the mid rallied 42.5 bps against a seller over the lookback."""
    return make_tick(momentum=(-42.5, 42.5))


def tick_stale() -> TickEvent:
    """Both sides blocked: no fresh book/AMM data for 21.4 s (threshold 15 s)."""
    return make_tick(stale_s=21.4)


def tick_halted() -> TickEvent:
    return make_tick(halt=HaltState(all=True))


def divergence_history(n: int = 120) -> list[float]:
    """A deterministic trace that wanders through and past the ±10 bps cap."""
    return [round(6.0 + 7.0 * math.sin(i / 9.0) + 3.0 * math.sin(i / 3.7), 2) for i in range(n)]


def sample_events() -> list[Event]:
    """A plausible start of session, in time order."""
    t = T0 + 3600.0
    buy = LiveOrder("B-1041", "BUY", 2.19929, 6.1405, t + 90, 6.1405)
    sell = LiveOrder("S-1042", "SELL", 2.2052, 7.4, t + 50, 7.4)
    return [
        SessionEvent("started", SESSION_ID, t),
        LogEvent(t + 1, "INFO", "sim market seeded (seed 7, start 2.2000)", "market"),
        LogEvent(t + 2, "DEBUG", "inventory rebuilt from ledger: XRP 50, RLUSD 90", "inventory"),
        OrderEvent(OrderUpdate("placed", sell, t + 50)),
        LogEvent(t + 61, "WARNING", "AMM 14.1 bps above mid: anchor capped at +10 bps", "strategy"),
        FillEvent(Fill("sim-88", "S-1040", "SELL", 2.2049, 2.5, 0.0, t + 75, LEDGER + 1201)),
        OrderEvent(OrderUpdate("placed", buy, t + 90)),
        LogEvent(t + 110, "INFO", "refresh: SELL kept (3.6 bps from target)", "strategy"),
        LogEvent(t + 115, "ERROR", "node ping timeout (sim): retrying", "market"),
    ]


# ---- config review: a changed file, a fixed review, a rejected file ---------------


def changed_config_loader(path: str) -> LoadedConfig:
    """config/orion.toml with two edits and a retired key, as if the operator saved it."""
    text = (REPO / "config" / "orion.toml").read_text(encoding="utf-8")
    text = text.replace("max_xrp_exposure = 150", "max_xrp_exposure = 130")
    text = text.replace("half_spread_bps = 12", "half_spread_bps = 9\nmax_inventory_usd = 500")
    return parse_config_text(text, path)


def fixed_review(*_: Any) -> list[ReviewFinding]:
    """Findings shaped like engine.review's, fixed so screenshots never drift."""
    return [
        ReviewFinding(
            "warning",
            "risk.max_xrp_exposure",
            "XRP headroom 20.00 RLUSD < one round trip 30.00 RLUSD: BUY will block soon",
        ),
        ReviewFinding(
            "info",
            "strategy.anchor_max_divergence_bps",
            "cap 10 bps would have clamped 30 of the last 120 ticks (25%)",
        ),
    ]


def rejecting_loader(path: str) -> LoadedConfig:
    raise ConfigError(
        [
            "risk.max_xrp_exposure = -5: Input should be greater than 0",
            "strategy.anchor_mode = 'twap': Input should be 'mid', 'amm', 'amm_or_mid' or "
            "'capped_amm'",
        ]
    )


class FakeEngine:
    """Duck-types engine.loop.Engine for the console: records commands, replays events.

    run() waits until a Stop is submitted (or finish() is called), then cancels the
    open orders like the real engine and returns a summary.
    """

    def __init__(
        self,
        tick: TickEvent | None = None,
        *,
        events: Iterable[Event] = (),
        history: list[float] | None = None,
        loaded: LoadedConfig | None = None,
        mode: str = "sim",
    ) -> None:
        self.latest: TickEvent | None = tick
        self.halt: HaltState = tick.halt if tick is not None else HaltState()
        self.mode = mode
        self.session_id = SESSION_ID
        self.loaded = loaded or LoadedConfig(settings=OrionSettings(), path=CONFIG_PATH)
        self.settings = self.loaded.settings
        self.submitted: list[Command] = []
        self.subscribers: list[Callable[[Event], None]] = []
        self.history = divergence_history() if history is None else history
        self.opened = False
        self.running = False
        self.summary: dict[str, Any] = {
            "session_id": SESSION_ID,
            "ticks": 1234,
            "fills": 5,
            "trading_pnl_rlusd": 0.4312,
        }
        self._pending_events = list(events)
        self._stop = asyncio.Event()
        self._live = list(tick.live_orders) if tick is not None else []

    # -- Engine API ---------------------------------------------------------------

    async def open(self) -> None:
        self.opened = True

    async def run(self) -> dict[str, Any]:
        self.running = True
        try:
            await self._stop.wait()
            for order in self._live:
                self.emit(OrderEvent(OrderUpdate("cancelled", order, T0 + 3725.0)))
            self._live = []
            self.emit(SessionEvent("stopped", SESSION_ID, T0 + 3725.0, self.summary))
            return self.summary
        finally:
            self.running = False

    def submit(self, cmd: Command) -> None:
        self.submitted.append(cmd)
        match cmd:
            case Halt(side=None):
                self.halt = HaltState(all=True, buy=self.halt.buy, sell=self.halt.sell)
                self._emit_halt(cancelled=len(self._live))
                self._live = []
            case Halt(side="BUY" | "SELL" as side):
                self.halt = replace(self.halt, **{side.lower(): True})
                cancelled = [o for o in self._live if o.side == side]
                self._live = [o for o in self._live if o.side != side]
                self._emit_halt(cancelled=len(cancelled))
            case Resume():
                self.halt = HaltState()
                self._emit_halt(cancelled=0)
            case Stop():
                self._stop.set()
            case RecordCapital(event=event):
                self.emit(LogEvent(FIXED_NOW, "INFO", f"capital {event.kind} recorded", "store"))
            case ReloadConfig(loaded=loaded):
                self.loaded = loaded  # type: ignore[assignment]
                self.settings = self.loaded.settings

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self.subscribers.append(callback)
        for event in self._pending_events:
            callback(event)
        self._pending_events = []

    def open_orders(self) -> int:
        return len(self._live)

    def recent_divergences(self) -> list[float]:
        return list(self.history)

    # -- test controls ------------------------------------------------------------

    def emit(self, event: Event) -> None:
        for callback in self.subscribers:
            callback(event)

    def push(self, tick: TickEvent) -> None:
        """A new tick, as the engine loop would publish it."""
        self.latest = tick
        self._live = list(tick.live_orders)
        self.emit(tick)

    def finish(self) -> None:
        """End run() as max_ticks would."""
        self._stop.set()

    def commands(self, kind: type) -> list[Any]:
        return [c for c in self.submitted if isinstance(c, kind)]

    def _emit_halt(self, cancelled: int) -> None:
        self.emit(HaltEvent(self.halt, FIXED_NOW, cancelled))
