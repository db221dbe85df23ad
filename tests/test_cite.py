"""Releases you can cite (issue 16): every kept release is queryable and downloadable at /release/<id>/…,
has a card whose counts and checksums are those of its files, and a query has a stable permalink."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import SOURCE_FOLDERS

from kg.build.pipeline import build
from kg.config import PROJECT_ROOT, load_settings
from kg.snapshot import file_sha256
from kg.web import create_app
from kg.web.permalinks import FILE, Permalinks, PermalinksFull
from kg.web.release_diff import read_quads

OLD, NEW = '"City of Helsinki"@en', '"Helsingin kaupunki"@en'
LABELS = ('SELECT ?l WHERE { <https://w3id.org/integrating-cities/id/city/helsinki> '
          '<http://www.w3.org/2004/02/skos/core#altLabel> ?l } ORDER BY ?l')
GRAPH = "https://w3id.org/integrating-cities/graph/helsinki-international-activities"


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory):
    """Two builds of a private project, the second with one label changed; an app serving the second."""
    root = tmp_path_factory.mktemp("cite") / "project"
    for folder in SOURCE_FOLDERS:
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    settings = load_settings({"root": root, "query_timeout_s": 5.0, "query_workers": 1, "long_queries": 1}, environ={})
    first, _ = build(settings)
    source = root / "data" / "helsinki-international-activities.ttl"
    assert OLD in source.read_text(encoding="utf-8")
    source.write_text(source.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    second, _ = build(settings)
    app = create_app(settings, second)
    yield settings, first, second, app
    app.extensions["kg.kept"].close()
    app.extensions["kg.releases"].close()


def _labels(client, path: str) -> tuple[list[str], str]:
    response = client.get(path, query_string={"query": LABELS, "format": "csv"})
    assert response.status_code == 200, response.text
    return [row["l"] for row in csv.DictReader(io.StringIO(response.text))], response.headers["KG-Release"]


def test_each_release_answers_from_itself_and_sparql_from_the_current(two_releases):
    _settings, first, second, app = two_releases
    client = app.test_client()
    one, two = first.manifest["build_id"], second.manifest["build_id"]
    assert _labels(client, f"/release/{one}/sparql") == (["City of Helsinki"], one)
    assert _labels(client, f"/release/{two}/sparql") == (["Helsingin kaupunki"], two)
    assert _labels(client, "/sparql") == (["Helsingin kaupunki"], two)
    assert app.extensions["kg.kept"].open_ids == [one]  # the old release opened on demand, the current not twice


def test_an_unknown_release_is_a_clear_404(two_releases):
    client = two_releases[3].test_client()
    for release_id in ("20000101T000000Z", "current", "a b"):
        response = client.get(f"/release/{release_id}/sparql", query_string={"query": LABELS})
        assert response.status_code == 404 and "kept releases are" in response.text
    assert client.get("/release/x%2F..%2F../sparql").status_code == 404  # no path ever comes from the request


def test_an_idle_release_is_closed_and_reopened_when_asked(two_releases):
    settings, first, _second, app = two_releases
    kept = app.extensions["kg.kept"]
    client = app.test_client()
    one = first.manifest["build_id"]
    _labels(client, f"/release/{one}/sparql")
    kept.settings = replace(settings, release_idle_s=0.0)
    kept.sweep()
    assert kept.open_ids == []
    kept.settings = settings
    assert _labels(client, f"/release/{one}/sparql") == (["City of Helsinki"], one)


def test_the_permalink_round_trip_is_stable(two_releases):
    _settings, first, second, app = two_releases
    client = app.test_client()
    one = first.manifest["build_id"]
    made = client.post("/q", data={"query": LABELS, "release": one})
    assert made.status_code == 201
    again = client.post("/q", data={"query": LABELS, "release": one})
    assert again.json["hash"] == made.json["hash"]
    other = client.post("/q", data={"query": LABELS, "release": second.manifest["build_id"]})
    assert other.json["hash"] != made.json["hash"]
    resolved = client.get(made.json["permalink"])
    assert resolved.status_code == 303
    target = urlsplit(resolved.headers["Location"])
    assert target.path == f"/release/{one}/sparql"
    assert parse_qs(target.fragment)["query"] == [LABELS]
    editor = client.get(target.path, headers={"Accept": "text/html"})
    assert editor.status_code == 200 and f'/release/{one}/sparql' in editor.text  # the editor pinned to that release
    stored = (two_releases[0].build_dir / FILE).read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in stored]
    assert sorted(e["hash"] for e in entries) == sorted({made.json["hash"], other.json["hash"]})  # each stored once
    assert all(set(e) == {"hash", "release", "query", "day"} and len(e["day"]) == 10 for e in entries)


def test_permalink_errors_are_clear(two_releases):
    client = two_releases[3].test_client()
    assert client.post("/q", data={"query": " "}).status_code == 400
    assert client.post("/q", data={"query": LABELS, "release": "nope"}).status_code == 404
    missing = client.get("/q/0123456789abcdef")
    assert missing.status_code == 404 and "permalink" in missing.text


def test_the_permalink_file_stays_within_its_bound(tmp_path):
    links = Permalinks(tmp_path, max_bytes=400)
    kept = []
    with pytest.raises(PermalinksFull):
        for n in range(100):
            kept.append(links.add(f"SELECT * WHERE {{ ?s ?p {n} }}", "r1"))
    assert (tmp_path / FILE).stat().st_size <= 400
    assert kept and all(links.find(link.hash) == link for link in kept)  # the stored ones still resolve


def test_the_card_diff_equals_a_direct_comparison_of_the_dumps(two_releases):
    _settings, first, second, app = two_releases
    card = app.test_client().get(f"/release/{second.manifest['build_id']}", headers={"Accept": "application/json"}).json
    assert card["previous"] == first.manifest["build_id"]
    old, new = read_quads(first.path), read_quads(second.path)
    added, removed = new - old, old - new
    assert sum(card["diff"]["added_by_graph"].values()) == len(added) >= 1
    assert sum(card["diff"]["removed_by_graph"].values()) == len(removed) >= 1
    assert card["diff"]["added_by_graph"].get(GRAPH) == card["diff"]["removed_by_graph"].get(GRAPH) == 1  # the label
    assert {"iri": "https://w3id.org/integrating-cities/id/city/helsinki", "page": "/id/city/helsinki"} in card["diff"]["entities"]
    assert card["diff"]["added_by_class"].get("https://w3id.org/integrating-cities/def/City", 0) >= 1
    assert card["diff"]["removed_by_class"].get("https://w3id.org/integrating-cities/def/City", 0) >= 1


def test_the_card_checksums_and_counts_are_the_files(two_releases):
    _settings, first, _second, app = two_releases
    client = app.test_client()
    one = first.manifest["build_id"]
    card = client.get(f"/release/{one}", headers={"Accept": "application/json"}).json
    assert card["id"] == one and card["previous"] is None and not card["current"]
    assert card["dumps"]
    for dump in card["dumps"]:
        assert dump["sha256"] == file_sha256(first.path / "dumps" / dump["file"])
        downloaded = client.get(dump["url"])
        assert downloaded.status_code == 200 and downloaded.headers["KG-Release"] == one
    quads = read_quads(first.path)
    for graph, count in card["graphs"].items():
        assert count == sum(1 for q in quads if q[3] == graph)
    page = client.get(f"/release/{one}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and one in page.text and card["dumps"][0]["sha256"] in page.text
