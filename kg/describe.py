"""What the graph says about one resource: its description, as RDF for programs and as a page model for people.

A :class:`Description` is assembled from the serving store with a few bounded SPARQL queries:

1. the resource's own triples in every named graph — asserted graphs and ``graph:inferred`` — and the
   triples of the blank nodes it points to (the ``ic:Period`` of a membership);
2. the ``rdfs:label`` of every resource it links to (objects, types, and the subjects linking to it);
3. the inbound triples ("mentioned by"), asserted ones only, at most :data:`INBOUND_LIMIT` of them,
   with the total count and a SPARQL query for the rest (the inferred inbound triples restate the
   asserted ones in standard vocabularies and are only counted);
4. provenance: for every named graph holding one of these triples, the source document it
   comes from (``?graph ic:graphSource ?source`` in ``graph:sources``).

As RDF the description is a set of quads, each in the named graph that holds it in the snapshot, so
TriG and N-Quads keep asserted and inferred facts and their sources apart; the triple formats
(Turtle, N-Triples, RDF/XML, JSON-LD) are the same quads with the graph names dropped. JSON-LD is
written here, compacted with a ``@context`` made of our prefixes (:data:`kg.namespaces.PREFIXES`),
because pyoxigraph's JSON-LD writer ignores prefixes.
"""

from __future__ import annotations

import calendar
import heapq
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator
from urllib.parse import quote

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.store import GraphStore, Scope

#: Most inbound triples a description lists; the rest are counted and reachable through a SPARQL query.
INBOUND_LIMIT = 250
#: Most own triples (and blank-node triples) read for one resource, a guard against runaway hubs.
OWN_LIMIT = 5000

RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
XSD = PREFIXES["xsd"]
IC = PREFIXES["ic"]
SKOS = PREFIXES["skos"]
SCHEMA = PREFIXES["schema"]
RDF_TYPE = ox.NamedNode(RDF + "type")
RDFS_LABEL = ox.NamedNode(RDFS + "label")
SCHEMA_NAME = ox.NamedNode(SCHEMA + "name")
XSD_STRING = XSD + "string"
RDF_LANGSTRING = RDF + "langString"
SOURCES_GRAPH = "graph/sources"
#: Labels for the few standard terms our data uses as stated properties (the others show as CURIEs).
TERM_LABELS = {RDF + "type": "type", RDFS + "label": "label", RDFS + "comment": "comment", SKOS + "altLabel": "also known as",
               SKOS + "prefLabel": "preferred label", SKOS + "inScheme": "in scheme", SKOS + "broader": "broader concept",
               SKOS + "narrower": "narrower concept", SKOS + "definition": "definition", SKOS + "topConceptOf": "top concept of",
               SKOS + "hasTopConcept": "top concept"}

#: Triple formats: suffix → (media type, pyoxigraph format; None for our JSON-LD writer).
TRIPLE_FORMATS: dict[str, tuple[str, ox.RdfFormat | None]] = {
    "ttl": ("text/turtle", ox.RdfFormat.TURTLE),
    "jsonld": ("application/ld+json", None),
    "nt": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    "rdf": ("application/rdf+xml", ox.RdfFormat.RDF_XML),
}
#: Quad formats, which keep each triple in its named graph.
QUAD_FORMATS: dict[str, tuple[str, ox.RdfFormat]] = {
    "trig": ("application/trig", ox.RdfFormat.TRIG),
    "nq": ("application/n-quads", ox.RdfFormat.N_QUADS),
}
RDF_SUFFIXES = {**TRIPLE_FORMATS, **QUAD_FORMATS}
FORMAT_NAMES = {"ttl": "Turtle", "jsonld": "JSON-LD", "nt": "N-Triples", "rdf": "RDF/XML", "trig": "TriG",
                "nq": "N-Quads", "html": "HTML"}

#: N-ary nodes: class → (property to the member or holder, property to the organisation).
NARY = {IC + "Membership": (IC + "member", IC + "organisation"), IC + "Affiliation": (IC + "member", IC + "organisation"),
        IC + "Post": (IC + "heldBy", IC + "postIn")}
DATE_PROPERTIES = ("startDate", "endDate", "datePublished", "launchDate", "asOf")


# ---------------------------------------------------------------------------------------------
# Terms and labels
# ---------------------------------------------------------------------------------------------

def sparql_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    """A term as SPARQL/N-Triples syntax (IRIs from the store are safe to embed between < >)."""
    return str(term)


def curie(iri: str) -> str:
    """``prefix:local`` for an IRI in one of our namespaces (the longest matching one), else the IRI."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            local = iri[len(namespace):]
            if local and "/" not in local and "#" not in local:
                best = prefix
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else iri


def pick_label(literals: Iterable[ox.Literal]) -> str | None:
    """English first, then untagged, then any language; ties broken by the text, so the choice is stable."""
    ranked = sorted(literals, key=lambda lit: ({"en": 0, None: 1}.get(lit.language, 2), lit.language or "", lit.value))
    return ranked[0].value if ranked else None


def fallback_label(iri: str) -> str:
    """A readable name for an IRI without a label: its last path segment, or its CURIE."""
    local = iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return local.replace("-", " ") if local else iri


def natural(text: str) -> list:
    """A sort key that puts "Workshop 2" before "Workshop 10"."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def fold(text: str) -> str:
    """Lower case without accents, for matching labels against what a person typed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

def _parts(value: str) -> tuple[int | None, int | None, int | None]:
    """(year, month, day) of an xsd date, gYearMonth or gYear lexical form (time zone ignored)."""
    core = value[1:] if value.startswith("-") else value
    core = core.split("T", 1)[0][:10]
    pieces = core.split("-")
    try:
        year = int(pieces[0]) * (-1 if value.startswith("-") else 1)
        month = int(pieces[1][:2]) if len(pieces) > 1 else None
        day = int(pieces[2][:2]) if len(pieces) > 2 else None
    except (ValueError, IndexError):
        return None, None, None
    if month is not None and not 1 <= month <= 12:
        return None, None, None
    return year, month, day


def format_date(value: str, datatype: str = XSD + "date") -> str:
    """``2017-07-06`` → ``6 July 2017``; ``2016-04`` → ``April 2016``; ``2006`` → ``2006``; others unchanged."""
    if datatype not in (XSD + "date", XSD + "gYearMonth", XSD + "gYear", XSD + "dateTime"):
        return value
    year, month, day = _parts(value)
    if year is None:
        return value
    text = str(year)
    if month is not None:
        text = f"{calendar.month_name[month]} {text}"
    if day is not None:
        text = f"{day} {text}"
    if datatype == XSD + "dateTime" and "T" in value:
        text += ", " + value.split("T", 1)[1][:5]
    return text


def format_range(start: ox.Literal | None, end: ox.Literal | None) -> str:
    """A period for people: ``2–3 April 2009``, ``30 March – 2 April 2009``, ``from 2006``, ``until 2019``."""
    if start is None and end is None:
        return ""
    if start is None:
        return f"until {format_date(end.value, end.datatype.value)}"  # type: ignore[union-attr]
    if end is None:
        return f"from {format_date(start.value, start.datatype.value)}"
    if start.value == end.value:
        return format_date(start.value, start.datatype.value)
    (y1, m1, d1), (y2, m2, d2) = _parts(start.value), _parts(end.value)
    if None not in (y1, m1, d1, y2, m2, d2) and y1 == y2:
        if m1 == m2:
            return f"{d1}–{d2} {calendar.month_name[m2]} {y2}"  # type: ignore[index]
        return f"{d1} {calendar.month_name[m1]} – {d2} {calendar.month_name[m2]} {y2}"  # type: ignore[index]
    return f"{format_date(start.value, start.datatype.value)} – {format_date(end.value, end.datatype.value)}"


def event_range(start: ox.Literal | None, end: ox.Literal | None) -> str:
    """An event's dates: one day when there is no end date (an event has a start, not an open period)."""
    if start is not None and end is None:
        return format_date(start.value, start.datatype.value)
    return format_range(start, end)


# ---------------------------------------------------------------------------------------------
# The description
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GraphInfo:
    """One named graph and the source document it comes from, for provenance notes."""

    iri: str
    label: str
    short: str  # badge text: "000" for source 000, else the graph's label
    source: str | None = None
    source_label: str | None = None
    inferred: bool = False


@dataclass
class Linked:
    """What a page shows about a resource the described one links to (or is linked from)."""

    iri: str
    label: str
    types: list[str] = field(default_factory=list)  # asserted classes (IRIs)
    dates: dict[str, ox.Literal] = field(default_factory=dict)  # local name of a date property → value


@dataclass
class NaryRow:
    """A membership, affiliation or post that involves the described resource."""

    node: str
    kind: str  # class IRI
    member: list[str] = field(default_factory=list)
    organisation: list[str] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    as_of: list[ox.Literal] = field(default_factory=list)
    start: ox.Literal | None = None
    end: ox.Literal | None = None
    attested_at: list[str] = field(default_factory=list)


@dataclass
class Description:
    iri: str
    own: dict[tuple[ox.NamedNode, ox.Term], list[str]]  # (predicate, object) → graph IRIs, in graph order
    blank: dict[ox.BlankNode, dict[tuple[ox.NamedNode, ox.Term], list[str]]]
    inbound: dict[tuple[ox.NamedNode, ox.NamedNode], list[str]]  # (subject, predicate) → asserted graphs
    inbound_total: int  # asserted inbound triples
    inbound_inferred: int  # inferred inbound triples (not listed)
    linked: dict[str, Linked]  # labels, types and dates of every IRI the description mentions
    label_quads: list[ox.Quad]
    provenance_quads: list[ox.Quad]
    graphs: dict[str, GraphInfo]
    nary_as_member: list[NaryRow]
    nary_as_organisation: list[NaryRow]
    collective_funders: list[str]

    # -- RDF ------------------------------------------------------------------------------------

    def quads(self) -> list[ox.Quad]:
        """Every quad of the description, each in the named graph holding it; sorted, without duplicates."""
        subject = ox.NamedNode(self.iri)
        out: set[ox.Quad] = set()
        for (p, o), graphs in self.own.items():
            out.update(ox.Quad(subject, p, o, ox.NamedNode(g)) for g in graphs)
        for node, facts in self.blank.items():
            for (p, o), graphs in facts.items():
                out.update(ox.Quad(node, p, o, ox.NamedNode(g)) for g in graphs)
        for (s, p), graphs in self.inbound.items():
            out.update(ox.Quad(s, p, subject, ox.NamedNode(g)) for g in graphs)
        out.update(self.label_quads)
        out.update(self.provenance_quads)
        return sorted(out, key=str)

    def triples(self) -> list[ox.Triple]:
        """The description as triples: the quads without their graph names."""
        return sorted({ox.Triple(q.subject, q.predicate, q.object) for q in self.quads()}, key=str)

    def serialize(self, suffix: str) -> bytes:
        """The description in one of :data:`RDF_SUFFIXES`."""
        if suffix in QUAD_FORMATS:
            fmt = QUAD_FORMATS[suffix][1]
            options = {"prefixes": PREFIXES} if fmt == ox.RdfFormat.TRIG else {}
            return ox.serialize(self.quads(), format=fmt, **options) or b""
        fmt = TRIPLE_FORMATS[suffix][1]
        if fmt is None:
            return json.dumps(to_jsonld(self.triples(), self.iri), ensure_ascii=False, indent=1).encode("utf-8")
        options = {"prefixes": PREFIXES} if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else {}
        return ox.serialize(self.triples(), format=fmt, **options) or b""

    # -- convenience --------------------------------------------------------------------------

    def label(self) -> str:
        own = [o for (p, o), _ in self.own.items() if p == RDFS_LABEL and isinstance(o, ox.Literal)]
        return pick_label(own) or fallback_label(self.iri)

    def values(self, predicate: str, asserted_only: bool = True) -> list[ox.Term]:
        return [o for (p, o), graphs in self.own.items() if p.value == predicate
                and (not asserted_only or any(not self.graphs[g].inferred for g in graphs if g in self.graphs))]

    def asserted_types(self) -> list[str]:
        return sorted({o.value for o in self.values(RDF + "type") if isinstance(o, ox.NamedNode)})


class Describer:
    """Builds descriptions from one read-only store; holds what is the same for every description."""

    def __init__(self, store: GraphStore, base_iri: str) -> None:
        self.store = store
        self.base = base_iri
        self.inferred_graph = store.inferred_graph.value
        self.graphs = self._graph_infos()

    def _graph_infos(self) -> dict[str, GraphInfo]:
        rows = self.store.query("""
            SELECT ?g ?label ?source ?sourceLabel ?file WHERE {
              GRAPH graph:sources { ?g a ic:DataGraph . OPTIONAL { ?g rdfs:label ?label }
                OPTIONAL { ?g ic:graphSource ?source . OPTIONAL { ?source rdfs:label ?sourceLabel }
                           OPTIONAL { ?source ic:fileName ?file } } }
            }""")
        infos: dict[str, GraphInfo] = {}
        for row in rows:
            g = row["g"].value
            label = row["label"].value if row["label"] else fallback_label(g)
            source = row["source"].value if row["source"] else None
            file = row["file"].value if row["file"] else ""
            short = file.split("_", 1)[0] if file[:3].isdigit() else fallback_label(g)
            infos[g] = GraphInfo(g, label, short, source, row["sourceLabel"].value if row["sourceLabel"] else None,
                                 inferred=g == self.inferred_graph)
        for g in self.store.named_graphs:
            infos.setdefault(g.value, GraphInfo(g.value, fallback_label(g.value), fallback_label(g.value),
                                                inferred=g.value == self.inferred_graph))
        return infos

    def describe(self, iri: str) -> Description | None:
        """The description of ``iri``, or None if the graph neither says anything about it nor links to it."""
        try:
            node = ox.NamedNode(iri)  # rejects what is not an IRI (a ">" or a space in the path), so ref is safe
        except ValueError:
            return None
        ref = sparql_term(node)
        own: dict[tuple[ox.NamedNode, ox.Term], list[str]] = defaultdict(list)
        for row in self.store.query(f"SELECT ?g ?p ?o WHERE {{ GRAPH ?g {{ {ref} ?p ?o }} }} LIMIT {OWN_LIMIT}"):
            own[(row["p"], row["o"])].append(row["g"].value)
        blank: dict[ox.BlankNode, dict[tuple[ox.NamedNode, ox.Term], list[str]]] = defaultdict(lambda: defaultdict(list))
        if any(isinstance(o, ox.BlankNode) for _, o in own):
            query = (f"SELECT DISTINCT ?b ?g ?p ?o WHERE {{ GRAPH ?g0 {{ {ref} ?p0 ?b }} FILTER(isBlank(?b)) "
                     f"GRAPH ?g {{ ?b ?p ?o }} }} LIMIT {OWN_LIMIT}")
            for row in self.store.query(query):
                blank[row["b"]][(row["p"], row["o"])].append(row["g"].value)
        inbound, inbound_total = self._inbound(ref)
        if not own and not inbound:
            return None
        inbound_inferred = self._count(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p {ref} }}", Scope.INFERRED)

        as_member = self._nary(ref, member_side=True)
        as_organisation = self._nary(ref, member_side=False)
        funders = [row["f"].value for row in self.store.query(
            f"SELECT DISTINCT ?f WHERE {{ ?cf ic:fundedProject {ref} ; ic:funder ?f }}", Scope.ASSERTED)]

        # Every IRI a page or the RDF mentions: objects, subjects linking here, n-ary parts.
        linked: set[str] = set()
        for (p, o) in own:
            if isinstance(o, ox.NamedNode):
                linked.add(o.value)
        for facts in blank.values():
            linked.update(o.value for (_, o) in facts if isinstance(o, ox.NamedNode))
        linked.update(s.value for (s, _) in inbound)
        rdf_linked = set(linked)
        for row in as_member + as_organisation:
            linked.update([row.node, *row.member, *row.organisation, *row.role, *row.attested_at])
        linked.update(funders)
        linked.discard(iri)

        label_quads = self._label_quads(rdf_linked)
        details = self._details(linked | {iri})
        predicates = {p.value for (p, _) in own} | {p.value for (_, p) in inbound}
        predicates |= {p.value for facts in blank.values() for (p, _) in facts}
        extra = predicates | {t for d in details.values() for t in d.types}
        terms = extra - set(details)
        labels = self._labels(terms)
        for term_iri in terms:
            details[term_iri] = Linked(term_iri, labels.get(term_iri) or TERM_LABELS.get(term_iri) or curie(term_iri))

        used_graphs = {g for graphs in own.values() for g in graphs} | {g for graphs in inbound.values() for g in graphs}
        used_graphs |= {g for facts in blank.values() for graphs in facts.values() for g in graphs}
        used_graphs |= {q.graph_name.value for q in label_quads}
        return Description(
            iri=iri, own=dict(own), blank={b: dict(f) for b, f in blank.items()}, inbound=dict(inbound),
            inbound_total=inbound_total, inbound_inferred=inbound_inferred, linked=details, label_quads=label_quads,
            provenance_quads=self._provenance_quads(used_graphs), graphs=self.graphs,
            nary_as_member=as_member, nary_as_organisation=as_organisation, collective_funders=funders,
        )

    # -- the queries behind a description -----------------------------------------------------

    def _inbound(self, ref: str) -> tuple[dict[tuple[ox.NamedNode, ox.NamedNode], list[str]], int]:
        """The first :data:`INBOUND_LIMIT` asserted inbound (subject, property) pairs by property, then subject,
        each with the asserted graphs stating it; and how many there are in all.

        The pairs are read unsorted and the first ones picked here: Oxigraph sorts by looking every term's
        text up, so ``ORDER BY ?p ?s LIMIT 250`` over the 23,182 links to a much-used role took 2.0 s at 10^6
        triples, against 0.12 s to read them all. The asserted default graph is a set, so no pair repeats.
        """
        total = 0

        def counted(rows: Iterable[ox.QuerySolution]) -> Iterator[tuple[str, str]]:
            nonlocal total
            for row in rows:
                total += 1
                yield row["p"].value, row["s"].value

        first = heapq.nsmallest(INBOUND_LIMIT, counted(self.store.query(
            f"SELECT ?s ?p WHERE {{ ?s ?p {ref} FILTER(isIRI(?s)) }}", Scope.ASSERTED)))
        inbound: dict[tuple[ox.NamedNode, ox.NamedNode], list[str]] = {
            (ox.NamedNode(s), ox.NamedNode(p)): [] for p, s in first}
        if inbound:
            pairs = " ".join(f"(<{s}> <{p}>)" for p, s in first)
            query = (f"SELECT ?s ?p ?g WHERE {{ VALUES (?s ?p) {{ {pairs} }} GRAPH ?g {{ ?s ?p {ref} }} "
                     f"FILTER(?g != <{self.inferred_graph}>) }}")
            for row in self.store.query(query):
                inbound[(row["s"], row["p"])].append(row["g"].value)
        return inbound, total

    def _count(self, query: str, scope: Scope) -> int:
        for row in self.store.query(query, scope):
            return int(row["n"].value)
        return 0

    @staticmethod
    def _values(iris: Iterable[str]) -> str:
        return " ".join(f"<{i}>" for i in sorted(iris))

    def _label_quads(self, iris: set[str]) -> list[ox.Quad]:
        if not iris:
            return []
        query = f"SELECT ?x ?l ?g WHERE {{ VALUES ?x {{ {self._values(iris)} }} GRAPH ?g {{ ?x rdfs:label ?l }} }}"
        return [ox.Quad(row["x"], RDFS_LABEL, row["l"], row["g"]) for row in self.store.query(query)]

    def _labels(self, iris: set[str]) -> dict[str, str]:
        """The label of each IRI that has one (the others are left out)."""
        if not iris:
            return {}
        found: dict[str, list[ox.Literal]] = defaultdict(list)
        query = f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {self._values(iris)} }} ?x rdfs:label ?l }}"
        for row in self.store.query(query):
            found[row["x"].value].append(row["l"])
        return {i: pick_label(ls) for i, ls in found.items() if ls}

    def _details(self, iris: set[str]) -> dict[str, Linked]:
        """Label, asserted classes and dates of each IRI (one query each, over the asserted graphs)."""
        if not iris:
            return {}
        values = self._values(iris)
        labels = self._labels(iris)
        out = {i: Linked(i, labels.get(i) or (fallback_label(i) if i.startswith(self.base) else curie(i))) for i in iris}
        for row in self.store.query(f"SELECT ?x ?t WHERE {{ VALUES ?x {{ {values} }} ?x a ?t }}", Scope.ASSERTED):
            out[row["x"].value].types.append(row["t"].value)
        # A FILTER, not a second VALUES: Oxigraph joined two VALUES blocks by scanning every triple (1.8 s
        # for a page of 500 links at 10^6 triples, against 11 ms).
        properties = ", ".join(f"ic:{p}" for p in DATE_PROPERTIES)
        query = f"SELECT ?x ?p ?d WHERE {{ VALUES ?x {{ {values} }} ?x ?p ?d FILTER(?p IN ({properties})) }}"
        for row in self.store.query(query, Scope.ASSERTED):
            key = row["p"].value[len(IC):]
            current = out[row["x"].value].dates.get(key)
            if current is None or row["d"].value < current.value:
                out[row["x"].value].dates[key] = row["d"]
        for d in out.values():
            d.types.sort()
        return out

    def _provenance_quads(self, graphs: set[str]) -> list[ox.Quad]:
        """``?graph ic:graphSource ?source`` and the labels of graph and source, as stated in graph:sources."""
        if not graphs:
            return []
        sources = ox.NamedNode(self.base + SOURCES_GRAPH)
        query = f"""SELECT ?s ?p ?o WHERE {{ VALUES ?g {{ {self._values(graphs)} }} GRAPH {sparql_term(sources)} {{
            {{ ?g ic:graphSource ?o BIND(?g AS ?s) BIND(ic:graphSource AS ?p) }}
            UNION {{ ?g rdfs:label ?o BIND(?g AS ?s) BIND(rdfs:label AS ?p) }}
            UNION {{ ?g ic:graphSource ?s . ?s rdfs:label ?o BIND(rdfs:label AS ?p) }} }} }}"""
        return [ox.Quad(row["s"], row["p"], row["o"], sources) for row in self.store.query(query)]

    def _nary(self, ref: str, member_side: bool) -> list[NaryRow]:
        """Memberships, affiliations and posts whose member/holder (or organisation) is the resource."""
        here, other = ("?memberP", "?orgP") if member_side else ("?orgP", "?memberP")
        query = f"""SELECT ?node ?kind ?member ?org ?role ?asOf ?start ?end ?at WHERE {{
            VALUES (?kind ?memberP ?orgP) {{ (ic:Membership ic:member ic:organisation)
                                             (ic:Affiliation ic:member ic:organisation) (ic:Post ic:heldBy ic:postIn) }}
            ?node a ?kind ; {here} {ref} .
            OPTIONAL {{ ?node ?memberP ?member }} OPTIONAL {{ ?node ?orgP ?org }}
            OPTIONAL {{ ?node ic:role ?role }} OPTIONAL {{ ?node ic:asOf ?asOf }}
            OPTIONAL {{ ?node ic:during ?period OPTIONAL {{ ?period ic:startDate ?start }} OPTIONAL {{ ?period ic:endDate ?end }} }}
            OPTIONAL {{ ?node ic:attestedAt ?at }}
        }} LIMIT {INBOUND_LIMIT * 4}"""
        del other
        rows: dict[str, NaryRow] = {}
        for row in self.store.query(query, Scope.ASSERTED):
            n = rows.setdefault(row["node"].value, NaryRow(row["node"].value, row["kind"].value))
            for attr, var in (("member", "member"), ("organisation", "org"), ("role", "role"), ("attested_at", "at")):
                if row[var] is not None and row[var].value not in getattr(n, attr):
                    getattr(n, attr).append(row[var].value)
            if row["asOf"] is not None and row["asOf"] not in n.as_of:
                n.as_of.append(row["asOf"])
            n.start = n.start or row["start"]
            n.end = n.end or row["end"]
        return list(rows.values())


# ---------------------------------------------------------------------------------------------
# JSON-LD
# ---------------------------------------------------------------------------------------------

def jsonld_context(vocab: str | None = None) -> dict[str, str]:
    """Our prefixes as a JSON-LD ``@context`` (each namespace ends in / or #, so each is a prefix)."""
    context: dict[str, str] = {}
    if vocab:
        context["@vocab"] = vocab
    context.update(PREFIXES)
    return context


def _compact(iri: str, vocab: str | None, vocab_relative: bool) -> str:
    if vocab_relative and vocab and iri.startswith(vocab):
        local = iri[len(vocab):]
        if local and local not in PREFIXES and all(c.isalnum() or c in "_-" for c in local):
            return local
    short = curie(iri)
    if short != iri and not short.split(":", 1)[1].startswith("//"):
        return short
    return iri


def _jsonld_value(term: ox.Term, vocab: str | None) -> object:
    if isinstance(term, ox.NamedNode):
        return {"@id": _compact(term.value, vocab, False)}
    if isinstance(term, ox.BlankNode):
        return {"@id": "_:" + term.value}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == XSD_STRING:
        return term.value
    return {"@value": term.value, "@type": _compact(term.datatype.value, vocab, True)}


def to_jsonld(triples: Iterable[ox.Triple], first: str | None = None, vocab: str | None = None) -> dict:
    """Compact JSON-LD (``@context`` of our prefixes, one node object per subject in ``@graph``).

    Values keep their datatypes as ``@type`` (no native numbers or booleans), so parsing the document
    gives back exactly the same triples.
    """
    nodes: dict[str, dict[str, list]] = {}
    for triple in triples:
        s = triple.subject
        key = "_:" + s.value if isinstance(s, ox.BlankNode) else s.value
        node = nodes.setdefault(key, {})
        if triple.predicate == RDF_TYPE and isinstance(triple.object, ox.NamedNode):
            node.setdefault("@type", []).append(_compact(triple.object.value, vocab, True))
        else:
            node.setdefault(_compact(triple.predicate.value, vocab, True), []).append(_jsonld_value(triple.object, vocab))
    graph = []
    order = sorted(nodes, key=lambda k: (k != first, k.startswith("_:"), k))
    for key in order:
        obj: dict[str, object] = {"@id": key if key.startswith("_:") else _compact(key, vocab, False)}
        for prop in sorted(nodes[key], key=lambda p: (p != "@type", p)):
            values = nodes[key][prop]
            obj[prop] = values[0] if len(values) == 1 else values
        graph.append(obj)
    return {"@context": jsonld_context(vocab), "@graph": graph}


def embedded_jsonld(description: Description) -> str:
    """The JSON-LD a page embeds for schema.org consumers: the description with schema.org as the vocabulary.

    Besides the description's triples it gives the resource and every labelled node a ``name``
    (schema:name) from its rdfs:label, since schema.org consumers read names there. Safe inside
    ``<script>``: every ``<`` is escaped.
    """
    triples = set(description.triples())
    for triple in list(triples):
        if triple.predicate == RDFS_LABEL:
            triples.add(ox.Triple(triple.subject, SCHEMA_NAME, triple.object))
    document = to_jsonld(sorted(triples, key=str), description.iri, vocab=SCHEMA)
    text = json.dumps(document, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------------------------
# Links for pages
# ---------------------------------------------------------------------------------------------

def local_path(iri: str, base: str) -> str | None:
    """The route on our server for one of our IRIs (the path after the persistent base), else None."""
    if iri.startswith(base) and len(iri) > len(base):
        return "/" + quote(iri[len(base):], safe="/-._~")
    return None


def href(iri: str, base: str) -> str:
    """Where a link to ``iri`` goes: our route for our IRIs, the IRI itself otherwise."""
    return local_path(iri, base) or iri


def sparql_link(query: str) -> str:
    return "/sparql?query=" + quote(query, safe="")


def describe_query(iri: str) -> str:
    return f"DESCRIBE <{iri}>"


def inbound_query(iri: str) -> str:
    return f"SELECT ?subject ?property WHERE {{\n  ?subject ?property <{iri}> .\n}}\nORDER BY ?property ?subject"


def iter_formats() -> Iterator[tuple[str, str, str]]:
    """(suffix, name, media type) of every representation of a resource."""
    yield "html", FORMAT_NAMES["html"], "text/html"
    for suffix, (media_type, _) in RDF_SUFFIXES.items():
        yield suffix, FORMAT_NAMES[suffix], media_type


# ---------------------------------------------------------------------------------------------
# The page model: what the resource template shows
# ---------------------------------------------------------------------------------------------

#: Properties shown first, in this order; the others follow by label, ic:source last.
PROPERTY_ORDER = [RDF + "type", RDFS + "label", SKOS + "altLabel", *(IC + p for p in (
    "name", "title", "acronymExpansion", "startDate", "endDate", "during", "asOf", "attestedAt", "datePublished",
    "launchDate", "location", "venue", "host", "organiser", "subEventOf", "inSeries", "member", "heldBy",
    "organisation", "postIn", "role", "country", "region", "unitOf", "ledBy", "fundedBy", "theme"))]
LAST_PROPERTIES = [IC + "source"]

#: How a page titles the resources that link to it through a property ("mentioned by").
INVERSE_HEADINGS = {IC + k: v for k, v in {
    "location": "Located here", "venue": "Events at this venue", "host": "Hosted", "visitor": "Visits made",
    "participant": "Took part in", "speaker": "Spoke at", "presenter": "Presented", "presenterOrganisation": "Presentations",
    "organiser": "Organised", "member": "Memberships", "heldBy": "Posts held", "organisation": "Members",
    "postIn": "Posts", "subEventOf": "Sub-events", "hasSubEvent": "Part of", "inSeries": "Events in this series",
    "fundedBy": "Funds", "funder": "Funding statements naming it as funder", "fundedProject": "Funding statements",
    "ledBy": "Leads", "theme": "On this theme", "crossCuttingTheme": "With this cross-cutting theme",
    "source": "Resources this source states facts about", "country": "Places in this country", "city": "Linked to this city",
    "unitOf": "Units", "role": "Memberships and posts with this role", "about": "Works about this",
    "reportsOn": "News about this", "contributesTo": "Contributors", "publishedIn": "Published in it",
    "presentedAt": "Presentations given here", "graphSource": "Named graphs of this source", "publisher": "Published",
    "author": "Authored", "countOf": "Stated counts", "countKind": "Counts of this kind", "qualifier": "Counts with this qualifier",
    "objectiveOf": "Objectives", "attestedAt": "Attested at this event", "launchedAt": "Launched here",
    "launchedBy": "Launched", "launchPlace": "Launched here", "meetingOf": "Meetings", "method": "Using this method",
    "partOfProgramme": "Part of this programme", "partOfWebsite": "Pages of this website", "pageKind": "Pages of this kind",
    "graphKind": "Graphs of this kind", "regarding": "Regarding this", "beneficiary": "Benefited", "endorsedBy": "Endorsed",
    "foundedBy": "Founded", "project": "Events of this project", "inFrameworkOf": "In its framework",
    "implements": "Implemented by", "guidedBy": "Guiding", "developedThrough": "Developed through it",
    "contactPerson": "Contact person for", "complementedBy": "Complemented", "reconfirmedBy": "Reconfirmed",
    "plansToAdopt": "Planned to be adopted by", "holds": "Holder",
}.items()} | {SKOS + "inScheme": "Concepts in this scheme", SKOS + "broader": "Narrower concepts",
              SKOS + "narrower": "Broader concepts", SKOS + "hasTopConcept": "Scheme"}
NARY_PROPERTIES = {IC + "member", IC + "heldBy", IC + "organisation", IC + "postIn"}
HTML_DATE_TYPES = (XSD + "date", XSD + "gYearMonth", XSD + "gYear")


class PageBuilder:
    """Turns a :class:`Description` into the plain dictionaries and lists the resource template reads."""

    def __init__(self, description: Description, base: str) -> None:
        self.d = description
        self.base = base

    # -- single values ------------------------------------------------------------------------

    def sources(self, graphs: Iterable[str]) -> list[GraphInfo]:
        infos = [self.d.graphs.get(g) or GraphInfo(g, fallback_label(g), fallback_label(g)) for g in dict.fromkeys(graphs)]
        return sorted((i for i in infos if not i.inferred), key=lambda i: (i.source is None, i.short))

    def link(self, iri: str, graphs: Iterable[str] = (), with_when: bool = True) -> dict:
        linked = self.d.linked.get(iri)
        label = linked.label if linked else (curie(iri) if curie(iri) != iri else fallback_label(iri))
        when = self.when_of(linked) if (linked and with_when) else ""
        graphs = list(graphs)
        return {"kind": "iri", "text": label, "href": href(iri, self.base), "iri": iri, "title": curie(iri),
                "note": when, "local": iri.startswith(self.base), "sources": self.sources(graphs),
                "inferred": bool(graphs) and all(self.is_inferred(g) for g in graphs)}

    def is_inferred(self, graph: str) -> bool:
        info = self.d.graphs.get(graph)
        return bool(info and info.inferred)

    def when_of(self, linked: Linked) -> str:
        dates = linked.dates
        if "startDate" in dates or "endDate" in dates:
            return event_range(dates.get("startDate"), dates.get("endDate"))
        for key in ("datePublished", "launchDate", "asOf"):
            if key in dates:
                return format_date(dates[key].value, dates[key].datatype.value)
        return ""

    def type_label(self, iri: str) -> str:
        linked = self.d.linked.get(iri)
        return linked.label if linked else fallback_label(iri)

    def literal(self, lit: ox.Literal, graphs: Iterable[str], predicate: str = "") -> dict:
        datatype = lit.datatype.value
        graphs = list(graphs)
        value = {"kind": "literal", "text": lit.value, "href": None, "lang": lit.language, "datetime": None,
                 "datatype": None if datatype in (XSD_STRING, RDF_LANGSTRING) else curie(datatype),
                 "sources": self.sources(graphs), "inferred": bool(graphs) and all(self.is_inferred(g) for g in graphs),
                 "note": ""}
        if datatype in HTML_DATE_TYPES or datatype == XSD + "dateTime":
            value["text"] = format_date(lit.value, datatype)
            value["datetime"] = lit.value
        elif datatype == XSD + "anyURI" or (predicate == IC + "url" and lit.value.startswith(("http://", "https://"))):
            value["href"] = lit.value
        return value

    def value(self, term: ox.Term, graphs: Iterable[str], predicate: str = "") -> dict:
        if isinstance(term, ox.NamedNode):
            return self.link(term.value, graphs)
        if isinstance(term, ox.Literal):
            return self.literal(term, graphs, predicate)
        facts = self.d.blank.get(term, {})  # a blank node: show its own facts inline
        nested = [{"property": self.prop(p.value), "value": self.value(o, g, p.value)} for (p, o), g in
                  sorted(facts.items(), key=lambda item: self.property_key(item[0][0].value))
                  if not (p.value == RDF + "type" and all(self.is_inferred(x) for x in g))]
        graphs = list(graphs)
        return {"kind": "bnode", "text": self.period_text(facts) or "(a node without a name)", "href": None,
                "nested": nested, "sources": self.sources(graphs), "note": "",
                "inferred": bool(graphs) and all(self.is_inferred(g) for g in graphs)}

    @staticmethod
    def period_text(facts: dict[tuple[ox.NamedNode, ox.Term], list[str]]) -> str:
        start = next((o for (p, o) in facts if p.value == IC + "startDate" and isinstance(o, ox.Literal)), None)
        end = next((o for (p, o) in facts if p.value == IC + "endDate" and isinstance(o, ox.Literal)), None)
        return format_range(start, end)

    def prop(self, iri: str) -> dict:
        linked = self.d.linked.get(iri)
        label = linked.label if linked else TERM_LABELS.get(iri, curie(iri))
        return {"label": label, "href": href(iri, self.base), "curie": curie(iri), "iri": iri}

    def property_key(self, iri: str) -> tuple:
        if iri in PROPERTY_ORDER:
            return (0, PROPERTY_ORDER.index(iri), "")
        if iri in LAST_PROPERTIES:
            return (2, LAST_PROPERTIES.index(iri), "")
        return (1, 0, self.prop(iri)["label"].casefold())

    # -- sections -----------------------------------------------------------------------------

    def rows(self) -> list[dict]:
        """The properties table: asserted properties first, then those with inferred values only."""
        by_property: dict[str, list[tuple[ox.Term, list[str]]]] = defaultdict(list)
        for (p, o), graphs in self.d.own.items():
            by_property[p.value].append((o, graphs))
        rows = []
        for iri, values in by_property.items():
            shown = [self.value(o, g, iri) for o, g in values]
            shown.sort(key=lambda v: (v["inferred"], natural(v["text"])))
            rows.append({"property": self.prop(iri), "values": shown, "inferred": all(v["inferred"] for v in shown)})
        rows.sort(key=lambda r: (r["inferred"], self.property_key(r["property"]["iri"])))
        return rows

    def when(self) -> str:
        dates = {k: self.d.values(IC + k) for k in DATE_PROPERTIES}
        start = next((v for v in dates["startDate"] if isinstance(v, ox.Literal)), None)
        end = next((v for v in dates["endDate"] if isinstance(v, ox.Literal)), None)
        if start is not None or end is not None:
            is_event = any(o.value == IC + "Event" for o in self.d.values(RDF + "type", asserted_only=False))
            return event_range(start, end) if is_event else format_range(start, end)
        periods = [self.period_text(self.d.blank.get(b, {})) for b in self.d.values(IC + "during") if isinstance(b, ox.BlankNode)]
        if any(periods):
            return "; ".join(p for p in periods if p)
        for key, prefix in (("asOf", "as of "), ("datePublished", "published "), ("launchDate", "launched ")):
            literals = [v for v in dates[key] if isinstance(v, ox.Literal)]
            if literals:
                return prefix + ", ".join(format_date(v.value, v.datatype.value) for v in literals)
        return ""

    def key_facts(self) -> list[dict]:
        facts: list[dict] = []
        when = self.when()
        if when:
            facts.append({"heading": "When", "text": when, "values": []})
        groups = [("Where", ["location", "venue", "launchPlace"]), ("At", ["attestedAt"]),
                  ("Part of", ["subEventOf", "inSeries", "unitOf", "partOfProgramme", "partOfWebsite"]),
                  ("Member", ["member"]), ("Held by", ["heldBy"]), ("Organisation", ["organisation", "postIn"]),
                  ("Role", ["role"]), ("Hosts", ["host"]), ("Organisers", ["organiser"]), ("Led by", ["ledBy"]),
                  ("Funded by", ["fundedBy"]), ("Country", ["country"])]
        if self.d.collective_funders:  # "projects A–D were funded by X and Y": kept as stated, not split
            groups.append(("Funded, with other projects, by", []))
        for heading, properties in groups:
            iris = [o.value for p in properties for o in self.d.values(IC + p) if isinstance(o, ox.NamedNode)]
            if not properties:
                iris = list(self.d.collective_funders)
            if iris:
                facts.append({"heading": heading, "text": "", "values": [self.link(i, with_when=False) for i in dict.fromkeys(iris)]})
        return facts

    def nary(self, rows: list[NaryRow], member_side: bool) -> list[dict]:
        out = []
        for row in rows:
            others = row.organisation if member_side else row.member
            dates = [format_date(a.value, a.datatype.value) for a in row.as_of]
            when = format_range(row.start, row.end) or (("as of " + ", ".join(dates)) if dates else "")
            attested = [self.link(a) for a in row.attested_at]
            key = (row.start.value if row.start else "") or (row.as_of[0].value if row.as_of else "") or next(
                (self.d.linked[a].dates.get("startDate").value for a in row.attested_at  # type: ignore[union-attr]
                 if a in self.d.linked and "startDate" in self.d.linked[a].dates), "")
            out.append({"node": self.link(row.node, with_when=False), "kind": self.type_label(row.kind),
                        "others": [self.link(o, with_when=False) for o in others],
                        "roles": [self.link(r, with_when=False) for r in row.role],
                        "when": when, "attested": attested, "sort": key or "9999"})
        out.sort(key=lambda r: (r["sort"], r["others"][0]["text"].casefold() if r["others"] else "", r["node"]["text"]))
        return out

    def inbound(self, shown_in_nary: set[str]) -> list[dict]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for (s, p), graphs in self.d.inbound.items():
            if p.value in NARY_PROPERTIES and s.value in shown_in_nary:
                continue
            item = self.link(s.value, graphs)
            linked = self.d.linked.get(s.value)
            item["type"] = ", ".join(self.type_label(t) for t in linked.types if t.startswith(IC)) if linked else ""
            item["sort"] = (self.start_of(linked) or "9999", natural(item["text"]))
            groups[p.value].append(item)
        out = []
        for p, items in groups.items():
            items.sort(key=lambda i: i["sort"])
            prop = self.prop(p)
            heading = INVERSE_HEADINGS.get(p) or f"Linked here as “{prop['label']}”"
            out.append({"heading": heading, "property": prop, "items": items, "id": "in-" + curie(p).replace(":", "-")})
        out.sort(key=lambda g: (g["property"]["iri"] == IC + "source", g["heading"].casefold()))
        return out

    @staticmethod
    def start_of(linked: Linked | None) -> str:
        if not linked:
            return ""
        for key in ("startDate", "datePublished", "launchDate", "asOf"):
            if key in linked.dates:
                return linked.dates[key].value
        return ""

    def source_list(self) -> list[dict]:
        counts: dict[str, int] = defaultdict(int)
        for graphs in self.d.own.values():
            for g in set(graphs):
                counts[g] += 1
        for facts in self.d.blank.values():
            for graphs in facts.values():
                for g in set(graphs):
                    counts[g] += 1
        out = []
        for g, n in counts.items():
            info = self.d.graphs.get(g) or GraphInfo(g, fallback_label(g), fallback_label(g))
            out.append({"info": info, "facts": n, "graph_href": href(g, self.base),
                        "source_href": href(info.source, self.base) if info.source else None})
        out.sort(key=lambda s: (s["info"].inferred, s["info"].source is None, s["info"].short))
        return out

    def build(self) -> dict:
        d = self.d
        path = local_path(d.iri, self.base) or d.iri
        types = [self.link(t.value, g, with_when=False) for (p, t), g in d.own.items()
                 if p == RDF_TYPE and isinstance(t, ox.NamedNode) and not all(self.is_inferred(x) for x in g)]
        types.sort(key=lambda t: t["text"])
        alt = sorted({o.value for o in d.values(SKOS + "altLabel") if isinstance(o, ox.Literal)})
        shown_in_nary = {r.node for r in d.nary_as_member + d.nary_as_organisation}
        inbound = self.inbound(shown_in_nary)
        return {
            "iri": d.iri, "curie": curie(d.iri), "path": path, "label": d.label(), "types": types, "alt_labels": alt,
            "key_facts": self.key_facts(), "rows": self.rows(),
            "as_member": self.nary(d.nary_as_member, member_side=True),
            "as_organisation": self.nary(d.nary_as_organisation, member_side=False),
            "inbound": inbound, "inbound_shown": len(d.inbound), "inbound_total": d.inbound_total,
            "inbound_inferred": d.inbound_inferred, "inbound_query": sparql_link(inbound_query(d.iri)),
            "sources": self.source_list(),
            "formats": [{"suffix": s, "name": n, "media_type": m, "href": f"{path}.{s}"} for s, n, m in iter_formats()],
            "describe_query": sparql_link(describe_query(d.iri)),
            "jsonld": embedded_jsonld(d),
        }


def page_model(description: Description, base: str) -> dict:
    """Everything the resource template shows, as plain data."""
    return PageBuilder(description, base).build()


# ---------------------------------------------------------------------------------------------
# The catalogue: every entity with its label, for indexes, search and "did you mean"
# ---------------------------------------------------------------------------------------------

#: Main classes the home page counts (instances after reasoning), with the index that lists them.
MAIN_CLASSES = (("City", "city"), ("Country", "country"), ("Organisation", "organisation"), ("Partnership", "partnership"),
                ("Project", "project"), ("Initiative", "initiative"), ("Person", "person"), ("Event", "event"),
                ("Work", "work"), ("NewsItem", "news"), ("SourceDocument", "source"), ("Theme", "theme"),
                ("Membership", "membership"), ("Post", "post"))
#: Kinds whose index is a single table in date order rather than sections by class.
DATED_KINDS = {"event", "news"}


@dataclass
class Entry:
    iri: str
    kind: str
    slug: str
    label: str
    names: list[str] = field(default_factory=list)  # label, alternative labels, names: what search matches
    types: list[str] = field(default_factory=list)  # asserted ic: classes
    start: ox.Literal | None = None
    end: ox.Literal | None = None
    places: list[tuple[str, str]] = field(default_factory=list)  # (IRI, label) of ic:location

    @property
    def when(self) -> str:
        return event_range(self.start, self.end)

    @property
    def sort_date(self) -> str:
        return self.start.value if self.start is not None else (self.end.value if self.end is not None else "")


class Catalogue:
    """Every typed entity under ``<base>id/``, read once per snapshot (a few hundred rows)."""

    def __init__(self, store: GraphStore, base: str) -> None:
        self.base = base
        prefix = base + "id/"
        within = f'FILTER(STRSTARTS(STR(?s), "{prefix}"))'
        entries: dict[str, Entry] = {}
        for row in store.query(f"SELECT DISTINCT ?s WHERE {{ ?s a ?t {within} }}"):
            iri = row["s"].value
            kind, _, slug = iri[len(prefix):].partition("/")
            entries[iri] = Entry(iri, kind, slug, fallback_label(iri))
        self.class_labels: dict[str, str] = {}
        found: dict[str, list[ox.Literal]] = defaultdict(list)
        for row in store.query("SELECT ?c ?l WHERE { GRAPH graph:ontology { ?c rdfs:label ?l } }"):
            found[row["c"].value].append(row["l"])
        self.class_labels = {c: pick_label(ls) or fallback_label(c) for c, ls in found.items()}
        labels: dict[str, list[ox.Literal]] = defaultdict(list)
        for row in store.query(f"SELECT ?s ?p ?l WHERE {{ VALUES ?p {{ rdfs:label skos:altLabel ic:name }} ?s ?p ?l {within} }}",
                               Scope.ASSERTED):
            entry = entries.get(row["s"].value)
            if entry is None:
                continue
            if row["p"].value == RDFS + "label":
                labels[entry.iri].append(row["l"])
            if row["l"].value not in entry.names:
                entry.names.append(row["l"].value)
        for iri, literals in labels.items():
            entries[iri].label = pick_label(literals) or entries[iri].label
        for row in store.query(f"SELECT DISTINCT ?s ?t WHERE {{ ?s a ?t {within} FILTER(STRSTARTS(STR(?t), STR(ic:))) }}",
                               Scope.ASSERTED):
            if row["s"].value in entries:
                entries[row["s"].value].types.append(row["t"].value)
        for row in store.query(f"SELECT ?s ?p ?d WHERE {{ VALUES ?p {{ ic:startDate ic:endDate }} ?s ?p ?d {within} }}",
                               Scope.ASSERTED):
            entry = entries.get(row["s"].value)
            if entry is not None:
                attr = "start" if row["p"].value.endswith("startDate") else "end"
                current = getattr(entry, attr)
                if current is None or row["d"].value < current.value:
                    setattr(entry, attr, row["d"])
        for row in store.query(f"SELECT DISTINCT ?s ?place WHERE {{ ?s ic:location ?place {within} }}", Scope.ASSERTED):
            entry = entries.get(row["s"].value)
            place = entries.get(row["place"].value)
            if entry is not None:
                entry.places.append((row["place"].value, place.label if place else fallback_label(row["place"].value)))
        for entry in entries.values():
            entry.types.sort(key=lambda t: self.class_labels.get(t, t))
            if entry.label not in entry.names:
                entry.names.insert(0, entry.label)
        self.entries = entries
        self.class_counts: dict[str, int] = {}
        values = " ".join(f"ic:{c}" for c, _ in MAIN_CLASSES)
        for row in store.query(f"SELECT ?t (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?t {{ {values} }} ?s a ?t {within} }} GROUP BY ?t"):
            self.class_counts[row["t"].value] = int(row["n"].value)

    # -- indexes ------------------------------------------------------------------------------

    def kinds(self) -> dict[str, list[Entry]]:
        """Entities by the kind in their IRI (``id/<kind>/…``), each list sorted for its index page."""
        out: dict[str, list[Entry]] = defaultdict(list)
        for entry in self.entries.values():
            out[entry.kind].append(entry)
        for kind, entries in out.items():
            if kind in DATED_KINDS:
                entries.sort(key=lambda e: (e.sort_date == "", e.sort_date, natural(e.label)))
            else:
                entries.sort(key=lambda e: (natural(e.label), e.iri))
        return dict(sorted(out.items()))

    def type_label(self, entry: Entry) -> str:
        return ", ".join(self.class_labels.get(t, fallback_label(t)) for t in entry.types) or "—"

    # -- search -------------------------------------------------------------------------------

    def search(self, text: str, limit: int = 50) -> list[Entry]:
        """Entities whose label, alternative label or name matches ``text`` (case and accents ignored), best first."""
        query = fold(text).strip()
        words = query.split()
        if not words:
            return []
        scored = []
        for entry in self.entries.values():
            best = None
            for name in entry.names:
                folded = fold(name)
                if folded == query:
                    score = 0
                elif folded.startswith(query):
                    score = 1
                elif any(w.startswith(query) for w in folded.split()):
                    score = 2
                elif query in folded:
                    score = 3
                elif all(w in folded for w in words):
                    score = 4
                else:
                    continue
                best = score if best is None else min(best, score)
            if best is not None:
                scored.append((best, len(entry.label), entry.label.casefold(), entry.iri, entry))
        scored.sort(key=lambda s: s[:4])
        return [s[-1] for s in scored[:limit]]

    def nearest(self, text: str, kind: str | None = None, limit: int = 8) -> list[Entry]:
        """The entities whose label or slug is closest to ``text`` (for "did you mean" on a 404)."""
        from difflib import SequenceMatcher

        query = fold(text.replace("-", " ").replace("_", " ")).strip()
        if not query:
            return []
        scored = []
        for entry in self.entries.values():
            candidates = [fold(n) for n in entry.names] + [entry.slug.replace("-", " ")]
            ratio = max(SequenceMatcher(None, query, c).ratio() for c in candidates)
            if any(query in c or (len(c) > 3 and c in query) for c in candidates):
                ratio = max(ratio, 0.8)
            if kind and entry.kind == kind:
                ratio += 0.05
            if ratio >= 0.55:
                scored.append((-ratio, entry.label.casefold(), entry))
        scored.sort(key=lambda s: s[:2])
        return [s[-1] for s in scored[:limit]]
