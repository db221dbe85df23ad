"""What the graph says about one resource: its description, and the description as RDF for programs.

How people see it is :mod:`kg.site.pages`; the list of every entity, :mod:`kg.site.catalogue`.

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

import pyoxigraph as ox

from kg.formats import JSONLD, RDFXML, TRIG, TURTLE, Format
from kg.namespaces import PREFIXES
from kg.query.store import GraphStore, Scope

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


#: How a page words a single date of something that is not an event, by property: "(6 July 2017)" alone left a
#: reader guessing that a post was *attested* on that day by a source, not taken up then.
DATE_WORDS = {"datePublished": "published", "launchDate": "launched", "asOf": "attested"}
#: What a page says of an event the sources give no date for, rather than leaving its "When" empty.
NO_DATE = "date not stated in the sources"


def dated(key: str, literals: Iterable[ox.Literal]) -> str:
    """``attested 6 July 2017``, ``published 2019, 2020``: the dates of one property, said with what they date."""
    return f"{DATE_WORDS[key]} " + ", ".join(format_date(v.value, v.datatype.value) for v in literals)


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
    short: str  # badge text: the source's short human name (source_short_name), else the graph's label
    source: str | None = None
    source_label: str | None = None
    inferred: bool = False
    source_date: str | None = None  # the source document's ic:datePublished, when the data states it
    references: tuple[tuple[str, str], ...] = ()  # (IRI, label) of the reference datasets the graph comes from


def source_short_name(title: str | None, label: str, publisher: str | None, date: str | None) -> str:
    """What a badge calls a source document, so a reader recognises it without decoding a capture file name:
    the document's own title (its label when it states none), after its publisher's name unless the title
    already holds it, and the year it was published when the data states one."""
    name = title or label
    if publisher and title and publisher.casefold() not in title.casefold():
        name = f"{publisher}: {title}"
    return f"{name} ({date[:4]})" if date else name


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
    graphs: list[str] = field(default_factory=list)  # the named graphs stating the row's facts


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

    def serialize(self, fmt: Format) -> bytes:
        """The description in one of :data:`kg.formats.RDF_FORMATS`: those that keep named graphs get the
        quads, JSON-LD our compacted writer (:func:`to_jsonld`), the others Oxigraph's."""
        if fmt.graphs:
            options = {"prefixes": PREFIXES} if fmt is TRIG else {}
            return ox.serialize(self.quads(), format=fmt.rdf, **options) or b""
        if fmt is JSONLD:
            return json.dumps(to_jsonld(self.triples(), self.iri), ensure_ascii=False, indent=1).encode("utf-8")
        options = {"prefixes": PREFIXES} if fmt in (TURTLE, RDFXML) else {}
        return ox.serialize(self.triples(), format=fmt.rdf, **options) or b""

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
            SELECT ?g ?label ?source ?sourceLabel ?title ?publisher ?date WHERE {
              ?g a ic:DataGraph . OPTIONAL { ?g rdfs:label ?label }
              OPTIONAL { ?g ic:graphSource ?source . OPTIONAL { ?source rdfs:label ?sourceLabel }
                         OPTIONAL { ?source ic:title ?title } OPTIONAL { ?source ic:datePublished ?date }
                         OPTIONAL { ?source ic:publisher/rdfs:label ?publisher } }
            }""", Scope.ASSERTED)
        references: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in self.store.query("SELECT ?g ?ref ?l WHERE { ?g a ic:DataGraph ; dcterms:source ?ref . "
                                    "?ref a ic:ReferenceDataset ; rdfs:label ?l } ORDER BY ?l", Scope.ASSERTED):
            references[row["g"].value].append((row["ref"].value, row["l"].value))
        infos: dict[str, GraphInfo] = {}
        for row in rows:
            g = row["g"].value
            label = row["label"].value if row["label"] else fallback_label(g)
            source = row["source"].value if row["source"] else None
            source_label = row["sourceLabel"].value if row["sourceLabel"] else None
            date = row["date"].value if row["date"] else None
            refs = tuple(references.get(g, ()))
            if source:
                short = source_short_name(row["title"].value if row["title"] else None, source_label or fallback_label(source),
                                          row["publisher"].value if row["publisher"] else None, date)
            else:
                short = ", ".join(ref_label for _, ref_label in refs) or label
            infos[g] = GraphInfo(g, label, short, source, source_label, inferred=g == self.inferred_graph,
                                 source_date=date, references=refs)
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
        if rows:
            stated = f"SELECT DISTINCT ?node ?g WHERE {{ VALUES ?node {{ {self._values(set(rows))} }} GRAPH ?g {{ ?node ?p ?o }} }}"
            for row in self.store.query(stated):
                if row["g"].value != self.inferred_graph:
                    rows[row["node"].value].graphs.append(row["g"].value)
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

