"""Snapshots are written whole or not at all, and old ones are pruned once nothing serves them."""

from __future__ import annotations

import signal
import subprocess
import sys

import pyoxigraph as ox
import pytest

from kg.build.writer import write_snapshot
from kg.query.store import GraphStore
from kg.snapshot import Lease, Snapshot, SnapshotGone

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


def folders(build_dir) -> list[str]:
    return sorted(p.name for p in build_dir.iterdir() if p.is_dir() and not p.is_symlink())


def test_a_leased_snapshot_is_not_pruned_until_released(tmp_path):
    """A server (or `kg query`) reading a snapshot keeps it: the builds after it prune around it."""
    served = write_snapshot(tmp_path, tiny("served"), manifest(), keep=1)
    lease = served.lease()
    newer = [write_snapshot(tmp_path, tiny(f"n{i}"), manifest(), keep=1) for i in range(3)]
    assert folders(tmp_path) == sorted([served.path.name, newer[-1].path.name])
    assert '"served"@en' in (served.path / "dataset.nq").read_text()  # still whole
    store = GraphStore(served)  # and queryable; a store holds a lease of its own
    assert store.query('ASK { ?s ?p "served"@en }')
    store.close()
    lease.release()
    latest = write_snapshot(tmp_path, tiny("latest"), manifest(), keep=1)
    assert folders(tmp_path) == [latest.path.name]
    with pytest.raises(SnapshotGone):
        served.lease()


def test_a_lease_dies_with_its_process(tmp_path):
    """The kernel drops a killed process's lock: a crashed server does not keep a snapshot for ever."""
    served = write_snapshot(tmp_path, tiny("served"), manifest(), keep=1)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from kg.snapshot import Snapshot; lease = Snapshot.open(Path(sys.argv[1])).lease(); "
                               "print('leased', flush=True); time.sleep(60)", str(served.path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "leased"
        write_snapshot(tmp_path, tiny("while held"), manifest(), keep=1)
        assert served.path.name in folders(tmp_path)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        holder.kill()
    latest = write_snapshot(tmp_path, tiny("after the crash"), manifest(), keep=1)
    assert folders(tmp_path) == [latest.path.name]


def test_a_build_killed_half_way_leaves_debris_the_next_build_removes(tmp_path):
    """A staging folder whose build died is removed by a later build; one whose build still runs is not."""
    good = write_snapshot(tmp_path, tiny("good"), manifest(), keep=2)
    dead = tmp_path / ".20000101T000000000000Z-deadbeef.tmp"
    (dead / "store").mkdir(parents=True)
    running = tmp_path / ".20000101T000000000000Z-running0.tmp"
    running.mkdir()
    with Lease(running, published=False):
        write_snapshot(tmp_path, tiny("next"), manifest(), keep=2)
        assert not dead.exists() and running.exists()
    assert Snapshot.open(tmp_path / "current").path != good.path
