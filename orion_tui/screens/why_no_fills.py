"""`w` in replay: why did a side not fill? No-quote reasons per side over the session.

The numbers are engine.summary.why_no_fills (the same function the session summary
uses), computed by a thread worker on its own connection: it scans the whole
session, about a second for a million ticks, and the replay must stay responsive
meanwhile. Enter on a reason dismisses with (side, reason) so the replay can jump to
the next tick where that side had that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, LoadingIndicator, Static
from textual.worker import get_current_worker

from engine.models import SIDES

NARROW = 100  # below this many columns the two sides stack


def side_heading(side: str, info: dict[str, Any], ticks: int) -> str:
    """`BUY  quoting 2,834/3,000 (94.5%) · 210 fills`."""
    quoting = info["quoting_ticks"]
    share = quoting / ticks if ticks else 0.0
    return f"{side}  quoting {quoting:,}/{ticks:,} ({share:.1%}) · {info['fills']:,} fills"


class WhyNoFillsScreen(ModalScreen[tuple[str, str] | None]):
    """Per side: each no-quote reason with its tick count and share of the session."""

    BINDINGS = [Binding("escape,w", "close", "Close", id="why.close")]
    AUTO_FOCUS = "#why-BUY"

    def __init__(
        self,
        compute: Callable[[], dict[str, Any]],
        *,
        session_id: int,
        ticks: int,
        result: dict[str, Any] | None = None,
    ) -> None:
        """compute runs in a worker thread (it must open its own connection); result:
        a cached answer for an unchanged session, shown at once."""
        super().__init__(classes="dialog-screen")
        self._compute = compute
        self._session_id = session_id
        self._ticks = ticks
        self.result = result
        self._started = 0.0

    def compose(self) -> ComposeResult:
        with Vertical(id="why-dialog", classes="dialog"):
            yield Static(f"Why no fills · session {self._session_id}", classes="dialog-title")
            yield Static("", id="why-status")
            yield LoadingIndicator(id="why-loading")
            with Horizontal(id="why-tables"):
                for side in SIDES:
                    with Vertical(classes="why-side"):
                        yield Static(side, id=f"why-head-{side}", classes="why-head")
                        yield DataTable(id=f"why-{side}", cursor_type="row", zebra_stripes=True)
            yield Static(
                "enter jump to the next tick with that reason (then n: the next one)"
                " · tab other side · esc close",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")
        for side in SIDES:
            table = self.query_one(f"#why-{side}", DataTable)
            table.add_column("no-quote reason", key="reason")
            table.add_column("ticks", key="ticks")
            table.add_column("share", key="share")
        if self.result is not None:
            self._show(self.result)
        else:
            self._started = time.perf_counter()
            self.set_class(True, "-computing")
            self._tick_status()
            self._status_timer = self.set_interval(0.25, self._tick_status)
            self._run()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")

    @property
    def computing(self) -> bool:
        return self.has_class("-computing")

    def _tick_status(self) -> None:
        elapsed = time.perf_counter() - self._started
        self.query_one("#why-status", Static).update(
            f"computing over {self._ticks:,} ticks… {elapsed:.1f} s"
        )

    @work(thread=True, exclusive=True, group="why-no-fills")
    def _run(self) -> None:
        try:
            result = self._compute()
        except Exception as exc:  # a damaged page, a vanished file: say so, keep replaying
            self._back(self._failed, f"could not compute: {type(exc).__name__}: {exc}")
            return
        self._back(self._show, result)

    def _back(self, callback: Callable[[Any], None], arg: Any) -> None:
        """To the UI thread, unless the dialog was closed or the app has exited."""
        if get_current_worker().is_cancelled:
            return
        try:
            self.app.call_from_thread(callback, arg)
        except RuntimeError:
            pass  # the app is gone (quit while computing)

    def _failed(self, message: str) -> None:
        if not self.is_attached:
            return
        self._status_timer.stop()
        self.set_class(False, "-computing")
        self.query_one("#why-status", Static).update(message)

    def _show(self, result: dict[str, Any]) -> None:
        """Fill both tables (called on the UI thread)."""
        if not self.is_attached:
            return
        if self.computing:
            self._status_timer.stop()
            self.set_class(False, "-computing")
        self.result = result
        ticks = result["ticks"]
        self.query_one("#why-status", Static).update(
            f"{ticks:,} ticks · a tick without a quote counts under its first failing gate"
        )
        for side in SIDES:
            info = result["sides"][side]
            self.query_one(f"#why-head-{side}", Static).update(side_heading(side, info, ticks))
            table = self.query_one(f"#why-{side}", DataTable)
            table.clear()
            for reason, row in info["reasons"].items():
                table.add_row(
                    reason, f"{row['ticks']:,}", f"{row['share']:.1%}", key=f"{side}:{reason}"
                )
            if not info["reasons"]:
                table.add_row("(quoted every tick)", "", "", key=f"{side}:")

    def rows(self, side: str) -> list[tuple[str, str, str]]:
        """The table's cells, as shown (for tests and screenshots)."""
        table = self.query_one(f"#why-{side}", DataTable)
        return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]  # type: ignore[misc]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        side, _, reason = str(event.row_key.value).partition(":")
        if reason:
            self.dismiss((side, reason))

    def action_close(self) -> None:
        self.dismiss(None)
