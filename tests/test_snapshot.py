"""Snapshots are written whole or not at all, and old ones are pruned."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.build.writer import write_snapshot
from kg.snapshot import Snapshot

G = "https://w3id.org/integrating-cities/graph/"


def tiny(label: str) -> ox.Store:
    dataset = ox.Store()
    triple = (ox.NamedNode("https://w3id.org/integrating-cities/id/city/x"),
              ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), ox.Literal(label, language="en"))
    dataset.add(ox.Quad(*triple, ox.NamedNode(G + "data")))
    dataset.add(ox.Quad(*triple))  # the asserted union, which write_snapshot expects in the default graph
    dataset.add_graph(ox.NamedNode(G + "inferred"))
    return dataset


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

    def broken_step(_staging, _manifest, _dataset):
        raise TypeError("a build step failed")

    with pytest.raises(TypeError):
        write_snapshot(tmp_path, tiny("bad"), manifest(), keep=3, artefacts=(broken_step,))
    assert Snapshot.open(tmp_path / "current").path == good.path
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
