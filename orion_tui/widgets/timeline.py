"""The replay timeline: one line saying where in the session the replay stands.

Play state and speed, tick seq / count, a bar across the session and the tick's
time. It re-renders only when one of those changes, and a click on the bar seeks,
so a mouse can scrub as well as the keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from orion_tui import fmt

MIN_BAR = 8


@dataclass(frozen=True, slots=True)
class TimelineState:
    """Everything the line shows; equal states render the same line."""

    seq: int = 0
    first_seq: int = 0
    last_seq: int = 0
    ts: float | None = None
    playing: bool = False
    speed: float = 10.0
    follow: bool = False  # --follow: the end grows while an engine writes
    tail: bool = False  # following and at the newest tick

    @property
    def fraction(self) -> float:
        span = self.last_seq - self.first_seq
        if span <= 0:
            return 1.0 if self.last_seq else 0.0
        return min(1.0, max(0.0, (self.seq - self.first_seq) / span))


def play_label(playing: bool, speed: float) -> str:
    """Shared by the header and the timeline so both say the same thing."""
    return f"▶ {speed:g}/s" if playing else f"‖ paused {speed:g}/s"


class Timeline(Widget):
    """Where you are: `‖ 10/s  tick 1,234/3,000  ━━━━●──────  01:18:10Z`."""

    DEFAULT_CSS = """
    Timeline {
        height: 1;
        background: $panel;
    }
    """

    class Seek(Message):
        """The bar was clicked: go to this tick."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = TimelineState()
        self._bar: tuple[int, int] = (0, 0)  # x offset and width of the bar last drawn

    def show(self, state: TimelineState) -> None:
        if state != self.state:
            self.state = state
            self.refresh()

    def render(self) -> Text:
        s = self.state
        width = self.size.width
        text = Text(no_wrap=True, overflow="crop")
        text.append(f" {play_label(s.playing, s.speed)} ", "bold reverse" if s.playing else "bold")
        if not s.last_seq:
            text.append("  no ticks recorded yet", "italic")
            if s.follow:
                text.append(" (following: waiting for the engine)", "dim")
            self._bar = (0, 0)
            return text
        count = s.last_seq - s.first_seq + 1
        text.append(f" tick {s.seq:,}/{s.last_seq:,} ", "bold")
        right = Text(no_wrap=True)
        if s.ts is not None:
            right.append(f" {fmt.clock(s.ts)}Z ", "")
        if s.tail:
            right.append(" TAIL ", "bold reverse green")
        elif s.follow:
            right.append(" follow ", "dim")
        bar_width = width - text.cell_len - right.cell_len - 1
        if bar_width < MIN_BAR:  # 80 columns and a long session: drop the clock first
            right = Text(" TAIL ", "bold reverse green") if s.tail else Text()
            bar_width = width - text.cell_len - right.cell_len - 1
        if bar_width >= MIN_BAR:
            self._bar = (text.cell_len, bar_width)
            pos = round(s.fraction * (bar_width - 1))
            text.append("━" * pos, "bold magenta")
            text.append("●", "bold")
            text.append("─" * (bar_width - 1 - pos), "dim")
            text.append(" ")
        else:
            self._bar = (0, 0)
        text.append_text(right)
        self.tooltip = f"{count:,} ticks; click the bar to seek"
        return text

    @property
    def bar_span(self) -> tuple[int, int]:
        """(x offset, width) of the bar as last drawn; (0, 0) when there is none."""
        return self._bar

    def on_click(self, event: events.Click) -> None:
        x0, width = self._bar
        s = self.state
        if width <= 1 or not s.last_seq or not x0 <= event.x < x0 + width:
            return
        fraction = (event.x - x0) / (width - 1)
        self.post_message(self.Seek(s.first_seq + round(fraction * (s.last_seq - s.first_seq))))
