"""The store's writer process: the one SQLite connection that writes.

Why a process and not a thread: a writer thread needs the GIL back after every row
it steps, and it only gets it when the engine's thread lets go, so a thread either
stalls the engine (it waits for each commit) or crawls. A process has its own
interpreter and runs on the other core while the engine computes the next ticks.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a pickle.
Requests, answered in order:
    ("batch", [(sql, params), ...])  one transaction; params a list -> executemany.
                                     Answers the last statement's lastrowid
                                     (INSERT) or rowcount.
    ("query", sql, params)           answers the rows.
Answers are ("ok", value) or ("err", message). EOF on stdin (the engine closed
the store, or died) ends the process after the transaction in hand: a transaction
is all or nothing, so a killed engine leaves a consistent prefix.

Stdlib only, so it starts in milliseconds; it ignores SIGINT, SIGHUP and SIGTERM,
which reach the whole process group, because the engine's own shutdown still has
orders, a summary and a close to write through it. It dies with the engine (Linux
parent-death signal): a killed engine is one dead unit, and its transaction in hand
rolls back, instead of a stray writer committing after a restart has read the file.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def read_frame(stream: BinaryIO) -> Any:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def frame(obj: Any) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def run_batch(conn: sqlite3.Connection, statements: list[tuple[str, Any]]) -> Any:
    conn.execute("BEGIN IMMEDIATE")
    last: Any = None
    try:
        for sql, params in statements:
            if params and isinstance(params, list):
                conn.executemany(sql, params)
            else:
                cur = conn.execute(sql, params)
                last = cur.lastrowid if sql.lstrip().startswith("INSERT") else cur.rowcount
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return last


def serve(path: str, busy_timeout: float, stdin: BinaryIO, stdout: BinaryIO) -> None:
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        stdout.write(frame(("err", str(exc) or exc.__class__.__name__)))
        stdout.flush()
        return
    stdout.write(frame(("ok", None)))
    stdout.flush()
    try:
        while True:
            request = read_frame(stdin)
            if request is None:
                return
            try:
                if request[0] == "batch":
                    answer: tuple[str, Any] = ("ok", run_batch(conn, request[1]))
                else:
                    answer = ("ok", conn.execute(request[1], request[2]).fetchall())
            except Exception as exc:  # reported to the engine, which decides
                answer = ("err", str(exc) or exc.__class__.__name__)
            stdout.write(frame(answer))
            stdout.flush()
    finally:
        conn.close()


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when the engine's process dies (Linux; elsewhere the EOF
    on stdin ends it after the transaction in hand). Linux ties the signal to the
    thread that started the worker: the engine's event loop thread, which outlives
    the store in every way Orion runs it (main thread, store closed before it ends)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the engine died before prctl took effect
        sys.exit(0)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    die_with_parent(int(sys.argv[3]))
    try:
        serve(sys.argv[1], float(sys.argv[2]), sys.stdin.buffer, sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
