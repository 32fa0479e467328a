"""`orion-tui capital ...`: record a capital event straight into a database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from rich.console import Console

from engine.inventory import InventoryError
from engine.models import CapitalEvent
from engine.store.schema import StoreError, describe_sqlite_error
from engine.store.writer import Store


async def _record(db: str, event: CapitalEvent) -> tuple[float, float, float]:
    store = await Store.open(db)
    try:
        inv = await store.load_inventory()
        inv.check_capital(event)  # refuses before anything is written
        await store.record_capital(None, event)
        inv.apply_capital(event)
        return inv.balances()[event.asset]
    finally:
        await store.close()


def record_capital(
    db: str, kind: str, asset: str, amount: float, note: str, out: Console, err: Console
) -> int:
    """Validate against the rebuilt total, then insert; exit 2 on a refused event."""
    if not Path(db).is_file():
        err.print(f"orion-tui: {db}: no such database file", highlight=False, markup=False)
        return 1
    event = CapitalEvent(kind, asset, amount, note, time.time())  # type: ignore[arg-type]
    try:
        fo, ov, total = asyncio.run(_record(db, event))
    except InventoryError as exc:
        err.print(f"orion-tui: error: {exc}", highlight=False, markup=False)
        return 2
    except StoreError as exc:
        err.print(f"orion-tui: {exc}", highlight=False, markup=False)
        return 1
    except sqlite3.Error as exc:
        err.print(f"orion-tui: {describe_sqlite_error(db, exc)}", highlight=False, markup=False)
        return 1
    out.print(
        f"recorded {kind} {amount:g} {asset}: fills-only {fo:,.6f} + overlay {ov:,.6f}"
        f" = total {total:,.6f} {asset}",
        highlight=False,
    )
    return 0
