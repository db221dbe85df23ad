"""What a named graph states, for its page: its triples a page at a time, and the graph as a file of its own.

A graph page used to show only the graph's description (its label, its source); a reader who wanted to see
what the source states had to write a query or download the whole dataset. Here the graph's triples are read
from the store's index in its fixed order, one page at a time, and the whole graph can be written as Turtle
or N-Triples on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import pyoxigraph as ox

from kg.formats import NTRIPLES, TURTLE, Format
from kg.namespaces import PREFIXES
from kg.query.store import GraphStore


#: The files one named graph can be downloaded as, by suffix.
GRAPH_DOWNLOAD_FORMATS = {f.suffix: f for f in (TURTLE, NTRIPLES)}


@dataclass(frozen=True)
class FactsPage:
    """One page of a graph's triples: ``facts`` from position ``first`` (1-based) of ``total``."""

    facts: list[ox.Triple]
    first: int
    total: int
    page: int
    pages: int


def facts_page(store: GraphStore, graph: str, page: int, per_page: int) -> FactsPage:
    """The ``page``-th (1-based, clamped to the last) ``per_page`` triples of ``graph``.

    Read straight from the store's index (which yields a graph's quads in one fixed order), with the count the
    snapshot's manifest records: no query sorts or counts the graph, so a page of the inferred graph of a large
    build costs a walk to its offset, not a sort of millions of triples on every view.
    """
    total = int(store.snapshot.manifest["graphs"].get(graph, {}).get("triples", 0))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    quads = store.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
    facts = [q.triple for q in islice(quads, (page - 1) * per_page, page * per_page)]
    return FactsPage(facts, (page - 1) * per_page + 1, total, page, pages)


def graph_file(store: GraphStore, graph: str, fmt: Format) -> bytes:
    """The whole graph as one file in ``fmt`` (Turtle with our prefixes, or N-Triples), in the store's order."""
    triples = (q.triple for q in store.store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
    return ox.serialize(triples, format=fmt.rdf, prefixes=PREFIXES if fmt.rdf == ox.RdfFormat.TURTLE else None)
