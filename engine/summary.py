"""Session summary from the database: what a session ended holding and what it earned.

Ending inventory is reported per asset as fills_only / overlay / total, with the total
the number that matters (a summary that read only the last ledger row would show
fills-only and silently omit injected capital). Trading P&L comes from fills-only
deltas, so a deposit is never counted as profit; the revaluation of the inventory held
from the start is reported apart from it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from engine.inventory import InventoryManager
from engine.models import ASSETS, SIDES
from engine.store.schema import session_tick_range

NO_QUOTE_ACTIONS = ("cancel", "none")


class SummaryError(LookupError):
    """No such session (one-line message)."""


def list_sessions(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT s.id, s.mode, s.started_at, s.ended_at, s.status,"
        # MIN and MAX in separate subqueries: together in one they scan every row.
        " (SELECT MAX(t.id) FROM ticks t WHERE t.id BETWEEN"
        "  s.id * 4294967296 AND s.id * 4294967296 + 4294967295)"
        " - (SELECT MIN(t.id) FROM ticks t WHERE t.id BETWEEN"
        "  s.id * 4294967296 AND s.id * 4294967296 + 4294967295) + 1,"
        " (SELECT COUNT(*) FROM fills f WHERE f.session_id = s.id)"
        " FROM sessions s ORDER BY s.id"
    ).fetchall()
    return [
        {"session_id": r[0], "mode": r[1], "started_at": r[2], "ended_at": r[3],
         "status": r[4], "ticks": r[5] or 0, "fills": r[6]}
        for r in rows
    ]  # fmt: skip


def tick_count(conn: sqlite3.Connection, session_id: int) -> int:
    """Ticks of a session: seq runs 1, 2, 3... without gaps, so this is two index reads."""
    first, last = tick_id_bounds(conn, session_id)
    return 0 if first is None or last is None else last - first + 1


def tick_id_bounds(conn: sqlite3.Connection, session_id: int) -> tuple[int | None, int | None]:
    """First and last tick id of a session: two index seeks (MIN and MAX in one query
    would make SQLite scan the whole session)."""
    lo, hi = session_tick_range(session_id)
    first = conn.execute("SELECT MIN(id) FROM ticks WHERE id BETWEEN ? AND ?", (lo, hi))
    last = conn.execute("SELECT MAX(id) FROM ticks WHERE id BETWEEN ? AND ?", (lo, hi))
    return first.fetchone()[0], last.fetchone()[0]


def latest_session_id(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT MAX(id) FROM sessions").fetchone()
    return row[0] if row else None


def no_quote_reasons(conn: sqlite3.Connection, session_id: int) -> dict[str, dict[str, int]]:
    """Per side, ticks on which the side had no order, by the first failing gate."""
    out: dict[str, dict[str, int]] = {}
    for side, col in (("BUY", "buy"), ("SELL", "sell")):
        rows = conn.execute(
            f"SELECT {col}_reason, COUNT(*) FROM ticks WHERE id BETWEEN ? AND ?"
            f" AND {col}_action IN ('cancel', 'none') GROUP BY {col}_reason"
            " ORDER BY COUNT(*) DESC, 1",
            session_tick_range(session_id),
        ).fetchall()
        out[side] = {(r[0] or "unknown"): r[1] for r in rows}
    return out


def why_no_fills(conn: sqlite3.Connection, session_id: int) -> dict[str, Any]:
    """The why-no-fills table: per side, count and share of ticks per no-quote reason,
    ticks quoting, and fills over the session."""
    total = tick_count(conn, session_id)
    reasons = no_quote_reasons(conn, session_id)
    fills = dict(
        conn.execute(
            "SELECT side, COUNT(*) FROM fills WHERE session_id = ? GROUP BY side", (session_id,)
        ).fetchall()
    )
    out: dict[str, Any] = {"ticks": total, "sides": {}}
    for side in SIDES:
        blocked = sum(reasons[side].values())
        out["sides"][side] = {
            "quoting_ticks": total - blocked,
            "fills": fills.get(side, 0),
            "reasons": {
                r: {"ticks": n, "share": (n / total if total else 0.0)}
                for r, n in reasons[side].items()
            },
        }
    return out


def _overlay_until(conn: sqlite3.Connection, ts: float | None) -> dict[str, float]:
    """Overlay per asset from capital events up to ts (all of them when ts is None),
    applied in id order by the InventoryManager itself, so the figures agree exactly."""
    sql = "SELECT kind, asset, amount FROM capital_events"
    params: tuple[Any, ...] = ()
    if ts is not None:
        sql += " WHERE ts <= ?"
        params = (ts,)
    rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    return InventoryManager.rebuild({}, rows).overlay


def build_summary(conn: sqlite3.Connection, session_id: int | None = None) -> dict[str, Any]:
    """One stable object describing a session (the latest when session_id is None)."""
    if session_id is None:
        session_id = latest_session_id(conn)
        if session_id is None:
            raise SummaryError("the database holds no session yet")
    row = conn.execute(
        "SELECT id, mode, started_at, ended_at, status, seed, start_xrp_fo, start_rlusd_fo,"
        " start_xrp_ov, start_rlusd_ov FROM sessions WHERE id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        raise SummaryError(f"no session {session_id} in this database")
    _, mode, started_at, ended_at, status, seed, sx_fo, sr_fo, sx_ov, sr_ov = row
    is_latest = latest_session_id(conn) == session_id

    first_id, last_id = tick_id_bounds(conn, session_id)
    n_ticks = 0 if first_id is None or last_id is None else last_id - first_id + 1
    first_mark = last_mark = None
    last_ts = None
    if n_ticks:
        first_mark = conn.execute("SELECT mark FROM ticks WHERE id = ?", (first_id,)).fetchone()[0]
        last_mark, last_ts = conn.execute(
            "SELECT mark, ts FROM ticks WHERE id = ?", (last_id,)
        ).fetchone()

    # Fills-only at the end: the last ledger row this session wrote, else the start.
    end_fo = {"XRP": sx_fo, "RLUSD": sr_fo}
    for asset, bal in conn.execute(
        "SELECT asset, new_balance FROM inventory_ledger WHERE id IN (SELECT MAX(id) FROM"
        " inventory_ledger WHERE session_id = ? GROUP BY asset)",
        (session_id,),
    ):
        end_fo[asset] = bal
    if is_latest:
        # The account's current state is the latest session's end state.
        for asset, bal in conn.execute(
            "SELECT asset, new_balance FROM inventory_ledger WHERE id IN"
            " (SELECT MAX(id) FROM inventory_ledger GROUP BY asset)"
        ):
            end_fo[asset] = bal
    end_ov = _overlay_until(conn, None if is_latest else (ended_at or last_ts or started_at))
    ending = {
        a: {
            "fills_only": end_fo[a],
            "overlay": end_ov[a],
            "total": end_fo[a] + end_ov[a],
        }
        for a in ASSETS
    }

    fills: dict[str, dict[str, float]] = {}
    fees_total = 0.0
    for side in SIDES:
        count, volume, notional, fees = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(size * price), 0),"
            " COALESCE(SUM(fee_rlusd), 0) FROM fills WHERE session_id = ? AND side = ?",
            (session_id, side),
        ).fetchone()
        fills[side] = {
            "count": count,
            "volume_xrp": volume,
            "notional_rlusd": notional,
            "fees_rlusd": fees,
        }
        fees_total += fees

    mark_end = last_mark if last_mark is not None else 0.0
    mark_start = first_mark if first_mark is not None else mark_end
    trading_pnl = (end_fo["RLUSD"] - sr_fo) + (end_fo["XRP"] - sx_fo) * mark_end
    revaluation = sx_fo * (mark_end - mark_start)
    capital = conn.execute(
        "SELECT kind, asset, COUNT(*), SUM(amount) FROM capital_events"
        " WHERE session_id = ? GROUP BY kind, asset ORDER BY kind, asset",
        (session_id,),
    ).fetchall()
    return {
        "session_id": session_id,
        "mode": mode,
        "status": status,
        "seed": seed,
        "started_at": started_at,
        "ended_at": ended_at,
        "ticks": n_ticks,
        "fills": fills,
        "fees_rlusd": fees_total,
        "starting_inventory": {
            "XRP": {"fills_only": sx_fo, "overlay": sx_ov, "total": sx_fo + sx_ov},
            "RLUSD": {"fills_only": sr_fo, "overlay": sr_ov, "total": sr_fo + sr_ov},
        },
        "ending_inventory": ending,
        "mark_start": mark_start,
        "mark_end": mark_end,
        "trading_pnl_rlusd": trading_pnl,
        "revaluation_rlusd": revaluation,
        "capital_events": [
            {"kind": k, "asset": a, "count": c, "amount": s} for k, a, c, s in capital
        ],
        "no_quote_reasons": no_quote_reasons(conn, session_id),
    }
