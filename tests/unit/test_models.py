"""engine.models.fast_init: the faster constructors keep the dataclass contract."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from engine.events import FillEvent, InventoryCheck
from engine.models import (
    Book,
    Fill,
    GateResult,
    InventorySnapshot,
    Level,
    LiveOrder,
    fast_init,
)


def test_defaults_positional_and_keyword_arguments() -> None:
    o = LiveOrder("S1-1", "BUY", 2.2, 10.0, 5.0)
    assert (o.original_size, o.sequence) == (0.0, None)
    assert LiveOrder(order_id="S1-1", side="BUY", price=2.2, size=10.0, placed_ts=5.0) == o
    assert LiveOrder("S1-1", "BUY", 2.2, 10.0, 5.0, 12.0, 7).sequence == 7
    assert GateResult("momentum", True) == GateResult("momentum", True, None, None, "")
    with pytest.raises(TypeError):
        LiveOrder("S1-1", "BUY", 2.2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        GateResult("x", True, nope=1)  # type: ignore[call-arg]


def test_still_frozen_hashable_replaceable_and_picklable() -> None:
    lv = Level(2.2, 100.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lv.price = 2.3  # type: ignore[misc]
    assert hash(lv) == hash(Level(2.2, 100.0))
    assert dataclasses.replace(lv, size=5.0) == Level(2.2, 5.0)
    book = Book((lv,), (Level(2.21, 50.0),))
    assert pickle.loads(pickle.dumps(book)) == book
    fill = Fill("S1-1:1", "S1-1", "BUY", 2.2, 1.0, 0.001, 10.0, 5)
    assert FillEvent(fill).fill is fill
    assert InventoryCheck(True, None) == InventoryCheck(True, None, "")


def test_post_init_derives_the_snapshot_fields() -> None:
    s = InventorySnapshot(100.0, 5.0, 200.0, -10.0, 2.0, 50.0)
    assert (s.xrp_balance, s.rlusd_balance) == (105.0, 190.0)
    assert s.xrp_value_in_rlusd == 210.0 and s.total_value_in_rlusd == 400.0
    assert s.drift_pct == pytest.approx(210.0 / 400.0 * 100.0 - 50.0)
    assert dataclasses.replace(s, mark_price=1.0).xrp_value_in_rlusd == 105.0


def test_default_factory_fields() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        name: str
        tags: list[str] = dataclasses.field(default_factory=list)

    fast_init(WithFactory)
    a, b = WithFactory("a"), WithFactory("b")
    assert a.tags == [] and a.tags is not b.tags
    assert WithFactory("c", ["x"]).tags == ["x"]

