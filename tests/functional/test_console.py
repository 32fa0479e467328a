"""Pilot tests of the operator console against tests.fakes.FakeEngine.

Each test drives the keyboard the way an operator would and asserts on the commands
the engine received, or on what a pane shows.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input, RadioSet, Static

from engine.events import (
    Halt,
    HaltEvent,
    InventoryCheck,
    LogEvent,
    RecordCapital,
    ReloadConfig,
    Resume,
    SessionEvent,
    Stop,
)
from engine.models import HaltState
from orion_tui.app import OPERATOR_COMMANDS, OrionApp
from orion_tui.screens.capital import CapitalScreen, check_capital
from orion_tui.screens.config_review import ConfigReviewScreen, ReviewFinding
from orion_tui.screens.confirm import ConfirmScreen
from orion_tui.screens.help import HelpScreen
from orion_tui.screens.log_filter import LogFilterScreen
from orion_tui.widgets.guards import GuardsPane
from orion_tui.widgets.header import OrionHeader
from orion_tui.widgets.inventory import InventoryPane, inventory_alarms
from orion_tui.widgets.ladder import ladder_rows
from orion_tui.widgets.log import LogFilter, LogPane
from tests import fakes
from tests.fakes import FakeEngine, fixed_clock, make_snapshot, make_tick, sample_events

CONFIG = Path(__file__).resolve().parents[2] / "config" / "orion.toml"


def make_app(engine: FakeEngine, **kwargs: object) -> OrionApp:
    kwargs.setdefault("refresh_hz", 20.0)  # tests pause ~0.2 s for a refresh
    app = OrionApp(engine, clock=fixed_clock, **kwargs)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(make_tick(), events=sample_events())


def static_text(widget: Static) -> str:
    """Plain text of a Static's current content (a Rich renderable or a string)."""
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


class TestStartAndStop:
    async def test_run_is_started_once_and_panes_render(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert engine.running
            assert "tick 1234" in static_text(app.query_one(OrionHeader))
            assert len(app.query_one(LogPane).entries) == len(sample_events())

    async def test_what_the_engine_says_before_the_app_starts_is_logged(
        self, engine: FakeEngine
    ) -> None:
        """`orion-tui run` opens the engine before the app mounts: its first lines
        (session started, seeded balances) must reach the log all the same."""
        app = make_app(engine)
        engine.emit(LogEvent(fakes.FIXED_NOW, "INFO", "session 7 started: mode sim", "engine"))
        engine.emit(HaltEvent(HaltState(all=True), fakes.FIXED_NOW))  # held from before
        async with app.run_test() as pilot:
            await pilot.pause()
            messages = [e.message for e in app.query_one(LogPane).entries]
            assert "session 7 started: mode sim" in messages
            assert any(m.startswith("HALTED ALL") for m in messages)

    async def test_engine_already_running_is_not_started_again(self, engine: FakeEngine) -> None:
        engine.running = True
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert not app.start_engine

    async def test_session_end_is_shown_without_exiting(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.pause()
            engine.finish()  # max_ticks reached
            await pilot.pause(0.2)
            assert app.phase == "ended"
            assert "SESSION ENDED" in static_text(app.query_one(OrionHeader))
            assert app.is_running

    async def test_q_after_the_session_ended_exits_at_once(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            engine.finish()
            await pilot.pause(0.2)
            await pilot.press("q")
            await pilot.pause()
        assert app.return_value == engine.summary
        assert engine.commands(Stop) == []  # nothing left to stop

    async def test_start_error_exits_with_its_message(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        class EngineStartError(Exception):  # matched by name, like engine.loop's
            pass

        class NoStart(FakeEngine):
            async def run(self) -> dict[str, object]:
                raise EngineStartError("database is damaged: quick_check failed")

        app = make_app(NoStart(make_tick()))
        async with app.run_test() as pilot:
            await pilot.pause(0.2)
        assert app.return_code == 1
        assert "cannot start the engine: database is damaged" in capsys.readouterr().err

    async def test_engine_crash_is_shown_not_hidden(self) -> None:
        class Crashing(FakeEngine):
            async def run(self) -> dict[str, object]:
                raise RuntimeError("boom")

        app = make_app(Crashing(make_tick()))
        async with app.run_test() as pilot:
            await pilot.pause(0.2)
            assert app.phase == "failed"
            assert "ENGINE ERROR" in static_text(app.query_one(OrionHeader))
            assert any("boom" in e.message for e in app.query_one(LogPane).entries)

    async def test_watching_an_engine_run_elsewhere(self, engine: FakeEngine) -> None:
        app = make_app(engine, start_engine=False)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert not engine.running
            engine.emit(SessionEvent("stopped", fakes.SESSION_ID, fakes.FIXED_NOW, {"ticks": 5}))
            await pilot.pause(0.2)
            assert app.phase == "ended"


class TestHaltKeys:
    @pytest.mark.parametrize(("key", "side"), [("h", None), ("b", "BUY"), ("s", "SELL")])
    async def test_halt_key_submits_halt_at_once(
        self, engine: FakeEngine, key: str, side: str | None
    ) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press(key)
            await pilot.pause()
            assert engine.commands(Halt) == [Halt(side=side, reason="operator")]  # type: ignore[arg-type]
            assert not isinstance(app.screen, ConfirmScreen)  # halting never asks

    async def test_halt_shows_the_banner(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("b")
            await pilot.pause(0.2)
            header = app.query_one(OrionHeader)
            assert header.has_class("-halted")
            assert "HALTED: BUY" in static_text(header)

    async def test_keys_do_nothing_while_a_dialog_is_open(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("h", "s", "u")
            assert engine.submitted == []


class TestResume:
    async def test_resume_asks_then_submits(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("h", "u")
            assert isinstance(app.screen, ConfirmScreen)
            assert engine.commands(Resume) == []
            await pilot.press("y")
            await pilot.pause()
            assert engine.commands(Resume) == [Resume()]
            assert engine.halt == HaltState()

    async def test_resume_cancelled_with_n(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("h", "u", "n")
            await pilot.pause()
            assert engine.commands(Resume) == []
            assert not isinstance(app.screen, ConfirmScreen)

    async def test_enter_does_not_confirm(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("h", "u", "enter")
            await pilot.pause()
            assert engine.commands(Resume) == []


class TestQuit:
    async def test_quit_with_open_orders_asks_for_y(self, engine: FakeEngine) -> None:
        assert engine.open_orders() == 2
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("q")
            assert isinstance(app.screen, ConfirmScreen)
            assert engine.commands(Stop) == []
            await pilot.press("y")
            await pilot.pause(0.2)
        assert engine.commands(Stop) == [Stop(reason="operator quit")]
        assert engine.open_orders() == 0  # run() cancelled them before the app exited
        assert app.return_value == engine.summary

    async def test_quit_declined_keeps_running(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("q", "n")
            await pilot.pause()
            assert engine.commands(Stop) == []
            assert app.is_running

    async def test_quit_without_orders_stops_and_waits_for_run(self) -> None:
        engine = FakeEngine(make_tick(with_orders=False))
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("q")
            await pilot.pause(0.2)
        assert engine.commands(Stop) == [Stop(reason="operator quit")]
        assert not engine.running
        assert app.return_value == engine.summary


class TestCapitalEvent:
    async def test_amount_is_validated_then_event_submitted(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("e")
            screen = app.screen
            assert isinstance(screen, CapitalScreen)
            amount = screen.query_one("#capital-amount", Input)
            for bad in ("abc", "-5", "0", "inf", "nan"):
                amount.value = bad
                amount.focus()
                await pilot.press("enter")
                await pilot.pause()
                assert app.screen is screen, bad
                assert "amount must be" in static_text(screen.query_one("#capital-error", Static))
            assert engine.commands(RecordCapital) == []
            # a deposit of 25 RLUSD: asset radio to RLUSD with the keyboard
            screen.query_one("#capital-asset", RadioSet).focus()
            await pilot.press("right", "enter")
            amount.value = "25"
            screen.query_one("#capital-note", Input).value = "top-up"
            amount.focus()
            await pilot.press("enter")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await pilot.pause()
        (cmd,) = engine.commands(RecordCapital)
        assert (cmd.event.kind, cmd.event.asset, cmd.event.amount) == ("deposit", "RLUSD", 25.0)
        assert cmd.event.note == "top-up"
        assert cmd.event.ts == fixed_clock()

    async def test_withdrawal_beyond_total_is_refused(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("e")
            screen = app.screen
            assert isinstance(screen, CapitalScreen)
            await pilot.press("right", "enter")  # kind: withdrawal (RadioSet focused first)
            assert screen.kind == "withdrawal"
            amount = screen.query_one("#capital-amount", Input)
            amount.value = "50.5"  # XRP total is 50
            amount.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is screen
            assert "exceeds the total" in static_text(screen.query_one("#capital-error", Static))
            await pilot.press("escape")
            await pilot.pause()
        assert engine.commands(RecordCapital) == []

    def test_check_capital_rules(self) -> None:
        snap = make_snapshot()
        assert check_capital("withdrawal", "XRP", "50", snap) == (50.0, None)
        assert check_capital("withdrawal", "RLUSD", "90.01", snap)[0] is None
        assert check_capital("withdrawal", "XRP", "1", None)[0] is None  # no tick yet
        assert check_capital("deposit", "XRP", "1,000.5", None) == (1000.5, None)
        assert check_capital("basis_commit", "RLUSD", "1e400", snap)[0] is None
        assert not math.isnan(check_capital("deposit", "XRP", "2", snap)[0] or math.nan)


class TestLogFilter:
    async def test_text_filter_applies_to_the_log(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            log = app.query_one(LogPane)
            assert len(log.visible_entries()) == len(sample_events())
            await pilot.press("slash")
            assert isinstance(app.screen, LogFilterScreen)
            await pilot.press(*"FILL", "enter")
            await pilot.pause()
            log = app.query_one(LogPane)
            assert log.filter == LogFilter(text="FILL")
            assert [e.source for e in log.visible_entries()] == ["fill"]
            assert len(log.lines) == 1
            assert "filter" in str(log.border_subtitle)

    async def test_level_filter_and_new_entries(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.pause()
            app.query_one(LogPane).set_filter(LogFilter(min_level="WARNING"))
            engine.emit(LogEvent(fakes.FIXED_NOW, "INFO", "quiet", "engine"))
            engine.emit(LogEvent(fakes.FIXED_NOW, "ERROR", "loud", "engine"))
            await pilot.pause(0.2)
            messages = [e.message for e in app.query_one(LogPane).visible_entries()]
            assert "loud" in messages and "quiet" not in messages

    async def test_a_burst_keeps_the_newest_lines_and_says_how_many_more(
        self, engine: FakeEngine
    ) -> None:
        app = make_app(engine, log_lines=20, refresh_hz=0.01)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            for i in range(100):
                engine.emit(LogEvent(fakes.FIXED_NOW, "INFO", f"line {i}", "engine"))
            app.refresh_panes()
            await pilot.pause()
            log = app.query_one(LogPane)
            assert [e.message for e in log.entries] == [f"line {i}" for i in range(80, 100)]
            drawn = "\n".join(strip.text for strip in log.lines)
            # 80 never formatted, 8 kept but not drawn; the newest 12 drawn
            assert "… 88 more line(s); the log keeps the newest 20" in drawn
            assert "line 99" in drawn and "line 88" in drawn and "line 87" not in drawn

    async def test_escape_keeps_the_filter(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.press("slash", "x", "escape")
            await pilot.pause()
            assert app.query_one(LogPane).filter == LogFilter()


class TestInventoryAlarm:
    async def test_no_alarm_when_sums_add_up(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert not app.query_one(InventoryPane).alarmed

    @pytest.mark.parametrize(
        "check",
        [
            InventoryCheck(sums_ok=False, rebuild_ok=True, detail="XRP 50 != 45 + 0"),
            InventoryCheck(sums_ok=True, rebuild_ok=False, detail="snapshot != rebuild"),
        ],
    )
    async def test_engine_reported_mismatch_raises_alarm(
        self, engine: FakeEngine, check: InventoryCheck
    ) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.pause()
            engine.push(make_tick(seq=1235, check=check))
            await pilot.pause(0.2)
            pane = app.query_one(InventoryPane)
            assert pane.alarmed
            assert "INVENTORY MISMATCH" in static_text(pane)
            assert check.detail in static_text(pane)

    async def test_console_checks_the_sum_itself(self, engine: FakeEngine) -> None:
        bad = fakes.corrupt_total(make_snapshot(), xrp_balance=55.0)
        app = make_app(engine)
        async with app.run_test() as pilot:
            engine.push(make_tick(seq=1235, snapshot=bad))  # engine's check says ok
            await pilot.pause(0.2)
            pane = app.query_one(InventoryPane)
            assert pane.alarmed
            assert "XRP total 55.0000" in static_text(pane)

    def test_alarm_lines(self) -> None:
        ok = InventoryCheck(True, True)
        assert inventory_alarms(make_snapshot(), ok) == []
        assert inventory_alarms(make_snapshot(), InventoryCheck(True, None)) == []
        assert len(inventory_alarms(make_snapshot(), InventoryCheck(True, False))) == 1


class TestGuardsAndLadder:
    async def test_guards_render_the_decision_gates(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            engine.push(fakes.tick_exposure_blocked())
            await pilot.pause(0.2)
            pane = app.query_one(GuardsPane)
            text = static_text(pane)
            assert "BLOCKED 153.54/150" in text  # exactly the strategy's value/threshold
            assert "BLOCKED exposure" in text
            assert pane.border_subtitle == "blocked: BUY"

    def test_ladder_orders_levels_markers_and_ours_by_price(self) -> None:
        tick = make_tick()
        rows = ladder_rows(tick, depth=2)
        prices = [r.price for r in rows]
        assert prices == sorted(prices, reverse=True)
        marks = {m: r.price for r in rows for m in r.marks}
        assert marks["mid"] == pytest.approx(2.2)
        assert marks["AMM"] == pytest.approx(2.2031)
        assert marks["anchor"] == pytest.approx(2.2022)
        assert sum(len(r.ours) for r in rows) == 2


class TestConfigReview:
    async def test_diff_findings_and_apply(
        self, engine: FakeEngine, tmp_path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from orion_tui.screens import config_review

        text = CONFIG.read_text(encoding="utf-8")
        path = tmp_path / "orion.toml"
        path.write_text(text.replace("max_xrp_exposure = 150", "max_xrp_exposure = 175"))
        engine.loaded = engine.loaded.model_copy(update={"path": str(path)})
        monkeypatch.setattr(
            config_review,
            "review_config",
            lambda *a: [ReviewFinding("warning", "risk.max_xrp_exposure", "raised")],
        )
        app = make_app(engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("c")
            screen = app.screen
            assert isinstance(screen, ConfigReviewScreen)
            assert screen.changes == [("risk.max_xrp_exposure", 150.0, 175.0)]
            await pilot.press("a")
            await pilot.pause()
        (cmd,) = engine.commands(ReloadConfig)
        assert cmd.loaded.settings.risk.max_xrp_exposure == 175.0

    async def test_invalid_file_applies_nothing(self, engine: FakeEngine, tmp_path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text("[risk]\nmax_xrp_exposure = -1\n")
        engine.loaded = engine.loaded.model_copy(update={"path": str(path)})
        app = make_app(engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("c")
            screen = app.screen
            assert isinstance(screen, ConfigReviewScreen)
            assert any("risk.max_xrp_exposure" in p for p in screen.problems)
            await pilot.press("a", "enter")
            assert app.screen is screen  # nothing to apply
            await pilot.press("escape")
            await pilot.pause()
        assert engine.commands(ReloadConfig) == []

    async def test_error_finding_blocks_apply(
        self, engine: FakeEngine, tmp_path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from orion_tui.screens import config_review

        text = CONFIG.read_text(encoding="utf-8")
        path = tmp_path / "orion.toml"
        path.write_text(text.replace("base_size_rlusd = 15", "base_size_rlusd = 500"))
        engine.loaded = engine.loaded.model_copy(update={"path": str(path)})
        monkeypatch.setattr(
            config_review,
            "review_config",
            lambda *a: [ReviewFinding("error", "strategy.base_size_rlusd", "too big")],
        )
        app = make_app(engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("c", "a")
            await pilot.pause()
            assert isinstance(app.screen, ConfigReviewScreen)
        assert engine.commands(ReloadConfig) == []


class TestHelpAndPalette:
    async def test_help_lists_every_key(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("question_mark")
            screen = app.screen
            assert isinstance(screen, HelpScreen)
            text = static_text(screen.query_one("#help-table", Static))
            for cmd in OPERATOR_COMMANDS:
                assert cmd.help in text.replace("\n", " ").replace("  ", " ") or cmd.label
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)

    async def test_bindings_have_ids_and_priority(self) -> None:
        bindings = OrionApp.BINDINGS
        assert {b.id for b in bindings} == {c.id for c in OPERATOR_COMMANDS}  # type: ignore[union-attr]
        assert all(b.priority for b in bindings)  # type: ignore[union-attr]

    async def test_palette_offers_the_operator_actions(self, engine: FakeEngine) -> None:
        app = make_app(engine)
        async with app.run_test() as pilot:
            await pilot.pause()
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for cmd in OPERATOR_COMMANDS:
                assert any(t.startswith(cmd.label) for t in titles), cmd.label
            assert titles.count("Quit") == 0  # Textual's immediate quit is replaced by ours
            halt = next(
                c for c in app.get_system_commands(app.screen) if c.title.startswith("Halt all")
            )
            halt.callback()
            assert engine.commands(Halt) == [Halt()]


class TestLayout:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
    async def test_every_pane_is_visible(self, engine: FakeEngine, size: tuple[int, int]) -> None:
        app = make_app(engine)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for selector in ("#ladder", "#divergence", "#log", "#guards", "#inventory"):
                region = app.query_one(selector).region
                assert region.height >= 3 and region.width >= 30, (selector, region)
                assert region.bottom <= size[1] - 1 and region.right <= size[0], selector


class TestRefreshRate:
    """A flat-out sim is drawn once a second (panes, log and header); a ledger-paced
    market at the refresh rate; a halt at once whatever the pace."""

    @staticmethod
    def _age_last_refresh(app: OrionApp, seconds: float) -> None:
        assert app._refreshed is not None
        app._refreshed = (app._refreshed[0] - seconds, app._refreshed[1])

    async def test_flat_out_log_waits_for_the_slower_rate(self, engine: FakeEngine) -> None:
        app = make_app(engine, refresh_hz=0.01)  # the test calls the timer itself
        async with app.run_test() as pilot:
            await pilot.pause()
            log = app.query_one(LogPane)
            before = len(log.entries)
            engine.push(make_tick(seq=1234 + 5_000))  # thousands of ticks since the last draw
            engine.emit(LogEvent(fakes.FIXED_NOW, "INFO", "flat out", "engine"))
            app._on_refresh_timer()
            assert len(log.entries) == before
            self._age_last_refresh(app, 1.0)
            app._on_refresh_timer()
            assert len(log.entries) == before + 1

    async def test_ledger_pace_is_drawn_at_each_refresh(self, engine: FakeEngine) -> None:
        app = make_app(engine, refresh_hz=0.01)
        async with app.run_test() as pilot:
            await pilot.pause()
            log = app.query_one(LogPane)
            before = len(log.entries)
            engine.push(make_tick(seq=1235))
            engine.emit(LogEvent(fakes.FIXED_NOW, "INFO", "next ledger", "engine"))
            self._age_last_refresh(app, 0.25)  # one 4 Hz refresh period later
            app._on_refresh_timer()
            assert len(log.entries) == before + 1

    async def test_halt_is_drawn_at_once_when_flat_out(self, engine: FakeEngine) -> None:
        app = make_app(engine, refresh_hz=0.01)
        async with app.run_test() as pilot:
            await pilot.pause()
            engine.push(make_tick(seq=1234 + 5_000))
            await pilot.press("h")
            await pilot.pause()
            header = app.query_one(OrionHeader)
            assert header.has_class("-halted")
            assert "halt ALL requested" in [e.message for e in app.query_one(LogPane).entries]


class TestRealEngine:
    """The console around the real engine (sim, flat out): ticks render, q stops it."""

    async def test_sim_session_renders_and_quits(self, tmp_path: Path) -> None:
        loop_module = pytest.importorskip("engine.loop")
        from engine.settings import load_config

        engine = loop_module.Engine(
            load_config(CONFIG), str(tmp_path / "orion.db"), mode="sim", seed=7, speed=None,
            max_ticks=None,
        )  # fmt: skip
        app = OrionApp(engine, clock=fixed_clock, refresh_hz=20)
        app.animation_level = "none"
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if engine.latest is not None and engine.latest.seq > 20:
                    break
            assert engine.latest is not None and engine.latest.seq > 20
            await pilot.pause(0.2)
            assert "tick" in static_text(app.query_one(OrionHeader))
            assert app.query_one(GuardsPane).has_class("pane")
            await pilot.press("q")
            if isinstance(app.screen, ConfirmScreen):
                await pilot.press("y")
            for _ in range(100):
                await pilot.pause(0.05)
                if not app.is_running:
                    break
        assert not engine.running
        assert engine.open_orders() == 0
        assert isinstance(app.return_value, dict) and app.return_value["ticks"] > 20
