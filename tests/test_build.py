"""The build writes a complete snapshot and never replaces a good one with a bad one."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from kg.build.pipeline import build, inputs_hash
from kg.build.reason import ENGINES
from kg.cli import main
from kg.snapshot import Snapshot


def test_manifest_counts_match_the_snapshot(snapshot, store):
    graphs = snapshot.manifest["graphs"]
    for iri, info in graphs.items():
        count = next(iter(store.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")))["n"]
        assert int(count.value) == info["triples"], iri
    assert snapshot.manifest["total_triples"] == sum(i["triples"] for i in graphs.values()) == len(store)
    assert snapshot.manifest["inferred_graph"] in graphs and snapshot.manifest["ontology_graph"] in graphs


def test_manifest_names_the_files_behind_each_graph(snapshot, shipped):
    """data/<name>.ttl and data/<name>.<part>.ttl (kg link's description of its links) make graph/<name>."""
    for path in shipped.data_dir.glob("*.ttl"):
        assert f"data/{path.name}" in snapshot.manifest["graphs"][shipped.graph_iri(path.stem.split(".")[0])]["files"]
    assert snapshot.manifest["graphs"][shipped.graph_iri("sources")]["files"] == [
        "data/sources.links-geonames.ttl", "data/sources.ttl"]


def test_snapshot_is_valid_nquads(snapshot):
    quads = list(ox.parse(path=str(snapshot.dataset_file), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == snapshot.manifest["total_triples"]


def test_equal_inputs_give_equal_hashes_and_datasets(project, snapshot):
    """A copy of the shipped files builds to the same hash and the same quads as the shipped files."""
    copy, _ = build(project)
    assert copy.manifest["input_hash"] == snapshot.manifest["input_hash"]
    assert Snapshot.open(project.current_snapshot).path == copy.path
    # Blank-node labels differ between parses; everything else is byte-identical once they are masked.
    mask = lambda data: sorted(line.split(b"_:")[0] for line in data.splitlines())
    assert mask(copy.dataset_file.read_bytes()) == mask(snapshot.dataset_file.read_bytes())


def test_changed_input_changes_the_hash(project, snapshot):
    (project.data_dir / "common-knowledge.ttl").write_text(
        (project.data_dir / "common-knowledge.ttl").read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert inputs_hash(project) != snapshot.manifest["input_hash"]


def test_a_build_with_unchanged_inputs_does_nothing_until_a_file_changes(project, capsys):
    assert main(["--root", str(project.root), "build"]) == 0
    first = Snapshot.open(project.current_snapshot).path
    assert main(["--root", str(project.root), "build"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert Snapshot.open(project.current_snapshot).path == first
    assert main(["--root", str(project.root), "build", "--force"]) == 0
    forced = Snapshot.open(project.current_snapshot).path
    assert forced != first
    sources = project.data_dir / "common-knowledge.ttl"
    sources.write_text(sources.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert main(["--root", str(project.root), "build", "--timings"]) == 0
    output = capsys.readouterr()
    assert "up to date" not in output.out and Snapshot.open(project.current_snapshot).path != forced
    assert [line.split()[0] for line in output.err.splitlines()] == ["parse", "validate", "reason", "snapshot"]


def test_failed_build_keeps_the_last_good_snapshot(project, capsys):
    good, _ = build(project)
    events = project.data_dir / "integrating-cities-home.ttl"
    events.write_text(events.read_text(encoding="utf-8") + "\nevent:integrating-cities-iii ic:editionNumbr 3 .\n", encoding="utf-8")
    assert main(["--root", str(project.root), "build"]) == 1
    assert "previous snapshot" in capsys.readouterr().err
    assert Snapshot.open(project.current_snapshot).path == good.path
    assert [p.name for p in project.build_dir.iterdir() if p.name.startswith(".")] == []


def test_manifest_is_json_with_versions(snapshot):
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert set(manifest["versions"]) == {"rdflib", "owlrl", "reasonable", "pyshacl", "pyoxigraph"}
    assert manifest["reasoner"] in ENGINES
    assert manifest["validation"]["conforms"] is True


def test_a_fact_stated_by_two_sources_counts_once_in_every_scope(store):
    from kg.query.store import Scope

    shared = next(iter(store.query(
        "SELECT ?s ?p ?o WHERE { GRAPH ?a { ?s ?p ?o } GRAPH ?b { ?s ?p ?o } "
        "FILTER(STR(?a) < STR(?b) && isIRI(?s) && !isBlank(?o)) } LIMIT 1")))
    pattern = " ".join(str(shared[v]) for v in ("s", "p", "o"))  # N-Triples syntax: no blank node
    for scope in (Scope.ALL, Scope.ASSERTED):
        rows = list(store.query(f"SELECT * WHERE {{ {pattern} }}", scope))
        assert len(rows) == 1, scope


def test_every_scope_counts_each_of_its_triples_once(snapshot, store):
    """The store's default graph is the asserted union; with the inferred graph, which shares no triple
    with it, it makes the union of everything: as many triples as the Turtle dump of the union holds."""
    from kg.query.store import Scope

    def count(scope: Scope) -> int:
        return int(next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", scope)))["n"].value)

    inferred = snapshot.manifest["graphs"][snapshot.manifest["inferred_graph"]]["triples"]
    assert count(Scope.INFERRED) == inferred > 0
    assert count(Scope.ALL) == count(Scope.ASSERTED) + inferred == snapshot.manifest["dumps"]["integrating-cities.ttl"]["triples"]
    in_store_default = next(iter(store.store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))["n"]
    assert int(in_store_default.value) == count(Scope.ASSERTED)


def test_a_snapshot_an_older_kg_wrote_is_rebuilt_not_misread(project, capsys):
    """Before store layout 2 the store's default graph held the inferred triples too: read as today's
    layout, every inferred triple would be counted twice. Such a snapshot is rebuilt, not served."""
    from kg.build.pipeline import up_to_date
    from kg.snapshot import OutdatedSnapshot

    old, _ = build(project)
    manifest_file = old.path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    del manifest["store_layout"]
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(OutdatedSnapshot, match="kg build --force"):
        Snapshot.open(project.current_snapshot)
    assert up_to_date(project) is None
    assert main(["--root", str(project.root), "query", "ASK { ?s ?p ?o }"]) == 0
    assert "older version of kg" in capsys.readouterr().err
    assert Snapshot.open(project.current_snapshot).path != old.path


def test_a_syntax_error_found_while_the_store_loads_leaves_the_last_good_snapshot_alone(project):
    """The snapshot's store starts loading while the sources parse: a syntax error in the last file read
    stops that load and removes its staging folder; `current` still points at the last good build."""
    from kg.build.load import TurtleSyntaxError

    good, _ = build(project)
    last = sorted(project.data_dir.glob("*.ttl"))[-1]
    last.write_text(last.read_text(encoding="utf-8") + "\nthis is not turtle .\n", encoding="utf-8")
    with pytest.raises(TurtleSyntaxError, match=last.name):
        build(project)
    assert Snapshot.open(project.current_snapshot).path == good.path
    assert [p.name for p in project.build_dir.iterdir() if p.name.startswith(".")] == []
