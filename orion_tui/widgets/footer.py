"""A Footer that drops its least needed keys when the terminal is narrow.

The replay has more keys than 80 columns hold; rather than cutting off `? Help` and
`q Quit` at the right edge, the footer hides an action's key below the width given
for it in `min_widths` (the key still works and the `?` help screen lists it).
Textual 8's Footer builds FooterKey / KeyGroup children (pyproject.toml pins the
version); a group is hidden only when all of its keys are.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual import events
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup


class FittedFooter(Footer):
    """Footer(compact=True) that shows an action only from its minimum width up."""

    def __init__(self, *, min_widths: Mapping[str, int], compact: bool = True) -> None:
        super().__init__(compact=compact)
        self.min_widths = dict(min_widths)

    async def recompose(self) -> None:
        await super().recompose()  # the bindings changed: new children
        self.fit()

    def on_resize(self, event: events.Resize) -> None:
        self.fit()

    def fit(self) -> None:
        """Show or hide the keys for the current width."""
        width = self.app.size.width
        hidden = {a for a, w in self.min_widths.items() if width < w}
        children = list(self.children)
        for i, child in enumerate(children):
            if isinstance(child, FooterKey):
                child.display = child.action not in hidden
            elif isinstance(child, KeyGroup):
                actions = [key.action for key in child.query(FooterKey)]
                show = not (actions and all(a in hidden for a in actions))
                child.display = show
                if i + 1 < len(children) and isinstance(children[i + 1], FooterLabel):
                    children[i + 1].display = show

    def shown_actions(self) -> list[str]:
        """Actions whose keys are visible now (tests)."""
        out = []
        for key in self.query(FooterKey):
            node = key
            visible = True
            while node is not None and node is not self:
                visible = visible and bool(node.display)
                node = node.parent  # type: ignore[assignment]
            if visible:
                out.append(key.action)
        return out
