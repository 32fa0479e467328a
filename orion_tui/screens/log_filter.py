"""`/`: filter the log pane by text and minimum level.

Returns a LogFilter (or None on escape); an empty text with level DEBUG clears it.
"""

from __future__ import annotations

from typing import cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from orion_tui.widgets.log import LEVELS, Level, LogFilter


class LogFilterScreen(ModalScreen[LogFilter | None]):
    """Text + level; enter applies, escape leaves the filter as it was."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="filter.cancel"),
        Binding("ctrl+r", "clear", "Clear", id="filter.clear"),
    ]

    def __init__(self, current: LogFilter) -> None:
        super().__init__(classes="dialog-screen")
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-dialog", classes="dialog"):
            yield Static("Filter the log", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("text", classes="field-label")
                yield Input(
                    value=self._current.text,
                    placeholder="any case; empty shows all",
                    id="filter-text",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("level ≥", classes="field-label")
                yield Select(
                    [(level, level) for level in LEVELS],
                    value=self._current.min_level,
                    allow_blank=False,
                    id="filter-level",
                    compact=True,
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", id="filter-apply", variant="primary")
                yield Button("Clear (ctrl+r)", id="filter-clear")
            yield Static("enter apply · ctrl+r clear · esc cancel", classes="dialog-hint")

    def _result(self) -> LogFilter:
        text = self.query_one("#filter-text", Input).value.strip()
        level = self.query_one("#filter-level", Select).value
        min_level = cast(Level, level) if level in LEVELS else "DEBUG"
        return LogFilter(text=text, min_level=min_level)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self._result())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "filter-apply":
            self.dismiss(self._result())
        else:
            self.action_clear()

    def action_clear(self) -> None:
        self.dismiss(LogFilter())

    def action_cancel(self) -> None:
        self.dismiss(None)
