"""XRPL market data for paper and live modes: ledger stream, both book sides, the AMM.

One `AsyncWebsocketClient` subscribed to the ledger stream. Each closed ledger wakes
`next_state`, which reads `book_offers` for both sides of XRP/RLUSD and `amm_info`
and returns a `MarketState`. A background supervisor owns the connection and
reconnects with exponential backoff, so `next_state` never has to: it only reports
what is known (connected or not, and when each part was last refreshed) and never
raises. Data that is not what was asked for (another currency or issuer, non-numeric
or non-positive values, missing fields) is dropped with a warning rather than trusted:
the strategy's gates (market_stale / book_invalid) then decide what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Literal

from xrpl.asyncio.clients import AsyncWebsocketClient
from xrpl.models.currencies import XRP, IssuedCurrency
from xrpl.models.requests import AMMInfo, BookOffers, StreamParameter, Subscribe
from xrpl.models.requests.request import Request
from xrpl.models.response import Response

from engine.models import AmmPool, Book, Level, MarketState
from engine.settings import MarketSettings

log = logging.getLogger(__name__)

DROPS_PER_XRP = Decimal(1_000_000)
MAX_TRADING_FEE = 1000  # amm_info trading_fee is in 1/100,000; the protocol caps it at 1%
BookSide = Literal["ask", "bid"]


# ---- parsing (pure functions, tested on the real fixtures) --------------------------


@dataclass(frozen=True, slots=True)
class CurrencySpec:
    """One asset of a book: XRP (no issuer) or an issued currency."""

    currency: str
    issuer: str | None = None

    @property
    def is_xrp(self) -> bool:
        return self.currency.upper() == "XRP" and self.issuer is None

    @property
    def label(self) -> str:
        return "XRP" if self.is_xrp else f"{self.currency}.{self.issuer}"


XRP_SPEC = CurrencySpec("XRP")


class AmountError(ValueError):
    """An amount that is not the asset asked for, or not a usable number."""

    def __init__(self, message: str, *, mismatch: bool = False) -> None:
        super().__init__(message)
        self.mismatch = mismatch  # True: data for another currency/issuer


def _decimal(raw: object, what: str) -> Decimal:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise AmountError(f"{what}: not a number ({type(raw).__name__})")
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise AmountError(f"{what}: non-numeric value {str(raw)[:40]!r}") from None
    if not value.is_finite():
        raise AmountError(f"{what}: non-finite value {str(raw)[:40]!r}")
    return value


def parse_amount(raw: object, spec: CurrencySpec, what: str = "amount") -> Decimal:
    """The amount in whole units of `spec` (XRP: drops / 1e6), or AmountError.

    XRP is a string of integer drops; an IOU is {currency, issuer, value}. The sign is
    not checked here: callers decide whether zero is meaningful (funded amounts).
    """
    if spec.is_xrp:
        if isinstance(raw, dict):
            raise AmountError(f"{what}: expected XRP, got {raw.get('currency')!r}", mismatch=True)
        if not isinstance(raw, str):
            raise AmountError(f"{what}: XRP drops must be a string")
        drops = _decimal(raw, what)
        if drops != drops.to_integral_value():
            raise AmountError(f"{what}: fractional drops {raw!r}")
        return drops / DROPS_PER_XRP
    if not isinstance(raw, dict):
        raise AmountError(f"{what}: expected {spec.label}, got XRP", mismatch=isinstance(raw, str))
    currency, issuer, value = raw.get("currency"), raw.get("issuer"), raw.get("value")
    if currency is None or issuer is None or value is None:
        raise AmountError(f"{what}: missing currency/issuer/value")
    if not isinstance(currency, str) or currency.upper() != spec.currency.upper():
        raise AmountError(f"{what}: wrong currency {currency!r}", mismatch=True)
    if issuer != spec.issuer:
        raise AmountError(f"{what}: wrong issuer {issuer!r}", mismatch=True)
    return _decimal(value, what)


@dataclass(frozen=True, slots=True)
class ParsedSide:
    """One book_offers answer turned into levels, with what was left out and why."""

    levels: tuple[Level, ...]
    problems: tuple[str, ...]  # one line per rejected offer
    offers: int  # offers in the answer
    unfunded: int  # skipped because taker_gets_funded is zero
    own: int  # skipped because they are ours
    mismatched: bool  # some offer was for another currency/issuer

    @property
    def rejected(self) -> int:
        return len(self.problems)


def _offer_amounts(
    offer: dict[str, Any], gets: CurrencySpec, pays: CurrencySpec
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(gets, pays, funded_gets, funded_pays) of one offer, in whole units."""
    if "TakerGets" not in offer or "TakerPays" not in offer:
        raise AmountError("missing TakerGets/TakerPays")
    g = parse_amount(offer["TakerGets"], gets, "TakerGets")
    p = parse_amount(offer["TakerPays"], pays, "TakerPays")
    if g <= 0 or p <= 0:
        raise AmountError(f"non-positive amounts (gets {g}, pays {p})")
    fg, fp = g, p
    # rippled adds taker_*_funded only when the owner cannot fund the whole offer.
    if "taker_gets_funded" in offer:
        fg = parse_amount(offer["taker_gets_funded"], gets, "taker_gets_funded")
        if "taker_pays_funded" in offer:
            fp = parse_amount(offer["taker_pays_funded"], pays, "taker_pays_funded")
        else:
            fp = p * fg / g
        if fg < 0 or fp < 0:
            raise AmountError("negative funded amounts")
        fg, fp = min(fg, g), min(fp, p)
    return g, p, fg, fp


def _price_key(price: Decimal) -> Decimal:
    """Aggregation key: the price at 15 significant digits (IOU precision)."""
    with localcontext() as ctx:
        ctx.prec = 15
        return +price


def parse_book_side(
    offers: object,
    *,
    side: BookSide,
    base: CurrencySpec,
    quote: CurrencySpec,
    depth: int | None = None,
    exclude_account: str | None = None,
) -> ParsedSide:
    """Aggregate one side of a book into levels (price in quote per base, size in base).

    ask: the book with taker_gets=base, taker_pays=quote; price = pays / gets,
    size = gets. bid: the reverse book (taker_gets=quote, taker_pays=base);
    price = gets / pays, size = pays. Funded amounts are used for size when present;
    unfunded offers are skipped; any other unusable offer is rejected with a reason.
    Levels are best first (asks ascending, bids descending).
    """
    if not isinstance(offers, list):
        return ParsedSide((), ("offers is not a list",), 0, 0, 0, False)
    gets, pays = (base, quote) if side == "ask" else (quote, base)
    agg: dict[Decimal, Decimal] = {}
    problems: list[str] = []
    unfunded = own = 0
    mismatched = False
    for i, offer in enumerate(offers):
        if not isinstance(offer, dict):
            problems.append(f"offer {i}: not an object")
            continue
        if exclude_account is not None and offer.get("Account") == exclude_account:
            own += 1
            continue
        try:
            g, p, fg, fp = _offer_amounts(offer, gets, pays)
        except AmountError as exc:
            mismatched = mismatched or exc.mismatch
            problems.append(f"offer {i}: {exc}")
            continue
        if fg <= 0 or fp <= 0:
            unfunded += 1
            continue
        if side == "ask":
            price, size = p / g, fg
        else:
            price, size = g / p, fp
        key = _price_key(price)
        agg[key] = agg.get(key, Decimal(0)) + size
    keys = sorted(agg, reverse=(side == "bid"))
    if depth is not None:
        keys = keys[:depth]
    levels = tuple(Level(price=float(k), size=float(agg[k])) for k in keys)
    return ParsedSide(levels, tuple(problems), len(offers), unfunded, own, mismatched)


def _looks_like(raw: object, spec: CurrencySpec) -> bool:
    """Whether an amount is meant as `spec` (to pair amount/amount2 with the assets)."""
    if spec.is_xrp:
        return isinstance(raw, str)
    return (isinstance(raw, dict) and str(raw.get("currency", "")).upper() == spec.currency.upper()
            and raw.get("issuer") == spec.issuer)


def parse_amm(
    result: object, *, base: CurrencySpec = XRP_SPEC, quote: CurrencySpec
) -> tuple[AmmPool | None, list[str]]:
    """An amm_info result as an AmmPool (reserves in whole units), or None and why.

    amount / amount2 may come in either order; each must be one of the two assets.
    Zero reserves mean no usable pool.
    """
    if not isinstance(result, dict) or not isinstance(result.get("amm"), dict):
        return None, ["amm_info: no amm object in the answer"]
    amm = result["amm"]
    raw1, raw2 = amm.get("amount"), amm.get("amount2")
    if raw1 is None or raw2 is None:
        return None, ["amm_info: missing amount/amount2"]
    names = ("amount", "amount2")
    if _looks_like(raw2, base) and not _looks_like(raw1, base):
        raw1, raw2, names = raw2, raw1, ("amount2", "amount")
    try:
        b, q = parse_amount(raw1, base, names[0]), parse_amount(raw2, quote, names[1])
    except AmountError as exc:
        return None, [f"amm_info: {exc}"]
    fee = amm.get("trading_fee")
    if not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= MAX_TRADING_FEE:
        return None, [f"amm_info: bad trading_fee {fee!r}"]
    if b <= 0 or q <= 0:
        return None, [f"amm_info: non-positive reserves ({b} {base.label}, {q} {quote.label})"]
    return AmmPool(xrp_reserve=float(b), rlusd_reserve=float(q), trading_fee=fee), []


def _ledger_index(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


# ---- the market source --------------------------------------------------------------


async def _reap(task: asyncio.Future[Any]) -> None:
    """Cancel a task and wait for it without swallowing our own cancellation (asyncio.wait
    never raises the task's error), then mark its error retrieved so asyncio stays quiet."""
    task.cancel()
    await asyncio.wait({task}, timeout=2.0)
    if task.done() and not task.cancelled():
        task.exception()


class _Lost(Exception):
    """The connection went away while a read was in flight."""


_KEEP = object()  # a read that timed out: nothing learned, keep the previous view


class XrplMarket:
    """Market data from an XRPL node (paper and live modes).

    `next_state(timeout)` waits for the next closed ledger and returns the book and
    AMM read right after it (it may take up to timeout + request_timeout). It returns
    early with connected=False (book/amm None, timestamps of the last good read) when
    the connection drops, and after `timeout` with the previous view and its old
    timestamps when no ledger closed (a stalled node), so the stale gate can act.
    A read that times out also keeps the previous part with its old timestamp; a read
    that is rejected (bad data, node error) drops that part (None).

    own_account: in live mode, the wallet address, so our own resting offers are not
    read back as the market. idle_reconnect_s: reconnect when the node has sent nothing
    (not even a ledger) for this long. Backoff doubles from reconnect_min_s up to
    reconnect_max_s, and resets after a successful subscribe.
    """

    def __init__(
        self,
        settings: MarketSettings,
        *,
        book_depth: int = 10,
        reconnect_max_s: float = 8.0,
        reconnect_min_s: float = 0.1,
        request_timeout: float = 5.0,
        idle_reconnect_s: float = 30.0,
        own_account: str | None = None,
        clock: Callable[[], float] = time.time,
        client_factory: Callable[[str], AsyncWebsocketClient] = AsyncWebsocketClient,
        max_warnings: int = 200,
        warning_repeat_s: float = 60.0,
    ) -> None:
        self._url = settings.node
        self._quote = CurrencySpec(settings.rlusd_currency, settings.rlusd_issuer)
        self._iou = IssuedCurrency(currency=settings.rlusd_currency, issuer=settings.rlusd_issuer)
        self._depth = max(1, book_depth)  # price levels kept per side
        # book_offers limits offers, not levels: ask for more so `depth` levels fill up.
        self._offer_limit = max(20, 4 * self._depth)
        self._reconnect_max = max(reconnect_max_s, reconnect_min_s)
        self._reconnect_min = reconnect_min_s
        self._request_timeout = request_timeout
        self._idle_reconnect = idle_reconnect_s
        self._own_account = own_account
        self._clock = clock
        self._client_factory = client_factory
        self._warnings: deque[str] = deque(maxlen=max_warnings)
        self._warned_at: dict[str, float] = {}
        self._warning_repeat = warning_repeat_s

        self._client: AsyncWebsocketClient | None = None
        self._connected = False
        self._lost = asyncio.Event()  # set when the current connection is gone
        self._changed = asyncio.Event()  # a ledger arrived or the connection changed
        self._pending_ledger: int | None = None
        self._ledger_index = 0
        self._last_message = 0.0
        self._book: Book | None = None
        self._amm: AmmPool | None = None
        self._book_ts: float | None = None
        self._amm_ts: float | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self.reconnects = 0  # successful connections after the first

    def __repr__(self) -> str:
        return f"XrplMarket(node={self._url!r}, connected={self._connected})"

    # ---- public API ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def ledger_index(self) -> int:
        return self._ledger_index

    async def start(self) -> None:
        """Start the connection supervisor (returns at once; next_state waits)."""
        if self._supervisor is None or self._supervisor.done():
            self._stopping = False
            self._supervisor = asyncio.create_task(self._supervise(), name="xrpl-market")

    async def stop(self) -> None:
        """Stop the supervisor and close the connection."""
        task, self._supervisor = self._supervisor, None
        self._stopping = True
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._set_connected(False)

    def drain_warnings(self) -> list[str]:
        """Warnings since the last call (oldest first); the engine logs them."""
        out = list(self._warnings)
        self._warnings.clear()
        return out

    async def next_state(self, timeout: float) -> MarketState:
        """The market after the next closed ledger; never raises (see the class doc)."""
        try:
            return await self._next_state(max(0.0, float(timeout)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the loop must keep ticking
            self._warn(f"market read failed: {type(exc).__name__}: {exc}")
            return self._idle_state()

    # ---- states -------------------------------------------------------------------

    def _state(self, ledger_index: int, connected: bool) -> MarketState:
        return MarketState(
            ledger_index=ledger_index,
            ts=self._clock(),
            book=self._book if connected else None,
            amm=self._amm if connected else None,
            book_ts=self._book_ts,
            amm_ts=self._amm_ts,
            connected=connected,
        )

    def _idle_state(self) -> MarketState:
        """Nothing new: the previous view with its old timestamps (or none, offline)."""
        return self._state(self._ledger_index, self._connected)

    async def _next_state(self, timeout: float) -> MarketState:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        was_connected = self._connected
        while self._pending_ledger is None:
            if was_connected and not self._connected:
                return self._idle_state()  # report the drop at once
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self._idle_state()
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
            was_connected = was_connected or self._connected
        ledger, self._pending_ledger = self._pending_ledger, None
        client = self._client
        if client is None or not self._connected:
            return self._idle_state()
        try:
            asks, bids, amm = await self._fetch(client)
        except _Lost:
            return self._state(ledger, connected=False)
        now = self._clock()
        self._update_book(asks, bids, now)
        self._update_amm(amm, now)
        return self._state(ledger, connected=True)

    # ---- reads --------------------------------------------------------------------

    async def _fetch(self, client: AsyncWebsocketClient) -> list[Any]:
        """The three reads for one ledger, concurrently; each result is a Response,
        an exception, or _Lost if the connection went away meanwhile."""
        requests: list[Request] = [
            BookOffers(taker_gets=XRP(), taker_pays=self._iou, limit=self._offer_limit,
                       ledger_index="validated"),
            BookOffers(taker_gets=self._iou, taker_pays=XRP(), limit=self._offer_limit,
                       ledger_index="validated"),
            AMMInfo(asset=XRP(), asset2=self._iou),
        ]
        reads: asyncio.Future[list[Any]] = asyncio.gather(
            *(asyncio.wait_for(client.request(r), self._request_timeout) for r in requests),
            return_exceptions=True,
        )
        lost: asyncio.Future[Any] = asyncio.ensure_future(self._lost.wait())
        waitables: set[asyncio.Future[Any]] = {reads, lost}
        try:
            done, _ = await asyncio.wait(waitables, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if reads not in done:
            await _reap(reads)
            raise _Lost
        return list(reads.result())

    def _response_result(self, what: str, answer: Any) -> Any:
        """The result dict of a successful answer, _KEEP for a timeout, None otherwise."""
        if isinstance(answer, TimeoutError):
            self._warn(f"{what}: no answer within {self._request_timeout:g}s")
            return _KEEP
        if isinstance(answer, BaseException):
            self._warn(f"{what}: request failed: {type(answer).__name__}: {answer}")
            return None
        if not isinstance(answer, Response):
            self._warn(f"{what}: unexpected answer {type(answer).__name__}")
            return None
        if not answer.is_successful():
            result = answer.result if isinstance(answer.result, dict) else {}
            self._warn(f"{what}: node error {result.get('error', '?')}: "
                       f"{result.get('error_message', '')}".rstrip(": "))
            return None
        return answer.result

    def _side(self, answer: Any, side: BookSide) -> tuple[Level, ...] | None | object:
        what = f"book_offers {side}s"
        result = self._response_result(what, answer)
        if result is None or result is _KEEP:
            return result
        offers = result.get("offers") if isinstance(result, dict) else None
        if not isinstance(offers, list):
            self._warn(f"{what}: answer has no offers list")
            return None
        parsed = parse_book_side(
            offers, side=side, base=XRP_SPEC, quote=self._quote, depth=self._depth,
            exclude_account=self._own_account,
        )
        if parsed.mismatched:
            self._warn(f"{what}: rejected: data for another currency or issuer "
                       f"({parsed.problems[0]})")
            return None
        if parsed.problems:
            self._warn(f"{what}: skipped {parsed.rejected} of {parsed.offers} offers "
                       f"({parsed.problems[0]})")
            if not parsed.levels:
                return None
        return parsed.levels

    def _update_book(self, asks_answer: Any, bids_answer: Any, now: float) -> None:
        asks = self._side(asks_answer, "ask")
        bids = self._side(bids_answer, "bid")
        if asks is _KEEP or bids is _KEEP:
            return  # no news: keep the previous book and its timestamp
        if isinstance(asks, tuple) and isinstance(bids, tuple):
            book = Book(bids=bids, asks=asks)
            if book.crossed:
                self._warn(f"book is crossed (bid {book.best_bid} >= ask {book.best_ask})")
            self._book, self._book_ts = book, now
        else:
            self._book = None  # rejected: drop it; book_ts keeps the last good read

    def _update_amm(self, answer: Any, now: float) -> None:
        if isinstance(answer, Response) and not answer.is_successful():
            error = answer.result.get("error") if isinstance(answer.result, dict) else None
            if error == "actNotFound":
                self._warn("amm_info: no XRP/RLUSD AMM on this node")
                self._amm = None
                return
        result = self._response_result("amm_info", answer)
        if result is _KEEP:
            return
        if result is None:
            self._amm = None
            return
        pool, problems = parse_amm(result, base=XRP_SPEC, quote=self._quote)
        for p in problems:
            self._warn(p)
        self._amm = pool
        if pool is not None:
            self._amm_ts = now

    # ---- connection supervisor -----------------------------------------------------

    async def _supervise(self) -> None:
        delay = self._reconnect_min
        first = True
        while True:
            client = self._client_factory(self._url)
            listener: asyncio.Task[None] | None = None
            try:
                await asyncio.wait_for(client.open(), self._request_timeout)
                self._last_message = time.monotonic()
                listener = asyncio.create_task(self._listen(client), name="xrpl-market-listen")
                answer = await asyncio.wait_for(
                    client.request(Subscribe(streams=[StreamParameter.LEDGER])),
                    self._request_timeout,
                )
                if not answer.is_successful():
                    raise ConnectionError(f"subscribe refused: {answer.result.get('error')}")
                self._client = client
                self._lost = asyncio.Event()
                self._set_connected(True)
                if not first:
                    self.reconnects += 1
                first = False
                delay = self._reconnect_min
                result = answer.result if isinstance(answer.result, dict) else {}
                self._on_ledger(result.get("ledger_index"))
                await self._watch(client, listener)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: retry later
                self._warn(f"cannot reach {self._url}: {type(exc).__name__}: {exc}".rstrip(": "))
            finally:
                was = self._connected
                self._client = None
                self._set_connected(False)
                self._lost.set()
                if listener is not None:
                    await _reap(listener)
                await self._close_quietly(client)
                if was and not self._stopping:
                    self._warn(f"lost connection to {self._url}; reconnecting")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    async def _watch(self, client: AsyncWebsocketClient, listener: asyncio.Task[None]) -> None:
        """Return when the connection is dead: closed socket, a dead reader, or silence."""
        # xrpl-py's reader task ends when the socket closes, and also dies on a frame it
        # cannot route (a bare JSON number), leaving is_open() True but the client deaf:
        # watch it directly so both cases reconnect at once.
        reader = getattr(client, "_handler_task", None)
        waitables: set[asyncio.Future[Any]] = {listener}
        if isinstance(reader, asyncio.Task):
            waitables.add(reader)
        poll = min(1.0, self._idle_reconnect / 4)
        while True:
            done, _ = await asyncio.wait(waitables, timeout=poll,
                                         return_when=asyncio.FIRST_COMPLETED)
            if done or not client.is_open():
                return
            if time.monotonic() - self._last_message > self._idle_reconnect:
                self._warn(f"no message from the node for {self._idle_reconnect:g}s")
                return

    async def _listen(self, client: AsyncWebsocketClient) -> None:
        async for message in client:
            self._last_message = time.monotonic()
            try:
                self._on_message(message)
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop reading
                self._warn(f"bad message from node: {type(exc).__name__}: {exc}")

    def _on_message(self, message: object) -> None:
        if not isinstance(message, dict):
            self._warn(f"ignored a non-object message ({type(message).__name__})")
            return
        kind = message.get("type")
        if kind == "ledgerClosed":
            index = _ledger_index(message.get("ledger_index"))
            if index is None:
                self._warn("ignored a ledgerClosed message without a valid ledger_index")
                return
            self._on_ledger(index)
        elif kind == "response":
            return  # answers are routed to their requests by the client
        else:
            self._warn(f"ignored a message of unknown type {str(kind)[:40]!r}")

    def _on_ledger(self, value: object) -> None:
        index = _ledger_index(value)
        if index is None or index <= self._ledger_index:
            return
        self._ledger_index = index
        self._pending_ledger = index
        self._changed.set()

    def _set_connected(self, connected: bool) -> None:
        if connected != self._connected:
            self._connected = connected
            self._changed.set()

    @staticmethod
    async def _close_quietly(client: AsyncWebsocketClient) -> None:
        reader = getattr(client, "_handler_task", None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 2.0)
        # Retrieve the reader's exception (if it died) so asyncio does not log it.
        if isinstance(reader, asyncio.Task) and reader.done() and not reader.cancelled():
            reader.exception()

    # ---- warnings -----------------------------------------------------------------

    def _warn(self, message: str) -> None:
        """Record a warning, at most once per `warning_repeat_s` for the same text."""
        now = time.monotonic()
        last = self._warned_at.get(message)
        if last is not None and now - last < self._warning_repeat:
            return
        if len(self._warned_at) > 1000:
            self._warned_at.clear()
        self._warned_at[message] = now
        self._warnings.append(message)
        log.debug("%s", message)
