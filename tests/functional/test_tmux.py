"""orion-tui in a real terminal (tmux): start, panes fill, h halts, ? helps, quit
leaves nothing behind; and a lost terminal (SIGHUP) halts, cancels and exits."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed: no real terminal to drive"
)
ORION = str(Path(sys.executable).parent / "orion-tui")


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=False, timeout=20
    ).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-t", session, "-p")


def _wait_for(session: str, needle: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen(session)
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; screen was:\n{screen}")


def _pids(db: str) -> list[str]:
    """orion-tui processes on this database (not tmux or the shell, whose command
    lines carry the same words)."""
    out = subprocess.run(["pgrep", "-f", "--", f"run --db {db}"], capture_output=True, text=True)
    pids = []
    for pid in out.stdout.split():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if not comm.startswith(("tmux", "bash", "sh", "sleep")):
            pids.append(pid)
    return pids


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[str, str]]:
    name = f"orion-{uuid.uuid4().hex[:8]}"
    db = str(tmp_path / "tmux.db")
    cmd = f"cd {ROOT} && {ORION} run --db {db} --speed 20; sleep 30"
    _tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", cmd)
    yield name, db
    _tmux("kill-session", "-t", name)


def _open_orders(db: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'open'").fetchone()[0]
    finally:
        conn.close()


def test_console_in_a_real_terminal(session: tuple[str, str]) -> None:
    name, db = session
    screen = _wait_for(name, "Quote ladder")
    for pane in ("Guards", "Inventory", "AMM vs mid", "Log"):
        assert pane in screen
    screen = _wait_for(name, "─ mid")  # the ladder shows the book and its mid
    screen = _wait_for(name, "fills-only")
    assert "fills-only" in screen and "overlay" in screen and "total" in screen
    _tmux("send-keys", "-t", name, "h")
    screen = _wait_for(name, "HALTED")
    assert "HALTED: ALL" in screen
    _tmux("send-keys", "-t", name, "?")
    screen = _wait_for(name, "Orion console keys")
    assert "Halt" in screen
    _tmux("send-keys", "-t", name, "Escape")
    time.sleep(0.5)
    _tmux("send-keys", "-t", name, "q")
    time.sleep(0.5)
    if "Quit?" in _screen(name):
        _tmux("send-keys", "-t", name, "y")
    deadline = time.monotonic() + 20
    while _pids(db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pids(db) == [], "orion-tui still running after quit"
    assert _open_orders(db) == 0


def test_lost_terminal_halts_and_exits(session: tuple[str, str]) -> None:
    name, db = session
    _wait_for(name, "Quote ladder")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if _open_orders(db) > 0:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    _tmux("kill-session", "-t", name)  # the terminal goes away: SIGHUP
    deadline = time.monotonic() + 20
    while _pids(db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pids(db) == [], "orion-tui survived the loss of its terminal"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    status = conn.execute("SELECT status FROM sessions ORDER BY id DESC").fetchone()[0]
    halted = conn.execute("SELECT value FROM engine_state WHERE key = 'halt'").fetchone()
    logs = [r[0] for r in conn.execute("SELECT message FROM log")]
    conn.close()
    assert status == "ended", logs
    assert _open_orders(db) == 0
    assert halted is not None and '"all": true' in halted[0]
    assert any("SIGHUP" in m for m in logs)
