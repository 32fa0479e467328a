"""Recorded session databases for the replay tests, built once per test run.

The sims run in a child process: run_sim uses asyncio.run(), which would leave the
test process without a current event loop (the snapshot tests' pitfall). The files
live under pytest's base temp dir and are built only if missing, so test modules
that import these fixtures share one build. Same seed, same config: same bytes of
tick data, hence deterministic snapshots.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

REPLAY_TICKS = 2000
REPLAY_SEED = 7
# Two sessions in one database: (ticks, seed) each.
TWO_SESSIONS = ((300, 7), (200, 8))

# Run in the databases' directory with relative names: the engine logs the path it
# was given ("session 1 started: ... db replay.db"), and the log pane shows it.
_BUILD = """
import sys
sys.path.insert(0, {root!r})
from tests.conftest import run_sim
run_sim("replay.db", {ticks}, seed={seed})
for ticks, seed in {two_sessions!r}:
    run_sim("two.db", ticks, seed=seed)
"""


def build_replay_dbs(directory: Path) -> tuple[Path, Path]:
    """(one-session db, two-session db) in `directory`, built if missing."""
    one, two = directory / "replay.db", directory / "two.db"
    done = directory / "built"
    if not done.exists():
        directory.mkdir(parents=True, exist_ok=True)
        for p in (one, two):
            p.unlink(missing_ok=True)
        script = _BUILD.format(
            root=str(ROOT), ticks=REPLAY_TICKS, seed=REPLAY_SEED, two_sessions=TWO_SESSIONS
        )
        subprocess.run(
            [sys.executable, "-c", script], cwd=directory, check=True, capture_output=True,
            timeout=120,
        )  # fmt: skip
        done.write_text("ok")
    return one, two


@pytest.fixture(scope="session")
def replay_dbs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_replay_dbs(tmp_path_factory.getbasetemp() / "replay-dbs")


@pytest.fixture(scope="session")
def replay_db(replay_dbs: tuple[Path, Path]) -> Path:
    """One finished sim session of REPLAY_TICKS ticks (seed 7)."""
    return replay_dbs[0]


@pytest.fixture(scope="session")
def two_session_db(replay_dbs: tuple[Path, Path]) -> Path:
    """Two finished sim sessions (300 and 200 ticks) in one database."""
    return replay_dbs[1]
