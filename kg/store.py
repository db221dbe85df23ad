"""The serving store: an in-memory Oxigraph store opened from a snapshot's N-Quads.

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
        self.store = ox.Store()
        self.store.bulk_load(path=str(snapshot.dataset_file), format=ox.RdfFormat.N_QUADS)
        self.inferred_graph = ox.NamedNode(snapshot.manifest["inferred_graph"])

    def graph_names(self) -> list[ox.NamedNode]:
        return sorted((g for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)), key=lambda g: g.value)

    def query(self, sparql: str, scope: Scope = Scope.ALL) -> QueryResult:
        """Run a read query with our prefixes predeclared; SyntaxError carries the parser's message."""
        if scope is Scope.ALL:
            return self.store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True)
        if scope is Scope.INFERRED:
            default: list = [self.inferred_graph]
        else:
            default = [g for g in self.graph_names() if g != self.inferred_graph]
        return self.store.query(sparql, prefixes=PREFIXES, default_graph=default)

    def __len__(self) -> int:
        return len(self.store)
