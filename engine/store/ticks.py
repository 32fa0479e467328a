"""The tick row codec: TickEvent <-> one row of `ticks`.

The engine writes with `tick_row` and replay reads with `tick_from_row`, so a
replayed tick is the very object the live console rendered (gates included).
"""

from __future__ import annotations

import functools
import json
import struct
import sys
from array import array
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
from engine.store.schema import tick_id
from engine.store.writer import TICK_COLUMNS

BOOK_DEPTH = 8
_dumps = json.JSONEncoder(separators=(",", ":")).encode
F = "#"  # marks a float that lives in the row's `numbers` blob

# Encoding: the per-tick floats (gate values and thresholds, book levels, live order
# prices and sizes) go into one little-endian float64 blob, `numbers`, in that order;
# the `gates`, `book` and `live_orders` columns hold readable JSON shapes with "#"
# where a float was taken out. Formatting ~60 floats as text per tick cost more than
# everything else the engine does in a tick; the shapes repeat, so they are cached.


@functools.lru_cache(maxsize=4096)
def _gates_shape(key: tuple[Any, ...]) -> str:
    """key: five entries per gate (name, passed, value, threshold, detail), BUY's gates
    then SELL's, then the number of BUY gates (a flat tuple is cheaper to build)."""
    n_buy = key[-1]
    gates = [list(key[i : i + 5]) for i in range(0, len(key) - 1, 5)]
    return _dumps({"BUY": gates[:n_buy], "SELL": gates[n_buy:]})


@functools.lru_cache(maxsize=1024)
def _live_order_shape(order_id: str, side: str, sequence: int | None) -> str:
    return _dumps([order_id, side, sequence])


def tick_row(ev: TickEvent) -> tuple[Any, ...]:
    m = ev.market
    d = ev.decision
    a = d.anchor
    s = ev.snapshot
    book = m.book
    amm = m.amm
    nums: list[float] = []
    add = nums.append
    key: list[Any] = []
    extend_key = key.extend
    buy_gates = d.buy.gates
    for g in buy_gates + d.sell.gates:
        v = g.value
        if v.__class__ is float:
            add(v)
            v = F
        t = g.threshold
        if t.__class__ is float:
            add(t)
            t = F
        extend_key((g.name, g.passed, v, t, g.detail))
    key.append(len(buy_gates))
    gates_json = _gates_shape(tuple(key))
    if book is not None:
        bids = book.bids[:BOOK_DEPTH]
        asks = book.asks[:BOOK_DEPTH]
        for lv in bids:
            add(lv.price)
            add(lv.size)
        for lv in asks:
            add(lv.price)
            add(lv.size)
        book_shape = f"{len(bids)},{len(asks)}"
        best_bid, best_ask, mid = book.best_bid, book.best_ask, book.mid
    else:
        book_shape, best_bid, best_ask, mid = "null", None, None, None
    live_json = []
    for o in ev.live_orders:
        nums.extend((o.price, o.size, o.placed_ts, o.original_size))
        live_json.append(_live_order_shape(o.order_id, o.side, o.sequence))
    halt = ev.halt
    return (
        tick_id(ev.session_id, ev.seq), ev.session_id, ev.seq,
        m.ledger_index, m.ts, int(m.connected), m.book_ts, m.amm_ts,
        best_bid, best_ask, mid,
        amm.xrp_reserve if amm else None, amm.rlusd_reserve if amm else None,
        amm.trading_fee if amm else None, a.amm_price,
        a.mode, a.price, a.cap_bps, a.cap_state, a.divergence_bps, a.displacement_bps,
        d.buy.price, d.buy.size, d.buy.action, d.buy.reason,
        d.sell.price, d.sell.size, d.sell.action, d.sell.reason,
        gates_json, book_shape, "[" + ",".join(live_json) + "]",
        _blob(nums),
        s.xrp_fills_only, s.xrp_overlay, s.rlusd_fills_only, s.rlusd_overlay, s.mark_price,
        ("ALL" if halt.all else "") + ("B" if halt.buy else "") + ("S" if halt.sell else ""),
        ev.fill_counts[0], ev.fill_counts[1],
        int(ev.check.ok),
        _limits_json(ev.limits[0], ev.limits[1], s.target_xrp_share_pct, ev.mode),
    )  # fmt: skip


def _blob(nums: list[float]) -> bytes:
    """The floats as little-endian float64, whatever the machine's byte order."""
    return _packer(len(nums))(*nums)


@functools.lru_cache(maxsize=256)
def _packer(n: int) -> Any:
    return struct.Struct(f"<{n}d").pack


@functools.lru_cache(maxsize=64)
def _limits_json(max_xrp: float, max_rlusd: float, target: float, mode: str) -> str:
    return _dumps([max_xrp, max_rlusd, target, mode])


SELECT_TICK = (
    f"SELECT {', '.join('s.shape' if c == 'gates' else 't.' + c for c in TICK_COLUMNS)}"
    " FROM ticks t JOIN gate_shapes s ON s.id = t.gates"
)
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
    nums = array("d")
    nums.frombytes(r[i["numbers"]])
    if sys.byteorder == "big":
        nums.byteswap()
    pos = 0

    def take(v: Any) -> Any:
        nonlocal pos
        if v == F:
            v = nums[pos]
            pos += 1
        return v

    gates_raw = json.loads(r[i["gates"]])
    gates = {
        side: [[g[0], g[1], take(g[2]), take(g[3]), g[4]] for g in gates_raw[side]]
        for side in ("BUY", "SELL")
    }
    shape = r[i["book"]]
    book = None
    if shape != "null":
        nb, na = (int(x) for x in shape.split(","))
        vals = nums[pos : pos + 2 * (nb + na)]
        pos += 2 * (nb + na)
        levels = [Level(vals[k], vals[k + 1]) for k in range(0, len(vals), 2)]
        book = Book(bids=tuple(levels[:nb]), asks=tuple(levels[nb:]))
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
    live_list = []
    for oid, side, sequence in json.loads(r[i["live_orders"]]):
        price, size, placed, original = nums[pos : pos + 4]
        pos += 4
        live_list.append(
            LiveOrder(order_id=oid, side=side, price=price, size=size, placed_ts=placed,
                      original_size=original, sequence=sequence)
        )  # fmt: skip
    live = tuple(live_list)
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
