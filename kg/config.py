"""Every setting of the knowledge graph in one place.

Settings are declared as data (each field carries its help text) so that the CLI, the README
and the tests can enumerate them; nothing is read from the environment at import time.
Override any field with an environment variable ``KG_<FIELD NAME IN CAPITALS>``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The persistent base of every IRI we mint. Ontology terms live under ``def/``, instances under
#: ``id/``, named graphs under ``graph/``. Published IRIs never change.
#:
#: Not a setting: the ontology, data, shapes, checks and queries spell these IRIs in their Turtle and
#: SPARQL, so a different base would need different sources, not a different server. Where the graph is
#: served does not matter: the path after the base is the route (links on our pages are local paths),
#: and the persistent base redirects to whichever host serves it.
BASE_IRI = "https://w3id.org/integrating-cities/"
#: Settings that once existed, with what to do instead: a variable left set is an error, not ignored.
RETIRED = {"KG_BASE_IRI": "the base IRI is not configurable: the sources spell it (see BASE_IRI in kg/config.py)",
           "KG_METRICS_DIR": "it is now KG_STATE_DIR, which also holds the clients' query budgets",
           "KG_KEEP_SNAPSHOTS": "it is now KG_KEEP_RELEASES: every snapshot kept is a release that stays queryable"}


@dataclass(frozen=True)
class Settings:
    """Paths, IRIs and limits. Build one with :func:`load_settings`."""

    root: Path = field(default_factory=lambda: default_root(), metadata={"help": "Project folder holding ontology/, data/, shapes/ and queries/ (default: the current folder if it has them, else the package's checkout)"})
    build_dir_name: str = field(default="build", metadata={"help": "Where `kg build` writes snapshots, relative to root or absolute; `current` links to the last good one"})
    keep_releases: int = field(default=3, metadata={"help": "How many releases (snapshots) to keep in the build folder; each stays queryable at /release/<id>/sparql and downloadable, the current one also at /sparql"})
    release_idle_s: float = field(default=300.0, metadata={"help": "An old release's endpoint (opened on its first request) is closed after this many seconds without one, so kept releases cost no query workers while nobody asks them"})
    permalink_max_bytes: int = field(default=10_000_000, metadata={"help": "Largest size of the append-only file of query permalinks (/q/<hash>); when full, new permalinks are refused (507) and existing ones still resolve"})
    host: str = field(default="127.0.0.1", metadata={"help": "Address `kg serve` listens on"})
    port: int = field(default=8000, metadata={"help": "Port `kg serve` listens on"})
    http_workers: int = field(default_factory=lambda: min(4, cores()), metadata={"help": "HTTP server processes of `kg serve`, each with its own threads, query workers and handle on the store (default: the cores, at most 4)"})
    http_threads: int = field(default=16, metadata={"help": "Threads answering HTTP requests, per HTTP process"})
    query_workers: int = field(default=0, metadata={"help": "Worker processes ready for new SPARQL queries, per HTTP process (a stopped worker is replaced); each can hold a large query's working memory; 0: the cores shared among the HTTP processes, at least 2"})
    long_query_s: float = field(default=0.5, metadata={"help": "A query still running after this many seconds is long: it moves out of the way (a fresh worker takes its place), so short queries never queue behind it"})
    long_queries: int = field(default=0, metadata={"help": "Long queries that may run at once, per HTTP process; one more is stopped when it becomes long (503); 0: the cores shared among the HTTP processes, at least 2"})
    query_max_memory: str = field(default="1G", metadata={"help": "A query whose worker's resident memory passes this (bytes, or with K, M, G) is stopped (503) and the worker replaced"})
    client_query_budget_s: float = field(default=30.0, metadata={"help": "Seconds of query time a client may use per minute (refilled continuously); over it, 429 with Retry-After. Bounded lookups and cached answers cost nothing; 0: no budget"})
    client_max_queries: int = field(default=2, metadata={"help": "Queries a client may have running at once (all HTTP processes); one more is answered 429; 0: no cap"})
    trusted_proxies: str = field(default="", metadata={"help": "Space-separated addresses or networks of reverse proxies whose X-Forwarded-For names the client; empty: the client is the connection's address"})
    cache_bytes: int = field(default=64_000_000, metadata={"help": "Answers kept per HTTP process for repeated identical queries against the same release (bytes; KG-Cache header); 0: no cache"})
    state_dir: str = field(default="", metadata={"help": "Folder where the HTTP processes of `kg serve` share their state: pooled /metrics and the clients' query budgets, emptied when it starts; empty: `kg serve` makes a temporary one, and any other WSGI server keeps them in memory, per process"})
    query_timeout_s: float = field(default=30.0, metadata={"help": "Stop a SPARQL query after this many seconds (answered 503)"})
    shutdown_grace_s: float = field(default=30.0, metadata={"help": "On SIGTERM or SIGINT, how long `kg serve` lets running requests finish (taking no new ones) before it kills the HTTP processes still busy"})
    queue_timeout_s: float = field(default=60.0, metadata={"help": "How long a request waits for a free query worker before 503"})
    release_poll_s: float = field(default=1.0, metadata={"help": "How often each HTTP process looks whether build/current names a new release, and switches to it without a restart (seconds); 0: serve the release it started with"})
    engine_url: str = field(default="", metadata={"help": "SPARQL endpoint of an engine `kg publish` loaded (Virtuoso): queries are evaluated there, behind our guard, budgets, row cap and writers, and the release served is the one the engine holds (which must be in the build folder); empty: the embedded store"})
    max_rows: int = field(default=10000, metadata={"help": "Most result rows (or triples) returned; a cut is announced in the KG-Result-Truncated header"})
    reconcile_max_queries: int = field(default=100, metadata={"help": "Most names one reconciliation request (/reconcile, OpenRefine) may ask about at once (400 above)"})
    max_request_bytes: int = field(default=1_000_000, metadata={"help": "Largest request body accepted (413 above)"})
    max_query_depth: int = field(default=64, metadata={"help": "Deepest nesting of groups a query may have (400 above)"})
    service_allowlist: str = field(default="", metadata={"help": "Space-separated endpoint IRIs that SERVICE may call; empty: SERVICE is refused"})
    reasoner: str = field(default="oxigraph", metadata={"help": "OWL 2 RL engine: oxigraph (fastest: the instance rules as queries in the store), reasonable (fast) or owlrl (the reference)"})
    shacl_engine: str = field(default="oxigraph", metadata={"help": "SHACL engine of kg build and kg validate: oxigraph (fast: the shapes compiled into queries) or pyshacl (the reference)"})

    def __post_init__(self) -> None:
        self.query_max_memory_bytes  # noqa: B018 -- a bad value fails when the settings are made, not at the first query
        self.trusted_proxy_networks  # noqa: B018

    @property
    def query_worker_count(self) -> int:
        return self.query_workers or max(2, cores() // max(1, self.http_workers))

    @property
    def long_query_count(self) -> int:
        return self.long_queries or max(2, cores() // max(1, self.http_workers))

    @property
    def query_max_memory_bytes(self) -> int:
        return parse_bytes(self.query_max_memory, "KG_QUERY_MAX_MEMORY")

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies.split())
        except ValueError as error:
            raise SettingsError(f"KG_TRUSTED_PROXIES: {error}") from None

    @property
    def base_iri(self) -> str:
        """:data:`BASE_IRI`; a property so that code holding settings needs nothing else."""
        return BASE_IRI

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def checks_dir(self) -> Path:
        return self.root / "checks"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def build_dir(self) -> Path:
        return self.root / self.build_dir_name

    @property
    def ontology_iri(self) -> str:
        return self.base_iri + "def"

    @property
    def vocab_namespace(self) -> str:
        return self.base_iri + "def/"

    @property
    def instance_namespace(self) -> str:
        return self.base_iri + "id/"

    @property
    def graph_namespace(self) -> str:
        return self.base_iri + "graph/"

    def graph_iri(self, name: str) -> str:
        """The named graph for a data file stem, or for ``ontology`` / ``inferred``."""
        return self.graph_namespace + name

    @property
    def ontology_graph(self) -> str:
        return self.graph_iri("ontology")

    @property
    def inferred_graph(self) -> str:
        return self.graph_iri("inferred")

    @property
    def allowed_services(self) -> frozenset[str]:
        return frozenset(self.service_allowlist.split())

    @property
    def state_folder(self) -> Path | None:
        """None: metrics and budgets are kept in memory, by one process."""
        return Path(self.state_dir) if self.state_dir else None

    @property
    def current_snapshot(self) -> Path:
        return self.build_dir / "current"


def cores() -> int:
    """The cores this process may run on (its affinity, which containers and taskset narrow), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


def parse_bytes(text: str, name: str) -> int:
    """``1G``, ``512M``, ``300000000``: binary units, as memory is counted."""
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = raw[-1:] if raw[-1:] in _UNITS else ""
    try:
        value = float(raw[: len(raw) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a size (bytes, or a number with K, M or G)") from None
    if value <= 0:
        raise SettingsError(f"{name}={text!r} must be more than 0")
    return int(value)


def default_root() -> Path:
    """The current folder when it is a project checkout, so `kg` works on a copy of the data too."""
    cwd = Path.cwd()
    return cwd if (cwd / "ontology").is_dir() and (cwd / "data").is_dir() else PROJECT_ROOT


class SettingsError(ValueError):
    """A ``KG_*`` variable that names no setting, or whose value does not fit it."""


def _coerce(kind: Any, raw: str) -> Any:
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    return raw


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then ``KG_*`` environment variables, then explicit overrides (tests, CLI flags)."""
    environ = os.environ if environ is None else environ
    fields = {"KG_" + f.name.upper(): f for f in dataclasses.fields(Settings)}
    unknown = sorted(name for name in environ if name.startswith("KG_") and name not in fields)
    if unknown:
        name = unknown[0]
        raise SettingsError(f"{name} is not a setting: " + RETIRED.get(name, "the settings are " + ", ".join(fields)))
    values: dict[str, Any] = {}
    for env_name, f in fields.items():
        if env_name in environ:
            try:
                values[f.name] = _coerce(f.type, environ[env_name])
            except ValueError:
                raise SettingsError(f"{env_name}={environ[env_name]!r} is not a valid {f.type}") from None
    types = {f.name: f.type for f in dataclasses.fields(Settings)}
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(types[name], value) if isinstance(value, str) else value
    return Settings(**values)
