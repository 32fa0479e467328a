"""LiveExecution against FakeRippled: autofill, local signing, submit, tx lookup, fills.

The wallet is a throwaway `Wallet.create()`; the fake checks every signature, so a
transaction only counts as submitted if it was really signed by that key.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from xrpl.asyncio.clients import AsyncWebsocketClient
from xrpl.models.requests import Subscribe, Tx
from xrpl.utils import posix_to_ripple_time
from xrpl.wallet import Wallet

from engine.execution.base import Execution
from engine.execution.live import LiveExecution, wallet_from_secret
from engine.market.xrpl import XrplMarket
from engine.models import (
    Anchor,
    Decision,
    LiveOrder,
    MarketState,
    OrderUpdate,
    SideDecision,
)
from engine.settings import MarketSettings
from tests.fake_rippled import RLUSD_CURRENCY, RLUSD_ISSUER, FakeRippled

TTL = 60
TF_PASSIVE = 0x00010000


def decision(buy: tuple[str, float | None] = ("none", None),
             sell: tuple[str, float | None] = ("none", None), size: float = 10.0) -> Decision:
    anchor = Anchor("mid", 2.2, 2.2, None, None, "none", None, 10.0)
    return Decision(
        anchor,
        SideDecision("BUY", buy[1], size if buy[1] else None, (), buy[0]),  # type: ignore[arg-type]
        SideDecision("SELL", sell[1], size if sell[1] else None, (), sell[0]),  # type: ignore[arg-type]
    )


def seq(order: LiveOrder) -> int:
    assert order.sequence is not None
    return order.sequence


def state(ledger: int = 0) -> MarketState:
    return MarketState(ledger, time.time(), None, None, None, None)


@pytest.fixture
async def srv() -> AsyncIterator[FakeRippled]:
    async with FakeRippled(ledger_interval=None) as server:
        yield server


@pytest.fixture
def wallet() -> Wallet:
    return Wallet.create()


@pytest.fixture
async def live(srv: FakeRippled, wallet: Wallet) -> AsyncIterator[LiveExecution]:
    ex = LiveExecution(srv.url, wallet, MarketSettings(mode="live", node=srv.url), TTL, "s1",
                       request_timeout=2.0)
    yield ex
    await ex.aclose()


def only(updates: list[OrderUpdate], kind: str) -> OrderUpdate:
    assert [u.kind for u in updates] == [kind], updates
    return updates[0]


async def test_satisfies_the_execution_protocol(live: LiveExecution) -> None:
    ex: Execution = live
    assert ex.live_orders() == {}


async def test_place_replace_cancel_go_through_autofill_sign_submit(
    srv: FakeRippled, wallet: Wallet, live: LiveExecution
) -> None:
    now = time.time()
    placed = await live.execute(decision(buy=("place", 2.19), sell=("place", 2.21)), now,
                                srv.validated_index)
    assert [u.kind for u in placed] == ["placed", "placed"]
    buy, sell = placed[0].order, placed[1].order
    assert buy.sequence == srv.default_sequence and sell.sequence == srv.default_sequence + 1
    assert live.live_orders() == {"BUY": buy, "SELL": sell}

    create_buy, create_sell = srv.submitted
    for tx in (create_buy, create_sell):
        assert tx["TransactionType"] == "OfferCreate" and tx["Account"] == wallet.address
        assert tx["Flags"] & TF_PASSIVE
        assert abs(tx["Expiration"] - (posix_to_ripple_time(int(now)) + TTL)) <= 2
        assert int(tx["Fee"]) == 10 and tx["LastLedgerSequence"] > srv.validated_index
        assert "OfferSequence" not in tx
    rlusd = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_ISSUER}
    # SELL gives XRP (drops) for RLUSD; BUY gives RLUSD for XRP.
    assert create_sell["TakerGets"] == "10000000"
    assert create_sell["TakerPays"] == {**rlusd, "value": "22.1"}
    assert create_buy["TakerGets"] == {**rlusd, "value": "21.9"}
    assert create_buy["TakerPays"] == "10000000"

    await srv.close_ledger()
    replaced = only(await live.execute(decision(buy=("replace", 2.185), sell=("keep", 2.21)),
                                       time.time(), srv.validated_index), "replaced")
    assert replaced.replaced_order_id == buy.order_id
    assert srv.submitted[-1]["OfferSequence"] == buy.sequence
    assert srv.submitted[-1]["TakerGets"]["value"] == "21.85"
    assert [o.sequence for o in srv.offers_of(wallet.address)] == [
        sell.sequence, replaced.order.sequence]

    cancelled = only(await live.execute(decision(sell=("cancel", None)), time.time(),
                                        srv.validated_index), "cancelled")
    assert cancelled.order == sell
    assert srv.submitted[-1]["TransactionType"] == "OfferCancel"
    assert srv.submitted[-1]["OfferSequence"] == sell.sequence
    assert set(live.live_orders()) == {"BUY"}
    await srv.close_ledger()

    # Every submit is on the ledger: look the replace up with the tx method.
    tx_hash = replaced.detail.split()[1]
    client = AsyncWebsocketClient(srv.url)
    await client.open()
    try:
        answer = await client.request(Tx(transaction=tx_hash))
    finally:
        await client.close()
    assert answer.is_successful() and answer.result["validated"] is True
    kinds = [next(iter(n)) for n in answer.result["meta"]["AffectedNodes"]]
    assert "CreatedNode" in kinds and "DeletedNode" in kinds  # atomic replace

    assert [u.kind for u in await live.cancel_all(time.time())] == ["cancelled"]
    assert live.live_orders() == {} and srv.offers_of(wallet.address) == []


async def test_injected_fills_show_up_once(srv: FakeRippled, live: LiveExecution) -> None:
    placed = await live.execute(decision(buy=("place", 2.19), sell=("place", 2.21)),
                                time.time(), srv.validated_index)
    sell = placed[1].order
    await srv.close_ledger()
    assert await live.collect_fills(state(), []) == ([], [])

    partial_hash = srv.fill_offer(seq(sell), 0.25)
    await srv.close_ledger()
    fills, updates = await live.collect_fills(state(), [])
    assert len(fills) == 1
    fill = fills[0]
    assert fill.fill_key == f"{partial_hash}:{sell.sequence}"
    assert (fill.order_id, fill.side, fill.price, fill.size) == (sell.order_id, "SELL", 2.21, 2.5)
    assert fill.ledger_index == srv.validated_index and fill.fee_rlusd == 0.0
    assert only(updates, "partial").order.size == pytest.approx(7.5)
    assert live.live_orders()["SELL"].size == pytest.approx(7.5)

    # Replays: the same ledger range polled again, and the same tx fed by hand in
    # both the v2 stream shape and the tx-method shape.
    assert await live.collect_fills(state(), []) == ([], [])
    stored = srv.stored_tx(partial_hash)
    assert stored is not None
    assert await live.ingest_transaction(stored) == 0
    assert await live.ingest_transaction({**stored, "type": "transaction"}) == 0
    assert await live.collect_fills(state(), []) == ([], [])

    full_hash = srv.fill_offer(seq(sell), 1.0)
    await srv.close_ledger()
    fills, updates = await live.collect_fills(state(), [])
    assert [(f.fill_key, f.size) for f in fills] == [(f"{full_hash}:{sell.sequence}",
                                                     pytest.approx(7.5))]
    assert only(updates, "filled").order.size == 0.0
    assert set(live.live_orders()) == {"BUY"}

    buy = placed[0].order
    buy_hash = srv.fill_offer(seq(buy), 0.5)
    await srv.close_ledger()
    fills, _ = await live.collect_fills(state(), [])
    assert [(f.fill_key, f.side, f.size, f.price) for f in fills] == [
        (f"{buy_hash}:{buy.sequence}", "BUY", 5.0, 2.19)]


async def test_fills_from_an_accounts_subscription_are_deduplicated_with_polling(
    srv: FakeRippled, wallet: Wallet, live: LiveExecution
) -> None:
    placed = await live.execute(decision(sell=("place", 2.21)), time.time(), srv.validated_index)
    sell = placed[0].order
    client = AsyncWebsocketClient(srv.url)
    await client.open()
    try:
        await client.request(Subscribe(accounts=[wallet.address]))
        await srv.close_ledger()
        tx_hash = srv.fill_offer(seq(sell), 0.5)
        await srv.close_ledger()
        await srv.replay_transaction(tx_hash)  # a duplicate delivery
        deliveries = fed = 0
        async with asyncio.timeout(2.0):
            async for message in client:
                if message.get("type") == "transaction" and message.get("hash") == tx_hash:
                    deliveries += 1
                    fed += await live.ingest_transaction(message)
                    if deliveries == 2:
                        break
    finally:
        await client.close()
    assert deliveries == 2 and fed == 1
    fills, _ = await live.collect_fills(state(), [])  # account_tx sees it too
    assert [f.fill_key for f in fills] == [f"{tx_hash}:{sell.sequence}"]


async def test_immediate_cross_and_ledger_removal(srv: FakeRippled, live: LiveExecution) -> None:
    srv.cross_next(0.4)
    placed = only(await live.execute(decision(buy=("place", 2.19)), time.time(),
                                     srv.validated_index), "placed")
    await srv.close_ledger()
    fills, updates = await live.collect_fills(state(), [])
    tx_hash = placed.detail.split()[1]
    assert [(f.fill_key, f.size) for f in fills] == [(f"{tx_hash}:{placed.order.sequence}",
                                                     pytest.approx(4.0))]
    assert only(updates, "partial").order.size == pytest.approx(6.0)

    srv.remove_offer(seq(placed.order))  # someone's crossing finds it expired
    await srv.close_ledger()
    fills, updates = await live.collect_fills(state(), [])
    assert fills == [] and only(updates, "expired").order.order_id == placed.order.order_id
    assert live.live_orders() == {}


async def test_orders_expire_locally_after_the_ttl(srv: FakeRippled, wallet: Wallet) -> None:
    clock = [time.time()]
    ex = LiveExecution(srv.url, wallet, MarketSettings(node=srv.url), TTL, "s2",
                       clock=lambda: clock[0])
    try:
        only(await ex.execute(decision(sell=("place", 2.21)), clock[0], srv.validated_index),
             "placed")
        clock[0] += TTL - 5
        assert await ex.collect_fills(state(), []) == ([], [])
        clock[0] += 10
        _, updates = await ex.collect_fills(state(), [])
        assert only(updates, "expired").order.side == "SELL"
        assert ex.live_orders() == {}
    finally:
        await ex.aclose()


@pytest.mark.parametrize("result", ["tecUNFUNDED_OFFER", "telINSUF_FEE_P"])
async def test_rejections_become_updates_and_sequences_recover(
    srv: FakeRippled, live: LiveExecution, result: str
) -> None:
    srv.reject_next(result)
    rejected = only(await live.execute(decision(sell=("place", 2.21)), time.time(),
                                       srv.validated_index), "rejected")
    assert rejected.detail == result and live.live_orders() == {}
    placed = only(await live.execute(decision(sell=("place", 2.21)), time.time(),
                                     srv.validated_index), "placed")
    # tec consumed a sequence, tel did not
    assert placed.order.sequence == srv.default_sequence + (1 if result.startswith("tec") else 0)
    srv.reject_next("tecUNFUNDED_OFFER")
    bad_replace = only(await live.execute(decision(sell=("replace", 2.22)), time.time(),
                                          srv.validated_index), "rejected")
    assert bad_replace.detail == "tecUNFUNDED_OFFER"
    assert live.live_orders()["SELL"] == placed.order  # the old offer is untouched
    srv.reject_next("tefPAST_SEQ")
    assert only(await live.cancel_all(time.time()), "rejected").detail == "tefPAST_SEQ"
    assert only(await live.cancel_all(time.time()), "cancelled").order == placed.order


async def test_unreachable_node_rejects_and_never_raises(wallet: Wallet) -> None:
    async with FakeRippled(ledger_interval=None) as gone:
        url = gone.url
    ex = LiveExecution(url, wallet, MarketSettings(node=url), TTL, "s3", request_timeout=0.5)
    updates = await ex.execute(decision(buy=("place", 2.19), sell=("place", 2.21)),
                               time.time(), 0)
    assert [u.kind for u in updates] == ["rejected", "rejected"]
    assert all(u.detail.startswith("submit failed") for u in updates)
    assert await ex.collect_fills(state(), []) == ([], [])
    assert await ex.cancel_all(time.time()) == []
    assert await ex.ingest_transaction({"validated": True, "garbage": 1}) == 0
    await ex.aclose()


async def test_market_excludes_our_own_offers(srv: FakeRippled, live: LiveExecution) -> None:
    only(await live.execute(decision(sell=("place", 2.2005)), time.time(), srv.validated_index),
         "placed")
    settings = MarketSettings(mode="live", node=srv.url)
    mine = XrplMarket(settings, own_account=live.address, request_timeout=1.0)
    everyone = XrplMarket(settings, request_timeout=1.0)
    for m in (mine, everyone):
        await m.start()
    try:
        await srv.close_ledger()
        with_ours, without = await everyone.next_state(2.0), await mine.next_state(2.0)
    finally:
        for m in (mine, everyone):
            await m.stop()
    assert with_ours.book is not None and with_ours.book.best_ask == pytest.approx(2.2005)
    assert without.book is not None and without.book.best_ask == pytest.approx(2.2011)


async def test_canary_seed_never_leaks(
    srv: FakeRippled, caplog: pytest.LogCaptureFixture
) -> None:
    canary = Wallet.create().seed
    assert canary is not None
    caplog.set_level(logging.DEBUG)
    wallet = wallet_from_secret(SecretStr(canary))
    assert wallet.seed is None  # only the key pair is kept
    texts: list[str] = [repr(wallet), str(wallet)]
    ex = LiveExecution(srv.url, wallet, MarketSettings(node=srv.url), TTL, "s4")
    texts.append(repr(ex))
    updates = await ex.execute(decision(buy=("place", 2.19), sell=("place", 2.21)),
                               time.time(), srv.validated_index)
    srv.reject_next("tecUNFUNDED_OFFER")
    updates += await ex.execute(decision(buy=("replace", 2.18)), time.time(),
                                srv.validated_index)
    await srv.close_ledger()
    srv.fill_offer(seq(updates[1].order), 0.5)
    await srv.close_ledger()
    fills, more = await ex.collect_fills(state(), [])
    updates += more + await ex.cancel_all(time.time())
    await ex.aclose()
    texts += [repr(u) for u in updates] + [repr(f) for f in fills]

    bad = "sCANARYnotAvalidSeed0123456789"
    with pytest.raises(ValueError) as err:
        wallet_from_secret(SecretStr(bad))
    assert err.value.__context__ is None and err.value.__cause__ is None
    texts += [str(err.value), repr(err.value), "".join(traceback.format_exception(err.value))]

    assert fills and any(u.kind == "rejected" for u in updates)
    for secret in (canary, bad):
        assert secret not in caplog.text
        assert all(secret not in t for t in texts)
        assert all(secret not in raw for raw in srv.raw_received)
