"""What changed between two releases: triples added and removed per named graph and per class, and the
entities whose statements changed. Read from the two snapshots' ``dataset.nq`` (every named graph), so it
is the same comparison anyone can make on the dumps they download.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from kg.snapshot import DATASET_FILE

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
Quad = tuple[str, str, str, str]  # subject, predicate, object (N-Triples terms), graph IRI


@dataclass(frozen=True)
class ReleaseDiff:
    """``added``/``removed``: triples per graph IRI and per class IRI (a triple counts for each class of its
    subject in either release); ``entities``: the subjects (IRIs) of every added or removed triple."""

    added_by_graph: dict[str, int] = field(default_factory=dict)
    removed_by_graph: dict[str, int] = field(default_factory=dict)
    added_by_class: dict[str, int] = field(default_factory=dict)
    removed_by_class: dict[str, int] = field(default_factory=dict)
    entities: list[str] = field(default_factory=list)


def read_quads(snapshot_path: Path) -> set[Quad]:
    """Every quad of a snapshot, its terms as N-Triples strings (blank nodes by their label in the file)."""
    with (snapshot_path / DATASET_FILE).open("rb") as stream:
        return {(str(q.subject), str(q.predicate), str(q.object), q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "")
                for q in ox.parse(stream, format=ox.RdfFormat.N_QUADS)}


@lru_cache(maxsize=4)
def diff(old_path: Path, new_path: Path) -> ReleaseDiff:
    """The changes from the release at ``old_path`` to the one at ``new_path`` (snapshots never change: cached)."""
    old, new = read_quads(old_path), read_quads(new_path)
    added, removed = new - old, old - new
    classes: dict[str, set[str]] = {}
    for s, p, o, _ in old | new if (added or removed) else ():
        if p == f"<{RDF_TYPE}>" and o.startswith("<"):
            classes.setdefault(s, set()).add(o[1:-1])

    def by_graph(quads: set[Quad]) -> dict[str, int]:
        return dict(sorted(Counter(q[3] for q in quads).items()))

    def by_class(quads: set[Quad]) -> dict[str, int]:
        return dict(sorted(Counter(c for q in quads for c in classes.get(q[0], ())).items()))

    entities = sorted({q[0][1:-1] for q in added | removed if q[0].startswith("<")})
    return ReleaseDiff(by_graph(added), by_graph(removed), by_class(added), by_class(removed), entities)
