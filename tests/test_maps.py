"""The maps' data and files: points read from WKT, each city's weight counted over the snapshot, the pages that
embed them, and the vendored drawing code and country outlines (how a browser draws them: tests/test_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kg.site.maps import parse_point

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
BASE = "https://w3id.org/integrating-cities/"
STATIC = Path(__file__).resolve().parent.parent / "kg" / "web" / "static"
GEO = "PREFIX geo: <http://www.opengis.net/ont/geosparql#>\n"


@pytest.mark.parametrize("wkt, point", [
    ("POINT(13.41053 52.52437)", (13.41053, 52.52437)),
    (" point ( -74.00597 40.71427 ) ", (-74.00597, 40.71427)),
    ("<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(24.93545 60.16952)", (24.93545, 60.16952)),
    ("<http://www.opengis.net/def/crs/EPSG/0/4326> POINT(60.16952 24.93545)", (24.93545, 60.16952)),  # latitude first
    ("<http://www.opengis.net/def/crs/EPSG/0/3857> POINT(1489199 6894027)", None),  # not degrees on WGS 84
    ("POINT Z(13.4 52.5 34)", None),
    ("POINT EMPTY", None),
    ("LINESTRING(0 0, 1 1)", None),
    ("POINT(200 10)", None),
    ("POINT(10 95)", None),
    ("POINT(1e1 5E1)", (10.0, 50.0)),
])
def test_a_wkt_point_is_read_as_longitude_and_latitude(wkt: str, point) -> None:
    assert parse_point(wkt) == point


def embedded_map(page: str, kind: str) -> dict | None:
    """The data of the page's map of ``kind``, from the JSON inside its figure (hidden until drawn)."""
    match = re.search(r'<figure class="kg-map kg-map-' + kind + r'"[^>]*\bhidden>(.*?)</figure>', page, re.S)
    if match is None:
        return None
    return json.loads(re.search(r'<script type="application/json">(.*?)</script>', match.group(1), re.S).group(1))


@pytest.fixture(scope="module")
def points(store) -> dict[str, tuple[float, float]]:
    """Every city's point by SPARQL: (longitude, latitude) read from its WKT literal."""
    rows = store.query(GEO + "SELECT ?city ?wkt WHERE { ?city a ic:City ; geo:hasGeometry/geo:asWKT ?wkt }")
    found = {row["city"].value: parse_point(row["wkt"].value) for row in rows}
    assert found, "no city has a point in the data"
    return found


def test_the_home_page_and_the_city_index_map_every_city_with_a_point(client, store, points) -> None:
    memberships = {row["c"].value: int(row["n"].value) for row in store.query(
        "SELECT ?c (COUNT(DISTINCT ?m) AS ?n) WHERE { ?c a ic:City . ?m a ic:Membership ; ic:member ?c } GROUP BY ?c")}
    events = {row["c"].value: int(row["n"].value) for row in store.query(
        "SELECT ?c (COUNT(DISTINCT ?e) AS ?n) WHERE { ?c a ic:City . ?e a ic:Event . "
        "{ ?e ic:location ?c } UNION { ?e ic:host ?c } UNION { ?e ic:organiser ?c } UNION { ?e ic:participant ?c } "
        "UNION { ?e ic:visitor ?c } } GROUP BY ?c")}
    for path in ("/", "/id/city/"):
        page = client.get(path, headers={"Accept": BROWSER}).get_data(as_text=True)
        data = embedded_map(page, "overview")
        assert data is not None, path
        shown = {p["iri"]: p for p in data["points"]}
        assert set(shown) == set(points)
        for iri, p in shown.items():
            assert (p["lon"], p["lat"]) == points[iri]
            assert p["href"] == "/" + iri[len(BASE):]
            assert (p["memberships"], p["events"]) == (memberships.get(iri, 0), events.get(iri, 0)), iri
            assert p["weight"] == p["memberships"] + p["events"]
        assert "memberships and events" in page
        assert 'src="/assets/map/d3-geo.min.js?v=' in page and 'data-atlas="/assets/map/countries-110m.json?v=' in page


def test_a_city_page_has_a_small_map_of_where_it_is_and_other_pages_none(client, points) -> None:
    iri = sorted(points)[0]
    page = client.get("/" + iri[len(BASE):], headers={"Accept": BROWSER}).get_data(as_text=True)
    data = embedded_map(page, "place")
    assert data is not None and [(p["lon"], p["lat"]) for p in data["points"]] == [points[iri]]
    assert data["coordinates"] in page
    for path in ("/id/country/finland", "/id/event/", "/id/", "/search?q=helsinki"):
        other = client.get(path, headers={"Accept": BROWSER}).get_data(as_text=True)
        assert "data-kg-map" not in other and "map.js" not in other, path


def test_the_editor_offers_the_map_view(client) -> None:
    page = client.get("/sparql", headers={"Accept": BROWSER}).get_data(as_text=True)
    for script in ("map/d3-array.min.js", "map/d3-geo.min.js", "map/topojson-client.min.js", "map.js", "editor-map.js"):
        assert f'src="/assets/{script}?v=' in page, script
    # d3-geo needs d3-array; the plugin registers before editor.js creates the editor.
    order = [page.index(f'/assets/{s}?v=') for s in ("yasgui/yasgui.min.js", "map/d3-array.min.js", "map/d3-geo.min.js",
                                                       "map.js", "editor-map.js", "editor.js")]
    assert order == sorted(order)
    config = json.loads(re.search(r'<script type="application/json" id="kg-editor-config">(.*?)</script>', page, re.S).group(1))
    assert config["base"] == BASE and config["atlas"].startswith("/assets/map/countries-110m.json?v=")


@pytest.mark.parametrize("name, media_type", [("map/d3-geo.min.js", "javascript"), ("map/countries-110m.json", "application/json"),
                                              ("map.js", "javascript"), ("editor-map.js", "javascript"), ("map.css", "text/css")])
def test_the_map_files_are_served(client, name: str, media_type: str) -> None:
    response = client.get(f"/assets/{name}")
    assert response.status_code == 200 and media_type in response.mimetype
    assert response.get_data() == (STATIC / name).read_bytes()


def test_the_vendored_files_come_with_their_licences() -> None:
    licence = (STATIC / "map" / "LICENSE").read_text(encoding="utf-8")
    for package in ("d3-array", "internmap", "d3-geo", "topojson-client", "world-atlas"):
        assert re.search(rf"^{package} \d+\.\d+\.\d+ \(ISC\)", licence, re.M), package
    assert "Natural Earth" in licence and "public domain" in licence
    # d3-geo's build requires d3-array, whose own build bundles internmap: nothing else is needed.
    assert 'require("d3-array")' in (STATIC / "map" / "d3-geo.min.js").read_text(encoding="utf-8")
    assert "require(" not in (STATIC / "map" / "d3-array.min.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["countries-110m.json", "countries-50m.json"])
def test_the_country_outlines_are_keyed_by_iso_3166_numeric_codes(name: str) -> None:
    atlas = json.loads((STATIC / "map" / name).read_text(encoding="utf-8"))
    countries = {g.get("id"): g["properties"]["name"] for g in atlas["objects"]["countries"]["geometries"]}
    assert countries["276"] == "Germany" and countries["246"] == "Finland" and countries["840"].startswith("United States")
    assert len(countries) > 170
