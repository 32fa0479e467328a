"""The engine end to end on the sim market: determinism, commands, restart."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pytest

from engine import loop as loop_module
from engine.events import Halt, LogEvent, RecordCapital, Resume, TickEvent
from engine.inventory import rebuild_from_sqlite
from engine.loop import Engine
from engine.models import CapitalEvent
from engine.settings import load_config
from engine.store.readonly import open_readonly
from engine.summary import build_summary
from tests.conftest import ROOT, halt_latency

CONFIG = ROOT / "config" / "orion.toml"


def _scripted_run(db: str, ticks: int, seed: int = 11) -> dict:
    """A sim session with a halt, a resume and a deposit at fixed ticks."""
    engine = Engine(load_config(CONFIG), db, mode="sim", seed=seed, speed=None, max_ticks=ticks)
    script = {
        2000: Halt(None, "test"),
        2400: Resume(None),
        3000: Halt("BUY", "test"),
        3300: Resume("BUY"),
        5000: RecordCapital(CapitalEvent("deposit", "RLUSD", 25.0, "mid-run top-up")),
    }

    def on_event(ev: object) -> None:
        if isinstance(ev, TickEvent) and ev.seq in script:
            engine.submit(script.pop(ev.seq))

    engine.subscribe(on_event)
    return asyncio.run(engine.run())


def _digest(db: str, sql: str) -> str:
    conn = open_readonly(db)
    h = hashlib.sha256()
    for row in conn.execute(sql):
        h.update(repr(row).encode())
    conn.close()
    return h.hexdigest()


def test_same_seed_same_session_row_for_row(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    sa = _scripted_run(a, 10_000)
    sb = _scripted_run(b, 10_000)
    assert sa == sb
    assert sa["ticks"] == 10_000
    assert sa["fills"]["BUY"]["count"] > 0 and sa["fills"]["SELL"]["count"] > 0
    for table, order in (
        ("ticks", "seq"),
        ("fills", "id"),
        ("orders", "order_id"),
        ("inventory_ledger", "id"),
        ("capital_events", "id"),
    ):
        sql = f"SELECT * FROM {table} ORDER BY {order}"
        assert _digest(a, sql) == _digest(b, sql), table
    log_sql = "SELECT ts, level, source, replace(message, '{db}', 'DB') FROM log ORDER BY id"
    assert _digest(a, log_sql.format(db=a)) == _digest(b, log_sql.format(db=b))
    conn = open_readonly(a)
    halted = conn.execute(
        "SELECT COUNT(*) FROM ticks WHERE buy_reason = 'halted' AND buy_action IN ('cancel','none')"
    ).fetchone()[0]
    assert halted >= 400 + 300 - 2
    deposit = conn.execute("SELECT amount FROM capital_events").fetchall()
    assert deposit == [(25.0,)]
    conn.close()
    rlusd = sa["ending_inventory"]["RLUSD"]
    assert rlusd["overlay"] == 25.0
    assert rlusd["total"] == rlusd["fills_only"] + rlusd["overlay"]


def test_summary_never_counts_a_deposit_as_profit(tmp_path: Path) -> None:
    with_dep = str(tmp_path / "dep.db")
    without = str(tmp_path / "nodep.db")
    s1 = _scripted_run(with_dep, 6_000, seed=3)
    engine = Engine(load_config(CONFIG), without, mode="sim", seed=3, speed=None, max_ticks=6_000)

    script = {2000: Halt(None), 2400: Resume(None), 3000: Halt("BUY"), 3300: Resume("BUY")}

    def on_event(ev: object) -> None:
        if isinstance(ev, TickEvent) and ev.seq in script:
            engine.submit(script.pop(ev.seq))

    engine.subscribe(on_event)
    s2 = asyncio.run(engine.run())
    # Different inventory -> slightly different quotes; the deposit itself is not P&L:
    assert s1["ending_inventory"]["RLUSD"]["overlay"] == 25.0
    assert s2["ending_inventory"]["RLUSD"]["overlay"] == 0.0
    assert abs(s1["trading_pnl_rlusd"]) < 25.0
    conn = open_readonly(with_dep)
    rebuilt = rebuild_from_sqlite(conn)
    summary = build_summary(conn)
    conn.close()
    for asset in ("XRP", "RLUSD"):
        assert summary["ending_inventory"][asset]["total"] == rebuilt.total(asset)


def test_halt_holds_across_restart_and_inventory_carries_over(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    engine = Engine(load_config(CONFIG), db, mode="sim", seed=5, speed=None, max_ticks=500)

    def on_event(ev: object) -> None:
        if isinstance(ev, TickEvent) and ev.seq == 400 and not engine.halt.sell:
            engine.submit(Halt("SELL", "test"))

    engine.subscribe(on_event)
    first = asyncio.run(engine.run())
    second_engine = Engine(load_config(CONFIG), db, mode="sim", seed=6, speed=None, max_ticks=200)
    second = asyncio.run(second_engine.run())
    assert second_engine.halt.sell and not second_engine.halt.buy
    assert second["no_quote_reasons"]["SELL"].get("halted") == 200
    start = second["starting_inventory"]
    for asset in ("XRP", "RLUSD"):
        assert start[asset]["total"] == first["ending_inventory"][asset]["total"]
    conn = sqlite3.connect(db)
    statuses = [r[0] for r in conn.execute("SELECT status FROM sessions ORDER BY id")]
    open_orders = conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'open'").fetchone()[0]
    conn.close()
    assert statuses == ["ended", "ended"]
    assert open_orders == 0


def test_halt_cancels_between_ticks_at_real_time(tmp_path: Path) -> None:
    """At real-time speed a halt must not wait for the next ledger."""
    db = str(tmp_path / "h.db")
    engine = Engine(load_config(CONFIG), db, mode="sim", seed=7, speed=1.0, max_ticks=3)
    latency, _ = asyncio.run(halt_latency(engine))
    assert latency < 0.1


def test_rebuild_check_no_false_alarm_under_load_and_catches_a_foreign_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running comparison of memory with a rebuild from the database: silent while
    thousands of ticks, fills and a deposit are queued for the writer; an alarm once a
    row appears that the engine did not write."""
    monkeypatch.setattr(loop_module, "REBUILD_CHECK_EVERY_S", 0.0)  # a check every tick
    db = str(tmp_path / "rb.db")
    # A check's reads queue behind at most MAX_INFLIGHT batches of FLUSH_EVERY_TICKS
    # ticks (and the pending ones), so it answers within ~1,500 ticks: 4,000 after the row
    # leave room for the next check to start and answer, however fast the writer.
    engine = Engine(load_config(CONFIG), db, mode="sim", seed=5, speed=None, max_ticks=6000)
    checks: list[tuple[int, bool | None]] = []
    errors: list[str] = []

    def on_event(ev: object) -> None:
        if isinstance(ev, TickEvent):
            checks.append((ev.seq, ev.check.rebuild_ok))
            if ev.seq == 1000:
                engine.submit(RecordCapital(CapitalEvent("deposit", "RLUSD", 40.0, "top-up")))
            if ev.seq == 2000:  # someone else writes a deposit the engine never saw
                conn = sqlite3.connect(db, timeout=10)
                conn.execute(
                    "INSERT INTO capital_events (ts, kind, asset, amount, note)"
                    " VALUES (0, 'deposit', 'XRP', 7, 'foreign')"
                )
                conn.commit()
                conn.close()
        elif isinstance(ev, LogEvent) and ev.level == "ERROR":
            errors.append(ev.message)

    engine.subscribe(on_event)
    summary = asyncio.run(engine.run())
    assert summary["fills"]["BUY"]["count"] > 0 and summary["fills"]["SELL"]["count"] > 0
    before = [ok for seq, ok in checks if seq < 2000]
    changes = [c for i, c in enumerate(checks) if i == 0 or c[1] != checks[i - 1][1]]
    assert True in before and False not in before, changes
    assert checks[-1][1] is False, changes
    assert len(errors) == 1 and "inventory differs from a rebuild" in errors[0], errors
    assert "'XRP': (" in errors[0]
