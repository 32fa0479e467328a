"""`?`: every key the console answers to, built from the live bindings.

Reading the app's BINDINGS (not a hand-written list) means the help can never
disagree with the keys that actually work or with the footer.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# Keys owned by the dialogs rather than the main screen.
DIALOG_KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+p", "Command palette: every action above, by name"),
    ("y / n, esc", "Confirm / cancel a yes-no question"),
    ("a, enter", "Config review: apply the reviewed file"),
    ("tab / shift+tab", "Dialogs: next / previous field"),
    ("esc", "Close any dialog without doing anything"),
)


class HelpScreen(ModalScreen[None]):
    """A modal listing every operator key and the dialog keys."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(
        self,
        bindings: list[Binding],
        *,
        title: str = "Orion console keys",
        dialog_keys: tuple[tuple[str, str], ...] = DIALOG_KEYS,
    ) -> None:
        """title / dialog_keys: the replay console lists its own dialogs' keys."""
        super().__init__(classes="dialog-screen")
        self._keys = bindings
        self._title = title
        self._dialog_keys = dialog_keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static(self._title, classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(self._table(), id="help-table")
            yield Static("esc, ? or q to close", classes="dialog-hint")

    def _table(self) -> Table:
        table = Table(box=None, padding=(0, 1), expand=True, show_header=False)
        table.add_column("key", no_wrap=True, justify="right")
        table.add_column("what it does", ratio=1)
        for binding in self._keys:
            key = binding.key_display or binding.key
            table.add_row(
                Text(f" {key} ", style="bold reverse"), binding.tooltip or binding.description
            )
        table.add_row("", "")
        table.add_row("", Text("in dialogs", style="bold underline"))
        for key, text in self._dialog_keys:
            table.add_row(Text(f" {key} ", style="bold reverse"), text)
        return table

    def action_close(self) -> None:
        self.dismiss(None)
