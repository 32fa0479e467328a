"""`orion-tui check-config FILE [--against OLD] [--db DB]`: validate and review a config.

Exit 0 when the file is valid (its warnings and the safety review are printed),
1 when it is not (one line per problem, each naming key, value and rule). Nothing is
applied: this is the same parse + review the console's reload screen runs.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from rich.console import Console
from rich.text import Text

from engine.models import InventorySnapshot
from engine.review import render_diff, render_findings, review_config
from engine.settings import ConfigError, LoadedConfig, load_config

_MARK_COLUMNS = ("mark", "mark_price", "mid", "book_mid")
_DIVERGENCE_COLUMNS = ("divergence_bps", "anchor_divergence_bps")


def _line(console: Console, text: str, style: str = "") -> None:
    """One logical line, never wrapped or markup-parsed (keys contain brackets/dots)."""
    console.print(Text(text, style=style), soft_wrap=True)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _snapshot_from_db(
    path: str, fallback_mark: float | None = None, target_xrp_share_pct: float = 50.0
) -> InventorySnapshot | None:
    """Latest inventory (total = fills-only + overlay) from an Orion database, read-only.

    Fills-only is the last inventory_ledger.new_balance per asset; the overlay is
    deposits minus withdrawals from capital_events; the mark is the latest tick's
    mid/mark if the ticks table has one, else `fallback_mark`. Returns None when the
    database cannot be opened or holds no ledger. Stand-in until the store API exists.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        with closing(conn):
            conn.execute("PRAGMA query_only=ON")
            ledger_cols = _columns(conn, "inventory_ledger")
            if not {"asset", "new_balance"} <= ledger_cols:
                return None
            fills: dict[str, float] = {}
            for asset in ("XRP", "RLUSD"):
                row = conn.execute(
                    "SELECT new_balance FROM inventory_ledger WHERE asset = ? "
                    "ORDER BY rowid DESC LIMIT 1",
                    (asset,),
                ).fetchone()
                if row is not None and row[0] is not None:
                    fills[asset] = float(row[0])
            if not fills:
                return None

            overlay = {"XRP": 0.0, "RLUSD": 0.0}
            if {"kind", "asset", "amount"} <= _columns(conn, "capital_events"):
                for kind, asset, amount in conn.execute(
                    "SELECT kind, asset, SUM(amount) FROM capital_events GROUP BY kind, asset"
                ):
                    if asset in overlay and amount is not None:
                        if kind == "deposit":
                            overlay[asset] += float(amount)
                        elif kind == "withdrawal":
                            overlay[asset] -= float(amount)

            mark = fallback_mark
            tick_cols = _columns(conn, "ticks")
            for col in _MARK_COLUMNS:
                if col in tick_cols:
                    row = conn.execute(
                        f"SELECT {col} FROM ticks WHERE {col} IS NOT NULL "
                        "ORDER BY rowid DESC LIMIT 1"
                    ).fetchone()
                    if row is not None and float(row[0]) > 0:
                        mark = float(row[0])
                        break
            if mark is None:
                return None
            return InventorySnapshot(
                xrp_fills_only=fills.get("XRP", 0.0),
                xrp_overlay=overlay["XRP"],
                rlusd_fills_only=fills.get("RLUSD", 0.0),
                rlusd_overlay=overlay["RLUSD"],
                mark_price=mark,
                target_xrp_share_pct=target_xrp_share_pct,
            )
    except (sqlite3.Error, TypeError, ValueError):
        return None


def _divergences_from_db(path: str, limit: int = 500) -> list[float]:
    """Recent AMM-vs-mid divergences (bps) from the ticks table; [] when unavailable."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        with closing(conn):
            conn.execute("PRAGMA query_only=ON")
            cols = _columns(conn, "ticks")
            for col in _DIVERGENCE_COLUMNS:
                if col in cols:
                    rows = conn.execute(
                        f"SELECT {col} FROM ticks WHERE {col} IS NOT NULL "
                        "ORDER BY rowid DESC LIMIT ?",
                        (limit,),
                    ).fetchall()
                    return [float(r[0]) for r in reversed(rows)]
            return []
    except (sqlite3.Error, TypeError, ValueError):
        return []


def _load(path: str, console: Console, label: str = "") -> LoadedConfig | None:
    """Load a config; on failure print one line per problem and return None."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            _line(console, f"error: {label}{problem}", "bold red")
        return None


def run(path: str, against: str | None, db: str | None, console: Console) -> int:
    """Validate `path` and print its safety review; 1 if it (or --against) is invalid."""
    loaded = _load(path, console)
    if loaded is None:
        return 1
    current = None
    if against is not None:
        old = _load(against, console, label="--against: ")
        if old is None:
            return 1
        current = old.settings

    settings = loaded.settings
    snapshot = None
    divergences: list[float] = []
    if db is not None:
        snapshot = _snapshot_from_db(
            db,
            fallback_mark=settings.sim.start_price,
            target_xrp_share_pct=settings.strategy.target_xrp_share_pct,
        )
        divergences = _divergences_from_db(db)
        if snapshot is None:
            _line(
                console,
                f"note: no inventory readable from {db}; using starting balances",
                "yellow",
            )

    _line(console, f"ok: {loaded.path} is valid", "bold green")
    for warning in loaded.warnings:
        _line(console, f"warning: {warning}", "yellow")
    findings = review_config(current, loaded, snapshot, divergences)
    if current is not None:
        console.print(render_diff(current, settings))
    console.print(render_findings(findings))
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    _line(console, f"{errors} error(s), {warnings} warning(s) in the review")
    return 0
