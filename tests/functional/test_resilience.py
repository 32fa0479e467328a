"""Disconnects and stalls end to end: the engine on the real xrpl-py client against
the fake rippled, which drops the socket several times and stalls once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from xrpl.wallet import Wallet

from engine.events import Event, LogEvent, Stop, TickEvent
from engine.loop import Engine
from engine.settings import load_config
from tests.conftest import ROOT
from tests.fake_rippled.server import FakeRippled

STALE_AFTER = 0.6


def _engine(db: str, url: str, mode: str) -> Engine:
    loaded = load_config(ROOT / "config" / "orion.toml")
    risk = loaded.settings.risk.model_copy(update={"stale_after_s": STALE_AFTER})
    settings = loaded.settings.model_copy(update={"risk": risk})
    return Engine(
        loaded.model_copy(update={"settings": settings}), db, mode=mode, node=url, speed=None,
        wallet_seed=SecretStr(Wallet.create().seed or ""), live_confirmed=True,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_drops_and_a_stall_block_quoting_then_recover(tmp_path: Path, mode: str) -> None:
    ticks: list[tuple[float, TickEvent]] = []
    logs: list[LogEvent] = []
    submits_while_stale: list[dict] = []
    faults: list[tuple[str, float]] = []

    async def go() -> None:
        async with FakeRippled(mid=2.2, ledger_interval=0.1) as srv:
            engine = _engine(str(tmp_path / f"{mode}.db"), srv.url, mode)

            def on_event(ev: Event) -> None:
                if isinstance(ev, TickEvent):
                    ticks.append((time.monotonic(), ev))
                elif isinstance(ev, LogEvent):
                    logs.append(ev)

            engine.subscribe(on_event)
            task = asyncio.create_task(engine.run())
            await asyncio.sleep(1.0)
            for _ in range(3):
                faults.append(("drop", time.monotonic()))
                srv.drop_connections()
                await asyncio.sleep(1.2)
            faults.append(("stall", time.monotonic()))
            n_before = len(srv.submitted)
            srv.stall(2.0)
            await asyncio.sleep(STALE_AFTER + 0.3)
            stale_window_submits = srv.submitted[n_before:]
            submits_while_stale.extend(stale_window_submits)
            await asyncio.sleep(4.0)
            engine.submit(Stop("test"))
            await asyncio.wait_for(task, timeout=20)

    asyncio.run(go())
    assert ticks, "no tick at all"
    reasons = [ev.decision.buy.reason for _, ev in ticks]
    assert "market_stale" in reasons
    # every drop and the stall produced a blocked tick soon after it (within stale_after)
    for kind, at in faults:
        blocked = [
            t for t, ev in ticks
            if at <= t <= at + STALE_AFTER + 3.0 and ev.decision.buy.reason == "market_stale"
        ]  # fmt: skip
        assert blocked, f"no market_stale tick after the {kind} at {at}"
        first = min(blocked)
        assert first - at <= STALE_AFTER + 3.0  # + one request timeout in live mode
    # and it quotes again at the end
    tail = [ev for _, ev in ticks[-5:]]
    assert any(ev.decision.buy.quoting for ev in tail), [ev.decision.buy.reason for ev in tail]
    assert not any(ev.level == "ERROR" for ev in logs), [e.message for e in logs]
    if mode == "live":
        creates = [tx for tx in submits_while_stale if tx.get("TransactionType") == "OfferCreate"]
        assert creates == [], "placed an order while the market was stale"
