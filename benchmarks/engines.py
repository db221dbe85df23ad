"""The fast engines against the reference engines, side by side on the same synthetic graphs.

    python benchmarks/engines.py [--sizes 5000,20000] [--no-write]

SHACL on the asserted data: kg.build.shacl (the shapes compiled into SPARQL, run by Oxigraph) against
pySHACL. OWL 2 RL: the "oxigraph" engine (kg.build.owl_rl_rules: reasonable closes the schema, the instance rules
run as SPARQL updates; timed on the build's store, as `kg build` runs it) and reasonable on the whole
graph, against owlrl (both on the rdflib graph they need). Each pair must agree (the
same violations, the same inferred triples) or the run stops; tests/test_shacl_fast.py and
tests/test_reason_fast.py prove the same in CI at small sizes. The references are slow, so the sizes
are small: benchmarks/scale.py measures the fast engines at 10^4..10^7. Writes the "engines" section
of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, machine_markdown, versions, write_section  # noqa: E402

from kg.build.pipeline import Pipeline  # noqa: E402
from kg.build.reason import infer  # noqa: E402
from kg.build.shacl import validate_store  # noqa: E402
from kg.build.validate import run_shacl  # noqa: E402
from kg.config import load_settings  # noqa: E402

T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """The result, wall seconds and CPU seconds of ``work``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def synthetic(size: int, folder: Path, violations: int) -> Pipeline:
    subprocess.run([sys.executable, "-m", "kg.cli", "synth", str(folder), "--triples", str(size), "--seed", "1",
                    "--violations", str(violations), "--force"], check=True, stdout=subprocess.DEVNULL)
    return Pipeline.load(load_settings({"root": folder}, environ={}))


def measure(size: int, folder: Path) -> dict:
    """SHACL on a graph with 2 planted violations of each kind; OWL 2 RL on a clean one (some planted
    violations, an organisation as a location say, make the graph inconsistent)."""
    pipeline = synthetic(size, folder / "planted", violations=2)
    data, ontology = pipeline.asserted_data(), pipeline.ontology
    row: dict = {"size": size, "triples": len(data) + len(ontology)}

    def key(v):
        return (v.focus, v.path, v.value, v.component, v.message)

    fast, *row["shacl oxigraph"] = timed(lambda: validate_store(pipeline.loaded.store, pipeline.shapes))
    reference, *row["shacl pyshacl"] = timed(lambda: run_shacl(data, pipeline.shapes, ontology)[0])
    if sorted(map(key, fast)) != sorted(map(key, reference)):
        raise SystemExit(f"{size}: the SHACL engines disagree")
    row["violations"] = len(fast)
    clean = synthetic(size, folder / "clean", violations=0)
    union = clean.loaded.union()
    # The oxigraph engine as the build runs it, on the store; the others on the rdflib graph they need.
    _, *row["reason oxigraph"] = timed(clean.reason)
    outcomes = {"oxigraph": set(clean.loaded.graph(clean.settings.inferred_graph))}
    for engine in ("reasonable", "owlrl"):
        outcomes[engine], *row[f"reason {engine}"] = timed(lambda: set(infer(union, engine=engine)))
    if not outcomes["oxigraph"] == outcomes["reasonable"] == outcomes["owlrl"]:
        raise SystemExit(f"{size}: the OWL 2 RL engines disagree")
    row["inferred"] = len(outcomes["owlrl"])
    print(row, file=sys.stderr, flush=True)
    return row


def render(rows: list[dict], command: str, info: dict) -> str:
    def cell(figures: list[float]) -> str:
        return f"{figures[0]:.2f} ({figures[1]:.2f})"

    def ratio(slow: list[float], fast: list[float]) -> str:
        return f"{slow[1] / fast[1]:,.0f}×" if fast[1] else "–"

    lines = [f"Command: `{command}`", "",
             machine_markdown(info, versions(["pyoxigraph", "pyshacl", "reasonable", "owlrl", "rdflib"])), "",
             "Seconds of wall time (of CPU time); the speed-ups are ratios of CPU time. Every pair gave the same "
             "violations and the same inferred triples.", "",
             "| triples | violations | SHACL: oxigraph | SHACL: pySHACL | speed-up | inferred | OWL 2 RL: oxigraph "
             "| reasonable | owlrl | oxigraph vs owlrl | reasonable vs owlrl |",
             "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        lines.append(f"| {r['triples']:,} | {r['violations']} | {cell(r['shacl oxigraph'])} | {cell(r['shacl pyshacl'])} "
                     f"| {ratio(r['shacl pyshacl'], r['shacl oxigraph'])} | {r['inferred']:,} "
                     f"| {cell(r['reason oxigraph'])} | {cell(r['reason reasonable'])} | {cell(r['reason owlrl'])} "
                     f"| {ratio(r['reason owlrl'], r['reason oxigraph'])} | {ratio(r['reason owlrl'], r['reason reasonable'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000", help="comma-separated triple counts")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    command = command_line("engines.py", argv)
    info = machine()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(int(size), Path(tmp) / f"n{size}") for size in args.sizes.split(",") if size]
    markdown = render(rows, command, info)
    print(markdown)
    if not args.no_write:
        write_section("engines", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
