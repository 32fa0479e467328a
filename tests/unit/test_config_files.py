"""Config files as an operator writes them: every bad file gives one clear line.

Each case goes through both the loader (ConfigError.problems) and the
`orion-tui check-config` entry point (what the operator actually reads).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from rich.console import Console

from engine.inventory import rebuild_from_sqlite
from engine.settings import ConfigError, load_config, load_wallet_seed
from engine.store.schema import StoreError
from orion_tui.check_config import db_context, run
from orion_tui.cli import main as cli_main
from tests.conftest import run_sim

ORION_TOML = Path(__file__).resolve().parents[2] / "config" / "orion.toml"
TRACEBACK_MARKERS = ("Traceback", 'File "', "ValidationError", "pydantic_core", "Error(")


@pytest.fixture(autouse=True)
def _no_orion_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ORION_ variables in the caller's shell must not change what these tests see."""
    for key in list(os.environ):
        if key.startswith("ORION_"):
            monkeypatch.delenv(key)
    yield


def console() -> Console:
    return Console(record=True, width=120)


def check(path: Path | str, against: str | None = None, db: str | None = None) -> tuple[int, str]:
    c = console()
    code = run(str(path), against, db, c)
    return code, c.export_text()


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


# name, file text, text the single problem line must contain (the key, or the path)
BAD_FILES: list[tuple[str, str, tuple[str, ...]]] = [
    ("syntax_error", "[strategy\nhalf_spread_bps = 12\n", ("TOML syntax error", "line 1")),
    ("duplicate_key", "[risk]\nmax_xrp_exposure = 1\nmax_xrp_exposure = 2\n", ("syntax error",)),
    (
        "wrong_type_int",
        "[strategy]\nmomentum_lookback_ticks = 2.5\n",
        ("strategy.momentum_lookback_ticks", "2.5", "integer"),
    ),
    (
        "string_for_number",
        "[strategy]\nhalf_spread_bps = 'twelve'\n",
        ("strategy.half_spread_bps", "'twelve'", "number"),
    ),
    ("list_for_number", "[risk]\nmax_xrp_exposure = [1, 2]\n", ("risk.max_xrp_exposure",)),
    (
        "negative_limit",
        "[risk]\nmax_xrp_exposure = -5\n",
        ("risk.max_xrp_exposure", "-5", "greater than 0"),
    ),
    (
        "zero_limit",
        "[risk]\nmax_rlusd_exposure = 0\n",
        ("risk.max_rlusd_exposure", "= 0", "greater than 0"),
    ),
    ("unknown_top_level_key", "foo = 1\n", ("foo", "unknown key")),
    ("unknown_key_in_section", "[strategy]\nhalf_spred_bps = 12\n", ("strategy.half_spred_bps",)),
    ("unknown_section", "[strategyy]\nanchor_mode = 'mid'\n", ("strategyy", "unknown key")),
    (
        "unknown_anchor_mode",
        "[strategy]\nanchor_mode = 'best'\n",
        ("strategy.anchor_mode", "'best'", "capped_amm"),
    ),
    (
        "divergence_cap_out_of_range",
        "[strategy]\nanchor_max_divergence_bps = 2000\n",
        ("strategy.anchor_max_divergence_bps", "2000", "1000"),
    ),
    (
        "seed_in_toml",
        "[market]\nwallet_seed = 'sEdTM1uX8pu2do5XvTnutH6HsouMaM2'\n",
        ("market.wallet_seed", "ORION_WALLET_SEED"),
    ),
    ("nan", "[strategy]\nhalf_spread_bps = nan\n", ("strategy.half_spread_bps", "finite")),
    ("inf", "[risk]\nmax_xrp_exposure = inf\n", ("risk.max_xrp_exposure", "finite")),
    (
        "wrong_node_url",
        "[market]\nnode = 'http://xrplcluster.com'\n",
        ("market.node", "http://xrplcluster.com", "wss://"),
    ),
    (
        "bad_currency_code",
        "[market]\nrlusd_currency = 'RLUSD'\n",
        ("market.rlusd_currency", "'RLUSD'", "40-hex"),
    ),
    ("bad_issuer", "[market]\nrlusd_issuer = 'nope'\n", ("market.rlusd_issuer", "r...")),
    ("unknown_market_mode", "[market]\nmode = 'testnet'\n", ("market.mode", "'testnet'")),
    ("section_not_a_table", "strategy = 5\n", ("strategy = 5",)),
    ("ttl_too_short", "[execution]\norder_ttl_s = 1\n", ("execution.order_ttl_s", "5")),
    ("size_fraction_above_one", "[strategy]\nmax_size_fraction = 1.5\n", ("max_size_fraction",)),
]


@pytest.mark.parametrize(("name", "text", "needles"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_gives_exactly_one_clear_line(
    tmp_path: Path, name: str, text: str, needles: tuple[str, ...]
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert len(problems) == 1, problems
    line = problems[0]
    assert "\n" not in line
    for needle in needles:
        assert needle in line, (needle, line)
    for marker in TRACEBACK_MARKERS:
        assert marker not in line

    code, out = check(path)
    assert code == 1
    printed = lines(out)
    assert printed == [f"error: {line}"]
    for marker in TRACEBACK_MARKERS:
        assert marker not in out


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [f"{path}: config file not found"]
    code, out = check(path)
    assert code == 1 and lines(out) == [f"error: {path}: config file not found"]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    code, out = check(tmp_path)
    assert code == 1 and len(lines(out)) == 1 and "cannot read config file" in out


def test_retired_key_loads_with_one_warning_naming_replacement(tmp_path: Path) -> None:
    path = tmp_path / "retired.toml"
    path.write_text("[risk]\nmax_inventory_usd = 500\n")
    loaded = load_config(path)
    assert loaded.retired_keys == ("risk.max_inventory_usd",)
    assert len(loaded.warnings) == 1
    assert "max_inventory_usd" in loaded.warnings[0]
    assert "max_xrp_exposure" in loaded.warnings[0]
    assert not hasattr(loaded.settings.risk, "max_inventory_usd")  # it gates nothing
    code, out = check(path)
    assert code == 0
    warning_lines = [ln for ln in lines(out) if ln.startswith("warning:")]
    assert len(warning_lines) == 1 and "max_xrp_exposure" in warning_lines[0]


def test_several_problems_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    path.write_text(
        "[strategy]\nanchor_mode = 'best'\nhalf_spread_bps = -1\n"
        "[risk]\nmax_xrp_exposure = 0\n[market]\nnode = 'http://x'\n"
    )
    code, out = check(path)
    assert code == 1
    printed = lines(out)
    assert len(printed) == 4
    for key, ln in zip(
        [
            "strategy.anchor_mode",
            "strategy.half_spread_bps",
            "risk.max_xrp_exposure",
            "market.node",
        ],
        printed,
        strict=True,
    ):
        assert ln.startswith("error: ") and key in ln


def test_long_problem_line_is_not_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "long.toml"
    path.write_text(f"[market]\nnode = 'http://{'x' * 150}.example'\n")
    code, out = check(path)
    assert code == 1 and len(lines(out)) == 1


# ---- environment overrides and the seed -------------------------------------------------


def test_env_override_beats_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[risk]\nmax_xrp_exposure = 175\nmax_rlusd_exposure = 90\n")
    assert load_config(path).settings.risk.max_xrp_exposure == 175
    monkeypatch.setenv("ORION_RISK__MAX_XRP_EXPOSURE", "200")
    risk = load_config(path).settings.risk
    assert risk.max_xrp_exposure == 200  # env over file
    assert risk.max_rlusd_exposure == 90  # the rest of the section still from the file
    assert load_config(ORION_TOML).settings.risk.max_xrp_exposure == 200


def test_env_override_beats_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    monkeypatch.setenv("ORION_STRATEGY__ANCHOR_MODE", "mid")
    assert load_config(path).settings.strategy.anchor_mode == "mid"


def test_bad_env_override_is_one_line_naming_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORION_RISK__MAX_XRP_EXPOSURE", "lots")
    with pytest.raises(ConfigError) as info:
        load_config(ORION_TOML)
    assert len(info.value.problems) == 1
    assert "risk.max_xrp_exposure" in info.value.problems[0]
    assert "'lots'" in info.value.problems[0]


SEED = "sEdTM1uX8pu2do5XvTnutH6HsouMaM2"


def test_wallet_seed_from_env_is_secret() -> None:
    seed = load_wallet_seed({"ORION_WALLET_SEED": f"  {SEED}\n"})
    assert isinstance(seed, SecretStr)
    assert seed.get_secret_value() == SEED
    assert SEED not in repr(seed) and SEED not in str(seed) and SEED not in f"{seed}"


def test_wallet_seed_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "seed"
    secret.write_text(SEED + "\n")
    seed = load_wallet_seed({"ORION_WALLET_SEED_FILE": str(secret)})
    assert isinstance(seed, SecretStr) and seed.get_secret_value() == SEED
    assert SEED not in repr(seed)


def test_wallet_seed_absent_or_unreadable(tmp_path: Path) -> None:
    assert load_wallet_seed({}) is None
    with pytest.raises(ConfigError) as info:
        load_wallet_seed({"ORION_WALLET_SEED_FILE": str(tmp_path / "missing")})
    assert len(info.value.problems) == 1
    assert "ORION_WALLET_SEED_FILE" in info.value.problems[0]


def test_seed_never_in_settings_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORION_WALLET_SEED", SEED)
    loaded = load_config(ORION_TOML)
    assert SEED not in repr(loaded.settings.model_dump())


# ---- check-config on the real file, --against, --db ----------------------------------------


def test_check_config_default_file_shows_rlusd_headroom() -> None:
    code, out = check(ORION_TOML)
    assert code == 0
    assert "is valid" in out
    assert "risk.max_rlusd_exposure" in out
    assert "RLUSD headroom 40.00" in out
    assert "round trip 30.00" in out
    assert "error:" not in out


def test_check_config_against_old_shows_diff(tmp_path: Path) -> None:
    new = tmp_path / "new.toml"
    new.write_text(ORION_TOML.read_text().replace("half_spread_bps = 12", "half_spread_bps = 15"))
    code, out = check(new, against=str(ORION_TOML))
    assert code == 0
    assert "Config changes" in out and "strategy.half_spread_bps" in out
    assert "12.0" in out and "15.0" in out


def test_check_config_against_invalid_old_fails(tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text("[risk]\nmax_xrp_exposure = -1\n")
    code, out = check(ORION_TOML, against=str(old))
    assert code == 1
    assert lines(out) == [
        "error: --against: risk.max_xrp_exposure = -1: Input should be greater than 0"
    ]


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Orion database: a short sim session plus an RLUSD deposit."""
    db = tmp_path_factory.mktemp("cfgdb") / "orion.db"
    run_sim(str(db), 300, seed=2)
    assert cli_main(["capital", "deposit", "RLUSD", "30", "--db", str(db)]) == 0
    return db


def test_db_context_reads_total(sim_db: Path) -> None:
    snap, divergences = db_context(str(sim_db), 50.0)
    conn = sqlite3.connect(f"file:{sim_db}?mode=ro", uri=True)
    inv = rebuild_from_sqlite(conn)
    mark = conn.execute("SELECT mark FROM ticks ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    assert snap == inv.snapshot(mark)
    assert snap.rlusd_overlay == 30.0  # the deposit counts in the total
    assert snap.rlusd_balance == snap.rlusd_fills_only + 30.0
    assert 0 < len(divergences) <= 300


def test_db_context_refuses_unusable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    for bad in (tmp_path / "absent.db", empty, garbage):
        with pytest.raises(StoreError):
            db_context(str(bad), 50.0)
        code, out = check(ORION_TOML, db=str(bad))
        assert code == 1
        assert len(lines(out)) == 1 and lines(out)[0].startswith("error: --db:")
    assert not (tmp_path / "absent.db").exists()  # read-only: never creates a file


def test_check_config_with_db_uses_current_inventory(sim_db: Path) -> None:
    snap, _ = db_context(str(sim_db), 50.0)
    code, out = check(ORION_TOML, db=str(sim_db))
    assert code == 0
    assert f"RLUSD headroom {120 - snap.rlusd_balance:.2f}" in out
    assert "current inventory" in out
