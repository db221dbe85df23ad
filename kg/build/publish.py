"""`kg publish`: load a release into an existing SPARQL engine with that engine's own loader, check it, then switch.

A release is immutable, so an engine can hold it whole; what we add is the discipline a build already has:
nothing the engine serves is replaced until the new release is loaded *and* checked, and a release that
fails the check is removed again with the served one untouched. The check is two-fold: the triples of every
named graph, counted by the engine, equal the manifest's, and every competency question of the release
(``questions/`` in the snapshot) gives the same solutions on the engine as on the embedded store.

Targets (each :class:`Engine`), each a :class:`ReleaseDatabases`: a database of its own per release,
``<root>/releases/<id>`` holding a ``kg-release.json`` that names its release, and the symlink
``<root>/current`` at the served one:

- ``oxigraph``: the Oxigraph server's own command line (``oxigraph`` from PyPI): ``oxigraph load`` into the
  new database; ``oxigraph serve-read-only --location <root>/current`` serves it when (re)started.
- ``virtuoso``: OpenLink Virtuoso (Debian's ``virtuoso-opensource``): its bulk loader, run by a private
  Virtuoso on ports of its own while the served one goes on answering; ``virtuoso-t +configfile
  <root>/current/virtuoso.ini`` serves it on the ports given to ``kg publish``.
- ``qlever``: writes QLever's input, the release's N-Quads and a ``Qleverfile``, into ``<root>/<id>``.
  Untested here: QLever needs Docker or its own package repository, so nothing is loaded or checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import pyoxigraph as ox

from kg.build.virtuoso import UNION_GRAPH, Tuning, Virtuoso, VirtuosoDatabase, VirtuosoError
from kg.snapshot import BY_FILE, ENGINE_RELEASE_GRAPH, Snapshot, engine_release_statement

#: The dumps an engine loads: every named graph, each triple in its graph, and the union of all graphs as a
#: set for the default graph. Not the engine's own union default graph: Oxigraph's (--union-default-graph)
#: is a bag, so a triple two sources state would match twice (`kg publish` found it: cq04 answered with rows twice).
DUMP = BY_FILE["integrating-cities.nq.gz"]
UNION_DUMP = BY_FILE["integrating-cities.nt.gz"]
RELEASE_FILE = "kg-release.json"
_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
_UNION_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@dataclass(frozen=True)
class Deviation:
    """A known way an engine writes a term other than the standard does, without changing what it means
    (beyond a stated loss). The check compares both answers through :attr:`canonical` and says which
    questions showed it, rather than refuse the engine; any other difference is a disagreement."""

    name: str
    explanation: str
    #: A term (``str`` of a pyoxigraph term) in a form both ways of writing it share.
    canonical: Callable[[str], str]

    def applied(self, rows: Counter) -> Counter:
        canonical: Counter = Counter()
        for row, n in rows.items():
            canonical[tuple(None if t is None else self.canonical(t) for t in row)] += n
        return canonical


_XSD = "^^<http://www.w3.org/2001/XMLSchema#"
BOOLEAN_AS_INTEGER = Deviation(
    "boolean-as-integer", "a boolean the query computes (EXISTS, a comparison) is bound as xsd:integer 1 or 0",
    lambda t: {f'"true"{_XSD}boolean>': f'"1"{_XSD}integer>', f'"false"{_XSD}boolean>': f'"0"{_XSD}integer>'}.get(t, t))

_WKT_POINT = re.compile(r'^"POINT\(([-0-9.eE]+) ([-0-9.eE]+)\)"\^\^<(?:http://www\.opengis\.net/ont/geosparql#wktLiteral|'
                        r'http://www\.openlinksw\.com/schemas/virtrdf#Geometry)>$')
WKT_AS_GEOMETRY = Deviation(
    "wkt-as-geometry", "a geo:wktLiteral is loaded as the engine's own virtrdf:Geometry and its coordinates kept "
    "in single precision (about 1 m), so POINT(4.88969 52.37403) comes back as POINT(4.8896899223328 52.374031066895)",
    lambda t: (f"POINT({float(m[1]):.4f} {float(m[2]):.4f})" if (m := _WKT_POINT.match(t)) else t))


class PublishFailed(Exception):
    """The engine did not load the release, or does not hold what the release holds; nothing was switched."""


class Engine(Protocol):
    name: str
    #: How the engine's answers are known to depart from the standard (tolerated and reported by the check).
    deviations: tuple[Deviation, ...]

    def serves(self, snapshot: Snapshot) -> bool:
        """Whether the engine already serves this release."""

    def stage(self, snapshot: Snapshot) -> None:
        """Load the release beside what is served (nothing served changes): :data:`DUMP` into its named graphs,
        :data:`UNION_DUMP` into the default graph."""

    def query(self, sparql: str) -> bytes:
        """SPARQL JSON results of ``sparql`` over the staged release."""

    def graph_counts(self) -> dict[str, int]:
        """Triples per named graph of the staged release, as the engine counts them."""

    def switch(self, snapshot: Snapshot, check: Check) -> None:
        """Make the staged release the one served, its record saying what the check found."""

    def discard(self, snapshot: Snapshot) -> None:
        """Remove the staged release after a failed check."""

    def serve_hint(self) -> str:
        """How an operator serves the switched release."""


@dataclass(frozen=True)
class Check:
    """What the check of a staged release found beyond the counts (which must agree, or nothing is published)."""

    questions: int
    #: Question file -> the engine's known :class:`Deviation`s its answer showed (tolerated).
    deviations: dict[str, list[str]]
    #: Question file -> how the engine's answer differs from the release's (a wrong answer, or ours).
    disagreements: dict[str, str]


@dataclass(frozen=True)
class Published:
    engine: str
    release: str
    graphs: int
    triples: int
    check: Check
    load_s: float
    check_s: float


def publish(snapshot: Snapshot, engine: Engine, accept_disagreements: bool = False) -> Published | None:
    """Stage, check and switch; on a failure discard the staged release and raise PublishFailed.

    A competency question the engine answers differently fails the publish too, unless
    ``accept_disagreements``: the operator then knowingly serves an engine that answers some questions
    wrongly, and the release record (``kg-release.json``) lists them for everyone who reads it.
    None when the engine already serves this release (publishing is idempotent)."""
    if engine.serves(snapshot):
        return None
    started = time.perf_counter()
    engine.stage(snapshot)
    loaded = time.perf_counter()
    try:
        check = verify(snapshot, engine)
        if check.disagreements and not accept_disagreements:
            raise PublishFailed(f"{len(check.disagreements)} competency question(s) answer differently on "
                                f"{engine.name}: " + "; ".join(f"{q}: {d}" for q, d in check.disagreements.items()))
    except Exception:
        engine.discard(snapshot)
        raise
    checked = time.perf_counter()
    engine.switch(snapshot, check)
    graphs = expected_counts(snapshot)
    return Published(engine.name, snapshot.manifest["build_id"], len(graphs), sum(graphs.values()), check,
                     loaded - started, checked - loaded)


def expected_counts(snapshot: Snapshot) -> dict[str, int]:
    """Triples per named graph as the manifest gives them (empty graphs are not stored, so not counted)."""
    return {iri: entry["triples"] for iri, entry in snapshot.manifest["graphs"].items() if entry["triples"]}


def verify(snapshot: Snapshot, engine: Engine) -> Check:
    """Raise PublishFailed unless the engine holds every graph of the release, triple for triple, and its
    default graph is their union; then run every competency question on both and compare the answers (as
    multisets, up to the engine's known :class:`Deviation`s)."""
    counted = engine.graph_counts()
    expected = expected_counts(snapshot)
    wrong = [f"{g}: {counted.get(g, 0)} triples in {engine.name}, {n} in the release"
             for g, n in sorted(expected.items()) if counted.get(g, 0) != n]
    wrong += [f"{g}: {n} triples in {engine.name}, not a graph of the release"
              for g, n in sorted(counted.items()) if g not in expected]
    union = int(next(iter(ox.parse_query_results(engine.query(_UNION_COUNT), format=ox.QueryResultsFormat.JSON)))["n"].value)
    if union != snapshot.manifest["dumps"][UNION_DUMP.file]["triples"]:
        wrong.append(f"the default graph: {union} triples in {engine.name}, "
                     f"{snapshot.manifest['dumps'][UNION_DUMP.file]['triples']} in the release's union")
    if wrong:
        raise PublishFailed("the engine does not hold the release: " + "; ".join(wrong))
    store = ox.Store.read_only(str(snapshot.store_dir))
    questions = sorted(snapshot.questions_dir.glob("*.rq"))
    deviations: dict[str, list[str]] = {}
    disagreements: dict[str, str] = {}
    for path in questions:
        text = path.read_text(encoding="utf-8")
        local = Counter(_rows(store.query(text, default_graph=snapshot.union)))
        try:
            remote = Counter(_solutions(engine.query(text)))
        except PublishFailed as error:
            disagreements[path.name] = f"not answered: {error}"
            continue
        shown = [d for d in engine.deviations if d.applied(local) != local or d.applied(remote) != remote]
        for deviation in shown:
            local, remote = deviation.applied(local), deviation.applied(remote)
        if remote != local:
            disagreements[path.name] = _difference(local, remote)
        elif shown:
            deviations[path.name] = [d.name for d in shown]
    return Check(len(questions), deviations, disagreements)


def _difference(expected: Counter, answered: Counter) -> str:
    missing, extra = expected - answered, answered - expected
    example = "; e.g. " + " instead of ".join(
        f"({', '.join(str(t) for t in next(iter(rows)))})" for rows in (extra, missing) if rows)
    return f"{sum(missing.values())} solutions missing, {sum(extra.values())} extra{example}"


def _solutions(body: bytes) -> list[tuple[str | None, ...]]:
    return _rows(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))


def _rows(result: ox.QuerySolutions | ox.QueryBoolean) -> list[tuple[str | None, ...]]:
    """Solutions as strings in variable order; blank nodes as one placeholder (their labels are the engine's)."""
    if isinstance(result, ox.QueryBoolean):
        return [(str(bool(result)),)]
    names = [v.value for v in result.variables]
    return [tuple(None if s[n] is None else "_:b" if isinstance(s[n], ox.BlankNode) else str(s[n]) for n in names)
            for s in result]


# --------------------------------------------------------------------------- databases, one per release


class ReleaseDatabases:
    """``<root>/releases/<id>``, one engine database per release, and ``<root>/current`` -> the served one.

    Switching is one ``rename`` of a symlink, so an engine (re)started on ``<root>/current`` opens the old
    release or the new one, never a half-loaded database."""

    name = "?"
    deviations: tuple[Deviation, ...] = ()

    def __init__(self, root: Path) -> None:
        self.root = root

    def location(self, snapshot: Snapshot) -> Path:
        return self.root / "releases" / snapshot.manifest["build_id"]

    @property
    def current(self) -> Path:
        return self.root / "current"

    def serves(self, snapshot: Snapshot) -> bool:
        return self.current.exists() and self.current.resolve() == self.location(snapshot).resolve()

    def fresh_location(self, snapshot: Snapshot) -> Path:
        """An empty folder for the release's database; a staging that never became current (a killed
        publish) is removed first."""
        location = self.location(snapshot)
        if location.exists():
            shutil.rmtree(location)
        location.mkdir(parents=True)
        return location

    def point_current(self, snapshot: Snapshot, check: Check) -> None:
        location = self.location(snapshot)
        record = {**_release_record(snapshot), "engine": self.name, "questions": check.questions,
                  "deviations": check.deviations, "disagreements": check.disagreements}
        (location / RELEASE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        link = self.root / f".current-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(location.relative_to(self.root))
        os.replace(link, self.current)

    def discard(self, snapshot: Snapshot) -> None:
        shutil.rmtree(self.location(snapshot), ignore_errors=True)


class OxigraphEngine(ReleaseDatabases):
    """Databases of the ``oxigraph`` command (PyPI's Oxigraph server), served by ``serve-read-only``."""

    name = "oxigraph"

    def __init__(self, root: Path, binary: str = "oxigraph") -> None:
        super().__init__(root)
        self.binary = shutil.which(binary) or binary
        self._staged: Path | None = None

    def stage(self, snapshot: Snapshot) -> None:
        location = self.fresh_location(snapshot)
        self._run("load", "--location", str(location), "--file", str(snapshot.dump_file(DUMP)),
                  str(snapshot.dump_file(UNION_DUMP)))
        self._staged = location

    def query(self, sparql: str) -> bytes:
        assert self._staged is not None, "stage a release first"
        return self._run("query", "--location", str(self._staged), "--query", sparql, "--results-format", "json")

    def graph_counts(self) -> dict[str, int]:
        counts = ox.parse_query_results(self.query(_COUNTS), format=ox.QueryResultsFormat.JSON)
        return {row["g"].value: int(row["n"].value) for row in counts}

    def switch(self, snapshot: Snapshot, check: Check) -> None:
        self.point_current(snapshot, check)

    def serve_hint(self) -> str:
        return f"(re)start `oxigraph serve-read-only --location {self.current}` to serve it"

    def _run(self, *args: str) -> bytes:
        try:
            done = subprocess.run([self.binary, *args], capture_output=True, check=False)
        except FileNotFoundError:
            raise PublishFailed(f"no `{self.binary}` command: pip install oxigraph (the Oxigraph server)") from None
        if done.returncode != 0:
            raise PublishFailed(f"oxigraph {args[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
        return done.stdout


class VirtuosoEngine(ReleaseDatabases):
    """Virtuoso databases (kg/build/virtuoso.py), each with the virtuoso.ini that serves it on ``http_port``.

    A release is loaded and checked by a private Virtuoso on free ports of its own, so the one serving the
    previous release keeps answering; the private one is shut down (a checkpoint) before the switch."""

    name = "virtuoso"
    deviations = (BOOLEAN_AS_INTEGER, WKT_AS_GEOMETRY)

    def __init__(self, root: Path, http_port: int = 8890, sql_port: int = 1111, tuning: Tuning = Tuning()) -> None:
        super().__init__(root)
        self.http_port, self.sql_port, self.tuning = http_port, sql_port, tuning
        self._running: Virtuoso | None = None
        self._own_graphs: set[str] = set()
        self._named: tuple[str, ...] = ()

    def stage(self, snapshot: Snapshot) -> None:
        database = VirtuosoDatabase(self.fresh_location(snapshot), self.tuning)
        self._named = tuple(expected_counts(snapshot))
        try:
            self._running = database.start(dirs_allowed=[snapshot.dump_file(DUMP).parent])
            self._own_graphs = set(self._running.graph_counts())  # Virtuoso's own, in every new database
            marker = database.folder / "kg-release.nt"
            marker.write_text(engine_release_statement(snapshot.manifest["build_id"]), encoding="utf-8")
            self._running.bulk_load([(snapshot.dump_file(DUMP), UNION_GRAPH), (snapshot.dump_file(UNION_DUMP), UNION_GRAPH),
                                     (marker, ENGINE_RELEASE_GRAPH)])
        except VirtuosoError as error:
            self.discard(snapshot)
            raise PublishFailed(str(error)) from None

    def query(self, sparql: str) -> bytes:
        assert self._running is not None, "stage a release first"
        try:  # over the release's dataset, as `kg serve --engine` asks it (kg/query/engine.py)
            return self._running.query(sparql, default_graphs=(UNION_GRAPH,), named_graphs=self._named)
        except VirtuosoError as error:
            raise PublishFailed(str(error)) from None

    def graph_counts(self) -> dict[str, int]:
        """The release's graphs as Virtuoso holds them: not its own graphs, the union or the release's name."""
        assert self._running is not None, "stage a release first"
        return {graph: n for graph, n in self._running.graph_counts().items()
                if graph not in self._own_graphs | {UNION_GRAPH, ENGINE_RELEASE_GRAPH}}

    def switch(self, snapshot: Snapshot, check: Check) -> None:
        self._stop()
        database = VirtuosoDatabase(self.location(snapshot), self.tuning)
        database.write_ini(self.http_port, self.sql_port)
        self.point_current(snapshot, check)

    def discard(self, snapshot: Snapshot) -> None:
        self._stop()
        super().discard(snapshot)

    def serve_hint(self) -> str:
        return (f"(re)start `virtuoso-t +foreground +configfile {self.current / VirtuosoDatabase.INI}` to serve it "
                f"on http://127.0.0.1:{self.http_port}/sparql")

    def _stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None


def served_release(root: Path) -> dict | None:
    """The release record of the database ``<root>/current`` points at, or None."""
    record = root / "current" / RELEASE_FILE
    return json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None


def _release_record(snapshot: Snapshot) -> dict:
    return {"build_id": snapshot.manifest["build_id"], "built_at": snapshot.manifest["built_at"],
            "graphs": expected_counts(snapshot)}


# --------------------------------------------------------------------------- QLever input (untested here)


QLEVERFILE = """# Written by `kg publish qlever` for release {build_id}: QLever's input, not run here (QLever needs
# Docker or its own package repository). See https://github.com/ad-freiburg/qlever-control.
[data]
NAME = integrating-cities
DESCRIPTION = Integrating Cities Knowledge Graph, release {build_id}

[index]
INPUT_FILES = {dump}
CAT_INPUT_FILES = zcat ${{INPUT_FILES}}
SETTINGS_JSON = {{ "num-triples-per-batch": 1000000 }}

[server]
PORT = 7001
ACCESS_TOKEN = ${{data:NAME}}
MEMORY_FOR_QUERIES = 2G

[runtime]
SYSTEM = docker
IMAGE = docker.io/adfreiburg/qlever:latest
"""


def write_qlever_input(snapshot: Snapshot, root: Path) -> Path:
    """The release's N-Quads and a Qleverfile in ``<root>/<id>`` (QLever reads named graphs from N-Quads)."""
    target = root / snapshot.manifest["build_id"]
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(snapshot.dump_file(DUMP), target / DUMP.file)
    (target / "Qleverfile").write_text(QLEVERFILE.format(build_id=snapshot.manifest["build_id"], dump=DUMP.file),
                                       encoding="utf-8")
    (target / RELEASE_FILE).write_text(json.dumps(_release_record(snapshot), indent=2), encoding="utf-8")
    return target
