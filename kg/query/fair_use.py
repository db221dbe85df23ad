"""Fair use: each client's budget of query time and its cap on queries running at once, server-wide.

As the big public endpoints do it (the Wikidata Query Service gives each client 60 s of query time per
minute and about five parallel queries, and answers ``429`` with ``Retry-After`` beyond them): a client
that sends expensive queries without pause soon waits, told for how long, while everyone else is served
as before.

The budget is a token bucket of seconds: it holds at most ``budget_s``, refills at ``budget_s`` per minute,
and each query pays what it ran (a timed-out one pays its whole time limit). A query is admitted while the
bucket holds anything, so one long query may take it below zero: the client then waits until it has
refilled past zero. Only queries that go to a query worker are counted; bounded lookups answered in the
HTTP process and answers from the cache cost the server next to nothing, and counting them would cost
more than they do.

The ledger is shared by the HTTP processes of one server, so a client gets one budget however its
connections are spread: a small SQLite database in the server's state folder (``KG_STATE_DIR``), whose
transactions serialise the processes. A query's place in the count of running queries names its process,
so one that was killed (and granian replaced) gives its places back when the next process opens the
ledger, or when a client is about to be refused.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

#: The ledger's file in the state folder.
FILE_NAME = "fair-use.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS budget (client TEXT PRIMARY KEY, seconds REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS running (id INTEGER PRIMARY KEY, client TEXT NOT NULL, pid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS running_client ON running (client);
"""


def clear_ledger(folder: Path) -> None:
    """Forget the budgets of an earlier run in ``folder`` (`kg serve`, before its HTTP processes start)."""
    for path in folder.glob(FILE_NAME + "*"):  # the database, and its -wal and -shm files
        path.unlink()


class OverLimit(Exception):
    """The client may not run another query now; ``retry_after_s`` says when it may."""

    def __init__(self, reason: str, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.reason, self.message, self.retry_after_s = reason, message, retry_after_s


@dataclass(frozen=True)
class Ticket:
    """A query's place among its client's running queries, given back by :meth:`Ledger.settle`."""

    client: str
    id: int | None  # None: no cap on running queries, so no place was taken


class Ledger:
    """Budgets and running queries of every client; thread-safe, and shared through ``folder`` if given."""

    def __init__(self, folder: Path | None, budget_s: float, max_running: int) -> None:
        self.budget_s, self.max_running = budget_s, max_running
        self._rate = budget_s / 60.0  # seconds of query time regained per second
        path = ":memory:" if folder is None else str(folder / FILE_NAME)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        # One connection per process, used under a lock: each transaction is a few statements.
        self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")  # the ledger is this run's state: nothing to keep after a crash
            self._db.executescript(_SCHEMA)
            with self._transaction():
                self._forget_dead()

    @property
    def enabled(self) -> bool:
        return self.budget_s > 0 or self.max_running > 0

    def admit(self, client: str) -> Ticket:
        """Take a place for one query of ``client``, or raise :class:`OverLimit`."""
        if not self.enabled:
            return Ticket(client, None)
        now = time.time()
        with self._lock, self._transaction():
            if self.budget_s > 0:
                left = self._balance(client, now)
                if left <= 0:
                    wait = math.ceil(-left / self._rate) + 1
                    raise OverLimit("budget", f"Your queries used their {self.budget_s:g} s of query time for this "
                                    f"minute; the budget refills at {self.budget_s:g} s per minute. Try again in {wait} s, "
                                    "or make queries cheaper (LIMIT, more specific patterns).", wait)
            if self.max_running <= 0:
                return Ticket(client, None)
            if self._running(client) >= self.max_running:
                self._forget_dead()
                if self._running(client) >= self.max_running:
                    raise OverLimit("concurrency", f"You already have {self.max_running} queries running, as many as a "
                                    "client may; send the next when one has finished.", 1)
            cursor = self._db.execute("INSERT INTO running (client, pid) VALUES (?, ?)", (client, os.getpid()))
            return Ticket(client, cursor.lastrowid)

    def settle(self, ticket: Ticket, seconds: float) -> None:
        """The query of ``ticket`` is over, having run ``seconds``: give back its place and charge its time."""
        if not self.enabled:
            return
        now = time.time()
        with self._lock, self._transaction():
            if ticket.id is not None:
                self._db.execute("DELETE FROM running WHERE id = ?", (ticket.id,))
            if self.budget_s > 0:
                left = self._balance(ticket.client, now) - seconds
                self._db.execute("UPDATE budget SET seconds = ?, at = ? WHERE client = ?", (left, now, ticket.client))

    def _balance(self, client: str, now: float) -> float:
        """What ``client`` has left now, refilled since it was last charged (a new client starts full)."""
        row = self._db.execute("SELECT seconds, at FROM budget WHERE client = ?", (client,)).fetchone()
        if row is None:
            self._db.execute("INSERT INTO budget (client, seconds, at) VALUES (?, ?, ?)", (client, self.budget_s, now))
            return self.budget_s
        seconds, at = row
        left = min(self.budget_s, seconds + max(0.0, now - at) * self._rate)
        self._db.execute("UPDATE budget SET seconds = ?, at = ? WHERE client = ?", (left, now, client))
        return left

    def _running(self, client: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM running WHERE client = ?", (client,)).fetchone()[0]

    def _forget_dead(self) -> None:
        """Give back the places of queries whose HTTP process is gone (killed: its own code never ran)."""
        pids = [pid for (pid,) in self._db.execute("SELECT DISTINCT pid FROM running")]
        dead = [pid for pid in pids if not psutil.pid_exists(pid)]
        if dead:
            self._db.executemany("DELETE FROM running WHERE pid = ?", [(pid,) for pid in dead])

    def _transaction(self) -> "_Immediate":
        return _Immediate(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``): the write lock is taken before reading, so two
    processes admitting the same client cannot both see a free place."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, _value, _traceback) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
