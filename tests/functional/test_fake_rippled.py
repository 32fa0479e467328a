"""FakeRippled answers like rippled: envelopes, errors, streams and faults.

Spoken to with a bare `websockets` client so that what is checked is the wire format,
compared with the real-format fixtures it was built from.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.fake_rippled import RLUSD_CURRENCY, RLUSD_ISSUER, FakeRippled

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "rippled"
XRP = {"currency": "XRP"}
RLUSD = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_ISSUER}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
async def srv() -> AsyncIterator[FakeRippled]:
    async with FakeRippled(ledger_interval=0.05) as server:
        yield server


async def ask(ws: ClientConnection, request: dict[str, Any]) -> dict[str, Any]:
    """Send one request and return its response, skipping stream messages."""
    await ws.send(json.dumps(request))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 2.0))
        if msg.get("type") == "response":
            return dict(msg)


async def test_responses_echo_the_id_and_carry_the_envelope(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        for rid in (7, "example_tx_hash", {"nested": True}):
            reply = await ask(ws, {"id": rid, "command": "server_info"})
            assert reply["id"] == rid
            assert reply["status"] == "success" and reply["type"] == "response"
            assert reply["api_version"] == 2
        info = reply["result"]["info"]
        assert set(fixture("server_info_response.json")["result"]["info"]) <= set(info)
        assert info["validated_ledger"]["seq"] == srv.validated_index


async def test_unknown_command_has_rippleds_error_shape(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        request = {"id": 3, "command": "no_such_method", "x": 1}
        reply = await ask(ws, request)
        assert reply == {
            "id": 3,
            "status": "error",
            "type": "response",
            "error": "unknownCmd",
            "error_code": 32,
            "error_message": "Unknown method.",
            "request": request,
            "api_version": 2,
        }
        missing = await ask(ws, {"id": 4})
        assert missing["error"] == "missingCommand" and missing["id"] == 4
        # tx for an unknown hash: the fields of tx_not_found_error.json
        tx = await ask(ws, {"id": 5, "command": "tx", "transaction": "AB" * 32})
        expected = fixture("tx_not_found_error.json")
        assert {k: tx[k] for k in ("error", "error_code", "error_message", "status", "type")} == {
            k: expected[k] for k in ("error", "error_code", "error_message", "status", "type")
        }
        assert tx["request"]["transaction"] == "AB" * 32


async def test_ledger_stream_closes_ledgers_in_order(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        reply = await ask(ws, {"id": 1, "command": "subscribe", "streams": ["ledger"]})
        first = reply["result"]["ledger_index"]
        assert set(fixture("subscribe_ledger_response.json")["result"]) <= set(reply["result"])
        seen: list[int] = []
        while len(seen) < 3:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 2.0))
            assert set(fixture("ledger_stream.json")) <= set(msg)
            assert msg["type"] == "ledgerClosed"
            seen.append(msg["ledger_index"])
        assert seen == list(range(seen[0], seen[0] + 3)) and seen[0] > first - 1
        await ask(ws, {"id": 2, "command": "unsubscribe", "streams": ["ledger"]})
        await asyncio.sleep(0.15)
        with pytest.raises(TimeoutError):  # no more ledgerClosed once unsubscribed
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 0.15))
                assert msg["type"] == "response"


async def test_book_offers_both_sides_and_amm_info(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        asks = await ask(ws, {"id": 1, "command": "book_offers", "taker_gets": XRP,
                              "taker_pays": RLUSD, "limit": 50})
        bids = await ask(ws, {"id": 2, "command": "book_offers", "taker_gets": RLUSD,
                              "taker_pays": XRP, "limit": 50})
        tpl = set(fixture("book_offers_response.json")["result"]["offers"][0])
        for offer in asks["result"]["offers"] + bids["result"]["offers"]:
            assert tpl <= set(offer)
        ask0, bid0 = asks["result"]["offers"][0], bids["result"]["offers"][0]
        assert isinstance(ask0["TakerGets"], str)
        assert ask0["TakerPays"]["currency"] == RLUSD_CURRENCY
        assert isinstance(bid0["TakerPays"], str) and bid0["TakerGets"]["issuer"] == RLUSD_ISSUER
        best_ask = float(ask0["TakerPays"]["value"]) / (int(ask0["TakerGets"]) / 1e6)
        best_bid = float(bid0["TakerGets"]["value"]) / (int(bid0["TakerPays"]) / 1e6)
        assert best_bid < 2.2 < best_ask
        funded = [o for o in asks["result"]["offers"] if "taker_gets_funded" in o]
        assert any(o["taker_gets_funded"] == "0" for o in funded)
        assert any(int(o["taker_gets_funded"]) > 0 for o in funded)
        limited = await ask(ws, {"id": 3, "command": "book_offers", "taker_gets": XRP,
                                 "taker_pays": RLUSD, "limit": 2})
        assert len(limited["result"]["offers"]) == 2
        other = await ask(ws, {"id": 4, "command": "book_offers", "taker_gets": XRP,
                               "taker_pays": {"currency": "USD", "issuer": RLUSD_ISSUER}})
        assert other["result"]["offers"] == []

        amm = await ask(ws, {"id": 5, "command": "amm_info", "asset": XRP, "asset2": RLUSD})
        pool = amm["result"]["amm"]
        assert set(fixture("amm_info_response.json")["result"]["amm"]) <= set(pool)
        assert pool["amount"] == "1000000000000" and pool["amount2"]["value"] == "2200000"
        assert pool["trading_fee"] == 500
        srv.remove_amm()
        gone = await ask(ws, {"id": 6, "command": "amm_info", "asset": XRP, "asset2": RLUSD})
        assert gone["error"] == "actNotFound" and gone["error_code"] == 19


async def test_set_mid_and_set_amm_change_later_answers(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        srv.set_mid(3.0)
        srv.set_amm(10.0, 31.0)
        asks = await ask(ws, {"id": 1, "command": "book_offers", "taker_gets": XRP,
                              "taker_pays": RLUSD})
        o = asks["result"]["offers"][0]
        assert float(o["TakerPays"]["value"]) / (int(o["TakerGets"]) / 1e6) == pytest.approx(
            3.0015)
        amm = await ask(ws, {"id": 2, "command": "amm_info", "asset": XRP, "asset2": RLUSD})
        assert amm["result"]["amm"]["amount"] == "10000000"


async def test_account_ledger_and_fee_answers_for_autofill(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        info = await ask(ws, {"id": 1, "command": "account_info",
                              "account": "rM3X3QSr8icjTGpaF52dozhbT2BZSXJQYM",
                              "ledger_index": "current"})
        assert info["result"]["account_data"]["Sequence"] == srv.default_sequence
        assert info["result"]["ledger_current_index"] == srv.current_index
        fee = await ask(ws, {"id": 2, "command": "fee"})
        assert fee["result"]["drops"] == fixture("fee_response.json")["result"]["drops"]
        validated = await ask(ws, {"id": 3, "command": "ledger", "ledger_index": "validated"})
        assert validated["result"]["ledger_index"] == srv.validated_index
        assert validated["result"]["validated"] is True
        current = await ask(ws, {"id": 4, "command": "ledger", "ledger_index": "current"})
        assert current["result"]["ledger_current_index"] == srv.current_index
        assert current["result"]["ledger"]["closed"] is False
        bad = await ask(ws, {"id": 5, "command": "submit", "tx_blob": "DEADBEEF"})
        assert bad["status"] == "error" and bad["error"] == "invalidTransaction"


async def test_stall_delays_answers_and_ledgers() -> None:
    async with FakeRippled(ledger_interval=0.05) as srv, connect(srv.url) as ws:
        await ask(ws, {"id": 1, "command": "subscribe", "streams": ["ledger"]})
        srv.stall(0.4)
        before = srv.validated_index
        await ws.send(json.dumps({"id": 2, "command": "fee"}))
        with pytest.raises(TimeoutError):
            while True:  # neither the answer nor a ledger arrives during the stall
                json.loads(await asyncio.wait_for(ws.recv(), 0.25))
        assert srv.validated_index == before
        reply = await ask(ws, {"id": 3, "command": "fee"})  # answered once it ends
        assert reply["id"] in (2, 3)


async def test_drop_connections_and_refuse_new_ones(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        await ask(ws, {"id": 1, "command": "ping"})
        assert srv.drop_connections() == 1
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 2.0)
    srv.set_accepting(False)
    with pytest.raises(InvalidStatus):
        async with connect(srv.url):
            pass
    srv.set_accepting(True)
    async with connect(srv.url) as ws:
        assert (await ask(ws, {"id": 2, "command": "ping"}))["status"] == "success"


async def test_send_malformed_pushes_bad_frames(srv: FakeRippled) -> None:
    async with connect(srv.url) as ws:
        await ask(ws, {"id": 1, "command": "ping"})
        await srv.send_malformed("text")
        assert await asyncio.wait_for(ws.recv(), 2.0) == "this is not JSON {"
        await srv.send_malformed("missing_fields")
        assert json.loads(await asyncio.wait_for(ws.recv(), 2.0)) == {"type": "ledgerClosed"}
        await srv.send_malformed("unknown_type")
        assert json.loads(await asyncio.wait_for(ws.recv(), 2.0))["type"] == "somethingNew"
        await srv.send_malformed("number")
        assert await asyncio.wait_for(ws.recv(), 2.0) == "42"


async def test_book_knobs_other_asset_crossed_and_zero_amm() -> None:
    async with FakeRippled(ledger_interval=None, book_mode="crossed", amm=(0, 0)) as srv:
        srv.serve_asset("USD", "rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B")
        async with connect(srv.url) as ws:
            asks = await ask(ws, {"id": 1, "command": "book_offers", "taker_gets": XRP,
                                  "taker_pays": RLUSD})
            bids = await ask(ws, {"id": 2, "command": "book_offers", "taker_gets": RLUSD,
                                  "taker_pays": XRP})
            a, b = asks["result"]["offers"][0], bids["result"]["offers"][0]
            assert a["TakerPays"]["currency"] == "USD"
            best_ask = float(a["TakerPays"]["value"]) / (int(a["TakerGets"]) / 1e6)
            best_bid = float(b["TakerGets"]["value"]) / (int(b["TakerPays"]) / 1e6)
            assert best_ask < best_bid  # crossed
            amm = await ask(ws, {"id": 3, "command": "amm_info", "asset": XRP,
                                 "asset2": RLUSD})
            assert amm["result"]["amm"]["amount"] == "0"
            assert amm["result"]["amm"]["amount2"]["value"] == "0"
