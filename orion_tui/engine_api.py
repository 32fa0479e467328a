"""The slice of the engine the console depends on, as a Protocol.

The console is duck-typed against this so tests (and the replay reader) can hand it
a fake: nothing here imports engine internals beyond the shared value types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from engine.events import Command, Event, TickEvent
from engine.models import HaltState


@runtime_checkable
class EngineLike(Protocol):
    """What OrionApp calls on an engine (engine.loop.Engine satisfies it)."""

    latest: TickEvent | None
    halt: HaltState
    settings: Any  # engine.settings.OrionSettings
    loaded: Any  # engine.settings.LoadedConfig (its .path is reloaded by `c`)
    session_id: int
    mode: str

    async def open(self) -> None: ...

    async def run(self) -> dict[str, Any]: ...

    def submit(self, cmd: Command) -> None: ...

    def subscribe(self, callback: Callable[[Event], None]) -> None: ...

    def open_orders(self) -> int: ...

    def recent_divergences(self) -> Sequence[float]: ...
