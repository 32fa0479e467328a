"""The async engine: one task that ticks the market, decides, trades and persists.

Commands (halt, resume, reload, capital, stop) are handled between ticks and while
the engine waits for the market, on the same task, so the order in which they take
effect is deterministic and no two parts of the engine ever touch the store or the
execution layer at once. Subscribers get typed events synchronously; a slow UI
polls `latest` instead of slowing the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import SecretStr

from engine.events import (
    Command,
    ConfigEvent,
    Event,
    FillEvent,
    Halt,
    HaltEvent,
    InventoryCheck,
    LogEvent,
    OrderEvent,
    RecordCapital,
    ReloadConfig,
    Resume,
    SessionEvent,
    Stop,
    TickEvent,
)
from engine.execution.base import Execution
from engine.inventory import InventoryError, InventoryManager
from engine.models import (
    CapitalEvent,
    Decision,
    HaltState,
    MarketState,
    OrderUpdate,
    TakerTrade,
)
from engine.settings import LoadedConfig, OrionSettings, settings_as_flat_dict
from engine.store.readonly import open_readonly
from engine.store.schema import StoreError
from engine.store.ticks import tick_row
from engine.store.writer import Store
from engine.strategy import decide
from engine.summary import build_summary

T = TypeVar("T")
FLUSH_EVERY_TICKS = 256
FLUSH_EVERY_S = 0.25
REBUILD_CHECK_EVERY_S = 2.0
DIVERGENCE_HISTORY = 240
YIELD_EVERY_S = 0.005


class EngineStartError(Exception):
    """The engine cannot start; str() is one line for the operator."""


class Engine:
    """The trading engine for one session on one database."""

    def __init__(
        self,
        config: LoadedConfig,
        db_path: str,
        *,
        mode: str | None = None,
        seed: int | None = None,
        speed: float | None = 1.0,
        max_ticks: int | None = None,
        node: str | None = None,
        wallet_seed: SecretStr | None = None,
        live_confirmed: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.loaded = config
        self.settings: OrionSettings = config.settings
        self.db_path = db_path
        self.mode = mode or self.settings.market.mode
        self.seed = self.settings.sim.seed if seed is None else seed
        self.speed = speed
        self.max_ticks = max_ticks
        self.node = node or self.settings.market.node
        self._wallet_seed = wallet_seed
        self._wallet: Any = None
        self._live_confirmed = live_confirmed
        self._wall = clock or time.time
        self.halt = HaltState()
        self.latest: TickEvent | None = None
        self.session_id = 0
        self.seq = 0
        self.fill_counts = [0, 0]
        self.summary: dict[str, Any] | None = None
        self._subscribers: list[Callable[[Event], None]] = []
        self._queue: deque[Command] = deque()
        self._wake: asyncio.Future[None] | None = None  # set while waiting for the market
        self._stopping = False
        self._store: Store | None = None
        self._inventory = InventoryManager()
        self._execution: Execution | None = None
        self._market: Any = None
        self._recent_mids: deque[float] = deque(
            maxlen=self.settings.strategy.momentum_lookback_ticks + 1
        )
        self._divergences: deque[float] = deque(maxlen=DIVERGENCE_HISTORY)
        self._last_state: MarketState | None = None
        self._last_mark = self.settings.sim.start_price
        self._check = InventoryCheck(True, None)
        self._last_flush = 0.0
        self._last_rebuild_check = 0.0
        self._rebuild_task: asyncio.Task[None] | None = None
        self._sim_now = 0.0
        self._last_yield = 0.0
        self.running = False

    # -- public API ---------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def submit(self, cmd: Command) -> None:
        """Queue a command; an engine waiting for the market wakes at once."""
        self._queue.append(cmd)
        self._wake_up()

    def _wake_up(self, *_: object) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def open_orders(self) -> int:
        return len(self._execution.live_orders()) if self._execution else 0

    def recent_divergences(self) -> list[float]:
        return list(self._divergences)

    def inventory_rebuild_check(self) -> InventoryCheck:
        return self._check

    def balances(self) -> dict[str, tuple[float, float, float]]:
        return self._inventory.balances()

    def now(self) -> float:
        """Engine time: simulated ledger time in sim mode, the wall clock otherwise."""
        return self._sim_now if self.mode == "sim" else self._wall()

    # -- start ----------------------------------------------------------------------

    async def open(self) -> None:
        if self.mode not in ("sim", "paper", "live"):
            raise EngineStartError(f"unknown mode {self.mode!r}: use sim, paper or live")
        if self.mode == "live":
            missing = []
            if not self._live_confirmed:
                missing.append("--live-i-understand")
            if self._wallet_seed is None:
                missing.append("a wallet seed (ORION_WALLET_SEED or ORION_WALLET_SEED_FILE)")
            if missing:
                raise EngineStartError("live mode needs " + " and ".join(missing))
            from engine.execution.live import wallet_from_secret

            assert self._wallet_seed is not None
            try:
                self._wallet = wallet_from_secret(self._wallet_seed)
            except ValueError:
                raise EngineStartError("the wallet seed is not a valid XRPL seed") from None
        try:
            self._store = await Store.open(self.db_path)
        except StoreError as exc:
            raise EngineStartError(str(exc)) from None
        store = self._store
        wall = self._wall()
        self._build_market()
        self._sim_now = self._market_start_ts()
        now = self.now()
        crashed = await store.mark_crashed_sessions(now)
        inv = self.settings.inventory
        seeded = await store.seed_ledger(
            {"XRP": inv.starting_xrp, "RLUSD": inv.starting_rlusd}, now
        )
        self._inventory = await self._rebuild()
        halt = await store.get_state("halt")
        if halt:
            self.halt = HaltState(**halt)
        stale = await store.open_orders()
        xrp_fo, rlusd_fo = self._inventory.fills_only["XRP"], self._inventory.fills_only["RLUSD"]
        self.session_id = await store.begin_session(
            self.mode,
            now,
            self.seed if self.mode == "sim" else None,
            (xrp_fo, rlusd_fo, self._inventory.overlay["XRP"], self._inventory.overlay["RLUSD"]),
        )
        self._execution = self._build_execution()
        start = getattr(self._market, "start", None)
        if start is not None:
            await start()
        if stale:
            await self._handle_stale_orders(stale, now)
        await store.record_config(
            self.session_id, now, self.loaded.path or "defaults",
            self.settings.model_dump_json(), [], self.loaded.warnings,
        )  # fmt: skip
        self._log("INFO", f"session {self.session_id} started: mode {self.mode}, db {self.db_path}")
        if seeded:
            self._log(
                "INFO",
                f"new database: seeded XRP {inv.starting_xrp:g}, RLUSD {inv.starting_rlusd:g}",
            )
        if crashed:
            self._log("WARNING", f"{crashed} earlier session(s) ended without a clean stop")
        for w in self.loaded.warnings:
            self._log("WARNING", w, "config")
        if self.halt.any:
            self._log("WARNING", f"halt from a previous session still holds: {self.halt.label()}")
        self._last_flush = wall
        self._last_rebuild_check = wall
        self._publish(SessionEvent("started", self.session_id, now))

    def _build_market(self) -> None:
        if self.mode == "sim":
            from engine.market.sim import SimMarket

            self._market = SimMarket(self.settings.sim, seed=self.seed)
        else:
            from engine.market.xrpl import XrplMarket

            market_settings = self.settings.market.model_copy(update={"node": self.node})
            # Our own offers are in the node's book: never read them back as the market.
            own = self._wallet.address if self._wallet is not None else None
            self._market = XrplMarket(
                market_settings, own_account=own, request_timeout=self._request_timeout(5.0)
            )

    def _request_timeout(self, cap: float) -> float:
        """A stalled node must not hold the tick loop much longer than the stale gate:
        a market read that times out keeps its old timestamp, and the gate blocks."""
        return max(1.0, min(cap, self.settings.risk.stale_after_s))

    def _market_start_ts(self) -> float:
        if self.mode == "sim":
            return float(getattr(self._market, "ts", 1_767_225_600.0))
        return self._wall()

    def _build_execution(self) -> Execution:
        prefix = f"S{self.session_id}"
        ex = self.settings.execution
        if self.mode in ("sim", "paper"):
            from engine.execution.paper import PaperExecution

            return PaperExecution(ex.paper_fee_bps, ex.order_ttl_s, prefix)
        from engine.execution.live import LiveExecution

        assert self._wallet is not None
        return LiveExecution(
            self.node, self._wallet, self.settings.market, ex.order_ttl_s, prefix,
            request_timeout=self._request_timeout(10.0),
        )  # fmt: skip

    async def _handle_stale_orders(self, stale: list[Any], now: float) -> None:
        """Orders left open by a process that died."""
        assert self._store is not None and self._execution is not None
        if self.mode == "live":
            restore = getattr(self._execution, "restore", None)
            if restore is not None:
                restore(stale)
                updates = await self._execution.cancel_all(now)
                await self._store.record_orders(self.session_id, updates)
                self._log("WARNING", f"cancelled {len(updates)} order(s) left by a dead session")
                return
        await self._store.close_orders([o.order_id for o in stale], "cancelled", now)
        self._log(
            "WARNING",
            f"{len(stale)} simulated order(s) left open by a dead session marked cancelled",
        )

    async def _rebuild(self) -> InventoryManager:
        assert self._store is not None
        return await self._store.load_inventory(self.settings.strategy.target_xrp_share_pct)

    # -- run --------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Tick until stopped or max_ticks; always cancels orders and writes the summary."""
        if self._store is None:
            await self.open()
        self.running = True
        try:
            while not self._stopping:
                await self._drain_commands()
                if self._stopping or (self.max_ticks is not None and self.seq >= self.max_ticks):
                    break
                state, trades = await self._next_market()
                if self._stopping:
                    break
                if state is None:
                    continue
                await self._tick(state, trades)
                await self._pace()
        except Exception as exc:  # an engine bug must still leave no order behind
            self._log("ERROR", f"engine stopped on an error: {exc.__class__.__name__}: {exc}")
            raise
        finally:
            await self._shutdown()
        assert self.summary is not None
        return self.summary

    async def _next_market(self) -> tuple[MarketState | None, list[TakerTrade]]:
        if self.mode == "sim":
            state, trades = self._market.step()
            self._sim_now = state.ts
            return state, trades
        timeout = self.settings.risk.stale_after_s
        state = await self._with_commands(self._market.next_state(timeout))
        for w in self._market.drain_warnings():
            self._log("WARNING", w, "market")
        return state, []

    async def _pace(self) -> None:
        if self.mode != "sim":
            return
        if self.speed is None:
            # Flat out: hand the loop to the UI and command producers every few ms,
            # not every tick (a loop iteration costs as much as a tick).
            wall = time.perf_counter()
            if wall - self._last_yield >= YIELD_EVERY_S:
                self._last_yield = wall
                await asyncio.sleep(0)
            return
        delay = self.settings.sim.ledger_interval_s / self.speed
        await self._with_commands(asyncio.sleep(delay))

    async def _with_commands(self, aw: Awaitable[T]) -> T | None:
        """Await `aw` while handling commands as they arrive (halt within milliseconds).

        The engine sleeps on one future that either a command or the end of `aw`
        completes, so a command runs on the loop's very next iteration: a halt must
        not wait behind more console frames than it has to. Returns None when a Stop
        command cut the wait short."""
        task = asyncio.ensure_future(aw)
        task.add_done_callback(self._wake_up)
        try:
            while True:
                await self._drain_commands()
                if self._stopping or task.done():
                    break
                self._wake = asyncio.get_running_loop().create_future()
                try:
                    await self._wake
                finally:
                    self._wake = None
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            return None
        return task.result()

    async def _drain_commands(self) -> None:
        while self._queue:
            await self._handle(self._queue.popleft())

    # -- one tick -----------------------------------------------------------------------

    async def _tick(self, state: MarketState, trades: list[TakerTrade]) -> None:
        assert self._store is not None and self._execution is not None
        store, execution = self._store, self._execution
        self._last_state = state
        book = state.book
        mid = book.mid if book is not None and not book.crossed else None
        if mid is not None:
            self._recent_mids.append(mid)
            self._last_mark = mid
        now = state.ts if self.mode == "sim" else self._wall()
        # Fills first: they happened during the ledger that just closed, before this
        # tick's decision could act, and the decision must see the inventory they left.
        fills, fill_updates = await execution.collect_fills(state, trades)
        self.seq += 1
        ledger_rows: list[tuple[Any, ...]] = []
        for f in fills:
            for lr in self._inventory.apply_fill(f):
                ledger_rows.append(
                    (self.session_id, f.ts, lr.asset, lr.delta, lr.new_balance, "fill", f.fill_key)
                )
            self.fill_counts[0 if f.side == "BUY" else 1] += 1
        snapshot = self._inventory.snapshot(self._last_mark)
        decision = decide(
            state, snapshot, execution.live_orders(), self.settings, self.halt,
            tuple(self._recent_mids), now,
        )  # fmt: skip
        updates = await execution.execute(decision, now, state.ledger_index)
        if decision.anchor.divergence_bps is not None:
            self._divergences.append(decision.anchor.divergence_bps)
        event = TickEvent(
            session_id=self.session_id,
            seq=self.seq,
            mode=self.mode,
            market=state,
            decision=decision,
            snapshot=snapshot,
            live_orders=tuple(execution.live_orders().values()),
            fills=tuple(fills),
            halt=self.halt,
            fill_counts=(self.fill_counts[0], self.fill_counts[1]),
            check=self._sums_check(snapshot),
            limits=(self.settings.risk.max_xrp_exposure, self.settings.risk.max_rlusd_exposure),
        )
        pending = store.queue_tick(tick_row(event))
        all_updates = fill_updates + updates
        wall = self._wall()
        if self.mode == "live":
            # Real money: the fill, its ledger rows and the order updates are committed
            # together before the next decision.
            await store.record_fills(self.session_id, self.seq, fills, ledger_rows, all_updates)
            self._last_flush = wall
        else:
            # Simulated fills group-commit with their ticks: a crash loses the uncommitted
            # tail of the session as a whole (fills, ledger rows, orders and ticks
            # together), never a part of it, so the database stays a consistent prefix.
            # The flush does not wait: the writer process commits while we tick on.
            if fills:
                store.queue_fills(self.session_id, self.seq, fills, ledger_rows)
            if all_updates:
                store.queue_orders(self.session_id, all_updates)
            if (
                pending >= FLUSH_EVERY_TICKS
                or self.mode != "sim"
                or wall - self._last_flush >= FLUSH_EVERY_S
            ):
                await store.flush(wait=False)
                self._last_flush = wall
        if wall - self._last_rebuild_check >= REBUILD_CHECK_EVERY_S:
            await self._check_rebuild()
            self._last_rebuild_check = wall
        self.latest = event
        if self._subscribers:
            for u in all_updates:
                self._publish(OrderEvent(u))
            for f in fills:
                self._publish(FillEvent(f))
            self._publish(event)

    def _sums_check(self, snapshot: Any) -> InventoryCheck:
        inv = self._inventory
        fills_only, overlay = inv.fills_only, inv.overlay
        xrp, rlusd = inv.total("XRP"), inv.total("RLUSD")
        sums_ok = (
            xrp == fills_only["XRP"] + overlay["XRP"]
            and rlusd == fills_only["RLUSD"] + overlay["RLUSD"]
            and snapshot.xrp_balance == xrp
            and snapshot.rlusd_balance == rlusd
        )
        if sums_ok and self._check.sums_ok:
            return self._check
        detail = "" if sums_ok else "total != fills_only + overlay"
        self._check = InventoryCheck(sums_ok, self._check.rebuild_ok, detail)
        return self._check

    async def _check_rebuild(self) -> None:
        """Start comparing the in-memory inventory with a rebuild from the database.

        The comparison does not hold up the engine (a flat-out sim has hundreds of
        ticks queued for the writer, and a halt must not wait for them): the reads are
        queued behind every write so far, and the copy taken now is exactly what
        those writes add up to, since only this task changes the inventory."""
        assert self._store is not None
        if self._rebuild_task is not None and not self._rebuild_task.done():
            return  # the previous comparison is still waiting for the writer
        await self._store.flush(wait=False)
        expected = self._inventory.copy()
        self._rebuild_task = asyncio.create_task(
            self._compare_rebuild(expected), name="orion-rebuild-check"
        )

    async def _compare_rebuild(self, expected: InventoryManager) -> None:
        try:
            rebuilt = await self._rebuild()
        except StoreError:
            return  # the store's failure stops the engine at its next write
        ok = rebuilt.same_as(expected)
        if not ok and self._check.rebuild_ok is not False:
            self._log(
                "ERROR",
                f"inventory differs from a rebuild: memory {expected.balances()}"
                f" vs database {rebuilt.balances()}",
            )
        self._check = InventoryCheck(
            self._check.sums_ok, ok, "" if ok else "in-memory snapshot != rebuild from database"
        )

    # -- commands -----------------------------------------------------------------------

    async def _handle(self, cmd: Command) -> None:
        try:
            if isinstance(cmd, Halt):
                await self._halt(cmd)
            elif isinstance(cmd, Resume):
                await self._resume(cmd)
            elif isinstance(cmd, RecordCapital):
                await self._capital(cmd.event)
            elif isinstance(cmd, ReloadConfig):
                await self._reload(cmd.loaded)  # type: ignore[arg-type]
            elif isinstance(cmd, Stop):
                self._stopping = True
                self._log("INFO", f"stop requested ({cmd.reason})")
        except (InventoryError, ValueError) as exc:
            self._log("ERROR", f"{cmd.__class__.__name__} refused: {exc}")

    async def _set_halt(self, halt: HaltState) -> int:
        """Apply a halt (or resume): orders first, bookkeeping second.

        The halt state is queued for the database before anything else, the halted
        sides' orders are cancelled at once through the gates (not at the next tick),
        the HaltEvent goes out, and only then does the engine wait for the commit of
        the halt state and the cancellations (behind any tick rows still queued)."""
        assert self._store is not None
        self.halt = halt
        state = {"all": halt.all, "buy": halt.buy, "sell": halt.sell}
        await self._store.set_state("halt", state, wait=False, urgent=True)
        updates: list[OrderUpdate] = []
        if self._last_state is not None and self._execution is not None:
            updates = await self._redecide()
        cancelled = sum(1 for u in updates if u.kind == "cancelled")
        self._publish(HaltEvent(halt, self.now(), cancelled))
        await self._store.record_orders(self.session_id, updates)
        await self._store.sync()
        return cancelled

    async def _redecide(self) -> list[OrderUpdate]:
        """Apply the current halt to resting orders between ticks, through the gates."""
        assert self._execution is not None and self._store is not None
        assert self._last_state is not None
        now = self.now()
        decision = decide(
            self._last_state, self._inventory.snapshot(self._last_mark),
            self._execution.live_orders(), self.settings, self.halt,
            tuple(self._recent_mids), now,
        )  # fmt: skip
        only_cancels = Decision(
            anchor=decision.anchor,
            buy=_cancel_only(decision.buy),
            sell=_cancel_only(decision.sell),
        )
        updates = await self._execution.execute(only_cancels, now, self._last_state.ledger_index)
        for u in updates:
            self._publish(OrderEvent(u))
        if self.latest is not None:
            from dataclasses import replace

            self.latest = replace(
                self.latest,
                decision=decision,
                halt=self.halt,
                live_orders=tuple(self._execution.live_orders().values()),
            )  # the UI polls `latest`; subscribers get the HaltEvent and OrderEvents
        return updates

    async def _halt(self, cmd: Halt) -> None:
        h = self.halt
        if cmd.side is None:
            new = HaltState(all=True, buy=h.buy, sell=h.sell)
        elif cmd.side == "BUY":
            new = HaltState(all=h.all, buy=True, sell=h.sell)
        else:
            new = HaltState(all=h.all, buy=h.buy, sell=True)
        cancelled = await self._set_halt(new)
        what = "ALL" if cmd.side is None else cmd.side
        self._log("WARNING", f"HALT {what} ({cmd.reason}): cancelled {cancelled} order(s)")

    async def _resume(self, cmd: Resume) -> None:
        h = self.halt
        if cmd.side is None:
            new = HaltState()
        elif cmd.side == "BUY":
            new = HaltState(all=h.all, buy=False, sell=h.sell)
        else:
            new = HaltState(all=h.all, buy=h.buy, sell=False)
        await self._set_halt(new)
        self._log("WARNING", f"RESUME {cmd.side or 'ALL'}: halted now {new.label() or 'nothing'}")

    async def _capital(self, event: CapitalEvent) -> None:
        assert self._store is not None
        event = CapitalEvent(event.kind, event.asset, event.amount, event.note, self.now())
        self._inventory.check_capital(event)
        await self._store.flush()
        await self._store.record_capital(self.session_id, event)
        self._inventory.apply_capital(event)
        self._log(
            "INFO",
            f"capital {event.kind} {event.amount:g} {event.asset} recorded"
            + (f" ({event.note})" if event.note else ""),
        )

    async def _reload(self, loaded: LoadedConfig) -> None:
        assert self._store is not None
        old = settings_as_flat_dict(self.settings)
        new = settings_as_flat_dict(loaded.settings)
        changes = tuple((k, old[k], new[k]) for k in new if old.get(k) != new[k])
        # Apply atomically: one assignment swaps the whole frozen settings object.
        self.loaded = loaded
        self.settings = loaded.settings
        lookback = loaded.settings.strategy.momentum_lookback_ticks + 1
        if self._recent_mids.maxlen != lookback:
            self._recent_mids = deque(self._recent_mids, maxlen=lookback)
        self._inventory.target_xrp_share_pct = loaded.settings.strategy.target_xrp_share_pct
        await self._store.record_config(
            self.session_id, self.now(), loaded.path or "reload",
            loaded.settings.model_dump_json(), changes, loaded.warnings,
        )  # fmt: skip
        self._publish(ConfigEvent(changes, self.now()))
        desc = ", ".join(f"{k}: {a} -> {b}" for k, a, b in changes) or "no changes"
        self._log("WARNING", f"config reloaded from {loaded.path or '?'}: {desc}", "config")
        for w in loaded.warnings:
            self._log("WARNING", w, "config")
        if any(k.startswith("sim.") for k, _, _ in changes) and self.mode == "sim":
            self._log("INFO", "sim.* changes apply to the next session's market", "config")

    # -- stop -----------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Cancel orders first (they matter most), then record, summarise and close."""
        self.running = False
        store = self._store
        if store is None:
            return
        now = self.now()
        updates: list[OrderUpdate] = []
        if self._execution is not None:
            try:
                updates = await self._execution.cancel_all(now)
            except Exception as exc:  # never skip the rest of the shutdown
                self._log("ERROR", f"cancelling open orders failed: {exc.__class__.__name__}")
        for closer in (getattr(self._market, "stop", None),
                       getattr(self._execution, "aclose", None)):  # fmt: skip
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        if self._rebuild_task is not None:
            self._rebuild_task.cancel()
            await asyncio.wait([self._rebuild_task])
        try:
            if updates:
                self._log("INFO", f"cancelled {len(updates)} open order(s) on stop")
                await store.record_orders(self.session_id, updates)
            await store.flush()
            await store.sync()
            self.summary = await asyncio.to_thread(self._read_summary)
            await store.end_session(self.session_id, now, self.summary)
            self._publish(SessionEvent("stopped", self.session_id, now, self.summary))
        finally:
            with contextlib.suppress(Exception):
                await store.close()
            self._store = None

    def _read_summary(self) -> dict[str, Any]:
        conn = open_readonly(self.db_path, follow=True)
        try:
            summary = build_summary(conn, self.session_id)
        finally:
            conn.close()
        summary["ended_at"] = self.now()
        summary["status"] = "ended"
        return summary

    # -- events -----------------------------------------------------------------------------

    def _log(self, level: str, message: str, source: str = "engine") -> None:
        ts = self.now()
        if self._store is not None:
            self._store.log(self.session_id or None, ts, level, source, message)
        self._publish(LogEvent(ts, level, message, source))  # type: ignore[arg-type]

    def _publish(self, event: Event) -> None:
        for cb in self._subscribers:
            with contextlib.suppress(Exception):  # a broken subscriber must not stop trading
                cb(event)


def _cancel_only(sd: Any) -> Any:
    """Keep a side's resting order unless its gates now say cancel."""
    from dataclasses import replace

    if sd.action == "cancel":
        return sd
    return replace(sd, action="keep" if sd.action in ("keep", "replace") else "none")
