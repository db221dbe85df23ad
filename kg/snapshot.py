"""A build's output: the named graphs as N-Quads plus a manifest, written atomically.

Each build goes to ``<build_dir>/<build id>/``; the symlink ``<build_dir>/current`` is then swapped
to it in one ``rename``. A build that fails never touches ``current``, so the last good snapshot
keeps being served.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pyoxigraph as ox
from rdflib import Graph

from kg.load import to_oxigraph

DATASET_FILE = "dataset.nq"
MANIFEST_FILE = "manifest.json"
STORE_DIR = "store"

#: A build step that writes more files into the staging folder once the store is written (the store is
#: at ``<staging>/store``, closed, so the step may open it), given the manifest so far; it returns entries
#: to add to the manifest. Steps run in order, each seeing what the previous ones added; if one raises,
#: the whole snapshot is discarded. See kg.dumps and kg.void.
Artefact = Callable[[Path, dict[str, Any]], Mapping[str, Any]]


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
        """An Oxigraph on-disk store of the same quads, which servers open read-only without parsing."""
        return self.path / STORE_DIR

    @classmethod
    def open(cls, path: Path) -> "Snapshot":
        """Open a snapshot folder (or the ``current`` link); FileNotFoundError if there is none."""
        resolved = path.resolve(strict=True)
        manifest = json.loads((resolved / MANIFEST_FILE).read_text(encoding="utf-8"))
        return cls(resolved, manifest)


def input_hash(files: Mapping[str, Path]) -> str:
    """SHA-256 over the names and contents of every input, so equal inputs give equal hashes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update(files[name].read_bytes() + b"\0")
    return digest.hexdigest()


def nquads(graph_iri: str, graph: Graph) -> bytes:
    """The graph's triples as N-Quads in the named graph ``graph_iri``, sorted for stable output."""
    name = ox.NamedNode(graph_iri)
    quads = [ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), name) for s, p, o in graph]
    quads.sort(key=str)
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""


def write_snapshot(build_dir: Path, graphs: dict[str, Graph], manifest: dict[str, Any], keep: int,
                   artefacts: Sequence[Artefact] = ()) -> Snapshot:
    """Write graphs + manifest (+ ``artefacts``) into a new folder, then point ``current`` at it atomically."""
    build_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    build_id = now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + manifest["input_hash"][:12]
    staging = build_dir / f".{build_id}.tmp"
    final = build_dir / build_id
    staging.mkdir()
    try:
        with open(staging / DATASET_FILE, "wb") as out:
            for iri in sorted(graphs):
                out.write(nquads(iri, graphs[iri]))
        manifest = {
            **manifest,
            "build_id": build_id,
            "built_at": now.isoformat(timespec="seconds"),
            "versions": _versions(),
            "graphs": {iri: {**manifest.get("graphs", {}).get(iri, {}), "triples": len(g)} for iri, g in sorted(graphs.items())},
            "total_triples": sum(len(g) for g in graphs.values()),
        }
        _write_store(staging / DATASET_FILE, staging / STORE_DIR, manifest["inferred_graph"])
        for artefact in artefacts:
            manifest = {**manifest, **artefact(staging, manifest)}
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link = build_dir / "current"
    tmp_link = build_dir / f".current-{build_id}"
    os.symlink(build_id, tmp_link)
    os.replace(tmp_link, link)
    _prune(build_dir, keep=keep, protect=final)
    return Snapshot.open(link)


#: Hidden graph holding the union of the asserted graphs, each triple once (see :func:`_write_store`).
ASSERTED_UNION = ox.NamedNode("urn:x-kg:asserted-union")


def _write_store(dataset: Path, target: Path, inferred_graph: str) -> None:
    """Load the quads, and materialise the unions a query's default graph can be.

    Oxigraph's union default graph keeps a triple once per graph it is in, so a fact stated by two
    sources would be counted twice. SPARQL's default graph is an RDF merge, a set: so the store's real
    default graph is filled with the distinct triples of all graphs, and a hidden graph with those of
    the asserted graphs.
    """
    store = ox.Store(str(target))
    store.bulk_load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    inferred = ox.NamedNode(inferred_graph)
    store.bulk_extend(
        ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
        for q in store.quads_for_pattern(None, None, None)
        if q.graph_name != ox.DefaultGraph()
    )
    store.bulk_extend(
        ox.Quad(q.subject, q.predicate, q.object, ASSERTED_UNION)
        for q in store.quads_for_pattern(None, None, None)
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name not in (inferred, ASSERTED_UNION)
    )
    store.optimize()
    store.flush()
    del store


def _versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("rdflib", "owlrl", "reasonable", "pyshacl", "pyoxigraph")}


def _prune(build_dir: Path, keep: int, protect: Path) -> None:
    """Remove all but the newest ``keep`` snapshots (build ids sort by time)."""
    builds = sorted(p for p in build_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    for old in builds[:-keep] if keep > 0 else []:
        if old != protect:
            shutil.rmtree(old, ignore_errors=True)
