"""A build's output: the named graphs as N-Quads plus a manifest, written atomically.

Each build goes to ``<build_dir>/<build id>/``; the symlink ``<build_dir>/current`` is then swapped
to it in one ``rename``. A build that fails never touches ``current``, so the last good snapshot
keeps being served.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pyoxigraph as ox

DATASET_FILE = "dataset.nq"
#: The union of all graphs as N-Triples, for the build steps (dumps); removed once they have run.
UNION_FILE = "union.nt"
MANIFEST_FILE = "manifest.json"
STORE_DIR = "store"

#: A build step that writes more files into the staging folder, given the manifest so far and the build's
#: in-memory dataset, whose default graph is by then the union of all its graphs (a set). Steps run while
#: the on-disk store is being loaded (on the other core), so they must not open ``<staging>/store``; the
#: dataset.nq and union.nt files are complete. Each returns entries to add to the manifest; steps run in
#: order, each seeing what the previous ones added; if one raises, the whole snapshot is discarded. See
#: kg.dumps and kg.void.
Artefact = Callable[[Path, dict[str, Any], ox.Store], Mapping[str, Any]]


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


def nquads(dataset: ox.Store, graph_iri: str) -> bytes:
    """The triples of one named graph of ``dataset`` as N-Quads, in the store's order.

    Each N-Triples statement ends with " ." and a newline, which occurs nowhere else (a newline in a
    literal is escaped): so the graph name is put in by one replacement, not line by line in Python.
    """
    body = dataset.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph_iri)) or b""
    return body.replace(b" .\n", f" <{graph_iri}> .\n".encode())


def graph_names(dataset: ox.Store) -> list[str]:
    """The IRIs of the dataset's named graphs, sorted."""
    return sorted(g.value for g in dataset.named_graphs() if isinstance(g, ox.NamedNode))


def write_snapshot(build_dir: Path, dataset: ox.Store, manifest: dict[str, Any], keep: int,
                   artefacts: Sequence[Artefact] = ()) -> Snapshot:
    """Write the named graphs of ``dataset`` + manifest (+ ``artefacts``) into a new folder, then point
    ``current`` at it atomically.

    ``dataset``'s default graph must hold the union of its graphs other than the inferred one, each
    triple once (as :class:`kg.load.LoadedGraphs` keeps it), and the inferred graph no triple of that
    union (as :func:`kg.reason.infer_into` writes it). The inferred triples are then added to its
    default graph, which becomes the union of all graphs.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    build_id = now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + manifest["input_hash"][:12]
    staging = build_dir / f".{build_id}.tmp"
    final = build_dir / build_id
    staging.mkdir()
    try:
        names = graph_names(dataset)
        with open(staging / DATASET_FILE, "wb") as out:
            for iri in names:
                out.write(nquads(dataset, iri))
        counts = _triples_per_graph(dataset)
        manifest = {
            **manifest,
            "build_id": build_id,
            "built_at": now.isoformat(timespec="seconds"),
            "versions": library_versions(),
            "graphs": {iri: {**manifest.get("graphs", {}).get(iri, {}), "triples": counts.get(iri, 0)} for iri in names},
            "total_triples": sum(counts.get(iri, 0) for iri in names),
        }
        loading = _StoreLoad(_store_input(dataset, staging, manifest["inferred_graph"]), staging / STORE_DIR)
        loading.start()
        try:
            for artefact in artefacts:
                manifest = {**manifest, **artefact(staging, manifest, dataset)}
        finally:
            loading.join()
        (staging / UNION_FILE).unlink()
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


def _triples_per_graph(dataset: ox.Store) -> dict[str, int]:
    rows = dataset.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {row["g"].value: int(row["n"].value) for row in rows}


def _store_input(dataset: ox.Store, staging: Path, inferred_graph: str) -> list[Path]:
    """Write union.nt; return the files the store is loaded from, read as one N-Quads document.

    Oxigraph's union default graph keeps a triple once per graph it is in, so a fact stated by two
    sources would be counted twice. SPARQL's default graph is an RDF merge, a set: so the store's real
    default graph is filled with the distinct triples of all graphs. It is loaded in one pass with the
    named graphs, from one document serialised by the engine: each load renames blank nodes, so the
    union cannot be loaded separately, and an update inside the on-disk store is ten times slower.
    Reading a store back is slow too, which is why union.nt is written here, for the dumps, from the
    in-memory dataset.
    """
    dataset.update(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{inferred_graph}> {{ ?s ?p ?o }} }}")
    dataset.dump(str(staging / UNION_FILE), ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    return [staging / DATASET_FILE, staging / UNION_FILE]  # N-Triples lines are N-Quads in the default graph


class _Concatenated(io.RawIOBase):
    """Several files read as one stream, without writing them out again."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self._files = [open(path, "rb") for path in paths]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._files:
            read = self._files[0].readinto(buffer)
            if read:
                return read
            self._files.pop(0).close()
        return 0

    def close(self) -> None:
        for file in self._files:
            file.close()
        super().close()


class _StoreLoad(threading.Thread):
    """Bulk-loads the store in the background (Oxigraph releases the GIL) while the build steps run."""

    def __init__(self, sources: list[Path], target: Path) -> None:
        super().__init__(name="store-load")
        self.sources, self.target = sources, target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            store = ox.Store(str(self.target))
            with io.BufferedReader(_Concatenated(self.sources), buffer_size=1 << 20) as stream:
                store.bulk_load(input=stream, format=ox.RdfFormat.N_QUADS)
            store.optimize()
            store.flush()
            del store
        except BaseException as error:  # handed to join(), in the building thread
            self.error = error

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("rdflib", "owlrl", "reasonable", "pyshacl", "pyoxigraph")}


def _prune(build_dir: Path, keep: int, protect: Path) -> None:
    """Remove all but the newest ``keep`` snapshots (build ids sort by time)."""
    builds = sorted(p for p in build_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    for old in builds[:-keep] if keep > 0 else []:
        if old != protect:
            shutil.rmtree(old, ignore_errors=True)
