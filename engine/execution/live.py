"""Live execution on the XRP Ledger: passive OfferCreate / OfferCancel signed locally.

Orders: `place` is an OfferCreate (tfPassive, Expiration = now + order_ttl_s);
`replace` is an OfferCreate carrying OfferSequence of the old offer, which the ledger
applies atomically (cancel + create in one transaction); `cancel` is an OfferCancel.
Transactions go through xrpl-py's autofill_and_sign + submit; any failure becomes an
OrderUpdate(kind="rejected", detail=<engine_result or error>) and nothing raises.

Fills (one design): `collect_fills` polls `account_tx` for our account from the ledger
of our first order onwards (re-reading the last ledger each time; duplicates are
harmless) and feeds each validated transaction to `ingest_transaction`, which reads its
metadata with `xrpl.utils.get_order_book_changes`. Polling by ledger range survives
reconnects: nothing is missed while a socket is down. The engine may also feed
`transaction` messages from an accounts subscription into `ingest_transaction`; every
fill is keyed f"{tx hash}:{offer sequence}" and de-duplicated, so each fill is
delivered exactly once, by `collect_fills`, whichever way it arrived.

The wallet seed: `wallet_from_secret` is the one place it is read; the Wallet it
returns keeps only the key pair, and nothing here logs, stores or renders either.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Any, Literal, cast

from pydantic import SecretStr
from xrpl.asyncio.clients import AsyncWebsocketClient, XRPLRequestFailureException
from xrpl.asyncio.transaction import autofill_and_sign, submit
from xrpl.models import TransactionMetadata
from xrpl.models.amounts import Amount, IssuedCurrencyAmount
from xrpl.models.requests import AccountTx
from xrpl.models.transactions import OfferCancel, OfferCreate, OfferCreateFlag
from xrpl.models.transactions.transaction import Transaction
from xrpl.utils import (
    get_order_book_changes,
    posix_to_ripple_time,
    ripple_time_to_posix,
    xrp_to_drops,
)
from xrpl.wallet import Wallet

from engine.market.xrpl import XRP_SPEC, CurrencySpec
from engine.models import (
    SIDES,
    Decision,
    Fill,
    LiveOrder,
    MarketState,
    OrderUpdate,
    Side,
    TakerTrade,
)
from engine.settings import MarketSettings

log = logging.getLogger(__name__)

ClientSource = str | Callable[[], AsyncWebsocketClient]
ONE_DROP_XRP = Decimal("0.000001")
# Results after which the transaction may still make it into a ledger and hold its
# sequence (tes / queued) or has consumed its sequence and fee without effect (tec).
ACCEPTED = frozenset({"tesSUCCESS", "terQUEUED"})


def wallet_from_secret(secret: SecretStr) -> Wallet:
    """The only place the seed is read. The Wallet returned holds the key pair and
    address but not the seed, and a bad seed raises an error that does not quote it."""
    full: Wallet | None
    try:
        full = Wallet.from_seed(secret.get_secret_value())
    except Exception:  # noqa: BLE001 - raised below, outside this block, without context
        full = None
    if full is None:
        raise ValueError("the wallet seed is not a valid XRPL seed")
    return Wallet(full.public_key, full.private_key, algorithm=full.algorithm)


def iou_value(value: Decimal) -> str:
    """An IOU value with at most 15 significant digits, in plain notation."""
    with localcontext() as ctx:
        ctx.prec = 15
        v = +value
    return "0" if v == 0 else format(v.normalize(), "f")


FILL_STATUSES = ("partially-filled", "filled")


def _is(amount: Any, spec: CurrencySpec) -> bool:
    if not isinstance(amount, dict):
        return False
    if spec.is_xrp:
        return amount.get("currency") == "XRP"
    return (str(amount.get("currency", "")).upper() == spec.currency.upper()
            and amount.get("issuer") == spec.issuer)


def change_fill(change: Any, base: CurrencySpec) -> tuple[Decimal, Decimal] | None:
    """(base, counter) amounts that changed hands in one offer change from
    get_order_book_changes (its deltas are negative: what the offer gave and what it
    stopped wanting), or None if neither leg is `base`."""
    gets, pays = change.get("taker_gets"), change.get("taker_pays")
    if _is(gets, base):
        leg, other = gets, pays
    elif _is(pays, base):
        leg, other = pays, gets
    else:
        return None
    return -Decimal(leg["value"]), -Decimal(other["value"])


@dataclass(frozen=True, slots=True)
class OfferFill:
    """A fill of one resting offer, read from one transaction's metadata."""

    sequence: int
    status: str  # "partially-filled" or "filled" (the offer is gone)
    base: Decimal  # base asset that changed hands (XRP for us)
    counter: Decimal


def offer_fills(meta: dict[str, Any], account: str, base: CurrencySpec) -> list[OfferFill]:
    """Fills of `account`'s offers in one transaction, via get_order_book_changes."""
    out: list[OfferFill] = []
    for group in get_order_book_changes(cast(TransactionMetadata, meta)):
        if group["maker_account"] != account:
            continue
        for change in group["offer_changes"]:
            if change["status"] not in FILL_STATUSES:
                continue
            amounts = change_fill(change, base)
            if amounts is not None and amounts[0] > 0:
                out.append(OfferFill(change["sequence"], change["status"], *amounts))
    return out


@dataclass(frozen=True, slots=True)
class _Submitted:
    ok: bool
    detail: str  # engine_result (and hash), or why it never reached the ledger
    sequence: int | None = None
    tx_hash: str | None = None
    validated_ledger: int | None = None


@dataclass(frozen=True, slots=True)
class _TxView:
    """The parts of a transaction we need, whatever shape it arrived in."""

    tx: dict[str, Any]
    meta: dict[str, Any]
    tx_hash: str
    ledger_index: int
    date: int | None


def normalize_tx(message: object) -> _TxView | None:
    """Accept a validated transaction in any shape rippled sends: a `transaction` stream
    message or API v2 tx/account_tx entry (tx_json + meta + hash), an API v1 account_tx
    entry (tx + meta) or v1 `tx` result (flat fields + meta). None if not validated or
    not usable."""
    if not isinstance(message, dict) or message.get("validated") is not True:
        return None
    tx: Any = None
    for key in ("tx_json", "transaction", "tx"):
        if isinstance(message.get(key), dict):
            tx = message[key]
            break
    if tx is None and "TransactionType" in message:
        tx = message
    if not isinstance(tx, dict):
        return None
    meta = message.get("meta", message.get("metaData", tx.get("meta")))
    tx_hash = message.get("hash", tx.get("hash"))
    ledger = message.get("ledger_index", tx.get("ledger_index", tx.get("inLedger")))
    date = tx.get("date", message.get("date"))
    if not isinstance(meta, dict) or not isinstance(tx_hash, str) or not isinstance(ledger, int):
        return None
    return _TxView(tx, meta, tx_hash.upper(), ledger, date if isinstance(date, int) else None)


class _Bounded(OrderedDict[Any, Any]):
    """An insertion-ordered map that forgets its oldest entries past `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class LiveExecution:
    """The Execution protocol on a real XRPL account (see the module doc)."""

    def __init__(
        self,
        client: ClientSource,
        wallet: Wallet,
        settings: MarketSettings,
        order_ttl_s: int,
        id_prefix: str,
        *,
        request_timeout: float = 10.0,
        max_fee_drops: int = 10_000,
        clock: Callable[[], float] = time.time,
        account_tx_limit: int = 200,
        account_tx_max_pages: int = 10,
    ) -> None:
        if isinstance(client, str):
            url = client
            self._factory: Callable[[], AsyncWebsocketClient] = lambda: AsyncWebsocketClient(url)
            self._node = url
        else:
            self._factory = client
            self._node = "<client factory>"
        self._wallet = wallet
        self._address = wallet.address
        self._currency = settings.rlusd_currency
        self._issuer = settings.rlusd_issuer
        self._ttl = int(order_ttl_s)
        self._prefix = id_prefix
        self._timeout = request_timeout
        self._max_fee = max_fee_drops
        self._clock = clock
        self._page_limit = account_tx_limit
        self._max_pages = account_tx_max_pages

        self._client: AsyncWebsocketClient | None = None
        self._orders: dict[Side, LiveOrder] = {}
        self._known: _Bounded = _Bounded(1024)  # offer sequence -> latest LiveOrder
        self._expiry: dict[str, int] = {}  # order_id -> ripple-time Expiration
        self._seen_fills: _Bounded = _Bounded(20_000)
        self._seen_txs: _Bounded = _Bounded(20_000)
        self._fills: list[Fill] = []
        self._updates: list[OrderUpdate] = []
        self._next_seq: int | None = None
        self._scan_from: int | None = None
        self._rejects = 0

    def __repr__(self) -> str:
        return f"LiveExecution(account={self._address}, node={self._node})"

    @property
    def address(self) -> str:
        return self._address

    # ---- Execution protocol -------------------------------------------------------

    def live_orders(self) -> dict[Side, LiveOrder]:
        return dict(self._orders)

    async def execute(self, decision: Decision, ts: float, ledger_index: int) -> list[OrderUpdate]:
        """Place / replace (OfferSequence) / cancel per side; keep and none do nothing."""
        updates: list[OrderUpdate] = []
        for side in SIDES:
            sd = decision.side(side)
            try:
                if sd.action in ("place", "replace"):
                    updates.append(await self._place(side, sd.price, sd.size, ts, ledger_index))
                elif sd.action == "cancel" and side in self._orders:
                    updates.append(await self._cancel(self._orders[side], ts))
            except Exception as exc:  # noqa: BLE001 - never raise into the loop
                log.warning("live %s %s failed: %s", sd.action, side, type(exc).__name__)
                updates.append(self._rejected(side, sd.price or 0.0, sd.size or 0.0, ts,
                                              f"internal error: {type(exc).__name__}"))
        return updates

    async def collect_fills(
        self, market: MarketState, trades: Sequence[TakerTrade]
    ) -> tuple[list[Fill], list[OrderUpdate]]:
        """Fills since the last call from transaction metadata (account_tx polling plus
        anything fed to ingest_transaction), and expiries of our offers."""
        try:
            await self._poll_account_tx()
        except Exception as exc:  # noqa: BLE001 - a failed poll is retried next tick
            log.warning("live: reading account_tx failed: %s", type(exc).__name__)
            await self._drop_client()
        self._expire(self._clock())
        fills, updates = self._fills, self._updates
        self._fills, self._updates = [], []
        return fills, updates

    async def cancel_all(self, ts: float) -> list[OrderUpdate]:
        updates: list[OrderUpdate] = []
        for side in SIDES:
            order = self._orders.get(side)
            if order is not None:
                try:
                    updates.append(await self._cancel(order, ts))
                except Exception as exc:  # noqa: BLE001
                    updates.append(OrderUpdate("rejected", order, ts,
                                               detail=f"internal error: {type(exc).__name__}"))
        return updates

    async def ingest_transaction(self, tx_msg: dict[str, Any]) -> int:
        """Read one validated transaction's metadata for fills of our offers and for
        offers the ledger removed. Returns how many new fills it queued (they are
        delivered once, by the next collect_fills). Never raises."""
        try:
            return self._ingest(tx_msg)
        except Exception as exc:  # noqa: BLE001 - a bad message must not stop the engine
            log.warning("live: could not read a transaction: %s", type(exc).__name__)
            return 0

    async def aclose(self) -> None:
        """Close the connection (orders stay on the ledger until they expire)."""
        await self._drop_client()

    # ---- orders -------------------------------------------------------------------

    def _amounts(self, side: Side, price: float, size: float) -> tuple[Amount, Amount, Decimal]:
        """TakerGets, TakerPays and the XRP size: a SELL gives XRP for RLUSD, a BUY the
        reverse. XRP is rounded down to whole drops; RLUSD has 15 significant digits."""
        xrp = Decimal(repr(size)).quantize(ONE_DROP_XRP, rounding=ROUND_DOWN)
        rlusd = Decimal(iou_value(xrp * Decimal(repr(price))))
        if xrp <= 0 or rlusd <= 0:
            raise ValueError("order too small")
        drops = xrp_to_drops(xrp)
        iou = IssuedCurrencyAmount(currency=self._currency, issuer=self._issuer,
                                   value=iou_value(rlusd))
        if side == "SELL":
            return drops, iou, xrp
        return iou, drops, xrp

    def _rejected(self, side: Side, price: float, size: float, ts: float,
                  detail: str) -> OrderUpdate:
        self._rejects += 1
        order = LiveOrder(order_id=f"{self._prefix}-rejected-{self._rejects}", side=side,
                          price=price, size=size, placed_ts=ts, original_size=size)
        return OrderUpdate("rejected", order, ts, detail=detail)

    async def _place(self, side: Side, price: float | None, size: float | None, ts: float,
                     ledger_index: int) -> OrderUpdate:
        if price is None or size is None or not price > 0 or not size > 0:
            return self._rejected(side, price or 0.0, size or 0.0, ts, "no price or size")
        try:
            gets, pays, xrp = self._amounts(side, price, size)
        except (ValueError, ArithmeticError) as exc:
            return self._rejected(side, price, size, ts, f"invalid amount: {exc}")
        old = self._orders.get(side)
        expiration = posix_to_ripple_time(int(self._clock())) + self._ttl
        tx = OfferCreate(
            account=self._address,
            taker_gets=gets,
            taker_pays=pays,
            flags=OfferCreateFlag.TF_PASSIVE,
            expiration=expiration,
            offer_sequence=old.sequence if old is not None else None,
            sequence=self._next_seq,
        )
        sub = await self._submit(tx)
        if not sub.ok or sub.sequence is None:
            return self._rejected(side, price, size, ts, sub.detail)
        order = LiveOrder(order_id=f"{self._prefix}-{sub.sequence}", side=side, price=price,
                          size=float(xrp), placed_ts=ts, original_size=float(xrp),
                          sequence=sub.sequence)
        self._orders[side] = order
        self._known[sub.sequence] = order
        self._expiry[order.order_id] = expiration
        if old is not None:
            self._expiry.pop(old.order_id, None)
        if self._scan_from is None:
            self._scan_from = sub.validated_ledger or ledger_index or None
        kind: Literal["placed", "replaced"] = "replaced" if old is not None else "placed"
        log.info("live %s %s %s @ %s: %s", kind, side, order.size, price, sub.detail)
        return OrderUpdate(kind, order, ts, replaced_order_id=old.order_id if old else None,
                           detail=sub.detail)

    async def _cancel(self, order: LiveOrder, ts: float) -> OrderUpdate:
        if order.sequence is None:
            self._orders.pop(order.side, None)
            return OrderUpdate("cancelled", order, ts, detail="no offer on the ledger")
        sub = await self._submit(OfferCancel(account=self._address,
                                             offer_sequence=order.sequence,
                                             sequence=self._next_seq))
        if not sub.ok:
            return OrderUpdate("rejected", order, ts, detail=sub.detail)
        if self._orders.get(order.side) == order:
            del self._orders[order.side]
        self._expiry.pop(order.order_id, None)
        log.info("live cancelled %s (offer %s): %s", order.side, order.sequence, sub.detail)
        return OrderUpdate("cancelled", order, ts, detail=sub.detail)

    # ---- the node -----------------------------------------------------------------

    async def _connect(self) -> AsyncWebsocketClient:
        client = self._client
        reader = getattr(client, "_handler_task", None)
        dead_reader = isinstance(reader, asyncio.Task) and reader.done()
        if client is not None and client.is_open() and not dead_reader:
            return client
        await self._drop_client()
        client = self._factory()
        if not client.is_open():
            await asyncio.wait_for(client.open(), self._timeout)
        self._client = client
        return client

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        reader = getattr(client, "_handler_task", None)
        try:
            await asyncio.wait_for(client.close(), 2.0)
        except Exception:  # noqa: BLE001 - it is going away anyway
            pass
        if isinstance(reader, asyncio.Task) and reader.done() and not reader.cancelled():
            reader.exception()  # retrieved: asyncio would log it otherwise

    async def _submit(self, tx: Transaction) -> _Submitted:
        """autofill + sign + submit; the outcome as data, never an exception."""
        try:
            client = await self._connect()
            signed = await asyncio.wait_for(
                autofill_and_sign(tx, client, self._wallet, check_fee=False), self._timeout
            )
            fee = int(signed.fee or 0)
            if fee > self._max_fee:
                self._next_seq = None
                return _Submitted(False, f"fee too high: {fee} drops > {self._max_fee}")
            response = await asyncio.wait_for(submit(signed, client), self._timeout)
        except XRPLRequestFailureException as exc:
            self._next_seq = None
            return _Submitted(False, f"node error: {exc.error}")
        except Exception as exc:  # noqa: BLE001 - timeouts, drops, bad answers
            self._next_seq = None
            await self._drop_client()
            return _Submitted(False, f"submit failed: {type(exc).__name__}")
        result = response.result if isinstance(response.result, dict) else {}
        engine_result = str(result.get("engine_result", "unknown"))
        sequence = signed.sequence
        tx_hash = signed.get_hash()
        ok = engine_result in ACCEPTED
        if sequence is not None and (ok or engine_result.startswith("tec")):
            self._next_seq = sequence + 1
        else:
            self._next_seq = None  # let autofill read the account's sequence again
        validated = result.get("validated_ledger_index")
        return _Submitted(
            ok=ok,
            detail=f"{engine_result} {tx_hash}" if ok else engine_result,
            sequence=sequence,
            tx_hash=tx_hash,
            validated_ledger=validated if isinstance(validated, int) else None,
        )

    # ---- fills --------------------------------------------------------------------

    async def _poll_account_tx(self) -> None:
        if self._scan_from is None:
            return  # nothing placed yet: nothing of ours can fill
        client = await self._connect()
        marker: Any = None
        highest: int | None = None
        for _ in range(self._max_pages):
            request = AccountTx(account=self._address, ledger_index_min=self._scan_from,
                                ledger_index_max=-1, forward=True, limit=self._page_limit,
                                marker=marker)
            response = await asyncio.wait_for(client.request(request), self._timeout)
            if not response.is_successful():
                log.warning("live: account_tx error %s", response.result.get("error"))
                return
            result = response.result
            for entry in result.get("transactions") or []:
                try:
                    self._ingest(entry)
                except Exception as exc:  # noqa: BLE001 - one bad entry must not block the rest
                    log.error("live: could not read transaction %s: %s",
                              entry.get("hash") if isinstance(entry, dict) else "?",
                              type(exc).__name__)
            if isinstance(result.get("ledger_index_max"), int):
                highest = result["ledger_index_max"]
            marker = result.get("marker")
            if not marker:
                break
        if highest is not None and not marker:
            # Re-read the last ledger next time: cheap, and dedupe makes it harmless.
            self._scan_from = max(self._scan_from, highest)

    def _ingest(self, message: object) -> int:
        view = normalize_tx(message)
        if view is None or view.tx_hash in self._seen_txs:
            return 0
        try:
            return self._ingest_view(view)
        finally:
            # Marked even if reading failed, so a bad transaction is reported once and
            # not on every poll; fills already read are keyed and cannot repeat.
            self._seen_txs[view.tx_hash] = True

    def _ingest_view(self, view: _TxView) -> int:
        ts = float(ripple_time_to_posix(view.date)) if view.date is not None else self._clock()
        before = len(self._fills)
        ours = view.tx.get("Account") == self._address
        success = view.meta.get("TransactionResult") == "tesSUCCESS"
        if ours and success and view.tx.get("TransactionType") == "OfferCreate":
            self._immediate_fill(view, ts)
        changes = get_order_book_changes(cast(TransactionMetadata, view.meta))
        for group in changes:
            if group.get("maker_account") != self._address:
                continue
            for change in group.get("offer_changes", []):
                self._offer_change(view, dict(change), ours, ts)
        return len(self._fills) - before

    def _offer_change(self, view: _TxView, change: dict[str, Any], ours: bool,
                      ts: float) -> None:
        sequence = change.get("sequence")
        order = self._known.get(sequence)
        if order is None:
            return  # not an offer of this session
        status = change.get("status")
        if status in FILL_STATUSES:
            amounts = change_fill(change, XRP_SPEC)
            if amounts is None:
                log.warning("live: offer %s changed without an XRP leg; ignored", sequence)
                return
            self._record_fill(order, amounts[0], f"{view.tx_hash}:{sequence}", ts,
                              view.ledger_index, final=(status == "filled"))
        elif status == "cancelled" and not ours:
            # Removed by someone else's transaction: it expired or became unfunded.
            live = self._orders.get(order.side)
            if live is not None and live.order_id == order.order_id:
                del self._orders[order.side]
                self._expiry.pop(order.order_id, None)
                self._updates.append(OrderUpdate("expired", live, ts,
                                                 detail="removed by the ledger"))

    def _immediate_fill(self, view: _TxView, ts: float) -> None:
        """Our own OfferCreate that crossed at once: the XRP asked for minus the XRP of
        the offer it left on the book (none left: fully filled)."""
        sequence = view.tx.get("Sequence")
        order = self._known.get(sequence)
        if order is None:
            return
        leg = "TakerGets" if order.side == "SELL" else "TakerPays"
        requested = view.tx.get(leg)
        if not isinstance(requested, str):
            return
        remaining = "0"
        for node in view.meta.get("AffectedNodes", []):
            created = node.get("CreatedNode") if isinstance(node, dict) else None
            fields = created.get("NewFields", {}) if isinstance(created, dict) else {}
            if (isinstance(created, dict) and created.get("LedgerEntryType") == "Offer"
                    and fields.get("Account") == self._address
                    and fields.get("Sequence") == sequence):
                remaining = fields.get(leg, "0")
        try:
            filled = (Decimal(requested) - Decimal(remaining)) / Decimal(1_000_000)
        except (InvalidOperation, TypeError):
            return
        if filled > 0:
            self._record_fill(order, filled, f"{view.tx_hash}:{sequence}", ts, view.ledger_index,
                              final=(Decimal(remaining) <= 0))

    def _record_fill(self, order: LiveOrder, filled: Decimal, fill_key: str, ts: float,
                     ledger_index: int, *, final: bool) -> None:
        if filled <= 0 or fill_key in self._seen_fills:
            return
        self._seen_fills[fill_key] = True
        assert order.sequence is not None
        current = self._known.get(order.sequence, order)
        self._fills.append(Fill(fill_key=fill_key, order_id=order.order_id, side=order.side,
                                price=order.price, size=float(filled), fee_rlusd=0.0, ts=ts,
                                ledger_index=ledger_index))
        remaining = max(Decimal(repr(current.size)) - filled, Decimal(0))
        done = final or remaining < ONE_DROP_XRP
        updated = dataclasses.replace(current, size=0.0 if done else float(remaining))
        self._known[order.sequence] = updated
        live = self._orders.get(order.side)
        if live is not None and live.order_id == order.order_id:
            if done:
                del self._orders[order.side]
                self._expiry.pop(order.order_id, None)
            else:
                self._orders[order.side] = updated
        self._updates.append(OrderUpdate("filled" if done else "partial", updated, ts,
                                         detail=fill_key))
        log.info("live fill %s %s %s @ %s (%s)", order.side, order.order_id, filled,
                 order.price, fill_key)

    def _expire(self, now: float) -> None:
        """Offers past their Expiration are gone from the ledger: stop counting on them."""
        ripple_now = posix_to_ripple_time(int(now))
        for side, order in list(self._orders.items()):
            expiration = self._expiry.get(order.order_id)
            if expiration is not None and expiration <= ripple_now:
                del self._orders[side]
                self._expiry.pop(order.order_id, None)
                self._updates.append(OrderUpdate("expired", order, now,
                                                 detail="Expiration passed"))
