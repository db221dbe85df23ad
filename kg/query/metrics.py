"""Counters, gauges and a histogram of the running server, in the Prometheus text format.

prometheus_client writes the exposition and pools `kg serve`'s HTTP processes. Given a folder
(``KG_METRICS_DIR``), each process keeps its values in memory-mapped files there, named by its pid,
and the process that renders /metrics adds up the files of every process that ever served: so
counters and the histogram are totals of the whole server, never going down when a process is
replaced, while the gauges (HTTP processes, query workers) count the live processes only.
Without a folder the values stay in this object's own registry, so that two applications in one
process (the tests) never mix their counts. The snapshot's figures are read from its manifest.
https://prometheus.github.io/client_python/multiprocess/
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

#: The media type of :meth:`Metrics.render`'s body.
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: From a lookup answered inline (a millisecond or less) to the default time limit (30 s).
QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: prometheus_client's own switch to file-backed values, read when it chooses its value class.
_POOL_ENV = "PROMETHEUS_MULTIPROC_DIR"


def start_pool(folder: Path) -> None:
    """Ready ``folder`` for a server about to start its HTTP processes (`kg serve`, before granian forks them).

    The files of an earlier run go, so that the counters are totals of this server, and no gauge
    of a process that is gone (or a pid that a new one reuses) is counted.
    """
    _pool_into(folder)
    for stale in folder.glob("*.db"):
        stale.unlink()


def _pool_into(folder: Path) -> None:
    """Keep the values of this process, and of the processes it forks or starts, in ``folder``.

    prometheus_client chooses between in-memory and file-backed values once, when it is imported,
    from an environment variable; `kg serve` imports it before granian forks the HTTP processes, and
    any WSGI server may have imported it before the application is made. So set it and choose again.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get(_POOL_ENV) != str(folder):
        os.environ[_POOL_ENV] = str(folder)
        values.ValueClass = values.get_value_class()


class Metrics:
    """What the endpoint counts; one per application, so one per HTTP process. Thread-safe."""

    def __init__(self, pool: Path | None = None) -> None:
        self._pool = pool
        own: CollectorRegistry | None
        if pool is None:
            own = CollectorRegistry()
            self._counted: Collector = own
        else:
            _pool_into(pool)
            own = None  # pooled values are found through their files, so they join no registry
            self._counted = multiprocess.MultiProcessCollector(None, path=str(pool))
        self._requests = Counter("kg_http_requests", "HTTP requests answered, by endpoint and status.",
                                 ["endpoint", "status"], registry=own)
        self._queries = Counter("kg_queries", "SPARQL queries that ran to completion.", registry=own)
        self._inline = Counter("kg_queries_inline", "Of those, bounded queries answered in the HTTP process, "
                               "not by a query worker.", registry=own)
        self._duration = Histogram("kg_query_duration_seconds", "Time spent evaluating completed queries, by where "
                                   "they ran: inline (in the HTTP process) or in a worker.", ["runner"],
                                   buckets=QUERY_BUCKETS, registry=own)
        self._stopped = Counter("kg_queries_stopped", "Queries stopped while running, by why: time (the time limit), "
                                "memory (KG_QUERY_MAX_MEMORY), long-lane-full (KG_LONG_QUERIES were running), second-long (its client's "
                                "other long query was running).",
                                ["reason"], registry=own)
        self._refused = Counter("kg_queries_refused", "Requests refused before running (updates, SERVICE, "
                                "unknown graphs, syntax).", registry=own)
        self._over_limit = Counter("kg_fair_use_refusals", "Queries answered 429, by the limit the client reached: "
                                   "budget (KG_CLIENT_QUERY_BUDGET_S) or concurrency (KG_CLIENT_MAX_QUERIES).",
                                   ["reason"], registry=own)
        self._cache = Counter("kg_cache_lookups", "Lookups in the answer cache, by result (hit or miss).", ["result"],
                              registry=own)
        self._errors = Counter("kg_errors", "Server errors (a bug of ours, answered 500).", registry=own)
        self._processes = Gauge("kg_http_processes", "HTTP server processes running.",
                                multiprocess_mode="livesum", registry=own)
        self._workers = Gauge("kg_query_workers", "Worker processes ready for new queries (all HTTP processes).",
                              multiprocess_mode="livesum", registry=own)
        self._long = Gauge("kg_long_queries", "Queries running longer than KG_LONG_QUERY_S (all HTTP processes).",
                           multiprocess_mode="livesum", registry=own)
        # Every series from the start: one that appears later loses its first rise in rate().
        for runner in ("inline", "worker"):
            self._duration.labels(runner)
        for reason in ("time", "memory", "long-lane-full", "second-long"):
            self._stopped.labels(reason)
        for reason in ("budget", "concurrency"):
            self._over_limit.labels(reason)
        for result in ("hit", "miss"):
            self._cache.labels(result)
        self._pool_figures: Callable[[], tuple[int, int]] = lambda: (0, 0)
        self._processes.set(1)

    def watch_pool(self, figures: Callable[[], tuple[int, int]]) -> None:
        """Where this process's query workers and long queries are counted: ``figures()`` gives both.

        They are read again at every answer (:meth:`request`), not when rendering: a pooled gauge is
        read from its file by whichever process renders.
        """
        self._pool_figures = figures
        self._set_pool_gauges()

    def _set_pool_gauges(self) -> None:
        workers, long = self._pool_figures()
        self._workers.set(workers)
        self._long.set(long)

    def request(self, endpoint: str, status: int) -> None:
        self._requests.labels(endpoint, str(status)).inc()
        self._set_pool_gauges()

    def query(self, seconds: float, inline: bool = False) -> None:
        self._queries.inc()
        if inline:
            self._inline.inc()
        self._duration.labels("inline" if inline else "worker").observe(seconds)

    def stopped(self, reason: str) -> None:
        self._stopped.labels(reason).inc()

    def over_limit(self, reason: str) -> None:
        self._over_limit.labels(reason).inc()

    def cache_lookup(self, hit: bool) -> None:
        self._cache.labels("hit" if hit else "miss").inc()

    def refused(self) -> None:
        self._refused.inc()

    def error(self) -> None:
        self._errors.inc()

    def render(self, manifest: Mapping[str, Any], limits: Mapping[str, float]) -> bytes:
        """The exposition (of :data:`CONTENT_TYPE`): what was counted, the snapshot's figures, and the limits
        the server applies (``limits``: setting name to value)."""
        if self._pool is not None:
            _forget_dead_processes(self._pool)
        registry = CollectorRegistry()
        registry.register(self._counted)
        registry.register(_Figures(manifest, limits))
        return generate_latest(registry)


class _Figures(Collector):
    """Figures of the snapshot (from its manifest) and of the settings: nothing to count, and the same in
    every process."""

    def __init__(self, manifest: Mapping[str, Any], limits: Mapping[str, float]) -> None:
        self.manifest, self.limits = manifest, limits

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily("kg_snapshot", "The snapshot being served.",
                               value={"build_id": self.manifest["build_id"], "built_at": self.manifest["built_at"]})
        triples = GaugeMetricFamily("kg_graph_triples", "Triples per named graph of the snapshot.", labels=["graph"])
        for graph, info in sorted(self.manifest["graphs"].items()):
            triples.add_metric([graph], info["triples"])
        yield triples
        limits = GaugeMetricFamily("kg_limit", "The limits of fair use and of each query, by setting (KG_ + the name "
                                   "in capitals); 0: none.", labels=["setting"])
        for name, value in sorted(self.limits.items()):
            limits.add_metric([name], value)
        yield limits


def _forget_dead_processes(pool: Path) -> None:
    """Drop the live gauges of HTTP processes that exited, even by SIGKILL, which runs none of their code.

    granian replaces a process that dies without telling the others, so whichever renders looks for
    the files of processes that are gone; their counters stay.
    """
    for path in pool.glob("gauge_live*_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        if not _alive(pid):
            with contextlib.suppress(FileNotFoundError):  # another process rendering forgot it first
                multiprocess.mark_process_dead(pid, str(pool))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
