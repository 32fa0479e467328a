"""FakeRippled: a loopback WebSocket server that talks like rippled, for tests.

Why: the market and execution layers must be exercised with the real xrpl-py client
(its request ids, its response parsing, autofill, signing) without a network. Every
answer is built from the real-format messages in ../shared/fixtures/rippled/ (loaded at
start, values replaced), so the field names and shapes are rippled's, not ours.

What it models (deliberately small):

- one XRP/RLUSD order book synthesised around a mid price (`set_mid`), with a level
  holding two offers (one partially funded: owner_funds / taker_gets_funded /
  taker_pays_funded) and a level holding an unfunded offer, plus the offers that
  accounts placed through `submit`;
- one XRP/RLUSD AMM pool (`set_amm`, `remove_amm`);
- ledgers closed on a timer (`ledger_interval`) or by hand (`close_ledger`);
- `submit` of signed OfferCreate / OfferCancel blobs: decoded with
  xrpl.core.binarycodec, signature checked, sequence checked, applied to the open
  ledger with rippled-shaped metadata (CreatedNode / DeletedNode Offer), validated at
  the next close; `tx` and `account_tx` return them in the API v2 shape and
  account subscribers get `transaction` stream messages;
- fills of resting offers injected with `fill_offer` (a taker transaction whose
  metadata modifies or deletes the offer, as rippled writes it);
- faults: `drop_connections`, `stall`, `send_malformed`, `reject_next`,
  `set_accepting(False)`, a book served in another currency / issuer, a crossed book,
  zero AMM reserves, garbage offers.

It does not cross offers against each other, and every account exists (with
`default_sequence` and 1,000 XRP) the first time it is looked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import time
from dataclasses import dataclass
from decimal import Decimal, localcontext
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from xrpl.core.binarycodec import decode, encode_for_signing
from xrpl.core.keypairs import is_valid_message
from xrpl.models.transactions.transaction import Transaction
from xrpl.utils import posix_to_ripple_time, ripple_time_to_datetime

# <project root>/../shared/fixtures/rippled, as in CI (never copied into the repo).
FIXTURES_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "rippled"

RLUSD_CURRENCY = "524C555344000000000000000000000000000000"
RLUSD_ISSUER = "rMxCKbEDwqr76QuheSUMdEGf4B9xJ8m5De"
# Real addresses taken from the fixtures: makers of the synthetic book and the taker of
# injected fills.
MAKER_ACCOUNTS = (
    "rM3X3QSr8icjTGpaF52dozhbT2BZSXJQYM",
    "rhsxKNyN99q6vyYCTHNTC1TqWCeHr7PNgp",
    "rnixnrMHHvR7ejMpJMRCWkaNrq3qREwMDu",
    "rKwjWCKBaASEvtHCxtvReNd2i9n8DxSihk",
)
TAKER_ACCOUNT = "rogue5HnPRSszD9CWGSUz8UGHMVwSSKF6"

LSF_PASSIVE = 0x00010000
LSF_SELL = 0x00020000
TF_PASSIVE = 0x00010000
TF_SELL = 0x00080000
DROPS = Decimal(1_000_000)

MalformedKind = Literal[
    "text", "missing_fields", "unknown_type", "array", "number", "bad_ledger_index",
    "orphan_response",
]
BookMode = Literal["normal", "crossed", "garbage"]

# (engine_result_code, engine_result_message) for the results the fake produces.
ENGINE_RESULTS: dict[str, tuple[int, str]] = {
    "tesSUCCESS": (0, "The transaction was applied. Only final in a validated ledger."),
    "tecUNFUNDED_OFFER": (103, "Insufficient balance to fund created offer."),
    "tecEXPIRED": (148, "Expiration time is passed."),
    "tecKILLED": (150, "No funds transferred and no offer created."),
    "tefPAST_SEQ": (-190, "This sequence number has already passed."),
    "tefMAX_LEDGER": (-186, "Ledger sequence too high."),
    "terPRE_SEQ": (-92, "Missing/inapplicable prior transaction."),
    "terQUEUED": (-89, "Held until escalated fee drops."),
    "telINSUF_FEE_P": (-394, "Fee insufficient."),
    "temBAD_OFFER": (-298, "Malformed: Bad offer."),
}
# rippled's RPC error tokens used here: token -> (error_code, error_message).
RPC_ERRORS: dict[str, tuple[int, str]] = {
    "actNotFound": (19, "Account not found."),
    "lgrNotFound": (21, "ledgerNotFound"),
    "txnNotFound": (29, "Transaction not found."),
    "invalidParams": (31, "Invalid parameters."),
    "unknownCmd": (32, "Unknown method."),
    "missingCommand": (47, "Missing command entry."),
    "malformedStream": (71, "Stream malformed."),
}


def load_fixture(name: str) -> dict[str, Any]:
    """One fixture file as a fresh dict (callers may mutate it)."""
    with (FIXTURES_DIR / name).open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def ripple_now() -> int:
    """Ripple-epoch seconds now (what ledger close times and Expiration use)."""
    return posix_to_ripple_time(int(time.time()))


def _iou(value: Decimal) -> str:
    """An IOU value string as rippled writes it: at most 15 significant digits."""
    with localcontext() as ctx:
        ctx.prec = 15
        v = +value
    if v == 0:
        return "0"
    return format(v.normalize(), "f")


def _drops(xrp: Decimal) -> str:
    return str(int((xrp * DROPS).to_integral_value()))


def _raw(amount: Any) -> Decimal:
    """Raw numeric value: drops for XRP, the value for an IOU."""
    return Decimal(amount) if isinstance(amount, str) else Decimal(amount["value"])


def _units(amount: Any) -> Decimal:
    """Whole units: XRP (drops / 1e6) or the IOU value."""
    return Decimal(amount) / DROPS if isinstance(amount, str) else Decimal(amount["value"])


def _scale(amount: Any, factor: Decimal) -> Any:
    if isinstance(amount, str):
        return str(int((Decimal(amount) * factor).to_integral_value()))
    return {**amount, "value": _iou(Decimal(amount["value"]) * factor)}


def _sub(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        return str(int(a) - int(b))
    return {**a, "value": _iou(Decimal(a["value"]) - Decimal(b["value"]))}


def _zero_like(amount: Any) -> Any:
    return "0" if isinstance(amount, str) else {**amount, "value": "0"}


def _hex_id(*parts: object) -> str:
    """A deterministic 256-bit id (ledger hashes, object indexes, fake tx hashes)."""
    return hashlib.sha512(":".join(map(str, parts)).encode()).hexdigest()[:64].upper()


def _quality(gets: Any, pays: Any) -> str:
    with localcontext() as ctx:
        ctx.prec = 16
        q = _raw(pays) / _raw(gets)
    return format(q.normalize(), "f") if q.adjusted() > -7 else str(q.normalize())


def _is_xrp(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("currency") == "XRP" and "issuer" not in spec


@dataclass
class _Offer:
    account: str
    sequence: int
    taker_gets: Any  # drops string or IOU dict
    taker_pays: Any
    flags: int = 0
    expiration: int | None = None
    funded: Decimal | None = None  # fraction funded; None = fully funded
    previous_txn_id: str = ""
    previous_txn_lgr_seq: int = 0

    @property
    def index(self) -> str:
        return _hex_id("offer", self.account, self.sequence)

    @property
    def book_directory(self) -> str:
        return _hex_id("dir", "XRP" if isinstance(self.taker_gets, str) else "IOU")

    @property
    def sells_xrp(self) -> bool:
        return isinstance(self.taker_gets, str)

    def price(self) -> Decimal:
        """RLUSD per XRP."""
        xrp = _units(self.taker_gets if self.sells_xrp else self.taker_pays)
        iou = _units(self.taker_pays if self.sells_xrp else self.taker_gets)
        return iou / xrp

    def ledger_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Account": self.account,
            "BookDirectory": self.book_directory,
            "BookNode": "0",
            "Flags": self.flags,
            "OwnerNode": "0",
            "Sequence": self.sequence,
            "TakerGets": self.taker_gets,
            "TakerPays": self.taker_pays,
        }
        if self.expiration is not None:
            fields["Expiration"] = self.expiration
        return fields


@dataclass
class _Account:
    sequence: int
    balance: int  # drops


@dataclass
class _StoredTx:
    tx_json: dict[str, Any]
    hash: str
    meta: dict[str, Any]
    ledger_index: int
    index_in_ledger: int
    validated: bool = False
    close_time: int | None = None
    ledger_hash: str = ""


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    streams: set[str]
    accounts: set[str]


class FakeRippled:
    """A rippled look-alike on 127.0.0.1 with an ephemeral port.

    Usage: ``async with FakeRippled(ledger_interval=0.1) as srv: srv.url``.
    ledger_interval=None closes ledgers only when a test calls ``await close_ledger()``.
    """

    def __init__(
        self,
        *,
        mid: float = 2.2,
        amm: tuple[float, float] | None = (1_000_000.0, 2_200_000.0),
        trading_fee: int = 500,
        ledger_interval: float | None = 0.2,
        start_ledger: int = 95_000_000,
        levels: int = 5,
        level_size_xrp: float = 100.0,
        half_spread_bps: float = 5.0,
        step_bps: float = 4.0,
        book_mode: BookMode = "normal",
        serve_currency: str = RLUSD_CURRENCY,
        serve_issuer: str = RLUSD_ISSUER,
        default_sequence: int = 1000,
        network_id: int = 0,
    ) -> None:
        self.mid = Decimal(str(mid))
        self.amm: tuple[Decimal, Decimal] | None = None
        self.trading_fee = trading_fee
        if amm is not None:
            self.set_amm(*amm)
        self.ledger_interval = ledger_interval
        self.start_ledger = start_ledger
        self.validated_index = start_ledger
        self.levels = levels
        self.level_size = Decimal(str(level_size_xrp))
        self.half_spread_bps = Decimal(str(half_spread_bps))
        self.step_bps = Decimal(str(step_bps))
        self.book_mode: BookMode = book_mode
        self.serve_currency = serve_currency
        self.serve_issuer = serve_issuer
        self.default_sequence = default_sequence
        self.network_id = network_id
        self.accepting = True
        # What the server saw, for assertions: parsed requests and raw frames.
        self.requests: list[dict[str, Any]] = []
        self.raw_received: list[str] = []
        self.submitted: list[dict[str, Any]] = []  # decoded tx_json of every submit
        self.connections_total = 0

        self._fx = {
            name: load_fixture(name)
            for name in (
                "subscribe_ledger_response.json",
                "ledger_stream.json",
                "book_offers_response.json",
                "amm_info_response.json",
                "server_info_response.json",
                "fee_response.json",
                "account_info_response.json",
                "account_offers_response.json",
                "ledger_response.json",
                "submit_response.json",
                "tx_response.json",
                "tx_not_found_error.json",
                "tx_stream_payment.json",
                "offercreate_tx.json",
            )
        }
        self._accounts: dict[str, _Account] = {}
        self._offers: dict[tuple[str, int], _Offer] = {}
        self._txs: dict[str, _StoredTx] = {}
        self._tx_order: list[str] = []
        self._pending: list[str] = []
        self._inject: list[str] = []
        self._cross: list[Decimal] = []
        self._conns: set[_Conn] = set()
        self._stall_until = 0.0
        self._taker_seq = 5_000
        self._fills = 0
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.url = ""

    # ---- lifecycle ------------------------------------------------------------

    async def __aenter__(self) -> FakeRippled:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._process_request
        )
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        if self.ledger_interval:
            self._ticker = asyncio.create_task(self._tick_loop(self.ledger_interval))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # ---- knobs ----------------------------------------------------------------

    @property
    def current_index(self) -> int:
        """The open ledger (what rippled calls ledger_current_index)."""
        return self.validated_index + 1

    def set_mid(self, price: float) -> None:
        """Move the synthetic book (effective for every later book_offers answer)."""
        self.mid = Decimal(str(price))

    def set_amm(self, xrp: float, rlusd: float, trading_fee: int | None = None) -> None:
        """Set the pool reserves (0, 0 serves a pool with zero reserves)."""
        self.amm = (Decimal(str(xrp)), Decimal(str(rlusd)))
        if trading_fee is not None:
            self.trading_fee = trading_fee

    def remove_amm(self) -> None:
        """amm_info answers actNotFound from now on, as rippled does with no pool."""
        self.amm = None

    def serve_asset(self, currency: str, issuer: str) -> None:
        """Answer book_offers / amm_info with this IOU whatever was asked (a bad node)."""
        self.serve_currency = currency
        self.serve_issuer = issuer

    def set_accepting(self, accepting: bool) -> None:
        """False: refuse new WebSocket handshakes with HTTP 503 (a node that is down)."""
        self.accepting = accepting

    def reject_next(self, engine_result: str) -> None:
        """The next submit gets this engine_result (tec* claims the fee and sequence)."""
        self._inject.append(engine_result)

    def cross_next(self, fraction: float) -> None:
        """The next OfferCreate crosses `fraction` of itself at once: the Offer it leaves
        (CreatedNode) is that much smaller, or absent for 1.0. Only our offer's nodes
        are written (the crossed makers are not modelled)."""
        self._cross.append(Decimal(str(fraction)))

    def stall(self, seconds: float) -> None:
        """Stop answering and stop closing ledgers for `seconds` (answers come late)."""
        self._stall_until = asyncio.get_running_loop().time() + seconds

    def drop_connections(self) -> int:
        """Abort every client connection (no close handshake, like a network drop)."""
        n = 0
        for conn in list(self._conns):
            conn.ws.transport.abort()
            n += 1
        return n

    async def send_malformed(self, kind: MalformedKind) -> None:
        """Push one bad frame to every connected client."""
        payloads: dict[str, str] = {
            "text": "this is not JSON {",
            "missing_fields": json.dumps({"type": "ledgerClosed"}),
            "unknown_type": json.dumps({"type": "somethingNew", "value": 1}),
            "array": json.dumps([1, 2, 3]),
            "number": "42",
            "bad_ledger_index": json.dumps(
                {**self._fx["ledger_stream.json"], "ledger_index": "not-a-number"}
            ),
            "orphan_response": json.dumps(
                {"id": "nobody_asked", "status": "success", "type": "response", "result": {}}
            ),
        }
        await self._broadcast_raw(payloads[kind], lambda c: True)

    def offers_of(self, account: str) -> list[_Offer]:
        return [o for (acct, _), o in sorted(self._offers.items()) if acct == account]

    def account_sequence(self, account: str) -> int:
        return self._account(account).sequence

    def stored_tx(self, tx_hash: str) -> dict[str, Any] | None:
        """The API v2 `tx` result for a stored transaction (None if unknown)."""
        st = self._txs.get(tx_hash.upper())
        return None if st is None else self._tx_result(st)

    # ---- ledger ---------------------------------------------------------------

    async def _tick_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if not self._stalled():
                await self.close_ledger()

    async def close_ledger(self) -> int:
        """Validate the open ledger: pending txs become final; streams are published."""
        self.validated_index += 1
        now = ripple_now()
        ledger_hash = _hex_id("ledger", self.validated_index)
        closed = [self._txs[h] for h in self._pending]
        self._pending = []
        for st in closed:
            st.validated = True
            st.ledger_index = self.validated_index
            st.close_time = now
            st.ledger_hash = ledger_hash
        msg = dict(self._fx["ledger_stream.json"])
        msg.update(
            ledger_index=self.validated_index,
            ledger_hash=ledger_hash,
            ledger_time=now,
            txn_count=len(closed),
            network_id=self.network_id,
            validated_ledgers=f"{self.start_ledger}-{self.validated_index}",
        )
        await self._broadcast(msg, lambda c: "ledger" in c.streams)
        for st in closed:
            await self._publish_tx(st)
        return self.validated_index

    async def _publish_tx(self, st: _StoredTx) -> None:
        affected = self._affected_accounts(st)
        await self._broadcast(self._tx_stream(st), lambda c: bool(c.accounts & affected))

    async def replay_transaction(self, tx_hash: str) -> None:
        """Publish a validated transaction again (a duplicate delivery after a resubscribe)."""
        await self._publish_tx(self._txs[tx_hash.upper()])

    def _stalled(self) -> bool:
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            return False
        return now < self._stall_until

    # ---- fills ----------------------------------------------------------------

    def _find_offer(self, sequence: int, account: str | None) -> tuple[str, int]:
        key = next(
            (k for k in sorted(self._offers) if k[1] == sequence and account in (None, k[0])),
            None,
        )
        if key is None:
            raise KeyError(f"no resting offer with sequence {sequence}")
        return key

    def _taker_tx(self, tx_hash: str, gets: Any, pays: Any,
                  offer_node: dict[str, Any]) -> None:
        """A taker's OfferCreate in the open ledger touching one resting offer."""
        taker = self._account(TAKER_ACCOUNT)
        taker_seq = taker.sequence
        taker.sequence += 1
        taker.balance -= 12
        tx_json = dict(self._fx["offercreate_tx.json"])
        tx_json.update(
            Account=TAKER_ACCOUNT,
            Fee="12",
            Flags=0x00020000,  # tfImmediateOrCancel
            LastLedgerSequence=self.current_index + 20,
            Sequence=taker_seq,
            TakerGets=gets,
            TakerPays=pays,
            SigningPubKey="",
        )
        nodes = [offer_node, self._account_root_node(TAKER_ACCOUNT, taker_seq, 12)]
        self._store(tx_json, tx_hash, nodes, "tesSUCCESS")

    def fill_offer(self, sequence: int, fraction: float, account: str | None = None) -> str:
        """Consume `fraction` (of what remains) of a resting offer with a taker's
        transaction in the open ledger; 1.0 consumes it. Returns the tx hash. The
        metadata is rippled's: ModifiedNode (or DeletedNode) Offer with PreviousFields."""
        key = self._find_offer(sequence, account)
        offer = self._offers[key]
        f = min(Decimal(str(fraction)), Decimal(1))
        old_gets, old_pays = offer.taker_gets, offer.taker_pays
        if f >= 1:
            new_gets, new_pays = _zero_like(old_gets), _zero_like(old_pays)
        else:
            new_gets, new_pays = _scale(old_gets, 1 - f), _scale(old_pays, 1 - f)
        consumed = _raw(new_gets) <= 0 or _raw(new_pays) <= 0
        if consumed:
            new_gets, new_pays = _zero_like(old_gets), _zero_like(old_pays)
        self._fills += 1
        tx_hash = _hex_id("fill", self._fills, offer.account, sequence)
        final = {**offer.ledger_fields(), "TakerGets": new_gets, "TakerPays": new_pays}
        final["PreviousTxnID"] = offer.previous_txn_id
        final["PreviousTxnLgrSeq"] = offer.previous_txn_lgr_seq
        node_body = {
            "FinalFields": final,
            "LedgerEntryType": "Offer",
            "LedgerIndex": offer.index,
            "PreviousFields": {"TakerGets": old_gets, "TakerPays": old_pays},
        }
        if consumed:
            offer_node = {"DeletedNode": node_body}
            del self._offers[key]
        else:
            offer_node = {"ModifiedNode": node_body}
            offer.taker_gets, offer.taker_pays = new_gets, new_pays
            offer.previous_txn_id, offer.previous_txn_lgr_seq = tx_hash, self.current_index
        self._taker_tx(tx_hash, _sub(old_pays, new_pays), _sub(old_gets, new_gets), offer_node)
        return tx_hash

    def remove_offer(self, sequence: int, account: str | None = None) -> str:
        """A taker's transaction that finds the offer expired (or unfunded) and deletes
        it: DeletedNode without PreviousFields, as rippled writes it. Returns the hash."""
        key = self._find_offer(sequence, account)
        offer = self._offers.pop(key)
        self._fills += 1
        tx_hash = _hex_id("remove", self._fills, offer.account, sequence)
        self._taker_tx(tx_hash, offer.taker_pays, offer.taker_gets, self._delete_offer_node(offer))
        return tx_hash

    # ---- connection handling --------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self.accepting:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "node unavailable\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        conn = _Conn(ws=ws, streams=set(), accounts=set())
        self._conns.add(conn)
        self.connections_total += 1
        try:
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                self.raw_received.append(text)
                while self._stalled():
                    await asyncio.sleep(0.02)
                reply = self._dispatch(conn, text)
                if reply is not None:
                    await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)

    async def _broadcast(self, msg: dict[str, Any], want: Any) -> None:
        await self._broadcast_raw(json.dumps(msg), want)

    async def _broadcast_raw(self, text: str, want: Any) -> None:
        for conn in list(self._conns):
            if want(conn):
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(text)

    # ---- envelopes ------------------------------------------------------------

    @staticmethod
    def _ok(req: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "id" in req:
            out["id"] = req["id"]
        out.update(status="success", type="response", result=result, api_version=2)
        return out

    @staticmethod
    def _error(req: dict[str, Any], token: str, **extra: Any) -> dict[str, Any]:
        code, message = RPC_ERRORS.get(token, (-1, token))
        out: dict[str, Any] = {}
        if "id" in req:
            out["id"] = req["id"]
        out.update(
            status="error",
            type="response",
            error=token,
            error_code=code,
            error_message=message,
            request=req,
            api_version=2,
        )
        out.update(extra)
        return out

    def _dispatch(self, conn: _Conn, text: str) -> dict[str, Any] | None:
        try:
            req = json.loads(text)
        except json.JSONDecodeError:
            return {"error": "jsonInvalid", "status": "error", "type": "response", "value": text}
        if not isinstance(req, dict):
            return {"error": "jsonInvalid", "status": "error", "type": "response", "value": text}
        self.requests.append(req)
        command = req.get("command")
        if not isinstance(command, str):
            return self._error(req, "missingCommand")
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            return self._error(req, "unknownCmd")
        reply: dict[str, Any] = handler(conn, req)
        return reply

    # ---- commands -------------------------------------------------------------

    def _cmd_ping(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        return self._ok(req, {})

    def _cmd_subscribe(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        streams = req.get("streams", [])
        accounts = req.get("accounts", [])
        if not isinstance(streams, list) or not isinstance(accounts, list):
            return self._error(req, "invalidParams")
        for s in streams:
            if s not in ("ledger", "transactions", "validations", "server", "book_changes"):
                return self._error(req, "malformedStream")
        conn.streams.update(streams)
        conn.accounts.update(a for a in accounts if isinstance(a, str))
        if "ledger" not in streams:
            return self._ok(req, {})
        result = dict(self._fx["subscribe_ledger_response.json"]["result"])
        result.update(
            ledger_index=self.validated_index,
            ledger_hash=_hex_id("ledger", self.validated_index),
            ledger_time=ripple_now(),
            network_id=self.network_id,
            validated_ledgers=f"{self.start_ledger}-{self.validated_index}",
        )
        return self._ok(req, result)

    def _cmd_unsubscribe(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        conn.streams.difference_update(req.get("streams", []) or [])
        conn.accounts.difference_update(req.get("accounts", []) or [])
        return self._ok(req, {})

    def _ledger_fields(self, req: dict[str, Any]) -> dict[str, Any] | None:
        """ledger_current_index for the open ledger, ledger_index for a closed one."""
        which = req.get("ledger_index", "current")
        if which in (None, "current"):
            return {"ledger_current_index": self.current_index, "validated": False}
        if which in ("validated", "closed"):
            return {
                "ledger_index": self.validated_index,
                "ledger_hash": _hex_id("ledger", self.validated_index),
                "validated": True,
            }
        if isinstance(which, int) and self.start_ledger <= which <= self.validated_index:
            return {"ledger_index": which, "ledger_hash": _hex_id("ledger", which),
                    "validated": True}
        return None

    def _cmd_server_info(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        result = copy.deepcopy(self._fx["server_info_response.json"]["result"])
        info = result["info"]
        info["complete_ledgers"] = f"{self.start_ledger}-{self.validated_index}"
        info["network_id"] = self.network_id
        info["validated_ledger"]["seq"] = self.validated_index
        info["validated_ledger"]["hash"] = _hex_id("ledger", self.validated_index)
        info["time"] = time.strftime("%Y-%b-%d %H:%M:%S.000000 UTC", time.gmtime())
        return self._ok(req, result)

    def _cmd_fee(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        result = copy.deepcopy(self._fx["fee_response.json"]["result"])
        result["ledger_current_index"] = self.current_index
        return self._ok(req, result)

    def _cmd_ledger(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        which = req.get("ledger_index", "current")
        if which == "current":
            return self._ok(req, {
                "ledger": {
                    "closed": False,
                    "ledger_index": str(self.current_index),
                    "parent_hash": _hex_id("ledger", self.validated_index),
                },
                "ledger_current_index": self.current_index,
                "validated": False,
            })
        fields = self._ledger_fields(req)
        if fields is None:
            return self._error(req, "lgrNotFound")
        result = copy.deepcopy(self._fx["ledger_response.json"]["result"])
        index = fields["ledger_index"]
        ledger_hash = _hex_id("ledger", index)
        close = ripple_now()
        result.update(ledger_hash=ledger_hash, ledger_index=index, validated=True)
        result["ledger"].update(
            ledger_hash=ledger_hash,
            ledger_index=index,
            parent_hash=_hex_id("ledger", index - 1),
            close_time=close,
            parent_close_time=close - 4,
            close_time_iso=ripple_time_to_datetime(close).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return self._ok(req, result)

    def _account(self, address: str) -> _Account:
        if address not in self._accounts:
            self._accounts[address] = _Account(self.default_sequence, 1_000_000_000)
        return self._accounts[address]

    def _cmd_account_info(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        address = req.get("account")
        if not isinstance(address, str) or not address.startswith("r"):
            return self._error(req, "invalidParams")
        fields = self._ledger_fields(req)
        if fields is None:
            return self._error(req, "lgrNotFound")
        acct = self._account(address)
        result = copy.deepcopy(self._fx["account_info_response.json"]["result"])
        result.pop("status", None)
        result.pop("ledger_hash", None)
        result.pop("ledger_index", None)
        data = result["account_data"]
        data.pop("RegularKey", None)
        data.update(
            Account=address,
            Balance=str(acct.balance),
            Flags=0,
            OwnerCount=len(self.offers_of(address)),
            Sequence=acct.sequence,
            index=_hex_id("account", address),
        )
        result.update(fields)
        return self._ok(req, result)

    def _cmd_account_offers(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        address = req.get("account")
        if not isinstance(address, str):
            return self._error(req, "invalidParams")
        result = copy.deepcopy(self._fx["account_offers_response.json"]["result"])
        result.pop("status", None)
        result.update(account=address, ledger_current_index=self.current_index, validated=False)
        offers = []
        for o in self.offers_of(address):
            item: dict[str, Any] = {
                "flags": o.flags,
                "quality": _quality(o.taker_gets, o.taker_pays),
                "seq": o.sequence,
                "taker_gets": o.taker_gets,
                "taker_pays": o.taker_pays,
            }
            if o.expiration is not None:
                item["expiration"] = o.expiration
            offers.append(item)
        result["offers"] = offers
        return self._ok(req, result)

    # -- book -------------------------------------------------------------------

    def _iou_amount(self, value: Decimal) -> dict[str, str]:
        return {"currency": self.serve_currency, "issuer": self.serve_issuer, "value": _iou(value)}

    def synthetic_offers(self, side: Literal["asks", "bids"]) -> list[_Offer]:
        """The book the fake serves around `mid` (not counting accounts' own offers)."""
        out: list[_Offer] = []
        bps = Decimal(10_000)
        for i in range(self.levels):
            offset = self.half_spread_bps + self.step_bps * i
            if side == "asks":
                if self.book_mode == "crossed":
                    offset -= 3 * self.half_spread_bps
                price = self.mid * (1 + offset / bps)
            else:
                price = self.mid * (1 - offset / bps)
            size = self.level_size * (i + 1)
            # (size fraction, funded fraction) of the offers at this level
            parts: list[tuple[Decimal, Decimal | None]] = [(Decimal(1), None)]
            if i == 1:
                parts = [(Decimal("0.6"), None), (Decimal("0.4"), Decimal("0.5"))]
            elif i == 2:
                parts = [(Decimal(1), None), (Decimal("0.5"), Decimal(0))]
            for j, (share, funded) in enumerate(parts):
                xrp = size * share
                iou = self._iou_amount(xrp * price)
                drops = _drops(xrp)
                gets, pays = (drops, iou) if side == "asks" else (iou, drops)
                out.append(_Offer(
                    account=MAKER_ACCOUNTS[(i + j) % len(MAKER_ACCOUNTS)],
                    sequence=1_000 * (i + 1) + j + (0 if side == "asks" else 500),
                    taker_gets=gets,
                    taker_pays=pays,
                    flags=LSF_SELL if side == "asks" else 0,
                    funded=funded,
                    previous_txn_id=_hex_id("prev", side, i, j),
                    previous_txn_lgr_seq=self.start_ledger,
                ))
        return out

    def expected_levels(self, side: Literal["asks", "bids"]) -> list[tuple[float, float]]:
        """(price RLUSD/XRP, funded size XRP) per level, best first, as a correct
        parser should read the synthetic book (for assertions)."""
        agg: dict[Decimal, Decimal] = {}
        for o in self.synthetic_offers(side):
            f = Decimal(1) if o.funded is None else o.funded
            if f <= 0:
                continue
            xrp = _units(o.taker_gets if o.sells_xrp else o.taker_pays) * f
            with localcontext() as ctx:
                ctx.prec = 15
                key = +o.price()
            agg[key] = agg.get(key, Decimal(0)) + xrp
        keys = sorted(agg, reverse=(side == "bids"))
        return [(float(k), float(agg[k])) for k in keys]

    def _book_offer_json(self, o: _Offer) -> dict[str, Any]:
        tpl = self._fx["book_offers_response.json"]["result"]["offers"][0]
        d = dict(tpl)
        d.update(
            Account=o.account,
            BookDirectory=o.book_directory,
            BookNode="0000000000000000",
            Flags=o.flags,
            OwnerNode="0000000000000000",
            PreviousTxnID=o.previous_txn_id or _hex_id("prev", o.account, o.sequence),
            PreviousTxnLgrSeq=o.previous_txn_lgr_seq or self.start_ledger,
            Sequence=o.sequence,
            TakerGets=o.taker_gets,
            TakerPays=o.taker_pays,
            index=o.index,
            quality=_quality(o.taker_gets, o.taker_pays),
        )
        if o.expiration is not None:
            d["Expiration"] = o.expiration
        if o.funded is not None:
            funded_gets = _scale(o.taker_gets, o.funded)
            d["owner_funds"] = funded_gets if isinstance(funded_gets, str) else funded_gets[
                "value"]
            d["taker_gets_funded"] = funded_gets
            d["taker_pays_funded"] = _scale(o.taker_pays, o.funded)
        return d

    def _garbage_offers(self, side: Literal["asks", "bids"]) -> list[dict[str, Any]]:
        tpl = self._book_offer_json(self.synthetic_offers(side)[0])
        xrp_field, iou_field = ("TakerGets", "TakerPays") if side == "asks" else (
            "TakerPays", "TakerGets")
        non_numeric = {**tpl, xrp_field: "12abc", "index": _hex_id("garbage", side, 1)}
        negative = {**tpl, iou_field: {**tpl[iou_field], "value": "-5"},
                    "index": _hex_id("garbage", side, 2)}
        missing = {k: v for k, v in tpl.items() if k != iou_field}
        missing["index"] = _hex_id("garbage", side, 3)
        return [non_numeric, negative, missing]

    def _cmd_book_offers(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        gets, pays = req.get("taker_gets"), req.get("taker_pays")
        if not isinstance(gets, dict) or not isinstance(pays, dict):
            return self._error(req, "invalidParams")
        fields = self._ledger_fields(req)
        if fields is None:
            return self._error(req, "lgrNotFound")
        side: Literal["asks", "bids"] | None = None
        iou = pays if _is_xrp(gets) else gets if _is_xrp(pays) else None
        if iou is not None and iou.get("currency") == RLUSD_CURRENCY and iou.get(
                "issuer") == RLUSD_ISSUER:
            side = "asks" if _is_xrp(gets) else "bids"
        offers: list[dict[str, Any]] = []
        if side is not None:
            now = ripple_now()
            mine = [
                o for o in self._offers.values()
                if o.sells_xrp == (side == "asks") and (o.expiration is None or o.expiration > now)
            ]
            book = self.synthetic_offers(side) + mine
            book.sort(key=lambda o: o.price(), reverse=(side == "bids"))
            offers = [self._book_offer_json(o) for o in book]
            if self.book_mode == "garbage":
                offers[1:1] = self._garbage_offers(side)
            limit = req.get("limit")
            if isinstance(limit, int) and limit > 0:
                offers = offers[:limit]
        result = {**fields, "offers": offers}
        return self._ok(req, result)

    def _cmd_amm_info(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        asset, asset2 = req.get("asset"), req.get("asset2")
        if not isinstance(asset, dict) or not isinstance(asset2, dict):
            return self._error(req, "invalidParams")
        rlusd = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_ISSUER}
        if _is_xrp(asset) and asset2 == rlusd:
            xrp_first = True
        elif _is_xrp(asset2) and asset == rlusd:
            xrp_first = False
        else:
            return self._error(req, "actNotFound")
        if self.amm is None:
            return self._error(req, "actNotFound")
        xrp, value = self.amm
        result = copy.deepcopy(self._fx["amm_info_response.json"]["result"])
        amm = result["amm"]
        drops, iou = _drops(xrp), self._iou_amount(value)
        amm["amount"], amm["amount2"] = (drops, iou) if xrp_first else (iou, drops)
        amm["trading_fee"] = self.trading_fee
        for slot in amm.get("vote_slots", []):
            slot["trading_fee"] = self.trading_fee
        lp = (Decimal(drops) * value).sqrt() if xrp > 0 and value > 0 else Decimal(0)
        amm["lp_token"]["value"] = _iou(lp)
        result.pop("ledger_current_index", None)
        result.update(self._ledger_fields(req) or {"ledger_current_index": self.current_index})
        return self._ok(req, result)

    # -- transactions -----------------------------------------------------------

    def _account_root_node(self, address: str, old_seq: int, fee: int) -> dict[str, Any]:
        acct = self._account(address)
        return {
            "ModifiedNode": {
                "FinalFields": {
                    "Account": address,
                    "Balance": str(acct.balance),
                    "Flags": 0,
                    "OwnerCount": len(self.offers_of(address)),
                    "Sequence": acct.sequence,
                },
                "LedgerEntryType": "AccountRoot",
                "LedgerIndex": _hex_id("account", address),
                "PreviousFields": {"Balance": str(acct.balance + fee), "Sequence": old_seq},
            }
        }

    def _store(
        self, tx_json: dict[str, Any], tx_hash: str, nodes: list[dict[str, Any]], result: str
    ) -> _StoredTx:
        index_in_ledger = len(self._pending)
        meta = {"AffectedNodes": nodes, "TransactionIndex": index_in_ledger,
                "TransactionResult": result}
        st = _StoredTx(tx_json=tx_json, hash=tx_hash, meta=meta,
                       ledger_index=self.current_index, index_in_ledger=index_in_ledger)
        self._txs[tx_hash] = st
        self._tx_order.append(tx_hash)
        self._pending.append(tx_hash)
        return st

    def _delete_offer_node(self, offer: _Offer) -> dict[str, Any]:
        final = offer.ledger_fields()
        final["PreviousTxnID"] = offer.previous_txn_id
        final["PreviousTxnLgrSeq"] = offer.previous_txn_lgr_seq
        return {"DeletedNode": {"FinalFields": final, "LedgerEntryType": "Offer",
                                "LedgerIndex": offer.index}}

    def _apply(self, tx: dict[str, Any], tx_hash: str) -> str:
        """Apply a decoded, signature-checked transaction to the open ledger."""
        address = tx.get("Account", "")
        acct = self._account(address)
        seq = tx.get("Sequence")
        fee = int(tx.get("Fee", "0"))
        if self._inject:
            injected = self._inject.pop(0)
            if injected.startswith("tec") and seq == acct.sequence:
                acct.sequence += 1
                acct.balance -= fee
                self._store(tx, tx_hash, [self._account_root_node(address, seq, fee)], injected)
            return injected
        if not isinstance(seq, int) or seq < acct.sequence:
            return "tefPAST_SEQ"
        if seq > acct.sequence:
            return "terPRE_SEQ"
        lls = tx.get("LastLedgerSequence")
        if isinstance(lls, int) and lls < self.current_index:
            return "tefMAX_LEDGER"
        if fee < 10:
            return "telINSUF_FEE_P"
        ttype = tx.get("TransactionType")
        result = "tesSUCCESS"
        nodes: list[dict[str, Any]] = []
        if ttype == "OfferCreate":
            gets, pays = tx.get("TakerGets"), tx.get("TakerPays")
            if gets is None or pays is None or _raw(gets) <= 0 or _raw(pays) <= 0:
                return "temBAD_OFFER"
            expiration = tx.get("Expiration")
            old_seq = tx.get("OfferSequence")
            if isinstance(old_seq, int) and (address, old_seq) in self._offers:
                nodes.append(self._delete_offer_node(self._offers.pop((address, old_seq))))
            cross = self._cross.pop(0) if self._cross else Decimal(0)
            if cross > 0:
                left = max(Decimal(0), 1 - cross)
                gets, pays = _scale(gets, left), _scale(pays, left)
            if isinstance(expiration, int) and expiration <= ripple_now():
                result = "tecEXPIRED"
            elif _raw(gets) <= 0 or _raw(pays) <= 0:
                pass  # crossed in full: nothing left to rest on the book
            else:
                flags = int(tx.get("Flags", 0))
                offer = _Offer(
                    account=address,
                    sequence=seq,
                    taker_gets=gets,
                    taker_pays=pays,
                    flags=(LSF_PASSIVE if flags & TF_PASSIVE else 0)
                    | (LSF_SELL if flags & TF_SELL else 0),
                    expiration=expiration if isinstance(expiration, int) else None,
                    previous_txn_id=tx_hash,
                    previous_txn_lgr_seq=self.current_index,
                )
                self._offers[(address, seq)] = offer
                new_fields = {k: v for k, v in offer.ledger_fields().items()
                              if k not in ("BookNode", "OwnerNode") and v != 0}
                nodes.append({"CreatedNode": {"LedgerEntryType": "Offer",
                                              "LedgerIndex": offer.index,
                                              "NewFields": new_fields}})
        elif ttype == "OfferCancel":
            old_seq = tx.get("OfferSequence")
            if isinstance(old_seq, int) and (address, old_seq) in self._offers:
                nodes.append(self._delete_offer_node(self._offers.pop((address, old_seq))))
        acct.sequence += 1
        acct.balance -= fee
        nodes.insert(0, self._account_root_node(address, seq, fee))
        self._store(tx, tx_hash, nodes, result)
        return result

    def _cmd_submit(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        blob = req.get("tx_blob")
        if not isinstance(blob, str):
            # Sign-and-submit (secret in the request) is not offered: never needed.
            return self._error(req, "invalidParams")
        try:
            tx = decode(blob)
        except Exception as exc:  # noqa: BLE001 - any decode failure is a bad blob
            return self._error(req, "invalidTransaction",
                               error_exception=f"Invalid transaction: {type(exc).__name__}")
        signature, pubkey = tx.get("TxnSignature"), tx.get("SigningPubKey")
        unsigned = {k: v for k, v in tx.items() if k != "TxnSignature"}
        try:
            valid = isinstance(signature, str) and isinstance(pubkey, str) and is_valid_message(
                bytes.fromhex(encode_for_signing(unsigned)), bytes.fromhex(signature), pubkey
            )
        except Exception:  # noqa: BLE001 - a malformed key or signature is invalid
            valid = False
        if not valid:
            return self._error(req, "invalidTransaction",
                               error_exception="fails local checks: Invalid signature.")
        tx_hash = Transaction.from_xrpl(tx).get_hash()
        self.submitted.append(tx)
        engine_result = self._apply(tx, tx_hash)
        code, message = ENGINE_RESULTS.get(engine_result, (0, "Injected result."))
        acct = self._account(tx.get("Account", ""))
        result = copy.deepcopy(self._fx["submit_response.json"]["result"])
        applied = engine_result.startswith(("tes", "tec"))
        result.update(
            accepted=applied or engine_result == "terQUEUED",
            applied=applied,
            broadcast=applied,
            kept=applied or engine_result.startswith("ter"),
            queued=engine_result == "terQUEUED",
            account_sequence_available=acct.sequence,
            account_sequence_next=acct.sequence,
            engine_result=engine_result,
            engine_result_code=code,
            engine_result_message=message,
            tx_blob=blob,
            tx_json={**tx, "hash": tx_hash},
            validated_ledger_index=self.validated_index,
        )
        return self._ok(req, result)

    def _close_time_iso(self, st: _StoredTx) -> str:
        assert st.close_time is not None
        return ripple_time_to_datetime(st.close_time).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _tx_result(self, st: _StoredTx) -> dict[str, Any]:
        """API v2 shape (tx_response.json): tx_json + top-level hash, meta, ledger info."""
        tx_json = {**st.tx_json, "ledger_index": st.ledger_index}
        out: dict[str, Any] = {"tx_json": tx_json, "hash": st.hash, "validated": st.validated}
        if st.validated:
            tx_json["date"] = st.close_time
            ctid = f"C{st.ledger_index:07X}{st.index_in_ledger:04X}{self.network_id:04X}"
            tx_json["ctid"] = ctid
            out.update(
                meta=st.meta,
                ledger_index=st.ledger_index,
                ledger_hash=st.ledger_hash,
                close_time_iso=self._close_time_iso(st),
                ctid=ctid,
            )
        return out

    def _tx_stream(self, st: _StoredTx) -> dict[str, Any]:
        """A `transaction` stream message as tx_stream_payment.json (API v2)."""
        msg = dict(self._fx["tx_stream_payment.json"])
        result = st.meta["TransactionResult"]
        code, message = ENGINE_RESULTS.get(result, (0, "Injected result."))
        msg.update(
            close_time_iso=self._close_time_iso(st),
            engine_result=result,
            engine_result_code=code,
            engine_result_message=message,
            hash=st.hash,
            ledger_hash=st.ledger_hash,
            ledger_index=st.ledger_index,
            meta=st.meta,
            tx_json={**st.tx_json, "date": st.close_time},
            status="closed",
            type="transaction",
            validated=True,
        )
        return msg

    def _affected_accounts(self, st: _StoredTx) -> set[str]:
        accounts = {st.tx_json.get("Account", "")}
        for node in st.meta.get("AffectedNodes", []):
            for body in node.values():
                for key in ("FinalFields", "NewFields"):
                    fields = body.get(key) or {}
                    for name in ("Account", "Owner"):
                        if isinstance(fields.get(name), str):
                            accounts.add(fields[name])
        return accounts

    def _cmd_tx(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        tx_hash = req.get("transaction")
        st = self._txs.get(tx_hash.upper()) if isinstance(tx_hash, str) else None
        if st is None:
            tpl = self._fx["tx_not_found_error.json"]
            return self._error(req, "txnNotFound", searched_all=tpl["searched_all"])
        return self._ok(req, self._tx_result(st))

    def _cmd_account_tx(self, conn: _Conn, req: dict[str, Any]) -> dict[str, Any]:
        address = req.get("account")
        if not isinstance(address, str):
            return self._error(req, "invalidParams")
        lo = req.get("ledger_index_min", -1)
        hi = req.get("ledger_index_max", -1)
        lo = self.start_ledger if not isinstance(lo, int) or lo < 0 else lo
        hi = self.validated_index if not isinstance(hi, int) or hi < 0 else hi
        hi = min(hi, self.validated_index)
        forward = bool(req.get("forward", False))
        requested = req.get("limit")
        limit = max(1, min(requested, 400)) if isinstance(requested, int) else 200
        matching = [
            st for st in (self._txs[h] for h in self._tx_order)
            if st.validated and lo <= st.ledger_index <= hi
            and address in self._affected_accounts(st)
        ]
        matching.sort(key=lambda s: (s.ledger_index, s.index_in_ledger), reverse=not forward)
        marker = req.get("marker")
        start = 0
        if isinstance(marker, dict):
            for i, st in enumerate(matching):
                if (st.ledger_index, st.index_in_ledger) == (marker.get("ledger"),
                                                             marker.get("seq")):
                    start = i
                    break
        page = matching[start:start + limit]
        transactions = []
        for st in page:
            full = self._tx_result(st)
            entry = {k: full[k] for k in ("close_time_iso", "hash", "ledger_hash",
                                          "ledger_index", "meta", "tx_json", "validated")}
            transactions.append(entry)
        result: dict[str, Any] = {
            "account": address,
            "ledger_index_min": lo,
            "ledger_index_max": hi,
            "limit": limit,
            "transactions": transactions,
            "validated": True,
        }
        if start + limit < len(matching):
            nxt = matching[start + limit]
            result["marker"] = {"ledger": nxt.ledger_index, "seq": nxt.index_in_ledger}
        return self._ok(req, result)
