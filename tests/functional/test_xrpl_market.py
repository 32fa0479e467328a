"""XrplMarket with the real xrpl-py client against FakeRippled on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.market.xrpl import XrplMarket
from engine.models import Level, MarketState
from engine.settings import MarketSettings
from tests.fake_rippled import FakeRippled

LEDGER_S = 0.1


def market(srv: FakeRippled, **kwargs: Any) -> XrplMarket:
    options: dict[str, Any] = {"request_timeout": 1.0, "reconnect_max_s": 0.4}
    options.update(kwargs)
    return XrplMarket(MarketSettings(mode="paper", node=srv.url), **options)


@pytest.fixture
async def srv() -> AsyncIterator[FakeRippled]:
    async with FakeRippled(ledger_interval=LEDGER_S) as server:
        yield server


async def states(m: XrplMarket, n: int, timeout: float = 2.0) -> list[MarketState]:
    return [await m.next_state(timeout) for _ in range(n)]


async def until(
    m: XrplMarket, cond: Callable[[MarketState], bool], timeout: float = 3.0
) -> MarketState:
    """The first state satisfying cond within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await m.next_state(0.5)
        if cond(state):
            return state
    raise AssertionError("condition not reached")


def assert_levels(levels: tuple[Level, ...], expected: list[tuple[float, float]]) -> None:
    assert [(lv.price, lv.size) for lv in levels] == pytest.approx(expected, rel=1e-12)


async def test_states_across_ledgers_carry_a_sane_book_and_amm(srv: FakeRippled) -> None:
    m = market(srv)
    await m.start()
    try:
        seen = await states(m, 4)
    finally:
        await m.stop()
    indexes = [s.ledger_index for s in seen]
    assert indexes == sorted(set(indexes)) and indexes[0] >= srv.start_ledger
    for s in seen:
        assert s.connected and s.book is not None and s.amm is not None
        assert s.book_ts == s.amm_ts == pytest.approx(s.ts, abs=0.5)
        assert s.book.best_bid is not None and s.book.best_ask is not None
        assert s.book.best_bid < 2.2 < s.book.best_ask and not s.book.crossed
        # Every level as the fake meant it: partially funded offer counted at its
        # funded size, the unfunded one left out, two offers at one price aggregated.
        assert_levels(s.book.asks, srv.expected_levels("asks"))
        assert_levels(s.book.bids, srv.expected_levels("bids"))
        assert s.amm.price == pytest.approx(2.2)
        assert s.amm.trading_fee == 500
    assert m.drain_warnings() == []


async def test_book_depth_and_changes_between_ledgers(srv: FakeRippled) -> None:
    m = market(srv, book_depth=3)
    await m.start()
    try:
        first = await m.next_state(2.0)
        assert first.book is not None and len(first.book.asks) == 3 == len(first.book.bids)
        srv.set_mid(2.5)
        srv.set_amm(1_000.0, 2_600.0, trading_fee=300)
        later = await until(m, lambda s: s.book is not None and s.book.mid is not None
                            and s.book.mid > 2.4)
    finally:
        await m.stop()
    assert later.book is not None and later.book.mid == pytest.approx(2.5, rel=1e-3)
    assert later.amm is not None and later.amm.price == pytest.approx(2.6)
    assert later.amm.trading_fee == 300


async def test_drop_connections_reports_disconnected_then_recovers(srv: FakeRippled) -> None:
    m = market(srv)
    await m.start()
    try:
        good = await m.next_state(2.0)
        assert good.connected and good.book is not None
        srv.drop_connections()
        t0 = time.monotonic()
        down = await m.next_state(2.0)
        assert time.monotonic() - t0 < 1.0  # reported at once, not after the timeout
        assert not down.connected
        assert down.book is None and down.amm is None
        assert down.book_ts == good.book_ts and down.amm_ts == good.amm_ts
        back = await until(m, lambda s: s.connected and s.book is not None)
        assert back.ledger_index > good.ledger_index
        assert back.book_ts is not None and good.book_ts is not None
        assert back.book_ts > good.book_ts
        assert m.reconnects == 1
    finally:
        await m.stop()
    assert any("lost connection" in w for w in m.drain_warnings())


async def test_node_down_backs_off_and_recovers_when_it_returns(srv: FakeRippled) -> None:
    m = market(srv, reconnect_max_s=0.2)
    await m.start()
    try:
        await m.next_state(2.0)
        srv.set_accepting(False)
        srv.drop_connections()
        before = srv.connections_total
        t0 = time.monotonic()
        for _ in range(3):
            s = await m.next_state(0.3)
            assert not s.connected and s.book is None
            assert s.ledger_index > 0  # the last ledger seen is kept
        elapsed = time.monotonic() - t0
        assert elapsed < 3.0
        assert srv.connections_total == before  # refused handshakes never connect
        srv.set_accepting(True)
        back = await until(m, lambda s: s.connected and s.book is not None)
        assert back.amm is not None
    finally:
        await m.stop()
    warnings = m.drain_warnings()
    assert any("cannot reach" in w for w in warnings)
    assert len(warnings) < 10  # the same failure is not repeated on every attempt


async def test_stall_returns_stale_states_with_old_timestamps(srv: FakeRippled) -> None:
    m = market(srv)
    await m.start()
    try:
        fresh = await m.next_state(2.0)
        srv.stall(1.0)
        stale = await states(m, 2, timeout=0.3)
        for s in stale:
            assert s.connected  # nothing says the socket is gone
            assert s.book_ts == fresh.book_ts and s.amm_ts == fresh.amm_ts
            assert fresh.book_ts is not None and s.ts - fresh.book_ts >= 0.25
            assert s.ledger_index <= fresh.ledger_index + 1
            assert s.book is not None  # the previous view, marked old by its timestamp
        again = await until(m, lambda s: s.book_ts is not None and fresh.book_ts is not None
                            and s.book_ts > fresh.book_ts)
        assert again.connected
    finally:
        await m.stop()


@pytest.mark.parametrize(
    "kind",
    ["text", "missing_fields", "unknown_type", "array", "bad_ledger_index", "orphan_response",
     "number"],
)
async def test_malformed_messages_never_raise(srv: FakeRippled, kind: str) -> None:
    m = market(srv)
    await m.start()
    try:
        first = await m.next_state(2.0)
        await srv.send_malformed(kind)  # type: ignore[arg-type]
        later = await until(m, lambda s: s.connected and s.ledger_index > first.ledger_index + 1)
        assert later.book is not None
    finally:
        await m.stop()
    warnings = m.drain_warnings()
    if kind in ("missing_fields", "unknown_type", "array", "bad_ledger_index"):
        assert warnings, kind
    if kind == "number":  # kills xrpl-py's reader: seen as a lost connection
        assert m.reconnects == 1


async def test_book_in_another_currency_is_rejected() -> None:
    async with FakeRippled(ledger_interval=LEDGER_S) as srv:
        srv.serve_asset("USD", "rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B")
        m = market(srv)
        await m.start()
        try:
            s = await m.next_state(2.0)
            assert s.connected and s.book is None and s.amm is None
            assert s.book_ts is None and s.amm_ts is None
            # the node comes back to its senses
            srv.serve_asset("524C555344000000000000000000000000000000",
                            "rMxCKbEDwqr76QuheSUMdEGf4B9xJ8m5De")
            ok = await until(m, lambda st: st.book is not None)
            assert ok.amm is not None
        finally:
            await m.stop()
        warnings = m.drain_warnings()
        assert any("another currency or issuer" in w for w in warnings)
        assert any("amm_info" in w and "currency" in w for w in warnings)


async def test_crossed_book_is_passed_on_with_a_warning() -> None:
    async with FakeRippled(ledger_interval=LEDGER_S, book_mode="crossed") as srv:
        m = market(srv)
        await m.start()
        try:
            s = await m.next_state(2.0)
        finally:
            await m.stop()
    assert s.book is not None and s.book.crossed  # the strategy gates it (book_invalid)
    assert any("crossed" in w for w in m.drain_warnings())


async def test_zero_or_missing_amm_gives_no_pool_and_keeps_the_book() -> None:
    async with FakeRippled(ledger_interval=LEDGER_S, amm=(0, 0)) as srv:
        m = market(srv)
        await m.start()
        try:
            s = await m.next_state(2.0)
            assert s.amm is None and s.amm_ts is None and s.book is not None
            srv.set_amm(100.0, 220.0)
            ok = await until(m, lambda st: st.amm is not None)
            srv.remove_amm()
            gone = await until(m, lambda st: st.amm is None)
        finally:
            await m.stop()
    assert gone.amm_ts == ok.amm_ts  # the last good read, so staleness can be judged
    warnings = m.drain_warnings()
    assert any("non-positive reserves" in w for w in warnings)
    assert any("no XRP/RLUSD AMM" in w for w in warnings)


async def test_garbage_offers_are_skipped_and_the_rest_used() -> None:
    async with FakeRippled(ledger_interval=LEDGER_S, book_mode="garbage") as srv:
        m = market(srv, book_depth=50)
        await m.start()
        try:
            s = await m.next_state(2.0)
        finally:
            await m.stop()
        assert s.book is not None
        assert_levels(s.book.asks, srv.expected_levels("asks"))
        assert_levels(s.book.bids, srv.expected_levels("bids"))
    assert any("skipped 3 of" in w for w in m.drain_warnings())


async def test_unreachable_node_never_raises() -> None:
    async with FakeRippled(ledger_interval=None) as srv:
        url = srv.url
    m = XrplMarket(MarketSettings(mode="paper", node=url), request_timeout=0.5,
                   reconnect_max_s=0.2)
    await m.start()
    try:
        s = await m.next_state(0.3)
        assert not s.connected and s.book is None and s.ledger_index == 0
        assert s.book_ts is None
    finally:
        await m.stop()
    assert m.drain_warnings()
    assert m.drain_warnings() == []  # drained


async def test_next_state_before_start_and_after_stop_is_harmless(srv: FakeRippled) -> None:
    m = market(srv)
    s = await m.next_state(0.05)
    assert not s.connected
    await m.start()
    await m.next_state(2.0)
    await m.stop()
    await m.stop()
    s = await m.next_state(0.05)
    assert not s.connected
    await asyncio.sleep(0)
