"""Write screenshots/*.svg of every console screen (run: python -m scripts.screenshots).

Uses the snapshot tests' fake engine (tests.fakes): fixed market data, a fixed clock,
no animations, no cursor blink and stable SVG ids, so the files only change when the
console does. The replay-*.svg screens replay the snapshot tests' recorded sim
sessions (tests.replay_dbs: same seed, same ticks), built in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from engine.events import InventoryCheck, TickEvent
from engine.store.replay import open_replay
from orion_tui.app import OrionApp
from orion_tui.replay_app import ReplayApp
from orion_tui.screens.config_review import ConfigReviewScreen
from tests import fakes
from tests.replay_dbs import REPLAY_TICKS, build_replay_dbs

OUT = Path(__file__).resolve().parent.parent / "screenshots"

Steps = Callable[[OrionApp, Pilot[Any]], Awaitable[None]]


async def _nothing(app: OrionApp, pilot: Pilot[Any]) -> None:
    return None


def _keys(*keys: str) -> Steps:
    async def press(app: OrionApp, pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)

    return press


async def _review(app: OrionApp, pilot: Pilot[Any]) -> None:
    """The `c` screen with a changed file and a fixed review (engine.review output varies)."""
    screen = ConfigReviewScreen(
        app.engine, loader=fakes.changed_config_loader, reviewer=fakes.fixed_review
    )
    await app.push_screen(screen)


async def _capital(app: OrionApp, pilot: Pilot[Any]) -> None:
    await pilot.press("e", "right", "enter", "tab", "tab", *"75", "enter")


@dataclass(frozen=True)
class Shot:
    name: str
    size: tuple[int, int]
    tick: Callable[[], TickEvent] = fakes.make_tick
    steps: Steps = _nothing


SHOTS: tuple[Shot, ...] = (
    Shot("main-80x24", (80, 24)),
    Shot("main-120x40", (120, 40)),
    Shot("main-160x48", (160, 48)),
    Shot("halted", (120, 40), fakes.tick_halted),
    Shot("blocked-exposure-limit", (120, 40), fakes.tick_exposure_blocked),
    Shot("blocked-momentum", (120, 40), fakes.tick_momentum_blocked),
    Shot("blocked-market-stale", (80, 24), fakes.tick_stale),
    Shot(
        "inventory-alarm",
        (120, 40),
        lambda: fakes.make_tick(check=InventoryCheck(True, False, "in-memory XRP 50 vs db 48")),
    ),
    Shot("help", (100, 34), steps=_keys("question_mark")),
    Shot("resume-confirm", (80, 24), fakes.tick_halted, _keys("u")),
    Shot("config-review", (100, 34), steps=_review),
    Shot("capital-dialog", (80, 24), steps=_keys("e")),
    Shot("capital-refused", (80, 24), steps=_capital),
    Shot("log-filter", (80, 24), steps=_keys("slash", *"fill")),
    Shot("log-filtered", (120, 40), steps=_keys("slash", *"order", "enter")),
)


ReplaySteps = Callable[[ReplayApp, Pilot[Any]], Awaitable[None]]


async def _replay_nothing(app: ReplayApp, pilot: Pilot[Any]) -> None:
    return None


def _replay_keys(*keys: str) -> ReplaySteps:
    async def press(app: ReplayApp, pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)

    return press


async def _why_no_fills(app: ReplayApp, pilot: Pilot[Any]) -> None:
    await pilot.press("w")
    await app.workers.wait_for_complete()
    await pilot.pause()


def _blocked_tick(db: Path) -> int | None:
    """Mid-session, the first tick where BUY did not quote because of momentum."""
    source = open_replay(db)
    try:
        return source.next_with_reason(1, "BUY", "momentum", REPLAY_TICKS // 2)
    finally:
        source.close()


@dataclass(frozen=True)
class ReplayShot:
    name: str
    size: tuple[int, int]
    two_sessions: bool = False  # the two-session database (session picker)
    blocked: bool = True  # start at a blocked tick (else the first)
    steps: ReplaySteps = _replay_nothing


REPLAY_SHOTS: tuple[ReplayShot, ...] = (
    ReplayShot("replay-blocked-120x40", (120, 40)),
    ReplayShot("replay-blocked-80x24", (80, 24)),
    ReplayShot("replay-picker", (100, 30), two_sessions=True),
    ReplayShot("replay-why-no-fills", (120, 40), steps=_why_no_fills),
    ReplayShot("replay-goto", (80, 24), steps=_replay_keys("g", *"L90001500")),
    ReplayShot("replay-help", (100, 34), blocked=False, steps=_replay_keys("question_mark")),
)


async def take_replay(shot: ReplayShot, dbs: tuple[Path, Path], out: Path) -> Path:
    db = dbs[1] if shot.two_sessions else dbs[0]
    start = _blocked_tick(db) if shot.blocked and not shot.two_sessions else None
    app = ReplayApp(open_replay(db), start_seq=start, clock=fakes.fixed_clock, close_source=True)
    app.animation_level = "none"
    async with app.run_test(size=shot.size) as pilot:
        await pilot.pause()
        await shot.steps(app, pilot)
        await pilot.pause()
        for inp in app.screen.query("Input"):
            inp.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()
        svg = app.export_screenshot(title=f"orion-tui · {shot.name}")
    path = out / f"{shot.name}.svg"
    path.write_text(stable_ids(svg, shot.name), encoding="utf-8")
    return path


async def take(shot: Shot, out: Path) -> Path:
    engine = fakes.FakeEngine(shot.tick(), events=fakes.sample_events())
    app = OrionApp(engine, clock=fakes.fixed_clock)
    app.animation_level = "none"
    async with app.run_test(size=shot.size) as pilot:
        await pilot.pause()
        await shot.steps(app, pilot)
        await pilot.pause()
        for inp in app.screen.query("Input"):
            inp.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()
        svg = app.export_screenshot(title=f"orion-tui · {shot.name}")
    path = out / f"{shot.name}.svg"
    path.write_text(stable_ids(svg, shot.name), encoding="utf-8")
    return path


def stable_ids(svg: str, name: str) -> str:
    """Replace Rich's random per-export id, so an unchanged screen gives an unchanged file."""
    stable = zlib.crc32(name.encode()) % 10_000_000_000
    return re.sub(r"\bterminal-\d+-", f"terminal-{stable}-", svg)


async def main(names: list[str], dbs: tuple[Path, Path] | None) -> None:
    OUT.mkdir(exist_ok=True)
    for shot in SHOTS:
        if names and shot.name not in names:
            continue
        print(await take(shot, OUT))
    for replay_shot in REPLAY_SHOTS:
        if dbs is None or (names and replay_shot.name not in names):
            continue
        print(await take_replay(replay_shot, dbs, OUT))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="only these screenshots (default: all)")
    wanted = parser.parse_args().names
    with tempfile.TemporaryDirectory(prefix="orion-shots-") as tmp:
        need_dbs = not wanted or any(n.startswith("replay-") for n in wanted)
        # The sims run in a child process, before this process starts its event loop.
        dbs = build_replay_dbs(Path(tmp)) if need_dbs else None
        asyncio.run(main(wanted, dbs))
