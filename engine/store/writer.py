"""The engine's writable store: one writer process, fed transactions in order.

Tick rows are batched (a tick without fills is not worth a commit of its own when
the engine runs flat out); anything that changes money - fills, their ledger rows
and order updates, capital events, halts - is committed before the call returns.
The SQLite work happens in engine.store.worker, a child process, so it runs on the
other core instead of competing with the engine for the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engine.inventory import CAPITAL_SQL, LAST_BALANCE_SQL, InventoryManager
from engine.models import CapitalEvent, Fill, LiveOrder, OrderUpdate
from engine.store import worker
from engine.store.schema import StoreError, describe_sqlite_error, inspect, migrate, quick_check

TICK_COLUMNS = (
    "id", "session_id", "seq", "ledger_index", "ts", "connected", "book_ts", "amm_ts",
    "best_bid", "best_ask", "mid", "amm_xrp", "amm_rlusd", "amm_fee", "amm_price",
    "anchor_mode", "anchor", "cap_bps", "cap_state", "divergence_bps", "displacement_bps",
    "buy_price", "buy_size", "buy_action", "buy_reason",
    "sell_price", "sell_size", "sell_action", "sell_reason",
    "gates", "book", "live_orders", "numbers", "xrp_fo", "xrp_ov", "rlusd_fo", "rlusd_ov", "mark",
    "halted", "fills_buy", "fills_sell", "check_ok", "limits",
)  # fmt: skip
INSERT_TICK = (
    f"INSERT INTO ticks ({', '.join(TICK_COLUMNS)}) VALUES ({', '.join('?' for _ in TICK_COLUMNS)})"
)
GATES_COL = TICK_COLUMNS.index("gates")
INSERT_SHAPE = "INSERT INTO gate_shapes (id, shape) VALUES (?, ?)"
INSERT_FILL = (
    "INSERT INTO fills (session_id, fill_key, order_id, side, price, size, fee_rlusd, ts,"
    " ledger_index, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_LEDGER = (
    "INSERT INTO inventory_ledger (session_id, ts, asset, delta, new_balance, kind, fill_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
MARK_REPLACED = (
    "UPDATE orders SET status = 'replaced', replaced_by = ?, updated_ts = ? WHERE order_id = ?"
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
    # No raw read of the header: closing a file descriptor of the database drops every
    # POSIX lock this process holds on it, SQLite's included (see readonly.py); a
    # non-SQLite file fails SQLite's own header check below instead.
    if not p.parent.exists():
        raise StoreError(f"{path}: directory {p.parent} does not exist")
    if not p.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True)
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


Statement = tuple[str, Sequence[Any] | list[Any]]
MAX_INFLIGHT = 4  # unawaited transactions before the engine waits for the writer
WORKER_EXIT_TIMEOUT_S = 10.0


class WorkerError(Exception):
    """SQLite refused a request in the writer process; str() is SQLite's message."""


class WriterProcess:
    """The engine's side of engine.store.worker: one request in flight at a time."""

    def __init__(self, path: str, proc: asyncio.subprocess.Process) -> None:
        self.path = path
        self._proc = proc

    @classmethod
    async def start(cls, path: str, busy_timeout: float) -> WriterProcess:
        # -I -S: the worker is stdlib only; skipping site makes it start in ~30 ms.
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-S", worker.__file__, path, repr(busy_timeout),
                str(os.getpid()),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            message = f"{path}: cannot start the store's writer process ({reason})"
            raise StoreError(message) from None
        self = cls(path, proc)
        try:
            await self._answer()
        except WorkerError as exc:
            await self.close()
            raise StoreError(_describe(path, str(exc))) from None
        return self

    async def request(self, request: tuple[Any, ...]) -> Any:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(worker.frame(request))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise StoreError(self._gone()) from None
        return await self._answer()

    async def _answer(self) -> Any:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            head = await stdout.readexactly(worker.HEADER.size)
            body = await stdout.readexactly(worker.HEADER.unpack(head)[0])
        except (asyncio.IncompleteReadError, ConnectionResetError):
            raise StoreError(self._gone()) from None
        kind, value = pickle.loads(body)
        if kind == "err":
            raise WorkerError(value)
        return value

    def _gone(self) -> str:
        return f"{self.path}: the store's writer process ended unexpectedly"

    async def close(self) -> None:
        """EOF tells the worker to finish and exit; wait for it (kill if it hangs)."""
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        # Every request was answered before close, so its commits are durable; a
        # worker that hangs on exit is killed without losing anything.
        try:
            await asyncio.wait_for(proc.wait(), WORKER_EXIT_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise


def _describe(path: str, message: str) -> str:
    return describe_sqlite_error(path, sqlite3.Error(message))


class Store:
    """Writable store used by the engine (one per process).

    Every write is a transaction handed to one writer task, in order, which passes it
    to the writer process, so SQLite works on the other core while the engine
    computes the next tick. Callers that must know a write is durable (capital
    events, halts, live orders) wait for it; simulated ticks do not, but never more
    than MAX_INFLIGHT transactions behind. Reads go through the same queue, so a
    read sees every write queued before it.
    """

    def __init__(self, path: str, conn: WriterProcess):
        self.path = path
        self._conn = conn
        self._pending_ticks: list[tuple[Any, ...]] = []
        self._pending_logs: list[tuple[Any, ...]] = []
        self._pending_orders: list[Statement] = []
        self._pending_fills: list[tuple[Any, ...]] = []
        self._pending_shapes: list[tuple[int, str]] = []
        self._shape_ids: dict[str, int] = {}
        self._pending_ledger: list[tuple[Any, ...]] = []
        self._batches: asyncio.Queue[tuple[tuple[Any, ...], asyncio.Future[Any]]] = (
            asyncio.Queue()
        )
        self._inflight: deque[asyncio.Future[Any]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._failure: str | None = None

    @classmethod
    async def open(cls, path: str, busy_timeout: float = 5.0) -> Store:
        init_database(path)
        conn = await WriterProcess.start(path, busy_timeout)
        store = cls(path, conn)
        try:
            await store.load_shapes()
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        try:
            await self.flush()
            await self.sync()
        finally:
            if self._writer is not None:
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer
            await self._conn.close()

    # -- transactions ----------------------------------------------------------

    def _take_pending(self) -> list[Statement]:
        batch: list[Statement] = []
        if self._pending_shapes:
            batch.append((INSERT_SHAPE, self._pending_shapes))
            self._pending_shapes = []
        if self._pending_ticks:
            batch.append((INSERT_TICK, self._pending_ticks))
            self._pending_ticks = []
        if self._pending_logs:
            batch.append((INSERT_LOG, self._pending_logs))
            self._pending_logs = []
        if self._pending_orders:
            batch.extend(self._merged_pending_orders())
        if self._pending_fills:
            batch.append((INSERT_FILL, self._pending_fills))
            self._pending_fills = []
        if self._pending_ledger:
            batch.append((INSERT_LEDGER, self._pending_ledger))
            self._pending_ledger = []
        return batch

    async def _write(
        self, statements: Sequence[Statement], *, wait: bool = True, urgent: bool = False
    ) -> Any:
        """Queue one transaction (pending rows first, then `statements`).

        wait=True returns the last statement's lastrowid once committed; a failed
        transaction raises StoreError here or, if not awaited, on the next write.
        urgent (with wait=False): never wait for the writer to catch up, for a write
        queued on the way to something that must not wait (a halt's cancels)."""
        if self._failure is not None:
            raise StoreError(self._failure)
        batch = self._take_pending()
        batch.extend(statements)
        if not batch:
            return None
        fut = self._enqueue(("batch", batch))
        if wait:
            return await fut
        self._inflight.append(fut)
        while self._inflight and self._inflight[0].done():
            self._inflight.popleft()
        if len(self._inflight) > MAX_INFLIGHT and not urgent:
            await asyncio.wait([self._inflight.popleft()])
        return None

    def _enqueue(self, request: tuple[Any, ...]) -> asyncio.Future[Any]:
        if self._writer is None:
            self._writer = asyncio.create_task(self._run_writer(), name="orion-store-writer")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._batches.put_nowait((request, fut))
        return fut

    async def _run_writer(self) -> None:
        while True:
            request, fut = await self._batches.get()
            query = request[0] == "query"
            try:
                if self._failure is not None and not query:
                    raise StoreError(self._failure)
                result = await self._conn.request(request)
            except Exception as exc:
                error: Exception = exc
                if query:
                    if isinstance(exc, WorkerError):
                        error = StoreError(_describe(self.path, str(exc)))
                else:
                    if self._failure is None:
                        detail = (
                            _describe(self.path, str(exc))
                            if isinstance(exc, WorkerError)
                            else str(exc)
                        )
                        self._failure = f"{detail} (write failed; nothing after it was written)"
                    error = StoreError(self._failure)
                if not fut.done():
                    fut.set_exception(error)
                    fut.exception()  # consumed here when nobody awaits it
            else:
                if not fut.done():
                    fut.set_result(result)
            finally:
                self._batches.task_done()

    async def flush(self, *, wait: bool = True) -> None:
        """Write pending rows as one transaction."""
        if (
            self._pending_ticks
            or self._pending_shapes
            or self._pending_logs
            or self._pending_orders
            or self._pending_fills
            or self._pending_ledger
        ):
            await self._write((), wait=wait)

    async def sync(self) -> None:
        """Wait until every queued transaction is committed (or raise its failure)."""
        await self._batches.join()
        self._inflight.clear()
        if self._failure is not None:
            raise StoreError(self._failure)

    def queue_tick(self, row: tuple[Any, ...]) -> int:
        """Queue a tick row (from ticks.tick_row); returns how many are pending.

        The gates column arrives as a JSON shape and is stored as the id of that shape
        in gate_shapes: shapes repeat tick after tick, so a row stays small."""
        shape = row[GATES_COL]
        gid = self._shape_ids.get(shape)
        if gid is None:
            gid = self._shape_ids[shape] = len(self._shape_ids) + 1
            self._pending_shapes.append((gid, shape))
        self._pending_ticks.append((*row[:GATES_COL], gid, *row[GATES_COL + 1 :]))
        return len(self._pending_ticks)

    async def load_shapes(self) -> None:
        rows = await self.fetch_all("SELECT shape, id FROM gate_shapes ORDER BY id")
        self._shape_ids = {shape: gid for shape, gid in rows}

    # -- sessions --------------------------------------------------------------

    async def begin_session(
        self, mode: str, started_at: float, seed: int | None, start: tuple[float, ...]
    ) -> int:
        rowid = await self._write(
            [
                (
                    "INSERT INTO sessions (mode, started_at, seed, start_xrp_fo, start_rlusd_fo,"
                    " start_xrp_ov, start_rlusd_ov) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (mode, started_at, seed, *start),
                )
            ]
        )
        assert rowid is not None
        return int(rowid)

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
        count = await self._write(
            [
                (
                    "UPDATE sessions SET status = 'crashed', ended_at = COALESCE(ended_at,"
                    " (SELECT ts FROM ticks WHERE id = (SELECT MAX(id) FROM ticks WHERE id"
                    " BETWEEN sessions.id * 4294967296 AND sessions.id * 4294967296 + 4294967295)),"
                    " started_at) WHERE status = 'running'",
                    (),
                )
            ]
        )
        return int(count or 0)

    # -- money -----------------------------------------------------------------

    def queue_fills(
        self,
        session_id: int,
        seq: int,
        fills: Sequence[Fill],
        ledger_rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Simulated fills and their ledger rows: they commit with the pending tick and
        order rows of the same ticks, in one transaction (group commit)."""
        self._pending_fills.extend(
            (session_id, f.fill_key, f.order_id, f.side, f.price, f.size, f.fee_rlusd, f.ts,
             f.ledger_index, seq)
            for f in fills
        )  # fmt: skip
        self._pending_ledger.extend(ledger_rows)

    async def record_fills(
        self,
        session_id: int,
        seq: int,
        fills: Sequence[Fill],
        ledger_rows: Sequence[tuple[Any, ...]],
        updates: Sequence[OrderUpdate],
        *,
        wait: bool = True,
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
        await self._write(statements, wait=wait)

    async def record_orders(self, session_id: int, updates: Sequence[OrderUpdate]) -> None:
        """Order updates, committed now (live orders, halts, shutdown)."""
        if updates:
            await self._write(self._order_statements(session_id, updates))

    def _merged_pending_orders(self) -> list[tuple[str, Sequence[Any] | list[Any]]]:
        upserts: list[Any] = []
        replaced: list[Any] = []
        for sql, rows in self._pending_orders:
            (upserts if sql is UPSERT_ORDER else replaced).extend(rows)
        self._pending_orders = []
        out: list[tuple[str, Sequence[Any] | list[Any]]] = []
        if upserts:
            out.append((UPSERT_ORDER, upserts))
        if replaced:
            out.append((MARK_REPLACED, replaced))
        return out

    def queue_orders(self, session_id: int, updates: Sequence[OrderUpdate]) -> None:
        """Order updates of simulated orders: they ride along with the next commit, which
        always comes before or with any fill that refers to them."""
        self._pending_orders.extend(self._order_statements(session_id, updates))

    def _order_statements(
        self, session_id: int, updates: Sequence[OrderUpdate]
    ) -> list[tuple[str, Sequence[Any] | list[Any]]]:
        """Two executemany statements: upserts in order, then the replaced marks (an
        order gets no update after it has been replaced, so this order is safe)."""
        upserts = [order_row(session_id, u) for u in updates]
        replaced = [
            (u.order.order_id, u.ts, u.replaced_order_id)
            for u in updates
            if u.kind == "replaced" and u.replaced_order_id
        ]
        out: list[tuple[str, Sequence[Any] | list[Any]]] = []
        if upserts:
            out.append((UPSERT_ORDER, upserts))
        if replaced:
            out.append((MARK_REPLACED, replaced))
        return out

    async def seed_ledger(self, balances: dict[str, float], ts: float) -> bool:
        """Seed the fills-only ledger from config, only when it is empty (a new database)."""
        rows = await self.fetch_all("SELECT COUNT(*) FROM inventory_ledger")
        if rows and rows[0][0]:
            return False
        await self._write(
            [(INSERT_LEDGER, [(None, ts, a, b, b, "seed", None) for a, b in balances.items()])]
        )
        return True

    async def record_capital(self, session_id: int | None, event: CapitalEvent) -> int:
        rowid = await self._write(
            [
                (
                    "INSERT INTO capital_events (session_id, ts, kind, asset, amount, note)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, event.ts, event.kind, event.asset, event.amount, event.note),
                )
            ]
        )
        assert rowid is not None
        return int(rowid)

    # -- reads the engine needs at start --------------------------------------

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Read committed data: waits for queued writes first."""
        return list(await self._enqueue(("query", sql, tuple(params))))

    async def load_inventory(self, target_xrp_share_pct: float = 50.0) -> InventoryManager:
        """The account's inventory rebuilt from the rows of every write queued before
        this call (both reads are queued at once: no write can come between them)."""
        last_f = self._enqueue(("query", LAST_BALANCE_SQL, ()))
        caps_f = self._enqueue(("query", CAPITAL_SQL, ()))
        last = dict(await last_f)
        caps = await caps_f
        return InventoryManager.rebuild(last, caps, target_xrp_share_pct)

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

    async def set_state(
        self, key: str, value: Any, *, wait: bool = True, urgent: bool = False
    ) -> None:
        await self._write(
            [
                (
                    "INSERT INTO engine_state (key, value, updated_ts) VALUES (?, ?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                    " updated_ts = excluded.updated_ts",
                    (key, json.dumps(value), time.time()),
                )
            ],
            wait=wait,
            urgent=urgent,
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
