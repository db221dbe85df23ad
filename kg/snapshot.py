"""A build's output: the named graphs as N-Quads plus a manifest, written atomically.

Each build goes to ``<build_dir>/<build id>/``; the symlink ``<build_dir>/current`` is then swapped
to it in one ``rename``. A build that fails never touches ``current``, so the last good snapshot
keeps being served.
"""

from __future__ import annotations

import hashlib
import io
import queue
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
#: in-memory dataset, whose graphs :func:`union_graphs` together hold every triple of the snapshot once.
#: Steps run while the on-disk store is being loaded (on the other core), so they must not open
#: ``<staging>/store``; the dataset.nq and union.nt files are complete. Each returns entries to add to
#: the manifest; steps run in order, each seeing what the previous ones added; if one raises, the whole
#: snapshot is discarded. See kg.dumps and kg.void.
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


def union_graphs(manifest: Mapping[str, Any]) -> list[ox.DefaultGraph | ox.NamedNode]:
    """The graphs of a build's dataset that hold, between them, every triple of the snapshot once.

    The dataset's default graph is the asserted union; the inferred graph holds no triple of it (see
    :class:`SnapshotWriter`). So querying both as one default graph counts each triple once, without
    first copying a million inferred triples into the default graph.
    """
    return [ox.DefaultGraph(), ox.NamedNode(manifest["inferred_graph"])]


def graph_names(dataset: ox.Store) -> list[str]:
    """The IRIs of the dataset's named graphs, sorted."""
    return sorted(g.value for g in dataset.named_graphs() if isinstance(g, ox.NamedNode))


def write_snapshot(build_dir: Path, dataset: ox.Store, manifest: dict[str, Any], keep: int,
                   artefacts: Sequence[Artefact] = ()) -> Snapshot:
    """Write the named graphs of ``dataset`` + manifest (+ ``artefacts``) into a new folder, then point
    ``current`` at it atomically (see :class:`SnapshotWriter`, which the build uses to start earlier)."""
    writer = SnapshotWriter(build_dir, dataset, manifest["input_hash"], manifest["inferred_graph"])
    return writer.finish(manifest, keep, artefacts)


class SnapshotWriter:
    """A snapshot being written into a staging folder, published by :meth:`finish` or dropped by :meth:`abort`.

    ``dataset``'s default graph must hold the union of its graphs other than the inferred one, each
    triple once (as :class:`kg.load.LoadedGraphs` keeps it), and the inferred graph no triple of that
    union (as :func:`kg.reason.infer_into` writes it). Neither the asserted graphs nor the default graph
    may change once the writer exists: it starts at once, in background threads, to write them out and
    bulk-load them into the snapshot's store, while the build validates and reasons (Oxigraph releases
    the GIL, so this uses the second core). :meth:`finish` then adds the inferred graph, both as a named
    graph and to the store's default graph, and to ``dataset``'s default graph, which becomes the union
    of all graphs for the build steps.

    The store is loaded from one N-Quads stream: each load renames blank nodes, so the named graphs and
    the default graph (the set-merge of all graphs, see :func:`_write_store`'s reasons in the README)
    cannot be loaded separately, and an update inside the on-disk store is ten times slower.
    """

    def __init__(self, build_dir: Path, dataset: ox.Store, input_digest: str, inferred_graph: str) -> None:
        build_dir.mkdir(parents=True, exist_ok=True)
        self.build_dir, self.dataset, self.inferred_graph = build_dir, dataset, inferred_graph
        self.now = datetime.now(timezone.utc)
        self.build_id = self.now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + input_digest[:12]
        self.staging = build_dir / f".{self.build_id}.tmp"
        self.staging.mkdir()
        self._counts: dict[str, int] = {}  # triples per named graph, counted in the N-Quads written
        self._stream = _QueuedStream()
        self._loader = _StoreLoad(self._stream, self.staging / STORE_DIR)
        self._asserted = Background(self._write_asserted)
        self._loader.start()
        self._asserted.start()

    def _append(self, name: str, data: bytes) -> None:
        with open(self.staging / name, "ab") as out:
            out.write(data)
        self._stream.put(data)

    def _append_graph(self, iri: str) -> None:
        body = nquads(self.dataset, iri)
        self._counts[iri] = body.count(b"\n")  # one statement per line
        self._append(DATASET_FILE, body)

    def _write_asserted(self) -> None:
        for iri in graph_names(self.dataset):
            if iri != self.inferred_graph:
                self._append_graph(iri)
        self._append(UNION_FILE, self.dataset.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()) or b"")

    def finish(self, manifest: dict[str, Any], keep: int, artefacts: Sequence[Artefact] = ()) -> Snapshot:
        """Add the inferred graph, run the build steps, publish, and point ``current`` at the snapshot."""
        final = self.build_dir / self.build_id
        try:
            self._asserted.result()
            inferred = ox.NamedNode(self.inferred_graph)
            if self.dataset.contains_named_graph(inferred):
                self._append_graph(self.inferred_graph)
                self._append(UNION_FILE, self.dataset.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=inferred) or b"")
            else:
                self.dataset.add_graph(inferred)
            self._stream.close_input()
            names = graph_names(self.dataset)
            counts = self._counts
            manifest = {
                **manifest,
                "build_id": self.build_id,
                "built_at": self.now.isoformat(timespec="seconds"),
                "versions": library_versions(),
                "graphs": {iri: {**manifest.get("graphs", {}).get(iri, {}), "triples": counts.get(iri, 0)}
                           for iri in names},
                "total_triples": sum(counts.get(iri, 0) for iri in names),
            }
            for artefact in artefacts:
                manifest = {**manifest, **artefact(self.staging, manifest, self.dataset)}
            self._loader.result()
            (self.staging / UNION_FILE).unlink()
            (self.staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            self.staging.rename(final)
        except BaseException:
            self.abort()
            raise
        link = self.build_dir / "current"
        tmp_link = self.build_dir / f".current-{self.build_id}"
        os.symlink(self.build_id, tmp_link)
        os.replace(tmp_link, link)
        _prune(self.build_dir, keep=keep, protect=final)
        return Snapshot.open(link)

    def abort(self) -> None:
        """Stop loading and remove the staging folder; ``current`` is untouched."""
        self._stream.fail()
        for worker in (self._asserted, self._loader):
            worker.join()
        shutil.rmtree(self.staging, ignore_errors=True)


class Background(threading.Thread):
    """Runs ``work`` in a thread; :meth:`result` waits and re-raises what it raised, in the caller's thread."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name=getattr(work, "__name__", "worker"), daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:
            self.error = error

    def result(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


class _QueuedStream(io.RawIOBase):
    """A byte stream fed chunk by chunk from other threads: what the store's bulk loader reads."""

    _END, _FAILED = object(), object()

    def __init__(self) -> None:
        super().__init__()
        self._chunks: queue.Queue = queue.Queue()
        self._current = memoryview(b"")

    def put(self, data: bytes) -> None:
        if data:
            self._chunks.put(data)

    def close_input(self) -> None:
        self._chunks.put(self._END)

    def fail(self) -> None:
        self._chunks.put(self._FAILED)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            chunk = self._chunks.get()
            if chunk is self._END:
                self._chunks.put(chunk)  # every later read sees the end too
                return 0
            if chunk is self._FAILED:
                self._chunks.put(chunk)
                raise OSError("the build was abandoned")
            self._current = memoryview(chunk)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size


class _StoreLoad(Background):
    """Bulk-loads the store from the stream in the background (Oxigraph releases the GIL)."""

    def __init__(self, stream: _QueuedStream, target: Path) -> None:
        def load() -> None:
            store = ox.Store(str(target))
            # lenient: the input is Oxigraph's own serialisation of terms it parsed and checked already;
            # not checking IRIs again saves a tenth of the load. No optimize(): measured at 10^6, the
            # queries of benchmarks/synth_queries ran no faster on the compacted store, and compacting
            # took up to 6 s at the end of the build.
            with io.BufferedReader(stream, buffer_size=1 << 20) as reader:
                store.bulk_load(input=reader, format=ox.RdfFormat.N_QUADS, lenient=True)
            store.flush()

        super().__init__(load)


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("rdflib", "owlrl", "reasonable", "pyshacl", "pyoxigraph")}


def _prune(build_dir: Path, keep: int, protect: Path) -> None:
    """Remove all but the newest ``keep`` snapshots (build ids sort by time)."""
    builds = sorted(p for p in build_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    for old in builds[:-keep] if keep > 0 else []:
        if old != protect:
            shutil.rmtree(old, ignore_errors=True)
