"""Where the time of one SPARQL request goes in our app, without an HTTP server in the way.

    python benchmarks/profile_request.py [--root PROJECT] [--requests 3000] [--query benchmarks/synth_queries/lookup.rq]

Calls the Flask app's WSGI callable directly with a GET /sparql for the query (on the current snapshot of
PROJECT, which must be built), first without a profiler to give microseconds per request, then under
cProfile, and prints the functions that take the most time of their own. For the lookup of the
throughput runs this shows the per-request cost that is ours rather than the store's or the server's.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import quote

from kg.config import load_settings
from kg.web import create_app

HERE = Path(__file__).resolve().parent


def wsgi_get(app, query_string: str):
    """One GET /sparql through the WSGI callable; returns the status line."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/sparql", "QUERY_STRING": query_string, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "HTTP_ACCEPT": "application/sparql-results+json", "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
    }
    statuses = []
    body = app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return statuses[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE.parent, help="project folder with a built snapshot")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--query", type=Path, default=HERE / "synth_queries" / "lookup.rq")
    parser.add_argument("--top", type=int, default=25, help="functions to list")
    args = parser.parse_args(argv)

    app = create_app(load_settings({"root": args.root.resolve()}))
    query_string = "query=" + quote(args.query.read_text(encoding="utf-8"))
    status = wsgi_get(app, query_string)
    if not status.startswith("200"):
        print(f"the query answers {status}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    for _ in range(args.requests):
        wsgi_get(app, query_string)
    print(f"{(time.perf_counter() - started) / args.requests * 1e6:.0f} µs per request "
          f"({args.requests} requests, no profiler)")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.requests):
        wsgi_get(app, query_string)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
