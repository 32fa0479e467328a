"""Value types shared by every part of the engine.

Plain frozen dataclasses with slots: they cross the engine/console boundary and are
written to the store on every tick, so they must be cheap, immutable and import
nothing heavy. Prices are RLUSD per XRP; sizes are in XRP unless a name says RLUSD.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Literal

Side = Literal["BUY", "SELL"]
SIDES: tuple[Side, Side] = ("BUY", "SELL")
Asset = Literal["XRP", "RLUSD"]
ASSETS: tuple[Asset, Asset] = ("XRP", "RLUSD")
AnchorMode = Literal["mid", "amm", "amm_or_mid", "capped_amm"]
CapState = Literal["inside", "above", "below", "no_amm", "none"]
Action = Literal["place", "replace", "keep", "cancel", "none"]
CapitalKind = Literal["deposit", "withdrawal", "basis_commit"]

# Gate names, in the order the strategy evaluates them (DESIGN.md "Gates").
GATE_ORDER: tuple[str, ...] = (
    "halted",
    "market_stale",
    "book_invalid",
    "exposure_limit",
    "momentum",
    "cross_protection",
    "insufficient_balance",
    "live_order_exists",
)
# live_order_exists failing means "keep the resting order", not "do not quote".
KEEP_GATE = "live_order_exists"


@dataclass(frozen=True, slots=True)
class Level:
    """One price level of the CLOB: price in RLUSD/XRP, size in XRP."""

    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Book:
    """Order book snapshot. bids sorted best (highest) first, asks best (lowest) first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @property
    def best_bid(self) -> float | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> float | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2.0

    @property
    def crossed(self) -> bool:
        return bool(self.bids and self.asks and self.bids[0].price >= self.asks[0].price)


@dataclass(frozen=True, slots=True)
class AmmPool:
    """Constant-product pool. trading_fee is in units of 1/100,000 (XRPL amm_info)."""

    xrp_reserve: float
    rlusd_reserve: float
    trading_fee: int = 0

    @property
    def price(self) -> float | None:
        if self.xrp_reserve <= 0 or self.rlusd_reserve <= 0:
            return None
        return self.rlusd_reserve / self.xrp_reserve


@dataclass(frozen=True, slots=True)
class MarketState:
    """What a market source saw at one tick (a sim step or a closed ledger).

    book_ts / amm_ts are the clock times the data was last refreshed; None means the
    source has never delivered it (or lost it). The strategy decides staleness.
    """

    ledger_index: int
    ts: float
    book: Book | None
    amm: AmmPool | None
    book_ts: float | None
    amm_ts: float | None
    connected: bool = True


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """One of our resting orders, as the execution layer knows it."""

    order_id: str
    side: Side
    price: float
    size: float  # remaining XRP
    placed_ts: float
    original_size: float = 0.0
    sequence: int | None = None  # XRPL offer sequence (live mode)


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill of one of our orders. fee is charged in RLUSD.

    fill_key is unique per database: (tx hash, offer sequence) on XRPL, a
    deterministic id in sim/paper. It is what de-duplicates fills on restart.
    """

    fill_key: str
    order_id: str
    side: Side
    price: float
    size: float
    fee_rlusd: float
    ts: float
    ledger_index: int


@dataclass(frozen=True, slots=True)
class CapitalEvent:
    kind: CapitalKind
    asset: Asset
    amount: float
    note: str = ""
    ts: float = 0.0


@dataclass(frozen=True, slots=True)
class InventorySnapshot:
    """Balances at one instant. Every reader of a balance reads the *total*."""

    xrp_fills_only: float
    xrp_overlay: float
    rlusd_fills_only: float
    rlusd_overlay: float
    mark_price: float
    target_xrp_share_pct: float = 50.0
    xrp_balance: float = field(init=False)
    rlusd_balance: float = field(init=False)
    xrp_value_in_rlusd: float = field(init=False)
    total_value_in_rlusd: float = field(init=False)
    drift_pct: float = field(init=False)

    def __post_init__(self) -> None:
        xrp = self.xrp_fills_only + self.xrp_overlay
        rlusd = self.rlusd_fills_only + self.rlusd_overlay
        xrp_value = xrp * self.mark_price
        total = xrp_value + rlusd
        share = (xrp_value / total * 100.0) if total > 0 else 0.0
        set_xrp, set_rlusd, set_xrp_value, set_total, set_drift = _derived_setters
        set_xrp(self, xrp)
        set_rlusd(self, rlusd)
        set_xrp_value(self, xrp_value)
        set_total(self, total)
        set_drift(self, share - self.target_xrp_share_pct)

    def fills_only(self, asset: Asset) -> float:
        return self.xrp_fills_only if asset == "XRP" else self.rlusd_fills_only

    def overlay(self, asset: Asset) -> float:
        return self.xrp_overlay if asset == "XRP" else self.rlusd_overlay

    def total(self, asset: Asset) -> float:
        return self.xrp_balance if asset == "XRP" else self.rlusd_balance


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate evaluated for one side: what it compared and whether it passed."""

    name: str
    passed: bool
    value: float | str | None = None
    threshold: float | str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SideDecision:
    """The strategy's decision for one side; `action` is derived from `gates`."""

    side: Side
    price: float | None
    size: float | None
    gates: tuple[GateResult, ...]
    action: Action

    @property
    def reason(self) -> str | None:
        """First failing gate: the side's reason this tick (None if all passed)."""
        for g in self.gates:
            if not g.passed:
                return g.name
        return None

    @property
    def quoting(self) -> bool:
        """True when the side has a new or kept order after this tick."""
        return self.action in ("place", "replace", "keep")


@dataclass(frozen=True, slots=True)
class Anchor:
    mode: AnchorMode
    price: float | None  # reference before skew; None when there is no anchor
    mid: float | None
    amm_price: float | None
    divergence_bps: float | None
    cap_state: CapState
    displacement_bps: float | None
    cap_bps: float


@dataclass(frozen=True, slots=True)
class Decision:
    anchor: Anchor
    buy: SideDecision
    sell: SideDecision

    def side(self, side: Side) -> SideDecision:
        return self.buy if side == "BUY" else self.sell


@dataclass(frozen=True, slots=True)
class HaltState:
    all: bool = False
    buy: bool = False
    sell: bool = False

    def side_halted(self, side: Side) -> bool:
        return self.all or (self.buy if side == "BUY" else self.sell)

    @property
    def any(self) -> bool:
        return self.all or self.buy or self.sell

    def label(self) -> str:
        if self.all:
            return "ALL"
        parts = [s for s, on in (("BUY", self.buy), ("SELL", self.sell)) if on]
        return "+".join(parts)


@dataclass(frozen=True, slots=True)
class TakerTrade:
    """A taker order arriving in the market during one tick.

    side is the taker's side: a taker BUY lifts asks (and can fill our SELL); a
    taker SELL hits bids (and can fill our BUY). price is the taker's limit price;
    size is in XRP.
    """

    side: Side
    price: float
    size: float


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """Something that happened to one of our orders (for the orders table and events)."""

    kind: Literal["placed", "replaced", "cancelled", "filled", "partial", "expired", "rejected"]
    order: LiveOrder
    ts: float
    replaced_order_id: str | None = None
    detail: str = ""


def fast_init(cls: type) -> None:
    """Replace a frozen slots dataclass's __init__ with one that is ~40% faster.

    The generated __init__ of a frozen dataclass calls object.__setattr__(self,
    name, value) per field, a generic lookup each time; this one calls each slot's
    own setter, bound once. Same signature, defaults and __post_init__; the class
    stays frozen (assignment after __init__ still raises). The engine builds tens
    of these objects per tick, so this is a measurable part of its tick rate.
    """
    params: list[str] = []
    body: list[str] = []
    env: dict[str, object] = {"_MISSING": MISSING}
    for f in fields(cls):
        if not f.init:
            continue
        env[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not MISSING:
            env[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            body.append(f"    _set_{f.name}(self, {f.name})")
        elif f.default_factory is not MISSING:
            env[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(
                f"    _set_{f.name}(self, _factory_{f.name}() if {f.name} is _MISSING"
                f" else {f.name})"
            )
        else:
            params.append(f.name)
            body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(source, env)  # noqa: S102 - source built above from the class's own fields
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]


for _cls in (Level, Book, AmmPool, MarketState, LiveOrder, Fill, InventorySnapshot,
             GateResult, SideDecision, Anchor, Decision, TakerTrade, OrderUpdate):  # fmt: skip
    fast_init(_cls)
# The derived fields are set through their slots' setters (the class is frozen).
_derived_setters = tuple(
    InventorySnapshot.__dict__[name].__set__
    for name in ("xrp_balance", "rlusd_balance", "xrp_value_in_rlusd", "total_value_in_rlusd",
                 "drift_pct")
)  # fmt: skip
