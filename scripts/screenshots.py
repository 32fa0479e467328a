"""Write screenshots/*.svg of every console screen (run: python -m scripts.screenshots).

Uses the snapshot tests' fake engine (tests.fakes): fixed market data, a fixed clock,
no animations, no cursor blink and stable SVG ids, so the files only change when the
console does.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from engine.events import InventoryCheck, TickEvent
from orion_tui.app import OrionApp
from orion_tui.screens.config_review import ConfigReviewScreen
from tests import fakes

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


async def main(names: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    for shot in SHOTS:
        if names and shot.name not in names:
            continue
        print(await take(shot, OUT))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="only these screenshots (default: all)")
    asyncio.run(main(parser.parse_args().names))
