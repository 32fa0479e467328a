"""The tick row codec: TickEvent <-> one row of `ticks`.

The engine writes with `tick_row` and replay reads with `tick_from_row`, so a
replayed tick is the very object the live console rendered (gates included).
"""

from __future__ import annotations

import json
from typing import Any

from engine.events import InventoryCheck, TickEvent
from engine.models import (
    AmmPool,
    Anchor,
    Book,
    Decision,
    Fill,
    GateResult,
    HaltState,
    InventorySnapshot,
    Level,
    LiveOrder,
    MarketState,
    SideDecision,
)
from engine.store.writer import TICK_COLUMNS

BOOK_DEPTH = 8
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _gates(sd: SideDecision) -> list[list[Any]]:
    return [[g.name, g.passed, g.value, g.threshold, g.detail] for g in sd.gates]


def tick_row(ev: TickEvent) -> tuple[Any, ...]:
    m = ev.market
    d = ev.decision
    a = d.anchor
    s = ev.snapshot
    book = m.book
    amm = m.amm
    if book is not None:
        book_json = _dumps(
            [
                [[lv.price, lv.size] for lv in book.bids[:BOOK_DEPTH]],
                [[lv.price, lv.size] for lv in book.asks[:BOOK_DEPTH]],
            ]
        )
        best_bid, best_ask, mid = book.best_bid, book.best_ask, book.mid
    else:
        book_json, best_bid, best_ask, mid = "null", None, None, None
    halt = ev.halt
    return (
        ev.session_id, ev.seq, m.ledger_index, m.ts, int(m.connected), m.book_ts, m.amm_ts,
        best_bid, best_ask, mid,
        amm.xrp_reserve if amm else None, amm.rlusd_reserve if amm else None,
        amm.trading_fee if amm else None, a.amm_price,
        a.mode, a.price, a.cap_bps, a.cap_state, a.divergence_bps, a.displacement_bps,
        d.buy.price, d.buy.size, d.buy.action, d.buy.reason,
        d.sell.price, d.sell.size, d.sell.action, d.sell.reason,
        _dumps({"BUY": _gates(d.buy), "SELL": _gates(d.sell)}),
        book_json,
        _dumps([[o.order_id, o.side, o.price, o.size, o.placed_ts, o.original_size, o.sequence]
                for o in ev.live_orders]),
        s.xrp_fills_only, s.xrp_overlay, s.rlusd_fills_only, s.rlusd_overlay, s.mark_price,
        ("ALL" if halt.all else "") + ("B" if halt.buy else "") + ("S" if halt.sell else ""),
        ev.fill_counts[0], ev.fill_counts[1],
        int(ev.check.ok),
        _dumps([ev.limits[0], ev.limits[1], s.target_xrp_share_pct, ev.mode]),
    )  # fmt: skip


SELECT_TICK = f"SELECT {', '.join(TICK_COLUMNS)} FROM ticks"
_IDX = {name: i for i, name in enumerate(TICK_COLUMNS)}


def _side(side: str, price: Any, size: Any, action: str, gates: list[list[Any]]) -> SideDecision:
    return SideDecision(
        side=side,  # type: ignore[arg-type]
        price=price,
        size=size,
        gates=tuple(GateResult(g[0], bool(g[1]), g[2], g[3], g[4]) for g in gates),
        action=action,  # type: ignore[arg-type]
    )


def tick_from_row(row: tuple[Any, ...], fills: tuple[Fill, ...] = ()) -> TickEvent:
    """Inverse of tick_row (row in TICK_COLUMNS order)."""
    r = row
    i = _IDX
    book_raw = json.loads(r[i["book"]])
    book = (
        Book(
            bids=tuple(Level(p, q) for p, q in book_raw[0]),
            asks=tuple(Level(p, q) for p, q in book_raw[1]),
        )
        if book_raw is not None
        else None
    )
    amm = (
        AmmPool(r[i["amm_xrp"]], r[i["amm_rlusd"]], r[i["amm_fee"]] or 0)
        if r[i["amm_xrp"]] is not None
        else None
    )
    market = MarketState(
        ledger_index=r[i["ledger_index"]],
        ts=r[i["ts"]],
        book=book,
        amm=amm,
        book_ts=r[i["book_ts"]],
        amm_ts=r[i["amm_ts"]],
        connected=bool(r[i["connected"]]),
    )
    anchor = Anchor(
        mode=r[i["anchor_mode"]],
        price=r[i["anchor"]],
        mid=r[i["mid"]],
        amm_price=r[i["amm_price"]],
        divergence_bps=r[i["divergence_bps"]],
        cap_state=r[i["cap_state"]],
        displacement_bps=r[i["displacement_bps"]],
        cap_bps=r[i["cap_bps"]],
    )
    gates = json.loads(r[i["gates"]])
    decision = Decision(
        anchor=anchor,
        buy=_side("BUY", r[i["buy_price"]], r[i["buy_size"]], r[i["buy_action"]], gates["BUY"]),
        sell=_side(
            "SELL", r[i["sell_price"]], r[i["sell_size"]], r[i["sell_action"]], gates["SELL"]
        ),
    )
    limits = json.loads(r[i["limits"]])
    snapshot = InventorySnapshot(
        xrp_fills_only=r[i["xrp_fo"]],
        xrp_overlay=r[i["xrp_ov"]],
        rlusd_fills_only=r[i["rlusd_fo"]],
        rlusd_overlay=r[i["rlusd_ov"]],
        mark_price=r[i["mark"]],
        target_xrp_share_pct=limits[2],
    )
    halted = r[i["halted"]]
    halt = HaltState(all="ALL" in halted, buy="B" in halted, sell="S" in halted)
    live = tuple(
        LiveOrder(order_id=o[0], side=o[1], price=o[2], size=o[3], placed_ts=o[4],
                  original_size=o[5], sequence=o[6])
        for o in json.loads(r[i["live_orders"]])
    )  # fmt: skip
    ok = bool(r[i["check_ok"]])
    return TickEvent(
        session_id=r[i["session_id"]],
        seq=r[i["seq"]],
        mode=limits[3],
        market=market,
        decision=decision,
        snapshot=snapshot,
        live_orders=live,
        fills=fills,
        halt=halt,
        fill_counts=(r[i["fills_buy"]], r[i["fills_sell"]]),
        check=InventoryCheck(sums_ok=ok, rebuild_ok=None if ok else False),
        limits=(limits[0], limits[1]),
    )
