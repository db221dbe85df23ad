"""The query side of the SPARQL endpoint, independent of HTTP: refuse, pick a format, run, count.

The Flask blueprint turns a request into a :class:`ProtocolRequest` and this module's answer into a
response, so every decision here is testable without a server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass

from kg.config import Settings
from kg.formats import BY_FORM, Format, by_name, negotiate
from kg.query.cache import ResultCache
from kg.query.engine import EngineClient
from kg.query.executor import (InlineRunner, LongLaneFull, PoolBusy, QueryJob, QueryOutcome, QueryPool, QueryTimeout,
                               QueryTooLarge, SecondLongQuery)
from kg.query.fair_use import Ledger, OverLimit
from kg.query.guard import QueryRefused, analyse, check
from kg.query.metrics import Metrics
from kg.snapshot import Snapshot

#: Why a running query was stopped, as /metrics names it.
STOPPED = {QueryTimeout: "time", QueryTooLarge: "memory", LongLaneFull: "long-lane-full", SecondLongQuery: "second-long"}


@dataclass(frozen=True)
class ProtocolRequest:
    """A query operation as the SPARQL protocol defines it, after decoding."""

    query: str
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    format: str | None = None


@dataclass(frozen=True)
class Prepared:
    """A request that passed every check, with its job and the format chosen."""

    job: QueryJob
    format: Format
    etag: str
    inline: bool = False  # bounded (kg.query.guard.QueryPlan.bounded): answered in this process, not by a worker


class Endpoint:
    """Owns the snapshot's worker pool, inline runner and cache; one per release of an HTTP process.

    ``metrics`` and ``ledger`` (the clients' budgets) outlive releases: the application passes its own.
    """

    def __init__(self, settings: Settings, snapshot: Snapshot, metrics: Metrics | None = None,
                 ledger: Ledger | None = None, inline: bool = True) -> None:
        self.settings = settings
        self.snapshot = snapshot
        #: Held while this process serves the snapshot: its query workers (replaced at any time) and the
        #: inline runner read the folder, so a build must not prune it (kg.snapshot.Lease).
        self.lease = snapshot.lease()
        self.published_graphs = frozenset(snapshot.manifest["graphs"])
        self.metrics = metrics or Metrics()
        self.ledger = ledger or Ledger(None, settings.client_query_budget_s, settings.client_max_queries)
        #: With an engine (KG_ENGINE_URL) it evaluates every query: no workers, nothing inline.
        self.engine = EngineClient(settings.engine_url, tuple(
            g for g, entry in snapshot.manifest["graphs"].items() if entry["triples"])) if settings.engine_url else None
        self.pool = None if self.engine else QueryPool(
            snapshot, settings.query_worker_count, settings.queue_timeout_s, long_after_s=settings.long_query_s,
            long_lane=settings.long_query_count, max_memory=settings.query_max_memory_bytes)
        #: None (inline=False, or an engine): every query goes to a worker (or the engine).
        self.inline = InlineRunner(snapshot) if inline and not self.engine else None
        self.cache = ResultCache(settings.cache_bytes) if settings.cache_bytes > 0 else None

    def prepare(self, request: ProtocolRequest, accept: str | None) -> Prepared:
        """Check the query and choose its format for the ``Accept`` header; raise QueryRefused (with an HTTP
        status) if we will not run it."""
        plan = analyse(request.query)
        check(plan, set(self.published_graphs), self.settings.allowed_services, self.settings.max_query_depth,
              protocol_dataset=bool(request.default_graph_uris or request.named_graph_uris))
        for iri in request.default_graph_uris + request.named_graph_uris:
            if iri not in self.published_graphs:
                raise QueryRefused(400, f"Unknown graph <{iri}>: default-graph-uri and named-graph-uri only select graphs "
                                   "of this dataset, listed in the service description (GET /sparql).")
        fmt = self._choose_format(plan.form or "SELECT", request.format, accept)
        default, named = self._dataset(request, plan)
        inline = self.inline is not None and default is None and plan.bounded
        job = QueryJob(request.query, default, named, fmt.name, self.settings.max_rows)
        return Prepared(job, fmt, self._etag(job), inline)

    def _choose_format(self, form: str, explicit: str | None, accept: str | None) -> Format:
        offered = BY_FORM[form]
        if explicit is not None:
            fmt = by_name(explicit, offered)
            if fmt is None:
                raise QueryRefused(400, f"format={explicit} cannot express {form} results; use one of "
                                   + ", ".join(f.name for f in offered))
            return fmt
        chosen = negotiate(accept, offered)
        if chosen is None:
            raise QueryRefused(406, f"None of the requested media types can express {form} results. Available: "
                               + ", ".join(f.media_type for f in offered))
        return chosen

    def _dataset(self, request: ProtocolRequest, plan) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """Protocol parameters override FROM / FROM NAMED (SPARQL 1.1 Protocol, 2.1.4); both only name our graphs.

        Without either, (None, None): the snapshot's union as the default graph (the asserted union and
        the inferred graph, which share no triple: a set), and the store's named graphs, which are exactly
        the snapshot's graphs. Listing those graphs to the engine instead would change no answer, and it
        checks such a list on every query.
        With several FROM graphs, Oxigraph unions them as a bag: a triple stated in two of them matches twice.
        """
        if request.default_graph_uris or request.named_graph_uris:
            return request.default_graph_uris, request.named_graph_uris
        if plan.from_graphs or plan.from_named:
            return tuple(plan.from_graphs), tuple(plan.from_named)
        return None, None

    def _etag(self, job: QueryJob) -> str:
        key = repr((self.snapshot.manifest["build_id"], job.query, job.default_graph, job.named_graphs,
                    job.format_name, job.max_rows)).encode("utf-8")
        return hashlib.sha256(key).hexdigest()[:32]

    def run(self, prepared: Prepared, client: str = "") -> QueryOutcome:
        """The answer to ``prepared`` for ``client`` (its address): inline if bounded; else from the cache, or
        from a worker within the client's budget (raises :class:`~kg.query.fair_use.OverLimit`).

        Bounded queries skip the cache: answered inline in well under a millisecond, they would only push
        out the answers that took a worker."""
        if prepared.inline:
            outcome = self.inline.run(prepared.job)
        else:
            if self.cache is not None:
                cached = self.cache.get(prepared.etag)
                self.metrics.cache_lookup(hit=cached is not None)
                if cached is not None:
                    return dataclasses.replace(cached, cached=True)
            outcome = self._evaluate(prepared.job, client)
            if self.cache is not None:
                self.cache.put(prepared.etag, outcome)
        self.metrics.query(outcome.seconds, prepared.inline)
        return outcome

    def _evaluate(self, job: QueryJob, client: str) -> QueryOutcome:
        try:
            ticket = self.ledger.admit(client)
        except OverLimit as over:
            self.metrics.over_limit(over.reason)
            raise
        started = time.monotonic()
        charged = None
        try:
            outcome = (self.engine.run(job, self.settings.query_timeout_s) if self.engine is not None
                       else self.pool.run(job, self.settings.query_timeout_s, client))
            charged = outcome.seconds  # what it ran, not what it waited for a worker
            return outcome
        except tuple(STOPPED) as stopped:
            self.metrics.stopped(STOPPED[type(stopped)])
            raise
        except PoolBusy:
            charged = 0.0  # it never ran: the wait was ours
            raise
        finally:
            self.ledger.settle(ticket, time.monotonic() - started if charged is None else charged)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.lease.release()

