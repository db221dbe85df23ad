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

#: How pyoxigraph's message for a call of a function it does not know begins (a RuntimeError, raised when the query
#: is prepared, as for any other evaluation error); the only such error a client causes, every other is ours.
UNSUPPORTED_FUNCTION = "The custom function "


class QueryUnsupported(Exception):
    """The engine parsed the query but cannot run it (an extension function it does not have); the message is its own."""


def run_query(store: ox.Store, sparql: str, **dataset) -> QueryResult:
    """``store.query`` with our prefixes predeclared: SyntaxError carries the parser's message, and a call of a
    function the engine does not have is :class:`QueryUnsupported`, the client's error rather than ours."""
    try:
        return store.query(sparql, prefixes=PREFIXES, **dataset)
    except RuntimeError as error:
        if str(error).startswith(UNSUPPORTED_FUNCTION):
            raise QueryUnsupported(str(error)) from None
        raise


class Scope(str, Enum):
    """Which graphs form the default graph of a query."""

    ALL = "all"
    ASSERTED = "asserted"
    INFERRED = "inferred"


class GraphStore:
    """The snapshot's store, leased (:class:`kg.snapshot.Lease`) so that no build prunes it while it is open."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.lease = snapshot.lease()
        self.store = ox.Store.read_only(str(snapshot.store_dir))
        self.inferred_graph = ox.NamedNode(snapshot.manifest["inferred_graph"])
        self.named_graphs = [ox.NamedNode(iri) for iri in sorted(snapshot.manifest["graphs"])]
        self._default_graphs = {Scope.ALL: snapshot.union, Scope.ASSERTED: ox.DefaultGraph(),
                                Scope.INFERRED: self.inferred_graph}

    def query(self, sparql: str, scope: Scope = Scope.ALL) -> QueryResult:
        """Run a read query with our prefixes predeclared (:func:`run_query`).

        The default graph is a set-merge of the scope's graphs (the store keeps the asserted one as its
        default graph, see :func:`kg.snapshot.union_graphs`), and GRAPH patterns see the store's named
        graphs, which are exactly the published ones. Naming them to the engine instead would change no
        answer but its plan: at 505 graphs it looked ``GRAPH ?g { … }`` up in each graph in turn, and
        linked-data pages of much-cited resources took seconds.
        """
        return run_query(self.store, sparql, default_graph=self._default_graphs[scope])

    def close(self) -> None:
        """Let the snapshot be pruned (the handle stays usable until it is: the store is read-only)."""
        self.lease.release()

    def __len__(self) -> int:
        """Quads in the published named graphs."""
        return sum(self.snapshot.manifest["graphs"][g.value]["triples"] for g in self.named_graphs)
