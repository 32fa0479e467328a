"""engine.market.sim: determinism, book shape, the lagging AMM, taker flow."""

from __future__ import annotations

import pytest

from engine.market.sim import LEDGER_START, SimMarket
from engine.models import MarketState, TakerTrade
from engine.settings import SimSettings

CAP_BPS = 10.0


def run(
    n: int, seed: int | None = None, **settings: float
) -> list[tuple[MarketState, list[TakerTrade]]]:
    sim = SimMarket(SimSettings(**settings), seed=seed)
    return [sim.step() for _ in range(n)]


@pytest.fixture(scope="module")
def long_run() -> list[tuple[MarketState, list[TakerTrade]]]:
    """10,000 steps at the default settings, shared by the statistical tests."""
    return run(10_000)


def test_same_seed_same_market_row_for_row() -> None:
    a = run(1_000, seed=42)
    b = run(1_000, seed=42)
    for i, (row_a, row_b) in enumerate(zip(a, b, strict=True)):
        assert row_a == row_b, f"step {i} differs"


def test_seed_none_uses_settings_seed() -> None:
    assert run(200, seed=None) == run(200, seed=SimSettings().seed)


def test_different_seeds_differ() -> None:
    a = run(200, seed=1)
    b = run(200, seed=2)
    assert sum(ra[0].book != rb[0].book for ra, rb in zip(a, b, strict=True)) > 150
    assert [m.amm for m, _ in a] != [m.amm for m, _ in b]


def test_clock_ledger_and_freshness() -> None:
    s = SimSettings()
    sim = SimMarket(s, start_ts=1000.0)
    assert (sim.ts, sim.ledger_index) == (1000.0, LEDGER_START)
    for i in range(1, 51):
        m, _ = sim.step()
        assert m.ledger_index == LEDGER_START + i
        assert m.ts == pytest.approx(1000.0 + i * s.ledger_interval_s)
        assert m.book_ts == m.ts and m.amm_ts == m.ts
        assert m.connected
        assert m.book is not None and m.amm is not None
        assert (sim.ts, sim.ledger_index) == (m.ts, m.ledger_index)


def test_book_levels_sorted_positive_and_realistic(long_run) -> None:
    invalid = 0
    for m, _ in long_run:
        book = m.book
        assert book is not None
        for levels in (book.bids, book.asks):
            assert all(lv.size > 0 for lv in levels)
        assert all(a.price > b.price for a, b in zip(book.bids, book.bids[1:], strict=False))
        assert all(a.price < b.price for a, b in zip(book.asks, book.asks[1:], strict=False))
        if book.mid is None or book.crossed:
            invalid += 1
            continue
        assert 5 <= len(book.bids) <= 8 and 5 <= len(book.asks) <= 8
        spread_bps = (book.best_ask - book.best_bid) / book.mid * 1e4
        assert 1.0 < spread_bps < 40.0
    # the book_invalid gate gets exercised, but rarely (~0.5% of ticks)
    assert 10 <= invalid <= 150
    sizes = [lv.size for m, _ in long_run[:500] for lv in m.book.bids + m.book.asks]
    assert min(sizes) < 100 and max(sizes) > 1000  # tens to thousands of XRP


def test_amm_divergence_crosses_cap_both_ways(long_run) -> None:
    above = below = inside = 0
    for m, _ in long_run:
        mid = m.book.mid if m.book and not m.book.crossed else None
        if mid is None:
            continue
        div = (m.amm.price - mid) / mid * 1e4
        if div > CAP_BPS:
            above += 1
        elif div < -CAP_BPS:
            below += 1
        else:
            inside += 1
    total = above + below + inside
    assert above > 0.03 * total and below > 0.03 * total
    assert inside > 0.6 * total


def test_amm_arbitrage_keeps_constant_product_net_of_fee(long_run) -> None:
    prev = None
    for m, _ in long_run[:2_000]:
        pool = m.amm
        if prev is not None and (pool.xrp_reserve, pool.rlusd_reserve) != (
            prev.xrp_reserve,
            prev.rlusd_reserve,
        ):
            g = 1.0 - pool.trading_fee / 100_000
            k = prev.xrp_reserve * prev.rlusd_reserve
            if pool.xrp_reserve > prev.xrp_reserve:  # XRP in, RLUSD out
                assert pool.rlusd_reserve < prev.rlusd_reserve
                dx = pool.xrp_reserve - prev.xrp_reserve
                net = (prev.xrp_reserve + g * dx) * pool.rlusd_reserve
            else:  # RLUSD in, XRP out
                assert pool.rlusd_reserve > prev.rlusd_reserve
                dy = pool.rlusd_reserve - prev.rlusd_reserve
                net = pool.xrp_reserve * (prev.rlusd_reserve + g * dy)
            assert net == pytest.approx(k, rel=1e-9)
            # the fee stays in the pool: the raw product never shrinks
            assert pool.xrp_reserve * pool.rlusd_reserve >= k * (1 - 1e-12)
        prev = pool


def test_amm_moves_a_fraction_amm_lag_toward_mid() -> None:
    lag = SimSettings().amm_lag
    sim = SimMarket(SimSettings())
    prev_price = sim.step()[0].amm.price
    checked = 0
    for _ in range(300):
        m, _ = sim.step()
        mid = m.book.mid
        if mid is not None:
            expected = prev_price + lag * (mid - prev_price)
            assert m.amm.price == pytest.approx(expected, rel=1e-9)
            checked += 1
        prev_price = m.amm.price
    assert checked > 280


def test_taker_flow(long_run) -> None:
    trades = [(m, t) for m, ts in long_run for t in ts]
    rate = SimSettings().taker_rate
    assert 0.8 * rate * len(long_run) < len(trades) < 1.2 * rate * len(long_run)
    buys = [t for _, t in trades if t.side == "BUY"]
    sells = [t for _, t in trades if t.side == "SELL"]
    assert len(buys) > 0.3 * len(trades) and len(sells) > 0.3 * len(trades)
    assert all(t.size > 0 and t.price > 0 for _, t in trades)
    sizes = sorted(t.size for _, t in trades)
    assert 20 < sizes[len(sizes) // 2] < 1000
    # limits at or through the touch, so takers sweep some levels
    for m, t in trades:
        if t.side == "BUY" and m.book.asks:
            assert t.price >= m.book.asks[0].price
        if t.side == "SELL" and m.book.bids:
            assert t.price <= m.book.bids[0].price
    swept = [
        t
        for m, t in trades
        if t.side == "BUY" and len(m.book.asks) > 1 and t.price > m.book.asks[1].price
    ]
    assert len(swept) > 100


def test_no_takers_when_rate_is_zero() -> None:
    assert all(trades == [] for _, trades in run(500, taker_rate=0.0))


@pytest.mark.parametrize("start_price", [0.01, 0.5, 50.0])
def test_other_price_scales(start_price: float) -> None:
    for m, _ in run(500, start_price=start_price):
        if m.book.mid is not None and not m.book.crossed:
            assert m.book.mid == pytest.approx(start_price, rel=0.2)
            assert len({lv.price for lv in m.book.bids}) == len(m.book.bids)
