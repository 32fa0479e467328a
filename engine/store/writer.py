"""The engine's writable store, on aiosqlite.

Tick rows are batched (a tick without fills is not worth a commit of its own when
the engine runs flat out); anything that changes money - fills, their ledger rows
and order updates, capital events, halts - is committed before the call returns.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from engine.models import CapitalEvent, Fill, LiveOrder, OrderUpdate
from engine.store.schema import StoreError, describe_sqlite_error, inspect, migrate, quick_check

TICK_COLUMNS = (
    "session_id", "seq", "ledger_index", "ts", "connected", "book_ts", "amm_ts",
    "best_bid", "best_ask", "mid", "amm_xrp", "amm_rlusd", "amm_fee", "amm_price",
    "anchor_mode", "anchor", "cap_bps", "cap_state", "divergence_bps", "displacement_bps",
    "buy_price", "buy_size", "buy_action", "buy_reason",
    "sell_price", "sell_size", "sell_action", "sell_reason",
    "gates", "book", "live_orders", "xrp_fo", "xrp_ov", "rlusd_fo", "rlusd_ov", "mark",
    "halted", "fills_buy", "fills_sell", "check_ok", "limits",
)  # fmt: skip
INSERT_TICK = (
    f"INSERT INTO ticks ({', '.join(TICK_COLUMNS)}) VALUES ({', '.join('?' for _ in TICK_COLUMNS)})"
)
INSERT_FILL = (
    "INSERT INTO fills (session_id, fill_key, order_id, side, price, size, fee_rlusd, ts,"
    " ledger_index, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_LEDGER = (
    "INSERT INTO inventory_ledger (session_id, ts, asset, delta, new_balance, kind, fill_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_LOG = "INSERT INTO log (session_id, ts, level, source, message) VALUES (?, ?, ?, ?, ?)"
UPSERT_ORDER = (
    "INSERT INTO orders (order_id, session_id, side, price, size, remaining, status, placed_ts,"
    " updated_ts, sequence, replaced_by, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(order_id) DO UPDATE SET remaining = excluded.remaining,"
    " status = excluded.status, updated_ts = excluded.updated_ts,"
    " replaced_by = COALESCE(excluded.replaced_by, orders.replaced_by),"
    " detail = excluded.detail"
)
_STATUS = {
    "placed": "open",
    "partial": "open",
    "filled": "filled",
    "cancelled": "cancelled",
    "expired": "expired",
    "rejected": "rejected",
}


def check_writable(path: str) -> None:
    """Refuse foreign, newer, or damaged files before anything writes to them.

    Runs on a plain sqlite3 connection that only reads, so a refused file is left
    byte-identical.
    """
    p = Path(path)
    if p.exists() and p.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    if p.exists() and p.stat().st_size > 0:
        with p.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise StoreError(
                    f"{path}: not a SQLite database (bad header); the file was not modified"
                )
    if not p.parent.exists():
        raise StoreError(f"{path}: directory {p.parent} does not exist")
    if not p.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(path, exc)) from None
    try:
        inspect(conn, path)
        quick_check(conn, path)
    finally:
        conn.close()


def init_database(path: str) -> None:
    """Create or migrate the schema (sync; runs once at start)."""
    check_writable(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=2.0)
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(path, exc)) from None
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{path}: could not switch to WAL journal mode (got {mode})")
        migrate(conn, path)
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(path, exc)) from None
    finally:
        conn.close()


def order_row(session_id: int, update: OrderUpdate) -> tuple[Any, ...]:
    o = update.order
    status = "replaced" if update.kind == "replaced" else _STATUS[update.kind]
    if update.kind == "replaced":
        # The new order is open; the old one is closed by a separate row.
        status = "open"
    return (
        o.order_id, session_id, o.side, o.price, o.original_size or o.size, o.size, status,
        o.placed_ts, update.ts, o.sequence, None, update.detail,
    )  # fmt: skip


class Store:
    """Writable store used by the engine (one per process)."""

    def __init__(self, path: str, conn: aiosqlite.Connection):
        self.path = path
        self._conn = conn
        self._pending_ticks: list[tuple[Any, ...]] = []
        self._pending_logs: list[tuple[Any, ...]] = []

    @classmethod
    async def open(cls, path: str, busy_timeout: float = 5.0) -> Store:
        init_database(path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(path, exc)) from None
        return cls(path, conn)

    async def close(self) -> None:
        await self.flush()
        await self._conn.close()

    # -- transactions ----------------------------------------------------------

    async def _write(self, statements: Iterable[tuple[str, Sequence[Any] | list[Any]]]) -> None:
        """Run statements in one transaction together with any pending tick rows."""
        conn = self._conn
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if self._pending_ticks:
                await conn.executemany(INSERT_TICK, self._pending_ticks)
                self._pending_ticks = []
            if self._pending_logs:
                await conn.executemany(INSERT_LOG, self._pending_logs)
                self._pending_logs = []
            for sql, params in statements:
                if params and isinstance(params, list):
                    await conn.executemany(sql, params)
                else:
                    await conn.execute(sql, params)
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    async def flush(self) -> None:
        if self._pending_ticks or self._pending_logs:
            await self._write(())

    def queue_tick(self, row: tuple[Any, ...]) -> int:
        """Queue a tick row; returns how many are pending (the loop decides when to flush)."""
        self._pending_ticks.append(row)
        return len(self._pending_ticks)

    # -- sessions --------------------------------------------------------------

    async def begin_session(
        self, mode: str, started_at: float, seed: int | None, start: tuple[float, ...]
    ) -> int:
        cur = await self._conn.execute(
            "INSERT INTO sessions (mode, started_at, seed, start_xrp_fo, start_rlusd_fo,"
            " start_xrp_ov, start_rlusd_ov) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (mode, started_at, seed, *start),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def end_session(self, session_id: int, ended_at: float, summary: dict[str, Any]) -> None:
        await self._write(
            [
                (
                    "UPDATE sessions SET ended_at = ?, status = 'ended', summary_json = ?"
                    " WHERE id = ?",
                    (ended_at, json.dumps(summary, sort_keys=True), session_id),
                )
            ]
        )

    async def mark_crashed_sessions(self, ts: float) -> int:
        """Sessions still 'running' at start belong to a process that died."""
        cur = await self._conn.execute(
            "UPDATE sessions SET status = 'crashed', ended_at = COALESCE(ended_at,"
            " (SELECT MAX(ts) FROM ticks WHERE ticks.session_id = sessions.id), started_at)"
            " WHERE status = 'running'"
        )
        return cur.rowcount

    # -- money -----------------------------------------------------------------

    async def record_fills(
        self,
        session_id: int,
        seq: int,
        fills: Sequence[Fill],
        ledger_rows: Sequence[tuple[Any, ...]],
        updates: Sequence[OrderUpdate],
    ) -> None:
        """A fill, its ledger rows and the order update, in one transaction."""
        statements: list[tuple[str, Sequence[Any] | list[Any]]] = []
        if fills:
            statements.append(
                (
                    INSERT_FILL,
                    [
                        (session_id, f.fill_key, f.order_id, f.side, f.price, f.size,
                         f.fee_rlusd, f.ts, f.ledger_index, seq)
                        for f in fills
                    ],
                )
            )  # fmt: skip
        if ledger_rows:
            statements.append((INSERT_LEDGER, list(ledger_rows)))
        statements.extend(self._order_statements(session_id, updates))
        await self._write(statements)

    async def record_orders(self, session_id: int, updates: Sequence[OrderUpdate]) -> None:
        if updates:
            await self._write(self._order_statements(session_id, updates))

    def _order_statements(
        self, session_id: int, updates: Sequence[OrderUpdate]
    ) -> list[tuple[str, Sequence[Any] | list[Any]]]:
        out: list[tuple[str, Sequence[Any] | list[Any]]] = []
        for u in updates:
            out.append((UPSERT_ORDER, order_row(session_id, u)))
            if u.kind == "replaced" and u.replaced_order_id:
                out.append(
                    (
                        "UPDATE orders SET status = 'replaced', replaced_by = ?, updated_ts = ?"
                        " WHERE order_id = ?",
                        (u.order.order_id, u.ts, u.replaced_order_id),
                    )
                )
        return out

    async def seed_ledger(self, balances: dict[str, float], ts: float) -> bool:
        """Seed the fills-only ledger from config, only when it is empty (a new database)."""
        cur = await self._conn.execute("SELECT COUNT(*) FROM inventory_ledger")
        row = await cur.fetchone()
        if row and row[0]:
            return False
        await self._write(
            [(INSERT_LEDGER, [(None, ts, a, b, b, "seed", None) for a, b in balances.items()])]
        )
        return True

    async def record_capital(self, session_id: int | None, event: CapitalEvent) -> int:
        cur = await self._conn.execute(
            "INSERT INTO capital_events (session_id, ts, kind, asset, amount, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, event.ts, event.kind, event.asset, event.amount, event.note),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    # -- reads the engine needs at start --------------------------------------

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = await self._conn.execute(sql, params)
        rows = await cur.fetchall()
        return list(rows)

    async def open_orders(self) -> list[LiveOrder]:
        rows = await self.fetch_all(
            "SELECT order_id, side, price, remaining, placed_ts, size, sequence FROM orders"
            " WHERE status = 'open' ORDER BY placed_ts"
        )
        return [
            LiveOrder(order_id=r[0], side=r[1], price=r[2], size=r[3], placed_ts=r[4],
                      original_size=r[5], sequence=r[6])
            for r in rows
        ]  # fmt: skip

    async def close_orders(self, order_ids: Sequence[str], status: str, ts: float) -> None:
        if order_ids:
            await self._write(
                [
                    (
                        "UPDATE orders SET status = ?, updated_ts = ? WHERE order_id = ?",
                        [(status, ts, oid) for oid in order_ids],
                    )
                ]
            )

    # -- state, log, config ---------------------------------------------------

    async def set_state(self, key: str, value: Any) -> None:
        await self._write(
            [
                (
                    "INSERT INTO engine_state (key, value, updated_ts) VALUES (?, ?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                    " updated_ts = excluded.updated_ts",
                    (key, json.dumps(value), time.time()),
                )
            ]
        )

    async def get_state(self, key: str) -> Any:
        rows = await self.fetch_all("SELECT value FROM engine_state WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def log(self, session_id: int | None, ts: float, level: str, source: str, message: str) -> int:
        """Queue a log row: it rides along with the next commit (logs are not money)."""
        self._pending_logs.append((session_id, ts, level, source, message))
        return len(self._pending_logs)

    async def record_config(
        self,
        session_id: int | None,
        ts: float,
        source: str,
        settings_json: str,
        changes: Sequence[tuple[str, Any, Any]],
        warnings: Sequence[str],
    ) -> None:
        await self._write(
            [
                (
                    "INSERT INTO config_history (session_id, ts, source, settings_json,"
                    " changes_json, warnings) VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, ts, source, settings_json, json.dumps(list(changes)),
                     "\n".join(warnings)),
                )
            ]
        )  # fmt: skip
