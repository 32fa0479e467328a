"""Pilot tests of the replay console on real recorded sessions (tests.replay_dbs).

The keys are pressed as an operator would; positions, panes and dialogs are checked
against what the read-only data layer (ReplaySource) and engine.summary say about
the same database, so the replay can only pass by showing what was recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual import events
from textual.widgets import DataTable, Input, Static
from textual.widgets._footer import FooterKey

from engine.events import LogEvent, Stop
from engine.store.readonly import open_readonly
from engine.store.replay import ReplaySource, open_replay
from engine.store.schema import StoreError, tick_id
from engine.summary import why_no_fills
from orion_tui import replay_app
from orion_tui.replay_app import REPLAY_COMMANDS, SPEEDS, ReplayApp, run_replay
from orion_tui.screens.goto import GotoError, GotoScreen, parse_target
from orion_tui.screens.help import HelpScreen
from orion_tui.screens.replay_picker import SessionPickerScreen
from orion_tui.screens.why_no_fills import WhyNoFillsScreen
from orion_tui.widgets.footer import FittedFooter
from orion_tui.widgets.guards import GuardsPane, render_guards
from orion_tui.widgets.header import OrionHeader
from orion_tui.widgets.inventory import InventoryPane
from orion_tui.widgets.log import LogPane
from orion_tui.widgets.timeline import Timeline
from tests.conftest import ROOT, file_state
from tests.fakes import fixed_clock
from tests.replay_dbs import REPLAY_TICKS, replay_db, replay_dbs, two_session_db

__all__ = ["replay_db", "replay_dbs", "two_session_db"]  # fixtures, imported for pytest

OPERATOR_KEYS = ("h", "b", "s", "u", "c", "e")


class RecordingReplayApp(ReplayApp):
    """ReplayApp that remembers its notices (the clamp / end-of-session messages)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[str] = []

    def notify(self, message: str, **kwargs: Any) -> None:  # type: ignore[override]
        self.notices.append(message)
        super().notify(message, **kwargs)


def make_app(db: Path, *, follow: bool = False, **kwargs: Any) -> RecordingReplayApp:
    app = RecordingReplayApp(
        open_replay(db, follow=follow), follow=follow, clock=fixed_clock, close_source=True,
        **kwargs,
    )  # fmt: skip
    app.animation_level = "none"
    return app


_CHARS = {"space": " ", "plus": "+", "minus": "-", "question_mark": "?"}


async def post(app: ReplayApp, *names: str) -> None:
    """Main-screen keys as the terminal driver delivers them: Key events to the app,
    through the same bindings. Pilot.press waits for the app to go idle after every
    key (~80 ms a key, up to a second while playback keeps the app busy)."""
    for name in names:
        app.post_message(events.Key(name, _CHARS.get(name, name if len(name) == 1 else None)))
    await asyncio.sleep(0.02)  # let the app's message loop handle them


async def keys(app: ReplayApp, pilot: Any, *names: str) -> None:
    """post() the keys, then wait until the screen shows where they led."""
    await post(app, *names)
    await settle(app, pilot)


async def settle(app: ReplayApp, pilot: Any, timeout: float = 5.0) -> None:
    """Until the position asked for is the one on screen (renders coalesce per frame)."""
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while app.shown_seq != app.seq:
        assert time.monotonic() < deadline, f"render stuck at {app.shown_seq} != {app.seq}"
        await pilot.pause(0.01)


async def wait_for(predicate: Any, pilot: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


def text_of(renderable: Any) -> str:
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def header_text(app: ReplayApp) -> str:
    return text_of(app.query_one(OrionHeader).content)


def timeline_text(app: ReplayApp) -> str:
    return text_of(app.query_one(Timeline).render())


class TestOpen:
    async def test_single_session_opens_at_its_first_tick(self, replay_db: Path) -> None:
        app = make_app(replay_db)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            assert app.session_id == 1 and app.seq == app.shown_seq == 1
            header = header_text(app)
            assert "REPLAY" in header and "SIM" in header and "session 1" in header
            tick = app.source.tick(1, 1)
            assert tick is not None
            assert f"tick 1  ledger {tick.market.ledger_index}" in header
            assert time.strftime("%H:%M:%S", time.gmtime(tick.market.ts)) in header
            assert f"tick 1/{REPLAY_TICKS:,}" in timeline_text(app)

    async def test_start_seq_and_session_option(self, two_session_db: Path) -> None:
        app = make_app(two_session_db, session_id=2, start_seq=50)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            assert not isinstance(app.screen, SessionPickerScreen)
            assert (app.session_id, app.seq, app.bounds.count if app.bounds else 0) == (2, 50, 200)

    def test_run_replay_refuses_an_unknown_session(self, replay_db: Path) -> None:
        with pytest.raises(StoreError, match="no session 9"):
            run_replay(str(replay_db), session_id=9)


class TestStepping:
    async def test_step_by_1_10_100_home_and_end(self, replay_db: Path) -> None:
        app = make_app(replay_db)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            seen = []
            for key in ("right", "shift+right", "pagedown", "left", "shift+left", "pageup"):
                await keys(app, pilot, key)
                seen.append(app.shown_seq)
                assert app.shown is not None and app.shown.seq == app.seq
            assert seen == [2, 12, 112, 111, 101, 1]
            assert "tick 1  " in header_text(app)
            await pilot.press("end")  # and one real Pilot key press
            await settle(app, pilot)
            assert app.shown_seq == REPLAY_TICKS
            assert f"tick {REPLAY_TICKS:,}/{REPLAY_TICKS:,}" in timeline_text(app)
            await keys(app, pilot, "home")
            assert app.shown_seq == 1
            x0, width = app.query_one(Timeline).bar_span
            await pilot.click("#timeline", offset=(x0 + (width - 1) // 2, 0))  # seek
            await settle(app, pilot)
            assert abs(app.shown_seq - REPLAY_TICKS // 2) <= REPLAY_TICKS // width + 1

    async def test_stepping_past_the_ends_clamps_with_a_notice(self, replay_db: Path) -> None:
        app = make_app(replay_db, start_seq=REPLAY_TICKS - 5)
        async with app.run_test() as pilot:
            await keys(app, pilot, "pagedown")
            assert app.seq == REPLAY_TICKS
            assert any("End of the session" in n for n in app.notices)
            await keys(app, pilot, "right", "right")  # a held key: no error, one notice
            assert app.seq == REPLAY_TICKS
            assert sum("End of the session" in n for n in app.notices) == 1
            await keys(app, pilot, "home", "left", "pageup", "shift+left")
            assert app.seq == 1
            assert any("Start of the session" in n for n in app.notices)
            assert app.is_running

    async def test_held_key_repeats_coalesce(self, replay_db: Path) -> None:
        """150 key repeats arriving at once: every one moves the position, but the
        screen is redrawn a few times, not 150 (at most one render per frame)."""
        app = make_app(replay_db)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            renders = len(app.render_ms)
            for _ in range(150):
                app.post_message(events.Key("right", None))
            await wait_for(lambda: app.seq == 151, pilot)
            await settle(app, pilot)
            assert app.shown_seq == 151
            assert len(app.render_ms) - renders <= 15

    async def test_a_step_reads_one_tick_with_point_reads(self, replay_db: Path) -> None:
        """Never the whole session: a step is a handful of keyed reads."""
        app = make_app(replay_db, start_seq=1000)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            statements: list[str] = []
            app.source.conn.set_trace_callback(statements.append)
            for key in ("right", "pagedown", "left"):
                statements.clear()
                await keys(app, pilot, key)
                on_ticks = [s for s in statements if "FROM ticks" in s]
                assert len(statements) <= 8, statements
                assert all("id =" in s or "id >" in s for s in on_ticks), on_ticks
                assert not any("COUNT(" in s or "GROUP BY" in s for s in statements)
            app.source.conn.set_trace_callback(None)


class TestGoto:
    async def goto(self, app: ReplayApp, pilot: Any, text: str) -> None:
        await pilot.press("g")
        assert isinstance(app.screen, GotoScreen)
        app.screen.query_one(Input).value = text
        await pilot.press("enter")

    async def test_goto_tick_ledger_and_time(self, replay_db: Path) -> None:
        src = open_replay(replay_db)
        app = make_app(replay_db)
        async with app.run_test() as pilot:
            await self.goto(app, pilot, "1234")
            await settle(app, pilot)
            assert app.shown_seq == 1234 and not isinstance(app.screen, GotoScreen)

            tick = src.tick(1, 700)
            assert tick is not None
            await self.goto(app, pilot, str(tick.market.ledger_index))
            await settle(app, pilot)
            assert app.shown_seq == 700
            assert app.resolve_goto(f"L{tick.market.ledger_index + 3}") == 703  # the dialog's call

            # HH:MM:SS on the current tick's day: the last tick at or before it
            target = src.tick(1, 1500)
            assert target is not None
            when = int(target.market.ts) + 1
            await self.goto(app, pilot, time.strftime("%H:%M:%S", time.gmtime(when)))
            await settle(app, pilot)
            expected = src.seq_at_time(1, when)
            assert app.shown_seq == expected == 1500
            assert app.shown is not None and app.shown.market.ts <= when

            iso = dt.datetime.fromtimestamp(src.tick(1, 321).market.ts, dt.UTC)  # type: ignore[union-attr]
            assert app.resolve_goto(iso.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z") == 321
            assert app.resolve_goto(iso.strftime("%Y-%m-%d %H:%M:%S.%f")) == 321
        src.close()

    async def test_bad_input_is_explained_in_the_dialog(self, replay_db: Path) -> None:
        app = make_app(replay_db, start_seq=42)
        async with app.run_test() as pilot:
            await pilot.press("g")
            screen = app.screen
            assert isinstance(screen, GotoScreen)
            for text, message in (
                ("", "type a tick number"),
                ("abc", "cannot read 'abc'"),
                ("99999", "neither a tick"),
                ("t99999", "no tick 99,999"),
                ("L5", "outside this session"),
                ("25:00", "not a time of day"),
                ("2025-06-01T00:00:00", "outside this session"),
            ):
                screen.query_one(Input).value = text
                await pilot.press("enter")
                assert app.screen is screen, text  # still open, saying why
                error = screen.query_one("#goto-error", Static)
                assert error.display and error.has_class("-visible")
                assert message in str(error.content), text
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.seq == 42 and len(app.screen_stack) == 1

    def test_parse_target(self) -> None:
        day = dt.datetime(2026, 1, 1, 5, 0, tzinfo=dt.UTC).timestamp()
        assert parse_target(" 1,234 ", day_of=day).kind == "number"
        assert parse_target("tick 12", day_of=day).value == 12
        assert parse_target("#77", day_of=day) == parse_target("t77", day_of=day)
        assert parse_target("ledger 90000001", day_of=day).kind == "ledger"
        t = parse_target("01:02:03.5", day_of=day)
        assert (t.kind, t.value) == ("time", day - 5 * 3600 + 3723.5)
        t = parse_target("2026-01-01T01:00:00+01:00", day_of=day)
        assert t.value == day - 5 * 3600
        assert parse_target("2026-01-01 05:00:00", day_of=0).value == day
        assert parse_target("2026-01-01T05:00:00Z", day_of=0).value == day
        with pytest.raises(GotoError):
            parse_target("12:61", day_of=day)


class TestPlayback:
    async def test_play_pause_and_speed(self, replay_db: Path) -> None:
        app = make_app(replay_db)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            assert app.speed == 10 and not app.playing
            await keys(app, pilot, "plus", "plus")
            assert app.speed == 50
            assert "50/s" in timeline_text(app)
            started = time.monotonic()
            await post(app, "space")
            assert app.playing and "▶ 50/s" in timeline_text(app)
            await asyncio.sleep(0.3)
            await post(app, "space")
            elapsed = time.monotonic() - started
            assert not app.playing
            await settle(app, pilot)
            stopped_at = app.seq
            assert 5 < stopped_at <= 1 + 50 * elapsed + 2  # 50 ticks/s
            await pilot.pause(0.2)
            assert app.seq == stopped_at  # paused means paused
            await keys(app, pilot, *["plus"] * 6)
            assert app.speed == SPEEDS[-1] == 100
            assert any("fastest" in n for n in app.notices)
            await keys(app, pilot, *["minus"] * 8)
            assert app.speed == SPEEDS[0] == 1

    async def test_playback_stops_at_the_end(self, replay_db: Path) -> None:
        app = make_app(replay_db, start_seq=REPLAY_TICKS - 4, speed=100)
        async with app.run_test() as pilot:
            await pilot.press("space")  # one real Pilot key press
            await wait_for(lambda: not app.playing, pilot)
            await settle(app, pilot)
            assert app.shown_seq == REPLAY_TICKS
            assert any("End of the session" in n for n in app.notices)
            await post(app, "space")  # at the end: plays again from the start
            assert app.playing and app.seq < 10


class TestWhyNoFills:
    async def open_view(self, app: ReplayApp, pilot: Any) -> WhyNoFillsScreen:
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, WhyNoFillsScreen)
        await app.workers.wait_for_complete()
        await wait_for(lambda: screen.result is not None and not screen.computing, pilot)
        return screen

    async def test_numbers_equal_the_engine_summary_and_enter_jumps(self, replay_db: Path) -> None:
        """The table is engine.summary.why_no_fills for the same database; enter on a
        reason lands on the next tick where that side had it, and n repeats."""
        conn = open_readonly(replay_db)
        expected = why_no_fills(conn, 1)
        conn.close()
        src = open_replay(replay_db)
        app = make_app(replay_db, start_seq=500)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            assert "next_reason" not in app.query_one(FittedFooter).shown_actions()
            screen = await self.open_view(app, pilot)
            assert screen.result == expected
            for side in ("BUY", "SELL"):
                info = expected["sides"][side]
                rows = screen.rows(side)
                assert rows == [
                    (reason, f"{r['ticks']:,}", f"{r['share']:.1%}")
                    for reason, r in info["reasons"].items()
                ]
                head = str(screen.query_one(f"#why-head-{side}", Static).content)
                assert f"quoting {info['quoting_ticks']:,}/{REPLAY_TICKS:,}" in head
                assert f"{info['fills']:,} fills" in head

            await pilot.press("tab")  # the SELL table
            reason = screen.rows("SELL")[0][0]
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            jumped = src.next_with_reason(1, "SELL", reason, 500)
            assert jumped is not None and jumped > 500
            await wait_for(lambda: app.seq == jumped, pilot)
            await settle(app, pilot)
            tick = app.shown
            assert tick is not None and tick.decision.sell.reason == reason
            assert tick.decision.sell.action in ("cancel", "none")
            assert "next_reason" in app.query_one(FittedFooter).shown_actions()
            for _ in range(2):
                before = app.seq
                await pilot.press("n")
                await app.workers.wait_for_complete()
                nxt = src.next_with_reason(1, "SELL", reason, before)
                assert nxt is not None
                await wait_for(lambda nxt=nxt: app.seq == nxt, pilot)
                row = src.tick(1, app.seq)
                assert row is not None and row.decision.sell.reason == reason
        src.close()

    async def test_computing_state_is_visible_and_the_ui_stays_live(
        self, replay_db: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        release = threading.Event()
        real = ReplaySource.why_no_fills

        def slow(self: ReplaySource, session_id: int) -> dict[str, Any]:
            assert threading.current_thread() is not threading.main_thread()
            release.wait(10)
            return real(self, session_id)

        monkeypatch.setattr(ReplaySource, "why_no_fills", slow)
        app = make_app(replay_db)
        async with app.run_test() as pilot:
            await pilot.press("w")
            await pilot.pause(0.3)
            screen = app.screen
            assert isinstance(screen, WhyNoFillsScreen) and screen.computing
            assert "computing over 2,000 ticks" in str(screen.query_one("#why-status").content)
            assert screen.query_one("#why-loading").display
            release.set()
            await app.workers.wait_for_complete()
            await wait_for(lambda: not screen.computing, pilot)
            assert screen.result is not None

    async def test_no_later_tick_is_a_notice(self, replay_db: Path) -> None:
        app = make_app(replay_db, start_seq=REPLAY_TICKS)
        async with app.run_test() as pilot:
            await self.open_view(app, pilot)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await wait_for(lambda: any("No tick after" in n for n in app.notices), pilot)
            assert app.seq == REPLAY_TICKS


class TestSessionPicker:
    async def test_picker_on_a_two_session_database(self, two_session_db: Path) -> None:
        app = make_app(two_session_db)
        async with app.run_test() as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SessionPickerScreen)
            table = screen.query_one(DataTable)
            assert table.row_count == 2
            assert [str(c) for c in table.get_row_at(0)][:3] == ["1", "sim", "ended"]
            assert table.cursor_row == 1  # the newest session
            await pilot.press("left", "h")  # dialog keys: nothing moves, nothing halts
            assert app.session_id is None
            await pilot.press("up", "enter")
            await settle(app, pilot)
            assert (app.session_id, app.seq, app.bounds.count) == (1, 1, 300)  # type: ignore[union-attr]
            await pilot.press("o")
            assert isinstance(app.screen, SessionPickerScreen)
            await pilot.press("down", "enter")
            await settle(app, pilot)
            assert (app.session_id, app.seq, app.bounds.count) == (2, 1, 200)  # type: ignore[union-attr]
            assert "session 2" in header_text(app)

    async def test_a_session_without_ticks_shows_fresh_panes(
        self, two_session_db: Path, tmp_path: Path
    ) -> None:
        db = tmp_path / "three.db"
        shutil.copy(two_session_db, db)
        conn = sqlite3.connect(db)
        conn.execute(
            "INSERT INTO sessions (id, mode, started_at, status) VALUES (3, 'sim', 1.0, 'crashed')"
        )
        conn.commit()
        conn.close()
        app = make_app(db, session_id=2)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            assert app.shown is not None
            await pilot.press("o", "down", "enter")
            await pilot.pause()
            assert app.session_id == 3 and app.bounds is None and app.shown is None
            assert "waiting" in str(app.query_one(GuardsPane).content)
            assert "no ticks recorded" in timeline_text(app)
            await keys(app, pilot, "right", "end")
            await pilot.press("g", "w")
            assert len(app.screen_stack) == 1
            assert any("No ticks recorded" in n for n in app.notices)

    async def test_escape_without_a_session_quits(self, two_session_db: Path) -> None:
        app = make_app(two_session_db)
        async with app.run_test() as pilot:
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        assert app.return_code == 0 and app.session_id is None


class TestRecordedState:
    async def test_guards_show_the_recorded_gate_objects(self, replay_db: Path) -> None:
        src = open_replay(replay_db)
        seq = src.next_with_reason(1, "BUY", "momentum", 1000)
        assert seq is not None
        recorded = src.tick(1, seq)
        assert recorded is not None
        app = make_app(replay_db, start_seq=seq)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            guards = app.query_one(GuardsPane)
            shown = guards._tick
            assert shown is not None and shown.decision == recorded.decision
            for side in ("buy", "sell"):
                assert getattr(shown.decision, side).gates == getattr(recorded.decision, side).gates
            assert guards.has_class("-blocked")
            width = guards.content_region.width
            assert text_of(guards.content) == text_of(render_guards(recorded, width))
        src.close()

    @pytest.fixture
    def doctored_db(self, replay_db: Path, tmp_path: Path) -> Path:
        """A copy where tick 50 recorded a failed inventory check and tick 61 a halt."""
        db = tmp_path / "doctored.db"
        shutil.copy(replay_db, db)
        conn = sqlite3.connect(db)
        conn.execute("UPDATE ticks SET check_ok = 0 WHERE id = ?", (tick_id(1, 50),))
        conn.execute("UPDATE ticks SET halted = 'ALL' WHERE id = ?", (tick_id(1, 61),))
        conn.commit()
        conn.close()
        return db

    async def test_inventory_alarm_and_halt_banner_as_recorded(self, doctored_db: Path) -> None:
        app = make_app(doctored_db, start_seq=49)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            inventory = app.query_one(InventoryPane)
            assert not inventory.alarmed
            await keys(app, pilot, "right")
            assert inventory.alarmed
            assert "MISMATCH" in text_of(inventory.content)
            await keys(app, pilot, "right")
            assert not inventory.alarmed
            header = app.query_one(OrionHeader)
            assert not header.has_class("-halted")
            await keys(app, pilot, "shift+right")
            assert header.has_class("-halted") and "HALTED: ALL" in header_text(app)
            await keys(app, pilot, "right")
            assert not header.has_class("-halted")

    async def test_log_holds_logs_and_fills_up_to_the_tick(self, replay_db: Path) -> None:
        src = open_replay(replay_db)
        (seq,) = src.conn.execute(
            "SELECT seq FROM fills WHERE session_id = 1 ORDER BY seq LIMIT 1 OFFSET 20"
        ).fetchone()
        fills = src.fills_at(1, seq)
        app = make_app(replay_db, start_seq=seq - 1)
        async with app.run_test() as pilot:
            await settle(app, pilot)
            log = app.query_one(LogPane)

            def messages() -> list[str]:
                return [e.message for e in log.entries]

            before = messages()
            assert any("session 1 started" in m for m in before)
            await keys(app, pilot, "right")  # onto the tick with fills: appended
            tick = app.shown
            assert tick is not None and tick.fills == fills
            added = messages()[len(before) :]
            assert [m.startswith(f"FILL {f.side}") for m, f in zip(added, fills, strict=True)]
            assert all(e.ts <= tick.market.ts for e in log.entries)
            await keys(app, pilot, "left")  # back over them: gone again
            assert messages() == before
            await keys(app, pilot, "end")  # a jump: the window is rebuilt, up to the end
            last_logs: list[LogEvent] = src.logs_until(1, app.shown.market.ts)  # type: ignore[union-attr]
            assert last_logs[-1].message in messages()
        src.close()


class TestReadOnly:
    async def test_replay_never_writes(self, replay_db: Path, tmp_path: Path) -> None:
        directory = tmp_path / "finished"
        directory.mkdir()
        db = directory / "session.db"
        shutil.copy(replay_db, db)
        os.utime(db, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        state = file_state(db)
        names = sorted(os.listdir(directory))
        app = make_app(db)
        async with app.run_test() as pilot:
            await keys(app, pilot, "right", "pagedown", "end", "home")
            await post(app, "space")
            await asyncio.sleep(0.2)
            await keys(app, pilot, "space")
            await pilot.press("w")
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.press("n", "g", *"1500", "enter", "q")
            await pilot.pause()
        assert file_state(db) == state
        assert sorted(os.listdir(directory)) == names

    def test_follow_on_a_finished_database_replays_it_read_only(
        self, replay_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--follow with no engine writing (no -wal file): following would make SQLite
        create -wal/-shm files, so the database is replayed as finished, with a notice."""
        db = tmp_path / "done.db"
        shutil.copy(replay_db, db)
        made: list[dict[str, Any]] = []

        class Fake:
            return_code = 0

            def __init__(self, source: ReplaySource, **kwargs: Any) -> None:
                made.append(kwargs)
                assert source.bounds(1) is not None

            def run(self) -> None:
                return None

        monkeypatch.setattr(replay_app, "ReplayApp", Fake)
        assert run_replay(str(db), follow=True) == 0
        assert made[0]["follow"] is False and "no -wal file" in made[0]["notice"]
        assert os.listdir(tmp_path) == ["done.db"]

    async def test_operator_keys_do_nothing_and_are_not_offered(self, replay_db: Path) -> None:
        app = make_app(replay_db, start_seq=10)
        async with app.run_test(size=(160, 40)) as pilot:
            await keys(app, pilot, *OPERATOR_KEYS)
            assert len(app.screen_stack) == 1 and app.seq == 10 and app.is_running
            footer_keys = {key.key for key in app.query(FooterKey)}
            assert footer_keys.isdisjoint(OPERATOR_KEYS)
            assert {"left", "right", "space", "g", "w", "question_mark", "q"} <= footer_keys
            bound = {b.key for cmd in REPLAY_COMMANDS for b in [cmd.binding()]}
            assert bound.isdisjoint(OPERATOR_KEYS)
            titles = " ".join(c.title for c in app.get_system_commands(app.screen))
            for word in ("Halt", "Resume", "Config", "Capital", "reload"):
                assert word not in titles
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            help_text = text_of(app.screen.query_one("#help-table", Static).content)
            for word in ("Halt", "Resume", "Config", "Capital"):
                assert word not in help_text
            for key in ("PgUp", "Home", "space", "⇧←"):
                assert key in help_text

    async def test_narrow_footer_keeps_help_and_quit(self, replay_db: Path) -> None:
        app = make_app(replay_db)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            shown = app.query_one(FittedFooter).shown_actions()
            assert {"help", "quit", "toggle_play", "goto", "why_no_fills"} <= set(shown)
            assert "first" not in shown  # still bound: listed by `?`
            await keys(app, pilot, "end")
            assert app.seq == REPLAY_TICKS


class Writer(threading.Thread):
    """An engine writing a sim session in another thread (its own event loop), at
    `speed` until stop(): the database a running engine is still writing."""

    def __init__(self, db: Path, seed: int, speed: float | None, ticks: int | None) -> None:
        super().__init__(daemon=True)
        from engine.loop import Engine
        from engine.settings import load_config

        loaded = load_config(ROOT / "config" / "orion.toml")
        self.engine = Engine(loaded, str(db), mode="sim", seed=seed, speed=speed, max_ticks=ticks)
        self.loop = asyncio.new_event_loop()

    def run(self) -> None:
        try:
            self.loop.run_until_complete(self.engine.run())
        finally:
            self.loop.close()

    def stop(self) -> None:
        if self.is_alive():
            self.loop.call_soon_threadsafe(self.engine.submit, Stop("test"))
        self.join(20)


class TestFollow:
    async def test_follow_sees_ticks_appended_by_a_running_writer(self, tmp_path: Path) -> None:
        db = tmp_path / "live.db"
        writer = Writer(db, seed=7, speed=200.0, ticks=None)  # ~50 ticks/s until stopped
        writer.start()
        try:
            deadline = time.monotonic() + 10
            while True:  # until the engine has recorded its first ticks
                try:
                    probe = open_replay(db, follow=True)
                    ok = probe.bounds(1) is not None
                    probe.close()
                    if ok:
                        break
                except StoreError:
                    pass
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            app = make_app(db, follow=True, poll_interval=0.05)
            async with app.run_test() as pilot:

                def end() -> int:
                    assert app.bounds is not None
                    return app.bounds.last_seq

                await settle(app, pilot)
                first_end = end()
                assert app.seq == first_end  # following opens at the newest tick
                await wait_for(lambda: end() > first_end + 5, pilot)
                await settle(app, pilot)
                assert app.seq == end()  # tail: the view moved with the end
                assert "TAIL" in timeline_text(app)
                await keys(app, pilot, "home")  # away from the end: the view stays put
                grown = end()
                await wait_for(lambda: end() > grown + 5, pilot)
                assert app.seq == 1 and "TAIL" not in timeline_text(app)
                await keys(app, pilot, "end")  # back to the tail
                grown = end()
                await wait_for(lambda: end() > grown + 5 and app.shown_seq == end(), pilot)
                writer.stop()
                last = writer.engine.seq
                await wait_for(lambda: any("now ended" in n for n in app.notices), pilot)
                await wait_for(lambda: app.shown_seq == end() == last, pilot)
                second = Writer(db, seed=8, speed=None, ticks=20)
                second.start()
                second.join(20)
                await wait_for(lambda: any("New session 2" in n for n in app.notices), pilot)
                assert app.session_id == 1  # noted, not switched to
        finally:
            writer.stop()
