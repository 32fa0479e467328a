"""OrionApp: the operator console, embedding the async engine in Textual's loop.

Data flow: the engine runs as a worker in this loop and calls our subscriber for
every event; the subscriber only appends to bounded deques (it must not block or
raise). A timer at `refresh_hz` drains the log buffer and renders the latest tick
from `engine.latest`, so the engine never waits on rendering and ticks arriving
faster than the refresh rate are simply skipped by the panes.

Keys act on the main screen only: while a dialog is open it owns the keyboard
(check_action disables the operator actions), so typing into a dialog can never
halt, resume or quit by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from engine.events import (
    Event,
    Halt,
    HaltEvent,
    RecordCapital,
    ReloadConfig,
    Resume,
    SessionEvent,
    Stop,
    TickEvent,
)
from engine.models import CapitalEvent, Side
from orion_tui.engine_api import EngineLike
from orion_tui.messages import EngineFailed, SessionEnded
from orion_tui.screens.capital import CapitalScreen
from orion_tui.screens.config_review import ConfigReviewScreen
from orion_tui.screens.confirm import ConfirmScreen
from orion_tui.screens.help import HelpScreen
from orion_tui.screens.log_filter import LogFilterScreen
from orion_tui.widgets.divergence import DivergencePane
from orion_tui.widgets.guards import GuardsPane
from orion_tui.widgets.header import OrionHeader, Phase
from orion_tui.widgets.inventory import InventoryPane
from orion_tui.widgets.ladder import QuoteLadder
from orion_tui.widgets.log import Level, LogEntry, LogFilter, LogPane, entry_from_event


@dataclass(frozen=True, slots=True)
class OperatorCommand:
    """One operator action: its key binding, footer label and palette / help text."""

    id: str
    key: str
    action: str
    label: str
    help: str
    key_display: str | None = None
    group: Binding.Group | None = None

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            priority=True,
            id=self.id,
            key_display=self.key_display,
            tooltip=self.help,
            group=self.group,
        )


HALT_GROUP = Binding.Group("Halt all/BUY/SELL")


OPERATOR_COMMANDS: tuple[OperatorCommand, ...] = (
    OperatorCommand(
        "halt-all",
        "h",
        "halt_all",
        "Halt all",
        "Halt all quoting now (cancels orders)",
        group=HALT_GROUP,
    ),
    OperatorCommand(
        "halt-buy", "b", "halt_buy", "Halt BUY", "Halt the BUY side now", group=HALT_GROUP
    ),
    OperatorCommand(
        "halt-sell", "s", "halt_sell", "Halt SELL", "Halt the SELL side now", group=HALT_GROUP
    ),
    OperatorCommand("resume", "u", "resume", "Resume", "Resume quoting (asks to confirm)"),
    OperatorCommand(
        "reload-config",
        "c",
        "reload_config",
        "Config",
        "Reload the config file: diff, safety review, apply on confirm",
    ),
    OperatorCommand(
        "capital-event",
        "e",
        "capital_event",
        "Capital",
        "Record a deposit, withdrawal or basis commit (asks to confirm)",
    ),
    OperatorCommand(
        "log-filter",
        "slash",
        "log_filter",
        "Filter",
        "Filter the log by text and level",
        key_display="/",
    ),
    OperatorCommand("help", "question_mark", "help", "Help", "Show every key", key_display="?"),
    OperatorCommand(
        "quit",
        "q",
        "quit",
        "Quit",
        "Quit: stops the engine, cancelling open orders first (asks when orders rest)",
    ),
)
OPERATOR_ACTIONS = frozenset(cmd.action for cmd in OPERATOR_COMMANDS)

# Panes redraw at most this often: a ledger every 3-5 s is shown within 250 ms. A
# frame (rich tables, Textual's compositor) costs tens of milliseconds on the small
# machines this runs on, so when ticks come faster than any ledger (a sim flat out)
# the whole console (panes, log, header) is drawn at FLAT_OUT_REFRESH_HZ instead, and
# the engine keeps ~90% of its headless speed (benchmarks/console.py).
DEFAULT_REFRESH_HZ = 4.0
EXIT_WATCHDOG_S = 3.0  # after a SIGHUP/SIGTERM, once the engine is down
FAST_TICKS_PER_S = 20.0  # faster than any ledger: a sim running flat out
FLAT_OUT_REFRESH_HZ = 1.0
_INF = float("inf")
COMPACT_HEIGHT = 34  # below this many rows the panes drop their side borders
PALETTE_IN_FOOTER_WIDTH = 100  # narrower: ctrl+p still works, the footer keeps the room


class OrionApp(App[dict[str, Any] | None]):
    """The Orion operator console around one engine (real, fake, or replayed)."""

    CSS_PATH = "orion.tcss"
    TITLE = "Orion"
    BINDINGS: ClassVar[list[BindingType]] = [cmd.binding() for cmd in OPERATOR_COMMANDS]

    def __init__(
        self,
        engine: EngineLike,
        *,
        clock: Callable[[], float] = time.time,
        refresh_hz: float = DEFAULT_REFRESH_HZ,
        start_engine: bool = True,
        open_engine: bool = False,
        log_lines: int = 1000,
        event_buffer: int = 20_000,
    ) -> None:
        """
        Args:
            engine: anything with the Engine API (see orion_tui.engine_api.EngineLike).
            clock: wall clock for the header (injected so screenshots are deterministic).
            refresh_hz: how often panes are redrawn from engine.latest.
            start_engine: run engine.run() as a worker on mount; False when the
                caller already runs the engine in this loop (the app then only watches).
            open_engine: await engine.open() first (an EngineStartError exits the app
                with return code 1 and the error as its message).
            log_lines: entries kept by the log pane.
            event_buffer: engine events buffered between two refreshes (a flat-out sim
                sends ~6,000 a second and is drained once a second).
        """
        super().__init__()
        if refresh_hz <= 0:
            raise ValueError("refresh_hz must be positive")
        self.engine = engine
        self.clock = clock
        self.refresh_hz = refresh_hz
        self.start_engine = start_engine
        self.open_engine = open_engine
        self.log_lines = log_lines
        self.phase: Phase = "starting" if start_engine else "running"
        self.summary: dict[str, Any] | None = None
        # Engine events, and console notes that must keep their order among them.
        self._events: deque[Event | LogEntry] = deque(maxlen=event_buffer)
        self._log_entries: deque[LogEntry] = deque(maxlen=log_lines)
        self._dropped = 0
        self._shown_tick: TickEvent | None = None
        self._refreshed: tuple[float, int] | None = None  # (monotonic time, tick seq)
        self._quitting = False
        self._mounted = False
        # Subscribed now, not on mount: what the engine says while it opens and while
        # the app starts (session started, the first orders) waits in the buffer.
        engine.subscribe(self._on_engine_event)

    # ---- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        compact = self.size.height < COMPACT_HEIGHT
        log = LogPane(
            max_entries=self.log_lines, entries=self._log_entries, id="log", classes="pane"
        )
        yield OrionHeader(id="header")
        with Horizontal(id="panes", classes="-compact" if compact else ""):
            with Vertical(id="left-column"):
                yield QuoteLadder(id="ladder", classes="pane")
                yield DivergencePane(id="divergence", classes="pane")
                if compact:
                    yield log
            with Vertical(id="right-column"):
                yield GuardsPane(id="guards", classes="pane")
                yield InventoryPane(id="inventory", classes="pane")
                if not compact:
                    yield log
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        if self.start_engine:  # the app owns the engine: it handles the signals too
            self._install_signal_handlers()
        self._mounted = True
        self.set_interval(1.0 / self.refresh_hz, self._on_refresh_timer, name="refresh")
        await self._apply_size(self.size.width, self.size.height)
        self.refresh_panes()
        if self.start_engine and not getattr(self.engine, "running", False):
            self.run_worker(self._run_engine(), name="engine", group="engine", exit_on_error=False)
        else:
            self.start_engine = False  # someone else runs it: watch for SessionEvent "stopped"
            self.phase = "running"

    async def on_resize(self, event: events.Resize) -> None:
        await self._apply_size(event.size.width, event.size.height)

    async def _apply_size(self, width: int, height: int) -> None:
        """Compact layout for small terminals (80x24 over SSH), roomier when tall.

        Compact: the log sits under the ladder in the left column and panes keep only
        a title rule. Tall: the log moves under the inventory, so the ladder gets the
        whole left column for depth.
        """
        compact = height < COMPACT_HEIGHT
        self.query_one("#panes").set_class(compact, "-compact")
        self.query_one(DivergencePane).compact = compact
        self.query_one(Footer).show_command_palette = width >= PALETTE_IN_FOOTER_WIDTH
        target = self.query_one("#left-column" if compact else "#right-column", Vertical)
        log = self.log_pane()
        if log is not None and log.parent is not target:
            moved = log.moved_copy()
            await log.remove()
            await target.mount(moved)

    def _install_signal_handlers(self) -> None:
        """A lost terminal (SIGHUP, e.g. a dropped SSH session) or SIGTERM halts
        everything, lets the engine cancel its orders and write the summary, then exits."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig.name)

    def _on_signal(self, name: str) -> None:
        self.engine.submit(Halt(side=None, reason=name))
        if self.phase in ("ended", "failed"):
            self.exit(self.summary)
        elif not self._quitting:
            self._stop_and_exit(reason=name)

    # ---- engine side -------------------------------------------------------------

    def _on_engine_event(self, event: Event) -> None:
        """Engine subscriber: O(1), never raises, never touches widgets."""
        if isinstance(event, TickEvent):
            return  # panes read engine.latest at the refresh rate
        if len(self._events) == self._events.maxlen:
            self._dropped += 1
        self._events.append(event)
        if isinstance(event, HaltEvent) and self._mounted:  # show it now, not next frame
            self.call_later(self._on_halt_event)

    async def _run_engine(self) -> None:
        """The engine task: open (optionally), run, and report how it ended."""
        if self.open_engine:
            try:
                await self.engine.open()
            except Exception as exc:  # EngineStartError carries a one-line message
                self.post_message(EngineFailed(str(exc), starting=True))
                return
        self.phase = "running"
        try:
            summary = await self.engine.run()  # the real Engine opens itself if needed
        except Exception as exc:
            if type(exc).__name__ == "EngineStartError":
                self.post_message(EngineFailed(str(exc), starting=True))
            else:
                self.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SessionEnded(summary))

    def on_session_ended(self, message: SessionEnded) -> None:
        if self.phase == "ended":
            return
        self.phase = "ended"
        self.summary = message.summary
        self._note("INFO", f"session ended{_summary_text(message.summary)}", "console")
        self.refresh_panes()
        if self._quitting:
            self.exit(self.summary)
        else:
            self.notify("The engine stopped: no more ticks. q quits.", title="Session ended")

    def on_engine_failed(self, message: EngineFailed) -> None:
        if message.starting:
            self.exit(return_code=1, message=f"orion: cannot start the engine: {message.error}")
            return
        self.phase = "failed"
        self._note("ERROR", f"engine stopped with an error: {message.error}", "console")
        self.refresh_panes()
        if self._quitting:
            self.exit(self.summary, return_code=1)
        else:
            self.notify(message.error, title="Engine error", severity="error", timeout=30)

    # ---- refresh -----------------------------------------------------------------

    def _since_refresh(self) -> tuple[float, bool]:
        """Seconds since the last draw, and whether ticks came faster than any ledger
        meanwhile (a sim running flat out)."""
        last = self._refreshed
        tick = self.engine.latest
        if last is None or tick is None:
            return _INF, False
        elapsed = max(time.monotonic() - last[0], 1e-6)
        return elapsed, (tick.seq - last[1]) / elapsed > FAST_TICKS_PER_S

    def _on_refresh_timer(self) -> None:
        """Follow every tick of a live market (a ledger every few seconds), but draw
        at most FLAT_OUT_REFRESH_HZ while a sim runs flat out: nobody reads faster,
        and every frame is CPU the engine would otherwise use."""
        elapsed, fast = self._since_refresh()
        if fast and elapsed < 1.0 / FLAT_OUT_REFRESH_HZ:
            return
        self.refresh_panes()

    def _on_halt_event(self) -> None:
        """A halt or resume shows in the header and log at once; flat out, the panes
        keep their 1 Hz (a full frame would delay the operator's next key)."""
        self.refresh_panes(panes=not self._since_refresh()[1])

    def refresh_panes(self, *, panes: bool = True) -> None:
        """Drain buffered events into the log and update the header; redraw the panes
        too if a new tick arrived (unless panes=False)."""
        tick = self.engine.latest
        # Every draw restarts the flat-out wait, a halt's too: the frames that follow
        # a key press are the ones most likely to hold up the operator's next key.
        self._refreshed = (time.monotonic(), tick.seq if tick is not None else 0)
        try:
            self._refresh_panes(tick if panes else None)
        except NoMatches:
            pass  # the main screen is being torn down (app exit): nothing to draw into

    def _refresh_panes(self, tick: TickEvent | None) -> None:
        self._drain_events()
        if tick is not None and tick is not self._shown_tick:
            self._shown_tick = tick
            self.query_one(QuoteLadder).show(tick)
            self.query_one(DivergencePane).show(tick, self.engine.recent_divergences())
            self.query_one(GuardsPane).show(tick)
            self.query_one(InventoryPane).show(tick)
        self.query_one(OrionHeader).show(
            mode=self.engine.mode,
            session_id=getattr(self.engine, "session_id", None) or None,
            tick=self._shown_tick,
            halt=self.engine.halt,
            now=self.clock(),
            phase=self.phase,
            open_orders=self.engine.open_orders(),
        )

    def log_pane(self) -> LogPane | None:
        """The log pane, or None for the moment it is being moved between columns."""
        panes = self.query(LogPane)
        return panes.first() if panes else None

    def _drain_events(self) -> None:
        log = self.log_pane()
        if log is None:
            return  # events wait in the bounded buffer until the pane is back
        if self._dropped:
            self._note("WARNING", f"{self._dropped} engine event(s) dropped: console too slow")
            self._dropped = 0
        events = self._events
        self._events = deque(maxlen=events.maxlen)
        # The log keeps the newest log_lines entries: a flat-out sim sends thousands of
        # events between two refreshes, and formatting lines that the same call would
        # push straight out of the log only delays the next key press.
        older = max(0, len(events) - self.log_lines)
        entries: list[LogEntry] = []
        for i, event in enumerate(events):
            if (
                isinstance(event, SessionEvent)
                and event.kind == "stopped"
                and not self.start_engine
            ):
                self.post_message(SessionEnded(event.summary))
            if i < older:
                continue
            entry = event if isinstance(event, LogEntry) else entry_from_event(event)
            if entry is not None:
                entries.append(entry)
        if entries:
            log.add_many(entries, older=older)

    def _note(self, level: Level, message: str, source: str = "console") -> None:
        entry = LogEntry(self.clock(), level, message, source)
        log = self.log_pane()
        if log is not None:
            log.add(entry)
        else:
            self._log_entries.append(entry)  # shared with the pane being remounted

    # ---- actions -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Operator keys belong to the main screen: disabled while a dialog is open."""
        return not (action in OPERATOR_ACTIONS and len(self.screen_stack) > 1)

    def _halt(self, side: Side | None) -> None:
        # Nothing slow before or right after the submit: the engine cancels on the
        # loop's next iteration, and its HaltEvent redraws the panes. The note is only
        # queued, ahead of the engine's answer, so the log reads request -> halted.
        note = LogEntry(self.clock(), "DEBUG", f"halt {side or 'ALL'} requested", "console")
        self._events.append(note)
        self.engine.submit(Halt(side=side, reason="operator"))

    def action_halt_all(self) -> None:
        self._halt(None)

    def action_halt_buy(self) -> None:
        self._halt("BUY")

    def action_halt_sell(self) -> None:
        self._halt("SELL")

    def action_resume(self) -> None:
        halt = self.engine.halt
        what = f"Currently halted: {halt.label()}." if halt.any else "Nothing is halted."

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.engine.submit(Resume())
                self._note("DEBUG", "resume requested")
                self.refresh_panes()

        self.push_screen(
            ConfirmScreen(
                "Resume quoting?", f"{what} Resume clears every halt.", confirm_label="Resume"
            ),
            confirmed,
        )

    def action_reload_config(self) -> None:
        def apply(loaded: Any | None) -> None:
            if loaded is not None:
                self.engine.submit(ReloadConfig(loaded))
                self._note("INFO", f"config reload submitted from {getattr(loaded, 'path', '?')}")
                self.notify("Config submitted to the engine", title="Config")

        self.push_screen(ConfigReviewScreen(self.engine), apply)

    def action_capital_event(self) -> None:
        latest = self.engine.latest

        def record(event: CapitalEvent | None) -> None:
            if event is not None:
                self.engine.submit(RecordCapital(event))
                self._note("INFO", f"capital {event.kind} {event.amount:g} {event.asset} submitted")
                self.notify(f"{event.kind} {event.amount:g} {event.asset}", title="Capital event")

        self.push_screen(
            CapitalScreen(latest.snapshot if latest else None, clock=self.clock), record
        )

    def action_log_filter(self) -> None:
        log = self.log_pane()
        current = log.filter if log is not None else LogFilter()

        def apply(log_filter: LogFilter | None) -> None:
            pane = self.log_pane()
            if log_filter is not None and pane is not None:
                pane.set_filter(log_filter)

        self.push_screen(LogFilterScreen(current), apply)

    def action_help(self) -> None:
        self.push_screen(HelpScreen([cmd.binding() for cmd in OPERATOR_COMMANDS]))

    async def action_quit(self) -> None:
        """Quit = Stop the engine and wait for run() to cancel orders and write the summary."""
        if self.phase in ("ended", "failed"):
            self.exit(self.summary)
            return
        if self._quitting:
            self.notify("Still cancelling orders…", title="Quitting")
            return
        open_orders = self.engine.open_orders()
        if open_orders > 0:

            def confirmed(ok: bool | None) -> None:
                if ok:
                    self._stop_and_exit()

            self.push_screen(
                ConfirmScreen(
                    "Quit?",
                    f"{open_orders} open order(s) will be cancelled before the console exits.",
                    confirm_label="Quit",
                ),
                confirmed,
            )
        else:
            self._stop_and_exit()

    def _stop_and_exit(self, reason: str = "operator quit") -> None:
        self._quitting = True
        self.phase = "stopping"
        self.engine.submit(Stop(reason=reason))
        self._note("WARNING", "stop requested: cancelling open orders, then exiting")
        self.refresh_panes()

    # ---- command palette -----------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The operator actions by name, plus Textual's own (our Quit replaces theirs)."""
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command
        if len(self.screen_stack) > 1 and screen is not self.screen_stack[0]:
            return
        for cmd in OPERATOR_COMMANDS:
            key = cmd.key_display or cmd.key
            yield SystemCommand(
                f"{cmd.label} ({key})", cmd.help, getattr(self, f"action_{cmd.action}")
            )


_SUMMARY_KEYS = ("ticks", "fills", "trading_pnl_rlusd", "fees_rlusd")


def _summary_text(summary: dict[str, Any] | None) -> str:
    """The headline numbers of a session summary, for the log line when it ends."""
    if not summary:
        return ""
    shown = []
    for key in _SUMMARY_KEYS:
        value = summary.get(key)
        if isinstance(value, float):
            shown.append(f"{key} {value:,.4f}")
        elif isinstance(value, int):
            shown.append(f"{key} {value:,}")
    return ": " + ", ".join(shown) if shown else ""


def run_console(
    engine: EngineLike,
    *,
    clock: Callable[[], float] = time.time,
    refresh_hz: float = DEFAULT_REFRESH_HZ,
) -> int:
    """`orion-tui run`: the console until quit, then the session summary on the terminal.

    The engine runs as a task of this function's own event loop, not as a worker of
    the app: however the app ends (quit, a crash, the terminal closing under it), the
    engine is then stopped here and its run() completes - orders cancelled, summary
    written - before the process exits. SIGHUP and SIGTERM halt first, then stop.
    Returns the process exit code (1 when the engine could not start or failed).
    """
    return asyncio.run(_console_main(engine, clock, refresh_hz))


async def _console_main(
    engine: EngineLike, clock: Callable[[], float], refresh_hz: float
) -> int:
    # The app exists (and listens) before the engine opens, so the console's log
    # starts with the session's first lines.
    app = OrionApp(engine, clock=clock, refresh_hz=refresh_hz, start_engine=False)
    try:
        await engine.open()
    except Exception as exc:  # EngineStartError: one line for the operator
        print(f"orion-tui: cannot start the engine: {exc}", file=sys.stderr)
        return 1
    task = asyncio.create_task(engine.run())

    def on_done(t: asyncio.Task[Any]) -> None:
        if not t.cancelled() and t.exception() is not None:
            exc = t.exception()
            app.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))

    task.add_done_callback(on_done)

    def on_signal(name: str) -> None:
        """Halt, stop, and only once the engine has cancelled its orders and written
        its summary, leave. A lost terminal can wedge Textual's own shutdown (its
        writer thread blocks on the dead tty), so a watchdog ends the process if the
        app has not exited a few seconds after the engine is safely down."""
        engine.submit(Halt(side=None, reason=name))
        engine.submit(Stop(reason=name))

        async def finish() -> None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
            watchdog = threading.Timer(EXIT_WATCHDOG_S, os._exit, args=(0,))
            watchdog.daemon = True
            watchdog.start()
            app.exit(return_code=0)

        finishing.append(asyncio.ensure_future(finish()))

    finishing: list[asyncio.Future[None]] = []

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGHUP, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        await app.run_async()
    finally:
        if not task.done():
            engine.submit(Stop(reason="console closed"))
        try:
            summary = await asyncio.shield(task)
        except Exception as exc:
            print(f"orion-tui: the engine stopped with an error: {exc}", file=sys.stderr)
            return 1
    if summary:
        from rich.console import Console

        from orion_tui.summary_view import render_summary

        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            render_summary(summary, Console())
    return app.return_code or 0
