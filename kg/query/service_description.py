"""The SPARQL 1.1 Service Description of the endpoint, generated from the snapshot.
https://www.w3.org/TR/sparql11-service-description/
"""

from __future__ import annotations

from urllib.parse import urljoin

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from kg.namespaces import VOID
from kg.formats import BY_FORM
from kg.terms import new_graph

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")


def service_graph(endpoint_url: str, manifest: dict, graph_labels: dict[str, str]) -> Graph:
    graph = new_graph()
    graph.bind("sd", SD)
    service = URIRef(endpoint_url)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    graph.add((service, DCTERMS.title, Literal("Integrating Cities Knowledge Graph SPARQL endpoint", lang="en")))
    graph.add((service, DCTERMS.description, Literal(
        "Read-only. The default graph is the union (an RDF merge) of all named graphs: the ontology, one graph per "
        "source document, curated vocabularies, and the OWL 2 RL entailments in graph/inferred. FROM, FROM NAMED and "
        "the default-graph-uri / named-graph-uri parameters select among these graphs only; SERVICE is refused unless "
        "allow-listed.", lang="en")))
    for fmt in dict.fromkeys(f for formats in BY_FORM.values() for f in formats):
        graph.add((service, SD.resultFormat, URIRef(fmt.w3c_iri)))
    # The VoID/DCAT description of the dataset (statistics, downloads), served next to the endpoint.
    graph.add((service, RDFS.seeAlso, URIRef(urljoin(endpoint_url, ".well-known/void"))))
    dataset = BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, DCTERMS.description, Literal("The union of all named graphs", lang="en")))
    for iri, info in sorted(manifest["graphs"].items()):
        named, description = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(iri)))
        graph.add((named, SD.graph, description))
        graph.add((description, RDF.type, SD.Graph))
        graph.add((description, VOID.triples, Literal(info["triples"], datatype=XSD.integer)))
        if iri in graph_labels:
            graph.add((description, DCTERMS.title, Literal(graph_labels[iri], lang="en")))
    return graph
