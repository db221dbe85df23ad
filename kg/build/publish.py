"""`kg publish`: load a release into an existing SPARQL engine with that engine's own loader, check it, then switch.

A release is immutable, so an engine can hold it whole; what we add is the discipline a build already has:
nothing the engine serves is replaced until the new release is loaded *and* checked, and a release that
fails the check is removed again with the served one untouched. The check is two-fold: the triples of every
named graph, counted by the engine, equal the manifest's, and every competency question of the release
(``questions/`` in the snapshot) gives the same solutions on the engine as on the embedded store.

Targets (each :class:`Engine`):

- ``oxigraph``: the Oxigraph server's own command line (``oxigraph`` from PyPI). A release is loaded with
  ``oxigraph load`` into a database of its own, ``<root>/releases/<id>`` (named graphs, and their union as
  a set in the default graph); switching points the symlink ``<root>/current`` at it (one ``rename``),
  which ``oxigraph serve-read-only --location <root>/current`` opens when (re)started. Each database holds a ``kg-release.json`` naming its release.
- ``qlever``: writes QLever's input, the release's N-Quads and a ``Qleverfile``, into ``<root>/<id>``.
  Untested here: QLever needs Docker or its own package repository, so nothing is loaded or checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from kg.snapshot import BY_FILE, Snapshot

#: The dumps an engine loads: every named graph, each triple in its graph, and the union of all graphs as a
#: set for the default graph. Not the engine's own union default graph: Oxigraph's (--union-default-graph)
#: is a bag, so a triple two sources state would match twice (`kg publish` found it: cq04 answered with rows twice).
DUMP = BY_FILE["integrating-cities.nq.gz"]
UNION_DUMP = BY_FILE["integrating-cities.nt.gz"]
RELEASE_FILE = "kg-release.json"
_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
_UNION_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


class PublishFailed(Exception):
    """The engine did not load the release, or does not hold what the release holds; nothing was switched."""


class Engine(Protocol):
    name: str

    def serves(self, snapshot: Snapshot) -> bool:
        """Whether the engine already serves this release."""

    def stage(self, snapshot: Snapshot) -> None:
        """Load the release beside what is served (nothing served changes): :data:`DUMP` into its named graphs,
        :data:`UNION_DUMP` into the default graph."""

    def query(self, sparql: str) -> bytes:
        """SPARQL JSON results of ``sparql`` over the staged release."""

    def switch(self, snapshot: Snapshot) -> None:
        """Make the staged release the one served."""

    def discard(self, snapshot: Snapshot) -> None:
        """Remove the staged release after a failed check."""


@dataclass(frozen=True)
class Published:
    engine: str
    release: str
    graphs: int
    triples: int
    questions: int
    load_s: float
    check_s: float


def publish(snapshot: Snapshot, engine: Engine) -> Published | None:
    """Stage, check and switch; on any failure discard the staged release and raise PublishFailed.
    None when the engine already serves this release (publishing is idempotent)."""
    if engine.serves(snapshot):
        return None
    started = time.perf_counter()
    engine.stage(snapshot)
    loaded = time.perf_counter()
    try:
        questions = verify(snapshot, engine)
    except Exception:
        engine.discard(snapshot)
        raise
    checked = time.perf_counter()
    engine.switch(snapshot)
    graphs = expected_counts(snapshot)
    return Published(engine.name, snapshot.manifest["build_id"], len(graphs), sum(graphs.values()), questions,
                     loaded - started, checked - loaded)


def expected_counts(snapshot: Snapshot) -> dict[str, int]:
    """Triples per named graph as the manifest gives them (empty graphs are not stored, so not counted)."""
    return {iri: entry["triples"] for iri, entry in snapshot.manifest["graphs"].items() if entry["triples"]}


def verify(snapshot: Snapshot, engine: Engine) -> int:
    """Raise PublishFailed unless the engine's counts and answers are the release's; return the questions run."""
    counts = ox.parse_query_results(engine.query(_COUNTS), format=ox.QueryResultsFormat.JSON)
    counted = {row["g"].value: int(row["n"].value) for row in counts}
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
    for path in questions:
        text = path.read_text(encoding="utf-8")
        local = Counter(_rows(store.query(text, default_graph=snapshot.union)))
        try:
            remote = Counter(_solutions(engine.query(text)))
        except PublishFailed as error:
            raise PublishFailed(f"{path.name}: {error}") from None
        if remote != local:
            missing, extra = local - remote, remote - local
            raise PublishFailed(f"{path.name} answers differently on {engine.name}: "
                                f"{sum(missing.values())} solutions missing, {sum(extra.values())} extra")
    return len(questions)


def _solutions(body: bytes) -> list[tuple[str | None, ...]]:
    return _rows(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))


def _rows(result: ox.QuerySolutions | ox.QueryBoolean) -> list[tuple[str | None, ...]]:
    """Solutions as strings in variable order; blank nodes as one placeholder (their labels are the engine's)."""
    if isinstance(result, ox.QueryBoolean):
        return [(str(bool(result)),)]
    names = [v.value for v in result.variables]
    return [tuple(None if s[n] is None else "_:b" if isinstance(s[n], ox.BlankNode) else str(s[n]) for n in names)
            for s in result]


# --------------------------------------------------------------------------- Oxigraph server


class OxigraphEngine:
    """Databases of the ``oxigraph`` command under ``root``: ``releases/<id>``, and ``current`` -> the served one."""

    name = "oxigraph"

    def __init__(self, root: Path, binary: str = "oxigraph") -> None:
        self.root = root
        self.binary = shutil.which(binary) or binary
        self._staged: Path | None = None

    def location(self, snapshot: Snapshot) -> Path:
        return self.root / "releases" / snapshot.manifest["build_id"]

    @property
    def current(self) -> Path:
        return self.root / "current"

    def serves(self, snapshot: Snapshot) -> bool:
        return self.current.exists() and self.current.resolve() == self.location(snapshot).resolve()

    def stage(self, snapshot: Snapshot) -> None:
        location = self.location(snapshot)
        if location.exists():  # a staging that never became current (a killed publish): start again
            shutil.rmtree(location)
        location.parent.mkdir(parents=True, exist_ok=True)
        self._run("load", "--location", str(location), "--file", str(snapshot.dump_file(DUMP)),
                  str(snapshot.dump_file(UNION_DUMP)))
        (location / RELEASE_FILE).write_text(json.dumps(_release_record(snapshot), indent=2), encoding="utf-8")
        self._staged = location

    def query(self, sparql: str) -> bytes:
        assert self._staged is not None, "stage a release first"
        return self._run("query", "--location", str(self._staged), "--query", sparql, "--results-format", "json")

    def switch(self, snapshot: Snapshot) -> None:
        link = self.root / f".current-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(self.location(snapshot).relative_to(self.root))
        os.replace(link, self.current)  # atomic: a (re)starting server opens the old release or the new one

    def discard(self, snapshot: Snapshot) -> None:
        shutil.rmtree(self.location(snapshot), ignore_errors=True)

    def _run(self, *args: str) -> bytes:
        try:
            done = subprocess.run([self.binary, *args], capture_output=True, check=False)
        except FileNotFoundError:
            raise PublishFailed(f"no `{self.binary}` command: pip install oxigraph (the Oxigraph server)") from None
        if done.returncode != 0:
            raise PublishFailed(f"oxigraph {args[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
        return done.stdout


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
