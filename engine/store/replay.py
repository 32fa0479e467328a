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
from engine.store.schema import StoreError, describe_sqlite_error, session_tick_range, tick_id
from engine.store.ticks import SELECT_TICK, tick_from_row
from engine.summary import why_no_fills

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

    def clone(self) -> ReplaySource:
        """An independent connection to the same file, for a worker thread: a long scan
        on a shared connection would hold its mutex and stall the UI thread's reads."""
        return ReplaySource(self.path, follow=self.follow)

    # -- sessions ---------------------------------------------------------------

    def sessions(self) -> list[SessionInfo]:
        """Every session with its tick and fill counts. Not engine.summary.list_sessions:
        its MAX(id) - MIN(id) in one SELECT scans the session's ticks (0.4 s for a
        million), where two separate MIN / MAX subqueries are two rowid seeks."""
        rows = self.conn.execute(
            "SELECT s.id, s.mode, s.status, s.started_at, s.ended_at,"
            " (SELECT MIN(t.id) FROM ticks t WHERE t.id BETWEEN s.id * 4294967296"
            "  AND s.id * 4294967296 + 4294967295),"
            " (SELECT MAX(t.id) FROM ticks t WHERE t.id BETWEEN s.id * 4294967296"
            "  AND s.id * 4294967296 + 4294967295),"
            " (SELECT COUNT(*) FROM fills f WHERE f.session_id = s.id)"
            " FROM sessions s ORDER BY s.id"
        ).fetchall()
        return [
            SessionInfo(sid, mode, status, started, ended,
                        0 if first is None else last - first + 1, fills)
            for sid, mode, status, started, ended, first, last, fills in rows
        ]  # fmt: skip

    def latest_session_id(self) -> int | None:
        """The newest session's id: one index read, cheap enough to poll (follow mode)."""
        row = self.conn.execute("SELECT MAX(id) FROM sessions").fetchone()
        return row[0] if row else None

    def session_status(self, session_id: int) -> str | None:
        """running / stopped / crashed: one primary-key read (follow mode polls it)."""
        row = self.conn.execute("SELECT status FROM sessions WHERE id = ?", (session_id,))
        found = row.fetchone()
        return found[0] if found else None

    def bounds(self, session_id: int) -> TickBounds | None:
        lo, hi = session_tick_range(session_id)
        first_id, last_id = self.conn.execute(  # two seeks (one MIN, MAX pair would scan)
            "SELECT (SELECT MIN(id) FROM ticks WHERE id BETWEEN ?1 AND ?2),"
            " (SELECT MAX(id) FROM ticks WHERE id BETWEEN ?1 AND ?2)",
            (lo, hi),
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

    def fills_between(
        self, session_id: int, after_seq: int, upto_seq: int, limit: int
    ) -> list[Fill]:
        """Fills of ticks after_seq < seq <= upto_seq, oldest first, at most `limit`:
        what one step forward adds to the replay's log (or, backwards, takes away)."""
        return [
            Fill(*r)
            for r in self.conn.execute(
                "SELECT fill_key, order_id, side, price, size, fee_rlusd, ts, ledger_index"
                " FROM fills WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq, id"
                " LIMIT ?",
                (session_id, after_seq, upto_seq, limit),
            )
        ]

    def logs_between(
        self, session_id: int, after_ts: float, upto_ts: float, limit: int
    ) -> list[LogEvent]:
        """Log lines written after_ts < ts <= upto_ts, oldest first, at most `limit`."""
        rows = self.conn.execute(
            "SELECT ts, level, message, source FROM log WHERE session_id = ? AND ts > ?"
            " AND ts <= ? ORDER BY ts, id LIMIT ?",
            (session_id, after_ts, upto_ts, limit),
        ).fetchall()
        return [LogEvent(r[0], r[1], r[2], r[3]) for r in rows]

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
    try:
        sessions = src.sessions()  # the first read past the header pages
    except sqlite3.Error as exc:  # a damaged file fails here, not in open_readonly
        src.close()
        raise StoreError(describe_sqlite_error(str(path), exc)) from None
    if not sessions:
        src.close()
        raise StoreError(f"{path}: no session recorded in this database yet")
    return src
