"""Replay at scale: open-to-first-paint, step latency and memory on a 1,000,000-tick
session, beside raw SQLite point reads of the same rows in the same run.

    python -m benchmarks.replay [--ticks 1000000] [--small 10000] [--dir /tmp/orion-bench]

Builds (once, then reuses) two session databases with the real engine flat out, a
small one and a large one, and measures each in a fresh process so peak RSS is that
database's alone: RSS must not grow with the database's size. Targets: open <= 1 s,
step median <= 16 ms, RSS <= 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def build(db: Path, ticks: int) -> None:
    """A real session: the engine on the sim market, flat out, full persistence."""
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        have = conn.execute("SELECT COUNT(*) FROM ticks").fetchone()[0]
        conn.close()
        if have == ticks:
            return
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "orion_tui.cli", "run", "--headless", "--speed", "max",
         "--ticks", str(ticks), "--seed", "11", "--db", str(db)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"built {db} ({ticks:,} ticks) in {time.perf_counter() - t0:.0f} s", flush=True)


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


async def _measure_app(db: str, steps: int) -> dict[str, float]:
    from textual import events

    from engine.store.replay import open_replay
    from orion_tui.replay_app import ReplayApp

    t0 = time.perf_counter()
    source = open_replay(db)
    sid = source.sessions()[-1].session_id
    app = ReplayApp(source, session_id=sid, close_source=True)
    app.animation_level = "none"
    out: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.shown_seq:
            await asyncio.sleep(0.001)
        await pilot.pause()
        out["first_paint_ms"] = (time.perf_counter() - t0) * 1e3
        app.move_to(app.bounds.first_seq + app.bounds.count // 2, notice=False)
        await pilot.pause()
        lat: list[float] = []
        for i in range(steps):
            await asyncio.sleep(app._frame)  # one step at a time: no coalescing
            target = app.seq + (1 if i % 2 == 0 else -1)
            t1 = time.perf_counter()
            app.post_message(events.Key("right" if i % 2 == 0 else "left", None))
            while app.shown_seq != target:
                await asyncio.sleep(0.0002)
            lat.append((time.perf_counter() - t1) * 1e3)
        out["step_median_ms"] = statistics.median(lat)
        out["step_p99_ms"] = _pct(lat, 0.99)
        out["render_median_ms"] = statistics.median(app.render_ms)
    return out


def measure(db: str, steps: int) -> dict[str, float]:
    """Runs in a fresh process (see main)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    lo, hi = conn.execute("SELECT MIN(id), MAX(id) FROM ticks").fetchone()
    rng = random.Random(1)
    ids = [rng.randint(lo, hi) for _ in range(2000)]
    raw: list[float] = []
    for tid in ids:
        t0 = time.perf_counter()
        conn.execute("SELECT * FROM ticks WHERE id = ?", (tid,)).fetchone()
        raw.append((time.perf_counter() - t0) * 1e3)
    conn.close()
    from engine.store.replay import open_replay

    src = open_replay(db)
    sid = src.sessions()[-1].session_id
    decoded: list[float] = []
    for tid in ids[:500]:
        seq = tid & 0xFFFFFFFF
        t0 = time.perf_counter()
        src.tick(sid, seq)
        decoded.append((time.perf_counter() - t0) * 1e3)
    src.close()
    out = asyncio.run(_measure_app(db, steps))
    out.update(
        raw_read_median_ms=statistics.median(raw),
        raw_read_p99_ms=_pct(raw, 0.99),
        tick_read_median_ms=statistics.median(decoded),
        tick_read_p99_ms=_pct(decoded, 0.99),
        max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        db_mb=Path(db).stat().st_size / 1e6,
        ticks=(hi - lo + 1),
    )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ticks", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--dir", default="/tmp/orion-bench")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.steps)))
        return
    folder = Path(args.dir)
    dbs = [folder / f"replay-{args.small}.db", folder / f"replay-{args.ticks}.db"]
    for db, n in zip(dbs, (args.small, args.ticks), strict=True):
        build(db, n)
    results = []
    for db in dbs:
        res = subprocess.run(
            [sys.executable, "-m", "benchmarks.replay", "--measure", str(db),
             "--steps", str(args.steps)],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        results.append(json.loads(res.stdout.strip().splitlines()[-1]))
    table = Table(title="Replay, 120x40, one process per database")
    table.add_column("measure")
    for r in results:
        table.add_column(f"{int(r['ticks']):,} ticks ({r['db_mb']:.0f} MB)", justify="right")
    rows = [
        ("open-to-first-paint ms (target <= 1000)", "first_paint_ms"),
        ("step key-to-panes ms, median (target <= 16)", "step_median_ms"),
        ("step key-to-panes ms, p99", "step_p99_ms"),
        ("render of one step ms, median", "render_median_ms"),
        ("ReplaySource.tick() ms, median / p99", ("tick_read_median_ms", "tick_read_p99_ms")),
        ("raw SQLite point read ms, median / p99", ("raw_read_median_ms", "raw_read_p99_ms")),
        ("peak RSS MB (target <= 150, flat)", "max_rss_mb"),
    ]
    for label, key in rows:
        if isinstance(key, tuple):
            cells = [f"{r[key[0]]:.3f} / {r[key[1]]:.3f}" for r in results]
        else:
            cells = [f"{r[key]:.1f}" for r in results]
        table.add_row(label, *cells)
    Console().print(table)


if __name__ == "__main__":
    main()
