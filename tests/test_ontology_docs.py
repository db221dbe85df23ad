"""The ontology documentation (/def) and the resolution of every ontology IRI by content negotiation.

The expectations are read from ontology/integrating-cities.ttl itself, so a term added to the
ontology is checked without touching this file.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.config import PROJECT_ROOT
from kg.namespaces import PREFIXES
from kg.terms import to_rdflib

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
IC = PREFIXES["ic"]
ONTOLOGY_IRI = IC.rstrip("/")
RDF_FORMATS = {  # suffix -> (media type, rdflib parser)
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "nt": ("application/n-triples", "nt"),
    "rdf": ("application/rdf+xml", "xml"),
}
OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "json-ld": ox.RdfFormat.JSON_LD, "nt": ox.RdfFormat.N_TRIPLES,
              "xml": ox.RdfFormat.RDF_XML}
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CLASS_TERM, PROPERTY_TERM = "City", "speaker"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(PROJECT_ROOT / "ontology" / "integrating-cities.ttl", format="turtle")


def _terms(ontology: Graph, *types: URIRef) -> list[URIRef]:
    return sorted({s for t in types for s in ontology.subjects(RDF.type, t) if str(s).startswith(IC)})


def _curie(iri: str) -> str:
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


class Page(HTMLParser):
    """What the tests look at in the page; fails on unbalanced tags or duplicate ids."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.svg_links: dict[str, list[str]] = {}  # by the SVG's class: class-diagram, relation-diagram
        self.rects: dict[str, list[tuple[float, float, float, float]]] = {}
        self.svg_texts: dict[str, list[str]] = {}
        self._svg = ""
        self.article_text: dict[str, str] = {}
        self.table_rows: list[list[str]] = []
        self._articles: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed at the end: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "svg":
            self._svg = attributes.get("class", "")
            for found in (self.svg_links, self.rects, self.svg_texts):
                found[self._svg] = []
        if tag == "a" and "href" in attributes:
            (self.svg_links[self._svg] if "svg" in self.stack else self.links).append(attributes["href"])
        for article in self._articles:  # element boundaries separate words, as a browser's rendering does
            self.article_text[article] += " "
        if tag == "article":
            self._articles.append(attributes.get("id", ""))
            self.article_text[attributes.get("id", "")] = ""
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "rect":
            self.rects[self._svg].append(tuple(float(attributes[k]) for k in ("x", "y", "width", "height")))
        if "id" in attributes:
            self.ids.append(attributes["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at line {self.getpos()[0]}")
            return
        self.stack.pop()
        if tag == "article":
            self._articles.pop()
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.table_rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self.stack[-1:] == ["text"] and "svg" in self.stack:
            self.svg_texts[self._svg].append(data)
        for article in self._articles:
            self.article_text[article] += data
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def page(app) -> Page:
    response = app.test_client().get("/def", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    return Page(response.get_data(as_text=True))


def _vary(response) -> set[str]:
    return {v.strip() for v in response.headers.get("Vary", "").split(",")}


def _squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------------
# The page


def test_page_is_well_formed(page):
    assert page.errors == []
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates


def test_every_class_and_property_is_documented_with_its_definition(page, ontology):
    terms = _terms(ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    assert len(terms) > 100
    for term in terms:
        name = str(term)[len(IC):]
        assert name in page.article_text, f"no section for {name}"
        text = _squash(page.article_text[name])
        definition = ontology.value(term, SKOS.definition)
        assert definition is not None and _squash(str(definition)) in text, name
        assert str(ontology.value(term, RDFS.label)) in text, name


def test_class_sections_name_superclasses_subclasses_and_properties(page):
    organisation = _squash(page.article_text["Organisation"])
    assert "ic:WorkingGroup" not in organisation  # only direct subclasses
    assert "ic:OrganisationalUnit" in organisation and "schema:Organization" in organisation
    city = _squash(page.article_text["City"])
    assert "Subclass of ic:Place" in city
    assert "Aligned with foaf:Agent" in city and "schema:City" in city
    assert "By inference also schema:Place" in city  # through ic:Place
    assert "Range of ic:city" in city
    assert re.search(r"Instances ?\d+ in the graph", city)
    speaker = _squash(page.article_text["speaker"])
    assert "Domain ic:Event" in speaker and "Range ic:Person" in speaker
    assert "Sub-property of ic:participant" in speaker and "schema:performer" in speaker
    assert "Inverse of ic:hasSubEvent" in _squash(page.article_text["subEventOf"])
    assert "Disjoint with" in _squash(page.article_text["Person"])


def test_every_alignment_is_in_the_alignment_table(page, ontology):
    rows = {tuple(row) for row in page.table_rows if len(row) == 3}
    expected = set()
    for predicate in (RDFS.subClassOf, RDFS.subPropertyOf):
        for s, o in ontology.subject_objects(predicate):
            if str(s).startswith(IC) and not str(o).startswith(IC):
                expected.add((_curie(str(s)), _curie(str(predicate)), _curie(str(o)) + " ↗"))
    assert expected
    missing = {row for row in expected if (row[0], row[1], row[2].removesuffix(" ↗")) not in rows and row not in rows}
    assert not missing
    for vocabulary in ("schema.org", "ORG", "FOAF", "SKOS", "PROV-O"):
        assert any(vocabulary in row[0] for row in page.table_rows if len(row) == 1), vocabulary


def test_diagram_is_an_inline_svg_linking_each_class_to_its_section(page, ontology):
    assert set(page.svg_links) == {"class-diagram", "relation-diagram"}
    classes = {str(c)[len(IC):] for c in _terms(ontology, OWL.Class)}
    assert {link.removeprefix("#") for link in page.svg_links["class-diagram"]} == classes
    assert all(link.startswith("#") and link[1:] in page.ids for link in page.svg_links["class-diagram"])
    boxes = page.rects["class-diagram"]
    assert len(boxes) == len(classes)
    for i, (x, y, w, h) in enumerate(boxes):  # readable: no two boxes overlap
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y


def test_the_relation_diagram_connects_the_main_classes_by_their_properties(page, store):
    """Person, Post, Role, Membership and StatedCount joined by the object properties between them, each arrow
    named and linked to its property's section, and each relation one the data uses."""
    from kg.site.relation_diagram import RELATIONS

    links = {link.removeprefix("#") for link in page.svg_links["relation-diagram"]}
    assert {"Person", "Post", "Role", "Membership", "StatedCount", "heldBy", "postIn", "role", "member", "countOf"} <= links
    assert all(link in page.ids for link in links)
    texts = page.svg_texts["relation-diagram"]
    for subject, prop, obj in RELATIONS:
        assert prop in texts and subject in texts and obj in texts
        used = store.query(f"ASK {{ ?s ic:{prop} ?o . ?s a ic:{subject} . ?o a ic:{obj} }}")
        assert bool(used), (subject, prop, obj)


def test_every_anchor_on_the_page_exists(page):
    anchors = [link[1:] for link in page.links if link.startswith("#")]
    assert anchors and all(anchor in page.ids for anchor in anchors)


# --------------------------------------------------------------------------------------------------
# Content negotiation


def _parse(response, parser: str) -> Graph:
    """The response's RDF, parsed by Oxigraph (an independent parser from rdflib, which wrote it)."""
    graph = Graph()
    for triple in ox.parse(response.get_data(), format=OX_FORMATS[parser]):
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph


def _label_of(name: str | None) -> tuple[URIRef, Literal]:
    if name is None:
        return URIRef(ONTOLOGY_IRI), Literal("Integrating Cities ontology", lang="en")
    ontology = Graph().parse(PROJECT_ROOT / "ontology" / "integrating-cities.ttl", format="turtle")
    term = URIRef(IC + name)
    return term, ontology.value(term, RDFS.label)


def _path(name: str | None, suffix: str | None = None) -> str:
    base = "/def" if name is None else f"/def/{name}"
    return f"{base}.{suffix}" if suffix else base


@pytest.mark.parametrize("name", [None, CLASS_TERM, PROPERTY_TERM])
@pytest.mark.parametrize("suffix", sorted(RDF_FORMATS))
def test_rdf_by_accept(client, name, suffix):
    media_type, parser = RDF_FORMATS[suffix]
    response = client.get(_path(name), headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    if media_type != "application/ld+json":
        assert response.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert "Accept" in _vary(response)
    assert response.headers["Content-Location"] == _path(name, suffix)
    subject, label = _label_of(name)
    assert (subject, RDFS.label, label) in _parse(response, parser)


@pytest.mark.parametrize("name", [None, CLASS_TERM, PROPERTY_TERM])
@pytest.mark.parametrize("suffix", sorted(RDF_FORMATS))
def test_rdf_by_suffix(client, name, suffix):
    media_type, parser = RDF_FORMATS[suffix]
    response = client.get(_path(name, suffix), headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.mimetype == media_type
    subject, label = _label_of(name)
    graph = _parse(response, parser)
    assert (subject, RDFS.label, label) in graph
    assert "Accept" not in _vary(response)  # a suffixed URL has one representation


def test_ontology_document_is_the_whole_ontology(client, ontology):
    graph = _parse(client.get("/def.nt"), "nt")
    assert len(graph) == len(ontology)
    assert (URIRef(ONTOLOGY_IRI), RDF.type, OWL.Ontology) in graph


def test_term_description_holds_its_statements_and_those_pointing_at_it(client):
    graph = _parse(client.get("/def/Place.ttl"), "turtle")
    place = URIRef(IC + "Place")
    assert (place, RDFS.subClassOf, URIRef("https://schema.org/Place")) in graph
    assert (URIRef(IC + "City"), RDFS.subClassOf, place) in graph
    assert (URIRef(IC + "launchPlace"), RDFS.range, place) in graph
    assert not any(s == URIRef(IC + "Event") for s in graph.subjects())


@pytest.mark.parametrize("path", ["/def", "/def.html"])
def test_html_for_browsers(client, path):
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<svg" in response.get_data(as_text=True)


@pytest.mark.parametrize("name", [CLASS_TERM, PROPERTY_TERM])
@pytest.mark.parametrize("path_suffix, accept", [("", BROWSER_ACCEPT), ("", "text/html"), (".html", "*/*")])
def test_term_in_a_browser_is_sent_to_its_section(client, name, path_suffix, accept):
    response = client.get(f"/def/{name}{path_suffix}", headers={"Accept": accept})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"])._replace(scheme="", netloc="").geturl() == f"/def#{name}"
    if not path_suffix:
        assert "Accept" in _vary(response)


@pytest.mark.parametrize("accept, expected", [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("text/html;q=0.1, application/n-triples;q=0.9", "application/n-triples"),
    ("text/turtle;q=0, */*", "application/ld+json"),
    ("application/*", "application/ld+json"),
    ("application/rdf+xml, text/turtle;q=0.9", "application/rdf+xml"),
    ("text/turtle; charset=utf-8", "text/turtle"),
    ("application/json", "application/ld+json"),
    ("text/*", "text/turtle"),
])
def test_q_values_and_wildcards(client, accept, expected):
    response = client.get("/def/City", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == expected


@pytest.mark.parametrize("path", ["/def", "/def/City", "/def/speaker"])
def test_not_acceptable(client, path):
    response = client.get(path, headers={"Accept": "image/png, text/turtle;q=0"})
    assert response.status_code == 406
    body = response.get_data(as_text=True)
    assert all(media in body for media, _ in RDF_FORMATS.values()) and "text/html" in body
    assert "Accept" in _vary(response)


@pytest.mark.parametrize("name", [None, CLASS_TERM, PROPERTY_TERM])
def test_link_headers_name_every_alternate_and_they_resolve(client, name):
    response = client.get(_path(name), headers={"Accept": "text/turtle"})
    links = dict((t, u) for u, t in re.findall(r'<([^>]+)>; rel="alternate"; type="([^"]+)"', response.headers["Link"]))
    assert set(links) == {media for media, _ in RDF_FORMATS.values()} | {"text/html"}
    for media_type, url in links.items():
        target = urlsplit(url)
        if media_type == "text/html" and name:
            assert target.path == "/def" and target.fragment == name
            continue
        resolved = client.get(target.path)
        assert resolved.status_code == 200 and resolved.mimetype == media_type


def test_unknown_term_is_404_with_the_nearest_names(client):
    plain = client.get("/def/Cty", headers={"Accept": "text/turtle"})
    assert plain.status_code == 404
    assert plain.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert f"{IC}City" in plain.get_data(as_text=True)
    html = client.get("/def/Organization", headers={"Accept": BROWSER_ACCEPT})
    assert html.status_code == 404 and html.mimetype == "text/html"
    page = Page(html.get_data(as_text=True))
    assert page.errors == []
    assert "/def#Organisation" in page.links


@pytest.mark.parametrize("path", ["/def/City.pdf", "/def.pdf", "/def/NoSuchTerm.ttl"])
def test_unknown_format_or_term_with_a_suffix_is_404(client, path):
    assert client.get(path).status_code == 404


def test_version_iri_resolves_to_the_ontology(client, ontology):
    version = str(ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionIRI))
    path = urlsplit(version).path.removeprefix("/integrating-cities")
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert (URIRef(ONTOLOGY_IRI), RDF.type, OWL.Ontology) in _parse(response, "turtle")
    assert client.get(path, headers={"Accept": BROWSER_ACCEPT}).status_code == 303


def test_conditional_get_and_head(client):
    first = client.get("/def/City.ttl")
    etag = first.headers["ETag"]
    assert client.get("/def/City.ttl", headers={"If-None-Match": etag}).status_code == 304
    head = client.head("/def", headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.mimetype == "text/turtle" and "Link" in head.headers


def test_trailing_slash_redirects_to_the_ontology(client):
    response = client.get("/def/")
    assert response.status_code == 301 and response.headers["Location"].endswith("/def")
