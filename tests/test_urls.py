"""The one URL builder (kg/site/urls.py): every path it builds is a route the application answers."""

from __future__ import annotations

import pytest

from kg.config import BASE_IRI
from kg.site.urls import Urls

URLS = Urls(BASE_IRI)


@pytest.mark.parametrize("path", [
    URLS.home, URLS.kinds, URLS.kind("city"), URLS.graphs, URLS.sparql, URLS.search(), URLS.search("Helsinki & co"),
    URLS.void, URLS.downloads, URLS.download("integrating-cities.ttl"), URLS.ontology(), URLS.ontology("ttl"),
    URLS.term("City"), URLS.term("City", "jsonld"), URLS.editor("ASK {}", "Ask"),
    URLS.resource(BASE_IRI + "id/city/helsinki"), URLS.resource(BASE_IRI + "id/city/helsinki", "nt"),
    URLS.resource(BASE_IRI + "graph/inferred"), URLS.graph_download(BASE_IRI + "graph/inferred", "nt"),
    URLS.graph_page(BASE_IRI + "graph/inferred", 2), URLS.search(type="City", year=2017, page=2),
])
def test_every_path_it_builds_is_answered(client, path):
    response = client.get(path, headers={"Accept": "text/html, */*;q=0.1"})
    assert response.status_code in (200, 303), (path, response.status_code)


def test_links_to_our_iris_are_local_paths_and_others_stay_iris():
    assert URLS.path(BASE_IRI + "id/city/helsinki") == "/id/city/helsinki"
    assert URLS.resource("https://schema.org/City") == "https://schema.org/City"
    assert URLS.path(BASE_IRI) is None  # the base itself is no resource
    assert URLS.path(BASE_IRI + "id/work/a b") == "/id/work/a%20b"


def test_queries_and_searches_are_percent_encoded():
    assert URLS.editor("SELECT * { ?s ?p ?o } # &x", "All & more") == (
        "/sparql#query=SELECT%20%2A%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20%23%20%26x&tabTitle=All%20%26%20more")
    assert URLS.search("a&b c") == "/search?q=a%26b+c"
    assert URLS.ontology(section="City") == "/def#City"
