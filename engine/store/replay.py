"""Read-only access to one recorded session, tick by tick, for replay.

Every read is an indexed point or range read: a replay never loads a session into
memory, so opening and stepping cost the same on a 1,000-tick and a 1,000,000-tick
database. The connection comes from `open_readonly` (mode=ro + query_only).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from engine.events import LogEvent, TickEvent
from engine.models import Fill
from engine.store.readonly import open_readonly
from engine.store.schema import StoreError, session_tick_range, tick_id
from engine.store.ticks import SELECT_TICK, tick_from_row
from engine.summary import list_sessions, why_no_fills

SIDE_COL = {"BUY": "buy", "SELL": "sell"}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: int
    mode: str
    status: str
    started_at: float
    ended_at: float | None
    ticks: int
    fills: int


@dataclass(frozen=True, slots=True)
class TickBounds:
    first_seq: int
    last_seq: int
    first_ts: float
    last_ts: float
    first_ledger: int
    last_ledger: int

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1 if self.last_seq >= self.first_seq else 0


class ReplaySource:
    """One database opened read-only; methods read one session at a time."""

    def __init__(self, path: str | Path, *, follow: bool = False) -> None:
        self.path = str(path)
        self.follow = follow
        self.conn: sqlite3.Connection = open_readonly(path, follow=follow)

    def close(self) -> None:
        self.conn.close()

    # -- sessions ---------------------------------------------------------------

    def sessions(self) -> list[SessionInfo]:
        return [
            SessionInfo(r["session_id"], r["mode"], r["status"], r["started_at"],
                        r["ended_at"], r["ticks"], r["fills"])
            for r in list_sessions(self.conn)
        ]  # fmt: skip

    def bounds(self, session_id: int) -> TickBounds | None:
        lo, hi = session_tick_range(session_id)
        first_id, last_id = self.conn.execute(
            "SELECT MIN(id), MAX(id) FROM ticks WHERE id BETWEEN ? AND ?", (lo, hi)
        ).fetchone()
        if first_id is None:
            return None
        first = self.conn.execute(
            "SELECT seq, ts, ledger_index FROM ticks WHERE id = ?", (first_id,)
        ).fetchone()
        last = self.conn.execute(
            "SELECT seq, ts, ledger_index FROM ticks WHERE id = ?", (last_id,)
        ).fetchone()
        return TickBounds(first[0], last[0], first[1], last[1], first[2], last[2])

    # -- one tick -----------------------------------------------------------------

    def tick(self, session_id: int, seq: int) -> TickEvent | None:
        row = self.conn.execute(
            SELECT_TICK + " WHERE t.id = ?", (tick_id(session_id, seq),)
        ).fetchone()
        if row is None:
            return None
        return tick_from_row(row, self.fills_at(session_id, seq))

    def fills_at(self, session_id: int, seq: int) -> tuple[Fill, ...]:
        return tuple(
            Fill(*r)
            for r in self.conn.execute(
                "SELECT fill_key, order_id, side, price, size, fee_rlusd, ts, ledger_index"
                " FROM fills WHERE session_id = ? AND seq = ? ORDER BY id",
                (session_id, seq),
            )
        )

    def recent_fills(self, session_id: int, seq: int, limit: int = 50) -> list[Fill]:
        """Fills up to and including tick `seq`, newest first."""
        return [
            Fill(*r)
            for r in self.conn.execute(
                "SELECT fill_key, order_id, side, price, size, fee_rlusd, ts, ledger_index"
                " FROM fills WHERE session_id = ? AND seq <= ? ORDER BY seq DESC, id DESC"
                " LIMIT ?",
                (session_id, seq, limit),
            )
        ]

    def divergences(self, session_id: int, seq: int, window: int) -> list[float]:
        """Divergence bps of the `window` ticks ending at `seq` (oldest first)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT divergence_bps FROM ticks WHERE id > ? AND id <= ?"
                " AND divergence_bps IS NOT NULL ORDER BY id",
                (tick_id(session_id, max(seq - window, 0)), tick_id(session_id, seq)),
            )
        ]

    def logs_until(self, session_id: int, ts: float, limit: int = 200) -> list[LogEvent]:
        """The last `limit` log lines written at or before ts, oldest first."""
        rows = self.conn.execute(
            "SELECT ts, level, message, source FROM log WHERE session_id = ? AND ts <= ?"
            " ORDER BY ts DESC, id DESC LIMIT ?",
            (session_id, ts, limit),
        ).fetchall()
        return [LogEvent(r[0], r[1], r[2], r[3]) for r in reversed(rows)]

    # -- navigation -------------------------------------------------------------------

    def _search(self, session_id: int, column: str, target: float) -> int | None:
        """The last tick whose `column` (non-decreasing in seq: ts, ledger_index) is
        <= target, by binary search over seq: ~20 rowid reads for a million ticks, no
        index on the column needed. Before the first tick: the first tick."""
        b = self.bounds(session_id)
        if b is None:
            return None
        lo, hi = b.first_seq, b.last_seq
        sql = f"SELECT {column} FROM ticks WHERE id = ?"
        if self.conn.execute(sql, (tick_id(session_id, lo),)).fetchone()[0] > target:
            return lo
        while lo < hi:
            mid = (lo + hi + 1) // 2
            row = self.conn.execute(sql, (tick_id(session_id, mid),)).fetchone()
            if row is not None and row[0] <= target:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def seq_at_time(self, session_id: int, ts: float) -> int | None:
        """The last tick at or before ts (the first tick if ts is before the session)."""
        return self._search(session_id, "ts", ts)

    def seq_at_ledger(self, session_id: int, ledger_index: int) -> int | None:
        """The last tick at or before a ledger index."""
        return self._search(session_id, "ledger_index", ledger_index)

    def next_with_reason(
        self, session_id: int, side: str, reason: str, after_seq: int
    ) -> int | None:
        """The next tick after `after_seq` on which `side` did not quote because of `reason`."""
        col = SIDE_COL[side]
        _, hi = session_tick_range(session_id)
        row = self.conn.execute(
            f"SELECT seq FROM ticks WHERE id > ? AND id <= ? AND {col}_reason = ?"
            f" AND {col}_action IN ('cancel', 'none') ORDER BY id LIMIT 1",
            (tick_id(session_id, after_seq), hi, reason),
        ).fetchone()
        return row[0] if row else None

    def why_no_fills(self, session_id: int) -> dict:
        return why_no_fills(self.conn, session_id)


def open_replay(path: str | Path, *, follow: bool = False) -> ReplaySource:
    """Open for replay; StoreError (one line) for anything unusable."""
    src = ReplaySource(path, follow=follow)
    if not src.sessions():
        src.close()
        raise StoreError(f"{path}: no session recorded in this database yet")
    return src
