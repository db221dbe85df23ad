"""Incremental rebuilds: what a rebuild after one changed file costs, and what caching parsed graphs would save.

    python benchmarks/incremental.py FOLDER [--no-write]

FOLDER is a project that `kg build` has built (say `kg synth /tmp/n1m --triples 1000000`, then
`kg build`). The script

1. runs `kg build` on it unchanged (it finds the snapshot up to date and does nothing), then after
   appending a comment to one data file (`kg build --timings`: what is redone), and restores the file;
2. measures, in this process, the CPU time of parsing every source file as Turtle into the build's
   in-memory store, against loading the same graphs from N-Triples, which is what a cache of parsed
   graphs keyed by content hash would hold (Oxigraph's own serialisation, loaded without re-checking).
   The difference is the most such a cache could save on any rebuild.

Results go to the "incremental" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, machine_markdown, versions, write_section  # noqa: E402

from kg.build.load import LoadedGraphs, source_files  # noqa: E402
from kg.config import load_settings  # noqa: E402


def kg_build(folder: Path, *flags: str) -> tuple[float, str]:
    """Wall seconds of one `kg build`, and what it printed (stage timings on stderr)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kg.cli", "--root", str(folder), "build", *flags],
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout + done.stderr


def cpu(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def parse_costs(folder: Path) -> tuple[float, float, int]:
    """CPU seconds to load every graph from its Turtle files, and from N-Triples; and the triples loaded."""
    graphs = source_files(load_settings({"root": folder}))
    loaded = LoadedGraphs()
    turtle = cpu(lambda: [loaded.load_file(iri, path) for iri, paths in graphs.items() for path in paths])
    cached = {iri: loaded.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(iri)) for iri in graphs}
    fresh = ox.Store()

    def from_cache() -> None:
        for iri, data in cached.items():
            fresh.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri), lenient=True)
            fresh.update(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")  # the union, as load_file keeps it

    return turtle, cpu(from_cache), len(loaded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    info, libs = machine(), versions(["pyoxigraph"])

    unchanged_s, unchanged_out = kg_build(args.folder)
    if "up to date" not in unchanged_out:
        parser.error(f"{args.folder} was not built: run `kg build` on it first")
    changed = sorted((args.folder / "data").glob("*.ttl"))[0]
    original = changed.read_bytes()
    try:
        changed.write_bytes(original + b"\n# changed\n")
        rebuild_s, rebuild_out = kg_build(args.folder, "--timings")
    finally:
        changed.write_bytes(original)
    stages = re.findall(r"^(\w+)\s+([\d.]+) s\s+cpu\s+([\d.]+) s", rebuild_out, re.MULTILINE)
    turtle_cpu, cache_cpu, triples = parse_costs(args.folder)

    command = command_line("incremental.py", argv)
    lines = [f"Command: `{command}` ({triples:,} triples in the loaded graphs)", "", machine_markdown(info, libs), "",
             "| step | wall s | CPU s |", "|---|--:|--:|",
             f"| `kg build`, nothing changed (up to date: does nothing) | {unchanged_s:.2f} | – |",
             f"| `kg build` after one data file changed ({changed.name}) | {rebuild_s:.1f} | – |"]
    lines += [f"| … its stage {name} | {wall} | {cpu_s} |" for name, wall, cpu_s in stages]
    lines += [f"| parse every source file (Turtle) into the build's store, with the asserted union | – | {turtle_cpu:.2f} |",
              f"| the same graphs from N-Triples, as a parse cache would hold them | – | {cache_cpu:.2f} |",
              f"| the most a parse cache could save | – | {turtle_cpu - cache_cpu:.2f} |"]
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if not args.no_write:
        write_section("incremental", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
