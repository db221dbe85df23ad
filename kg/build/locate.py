"""Where a statement is written: (subject, predicate) -> file and line, read from the Turtle text.

Parsers hand back triples without positions, and a validation report that says "focus node X"
leaves a contributor searching. This module reads each Turtle file once more with a small
tokenizer that follows the Turtle grammar's structure (subject, predicate-object lists, blank-node
property lists, collections) and records the line where each subject starts and where each of its
predicates is written. https://www.w3.org/TR/turtle/#sec-grammar
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<dtmark>\^\^)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<bnode>_:[^\s;,.\[\]()]+(?<!\.))
  | (?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[^\s;,\[\]()"'<>\\]|\\.)*?(?=[\s;,\[\]()]|\.(?:\s|$)|$))
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<word>[A-Za-z][\w-]*)
  | (?P<punct>[.;,\[\]()])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

Key = str  # an IRI, or "_:anon-<file>-<n>" for a blank node written inline


@dataclass
class FileIndex:
    path: Path
    subjects: dict[Key, int] = field(default_factory=dict)  # subject -> first line it is a subject on
    statements: dict[tuple[Key, str], int] = field(default_factory=dict)  # (subject, predicate) -> first line
    objects: dict[tuple[Key, str, str], int] = field(default_factory=dict)  # (subject, predicate, object value) -> line

    def line_of(self, subject: str, predicate: str | None, value: str | None) -> int | None:
        """The most precise line known: of the object, else of the predicate, else of the subject."""
        if predicate is not None and value is not None and (subject, predicate, value) in self.objects:
            return self.objects[(subject, predicate, value)]
        if predicate is not None and (subject, predicate) in self.statements:
            return self.statements[(subject, predicate)]
        return self.subjects.get(subject)


@dataclass
class _Frame:
    subject: Key | None = None
    predicate: str | None = None


class _Reader:
    """One pass over a file's tokens."""

    def __init__(self, path: Path, text: str) -> None:
        self.index = FileIndex(path)
        self.prefixes: dict[str, str] = {}
        self.base = ""
        self.anon = 0
        self.tokens = [(m.lastgroup, m.group(), text.count("\n", 0, m.start()) + 1)
                       for m in _TOKEN.finditer(text) if m.lastgroup not in ("ws", "comment")]
        self.pos = 0

    def peek(self) -> tuple[str | None, str, int]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, "", 0)

    def take(self) -> tuple[str | None, str, int]:
        token = self.peek()
        self.pos += 1
        return token

    def term(self, kind: str | None, value: str) -> str:
        if kind == "iri":
            iri = value[1:-1]
            return iri if re.match(r"^[A-Za-z][\w+.-]*:", iri) or not self.base else self.base + iri
        if kind == "pname":
            prefix, _, local = value.partition(":")
            return self.prefixes.get(prefix, prefix + ":") + re.sub(r"\\(.)", r"\1", local)
        if kind == "word" and value == "a":
            return "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
        return value

    def object_value(self, kind: str | None, value: str) -> str:
        """An object as rdflib's ``str()`` gives it: the IRI, or a literal's lexical form (simple escapes undone)."""
        if kind == "string":
            quote = 3 if value[:3] in ('"""', "'''") else 1
            return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), value[quote:-quote])
        return self.term(kind, value)

    def run(self) -> FileIndex:
        while self.pos < len(self.tokens):
            kind, value, _ = self.peek()
            if kind == "lang" and value in ("@prefix", "@base") or kind == "word" and value.upper() in ("PREFIX", "BASE"):
                self.directive()
            else:
                self.statement()
        return self.index

    def directive(self) -> None:
        _, keyword, _ = self.take()
        if keyword.lower().lstrip("@") == "prefix":
            _, name, _ = self.take()
            _, iri, _ = self.take()
            self.prefixes[name.rstrip(":")] = iri[1:-1]
        else:
            _, iri, _ = self.take()
            self.base = iri[1:-1]
        if self.peek()[1] == ".":
            self.take()

    def statement(self) -> None:
        kind, value, line = self.take()
        if value == "[":
            subject = self.blank_node(line)
            if self.peek()[1] in (".",):
                self.take()
                return
        elif value == "(":
            self.skip_collection()
            subject = None
        else:
            subject = self.term(kind, value)
            self.index.subjects.setdefault(subject, line)
        self.predicate_object_list(subject, end=".")

    def blank_node(self, line: int) -> Key:
        self.anon += 1
        key = f"_:anon-{self.index.path.name}-{self.anon}"
        self.index.subjects.setdefault(key, line)
        if self.peek()[1] == "]":
            self.take()
            return key
        self.predicate_object_list(key, end="]")
        return key

    def skip_collection(self) -> None:
        depth = 1
        while depth and self.pos < len(self.tokens):
            value = self.take()[1]
            depth += {"(": 1, ")": -1}.get(value, 0)

    def predicate_object_list(self, subject: Key | None, end: str) -> None:
        while self.pos < len(self.tokens):
            kind, value, line = self.take()
            if value == end:
                return
            if value == ";":
                continue
            predicate = self.term(kind, value)
            if subject is not None:
                self.index.statements.setdefault((subject, predicate), line)
            self.object_list(subject, predicate)

    def object_list(self, subject: Key | None, predicate: str) -> None:
        while self.pos < len(self.tokens):
            kind, value, line = self.take()
            if value == "[":
                self.blank_node(line)
            elif value == "(":
                self.skip_collection()
            elif subject is not None:
                self.index.objects.setdefault((subject, predicate, self.object_value(kind, value)), line)
            if self.peek()[0] in ("lang",):
                self.take()
            elif self.peek()[0] == "dtmark":
                self.take()
                self.take()
            if self.peek()[1] == ",":
                self.take()
                continue
            return


def index_file(path: Path) -> FileIndex:
    """Positions of a file's statements. Call only on files that parse: positions of broken files are not needed."""
    return _Reader(path, path.read_text(encoding="utf-8")).run()
