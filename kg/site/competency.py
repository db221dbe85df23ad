"""Competency questions: named SPARQL files in ``queries/``, each with its expected result beside it.

``cqNN-what-it-answers.rq`` is checked against ``cqNN-what-it-answers.tsv`` (SPARQL 1.1 TSV results,
so typed literals and language tags are compared exactly). Rows are compared in order when the
query has an ORDER BY, and as a multiset otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.query.store import GraphStore

_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)


@dataclass(frozen=True)
class CompetencyQuestion:
    path: Path
    text: str  # read once: the server offers the same examples on every request

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        """A readable short name for links and editor tabs: ``cq01-conference-hosts`` → ``CQ01 Conference hosts``."""
        code, _, words = self.name.partition("-")
        words = words.replace("-", " ")
        return f"{code.upper()} {words[:1].upper()}{words[1:]}".strip()

    @property
    def question(self) -> str:
        """The comment lines at the top of the file, joined: the research question it answers."""
        lines = []
        for line in self.text.splitlines():
            if not line.startswith("#"):
                break
            lines.append(line.lstrip("# ").strip())
        return " ".join(lines)

    @property
    def expected_path(self) -> Path:
        return self.path.with_suffix(".tsv")

    @property
    def ordered(self) -> bool:
        return bool(_ORDER_BY.search(self.text))

    def answer(self, store: GraphStore) -> str:
        result = store.query(self.text)
        return (result.serialize(format=ox.QueryResultsFormat.TSV) or b"").decode("utf-8")


def questions(folder: Path) -> list[CompetencyQuestion]:
    return [CompetencyQuestion(p, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.rq"))]


def rows(tsv: str) -> list[str]:
    return [line for line in tsv.splitlines() if line]


def matches(question: CompetencyQuestion, actual: str, expected: str) -> bool:
    got, want = rows(actual), rows(expected)
    if not got or not want or got[0] != want[0]:
        return got == want
    if question.ordered:
        return got == want
    return got[0] == want[0] and sorted(got[1:]) == sorted(want[1:])
