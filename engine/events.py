"""The engine's public API: commands in, typed events out.

The console (or a headless runner) never touches engine internals: it puts commands
on the engine's queue and reads events / the latest TickEvent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.models import (
    CapitalEvent,
    Decision,
    Fill,
    HaltState,
    InventorySnapshot,
    LiveOrder,
    MarketState,
    OrderUpdate,
    Side,
    fast_init,
)

# ---- commands in -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Halt:
    side: Side | None = None  # None: halt all
    reason: str = "operator"


@dataclass(frozen=True, slots=True)
class Resume:
    side: Side | None = None  # None: clear every halt


@dataclass(frozen=True, slots=True)
class ReloadConfig:
    loaded: object  # engine.settings.LoadedConfig (validated in full before it is sent)


@dataclass(frozen=True, slots=True)
class RecordCapital:
    event: CapitalEvent


@dataclass(frozen=True, slots=True)
class Stop:
    reason: str = "operator"


Command = Halt | Resume | ReloadConfig | RecordCapital | Stop

# ---- events out --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InventoryCheck:
    """Consistency of the inventory shown: the console raises an alarm when not ok."""

    sums_ok: bool  # total == fills_only + overlay for both assets
    rebuild_ok: bool | None  # in-memory == rebuild from the database (None: not checked yet)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.sums_ok and self.rebuild_ok is not False


@dataclass(frozen=True, slots=True)
class TickEvent:
    """Everything the console shows for one tick; replay rebuilds the same object."""

    session_id: int
    seq: int  # tick index within the session, from 1
    mode: str
    market: MarketState
    decision: Decision
    snapshot: InventorySnapshot
    live_orders: tuple[LiveOrder, ...]
    fills: tuple[Fill, ...]  # fills during this tick
    halt: HaltState
    fill_counts: tuple[int, int] = (0, 0)  # BUY, SELL fills so far this session
    check: InventoryCheck = field(default_factory=lambda: InventoryCheck(True, None))
    limits: tuple[float, float] = (0.0, 0.0)  # max_xrp_exposure, max_rlusd_exposure


@dataclass(frozen=True, slots=True)
class OrderEvent:
    update: OrderUpdate


@dataclass(frozen=True, slots=True)
class FillEvent:
    fill: Fill


@dataclass(frozen=True, slots=True)
class HaltEvent:
    halt: HaltState
    ts: float
    cancelled: int = 0  # orders cancelled by this halt


@dataclass(frozen=True, slots=True)
class ConfigEvent:
    changes: tuple[tuple[str, object, object], ...]  # key, old, new
    ts: float


@dataclass(frozen=True, slots=True)
class LogEvent:
    ts: float
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    message: str
    source: str = "engine"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    kind: Literal["started", "stopped"]
    session_id: int
    ts: float
    summary: dict | None = None


Event = TickEvent | OrderEvent | FillEvent | HaltEvent | ConfigEvent | LogEvent | SessionEvent


for _cls in (InventoryCheck, TickEvent, OrderEvent, FillEvent, LogEvent):
    fast_init(_cls)
