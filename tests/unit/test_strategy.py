"""engine.strategy: anchor modes and cap boundaries, skew, sizing, gates, actions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.models import (
    GATE_ORDER,
    KEEP_GATE,
    AmmPool,
    Book,
    Decision,
    GateResult,
    HaltState,
    InventorySnapshot,
    Level,
    LiveOrder,
    MarketState,
    Side,
    SideDecision,
)
from engine.settings import OrionSettings, RiskSettings, StrategySettings
from engine.strategy import (
    _book_gate,
    _market_stale_gate,
    compute_anchor,
    decide,
    derive_action,
    evaluate_side,
    momentum_bps,
    quote_prices,
    side_notionals,
)

NOW = 100.0
MID = 2.0


def make_settings(**kw: Any) -> OrionSettings:
    """Settings with overridden strategy/risk keys; never reads ORION_ env vars."""
    strategy_keys = set(StrategySettings.model_fields)
    s_kw = {k: v for k, v in kw.items() if k in strategy_keys}
    r_kw = {k: v for k, v in kw.items() if k not in strategy_keys}
    return OrionSettings.model_construct(
        strategy=StrategySettings(**s_kw), risk=RiskSettings(**r_kw)
    )


def book(bid: float | None = 1.999, ask: float | None = 2.001) -> Book:
    return Book(
        bids=(Level(bid, 100.0),) if bid is not None else (),
        asks=(Level(ask, 100.0),) if ask is not None else (),
    )


def amm_at(price: float) -> AmmPool:
    return AmmPool(xrp_reserve=1000.0, rlusd_reserve=price * 1000.0)


def market(
    bk: Book | None = None,
    amm: AmmPool | None = None,
    book_ts: float | None = NOW - 1,
    amm_ts: float | None = NOW - 1,
    connected: bool = True,
    no_amm: bool = False,
) -> MarketState:
    return MarketState(
        ledger_index=1,
        ts=NOW,
        book=bk if bk is not None else book(),
        amm=None if no_amm else (amm if amm is not None else amm_at(MID)),
        book_ts=book_ts,
        amm_ts=amm_ts,
        connected=connected,
    )


def snap(
    xrp: float = 50.0,
    rlusd: float = 100.0,
    mark: float = MID,
    xrp_ov: float = 0.0,
    rlusd_ov: float = 0.0,
) -> InventorySnapshot:
    """Balanced by default: 50 XRP @ 2.0 = 100 RLUSD of XRP + 100 RLUSD (drift 0)."""
    return InventorySnapshot(xrp, xrp_ov, rlusd, rlusd_ov, mark)


FLAT_MIDS = [MID] * 9


def run(
    m: MarketState | None = None,
    s: InventorySnapshot | None = None,
    live: dict[Side, LiveOrder] | None = None,
    cfg: OrionSettings | None = None,
    halt: HaltState | None = None,
    mids: list[float] | None = None,
    now: float = NOW,
) -> Decision:
    return decide(
        m if m is not None else market(),
        s if s is not None else snap(),
        live or {},
        cfg if cfg is not None else make_settings(),
        halt or HaltState(),
        FLAT_MIDS if mids is None else mids,
        now,
    )


def failing(sd: SideDecision) -> list[str]:
    return [g.name for g in sd.gates if not g.passed]


def gate(sd: SideDecision, name: str) -> GateResult:
    return next(g for g in sd.gates if g.name == name)


# ---- anchor --------------------------------------------------------------------------

CAP = 10.0  # bps, c = 0.001 around mid 2.0: [1.998, 2.002]


@pytest.mark.parametrize(
    ("mode", "amm_price", "exp_price", "exp_state", "exp_div", "exp_disp"),
    [
        # capped_amm: inside, exactly at +cap / -cap (inside, not clamped), above, below
        ("capped_amm", 2.001, 2.001, "inside", 5.0, 0.0),
        ("capped_amm", 2.002, 2.002, "inside", 10.0, 0.0),
        ("capped_amm", 1.998, 1.998, "inside", -10.0, 0.0),
        ("capped_amm", 2.004, 2.002, "above", 20.0, -10.0),
        ("capped_amm", 1.996, 1.998, "below", -20.0, 10.0),
        ("capped_amm", None, MID, "no_amm", None, None),
        # other modes: cap state "none" with an AMM, "no_amm" without
        ("mid", 2.004, MID, "none", 20.0, -20.0),
        ("mid", None, MID, "no_amm", None, None),
        ("amm", 2.004, 2.004, "none", 20.0, 0.0),
        ("amm", None, None, "no_amm", None, None),
        ("amm_or_mid", 2.004, 2.004, "none", 20.0, 0.0),
        ("amm_or_mid", None, MID, "no_amm", None, None),
    ],
)
def test_anchor_modes_and_cap(
    mode: Any,
    amm_price: float | None,
    exp_price: float | None,
    exp_state: str,
    exp_div: float | None,
    exp_disp: float | None,
) -> None:
    amm = amm_at(amm_price) if amm_price is not None else None
    a = compute_anchor(book(), amm, mode, CAP)
    assert a.mode == mode
    assert a.cap_state == exp_state
    assert a.mid == pytest.approx(MID)
    assert a.cap_bps == CAP
    if exp_price is None:
        assert a.price is None
    else:
        assert a.price == pytest.approx(exp_price, rel=1e-12)
    for got, exp in ((a.divergence_bps, exp_div), (a.displacement_bps, exp_disp)):
        if exp is None:
            assert got is None
        else:
            assert got == pytest.approx(exp, abs=1e-6)


@pytest.mark.parametrize("mid", [0.57, 1.0, 2.2, 2.4173, 3.3333])
@pytest.mark.parametrize("cap", [0.5, 7.0, 10.0, 33.3, 250.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_exactly_at_cap_is_inside_despite_rounding(mid: float, cap: float, sign: float) -> None:
    spread = mid * 0.0002
    bk = Book(bids=(Level(mid - spread, 1.0),), asks=(Level(mid + spread, 1.0),))
    edge = bk.mid * (1 + sign * cap / 1e4)  # type: ignore[operator]
    a = compute_anchor(bk, AmmPool(1.0, edge), "capped_amm", cap)
    assert a.cap_state == "inside"
    assert a.price == edge


def test_anchor_empty_book() -> None:
    empty = book(bid=None)
    for mode in ("mid", "amm_or_mid", "capped_amm"):
        a = compute_anchor(empty, amm_at(2.0), mode, CAP)  # type: ignore[arg-type]
        assert a.price is None and a.mid is None and a.divergence_bps is None
    assert compute_anchor(empty, amm_at(2.0), "capped_amm", CAP).cap_state == "none"
    assert compute_anchor(empty, None, "capped_amm", CAP).cap_state == "no_amm"
    # mode amm anchors on the AMM alone (book_invalid still blocks both sides)
    a = compute_anchor(empty, amm_at(2.0), "amm", CAP)
    assert a.price == pytest.approx(2.0) and a.displacement_bps is None
    assert compute_anchor(None, None, "amm", CAP).price is None


def test_anchor_crossed_book_still_reports_mid() -> None:
    a = compute_anchor(book(2.002, 1.998), amm_at(2.0), "capped_amm", CAP)
    assert a.mid == pytest.approx(2.0)
    assert a.cap_state == "inside"


def test_anchor_amm_with_empty_pool_is_no_amm() -> None:
    a = compute_anchor(book(), AmmPool(0.0, 0.0), "capped_amm", CAP)
    assert a.cap_state == "no_amm" and a.price == pytest.approx(MID)


def test_decide_treats_stale_amm_as_absent_except_in_amm_mode() -> None:
    old_amm = market(amm=amm_at(2.004), amm_ts=NOW - 60)
    d = run(old_amm, cfg=make_settings(anchor_mode="capped_amm"))
    assert d.anchor.cap_state == "no_amm" and d.anchor.price == pytest.approx(MID)
    assert d.buy.action == "place" and d.sell.action == "place"
    d = run(old_amm, cfg=make_settings(anchor_mode="amm"))
    assert d.buy.reason == "market_stale" and d.sell.reason == "market_stale"
    assert gate(d.buy, "market_stale").value == pytest.approx(60.0)


def test_amm_mode_without_amm_is_market_stale_and_has_no_anchor() -> None:
    d = run(market(no_amm=True), cfg=make_settings(anchor_mode="amm"))
    assert d.anchor.price is None
    for sd in (d.buy, d.sell):
        assert sd.reason == "market_stale"
        assert failing(sd) == ["market_stale"]
        assert sd.price is None and sd.size is None and sd.action == "none"
        # no price: cross_protection and live_order_exists are omitted, not faked
        names = [g.name for g in sd.gates]
        assert "cross_protection" not in names and KEEP_GATE not in names
    # other modes just fall back to the mid
    for mode in ("amm_or_mid", "capped_amm"):
        d = run(market(no_amm=True), cfg=make_settings(anchor_mode=mode))
        assert d.anchor.cap_state == "no_amm" and d.buy.action == "place"


# ---- skew and sizing --------------------------------------------------------------------


def test_quote_prices_formula() -> None:
    cfg = make_settings(half_spread_bps=12.0, skew_bps_per_drift_pct=0.4).strategy
    buy, sell = quote_prices(2.0, 10.0, cfg)
    centre = 2.0 * (1 - 10.0 * 0.4 / 1e4)
    assert buy == pytest.approx(centre * (1 - 12 / 1e4))
    assert sell == pytest.approx(centre * (1 + 12 / 1e4))


def test_skew_sign() -> None:
    cfg = make_settings().strategy
    flat_buy, flat_sell = quote_prices(2.0, 0.0, cfg)
    long_buy, long_sell = quote_prices(2.0, 20.0, cfg)  # too much XRP
    short_buy, short_sell = quote_prices(2.0, -20.0, cfg)
    assert long_buy < flat_buy and long_sell < flat_sell  # lean to sell XRP
    assert short_buy > flat_buy and short_sell > flat_sell  # lean to buy XRP


def test_size_skew_sign_and_formula() -> None:
    cfg = make_settings(base_size_rlusd=15.0, size_skew_per_drift_pct=0.02).strategy
    long = snap(xrp=70.0, rlusd=60.0)  # 140 of XRP vs 60 RLUSD: drift +20
    assert long.drift_pct == pytest.approx(20.0)
    buy, sell = side_notionals(long, cfg)
    assert buy == pytest.approx(15.0 * (1 - 20 * 0.02))
    assert sell == pytest.approx(15.0 * (1 + 20 * 0.02))
    short = snap(xrp=30.0, rlusd=140.0)  # drift -20
    buy, sell = side_notionals(short, cfg)
    assert buy > 15.0 > sell


def test_size_floor_at_zero_blocks_as_empty_order() -> None:
    cfg = make_settings(size_skew_per_drift_pct=0.05, max_xrp_exposure=500.0)
    s = snap(xrp=90.0, rlusd=20.0)  # drift = 180/200*100 - 50 = +40 -> BUY x (1 - 2) < 0
    buy, sell = side_notionals(s, cfg.strategy)
    assert buy == 0.0 and sell > 0
    d = run(s=s, cfg=cfg, m=market())
    assert d.buy.size == 0.0
    assert d.buy.reason == "insufficient_balance"
    assert "empty" in gate(d.buy, "insufficient_balance").detail
    assert not d.buy.quoting


def test_size_clamped_to_fraction_of_total_value() -> None:
    cfg = make_settings(base_size_rlusd=50.0, max_size_fraction=0.1, size_skew_per_drift_pct=0)
    s = snap()  # total 200 -> clamp 20
    buy, sell = side_notionals(s, cfg.strategy)
    assert buy == pytest.approx(20.0) and sell == pytest.approx(20.0)
    d = run(s=s, cfg=cfg)
    assert d.buy.size == pytest.approx(20.0 / d.buy.price)  # type: ignore[operator]
    assert d.sell.size == pytest.approx(20.0 / d.sell.price)  # type: ignore[operator]


def test_sizes_are_notional_over_price() -> None:
    d = run()
    assert d.buy.action == "place" and d.sell.action == "place"
    assert d.buy.price == pytest.approx(MID * (1 - 12 / 1e4))
    assert d.buy.size == pytest.approx(15.0 / d.buy.price)  # type: ignore[operator]
    assert d.sell.size == pytest.approx(15.0 / d.sell.price)  # type: ignore[operator]


def test_momentum_bps_uses_lookback_window() -> None:
    mids = [1.0, 5.0, 2.0, 2.02]
    assert momentum_bps(mids, 1) == pytest.approx(100.0)
    assert momentum_bps(mids, 2) == pytest.approx((2.02 - 5.0) / 5.0 * 1e4)
    assert momentum_bps(mids, 50) == pytest.approx(10200.0)
    assert momentum_bps([2.0], 8) is None
    assert momentum_bps([], 8) is None


# ---- gates: each blocking alone --------------------------------------------------------


def test_baseline_all_gates_pass_in_order() -> None:
    d = run()
    for sd in (d.buy, d.sell):
        assert tuple(g.name for g in sd.gates) == GATE_ORDER
        assert all(g.passed for g in sd.gates)
        assert sd.reason is None and sd.action == "place" and sd.quoting


def _only(sd: SideDecision, name: str) -> None:
    assert failing(sd) == [name], [(g.name, g.passed, g.value, g.threshold) for g in sd.gates]
    assert sd.reason == name
    assert sd.action == "none"
    assert not sd.quoting


def test_gate_halted_alone() -> None:
    d = run(halt=HaltState(buy=True))
    _only(d.buy, "halted")
    assert d.sell.action == "place"
    d = run(halt=HaltState(all=True))
    _only(d.buy, "halted")
    _only(d.sell, "halted")


@pytest.mark.parametrize(
    ("kwargs", "value"),
    [
        ({"book_ts": NOW - 20}, 20.0),
        ({"book_ts": None}, "missing"),
        ({"connected": False}, "disconnected"),
    ],
)
def test_gate_market_stale_alone(kwargs: dict[str, Any], value: Any) -> None:
    d = run(market(**kwargs))
    for sd in (d.buy, d.sell):
        _only(sd, "market_stale")
        g = gate(sd, "market_stale")
        assert g.value == (pytest.approx(value) if isinstance(value, float) else value)
        assert g.threshold == 15.0


def test_market_stale_boundary_is_strictly_older() -> None:
    assert run(market(book_ts=NOW - 15.0)).buy.action == "place"


def test_gate_book_invalid_crossed_alone() -> None:
    d = run(market(bk=book(2.001, 1.999)))  # crossed by a hair: mid 2.0 still
    _only(d.buy, "book_invalid")
    _only(d.sell, "book_invalid")
    assert "crossed" in gate(d.buy, "book_invalid").detail


def test_gate_book_invalid_touching_book_is_crossed() -> None:
    d = run(market(bk=book(2.0, 2.0)))
    assert d.buy.reason == "book_invalid" and d.sell.reason == "book_invalid"


def test_gate_book_invalid_empty_side_omits_price_gates() -> None:
    d = run(market(bk=book(ask=None)))
    assert d.anchor.price is None
    for sd in (d.buy, d.sell):
        _only(sd, "book_invalid")
        assert sd.price is None and sd.size is None
    # gates with inputs are still shown; gates needing a price are omitted
    assert [g.name for g in d.buy.gates] == [
        "halted",
        "market_stale",
        "book_invalid",
        "exposure_limit",
        "momentum",
        "insufficient_balance",
    ]
    assert [g.name for g in d.sell.gates] == [
        "halted",
        "market_stale",
        "book_invalid",
        "exposure_limit",
        "momentum",
    ]


def test_gate_exposure_limit_buy_alone() -> None:
    d = run(cfg=make_settings(max_xrp_exposure=110.0))
    _only(d.buy, "exposure_limit")
    g = gate(d.buy, "exposure_limit")
    assert g.value == pytest.approx(100.0 + 15.0) and g.threshold == 110.0
    assert d.sell.action == "place"


def test_gate_exposure_limit_sell_alone() -> None:
    d = run(cfg=make_settings(max_rlusd_exposure=110.0))
    _only(d.sell, "exposure_limit")
    g = gate(d.sell, "exposure_limit")
    assert g.value == pytest.approx(115.0) and g.threshold == 110.0
    assert d.buy.action == "place"


def test_exposure_limit_at_exactly_the_limit_passes() -> None:
    d = run(cfg=make_settings(max_xrp_exposure=115.0, max_rlusd_exposure=115.0))
    assert d.buy.action == "place" and d.sell.action == "place"


def test_exposure_reads_total_including_overlay() -> None:
    # fills-only RLUSD 40 + deposit 60 = 100: SELL exposure 115 > 110
    s = snap(rlusd=40.0, rlusd_ov=60.0)
    d = run(s=s, cfg=make_settings(max_rlusd_exposure=110.0))
    assert gate(d.sell, "exposure_limit").value == pytest.approx(115.0)
    assert d.sell.reason == "exposure_limit"


def test_gate_momentum_buy_alone_when_mid_fell() -> None:
    mids = [2.012, 2.006, 2.0]  # -59.6 bps
    d = run(mids=mids)
    _only(d.buy, "momentum")
    g = gate(d.buy, "momentum")
    assert g.value == pytest.approx((2.0 - 2.012) / 2.012 * 1e4)
    assert g.threshold == -30.0
    assert d.sell.action == "place"


def test_gate_momentum_sell_alone_when_mid_rose() -> None:
    d = run(mids=[1.988, 1.994, 2.0])
    _only(d.sell, "momentum")
    assert gate(d.sell, "momentum").threshold == 30.0
    assert d.buy.action == "place"


def test_momentum_lookback_ignores_older_moves() -> None:
    mids = [1.5] + [MID] * 8  # the jump is older than lookback 3
    assert run(mids=mids, cfg=make_settings(momentum_lookback_ticks=3)).sell.action == "place"
    assert run(mids=mids, cfg=make_settings(momentum_lookback_ticks=8)).sell.reason == "momentum"


def test_momentum_without_history_passes() -> None:
    d = run(mids=[])
    g = gate(d.buy, "momentum")
    assert g.passed and g.value is None


def test_gate_cross_protection_buy_alone() -> None:
    # anchor on an AMM 50 bps above mid: BUY at 2.0076 >= ask 2.001
    d = run(market(amm=amm_at(2.01)), cfg=make_settings(anchor_mode="amm_or_mid"))
    _only(d.buy, "cross_protection")
    g = gate(d.buy, "cross_protection")
    assert g.value == d.buy.price and g.threshold == 2.001
    assert d.sell.action == "place"


def test_gate_cross_protection_sell_alone() -> None:
    d = run(market(amm=amm_at(1.99)), cfg=make_settings(anchor_mode="amm_or_mid"))
    _only(d.sell, "cross_protection")
    assert d.buy.action == "place"


def _side(side: Side, price: float, live: LiveOrder | None = None) -> SideDecision:
    bk = book()
    s = snap()
    return evaluate_side(
        side,
        price=price,
        notional=15.0,
        halted=False,
        stale_gate=_market_stale_gate(market(), "capped_amm", 1.0, 15.0, NOW),
        book_gate=_book_gate(bk),
        book=bk,
        snapshot=s,
        move_bps=0.0,
        live=live,
        settings=make_settings(),
        now=NOW,
    )


def test_cross_protection_touching_counts_as_crossing() -> None:
    assert _side("BUY", 2.001).reason == "cross_protection"
    assert _side("BUY", 2.00099).reason is None
    assert _side("SELL", 1.999).reason == "cross_protection"
    assert _side("SELL", 1.99901).reason is None


def test_gate_insufficient_balance_buy_alone() -> None:
    cfg = make_settings(size_skew_per_drift_pct=0.0, skew_bps_per_drift_pct=0.0)
    d = run(s=snap(rlusd=10.0), cfg=cfg)
    _only(d.buy, "insufficient_balance")
    g = gate(d.buy, "insufficient_balance")
    assert g.value == 10.0 and g.threshold == pytest.approx(15.0)
    assert d.sell.action == "place"


def test_gate_insufficient_balance_sell_alone() -> None:
    cfg = make_settings(size_skew_per_drift_pct=0.0, skew_bps_per_drift_pct=0.0)
    d = run(s=snap(xrp=2.0), cfg=cfg)
    _only(d.sell, "insufficient_balance")
    g = gate(d.sell, "insufficient_balance")
    assert g.value == 2.0 and g.threshold == pytest.approx(d.sell.size)
    assert d.buy.action == "place"


def test_insufficient_balance_reads_total_including_overlay() -> None:
    cfg = make_settings(size_skew_per_drift_pct=0.0, skew_bps_per_drift_pct=0.0)
    d = run(s=snap(rlusd=10.0, rlusd_ov=90.0), cfg=cfg)  # 10 fills-only + 90 deposited
    assert d.buy.action == "place"
    assert gate(d.buy, "insufficient_balance").value == pytest.approx(100.0)


def test_gate_live_order_exists_alone_means_keep() -> None:
    target = run().buy.price
    assert target is not None
    live = {"BUY": LiveOrder("b1", "BUY", target, 7.0, placed_ts=NOW - 10)}
    d = run(live=live)
    assert failing(d.buy) == [KEEP_GATE]
    assert d.buy.reason == KEEP_GATE and d.buy.action == "keep" and d.buy.quoting
    assert d.sell.action == "place"


# ---- gate order, reason, action ------------------------------------------------------


def test_reason_is_first_failing_gate_and_later_gates_still_evaluated() -> None:
    d = run(
        market(book_ts=NOW - 20),
        halt=HaltState(sell=True),
        cfg=make_settings(max_rlusd_exposure=50.0),
        mids=[1.9, 2.0],
    )
    assert failing(d.sell) == ["halted", "market_stale", "exposure_limit", "momentum"]
    assert d.sell.reason == "halted"
    assert [g.name for g in d.sell.gates] == list(GATE_ORDER)
    assert failing(d.buy) == ["market_stale"]
    assert d.buy.reason == "market_stale"


def test_gates_follow_gate_order() -> None:
    for d in (run(), run(market(bk=book(ask=None))), run(market(no_amm=True))):
        for sd in (d.buy, d.sell):
            idx = [GATE_ORDER.index(g.name) for g in sd.gates]
            assert idx == sorted(idx) and len(set(idx)) == len(idx)


def test_blocked_side_with_live_order_cancels() -> None:
    live = {"SELL": LiveOrder("s1", "SELL", 2.0024, 7.0, placed_ts=NOW - 5)}
    d = run(live=live, halt=HaltState(sell=True))
    assert d.sell.action == "cancel" and not d.sell.quoting
    assert d.sell.reason == "halted"


@pytest.mark.parametrize(
    ("failed", "has_live", "action"),
    [
        ((), False, "place"),
        ((), True, "replace"),
        ((KEEP_GATE,), True, "keep"),
        (("momentum",), False, "none"),
        (("momentum",), True, "cancel"),
        (("momentum", KEEP_GATE), True, "cancel"),
    ],
)
def test_derive_action(failed: tuple[str, ...], has_live: bool, action: str) -> None:
    gates = tuple(GateResult(n, n not in failed) for n in GATE_ORDER)
    assert derive_action(gates, has_live) == action


# ---- keep vs replace ---------------------------------------------------------------------


def _live_buy(offset_bps: float, age: float) -> tuple[Decision, float]:
    target = run().buy.price
    assert target is not None
    price = target * (1 + offset_bps / 1e4)
    d = run(live={"BUY": LiveOrder("b1", "BUY", price, 7.0, placed_ts=NOW - age)})
    return d, target


@pytest.mark.parametrize(
    ("offset", "age", "action"),
    [
        (0.0, 10.0, "keep"),
        (3.0, 10.0, "keep"),  # exactly at refresh_tolerance_bps: within
        (-3.0, 10.0, "keep"),
        (3.001, 10.0, "replace"),  # just outside
        (-3.001, 10.0, "replace"),
        (0.0, 119.999, "keep"),  # just younger than max_order_age_s
        (0.0, 120.0, "replace"),  # exactly max_order_age_s old: replace
        (0.0, 500.0, "replace"),
    ],
)
def test_keep_vs_replace(offset: float, age: float, action: str) -> None:
    d, _ = _live_buy(offset, age)
    assert d.buy.action == action
    g = gate(d.buy, KEEP_GATE)
    assert g.value == pytest.approx(abs(offset), abs=1e-6)
    assert g.threshold == 3.0
    assert g.passed == (action == "replace")
    assert d.buy.reason == (KEEP_GATE if action == "keep" else None)
    assert d.buy.quoting


def test_zero_tolerance_keeps_only_the_same_price() -> None:
    cfg = make_settings(refresh_tolerance_bps=0.0)
    target = run(cfg=cfg).buy.price
    assert target is not None
    same = {"BUY": LiveOrder("b1", "BUY", target, 7.0, placed_ts=NOW - 1)}
    assert run(live=same, cfg=cfg).buy.action == "keep"
    moved = {"BUY": LiveOrder("b1", "BUY", target * 1.0001, 7.0, placed_ts=NOW - 1)}
    assert run(live=moved, cfg=cfg).buy.action == "replace"


def test_decide_is_pure_and_deterministic() -> None:
    args = (market(), snap(), {}, make_settings(), HaltState(), FLAT_MIDS, NOW)
    assert decide(*args) == decide(*args)  # type: ignore[arg-type]


# ---- property: quoting iff no blocking gate, reason = first failing gate ---------------

_MODES = ("mid", "amm", "amm_or_mid", "capped_amm")


def _rare(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` draws: keeps most scenarios quotable."""
    return draw(st.integers(0, one_in - 1)) == one_in // 2  # hypothesis favours the bounds


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, ...]:
    """Mostly healthy markets with a few things wrong, so every gate and action occurs."""
    hs = draw(st.floats(1.0, 60.0))
    stale_after = draw(st.floats(5.0, 30.0))
    cfg = make_settings(
        anchor_mode=draw(st.sampled_from(_MODES)),
        anchor_max_divergence_bps=draw(st.floats(0.0, 50.0)),
        half_spread_bps=hs,
        base_size_rlusd=draw(st.floats(1.0, 60.0)),
        skew_bps_per_drift_pct=draw(st.floats(0.0, 2.0)),
        size_skew_per_drift_pct=draw(st.floats(0.0, 0.05)),
        max_size_fraction=draw(st.floats(0.01, 1.0)),
        momentum_lookback_ticks=draw(st.integers(1, 10)),
        momentum_threshold_bps=draw(st.floats(1.0, 200.0)),
        refresh_tolerance_bps=draw(st.floats(0.0, 20.0)),
        max_order_age_s=draw(st.floats(1.0, 200.0)),
        max_xrp_exposure=draw(st.floats(1.0, 600.0)),
        max_rlusd_exposure=draw(st.floats(1.0, 600.0)),
        stale_after_s=stale_after,
    )
    mid = draw(st.floats(0.5, 5.0))
    spread_bps = draw(st.floats(-20.0, 80.0)) if _rare(draw, 4) else draw(st.floats(1.0, 30.0))
    half = spread_bps / 2e4
    bk: Book | None = Book(
        bids=() if _rare(draw, 40) else (Level(mid * (1 - half), 10.0),),
        asks=() if _rare(draw, 40) else (Level(mid * (1 + half), 10.0),),
    )
    if _rare(draw, 60):
        bk = None
    amm: AmmPool | None = None
    if not _rare(draw, 5):
        amm = AmmPool(1000.0, 1000.0 * mid * (1 + draw(st.floats(-80.0, 80.0)) / 1e4))
    elif draw(st.booleans()):
        amm = AmmPool(0.0, 0.0)

    def age() -> float | None:
        if _rare(draw, 20):
            return None
        return draw(st.floats(-1.0, 60.0)) if _rare(draw, 8) else draw(st.floats(0.0, 5.0))

    book_age, amm_age = age(), age()
    m = MarketState(
        ledger_index=1,
        ts=NOW,
        book=bk,
        amm=amm,
        book_ts=None if book_age is None else NOW - book_age,
        amm_ts=None if amm_age is None else NOW - amm_age,
        connected=not _rare(draw, 20),
    )
    s = InventorySnapshot(
        draw(st.floats(0.0, 200.0)),
        draw(st.floats(0.0, 50.0)),
        draw(st.floats(0.0, 400.0)),
        draw(st.floats(0.0, 50.0)),
        mid * draw(st.floats(0.95, 1.05)),
        target_xrp_share_pct=draw(st.floats(0.0, 100.0)),
    )
    live: dict[Side, LiveOrder] = {}
    for side, sign in (("BUY", -1.0), ("SELL", 1.0)):
        if draw(st.booleans()):
            # near where the side would quote, so keep and replace both happen
            p = mid * (1 + sign * hs / 1e4) * (1 + draw(st.floats(-25.0, 25.0)) / 1e4)
            placed = NOW - draw(st.floats(0.0, 250.0))
            live[side] = LiveOrder(f"{side}-1", side, p, 5.0, placed)
    halt = HaltState(all=_rare(draw, 25), buy=_rare(draw, 12), sell=_rare(draw, 12))
    mids = [mid * x for x in draw(st.lists(st.floats(0.97, 1.03), max_size=12))]
    return m, s, live, cfg, halt, mids


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_property_quoting_iff_no_blocking_gate(sc: tuple[Any, ...]) -> None:
    m, s, live, cfg, halt, mids = sc
    d = decide(m, s, live, cfg, halt, mids, NOW)
    for sd in (d.buy, d.sell):
        failed = [g.name for g in sd.gates if not g.passed]
        blocking = [n for n in failed if n != KEEP_GATE]
        assert sd.quoting == (not blocking)
        assert sd.reason == (failed[0] if failed else None)
        # gates are a subsequence of GATE_ORDER; the first five are always present
        names = [g.name for g in sd.gates]
        assert names[:5] == list(GATE_ORDER[:5])
        idx = [GATE_ORDER.index(n) for n in names]
        assert idx == sorted(idx) and len(set(idx)) == len(idx)
        # a gate is only omitted after an earlier failure
        if len(names) < len(GATE_ORDER):
            first_missing = next(i for i, n in enumerate(GATE_ORDER) if n not in names)
            assert any(GATE_ORDER.index(n) < first_missing for n in blocking)
        has_live = sd.side in live
        if not blocking:
            expected = "keep" if KEEP_GATE in failed else ("replace" if has_live else "place")
            assert sd.action == expected
            assert sd.price is not None and sd.price > 0 and math.isfinite(sd.price)
            assert sd.size is not None and sd.size > 0
        else:
            assert sd.action == ("cancel" if has_live else "none")
