"""What the snapshot's store layout and its compaction cost the queries.

    python benchmarks/store_layout.py SNAPSHOT [--repeat 5] [--queries benchmarks/synth_queries]

A snapshot's store keeps the asserted union as its default graph and the inferred graph beside it;
queries name both as their default graph (kg.snapshot.union_graphs). Until store layout 2 the build
also copied every inferred triple into the default graph, so that a query read one graph. The build
bulk-loads the store from a stream and then compacts it (``optimize()``).

This bulk-loads both layouts from the snapshot's dataset.nq into temporary stores (one call each),
times each synthetic competency query on them before and after compacting them, and on the snapshot's
own store: the same process, one store after the other for each run, after one warm-up run; checks
that all give the same rows, and prints the medians and the ratios that isolate each effect. Nothing
is written to BENCHMARKS.md: the figures are quoted in its scale reading.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line  # noqa: E402

from kg.snapshot import Snapshot  # noqa: E402


def default_graphs(snapshot: Snapshot) -> dict[str, bytes]:
    """N-Quads of the snapshot's named graphs followed by the default graph of each layout, as N-Triples:
    the asserted union ("two", the snapshot's layout) or every triple ("one", the layout before). The
    inferred graph shares no triple with the asserted union, so "one" is the two appended."""
    dataset = ox.Store()
    dataset.load(path=str(snapshot.dataset_file), format=ox.RdfFormat.N_QUADS)
    inferred = ox.NamedNode(snapshot.manifest["inferred_graph"])
    dataset.update(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != {inferred}) }}")
    quads = snapshot.dataset_file.read_bytes()
    asserted = dataset.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()) or b""
    return {"two": quads + asserted,
            "one": quads + asserted + (dataset.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=inferred) or b"")}


def fresh_store(folder: Path, data: bytes, compacted: bool) -> ox.Store:
    """``data`` bulk-loaded in one call into a new store, then compacted or not."""
    store = ox.Store(str(folder))
    store.bulk_load(input=data, format=ox.RdfFormat.N_QUADS, lenient=True)
    if compacted:
        store.optimize()
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path, help="a snapshot folder, or a project's build/current")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query and layout")
    parser.add_argument("--queries", type=Path, default=ROOT / "benchmarks" / "synth_queries")
    args = parser.parse_args(argv)
    snapshot = Snapshot.open(args.snapshot)
    print(f"`{command_line('store_layout.py', argv)}`, {snapshot.manifest['total_triples']:,} quads\n")
    names = ("snapshot's store", "two graphs", "two graphs, compacted", "one graph", "one graph, compacted")
    effects = {"two / one": (1, 3), "two / one, compacted": (2, 4), "compacted / not, two": (2, 1),
               "compacted / not, one": (4, 3), "snapshot's / two, compacted": (0, 2)}
    print("| query | " + " | ".join(f"{n} (ms)" for n in names) + " | " + " | ".join(effects) + " |")
    print("|---|" + "--:|" * (len(names) + len(effects)))
    ratios: dict[str, list[float]] = {effect: [] for effect in effects}
    with tempfile.TemporaryDirectory() as folder:
        data = default_graphs(snapshot)
        stores = [(ox.Store.read_only(str(snapshot.store_dir)), snapshot.union)]
        stores += [(fresh_store(Path(folder) / f"{layout}-{compacted}", data[layout], compacted),
                    snapshot.union if layout == "two" else ox.DefaultGraph())
                   for layout in ("two", "one") for compacted in (False, True)]
        del data
        for path in sorted(args.queries.glob("s*.rq")):
            text = path.read_text(encoding="utf-8")
            times: list[list[float]] = [[] for _ in stores]
            answers = []
            for run in range(1 + args.repeat):
                for i, (store, default) in enumerate(stores):
                    started = time.perf_counter()
                    body = store.query(text, default_graph=default).serialize(format=ox.QueryResultsFormat.JSON)
                    if run:
                        times[i].append(time.perf_counter() - started)
                    else:
                        answers.append(sorted(json.dumps(row, sort_keys=True)
                                              for row in json.loads(body)["results"]["bindings"]))
            if any(answer != answers[0] for answer in answers):
                raise SystemExit(f"{path.stem}: the stores answer differently")
            medians = [statistics.median(t) * 1000 for t in times]
            cells = []
            for effect, (a, b) in effects.items():
                ratios[effect].append(medians[a] / medians[b])
                cells.append(f"{medians[a] / medians[b]:.2f}×")
            print(f"| {path.stem} | " + " | ".join(f"{m:,.1f}" for m in medians) + " | " + " | ".join(cells) + " |",
                  flush=True)
        stores.clear()
    print("| geometric mean | " + " |" * len(names) + " "
          + " | ".join(f"{statistics.geometric_mean(r):.2f}×" for r in ratios.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
