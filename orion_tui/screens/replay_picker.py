"""Pick the session to replay when a database holds more than one.

A DataTable of the sessions (newest selected, since that is usually the one the
operator came for); enter opens the highlighted one, escape returns None.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from engine.store.replay import SessionInfo
from orion_tui import fmt


class SessionPickerScreen(ModalScreen[int | None]):
    """Sessions of one database; dismisses with the chosen session id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]
    AUTO_FOCUS = "#picker-table"

    def __init__(
        self, sessions: Sequence[SessionInfo], *, current: int | None = None, db: str = ""
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._sessions = list(sessions)
        self._current = current
        self._db = db

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog", classes="dialog"):
            yield Static("Replay which session?", classes="dialog-title")
            if self._db:
                yield Static(self._db, id="picker-db", markup=False)
            yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
            yield Static("↑↓ choose · enter replay · esc cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("id", key="id")
        table.add_column("mode", key="mode")
        table.add_column("status", key="status")
        table.add_column("started (UTC)", key="started")
        table.add_column("ended (UTC)", key="ended")
        table.add_column("ticks", key="ticks")
        table.add_column("fills", key="fills")
        for s in self._sessions:
            table.add_row(
                str(s.session_id), s.mode, s.status, fmt.stamp(s.started_at),
                fmt.stamp(s.ended_at), f"{s.ticks:,}", f"{s.fills:,}",
                key=str(s.session_id),
            )  # fmt: skip
        ids = [s.session_id for s in self._sessions]
        if ids:
            row = ids.index(self._current) if self._current in ids else len(ids) - 1
            table.move_cursor(row=row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(int(event.row_key.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
