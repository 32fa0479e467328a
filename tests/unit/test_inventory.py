"""Inventory truth: total = fills-only + overlay, rebuild = incremental, basis moves nothing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.inventory import (
    InventoryError,
    InventoryManager,
    fill_deltas,
    rebuild_from_sqlite,
)
from engine.models import CapitalEvent, Fill
from engine.store.writer import Store
from engine.summary import build_summary

prices = st.floats(min_value=0.5, max_value=5.0, allow_nan=False)
sizes = st.floats(min_value=0.001, max_value=50.0, allow_nan=False)
amounts = st.floats(min_value=0.01, max_value=500.0, allow_nan=False)

fill_op = st.tuples(st.just("fill"), st.sampled_from(["BUY", "SELL"]), prices, sizes,
                    st.floats(min_value=0, max_value=0.05))  # fmt: skip
cap_op = st.tuples(
    st.just("cap"),
    st.sampled_from(["deposit", "withdrawal", "basis_commit"]),
    st.sampled_from(["XRP", "RLUSD"]),
    amounts,
)
ops = st.lists(st.one_of(fill_op, cap_op), max_size=40)


def _fill(i: int, side: str, price: float, size: float, fee: float) -> Fill:
    return Fill(f"k{i}", f"o{i}", side, price, size, fee, 1000.0 + i, 100 + i)  # type: ignore[arg-type]


def _apply(inv: InventoryManager, i: int, op: tuple) -> CapitalEvent | Fill | None:
    if op[0] == "fill":
        f = _fill(i, op[1], op[2], op[3], op[4])
        inv.apply_fill(f)
        return f
    kind, asset, amount = op[1], op[2], op[3]
    if kind == "basis_commit":
        asset = "RLUSD"
    ev = CapitalEvent(kind, asset, amount, "", 1000.0 + i)
    try:
        inv.apply_capital(ev)
    except InventoryError:
        return None
    return ev


@given(ops)
def test_total_is_fills_only_plus_overlay(seq: list[tuple]) -> None:
    inv = InventoryManager({"XRP": 50.0, "RLUSD": 80.0})
    for i, op in enumerate(seq):
        _apply(inv, i, op)
        snap = inv.snapshot(2.2)
        for asset in ("XRP", "RLUSD"):
            assert snap.total(asset) == snap.fills_only(asset) + snap.overlay(asset)
            assert inv.total(asset) == inv.fills_only[asset] + inv.overlay[asset]


@given(ops)
def test_basis_commit_moves_no_balance(seq: list[tuple]) -> None:
    inv = InventoryManager({"XRP": 50.0, "RLUSD": 80.0})
    for i, op in enumerate(seq):
        before = inv.balances()
        applied = _apply(inv, i, op)
        if isinstance(applied, CapitalEvent) and applied.kind == "basis_commit":
            assert inv.balances() == before
            assert inv.rlusd_basis > 0


def test_fill_deltas_charge_fee_in_rlusd() -> None:
    assert fill_deltas(_fill(1, "BUY", 2.0, 10.0, 0.1)) == (10.0, -20.1)
    assert fill_deltas(_fill(1, "SELL", 2.0, 10.0, 0.1)) == (-10.0, 19.9)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (CapitalEvent("withdrawal", "XRP", 51.0), "exceeds the total"),
        (CapitalEvent("deposit", "XRP", 0.0), "greater than zero"),
        (CapitalEvent("deposit", "XRP", -3.0), "greater than zero"),
        (CapitalEvent("deposit", "XRP", float("nan")), "finite"),
        (CapitalEvent("deposit", "BTC", 1.0), "unknown asset"),  # type: ignore[arg-type]
        (CapitalEvent("basis_commit", "XRP", 1.0), "must be RLUSD"),
    ],
)
def test_bad_capital_events_refused(event: CapitalEvent, message: str) -> None:
    inv = InventoryManager({"XRP": 50.0, "RLUSD": 80.0})
    with pytest.raises(InventoryError, match=message):
        inv.apply_capital(event)
    assert inv.balances() == InventoryManager({"XRP": 50.0, "RLUSD": 80.0}).balances()


def test_withdrawal_may_use_deposits() -> None:
    inv = InventoryManager({"XRP": 10.0, "RLUSD": 0.0})
    inv.apply_capital(CapitalEvent("deposit", "XRP", 5.0))
    inv.apply_capital(CapitalEvent("withdrawal", "XRP", 15.0))
    assert inv.total("XRP") == 0.0
    assert inv.overlay["XRP"] == -10.0


def test_snapshot_fields() -> None:
    inv = InventoryManager({"XRP": 100.0, "RLUSD": 100.0})
    inv.apply_capital(CapitalEvent("deposit", "RLUSD", 100.0))
    s = inv.snapshot(2.0)
    assert s.xrp_value_in_rlusd == 200.0
    assert s.total_value_in_rlusd == 400.0
    assert s.drift_pct == 0.0
    assert s.rlusd_balance == 200.0 and s.rlusd_fills_only == 100.0 and s.rlusd_overlay == 100.0


async def _persist(path: str, seq: list[tuple]) -> InventoryManager:
    """Drive the real store like the engine does, returning the incremental manager."""
    store = await Store.open(path)
    await store.seed_ledger({"XRP": 50.0, "RLUSD": 80.0}, 999.0)
    sid = await store.begin_session("sim", 999.0, 1, (50.0, 80.0, 0.0, 0.0))
    inv = InventoryManager({"XRP": 50.0, "RLUSD": 80.0})
    for i, op in enumerate(seq):
        applied = _apply(inv, i, op)
        if isinstance(applied, Fill):
            rows = _ledger_rows_for(inv, sid, applied)
            await store.record_fills(sid, i, [applied], rows, [])
        elif isinstance(applied, CapitalEvent):
            await store.record_capital(sid, applied)
    await store.close()
    return inv


def _ledger_rows_for(inv: InventoryManager, sid: int, fill: Fill) -> list[tuple]:
    dx, dr = fill_deltas(fill)
    return [
        (sid, fill.ts, "XRP", dx, inv.fills_only["XRP"], "fill", fill.fill_key),
        (sid, fill.ts, "RLUSD", dr, inv.fills_only["RLUSD"], "fill", fill.fill_key),
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops)
def test_rebuild_equals_incremental_and_summary_agrees(tmp_path_factory, seq: list[tuple]) -> None:
    path = str(tmp_path_factory.mktemp("inv") / "orion.db")
    inv = asyncio.run(_persist(path, seq))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rebuilt = rebuild_from_sqlite(conn)
        assert rebuilt.same_as(inv)
        assert rebuilt.snapshot(2.2) == inv.snapshot(2.2)
        summary = build_summary(conn)
    finally:
        conn.close()
    for asset in ("XRP", "RLUSD"):
        row = summary["ending_inventory"][asset]
        assert row["fills_only"] == inv.fills_only[asset]
        assert row["overlay"] == inv.overlay[asset]
        assert row["total"] == inv.total(asset)
        assert row["total"] == row["fills_only"] + row["overlay"]
