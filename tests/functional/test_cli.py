"""The command line as an operator uses it: one-line errors, exit codes, nothing written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from orion_tui.cli import main
from tests.conftest import ROOT, file_state, run_sim


@pytest.fixture(scope="module")
def session_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("cli") / "orion.db")
    run_sim(db, 3_000, seed=21)
    return db


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orion_tui.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_summary_json_reports_total_and_excludes_deposit_from_pnl(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    run_sim(db, 2_000, seed=4)
    before = json.loads(_cli("summary", db, "--json").stdout)
    assert main(["capital", "deposit", "RLUSD", "40", "--db", db, "--note", "top-up"]) == 0
    after = json.loads(_cli("summary", db, "--json").stdout)
    for key in ("session_id", "mode", "started_at", "ended_at", "ticks", "fills",
                "ending_inventory", "trading_pnl_rlusd", "no_quote_reasons"):  # fmt: skip
        assert key in after
    for asset in ("XRP", "RLUSD"):
        row = after["ending_inventory"][asset]
        assert row["total"] == row["fills_only"] + row["overlay"]
    assert (
        after["ending_inventory"]["RLUSD"]["overlay"]
        == before["ending_inventory"]["RLUSD"]["overlay"] + 40
    )
    assert after["trading_pnl_rlusd"] == before["trading_pnl_rlusd"]
    assert set(after["fills"]) == {"BUY", "SELL"}
    assert set(after["no_quote_reasons"]) == {"BUY", "SELL"}


def test_summary_table_and_sessions(session_db: str) -> None:
    res = _cli("summary", session_db)
    assert res.returncode == 0
    assert "Ending inventory" in res.stdout and "trading P&L" in res.stdout
    assert "Why no quotes" in res.stdout
    res = _cli("sessions", session_db, "--json")
    rows = json.loads(res.stdout)
    assert rows[0]["ticks"] == 3_000 and rows[0]["status"] == "ended"
    assert "Sessions in" in _cli("sessions", session_db).stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["capital", "deposit", "BTC", "5"], "unknown asset"),
        (["capital", "deposit", "XRP", "0"], "greater than zero"),
        (["capital", "deposit", "XRP", "-5"], "greater than zero"),
        (["capital", "deposit", "XRP", "nan"], "finite"),
        (["capital", "deposit", "XRP", "inf"], "finite"),
        (["capital", "deposit", "XRP", "lots"], "not a number"),
        (["capital", "borrow", "XRP", "5"], "invalid choice"),
        (["capital", "withdraw", "XRP", "1000000"], "exceeds the total"),
    ],
)
def test_bad_capital_arguments(session_db: str, args: list[str], needle: str) -> None:
    before = file_state(session_db)
    res = _cli(*args, "--db", session_db)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    if "exceeds" in needle:
        conn = sqlite3.connect(f"file:{session_db}?mode=ro", uri=True)
        assert conn.execute("SELECT COUNT(*) FROM capital_events").fetchone()[0] == 0
        conn.close()
    else:
        assert file_state(session_db) == before


def test_capital_needs_an_existing_database(tmp_path: Path) -> None:
    res = _cli("capital", "deposit", "XRP", "5", "--db", str(tmp_path / "typo.db"))
    assert res.returncode == 1 and "no such database" in res.stderr
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize("sub", ["summary", "sessions"])
def test_bad_database_files_one_line(tmp_path: Path, sub: str) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite at all\n" * 20)
    res = _cli(sub, str(junk))
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    res = _cli(sub, str(tmp_path / "missing.db"))
    assert res.returncode == 1 and "no such database" in res.stderr


def test_summary_unknown_session(session_db: str) -> None:
    res = _cli("summary", session_db, "--session", "99")
    assert res.returncode == 1 and "no session 99" in res.stderr


def test_headless_run_prints_progress_and_summary(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    res = _cli("run", "--headless", "--ticks", "300", "--speed", "max", "--seed", "3", "--db", db)
    assert res.returncode == 0, res.stderr
    assert "300/300 ticks" in res.stdout
    assert "Ending inventory" in res.stdout


def test_live_without_flag_or_seed_exits_2(tmp_path: Path) -> None:
    res = _cli("run", "--headless", "--mode", "live", "--db", str(tmp_path / "l.db"))
    assert res.returncode == 2
    assert "--live-i-understand" in res.stderr and "ORION_WALLET_SEED" in res.stderr
    assert not (tmp_path / "l.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--speed", "fast"],
        ["run", "--ticks", "-4"],
        ["run", "--mode", "moon"],
        ["frobnicate"],
    ],
)
def test_bad_run_arguments(args: list[str]) -> None:
    res = _cli(*args)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("argv", "db", "mode", "speed"),
    [
        ([], "orion.db", None, 1.0),
        (["--db", "desk.db"], "desk.db", None, 1.0),
        (["--db", "desk.db", "--speed", "max", "--mode", "sim"], "desk.db", "sim", None),
        (["run", "--db", "desk.db"], "desk.db", None, 1.0),
    ],
)
def test_no_command_means_the_console(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], db: str, mode: str | None,
    speed: float | None,
) -> None:
    """`orion-tui` and `orion-tui --db FILE ...` start the console as `run` would."""
    from orion_tui import cli

    seen: list[object] = []
    monkeypatch.setitem(cli.COMMANDS, "run", lambda args, out, err: seen.append(args) or 0)
    assert main(argv) == 0
    (args,) = seen
    assert (args.db, args.mode, args.speed, args.headless) == (db, mode, speed, False)  # type: ignore[attr-defined]
