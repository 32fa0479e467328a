"""Paper execution: orders live in memory, fills are simulated against the market.

Used by both the `sim` and the `paper` modes. Nothing here does I/O; the methods are
async only to satisfy the Execution protocol.

How fills are simulated (why: a paper run that fills more easily than the real book
would is worse than useless, so our order never jumps the queue):

* Queue position. When an order is placed, the size already resting at our exact
  price on our side of the book is *ahead of us* (`queue_ahead`). The book is the last
  MarketState seen, via `collect_fills` (which records the market it is given; the
  loop calls it each tick before `execute`) or via `observe(market)`. If a later
  book shows less at our price, the queue ahead shrinks to that (orders ahead were
  cancelled); size that joins our price later is behind us.
* Taker flow. A taker BUY with limit >= our SELL price first consumes book asks priced
  better than ours (lower, within its limit), then the queue ahead at our level, then
  us; partial fills are possible. Symmetric for a taker SELL against our BUY. Takers
  in one tick deplete the book in turn, so the second taker meets what the first left.
* Trade-through. When `trades` is empty (paper mode on a real XRPL book, where taker
  flow is not observed), a book that has moved through us fills us fully at our price:
  best bid > our SELL price, or best ask < our BUY price. A crossed book is bad data
  and triggers no trade-through. `trade_through=True` applies it on every tick (after
  taker flow), `False` never.
* Expiry. An order expires once ts >= placed_ts + order_ttl_s (XRPL Expiration
  semantics); expired orders are removed before matching and never fill.

Fees are fee_bps / 1e4 of the notional, in RLUSD. Fill keys are f"{order_id}:{k}" with
k counting that order's fills from 1, so they are deterministic and unique.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from engine.models import (
    SIDES,
    Book,
    Decision,
    Fill,
    Level,
    LiveOrder,
    MarketState,
    OrderUpdate,
    Side,
    SideDecision,
    TakerTrade,
)

PRICE_REL_TOL = 1e-9  # two prices this close are the same level
MIN_FILL_XRP = 1e-6  # one drop: smaller remainders count as filled
RESTORED_FILL_BASE = 1_000_000  # fill counter start for restored orders of unknown history


def _same_price(a: float, b: float) -> bool:
    return abs(a - b) <= PRICE_REL_TOL * max(abs(a), abs(b))


def _level_size_at(levels: Sequence[Level], price: float) -> float:
    tol = PRICE_REL_TOL * abs(price) * 1.000001  # inlined _same_price: called per tick
    for lv in levels:
        if abs(lv.price - price) <= tol:
            return lv.size
    return 0.0


def _own_side_levels(book: Book, side: Side) -> tuple[Level, ...]:
    """The levels our order would rest among: bids for a BUY, asks for a SELL."""
    return book.bids if side == "BUY" else book.asks


class PaperExecution:
    """Simulated execution with queue position; one live order per side."""

    def __init__(
        self,
        fee_bps: float,
        order_ttl_s: float,
        id_prefix: str,
        *,
        trade_through: bool | None = None,
    ) -> None:
        self.fee_bps = float(fee_bps)
        self.order_ttl_s = float(order_ttl_s)
        self.id_prefix = id_prefix
        self.trade_through = trade_through  # None: only on ticks without taker trades
        self._orders: dict[Side, LiveOrder] = {}
        self._queue: dict[str, float | None] = {}  # order_id -> XRP ahead (None: unknown)
        self._fill_count: dict[str, int] = {}
        self._next_id = 0
        self._market: MarketState | None = None
        self._id_re = re.compile(re.escape(id_prefix) + r"-(\d+)$")

    # ---- state -----------------------------------------------------------------

    def live_orders(self) -> dict[Side, LiveOrder]:
        """Resting orders by side (a copy: callers cannot disturb the book-keeping)."""
        return dict(self._orders)

    def queue_ahead(self, side: Side) -> float | None:
        """XRP resting ahead of our order on `side` (None: no order, or not known yet)."""
        order = self._orders.get(side)
        return None if order is None else self._queue.get(order.order_id)

    def observe(self, market: MarketState) -> None:
        """Remember the latest market: new orders take their queue position from it."""
        self._market = market

    def restore(
        self, orders: Sequence[LiveOrder], fill_counts: Mapping[str, int] | None = None
    ) -> None:
        """Reload resting orders after a restart (paper only; replaces current state).

        fill_counts: fills already recorded per order id, so new fill keys continue
        the sequence. An order that shows a partial fill (size < original_size) but has
        no count starts at RESTORED_FILL_BASE, so its keys cannot collide with old ones.
        The queue ahead of a restored order is unknown and is taken, conservatively, as
        the whole level at its price in the next book seen. The id counter moves past
        every restored id with our prefix.
        """
        counts = fill_counts or {}
        by_side: dict[Side, LiveOrder] = {}
        for order in orders:
            if order.side in by_side:
                raise ValueError(f"two resting {order.side} orders to restore")
            by_side[order.side] = order
        self._orders = by_side
        self._queue = {o.order_id: None for o in by_side.values()}
        self._fill_count = {}
        for o in by_side.values():
            if o.order_id in counts:
                self._fill_count[o.order_id] = counts[o.order_id]
            elif o.original_size > o.size + MIN_FILL_XRP:
                self._fill_count[o.order_id] = RESTORED_FILL_BASE
            else:
                self._fill_count[o.order_id] = 0
            m = self._id_re.match(o.order_id)
            if m:
                self._next_id = max(self._next_id, int(m.group(1)))

    # ---- orders ----------------------------------------------------------------

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self.id_prefix}-{self._next_id}"

    def _queue_at_placement(self, side: Side, price: float) -> float:
        market = self._market
        if market is None or market.book is None:
            return 0.0
        return _level_size_at(_own_side_levels(market.book, side), price)

    def _expire(self, ts: float) -> list[OrderUpdate]:
        updates = []
        for side in SIDES:
            order = self._orders.get(side)
            if order is not None and ts >= order.placed_ts + self.order_ttl_s:
                updates.append(OrderUpdate("expired", order, ts, detail="order_ttl_s"))
                self._drop(side)
        return updates

    def _drop(self, side: Side) -> None:
        order = self._orders.pop(side)
        self._queue.pop(order.order_id, None)
        self._fill_count.pop(order.order_id, None)

    def _place(self, sd: SideDecision, ts: float) -> OrderUpdate:
        """Place (or atomically replace) the order for sd.side at the decision's price."""
        side = sd.side
        old = self._orders.get(side)
        price, size = sd.price, sd.size
        if price is None or size is None or not price > 0 or not size > 0:
            bad = LiveOrder(self._new_id(), side, price or 0.0, size or 0.0, ts, size or 0.0)
            return OrderUpdate("rejected", bad, ts, detail=f"invalid price/size {price}/{size}")
        order = LiveOrder(self._new_id(), side, price, size, ts, original_size=size)
        if old is not None:
            self._drop(side)
        self._orders[side] = order
        self._queue[order.order_id] = self._queue_at_placement(side, price)
        self._fill_count[order.order_id] = 0
        if old is not None:
            return OrderUpdate("replaced", order, ts, replaced_order_id=old.order_id)
        return OrderUpdate("placed", order, ts)

    async def execute(self, decision: Decision, ts: float, ledger_index: int) -> list[OrderUpdate]:
        """Apply each side's action. Expired orders go first, so a replace of an order
        that has just expired becomes a plain place; a place over a resting order is a
        replace (one order per side); cancel/keep of a missing order do nothing."""
        updates = self._expire(ts)
        for side in SIDES:
            sd = decision.side(side)
            if sd.action in ("place", "replace"):
                updates.append(self._place(sd, ts))
            elif sd.action == "cancel" and side in self._orders:
                updates.append(OrderUpdate("cancelled", self._orders[side], ts))
                self._drop(side)
        return updates

    async def cancel_all(self, ts: float) -> list[OrderUpdate]:
        updates = []
        for side in SIDES:
            if side in self._orders:
                updates.append(OrderUpdate("cancelled", self._orders[side], ts))
                self._drop(side)
        return updates

    # ---- fills -----------------------------------------------------------------

    async def collect_fills(
        self, market: MarketState, trades: Sequence[TakerTrade]
    ) -> tuple[list[Fill], list[OrderUpdate]]:
        """Fills of our resting orders this tick (see the module docstring for the model)."""
        self._market = market
        updates = self._expire(market.ts)
        fills: list[Fill] = []
        if not self._orders:
            return fills, updates
        book = market.book
        if book is not None:
            for live in self._orders.values():
                at_level = _level_size_at(_own_side_levels(book, live.side), live.price)
                q = self._queue.get(live.order_id)
                self._queue[live.order_id] = at_level if q is None else min(q, at_level)
        if trades:
            for side in SIDES:
                order = self._orders.get(side)
                if order is not None:
                    self._match_takers(order, book, trades, market, fills, updates)
        through = self.trade_through if self.trade_through is not None else not trades
        if through and book is not None and not book.crossed:
            for side in SIDES:
                order = self._orders.get(side)
                if order is None:
                    continue
                if side == "SELL":
                    crossed_us = book.best_bid is not None and book.best_bid > order.price
                else:
                    crossed_us = book.best_ask is not None and book.best_ask < order.price
                if crossed_us:
                    self._fill(order, order.size, market, fills, updates, "trade-through")
        return fills, updates

    def _match_takers(
        self,
        order: LiveOrder,
        book: Book | None,
        trades: Sequence[TakerTrade],
        market: MarketState,
        fills: list[Fill],
        updates: list[OrderUpdate],
    ) -> None:
        """Sweep the takers that can reach `order` through the book and its queue."""
        if order.side == "SELL":
            taker_side: Side = "BUY"
            sign = 1.0  # asks: better = lower price; a taker reaches price p if limit >= p
        else:
            taker_side = "SELL"
            sign = -1.0  # bids: better = higher price; a taker reaches p if limit <= p
        p = order.price
        levels = () if book is None else (book.asks if sign > 0 else book.bids)
        # book volume strictly better than us, best first, as mutable remaining sizes
        better = [
            [lv.price, lv.size]
            for lv in levels
            if (p - lv.price) * sign > 0 and not _same_price(lv.price, p)
        ]
        queue = self._queue.get(order.order_id) or 0.0
        current: LiveOrder | None = order
        for t in trades:
            if t.side != taker_side:
                continue
            left = t.size
            for lv in better:
                if left <= 0.0:
                    break
                if lv[1] <= 0.0:
                    continue
                if (t.price - lv[0]) * sign < 0 and not _same_price(t.price, lv[0]):
                    break  # the taker's limit stops before this level
                take = min(left, lv[1])
                lv[1] -= take
                left -= take
            reaches_us = (t.price - p) * sign >= 0 or _same_price(t.price, p)
            if left <= 0.0 or not reaches_us:
                continue
            take = min(left, queue)
            queue -= take
            left -= take
            if left <= 0.0 or current is None:
                continue
            current = self._fill(current, min(left, current.size), market, fills, updates, "taker")
            if current is None:
                break
        if current is not None:
            self._queue[current.order_id] = queue

    def _fill(
        self,
        order: LiveOrder,
        size: float,
        market: MarketState,
        fills: list[Fill],
        updates: list[OrderUpdate],
        how: str,
    ) -> LiveOrder | None:
        """Record a fill of `size` at the order's price; return the order left resting."""
        k = self._fill_count.get(order.order_id, 0) + 1
        self._fill_count[order.order_id] = k
        remaining = order.size - size
        if remaining < MIN_FILL_XRP:
            size, remaining = order.size, 0.0
        fills.append(
            Fill(
                fill_key=f"{order.order_id}:{k}",
                order_id=order.order_id,
                side=order.side,
                price=order.price,
                size=size,
                fee_rlusd=self.fee_bps / 1e4 * order.price * size,
                ts=market.ts,
                ledger_index=market.ledger_index,
            )
        )
        after = replace(order, size=remaining)
        if remaining == 0.0:
            updates.append(OrderUpdate("filled", after, market.ts, detail=how))
            self._drop(order.side)
            return None
        self._orders[order.side] = after
        updates.append(OrderUpdate("partial", after, market.ts, detail=how))
        return after
