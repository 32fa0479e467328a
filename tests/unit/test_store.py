"""The store: migrations, checks, refusals, and a read-only opener that changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.models import CapitalEvent
from engine.store.readonly import open_readonly
from engine.store.schema import APPLICATION_ID, SCHEMA_VERSION, TABLES, StoreError
from engine.store.writer import Store, init_database
from tests.conftest import file_state


def _make_db(path: Path) -> None:
    async def go() -> None:
        store = await Store.open(str(path))
        await store.seed_ledger({"XRP": 1.0, "RLUSD": 2.0}, 1.0)
        sid = await store.begin_session("sim", 1.0, 7, (1.0, 2.0, 0.0, 0.0))
        store.log(sid, 1.0, "INFO", "test", "hello")
        await store.end_session(sid, 2.0, {"ok": True})
        await store.close()

    asyncio.run(go())


def test_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch()
    init_database(str(path))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert set(TABLES) <= names
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "fills_session" in indexes
    conn.close()
    init_database(str(path))  # idempotent


def test_path_with_uri_characters(tmp_path: Path) -> None:
    """'?', '#' and '%' in a file name are a file name, not URI syntax."""
    path = tmp_path / "desk 1?mode=rw#a%20b.db"

    async def go() -> int:
        store = await Store.open(str(path))
        try:
            await store.record_capital(None, CapitalEvent("deposit", "XRP", 5.0))
        finally:
            await store.close()
        store = await Store.open(str(path))  # reopened: the writability check reads it
        try:
            return len(await store.fetch_all("SELECT id FROM capital_events"))
        finally:
            await store.close()

    assert asyncio.run(go()) == 1
    conn = open_readonly(path)
    assert conn.execute("SELECT COUNT(*) FROM capital_events").fetchone()[0] == 1
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == [path.name]


def test_fill_key_is_unique(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    _make_db(path)
    conn = sqlite3.connect(path)
    row = (1, "tx:1", "o1", "BUY", 2.0, 1.0, 0.0, 1.0, 5, 1)
    sql = (
        "INSERT INTO fills (session_id, fill_key, order_id, side, price, size, fee_rlusd, ts,"
        " ledger_index, seq) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    conn.execute(sql, row)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(sql, row)
    conn.close()


def _corrupt(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(page * 2, min(len(data), page * 6)):
        data[off] = (data[off] * 7 + 13) & 0xFF
    path.write_bytes(bytes(data))


def test_quick_check_failure_stops_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    _make_db(path)
    _corrupt(path)
    before = file_state(path)
    with pytest.raises(StoreError) as err:
        init_database(str(path))
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert "damaged" in msg or "not a usable" in msg
    assert file_state(path) == before


def test_foreign_sqlite_file_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = file_state(path)
    for opener in (init_database, open_readonly):
        with pytest.raises(StoreError, match="not an Orion database"):
            opener(str(path))
    assert file_state(path) == before


def test_newer_schema_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    _make_db(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = file_state(path)
    for opener in (init_database, open_readonly):
        with pytest.raises(StoreError, match="newer than this orion-tui supports"):
            opener(str(path))
    assert file_state(path) == before


@pytest.mark.parametrize(
    "content", [b"hello, not a database\n" * 50, b"SQLite format 3\x00" + b"\xff" * 300]
)
def test_non_sqlite_and_truncated_files_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(content)
    before = file_state(path)
    for opener in (init_database, open_readonly):
        with pytest.raises(StoreError) as err:
            opener(str(path))
        assert "\n" not in str(err.value)
    assert file_state(path) == before


def test_readonly_opener_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    _make_db(path)
    assert not Path(f"{path}-wal").exists()
    before = file_state(path)
    listing = sorted(os.listdir(tmp_path))
    conn = open_readonly(path)
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO log (ts, level, source, message) VALUES (1, 'x', 'y', 'z')")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("PRAGMA query_only=OFF")
        conn.execute("DELETE FROM log")
    conn.close()
    assert file_state(path) == before
    assert sorted(os.listdir(tmp_path)) == listing


def test_readonly_opener_in_readonly_directory(tmp_path: Path) -> None:
    """A real read-only directory: a read-only bind mount in a private mount namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: cannot make a read-only mount")
    ro_dir = tmp_path / "ro"
    ro_dir.mkdir()
    path = ro_dir / "orion.db"
    _make_db(path)
    before = file_state(path)
    root = str(Path(__file__).resolve().parents[2])
    script = "\n".join(
        [
            "import sys",
            f"sys.path.insert(0, {root!r})",
            "from engine.store.readonly import open_readonly",
            f"conn = open_readonly({str(path)!r})",
            "print(conn.execute('SELECT COUNT(*) FROM sessions').fetchone()[0])",
        ]
    )
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespaces here: {probe.stderr.strip()}")
    cmd = (
        f"mount --bind -o ro {ro_dir} {ro_dir} && touch {ro_dir}/probe 2>/dev/null;"
        f' test ! -e {ro_dir}/probe && {sys.executable} -c "$SCRIPT"'
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", cmd],
        capture_output=True,
        text=True,
        env={**os.environ, "SCRIPT": script},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert file_state(path) == before
    assert os.listdir(ro_dir) == ["orion.db"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such database"):
        open_readonly(tmp_path / "nope.db")
    with pytest.raises(StoreError, match="directory"):
        open_readonly(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        init_database(str(tmp_path / "missing" / "x.db"))


def test_locked_by_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    _make_db(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:

        async def go() -> None:
            store = await Store.open(str(path), busy_timeout=0.2)
            try:
                await store.record_capital(None, CapitalEvent("deposit", "XRP", 1.0))
            finally:
                await store._conn.close()

        with pytest.raises((StoreError, sqlite3.OperationalError)) as err:
            asyncio.run(go())
        assert "locked" in str(err.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# ---- the writer process ---------------------------------------------------------


def _alive(pid: int) -> bool:
    """True while pid runs (a zombie waiting for its reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_writer_process_ends_with_the_store(tmp_path: Path) -> None:
    async def go() -> int:
        store = await Store.open(str(tmp_path / "w.db"))
        pid = store._conn._proc.pid
        assert pid != os.getpid() and _alive(pid)
        await store.record_capital(None, CapitalEvent("deposit", "XRP", 1.0))
        await store.close()
        return pid

    assert _wait_dead(asyncio.run(go()))


def test_failed_read_reports_sqlite_and_writes_go_on(tmp_path: Path) -> None:
    async def go() -> list[tuple[int]]:
        store = await Store.open(str(tmp_path / "r.db"))
        try:
            with pytest.raises(StoreError, match="no such column: nope"):
                await store.fetch_all("SELECT nope FROM capital_events")
            await store.record_capital(None, CapitalEvent("deposit", "XRP", 1.0))
            return await store.fetch_all("SELECT COUNT(*) FROM capital_events")
        finally:
            await store.close()

    assert asyncio.run(go()) == [(1,)]


def test_failed_write_stops_later_writes(tmp_path: Path) -> None:
    """After a transaction fails nothing later is written: the file stays a prefix."""

    async def go() -> None:
        store = await Store.open(str(tmp_path / "f.db"))
        try:
            with pytest.raises(StoreError, match="no such table"):
                await store._write([("INSERT INTO nowhere VALUES (?)", (1,))])
            with pytest.raises(StoreError, match="write failed; nothing after it"):
                await store.record_capital(None, CapitalEvent("deposit", "XRP", 1.0))
        finally:
            with contextlib.suppress(StoreError):
                await store.close()

    asyncio.run(go())
    conn = sqlite3.connect(tmp_path / "f.db")
    assert conn.execute("SELECT COUNT(*) FROM capital_events").fetchone()[0] == 0
    conn.close()


KILLED_ENGINE = """
import asyncio, sys, time
from engine.models import CapitalEvent
from engine.store.writer import Store

async def go():
    store = await Store.open(sys.argv[1])
    await store.record_capital(None, CapitalEvent("deposit", "XRP", 1.0))
    print(store._conn._proc.pid, flush=True)
    time.sleep(60)

asyncio.run(go())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal")
def test_writer_process_dies_with_a_killed_engine(tmp_path: Path) -> None:
    """kill -9 of the engine leaves no writer behind to commit after a restart."""
    db = tmp_path / "k.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_ENGINE, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        worker_pid = int(proc.stdout.readline())
        assert _alive(worker_pid)
    finally:
        proc.kill()
        proc.wait()
    assert _wait_dead(worker_pid)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert conn.execute("SELECT COUNT(*) FROM capital_events").fetchone()[0] == 1
    conn.close()
