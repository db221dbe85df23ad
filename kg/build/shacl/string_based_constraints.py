"""String-based constraint components, https://www.w3.org/TR/shacl/#core-components-string.

sh:pattern (with sh:flags), sh:minLength, sh:maxLength and sh:languageIn, tests of one value node,
and sh:uniqueLang, a constraint on the values of a path. sh:pattern is an UncertainTest: Python's re
(pySHACL's) and Oxigraph's regex must read the pattern alike (:func:`portable_pattern` refuses the
others), and the strings they match differently are matched in Python. So are the lengths of
literals other than strings, whose lexical form rdflib may write otherwise than Oxigraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import pyoxigraph as ox
from rdflib import BNode, Literal
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, Test, UncertainTest, UnsupportedShape, string

#: Escapes that Python's re and Rust's regex read alike (letters other than these differ or are refused).
PORTABLE_ESCAPES = set("dDntr")


@dataclass(frozen=True)
class PatternTest(UncertainTest):
    pattern: str
    flags: str  # the flags pySHACL applies: "i" and/or "m"
    component = "PatternConstraintComponent"

    def known(self, x: str) -> str:
        odd = ["\n", "İ", "ı"] if "i" in self.flags else ["\n"]
        plain = " && ".join(f"!CONTAINS(STR({x}), {string(c)})" for c in odd)
        return f"!isLiteral({x}) || (DATATYPE({x}) IN ({XSD.string.n3()}, {RDF.langString.n3()}) && {plain})"

    def verdict(self, x: str) -> str:
        return f"!isBlank({x}) && REGEX(STR({x}), {string(self.pattern)}, {string(self.flags)})"

    def decide(self, value: Node) -> bool:
        """pySHACL's PatternConstraintComponent on one value."""
        if isinstance(value, BNode):
            return False
        return self.regex().search(_string_of(value)) is not None

    def regex(self) -> re.Pattern:
        return re.compile(self.pattern, (re.I if "i" in self.flags else 0) | (re.M if "m" in self.flags else 0))


def _string_of(value: Node) -> str:
    """The string pySHACL matches a pattern against."""
    if isinstance(value, Literal) and value.value is not None and value.datatype in (None, RDF.langString, XSD.string):
        return str(value.value)
    return str(value)


def portable_pattern(pattern: Node, flags: str, shape: Node) -> str:
    """The pattern, if Python's re and Oxigraph's regex read it alike; else UnsupportedShape.

    Refused: escapes other than of punctuation and \\d \\D \\n \\t \\r (\\w, \\s, \\b differ on
    non-ASCII text), class set operations and POSIX classes ("[[", "&&", "--", "~~"), groups other
    than (...) and (?:...), and non-ASCII characters under the "i" flag.
    """
    text = str(pattern)
    for escape in re.findall(r"\\(.)", text):
        if escape.isalnum() and escape not in PORTABLE_ESCAPES:
            raise UnsupportedShape(f"the escape \\{escape} in sh:pattern {text!r}", shape)
    if any(op in text for op in ("[[", "&&", "--", "~~")) or re.search(r"(?<!\\)\(\?(?!:)", text):
        raise UnsupportedShape(f"sh:pattern {text!r}: class set operations, POSIX classes or special groups", shape)
    if "i" in flags and not text.isascii():
        raise UnsupportedShape(f"sh:pattern {text!r}: non-ASCII characters with the 'i' flag", shape)
    try:
        re.compile(text)
    except re.error as error:
        raise UnsupportedShape(f"sh:pattern {text!r} is not a Python regular expression ({error})", shape) from None
    probe = next(iter(ox.Store().query(f"SELECT (REGEX(\"\", {string(text)}, {string(flags)}) AS ?ok) WHERE {{}}")))
    if probe["ok"] is None:
        raise UnsupportedShape(f"sh:pattern {text!r} is not a regular expression Oxigraph reads", shape)
    return text


@dataclass(frozen=True)
class LengthTest(UncertainTest):
    """sh:minLength (``at_most`` False) or sh:maxLength: the length of the value's string; a blank node fails."""

    limit: int
    at_most: bool

    @property
    def component(self) -> str:  # type: ignore[override]
        return "MaxLengthConstraintComponent" if self.at_most else "MinLengthConstraintComponent"

    def known(self, x: str) -> str:
        return f"!isLiteral({x}) || DATATYPE({x}) IN ({XSD.string.n3()}, {RDF.langString.n3()})"

    def verdict(self, x: str) -> str:
        return f"!isBlank({x}) && STRLEN(STR({x})) {'<=' if self.at_most else '>='} {self.limit}"

    def decide(self, value: Node) -> bool:
        """pySHACL's Min/MaxLengthConstraintComponent on one value."""
        if isinstance(value, BNode):
            return False
        length = len(str(value))
        return length <= self.limit if self.at_most else length >= self.limit


@dataclass(frozen=True)
class LanguageInTest(Test):
    languages: tuple[str, ...]  # lower case, as pySHACL compares them
    component = "LanguageInConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        tagged = f"isLiteral({x}) && LANG({x}) != \"\""
        if "*" in self.languages:
            return f"({tagged})"
        listed = ", ".join(string(lang) for lang in self.languages)
        first = f"LCASE(STRBEFORE(CONCAT(LANG({x}), \"-\"), \"-\"))"
        return f"({tagged} && (LCASE(LANG({x})) IN ({listed}) || {first} IN ({listed})))"


@dataclass(frozen=True)
class UniqueLangConstraint(Constraint):
    """sh:uniqueLang true: one result per language tag (case ignored) used by two values."""

    source: Source
    focus: Focus

    def query(self, run: Run) -> str:
        return (f"SELECT ?this ?lang WHERE {{ {{ SELECT ?this ?lang WHERE {{ ?this {self.source.path.n3()} ?v "
                f"FILTER(isLiteral(?v) && LANG(?v) != \"\") BIND(LCASE(LANG(?v)) AS ?lang) }} GROUP BY ?this ?lang "
                f"HAVING (COUNT(DISTINCT ?v) > 1) }} FILTER({self.focus.contains('?this', run)}) }}")

    def violations(self, run: Run) -> Iterator[Violation]:
        for row in run.query(self.query(run)):
            yield self.source.violation("UniqueLangConstraintComponent", row["this"], None)
