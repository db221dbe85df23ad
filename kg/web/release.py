"""The release an HTTP process serves, and its switch to a newer one without a restart.

A :class:`Release` is everything a process serves from one snapshot: its lease, its query workers and
inline runner (the endpoint), the pages' store, and the models the pages build on first use. Each request
takes the release that is current when it starts (:func:`current_release`) and keeps it to the end, so an
answer never mixes two releases, and every response names its release (``KG-Release``).

:class:`Releases` watches ``build/current``: when a build points it at a new snapshot, the new release is
made ready beside the old one (its workers started, its store opened) and then swapped in at once; the old
one is closed when its last request has finished. No request waits for a switch, and none fails because
of one.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, TypeVar

from flask import g
from werkzeug.http import http_date

from kg.config import Settings
from kg.query.engine import EngineClient, EngineUnavailable
from kg.query.fair_use import Ledger
from kg.query.metrics import Metrics
from kg.query.protocol import Endpoint
from kg.query.store import GraphStore
from kg.site.competency import CompetencyQuestion, questions
from kg.snapshot import OutdatedSnapshot, Snapshot

log = logging.getLogger(__name__)
T = TypeVar("T")


class Release:
    """What one HTTP process serves from one snapshot; closed once retired and no request uses it."""

    def __init__(self, settings: Settings, snapshot: Snapshot, metrics: Metrics, ledger: Ledger) -> None:
        self.snapshot = snapshot
        self.id: str = snapshot.manifest["build_id"]
        self.endpoint = Endpoint(settings, snapshot, metrics, ledger)
        try:
            # The pages' own bounded queries (never user SPARQL) use one read-only store of the snapshot.
            self.store = GraphStore(snapshot)
        except BaseException:
            self.endpoint.close()
            raise
        self.last_modified = http_date(datetime.fromisoformat(snapshot.manifest["built_at"]))
        self.graph_labels = _graph_labels(self.store)
        #: The example queries of this release, not of the working tree.
        self.questions: list[CompetencyQuestion] = questions(snapshot.questions_dir)
        self._models: dict[str, Any] = {}
        # Apart from the count of requests: a model can take a second to build, and no other request may wait for it.
        self._models_lock = threading.Lock()
        self._lock = threading.Lock()
        self._requests = 0
        self._retired = False

    def once(self, key: str, build: Callable[[], T]) -> T:
        """A model of this release (the catalogue, the ontology docs), built the first time a request asks."""
        found = self._models.get(key)
        if found is None:
            with self._models_lock:
                found = self._models.get(key)
                if found is None:
                    found = self._models[key] = build()
        return found

    def enter(self) -> "Release":
        with self._lock:
            self._requests += 1
        return self

    def leave(self) -> None:
        with self._lock:
            self._requests -= 1
            done = self._retired and self._requests == 0
        if done:
            self.close()

    def retire(self) -> None:
        """No new request will take this release; close it when the running ones have finished."""
        with self._lock:
            self._retired = True
            done = self._requests == 0
        if done:
            self.close()

    def close(self) -> None:
        self.endpoint.close()
        self.store.close()


class Releases:
    """The current release of this HTTP process; with ``watch``, switches to each new ``build/current``.

    ``metrics`` and ``ledger`` (the clients' budgets) are the application's, kept across releases.
    """

    def __init__(self, settings: Settings, snapshot: Snapshot, metrics: Metrics, ledger: Ledger,
                 watch_s: float = 0.0) -> None:
        self.settings, self.metrics, self.ledger = settings, metrics, ledger
        self.current = Release(settings, snapshot, metrics, ledger)
        # The gauges follow whichever release is current, so a switch that fails half-way changes nothing.
        metrics.watch_pool(lambda: (0, 0) if self.current.endpoint.pool is None else
                           (self.current.endpoint.pool.size, self.current.endpoint.pool.long_running))
        #: The build id being made ready, while a switch is under way.
        self.switching: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failed: Path | None = None  # a snapshot that could not be served: not tried again every poll
        self._watcher: threading.Thread | None = None
        if watch_s > 0:
            self._watcher = threading.Thread(target=self._watch, args=(watch_s,), name="kg-release-watch", daemon=True)
            self._watcher.start()

    def enter(self) -> Release:
        with self._lock:
            return self.current.enter()

    def switch_to(self, snapshot: Snapshot) -> Release:
        """Make ``snapshot`` ready, then serve it; the release it replaces finishes its requests first."""
        self.switching = snapshot.manifest["build_id"]
        try:
            fresh = Release(self.settings, snapshot, self.metrics, self.ledger)
        finally:
            self.switching = None
        with self._lock:
            old, self.current = self.current, fresh
        old.retire()
        log.info("now serving release %s (was %s)", fresh.id, old.id)
        return fresh

    def _watch(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                target = served_path(self.settings)
                if target not in (self.current.snapshot.path, self._failed):
                    self.switch_to(Snapshot.open(target))
            except (FileNotFoundError, OutdatedSnapshot, EngineUnavailable) as error:  # mid-swap, pruned, or the
                log.debug("release watch: %s", error)  # engine restarting: look again later
            except Exception:  # a release that cannot be served (e.g. workers fail): keep serving this one
                self._failed = target
                log.exception("could not switch to the release at %s; still serving %s", target, self.current.id)

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        self.current.retire()
        self.ledger.close()


def served_path(settings: Settings) -> Path:
    """The snapshot to serve: the one ``build/current`` names, or with an engine (KG_ENGINE_URL) the one the
    engine holds, so that every answer and page is of the same release (FileNotFoundError if the build
    folder does not have it)."""
    if not settings.engine_url:
        return settings.current_snapshot.resolve(strict=True)
    release = EngineClient(settings.engine_url, ()).release()
    path = settings.build_dir / release
    if not path.is_dir():
        raise FileNotFoundError(f"the engine at {settings.engine_url} holds release {release}, which is not in "
                                f"{settings.build_dir} (copy it there, or publish the current one with `kg publish`)")
    return path


def current_release() -> Release:
    """The release this request is answered from (taken when it started)."""
    return g.release


def _graph_labels(store: GraphStore) -> dict[str, str]:
    """rdfs:label of every named graph, from the graph descriptions in the data."""
    rows = store.query("SELECT ?g ?label WHERE { ?g a ic:DataGraph ; rdfs:label ?label }")
    return {row["g"].value: row["label"].value for row in rows}
