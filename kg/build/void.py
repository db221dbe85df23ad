"""The VoID and DCAT description of the dataset, generated from the snapshot at build time.

A build step (see :func:`kg.build.writer.write_snapshot`'s ``artefacts``), run after :mod:`kg.build.dumps`:
it counts with SPARQL over the build's dataset (the graphs the snapshot's store holds) and writes ``void.ttl``
into the snapshot.
The server answers ``/.well-known/void`` (https://www.w3.org/TR/void/#well-known) with that file,
converted to the format the client asks for.

What it says (https://www.w3.org/TR/void/, https://www.w3.org/TR/vocab-dcat-3/):

- ``<base>.well-known/void`` is a ``void:DatasetDescription`` whose primary topic is the dataset
  ``<base>.well-known/void#dataset``, a ``void:Dataset`` and ``dcat:Dataset``: title, description,
  licence (CC BY 4.0), publisher, the source documents and reference datasets (``dcterms:source``), the SPARQL endpoint,
  one ``void:dataDump`` and one ``dcat:Distribution`` per download (URL, media type, byte size, SHA-256
  as an ``spdx:Checksum``), the vocabularies used and the instance URI space;
- statistics over the union default graph (a set: a triple stated in two graphs counts once):
  ``void:triples``, ``void:entities`` (distinct IRIs in ``<base>id/`` that have an ``rdf:type``),
  ``void:classes`` (distinct objects of ``rdf:type``), ``void:properties``, ``void:distinctSubjects``
  and ``void:distinctObjects``; a ``void:classPartition`` per class (``void:entities``: distinct
  resources of that type) and a ``void:propertyPartition`` per property (``void:triples``,
  distinct subjects and objects);
- a ``void:subset`` per named graph, ``<base>.well-known/void#graph-<name>`` with ``sd:name`` the graph
  IRI, its title, and its own counts (triples, entities, distinct subjects and objects), and
  ``dcterms:source`` the source document of each source graph (``ic:graphSource`` in data/sources.ttl);
- a ``void:Linkset`` per reference dataset that declares its ``void:uriSpace`` (GeoNames, from
  ``kg link``): the target dataset, the link predicate (``skos:exactMatch``) and the number of links.

URLs are absolute and persistent: the endpoint is ``<base>sparql`` and each download
``<base>downloads/<file>``, with ``<base>`` the persistent base IRI (``BASE_IRI`` in kg/config.py,
https://w3id.org/integrating-cities/). The w3id redirect maps the base onto the server's root, where
``/sparql``, ``/downloads/<file>`` and ``/.well-known/void`` are served (kg/web/sparql.py,
kg/web/dataset.py), so the description holds whatever host the server runs on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Sequence

import pyoxigraph as ox

from kg import namespaces
from kg.build.concurrency import concurrently
from kg.namespaces import VOID_PREFIXES
from kg.snapshot import GZIP_MEDIA_TYPE, VOID_FILE, dump_entries, file_sha256, union_graphs

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
PUBLISHER_NAME = "Integrating Cities Knowledge Graph developers"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
#: Namespaces as plain strings, since the description is built by concatenating IRIs.
VOID, DCAT, SPDX, SD = (str(ns) for ns in (namespaces.VOID, namespaces.DCAT, namespaces.SPDX, namespaces.SD))

TITLE = "Integrating Cities Knowledge Graph"
DESCRIPTION = (
    "A linked-data knowledge graph of how European cities cooperate on migrant integration: cities, the EUROCITIES "
    "network and its working group on migration and integration, the Urban Agenda partnership on inclusion of "
    "migrants and refugees, projects, initiatives, the Integrating Cities Charter, funding programmes, people and "
    "their posts, themes, and events. Every asserted fact is traced to one of five source documents, each with its "
    "own named graph; graph/inferred holds the OWL 2 RL entailments. Statistics count the union of all named graphs "
    "as a set."
)
KEYWORDS = ("migrant integration", "cities", "EUROCITIES", "Integrating Cities", "linked data")

# -- counting ---------------------------------------------------------------------------------------------------

_TOTALS = "SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?o) AS ?objects) WHERE { ?s ?p ?o }"
_ENTITIES = 'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?class . FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{ns}")) }}'
_CLASSES = "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class"
_PROPERTIES = ("SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?o) AS ?objects) "
               "WHERE { ?s ?p ?o } GROUP BY ?p")
_GRAPHS = ("SELECT ?g (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?o) AS ?objects) "
           "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
_GRAPH_ENTITIES = ('SELECT ?g (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a ?class . '
                   'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{ns}")) }} }} GROUP BY ?g')
_SOURCES = ("SELECT DISTINCT ?doc WHERE {{ VALUES ?kind {{ <{ic}SourceDocument> <{ic}ReferenceDataset> }} "
            "?doc a ?kind }} ORDER BY ?doc")
_GRAPH_DESCRIPTIONS = """SELECT ?g ?label ?description ?source WHERE {{
  ?g a <{ic}DataGraph> .
  OPTIONAL {{ ?g <{rdfs}label> ?label }}
  OPTIONAL {{ ?g <{dcterms}description> ?description }}
  OPTIONAL {{ ?g <{ic}graphSource>|<{dcterms}source> ?source }}
}}"""
#: Links to each reference dataset that declares its URI space (kg link's description does).
_LINKSETS = """SELECT ?target ?space ?p (COUNT(*) AS ?n) WHERE {{
  ?target a <{ic}ReferenceDataset> ; <{void}uriSpace> ?space .
  VALUES ?p {{ <{skos}exactMatch> }}
  ?s ?p ?o . FILTER(isIRI(?o) && STRSTARTS(STR(?o), STR(?space)))
}} GROUP BY ?target ?space ?p ORDER BY ?target ?p"""


@dataclass(frozen=True)
class Counts:
    """Triples and distinct terms of one graph, or of the triples with one property."""

    triples: int
    subjects: int
    objects: int
    entities: int = 0


@dataclass(frozen=True)
class Linkset:
    """The links from our entities to one reference dataset with one predicate."""

    target: str  # the reference dataset (source:geonames)
    uri_space: str
    predicate: str
    triples: int


@dataclass
class Statistics:
    """Everything the description counts, each figure from one SPARQL query over the snapshot's store."""

    total: Counts
    classes: dict[str, int]  # class IRI -> distinct resources of that type
    properties: dict[str, Counts]  # property IRI -> its triples, distinct subjects and objects
    graphs: dict[str, Counts]  # named graph IRI -> its counts
    sources: list[str] = field(default_factory=list)  # source document and reference dataset IRIs
    graph_labels: dict[str, str] = field(default_factory=dict)
    graph_descriptions: dict[str, str] = field(default_factory=dict)
    graph_sources: dict[str, list[str]] = field(default_factory=dict)
    linksets: list[Linkset] = field(default_factory=list)

    @property
    def vocabularies(self) -> list[str]:
        """Namespaces of every class and property used."""
        return sorted({namespace(iri) for iri in [*self.classes, *self.properties]})


def namespace(iri: str) -> str:
    """The namespace of a term: up to its last ``#``, or else its last ``/``."""
    cut = iri.rfind("#") if "#" in iri else iri.rfind("/")
    return iri[:cut + 1]


def statistics(store: ox.Store, graphs: Iterable[str], base_iri: str,
               union: Sequence[ox.DefaultGraph | ox.NamedNode]) -> Statistics:
    """Count over ``store``, where ``graphs`` are the published named graphs and the ``union`` graphs hold,
    between them, each of their triples once (queried as the default graph). The counting queries run
    side by side (:func:`~kg.build.concurrency.concurrently`)."""
    named = [ox.NamedNode(g) for g in sorted(graphs)]
    ns = base_iri + "id/"
    ic = base_iri + "def/"

    queries = [_TOTALS, _ENTITIES.format(ns=ns), _CLASSES, _PROPERTIES, _GRAPH_ENTITIES.format(ns=ns), _GRAPHS,
               _SOURCES.format(ic=ic), _GRAPH_DESCRIPTIONS.format(ic=ic, rdfs=RDFS, dcterms=DCTERMS),
               _LINKSETS.format(ic=ic, void=VOID, skos=SKOS)]
    answers = concurrently([partial(_rows, store, query, list(union), named) for query in queries])
    (totals, entities, class_rows, property_rows, graph_entity_rows, graph_rows, source_rows, description_rows,
     linkset_rows) = answers
    total = Counts(_int(totals[0]["triples"]), _int(totals[0]["subjects"]), _int(totals[0]["objects"]),
                   _int(entities[0]["n"]))
    classes = {r["class"].value: _int(r["n"]) for r in class_rows if isinstance(r["class"], ox.NamedNode)}
    properties = {r["p"].value: Counts(_int(r["n"]), _int(r["subjects"]), _int(r["objects"])) for r in property_rows}
    graph_entities = {r["g"].value: _int(r["n"]) for r in graph_entity_rows}
    per_graph = {g.value: Counts(0, 0, 0) for g in named}
    for r in graph_rows:
        g = r["g"].value
        per_graph[g] = Counts(_int(r["n"]), _int(r["subjects"]), _int(r["objects"]), graph_entities.get(g, 0))
    stats = Statistics(total, dict(sorted(classes.items())), dict(sorted(properties.items())), per_graph)
    stats.sources = [r["doc"].value for r in source_rows]
    for r in description_rows:
        g = r["g"].value
        if r["label"] is not None:
            stats.graph_labels[g] = r["label"].value
        if r["description"] is not None:
            stats.graph_descriptions[g] = r["description"].value
        if r["source"] is not None:
            stats.graph_sources.setdefault(g, []).append(r["source"].value)
    stats.linksets = [Linkset(r["target"].value, r["space"].value, r["p"].value, _int(r["n"])) for r in linkset_rows]
    return stats


def _rows(store: ox.Store, query: str, default_graph: list, named_graphs: list) -> list[ox.QuerySolution]:
    """All the answers of one counting query (read inside the worker thread, where Oxigraph computes them)."""
    return list(store.query(query, default_graph=default_graph, named_graphs=named_graphs))


def _int(term: ox.Literal) -> int:
    return int(term.value)


# -- the description ------------------------------------------------------------------------------------------

def document_iri(base_iri: str) -> str:
    return base_iri + ".well-known/void"


def dataset_iri(base_iri: str) -> str:
    return document_iri(base_iri) + "#dataset"


def subset_iri(base_iri: str, graph: str) -> str:
    graph_ns = base_iri + "graph/"
    name = graph[len(graph_ns):] if graph.startswith(graph_ns) else hashlib.sha256(graph.encode()).hexdigest()[:16]
    return document_iri(base_iri) + "#graph-" + name


def endpoint_url(base_iri: str) -> str:
    return base_iri + "sparql"


def download_url(base_iri: str, file: str) -> str:
    return base_iri + "downloads/" + file


class _Triples(list):
    def add(self, s: ox.NamedNode | ox.BlankNode, p: str, o: ox.NamedNode | ox.BlankNode | ox.Literal) -> None:
        self.append(ox.Triple(s, ox.NamedNode(p), o))


def _iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def _integer(n: int, datatype: str = XSD + "integer") -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode(datatype))


def _en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def void_triples(stats: Statistics, manifest: dict[str, Any]) -> list[ox.Triple]:
    """The VoID + DCAT triples for a snapshot (its manifest, with its dumps) and its statistics."""
    base = manifest["base_iri"]
    t = _Triples()
    a = RDF + "type"
    doc, dataset = _iri(document_iri(base)), _iri(dataset_iri(base))
    endpoint = _iri(endpoint_url(base))
    modified = ox.Literal(manifest["built_at"], datatype=ox.NamedNode(XSD + "dateTime"))
    licence = _iri(LICENSE)

    t.add(doc, a, _iri(VOID + "DatasetDescription"))
    t.add(doc, DCTERMS + "title", _en(f"A VoID and DCAT description of the {TITLE}"))
    t.add(doc, FOAF + "primaryTopic", dataset)
    t.add(doc, DCTERMS + "modified", modified)

    publisher = _iri(document_iri(base) + "#publisher")
    t.add(publisher, a, _iri(FOAF + "Organization"))
    t.add(publisher, FOAF + "name", _en(PUBLISHER_NAME))

    t.add(dataset, a, _iri(VOID + "Dataset"))
    t.add(dataset, a, _iri(DCAT + "Dataset"))
    t.add(dataset, DCTERMS + "title", _en(TITLE))
    t.add(dataset, DCTERMS + "description", _en(DESCRIPTION))
    t.add(dataset, DCTERMS + "license", licence)
    t.add(dataset, DCTERMS + "publisher", publisher)
    t.add(dataset, DCTERMS + "modified", modified)
    t.add(dataset, DCTERMS + "identifier", ox.Literal(manifest["build_id"]))
    t.add(dataset, DCTERMS + "language", _iri("http://id.loc.gov/vocabulary/iso639-1/en"))
    t.add(dataset, DCAT + "landingPage", _iri(base))
    t.add(dataset, FOAF + "homepage", _iri(base))
    for keyword in KEYWORDS:
        t.add(dataset, DCAT + "keyword", _en(keyword))
    for source in stats.sources:
        t.add(dataset, DCTERMS + "source", _iri(source))

    # The SPARQL endpoint, as VoID and as a DCAT data service reached through a distribution.
    t.add(dataset, VOID + "sparqlEndpoint", endpoint)
    t.add(endpoint, a, _iri(DCAT + "DataService"))
    t.add(endpoint, a, _iri(SD + "Service"))
    t.add(endpoint, DCTERMS + "title", _en(f"{TITLE} SPARQL endpoint"))
    t.add(endpoint, DCAT + "endpointURL", endpoint)
    t.add(endpoint, DCAT + "endpointDescription", endpoint)
    t.add(endpoint, DCAT + "servesDataset", dataset)
    t.add(endpoint, DCTERMS + "license", licence)
    through_endpoint = _iri(document_iri(base) + "#sparql")
    t.add(dataset, DCAT + "distribution", through_endpoint)
    t.add(through_endpoint, a, _iri(DCAT + "Distribution"))
    t.add(through_endpoint, DCTERMS + "title", _en("SPARQL endpoint"))
    t.add(through_endpoint, DCAT + "accessURL", endpoint)
    t.add(through_endpoint, DCAT + "accessService", endpoint)
    t.add(through_endpoint, DCTERMS + "license", licence)

    # The downloads.
    for fmt, entry in dump_entries(manifest):
        url = _iri(download_url(base, fmt.file))
        distribution = _iri(document_iri(base) + "#dump-" + fmt.file)
        t.add(dataset, VOID + "dataDump", url)
        t.add(dataset, VOID + "feature", _iri(fmt.format.w3c_iri))
        t.add(dataset, DCAT + "distribution", distribution)
        t.add(distribution, a, _iri(DCAT + "Distribution"))
        t.add(distribution, DCTERMS + "title", _en(fmt.title))
        t.add(distribution, DCAT + "downloadURL", url)
        t.add(distribution, DCAT + "accessURL", url)
        t.add(distribution, DCAT + "mediaType", _iri(IANA_MEDIA_TYPES + entry["media_type"]))
        t.add(distribution, DCTERMS + "format", _iri(fmt.format.w3c_iri))
        if entry.get("compression") == "gzip":
            t.add(distribution, DCAT + "compressFormat", _iri(IANA_MEDIA_TYPES + GZIP_MEDIA_TYPE))
        t.add(distribution, DCAT + "byteSize", _integer(entry["bytes"], XSD + "nonNegativeInteger"))
        checksum = ox.BlankNode()
        t.add(distribution, SPDX + "checksum", checksum)
        t.add(checksum, a, _iri(SPDX + "Checksum"))
        t.add(checksum, SPDX + "algorithm", _iri(SPDX + "checksumAlgorithm_sha256"))
        t.add(checksum, SPDX + "checksumValue", ox.Literal(entry["sha256"], datatype=ox.NamedNode(XSD + "hexBinary")))
        t.add(distribution, DCTERMS + "license", licence)
        t.add(distribution, DCTERMS + "modified", modified)

    # What the data is made of.
    t.add(dataset, VOID + "uriSpace", ox.Literal(base + "id/"))
    for vocabulary in stats.vocabularies:
        t.add(dataset, VOID + "vocabulary", _iri(vocabulary))
    t.add(dataset, VOID + "triples", _integer(stats.total.triples))
    t.add(dataset, VOID + "entities", _integer(stats.total.entities))
    t.add(dataset, VOID + "classes", _integer(len(stats.classes)))
    t.add(dataset, VOID + "properties", _integer(len(stats.properties)))
    t.add(dataset, VOID + "distinctSubjects", _integer(stats.total.subjects))
    t.add(dataset, VOID + "distinctObjects", _integer(stats.total.objects))
    for cls, n in stats.classes.items():
        partition = ox.BlankNode()
        t.add(dataset, VOID + "classPartition", partition)
        t.add(partition, VOID + "class", _iri(cls))
        t.add(partition, VOID + "entities", _integer(n))
    for prop, counts in stats.properties.items():
        partition = ox.BlankNode()
        t.add(dataset, VOID + "propertyPartition", partition)
        t.add(partition, VOID + "property", _iri(prop))
        t.add(partition, VOID + "triples", _integer(counts.triples))
        t.add(partition, VOID + "distinctSubjects", _integer(counts.subjects))
        t.add(partition, VOID + "distinctObjects", _integer(counts.objects))

    # One subset per named graph.
    for graph, counts in stats.graphs.items():
        subset = _iri(subset_iri(base, graph))
        t.add(dataset, VOID + "subset", subset)
        t.add(subset, a, _iri(VOID + "Dataset"))
        t.add(subset, a, _iri(SD + "NamedGraph"))
        t.add(subset, SD + "name", _iri(graph))
        if graph in stats.graph_labels:
            t.add(subset, DCTERMS + "title", _en(stats.graph_labels[graph]))
        if graph in stats.graph_descriptions:
            t.add(subset, DCTERMS + "description", _en(stats.graph_descriptions[graph]))
        for source in sorted(stats.graph_sources.get(graph, [])):
            t.add(subset, DCTERMS + "source", _iri(source))
        t.add(subset, DCTERMS + "license", licence)
        t.add(subset, VOID + "sparqlEndpoint", endpoint)
        t.add(subset, VOID + "triples", _integer(counts.triples))
        t.add(subset, VOID + "entities", _integer(counts.entities))
        t.add(subset, VOID + "distinctSubjects", _integer(counts.subjects))
        t.add(subset, VOID + "distinctObjects", _integer(counts.objects))

    # One linkset per reference dataset and link predicate (https://www.w3.org/TR/void/#describing-linksets).
    for links in stats.linksets:
        linkset = _iri(f"{document_iri(base)}#links-{links.target.rstrip('/').rsplit('/', 1)[-1]}")
        target = _iri(links.target)
        t.add(dataset, VOID + "subset", linkset)
        t.add(linkset, a, _iri(VOID + "Linkset"))
        t.add(linkset, VOID + "subjectsTarget", dataset)
        t.add(linkset, VOID + "objectsTarget", target)
        t.add(linkset, VOID + "linkPredicate", _iri(links.predicate))
        t.add(linkset, VOID + "triples", _integer(links.triples))
        t.add(target, a, _iri(VOID + "Dataset"))
        t.add(target, VOID + "uriSpace", ox.Literal(links.uri_space))
    return _grouped(t)


def _grouped(triples: list[ox.Triple]) -> list[ox.Triple]:
    """The triples with those of each subject together (in order of first mention), so Turtle writes each node once."""
    first: dict[ox.NamedNode | ox.BlankNode, int] = {}
    for triple in triples:
        first.setdefault(triple.subject, len(first))
    return sorted(triples, key=lambda triple: first[triple.subject])


def write_void(staging: Path, manifest: dict[str, Any], dataset: ox.Store) -> dict[str, Any]:
    """Count over the build's in-memory dataset (the store being loaded holds the same graphs, and an
    in-memory store answers the counting queries faster), describe, and write ``staging/void.ttl``;
    return the manifest's ``"void"`` entry."""
    stats = statistics(dataset, manifest["graphs"], manifest["base_iri"], union_graphs(manifest))
    triples = void_triples(stats, manifest)
    path = staging / VOID_FILE
    with open(path, "wb") as out:
        ox.serialize(triples, out, ox.RdfFormat.TURTLE, prefixes=VOID_PREFIXES)
    return {"void": {"file": VOID_FILE, "triples": len(triples), "bytes": path.stat().st_size,
                     "sha256": file_sha256(path)}}
