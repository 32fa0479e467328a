"""Schema, migrations and file checks shared by the writer and the read-only opener.

The schema is versioned with PRAGMA user_version; an Orion database is marked with
PRAGMA application_id so that a foreign SQLite file is recognised and left alone.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x4F52494F  # "ORIO"
SCHEMA_VERSION = 1


class StoreError(Exception):
    """A database that cannot be used; str() is one line that names the file."""


# Forward migrations: MIGRATIONS[i] takes user_version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id            INTEGER PRIMARY KEY,
        mode          TEXT NOT NULL,
        started_at    REAL NOT NULL,
        ended_at      REAL,
        status        TEXT NOT NULL DEFAULT 'running',
        seed          INTEGER,
        start_xrp_fo  REAL NOT NULL DEFAULT 0,
        start_rlusd_fo REAL NOT NULL DEFAULT 0,
        start_xrp_ov  REAL NOT NULL DEFAULT 0,
        start_rlusd_ov REAL NOT NULL DEFAULT 0,
        summary_json  TEXT
    );
    CREATE TABLE gate_shapes (
        id             INTEGER PRIMARY KEY,
        shape          TEXT NOT NULL UNIQUE
    );
    CREATE TABLE ticks (
        id             INTEGER PRIMARY KEY,  -- session_id * 2^32 + seq (see tick_id)
        session_id     INTEGER NOT NULL REFERENCES sessions(id),
        seq            INTEGER NOT NULL,
        ledger_index   INTEGER NOT NULL,
        ts             REAL NOT NULL,
        connected      INTEGER NOT NULL,
        book_ts        REAL,
        amm_ts         REAL,
        best_bid       REAL,
        best_ask       REAL,
        mid            REAL,
        amm_xrp        REAL,
        amm_rlusd      REAL,
        amm_fee        INTEGER,
        amm_price      REAL,
        anchor_mode    TEXT NOT NULL,
        anchor         REAL,
        cap_bps        REAL NOT NULL,
        cap_state      TEXT NOT NULL,
        divergence_bps REAL,
        displacement_bps REAL,
        buy_price      REAL,
        buy_size       REAL,
        buy_action     TEXT NOT NULL,
        buy_reason     TEXT,
        sell_price     REAL,
        sell_size      REAL,
        sell_action    TEXT NOT NULL,
        sell_reason    TEXT,
        gates          INTEGER NOT NULL REFERENCES gate_shapes(id),
        book           TEXT NOT NULL,
        live_orders    TEXT NOT NULL,
        numbers        BLOB NOT NULL,
        xrp_fo         REAL NOT NULL,
        xrp_ov         REAL NOT NULL,
        rlusd_fo       REAL NOT NULL,
        rlusd_ov       REAL NOT NULL,
        mark           REAL NOT NULL,
        halted         TEXT NOT NULL,
        fills_buy      INTEGER NOT NULL,
        fills_sell     INTEGER NOT NULL,
        check_ok       INTEGER NOT NULL,
        limits         TEXT NOT NULL
    );
    CREATE TABLE orders (
        order_id     TEXT PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions(id),
        side         TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        price        REAL NOT NULL,
        size         REAL NOT NULL,
        remaining    REAL NOT NULL,
        status       TEXT NOT NULL,
        placed_ts    REAL NOT NULL,
        updated_ts   REAL NOT NULL,
        sequence     INTEGER,
        replaced_by  TEXT,
        detail       TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX orders_session ON orders(session_id, status);
    CREATE TABLE fills (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions(id),
        fill_key     TEXT NOT NULL UNIQUE,
        order_id     TEXT NOT NULL,
        side         TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        price        REAL NOT NULL,
        size         REAL NOT NULL,
        fee_rlusd    REAL NOT NULL,
        ts           REAL NOT NULL,
        ledger_index INTEGER NOT NULL,
        seq          INTEGER
    );
    CREATE INDEX fills_session ON fills(session_id, seq);
    CREATE TABLE inventory_ledger (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER REFERENCES sessions(id),
        ts           REAL NOT NULL,
        asset        TEXT NOT NULL CHECK (asset IN ('XRP', 'RLUSD')),
        delta        REAL NOT NULL,
        new_balance  REAL NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('seed', 'fill')),
        fill_key     TEXT
    );
    CREATE INDEX ledger_asset ON inventory_ledger(asset, id);
    CREATE TABLE capital_events (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER REFERENCES sessions(id),
        ts           REAL NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'basis_commit')),
        asset        TEXT NOT NULL CHECK (asset IN ('XRP', 'RLUSD')),
        amount       REAL NOT NULL CHECK (amount > 0),
        note         TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE engine_state (
        key          TEXT PRIMARY KEY,
        value        TEXT NOT NULL,
        updated_ts   REAL NOT NULL
    );
    CREATE TABLE log (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER,
        ts           REAL NOT NULL,
        level        TEXT NOT NULL,
        source       TEXT NOT NULL,
        message      TEXT NOT NULL
    );
    CREATE INDEX log_session_ts ON log(session_id, ts);
    CREATE TABLE config_history (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER,
        ts           REAL NOT NULL,
        source       TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        changes_json TEXT NOT NULL,
        warnings     TEXT NOT NULL DEFAULT ''
    );
    """,
)
assert len(MIGRATIONS) == SCHEMA_VERSION

TABLES = (
    "sessions",
    "gate_shapes",
    "ticks",
    "orders",
    "fills",
    "inventory_ledger",
    "capital_events",
    "engine_state",
    "log",
    "config_history",
)


SEQ_BITS = 32


def tick_id(session_id: int, seq: int) -> int:
    """The ticks primary key: a session's ticks are one contiguous rowid range, so a
    point read is a rowid lookup and a tick needs no index of its own."""
    return (session_id << SEQ_BITS) | seq


def session_tick_range(session_id: int) -> tuple[int, int]:
    lo = session_id << SEQ_BITS
    return lo, lo | ((1 << SEQ_BITS) - 1)


def describe_sqlite_error(path: str, exc: sqlite3.Error) -> str:
    msg = str(exc) or exc.__class__.__name__
    if msg == "file is not a database":  # SQLite checked the 100-byte header
        return f"{path}: not a SQLite database (bad header); the file was not modified"
    if "not a database" in msg or "malformed" in msg:
        return f"{path}: not a usable SQLite database ({msg}); the file was not modified"
    if "locked" in msg or "busy" in msg:
        return f"{path}: database is locked by another writer ({msg})"
    return f"{path}: SQLite error: {msg}"


def inspect(conn: sqlite3.Connection, path: str) -> tuple[int, bool]:
    """(user_version, is_empty) of a connection; raises StoreError for foreign files."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(path, exc)) from None
    empty = not names and app_id == 0 and version == 0
    if empty:
        return 0, True
    if app_id != APPLICATION_ID:
        raise StoreError(
            f"{path}: not an Orion database (SQLite file with other tables); refusing to touch it"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: database schema v{version} is newer than this orion-tui supports "
            f"(v{SCHEMA_VERSION}); upgrade orion-tui"
        )
    return version, False


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring a writable connection to SCHEMA_VERSION, one migration per transaction."""
    version, _empty = inspect(conn, path)
    while version < SCHEMA_VERSION:
        script = MIGRATIONS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version += 1


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def quick_check(conn: sqlite3.Connection, path: str) -> None:
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(path, exc)) from None
    if [r[0] for r in rows] != ["ok"]:
        first = rows[0][0] if rows else "no result"
        raise StoreError(
            f"{path}: damaged database (quick_check: {first}); refusing to trade on it"
        )
