"""The benchmark's queries over synthetic data (benchmarks/synth_queries/) on a small `kg synth` build.

Every query is portable SPARQL (rdflib parses it with only its own PREFIX lines: Virtuoso and
rdflib-endpoint do not know ours), answers at least one row on 3,000 synthetic triples (the
benchmark's smallest size is 10^4, and the answers grow with the size), and gets the same rows from
the store as through the HTTP endpoint. Virtuoso is compared by `python benchmarks/virtuoso.py
--compare`, not here: it is not a test dependency.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.plugins.sparql import prepareQuery

from kg.build.pipeline import build
from kg.config import PROJECT_ROOT, load_settings
from kg.dev.synth import synthesize
from kg.query.store import GraphStore

QUERY_DIR = PROJECT_ROOT / "benchmarks" / "synth_queries"
QUERIES = sorted(QUERY_DIR.glob("*.rq"))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    """A 3,000-triple synthetic project built into a snapshot (any seed must do: no query names a synthetic IRI)."""
    root = tmp_path_factory.mktemp("synthetic")
    synthesize(root, 3000, seed=11)
    settings = load_settings({"root": root}, environ={})
    snapshot, _report = build(settings)
    return settings, snapshot


@pytest.fixture(scope="module")
def synth_store(synthetic) -> GraphStore:
    return GraphStore(synthetic[1])


@pytest.fixture(scope="module")
def synth_client(synthetic):
    from kg.web import create_app

    settings, snapshot = synthetic
    app = create_app(replace(settings, query_timeout_s=20.0), snapshot)
    yield app.test_client()
    app.extensions["kg.releases"].close()


def rows(solutions: ox.QuerySolutions) -> set[tuple]:
    """Solutions as a set of rows of N-Triples terms; blank nodes erased (their labels are per answer)."""
    names = [v.value for v in solutions.variables]
    return {tuple(None if s[n] is None else "_:" if isinstance(s[n], ox.BlankNode) else str(s[n]) for n in names)
            for s in solutions}


def test_eight_to_twelve_queries_and_the_lookup():
    names = [p.name for p in QUERIES]
    assert "lookup.rq" in names
    assert 8 <= len(names) - 1 <= 12


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_is_documented_and_portable(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), "each query opens with a comment saying what it mirrors and why"
    assert path.stem == "lookup" or "cq" in text.split("PREFIX", 1)[0], "the header names the CQ(s) it mirrors"
    prepareQuery(text)  # raises on a syntax error or an undeclared prefix


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_answers_on_a_small_synthetic_graph_and_the_endpoint_agrees(path: Path, synth_store, synth_client):
    text = path.read_text(encoding="utf-8")
    direct = rows(synth_store.query(text))
    assert direct, f"{path.name} gives no row on 3,000 synthetic triples"
    response = synth_client.post("/sparql", data={"query": text}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "KG-Result-Truncated" not in response.headers
    served = rows(ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON))
    assert served == direct
