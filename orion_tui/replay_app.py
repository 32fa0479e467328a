"""ReplayApp: step through a recorded session with the live console's panes.

Every pane renders the TickEvent decoded from one `ticks` row, the very object the
live console rendered, so a replayed tick looks as it did live (gates included).

Cost model: the replay never loads a session. A position change reads one tick,
the 240 divergences before it for the sparkline and a bounded window of log lines
and fills; panes whose part of the tick did not change are not redrawn. Keys only
move a target position; rendering follows at most `max_fps` times a second, so a
held-down arrow key (or 100 ticks/s playback) coalesces into the latest position
instead of queueing renders. Whole-session scans (why-no-fills, the next tick with
a reason) run in worker threads on their own connections.

Follow mode (--follow) polls the tick bounds every `poll_interval` seconds: the
timeline's end grows, a view at the end stays at the newest tick (tail), a view
elsewhere stays put, and new sessions are noted.
"""

from __future__ import annotations

import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer
from textual.worker import get_current_worker

from engine.events import FillEvent, LogEvent, TickEvent
from engine.models import Fill, HaltState
from engine.store.replay import ReplaySource, SessionInfo, TickBounds, open_replay
from engine.store.schema import StoreError
from orion_tui import fmt
from orion_tui.app import COMPACT_HEIGHT, PALETTE_IN_FOOTER_WIDTH, OperatorCommand
from orion_tui.screens.goto import GotoScreen, help_text, parse_target, resolve_target
from orion_tui.screens.help import HelpScreen
from orion_tui.screens.log_filter import LogFilterScreen
from orion_tui.screens.replay_picker import SessionPickerScreen
from orion_tui.screens.why_no_fills import WhyNoFillsScreen
from orion_tui.widgets.divergence import DivergencePane
from orion_tui.widgets.footer import FittedFooter
from orion_tui.widgets.guards import GuardsPane
from orion_tui.widgets.header import OrionHeader
from orion_tui.widgets.inventory import InventoryPane
from orion_tui.widgets.ladder import QuoteLadder
from orion_tui.widgets.log import LogEntry, LogFilter, LogPane, entry_from_event, format_entry
from orion_tui.widgets.timeline import Timeline, TimelineState

_HERE = Path(__file__).resolve().parent
W = TypeVar("W", bound=Widget)
SPEEDS: tuple[float, ...] = (1, 2, 5, 10, 25, 50, 100)  # ticks per second
DEFAULT_SPEED = 10
DIVERGENCE_WINDOW = 240  # what the live engine keeps for its sparkline
LOG_WINDOW = 120  # log lines + fills kept up to the current tick
LOG_DRAWN = 40  # of which drawn after a jump (more than the tallest log pane shows)
EDGE_NOTICE_S = 1.5  # a held key at an end does not stack notices

STEP_GROUP = Binding.Group("±1", compact=True)
STEP10_GROUP = Binding.Group("±10", compact=True)
STEP100_GROUP = Binding.Group("±100")
ENDS_GROUP = Binding.Group("Start/End")
SPEED_GROUP = Binding.Group("Speed", compact=True)

REPLAY_COMMANDS: tuple[OperatorCommand, ...] = (
    OperatorCommand(
        "step-back", "left", "step(-1)", "−1", "One tick back", key_display="←", group=STEP_GROUP
    ),
    OperatorCommand(
        "step-forward", "right", "step(1)", "+1", "One tick forward", key_display="→",
        group=STEP_GROUP,
    ),
    OperatorCommand(
        "step-back-10", "shift+left", "step(-10)", "−10", "10 ticks back", key_display="⇧←",
        group=STEP10_GROUP,
    ),
    OperatorCommand(
        "step-forward-10", "shift+right", "step(10)", "+10", "10 ticks forward",
        key_display="⇧→", group=STEP10_GROUP,
    ),
    OperatorCommand(
        "step-back-100", "pageup", "step(-100)", "−100", "100 ticks back", key_display="PgUp",
        group=STEP100_GROUP,
    ),
    OperatorCommand(
        "step-forward-100", "pagedown", "step(100)", "+100", "100 ticks forward",
        key_display="PgDn", group=STEP100_GROUP,
    ),
    OperatorCommand(
        "first-tick", "home", "first", "Start", "First tick of the session", key_display="Home",
        group=ENDS_GROUP,
    ),
    OperatorCommand(
        "last-tick", "end", "last", "End", "Last tick of the session (in --follow: tail it)",
        key_display="End", group=ENDS_GROUP,
    ),
    OperatorCommand(
        "play-pause", "space", "toggle_play", "Play", "Play / pause", key_display="space"
    ),
    OperatorCommand(
        "slower", "minus", "speed(-1)", "Slower", "Play slower (1 to 100 ticks/s)",
        key_display="-", group=SPEED_GROUP,
    ),
    OperatorCommand(
        "faster", "plus,equals_sign", "speed(1)", "Faster", "Play faster (1 to 100 ticks/s)",
        key_display="+", group=SPEED_GROUP,
    ),
    OperatorCommand(
        "goto", "g", "goto", "Go to", "Go to a tick, a ledger index or a UTC time"
    ),
    OperatorCommand(
        "why-no-fills", "w", "why_no_fills", "Why",
        "Why no fills: no-quote reasons per side; enter jumps to the next such tick",
    ),
    OperatorCommand(
        "next-reason", "n", "next_reason", "Next",
        "Next tick with the reason last chosen in the why-no-fills view",
    ),
    OperatorCommand("sessions", "o", "sessions", "Sessions", "Replay another session"),
    OperatorCommand(
        "log-filter", "slash", "log_filter", "Filter", "Filter the log by text and level",
        key_display="/",
    ),
    OperatorCommand("help", "question_mark", "help", "Help", "Show every key", key_display="?"),
    OperatorCommand("quit", "q", "quit", "Quit", "Quit the replay (nothing to cancel)"),
)  # fmt: skip
# The footer keeps the essentials on narrow terminals: these actions' keys show only
# from this many columns up (they always work, and `?` lists them).
FOOTER_MIN_WIDTHS: dict[str, int] = {
    "step(-100)": 110, "step(100)": 110, "first": 110, "last": 110,
    "sessions": 140, "log_filter": 140,
}  # fmt: skip
REPLAY_ACTIONS = frozenset(cmd.action.partition("(")[0] for cmd in REPLAY_COMMANDS)

REPLAY_DIALOG_KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+p", "Command palette: every action above, by name"),
    ("g: enter", "Go to: 1234 (tick), L90001234 (ledger), 12:34:56 or ISO time (UTC)"),
    ("w: enter", "Why no fills: jump to the next tick with the highlighted reason"),
    ("tab / shift+tab", "Dialogs: next / previous field or table"),
    ("esc", "Close any dialog without doing anything"),
)


class ReplayApp(App[None]):
    """The console's panes over a recorded session, read-only."""

    # Absolute: Textual resolves relative paths against the module of the subclass.
    CSS_PATH = [_HERE / "orion.tcss", _HERE / "replay.tcss"]
    TITLE = "Orion replay"
    AUTO_FOCUS = None  # no pane takes the arrow keys; they move the replay
    BINDINGS: ClassVar[list[BindingType]] = [cmd.binding() for cmd in REPLAY_COMMANDS]

    def __init__(
        self,
        source: ReplaySource,
        *,
        session_id: int | None = None,
        follow: bool = False,
        start_seq: int | None = None,
        speed: float = DEFAULT_SPEED,
        poll_interval: float = 0.5,
        max_fps: float = 30.0,
        clock: Callable[[], float] = time.time,
        close_source: bool = False,
        notice: str | None = None,
    ) -> None:
        """
        Args:
            source: an open ReplaySource (open_replay); read from the UI thread only.
            session_id: the session to open; None: the only one, else a picker.
            follow: poll for new ticks and sessions (a database an engine still writes).
            start_seq: the first tick shown (default: the first, or the last when following).
            speed: initial playback speed, ticks per second (one of SPEEDS).
            poll_interval: seconds between follow-mode polls.
            max_fps: the most renders per second; key repeats and playback coalesce.
            clock: wall clock for log notes (injected so screenshots are deterministic).
            close_source: close `source` when the app exits.
            notice: shown once the app is up (run_replay: why --follow was dropped).
        """
        super().__init__()
        self.source = source
        self.follow = follow
        self.clock = clock
        self.poll_interval = poll_interval
        self._frame = 1.0 / max_fps
        self._close_source = close_source
        self._notice = notice
        self._requested_session = session_id
        self._start_seq = start_seq
        self.speed_index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))
        self.playing = False
        self.session_id: int | None = None
        self.session: SessionInfo | None = None
        self.bounds: TickBounds | None = None
        self.seq = 0  # the position the keys asked for
        self.shown_seq = 0  # the position on screen (lags seq by at most one frame)
        self.shown: TickEvent | None = None
        self.render_ms: deque[float] = deque(maxlen=2000)  # per render: reads + pane updates
        self._render_timer: Timer | None = None
        self._last_render = 0.0
        self._play_timer: Timer | None = None
        self._play_last = 0.0
        self._play_acc = 0.0
        self._edge_noticed = (0.0, 0)
        self._log_entries: deque[LogEntry] = deque(maxlen=LOG_WINDOW)
        self._log_at: tuple[int, float] | None = None  # (seq, ts) the log pane shows
        self._last_reason: tuple[str, str] | None = None
        self._why_cache: dict[tuple[int, int], dict[str, Any]] = {}
        self._known_session = source.latest_session_id()
        self._status: str | None = None
        self._session_count = 0
        self._last_error = ""
        self._widgets: dict[type[Widget], Widget] = {}

    # ---- layout ---------------------------------------------------------------------

    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_index]

    def compose(self) -> ComposeResult:
        yield OrionHeader(id="header")
        yield self._panes(compact=self.size.height < COMPACT_HEIGHT)
        yield Timeline(id="timeline")
        yield FittedFooter(min_widths=FOOTER_MIN_WIDTHS)

    def _panes(self, *, compact: bool) -> Horizontal:
        """The live console's panes, in its layout for this height."""
        log = LogPane(max_entries=LOG_WINDOW, entries=self._log_entries, id="log", classes="pane")
        left = Vertical(
            QuoteLadder(id="ladder", classes="pane"),
            DivergencePane(id="divergence", classes="pane"),
            *([log] if compact else []),
            id="left-column",
        )
        right = Vertical(
            GuardsPane(id="guards", classes="pane"),
            InventoryPane(id="inventory", classes="pane"),
            *([] if compact else [log]),
            id="right-column",
        )
        return Horizontal(left, right, id="panes", classes="-compact" if compact else "")

    async def _reset_panes(self) -> None:
        """Fresh, empty panes: a session without ticks must not show the last one's."""
        self._log_entries.clear()
        await self.main.query_one("#panes").remove()
        compact = self.size.height < COMPACT_HEIGHT
        await self.main.mount(self._panes(compact=compact), before=self.main.query_one(Timeline))
        self.main.query_one(DivergencePane).compact = compact

    async def on_mount(self) -> None:
        await self._apply_size(self.size.width, self.size.height)
        if self._notice:
            self.notify(self._notice, title="Replay", timeout=8)
        self._play_timer = self.set_interval(self._frame, self._play_frame, pause=True)
        if self.follow:
            self.set_interval(self.poll_interval, self.poll, name="follow")
        sessions = self.source.sessions()
        self._session_count = len(sessions)
        ids = [s.session_id for s in sessions]
        wanted = self._requested_session
        if wanted is None and len(ids) == 1:
            wanted = ids[0]
        if wanted is not None and wanted in ids:
            self.open_session(wanted, self._start_seq)
        else:
            if wanted is not None:
                self.notify(f"no session {wanted} in this database", severity="error")
            self._render_chrome()
            self.push_screen(
                SessionPickerScreen(sessions, db=Path(self.source.path).name),
                self._picked_at_start,
            )

    def _picked_at_start(self, session_id: int | None) -> None:
        if session_id is None:
            self.exit()  # nothing chosen, nothing to replay
        else:
            self.open_session(session_id, self._start_seq)

    async def on_resize(self, event: events.Resize) -> None:
        await self._apply_size(event.size.width, event.size.height)

    async def _apply_size(self, width: int, height: int) -> None:
        """The live console's layouts: compact below COMPACT_HEIGHT rows (log under the
        ladder, title rules instead of boxes), boxed panes and the log under the
        inventory when taller."""
        compact = height < COMPACT_HEIGHT
        self.main.query_one("#panes").set_class(compact, "-compact")
        self.main.query_one(DivergencePane).compact = compact
        self.main.query_one(Footer).show_command_palette = width >= PALETTE_IN_FOOTER_WIDTH
        target = self.main.query_one("#left-column" if compact else "#right-column", Vertical)
        log = self.log_pane()
        if log is not None and log.parent is not target:
            moved = log.moved_copy()
            await log.remove()
            await target.mount(moved)

    @property
    def main(self) -> Screen[Any]:
        """The replay's own screen: panes are queried here, not on `self.screen`,
        so playback and follow keep them current under a dialog."""
        return self.screen_stack[0]

    def _one(self, cls: type[W]) -> W:
        """The main screen's widget of this type, looked up once: a DOM query per pane
        per step costs more than reading the tick."""
        widget = self._widgets.get(cls)
        if widget is None or not widget.is_attached:
            widget = self.main.query_one(cls)
            self._widgets[cls] = widget
        return widget  # type: ignore[return-value]

    def log_pane(self) -> LogPane | None:
        """The log pane, or None for the moment it is being moved between columns."""
        try:
            return self._one(LogPane)
        except NoMatches:
            return None

    # ---- session and position -----------------------------------------------------------

    def open_session(self, session_id: int, seq: int | None = None) -> None:
        """Show a session: at `seq`, else its first tick (its last when following)."""
        had_tick = self.shown is not None
        self.session_id = session_id
        sessions = self.source.sessions()
        self._session_count = len(sessions)
        self.session = next((s for s in sessions if s.session_id == session_id), None)
        self._status = self.session.status if self.session else None
        self.bounds = self.source.bounds(session_id)
        self.shown = None
        self.shown_seq = 0
        self._log_at = None
        self._set_playing(False)
        self.seq = 0
        if self.bounds is not None:
            if seq is None:
                seq = self.bounds.last_seq if self.follow else self.bounds.first_seq
            self.seq = self._clamp(seq)
        elif had_tick:
            self.call_later(self._reset_panes)
        self.refresh_bindings()  # `o` shows once there is more than one session
        self.render_position()

    def _clamp(self, seq: int) -> int:
        b = self.bounds
        return 0 if b is None else min(max(seq, b.first_seq), b.last_seq)

    def move_to(self, seq: int, *, notice: bool = True) -> None:
        """Ask for a position (clamped to the session, with a notice at the ends);
        the screen follows within one frame."""
        b = self.bounds
        if b is None:
            if notice:
                self.notify("No ticks recorded in this session yet.", title="Replay")
            return
        clamped = self._clamp(seq)
        if clamped != seq and notice:
            self._edge_notice(clamped)
        if clamped != self.seq:
            self.seq = clamped
            self._schedule_render()

    def _edge_notice(self, seq: int) -> None:
        assert self.bounds is not None
        now = time.monotonic()
        last_at, last_seq = self._edge_noticed
        if last_seq == seq and now - last_at < EDGE_NOTICE_S:
            return  # the key is held: one notice is enough
        self._edge_noticed = (now, seq)
        if seq == self.bounds.first_seq:
            self.notify(f"Start of the session (tick {seq:,}).", title="Replay", timeout=2)
        else:
            more = " Following: new ticks appear here." if self.follow else ""
            self.notify(f"End of the session (tick {seq:,}).{more}", title="Replay", timeout=2)

    def _schedule_render(self) -> None:
        """Render now, or at the next frame if one was drawn less than a frame ago."""
        if self._render_timer is not None:
            return  # a render is already due: it will draw the latest self.seq
        wait = self._last_render + self._frame - time.perf_counter()
        if wait <= 0:
            self.render_position()
        else:
            self._render_timer = self.set_timer(wait, self._deferred_render, name="render")

    def _deferred_render(self) -> None:
        self._render_timer = None
        self.render_position()

    def render_position(self) -> None:
        """Read the tick at self.seq and redraw what changed (panes, header, timeline)."""
        if self._render_timer is not None:
            self._render_timer.stop()
            self._render_timer = None
        started = time.perf_counter()
        self._last_render = started
        try:
            self._render_position()
        except NoMatches:
            return  # the app is being torn down
        except sqlite3.Error as exc:  # a damaged page mid-file: say so, keep the app
            self._read_error(f"cannot read tick {self.seq:,}: {exc}")
            return
        self.render_ms.append((time.perf_counter() - started) * 1000.0)

    def _render_position(self) -> None:
        sid, seq = self.session_id, self.seq
        tick = self.source.tick(sid, seq) if sid is not None and seq else None
        if tick is not None and seq != self.shown_seq:
            prev = self.shown
            if prev is None or _ladder_part(tick) != _ladder_part(prev):
                self._one(QuoteLadder).show(tick)
            assert sid is not None
            history = self.source.divergences(sid, seq, DIVERGENCE_WINDOW)
            self._one(DivergencePane).show(tick, history)
            if prev is None or tick.decision != prev.decision:
                self._one(GuardsPane).show(tick)
            if prev is None or _inventory_part(tick) != _inventory_part(prev):
                self._one(InventoryPane).show(tick)
            self._update_log(sid, tick)
            self.shown = tick
            self.shown_seq = seq
        self._render_chrome()

    def _render_chrome(self) -> None:
        """Header and timeline: cheap, and they also change without a new tick."""
        tick = self.shown
        session = self.session
        mode = tick.mode if tick else session.mode if session else fmt.DASH
        tail = self.follow and self.at_end
        self._one(OrionHeader).show(
            mode=mode,
            session_id=self.session_id,
            tick=tick,
            halt=tick.halt if tick else _NO_HALT,
            now=tick.market.ts if tick else (session.started_at if session else self.clock()),
            phase="running",
            open_orders=len(tick.live_orders) if tick else 0,
            replay="TAIL" if tail else "",
        )
        b = self.bounds
        self._one(Timeline).show(
            TimelineState(
                seq=self.shown_seq,
                first_seq=b.first_seq if b else 0,
                last_seq=b.last_seq if b else 0,
                ts=tick.market.ts if tick else None,
                playing=self.playing,
                speed=self.speed,
                follow=self.follow,
                tail=tail,
            )
        )

    @property
    def at_end(self) -> bool:
        return self.bounds is not None and self.seq >= self.bounds.last_seq

    # ---- log ----------------------------------------------------------------------------

    def _log_window(self, session_id: int, tick: TickEvent) -> list[LogEntry]:
        """The engine's log lines up to the tick's time and the fills up to this tick
        (this tick's last), newest LOG_WINDOW of them, oldest first."""
        logs = self.source.logs_until(session_id, tick.market.ts, LOG_WINDOW)
        fills = self.source.recent_fills(session_id, tick.seq, LOG_WINDOW)
        return _merge(logs, reversed(fills))[-LOG_WINDOW:]

    def _update_log(self, session_id: int, tick: TickEvent) -> None:
        """Keep the log pane at this tick: nothing to do when no log line or fill lies
        between the previous tick and this one (most steps), an append when stepping
        forward over a few, a redraw of the window otherwise."""
        pane = self.log_pane()
        if pane is None:
            return
        prev = self._log_at
        if prev is not None:
            prev_seq, prev_ts = prev
            lo_seq, hi_seq = sorted((prev_seq, tick.seq))
            lo_ts, hi_ts = sorted((prev_ts, tick.market.ts))
            logs = self.source.logs_between(session_id, lo_ts, hi_ts, LOG_WINDOW)
            fills = self.source.fills_between(session_id, lo_seq, hi_seq, LOG_WINDOW)
            if not logs and not fills:
                self._log_at = (tick.seq, tick.market.ts)
                return
            forward = tick.seq > prev_seq
            if forward and len(logs) + len(fills) < LOG_WINDOW:
                _write_log(pane, _merge(logs, fills))
                self._log_at = (tick.seq, tick.market.ts)
                return
        pane.entries.clear()
        pane.clear()
        _write_log(pane, self._log_window(session_id, tick))
        self._log_at = (tick.seq, tick.market.ts)

    def note(self, message: str) -> None:
        """A follow-mode note (new session, session ended): a toast that stays a while.
        Not a log line: the log pane shows what the database recorded up to the tick."""
        self.notify(message, title="Follow", timeout=8)

    # ---- playback -----------------------------------------------------------------------

    def _set_playing(self, playing: bool) -> None:
        self.playing = playing
        if self._play_timer is not None:
            if playing:
                self._play_last = time.perf_counter()
                self._play_acc = 0.0
                self._play_timer.resume()
            else:
                self._play_timer.pause()
        if self._play_timer is not None:  # mounted
            self._render_chrome()

    def _play_frame(self) -> None:
        """Advance by speed x elapsed time (whole ticks), at most one render a frame."""
        now = time.perf_counter()
        elapsed = min(now - self._play_last, 0.25)  # a stalled loop does not leap ahead
        self._play_last = now
        b = self.bounds
        if b is None:
            return
        if self.seq >= b.last_seq:
            self._play_acc = 0.0
            if not self.follow:
                self._set_playing(False)
                self.notify("End of the session: playback paused.", title="Replay", timeout=2)
            return  # following: wait here for the engine's next tick
        self._play_acc += elapsed * self.speed
        steps = int(self._play_acc)
        if steps:
            self._play_acc -= steps
            self.move_to(self.seq + steps, notice=False)

    # ---- follow ---------------------------------------------------------------------------

    def _read_error(self, message: str) -> None:
        """Reads that fail (a damaged page, a file replaced under us): one notice per
        message, never a traceback."""
        if message != self._last_error:
            self._last_error = message
            self.notify(message, title="Database", severity="error", timeout=10)

    def poll(self) -> None:
        """Follow mode: new ticks grow the timeline (tail stays at the end), new sessions
        and the end of the watched session are noted. A few point reads."""
        try:
            self._poll()
        except sqlite3.Error as exc:
            self._read_error(f"cannot follow the database: {exc}")

    def _poll(self) -> None:
        latest = self.source.latest_session_id()
        if latest is not None and latest != self._known_session:
            self._known_session = latest
            self.note(f"New session {latest} started in this database: o to switch to it.")
            self._session_count = len(self.source.sessions())
            self.refresh_bindings()
        sid = self.session_id
        if sid is None:
            return
        status = self.source.session_status(sid)
        if status != self._status:
            if self._status is not None:
                self.note(f"Session {sid} is now {status}.")
            self._status = status
        bounds = self.source.bounds(sid)
        if bounds == self.bounds:
            return
        tail = self.bounds is None or self.seq >= self.bounds.last_seq
        self.bounds = bounds
        if bounds is not None and tail:
            self.move_to(bounds.last_seq, notice=False)
        self._render_chrome()

    # ---- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay keys belong to the main screen (a dialog owns the keyboard); `n` and
        `o` only show when they can do something."""
        if action in REPLAY_ACTIONS and len(self.screen_stack) > 1:
            return False
        if action == "next_reason":
            return self._last_reason is not None
        if action == "sessions":
            return self._session_count > 1
        return True

    def action_step(self, delta: int) -> None:
        self.move_to(self.seq + delta)

    def action_first(self) -> None:
        if self.bounds is not None:
            self.move_to(self.bounds.first_seq)

    def action_last(self) -> None:
        if self.bounds is not None:
            self.move_to(self.bounds.last_seq)

    def action_toggle_play(self) -> None:
        if self.bounds is None:
            return
        if not self.playing and self.at_end and not self.follow:
            self.move_to(self.bounds.first_seq, notice=False)
            self.notify("Playing from the start.", title="Replay", timeout=2)
        self._set_playing(not self.playing)

    def action_speed(self, delta: int) -> None:
        index = min(max(self.speed_index + delta, 0), len(SPEEDS) - 1)
        if index == self.speed_index:
            end = "fastest" if delta > 0 else "slowest"
            self.notify(f"Already the {end} speed: {self.speed:g} ticks/s.", timeout=2)
            return
        self.speed_index = index
        self._render_chrome()

    def action_goto(self) -> None:
        if self.bounds is None or self.session_id is None:
            self.notify("No ticks recorded in this session yet.", title="Replay")
            return

        def done(seq: int | None) -> None:
            if seq is not None:
                self.move_to(seq)

        self.push_screen(GotoScreen(self.resolve_goto, help_text(self.bounds)), done)

    def resolve_goto(self, text: str) -> int:
        """Tick seq for what was typed in the go-to dialog (GotoError otherwise)."""
        assert self.session_id is not None
        bounds = self.source.bounds(self.session_id) or self.bounds
        assert bounds is not None
        day_of = self.shown.market.ts if self.shown else bounds.first_ts
        target = parse_target(text, day_of=day_of)
        return resolve_target(target, self.source, self.session_id, bounds)

    def action_why_no_fills(self) -> None:
        sid, bounds = self.session_id, self.bounds
        if sid is None or bounds is None:
            self.notify("No ticks recorded in this session yet.", title="Replay")
            return
        key = (sid, bounds.last_seq)
        source = self.source

        def compute() -> dict[str, Any]:
            """Runs in a worker thread, on a connection of its own."""
            worker_source = source.clone()
            try:
                result = worker_source.why_no_fills(sid)
            finally:
                worker_source.close()
            self._why_cache[key] = result
            return result

        def jump(choice: tuple[str, str] | None) -> None:
            if choice is not None:
                self._last_reason = choice
                self.refresh_bindings()
                self.find_reason(*choice)

        self.push_screen(
            WhyNoFillsScreen(
                compute, session_id=sid, ticks=bounds.count, result=self._why_cache.get(key)
            ),
            jump,
        )

    def action_next_reason(self) -> None:
        if self._last_reason is not None:
            self.find_reason(*self._last_reason)

    def find_reason(self, side: str, reason: str) -> None:
        """Jump to the next tick after the current one where `side` had `reason`."""
        if self.session_id is not None:
            self._search_reason(self.session_id, side, reason, self.seq)

    @work(thread=True, exclusive=True, group="search")
    def _search_reason(self, session_id: int, side: str, reason: str, after: int) -> None:
        """A scan with no index behind it: in a thread, on its own connection."""
        try:
            worker_source = self.source.clone()
            try:
                found = worker_source.next_with_reason(session_id, side, reason, after)
            finally:
                worker_source.close()
        except (sqlite3.Error, StoreError) as exc:
            _back_to_ui(self, self._read_error, f"cannot search the session: {exc}")
            return
        _back_to_ui(self, self._reason_found, session_id, side, reason, after, found)

    def _reason_found(
        self, session_id: int, side: str, reason: str, after: int, found: int | None
    ) -> None:
        if session_id != self.session_id:
            return  # the operator switched sessions meanwhile
        if found is None:
            self.notify(
                f"No tick after {after:,} where {side} did not quote because of {reason}.",
                title="Why no fills",
                severity="warning",
            )
            return
        self._set_playing(False)
        self.move_to(found)
        self.notify(f"{side} {reason}: tick {found:,}. n: the next one.", timeout=2)

    def action_sessions(self) -> None:
        def picked(session_id: int | None) -> None:
            if session_id is not None:
                self.open_session(session_id)

        self.push_screen(
            SessionPickerScreen(
                self.source.sessions(), current=self.session_id, db=Path(self.source.path).name
            ),
            picked,
        )

    def action_log_filter(self) -> None:
        pane = self.log_pane()
        current = pane.filter if pane is not None else LogFilter()

        def apply(log_filter: LogFilter | None) -> None:
            target = self.log_pane()
            if log_filter is not None and target is not None:
                target.set_filter(log_filter)

        self.push_screen(LogFilterScreen(current), apply)

    def action_help(self) -> None:
        self.push_screen(
            HelpScreen(
                [cmd.binding() for cmd in REPLAY_COMMANDS],
                title="Orion replay keys",
                dialog_keys=REPLAY_DIALOG_KEYS,
            )
        )

    async def action_quit(self) -> None:
        self.exit()

    def on_timeline_seek(self, message: Timeline.Seek) -> None:
        self.move_to(message.seq)

    def on_unmount(self) -> None:
        if self._close_source:
            self.source.close()

    # ---- command palette --------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The replay actions by name plus Textual's own; no operator command exists here."""
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command
        if len(self.screen_stack) > 1 and screen is not self.screen_stack[0]:
            return
        for cmd in REPLAY_COMMANDS:
            name, _, args = cmd.action.partition("(")
            if not self.check_action(name, ()):
                continue
            key = cmd.key_display or cmd.key
            yield SystemCommand(f"{cmd.help} ({key})", cmd.help, _palette_action(self, cmd.action))


def _palette_action(app: ReplayApp, action: str) -> Callable[[], Any]:
    """A callback running `action` (with its arguments) as the key would."""

    async def run() -> None:
        await app.run_action(action)

    return run


_NO_HALT = HaltState()


def _back_to_ui(app: App[Any], callback: Callable[..., Any], *args: Any) -> None:
    """From a worker thread to the UI thread, unless the worker was cancelled or the
    app has already exited (the query finished after the operator quit)."""
    if get_current_worker().is_cancelled:
        return
    try:
        app.call_from_thread(callback, *args)
    except RuntimeError:
        pass  # the app is gone: nobody to tell


def _merge(logs: Iterable[LogEvent], fills: Iterable[Fill]) -> list[LogEntry]:
    """Log lines and fills as the live log showed them, in time order (a tick's log
    lines before its fills)."""
    entries = [LogEntry(e.ts, e.level, e.message, e.source) for e in logs]
    for fill in fills:
        entry = entry_from_event(FillEvent(fill))
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: e.ts)  # stable
    return entries


def _write_log(pane: LogPane, entries: list[LogEntry]) -> None:
    """Keep every entry (the `/` filter searches them) and draw the newest LOG_DRAWN
    that pass the filter in one write: each RichLog write costs a layout pass."""
    pane.entries.extend(entries)
    shown = [e for e in entries if pane.filter.matches(e)][-LOG_DRAWN:]
    if shown:
        pane.write(Text("\n").join(format_entry(e) for e in shown))


def _ladder_part(tick: TickEvent) -> tuple[object, ...]:
    """What the quote ladder draws from a tick: redrawn only when this changes."""
    return (tick.market.book, tick.decision.anchor, tick.live_orders, tick.fill_counts)


def _inventory_part(tick: TickEvent) -> tuple[object, ...]:
    return (tick.snapshot, tick.check, tick.limits)


def run_replay(db: str, *, session_id: int | None = None, follow: bool = False) -> int:
    """`orion-tui replay DB`: StoreError (one line, from the CLI) for an unusable file."""
    notice = None
    if follow and not Path(f"{db}-wal").exists():
        # No -wal file: no engine has the database open. Following would make SQLite
        # create -wal/-shm files beside it; replay it read-only as a finished one.
        follow = False
        notice = "Nothing is writing this database (no -wal file): replaying it as finished."
    source = open_replay(db, follow=follow)
    try:
        if session_id is not None:
            ids = [s.session_id for s in source.sessions()]
            if session_id not in ids:
                shown = ", ".join(str(i) for i in ids[-10:])
                raise StoreError(f"{db}: no session {session_id} (sessions: {shown})")
        app = ReplayApp(source, session_id=session_id, follow=follow, notice=notice)
        app.run()
    finally:
        source.close()
    return app.return_code or 0
