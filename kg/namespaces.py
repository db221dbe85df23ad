"""Our vocabulary and the one prefix table used for every serialisation and query."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS, XSD

from kg.config import BASE_IRI

IC = Namespace(BASE_IRI + "def/")
SCHEMA = Namespace("https://schema.org/")
TIME = Namespace("http://www.w3.org/2006/time#")
VOID = Namespace("http://rdfs.org/ns/void#")
SH = Namespace("http://www.w3.org/ns/shacl#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
SF = Namespace("http://www.opengis.net/ont/sf#")

#: Kinds of instance IRI, ``<base>id/<kind>/<slug>``; each is also a prefix of the same name.
INSTANCE_KINDS = (
    "city", "country", "region", "place", "organisation", "partnership", "project", "initiative",
    "work", "source", "news", "person", "membership", "post", "event", "theme", "role", "concept",
    "scheme", "count", "objective", "funding", "geometry", "link",
)

PREFIXES: dict[str, str] = {
    "ic": str(IC),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "schema": str(SCHEMA),
    "foaf": str(FOAF),
    "org": str(ORG),
    "prov": str(PROV),
    "time": str(TIME),
    "void": str(VOID),
    "geo": str(GEO),
    "sf": str(SF),
    "graph": BASE_IRI + "graph/",
    **{kind: f"{BASE_IRI}id/{kind}/" for kind in INSTANCE_KINDS},
}


#: Prefixes of the dataset description (void.ttl): ours, and those of the vocabularies it uses.
VOID_PREFIXES = {**PREFIXES, "dcat": str(DCAT), "foaf": str(FOAF), "spdx": str(SPDX), "sd": str(SD)}
