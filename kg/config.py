"""Every setting of the knowledge graph in one place.

Settings are declared as data (each field carries its help text) so that the CLI, the README
and the tests can enumerate them; nothing is read from the environment at import time.
Override any field with an environment variable ``KG_<FIELD NAME IN CAPITALS>``.
"""

from __future__ import annotations

import dataclasses
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
RETIRED = {"KG_BASE_IRI": "the base IRI is not configurable: the sources spell it (see BASE_IRI in kg/config.py)"}


@dataclass(frozen=True)
class Settings:
    """Paths, IRIs and limits. Build one with :func:`load_settings`."""

    root: Path = field(default_factory=lambda: default_root(), metadata={"help": "Project folder holding ontology/, data/, shapes/ and queries/ (default: the current folder if it has them, else the package's checkout)"})
    build_dir_name: str = field(default="build", metadata={"help": "Where `kg build` writes snapshots, relative to root or absolute; `current` links to the last good one"})
    keep_snapshots: int = field(default=3, metadata={"help": "How many snapshots to keep in the build folder"})
    host: str = field(default="127.0.0.1", metadata={"help": "Address `kg serve` listens on"})
    port: int = field(default=8000, metadata={"help": "Port `kg serve` listens on"})
    http_workers: int = field(default=2, metadata={"help": "HTTP server processes of `kg serve`, each with its own threads, query workers and handle on the store"})
    http_threads: int = field(default=16, metadata={"help": "Threads answering HTTP requests, per HTTP process"})
    query_workers: int = field(default=1, metadata={"help": "Worker processes that run SPARQL queries, per HTTP process (a timed-out worker is replaced); each can hold a large query's working memory"})
    metrics_dir: str = field(default="", metadata={"help": "Folder where the HTTP processes of `kg serve` pool their /metrics, emptied of old counts when it starts; empty: `kg serve` makes a temporary one, and any other WSGI server counts in memory, per process"})
    query_timeout_s: float = field(default=30.0, metadata={"help": "Stop a SPARQL query after this many seconds (answered 503)"})
    queue_timeout_s: float = field(default=60.0, metadata={"help": "How long a request waits for a free query worker before 503"})
    release_poll_s: float = field(default=1.0, metadata={"help": "How often each HTTP process looks whether build/current names a new release, and switches to it without a restart (seconds); 0: serve the release it started with"})
    max_rows: int = field(default=10000, metadata={"help": "Most result rows (or triples) returned; a cut is announced in the KG-Result-Truncated header"})
    max_request_bytes: int = field(default=1_000_000, metadata={"help": "Largest request body accepted (413 above)"})
    max_query_depth: int = field(default=64, metadata={"help": "Deepest nesting of groups a query may have (400 above)"})
    service_allowlist: str = field(default="", metadata={"help": "Space-separated endpoint IRIs that SERVICE may call; empty: SERVICE is refused"})
    reasoner: str = field(default="oxigraph", metadata={"help": "OWL 2 RL engine: oxigraph (fastest: the instance rules as queries in the store), reasonable (fast) or owlrl (the reference)"})
    shacl_engine: str = field(default="oxigraph", metadata={"help": "SHACL engine of kg build and kg validate: oxigraph (fast: the shapes compiled into queries) or pyshacl (the reference)"})

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
    def metrics_folder(self) -> Path | None:
        """None: metrics are counted in memory, by one process."""
        return Path(self.metrics_dir) if self.metrics_dir else None

    @property
    def current_snapshot(self) -> Path:
        return self.build_dir / "current"


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
