"""Downloads of the whole graph, written once per build inside the snapshot.

A build step (see :func:`kg.snapshot.write_snapshot`'s ``artefacts``): it runs in the snapshot's
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
triples (or quads, for the files with named graphs) it holds; the VoID description (:mod:`kg.void`)
publishes the same as DCAT distributions.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.snapshot import DATASET_FILE, UNION_FILE

DUMPS_DIR = "dumps"
GZIP_MEDIA_TYPE = "application/gzip"
#: zlib's level 6 (its default) compresses our N-Triples nearly as well as 9 (gzip's) and twice as fast.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class DumpFormat:
    """One download: its file name, the RDF syntax inside, and whether it keeps the named graphs."""

    file: str
    rdf_format: ox.RdfFormat
    media_type: str  # of the RDF inside (the file itself is application/gzip when ``gzip``)
    w3c_iri: str  # http://www.w3.org/ns/formats/…
    title: str
    graphs: bool
    gzip: bool = False

    @property
    def content_type(self) -> str:
        """What the file is sent as over HTTP: the compressed ones as gzip files, so the bytes match the checksum."""
        return GZIP_MEDIA_TYPE if self.gzip else self.media_type


DUMP_FORMATS: tuple[DumpFormat, ...] = (
    DumpFormat("integrating-cities.ttl", ox.RdfFormat.TURTLE, "text/turtle", "http://www.w3.org/ns/formats/Turtle",
               "Turtle: the union of all graphs", graphs=False),
    DumpFormat("integrating-cities.nt.gz", ox.RdfFormat.N_TRIPLES, "application/n-triples",
               "http://www.w3.org/ns/formats/N-Triples", "N-Triples (gzip): the union of all graphs", graphs=False,
               gzip=True),
    DumpFormat("integrating-cities.nq.gz", ox.RdfFormat.N_QUADS, "application/n-quads",
               "http://www.w3.org/ns/formats/N-Quads", "N-Quads (gzip): every named graph", graphs=True, gzip=True),
    DumpFormat("integrating-cities.trig", ox.RdfFormat.TRIG, "application/trig", "http://www.w3.org/ns/formats/TriG",
               "TriG: every named graph", graphs=True),
    DumpFormat("integrating-cities.jsonld", ox.RdfFormat.JSON_LD, "application/ld+json",
               "http://www.w3.org/ns/formats/JSON-LD", "JSON-LD: every named graph", graphs=True),
)
BY_FILE = {f.file: f for f in DUMP_FORMATS}


def write_dumps(staging: Path, manifest: dict[str, Any], _dataset: ox.Store) -> dict[str, Any]:
    """Write every dump into ``staging/dumps/`` from the staged files; return the manifest's ``"dumps"`` entry.

    The triple dumps hold the union of all graphs, each triple once (the snapshot's ``union.nt``, which is
    also the store's default graph); the quad dumps hold the published named graphs (``dataset.nq``;
    the hidden unions the store keeps for queries are left out). They are made from those files, not
    from the store: reading every triple back out of the on-disk store is several times slower than
    parsing them again.
    """
    folder = staging / DUMPS_DIR
    folder.mkdir()
    sources = {False: staging / UNION_FILE, True: staging / DATASET_FILE}
    counts = {graphs: _lines(path) for graphs, path in sources.items()}
    entries = {}
    for fmt in DUMP_FORMATS:
        path = folder / fmt.file
        _serialize(sources[fmt.graphs], path, fmt)
        entries[fmt.file] = {
            "media_type": fmt.media_type,
            "content_type": fmt.content_type,
            **({"compression": "gzip"} if fmt.gzip else {}),
            "bytes": path.stat().st_size,
            "sha256": sha256(path),
            "quads" if fmt.graphs else "triples": counts[fmt.graphs],
            "graphs": fmt.graphs,
        }
    return {"dumps": entries}


def dump_entries(manifest: dict[str, Any]) -> list[tuple[DumpFormat, dict[str, Any]]]:
    """The snapshot's dumps in publication order, each with its manifest entry (none for older snapshots)."""
    dumps = manifest.get("dumps", {})
    return [(fmt, dumps[fmt.file]) for fmt in DUMP_FORMATS if fmt.file in dumps]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lines(path: Path) -> int:
    """Statements in an N-Triples / N-Quads file (one per line)."""
    with open(path, "rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))


def _serialize(source: Path, path: Path, fmt: DumpFormat) -> None:
    """``source`` (N-Triples or N-Quads) as ``fmt``; already in the right syntax, it is only copied or compressed."""
    source_format = ox.RdfFormat.N_QUADS if source.suffix == ".nq" else ox.RdfFormat.N_TRIPLES
    with open(path, "wb") as raw:
        # mtime=0 and no file name in the header: the compressed bytes depend on the content only.
        out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL) if fmt.gzip else raw
        with out:
            if fmt.rdf_format == source_format:
                with open(source, "rb") as stream:
                    shutil.copyfileobj(stream, out, 1 << 20)
            else:
                options = {"prefixes": PREFIXES} if fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else {}
                ox.serialize(ox.parse(path=str(source), format=source_format), out, fmt.rdf_format, **options)
