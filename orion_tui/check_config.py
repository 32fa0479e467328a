"""`orion-tui check-config FILE [--against OLD] [--db DB]`: validate and review a config.

Exit 0 when the file is valid (its warnings and the safety review are printed),
1 when it is not (one line per problem, each naming key, value and rule). Nothing is
applied: this is the same parse + review the console's reload screen runs.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from engine.inventory import rebuild_from_sqlite
from engine.models import InventorySnapshot
from engine.review import render_diff, render_findings, review_config
from engine.settings import ConfigError, LoadedConfig, load_config
from engine.store.readonly import open_readonly
from engine.store.schema import StoreError


def _line(console: Console, text: str, style: str = "") -> None:
    """One logical line, never wrapped or markup-parsed (keys contain brackets/dots)."""
    console.print(Text(text, style=style), soft_wrap=True)


def db_context(
    path: str, target_xrp_share_pct: float, window: int = 500
) -> tuple[InventorySnapshot | None, list[float]]:
    """The account's inventory (rebuilt exactly as the engine does) at the last mark,
    and the recent divergences, from an Orion database opened read-only.

    Raises StoreError (one line) for a file that is not a usable Orion database."""
    conn = open_readonly(path)
    try:
        inv = rebuild_from_sqlite(conn, target_xrp_share_pct)
        last = conn.execute("SELECT mark FROM ticks ORDER BY id DESC LIMIT 1").fetchone()
        rows = conn.execute(
            "SELECT divergence_bps FROM ticks WHERE divergence_bps IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (window,),
        ).fetchall()
    finally:
        conn.close()
    snapshot = inv.snapshot(last[0]) if last is not None else None
    return snapshot, [r[0] for r in reversed(rows)]


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
        try:
            snapshot, divergences = db_context(db, settings.strategy.target_xrp_share_pct)
        except StoreError as exc:
            _line(console, f"error: --db: {exc}", "bold red")
            return 1
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
