"""SIGKILL at random points: no fill lost or duplicated, inventory = rebuild, halts hold.

Sim fills group-commit with their ticks, so a kill loses the uncommitted tail of a
session as a whole; what is committed must always be a consistent prefix: every fill
with exactly its two ledger rows, each ledger row chaining exactly from the previous
balance, orders that fills refer to present, and a restart that starts from the last
committed total.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.events import Halt, TickEvent
from engine.inventory import fill_deltas, rebuild_from_sqlite
from engine.loop import Engine
from engine.models import Fill
from engine.settings import load_config
from engine.store.readonly import open_readonly
from tests.conftest import ROOT

KILLS = 20


def _check_consistent(db: str) -> dict[str, float]:
    """Assert the committed database is a consistent prefix; returns fills-only totals."""
    conn = open_readonly(db, follow=True)
    try:
        keys = [r[0] for r in conn.execute("SELECT fill_key FROM fills")]
        assert len(keys) == len(set(keys)), "duplicated fill"
        fills = {
            r[0]: Fill(*r)
            for r in conn.execute(
                "SELECT fill_key, order_id, side, price, size, fee_rlusd, ts, ledger_index"
                " FROM fills"
            )
        }
        per_fill: dict[str, list[tuple[str, float]]] = {}
        balance: dict[str, float] = {}
        for asset, delta, new_balance, kind, key in conn.execute(
            "SELECT asset, delta, new_balance, kind, fill_key FROM inventory_ledger ORDER BY id"
        ):
            if kind == "seed":
                balance[asset] = new_balance
                continue
            assert balance[asset] + delta == new_balance, "ledger chain broken"
            balance[asset] = new_balance
            per_fill.setdefault(key, []).append((asset, delta))
        assert set(per_fill) == set(fills), "fill without ledger rows or the reverse"
        for key, rows in per_fill.items():
            dx, dr = fill_deltas(fills[key])
            assert sorted(rows) == sorted([("XRP", dx), ("RLUSD", dr)])
        orphans = conn.execute(
            "SELECT COUNT(*) FROM fills f LEFT JOIN orders o ON o.order_id = f.order_id"
            " WHERE o.order_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0, "fill of an order the database does not know"
        inv = rebuild_from_sqlite(conn)
        assert inv.fills_only == balance
        return dict(balance)
    finally:
        conn.close()


def _start(db: str, seed: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "orion_tui.cli", "run", "--headless", "--speed", "max",
         "--ticks", "5000000", "--seed", str(seed), "--db", db],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def _ticks(db: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM ticks").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def test_sigkill_at_random_points(tmp_path: Path) -> None:
    db = str(tmp_path / "crash.db")
    # Session 1: a clean run that halts SELL; the halt must hold through every crash.
    engine = Engine(load_config(ROOT / "config" / "orion.toml"), db, seed=1, speed=None,
                    max_ticks=300)  # fmt: skip

    def on_event(ev: object) -> None:
        if isinstance(ev, TickEvent) and ev.seq == 100 and not engine.halt.sell:
            engine.submit(Halt("SELL", "before the crashes"))

    engine.subscribe(on_event)
    asyncio.run(engine.run())
    rng = random.Random(20261125)
    committed = _check_consistent(db)
    for i in range(KILLS):
        before = _ticks(db)
        proc = _start(db, seed=100 + i)
        deadline = time.monotonic() + 20
        target = before + rng.randint(50, 3000)
        while _ticks(db) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.05))  # land anywhere, mid-transaction included
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        new = _check_consistent(db)
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        sid, start_xrp, start_rlusd = conn.execute(
            "SELECT id, start_xrp_fo, start_rlusd_fo FROM sessions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        conn.close()
        # The killed session started from exactly what the previous one committed.
        assert (start_xrp, start_rlusd) == (committed["XRP"], committed["RLUSD"]), sid
        committed = new
    # A clean restart after the last kill: rebuild, halt still held, no order left open.
    final = Engine(load_config(ROOT / "config" / "orion.toml"), db, seed=9, speed=None,
                   max_ticks=50)  # fmt: skip
    summary = asyncio.run(final.run())
    assert final.halt.sell and not final.halt.buy
    assert summary["no_quote_reasons"]["SELL"].get("halted") == 50
    start = summary["starting_inventory"]
    assert (start["XRP"]["fills_only"], start["RLUSD"]["fills_only"]) == (
        committed["XRP"],
        committed["RLUSD"],
    )
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    statuses = [r[0] for r in conn.execute("SELECT status FROM sessions ORDER BY id")]
    still_open = conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'open'").fetchone()[0]
    conn.close()
    assert statuses == ["ended"] + ["crashed"] * KILLS + ["ended"]
    assert still_open == 0
    _check_consistent(db)
