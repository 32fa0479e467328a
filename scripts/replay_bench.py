"""Measure the replay console on a database: open-to-first-paint and step latency.

    python -m scripts.replay_bench DB [--steps 300] [--size 120x40]

open-to-first-paint: from open_replay() to the first tick drawn on the (headless)
screen. Step latency: the CPU time of one key press until the screen is painted
again (Pilot.press, wait for idle, force the screen update), minus the same for a
key that is bound to nothing (the test harness's own cost); Pilot's idle detection
sleeps in 20 ms slices, so wall-clock key-to-paint in a test harness says little.
`render` is the app's own part (the tick read and the pane updates).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from textual import events

from engine.store.replay import open_replay
from orion_tui.replay_app import ReplayApp


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
        baseline = []
        for _ in range(max(steps // 4, 20)):
            t0 = time.process_time()
            await pilot.press("x")  # bound to nothing
            await pilot.pause()
            baseline.append((time.process_time() - t0) * 1000)
        base = statistics.median(baseline)
        print(f"harness CPU per press+pause (unbound key): {_ms(baseline)}")
        for key in ("right", "left", "pagedown", "shift+right", "end", "home"):
            app.render_ms.clear()
            cpu = []
            n = steps if key not in ("end", "home") else 20
            for i in range(n):
                if key in ("end", "home"):
                    app.move_to(bounds.first_seq + (i * 7919) % bounds.count, notice=False)
                    await pilot.pause()
                    app.render_ms.clear() if i == 0 else None
                before = app.seq
                await asyncio.sleep(app._frame)  # let a frame pass: no coalescing here
                t0 = time.process_time()
                await pilot.press(key)
                while app.shown_seq != app.seq:  # a coalesced render is due next frame
                    await pilot.pause(0.001)
                await pilot.pause()
                cpu.append(max((time.process_time() - t0) * 1000 - base, 0.0))
                assert app.seq != before or app.seq in (bounds.first_seq, bounds.last_seq)
            print(f"{key:>12}: key-to-paint CPU {_ms(cpu)} | render {_ms(list(app.render_ms))}")
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
