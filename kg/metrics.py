"""Counters of the running server, exposed in the Prometheus text format.
https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import threading
from collections import Counter


class Metrics:
    """Thread-safe counters; the snapshot's figures are added when rendering."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()
        self._query_seconds = 0.0
        self._queries = 0
        self._timeouts = 0
        self._refused = 0
        self._errors = 0

    def request(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1

    def query(self, seconds: float) -> None:
        with self._lock:
            self._queries += 1
            self._query_seconds += seconds

    def timeout(self) -> None:
        with self._lock:
            self._timeouts += 1

    def refused(self) -> None:
        with self._lock:
            self._refused += 1

    def error(self) -> None:
        with self._lock:
            self._errors += 1

    def render(self, manifest: dict, workers: int) -> str:
        with self._lock:
            lines = [
                "# HELP kg_http_requests_total HTTP requests answered, by endpoint and status.",
                "# TYPE kg_http_requests_total counter",
                *(f'kg_http_requests_total{{endpoint="{e}",status="{s}"}} {n}' for (e, s), n in sorted(self._requests.items())),
                "# HELP kg_queries_total SPARQL queries that ran to completion.",
                "# TYPE kg_queries_total counter",
                f"kg_queries_total {self._queries}",
                "# HELP kg_query_seconds_total Time spent evaluating completed queries.",
                "# TYPE kg_query_seconds_total counter",
                f"kg_query_seconds_total {self._query_seconds:.6f}",
                "# HELP kg_query_timeouts_total Queries stopped at the time limit.",
                "# TYPE kg_query_timeouts_total counter",
                f"kg_query_timeouts_total {self._timeouts}",
                "# HELP kg_queries_refused_total Requests refused before running (updates, SERVICE, unknown graphs, syntax).",
                "# TYPE kg_queries_refused_total counter",
                f"kg_queries_refused_total {self._refused}",
                "# HELP kg_errors_total Server errors (a bug of ours, answered 500).",
                "# TYPE kg_errors_total counter",
                f"kg_errors_total {self._errors}",
            ]
        lines += [
            "# HELP kg_query_workers Worker processes running queries.",
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
