"""Custom messages: how the engine worker reports back to the app's message loop.

The engine's own events are not turned into messages (there can be thousands per
second flat out); they go into a bounded buffer the app drains at its refresh rate.
Only the rare, must-not-be-dropped outcomes of the engine task are messages.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class SessionEnded(Message):
    """engine.run() returned: max ticks reached, or a Stop was processed."""

    def __init__(self, summary: dict[str, Any] | None) -> None:
        super().__init__()
        self.summary = summary


class EngineFailed(Message):
    """engine.open() or engine.run() raised; `starting` tells which."""

    def __init__(self, error: str, *, starting: bool = False) -> None:
        super().__init__()
        self.error = error
        self.starting = starting
