"""`orion-tui replay DB` on databases it cannot replay: one line, exit 1, file untouched.

Each case runs the real CLI in a child process (all at once: they are independent),
and checks stderr is exactly one `orion-tui: ...` line with no traceback, stdout is
empty, the exit code is 1, and the file (and its directory) are exactly as before.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.store.writer import init_database
from tests.conftest import ROOT, file_state
from tests.replay_dbs import replay_db, replay_dbs

__all__ = ["replay_db", "replay_dbs"]  # session fixtures for pytest

# name -> (how to make the file from a good database, words the message must contain)
Maker = Callable[[Path, Path], None]


def _copy(good: Path, path: Path) -> None:
    shutil.copy(good, path)


def _damaged_first_page(good: Path, path: Path) -> None:
    """The schema page overwritten: SQLite cannot even list the tables."""
    data = bytearray(good.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)
    path.write_bytes(bytes(data))


def _truncated(good: Path, path: Path) -> None:
    """Cut short mid-file (a copy interrupted): the header is fine, later pages are not."""
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _foreign(good: Path, path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('not orion')")
    conn.commit()
    conn.close()


def _newer_schema(good: Path, path: Path) -> None:
    shutil.copy(good, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()


def _zero_bytes(good: Path, path: Path) -> None:
    path.write_bytes(b"")


def _sqlite_no_tables(good: Path, path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")  # writes a valid, empty database file
    conn.close()


def _orion_no_session(good: Path, path: Path) -> None:
    init_database(str(path))


CASES: dict[str, tuple[Maker | None, tuple[str, ...], tuple[str, ...]]] = {
    # name: (maker or None for a missing file, extra CLI args, words in the message)
    "damaged": (_damaged_first_page, (), ("not a usable SQLite database", "not modified")),
    "truncated": (_truncated, (), ("not a usable SQLite database",)),
    "foreign": (_foreign, (), ("not an Orion database",)),
    "newer-schema": (_newer_schema, (), ("schema v99 is newer",)),
    "missing": (None, (), ("no such database file",)),
    "empty-zero-bytes": (_zero_bytes, (), ("not a SQLite database",)),
    "empty-sqlite": (_sqlite_no_tables, (), ("empty database",)),
    "empty-orion": (_orion_no_session, (), ("no session recorded",)),
    "unknown-session": (_copy, ("--session", "9"), ("no session 9",)),
}


@pytest.fixture(scope="module")
def outcomes(
    replay_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[subprocess.CompletedProcess[str], object, object, list[str], list[str]]]:
    """Every case run at once; per case: the process, file state before / after, and
    the directory listing before / after."""
    base = tmp_path_factory.mktemp("replay-cli")
    prepared = {}
    for name, (maker, args, _words) in CASES.items():
        directory = base / name
        directory.mkdir()
        path = directory / "orion.db"
        if maker is not None:
            maker(replay_db, path)
            os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        before = file_state(path) if path.exists() else None
        listing = sorted(os.listdir(directory))
        proc = subprocess.Popen(
            [sys.executable, "-m", "orion_tui.cli", "replay", str(path), *args],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        prepared[name] = (proc, path, before, listing, directory)
    out = {}
    for name, (proc, path, before, listing, directory) in prepared.items():
        try:
            stdout, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            pytest.fail(f"{name}: the replay started instead of refusing the file")
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        after = file_state(path) if path.exists() else None
        out[name] = (done, before, after, listing, sorted(os.listdir(directory)))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_unusable_database_is_one_line_and_exit_1(
    name: str,
    outcomes: dict[str, tuple[subprocess.CompletedProcess[str], object, object, list, list]],
) -> None:
    done, before, after, listing_before, listing_after = outcomes[name]
    words = CASES[name][2]
    lines = done.stderr.splitlines()
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("orion-tui: "), lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
    for word in words:
        assert word in lines[0], lines[0]
    assert after == before  # byte-identical, same size and mtime (or still missing)
    assert listing_after == listing_before  # no -wal / -shm / journal left behind
