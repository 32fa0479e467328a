"""Rich rendering of a session summary (CLI and headless runs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.table import Table


def _ts(value: float | None) -> str:
    if value is None:
        return "-"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_summary(s: dict[str, Any], console: Console) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_row("session", str(s["session_id"]), "mode", s["mode"], "status", s.get("status", ""))
    head.add_row(
        "started", _ts(s["started_at"]), "ended", _ts(s["ended_at"]), "ticks", f"{s['ticks']:,}"
    )
    console.print(head)

    inv = Table(title="Ending inventory (total = fills-only + overlay)", title_justify="left")
    for col in ("asset", "fills-only", "overlay", "total"):
        inv.add_column(col, justify="right" if col != "asset" else "left")
    for asset, row in s["ending_inventory"].items():
        inv.add_row(
            asset,
            f"{row['fills_only']:,.6f}",
            f"{row['overlay']:,.6f}",
            f"[bold]{row['total']:,.6f}[/]",
        )
    console.print(inv)

    fills = Table(title="Fills", title_justify="left")
    for col in ("side", "count", "volume XRP", "notional RLUSD", "fees RLUSD"):
        fills.add_column(col, justify="right" if col != "side" else "left")
    for side, f in s["fills"].items():
        fills.add_row(
            side,
            f"{f['count']:,}",
            f"{f['volume_xrp']:,.6f}",
            f"{f['notional_rlusd']:,.6f}",
            f"{f['fees_rlusd']:,.6f}",
        )
    console.print(fills)

    pnl = Table.grid(padding=(0, 2))
    pnl.add_row(
        "trading P&L (fills only, net of fees)", f"[bold]{s['trading_pnl_rlusd']:,.6f}[/] RLUSD"
    )
    pnl.add_row("revaluation of starting XRP", f"{s['revaluation_rlusd']:,.6f} RLUSD")
    pnl.add_row("mark start -> end", f"{s['mark_start']:.6f} -> {s['mark_end']:.6f}")
    console.print(pnl)

    reasons = s.get("no_quote_reasons") or {}
    ticks = s["ticks"] or 0
    if ticks:
        t = Table(title="Why no quotes: ticks per side by first failing gate", title_justify="left")
        t.add_column("side")
        t.add_column("reason")
        t.add_column("ticks", justify="right")
        t.add_column("share", justify="right")
        for side in ("BUY", "SELL"):
            rs = reasons.get(side) or {}
            quoting = ticks - sum(rs.values())
            t.add_row(side, "[green]quoting[/]", f"{quoting:,}", f"{quoting / ticks:.1%}")
            for reason, n in rs.items():
                t.add_row("", reason, f"{n:,}", f"{n / ticks:.1%}")
        console.print(t)
