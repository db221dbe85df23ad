"""Snapshots are written whole or not at all, and old ones are pruned."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from kg.load import new_graph
from kg.snapshot import Snapshot, write_snapshot

G = "https://w3id.org/integrating-cities/graph/"


def tiny(label: str):
    graph = new_graph()
    graph.add((URIRef("https://w3id.org/integrating-cities/id/city/x"), URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal(label, lang="en")))
    return {G + "data": graph, G + "inferred": new_graph()}


def manifest():
    return {"input_hash": "0" * 64, "inferred_graph": G + "inferred"}


def test_current_points_at_the_newest_and_old_ones_are_pruned(tmp_path):
    written = [write_snapshot(tmp_path, tiny(f"x{i}"), manifest(), keep=2) for i in range(4)]
    kept = sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    assert kept == sorted(s.path.name for s in written[-2:])
    assert Snapshot.open(tmp_path / "current").path == written[-1].path
    assert '"x3"@en' in (tmp_path / "current" / "dataset.nq").read_text()


def test_a_failed_write_leaves_current_and_no_debris(tmp_path):
    good = write_snapshot(tmp_path, tiny("good"), manifest(), keep=3)
    broken = {G + "data": None, G + "inferred": new_graph()}
    with pytest.raises(TypeError):
        write_snapshot(tmp_path, broken, manifest(), keep=3)
    assert Snapshot.open(tmp_path / "current").path == good.path
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
