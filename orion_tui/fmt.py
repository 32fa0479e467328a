"""Number and time formatting shared by every pane, so one value reads the same everywhere."""

from __future__ import annotations

import math
import time

DASH = "—"


def price(value: float | None) -> str:
    """RLUSD per XRP: five decimals, the XRPL book's practical tick."""
    return DASH if value is None else f"{value:.5f}"


def amount(value: float | None, decimals: int = 2) -> str:
    """A balance or size; thousands separated so 12,345.67 is not misread."""
    if value is None:
        return DASH
    return f"{value:,.{decimals}f}"


def signed(value: float | None, decimals: int = 1) -> str:
    """A signed delta (bps, overlay): the sign is always shown."""
    return DASH if value is None else f"{value:+,.{decimals}f}"


def compact(value: float | str | None) -> str:
    """Gate values and thresholds: five significant digits, no exponent for large numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100_000:
        return f"{value:,.0f}"
    text = f"{value:.5g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")


def clock(ts: float) -> str:
    """Wall-clock time in UTC: operators across time zones read the same stamp."""
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def stamp(ts: float | None) -> str:
    """Date and time in UTC, for anything that may span days (sessions, replay goto)."""
    return DASH if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
