"""The W3C SPARQL 1.0/1.1 query tests through our layer in front of each engine: how many answer as Oxigraph.

Runs tests/test_w3c_query_suite.py (the embedded store) and tests/test_w3c_engine.py (`kg serve --engine`
before Virtuoso 7.2), whose known disagreements are strict xfails read from
tests/w3c/virtuoso-disagreements.json; a green run means every other case agrees and every listed one
still disagrees, so the counts below are the data file's, checked. Prints the section; ``--write`` puts it
in BENCHMARKS.md ("w3c-engines").

    python benchmarks/w3c_engines.py --write
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line, machine, machine_markdown, versions, write_section  # noqa: E402

SECTION = "w3c-engines"
DISAGREEMENTS = ROOT / "tests" / "w3c" / "virtuoso-disagreements.json"
MODULES = {"embedded (pyoxigraph)": "tests/test_w3c_query_suite.py", "Virtuoso 7.2 (`kg serve --engine`)": "tests/test_w3c_engine.py"}


def run(module: str) -> str:
    """pytest's summary line of ``module``; raises if the run is not green (an agreement or disagreement changed)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    summary = done.stdout.strip().splitlines()[-1]
    if done.returncode != 0:
        raise SystemExit(f"{module} is not green ({summary}): run scripts/w3c_virtuoso_disagreements.py and review")
    return summary.strip("= ")


def render(summaries: dict[str, str], cases: int, refused: int, argv: list[str] | None) -> str:
    listed = json.loads(DISAGREEMENTS.read_text(encoding="utf-8"))
    by_category: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for case, entry in sorted(listed.items()):
        by_category[entry["category"]].append((case, entry["reason"]))
    lines = ["## The W3C query tests through each engine", "",
             f"`{command_line('w3c_engines.py', argv)}`", "",
             machine_markdown(machine(), versions(["pyoxigraph"])), "",
             (f"{cases} cases of the vendored W3C SPARQL 1.0/1.1 suite (query evaluation and positive syntax tests), "
              "each answer compared with bare Oxigraph's in every format (tests/test_w3c_query_suite.py)."), "",
             "| engine | pytest | refused by design | agree | disagree |", "|---|---|---|---|---|",
             f"| embedded (pyoxigraph) | {summaries['embedded (pyoxigraph)']} | {refused} | {cases - refused} | 0 |",
             (f"| Virtuoso 7.2 (`kg serve --engine`) | {summaries['Virtuoso 7.2 (`kg serve --engine`)']} | {refused} | "
              f"{cases - refused - len(listed)} | {len(listed)} |"), "",
             "Refused by design: SERVICE (403) and FROM of a graph the release does not hold (400), before any "
             "engine sees the query (REFUSED in tests/test_w3c_query_suite.py).", "",
             "Virtuoso's disagreements by category (tests/w3c/virtuoso-disagreements.json):", "",
             "| category | cases |", "|---|---|"]
    ordered = sorted(by_category.items(), key=lambda item: (-len(item[1]), item[0]))
    lines += [f"| {category} | {len(entries)} |" for category, entries in ordered]
    for category, entries in ordered:
        lines += ["", f"<details><summary>{category} ({len(entries)})</summary>", ""]
        lines += [f"- `{case}`: {reason}" for case, reason in entries]
        lines += ["", "</details>"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from test_w3c_query_suite import CASES, REFUSED

    summaries = {name: run(module) for name, module in MODULES.items()}
    markdown = render(summaries, len(CASES), len(REFUSED), argv)
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
