"""Inventory truth: fills-only balances, the capital overlay, and their total.

Fills move the fills-only balance (and only fills write inventory_ledger); capital
events move the overlay; basis_commit records RLUSD cost basis and moves nothing.
Everything that reads a balance reads the total (`snapshot()`), and a rebuild from
the database replays the very same float operations in the same order, so the
rebuilt snapshot equals the incremental one exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from engine.models import ASSETS, Asset, CapitalEvent, Fill, InventorySnapshot


class InventoryError(ValueError):
    """A capital event or fill that would make the books wrong (one-line message)."""


@dataclass(frozen=True, slots=True)
class LedgerRow:
    asset: Asset
    delta: float
    new_balance: float
    fill_key: str


def fill_deltas(fill: Fill) -> tuple[float, float]:
    """(XRP delta, RLUSD delta) of a fill; the fee is paid in RLUSD."""
    notional = fill.price * fill.size
    if fill.side == "BUY":
        return fill.size, -notional - fill.fee_rlusd
    return -fill.size, notional - fill.fee_rlusd


def validate_amount(amount: object) -> float:
    try:
        value = float(amount)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InventoryError(f"amount {amount!r} is not a number") from None
    if not math.isfinite(value):
        raise InventoryError(f"amount {amount!r} is not a finite number")
    if value <= 0:
        raise InventoryError(f"amount {amount!r} must be greater than zero")
    return value


class InventoryManager:
    """In-memory balances for one database (one account)."""

    def __init__(
        self,
        starting: dict[str, float] | None = None,
        target_xrp_share_pct: float = 50.0,
    ) -> None:
        starting = starting or {}
        self.fills_only: dict[str, float] = {a: float(starting.get(a, 0.0)) for a in ASSETS}
        self.overlay: dict[str, float] = {a: 0.0 for a in ASSETS}
        self.rlusd_basis = 0.0
        self.target_xrp_share_pct = target_xrp_share_pct

    # -- writes ----------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> list[LedgerRow]:
        """Move fills-only balances; returns the ledger rows to persist (one per asset)."""
        dx, dr = fill_deltas(fill)
        fo = self.fills_only
        fo["XRP"] = fo["XRP"] + dx
        fo["RLUSD"] = fo["RLUSD"] + dr
        return [
            LedgerRow("XRP", dx, fo["XRP"], fill.fill_key),
            LedgerRow("RLUSD", dr, fo["RLUSD"], fill.fill_key),
        ]

    def check_capital(self, event: CapitalEvent) -> CapitalEvent:
        """Validate a capital event against the current total; raises InventoryError."""
        if event.asset not in ASSETS:
            raise InventoryError(f"unknown asset {event.asset!r}: use XRP or RLUSD")
        if event.kind not in ("deposit", "withdrawal", "basis_commit"):
            raise InventoryError(f"unknown capital event kind {event.kind!r}")
        amount = validate_amount(event.amount)
        if event.kind == "basis_commit" and event.asset != "RLUSD":
            raise InventoryError("basis_commit records RLUSD cost basis: asset must be RLUSD")
        if event.kind == "withdrawal" and amount > self.total(event.asset) + 1e-12:
            raise InventoryError(
                f"withdrawal of {amount:g} {event.asset} exceeds the total balance "
                f"{self.total(event.asset):g} {event.asset}"
            )
        return event

    def apply_capital(self, event: CapitalEvent) -> None:
        self.check_capital(event)
        self._apply_capital_unchecked(event.kind, event.asset, event.amount)

    def _apply_capital_unchecked(self, kind: str, asset: str, amount: float) -> None:
        if kind == "deposit":
            self.overlay[asset] = self.overlay[asset] + amount
        elif kind == "withdrawal":
            self.overlay[asset] = self.overlay[asset] - amount
        else:  # basis_commit moves no balance
            self.rlusd_basis = self.rlusd_basis + amount

    # -- reads -----------------------------------------------------------------

    def total(self, asset: str) -> float:
        return self.fills_only[asset] + self.overlay[asset]

    def snapshot(self, mark_price: float) -> InventorySnapshot:
        return InventorySnapshot(
            xrp_fills_only=self.fills_only["XRP"],
            xrp_overlay=self.overlay["XRP"],
            rlusd_fills_only=self.fills_only["RLUSD"],
            rlusd_overlay=self.overlay["RLUSD"],
            mark_price=mark_price,
            target_xrp_share_pct=self.target_xrp_share_pct,
        )

    def balances(self) -> dict[str, tuple[float, float, float]]:
        """asset -> (fills_only, overlay, total)."""
        return {a: (self.fills_only[a], self.overlay[a], self.total(a)) for a in ASSETS}

    def copy(self) -> InventoryManager:
        other = InventoryManager(target_xrp_share_pct=self.target_xrp_share_pct)
        other.fills_only = dict(self.fills_only)
        other.overlay = dict(self.overlay)
        other.rlusd_basis = self.rlusd_basis
        return other

    def same_as(self, other: InventoryManager) -> bool:
        return (
            self.fills_only == other.fills_only
            and self.overlay == other.overlay
            and self.rlusd_basis == other.rlusd_basis
        )

    # -- rebuild ---------------------------------------------------------------

    @classmethod
    def rebuild(
        cls,
        last_ledger_balance: dict[str, float],
        capital_rows: Iterable[tuple[str, str, float]],
        target_xrp_share_pct: float = 50.0,
    ) -> InventoryManager:
        """From the last inventory_ledger new_balance per asset and the capital events
        (kind, asset, amount) in id order."""
        inv = cls(last_ledger_balance, target_xrp_share_pct)
        for kind, asset, amount in capital_rows:
            inv._apply_capital_unchecked(kind, asset, amount)
        return inv


LAST_BALANCE_SQL = (
    "SELECT asset, new_balance FROM inventory_ledger WHERE id IN "
    "(SELECT MAX(id) FROM inventory_ledger GROUP BY asset)"
)
CAPITAL_SQL = "SELECT kind, asset, amount FROM capital_events ORDER BY id"


def rebuild_from_sqlite(conn: object, target_xrp_share_pct: float = 50.0) -> InventoryManager:
    """Rebuild from a sqlite3 connection (read-only is fine)."""
    last = dict(conn.execute(LAST_BALANCE_SQL).fetchall())  # type: ignore[attr-defined]
    caps = conn.execute(CAPITAL_SQL).fetchall()  # type: ignore[attr-defined]
    return InventoryManager.rebuild(last, caps, target_xrp_share_pct)
