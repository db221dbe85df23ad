"""Reconciliation of 100 names through /reconcile, as OpenRefine sends them (batches of 10), on a snapshot.

    python benchmarks/reconcile.py [--snapshot DIR] [--names 100] [--batch 10] [--repeat 5]

Why: OpenRefine reconciles a column in batches of 10 names, one request each, and a user waits for the whole
column. The names are the labels of the snapshot's cities, organisations, countries and people (sorted, the
first --names), every other one misspelt (two inner letters swapped), so the similarity path is measured as
well as the exact one. Through the Flask test client, so the figures are the service's (matching, JSON),
not the network's. Printed as JSON: the first request (which builds the release's index), then the median
and worst of --repeat runs over all the batches, and how many top candidates were the entity named.
The figures are quoted in BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from flask import g

from kg.config import load_settings
from kg.snapshot import Snapshot
from kg.web import create_app
from kg.web.reconcile import reconciler

KINDS = ("city", "organisation", "country", "person")


def misspell(name: str) -> str:
    """Two inner letters swapped ("Helsinki" → "Hlesinki"): a typo OpenRefine users bring."""
    if len(name) < 4:
        return name
    return name[0] + name[2] + name[1] + name[3:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, help="snapshot folder (default: build/current)")
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings()
    snapshot = Snapshot.open((args.snapshot or settings.current_snapshot).resolve())
    app = create_app(settings, snapshot)
    client = app.test_client()
    with app.test_request_context():  # the release's index, timed, and its catalogue to pick the names from
        g.release = app.extensions["kg.releases"].enter()
        started = time.perf_counter()
        r = reconciler()
        index_s = time.perf_counter() - started
        g.release.leave()
    entries = sorted((e for e in r.catalogue.entries.values() if e.kind in KINDS), key=lambda e: (e.label, e.iri))
    picked = entries[:args.names]
    names = [(e.label if i % 2 == 0 else misspell(e.label), r.entity_id(e.iri)) for i, e in enumerate(picked)]
    batches = [names[i:i + args.batch] for i in range(0, len(names), args.batch)]
    runs, right = [], 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        right = 0
        for batch in batches:
            queries = {f"q{i}": {"query": name} for i, (name, _id) in enumerate(batch)}
            answer = client.post("/reconcile", data={"queries": json.dumps(queries)}).get_json()
            right += sum(1 for i, (_n, id_) in enumerate(batch) if answer[f"q{i}"]["result"][:1]
                         and answer[f"q{i}"]["result"][0]["id"] == id_)
        runs.append(time.perf_counter() - started)
    app.extensions["kg.releases"].close()
    json.dump({"snapshot": snapshot.path.name, "triples": snapshot.manifest.get("total_triples"), "entities": len(r.catalogue.entries),
               "names": len(names), "batch": args.batch, "index_build_s": round(index_s, 3),
               "all_batches_median_s": round(statistics.median(runs), 3), "all_batches_max_s": round(max(runs), 3),
               "per_name_ms": round(1000 * statistics.median(runs) / len(names), 2), "top_candidate_right": right},
              sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
