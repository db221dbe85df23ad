"""Counters of the running server, exposed in the Prometheus text format.
https://prometheus.io/docs/instrumenting/exposition_formats/

`kg serve` runs several HTTP processes. Each counts in memory (a lock and a few integers, cheap on
every request) and, given a shared folder, writes its counters there as a small JSON file at most
once a second and whenever it renders /metrics. Rendering adds up the files of every process that
ever served, so the counters stay totals of the whole server, and never go down when a process is
replaced; the figures of the other processes may be up to a second old. Gauges (query workers)
count only processes that are still alive.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

#: How often a process writes its counters to the shared folder, at most (seconds).
FLUSH_INTERVAL_S = 1.0
_SCALARS = ("queries", "queries_inline", "query_seconds", "timeouts", "refused", "errors")


class Metrics:
    """Thread-safe counters; the snapshot's figures are added when rendering."""

    def __init__(self, shared_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()
        self._scalars: dict[str, float] = dict.fromkeys(_SCALARS, 0)
        self._workers: Callable[[], int] = lambda: 0
        self._shared_dir = shared_dir
        self._file: Path | None = None
        self._dirty = threading.Event()
        if shared_dir is not None:
            self._file = shared_dir / f"{os.getpid()}-{time.time_ns()}.json"
            threading.Thread(target=self._flusher, name="kg-metrics", daemon=True).start()

    def set_workers(self, count: Callable[[], int]) -> None:
        """Where the gauge of query workers of this process comes from."""
        self._workers = count

    def request(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1
        self._dirty.set()

    def query(self, seconds: float, inline: bool = False) -> None:
        with self._lock:
            self._scalars["queries"] += 1
            self._scalars["queries_inline"] += inline
            self._scalars["query_seconds"] += seconds
        self._dirty.set()

    def timeout(self) -> None:
        self._add("timeouts")

    def refused(self) -> None:
        self._add("refused")

    def error(self) -> None:
        self._add("errors")

    def _add(self, name: str) -> None:
        with self._lock:
            self._scalars[name] += 1
        self._dirty.set()

    # ------------------------------------------------------------------ sharing between processes

    def _state(self) -> dict:
        with self._lock:
            return {"pid": os.getpid(), "workers": self._workers(), **self._scalars,
                    "requests": [[e, s, n] for (e, s), n in self._requests.items()]}

    def flush(self) -> None:
        """Write this process's counters to the shared folder (atomically: readers see old or new)."""
        if self._file is None:
            return
        self._dirty.clear()
        tmp = self._file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self._state()), encoding="utf-8")
            os.replace(tmp, self._file)
        except OSError:
            pass  # the folder went away (server stopping): nothing to report to

    def _flusher(self) -> None:
        while True:
            self._dirty.wait()
            self.flush()
            time.sleep(FLUSH_INTERVAL_S)

    def _states(self) -> list[dict]:
        own = self._state()
        if self._file is None:
            return [own]
        self.flush()
        states = [own]
        for path in self._shared_dir.glob("*.json"):
            if path == self._file:
                continue
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not _alive(state.get("pid", 0)):
                state["workers"] = 0
            states.append(state)
        return states

    # ------------------------------------------------------------------ exposition

    def render(self, manifest: dict) -> str:
        states = self._states()
        total = {name: sum(s.get(name, 0) for s in states) for name in _SCALARS}
        requests: Counter[tuple[str, int]] = Counter()
        for state in states:
            for endpoint, status, n in state.get("requests", []):
                requests[(endpoint, int(status))] += n
        workers = sum(s.get("workers", 0) for s in states)
        processes = sum(1 for s in states if s is states[0] or _alive(s.get("pid", 0)))
        lines = [
            "# HELP kg_http_requests_total HTTP requests answered, by endpoint and status.",
            "# TYPE kg_http_requests_total counter",
            *(f'kg_http_requests_total{{endpoint="{e}",status="{s}"}} {n}' for (e, s), n in sorted(requests.items())),
            "# HELP kg_queries_total SPARQL queries that ran to completion.",
            "# TYPE kg_queries_total counter",
            f"kg_queries_total {total['queries']:.0f}",
            "# HELP kg_queries_inline_total Of those, bounded queries answered in the HTTP process, not by a query worker.",
            "# TYPE kg_queries_inline_total counter",
            f"kg_queries_inline_total {total['queries_inline']:.0f}",
            "# HELP kg_query_seconds_total Time spent evaluating completed queries.",
            "# TYPE kg_query_seconds_total counter",
            f"kg_query_seconds_total {total['query_seconds']:.6f}",
            "# HELP kg_query_timeouts_total Queries stopped at the time limit.",
            "# TYPE kg_query_timeouts_total counter",
            f"kg_query_timeouts_total {total['timeouts']:.0f}",
            "# HELP kg_queries_refused_total Requests refused before running (updates, SERVICE, unknown graphs, syntax).",
            "# TYPE kg_queries_refused_total counter",
            f"kg_queries_refused_total {total['refused']:.0f}",
            "# HELP kg_errors_total Server errors (a bug of ours, answered 500).",
            "# TYPE kg_errors_total counter",
            f"kg_errors_total {total['errors']:.0f}",
            "# HELP kg_http_processes HTTP server processes running.",
            "# TYPE kg_http_processes gauge",
            f"kg_http_processes {processes}",
            "# HELP kg_query_workers Worker processes running queries (all HTTP processes).",
            "# TYPE kg_query_workers gauge",
            f"kg_query_workers {workers}",
            "# HELP kg_snapshot_info The snapshot being served.",
            "# TYPE kg_snapshot_info gauge",
            f'kg_snapshot_info{{build_id="{manifest["build_id"]}",built_at="{manifest["built_at"]}"}} 1',
            "# HELP kg_graph_triples Triples per named graph of the snapshot.",
            "# TYPE kg_graph_triples gauge",
            *(f'kg_graph_triples{{graph="{g}"}} {info["triples"]}' for g, info in sorted(manifest["graphs"].items())),
        ]
        return "\n".join(lines) + "\n"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
