"""Queries run in a pool of worker processes, so that a timeout really stops the work.

Oxigraph evaluates a query in native code that a Python thread cannot interrupt. Each worker
process opens the snapshot's store read-only; a query that outlives its time limit gets its
worker killed and replaced, and the client a clear answer. The web process itself never runs a
query, so one runaway query cannot stall the server.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from kg.formats import BY_NAME, write
from kg.namespaces import PREFIXES

_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class QueryJob:
    """What a worker needs: the text, the dataset (graph IRIs; None = the store's default graph), the format."""

    query: str
    default_graph: tuple[str, ...] | None
    named_graphs: tuple[str, ...]
    format_name: str
    max_rows: int


@dataclass(frozen=True)
class QueryOutcome:
    body: bytes
    rows: int
    truncated: bool
    seconds: float


class QuerySyntaxError(Exception):
    """The engine could not parse the query; the message has the line and column."""


class QueryTimeout(Exception):
    """The query ran past its time limit and was stopped."""


class PoolBusy(Exception):
    """No worker became free in time."""


class WorkerFailed(Exception):
    """A worker died or failed on a query for a reason that is ours, not the client's."""


def _worker_main(store_path: str, conn: Connection) -> None:
    import pyoxigraph as ox

    store = ox.Store.read_only(store_path)
    conn.send(("ready",))
    while True:
        try:
            job: QueryJob = conn.recv()
        except EOFError:
            return
        started = time.perf_counter()
        try:
            default = ox.DefaultGraph() if job.default_graph is None else [ox.NamedNode(g) for g in job.default_graph]
            result = store.query(job.query, prefixes=PREFIXES, default_graph=default,
                                 named_graphs=[ox.NamedNode(g) for g in job.named_graphs])
            written = write(result, BY_NAME[job.format_name], job.max_rows, prefixes=PREFIXES)
            conn.send(("ok", written.body, written.rows, written.truncated, time.perf_counter() - started))
        except SyntaxError as error:
            conn.send(("syntax", str(error)))
        except Exception as error:  # reported to the parent, which answers 500: a bug of ours or the engine's
            conn.send(("error", f"{type(error).__name__}: {error}"))


class _Worker:
    def __init__(self, store_path: Path) -> None:
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_worker_main, args=(str(store_path), child), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(60) or self.conn.recv() != ("ready",):
            self.kill()
            raise WorkerFailed("a query worker did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class QueryPool:
    """A fixed number of worker processes over one snapshot store; thread-safe."""

    def __init__(self, store_path: Path, workers: int, queue_timeout_s: float) -> None:
        self.store_path = store_path
        self.queue_timeout_s = queue_timeout_s
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        for _ in range(workers):
            self._add(_Worker(store_path))

    def _add(self, worker: _Worker) -> None:
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.remove(worker)
        self._add(_Worker(self.store_path))

    def run(self, job: QueryJob, timeout_s: float) -> QueryOutcome:
        try:
            worker = self._idle.get(timeout=self.queue_timeout_s)
        except queue.Empty:
            raise PoolBusy(f"all query workers stayed busy for {self.queue_timeout_s:g} s") from None
        try:
            worker.conn.send(job)
            if not worker.conn.poll(timeout_s):
                self._replace(worker)
                raise QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped")
            reply = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            self._replace(worker)
            raise WorkerFailed(f"the query worker stopped unexpectedly ({type(error).__name__})") from None
        self._idle.put(worker)
        kind = reply[0]
        if kind == "ok":
            return QueryOutcome(body=reply[1], rows=reply[2], truncated=reply[3], seconds=reply[4])
        if kind == "syntax":
            raise QuerySyntaxError(reply[1])
        raise WorkerFailed(reply[1])

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._all)
