"""`c`: reload the config file, show the diff and the safety review, apply on confirm.

The file is parsed and validated in full before anything is shown; a file that
fails validation shows its problems and applies nothing. A review finding of
severity "error" also blocks applying. Applying means dismissing with the new
LoadedConfig: the app submits ReloadConfig, and the engine swaps it atomically.

engine.settings.load_config and engine.review.review_config are imported lazily so
the console starts (and its tests run) even while engine.review is being written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from orion_tui.engine_api import EngineLike

Loader = Callable[[str], Any]
Reviewer = Callable[[Any, Any, Any, Sequence[float]], Sequence[Any]]

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_SEVERITY_STYLE = {
    "error": "bold reverse red",
    "warning": "bold reverse yellow",
    "info": "bold cyan",
}


@dataclass(frozen=True, slots=True)
class ReviewFinding:
    """Same shape as engine.review.Finding, for loader warnings and review failures."""

    severity: str
    key: str
    message: str


def load_config_file(path: str) -> Any:
    """engine.settings.load_config, imported when first used."""
    from engine.settings import load_config

    return load_config(path)


def review_config(current: Any, new: Any, snapshot: Any, recent: Sequence[float]) -> Sequence[Any]:
    """engine.review.review_config, imported when first used.

    If the review module is missing or fails, that is itself an error finding: a
    config nobody reviewed must not be applied from the console.
    """
    try:
        from engine.review import review_config as engine_review
    except ImportError as exc:
        return [ReviewFinding("error", "review", f"safety review unavailable: {exc}")]
    try:
        return list(engine_review(current, new, snapshot, recent))
    except Exception as exc:  # the review must never crash the console
        return [ReviewFinding("error", "review", f"safety review failed: {exc!r}")]


def config_diff(old: Any | None, new: Any) -> list[tuple[str, object, object]]:
    """(key, old, new) for every flattened setting that differs, sorted by key."""
    from engine.settings import settings_as_flat_dict

    before = settings_as_flat_dict(old) if old is not None else {}
    after = settings_as_flat_dict(new)
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def merge_findings(findings: Sequence[Any], loader_warnings: Sequence[str]) -> list[Any]:
    """Review findings plus loader warnings the review did not already report, worst first."""
    merged = list(findings)
    keys = {str(getattr(f, "key", "")) for f in merged}
    for warning in loader_warnings:
        key, _, message = warning.partition(": ")
        if not message:  # not "key: message": keep it whole
            key, message = "config", warning
        if key not in keys:
            merged.append(ReviewFinding("warning", key, message))
    return sorted(merged, key=lambda f: _SEVERITY_RANK.get(str(f.severity), 3))


def _show(value: object) -> str:
    return "(unset)" if value is None else repr(value) if isinstance(value, str) else str(value)


class ConfigReviewScreen(ModalScreen[Any]):
    """Diff + safety review of the config file on disk; dismisses with it if applied."""

    BINDINGS = [
        Binding("a,enter", "apply", "Apply", priority=True, id="review.apply"),
        Binding("escape", "cancel", "Cancel", id="review.cancel"),
    ]

    def __init__(
        self,
        engine: EngineLike,
        *,
        loader: Loader | None = None,
        reviewer: Reviewer | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._engine = engine
        self._loader = loader or load_config_file
        self._reviewer = reviewer or review_config
        self.loaded: Any | None = None
        self.problems: list[str] = []
        self.findings: list[Any] = []
        self.changes: list[tuple[str, object, object]] = []

    @property
    def path(self) -> str:
        return str(getattr(self._engine.loaded, "path", "") or "config/orion.toml")

    @property
    def blocking_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def compose(self) -> ComposeResult:
        with Vertical(id="review-dialog", classes="dialog"):
            yield Static(f"Reload config: {self.path}", classes="dialog-title", markup=False)
            yield DataTable(id="review-diff", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="review-findings-box"):
                yield Static(id="review-findings")
            yield Static(id="review-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self._load()

    def _load(self) -> None:
        from engine.settings import ConfigError

        try:
            self.loaded = self._loader(self.path)
        except ConfigError as exc:
            self.problems = list(exc.problems) or [str(exc)]
            self._show_problems()
            return
        latest = self._engine.latest
        self.changes = config_diff(self._engine.settings, self.loaded.settings)
        self.findings = merge_findings(
            self._reviewer(
                self._engine.settings,
                self.loaded,
                latest.snapshot if latest is not None else None,
                list(self._engine.recent_divergences()),
            ),
            getattr(self.loaded, "warnings", ()),
        )
        self._show_review()

    def _show_problems(self) -> None:
        self.query_one("#review-diff").display = False
        self.add_class("-rejected")
        text = Text("Config rejected: nothing was applied\n", style="bold reverse red")
        for problem in self.problems:
            text.append(f"✗ {problem}\n", style="bold red")
        self.query_one("#review-findings", Static).update(text)
        self.query_one("#review-hint", Static).update("esc close · fix the file and press c again")

    def _show_review(self) -> None:
        table = self.query_one("#review-diff", DataTable)
        table.add_columns("key", "old", "new")
        for key, old, new in self.changes:
            table.add_row(key, _show(old), Text(_show(new), style="bold"), key=key)
        table.display = bool(self.changes)
        heading = Text(
            f"{len(self.changes)} change(s)" if self.changes else "No changes to the settings",
            style="bold",
        )
        lines: list[Text] = [heading]
        if not self.findings:
            lines.append(Text("Review: no findings", style="green"))
        for finding in self.findings:
            line = Text()
            severity = str(finding.severity)
            line.append(f" {severity.upper()} ", _SEVERITY_STYLE.get(severity, "bold"))
            line.append(f" {finding.key}: ", "bold")
            line.append(str(finding.message))
            lines.append(line)
        self.query_one("#review-findings", Static).update(Group(*lines))
        self._set_hint()

    def _set_hint(self, note: str = "") -> None:
        if self.blocking_errors:
            hint = f"{self.blocking_errors} error(s): cannot apply · esc cancel"
        elif not self.changes:
            hint = "nothing to apply · esc close"
        else:
            hint = "a / enter apply · esc cancel"
        self.query_one("#review-hint", Static).update(f"{note} {hint}".strip())

    def action_apply(self) -> None:
        if self.loaded is None or self.problems:
            self._set_hint("Not applied:")
            return
        if self.blocking_errors:
            self._set_hint("Not applied:")
            return
        if not self.changes:
            self.dismiss(None)
            return
        self.dismiss(self.loaded)

    def action_cancel(self) -> None:
        self.dismiss(None)
