"""The answer cache of `kg serve`: a first answer (a worker's) against its repeats (the cache's), side by side.

    python benchmarks/cache.py [--repeat 20] [--hits 3] [--synth 1000000 --work DIR] [--json FILE]

Why: every query that is not a bounded lookup goes to a query worker, and the cache (kg/query/cache.py, one
per release and HTTP process) answers a repeat of it without that round trip. This measures the hit path
against the real server: two `kg serve` at once on the same snapshot, one with the shipped KG_CACHE_BYTES
and one with KG_CACHE_BYTES=0 (every request a worker round trip). For each query (the competency
questions in queries/ on the shipped data, and with --synth the synthetic ones of benchmarks/synth_queries/
on a `kg synth` graph), --repeat times, the two servers interleaved:

* a text never asked before (the query with a comment naming the repetition: a cache miss), then the same
  text --hits times more (hits), on one keep-alive connection so that all reach the same HTTP process;
* the same on the server without a cache: the first answer and its repeats, all worker round trips.

Client-side latency: median and p95 (nearest rank), ratios miss / hit and, what the cache saves, a repeat
without the cache / a hit. The `KG-Cache` header of every response is checked (miss, then hit; absent
without a cache), the hits' bodies against the miss's, and the hits and misses that /metrics counted.
Then, since each HTTP process has its own cache, the same new text --hits + 1 times on new connections (a
client without keep-alive): how many of those repeats hit.

Fair use counts a client's misses (query time, queries at once): both servers run with
KG_CLIENT_QUERY_BUDGET_S=0 and KG_CLIENT_MAX_QUERIES=0, so that the benchmark's own pace is not refused
with 429; every other setting is shipped. Each server has one client address per run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (ROOT, LoopbackClient, Reply, command_line, machine, machine_markdown,  # noqa: E402
                     synthetic_snapshot, versions, write_section)
from endpoint import Server, ours_server, percentile  # noqa: E402
from kg.config import Settings  # noqa: E402
from kg.query.guard import analyse  # noqa: E402

SECTION = "cache"
LIBRARIES = ["pyoxigraph", "granian", "flask"]
#: Fair use off, so that the benchmark's misses are never answered 429.
FAIR_USE_OFF = {"KG_CLIENT_QUERY_BUDGET_S": "0", "KG_CLIENT_MAX_QUERIES": "0"}
CACHED_CLIENT, UNCACHED_CLIENT, FRESH_CLIENT = "127.0.0.2", "127.0.0.3", "127.0.0.4"


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)

    def add(self, reply: Reply) -> None:
        self.seconds.append(reply.seconds)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) * 1000 if self.seconds else None

    @property
    def p95(self) -> float | None:
        return percentile(self.seconds, 95) * 1000 if self.seconds else None


@dataclass
class QueryRun:
    name: str
    rows: int = 0
    miss: Timings = field(default_factory=Timings)
    hit: Timings = field(default_factory=Timings)
    uncached_first: Timings = field(default_factory=Timings)
    uncached_repeat: Timings = field(default_factory=Timings)
    worker_s: list[float] = field(default_factory=list)  # KG-Query-Time of the misses: the worker's own time
    header_errors: list[str] = field(default_factory=list)
    fresh_repeats: int = 0
    fresh_hits: int = 0


@dataclass
class SnapshotRun:
    name: str
    quads: int
    queries: list[QueryRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # bounded: answered inline, never cached
    counted: dict[str, int] = field(default_factory=lambda: {"hit": 0, "miss": 0})  # as the headers said
    metrics: dict[str, float] = field(default_factory=dict)  # as /metrics said, during the measurement


def checked(reply: Reply, expected: str | None, run: QueryRun, what: str, counted: dict[str, int] | None) -> Reply:
    """``reply`` after checking its status and its KG-Cache header (``expected``: None for no header)."""
    header = reply.headers.get("KG-Cache")
    if reply.status != 200:
        run.header_errors.append(f"{what}: HTTP {reply.status} {reply.text[:120]!r}")
    elif header != expected:
        run.header_errors.append(f"{what}: KG-Cache {header!r}, expected {expected!r}")
    if counted is not None and header in counted:
        counted[header] += 1
    return reply


def measure_query(name: str, text: str, cached: LoopbackClient, uncached: LoopbackClient, fresh: LoopbackClient,
                  args: argparse.Namespace, token: str, counted: dict[str, int]) -> QueryRun:
    run = QueryRun(name)
    for i in range(args.warmup):  # each worker process has its first go at the query; not timed
        checked(cached.sparql(f"{text}\n# warm-up {token} {i}"), "miss", run, "warm-up", counted)
        checked(uncached.sparql(f"{text}\n# warm-up {token} {i}"), None, run, "warm-up", None)
    for i in range(args.repeat):
        unique = f"{text}\n# cache benchmark {token} {i}"

        def with_cache() -> None:
            first = checked(cached.sparql(unique), "miss", run, f"repetition {i}", counted)
            run.miss.add(first)
            run.worker_s.append(float(first.headers.get("KG-Query-Time") or "nan"))
            run.rows = len(json.loads(first.body)["results"]["bindings"]) if first.status == 200 else 0
            for _ in range(args.hits):
                again = checked(cached.sparql(unique), "hit", run, f"repetition {i}", counted)
                run.hit.add(again)
                if again.body != first.body:
                    run.header_errors.append(f"repetition {i}: a hit's body differs from the miss's")

        def without_cache() -> None:
            run.uncached_first.add(checked(uncached.sparql(unique), None, run, f"repetition {i} (no cache)", None))
            for _ in range(args.hits):
                run.uncached_repeat.add(checked(uncached.sparql(unique), None, run, f"repetition {i} (no cache)", None))

        for side in ((with_cache, without_cache) if i % 2 == 0 else (without_cache, with_cache)):
            side()  # alternate which server goes first, so that neither always runs on a just-woken machine
    unique = f"{text}\n# new connections {token}"
    headers = [fresh.sparql(unique).headers.get("KG-Cache") for _ in range(args.hits + 1)]
    for header in headers:
        if header in counted:
            counted[header] += 1
    run.fresh_repeats, run.fresh_hits = len(headers) - 1, headers[1:].count("hit")
    print(f"  {name}: miss {run.miss.median:.1f} ms, hit {run.hit.median:.1f} ms, no cache "
          f"{run.uncached_repeat.median:.1f} ms; {len(run.header_errors)} errors", file=sys.stderr, flush=True)
    return run


def _cache_lookups(client: LoopbackClient) -> dict[str, float]:
    samples = client.metrics()
    return {result: samples.get(("kg_cache_lookups_total", (("result", result),)), 0.0) for result in ("hit", "miss")}


def measure_snapshot(name: str, snapshot: Path, queries: dict[str, str], args: argparse.Namespace,
                     logs: Path) -> SnapshotRun:
    quads = json.loads((snapshot / "manifest.json").read_text())["total_triples"]
    run = SnapshotRun(name, quads)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **FAIR_USE_OFF}
    servers: list[Server] = []
    try:
        for label, extra in (("cache", {}), ("no-cache", {"KG_CACHE_BYTES": "0"})):
            folder = logs / f"{name}-{label}"
            folder.mkdir()
            servers.append(ours_server(snapshot, folder, {**env, **extra}))
            servers[-1].start()
        for server in servers:
            server.wait_ready(120)
        cached = LoopbackClient(servers[0].port, CACHED_CLIENT)
        uncached = LoopbackClient(servers[1].port, UNCACHED_CLIENT)
        fresh = LoopbackClient(servers[0].port, FRESH_CLIENT, keep_alive=False)
        before = _cache_lookups(cached)
        token = uuid.uuid4().hex[:8]
        for query, text in queries.items():
            if analyse(text).bounded:
                run.skipped.append(query)
                continue
            run.queries.append(measure_query(query, text, cached, uncached, fresh, args, token, run.counted))
        after = _cache_lookups(cached)
        run.metrics = {result: after[result] - before[result] for result in after}
        for client in (cached, uncached, fresh):
            client.close()
    finally:
        for server in servers:
            server.stop()
    return run


# --------------------------------------------------------------------------- report


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _x(value: float | None) -> str:
    return "–" if not value else f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def _ratio(a: float | None, b: float | None) -> str:
    return _x(a / b if a and b else None)


def _gmean(values: list[float | None]) -> float | None:
    present = [v for v in values if v]
    return statistics.geometric_mean(present) if present else None


def render(args: argparse.Namespace, runs: list[SnapshotRun], info: dict, libs: dict) -> str:
    shipped = Settings()
    out = [f"Command: `{args.command_line}`", "", machine_markdown(info, libs), "",
           f"- Two `kg serve` at once on each snapshot: KG_CACHE_BYTES={shipped.cache_bytes:,} (shipped) and "
           f"KG_CACHE_BYTES=0; both KG_HTTP_WORKERS={shipped.http_workers}, {shipped.query_worker_count} query workers "
           "per HTTP process, and KG_CLIENT_QUERY_BUDGET_S=0, KG_CLIENT_MAX_QUERIES=0 (fair use counts misses: off, so "
           "that the benchmark is not answered 429); one client address per server",
           f"- Per query: {args.warmup} untimed warm-up misses, then {args.repeat} repetitions ({args.synth_repeat} on "
           "the synthetic graph) of a new text (a "
           f"comment names the repetition): its first answer (miss) and {args.hits} repeats (hits) on one keep-alive "
           "connection; the same on the server without a cache; the two servers interleaved. GET, "
           "`Accept: application/sparql-results+json`, no compression; client-side ms, p95 nearest-rank", ""]
    for run in runs:
        out += [f"**{run.name}** ({run.quads:,} triples), median (p95) in ms:", "",
                "| query | rows | miss | hit | miss / hit | no cache: first | no cache: repeat | no-cache repeat / hit "
                "| worker time of a miss |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for q in run.queries:
            worker = statistics.median(q.worker_s) * 1000 if q.worker_s else None
            out.append(f"| {q.name} | {q.rows} | {_ms(q.miss.median)} ({_ms(q.miss.p95)}) | {_ms(q.hit.median)} "
                       f"({_ms(q.hit.p95)}) | {_ratio(q.miss.median, q.hit.median)} | {_ms(q.uncached_first.median)} "
                       f"({_ms(q.uncached_first.p95)}) | {_ms(q.uncached_repeat.median)} ({_ms(q.uncached_repeat.p95)}) "
                       f"| {_ratio(q.uncached_repeat.median, q.hit.median)} | {_ms(worker)} |")
        sums = {kind: sum(getattr(q, kind).median or 0 for q in run.queries)
                for kind in ("miss", "hit", "uncached_first", "uncached_repeat")}
        gm_miss = _gmean([q.miss.median / q.hit.median for q in run.queries if q.miss.median and q.hit.median])
        gm_saved = _gmean([q.uncached_repeat.median / q.hit.median for q in run.queries
                           if q.uncached_repeat.median and q.hit.median])
        out.append(f"| **all {len(run.queries)}** (sum of medians; geometric mean of the ratios) | | "
                   f"**{_ms(sums['miss'])}** | **{_ms(sums['hit'])}** | **{_x(gm_miss)}** | "
                   f"{_ms(sums['uncached_first'])} | {_ms(sums['uncached_repeat'])} | **{_x(gm_saved)}** | |")
        errors = [f"{q.name}: {e}" for q in run.queries for e in q.header_errors]
        fresh = sum(q.fresh_repeats for q in run.queries), sum(q.fresh_hits for q in run.queries)
        out += ["", "- `KG-Cache` headers: " + ("every response as expected (miss, then hit; none without a cache), "
                                                 "every hit's body the miss's" if not errors else
                                                 f"**{len(errors)} unexpected**: " + "; ".join(errors[:5])),
                f"- /metrics `kg_cache_lookups_total` during the run: {run.metrics.get('hit', 0):,.0f} hits, "
                f"{run.metrics.get('miss', 0):,.0f} misses; the headers said {run.counted['hit']:,} and "
                f"{run.counted['miss']:,}" + (" (agree)" if (run.metrics.get("hit"), run.metrics.get("miss")) ==
                                               (run.counted["hit"], run.counted["miss"]) else " (**differ**)"),
                f"- On new connections (no keep-alive), {fresh[1]} of {fresh[0]} repeats were hits "
                f"({fresh[1] / max(1, fresh[0]):.0%}): each of the {shipped.http_workers} HTTP processes has its own "
                "cache, and a new connection may reach either"]
        if run.skipped:
            out.append(f"- Not measured, bounded (answered in the HTTP process, never cached): {', '.join(run.skipped)}")
        out.append("")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="new texts per query (each: one miss and its hits)")
    parser.add_argument("--hits", type=int, default=3, help="repeats of each text")
    parser.add_argument("--warmup", type=int, default=2, help="untimed misses per query first")
    parser.add_argument("--only", default="", help="comma-separated prefixes of the query names to run (cq27,s04)")
    parser.add_argument("--snapshot", type=Path, default=ROOT / "build" / "current",
                        help="the shipped data's snapshot (built with `kg build` if there is none)")
    parser.add_argument("--synth", type=int, default=0, help="also a `kg synth` graph of this many triples, with the "
                        "synthetic queries (0: none)")
    parser.add_argument("--synth-repeat", type=int, default=5, help="--repeat on the synthetic graph")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kg-bench-synth",
                        help="where the synthetic project is generated and built once, and reused")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--write", action="store_true", help=f"also refresh the {SECTION} section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.command_line = command_line("cache.py", argv)
    only = tuple(p for p in args.only.split(",") if p)

    def queries(folder: Path, pattern: str) -> dict[str, str]:
        return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob(pattern))
                if not only or p.stem.startswith(only)}

    info, libs = machine(), versions(LIBRARIES)
    if not args.snapshot.exists():
        subprocess.run([sys.executable, "-m", "kg.cli", "--root", str(ROOT), "build"], check=True)
    logs = Path(tempfile.mkdtemp(prefix="kg-cache-"))
    runs = [measure_snapshot("shipped data", args.snapshot.resolve(), queries(ROOT / "queries", "*.rq"), args, logs)]
    if args.synth:
        synthetic = synthetic_snapshot(args.synth, args.work)
        synth_args = argparse.Namespace(**{**vars(args), "repeat": args.synth_repeat})
        runs.append(measure_snapshot(f"kg synth --triples {args.synth}", synthetic,
                                     queries(ROOT / "benchmarks" / "synth_queries", "s*.rq"), synth_args, logs))
    markdown = render(args, runs, info, libs)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps({"command": args.command_line, "machine": info, "versions": libs,
                                         "runs": [asdict(run) for run in runs]}, indent=2))
    if args.write:
        write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
