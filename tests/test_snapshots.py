"""SVG snapshot tests of every console screen: one class per feature.

Deterministic by construction: fixed fake engine data (tests.fakes), a fixed header
clock, no animations, no cursor blink. Update with `pytest --snapshot-update` only
after looking at the new SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.reactive import reactive
from textual.widgets import Input

from engine.events import InventoryCheck
from engine.store.replay import open_replay
from orion_tui.app import OrionApp
from orion_tui.replay_app import ReplayApp
from orion_tui.screens import config_review
from tests import fakes
from tests.fakes import FakeEngine, make_tick, sample_events
from tests.replay_dbs import REPLAY_TICKS, replay_db, replay_dbs, two_session_db

__all__ = ["replay_db", "replay_dbs", "two_session_db"]  # session fixtures for pytest

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def fresh_event_loop() -> Iterator[None]:
    """snap_compare runs the app with asyncio.run(), which leaves no current loop behind."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor would make every screenshot with an Input a coin toss."""
    steady = reactive(False, init=False)
    steady.__set_name__(Input, "cursor_blink")
    monkeypatch.setattr(Input, "cursor_blink", steady)


def console(tick: Any = None, **engine_kwargs: Any) -> OrionApp:
    engine = FakeEngine(tick or make_tick(), events=sample_events(), **engine_kwargs)
    app = OrionApp(engine, clock=fakes.fixed_clock)
    app.animation_level = "none"
    return app


class TestMainScreen:
    def test_main_80x24(self, snap_compare: SnapCompare) -> None:
        """The compact layout over SSH: every pane visible, title rules instead of boxes."""
        assert snap_compare(console(), terminal_size=(80, 24))

    def test_main_120x40(self, snap_compare: SnapCompare) -> None:
        """Boxed panes; the log moves under the inventory, the ladder gets its depth."""
        assert snap_compare(console(), terminal_size=(120, 40))


class TestHalted:
    def test_halted_all(self, snap_compare: SnapCompare) -> None:
        """A red header naming what is halted; both sides BLOCKED by `halted`."""
        assert snap_compare(console(fakes.tick_halted()), terminal_size=(80, 24))

    def test_halt_buy_key(self, snap_compare: SnapCompare) -> None:
        """Pressing b halts BUY at once: the banner changes before the next tick."""
        assert snap_compare(console(), press=["b"], terminal_size=(120, 40))


class TestBlockedSide:
    def test_buy_blocked_by_exposure_limit(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(fakes.tick_exposure_blocked()), terminal_size=(120, 40))

    def test_sell_blocked_by_momentum(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(fakes.tick_momentum_blocked()), terminal_size=(120, 40))

    def test_both_blocked_by_market_stale(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(fakes.tick_stale()), terminal_size=(80, 24))


class TestInventoryAlarm:
    def test_rebuild_mismatch_alarm(self, snap_compare: SnapCompare) -> None:
        check = InventoryCheck(sums_ok=True, rebuild_ok=False, detail="in-memory XRP 50 vs db 48")
        assert snap_compare(console(make_tick(check=check)), terminal_size=(120, 40))


class TestHelp:
    def test_help(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(), press=["question_mark"], terminal_size=(100, 34))


class TestConfirm:
    def test_resume_confirm(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(fakes.tick_halted()), press=["u"], terminal_size=(80, 24))

    def test_quit_with_open_orders(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(), press=["q"], terminal_size=(80, 24))


class TestConfigReview:
    def test_diff_and_findings(
        self, snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(config_review, "load_config_file", fakes.changed_config_loader)
        monkeypatch.setattr(config_review, "review_config", fakes.fixed_review)
        assert snap_compare(console(), press=["c"], terminal_size=(100, 34))

    def test_diff_80x24(self, snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(config_review, "load_config_file", fakes.changed_config_loader)
        monkeypatch.setattr(config_review, "review_config", fakes.fixed_review)
        assert snap_compare(console(), press=["c"], terminal_size=(80, 24))

    def test_rejected_file(
        self, snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(config_review, "load_config_file", fakes.rejecting_loader)
        assert snap_compare(console(), press=["c"], terminal_size=(100, 34))


class TestCapitalDialog:
    def test_dialog(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(), press=["e"], terminal_size=(80, 24))

    def test_withdrawal_refused(self, snap_compare: SnapCompare) -> None:
        async def type_withdrawal(pilot: Pilot[Any]) -> None:
            await pilot.press("e", "right", "enter", "tab", "tab", *"75", "enter")

        assert snap_compare(console(), run_before=type_withdrawal, terminal_size=(80, 24))

    def test_confirm_step(self, snap_compare: SnapCompare) -> None:
        async def type_deposit(pilot: Pilot[Any]) -> None:
            await pilot.press("e", "tab", "right", "enter", "tab", *"25", "tab", *"top-up")
            await pilot.press("enter")

        assert snap_compare(console(), run_before=type_deposit, terminal_size=(80, 24))


class TestLogFilter:
    def test_filter_dialog(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(), press=["slash", *"fill"], terminal_size=(80, 24))

    def test_filtered_log(self, snap_compare: SnapCompare) -> None:
        assert snap_compare(console(), press=["slash", *"order", "enter"], terminal_size=(120, 40))


# ---- replay console (orion-tui replay): recorded sim sessions, seed 7 -----------------


def replay(db: Path, **kwargs: Any) -> ReplayApp:
    app = ReplayApp(open_replay(db), clock=fakes.fixed_clock, close_source=True, **kwargs)
    app.animation_level = "none"
    return app


def blocked_tick(db: Path) -> int:
    """The first tick after the middle where BUY did not quote because of momentum."""
    source = open_replay(db)
    try:
        seq = source.next_with_reason(1, "BUY", "momentum", REPLAY_TICKS // 2)
    finally:
        source.close()
    assert seq is not None
    return seq


async def _why_no_fills(pilot: Pilot[Any]) -> None:
    await pilot.press("w")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class TestReplayScreen:
    def test_start_120x40(self, snap_compare: SnapCompare, replay_db: Path) -> None:
        """The first tick: REPLAY badge, session mode, tick / ledger / time as recorded."""
        assert snap_compare(replay(replay_db), terminal_size=(120, 40))

    def test_middle_blocked_tick_120x40(self, snap_compare: SnapCompare, replay_db: Path) -> None:
        """Mid-session, BUY blocked by momentum: the guards pane as the engine decided."""
        app = replay(replay_db, start_seq=blocked_tick(replay_db))
        assert snap_compare(app, terminal_size=(120, 40))

    def test_end_100x30(self, snap_compare: SnapCompare, replay_db: Path) -> None:
        """`end`: the last tick, the timeline full."""
        assert snap_compare(replay(replay_db), press=["end"], terminal_size=(100, 30))

    def test_blocked_tick_80x24(self, snap_compare: SnapCompare, replay_db: Path) -> None:
        """Compact layout over SSH: the footer keeps play, go to, why, help and quit."""
        app = replay(replay_db, start_seq=blocked_tick(replay_db))
        assert snap_compare(app, terminal_size=(80, 24))


class TestReplayPicker:
    def test_two_sessions(self, snap_compare: SnapCompare, two_session_db: Path) -> None:
        assert snap_compare(replay(two_session_db), terminal_size=(100, 30))


class TestReplayWhyNoFills:
    def test_view_120x40(self, snap_compare: SnapCompare, replay_db: Path) -> None:
        """Both sides side by side: reasons with tick count and share, quoting, fills."""
        app = replay(replay_db, start_seq=500)
        assert snap_compare(app, run_before=_why_no_fills, terminal_size=(120, 40))


class TestReplayGoto:
    def test_bad_input(self, snap_compare: SnapCompare, replay_db: Path) -> None:
        """An unreadable go-to input: the dialog stays open and says what it accepts."""
        app = replay(replay_db, start_seq=500)
        assert snap_compare(app, press=["g", *"12:61", "enter"], terminal_size=(80, 24))
