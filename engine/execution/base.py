"""The execution interface the loop drives: paper (simulated fills) and live (XRPL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from engine.models import Decision, Fill, LiveOrder, MarketState, OrderUpdate, Side, TakerTrade


class Execution(Protocol):
    """One live order per side at most. Implementations keep no database handle:
    the loop persists what they return, in one transaction per tick."""

    def live_orders(self) -> dict[Side, LiveOrder]:
        """Resting orders by side (a side absent has no order)."""
        ...

    async def execute(self, decision: Decision, ts: float, ledger_index: int) -> list[OrderUpdate]:
        """Apply each side's action: place, replace (atomically), cancel; keep/none do nothing."""
        ...

    async def collect_fills(
        self, market: MarketState, trades: Sequence[TakerTrade]
    ) -> tuple[list[Fill], list[OrderUpdate]]:
        """Fills of our resting orders since the last call, and the order updates they
        cause (partial / filled). Live ignores `trades` and reads transaction metadata."""
        ...

    async def cancel_all(self, ts: float) -> list[OrderUpdate]:
        """Cancel every resting order (halt, quit, shutdown)."""
        ...
