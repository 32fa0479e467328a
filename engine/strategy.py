"""Quoting strategy: anchor, skew, sizing and the ordered per-side gates.

Everything here is a pure function of its arguments (no I/O, no clock, no
randomness), so a replay of the stored inputs reproduces the live decision exactly
and the console can render the very object that decided. `decide` runs on every
tick, so it builds nothing heavier than a handful of frozen slot dataclasses.

Documented rules (DESIGN.md "Quoting" and "Gates" leave these open):

Anchor (`compute_anchor`)
  * The mid is the book mid; a book with an empty side (or a non-positive mid) has
    no mid. A crossed book still has a mid (shown), but `book_invalid` blocks it.
  * cap_state is "no_amm" whenever there is no usable AMM price, whatever the mode;
    "none" when the AMM is present but the mode is not `capped_amm` (no cap
    applies), and also for `capped_amm` with an AMM but no mid (nothing to cap
    against). Otherwise `capped_amm` gives "above" / "below" / "inside".
  * A divergence exactly at +cap or -cap is "inside" (not clamped); the comparison
    allows _EPS_BPS of float noise so "exactly" survives rounding.
  * No mid means no anchor (price None), except mode `amm` with an AMM price, which
    anchors on the AMM alone. `amm_or_mid` without a mid has no anchor either: the
    book is needed to quote anyway, and `book_invalid` blocks both sides.
  * divergence_bps needs both prices; displacement_bps needs anchor, AMM and mid.

Freshness (`decide`)
  * An AMM snapshot older than risk.stale_after_s (or with no amm_ts) is treated as
    absent for the anchor in every mode: `amm_or_mid` / `capped_amm` fall back to
    the mid (cap state "no_amm"); in mode `amm` it fails `market_stale`. AMM
    staleness gates only mode `amm`. Data is stale when its age is strictly greater
    than stale_after_s.

Gates (`evaluate_side`)
  * Every gate whose inputs exist is evaluated, even after an earlier failure, so
    the console can show all of them. A gate whose inputs do not exist (no target
    price, no opposite best price) is omitted from the tuple. Inputs can only be
    missing when an earlier gate (market_stale or book_invalid) already failed.
  * The reason is the first failing gate; the action is derived from the gates
    alone (`derive_action`): there is no separate "can quote" flag.
  * momentum uses the last momentum_lookback_ticks + 1 entries of `recent_mids`
    (oldest first, the current mid last); with fewer than two usable mids it passes
    with value None (no evidence of a move). Its threshold is signed per side: BUY
    fails when the move is below -threshold, SELL when it is above +threshold.
  * insufficient_balance also fails when the order would be empty (size <= 0:
    size skew or the max_size_fraction clamp left nothing, or the skewed price is
    not positive): an empty order cannot be placed, and this is the gate that
    compares what the order needs with what funds it.
  * live_order_exists fails ("keep") when a resting order on the side is within
    refresh_tolerance_bps of the new target (inclusive, relative to the target) and
    younger than max_order_age_s (an order exactly max_order_age_s old is replaced).
    With no resting order it passes with value None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.models import (
    KEEP_GATE,
    Action,
    AmmPool,
    Anchor,
    AnchorMode,
    Book,
    CapState,
    Decision,
    GateResult,
    HaltState,
    InventorySnapshot,
    LiveOrder,
    MarketState,
    Side,
    SideDecision,
)
from engine.settings import OrionSettings, StrategySettings

# Float noise allowed when comparing bps against a configured boundary, so that a
# value built to sit exactly on the boundary is treated as on it.
_EPS_BPS = 1e-9
_INF = float("inf")
# The halted gate compares nothing numeric: two constants save a construction per side.
_HALTED = GateResult("halted", False, "halted", None, "operator halt (all or this side)")
_NOT_HALTED = GateResult("halted", True, None, None, "not halted")

__all__ = [
    "compute_anchor",
    "decide",
    "derive_action",
    "evaluate_side",
    "momentum_bps",
    "quote_prices",
    "side_notionals",
]


# ---- anchor --------------------------------------------------------------------


def compute_anchor(
    book: Book | None, amm: AmmPool | None, mode: AnchorMode, cap_bps: float
) -> Anchor:
    """Reference price before skew, with everything the divergence pane shows."""
    mid = book.mid if book is not None else None
    if mid is not None and not mid > 0:
        mid = None
    amm_price = amm.price if amm is not None else None

    divergence: float | None = None
    if mid is not None and amm_price is not None:
        divergence = (amm_price - mid) / mid * 1e4

    price: float | None
    cap_state: CapState
    if amm_price is None:
        cap_state = "no_amm"
        price = None if mode == "amm" else mid
    elif mode == "capped_amm":
        if mid is None or divergence is None:
            cap_state = "none"
            price = None
        elif divergence > cap_bps + _EPS_BPS:
            cap_state = "above"
            price = mid * (1.0 + cap_bps / 1e4)
        elif divergence < -cap_bps - _EPS_BPS:
            cap_state = "below"
            price = mid * (1.0 - cap_bps / 1e4)
        else:
            cap_state = "inside"
            price = amm_price
    else:
        cap_state = "none"
        if mode == "mid":
            price = mid
        elif mode == "amm":
            price = amm_price
        else:  # amm_or_mid: AMM present, but no book means no anchor
            price = amm_price if mid is not None else None

    displacement: float | None = None
    if price is not None and amm_price is not None and mid is not None:
        displacement = (price - amm_price) / mid * 1e4

    return Anchor(
        mode=mode,
        price=price,
        mid=mid,
        amm_price=amm_price,
        divergence_bps=divergence,
        cap_state=cap_state,
        displacement_bps=displacement,
        cap_bps=cap_bps,
    )


# ---- skew and sizing -------------------------------------------------------------


def quote_prices(
    anchor_price: float, drift_pct: float, strategy: StrategySettings
) -> tuple[float, float]:
    """(BUY, SELL) targets: centred on the anchor shifted by -drift * skew bps.

    Too much XRP (drift > 0) lowers the centre: we bid less and offer cheaper.
    """
    centre = anchor_price * (1.0 - drift_pct * strategy.skew_bps_per_drift_pct / 1e4)
    half = strategy.half_spread_bps / 1e4
    return centre * (1.0 - half), centre * (1.0 + half)


def side_notionals(snapshot: InventorySnapshot, strategy: StrategySettings) -> tuple[float, float]:
    """(BUY, SELL) order notionals in RLUSD: skewed, floored at 0, clamped.

    Too much XRP (drift > 0) shrinks the BUY and grows the SELL. The clamp is
    max_size_fraction of the *total* value, so a small account never over-quotes.
    """
    base = strategy.base_size_rlusd
    k = snapshot.drift_pct * strategy.size_skew_per_drift_pct
    cap = strategy.max_size_fraction * snapshot.total_value_in_rlusd
    if cap < 0.0:
        cap = 0.0
    buy = base * (1.0 - k)
    sell = base * (1.0 + k)
    buy = 0.0 if buy < 0.0 else (cap if buy > cap else buy)
    sell = 0.0 if sell < 0.0 else (cap if sell > cap else sell)
    return buy, sell


def momentum_bps(recent_mids: Sequence[float], lookback_ticks: int) -> float | None:
    """Move of the mid in bps over the last lookback_ticks + 1 mids (None: too few)."""
    n = len(recent_mids)
    if n < 2:
        return None
    first = recent_mids[max(0, n - 1 - lookback_ticks)]
    last = recent_mids[n - 1]
    if not first > 0:
        return None
    return (last - first) / first * 1e4


# ---- gates -------------------------------------------------------------------------


def derive_action(gates: Sequence[GateResult], has_live: bool) -> Action:
    """The side's action, from the gate results alone.

    A failing gate other than live_order_exists blocks quoting (cancel any resting
    order); live_order_exists failing alone means keep; otherwise place or replace.
    """
    keep = False
    for g in gates:
        if not g.passed:
            if g.name != KEEP_GATE:
                return "cancel" if has_live else "none"
            keep = True
    if keep:
        return "keep"
    return "replace" if has_live else "place"


def _market_stale_gate(
    market: MarketState,
    mode: AnchorMode,
    amm_age: float | None,
    stale_after: float,
    now: float,
) -> GateResult:
    """Shared by both sides: no fresh data (or no connection) blocks quoting.

    The AMM is checked only in mode `amm`, the one mode that cannot quote without it.
    """
    if not market.connected:
        return GateResult(
            "market_stale", False, "disconnected", stale_after, "market source disconnected"
        )
    if market.book_ts is None:
        return GateResult("market_stale", False, "missing", stale_after, "no book data yet")
    age = now - market.book_ts
    if age > stale_after:
        return GateResult("market_stale", False, age, stale_after, "book data older than limit")
    if mode == "amm":
        amm = market.amm
        if amm is None or amm.price is None or amm_age is None:
            return GateResult(
                "market_stale", False, "missing", stale_after, "anchor_mode amm needs AMM data"
            )
        if amm_age > stale_after:
            return GateResult(
                "market_stale", False, amm_age, stale_after, "AMM data older than limit"
            )
        if amm_age > age:
            age = amm_age
    return GateResult("market_stale", True, age, stale_after, "data age (s) within limit")


def _book_gate(book: Book | None) -> GateResult:
    """Shared by both sides: an empty side or a crossed book cannot be quoted against."""
    if book is None:
        return GateResult("book_invalid", False, None, None, "no order book")
    bid, ask = book.best_bid, book.best_ask
    if bid is None or ask is None:
        detail = (
            "no bids and no asks"
            if bid is None and ask is None
            else ("no bids" if bid is None else "no asks")
        )
        return GateResult("book_invalid", False, bid, ask, detail)
    if not bid > 0 or not ask > 0:
        return GateResult("book_invalid", False, bid, ask, "non-positive best price")
    if bid >= ask:
        return GateResult("book_invalid", False, bid, ask, "crossed book: best bid >= best ask")
    return GateResult("book_invalid", True, bid, ask, "best bid < best ask")


def evaluate_side(
    side: Side,
    *,
    price: float | None,
    notional: float,
    halted: bool,
    stale_gate: GateResult,
    book_gate: GateResult,
    book: Book | None,
    snapshot: InventorySnapshot,
    move_bps: float | None,
    live: LiveOrder | None,
    settings: OrionSettings,
    now: float,
) -> SideDecision:
    """Evaluate one side's gates in GATE_ORDER and derive its action."""
    strategy = settings.strategy
    risk = settings.risk
    buy = side == "BUY"
    size: float | None = None
    if price is not None:
        size = notional / price if price > 0 else 0.0

    gates: list[GateResult] = [
        _HALTED if halted else _NOT_HALTED,
        stale_gate,
        book_gate,
    ]

    # exposure_limit: the notional needs no price, so this is always computable.
    if buy:
        exposure = snapshot.xrp_value_in_rlusd + notional
        limit = risk.max_xrp_exposure
        gates.append(
            GateResult(
                "exposure_limit",
                exposure <= limit,
                exposure,
                limit,
                "XRP value + order notional vs max_xrp_exposure",
            )
        )
    else:
        exposure = snapshot.rlusd_balance + notional
        limit = risk.max_rlusd_exposure
        gates.append(
            GateResult(
                "exposure_limit",
                exposure <= limit,
                exposure,
                limit,
                "RLUSD balance + order notional vs max_rlusd_exposure",
            )
        )

    thr = strategy.momentum_threshold_bps
    if move_bps is None:
        gates.append(
            GateResult("momentum", True, None, -thr if buy else thr, "not enough mid history")
        )
    elif buy:
        gates.append(
            GateResult(
                "momentum",
                move_bps >= -thr,
                move_bps,
                -thr,
                "mid move (bps) over lookback; BUY blocked below threshold",
            )
        )
    else:
        gates.append(
            GateResult(
                "momentum",
                move_bps <= thr,
                move_bps,
                thr,
                "mid move (bps) over lookback; SELL blocked above threshold",
            )
        )

    if book is not None and price is not None:
        if buy:
            ask = book.best_ask
            if ask is not None:
                gates.append(
                    GateResult(
                        "cross_protection",
                        price < ask,
                        price,
                        ask,
                        "BUY price must stay below best ask",
                    )
                )
        else:
            bid = book.best_bid
            if bid is not None:
                gates.append(
                    GateResult(
                        "cross_protection",
                        price > bid,
                        price,
                        bid,
                        "SELL price must stay above best bid",
                    )
                )

    if buy:
        have = snapshot.rlusd_balance
        empty = notional <= 0.0 or (size is not None and size <= 0.0)
        gates.append(
            GateResult(
                "insufficient_balance",
                not empty and have >= notional,
                have,
                notional,
                "empty order: nothing to place" if empty else "RLUSD total vs order notional",
            )
        )
    elif size is not None:
        have = snapshot.xrp_balance
        empty = size <= 0.0
        gates.append(
            GateResult(
                "insufficient_balance",
                not empty and have >= size,
                have,
                size,
                "empty order: nothing to place" if empty else "XRP total vs order size",
            )
        )

    if price is not None:
        tol = strategy.refresh_tolerance_bps
        if live is None:
            gates.append(GateResult(KEEP_GATE, True, None, tol, "no live order"))
        else:
            dist = abs(live.price - price) / price * 1e4 if price > 0 else _INF
            age = now - live.placed_ts
            max_age = strategy.max_order_age_s
            within = dist <= tol + _EPS_BPS
            young = age < max_age
            if within and young:
                detail = "keep: resting order within tolerance"
            elif within:
                detail = f"replace: resting order age {age:.0f}s >= max_order_age_s {max_age:g}"
            else:
                detail = "replace: resting order outside tolerance"
            gates.append(GateResult(KEEP_GATE, not (within and young), dist, tol, detail))

    gate_tuple = tuple(gates)
    return SideDecision(
        side=side,
        price=price,
        size=size,
        gates=gate_tuple,
        action=derive_action(gate_tuple, live is not None),
    )


# ---- entry point ---------------------------------------------------------------------


def decide(
    market: MarketState,
    snapshot: InventorySnapshot,
    live: Mapping[Side, LiveOrder],
    settings: OrionSettings,
    halt: HaltState,
    recent_mids: Sequence[float],
    now: float,
) -> Decision:
    """One tick's decision for both sides. Pure: same inputs, same Decision."""
    strategy = settings.strategy
    stale_after = settings.risk.stale_after_s
    mode = strategy.anchor_mode

    amm = market.amm
    amm_age = None if market.amm_ts is None else now - market.amm_ts
    amm_usable = (
        amm is not None and amm.price is not None and amm_age is not None and amm_age <= stale_after
    )
    anchor = compute_anchor(
        market.book, amm if amm_usable else None, mode, strategy.anchor_max_divergence_bps
    )

    stale_gate = _market_stale_gate(market, mode, amm_age, stale_after, now)
    book_gate = _book_gate(market.book)
    move = momentum_bps(recent_mids, strategy.momentum_lookback_ticks)
    buy_notional, sell_notional = side_notionals(snapshot, strategy)
    if anchor.price is not None:
        buy_price: float | None
        sell_price: float | None
        buy_price, sell_price = quote_prices(anchor.price, snapshot.drift_pct, strategy)
    else:
        buy_price = sell_price = None

    buy = evaluate_side(
        "BUY",
        price=buy_price,
        notional=buy_notional,
        halted=halt.side_halted("BUY"),
        stale_gate=stale_gate,
        book_gate=book_gate,
        book=market.book,
        snapshot=snapshot,
        move_bps=move,
        live=live.get("BUY"),
        settings=settings,
        now=now,
    )
    sell = evaluate_side(
        "SELL",
        price=sell_price,
        notional=sell_notional,
        halted=halt.side_halted("SELL"),
        stale_gate=stale_gate,
        book_gate=book_gate,
        book=market.book,
        snapshot=snapshot,
        move_bps=move,
        live=live.get("SELL"),
        settings=settings,
        now=now,
    )
    return Decision(anchor=anchor, buy=buy, sell=sell)
