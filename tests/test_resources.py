"""Dereferenceable IRIs: content negotiation, suffixes, 404s, descriptions with provenance, pages, indexes, search.

Runs against the session's snapshot with Flask's test client; the crawl at the end checks that a person
starting at the home page reaches every typed entity of the snapshot by following links.
"""

from __future__ import annotations

import json
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.config import BASE_IRI
from kg.namespaces import INSTANCE_KINDS, PREFIXES
from kg.formats import RDF_FORMATS
from kg.site.describe import Describer, format_date, format_range, to_jsonld

RDF_SUFFIXES = [f.suffix for f in RDF_FORMATS]

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
HELSINKI = BASE_IRI + "id/city/helsinki"
IC = PREFIXES["ic"]
RDF_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
LABEL = ox.NamedNode(PREFIXES["rdfs"] + "label")
MEDIA = {"ttl": "text/turtle", "jsonld": "application/ld+json", "nt": "application/n-triples",
         "rdf": "application/rdf+xml", "trig": "application/trig", "nq": "application/n-quads", "html": "text/html"}
OX_FORMATS = {"ttl": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD, "nt": ox.RdfFormat.N_TRIPLES,
              "rdf": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS}
RDFLIB_FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml"}


def N(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def parse(body: bytes, suffix: str) -> set:
    """Triples (or quads, for TriG/N-Quads) of a response body, parsed with pyoxigraph."""
    quads = ox.parse(body, format=OX_FORMATS[suffix], base_iri=BASE_IRI)
    if suffix in ("trig", "nq"):
        return {(q.subject, q.predicate, q.object, q.graph_name) for q in quads}
    return {(q.subject, q.predicate, q.object) for q in quads}


class Links(HTMLParser):
    """The hrefs, headings and embedded JSON-LD of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.jsonld: list[str] = []
        self.h1 = ""
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
        if tag == "script" and a.get("type") == "application/ld+json":
            self._in = "jsonld"
            self.jsonld.append("")
        if tag == "h1":
            self._in = "h1"

    def handle_data(self, data: str) -> None:
        if self._in == "jsonld":
            self.jsonld[-1] += data
        elif self._in == "h1":
            self.h1 += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "h1"):
            self._in = None


@pytest.fixture(scope="module")
def describer(store) -> Describer:
    return Describer(store, BASE_IRI)


@pytest.fixture(scope="module")
def one_per_kind(store) -> list[str]:
    """One typed instance IRI of every kind in the snapshot."""
    rows = store.query(f'SELECT ?s WHERE {{ ?s a ?t FILTER(STRSTARTS(STR(?s), "{BASE_IRI}id/")) }}')
    found: dict[str, str] = {}
    for row in rows:
        kind = row["s"].value[len(BASE_IRI + "id/"):].split("/", 1)[0]
        found.setdefault(kind, row["s"].value)
    return [found[k] for k in sorted(found)]


def path_of(iri: str) -> str:
    return "/" + iri[len(BASE_IRI):]


# ---------------------------------------------------------------------------------------------
# Content negotiation and suffixes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", list(RDF_SUFFIXES))
def test_accept_header_chooses_each_rdf_format(client, suffix: str) -> None:
    response = client.get("/id/city/helsinki", headers={"Accept": MEDIA[suffix]})
    assert response.status_code == 200
    assert response.mimetype == MEDIA[suffix]
    if not MEDIA[suffix].endswith("json"):
        assert response.mimetype_params.get("charset") == "utf-8"
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Content-Location"] == f"/id/city/helsinki.{suffix}"
    parsed = parse(response.data, suffix)
    label = (N(HELSINKI), LABEL, ox.Literal("Helsinki", language="en"))
    assert any(t[:3] == label for t in parsed)


def test_accept_header_chooses_html_for_browsers(client) -> None:
    response = client.get("/id/city/helsinki", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Location"] == "/id/city/helsinki.html"
    assert "Accept" in response.headers["Vary"]
    assert Links(response.get_data(as_text=True)).h1.strip() == "Helsinki"


@pytest.mark.parametrize("accept, expected", [
    ("text/turtle;q=0.5, application/ld+json;q=0.9", "application/ld+json"),
    ("application/rdf+xml, text/html;q=0.1", "application/rdf+xml"),
    ("text/html;q=0.2, application/n-triples;q=0.3, application/trig;q=0.25", "application/n-triples"),
    ("application/n-quads;q=1, text/turtle;q=0", "application/n-quads"),
    ("*/*", "text/turtle"),
    ("text/*", "text/turtle"),
    (None, "text/turtle"),
    ("application/json", "application/ld+json"),
    ("image/png;q=1, text/html;q=0.5", "text/html"),
])
def test_q_values_are_honoured(client, accept: str | None, expected: str) -> None:
    response = client.get("/id/city/helsinki", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == expected


def test_nothing_acceptable_is_406_with_the_alternatives(client) -> None:
    response = client.get("/id/city/helsinki", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.get_data(as_text=True)
    assert ".ttl" in response.headers["Link"]


@pytest.mark.parametrize("suffix", list(MEDIA))
def test_suffixes_name_one_format(client, suffix: str) -> None:
    for accept in ("text/html", "text/turtle", "application/ld+json"):
        response = client.get(f"/id/city/helsinki.{suffix}", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.mimetype == MEDIA[suffix]
        assert "Content-Location" not in response.headers
    if suffix != "html":
        assert parse(response.data, suffix)


def test_link_headers_list_every_alternate(client) -> None:
    response = client.get("/id/city/helsinki", headers={"Accept": "text/turtle"})
    link = response.headers["Link"]
    for suffix, media in MEDIA.items():
        assert f'/id/city/helsinki.{suffix}>; rel="alternate"; type="{media}"' in link


def test_every_kind_in_every_format(client, one_per_kind: list[str]) -> None:
    """One instance of each kind of IRI answers in every format, and every triple format says the same."""
    assert {urlsplit(i).path.split("/")[3] for i in one_per_kind} <= set(INSTANCE_KINDS)
    for iri in one_per_kind:
        path = path_of(iri)
        turtle = parse(client.get(path + ".ttl").data, "ttl")
        assert any(t[0] == N(iri) and t[1] == RDF_TYPE for t in turtle), iri
        for suffix in RDF_SUFFIXES:
            response = client.get(path, headers={"Accept": MEDIA[suffix]})
            assert response.status_code == 200, (iri, suffix)
            parsed = parse(response.data, suffix)
            if suffix in ("trig", "nq"):
                parsed = {q[:3] for q in parsed}
            if suffix != "jsonld":  # blank nodes compared below, with rdflib
                assert _without_blank(parsed) == _without_blank(turtle), (iri, suffix)
        html = client.get(path, headers={"Accept": BROWSER})
        assert html.status_code == 200 and html.mimetype == "text/html", iri


def _without_blank(triples: set) -> set:
    return {t for t in triples if not any(isinstance(x, ox.BlankNode) for x in t)}


def test_etag_and_head(client) -> None:
    first = client.get("/id/city/helsinki.ttl")
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    again = client.get("/id/city/helsinki.ttl", headers={"If-None-Match": etag})
    assert again.status_code == 304
    head = client.head("/id/city/helsinki", headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.mimetype == "text/turtle" and not head.data


def test_graph_iris_resolve_too(client) -> None:
    response = client.get("/graph/helsinki-international-activities", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    triples = parse(response.data, "ttl")
    assert (N(BASE_IRI + "graph/helsinki-international-activities"), N(IC + "graphSource"),
            N(BASE_IRI + "id/source/helsinki-international-activities")) in triples


# ---------------------------------------------------------------------------------------------
# JSON-LD
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/id/city/helsinki", "/id/membership/eurocities-integrating-cities-process",
                                  "/id/event/integrating-cities-iii", "/id/person/celine-chateau"])
def test_jsonld_round_trips_to_the_same_triples_as_turtle(client, path: str) -> None:
    turtle = client.get(path + ".ttl").data
    jsonld = client.get(path, headers={"Accept": "application/ld+json"}).data
    document = json.loads(jsonld)
    assert document["@context"] == PREFIXES  # compact: our prefixes, nothing fetched from elsewhere
    assert any(re.match(r"^(ic|rdfs|skos):", key) for node in document["@graph"] for key in node)
    expected = Graph().parse(data=turtle, format="turtle")
    for name, graph in {"rdflib": Graph().parse(data=jsonld, format="json-ld"),
                        "pyoxigraph": _ox_to_rdflib(jsonld, ox.RdfFormat.JSON_LD)}.items():
        assert len(graph) == len(expected), name
        assert isomorphic(graph, expected), name
    for suffix in ("nt", "rdf"):
        other = Graph().parse(data=client.get(f"{path}.{suffix}").data, format=RDFLIB_FORMATS[suffix])
        assert isomorphic(other, expected), suffix


def _ox_to_rdflib(body: bytes, fmt: ox.RdfFormat) -> Graph:
    nt = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt)],
                      format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=nt, format="nt")


def test_jsonld_writer_keeps_datatypes_languages_and_blank_nodes() -> None:
    s, b = N(BASE_IRI + "id/event/x"), ox.BlankNode("p1")
    triples = [ox.Triple(s, RDF_TYPE, N(IC + "Event")), ox.Triple(s, LABEL, ox.Literal("X", language="fi")),
               ox.Triple(s, N(IC + "editionNumber"), ox.Literal("03", datatype=N(PREFIXES["xsd"] + "integer"))),
               ox.Triple(s, N(IC + "during"), b), ox.Triple(b, N(IC + "startDate"), ox.Literal("2006", datatype=N(PREFIXES["xsd"] + "gYear"))),
               ox.Triple(s, N("http://example.org/odd#p"), ox.Literal('quote " and </script>'))]
    document = json.dumps(to_jsonld(triples, s.value))
    back = Graph().parse(data=document, format="json-ld")
    expected = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    assert isomorphic(back, expected)


# ---------------------------------------------------------------------------------------------
# What a description holds
# ---------------------------------------------------------------------------------------------

def test_description_marks_graphs_labels_inbound_and_provenance(client) -> None:
    quads = parse(client.get("/id/city/helsinki.nq").data, "nq")
    g = lambda name: N(BASE_IRI + "graph/" + name)  # noqa: E731
    helsinki = N(HELSINKI)
    # Own triples: asserted in the graph of the source that states them, inferred in graph:inferred.
    assert (helsinki, RDF_TYPE, N(IC + "City"), g("helsinki-international-activities")) in quads
    assert (helsinki, RDF_TYPE, N(PREFIXES["schema"] + "City"), g("inferred")) in quads
    assert not any(q[:3] == (helsinki, RDF_TYPE, N(PREFIXES["schema"] + "City")) and q[3] != g("inferred") for q in quads)
    # Labels of linked resources.
    assert (N(BASE_IRI + "id/country/finland"), LABEL, ox.Literal("Finland", language="en"), g("common-knowledge")) in quads
    # Inbound links, with their labels.
    membership = N(BASE_IRI + "id/membership/helsinki-eurocities")
    assert any(q[:3] == (membership, N(IC + "member"), helsinki) for q in quads)
    assert any(q[0] == membership and q[1] == LABEL for q in quads)
    # Provenance: each graph's source document, as graph:sources states it.
    assert (g("helsinki-international-activities"), N(IC + "graphSource"),
            N(BASE_IRI + "id/source/helsinki-international-activities"), g("sources")) in quads
    # The triple formats are the quads without graph names.
    triples = parse(client.get("/id/city/helsinki.ttl").data, "ttl")
    assert triples == {q[:3] for q in quads}


def test_unknown_iri_has_no_description(describer) -> None:
    assert describer.describe(BASE_IRI + "id/city/atlantis") is None
    assert describer.describe(HELSINKI) is not None


def test_dates_are_formatted_for_people() -> None:
    xsd = PREFIXES["xsd"]
    assert format_date("2017-07-06", xsd + "date") == "6 July 2017"
    assert format_date("2016-04", xsd + "gYearMonth") == "April 2016"
    assert format_date("2006", xsd + "gYear") == "2006"
    d = lambda v: ox.Literal(v, datatype=N(xsd + "date"))  # noqa: E731
    assert format_range(d("2009-04-02"), d("2009-04-03")) == "2–3 April 2009"
    assert format_range(d("2009-03-30"), d("2009-04-02")) == "30 March – 2 April 2009"
    assert format_range(ox.Literal("2006", datatype=N(xsd + "gYear")), None) == "from 2006"


# ---------------------------------------------------------------------------------------------
# Not found
# ---------------------------------------------------------------------------------------------

def test_unknown_iri_is_a_helpful_404_for_people(client) -> None:
    response = client.get("/id/city/helsinkii", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'action="/search"' in page and 'name="q"' in page
    assert 'href="/id/city/helsinki"' in page  # the nearest label
    assert "Traceback" not in page


@pytest.mark.parametrize("path, accept", [("/id/city/helsinkii", "text/turtle"), ("/id/city/helsinkii.ttl", BROWSER),
                                          ("/id/city/helsinkii.jsonld", None), ("/id/city/helsinkii", None)])
def test_unknown_iri_is_a_short_404_for_programs(client, path: str, accept: str | None) -> None:
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert HELSINKI + "i>" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/id/nokind/thing", "/id/nokind/", "/nothing-here", "/graph/nothing",
                                  "/id/city/helsinki.html/x", "/id/city/a%3Eb%7D%20%22x",
                                  "/id/city/%25zz", "/id/city/h%C3%A9lsinki", "/id/city/x%00y"])
def test_other_unknown_paths_are_404_pages(client, path: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'action="/search"' in page and "Traceback" not in page


def test_unknown_iri_html_suffix_is_a_page(client) -> None:
    response = client.get("/id/person/celine-chatteau.html")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert 'href="/id/person/celine-chateau"' in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Pages for people
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def helsinki_page(app) -> str:
    return app.test_client().get("/id/city/helsinki", headers={"Accept": BROWSER}).get_data(as_text=True)


def test_resource_page_shows_properties_by_label_with_local_links(helsinki_page: str) -> None:
    page = helsinki_page
    assert "<title>Helsinki · Integrating Cities Knowledge Graph</title>" in page
    assert '<a href="/id/country/finland" title="country:finland">Finland</a>' in page
    assert ">country</a></th>" in page  # the property by its label
    assert "Also known as City of Helsinki" in page
    assert 'href="/id/city/helsinki.ttl"' in page and 'href="/id/city/helsinki.jsonld"' in page
    assert 'href="/sparql#query=DESCRIBE%20%3Chttps%3A%2F%2Fw3id.org%2Fintegrating-cities%2Fid%2Fcity%2Fhelsinki%3E&amp;tabTitle=DESCRIBE%20Helsinki"' in page


def test_resource_page_marks_inferred_facts_and_sources(helsinki_page: str) -> None:
    page = helsinki_page
    assert re.search(r'<li class="inferred"><a href="/def/hasUnit"|<li class="inferred"><a href="/id/organisation/helsinki-immigrant-and-employment-services"[^>]*>.*?inferred</(span|a)>', page)
    assert 'id="src-helsinki-international-activities"' in page
    assert '<a href="/id/source/helsinki-international-activities">City of Helsinki: International activities</a>, published 2017-07-06' in page


def properties_of(page: str) -> str:
    section = page[page.index('id="properties-heading"'):]
    return section[:section.index("</section>")]


def test_inferred_echoes_fold_under_the_stated_fact(client, helsinki_page: str) -> None:
    """dcterms:source and prov:wasDerivedFrom beside ic:source, schema:containedInPlace beside ic:country,
    schema:City beside ic:City: one "Also as" line under the stated fact, not rows of their own."""
    table = properties_of(helsinki_page)
    headers = re.findall(r'<th scope="row"><a href="[^"]+" title="([^"]+)"', table)
    assert headers[:2] == ["rdf:type", "rdfs:label"] and "ic:source" in headers
    for echo in ("dcterms:source", "prov:wasDerivedFrom", "schema:containedInPlace", "schema:geo", "org:hasUnit"):
        assert echo not in headers, echo
    source_row = table[table.index('title="ic:source"'):]
    source_row = source_row[:source_row.index("</tr>")]
    assert source_row.count("<summary>Also as (Dublin Core, PROV-O)</summary>") == source_row.count("<li") == 3
    assert '>schema:City</a>' in table[table.index('title="rdf:type"'):table.index('title="rdfs:label"')]
    turtle = client.get("/id/city/helsinki.ttl").get_data(as_text=True)  # the data keeps every triple
    assert "dcterms:source" in turtle and "prov:wasDerivedFrom" in turtle


def test_an_event_lists_each_workshop_and_speaker_once(client) -> None:
    table = properties_of(client.get("/id/event/integrating-cities-vi", headers={"Accept": BROWSER}).get_data(as_text=True))
    workshops = set(re.findall(r'href="(/id/event/integrating-cities-vi-workshop-\d+)"', table))
    assert workshops
    for workshop in workshops:
        assert table.count(f'href="{workshop}"') == 1, workshop
    speakers = re.findall(r'href="(/id/person/[^"]+)"', table)
    assert speakers and len(speakers) == len(set(speakers))


def test_source_badges_name_the_source_and_open_its_page(helsinki_page: str) -> None:
    """A badge reads as the source's title after its publisher, with the year it was published; never a prefix of
    a capture file's name. It opens the source's page (title, date, publisher, file)."""
    badges = re.findall(r'<a class="badge source" href="([^"]+)" title="([^"]+)">([^<]+)</a>', helsinki_page)
    shown = {text for _, _, text in badges}
    assert "Helsinki: International activities (2017)" in shown
    assert "Integrating Cities VI: conference programme" in shown  # no title or date stated: its label
    assert not any(re.fullmatch(r"\d{3}", text) for text in shown), shown
    helsinki = next(b for b in badges if b[2].startswith("Helsinki:"))
    assert helsinki[:2] == ("/id/source/helsinki-international-activities",
                            "Stated by City of Helsinki: International activities, published 2017-07-06")


def test_reference_links_name_their_reference_datasets(helsinki_page: str) -> None:
    entry = helsinki_page[helsinki_page.index('id="src-links-geonames"'):]
    entry = entry[:entry.index("</li>")]
    assert "which no source document states" not in entry
    assert 'the reference datasets <a href="/id/source/geonames">GeoNames</a> and <a href="/id/source/iso-3166">ISO 3166-1</a>' in entry


def test_resource_page_lists_inbound_links_and_memberships(helsinki_page: str) -> None:
    page = helsinki_page
    assert "Mentioned by" in page
    assert 'href="/id/event/integrating-cities-vi-workshop-03"' in page  # participant of a workshop
    memberships = page[page.index("Memberships, affiliations and posts"):]
    memberships = memberships[:memberships.index("</table>")]
    assert ">EUROCITIES</a>" in memberships and ">chair</a>" in memberships and "attested 6 July 2017" in memberships
    assert 'href="/id/post/eurocities-migration-integration-wg-chair-helsinki"' in memberships
    assert '<th scope="col">Sources</th>' in memberships
    assert re.search(r'<td data-label="Sources"><a class="badge source" href="/id/source/helsinki-international-activities"', memberships)


def test_resource_page_embeds_json_ld_for_schema_org(helsinki_page: str) -> None:
    scripts = Links(helsinki_page).jsonld
    assert len(scripts) == 1
    document = json.loads(scripts[0])
    assert document["@context"]["@vocab"] == "https://schema.org/"
    node = next(n for n in document["@graph"] if n["@id"] == "city:helsinki")
    assert "City" in node["@type"] and node["name"] == {"@value": "Helsinki", "@language": "en"}
    graph = Graph().parse(data=scripts[0], format="json-ld")
    assert len(graph) > 20


def test_event_page_shows_place_and_dates(client) -> None:
    page = client.get("/id/event/integrating-cities-iii.html").get_data(as_text=True)
    summary = page[page.index('class="facts"'):page.index("</dl>")]
    assert "2 April 2009" in summary and '<a href="/id/city/berlin"' in summary
    assert '<time datetime="2009-04-02">2 April 2009</time>' in page


def test_person_page_shows_posts_over_time(client) -> None:
    page = client.get("/id/person/niels-tubbing.html").get_data(as_text=True)
    table = page[page.index("Memberships, affiliations and posts"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") >= 3  # header + two posts
    assert 'href="/id/role/chair"' in table


def test_project_page_shows_funders_and_leader(client) -> None:
    page = client.get("/id/project/curant.html").get_data(as_text=True)
    summary = page[page.index('class="facts"'):page.index("</dl>")]
    assert "Funded by" in summary and 'href="/id/organisation/urban-innovative-actions"' in summary


def test_describe_link_opens_the_editor_with_a_query_that_answers(client, helsinki_page: str) -> None:
    link = next(h for h in Links(helsinki_page).hrefs if h.startswith("/sparql#query=DESCRIBE"))
    path, fragment = urlsplit(link).path, parse_qs(urlsplit(link).fragment)
    assert fragment == {"query": [f"DESCRIBE <{HELSINKI}>"], "tabTitle": ["DESCRIBE Helsinki"]}
    page = client.get(path, headers={"Accept": BROWSER})  # what a browser following the link is sent
    assert page.mimetype == "text/html" and "SPARQL query editor" in page.get_data(as_text=True)
    response = client.get(path, query_string={"query": fragment["query"][0]}, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert (N(HELSINKI), LABEL, ox.Literal("Helsinki", language="en")) in parse(response.data, "ttl")


def test_events_index_is_in_date_order(client) -> None:
    page = client.get("/id/event/").get_data(as_text=True)
    dates = re.findall(r'<time datetime="([0-9-]+)">', page)
    assert len(dates) >= 5 and dates == sorted(dates)
    assert 'href="/id/event/integrating-cities-iii"' in page and ">Berlin</a>" in page


@pytest.mark.parametrize("kind", ["city", "project", "organisation", "person"])
def test_kind_indexes_list_their_entities(client, store, kind: str) -> None:
    page = client.get(f"/id/{kind}/").get_data(as_text=True)
    rows = store.query(f'SELECT DISTINCT ?s WHERE {{ ?s a ?t FILTER(STRSTARTS(STR(?s), "{BASE_IRI}id/{kind}/")) }}')
    for row in rows:
        assert f'href="{path_of(row["s"].value)}"' in page


def test_search_by_label(client) -> None:
    page = client.get("/search?q=helsinki").get_data(as_text=True)
    links = [h for h in Links(page).hrefs if h.startswith("/id/")]
    assert links[0] == "/id/city/helsinki"
    accents = client.get("/search?q=celine%20chateau").get_data(as_text=True)
    assert 'href="/id/person/celine-chateau"' in accents
    nothing = client.get("/search?q=zzzqqq")
    assert nothing.status_code == 200 and "Nothing is labelled" in nothing.get_data(as_text=True)
    empty = client.get("/search").get_data(as_text=True)
    assert 'name="q"' in empty


def test_home_page_says_what_the_graph_is_and_how_to_use_it(client, store, snapshot) -> None:
    response = client.get("/", headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "SPARQL query editor" not in Links(page).h1
    assert f"{len(store):,} triples" in page
    cities = next(iter(store.query("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a ic:City }")))["n"].value
    assert f'<span class="n">{cities}</span> City' in page
    hrefs = Links(page).hrefs
    for target in ("/sparql", "/downloads/", "/.well-known/void", "/id/city/", "/id/event/", "/id/project/", "/id/"):
        assert target in hrefs, target
    examples = [h for h in hrefs if h.startswith("/sparql#query=")]
    assert examples and not any(h.startswith("/sparql?query=") for h in hrefs)  # no link downloads a results file
    assert parse_qs(urlsplit(examples[0]).fragment)["tabTitle"][0].startswith("CQ01 ")
    assert "Cite it" in page and snapshot.manifest["build_id"] in page


def test_editor_stays_at_sparql_for_browsers(client) -> None:
    response = client.get("/sparql", headers={"Accept": BROWSER})
    assert response.status_code == 200 and "SPARQL query editor" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Every entity can be reached by clicking from the home page
# ---------------------------------------------------------------------------------------------

OUR_PAGES = ("/id/", "/graph/", "/search")


def test_crawl_from_home_reaches_every_entity(client, store) -> None:
    start = "/"
    seen = {start}
    queue = deque([start])
    reached: set[str] = set()
    while queue:
        path = queue.popleft()
        response = client.get(path, headers={"Accept": BROWSER})
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert response.mimetype == "text/html", path
        reached.add(path)
        for link in Links(response.get_data(as_text=True)).hrefs:
            url = urlsplit(urljoin("http://localhost" + path, link))
            if url.netloc != "localhost" or url.query:
                continue
            target = url.path
            if not target.startswith(OUR_PAGES) or re.search(r"\.(ttl|jsonld|nt|rdf|trig|nq|html)$", target):
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
    rows = store.query(f'SELECT DISTINCT ?s WHERE {{ ?s a ?t FILTER(STRSTARTS(STR(?s), "{BASE_IRI}")) }}')
    typed = {path_of(row["s"].value) for row in rows if row["s"].value.startswith((BASE_IRI + "id/", BASE_IRI + "graph/"))}
    assert len(typed) > 400
    missing = sorted(typed - reached)
    assert not missing, f"{len(missing)} entities not reachable from /: {missing[:10]}"


def test_every_count_on_the_home_page_matches_sparql(client, store) -> None:
    """Each class count on the home page equals an independent SPARQL count over the snapshot."""
    page = client.get("/", headers={"Accept": BROWSER}).get_data(as_text=True)
    shown = {label.strip(): int(n) for n, label in re.findall(r'<span class="n">(\d+)</span>\s*([^<]+)</a>', page)}
    assert len(shown) >= 10
    rows = store.query("""
        SELECT ?label (COUNT(DISTINCT ?s) AS ?n) WHERE {
          ?class rdfs:label ?label . ?s a ?class .
          FILTER(STRSTARTS(STR(?class), STR(ic:)) && STRSTARTS(STR(?s), "https://w3id.org/integrating-cities/id/"))
        } GROUP BY ?label""")
    counts = {row["label"].value: int(row["n"].value) for row in rows}
    for label, n in shown.items():
        assert counts[label] == n, label


def test_a_hub_lists_its_first_inbound_links_by_property_then_subject_and_counts_all(tmp_path) -> None:
    """More links than a description lists: the first ones in (property, subject) order, each with the
    asserted graphs stating it (never graph:inferred), and the count of all of them."""
    from kg.build.writer import write_snapshot
    from kg.query.store import GraphStore
    from kg.site.describe import INBOUND_LIMIT

    graph = lambda name: N(BASE_IRI + "graph/" + name)  # noqa: E731
    hub, inferred = N(BASE_IRI + "id/role/hub"), graph("inferred")
    dataset = ox.Store()
    links = [(N(f"{BASE_IRI}id/membership/m{i:03d}"), N(IC + ("role" if i % 3 else "attestedAt"))) for i in range(INBOUND_LIMIT + 50)]
    for i, (s, p) in enumerate(links):
        for g in ([graph("a"), graph("b")] if i % 7 == 0 else [graph("a" if i % 2 else "b")]):
            dataset.add(ox.Quad(s, p, hub, g))
        dataset.add(ox.Quad(s, p, hub))  # the asserted union, in the default graph
        dataset.add(ox.Quad(s, N(PREFIXES["org"] + "role"), hub, inferred))
    snapshot = write_snapshot(tmp_path, dataset, {"input_hash": "0" * 64, "inferred_graph": inferred.value,
                                                  "base_iri": BASE_IRI}, keep=1)

    description = Describer(GraphStore(snapshot), BASE_IRI).describe(hub.value)

    assert description.inbound_total == len(links) and description.inbound_inferred == len(links)
    expected = sorted(links, key=lambda link: (link[1].value, link[0].value))[:INBOUND_LIMIT]
    assert list(description.inbound) == expected
    for i, (s, p) in enumerate(links):
        if (s, p) in description.inbound:
            names = sorted(g.value for g in ([graph("a"), graph("b")] if i % 7 == 0 else [graph("a" if i % 2 else "b")]))
            assert sorted(description.inbound[(s, p)]) == names


@pytest.mark.parametrize("text, kind", [("helsinky", "city"), ("integrating cities conference", None),
                                        ("eurocitys", "organisation"), ("mentoring", None), ("zzqx", None)])
def test_did_you_mean_skips_no_name_that_a_full_comparison_would_keep(store, text: str, kind: str | None) -> None:
    """The 404's "did you mean" prunes names by difflib's quick upper bounds; it must answer exactly as
    comparing every name in full does."""
    from difflib import SequenceMatcher

    from kg.site.catalogue import Catalogue
    from kg.site.describe import fold

    catalogue = Catalogue(store, BASE_IRI)
    query = fold(text.replace("-", " ").replace("_", " ")).strip()
    scored = []
    for entry in catalogue.entries.values():
        names = [fold(n) for n in entry.names] + [entry.slug.replace("-", " ")]
        ratio = max(SequenceMatcher(None, query, n).ratio() for n in names)
        if any(query in n or (len(n) > 3 and n in query) for n in names):
            ratio = max(ratio, 0.8)
        ratio += 0.05 if kind and entry.kind == kind else 0
        if ratio >= 0.55:
            scored.append((-ratio, entry.label.casefold(), entry.iri))
    assert [e.iri for e in catalogue.nearest(text, kind)] == [iri for *_, iri in sorted(scored)[:8]]


def test_every_home_count_links_to_a_list_of_that_many(client) -> None:
    """"73 Organisation" must open a list of 73, following its pages: the counts and lists cannot disagree."""
    home = client.get("/", headers={"Accept": BROWSER}).get_data(as_text=True)
    counts = re.findall(r'<li><a href="(/search\?type=\w+)"><span class="n">(\d+)</span> ([^<]+)</a></li>', home)
    assert len(counts) >= 10
    for href, count, label in counts:
        listed, target = [], href
        while target:
            page = client.get(target).get_data(as_text=True)
            assert re.search(rf'role="status">{count} results? of the type {re.escape(label)}', page), (href, count)
            table = page[page.index("<tbody>"):page.index("</tbody>")] if int(count) else ""
            listed += re.findall(r'<tr><td><a href="(/id/[^"]+)"', table)
            target = next(iter(re.findall(r'<a href="([^"]+)" rel="next">', page)), "").replace("&amp;", "&")
        assert len(listed) == len(set(listed)) == int(count), (label, len(listed), count)


def test_home_says_what_its_triple_counts_count(client, snapshot) -> None:
    home = client.get("/", headers={"Accept": BROWSER}).get_data(as_text=True)
    union = snapshot.manifest["dumps"]["integrating-cities.ttl"]["triples"]
    assert f"has {union:,} distinct triples" in home  # the number the downloads page gives for the Turtle file
    downloads = client.get("/downloads/").get_data(as_text=True)
    assert f"{union:,} triples, the union of all graphs" in downloads


def test_an_unknown_type_is_a_clear_error(client) -> None:
    response = client.get("/search?type=Nope")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "No entity is of the type “Nope”" in page and "Traceback" not in page


def test_dates_say_what_they_date(client, helsinki_page: str) -> None:
    """A bare "(6 July 2017)" beside a post left a reader guessing: a source attested it then."""
    assert "(attested 6 July 2017)" in helsinki_page and "(6 July 2017)" not in helsinki_page
    assert "(published 6 July 2017)" in helsinki_page  # beside the source document
    event = client.get("/id/event/integrating-cities-vi", headers={"Accept": BROWSER}).get_data(as_text=True)
    facts = event[event.index('class="facts"'):event.index("</dl>")]
    assert "<dt>When</dt>" in facts and "date not stated in the sources" in facts


def test_search_fills_when_for_dated_items(client) -> None:
    page = client.get("/search?q=chair+helsinki").get_data(as_text=True)
    row = next(r for r in page.split("<tr>") if "/id/post/eurocities-migration-integration-wg-chair-helsinki" in r)
    assert '<td data-label="When">attested 6 July 2017</td>' in row


def test_posts_index_is_in_date_order(client, store) -> None:
    page = client.get("/id/post/").get_data(as_text=True)
    listed = [BASE_IRI + h[1:] for h in re.findall(r'<a href="(/id/post/[^"]+)"', page)]
    dates = {row["p"].value: row["d"].value for row in store.query(
        "SELECT ?p (MIN(STR(?a)) AS ?d) WHERE { ?p a ic:Post ; ic:asOf ?a } GROUP BY ?p")}
    dated = [dates[p] for p in listed if p in dates]
    assert len(dated) >= 3 and dated == sorted(dated)
    assert all(p in dates for p in listed[:len(dated)])  # undated posts come last


def test_organisation_pages_have_a_timeline_in_date_order(client) -> None:
    page = client.get("/id/organisation/eurocities", headers={"Accept": BROWSER}).get_data(as_text=True)
    timeline = page[page.index('id="timeline-heading"'):]
    timeline = timeline[:timeline.index("</ol>")]
    items = re.findall(r'<li><span class="when">([^<]+)</span> <a href="([^"]+)">', timeline)
    assert len(items) >= 5
    assert any(when == "3–4 April 2017" and "social-affairs-forum" in href for when, href in items), items
    assert any(when == "from 2006" and href.startswith("/id/membership/") for when, href in items), items
    years = [re.search(r"\d{4}", when).group() for when, _ in items]
    assert years == sorted(years)


def test_search_finds_events_by_their_place_and_host(client) -> None:
    page = client.get("/search?q=tampere").get_data(as_text=True)
    found = re.findall(r'<tr><td><a href="(/id/[^"]+)"', page)
    assert "/id/event/integrating-cities-vi" in found  # held in Tampere, hosted by the city: not in its label
    assert found[0] == "/id/city/tampere"  # label matches first


def test_search_filters_by_type_and_year(client, store) -> None:
    page = client.get("/search?type=Event&year=2017").get_data(as_text=True)
    found = {BASE_IRI + h[1:] for h in re.findall(r'<tr><td><a href="(/id/[^"]+)"', page)}
    expected = {row["e"].value for row in store.query(
        'SELECT DISTINCT ?e WHERE { ?e a ic:Event ; ic:startDate ?d FILTER(YEAR(?d) = 2017) }')}
    assert expected and expected <= found
    assert re.search(rf'role="status">{len(found)} results? of the type Event in 2017', page)
    assert all("2017" in when for when in re.findall(r'<td data-label="When">([^<]*)</td>', page))
    bad = client.get("/search?year=20x")
    assert bad.status_code == 400 and "is not a year" in bad.get_data(as_text=True)


@pytest.mark.parametrize("path, target", [
    ("/id/city/Helsinki", "/id/city/helsinki"), ("/id/city/helsinki/", "/id/city/helsinki"),
    ("/id/city/HELSINKI.ttl", "/id/city/helsinki.ttl"), ("/graph/inferred/", "/graph/inferred"),
])
def test_case_and_trailing_slashes_redirect_to_the_canonical_page(client, path: str, target: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 301 and response.headers["Location"] == target
    assert client.get("/id/city/helsinkii", headers={"Accept": BROWSER}).status_code == 404


def test_a_named_graph_page_lists_its_facts_a_page_at_a_time(client, snapshot) -> None:
    graph = BASE_IRI + "graph/helsinki-international-activities"
    total = snapshot.manifest["graphs"][graph]["triples"]
    first = client.get("/graph/helsinki-international-activities", headers={"Accept": BROWSER}).get_data(as_text=True)
    section = first[first.index('id="facts-heading"'):first.index("</section>", first.index('id="facts-heading"'))]
    assert f"{total:,} triples" in section
    rows = section.count("<tr>") - 1  # the header row
    assert rows == min(total, 100)
    assert 'href="/id/city/helsinki"' in section
    next_page = re.search(r'<a href="([^"]+)" rel="next">Next facts</a>', section).group(1).split("#")[0]
    second = client.get(next_page, headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "facts 101–200 shown (page 2 of" in second
    editor = re.search(r'<a href="(/sparql#query=[^"]+)">query it in the editor</a>', section).group(1)
    assert parse_qs(urlsplit(editor.replace("&amp;", "&")).fragment)["query"][0].count(f"GRAPH <{graph}>") == 1


@pytest.mark.parametrize("suffix, fmt", [("ttl", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES)])
def test_a_named_graph_downloads_on_its_own(client, snapshot, suffix: str, fmt) -> None:
    page = client.get("/graph/common-knowledge", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert f'href="/downloads/graphs/common-knowledge.{suffix}"' in page
    response = client.get(f"/downloads/graphs/common-knowledge.{suffix}")
    assert response.status_code == 200
    triples = list(ox.parse(response.data, format=fmt))
    assert len(set(triples)) == snapshot.manifest["graphs"][BASE_IRI + "graph/common-knowledge"]["triples"]
    for missing in ("/downloads/graphs/nothing.ttl", "/downloads/graphs/common-knowledge.rdf", "/downloads/graphs/.ttl"):
        assert client.get(missing).status_code == 404, missing
