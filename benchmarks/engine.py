"""Engine throughput: a headless sim flat out with full persistence, beside raw SQLite.

    python -m benchmarks.engine [--ticks N] [--runs R]

Prints ticks/s and microseconds per tick (median of R runs) next to the insert rate of
raw sqlite3 `executemany` of the very same tick rows into a fresh file with the same
schema, measured in the same run: the machines are shared and noisy, so only the
ratio is comparable across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from engine.loop import Engine
from engine.settings import load_config
from engine.store.writer import INSERT_TICK, TICK_COLUMNS, init_database

ROOT = Path(__file__).resolve().parents[1]


def engine_run(db: str, ticks: int, seed: int) -> float:
    engine = Engine(
        load_config(ROOT / "config" / "orion.toml"), db, mode="sim", seed=seed, speed=None,
        max_ticks=ticks,
    )  # fmt: skip

    async def go() -> float:
        await engine.open()  # start-up (schema, rebuild) is not part of the tick rate
        t0 = time.perf_counter()
        await engine.run()
        return time.perf_counter() - t0

    return asyncio.run(go())


def raw_sqlite_run(source_db: str, target_db: str) -> tuple[float, int]:
    """Insert the same tick rows with plain sqlite3 (one transaction, WAL, same schema)."""
    src = sqlite3.connect(source_db)
    rows = src.execute(f"SELECT {', '.join(TICK_COLUMNS)} FROM ticks ORDER BY id").fetchall()
    src.close()
    init_database(target_db)
    conn = sqlite3.connect(target_db, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO sessions (id, mode, started_at) VALUES (1, 'sim', 0)")
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(INSERT_TICK, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed, len(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ticks", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    console = Console()
    engine_s: list[float] = []
    raw_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.runs):
            db = str(Path(tmp) / f"engine{r}.db")
            engine_s.append(engine_run(db, args.ticks, seed=7 + r))
            elapsed, n = raw_sqlite_run(db, str(Path(tmp) / f"raw{r}.db"))
            raw_s.append(elapsed)
            console.print(
                f"run {r + 1}: engine {args.ticks / engine_s[-1]:,.0f} ticks/s,"
                f" raw SQLite {n / elapsed:,.0f} rows/s",
                highlight=False,
            )
    eng = statistics.median(engine_s)
    raw = statistics.median(raw_s)
    table = Table(
        title=f"Engine, headless sim flat out, {args.ticks:,} ticks, median of {args.runs}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("engine ticks/s (full persistence)", f"{args.ticks / eng:,.0f}")
    table.add_row("engine us/tick", f"{eng / args.ticks * 1e6:,.1f}")
    table.add_row("raw SQLite insert of the same tick rows, rows/s", f"{args.ticks / raw:,.0f}")
    table.add_row("raw SQLite us/row", f"{raw / args.ticks * 1e6:,.1f}")
    table.add_row("engine / raw SQLite throughput", f"{raw / eng:.2f}")
    table.add_row("target", "engine >= 5,000 ticks/s")
    console.print(table)


if __name__ == "__main__":
    main()
