"""A built release, opened read-only: the one thing the build wing and the serving side both know.

A snapshot is a folder ``<build_dir>/<build id>/`` that `kg build` wrote (:mod:`kg.build.writer`) and
never changes afterwards; ``<build_dir>/current`` links to the last good one. This module says what a
snapshot holds and where, so that the serving side reads it without importing the code that wrote it:

=====================  ==========================================================================
``manifest.json``      triples per graph, input hash, versions, build time, store layout, dumps, VoID
``dataset.nq``         every named graph as N-Quads
``store/``             an Oxigraph store of the same quads (its default graph: the asserted union)
``dumps/``             the downloads (:data:`DUMP_FORMATS`)
``void.ttl``           the VoID and DCAT description of the dataset
``queries/``           the competency questions and their expected answers, as the build read them
``explanations.sqlite``  the OWL 2 RL rule and premises of each inferred triple (:data:`EXPLANATIONS_FILE`)
=====================  ==========================================================================
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyoxigraph as ox

from kg.formats import JSONLD, NQUADS, NTRIPLES, TRIG, TURTLE, Format
from kg.namespaces import VOID_PREFIXES

DATASET_FILE = "dataset.nq"
MANIFEST_FILE = "manifest.json"
STORE_DIR = "store"
DUMPS_DIR = "dumps"
VOID_FILE = "void.ttl"
QUESTIONS_DIR = "queries"
#: SQLite: ``terms(id, term)`` (N-Triples), ``derivations(s, p, o, rule, premises)`` (term ids; premises
#: are ids, three per triple, space-separated) and ``about(key, value)``, whose ``recorded`` is ``1`` when the
#: build knew the derivations and ``0`` when its engine did not say (``note`` says why).
EXPLANATIONS_FILE = "explanations.sqlite"
EXPLANATIONS_TABLES = (
    "CREATE TABLE terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)",
    "CREATE TABLE derivations (s INTEGER NOT NULL, p INTEGER NOT NULL, o INTEGER NOT NULL, rule TEXT NOT NULL,"
    " premises TEXT NOT NULL, PRIMARY KEY (s, p, o)) WITHOUT ROWID",
    "CREATE TABLE about (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
#: The rule named for a schema triple that the general engine (reasonable) derived: it does not say from what.
SCHEMA_CLOSURE_RULE = "schema-closure"
#: The lock file of a snapshot: see :class:`Lease`.
LEASE_FILE = ".lease"
#: What the store's default graph holds, recorded in the manifest. 2: the asserted union only (see
#: :func:`union_graphs`); 1 (before): the union of every graph, inferred included. Code that reads
#: one layout gives wrong counts on the other, so a snapshot of another layout is not opened.
STORE_LAYOUT = 2
#: What the folder holds besides the store, recorded in the manifest. 2: the competency questions too
#: (``queries/``). A snapshot of an older format is rebuilt, so the server never lacks what it serves.
FOLDER_FORMAT = 2
GZIP_MEDIA_TYPE = "application/gzip"
#: Where `kg publish` names, inside an engine, the release it loaded (``<graph> dcterms:identifier "<id>"``),
#: so that `kg serve --engine` serves the pages and headers of the release the engine answers from.
#: It is not a graph of the release: no count, check or dataset of the release includes it.
ENGINE_RELEASE_GRAPH = "urn:x-kg:release"
ENGINE_RELEASE_PROPERTY = "http://purl.org/dc/terms/identifier"
#: The graph in which `kg publish` loads the release's union (each triple once) into an engine whose own
#: default graph is not that set (Virtuoso's is every graph it holds, as a bag): `kg serve --engine` names it
#: as the default graph of every query that names none.
ENGINE_UNION_GRAPH = "urn:x-kg:union"
#: A graph no engine holds: the default graph of a request that names only named graphs is empty.
ENGINE_EMPTY_GRAPH = "urn:x-kg:empty"


@dataclass(frozen=True)
class DumpFormat:
    """One download: its file name, the RDF format inside, whether it keeps the named graphs, compression."""

    file: str
    format: Format
    title: str
    graphs: bool
    gzip: bool = False

    @property
    def media_type(self) -> str:
        """Of the RDF inside (the file itself is application/gzip when ``gzip``)."""
        return self.format.media_type

    @property
    def content_type(self) -> str:
        """What the file is sent as over HTTP: the compressed ones as gzip files, so the bytes match the checksum."""
        return GZIP_MEDIA_TYPE if self.gzip else self.media_type


DUMP_FORMATS: tuple[DumpFormat, ...] = (
    DumpFormat("integrating-cities.ttl", TURTLE, "Turtle: the union of all graphs", graphs=False),
    DumpFormat("integrating-cities.nt.gz", NTRIPLES, "N-Triples (gzip): the union of all graphs", graphs=False, gzip=True),
    DumpFormat("integrating-cities.nq.gz", NQUADS, "N-Quads (gzip): every named graph", graphs=True, gzip=True),
    DumpFormat("integrating-cities.trig", TRIG, "TriG: every named graph", graphs=True),
    DumpFormat("integrating-cities.jsonld", JSONLD, "JSON-LD: every named graph", graphs=True),
)
BY_FILE = {f.file: f for f in DUMP_FORMATS}


@dataclass(frozen=True)
class Snapshot:
    """A built snapshot on disk."""

    path: Path
    manifest: dict[str, Any]

    @property
    def dataset_file(self) -> Path:
        return self.path / DATASET_FILE

    @property
    def store_dir(self) -> Path:
        """An Oxigraph on-disk store of the same quads, which servers open read-only without parsing.
        Its default graph is the asserted union: query :attr:`union` for every triple."""
        return self.path / STORE_DIR

    @property
    def union(self) -> list[ox.DefaultGraph | ox.NamedNode]:
        """The store's graphs that hold, between them, every triple of the snapshot once."""
        return union_graphs(self.manifest)

    @property
    def questions_dir(self) -> Path:
        """The example queries served with this release: copied at build time, so that they answer on the
        data they were written for whatever the working tree holds now."""
        return self.path / QUESTIONS_DIR

    @property
    def void_file(self) -> Path:
        return self.path / VOID_FILE

    def dump_file(self, fmt: DumpFormat) -> Path:
        return self.path / DUMPS_DIR / fmt.file

    def dumps(self) -> list[tuple[DumpFormat, dict[str, Any]]]:
        """The snapshot's dumps in publication order, each with its manifest entry."""
        return dump_entries(self.manifest)

    def void_description(self, rdf_format: ox.RdfFormat) -> bytes:
        """The VoID description in ``rdf_format``; FileNotFoundError if the snapshot has none."""
        return _converted(self.void_file, rdf_format)

    def lease(self) -> "Lease":
        """Keep this snapshot from being pruned while it is served (see :class:`Lease`)."""
        return Lease(self.path)

    @classmethod
    def open(cls, path: Path) -> "Snapshot":
        """Open a snapshot folder (or the ``current`` link); FileNotFoundError if there is none,
        OutdatedSnapshot if an older version of kg wrote it."""
        resolved = path.resolve(strict=True)
        manifest = json.loads((resolved / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("store_layout", 1) != STORE_LAYOUT or manifest.get("folder_format", 1) != FOLDER_FORMAT:
            raise OutdatedSnapshot(f"{resolved} was built by an older version of kg; `kg build --force` rebuilds it")
        return cls(resolved, manifest)


class SnapshotGone(FileNotFoundError):
    """The snapshot was pruned (or is being pruned) before it could be leased."""


class Lease:
    """A shared lock on a snapshot's ``.lease`` file, held by every process that serves the snapshot.

    A build prunes an old snapshot only when it can lock that file exclusively (:mod:`kg.build.writer`),
    so a snapshot that any server process, query worker or `kg query` still reads is never deleted
    under it. The kernel drops a lock when its process ends, however it ends: a crashed server leaves
    nothing behind that would keep a snapshot for ever. https://man7.org/linux/man-pages/man2/flock.2.html
    """

    def __init__(self, path: Path, published: bool = True) -> None:
        """``published=False``: a snapshot still being written (the build's own lease), without a manifest yet."""
        self.path = path
        try:
            self._fd: int | None = os.open(path / LEASE_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise SnapshotGone(f"{path} has been pruned") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise SnapshotGone(f"{path} is being pruned") from None
        if published and not (path / MANIFEST_FILE).exists():  # pruned between our open and our lock
            self.release()
            raise SnapshotGone(f"{path} has been pruned")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def claim_for_removal(path: Path) -> int | None:
    """An exclusive lock on a snapshot no process leases, as an open descriptor; None if one does.

    Whoever removes the snapshot renames it away before closing the descriptor, so no lease can be
    taken on it afterwards (:class:`Lease` checks the manifest is still there once it holds its lock)."""
    try:
        fd = os.open(path / LEASE_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def verify(snapshot: Snapshot) -> list[str]:
    """What in a snapshot folder differs from its manifest: each file the manifest gives a SHA-256 for (the
    dumps, the VoID file) hashed again, and the store's triples counted per graph. Empty when the copy is
    whole: how a release copied to a replica is checked before the replica serves it (docs/deploy.md)."""
    problems = []
    files = [(f"dumps/{fmt.file}", entry) for fmt, entry in snapshot.dumps()]
    for artefact in ("void", "explanations"):
        if artefact in snapshot.manifest:
            files.append((snapshot.manifest[artefact]["file"], snapshot.manifest[artefact]))
    for name, entry in files:
        path = snapshot.path / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest's")
    try:
        store = ox.Store.read_only(str(snapshot.store_dir))
    except OSError as error:
        return problems + [f"store: cannot be opened ({error})"]
    counted = {row["g"].value: int(row["n"].value) for row in store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    for graph, entry in sorted(snapshot.manifest["graphs"].items()):
        if counted.get(graph, 0) != entry["triples"]:
            problems.append(f"store: graph {graph} holds {counted.get(graph, 0)} triples, the manifest says {entry['triples']}")
    return problems


def file_sha256(path: Path) -> str:
    """The SHA-256 a manifest records for a file (the build writes it, :func:`verify` checks it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OutdatedSnapshot(Exception):
    """A snapshot this version cannot read correctly (see :data:`STORE_LAYOUT` and :data:`FOLDER_FORMAT`)."""


def union_graphs(manifest: Mapping[str, Any]) -> list[ox.DefaultGraph | ox.NamedNode]:
    """The graphs that hold, between them, every triple of the snapshot once: in the build's dataset and
    in the snapshot's store alike.

    The default graph is the asserted union; the inferred graph holds no triple of it (see
    :class:`kg.build.writer.SnapshotWriter`). So querying both as one default graph counts each triple once,
    without copying a million inferred triples into the default graph: at 10^6 triples that copy was a
    quarter of the store's bulk load, and a default graph of the asserted triples alone answers the pages'
    queries on what the sources state without a second store.
    """
    return [ox.DefaultGraph(), ox.NamedNode(manifest["inferred_graph"])]


def dump_entries(manifest: Mapping[str, Any]) -> list[tuple[DumpFormat, dict[str, Any]]]:
    """The dumps a manifest lists, in publication order, each with its entry (none for older snapshots)."""
    dumps = manifest.get("dumps", {})
    return [(fmt, dumps[fmt.file]) for fmt in DUMP_FORMATS if fmt.file in dumps]


@lru_cache(maxsize=32)
def _converted(path: Path, rdf_format: ox.RdfFormat) -> bytes:
    """A snapshot's Turtle file in another syntax (the file never changes once the snapshot is written)."""
    data = path.read_bytes()
    if rdf_format == ox.RdfFormat.TURTLE:
        return data
    triples = list(ox.parse(data, format=ox.RdfFormat.TURTLE))
    options = {"prefixes": VOID_PREFIXES} if rdf_format in (ox.RdfFormat.RDF_XML,) else {}
    return ox.serialize(triples, format=rdf_format, **options) or b""


def engine_release_statement(build_id: str) -> str:
    """The N-Triples line naming ``build_id`` as the release an engine holds (in :data:`ENGINE_RELEASE_GRAPH`)."""
    return f"<{ENGINE_RELEASE_GRAPH}> <{ENGINE_RELEASE_PROPERTY}> {ox.Literal(build_id)} .\n"


def virtuoso_dataset(default_graphs: Iterable[str], named_graphs: Iterable[str]) -> str:
    """Virtuoso's pragmas naming a query's dataset, to go before its text: how both `kg publish virtuoso` and
    `kg serve --engine` ask a published release. In the text, not as ``default-graph-uri``/``named-graph-uri``
    parameters: Virtuoso 7.2 echoes each of those as a response header, and past 100 graphs Python's HTTP
    client reads no answer ("got more than 100 headers"). The pragmas override a FROM of the query."""
    return " ".join([*(f"define input:default-graph-uri <{g}>" for g in default_graphs),
                     *(f"define input:named-graph-uri <{g}>" for g in named_graphs)])
