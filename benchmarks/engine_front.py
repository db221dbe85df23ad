"""Publishing to engines, and Virtuoso behind our layer, side by side on one synthetic release.

    python benchmarks/engine_front.py [--triples 1000000] [--repeat 5] [--work /tmp/kg-bench] [--no-write]

For a `kg synth` release of --triples triples (built once and kept in --work, see _common.synthetic_snapshot):

1. publish: `kg publish oxigraph` and `kg publish virtuoso` (kg/build/publish.py, as the command runs them),
   each timed (load, check) with the peak resident memory of the engine processes it started (sampled every
   50 ms), and the check's findings: Virtuoso's known deviations and its disagreements, per question;
2. latency: every query of benchmarks/synth_queries, --repeat times each after one warm-up, on the embedded
   store (`kg serve`), on bare Virtuoso (its /sparql, the dataset named as our layer names it) and on
   Virtuoso behind our layer (`kg serve --engine`), interleaved one request at a time; medians and the
   ratios front / bare Virtuoso (target ≤ 1.2×) and embedded / front.

Writes the "engine-front" section of BENCHMARKS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line, machine, machine_markdown, synthetic_snapshot, versions, write_section  # noqa: E402
from endpoint import Client, Server, free_port, normalise, ours_server  # noqa: E402
from virtuoso import answer_set  # noqa: E402

from kg.build.publish import OxigraphEngine, Published, VirtuosoEngine, expected_counts, publish  # noqa: E402
from kg.build.virtuoso import UNION_GRAPH, Tuning, binaries  # noqa: E402
from kg.snapshot import Snapshot, virtuoso_dataset  # noqa: E402

SECTION = "engine-front"
QUERIES = ROOT / "benchmarks" / "synth_queries"


class PeakMemory:
    """The peak resident memory of this process's descendants (the engines a publish starts), sampled."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            total = 0
            for child in psutil.Process().children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)


def published(engine, snapshot: Snapshot) -> tuple[Published, int, float]:
    started = time.perf_counter()
    with PeakMemory() as memory:
        done = publish(snapshot, engine, accept_disagreements=True)
    assert done is not None
    return done, memory.peak, time.perf_counter() - started


class BareVirtuoso(Client):
    """Virtuoso's own /sparql, asked for the release's dataset as `kg serve --engine` asks it."""

    def __init__(self, port: int, graphs: tuple[str, ...]) -> None:
        super().__init__(port)
        self.dataset = virtuoso_dataset((UNION_GRAPH,), graphs)

    def post(self, query: str, timeout: float = 300) -> tuple[int, bytes, float]:
        body = urllib.parse.urlencode({"query": f"{self.dataset} {query}"}).encode("utf-8")
        return self._request("POST", self.path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                       "Accept": "application/sparql-results+json"}, timeout)


def latency(clients: dict[str, Client], repeat: int, timeout: float) -> dict[str, dict[str, float | str]]:
    """Median milliseconds per query and endpoint (or the error), the endpoints interleaved; ``agree``: the
    endpoints whose answer (rows as a set, numbers by value) differs from the embedded store's."""
    table: dict[str, dict[str, float | str]] = {}
    for path in sorted(QUERIES.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        times: dict[str, list[float]] = {name: [] for name in clients}
        answers: dict[str, frozenset] = {}
        row: dict[str, float | str] = {}
        for attempt in range(repeat + 1):
            for name, client in clients.items():
                if name in row:
                    continue
                status, body, seconds = client.post(text, timeout=timeout)
                if status != 200:
                    row[name] = f"HTTP {status}: {' '.join(body.decode('utf-8', 'replace').split())[:80]}"
                elif attempt:  # the first is a warm-up
                    times[name].append(seconds)
                else:
                    answers[name] = answer_set(normalise(body))
        for name, measured in times.items():
            row.setdefault(name, statistics.median(measured) * 1000)
        reference = answers.get("embedded")
        row["differ"] = ", ".join(n for n, a in answers.items() if reference is not None and a != reference) or "none"
        table[path.stem] = row
        print(f"  {path.stem}: " + ", ".join(f"{n} {v:.1f} ms" if isinstance(v, float) else f"{n} {v}"
                                          for n, v in row.items()), file=sys.stderr, flush=True)
    return table


def render(args, snapshot: Snapshot, findings: list[tuple[str, Published, int, float]],
           table: dict[str, dict[str, float | str]]) -> str:
    libs = versions(["pyoxigraph", "oxigraph", "granian"])
    libs["Virtuoso"] = _virtuoso_version()
    lines = [f"Command: `{command_line('engine_front.py', args.argv)}`", "", machine_markdown(machine(), libs), "",
             f"Release: {snapshot.manifest['total_triples']:,} triples in {len(expected_counts(snapshot))} graphs "
             f"(`kg synth --triples {args.triples} --seed 1`).", "",
             "| publish | load s | check s | whole s | peak engine memory | questions alike | known deviations | disagreements |",
             "|---|--:|--:|--:|--:|--:|---|---|"]
    for name, done, peak, whole in findings:
        check = done.check
        deviations = ", ".join(f"{q.removesuffix('.rq')} ({'; '.join(d)})" for q, d in check.deviations.items()) or "none"
        disagreements = ", ".join(q.removesuffix(".rq") for q in check.disagreements) or "none"
        lines.append(f"| {name} | {done.load_s:.1f} | {done.check_s:.1f} | {whole:.1f} | {peak / 2**20:,.0f} MB | "
                     f"{check.questions - len(check.disagreements)} of {check.questions} | {deviations} | {disagreements} |")
    for name, done, _, _ in findings:
        for question, difference in done.check.disagreements.items():
            lines.append(f"\n- {name}, {question}: {difference[:300]}")
    names = ["embedded", "Virtuoso", "Virtuoso behind ours"]
    lines += ["", f"Latency, median of {args.repeat} after one warm-up (ms; one request at a time, interleaved):", "",
              "| query | " + " | ".join(names) + " | front / bare | embedded / front | answers unlike the embedded store's |",
              "|---|" + "--:|" * (len(names) + 2) + "---|"]
    ratios = []
    for query, row in table.items():
        cells = [f"{row[n]:.1f}" if isinstance(row[n], float) else row[n] for n in names]
        front, bare, embedded = (row[n] if isinstance(row[n], float) else None for n in (names[2], names[1], names[0]))
        over = front / bare if front and bare else None
        if over:
            ratios.append(over)
        lines.append(f"| {query} | " + " | ".join(cells) + f" | {over:.2f}×" * (over is not None) + " –" * (over is None)
                     + (f" | {embedded / front:.1f}× |" if embedded and front else " | – |") + f" {row['differ']} |")
    if ratios:
        lines += ["", f"Behind our layer, Virtuoso took {min(ratios):.2f}× to {max(ratios):.2f}× its bare time "
                      f"(target ≤ 1.2× on every query: {'met' if max(ratios) <= 1.2 else 'not met'})."]
    return "\n".join(lines)


def _virtuoso_version() -> str:
    done = subprocess.run([binaries()[0], "-?"], capture_output=True, text=True)
    for line in (done.stdout + done.stderr).splitlines():
        if "Version" in line:
            return line.split("Version", 1)[1].strip().split()[0]
    return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kg-bench",
                        help="where the synthetic project and its build are kept between runs")
    parser.add_argument("--no-write", action="store_true", help="print the Markdown, do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.argv = argv
    binaries()
    snapshot = Snapshot.open(synthetic_snapshot(args.triples, args.work))
    scratch = Path(tempfile.mkdtemp(prefix="kg-engine-front-"))
    logs = scratch / "logs"
    logs.mkdir()
    servers: list[Server] = []
    try:
        http_port = free_port()
        findings = []
        for name, engine in (("oxigraph", OxigraphEngine(scratch / "oxigraph")),
                             ("virtuoso", VirtuosoEngine(scratch / "virtuoso", http_port=http_port, sql_port=free_port(),
                                                         tuning=Tuning(query_timeout_s=int(args.timeout))))):
            print(f"publishing to {name}", file=sys.stderr, flush=True)
            findings.append((name, *published(engine, snapshot)))
        ini = (scratch / "virtuoso" / "current" / "virtuoso.ini").resolve()
        env = {**os.environ, "KG_QUERY_TIMEOUT_S": str(args.timeout), "KG_MAX_ROWS": "10000000", "KG_CACHE_BYTES": "0",
               "KG_CLIENT_QUERY_BUDGET_S": "0", "KG_HTTP_WORKERS": "1"}
        virtuoso = Server("virtuoso", ["virtuoso-t", "+foreground", "+configfile", str(ini)], http_port, env,
                          logs / "virtuoso.log", cwd=ini.parent)
        embedded = ours_server(snapshot.path, logs, env)
        front_build = logs / "front-build"  # the build folder `kg serve --engine` finds the engine's release in
        front_build.mkdir()
        (front_build / snapshot.manifest["build_id"]).symlink_to(snapshot.path)
        front_port = free_port()
        front = Server("front", [sys.executable, "-m", "kg.cli", "--root", str(ROOT), "serve", "--port", str(front_port),
                                 "--engine", f"http://127.0.0.1:{http_port}/sparql"], front_port,
                       {**env, "KG_BUILD_DIR_NAME": str(front_build)}, logs / "front.log")
        for server in (virtuoso, embedded):  # the front asks the engine for its release as it starts
            server.start()
            servers.append(server)
        virtuoso.wait_ready(300)
        embedded.wait_ready(300)
        front.start()
        servers.append(front)
        front.wait_ready(300)
        clients = {"embedded": Client(embedded.port),
                   "Virtuoso": BareVirtuoso(http_port, tuple(expected_counts(snapshot))),
                   "Virtuoso behind ours": Client(front.port)}
        table = latency(clients, args.repeat, args.timeout)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    markdown = render(args, snapshot, findings, table)
    print(markdown)
    if not args.no_write:
        write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
