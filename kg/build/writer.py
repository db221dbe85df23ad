"""Writing a snapshot: the named graphs as N-Quads, the store, the build steps' files and a manifest,
published atomically.

Each build goes to ``<build_dir>/<build id>/``; the symlink ``<build_dir>/current`` is then swapped
to it in one ``rename``. A build that fails never touches ``current``, so the last good snapshot
keeps being served. What a snapshot holds, and how it is read, is :mod:`kg.snapshot`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import shutil
import threading
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pyoxigraph as ox

from kg.build.concurrency import Background
from kg.snapshot import DATASET_FILE, FOLDER_FORMAT, MANIFEST_FILE, STORE_DIR, STORE_LAYOUT, Lease, Snapshot, claim_for_removal, verify

#: The union of all graphs as N-Triples, for the build steps (dumps); removed once they have run.
UNION_FILE = "union.nt"

#: A build step that writes more files into the staging folder, given the manifest so far and the build's
#: in-memory dataset, whose graphs :func:`~kg.snapshot.union_graphs` together hold every triple of the snapshot once.
#: Steps run while the on-disk store is being loaded (on the other core), so they must not open
#: ``<staging>/store``; the dataset.nq and union.nt files are complete. Each returns entries to add to
#: the manifest; steps run in order, each seeing what the previous ones added; if one raises, the whole
#: snapshot is discarded. See kg.build.dumps and kg.build.void.
Artefact = Callable[[Path, dict[str, Any], ox.Store], Mapping[str, Any]]


class SnapshotNotWritten(OSError):
    """The snapshot could not be written (a full disk, a file size limit, no permission): it was discarded,
    and ``current`` is as it was. The message is one line saying why and where, for `kg build` to print."""

    def __init__(self, build_dir: Path, error: OSError) -> None:
        super().__init__(error.errno, describe(error))
        try:
            still = f"{build_dir / 'current'} still names {os.readlink(build_dir / 'current')}"
        except OSError:
            still = "there is no current snapshot yet"
        self.message = f"could not write the snapshot: {describe(error)}; it was discarded, and {still}"

    def __str__(self) -> str:
        return self.message


def describe(error: OSError) -> str:
    """An OSError as one line: what went wrong and, where known, on which file."""
    if error.strerror:
        return error.strerror + (f": {error.filename}" if error.filename else "")
    return str(error) or type(error).__name__


def input_hash(files: Mapping[str, Path]) -> str:
    """SHA-256 over the names and contents of every input, so equal inputs give equal hashes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update(files[name].read_bytes() + b"\0")
    return digest.hexdigest()


def ntriples(dataset: ox.Store, graph: ox.DefaultGraph | ox.NamedNode) -> bytes:
    """The triples of one graph of ``dataset`` as N-Triples, in the store's order."""
    return dataset.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph) or b""


def in_graph(triples: bytes, graph_iri: str) -> bytes:
    """N-Triples made N-Quads of graph ``graph_iri``.

    Each N-Triples statement ends with " ." and a newline, which occurs nowhere else (a newline in a
    literal is escaped): so the graph name is put in by one replacement, not line by line in Python.
    """
    return triples.replace(b" .\n", f" <{graph_iri}> .\n".encode())


def graph_names(dataset: ox.Store) -> list[str]:
    """The IRIs of the dataset's named graphs, sorted."""
    return sorted(g.value for g in dataset.named_graphs() if isinstance(g, ox.NamedNode))


def write_snapshot(build_dir: Path, dataset: ox.Store, manifest: dict[str, Any], keep: int,
                   artefacts: Sequence[Artefact] = ()) -> Snapshot:
    """Write the named graphs of ``dataset`` + manifest (+ ``artefacts``) into a new folder, then point
    ``current`` at it atomically (see :class:`SnapshotWriter`, which the build uses to start earlier)."""
    writer = SnapshotWriter(build_dir, dataset, manifest["input_hash"], manifest["inferred_graph"])
    for iri in graph_names(dataset):
        writer.add_graph(iri)
    writer.close_asserted()
    return writer.finish(manifest, keep, artefacts)


class SnapshotWriter:
    """A snapshot being written into a staging folder, published by :meth:`finish` or dropped by :meth:`abort`.

    ``dataset``'s default graph must hold the union of its graphs other than the inferred one, each
    triple once (as :class:`kg.build.load.LoadedGraphs` keeps it), and the inferred graph no triple of that
    union (as :func:`kg.build.reason.infer_into` writes it). Each asserted graph is handed over by
    :meth:`add_graph` once it is complete, and must not change afterwards; a background thread writes it
    out and streams it into another that bulk-loads the snapshot's store, while the build goes on parsing,
    validating and reasoning (Oxigraph releases the GIL, so this uses the second core).
    :meth:`close_asserted` says there are no more: the default graph, complete by then, follows. :meth:`finish`
    then adds the inferred graph, as a named graph only (see :func:`~kg.snapshot.union_graphs`).

    The store is loaded from one N-Quads stream: each load renames blank nodes, so the named graphs and
    the default graph (the set-merge of the asserted graphs) cannot be loaded separately, and an update
    inside the on-disk store is ten times slower.
    """

    def __init__(self, build_dir: Path, dataset: ox.Store, input_digest: str, inferred_graph: str) -> None:
        self.build_dir, self.dataset, self.inferred_graph = build_dir, dataset, inferred_graph
        self.now = datetime.now(timezone.utc)
        self.build_id = self.now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + input_digest[:12]
        self.staging = build_dir / f".{self.build_id}.tmp"
        try:
            build_dir.mkdir(parents=True, exist_ok=True)
            self.staging.mkdir()
            self._lease = Lease(self.staging, published=False)  # a concurrent build's pruning leaves it alone
        except OSError as error:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise SnapshotNotWritten(build_dir, error) from error
        self._counts: dict[str, int] = {}  # triples per named graph, counted in the N-Quads written
        self._stream = _QueuedStream()
        self._graphs: queue.Queue[str | None] = queue.Queue()  # asserted graphs to write; None: no more
        self._abandoned = threading.Event()
        self._loader = _StoreLoad(self._stream, self.staging / STORE_DIR)
        self._asserted = Background(self._write_asserted)
        self._loader.start()
        self._asserted.start()

    def _append(self, name: str, data: bytes, load: bool = True) -> None:
        """Append to a staged file and, with ``load``, to the store."""
        path = self.staging / name
        try:
            with open(path, "ab") as out:
                out.write(data)
        except OSError as error:  # a failed write names no file: say which one
            raise OSError(error.errno, error.strerror, error.filename or str(path)) from error
        if load:
            self._stream.put(data)

    def _append_graph(self, iri: str) -> bytes:
        """Append one named graph to the dataset file and the store; return its triples as N-Triples."""
        triples = ntriples(self.dataset, ox.NamedNode(iri))
        self._counts[iri] = triples.count(b"\n")  # one statement per line
        self._append(DATASET_FILE, in_graph(triples, iri))
        return triples

    def add_graph(self, iri: str) -> None:
        """Write out a complete asserted graph (the inferred graph is left to :meth:`finish`)."""
        if iri != self.inferred_graph:
            self._graphs.put(iri)

    def close_asserted(self) -> None:
        """No more asserted graphs: the default graph, their union, is complete."""
        self._graphs.put(None)

    def _write_asserted(self) -> None:
        while (iri := self._graphs.get()) is not None and not self._abandoned.is_set():
            self._append_graph(iri)
        if not self._abandoned.is_set():
            self._append(UNION_FILE, ntriples(self.dataset, ox.DefaultGraph()))

    def finish(self, manifest: dict[str, Any], keep: int, artefacts: Sequence[Artefact] = ()) -> Snapshot:
        """Add the inferred graph, run the build steps, publish, and point ``current`` at the snapshot."""
        final = self.build_dir / self.build_id
        try:
            self._asserted.result()
            inferred = ox.NamedNode(self.inferred_graph)
            if self.dataset.contains_named_graph(inferred):
                self._append(UNION_FILE, self._append_graph(self.inferred_graph), load=False)
            else:
                self.dataset.add_graph(inferred)
            self._stream.close_input()
            names = graph_names(self.dataset)
            counts = self._counts
            manifest = {
                **manifest,
                "build_id": self.build_id,
                "store_layout": STORE_LAYOUT,
                "folder_format": FOLDER_FORMAT,
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
        except OSError as error:  # the disk is full, a file grew past a limit, a folder is not writable
            self.abort()
            raise SnapshotNotWritten(self.build_dir, error) from error
        except BaseException:
            self.abort()
            raise
        try:
            link = point_current(self.build_dir, self.build_id)
        except OSError as error:
            self._lease.release()
            shutil.rmtree(final, ignore_errors=True)  # never current, and newer than it: pruning would keep it
            raise SnapshotNotWritten(self.build_dir, error) from error
        _prune(self.build_dir, keep=keep, protect=final)
        self._lease.release()
        return Snapshot.open(link)

    def abort(self) -> None:
        """Stop loading and remove the staging folder; ``current`` is untouched."""
        self._abandoned.set()
        self._graphs.put(None)
        self._stream.fail()
        for worker in (self._asserted, self._loader):
            worker.join()
        self._lease.release()
        shutil.rmtree(self.staging, ignore_errors=True)


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
            # not checking IRIs again saves a tenth of the load.
            with io.BufferedReader(stream, buffer_size=1 << 20) as reader:
                store.bulk_load(input=reader, format=ox.RdfFormat.N_QUADS, lenient=True)
            # Compacted (about 5 s at 10^6 triples): loaded from this stream, a 10^6 store answered the
            # synthetic competency queries in 1.25x the time of a compacted copy (geometric mean; a one-off
            # check, described in BENCHMARKS.md); compacted, it answers as fast as a store bulk-loaded in
            # one call (benchmarks/store_layout.py).
            store.optimize()
            store.flush()

        super().__init__(load)


def point_current(build_dir: Path, build_id: str) -> Path:
    """Swap ``<build_dir>/current`` to ``<build_dir>/<build_id>`` in one ``rename``: until then it names the
    previous snapshot, so a server (re)reading it sees one or the other, never neither."""
    link = build_dir / "current"
    tmp_link = build_dir / f".current-{build_id}"
    try:
        os.symlink(build_id, tmp_link)
        os.replace(tmp_link, link)
    except OSError:
        tmp_link.unlink(missing_ok=True)
        raise
    return link


def activate(build_dir: Path, folder: Path) -> list[str]:
    """Make a release folder copied into ``build_dir`` (by rsync, to a replica) the current one, if it is whole.

    Returns what :func:`kg.snapshot.verify` finds wrong, and then changes nothing; the servers of this
    build folder switch to it at their next poll, as after a build."""
    if folder.resolve().parent != build_dir.resolve():
        return [f"{folder} is not a folder of {build_dir}: copy the release there first"]
    problems = verify(Snapshot.open(folder))
    if not problems:
        point_current(build_dir, folder.resolve().name)
    return problems


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("rdflib", "owlrl", "reasonable", "pyshacl", "pyoxigraph")}


def _prune(build_dir: Path, keep: int, protect: Path) -> None:
    """Remove all but the newest ``keep`` snapshots (build ids sort by time), except those a process still
    leases (:class:`kg.snapshot.Lease`): they go at a later build, once nothing serves them. Also the
    staging folders of builds that were killed half-way, once their build no longer holds them."""
    builds = sorted(p for p in build_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    staged = [p for p in build_dir.glob(".*.tmp") if p.is_dir()]
    for old in [*(builds[:-keep] if keep > 0 else []), *staged]:
        if old != protect:
            _remove_unless_leased(old)
    for unfinished in build_dir.glob(".*.removing"):  # a removal that was cut short: nothing can lease these
        shutil.rmtree(unfinished, ignore_errors=True)


def _remove_unless_leased(folder: Path) -> None:
    fd = claim_for_removal(folder)
    if fd is None:
        return
    try:
        doomed = folder.with_name(f".{folder.name.lstrip('.')}.removing")
        folder.rename(doomed)  # atomic: from now on no lease can find it
    except OSError:
        return
    finally:
        os.close(fd)
    shutil.rmtree(doomed, ignore_errors=True)
