"""Every format we read or write, in one registry, and the one content negotiation over it.

A :class:`Format` is a media type with what the rest of the code needs to know about it: its
``format=`` name (the SPARQL endpoint's parameter), its document suffix (``/id/city/helsinki.ttl``), a
label for people, its W3C format IRI (service description, VoID), the other media types clients
send for it, and the serialisers that write it (Oxigraph's RDF or result format, rdflib's name).

:func:`negotiate` chooses among the formats a route offers, as RFC 9110 says
(https://www.rfc-editor.org/rfc/rfc9110#name-accept): the most specific media range that matches a
format gives its quality (so ``text/html;q=0, */*`` excludes HTML), ``q=0`` excludes, ties go to the
format offered first, and no ``Accept`` header means the default. An alias counts only when the client
names it exactly: ``application/*`` must not pick Turtle through ``application/x-turtle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import pyoxigraph as ox

W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    media_type: str
    name: str  # the value of the endpoint's ``format=`` parameter
    suffix: str  # the document suffix: <iri>.<suffix>
    label: str
    w3c_iri: str | None = None  # http://www.w3.org/ns/formats/…
    aliases: tuple[str, ...] = ()  # other media types clients send for this format
    rdf: ox.RdfFormat | None = None  # Oxigraph's serialiser, for RDF formats
    results: ox.QueryResultsFormat | None = None  # Oxigraph's serialiser, for SPARQL result formats
    rdflib: str | None = None  # rdflib's serialiser name, for the graphs held as rdflib graphs
    graphs: bool = False  # keeps each triple's named graph (TriG, N-Quads)


JSON = Format("application/sparql-results+json", "json", "srj", "SPARQL JSON", W3C_FORMATS + "SPARQL_Results_JSON",
              ("application/json",), results=ox.QueryResultsFormat.JSON)
XML = Format("application/sparql-results+xml", "xml", "srx", "SPARQL XML", W3C_FORMATS + "SPARQL_Results_XML",
             ("application/xml", "text/xml"), results=ox.QueryResultsFormat.XML)
CSV = Format("text/csv", "csv", "csv", "CSV", W3C_FORMATS + "SPARQL_Results_CSV", results=ox.QueryResultsFormat.CSV)
TSV = Format("text/tab-separated-values", "tsv", "tsv", "TSV", W3C_FORMATS + "SPARQL_Results_TSV",
             results=ox.QueryResultsFormat.TSV)
TURTLE = Format("text/turtle", "turtle", "ttl", "Turtle", W3C_FORMATS + "Turtle", ("application/x-turtle",),
                rdf=ox.RdfFormat.TURTLE, rdflib="turtle")
NTRIPLES = Format("application/n-triples", "ntriples", "nt", "N-Triples", W3C_FORMATS + "N-Triples", ("text/plain",),
                  rdf=ox.RdfFormat.N_TRIPLES, rdflib="nt")
JSONLD = Format("application/ld+json", "jsonld", "jsonld", "JSON-LD", W3C_FORMATS + "JSON-LD", ("application/json",),
                rdf=ox.RdfFormat.JSON_LD, rdflib="json-ld")
RDFXML = Format("application/rdf+xml", "rdfxml", "rdf", "RDF/XML", W3C_FORMATS + "RDF_XML", rdf=ox.RdfFormat.RDF_XML,
                rdflib="pretty-xml")
TRIG = Format("application/trig", "trig", "trig", "TriG", W3C_FORMATS + "TriG", ("application/x-trig",),
              rdf=ox.RdfFormat.TRIG, rdflib="trig", graphs=True)
NQUADS = Format("application/n-quads", "nquads", "nq", "N-Quads", W3C_FORMATS + "N-Quads", rdf=ox.RdfFormat.N_QUADS,
                rdflib="nquads", graphs=True)
HTML = Format("text/html", "html", "html", "HTML", aliases=("application/xhtml+xml",))
#: Plain JSON documents of our own shape (an explanation); not an RDF or results format, so not in ALL_FORMATS.
DOCUMENT_JSON = Format("application/json", "document-json", "json", "JSON")

RESULT_FORMATS = (JSON, XML, CSV, TSV)
#: RDF formats of one graph (or of triples without graphs), then those that keep named graphs.
TRIPLE_FORMATS = (TURTLE, JSONLD, NTRIPLES, RDFXML)
RDF_FORMATS = TRIPLE_FORMATS + (TRIG, NQUADS)
#: What each query form can be answered in; the first is the default when the client has no preference.
BY_FORM: dict[str, tuple[Format, ...]] = {
    "SELECT": RESULT_FORMATS,
    "ASK": RESULT_FORMATS,
    "CONSTRUCT": (TURTLE, NTRIPLES, JSONLD, RDFXML, NQUADS, TRIG),
    "DESCRIBE": (TURTLE, NTRIPLES, JSONLD, RDFXML, NQUADS, TRIG),
}
ALL_FORMATS = RESULT_FORMATS + RDF_FORMATS + (HTML,)
BY_NAME = {f.name: f for f in ALL_FORMATS}


def by_name(name: str, offered: Sequence[Format]) -> Format | None:
    """The offered format a ``format=`` value names: its name, media type or an alias of it."""
    for fmt in offered:
        if name in (fmt.name, fmt.media_type) or name in fmt.aliases:
            return fmt
    return None


def negotiate(accept: str | None, offered: Sequence[Format], default: Format | None = None) -> Format | None:
    """The offered format the ``Accept`` header prefers; ``default`` (or the first offered) without one;
    None when nothing offered is acceptable."""
    return _negotiate(accept or "", tuple(offered), default)


@lru_cache(maxsize=1024)
def _negotiate(accept: str, offered: tuple[Format, ...], default: Format | None) -> Format | None:
    ranges = parse_accept(accept)
    if not ranges:
        return default or offered[0]
    best, best_q = None, 0.0
    for fmt in offered:  # strictly greater: ties go to the format offered first
        if (q := quality(fmt, ranges)) > best_q:
            best, best_q = fmt, q
    return best


def parse_accept(accept: str) -> tuple[tuple[str, float], ...]:
    """An Accept header as (media range, q) pairs, parameters other than q dropped; malformed q counts 0."""
    ranges = []
    for part in accept.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        if not media_range:
            continue
        q = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media_range.lower(), q))
    return tuple(ranges)


def quality(fmt: Format, ranges: Sequence[tuple[str, float]]) -> float:
    """How much the client wants ``fmt``: the q of the most specific range that matches its media type,
    or the q of an alias the client names exactly, whichever is higher."""
    kind = fmt.media_type.split("/", 1)[0]
    specificity, q = 0, 0.0
    for media_range, range_q in ranges:
        rank = 3 if media_range == fmt.media_type else 2 if media_range == f"{kind}/*" else 1 if media_range in ("*/*", "*") else 0
        if rank > specificity or (rank == specificity and rank and range_q > q):
            specificity, q = rank, range_q
    named = [range_q for media_range, range_q in ranges if media_range in fmt.aliases]
    return max([q, *named])
