"""engine.review: headroom, divergence cap, order size vs balance, retired keys, diff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from engine.models import InventorySnapshot
from engine.review import (
    Finding,
    config_diff,
    render_diff,
    render_findings,
    review_config,
    starting_snapshot,
)
from engine.settings import LoadedConfig, load_config, parse_config_text

ORION_TOML = Path(__file__).resolve().parents[2] / "config" / "orion.toml"


@pytest.fixture(autouse=True)
def _no_orion_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ORION_ variables in the caller's shell must not change what these tests see."""
    import os

    for key in list(os.environ):
        if key.startswith("ORION_"):
            monkeypatch.delenv(key)
    yield


def cfg(text: str) -> LoadedConfig:
    return parse_config_text(text, "test.toml")


def by_key(findings: list[Finding], key: str) -> list[Finding]:
    return [f for f in findings if f.key == key]


def one(findings: list[Finding], key: str) -> Finding:
    hits = by_key(findings, key)
    assert len(hits) == 1, findings
    return hits[0]


def render(table: object) -> str:
    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()


# ---- headroom ----------------------------------------------------------------------------


def test_default_config_rlusd_round_trip_headroom() -> None:
    """config/orion.toml: 120 - 80 = 40 RLUSD of room vs a 30 RLUSD round trip."""
    findings = review_config(None, load_config(ORION_TOML), None, [])
    rlusd = one(findings, "risk.max_rlusd_exposure")
    assert rlusd.severity == "info"
    assert "RLUSD headroom 40.00" in rlusd.message
    assert "round trip 30.00" in rlusd.message
    assert "starting balances" in rlusd.message
    xrp = one(findings, "risk.max_xrp_exposure")  # 150 - 50 x 2.20 = 40
    assert xrp.severity == "info"
    assert "XRP headroom 40.00" in xrp.message
    assert not [f for f in findings if f.severity != "info"]


@pytest.mark.parametrize(
    ("limit", "severity"),
    [
        (110.0, "info"),  # 30 = exactly one round trip
        (109.0, "warning"),  # 29 < 30
        (95.0, "warning"),  # exactly one order (15) of room: a warning, not an error
        (94.0, "error"),  # 14 < one order
        (60.0, "error"),  # negative headroom
    ],
)
def test_rlusd_headroom_severity(limit: float, severity: str) -> None:
    loaded = cfg(f"[risk]\nmax_rlusd_exposure = {limit}\n[inventory]\nstarting_rlusd = 80")
    assert one(review_config(None, loaded, None, []), "risk.max_rlusd_exposure").severity == (
        severity
    )


def test_xrp_headroom_error_when_no_room_for_one_order() -> None:
    loaded = cfg("[risk]\nmax_xrp_exposure = 120")  # 120 - 110 = 10 < 15
    f = one(review_config(None, loaded, None, []), "risk.max_xrp_exposure")
    assert f.severity == "error"
    assert "no room for even one order" in f.message


def test_headroom_uses_snapshot_total_including_overlay() -> None:
    loaded = load_config(ORION_TOML)
    # 80 RLUSD from fills + 30 deposited = 110: 120 - 110 = 10 < one order
    snap = InventorySnapshot(50.0, 0.0, 80.0, 30.0, 2.2)
    f = one(review_config(None, loaded, snap, []), "risk.max_rlusd_exposure")
    assert f.severity == "error"
    assert "RLUSD balance 110.00" in f.message
    assert "current inventory" in f.message


def test_starting_snapshot_reads_inventory_and_start_price() -> None:
    loaded = cfg("[inventory]\nstarting_xrp = 10\nstarting_rlusd = 5\n[sim]\nstart_price = 3.0")
    snap = starting_snapshot(loaded.settings)
    assert snap.xrp_balance == 10 and snap.rlusd_balance == 5
    assert snap.xrp_value_in_rlusd == pytest.approx(30.0)


# ---- divergence cap ------------------------------------------------------------------------


def test_cap_that_would_clamp_most_ticks_warns() -> None:
    loaded = load_config(ORION_TOML)  # capped_amm, cap 10 bps
    f = one(
        review_config(None, loaded, None, [15.0, -12.0, 3.0, 20.0]),
        "strategy.anchor_max_divergence_bps",
    )
    assert f.severity == "warning"
    assert "3 of the last 4" in f.message


def test_cap_clamping_half_the_ticks_is_not_a_warning() -> None:
    loaded = load_config(ORION_TOML)
    f = one(
        review_config(None, loaded, None, [15.0, -12.0, 3.0, 10.0]),  # exactly at cap: inside
        "strategy.anchor_max_divergence_bps",
    )
    assert f.severity == "info"


def test_cap_not_reviewed_when_mode_has_no_cap_or_no_history() -> None:
    loaded = cfg('[strategy]\nanchor_mode = "mid"')
    assert not by_key(
        review_config(None, loaded, None, [50.0] * 10), "strategy.anchor_max_divergence_bps"
    )
    loaded = load_config(ORION_TOML)
    assert not by_key(review_config(None, loaded, None, []), "strategy.anchor_max_divergence_bps")


# ---- order sizes vs funding balance ------------------------------------------------------


def test_buy_notional_above_rlusd_total_warns() -> None:
    loaded = cfg(
        "[strategy]\nbase_size_rlusd = 20\nsize_skew_per_drift_pct = 0\nmax_size_fraction = 1\n"
        "[risk]\nmax_rlusd_exposure = 500\nmax_xrp_exposure = 500\n"
        "[inventory]\nstarting_rlusd = 10"
    )
    findings = review_config(None, loaded, None, [])
    msgs = [f.message for f in by_key(findings, "strategy.base_size_rlusd")]
    assert len(msgs) == 1 and msgs[0].startswith("BUY order notional 20.00")


def test_sell_size_above_xrp_total_warns() -> None:
    loaded = cfg(
        "[strategy]\nbase_size_rlusd = 20\nsize_skew_per_drift_pct = 0\nmax_size_fraction = 1\n"
        "[risk]\nmax_rlusd_exposure = 500\nmax_xrp_exposure = 500\n"
        "[inventory]\nstarting_xrp = 5"  # 20 / 2.2 = 9.09 XRP > 5
    )
    msgs = [
        f.message for f in by_key(review_config(None, loaded, None, []), "strategy.base_size_rlusd")
    ]
    assert len(msgs) == 1 and msgs[0].startswith("SELL order size 9.0909 XRP")


def test_default_config_orders_are_funded() -> None:
    findings = review_config(None, load_config(ORION_TOML), None, [])
    assert not by_key(findings, "strategy.base_size_rlusd")


# ---- retired keys, changed keys, ordering --------------------------------------------------


def test_retired_key_warns_naming_replacement() -> None:
    loaded = cfg("[risk]\nmax_inventory_usd = 500")
    f = one(review_config(None, loaded, None, []), "risk.max_inventory_usd")
    assert f.severity == "warning"
    assert "risk.max_xrp_exposure" in f.message


def test_changed_keys_listed_old_to_new() -> None:
    current = load_config(ORION_TOML).settings
    new = cfg(ORION_TOML.read_text().replace("half_spread_bps = 12", "half_spread_bps = 15"))
    findings = review_config(current, new, None, [])
    f = one(findings, "strategy.half_spread_bps")
    assert f.severity == "info" and f.message == "12.0 -> 15.0"
    assert config_diff(current, new.settings) == [("strategy.half_spread_bps", 12.0, 15.0)]
    # nothing changed: no change findings
    same = review_config(current, load_config(ORION_TOML), None, [])
    assert {f.key for f in same} == {"risk.max_xrp_exposure", "risk.max_rlusd_exposure"}


def test_findings_are_ordered_errors_first() -> None:
    current = load_config(ORION_TOML).settings
    loaded = cfg(
        "[strategy]\nhalf_spread_bps = 20\n"
        "[risk]\nmax_xrp_exposure = 115\nmax_rlusd_exposure = 105\nmax_inventory_usd = 1"
    )
    findings = review_config(current, loaded, None, [30.0, 30.0, 30.0])
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert severities[0] == "error" and "warning" in severities and "info" in severities


def test_render_findings_and_diff() -> None:
    current = load_config(ORION_TOML).settings
    new = cfg("[strategy]\nhalf_spread_bps = 15")
    findings = review_config(current, new, None, [])
    text = render(render_findings(findings))
    assert "risk.max_rlusd_exposure" in text and "RLUSD headroom" in text
    assert len(render_findings(findings).rows) == len(findings)
    diff = render(render_diff(current, new.settings))
    assert "strategy.half_spread_bps" in diff and "12.0" in diff and "15.0" in diff
    assert "no changes" in render(render_diff(current, current))
    assert "no findings" in render(render_findings([]))
