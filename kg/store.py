"""The serving store: the snapshot's Oxigraph store, opened read-only.

Opening is near-instant whatever the size (no parsing), and several processes can open the same
snapshot at once, so query workers can be killed and replaced cheaply.

The default graph of a query is the union of all named graphs; a query can also be scoped to the
asserted graphs only or to the inferred graph only, so a consumer can tell the two apart.
"""

from __future__ import annotations

from enum import Enum
from typing import Union

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.snapshot import Snapshot

QueryResult = Union[ox.QuerySolutions, ox.QueryBoolean, ox.QueryTriples]


class Scope(str, Enum):
    """Which graphs form the default graph of a query."""

    ALL = "all"
    ASSERTED = "asserted"
    INFERRED = "inferred"


class GraphStore:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.store = ox.Store.read_only(str(snapshot.store_dir))
        self.inferred_graph = ox.NamedNode(snapshot.manifest["inferred_graph"])

        self.named_graphs = [ox.NamedNode(iri) for iri in sorted(snapshot.manifest["graphs"])]
        self._asserted: ox.Store | None = None

    def query(self, sparql: str, scope: Scope = Scope.ALL) -> QueryResult:
        """Run a read query with our prefixes predeclared; SyntaxError carries the parser's message.

        The default graph is a set-merge of the scope's graphs, and GRAPH patterns see exactly the
        published named graphs.
        """
        if scope == Scope.ASSERTED:
            return self._asserted_union().query(sparql, prefixes=PREFIXES, named_graphs=self.named_graphs)
        default = ox.DefaultGraph() if scope == Scope.ALL else self.inferred_graph
        return self.store.query(sparql, prefixes=PREFIXES, default_graph=default, named_graphs=self.named_graphs)

    def _asserted_union(self) -> ox.Store:
        """An in-memory copy of the snapshot whose default graph is the set-merge of the asserted graphs.

        The snapshot's store keeps only the union of all graphs: a second union on disk would add a
        fifth to the build's loading at 10^6 triples, for a command-line option. So the first query in
        this scope loads the published graphs (seconds at 10^6 triples) and merges the asserted ones.
        """
        if self._asserted is None:
            store = ox.Store()
            store.load(path=str(self.snapshot.dataset_file), format=ox.RdfFormat.N_QUADS)
            store.update(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{self.inferred_graph.value}>) }}")
            self._asserted = store
        return self._asserted

    def __len__(self) -> int:
        """Quads in the published named graphs (the materialised unions are not counted)."""
        return sum(self.snapshot.manifest["graphs"][g.value]["triples"] for g in self.named_graphs)
