"""Measure the replay console on a database: open-to-first-paint and step latency.

    python -m scripts.replay_bench DB [--steps 300] [--size 120x40]

open-to-first-paint: from open_replay() to the first tick drawn on the (headless)
screen. Per key, over `--steps` presses one frame apart (no coalescing):
  render: the app's own work (the tick's point reads and the pane updates), from
          the key event to the panes holding the new tick;
  paint:  Textual's screen update that follows (the compositor rendering the
          changed panes), timed by wrapping Screen._on_timer_update;
  step:   render + paint, i.e. key to pixels, without the test harness's idle waits.
A last line sends 200 key repeats at once (a held key) and times until the final
position is on screen.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from textual import events
from textual.screen import Screen

from engine.store.replay import open_replay
from orion_tui.replay_app import ReplayApp

PAINT_MS: list[float] = []
_update = Screen._on_timer_update


def _timed_update(self: Screen) -> None:  # type: ignore[type-arg]
    t0 = time.perf_counter()
    _update(self)
    PAINT_MS.append((time.perf_counter() - t0) * 1000)


Screen._on_timer_update = _timed_update  # type: ignore[method-assign]


def _ms(values: list[float]) -> str:
    values = sorted(values) or [0.0]
    p95 = values[int(len(values) * 0.95) - 1] if len(values) >= 20 else values[-1]
    median = statistics.median(values)
    return f"median {median:6.2f} ms  p95 {p95:6.2f} ms  max {values[-1]:6.2f} ms"


async def bench(db: str, steps: int, size: tuple[int, int], session: int | None) -> None:
    started = time.perf_counter()
    source = open_replay(db)
    sessions = source.sessions()
    sid = session or sessions[-1].session_id
    bounds = source.bounds(sid)
    assert bounds is not None
    app = ReplayApp(source, session_id=sid, start_seq=bounds.first_seq + bounds.count // 2)
    app.animation_level = "none"
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        first_paint = time.perf_counter() - started
        print(f"{db}: session {sid}, {bounds.count:,} ticks, terminal {size[0]}x{size[1]}")
        print(f"open-to-first-paint {first_paint * 1000:.0f} ms")
        for key in ("right", "left", "pagedown", "shift+right", "end", "home"):
            renders, paints, steps_ms = [], [], []
            n = steps if key not in ("end", "home") else max(steps // 10, 10)
            for i in range(n):
                if key in ("end", "home"):  # jump from somewhere else each time
                    app.move_to(bounds.first_seq + (i * 7919) % bounds.count, notice=False)
                    await pilot.pause()
                await asyncio.sleep(app._frame)  # one step at a time: no coalescing
                await pilot.pause()
                before = app.seq
                PAINT_MS.clear()
                app.post_message(events.Key(key, None))
                while app.seq == before and app.seq not in (bounds.first_seq, bounds.last_seq):
                    await asyncio.sleep(0.0002)
                while app.shown_seq != app.seq:
                    await asyncio.sleep(0.0002)
                await pilot.pause()  # let the screen update run
                render = app.render_ms[-1]
                paint = sum(PAINT_MS)
                renders.append(render)
                paints.append(paint)
                steps_ms.append(render + paint)
            print(f"{key:>12}: step {_ms(steps_ms)}")
            print(f"{'':>12}  render {_ms(renders)} | paint {_ms(paints)}")
        # A held key: 200 key events arrive faster than they can be drawn. Keys only
        # move the target; renders coalesce to at most max_fps, so the last position
        # is on screen right after the last key is handled, not 200 renders later.
        start_seq = app.seq
        renders_before = len(app.render_ms)
        t0 = time.perf_counter()
        for _ in range(200):
            app.post_message(events.Key("right", None))
        while app.seq != start_seq + 200 or app.shown_seq != app.seq:
            await asyncio.sleep(0.001)
        drawn = time.perf_counter() - t0
        renders = len(app.render_ms) - renders_before
        print(f"200 queued right keys: tick {app.shown_seq:,} on screen after {drawn * 1000:.0f} ms"
              f" with {renders} renders")  # fmt: skip
    source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--session", type=int, default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    asyncio.run(bench(args.db, args.steps, (width, height), args.session))


if __name__ == "__main__":
    main()
