"""Read-only access to an Orion database, enforced by SQLite itself.

Replay, summary and the session list open the file with a mode=ro URI and
PRAGMA query_only=ON, so no code path can write to it. A database with no -wal file
beside it is opened immutable, which also keeps SQLite from creating -wal/-shm files
(and lets it work in a read-only directory); a database with a -wal file (an engine
is writing it, or one died) is opened plainly read-only so the WAL is honoured.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from engine.store.schema import SCHEMA_VERSION, StoreError, describe_sqlite_error, inspect


def open_readonly(path: str | Path, *, follow: bool = False) -> sqlite3.Connection:
    """Open an Orion database read-only; StoreError (one line) for anything unusable.

    follow=True is for tailing a database that a running engine writes: it never
    uses immutable mode, so new commits become visible.
    """
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise StoreError(f"{name}: no such database file")
    if p.is_dir():
        raise StoreError(f"{name}: is a directory, not a database file")
    # The header is left to SQLite ("file is not a database"): reading the file here
    # and closing it would drop every POSIX lock this process holds on it, including
    # those of SQLite connections already open, and another process could then
    # checkpoint and delete the WAL under them.
    if p.stat().st_size == 0:
        raise StoreError(f"{name}: not a SQLite database (empty file)")
    wal = Path(f"{p}-wal")
    uri = f"file:{quote(str(p.resolve()))}?mode=ro"
    if not follow and not wal.exists():
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        version, empty = inspect(conn, name)
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(name, exc)) from None
    except StoreError:
        conn.close()
        raise
    if empty or version < SCHEMA_VERSION:
        conn.close()
        if empty:
            raise StoreError(f"{name}: empty database (no Orion session recorded)")
        raise StoreError(
            f"{name}: schema v{version} is older than v{SCHEMA_VERSION}; "
            "open it once with the engine to migrate"
        )
    return conn
