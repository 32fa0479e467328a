"""The wallet seed never reaches a log line, a database row, the screen, an exception
or a summary: paper and live sessions against the fake rippled with a canary seed."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from xrpl.wallet import Wallet

from engine.events import Event, LogEvent, TickEvent
from engine.loop import Engine, EngineStartError
from engine.settings import ConfigError, load_config, load_wallet_seed, parse_config_text
from tests.conftest import ROOT
from tests.fake_rippled.server import FakeRippled

CANARY = Wallet.create().seed  # a real, valid seed: the engine will really sign with it
assert CANARY


def _db_bytes(db: str) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(db + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def _run_session(mode: str, db: str, events: list[Event]) -> dict:
    async def go() -> dict:
        async with FakeRippled(mid=2.2, ledger_interval=0.05) as srv:
            engine = Engine(
                load_config(ROOT / "config" / "orion.toml"), db, mode=mode, node=srv.url,
                max_ticks=8, speed=None, wallet_seed=SecretStr(CANARY), live_confirmed=True,
            )  # fmt: skip
            engine.subscribe(events.append)
            summary = await engine.run()
            assert CANARY not in repr(engine.__dict__)
            assert CANARY not in "".join(srv.raw_received)
            return summary

    return asyncio.run(go())


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_canary_seed_never_leaks(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db = str(tmp_path / f"{mode}.db")
    events: list[Event] = []
    summary = _run_session(mode, db, events)
    assert summary["ticks"] == 8
    if mode == "live":
        placed = [e for e in events if isinstance(e, TickEvent) and e.live_orders]
        assert placed, "live mode placed no order: the seed was not exercised"
    text = "\n".join(repr(e) for e in events)
    assert CANARY not in text
    assert CANARY not in repr(summary)
    assert CANARY.encode() not in _db_bytes(db)
    assert CANARY not in caplog.text
    out = capsys.readouterr()
    assert CANARY not in out.out and CANARY not in out.err
    assert any(isinstance(e, LogEvent) for e in events)


def test_bad_seed_error_does_not_echo_it(tmp_path: Path) -> None:
    engine = Engine(load_config(ROOT / "config" / "orion.toml"), str(tmp_path / "x.db"),
                    mode="live", wallet_seed=SecretStr("sNOTAVALIDSEEDcanary123"),
                    live_confirmed=True)  # fmt: skip
    with pytest.raises(EngineStartError) as err:
        asyncio.run(engine.open())
    assert "canary123" not in str(err.value) and "not a valid XRPL seed" in str(err.value)
    assert not Path(tmp_path / "x.db").exists()


def test_seed_in_config_file_is_refused_without_echo() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(f'[market]\nwallet_seed = "{CANARY}"\n')
    assert CANARY not in str(err.value)
    assert "ORION_WALLET_SEED" in str(err.value)


def test_seed_from_file_and_env_is_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "seed"
    secret_file.write_text(CANARY + "\n")
    seed = load_wallet_seed({"ORION_WALLET_SEED_FILE": str(secret_file)})
    assert seed is not None and seed.get_secret_value() == CANARY
    assert CANARY not in repr(seed) and CANARY not in str(seed)
    env_seed = load_wallet_seed({"ORION_WALLET_SEED": CANARY})
    assert env_seed is not None and CANARY not in f"{env_seed}"


def test_cli_with_seed_and_failing_config_never_prints_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[risk]\nmax_xrp_exposure = -1\n[market]\nnode = "nowhere"\n')
    env = {"ORION_WALLET_SEED": CANARY, "PATH": "/usr/bin:/bin"}
    for args in (
        ["run", "--headless", "--config", str(bad), "--db", str(tmp_path / "a.db")],
        ["run", "--headless", "--mode", "live", "--db", str(tmp_path / "b.db")],
        ["check-config", str(bad)],
    ):
        res = subprocess.run(
            [sys.executable, "-m", "orion_tui.cli", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert res.returncode in (1, 2)
        assert CANARY not in res.stdout + res.stderr
        assert "Traceback" not in res.stderr
