"""A fake rippled WebSocket server for tests (see server.py)."""

from tests.fake_rippled.server import (
    FIXTURES_DIR,
    MAKER_ACCOUNTS,
    RLUSD_CURRENCY,
    RLUSD_ISSUER,
    TAKER_ACCOUNT,
    FakeRippled,
    load_fixture,
)

__all__ = [
    "FIXTURES_DIR",
    "MAKER_ACCOUNTS",
    "RLUSD_CURRENCY",
    "RLUSD_ISSUER",
    "TAKER_ACCOUNT",
    "FakeRippled",
    "load_fixture",
]
