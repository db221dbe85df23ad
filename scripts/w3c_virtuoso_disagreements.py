"""Write tests/w3c/virtuoso-disagreements.json: the W3C cases Virtuoso behind our layer answers unlike Oxigraph.

Runs tests/test_w3c_engine.py with its known disagreements ignored (``--runxfail``), and files each failing
case under a category read from the failure (Virtuoso's error code and message, or a wrong answer), with a
one-line reason. Review the biggest categories by hand afterwards: the file is the list the tests apply.

    python scripts/w3c_virtuoso_disagreements.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "tests" / "test_w3c_engine.py"
OUT = ROOT / "tests" / "w3c" / "virtuoso-disagreements.json"
#: (pattern in the failure, category): the first that matches names the category.
CATEGORIES = [
    (r"syntax error at 'BASE'", "Virtuoso 400: BASE only as the query's first declaration"),
    (r"Bad character '\\\\'", "Virtuoso 400: no escape in a prefixed name"),
    (r"cannot run it: Virtuoso 37000", "Virtuoso 400: a valid query it refuses"),
    (r"cannot run it", "Virtuoso 400: other"),
    (r"failed on it: Virtuoso (\w+) Error (\w+)", "error 500"),
    (r"assert \(?500 == 200", "error 500"),
    (r"assert \(?500 == 400", "error 500 where Oxigraph refuses (400)"),
    (r"assert \(?200 == 400", "answers where Oxigraph refuses"),
    (r"assert \(?\d+ == \d+", "another status"),
    (r"AssertionError: \w+\n.*assert (True|False) == (True|False)", "wrong answer: the other boolean"),
    (r"AssertionError: \w+\n.*assert \[", "wrong answer: other columns"),
    (r"AssertionError: \('(turtle|ntriples|jsonld|rdfxml)'", "wrong answer: other triples"),
    (r".", "wrong answer: other solutions"),
]

#: Reasons of wrong answers, reviewed by hand for the biggest groups (by the test's folder).
REVIEWED = {
    "sparql11/aggregates": "numeric aggregates typed or written otherwise (SUM/AVG as xsd:decimal, doubles as 30000.0)",
    "sparql11/functions": "other values (hashes of non-ASCII strings, numeric lexical forms, string functions on numbers)",
}


class Recorder:
    """Keeps each failing case's failure text (pytest's long representation, ``-vv``: untruncated)."""

    def __init__(self) -> None:
        self.failures: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" and report.failed and "[" in report.nodeid:
            self.failures[report.nodeid.split("[", 1)[1][:-1]] = str(report.longrepr)


def categorise(case: str, text: str) -> tuple[str, str]:
    """(category, one-line reason) of the failure of ``case``."""
    for pattern, category in CATEGORIES:
        if re.search(pattern, text):
            break
    if category.startswith("error 500"):
        if "answered what cannot be read" in text:
            return "error 500: an answer no parser reads", re.search(r"cannot be read: ([^\\\n']{0,100})", text).group(1)
        code = re.search(r"Virtuoso \w+ Error (\w+):? ?([^\\\n]{0,80})", text)
        category = f"error 500 {code.group(1)}" if code and category == "error 500" else category
        return category, code.group(2).strip() if code else "the engine failed on the query"
    if category == "Virtuoso 400: no escape in a prefixed name":
        return category, "Bad character '\\': no PN_LOCAL_ESC (\\. \\- …) in a local name"
    message = re.search(r"(?:SP\d+|Error \w+): ([^\\\n]{0,120})", text)
    if message and category.startswith("Virtuoso 400"):
        return category, message.group(1).strip()
    if category.startswith("wrong answer"):
        fmt = re.search(r"AssertionError: \(?'(\w+)'", text)
        generic = f"the answer differs from Oxigraph's ({fmt.group(1) if fmt else 'every'} format)"
        if category.endswith("other solutions"):
            return category, REVIEWED.get(case.split("/manifest")[0], generic)
        return category, generic
    line = re.search(r"^E\s+(.+)$", text, re.MULTILINE)
    return category, (line.group(1) if line else "")[:120]


def main() -> int:
    recorder = Recorder()
    pytest.main(["-q", "-vv", "-p", "no:cacheprovider", "--runxfail", "-o", "console_output_style=classic",
                 "--no-header", "-rN", "--tb=long", str(MODULE)], plugins=[recorder])
    entries = {case: dict(zip(("category", "reason"), categorise(case, text))) for case, text in sorted(recorder.failures.items())}
    OUT.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(entries)} disagreements written to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
