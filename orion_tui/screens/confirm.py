"""A generic yes/no dialog: `y` confirms, `n` or escape cancels.

Used before anything that is not the safe direction (resume quoting, quitting with
orders resting, recording capital). The focused button is "No", so a stray enter
never confirms.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask once, answer True (y) or False (n / escape)."""

    BINDINGS = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape", "cancel", "No", id="confirm.no"),
    ]
    AUTO_FOCUS = "#confirm-no"

    def __init__(self, title: str, message: str, *, confirm_label: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._message = message
        self._confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._message, id="confirm-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._confirm_label} (y)", id="confirm-yes", variant="warning")
                yield Button("No (n / esc)", id="confirm-no", variant="default")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
