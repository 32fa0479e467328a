"""`orion-tui run --headless`: the engine without the UI, with a progress line."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine.events import Event, LogEvent, Stop, TickEvent
from engine.loop import Engine, EngineStartError
from orion_tui.summary_view import render_summary


async def run_headless(engine: Engine, console: Console, *, quiet: bool = False) -> int:
    """Run to completion; SIGTERM/SIGHUP/SIGINT stop cleanly (orders cancelled, summary)."""
    try:
        await engine.open()
    except EngineStartError as exc:
        console.print(f"[red]orion-tui: {exc}[/]", highlight=False)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, engine.submit, Stop(signal.Signals(sig).name))
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
            pass
    total = engine.max_ticks
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "{task.completed:,}/{task.total:,} ticks" if total else "{task.completed:,} ticks"
        ),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=quiet,
    )
    task = progress.add_task(f"session {engine.session_id} ({engine.mode})", total=total, status="")
    state: dict[str, Any] = {"last": 0.0}

    def on_event(ev: Event) -> None:
        if isinstance(ev, TickEvent):
            now = time.monotonic()
            if now - state["last"] >= 0.2:
                state["last"] = now
                b, s = ev.fill_counts
                halt = f" HALTED {ev.halt.label()}" if ev.halt.any else ""
                progress.update(task, completed=ev.seq, status=f"fills B{b}/S{s}{halt}")
        elif isinstance(ev, LogEvent) and ev.level in ("WARNING", "ERROR") and not quiet:
            progress.console.print(f"[dim]{ev.level}[/] {ev.message}", highlight=False)

    engine.subscribe(on_event)
    with progress:
        summary = await engine.run()
        progress.update(task, completed=engine.seq)
    if not quiet:
        render_summary(summary, console)
    return 0
