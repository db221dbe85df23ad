"""Downloads of the whole graph, written once per build inside the snapshot.

A build step (see :func:`kg.build.writer.write_snapshot`'s ``artefacts``): it runs in the snapshot's
staging folder after the Oxigraph store is written, so a build that fails leaves no half set of
dumps behind, and ``current`` always serves the dumps of the graph it answers queries on. Nothing
is serialised at request time: the server sends these files as they are.

=============================  =====================  =======================================================
file                           media type             content
=============================  =====================  =======================================================
``integrating-cities.ttl``     text/turtle            the union default graph (every triple once), our prefixes
``integrating-cities.nt.gz``   application/n-triples  the same triples as N-Triples, gzip-compressed
``integrating-cities.nq.gz``   application/n-quads    every named graph with its triples, gzip-compressed
``integrating-cities.trig``    application/trig       every named graph with its triples, our prefixes
``integrating-cities.jsonld``  application/ld+json    every named graph with its triples (expanded JSON-LD)
=============================  =====================  =======================================================

The manifest records, under ``"dumps"``, each file's media type, size in bytes, SHA-256, and how many
triples (or quads, for the files with named graphs) it holds; the VoID description (:mod:`kg.build.void`)
publishes the same as DCAT distributions.
"""

from __future__ import annotations

import gzip
import json
import shutil
from functools import partial
from pathlib import Path
from typing import IO, Any, Callable

import pyoxigraph as ox

from kg.build.concurrency import concurrently
from kg.build.writer import UNION_FILE
from kg.namespaces import PREFIXES
from kg.snapshot import DATASET_FILE, DUMP_FORMATS, DUMPS_DIR, DumpFormat, file_sha256, union_graphs

#: gzip's fastest level: 3x faster than its default (9) on our N-Triples, for files about a third larger;
#: at a million triples the default would take longer than the rest of the snapshot.
GZIP_LEVEL = 1


def write_dumps(staging: Path, manifest: dict[str, Any], dataset: ox.Store) -> dict[str, Any]:
    """Write every dump into ``staging/dumps/``; return the manifest's ``"dumps"`` entry.

    The triple dumps hold the union of all graphs, each triple once (``dataset``'s
    :func:`~kg.snapshot.union_graphs`, and the snapshot's ``union.nt``); the quad dumps hold the
    published named graphs (``dataset.nq``; the store's default graph, the asserted union, is left out). Every byte is written by Oxigraph's serialisers or copied from those
    files: no triple passes through Python, and the store being loaded is not read. The files are
    written side by side (:func:`~kg.build.concurrency.concurrently`).
    """
    folder = staging / DUMPS_DIR
    folder.mkdir()
    graphs = sorted(manifest["graphs"])
    files = {False: staging / UNION_FILE, True: staging / DATASET_FILE}
    triples, quads = concurrently([partial(_lines, files[False]), partial(_lines, files[True])])
    counts = {False: triples, True: quads}

    def write(fmt: DumpFormat) -> dict[str, Any]:
        path = folder / fmt.file
        with open(path, "wb") as raw:
            # mtime=0 and no file name in the header: the compressed bytes depend on the content only.
            out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL) if fmt.gzip else raw
            with out:
                _WRITERS[fmt.format.rdf](out, dataset, union_graphs(manifest) if not fmt.graphs else graphs,
                                         files[fmt.graphs])
        return {
            "media_type": fmt.media_type,
            "content_type": fmt.content_type,
            **({"compression": "gzip"} if fmt.gzip else {}),
            "bytes": path.stat().st_size,
            "sha256": file_sha256(path),
            "quads" if fmt.graphs else "triples": counts[fmt.graphs],
            "graphs": fmt.graphs,
        }

    entries = concurrently([partial(write, fmt) for fmt in DUMP_FORMATS])
    return {"dumps": {fmt.file: entry for fmt, entry in zip(DUMP_FORMATS, entries)}}


def _lines(path: Path) -> int:
    """Statements in an N-Triples / N-Quads file (one per line)."""
    with open(path, "rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))


def _copy(out: IO[bytes], _dataset: ox.Store, _graphs: list, source: Path) -> None:
    """N-Triples and N-Quads: the staged file is already the dump."""
    with open(source, "rb") as stream:
        shutil.copyfileobj(stream, out, 1 << 20)


def _turtle(out: IO[bytes], dataset: ox.Store, union: list[ox.DefaultGraph | ox.NamedNode], _source: Path) -> None:
    """The union graphs one after the other (they share no triple), the prefixes declared once at the top."""
    _prefixes(out)
    for graph in union:
        out.write(b"\n" + _turtle_body(dataset, graph))


def _trig(out: IO[bytes], dataset: ox.Store, graphs: list[str], _source: Path) -> None:
    """The named graphs, each written by the Turtle serialiser inside its braces (a dump of the whole
    dataset would include its default graph), with the prefixes declared once at the top."""
    _prefixes(out)
    for graph in graphs:
        out.write(f"\n<{graph}> {{\n".encode() + _turtle_body(dataset, ox.NamedNode(graph)) + b"}\n")


def _prefixes(out: IO[bytes]) -> None:
    out.writelines(f"@prefix {prefix}: <{iri}> .\n".encode() for prefix, iri in PREFIXES.items())


def _turtle_body(dataset: ox.Store, graph: ox.DefaultGraph | ox.NamedNode) -> bytes:
    """One graph in Turtle with our prefixes, less the ``@prefix`` lines the serialiser puts first."""
    body = dataset.dump(format=ox.RdfFormat.TURTLE, from_graph=graph, prefixes=PREFIXES) or b""
    start = 0
    while body.startswith(b"@prefix ", start):
        start = body.index(b"\n", start) + 1
    return body[start:]


def _json_ld(out: IO[bytes], dataset: ox.Store, graphs: list[str], _source: Path) -> None:
    """Expanded JSON-LD: one ``{"@id": graph, "@graph": [...]}`` object per named graph, each graph's
    node objects written by Oxigraph's serialiser."""
    out.write(b"[")
    for i, graph in enumerate(graphs):
        nodes = dataset.dump(format=ox.RdfFormat.JSON_LD, from_graph=ox.NamedNode(graph)) or b"[]"
        out.write(b"," * (i > 0) + json.dumps({"@id": graph}).encode()[:-1] + b', "@graph": ' + nodes + b"}")
    out.write(b"]\n")


#: Each writer gets the dataset and, for a dump with graphs, the named graphs' IRIs, else the union graphs.
_WRITERS: dict[ox.RdfFormat, Callable[[IO[bytes], ox.Store, list, Path], None]] = {
    ox.RdfFormat.TURTLE: _turtle,
    ox.RdfFormat.N_TRIPLES: _copy,
    ox.RdfFormat.N_QUADS: _copy,
    ox.RdfFormat.TRIG: _trig,
    ox.RdfFormat.JSON_LD: _json_ld,
}
