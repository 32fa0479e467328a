"""Shared fixtures: paths to the shared rippled fixtures and small database builders."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RIPPLED_FIXTURES = SHARED / "fixtures" / "rippled"


def file_state(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """(sha256, size, mtime_ns): what 'left unchanged' means for a database file."""
    p = Path(path)
    data = p.read_bytes()
    st = p.stat()
    return hashlib.sha256(data).hexdigest(), st.st_size, st.st_mtime_ns


@pytest.fixture
def rippled_fixtures() -> Path:
    if not RIPPLED_FIXTURES.is_dir():
        pytest.fail(f"shared fixtures missing at {RIPPLED_FIXTURES} (../shared beside the project)")
    return RIPPLED_FIXTURES


def run_sim(db: str, ticks: int, seed: int = 7, **kwargs) -> dict:
    """A headless sim session, flat out; returns the summary."""
    from engine.loop import Engine
    from engine.settings import load_config

    loaded = kwargs.pop("loaded", None) or load_config(ROOT / "config" / "orion.toml")
    engine = Engine(loaded, db, mode="sim", seed=seed, speed=None, max_ticks=ticks, **kwargs)
    return asyncio.run(engine.run())


async def halt_latency(engine: Any) -> tuple[float, int]:
    """Run `engine` until it has orders resting, halt everything, then stop it.

    Returns the seconds from the Halt's submit to no order left open, and how many
    ticks the engine made meanwhile (0: the halt did not wait for a tick)."""
    from engine.events import Halt, Stop

    await engine.open()
    task = asyncio.create_task(engine.run())
    loop = asyncio.get_running_loop()
    try:
        while engine.open_orders() == 0:
            assert not task.done(), "the engine ended before it placed an order"
            await asyncio.sleep(0.005)
        seq = engine.seq
        t0 = loop.time()
        engine.submit(Halt(None, "test"))
        while engine.open_orders() > 0:
            await asyncio.sleep(0.001)
        elapsed, ticks = loop.time() - t0, engine.seq - seq
        assert engine.halt.all
    finally:
        engine.submit(Stop("test"))
        await task
    return elapsed, ticks
