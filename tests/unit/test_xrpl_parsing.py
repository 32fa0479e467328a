"""Parsing of real rippled messages: book_offers, amm_info, and fills from metadata.

The fixtures are the xrpl-dev-portal / xrpl-py examples in ../shared/fixtures/rippled
(EUR/USD, XRP/TST, USD/USD books), so the generic parsers are run with those
currencies passed in, and the XRP/RLUSD configuration must reject them.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.execution.live import change_fill, iou_value, normalize_tx, offer_fills
from engine.market.xrpl import (
    XRP_SPEC,
    AmountError,
    CurrencySpec,
    parse_amm,
    parse_amount,
    parse_book_side,
)
from engine.settings import RLUSD_CURRENCY, RLUSD_MAINNET_ISSUER

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "rippled"

GATEHUB = "rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B"
EUR = CurrencySpec("EUR", GATEHUB)
USD = CurrencySpec("USD", GATEHUB)
TST = CurrencySpec("TST", "rP9jPyP5kyvFRb6ZiRghAGw5u8SGAmU4bd")
RLUSD = CurrencySpec(RLUSD_CURRENCY, RLUSD_MAINNET_ISSUER)
RLUSD_IOU = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_MAINNET_ISSUER}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def offers(name: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = fixture(name)["result"]["offers"]
    return result


# ---- amounts -----------------------------------------------------------------------


def test_parse_amount_reads_drops_and_iou_values() -> None:
    assert parse_amount("296890496", XRP_SPEC) == Decimal("296.890496")
    iou = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_MAINNET_ISSUER, "value": "2.2"}
    assert parse_amount(iou, RLUSD) == Decimal("2.2")


@pytest.mark.parametrize(
    ("raw", "spec", "mismatch"),
    [
        ({"currency": "USD", "issuer": GATEHUB, "value": "1"}, XRP_SPEC, True),
        ("1000000", RLUSD, True),
        ({"currency": "USD", "issuer": GATEHUB, "value": "1"}, RLUSD, True),
        ({"currency": RLUSD_CURRENCY, "issuer": GATEHUB, "value": "1"}, RLUSD, True),
        ({**RLUSD_IOU, "value": "1e"}, RLUSD, False),
        ({**RLUSD_IOU, "value": "NaN"}, RLUSD, False),
        ({"currency": RLUSD_CURRENCY, "value": "1"}, RLUSD, False),
        ("12abc", XRP_SPEC, False),
        ("1.5", XRP_SPEC, False),
        (1000000, XRP_SPEC, False),
    ],
)
def test_parse_amount_rejects_other_assets_and_bad_numbers(
    raw: object, spec: CurrencySpec, mismatch: bool
) -> None:
    with pytest.raises(AmountError) as err:
        parse_amount(raw, spec)
    assert err.value.mismatch is mismatch


# ---- book_offers ---------------------------------------------------------------------


def test_book_offers_fixture_ask_side_price_and_size() -> None:
    side = parse_book_side(offers("book_offers_response.json"), side="ask", base=EUR, quote=USD)
    assert side.problems == () and side.offers == 2
    # ask price = TakerPays / TakerGets; it equals the offer's quality here.
    assert [lv.price for lv in side.levels] == pytest.approx([1.511056473200875, 1.65])
    assert [lv.size for lv in side.levels] == pytest.approx(
        [17.90363633316433, 2.542743233917848]
    )


def test_book_offers_fixture_read_as_the_reverse_book_gives_bids_best_first() -> None:
    # The same offers seen from USD as base: taker_gets=quote (EUR), taker_pays=base (USD):
    # price = TakerGets / TakerPays, size = TakerPays.
    side = parse_book_side(offers("book_offers_response.json"), side="bid", base=USD, quote=EUR)
    prices = [lv.price for lv in side.levels]
    assert prices == pytest.approx([1 / 1.511056473200875, 1 / 1.65], rel=1e-12)
    assert prices == sorted(prices, reverse=True)
    assert [lv.size for lv in side.levels] == pytest.approx([27.05340557506234, 4.19552633596446])


def test_partially_funded_offer_uses_taker_gets_funded() -> None:
    side = parse_book_side(
        offers("book_offers_response_partially_funded.json"), side="ask", base=EUR, quote=USD
    )
    # Both offers are at quality 10: one level. The first has owner_funds but no
    # taker_gets_funded (fully funded); the second is funded for 3.516... of 3.52.
    assert len(side.levels) == 1
    assert side.levels[0].price == pytest.approx(10.0)
    assert side.levels[0].size == pytest.approx(2.459108753792364 + 3.516160294182094)


def test_unfunded_offers_are_skipped_not_rejected() -> None:
    data = copy.deepcopy(offers("book_offers_response_partially_funded.json"))
    data[1]["taker_gets_funded"]["value"] = "0"
    data[1]["taker_pays_funded"]["value"] = "0"
    side = parse_book_side(data, side="ask", base=EUR, quote=USD)
    assert side.unfunded == 1 and side.problems == ()
    assert side.levels[0].size == pytest.approx(2.459108753792364)


def test_xrp_rlusd_parser_rejects_the_eur_usd_book_as_another_currency() -> None:
    for side in ("ask", "bid"):
        parsed = parse_book_side(
            offers("book_offers_response.json"), side=side, base=XRP_SPEC, quote=RLUSD
        )
        assert parsed.levels == ()
        assert parsed.mismatched
        assert parsed.rejected == 2


def test_rlusd_from_another_issuer_is_rejected() -> None:
    offer = {
        "Account": "rM3X3QSr8icjTGpaF52dozhbT2BZSXJQYM",
        "TakerGets": "100000000",
        "TakerPays": {"currency": RLUSD_CURRENCY, "issuer": GATEHUB, "value": "220"},
    }
    parsed = parse_book_side([offer], side="ask", base=XRP_SPEC, quote=RLUSD)
    assert parsed.mismatched and "issuer" in parsed.problems[0]


def test_malformed_offers_are_skipped_with_a_reason_and_good_ones_kept() -> None:
    good: dict[str, Any] = {
        "Account": "rM3X3QSr8icjTGpaF52dozhbT2BZSXJQYM",
        "TakerGets": "100000000",
        "TakerPays": {"currency": RLUSD_CURRENCY, "issuer": RLUSD_MAINNET_ISSUER, "value": "220"},
    }
    bad = [
        {**good, "TakerGets": "12abc"},
        {**good, "TakerPays": {**good["TakerPays"], "value": "-5"}},
        {**good, "TakerGets": "0"},
        {k: v for k, v in good.items() if k != "TakerPays"},
        "not an offer",
    ]
    parsed = parse_book_side([good, *bad], side="ask", base=XRP_SPEC, quote=RLUSD)
    assert not parsed.mismatched
    assert parsed.rejected == len(bad)
    assert parsed.levels == parse_book_side([good], side="ask", base=XRP_SPEC, quote=RLUSD).levels
    assert parsed.levels[0].price == pytest.approx(2.2) and parsed.levels[0].size == 100.0
    assert parse_book_side("nope", side="ask", base=XRP_SPEC, quote=RLUSD).problems


def test_xrp_rlusd_levels_aggregate_by_price_and_respect_depth_and_own_offers() -> None:
    def ask(drops: str, value: str,
            account: str = "rM3X3QSr8icjTGpaF52dozhbT2BZSXJQYM") -> dict[str, Any]:
        iou = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_MAINNET_ISSUER, "value": value}
        return {"Account": account, "TakerGets": drops, "TakerPays": iou}

    me = "rhsxKNyN99q6vyYCTHNTC1TqWCeHr7PNgp"
    book = [ask("10000000", "22.1"), ask("5000000", "11.05"), ask("1000000", "2.2", me),
            ask("10000000", "22.2"), ask("10000000", "22.3")]
    parsed = parse_book_side(book, side="ask", base=XRP_SPEC, quote=RLUSD, depth=2,
                             exclude_account=me)
    assert parsed.own == 1
    assert [(lv.price, lv.size) for lv in parsed.levels] == pytest.approx(
        [(2.21, 15.0), (2.22, 10.0)]
    )


# ---- amm_info ------------------------------------------------------------------------


def test_amm_info_fixture_reserves_and_fee() -> None:
    pool, problems = parse_amm(fixture("amm_info_response.json")["result"], quote=TST)
    assert problems == []
    assert pool is not None
    assert pool.xrp_reserve == pytest.approx(296.890496)  # "296890496" drops
    assert pool.rlusd_reserve == pytest.approx(25.81656470648473)
    assert pool.trading_fee == 600  # 1/100,000 units: 0.6 %


def test_amm_info_amounts_in_either_order() -> None:
    result = copy.deepcopy(fixture("amm_info_response.json")["result"])
    amm = result["amm"]
    amm["amount"], amm["amount2"] = amm["amount2"], amm["amount"]
    pool, _ = parse_amm(result, quote=TST)
    assert pool is not None and pool.xrp_reserve == pytest.approx(296.890496)


def test_amm_info_for_another_currency_is_rejected_for_rlusd() -> None:
    pool, problems = parse_amm(fixture("amm_info_response.json")["result"], quote=RLUSD)
    assert pool is None
    assert "currency" in problems[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", "0"), ("amount", "-1"), ("amount", "abc"), ("trading_fee", "600"),
     ("trading_fee", 5000), ("amount2", None)],
)
def test_amm_info_bad_or_zero_values_give_no_pool(field: str, value: object) -> None:
    result = copy.deepcopy(fixture("amm_info_response.json")["result"])
    if value is None:
        del result["amm"][field]
    else:
        result["amm"][field] = value
    pool, problems = parse_amm(result, quote=TST)
    assert pool is None and problems


def test_amm_info_zero_iou_reserve_gives_no_pool() -> None:
    result = copy.deepcopy(fixture("amm_info_response.json")["result"])
    result["amm"]["amount2"]["value"] = "0"
    assert parse_amm(result, quote=TST)[0] is None
    assert parse_amm({"status": "success"}, quote=TST)[0] is None


# ---- fills from metadata ---------------------------------------------------------------


def test_order_book_changes_on_partially_filled_and_filled_offers() -> None:
    tx = fixture("tx_v1_offer_partially_filled_and_filled.json")
    base = CurrencySpec("USD", "rhub8VRN55s94qWKDv6jmDy1pUykJzF3wq")
    partial = offer_fills(tx["meta"], "rPu2feBaViWGmWJhvaF5yLocTVD8FUxd2A", base)
    assert len(partial) == 1
    assert partial[0].sequence == 67701941 and partial[0].status == "partially-filled"
    # The offer gave 244.8 - 127.4104863074605 of its TakerGets.
    assert partial[0].base == Decimal("117.3895136925395")
    assert partial[0].counter == Decimal("115.0877585220975")
    filled = offer_fills(tx["meta"], "rNzgS71DyJPMnWMA8aS7NqvXP7bNuwyaZo", base)
    assert [(f.sequence, f.status, f.base) for f in filled] == [
        (5931, "filled", Decimal("63.7479881398749"))
    ]
    # The taker's own account has no resting offer in this transaction.
    assert offer_fills(tx["meta"], tx["Account"], base) == []


def test_created_and_cancelled_offers_are_not_fills() -> None:
    for name in ("tx_v1_offer_created.json", "tx_v1_offer_cancelled.json",
                 "tx_v1_offer_with_expiration.json"):
        tx = fixture(name)
        assert offer_fills(tx["meta"], tx["Account"], XRP_SPEC) == []


def test_change_fill_picks_the_base_leg_in_either_position() -> None:
    xrp = {"currency": "XRP", "value": "-5"}
    iou = {"currency": RLUSD_CURRENCY, "issuer": RLUSD_MAINNET_ISSUER, "value": "-11"}
    assert change_fill({"taker_gets": xrp, "taker_pays": iou}, XRP_SPEC) == (5, 11)
    assert change_fill({"taker_gets": iou, "taker_pays": xrp}, XRP_SPEC) == (5, 11)
    assert change_fill({"taker_gets": iou, "taker_pays": iou}, XRP_SPEC) is None


def test_normalize_tx_accepts_v1_v2_and_stream_shapes() -> None:
    v1 = normalize_tx(fixture("tx_v1_offer_created.json"))
    assert v1 is not None and v1.tx["TransactionType"] == "OfferCreate"
    assert v1.tx_hash == "463E28521ACA7FB5F4081E7E368FA5AEB76FB641FCB3C92CA9E8971A990CE84A"
    v2 = normalize_tx(fixture("tx_response.json")["result"])
    assert v2 is not None and v2.ledger_index == 56865245 and v2.date == 648248020
    stream = normalize_tx(fixture("book_stream_offer_replace.json"))
    assert stream is not None and stream.tx["OfferSequence"] == 156917168
    not_validated = {**fixture("tx_response.json")["result"], "validated": False}
    assert normalize_tx(not_validated) is None
    assert normalize_tx({"validated": True}) is None
    assert normalize_tx("nonsense") is None


def test_iou_value_has_15_significant_digits() -> None:
    assert iou_value(Decimal("22.1")) == "22.1"
    assert iou_value(Decimal("2.20000000000000000001")) == "2.2"
    assert iou_value(Decimal("1") / Decimal("3")) == "0.333333333333333"
    assert iou_value(Decimal("123456789.123456789")) == "123456789.123457"
    assert iou_value(Decimal("1E+2")) == "100"
