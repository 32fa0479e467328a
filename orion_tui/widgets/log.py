"""The log stream: engine LogEvents plus order, fill, halt, config and session events.

Entries are kept in a bounded deque so a filter change can redraw from them; the
RichLog itself is bounded too, so a long session never grows the console's memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual.widgets import RichLog

from engine.events import (
    ConfigEvent,
    Event,
    FillEvent,
    HaltEvent,
    LogEvent,
    OrderEvent,
    SessionEvent,
)
from orion_tui import fmt

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LEVELS: tuple[Level, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
_LEVEL_STYLE = {"DEBUG": "dim", "INFO": "", "WARNING": "bold yellow", "ERROR": "bold reverse red"}
_LEVEL_TAG = {"DEBUG": "DBG", "INFO": "INF", "WARNING": "WRN", "ERROR": "ERR"}
# A replace happens nearly every tick: DEBUG, so "level ≥ INFO" shows what changed.
_ORDER_LEVEL: dict[str, Level] = {"replaced": "DEBUG", "rejected": "WARNING"}


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: float
    level: Level
    message: str
    source: str = "engine"


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Show entries at or above min_level whose text contains `text` (any case)."""

    text: str = ""
    min_level: Level = "DEBUG"

    @property
    def active(self) -> bool:
        return bool(self.text) or self.min_level != "DEBUG"

    def matches(self, entry: LogEntry) -> bool:
        if LEVELS.index(entry.level) < LEVELS.index(self.min_level):
            return False
        needle = self.text.casefold()
        return not needle or needle in f"{entry.source} {entry.message}".casefold()

    def describe(self) -> str:
        parts = []
        if self.min_level != "DEBUG":
            parts.append(f"≥{self.min_level}")
        if self.text:
            parts.append(f"“{self.text}”")
        return "filter " + " ".join(parts) if parts else ""


def entry_from_event(event: Event) -> LogEntry | None:
    """The log line an engine event deserves (None for ticks: they have panes)."""
    match event:
        case LogEvent(ts=ts, level=level, message=message, source=source):
            return LogEntry(ts, level, message, source)
        case OrderEvent(update=u):
            o = u.order
            size = o.original_size if u.kind == "filled" and o.original_size else o.size
            text = f"{u.kind} {o.side} {fmt.compact(round(size, 4))} @ {fmt.price(o.price)}"
            if u.kind == "partial":
                text += " left"
            if u.replaced_order_id:
                text += f" (replaces {u.replaced_order_id})"
            if u.detail:
                text += f": {u.detail}"
            return LogEntry(
                u.ts, _ORDER_LEVEL.get(u.kind, "INFO"), f"{text} [{o.order_id}]", "order"
            )
        case FillEvent(fill=f):
            return LogEntry(
                f.ts,
                "INFO",
                f"FILL {f.side} {fmt.compact(round(f.size, 4))} @ {fmt.price(f.price)}"
                f" fee {fmt.compact(round(f.fee_rlusd, 6))}",
                "fill",
            )
        case HaltEvent(halt=h, ts=ts, cancelled=n):
            if h.any:
                return LogEntry(
                    ts, "WARNING", f"HALTED {h.label()}, {n} order(s) cancelled", "halt"
                )
            return LogEntry(ts, "WARNING", "resumed: all halts cleared", "halt")
        case ConfigEvent(changes=changes, ts=ts):
            shown = ", ".join(f"{k}: {old} → {new}" for k, old, new in changes[:4])
            more = f" (+{len(changes) - 4} more)" if len(changes) > 4 else ""
            return LogEntry(ts, "INFO", f"config applied: {shown or 'no changes'}{more}", "config")
        case SessionEvent(kind=kind, session_id=sid, ts=ts):
            return LogEntry(ts, "INFO", f"session {sid} {kind}", "session")
    return None


def format_entry(entry: LogEntry) -> Text:
    text = Text(no_wrap=False)
    text.append(fmt.clock(entry.ts), "dim")
    text.append(" ")
    text.append(_LEVEL_TAG[entry.level], _LEVEL_STYLE[entry.level] or "bold")
    text.append(f" {entry.source}: ", "dim")
    style = "bold" if entry.source in ("fill", "halt") else ""
    text.append(entry.message, style)
    return text


class LogPane(RichLog):
    """Bounded, filterable log; the filter redraws from the retained entries.

    `entries` may be handed over from a previous pane (the app moves the log between
    columns when the terminal is resized), so nothing is lost by a re-mount.
    """

    def __init__(
        self,
        *,
        max_entries: int = 1000,
        entries: deque[LogEntry] | None = None,
        log_filter: LogFilter | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            max_lines=max_entries, min_width=20, wrap=True, markup=False, id=id, classes=classes
        )
        self.border_title = "Log"
        self.entries: deque[LogEntry] = (
            entries if entries is not None else deque(maxlen=max_entries)
        )
        self.filter = log_filter or LogFilter()

    def on_mount(self) -> None:
        if self.entries or self.filter.active:
            self.set_filter(self.filter)

    def add(self, entry: LogEntry) -> None:
        self.entries.append(entry)
        if self.filter.matches(entry):
            self.write(format_entry(entry))

    def add_many(self, entries: list[LogEntry], max_written: int = 12, older: int = 0) -> None:
        """Keep the entries (the newest max_entries of all: `/` filters those) but draw
        at most the newest `max_written`, in one write: a flat-out engine logs thousands
        of lines a second, more than anyone can read, and each RichLog write costs a
        screen layout pass. older: lines before these that the caller did not even
        format, because the log could not have kept them."""
        self.entries.extend(entries)
        shown = [e for e in entries if self.filter.matches(e)]
        hidden = older + max(0, len(shown) - max_written)
        if not shown and not hidden:
            return
        text = Text(no_wrap=False)
        if hidden:
            kept = self.entries.maxlen or len(self.entries)
            text.append(f"… {hidden:,} more line(s); the log keeps the newest {kept:,}"
                        ": / filters them", "dim italic")  # fmt: skip
            shown = shown[-max_written:]
            if shown:
                text.append("\n")
        text.append_text(Text("\n").join(format_entry(e) for e in shown))
        self.write(text)

    def set_filter(self, log_filter: LogFilter) -> None:
        self.filter = log_filter
        self.border_subtitle = log_filter.describe()
        self.set_class(log_filter.active, "-filtered")
        self.clear()
        for entry in self.visible_entries():
            self.write(format_entry(entry))

    def visible_entries(self) -> list[LogEntry]:
        return [e for e in self.entries if self.filter.matches(e)]

    def moved_copy(self) -> LogPane:
        """A fresh pane carrying this one's entries and filter, to mount elsewhere."""
        return LogPane(
            max_entries=self.entries.maxlen or 1000,
            entries=self.entries,
            log_filter=self.filter,
            id=self.id,
            classes=" ".join(self.classes),
        )
