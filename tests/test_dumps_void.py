"""Downloads and the VoID/DCAT description: written by the build, true to the snapshot, served as stored."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import to_canonical_graph

from kg.build.dumps import write_dumps
from kg.build.pipeline import build
from kg.build.void import write_void
from kg.build.writer import write_snapshot
from kg.cli import main
from kg.snapshot import BY_FILE, DUMP_FORMATS, DUMPS_DIR, DumpFormat
from kg.snapshot import Snapshot
from kg.snapshot import VOID_FILE
from kg.terms import to_rdflib

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
SPDX = "http://spdx.org/rdf/terms#"
SD = "http://www.w3.org/ns/sparql-service-description#"
VOID_PREFIXES = {"void": VOID, "dcat": DCAT, "spdx": SPDX, "sd": SD, "dcterms": "http://purl.org/dc/terms/",
                 "foaf": "http://xmlns.com/foaf/0.1/", "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}


def parse_dump(path: Path, fmt: DumpFormat) -> list:
    data = path.read_bytes()
    if fmt.gzip:
        data = gzip.decompress(data)
    return list(ox.parse(data, format=fmt.format.rdf))


def named_quads(store) -> list[ox.Quad]:
    """Every quad of the published named graphs, straight from the snapshot's store."""
    return [q for g in store.named_graphs for q in store.store.quads_for_pattern(None, None, None, g)]


def canonical(statements) -> set:
    """Triples or quads with blank nodes relabelled canonically: the store renames blank nodes when it
    loads, so files and store agree up to that (the graph name rides on the predicate, so blank nodes
    shared across graphs must still match)."""
    graph = Graph()
    for q in statements:
        graph_name = getattr(q, "graph_name", ox.DefaultGraph())
        in_graph = quote(graph_name.value, safe="") if isinstance(graph_name, ox.NamedNode) else ""
        predicate = URIRef(f"urn:x-test:{quote(q.predicate.value, safe='')}:{in_graph}")
        graph.add((to_rdflib(q.subject), predicate, to_rdflib(q.object)))
    return set(to_canonical_graph(graph))


def count(store, query: str) -> int:
    return int(next(iter(store.query(query)))["n"].value)


@pytest.fixture(scope="module")
def description(snapshot: Snapshot) -> ox.Store:
    """The snapshot's void.ttl, loaded to be asked with SPARQL."""
    graph = ox.Store()
    graph.load(path=str(snapshot.path / VOID_FILE), format=ox.RdfFormat.TURTLE)
    return graph


def ask(description: ox.Store, query: str) -> list:
    return list(description.query(query, prefixes=VOID_PREFIXES))


def dataset_value(description: ox.Store, prop: str) -> int:
    rows = ask(description, f"SELECT ?v WHERE {{ ?d a void:Dataset ; {prop} ?v . FILTER NOT EXISTS {{ ?parent void:subset ?d }} }}")
    assert len(rows) == 1, prop
    return int(rows[0]["v"].value)


# -- the files -----------------------------------------------------------------------------------------------

def test_the_build_writes_every_dump_and_the_description(snapshot):
    assert list(snapshot.manifest["dumps"]) == [f.file for f in DUMP_FORMATS]
    assert sorted(p.name for p in (snapshot.path / DUMPS_DIR).iterdir()) == sorted(BY_FILE)
    assert (snapshot.path / VOID_FILE).is_file()
    assert snapshot.manifest["void"]["sha256"] == hashlib.sha256((snapshot.path / VOID_FILE).read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", DUMP_FORMATS, ids=lambda f: f.file)
def test_size_and_checksum_in_the_manifest_match_the_file(snapshot, fmt):
    entry = snapshot.manifest["dumps"][fmt.file]
    path = snapshot.path / DUMPS_DIR / fmt.file
    assert entry["bytes"] == path.stat().st_size
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["media_type"] == fmt.media_type and entry["graphs"] == fmt.graphs
    if fmt.gzip:
        assert path.read_bytes()[:2] == b"\x1f\x8b" and entry["compression"] == "gzip"


@pytest.mark.parametrize("fmt", [f for f in DUMP_FORMATS if not f.graphs], ids=lambda f: f.file)
def test_triple_dumps_hold_the_union_of_all_graphs_each_triple_once(snapshot, store, fmt):
    quads = parse_dump(snapshot.path / DUMPS_DIR / fmt.file, fmt)
    assert all(q.graph_name == ox.DefaultGraph() for q in quads)
    triples = [q.triple for q in quads]
    assert len(triples) == len(set(triples)) == snapshot.manifest["dumps"][fmt.file]["triples"]
    assert canonical(triples) == canonical({q.triple for q in named_quads(store)})
    assert len(triples) == count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")


@pytest.mark.parametrize("fmt", [f for f in DUMP_FORMATS if f.graphs], ids=lambda f: f.file)
def test_quad_dumps_hold_every_named_graph(snapshot, store, fmt):
    quads = parse_dump(snapshot.path / DUMPS_DIR / fmt.file, fmt)
    expected = named_quads(store)
    assert len(quads) == snapshot.manifest["dumps"][fmt.file]["quads"] == snapshot.manifest["total_triples"]
    assert len(quads) == len(expected) and canonical(quads) == canonical(expected)
    per_graph = Counter(q.graph_name.value for q in quads)
    assert per_graph == {g: info["triples"] for g, info in snapshot.manifest["graphs"].items() if info["triples"]}
    # The same quads as dataset.nq, once blank-node labels (renamed by the store) are masked.
    mask = lambda qs: Counter(str(ox.Quad(*(ox.BlankNode("b") if isinstance(t, ox.BlankNode) else t
                                           for t in (q.subject, q.predicate, q.object, q.graph_name)))) for q in qs)
    assert mask(quads) == mask(ox.parse(path=str(snapshot.dataset_file), format=ox.RdfFormat.N_QUADS))


def test_turtle_and_trig_use_our_prefixes(snapshot):
    for name in ("integrating-cities.ttl", "integrating-cities.trig"):
        head = (snapshot.path / DUMPS_DIR / name).read_text(encoding="utf-8")[:5000]
        assert "@prefix ic: <https://w3id.org/integrating-cities/def/> ." in head
        assert "@prefix city: <https://w3id.org/integrating-cities/id/city/> ." in head


# -- the description ------------------------------------------------------------------------------------------

def test_void_counts_equal_live_counts(description, store, shipped):
    ns = shipped.instance_namespace
    assert dataset_value(description, "void:triples") == count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert dataset_value(description, "void:entities") == count(
        store, f'SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e rdf:type [] . FILTER(STRSTARTS(STR(?e), "{ns}")) }}')
    assert dataset_value(description, "void:classes") == count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { [] a ?c }")
    assert dataset_value(description, "void:properties") == count(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { [] ?p [] }")
    assert dataset_value(description, "void:distinctSubjects") == count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")
    assert dataset_value(description, "void:distinctObjects") == count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }")
    assert dataset_value(description, "void:entities") > 100


def test_every_class_partition_equals_the_live_count(description, store):
    partitions = {r["c"].value: int(r["n"].value) for r in ask(description, """
        SELECT ?c ?n WHERE { ?d void:classPartition [ void:class ?c ; void:entities ?n ] }""")}
    live_classes = {r["c"].value for r in store.query("SELECT DISTINCT ?c WHERE { [] a ?c }")}
    assert set(partitions) == live_classes
    assert "https://w3id.org/integrating-cities/def/City" in partitions
    for cls, n in partitions.items():
        assert n == count(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a <{cls}> }}"), cls


def test_every_property_partition_equals_the_live_count(description, store):
    partitions = {r["p"].value: (int(r["n"].value), int(r["s"].value), int(r["o"].value)) for r in ask(description, """
        SELECT ?p ?n ?s ?o WHERE { ?d void:propertyPartition [ void:property ?p ; void:triples ?n ;
                                                               void:distinctSubjects ?s ; void:distinctObjects ?o ] }""")}
    live = {r["p"].value for r in store.query("SELECT DISTINCT ?p WHERE { [] ?p [] }")}
    assert set(partitions) == live
    for prop, (n, subjects, objects) in partitions.items():
        row = next(iter(store.query(f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ds) (COUNT(DISTINCT ?o) AS ?do) "
                                    f"WHERE {{ ?s <{prop}> ?o }}")))
        assert (n, subjects, objects) == (int(row["n"].value), int(row["ds"].value), int(row["do"].value)), prop


def test_every_named_graph_is_a_subset_with_its_live_counts(description, store, snapshot, shipped):
    subsets = {r["g"].value: (int(r["n"].value), int(r["e"].value)) for r in ask(description, """
        SELECT ?g ?n ?e WHERE { ?d void:subset ?sub . ?sub sd:name ?g ; void:triples ?n ; void:entities ?e }""")}
    assert set(subsets) == set(snapshot.manifest["graphs"])
    ns = shipped.instance_namespace
    for graph, (n, entities) in subsets.items():
        assert n == snapshot.manifest["graphs"][graph]["triples"] == count(
            store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"), graph
        assert entities == count(store, f'SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?e a [] . '
                                        f'FILTER(STRSTARTS(STR(?e), "{ns}")) }} }}'), graph


def test_sources_licence_publisher_and_vocabularies(description, store, shipped):
    documents = {r["doc"].value for r in store.query("SELECT ?doc WHERE { ?doc a ic:SourceDocument }")}
    datasets = {r["doc"].value for r in store.query("SELECT ?doc WHERE { ?doc a ic:ReferenceDataset }")}
    assert len(documents) == 5 and len(datasets) == 2
    described = {r["s"].value for r in ask(description, "SELECT ?s WHERE { ?d a dcat:Dataset ; dcterms:source ?s }")}
    assert described == documents | datasets
    graph_sources = {(r["g"].value, r["s"].value) for r in store.query(
        "SELECT ?g ?s WHERE { ?g a ic:DataGraph ; ic:graphSource|dcterms:source ?s }")}
    assert len(graph_sources) == 5 + 2
    assert {(r["g"].value, r["s"].value) for r in ask(description, "SELECT ?g ?s WHERE { ?sub sd:name ?g ; dcterms:source ?s }")} == graph_sources
    assert bool(description.query(
        "ASK { ?d a void:Dataset, dcat:Dataset ; dcterms:license <https://creativecommons.org/licenses/by/4.0/> ; "
        "dcterms:title ?title ; dcterms:description ?text ; "
        "dcterms:publisher [ foaf:name 'Integrating Cities Knowledge Graph developers'@en ] }", prefixes=VOID_PREFIXES))
    vocabularies = {r["v"].value for r in ask(description, "SELECT ?v WHERE { ?d void:vocabulary ?v }")}
    assert {shipped.vocab_namespace, "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#",
            "http://www.w3.org/2002/07/owl#", "http://www.w3.org/2004/02/skos/core#"} <= vocabularies
    used = {r["p"].value for r in store.query("SELECT DISTINCT ?p WHERE { [] ?p [] }")}
    assert all(any(p.startswith(v) for v in vocabularies) for p in used)
    uri_space = ask(description, "SELECT ?u WHERE { ?d a dcat:Dataset ; void:uriSpace ?u }")
    assert [r["u"].value for r in uri_space] == [shipped.instance_namespace]


def test_endpoint_and_downloads_are_absolute_persistent_urls(description, snapshot, shipped):
    base = shipped.base_iri
    assert [r["e"].value for r in ask(description, "SELECT ?e WHERE { ?d a dcat:Dataset ; void:sparqlEndpoint ?e }")] == [base + "sparql"]
    dumps = {r["u"].value for r in ask(description, "SELECT ?u WHERE { ?d a dcat:Dataset ; void:dataDump ?u }")}
    assert dumps == {base + "downloads/" + f.file for f in DUMP_FORMATS}
    rows = ask(description, """SELECT ?url ?type ?size ?sum WHERE {
        ?d a dcat:Dataset ; dcat:distribution ?dist .
        ?dist dcat:downloadURL ?url ; dcat:mediaType ?type ; dcat:byteSize ?size ;
              spdx:checksum [ spdx:algorithm spdx:checksumAlgorithm_sha256 ; spdx:checksumValue ?sum ] }""")
    assert len(rows) == len(DUMP_FORMATS)
    for row in rows:
        name = row["url"].value.rsplit("/", 1)[1]
        entry = snapshot.manifest["dumps"][name]
        assert row["type"].value == "https://www.iana.org/assignments/media-types/" + entry["media_type"]
        assert int(row["size"].value) == entry["bytes"] and row["sum"].value == entry["sha256"]


# -- over HTTP ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/.well-known/void", "/void"])
@pytest.mark.parametrize("accept, media_type, rdf_format", [
    (None, "text/turtle", ox.RdfFormat.TURTLE),
    ("text/turtle", "text/turtle", ox.RdfFormat.TURTLE),
    ("application/ld+json", "application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/n-triples", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/rdf+xml;q=0.9, text/turtle;q=0.1", "application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "text/turtle", ox.RdfFormat.TURTLE),
])
def test_void_content_negotiation(client, snapshot, path, accept, media_type, rdf_format):
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert "Accept" in response.headers["Vary"]
    triples = list(ox.parse(response.data, format=rdf_format))
    assert len(triples) == snapshot.manifest["void"]["triples"]
    again = client.get(path, headers={"Accept": accept, "If-None-Match": response.headers["ETag"]} if accept else
                       {"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_void_refuses_what_it_cannot_serve(client):
    response = client.get("/.well-known/void", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.get_data(as_text=True)


def test_service_description_and_home_page_link_to_the_description(client):
    sd = list(ox.parse(client.get("/sparql", headers={"Accept": "text/turtle"}).data, format=ox.RdfFormat.TURTLE))
    see_also = [t.object.value for t in sd if t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#seeAlso"]
    assert see_also == ["http://localhost/.well-known/void"]
    home = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'href="/.well-known/void"' in home and 'href="/downloads/"' in home


def test_downloads_page_lists_every_dump(client, snapshot):
    response = client.get("/downloads/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for fmt in DUMP_FORMATS:
        assert f'href="/downloads/{fmt.file}"' in page
        assert snapshot.manifest["dumps"][fmt.file]["sha256"] in page
    assert 'href="/.well-known/void"' in page and "site.css?v=" in page


@pytest.mark.parametrize("fmt", DUMP_FORMATS, ids=lambda f: f.file)
def test_a_download_is_sent_as_stored(client, snapshot, fmt):
    entry = snapshot.manifest["dumps"][fmt.file]
    response = client.get(f"/downloads/{fmt.file}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.mimetype == ("application/gzip" if fmt.gzip else fmt.media_type)
    assert "Content-Encoding" not in response.headers
    assert int(response.headers["Content-Length"]) == entry["bytes"] == len(response.data)
    assert response.headers["ETag"] == f'"{entry["sha256"]}"'
    assert hashlib.sha256(response.data).hexdigest() == entry["sha256"]
    assert client.get(f"/downloads/{fmt.file}", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    partial = client.get(f"/downloads/{fmt.file}", headers={"Range": "bytes=0-9"})
    assert partial.status_code == 206 and partial.data == response.data[:10]
    assert client.head(f"/downloads/{fmt.file}").headers["Content-Length"] == str(entry["bytes"])


@pytest.mark.parametrize("name", ["unknown.ttl", "dataset.nq", "manifest.json", "void.ttl", "..%2Fmanifest.json",
                                  "%2e%2e%2fmanifest.json", "../manifest.json", "store", "integrating-cities.TTL",
                                  "integrating-cities.ttl%00", "dumps/integrating-cities.ttl"])
def test_unknown_downloads_are_404(client, name):
    assert client.get(f"/downloads/{name}").status_code == 404


# -- building -------------------------------------------------------------------------------------------------

def dumps_state(snapshot_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((snapshot_dir / DUMPS_DIR).iterdir())}


def test_a_failed_build_leaves_the_dumps_of_current_alone(project, capsys):
    good, _ = build(project)
    before = dumps_state(project.current_snapshot)
    assert before == {name: entry["sha256"] for name, entry in good.manifest["dumps"].items()}
    broken = project.data_dir / "integrating-cities-home.ttl"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nevent:integrating-cities-iii ic:editionNumbr 3 .\n",
                      encoding="utf-8")
    assert main(["--root", str(project.root), "build"]) == 1
    capsys.readouterr()
    assert Snapshot.open(project.current_snapshot).path == good.path
    assert dumps_state(project.current_snapshot) == before
    assert json.loads((project.current_snapshot / "manifest.json").read_text())["dumps"] == good.manifest["dumps"]


def test_a_failing_build_step_discards_the_whole_snapshot(tmp_path):
    """Dumps written, then a later step fails: nothing is published, no staging folder is left."""
    G = "https://w3id.org/integrating-cities/graph/"
    graphs = ox.Store()
    turtle = b"<https://w3id.org/integrating-cities/id/city/x> a <https://w3id.org/integrating-cities/def/City> ."
    for graph in (ox.NamedNode(G + "data"), ox.DefaultGraph()):  # the default graph: the asserted union
        graphs.load(input=turtle, format=ox.RdfFormat.TURTLE, to_graph=graph)
    graphs.add_graph(ox.NamedNode(G + "inferred"))
    manifest = {"input_hash": "0" * 64, "inferred_graph": G + "inferred", "base_iri": "https://w3id.org/integrating-cities/"}
    good = write_snapshot(tmp_path, graphs, manifest, keep=3, artefacts=(write_dumps, write_void))
    assert good.manifest["dumps"]["integrating-cities.ttl"]["triples"] == 1
    before = dumps_state(good.path)

    def fail(staging: Path, _manifest: dict, _dataset) -> dict:
        assert (staging / DUMPS_DIR / "integrating-cities.ttl").is_file()
        raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        write_snapshot(tmp_path, graphs, manifest, keep=3, artefacts=(write_dumps, fail))
    assert Snapshot.open(tmp_path / "current").path == good.path
    assert dumps_state(tmp_path / "current") == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
