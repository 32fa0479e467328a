"""The `orion-tui` command line: the console, headless runs, replay and store tools.

Every error an operator can cause ends in one line and a non-zero exit, never a
traceback: 2 for bad arguments, 1 for a file or database that cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Sequence
from typing import NoReturn

from rich.console import Console

DEFAULT_DB = "orion.db"
ASSETS = ("XRP", "RLUSD")
CAPITAL_KINDS = {"deposit": "deposit", "withdraw": "withdrawal", "basis": "basis_commit"}


class UsageError(Exception):
    """Bad arguments: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"orion-tui: error: {message} (see {self.prog} -h)\n")


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"speed must be a number or 'max', not {value!r}"
        ) from None
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError(f"speed must be positive, not {value!r}")
    return speed


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {value!r}")
    return n


def _amount(value: str) -> float:
    try:
        amount = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"amount {value!r} is not a number") from None
    if not math.isfinite(amount):
        raise argparse.ArgumentTypeError(f"amount {value!r} is not a finite number")
    if amount <= 0:
        raise argparse.ArgumentTypeError(f"amount {value!r} must be greater than zero")
    return amount


def _asset(value: str) -> str:
    up = value.upper()
    if up not in ASSETS:
        raise argparse.ArgumentTypeError(f"unknown asset {value!r}: use XRP or RLUSD")
    return up


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=("sim", "paper", "live"), default=None)
    p.add_argument("--db", default=DEFAULT_DB, help=f"SQLite database (default {DEFAULT_DB})")
    p.add_argument("--config", default=None, help="config file (default config/orion.toml)")
    p.add_argument("--ticks", type=_positive_int, default=None, help="stop after N ticks")
    p.add_argument("--speed", type=_speed, default=1.0, help="sim speed: 1, 10, ... or max")
    p.add_argument("--seed", type=int, default=None, help="sim seed (default from config)")
    p.add_argument("--node", default=None, help="XRPL node WebSocket URL (paper, live)")
    p.add_argument("--live-i-understand", action="store_true", help="allow real orders")


def build_parser() -> Parser:
    parser = Parser(prog="orion-tui", description="Orion XRP/RLUSD market maker console")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    run = sub.add_parser("run", help="run the engine (console, or --headless)")
    _add_run_options(run)
    run.add_argument("--headless", action="store_true", help="no UI: progress line and summary")

    summary = sub.add_parser("summary", help="session summary from a database")
    summary.add_argument("db")
    summary.add_argument("--session", type=_positive_int, default=None)
    summary.add_argument("--json", action="store_true")

    sessions = sub.add_parser("sessions", help="list the sessions in a database")
    sessions.add_argument("db")
    sessions.add_argument("--json", action="store_true")

    capital = sub.add_parser("capital", help="record a deposit, withdrawal or RLUSD basis")
    capital.add_argument("kind", choices=tuple(CAPITAL_KINDS))
    capital.add_argument("asset", type=_asset)
    capital.add_argument("amount", type=_amount)
    capital.add_argument("--db", required=True)
    capital.add_argument("--note", default="")

    check = sub.add_parser("check-config", help="validate a config file and review it")
    check.add_argument("file")
    check.add_argument("--against", default=None, help="current config to diff against")
    check.add_argument("--db", default=None, help="database for the inventory headroom")

    replay = sub.add_parser("replay", help="replay a session database read-only")
    replay.add_argument("db")
    replay.add_argument("--session", type=_positive_int, default=None)
    replay.add_argument("--follow", action="store_true", help="tail a database being written")
    return parser


def _load_config(path: str | None, err: Console) -> object | None:
    from engine.settings import ConfigError, load_config

    try:
        loaded = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"orion-tui: config: {problem}", highlight=False, markup=False)
        return None
    for warning in loaded.warnings:
        err.print(f"orion-tui: config warning: {warning}", highlight=False, markup=False)
    return loaded


def _make_engine(args: argparse.Namespace, err: Console) -> object | None:
    from engine.loop import Engine
    from engine.settings import ConfigError, load_wallet_seed

    loaded = _load_config(args.config, err)
    if loaded is None:
        return None
    try:
        seed = load_wallet_seed()
    except ConfigError as exc:
        err.print(f"orion-tui: {exc.problems[0]}", highlight=False, markup=False)
        return None
    mode = args.mode or loaded.settings.market.mode  # type: ignore[attr-defined]
    if mode == "live":
        missing = []
        if not args.live_i_understand:
            missing.append("--live-i-understand")
        if seed is None:
            missing.append("a wallet seed in ORION_WALLET_SEED or ORION_WALLET_SEED_FILE")
        if missing:
            err.print(f"orion-tui: live mode needs {' and '.join(missing)}", highlight=False)
            raise SystemExit(2)
    return Engine(
        loaded,  # type: ignore[arg-type]
        args.db,
        mode=mode,
        seed=args.seed,
        speed=args.speed,
        max_ticks=args.ticks,
        node=args.node,
        wallet_seed=seed,
        live_confirmed=args.live_i_understand,
    )


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    engine = _make_engine(args, err)
    if engine is None:
        return 1
    if args.headless:
        from orion_tui.headless import run_headless

        return asyncio.run(run_headless(engine, out))  # type: ignore[arg-type]
    from orion_tui.app import run_console

    return run_console(engine)


def cmd_summary(args: argparse.Namespace, out: Console, err: Console) -> int:
    from engine.store.readonly import open_readonly
    from engine.summary import build_summary
    from orion_tui.summary_view import render_summary

    conn = open_readonly(args.db)
    try:
        summary = build_summary(conn, args.session)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        render_summary(summary, out)
    return 0


def cmd_sessions(args: argparse.Namespace, out: Console, err: Console) -> int:
    from rich.table import Table

    from engine.store.readonly import open_readonly
    from engine.summary import list_sessions
    from orion_tui.summary_view import _ts

    conn = open_readonly(args.db)
    try:
        rows = list_sessions(conn)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(rows, sort_keys=True))
        return 0
    table = Table(title=f"Sessions in {args.db}", title_justify="left")
    for col in ("id", "mode", "status", "started", "ended", "ticks", "fills"):
        table.add_column(col, justify="right" if col in ("id", "ticks", "fills") else "left")
    for r in rows:
        table.add_row(
            str(r["session_id"]), r["mode"], r["status"], _ts(r["started_at"]),
            _ts(r["ended_at"]), f"{r['ticks']:,}", f"{r['fills']:,}",
        )  # fmt: skip
    out.print(table)
    return 0


def cmd_capital(args: argparse.Namespace, out: Console, err: Console) -> int:
    from orion_tui.capital_cli import record_capital

    return record_capital(
        args.db, CAPITAL_KINDS[args.kind], args.asset, args.amount, args.note, out, err
    )


def cmd_check_config(args: argparse.Namespace, out: Console, err: Console) -> int:
    from orion_tui.check_config import run

    return run(args.file, args.against, args.db, out)


def cmd_replay(args: argparse.Namespace, out: Console, err: Console) -> int:
    from orion_tui.replay_app import run_replay

    return run_replay(args.db, session_id=args.session, follow=args.follow)


COMMANDS = {
    "run": cmd_run,
    "summary": cmd_summary,
    "sessions": cmd_sessions,
    "capital": cmd_capital,
    "check-config": cmd_check_config,
    "replay": cmd_replay,
}


def main(argv: Sequence[str] | None = None) -> int:
    from engine.store.schema import StoreError
    from engine.summary import SummaryError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        # No command: the console (run), on the sim market with ./orion.db unless the
        # options say otherwise (`orion-tui --db desk.db`).
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    out = Console()
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        return COMMANDS[args.command](args, out, err)
    except (StoreError, SummaryError) as exc:
        err.print(f"orion-tui: {exc}", highlight=False, markup=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
