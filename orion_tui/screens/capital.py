"""`e`: record a capital event (deposit, withdrawal, basis_commit), then confirm it.

The amount is validated as a positive finite number as it is typed; a withdrawal
larger than the asset's current total is refused, since the total is what every
gate reads and it must never go negative by an operator's typo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from engine.models import ASSETS, Asset, CapitalEvent, CapitalKind, InventorySnapshot
from orion_tui import fmt
from orion_tui.screens.confirm import ConfirmScreen

KINDS: tuple[CapitalKind, ...] = ("deposit", "withdrawal", "basis_commit")


class PositiveAmount(Validator):
    """A positive, finite decimal number (no inf, no nan, no sign games)."""

    def validate(self, value: str) -> ValidationResult:
        try:
            number = float(value.strip().replace(",", "").replace("_", ""))
        except ValueError:
            return self.failure("amount must be a number")
        if not math.isfinite(number):
            return self.failure("amount must be a finite number")
        if number <= 0:
            return self.failure("amount must be positive")
        return self.success()


def parse_amount(value: str) -> float:
    return float(value.strip().replace(",", "").replace("_", ""))


def check_capital(
    kind: CapitalKind, asset: Asset, raw_amount: str, snapshot: InventorySnapshot | None
) -> tuple[float | None, str | None]:
    """(amount, None) when the event may be recorded, else (None, why not)."""
    result = PositiveAmount().validate(raw_amount)
    if not result.is_valid:
        return None, "; ".join(result.failure_descriptions)
    amount = parse_amount(raw_amount)
    if kind == "withdrawal":
        if snapshot is None:
            return None, "no inventory yet: wait for the first tick before a withdrawal"
        total = snapshot.total(asset)
        if amount > total:
            return None, (
                f"withdrawal of {fmt.amount(amount, 4)} {asset} exceeds the total "
                f"{fmt.amount(total, 4)} {asset}: refused"
            )
    return amount, None


class CapitalScreen(ModalScreen[CapitalEvent | None]):
    """Kind, asset, amount, note; enter validates and asks for confirmation."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="capital.cancel")]

    def __init__(self, snapshot: InventorySnapshot | None, *, clock: Callable[[], float]) -> None:
        super().__init__(classes="dialog-screen")
        self._snapshot = snapshot
        self._clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="capital-dialog", classes="dialog"):
            yield Static("Record a capital event", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("kind", classes="field-label")
                with RadioSet(id="capital-kind", compact=True):
                    for i, kind in enumerate(KINDS):
                        yield RadioButton(kind, value=i == 0, id=f"kind-{kind}")
            with Horizontal(classes="field"):
                yield Label("asset", classes="field-label")
                with RadioSet(id="capital-asset", compact=True):
                    for i, asset in enumerate(ASSETS):
                        yield RadioButton(asset, value=i == 0, id=f"asset-{asset}")
            with Horizontal(classes="field"):
                yield Label("amount", classes="field-label")
                yield Input(
                    placeholder="positive number",
                    id="capital-amount",
                    validators=[PositiveAmount()],
                    validate_on=["changed", "submitted"],
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("note", classes="field-label")
                yield Input(placeholder="optional note", id="capital-note", compact=True)
            yield Static(self._totals(), id="capital-totals")
            yield Static("", id="capital-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Record (enter)", id="capital-submit", variant="primary")
                yield Button("Cancel (esc)", id="capital-cancel")
            yield Static(
                "tab next field · arrows + space pick · enter record", classes="dialog-hint"
            )

    def _totals(self) -> str:
        if self._snapshot is None:
            return "totals: no tick yet"
        return "totals: " + "  ".join(
            f"{asset} {fmt.amount(self._snapshot.total(asset), 4)}" for asset in ASSETS
        )

    def _choice(self, radio_set_id: str, options: tuple[str, ...]) -> str:
        index = self.query_one(radio_set_id, RadioSet).pressed_index
        return options[index if index >= 0 else 0]

    @property
    def kind(self) -> CapitalKind:
        return cast(CapitalKind, self._choice("#capital-kind", KINDS))

    @property
    def asset(self) -> Asset:
        return cast(Asset, self._choice("#capital-asset", ASSETS))

    def show_error(self, message: str) -> None:
        error = self.query_one("#capital-error", Static)
        error.update(message)
        error.set_class(bool(message), "-visible")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "capital-submit":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        """Validate, then ask for confirmation; only a `y` records anything."""
        kind, asset = self.kind, self.asset
        raw = self.query_one("#capital-amount", Input).value
        amount, error = check_capital(kind, asset, raw, self._snapshot)
        if amount is None:
            self.show_error(error or "invalid amount")
            self.query_one("#capital-amount", Input).focus()
            return
        self.show_error("")
        note = self.query_one("#capital-note", Input).value.strip()
        event = CapitalEvent(kind=kind, asset=asset, amount=amount, note=note, ts=self._clock())
        summary = f"{kind} {fmt.amount(amount, 4)} {asset}" + (f' ("{note}")' if note else "")
        effect = (
            "records RLUSD cost basis; balances do not move"
            if kind == "basis_commit"
            else f"total {asset} becomes "
            + fmt.amount(self._new_total(asset, amount if kind == "deposit" else -amount), 4)
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.dismiss(event)

        self.app.push_screen(
            ConfirmScreen(f"Record {summary}?", effect, confirm_label="Record"), confirmed
        )

    def _new_total(self, asset: Asset, delta: float) -> float | None:
        return None if self._snapshot is None else self._snapshot.total(asset) + delta

    def action_cancel(self) -> None:
        self.dismiss(None)
