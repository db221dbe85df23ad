"""How many requests per second an HTTP stack can serve on this machine before any SPARQL is run.

    python benchmarks/http_ceiling.py [--duration 10] [--concurrency 1,4,16]

The throughput target "at least 10× rdflib-endpoint's on a simple lookup" needs a ceiling to be read
against: this runs, side by side under wrk, on loopback, each with granian set up as `kg serve` sets
it up (KG_HTTP_WORKERS processes × KG_HTTP_THREADS threads):

* ``bare WSGI``: a WSGI callable that answers every request with the same small SPARQL JSON body;
* ``empty Flask``: a Flask app with one route that does the same (the framework our app is built on);
* ``ours``: `kg serve` on the current snapshot (`kg build` first), the lookup of benchmarks/endpoint.py;
* ``rdflib-endpoint``: on the same snapshot, the same lookup (benchmarks/rdflib_server.py).

It writes the ``http-ceiling`` section of BENCHMARKS.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line, machine, machine_markdown, ratio, versions, write_section  # noqa: E402
from endpoint import LOOKUP, Load, Server, free_port, ours_server, rdflib_server, wrk_series  # noqa: E402

from kg.config import Settings  # noqa: E402  (its defaults are the ones `kg serve` uses)

SECTION = "http-ceiling"
LIBRARIES = ["granian", "flask", "rdflib-endpoint", "uvicorn"]


def granian_server(name: str, target: str, logs: Path) -> Server:
    """granian serving the WSGI callable ``target`` of benchmarks/_ceiling_apps.py as `kg serve` would."""
    port = free_port()
    cmd = [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(Settings.http_workers),
           "--blocking-threads", str(Settings.http_threads), "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", f"_ceiling_apps:{target}"]
    here = Path(__file__).resolve().parent
    return Server(name, cmd, port, {**os.environ, "PYTHONPATH": str(here)}, logs / f"{target}.log", cwd=here)


def measure(server: Server, concurrencies: list[int], duration: float) -> dict[int, Load]:
    server.start()
    try:
        server.wait_ready(timeout=300)
        return wrk_series(server.name, server.base, f"/sparql?query={quote(LOOKUP)}", concurrencies, duration)
    finally:
        server.stop()


def render(args, info: dict, libs: dict, results: dict[str, dict[int, Load]]) -> str:
    names = list(results)
    out = [f"Command: `{args.command_line}`", "", machine_markdown(info, libs), "",
           f"granian with {Settings.http_workers} processes × {Settings.http_threads} threads for the first three "
           "(as `kg serve`); rdflib-endpoint under uvicorn, one process. wrk on the same machine, "
           f"{args.duration:.0f} s per run after 2 s of untimed load; requests per second:", "",
           "| concurrency | " + " | ".join(names) + " | empty Flask / rdflib-endpoint | ours / rdflib-endpoint |",
           "|--:|" + "--:|" * (len(names) + 2)]
    for c in args.concurrency:
        rps = {n: results[n][c].rps for n in names}
        out.append(f"| {c} | " + " | ".join(f"{rps[n]:,.0f}" for n in names) +
                   f" | {ratio(rps['empty Flask'], rps['rdflib-endpoint'])} | {ratio(rps['ours'], rps['rdflib-endpoint'])} |")
    errors = {n: sum(load.errors for load in results[n].values()) for n in names}
    out += ["", "Errors (non-2xx responses and socket errors): " +
            ", ".join(f"{n} {e}" for n, e in errors.items()) + "."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per throughput run")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated connection counts")
    parser.add_argument("--snapshot", type=Path, default=ROOT / "build" / "current", help="what ours and rdflib-endpoint serve")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    args.command_line = command_line("http_ceiling.py", argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    if shutil.which("wrk") is None:
        parser.error("wrk is needed: apt-get install wrk")
    snapshot = args.snapshot.resolve()
    if not (snapshot / "dataset.nq").is_file():
        parser.error(f"no snapshot at {snapshot}: run `kg build` first")

    info = machine()
    logs = Path(tempfile.mkdtemp(prefix="kg-ceiling-"))
    try:
        servers = [granian_server("bare WSGI", "bare", logs), granian_server("empty Flask", "flask_app", logs),
                   ours_server(snapshot, logs, dict(os.environ)), rdflib_server(snapshot / "dataset.nq", logs, dict(os.environ))]
        results = {server.name: measure(server, args.concurrency, args.duration) for server in servers}
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    markdown = render(args, info, versions(LIBRARIES), results)
    print(markdown)
    if not args.no_write:
        write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
