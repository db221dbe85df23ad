"""Where a query runs: in the HTTP process when its cost is provably bounded, else in a killable worker.

Oxigraph evaluates a query in native code that a Python thread cannot interrupt. So every query
that could run long goes to a pool of worker processes, each with the snapshot's store opened
read-only; a query that outlives its time limit gets its worker killed and replaced, and the
client a clear answer.

A few shapes of query cannot run long, whatever the data: the request guard recognises them as it
reads the query (:attr:`kg.query.guard.QueryPlan.bounded`: one triple pattern, nothing that reads more
than it returns; the argument is in the docstring of ``kg.query.guard._is_bounded``). Those are
answered in the HTTP process itself (:class:`InlineRunner`), saving the hand-off to a worker and back,
which is most of the cost of a simple lookup.
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path

import psutil

from kg.namespaces import PREFIXES
from kg.formats import BY_NAME
from kg.query.result_formats import NotExpressible, write
from kg.query.store import QueryUnsupported, run_query
from kg.snapshot import Snapshot


@dataclass(frozen=True)
class QueryJob:
    """What a worker needs: the text, the dataset, the format.

    ``default_graph``: graph IRIs, or None for the union of all graphs, as a set (the snapshot's
    :attr:`~kg.snapshot.Snapshot.union`).
    ``named_graphs``: the graphs GRAPH patterns see, or None for the store's named graphs (all of ours).
    """

    query: str
    default_graph: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    format_name: str
    max_rows: int


@dataclass(frozen=True)
class QueryOutcome:
    body: bytes
    rows: int
    truncated: bool
    seconds: float  # evaluating and writing it, when it was run
    cached: bool = False  # answered from the cache (kg.query.cache), not run again


class QuerySyntaxError(Exception):
    """The engine could not parse the query; the message has the line and column."""


class EngineCrashed(Exception):
    """The engine failed on the query: pyoxigraph aborted (a Rust panic, a bug of its own; the worker was replaced),
    or the engine behind ``KG_ENGINE_URL`` answered an error of its own. Not run again: it would fail the same way."""


class QueryTimeout(Exception):
    """The query ran past its time limit and was stopped."""


class PoolBusy(Exception):
    """No worker became free in time."""


class QueryTooLarge(Exception):
    """The query's worker passed the memory limit and was stopped."""


class LongLaneFull(Exception):
    """The query became long while as many long queries as may run at once were running."""


class SecondLongQuery(Exception):
    """The query became long while its client already had a long query running in this process: the
    client's to wait for, so that one client never holds the whole long lane."""


class WorkerFailed(Exception):
    """A worker died or failed on a query for a reason that is ours, not the client's."""


#: What the client is told when the engine crashed on its query.
ENGINE_CRASHED = ("the query engine (pyoxigraph) crashed on this query: a Rust panic, a bug of the engine's, not of the "
                  "query; known to happen with ORDER BY over terms of mixed kinds, which its sort cannot order "
                  "consistently. The query was not run again")


class _WorkerDied(Exception):
    """The worker running a query went away (its connection closed): the query may be run again."""


#: The errors of a query that are the client's: raised by :func:`evaluate` and passed from a worker by name.
CLIENT_ERRORS = {cls.__name__: cls for cls in (QuerySyntaxError, QueryUnsupported, NotExpressible)}


def evaluate(store, union: list, job: QueryJob):
    """Run ``job`` on an open pyoxigraph store whose graphs ``union`` hold every triple once, and write
    its answer: the same code in a worker and inline. Raises one of :data:`CLIENT_ERRORS` for a query
    the engine cannot run or whose answer the format cannot hold."""
    default = union if job.default_graph is None else _nodes(job.default_graph)
    dataset = {} if job.named_graphs is None else {"named_graphs": _nodes(job.named_graphs)}
    try:
        result = run_query(store, job.query, default_graph=default, **dataset)
    except SyntaxError as error:
        raise QuerySyntaxError(str(error)) from None
    return write(result, BY_NAME[job.format_name], job.max_rows, prefixes=PREFIXES)


@lru_cache(maxsize=16)
def _nodes(iris: tuple[str, ...]) -> list:
    """NamedNodes of graph IRIs; clients that name graphs tend to name the same few again."""
    import pyoxigraph as ox

    return [ox.NamedNode(iri) for iri in iris]


def _exit_with_parent(parent: int) -> None:
    """A worker whose HTTP process died (even by SIGKILL) must not live on, holding a CPU."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _worker_main(snapshot_path: str, conn: Connection, parent: int) -> None:
    import pyoxigraph as ox

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    snapshot = Snapshot.open(Path(snapshot_path))
    store, union = ox.Store.read_only(str(snapshot.store_dir)), snapshot.union
    conn.send(("ready",))
    while True:
        try:
            job: QueryJob = conn.recv()
        except (EOFError, OSError):  # the HTTP process closed our connection (replaced us, or stopped)
            return
        started = time.perf_counter()
        try:
            written = evaluate(store, union, job)
            reply: tuple = ("ok", written.rows, written.truncated, time.perf_counter() - started)
        except tuple(CLIENT_ERRORS.values()) as error:
            reply, written = ("client", type(error).__name__, str(error)), None
        except Exception as error:  # reported to the parent, which answers 500: a bug of ours or the engine's
            reply, written = ("error", f"{type(error).__name__}: {error}"), None
        try:
            conn.send(reply)
            if written is not None:
                # The body goes as raw bytes after a small header: no pickling (and copying) of a large answer.
                conn.send_bytes(written.body)
        except OSError:  # the HTTP process stopped waiting (the query was stopped) or is gone
            return


def worker_entry() -> None:
    """``python -c "from kg.query.executor import worker_entry; worker_entry()" SNAPSHOT FD PARENT_PID``."""
    # Ctrl-C reaches the whole process group, and systemd's stop (KillMode=control-group) sends SIGTERM to every
    # process of the service: the parent stops us once the query running has been answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    snapshot_path, fd, parent = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _worker_main(snapshot_path, Connection(fd), parent)


class _Worker:
    """One query worker: a fresh interpreter that imports only this module (not the server's __main__,
    as multiprocessing's spawn would), talking over a socket pair."""

    def __init__(self, snapshot_path: Path) -> None:
        ours, theirs = socket.socketpair()
        self.conn = Connection(ours.detach())
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from kg.query.executor import worker_entry; worker_entry()",
                 str(snapshot_path), str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._watched: psutil.Process | None = None

    def wait_ready(self) -> "_Worker":
        try:
            ready = self.conn.poll(60) and self.conn.recv() == ("ready",)
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise WorkerFailed("a query worker did not start")
        return self

    def resident_bytes(self) -> int:
        """The worker's resident memory now (0 once it is gone)."""
        try:
            if self._watched is None:
                self._watched = psutil.Process(self.process.pid)
            return self._watched.memory_info().rss
        except psutil.Error:
            return 0

    def kill(self) -> None:
        self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()


class QueryPool:
    """Worker processes over one snapshot's store, in two lanes; thread-safe.

    ``workers`` wait for new queries. A query still running after ``long_after_s`` is long: its worker
    leaves the pool for the long lane (at most ``long_lane`` at once, one per client) and a fresh worker
    takes its place, so a short query never waits behind a long one; a query that becomes long while the
    long lane is full is stopped (:class:`LongLaneFull`), as is a client's second (:class:`SecondLongQuery`). While a query runs, its worker's resident memory is
    watched, and a worker past ``max_memory`` bytes is stopped (:class:`QueryTooLarge`) before the
    machine runs short: Oxigraph materialises a whole sort before applying LIMIT.
    """

    #: How often a running query's worker is looked at (memory, lanes); a query that ends sooner is answered at once.
    WATCH_S = 0.05

    def __init__(self, snapshot: Snapshot, workers: int, queue_timeout_s: float, long_after_s: float = float("inf"),
                 long_lane: int = 1, max_memory: int | None = None) -> None:
        self.snapshot_path = snapshot.path
        self.queue_timeout_s = queue_timeout_s
        self.long_after_s, self.long_lane, self.max_memory = long_after_s, long_lane, max_memory
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._long: collections.Counter[str] = collections.Counter()  # long queries running, by client
        self._closed = False
        started = [_Worker(self.snapshot_path) for _ in range(workers)]  # all start at once, then we wait for each
        try:
            for worker in started:
                self._add(worker.wait_ready())
        except WorkerFailed:
            for worker in started:
                worker.kill()
            raise

    def _add(self, worker: _Worker) -> None:
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` now; start its successor in the background, so the client is answered at once."""
        self._retire(worker)
        self._start_successor()

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def _start_successor(self) -> None:
        threading.Thread(target=self._start_one, name="kg-query-worker-start", daemon=True).start()

    def _start_one(self) -> None:
        delay = 0.5
        while not self._closed:
            try:
                worker = _Worker(self.snapshot_path).wait_ready()
            except (WorkerFailed, OSError):
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            with self._lock:
                closed = self._closed
            if closed:
                worker.kill()
            else:
                self._add(worker)
            return

    def run(self, job: QueryJob, timeout_s: float, client: str = "") -> QueryOutcome:
        """Run ``job`` for ``client`` (its address) on an idle worker within ``timeout_s``.

        A worker that dies under a query (killed, out of memory, a crash in the engine) is replaced and the
        query run once more, on another worker, in the time left: queries only read, so running one twice is
        safe, and the client sees an error only if the query kills that worker too."""
        deadline = time.monotonic() + timeout_s
        try:
            return self._attempt(job, timeout_s, client)
        except _WorkerDied:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped") from None
            try:
                return self._attempt(job, remaining, client)
            except _WorkerDied as died:
                raise WorkerFailed(f"the query stopped two query workers ({died})") from None

    def _idle_worker(self) -> _Worker:
        """An idle worker that is alive: one found dead while idle (the OOM killer, an operator) is replaced
        without costing the query its retry."""
        deadline = time.monotonic() + self.queue_timeout_s
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise PoolBusy(f"all query workers stayed busy for {self.queue_timeout_s:g} s") from None
            if worker.process.poll() is None:
                return worker
            self._replace(worker)

    def _attempt(self, job: QueryJob, timeout_s: float, client: str) -> QueryOutcome:
        worker = self._idle_worker()
        long = False
        try:
            worker.conn.send(job)
            long = self._wait(worker, timeout_s, client)
            reply = worker.conn.recv()
            body = worker.conn.recv_bytes() if reply[0] == "ok" else b""
        except (EOFError, OSError) as error:
            if long:
                self._retire(worker)  # its successor is already starting
            else:
                self._replace(worker)
            # A panic in pyoxigraph aborts the process (it does not unwind into Python). The connection closes only
            # once the process is gone, so its exit status is known by now.
            if worker.process.returncode == -signal.SIGABRT:
                raise EngineCrashed(ENGINE_CRASHED) from None
            raise _WorkerDied(type(error).__name__) from None
        finally:
            if long:
                self._leave_long_lane(client)
        if long:
            self._retire(worker)  # its successor took its place in the pool when it became long
        else:
            self._idle.put(worker)
        kind = reply[0]
        if kind == "ok":
            return QueryOutcome(body=body, rows=reply[1], truncated=reply[2], seconds=reply[3])
        if kind == "client":
            raise CLIENT_ERRORS[reply[1]](reply[2])
        raise WorkerFailed(reply[1])

    def _wait(self, worker: _Worker, timeout_s: float, client: str) -> bool:
        """Wait until ``worker`` answers, watching it; return whether its query became long.

        A query stopped here (time, memory, a full long lane) has its worker killed and replaced."""
        started = time.monotonic()
        long = False
        try:
            while not worker.conn.poll(self.WATCH_S):
                ran = time.monotonic() - started
                if ran >= timeout_s:
                    raise QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped")
                if self.max_memory is not None and worker.resident_bytes() > self.max_memory:
                    raise QueryTooLarge(f"the query needed more than {self.max_memory / 2**20:,.0f} MiB of memory "
                                        "and was stopped")
                if not long and ran >= self.long_after_s:
                    self._enter_long_lane(client)
                    long = True
                    self._start_successor()
        except (QueryTimeout, QueryTooLarge, LongLaneFull, SecondLongQuery):
            if long:
                self._leave_long_lane(client)
                self._retire(worker)
            else:
                self._replace(worker)
            raise
        return long

    def _enter_long_lane(self, client: str) -> None:
        with self._lock:
            if self._long[client]:
                raise SecondLongQuery(f"the query ran longer than {self.long_after_s:g} s while another long query "
                                      "of yours was running; send the next when it has finished")
            if sum(self._long.values()) >= self.long_lane:
                raise LongLaneFull(f"the query ran longer than {self.long_after_s:g} s while {self.long_lane} long "
                                   "queries were running here, as many as may at once")
            self._long[client] += 1

    def _leave_long_lane(self, client: str) -> None:
        with self._lock:
            self._long[client] -= 1
            if not self._long[client]:
                del self._long[client]

    @property
    def long_running(self) -> int:
        with self._lock:
            return sum(self._long.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._all)


class InlineRunner:
    """Answers bounded queries (:attr:`kg.query.guard.QueryPlan.bounded`) in the calling process, on its own
    read-only store handle.

    Oxigraph releases the GIL while it evaluates, so several HTTP threads can run these at once.
    """

    #: An inline query slower than this is logged: it would mean that the guard's bounded grammar accepted too much.
    SLOW_S = 1.0

    def __init__(self, snapshot: Snapshot) -> None:
        import pyoxigraph as ox

        self.store, self.union = ox.Store.read_only(str(snapshot.store_dir)), snapshot.union

    def run(self, job: QueryJob) -> QueryOutcome:
        started = time.perf_counter()
        try:
            written = evaluate(self.store, self.union, job)
        except tuple(CLIENT_ERRORS.values()):
            raise
        except Exception as error:  # the client gets 500, as from a worker: a bug of ours or the engine's
            raise WorkerFailed(f"{type(error).__name__}: {error}") from None
        seconds = time.perf_counter() - started
        if seconds > self.SLOW_S:
            import logging

            logging.getLogger("kg.executor").warning("inline query took %.3f s: %r", seconds, job.query[:200])
        return QueryOutcome(body=written.body, rows=written.rows, truncated=written.truncated, seconds=seconds)
