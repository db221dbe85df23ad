"""What `kg validate` costs as the data grows: the shipped data copied k times under fresh IRIs.

Every instance IRI of a copy gets the suffix ``-c<n>`` (vocabulary concepts and schemes are shared,
as a real, larger graph would share them), so the copies are k independent sets of cities, events,
people and memberships with the shipped data's shape. Each stage is timed on its own, in this order:
parse, SHACL on the asserted data, quality checks, OWL 2 RL reasoning, SHACL on the closure, locating.
A realistic generator for 10^4..10^7 triples is the subject of another issue; this measures the
validator itself at the sizes where pySHACL's cost starts to show.

    python benchmarks/validate_scaling.py [--copies 1,4,16] [--no-write]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, machine_markdown, versions, write_section  # noqa: E402

from kg.build import Pipeline  # noqa: E402
from kg.checks import run_checks  # noqa: E402
from kg.config import load_settings  # noqa: E402
from kg.validate import Locator, run_shacl  # noqa: E402

SHARED_KINDS = ("theme", "role", "concept", "scheme", "source", "country")
_INSTANCE = re.compile(r"(https://w3id\.org/integrating-cities/id/(?!(?:%s)/)[a-z]+/[a-z0-9-]+)" % "|".join(SHARED_KINDS))
_PNAME_KINDS = "city|region|place|organisation|partnership|project|initiative|work|news|person|membership|post|event|count|objective|funding"
_PNAME = re.compile(r"(?<![\w/<])((?:%s):[a-z0-9][a-z0-9-]*)(?=[\s;,.\]\)])" % _PNAME_KINDS)


def make_copies(target: Path, copies: int) -> None:
    for folder in ("ontology", "shapes", "checks"):
        shutil.copytree(ROOT / folder, target / folder)
    (target / "data").mkdir()
    for path in sorted((ROOT / "data").glob("*.ttl")):
        text = path.read_text(encoding="utf-8")
        if path.stem == "vocabulary":
            (target / "data" / path.name).write_text(text, encoding="utf-8")
        elif path.stem == "sources":  # described once; its publishers are those of the first copy
            (target / "data" / path.name).write_text(_rename(text, 0), encoding="utf-8")
        else:
            for n in range(copies):
                (target / "data" / f"{path.stem}-c{n}.ttl").write_text(_rename(text, n), encoding="utf-8")


def _rename(text: str, n: int) -> str:
    text = _PNAME.sub(lambda m: f"{m.group(1)}-c{n}", text)
    return _INSTANCE.sub(lambda m: f"{m.group(1)}-c{n}", text)


def measure(copies: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_copies(root, copies)
        settings = load_settings({"root": root}, environ={})
        times: dict[str, float] = {}
        started = time.perf_counter()
        pipeline = Pipeline.load(settings)
        times["parse"] = time.perf_counter() - started
        data = pipeline.asserted_data()
        times["triples"] = len(data)
        started = time.perf_counter()
        asserted, _ = run_shacl(data, pipeline.shapes, pipeline.ontology)
        times["shacl asserted"] = time.perf_counter() - started
        started = time.perf_counter()
        run_checks(data, pipeline.ontology, settings.checks_dir)
        times["checks"] = time.perf_counter() - started
        started = time.perf_counter()
        inferred = pipeline.infer()
        times["reason"] = time.perf_counter() - started
        for triple in inferred:
            data.add(triple)
        started = time.perf_counter()
        run_shacl(data, pipeline.shapes, pipeline.ontology)
        times["shacl closure"] = time.perf_counter() - started
        started = time.perf_counter()
        Locator(pipeline.loaded, root)
        times["locate"] = time.perf_counter() - started
        times["violations"] = len(asserted)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", default="1,4,16")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    info = machine()
    rows = []
    for k in (int(c) for c in args.copies.split(",")):
        times = measure(k)
        print(k, times, file=sys.stderr)
        rows.append((k, times))
    stages = ["parse", "shacl asserted", "checks", "reason", "shacl closure", "locate"]
    table = ["| copies | data triples | " + " | ".join(stages) + " | total | violations |",
             "|--:|--:|" + "--:|" * (len(stages) + 2)]
    for k, t in rows:
        total = sum(t[s] for s in stages)
        table.append(f"| {k} | {int(t['triples']):,} | " + " | ".join(f"{t[s]:.2f} s" for s in stages)
                     + f" | {total:.1f} s | {int(t['violations'])} |")
    base = rows[0][1]
    growth = [f"{k}× data: total {sum(t[s] for s in stages) / sum(base[s] for s in stages):.1f}×, "
              f"SHACL on the asserted data {t['shacl asserted'] / base['shacl asserted']:.1f}×, "
              f"reasoning {t['reason'] / base['reason']:.1f}×" for k, t in rows[1:]]
    body = "\n".join([
        f"Command: `python benchmarks/validate_scaling.py --copies {args.copies}`",
        "",
        machine_markdown(info, versions(["pyshacl", "owlrl", "rdflib", "pyoxigraph"])),
        "",
        *table,
        "",
        "Growth against one copy: " + ("; ".join(growth) if growth else "(one size only)") + ".",
    ])
    print(body)
    if not args.no_write:
        write_section("validate-scaling", body)


if __name__ == "__main__":
    main()
