"""Console cost and halt latency.

    python -m benchmarks.console [--ticks N] [--runs R] [--halts K]

1. Engine throughput flat out with the console attached (Textual app in headless
   mode at 120x40, panes at the console's default refresh rate) beside the same
   engine headless, in the same run, after a warm-up; target ratio >= 0.8.
2. Key-to-halt latency: press `h` in the console; time from the key event's
   creation (the moment the terminal driver would hand it to the app; Textual
   stamps every event) to the engine reporting (HaltEvent) that it is halted and
   every open order is cancelled; median and p99 over K presses, with the sim at
   real-time speed and flat out, and in paper mode against the fake rippled
   (tests/fake_rippled, in this process, a ledger every PAPER_LEDGER_S) with the
   real xrpl-py client: there the halt lands between ledgers, as it would live.
   The key waits in the app's queue behind whatever frame is being drawn, so this
   is what an operator's key press sees. (Pilot.press itself waits for the app to
   go idle, so timing around it would measure the test harness, not the console.)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from textual import events

from engine.events import HaltEvent, Resume
from engine.loop import Engine
from engine.settings import load_config
from orion_tui.app import DEFAULT_REFRESH_HZ, OrionApp
from tests.fake_rippled.server import FakeRippled

ROOT = Path(__file__).resolve().parents[1]


def _engine(
    db: str, ticks: int | None, speed: float | None, seed: int = 7, node: str | None = None
) -> Engine:
    return Engine(
        load_config(ROOT / "config" / "orion.toml"), db, mode="paper" if node else "sim",
        seed=seed, speed=speed, max_ticks=ticks, node=node,
    )  # fmt: skip


PAPER_LEDGER_S = 0.5


WARMUP_TICKS = 1_000  # measured from here on: start-up (mount, first layout) excluded


async def _steady_rate(engine: Engine) -> float:
    """Ticks/s from WARMUP_TICKS to the end of the run."""
    while engine.seq < WARMUP_TICKS:
        await asyncio.sleep(0.001)
    t0, s0 = time.perf_counter(), engine.seq
    while engine.running:
        await asyncio.sleep(0.005)
    return (engine.seq - s0) / (time.perf_counter() - t0)


def headless_rate(db: str, ticks: int) -> float:
    engine = _engine(db, ticks, None)

    async def go() -> float:
        await engine.open()
        task = asyncio.create_task(engine.run())
        rate = await _steady_rate(engine)
        await task
        return rate

    return asyncio.run(go())


def console_rate(db: str, ticks: int, refresh_hz: float = DEFAULT_REFRESH_HZ) -> float:
    engine = _engine(db, ticks, None)

    async def go() -> float:
        await engine.open()
        app = OrionApp(engine, refresh_hz=refresh_hz)
        async with app.run_test(size=(120, 40)) as pilot:
            rate = await _steady_rate(engine)
            await pilot.pause()
        return rate

    return asyncio.run(go())


def halt_latencies(db: str, presses: int, speed: float | None, paper: bool = False) -> list[float]:
    if paper:

        async def with_node() -> list[float]:
            async with FakeRippled(ledger_interval=PAPER_LEDGER_S) as srv:
                return await _halt_latencies(_engine(db, None, None, node=srv.url), presses)

        return asyncio.run(with_node())
    return asyncio.run(_halt_latencies(_engine(db, None, speed), presses))


async def _halt_latencies(engine: Engine, presses: int) -> list[float]:
    out: list[float] = []
    keys: list[float] = []
    done: list[float] = []

    def on_message(message: object) -> None:
        if isinstance(message, events.Key) and message.key == "h":
            keys.append(message.time)  # Textual stamps events with time.monotonic()

    def on_event(ev: object) -> None:
        if isinstance(ev, HaltEvent) and ev.halt.all and engine.open_orders() == 0:
            done.append(time.monotonic())

    await engine.open()
    app = OrionApp(engine)
    engine.subscribe(on_event)
    async with app.run_test(size=(120, 40), message_hook=on_message) as pilot:
        for _ in range(presses):
            deadline = time.perf_counter() + 30
            while engine.open_orders() == 0 and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            n = len(done)
            await pilot.press("h")
            while len(done) == n:
                await asyncio.sleep(0.0005)
            out.append(done[-1] - keys[-1])
            engine.submit(Resume())
        await pilot.press("q")
        await pilot.press("y")
        await pilot.pause(0.2)
    return out


def _p99(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ticks", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--halts", type=int, default=40)
    args = ap.parse_args(argv)
    console = Console()
    headless: list[float] = []
    attached: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.runs):
            headless.append(headless_rate(str(Path(tmp) / f"h{r}.db"), args.ticks))
            attached.append(console_rate(str(Path(tmp) / f"c{r}.db"), args.ticks))
            console.print(
                f"run {r + 1}: headless {headless[-1]:,.0f} ticks/s,"
                f" with console {attached[-1]:,.0f} ticks/s",
                highlight=False,
            )
        realtime = halt_latencies(str(Path(tmp) / "halt1.db"), args.halts, 1.0)
        flat = halt_latencies(str(Path(tmp) / "haltmax.db"), args.halts, None)
        paper = halt_latencies(str(Path(tmp) / "haltpaper.db"), args.halts, None, paper=True)
    h, c = statistics.median(headless), statistics.median(attached)
    table = Table(title=f"Console, sim flat out, {args.ticks:,} ticks, median of {args.runs}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("headless engine ticks/s", f"{h:,.0f}")
    table.add_row("engine ticks/s with the console attached", f"{c:,.0f}")
    table.add_row("ratio console / headless (target >= 0.8)", f"{c / h:.2f}")
    rows = (("real-time sim", realtime), ("flat-out sim", flat), ("paper, fake rippled", paper))
    for name, xs in rows:
        table.add_row(
            f"key-to-halt, {name}: median / p99 ms ({len(xs)} presses)",
            f"{statistics.median(xs) * 1e3:.1f} / {_p99(xs) * 1e3:.1f}",
        )
    table.add_row("target", "halt and cancel within 100 ms")
    console.print(table)


if __name__ == "__main__":
    main()
