"""engine.execution.paper: actions, queue position, fees, expiry, trade-through, restore."""

from __future__ import annotations

import pytest

from engine.execution.base import Execution
from engine.execution.paper import RESTORED_FILL_BASE, PaperExecution
from engine.market.sim import SimMarket
from engine.models import (
    Action,
    Anchor,
    Book,
    Decision,
    Level,
    LiveOrder,
    MarketState,
    Side,
    SideDecision,
    TakerTrade,
)
from engine.settings import SimSettings

BIDS = (Level(2.1980, 100.0), Level(2.1970, 300.0))
ASKS = (Level(2.2020, 50.0), Level(2.2030, 100.0), Level(2.2040, 400.0))

SideSpec = tuple[Action, float | None, float | None]


def book(bids: tuple[Level, ...] = BIDS, asks: tuple[Level, ...] = ASKS) -> Book:
    return Book(bids, asks)


def market(ts: float = 0.0, b: Book | None = None, ledger: int = 100) -> MarketState:
    b = book() if b is None else b
    return MarketState(ledger, ts, b, None, ts, None)


def decision(
    buy: SideSpec = ("none", None, None), sell: SideSpec = ("none", None, None)
) -> Decision:
    anchor = Anchor("mid", 2.2, 2.2, None, None, "none", None, 10.0)
    return Decision(
        anchor,
        SideDecision("BUY", buy[1], buy[2], (), buy[0]),
        SideDecision("SELL", sell[1], sell[2], (), sell[0]),
    )


def paper(fee_bps: float = 0.0, ttl: float = 60.0, **kw: bool | None) -> PaperExecution:
    ex = PaperExecution(fee_bps, ttl, "t", **kw)
    ex.observe(market())
    return ex


def test_satisfies_the_execution_protocol() -> None:
    ex: Execution = paper()
    assert ex.live_orders() == {}


async def test_place_keep_replace_cancel() -> None:
    ex = paper()
    ups = await ex.execute(decision(("place", 2.19, 7.0), ("place", 2.21, 7.0)), 1.0, 101)
    assert [(u.kind, u.order.order_id, u.order.side) for u in ups] == [
        ("placed", "t-1", "BUY"),
        ("placed", "t-2", "SELL"),
    ]
    live = ex.live_orders()
    assert live["BUY"] == LiveOrder("t-1", "BUY", 2.19, 7.0, 1.0, original_size=7.0)
    assert live["SELL"].price == 2.21

    assert await ex.execute(decision(("keep", 2.19, 7.0), ("none", None, None)), 2.0, 102) == []
    assert ex.live_orders() == live

    ups = await ex.execute(decision(sell=("replace", 2.215, 8.0)), 3.0, 103)
    assert len(ups) == 1
    up = ups[0]
    assert (up.kind, up.replaced_order_id, up.order.order_id) == ("replaced", "t-2", "t-3")
    assert (up.order.price, up.order.size, up.order.placed_ts) == (2.215, 8.0, 3.0)
    assert ex.live_orders()["SELL"].order_id == "t-3"
    assert ex.live_orders()["BUY"] is live["BUY"]

    ups = await ex.execute(decision(buy=("cancel", None, None)), 4.0, 104)
    assert [(u.kind, u.order.order_id) for u in ups] == [("cancelled", "t-1")]
    assert set(ex.live_orders()) == {"SELL"}
    # cancel of a missing order does nothing
    assert await ex.execute(decision(buy=("cancel", None, None)), 5.0, 105) == []

    ups = await ex.cancel_all(6.0)
    assert [(u.kind, u.order.order_id, u.ts) for u in ups] == [("cancelled", "t-3", 6.0)]
    assert ex.live_orders() == {}


async def test_invalid_order_is_rejected() -> None:
    ex = paper()
    ups = await ex.execute(decision(buy=("place", None, 7.0), sell=("place", 2.21, 0.0)), 1.0, 1)
    assert [u.kind for u in ups] == ["rejected", "rejected"]
    assert ex.live_orders() == {}


async def test_live_orders_is_a_copy() -> None:
    ex = paper()
    await ex.execute(decision(buy=("place", 2.19, 7.0)), 1.0, 1)
    ex.live_orders().clear()
    assert "BUY" in ex.live_orders()


async def test_queue_ahead_blocks_then_partial_then_full_fill() -> None:
    ex = paper()
    await ex.execute(decision(sell=("place", 2.2030, 7.0)), 1.0, 1)
    assert ex.queue_ahead("SELL") == 100.0  # the level at our exact price

    # 50 better (2.2020) + 40 of the 100 ahead: nothing reaches us
    fills, ups = await ex.collect_fills(market(2.0), [TakerTrade("BUY", 2.2030, 90.0)])
    assert fills == [] and ups == []
    assert ex.queue_ahead("SELL") == pytest.approx(60.0)

    # a taker whose limit stops short of our price never fills us, however big
    fills, _ = await ex.collect_fills(market(3.0), [TakerTrade("BUY", 2.2025, 10_000.0)])
    assert fills == []

    # 50 better + the 60 still ahead + 3 for us: partial
    fills, ups = await ex.collect_fills(market(4.0), [TakerTrade("BUY", 2.2040, 113.0)])
    assert [(f.size, f.price, f.side, f.fill_key) for f in fills] == [
        (pytest.approx(3.0), 2.2030, "SELL", "t-1:1")
    ]
    assert [(u.kind, u.order.size) for u in ups] == [("partial", pytest.approx(4.0))]
    assert ex.live_orders()["SELL"].size == pytest.approx(4.0)
    assert ex.queue_ahead("SELL") == 0.0

    # the rest: 50 better, then us (4), then the remainder goes on past us
    fills, ups = await ex.collect_fills(market(5.0), [TakerTrade("BUY", 2.2040, 500.0)])
    assert [(f.size, f.fill_key) for f in fills] == [(pytest.approx(4.0), "t-1:2")]
    assert [(u.kind, u.order.size, u.order.original_size) for u in ups] == [("filled", 0.0, 7.0)]
    assert ex.live_orders() == {}


async def test_takers_in_one_tick_deplete_the_book_in_turn() -> None:
    ex = paper()
    await ex.execute(decision(sell=("place", 2.2025, 7.0)), 1.0, 1)  # between levels
    assert ex.queue_ahead("SELL") == 0.0
    trades = [TakerTrade("BUY", 2.2030, 30.0), TakerTrade("BUY", 2.2030, 25.0)]
    fills, _ = await ex.collect_fills(market(2.0), trades)
    # first eats 30 of the 50 better; second eats the other 20, then 5 of us
    assert [f.size for f in fills] == [pytest.approx(5.0)]


async def test_buy_side_is_symmetric() -> None:
    ex = paper()
    await ex.execute(decision(buy=("place", 2.1970, 7.0)), 1.0, 1)
    assert ex.queue_ahead("BUY") == 300.0
    sells_too_small = [TakerTrade("SELL", 2.1960, 390.0)]  # 100 better + 290 of the queue
    assert (await ex.collect_fills(market(2.0), sells_too_small))[0] == []
    # a taker BUY never touches our BUY
    assert (await ex.collect_fills(market(3.0), [TakerTrade("BUY", 9.0, 1e6)]))[0] == []
    fills, ups = await ex.collect_fills(market(4.0), [TakerTrade("SELL", 2.1970, 120.0)])
    assert [(f.side, f.price, f.size) for f in fills] == [("BUY", 2.1970, pytest.approx(7.0))]
    assert ups[0].kind == "filled"


async def test_queue_shrinks_when_the_level_shrinks() -> None:
    ex = paper()
    await ex.execute(decision(sell=("place", 2.2030, 7.0)), 1.0, 1)
    thinner = book(asks=(Level(2.2020, 50.0), Level(2.2030, 20.0)))
    await ex.collect_fills(market(2.0, thinner), [])
    assert ex.queue_ahead("SELL") == 20.0
    # size joining our level later is behind us
    await ex.collect_fills(market(3.0), [])
    assert ex.queue_ahead("SELL") == 20.0


async def test_fees_in_rlusd() -> None:
    ex = paper(fee_bps=2.5)
    await ex.execute(decision(buy=("place", 2.1990, 7.0)), 1.0, 1)
    fills, _ = await ex.collect_fills(market(2.0, ledger=555), [TakerTrade("SELL", 2.1, 500.0)])
    (f,) = fills
    assert f.fee_rlusd == pytest.approx(2.5 / 1e4 * 2.1990 * 7.0)
    assert (f.ts, f.ledger_index, f.order_id) == (2.0, 555, "t-1")


async def test_orders_expire_after_ttl() -> None:
    ex = paper(ttl=60.0)
    await ex.execute(decision(buy=("place", 2.1990, 7.0), sell=("place", 2.2010, 7.0)), 0.0, 1)
    fills, ups = await ex.collect_fills(market(59.9), [])
    assert ups == [] and len(ex.live_orders()) == 2
    huge = [TakerTrade("BUY", 3.0, 1e6), TakerTrade("SELL", 1.0, 1e6)]
    fills, ups = await ex.collect_fills(market(60.0), huge)
    assert fills == []
    assert [(u.kind, u.order.side) for u in ups] == [("expired", "BUY"), ("expired", "SELL")]
    assert ex.live_orders() == {}


async def test_execute_expires_first_so_replace_becomes_place() -> None:
    ex = paper(ttl=10.0)
    await ex.execute(decision(buy=("place", 2.1990, 7.0)), 0.0, 1)
    ups = await ex.execute(decision(buy=("replace", 2.1980, 7.0)), 10.0, 2)
    assert [(u.kind, u.order.order_id) for u in ups] == [("expired", "t-1"), ("placed", "t-2")]


async def test_trade_through_fills_when_no_trades() -> None:
    ex = paper()
    await ex.execute(decision(buy=("place", 2.1950, 7.0), sell=("place", 2.2050, 7.0)), 1.0, 1)
    # the book moves up through our SELL: best bid 2.2060 > 2.2050
    up = book(bids=(Level(2.2060, 10.0),), asks=(Level(2.2080, 10.0),))
    fills, ups = await ex.collect_fills(market(2.0, up), [])
    assert [(f.side, f.price, f.size, f.fill_key) for f in fills] == [
        ("SELL", 2.2050, 7.0, "t-2:1")
    ]
    assert [u.kind for u in ups] == ["filled"]
    # touching is not trading through
    touch = book(bids=(Level(2.1900, 10.0),), asks=(Level(2.1950, 10.0),))
    assert (await ex.collect_fills(market(3.0, touch), []))[0] == []
    down = book(bids=(Level(2.1900, 10.0),), asks=(Level(2.1940, 10.0),))
    fills, _ = await ex.collect_fills(market(4.0, down), [])
    assert [(f.side, f.price, f.size) for f in fills] == [("BUY", 2.1950, 7.0)]


async def test_trade_through_not_on_crossed_book_nor_with_trades_by_default() -> None:
    ex = paper()
    await ex.execute(decision(sell=("place", 2.2050, 7.0)), 1.0, 1)
    crossed = book(bids=(Level(2.2100, 10.0),), asks=(Level(2.2080, 10.0),))
    assert (await ex.collect_fills(market(2.0, crossed), []))[0] == []
    up = book(bids=(Level(2.2060, 10.0),), asks=(Level(2.2080, 10.0),))
    unrelated = [TakerTrade("SELL", 2.2060, 1.0)]
    assert (await ex.collect_fills(market(3.0, up), unrelated))[0] == []

    always = paper(trade_through=True)
    await always.execute(decision(sell=("place", 2.2050, 7.0)), 1.0, 1)
    assert len((await always.collect_fills(market(3.0, up), unrelated))[0]) == 1

    never = paper(trade_through=False)
    await never.execute(decision(sell=("place", 2.2050, 7.0)), 1.0, 1)
    assert (await never.collect_fills(market(3.0, up), []))[0] == []


async def test_restore_reloads_orders_and_continues_ids_and_fill_keys() -> None:
    ex = PaperExecution(0.0, 60.0, "t")
    resting = [
        LiveOrder("t-7", "SELL", 2.2030, 4.0, 0.0, original_size=7.0),
        LiveOrder("t-5", "BUY", 2.1970, 7.0, 0.0, original_size=7.0),
    ]
    ex.restore(resting, fill_counts={"t-7": 2})
    assert ex.live_orders() == {"SELL": resting[0], "BUY": resting[1]}
    assert ex.queue_ahead("SELL") is None  # unknown until a book is seen
    fills, _ = await ex.collect_fills(market(1.0), [TakerTrade("BUY", 2.2030, 150.0)])
    assert fills == []  # conservatively behind the whole level (50 better + 100 ahead)
    fills, _ = await ex.collect_fills(market(2.0), [TakerTrade("BUY", 2.2030, 51.0)])
    assert [(f.fill_key, f.size) for f in fills] == [("t-7:3", pytest.approx(1.0))]
    ups = await ex.execute(decision(buy=("replace", 2.1960, 7.0)), 3.0, 3)
    assert ups[0].order.order_id == "t-8" and ups[0].replaced_order_id == "t-5"

    with pytest.raises(ValueError):
        ex.restore([resting[0], resting[0]])


async def test_restore_without_counts_cannot_collide() -> None:
    ex = PaperExecution(0.0, 60.0, "t")
    ex.restore([LiveOrder("t-3", "BUY", 2.1990, 4.0, 0.0, original_size=7.0)])
    fills, _ = await ex.collect_fills(market(1.0), [TakerTrade("SELL", 2.1, 500.0)])
    assert fills[0].fill_key == f"t-3:{RESTORED_FILL_BASE + 1}"


def _quote(mid: float | None, live: dict[Side, LiveOrder]) -> Decision:
    specs: list[SideSpec] = []
    for side, sign in (("BUY", -1.0), ("SELL", 1.0)):
        if mid is None:
            specs.append(("cancel", None, None))
        else:
            action: Action = "replace" if side in live else "place"
            specs.append((action, mid * (1.0 + sign * 12.0 / 1e4), 7.0))
    return decision(specs[0], specs[1])


async def test_sim_loop_fills_both_sides() -> None:
    """10,000 sim ledgers quoting mid -/+ 12 bps with 7 XRP: regular fills both ways."""
    sim = SimMarket(SimSettings())
    ex = PaperExecution(1.0, 60.0, "loop")
    keys: set[str] = set()
    count = {"BUY": 0, "SELL": 0}
    for _ in range(10_000):
        m, trades = sim.step()
        ex.observe(m)
        fills, ups = await ex.collect_fills(m, trades)
        for f in fills:
            assert f.fill_key not in keys
            keys.add(f.fill_key)
            count[f.side] += 1
            assert 0 < f.size <= 7.0 + 1e-9
        assert len(fills) <= 2 * (len(trades) + 1)
        mid = m.book.mid if m.book is not None and not m.book.crossed else None
        await ex.execute(_quote(mid, ex.live_orders()), m.ts, m.ledger_index)
    assert 200 <= count["BUY"] <= 2_000, count
    assert 200 <= count["SELL"] <= 2_000, count
