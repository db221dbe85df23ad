"""Serve a snapshot's dataset.nq with rdflib-endpoint, the baseline our endpoint is compared against.

    python benchmarks/rdflib_server.py build/current/dataset.nq --port 8101

The N-Quads are loaded into an in-memory rdflib ``Dataset(default_union=True)``, so the default graph
is the union of all named graphs, as on our endpoint. The app is rdflib-endpoint's own
``SparqlEndpoint`` FastAPI app mounted at ``/sparql`` and run by uvicorn with its defaults (one
process), which is what ``rdflib-endpoint serve`` does too.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="an N-Quads file (a snapshot's dataset.nq)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args(argv)

    import uvicorn
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    started = time.perf_counter()
    dataset = Dataset(default_union=True)
    dataset.parse(args.dataset, format="nquads")
    print(f"loaded {len(dataset)} distinct triples from {args.dataset} in {time.perf_counter() - started:.2f}s",
          file=sys.stderr, flush=True)
    app = SparqlEndpoint(graph=dataset, path="/sparql", title="rdflib-endpoint baseline")
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
