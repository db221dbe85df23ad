"""Counts that describe a snapshot: triples per graph, instances per class, entities."""

from __future__ import annotations

from dataclasses import dataclass

from kg.query.store import GraphStore, Scope

_CLASS_COUNTS = """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class . FILTER(STRSTARTS(STR(?class), STR(ic:))) }
GROUP BY ?class ORDER BY DESC(?n) ?class
"""
_ENTITIES = 'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c . FILTER(STRSTARTS(STR(?s), "{instances}")) }}'


@dataclass(frozen=True)
class Stats:
    triples_per_graph: dict[str, int]
    total_triples: int
    entities: int
    instances_per_class: dict[str, int]

    def to_text(self) -> str:
        lines = [f"{self.total_triples} triples, {self.entities} entities (instance IRIs with a type)", "", "Triples per named graph:"]
        lines += [f"  {n:>7}  {g}" for g, n in self.triples_per_graph.items()]
        lines += ["", "Instances per class, as typed in the asserted data:"]
        lines += [f"  {n:>7}  {c}" for c, n in self.instances_per_class.items()]
        return "\n".join(lines) + "\n"


def compute(store: GraphStore) -> Stats:
    per_graph = {g: info["triples"] for g, info in store.snapshot.manifest["graphs"].items()}
    classes = {
        row["class"].value.rsplit("/", 1)[-1]: int(row["n"].value)
        for row in store.query(_CLASS_COUNTS, Scope.ASSERTED)
    }
    instances = store.snapshot.manifest["base_iri"] + "id/"
    entities = int(next(iter(store.query(_ENTITIES.format(instances=instances), Scope.ASSERTED)))["n"].value)
    return Stats(per_graph, store.snapshot.manifest["total_triples"], entities, classes)
