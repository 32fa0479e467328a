"""Paper mode end to end: the real xrpl-py client against the fake rippled on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from engine.events import Halt, Resume, Stop, TickEvent
from engine.loop import Engine
from engine.settings import load_config
from tests.conftest import ROOT, halt_latency
from tests.fake_rippled.server import FakeRippled


def _paper_engine(db: str, url: str, ticks: int) -> Engine:
    loaded = load_config(ROOT / "config" / "orion.toml")
    return Engine(loaded, db, mode="paper", node=url, max_ticks=ticks, speed=None)


def test_paper_session_against_fake_rippled(tmp_path: Path) -> None:
    db = str(tmp_path / "paper.db")
    seen: list[TickEvent] = []

    async def go() -> dict:
        async with FakeRippled(mid=2.2, ledger_interval=0.05) as srv:
            engine = _paper_engine(db, srv.url, 12)

            def on_event(ev: object) -> None:
                if isinstance(ev, TickEvent):
                    seen.append(ev)
                    if ev.seq == 4:
                        srv.set_mid(2.25)  # the market trades through our SELL
                    if ev.seq == 6:
                        engine.submit(Halt(None, "test"))
                    if ev.seq == 8:
                        engine.submit(Resume(None))

            engine.subscribe(on_event)
            return await engine.run()

    summary = asyncio.run(go())
    assert summary["mode"] == "paper" and summary["ticks"] == 12
    first = seen[0]
    assert first.market.book is not None and first.market.amm is not None
    assert first.market.book.best_bid < first.market.book.best_ask
    assert first.decision.anchor.mid is not None
    assert any(ev.decision.buy.action in ("place", "replace", "keep") for ev in seen)
    halted = [ev for ev in seen if ev.halt.all]
    assert halted and all(ev.decision.buy.reason == "halted" for ev in halted)
    assert summary["fills"]["SELL"]["count"] >= 1
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'open'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM ticks").fetchone()[0] == 12
    conn.close()


def test_paper_blocks_when_node_stalls_and_recovers(tmp_path: Path) -> None:
    db = str(tmp_path / "stall.db")
    seen: list[TickEvent] = []

    async def go() -> None:
        async with FakeRippled(mid=2.2, ledger_interval=0.05) as srv:
            loaded = load_config(ROOT / "config" / "orion.toml")
            settings = loaded.settings.model_copy(
                update={"risk": loaded.settings.risk.model_copy(update={"stale_after_s": 0.5})}
            )
            engine = Engine(
                loaded.model_copy(update={"settings": settings}), db, mode="paper",
                node=srv.url, speed=None,
            )  # fmt: skip
            stalled = False

            def on_event(ev: object) -> None:
                nonlocal stalled
                if isinstance(ev, TickEvent):
                    seen.append(ev)
                    if ev.seq == 3 and not stalled:
                        stalled = True
                        asyncio.get_running_loop().create_task(srv.stall(1.5))
                    if (
                        ev.seq >= 3
                        and ev.decision.buy.reason is None
                        and stalled
                        and len([e for e in seen if e.decision.buy.reason == "market_stale"])
                    ):
                        engine.submit(Stop("test"))

            engine.subscribe(on_event)
            await asyncio.wait_for(engine.run(), timeout=30)

    asyncio.run(go())
    reasons = [ev.decision.buy.reason for ev in seen]
    assert "market_stale" in reasons
    # quoting again after the stall
    assert reasons[-1] is None or reasons[-1] == "live_order_exists"


def test_halt_between_ledgers_cancels_within_100ms(tmp_path: Path) -> None:
    """Paper mode: a halt must not wait for the next closed ledger (here 2 s away)."""
    db = str(tmp_path / "halt.db")

    async def go() -> tuple[float, int]:
        async with FakeRippled(mid=2.2, ledger_interval=2.0) as srv:
            return await halt_latency(_paper_engine(db, srv.url, 1_000))

    latency, ticks = asyncio.run(go())
    assert ticks == 0, "the cancel waited for a ledger"
    assert latency < 0.1
