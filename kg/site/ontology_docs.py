"""The ontology's human documentation, generated from the ontology graph of the served snapshot.

Why our own templates rather than a generator such as pyLODE:

- the page is built from the very graph we serve (``GRAPH <…/graph/ontology>`` of the snapshot,
  plus the reasoner's subclass and subproperty links and instance counts from the same store), so the
  documentation, the Turtle at the ontology IRI and the data can never disagree;
- it extends ``base.html`` like every other page of the site: one header, one stylesheet, one
  accessible layout, readable on a phone and complete without JavaScript;
- it adds no dependency: pyLODE brings a large tree of its own (dominate, markdown, its own rdflib
  pin …) and a page style of its own that we would have to restyle or live with;
- the class diagram is an SVG drawn here in Python (no Graphviz binary, no JavaScript), inline in
  the page, each box a link to the class's section.

``load(store)`` reads the snapshot into an :class:`OntologyDocs`; ``from_graph`` does the same from
an rdflib graph alone (tests, other tools). The model also answers the linked-data side of the
ontology IRIs: ``term_graph(name)`` is the RDF description of one term, ``serialize`` writes it.
"""

from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from typing import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.site.relation_diagram import relation_diagram
from kg.namespaces import PREFIXES
from kg.terms import new_graph, to_rdflib

#: Vocabularies we align to, by namespace: the name to show and where to read about it.
VOCABULARIES: dict[str, tuple[str, str]] = {
    "https://schema.org/": ("schema.org", "https://schema.org/"),
    "http://www.w3.org/ns/org#": ("W3C Organization Ontology (ORG)", "https://www.w3.org/TR/vocab-org/"),
    "http://xmlns.com/foaf/0.1/": ("FOAF", "http://xmlns.com/foaf/spec/"),
    "http://www.w3.org/2004/02/skos/core#": ("SKOS", "https://www.w3.org/TR/skos-reference/"),
    "http://www.w3.org/ns/prov#": ("PROV-O", "https://www.w3.org/TR/prov-o/"),
    "http://purl.org/dc/terms/": ("DCMI Metadata Terms", "https://www.dublincore.org/specifications/dublin-core/dcmi-terms/"),
    "http://www.w3.org/2006/time#": ("OWL-Time", "https://www.w3.org/TR/owl-time/"),
    "http://rdfs.org/ns/void#": ("VoID", "https://www.w3.org/TR/void/"),
}
#: Superclasses too general to say anything (the reasoner adds them everywhere).
TRIVIAL = {str(OWL.Thing), str(RDFS.Resource), str(RDFS.Class), str(OWL.Class)}

PROPERTY_KINDS = {  # rdf:type -> (kind key, heading)
    OWL.ObjectProperty: ("object", "Object properties"),
    OWL.DatatypeProperty: ("datatype", "Datatype properties"),
    OWL.AnnotationProperty: ("annotation", "Annotation properties"),
    RDF.Property: ("other", "Other properties"),
}
CHARACTERISTICS = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.TransitiveProperty,
                   OWL.SymmetricProperty, OWL.AsymmetricProperty, OWL.ReflexiveProperty, OWL.IrreflexiveProperty)


@dataclass(frozen=True)
class Ref:
    """A term as the page shows it: our terms link to their section, others to their IRI."""

    iri: str
    curie: str
    ours: bool
    label: str = ""

    @property
    def name(self) -> str:
        return self.curie.split(":", 1)[-1]

    @property
    def href(self) -> str:
        return "#" + self.name if self.ours else self.iri


@dataclass
class ClassDoc:
    ref: Ref
    label: str
    definition: str
    notes: list[str] = field(default_factory=list)
    superclasses: list[Ref] = field(default_factory=list)  # ours, direct
    alignments: list[Ref] = field(default_factory=list)  # external, direct
    inferred_alignments: list[Ref] = field(default_factory=list)  # external, through our superclasses
    equivalents: list[Ref] = field(default_factory=list)
    subclasses: list[Ref] = field(default_factory=list)
    disjoint_with: list[Ref] = field(default_factory=list)
    domain_of: list[Ref] = field(default_factory=list)
    range_of: list[Ref] = field(default_factory=list)
    inherited_domain_of: list[Ref] = field(default_factory=list)
    instances: int | None = None

    @property
    def name(self) -> str:
        return self.ref.name


@dataclass
class PropertyDoc:
    ref: Ref
    label: str
    definition: str
    kind: str
    notes: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    domain: list[Ref] = field(default_factory=list)
    range: list[Ref] = field(default_factory=list)
    superproperties: list[Ref] = field(default_factory=list)  # ours
    alignments: list[Ref] = field(default_factory=list)  # external, direct
    inferred_alignments: list[Ref] = field(default_factory=list)
    equivalents: list[Ref] = field(default_factory=list)
    subproperties: list[Ref] = field(default_factory=list)
    inverse: list[Ref] = field(default_factory=list)
    uses: int | None = None

    @property
    def name(self) -> str:
        return self.ref.name


@dataclass(frozen=True)
class Alignment:
    vocabulary: str
    vocabulary_url: str
    term: Ref
    relation: str  # a CURIE: rdfs:subClassOf, rdfs:subPropertyOf, owl:equivalentClass …
    target: Ref


@dataclass
class Header:
    iri: str
    title: str
    description: str
    version_iri: str | None
    version_info: str | None
    licence: list[str]
    creators: list[str]
    contributors: list[str]
    created: str | None
    modified: str | None
    see_also: list[str]
    namespace: str
    prefix: str = "ic"


@dataclass
class OntologyDocs:
    header: Header
    classes: list[ClassDoc]
    properties: list[PropertyDoc]
    alignments: list[Alignment]
    graph: Graph
    _serialised: dict = field(default_factory=dict, repr=False)

    @cached_property
    def terms(self) -> dict[str, ClassDoc | PropertyDoc]:
        return {doc.name: doc for doc in [*self.classes, *self.properties]}

    @property
    def version_name(self) -> str | None:
        """The last segment of the version IRI when it lies in our namespace (``0.1.0``), else None."""
        iri = self.header.version_iri
        return iri[len(self.header.namespace):] if iri and iri.startswith(self.header.namespace) else None

    def properties_of_kind(self, kind: str) -> list[PropertyDoc]:
        return [p for p in self.properties if p.kind == kind]

    @property
    def property_groups(self) -> list[tuple[str, str, list[PropertyDoc]]]:
        """(kind, heading, properties) for each kind of property the ontology has."""
        groups = []
        for kind, heading in PROPERTY_KINDS.values():
            members = self.properties_of_kind(kind)
            if members:
                groups.append((kind, heading, members))
        return groups

    @property
    def alignments_by_vocabulary(self) -> list[tuple[str, str, list[Alignment]]]:
        order = [name for name, _ in VOCABULARIES.values()]
        groups: dict[str, list[Alignment]] = {}
        urls: dict[str, str] = {}
        for alignment in self.alignments:
            groups.setdefault(alignment.vocabulary, []).append(alignment)
            urls[alignment.vocabulary] = alignment.vocabulary_url
        ranked = sorted(groups, key=lambda v: (order.index(v) if v in order else len(order), v))
        return [(v, urls[v], groups[v]) for v in ranked]

    def nearest(self, name: str, n: int = 5) -> list[str]:
        """Term names close to ``name`` (a mistyped or wrongly-cased term), best first."""
        same_case = [t for t in self.terms if t.lower() == name.lower()]
        close = difflib.get_close_matches(name, list(self.terms), n=n, cutoff=0.6)
        folded: dict[str, list[str]] = {}
        for term in sorted(self.terms):
            folded.setdefault(term.lower(), []).append(term)
        for match in difflib.get_close_matches(name.lower(), list(folded), n=n, cutoff=0.6):
            close += folded[match]
        prefixed = [t for t in self.terms if len(name) >= 3 and t.lower().startswith(name.lower())]
        return list(dict.fromkeys([*same_case, *close, *prefixed]))[:n]

    def term_graph(self, name: str) -> Graph:
        """A term's description: its concise bounded description in the ontology graph, plus the statements
        of other named terms that point at it (subclasses, properties with it as domain or range, inverses)."""
        term = URIRef(self.header.namespace + name)
        out = new_graph()
        todo: list = [term]
        seen = set()
        while todo:
            subject = todo.pop()
            if subject in seen:
                continue
            seen.add(subject)
            for s, p, o in self.graph.triples((subject, None, None)):
                out.add((s, p, o))
                if isinstance(o, BNode):
                    todo.append(o)
        for s, p, o in self.graph.triples((None, None, term)):
            if isinstance(s, URIRef):
                out.add((s, p, o))
        return out

    def serialize(self, name: str | None, rdflib_format: str) -> bytes:
        """The ontology (``name`` None) or one term's description, in an rdflib serialisation format."""
        key = (name, rdflib_format)
        if key not in self._serialised:
            graph = self.graph if name is None else self.term_graph(name)
            options = {"context": _context(graph), "auto_compact": True} if rdflib_format == "json-ld" else {}
            with warnings.catch_warnings():
                # rdflib's pretty RDF/XML writes the owl:members lists as rdf:parseType="Collection"
                # (losslessly: the list nodes carry nothing else) but warns about it every time.
                warnings.filterwarnings("ignore", message="Assertions on .* other than RDF.first and RDF.rest")
                self._serialised[key] = graph.serialize(format=rdflib_format, encoding="utf-8", **options)
        return self._serialised[key]

    @cached_property
    def diagram(self) -> str:
        return class_diagram(self.classes)

    @cached_property
    def relations(self) -> str:
        """The main object properties between the main classes, drawn (kg.site.relation_diagram)."""
        return relation_diagram({c.name for c in self.classes}, {p.name for p in self.properties if p.kind == "object"})


def _context(graph: Graph) -> dict[str, str]:
    """A JSON-LD context of those of our prefixes that the graph uses."""
    iris = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
    iris |= {str(o.datatype) for o in graph.objects() if isinstance(o, Literal) and o.datatype}
    return {prefix: ns for prefix, ns in PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}


# --------------------------------------------------------------------------------------------------
# Reading the ontology


def load(store) -> OntologyDocs:
    """The documentation model of the ontology in a :class:`kg.query.store.GraphStore`'s snapshot."""
    manifest = store.snapshot.manifest
    base = manifest["base_iri"]
    graph = new_graph()
    for quad in store.store.quads_for_pattern(None, None, None, ox.NamedNode(manifest["ontology_graph"])):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    inferred = Graph()
    everything = ox.NamedNode(manifest["inferred_graph"])
    for predicate in (RDFS.subClassOf, RDFS.subPropertyOf):
        for quad in store.store.quads_for_pattern(None, ox.NamedNode(str(predicate)), None, everything):
            inferred.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    namespace = base + "def/"
    instances = {row["c"].value: int(row["n"].value) for row in store.query(
        f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c FILTER(STRSTARTS(STR(?c), \"{namespace}\")) }} GROUP BY ?c")}
    from kg.query.store import Scope

    uses = {row["p"].value: int(row["n"].value) for row in store.query(
        f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?p), \"{namespace}\")) }} GROUP BY ?p",
        Scope.ASSERTED)}
    return from_graph(graph, base + "def", inferred=inferred, instances=instances, uses=uses)


def from_graph(graph: Graph, ontology_iri: str, inferred: Graph | None = None,
               instances: dict[str, int] | None = None, uses: dict[str, int] | None = None) -> OntologyDocs:
    """The documentation model of the ontology ``ontology_iri`` held in ``graph``.

    ``inferred`` may add reasoned rdfs:subClassOf / rdfs:subPropertyOf links (shown as alignments
    inherited through our own superclasses); ``instances`` and ``uses`` are counts per term IRI.
    """
    namespace = ontology_iri + "/"
    prefix = next((p for p, iri in PREFIXES.items() if iri == namespace), "ic")
    reader = _Reader(graph, namespace, prefix, inferred or Graph())
    ontology = URIRef(ontology_iri)
    header = Header(
        iri=ontology_iri,
        title=reader.text(ontology, DCTERMS.title, RDFS.label) or ontology_iri,
        description=reader.text(ontology, DCTERMS.description, RDFS.comment) or "",
        version_iri=_first(str(o) for o in graph.objects(ontology, OWL.versionIRI)),
        version_info=reader.text(ontology, OWL.versionInfo),
        licence=sorted(str(o) for o in graph.objects(ontology, DCTERMS.license)),
        creators=sorted(str(o) for o in graph.objects(ontology, DCTERMS.creator)),
        contributors=sorted(str(o) for o in graph.objects(ontology, DCTERMS.contributor)),
        created=reader.text(ontology, DCTERMS.created),
        modified=reader.text(ontology, DCTERMS.modified),
        see_also=sorted(str(o) for o in graph.objects(ontology, RDFS.seeAlso)),
        namespace=namespace,
        prefix=prefix,
    )

    class_iris = sorted({s for t in (OWL.Class, RDFS.Class) for s in graph.subjects(RDF.type, t) if reader.ours(s)},
                        key=lambda s: str(s).lower())
    property_iris = sorted({s for t in PROPERTY_KINDS for s in graph.subjects(RDF.type, t) if reader.ours(s)},
                           key=lambda s: str(s).lower())

    classes = {}
    for iri in class_iris:
        doc = ClassDoc(ref=reader.ref(iri), label=reader.label(iri), definition=reader.definition(iri),
                       notes=reader.notes(iri), instances=None if instances is None else instances.get(str(iri), 0))
        for parent in reader.sorted_refs(graph.objects(iri, RDFS.subClassOf)):
            (doc.superclasses if parent.ours else doc.alignments).append(parent)
        doc.equivalents = reader.sorted_refs(o for o in graph.objects(iri, OWL.equivalentClass))
        doc.subclasses = reader.sorted_refs(s for s in graph.subjects(RDFS.subClassOf, iri) if reader.ours(s))
        doc.disjoint_with = reader.sorted_refs(reader.disjoint(iri))
        classes[iri] = doc

    properties = []
    for iri in property_iris:
        types = set(graph.objects(iri, RDF.type))
        kind = next(PROPERTY_KINDS[t][0] for t in PROPERTY_KINDS if t in types)
        doc = PropertyDoc(ref=reader.ref(iri), label=reader.label(iri), definition=reader.definition(iri), kind=kind,
                          notes=reader.notes(iri), uses=None if uses is None else uses.get(str(iri), 0))
        doc.characteristics = [reader.curie(t).split(":", 1)[1].removesuffix("Property") for t in CHARACTERISTICS if t in types]
        doc.domain = reader.sorted_refs(reader.members(graph.objects(iri, RDFS.domain)))
        doc.range = reader.sorted_refs(reader.members(graph.objects(iri, RDFS.range)))
        for parent in reader.sorted_refs(graph.objects(iri, RDFS.subPropertyOf)):
            (doc.superproperties if parent.ours else doc.alignments).append(parent)
        doc.equivalents = reader.sorted_refs(graph.objects(iri, OWL.equivalentProperty))
        doc.subproperties = reader.sorted_refs(s for s in graph.subjects(RDFS.subPropertyOf, iri) if reader.ours(s))
        doc.inverse = reader.sorted_refs([*graph.objects(iri, OWL.inverseOf), *graph.subjects(OWL.inverseOf, iri)])
        properties.append(doc)
        for target, attribute in ((doc.domain, "domain_of"), (doc.range, "range_of")):
            for ref in target:
                owner = classes.get(URIRef(ref.iri))
                if owner is not None:
                    getattr(owner, attribute).append(doc.ref)

    for iri, doc in classes.items():
        ancestors = reader.ancestors(iri, RDFS.subClassOf)
        direct = {r.iri for r in doc.alignments}
        inherited: list[Ref] = []
        for ancestor in ancestors:
            if reader.ours(ancestor):
                inherited += classes[ancestor].domain_of if ancestor in classes else []
            elif str(ancestor) not in direct and str(ancestor) not in TRIVIAL:
                doc.inferred_alignments.append(reader.ref(ancestor))
        doc.inherited_domain_of = sorted(set(inherited) - set(doc.domain_of), key=lambda r: r.name.lower())
        doc.inferred_alignments = sorted(set(doc.inferred_alignments), key=lambda r: r.curie.lower())
    for doc in properties:
        direct = {r.iri for r in doc.alignments}
        doc.inferred_alignments = sorted({reader.ref(a) for a in reader.ancestors(URIRef(doc.ref.iri), RDFS.subPropertyOf)
                                          if not reader.ours(a) and str(a) not in direct}, key=lambda r: r.curie.lower())

    alignments = []
    for doc, relations in [*((c, (("rdfs:subClassOf", c.alignments), ("owl:equivalentClass", c.equivalents)))
                             for c in classes.values()),
                           *((p, (("rdfs:subPropertyOf", p.alignments), ("owl:equivalentProperty", p.equivalents)))
                             for p in properties)]:
        for relation, targets in relations:
            for target in targets:
                if target.ours:
                    continue
                name, url = reader.vocabulary(target.iri)
                alignments.append(Alignment(name, url, doc.ref, relation, target))
    return OntologyDocs(header, list(classes.values()), properties, alignments, graph)


def _first(values: Iterable[str]) -> str | None:
    return next(iter(sorted(values)), None)


class _Reader:
    """Small helpers over the ontology graph."""

    def __init__(self, graph: Graph, namespace: str, prefix: str, inferred: Graph) -> None:
        self.graph = graph
        self.namespace = namespace
        self.prefix = prefix
        self.inferred = inferred
        self.prefixes = sorted(((iri, p) for p, iri in PREFIXES.items()), key=lambda item: -len(item[0]))

    def ours(self, term) -> bool:
        return isinstance(term, URIRef) and str(term).startswith(self.namespace) and len(str(term)) > len(self.namespace)

    def curie(self, term) -> str:
        iri = str(term)
        if iri.startswith(self.namespace):
            return f"{self.prefix}:{iri[len(self.namespace):]}"
        for namespace, prefix in self.prefixes:
            if iri.startswith(namespace) and re.fullmatch(r"[A-Za-z_][\w.-]*", iri[len(namespace):]):
                return f"{prefix}:{iri[len(namespace):]}"
        return iri

    def ref(self, term) -> Ref:
        ours = self.ours(term)
        return Ref(str(term), self.curie(term), ours, self.label(term) if ours else "")

    def sorted_refs(self, terms: Iterable) -> list[Ref]:
        refs = {self.ref(t) for t in terms if isinstance(t, URIRef)}
        return sorted(refs, key=lambda r: (not r.ours, r.curie.lower()))

    def text(self, subject, *predicates) -> str | None:
        for predicate in predicates:
            values = [o for o in self.graph.objects(subject, predicate) if isinstance(o, Literal)]
            if values:
                values.sort(key=lambda v: (v.language not in ("en", None), v.language or "", str(v)))
                return str(values[0])
        return None

    def label(self, term) -> str:
        return self.text(term, RDFS.label, SKOS.prefLabel) or str(term).rsplit("/", 1)[-1].rsplit("#", 1)[-1]

    def definition(self, term) -> str:
        return self.text(term, SKOS.definition, RDFS.comment) or ""

    def notes(self, term) -> list[str]:
        """Comments, scope notes and examples beyond the definition."""
        notes = []
        has_definition = (term, SKOS.definition, None) in self.graph
        for predicate in ((RDFS.comment,) if has_definition else ()) + (SKOS.scopeNote, SKOS.note, SKOS.example):
            notes += sorted(str(o) for o in self.graph.objects(term, predicate) if isinstance(o, Literal))
        return notes

    def members(self, terms: Iterable) -> list:
        """Named classes, with owl:unionOf lists opened up."""
        out = []
        for term in terms:
            if isinstance(term, BNode):
                for collection in self.graph.objects(term, OWL.unionOf):
                    out += [m for m in Collection(self.graph, collection) if isinstance(m, URIRef)]
            else:
                out.append(term)
        return out

    def disjoint(self, term) -> set:
        found = set(self.graph.objects(term, OWL.disjointWith)) | set(self.graph.subjects(OWL.disjointWith, term))
        for axiom in self.graph.subjects(RDF.type, OWL.AllDisjointClasses):
            for collection in self.graph.objects(axiom, OWL.members):
                members = list(Collection(self.graph, collection))
                if term in members:
                    found |= {m for m in members if m != term}
        return found

    def ancestors(self, term, predicate) -> list:
        """Every superclass (or superproperty), transitively, as asserted or as the reasoner concluded."""
        seen: dict = {}
        todo = [term]
        while todo:
            current = todo.pop()
            for graph in (self.graph, self.inferred):
                for parent in graph.objects(current, predicate):
                    if isinstance(parent, URIRef) and parent != term and parent not in seen:
                        seen[parent] = None
                        todo.append(parent)
        return list(seen)

    def vocabulary(self, iri: str) -> tuple[str, str]:
        for namespace, (name, url) in VOCABULARIES.items():
            if iri.startswith(namespace):
                return name, url
        namespace = re.sub(r"[^/#]*$", "", iri)
        return namespace, namespace


# --------------------------------------------------------------------------------------------------
# The class diagram

FONT_PX = 13
CHAR_PX = 7.6  # a generous average advance of the sans-serif font at FONT_PX
BOX_H = 24
ROW_PX = 30
TREE_GAP_ROWS = 0.5
LEVEL_GAP = 34
COLUMN_GAP = 40
MARGIN = 12
MAX_COLUMNS = 3
TARGET_WIDTH = 1100


@dataclass
class _Node:
    doc: ClassDoc
    children: list["_Node"] = field(default_factory=list)
    depth: int = 0
    row: float = 0.0

    def walk(self) -> Iterable["_Node"]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def leaves(self) -> int:
        return max(1, sum(child.leaves for child in self.children))

    @property
    def height(self) -> int:
        return 1 + max((child.height for child in self.children), default=0)


def _box_width(name: str, bold: bool = False) -> float:
    """Width of a box for ``name``; roots are set in bold, which runs about a tenth wider."""
    return round(len(name) * CHAR_PX * (1.1 if bold else 1.0) + 20)


def _forest(classes: list[ClassDoc]) -> list[_Node]:
    """Our classes as trees: each class under its first superclass of ours (more are named in its section)."""
    by_iri = {c.ref.iri: c for c in classes}
    nodes = {c.ref.iri: _Node(c) for c in classes}
    roots = []
    for doc in classes:
        parents = [p.iri for p in doc.superclasses if p.iri in by_iri and p.iri != doc.ref.iri]
        if parents:
            nodes[parents[0]].children.append(nodes[doc.ref.iri])
        else:
            roots.append(nodes[doc.ref.iri])
    reachable = {id(n) for root in roots for n in root.walk()}
    roots += [n for n in nodes.values() if id(n) not in reachable]  # cycles: show them rather than lose them
    for root in roots:
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            node.depth = depth
            node.children.sort(key=lambda n: (-n.leaves, n.doc.name.lower()))
            stack += [(child, depth + 1) for child in node.children]
    roots.sort(key=lambda n: (-n.leaves, -n.height, n.doc.name.lower()))
    return roots


def _columns(trees: list[_Node], count: int) -> list[list[_Node]]:
    """Trees dealt to ``count`` columns, each to the currently shortest one (the largest trees first)."""
    columns: list[list[_Node]] = [[] for _ in range(count)]
    heights = [0.0] * count
    for tree in trees:
        shortest = heights.index(min(heights))
        columns[shortest].append(tree)
        heights[shortest] += tree.leaves + TREE_GAP_ROWS
    return [c for c in columns if c]


def class_diagram(classes: list[ClassDoc]) -> str:
    """The hierarchy of our classes as an inline SVG: left-to-right trees packed into columns, then a
    row of the classes that stand alone (no superclass or subclass of ours).

    Boxes link to ``#<Class>``; a line with an open triangle joins a class to its subclasses (UML
    generalisation). No JavaScript, no external renderer: text widths are estimated generously.
    """
    forest = _forest(classes)
    if not forest:
        return ""
    trees = [tree for tree in forest if tree.children]
    alone = sorted((tree for tree in forest if not tree.children), key=lambda n: n.doc.name.lower())
    columns: list[list[_Node]] = []
    width, height, level_widths = 0, 0, []
    if trees:
        layouts = [(c, *_measure(c)) for c in (_columns(trees, n) for n in range(1, MAX_COLUMNS + 1))]
        # the lowest arrangement that fits the target width, else the narrowest one
        fitting = [layout for layout in layouts if layout[1] <= TARGET_WIDTH]
        columns, width, height, level_widths = (min(fitting, key=lambda l: l[2]) if fitting
                                                else min(layouts, key=lambda l: l[1]))
    parts: list[str] = []
    x0 = MARGIN
    for column, widths in zip(columns, level_widths):
        offsets = [x0]
        for w in widths[:-1]:
            offsets.append(offsets[-1] + w + LEVEL_GAP)
        row = 0.0
        for tree in column:
            _assign_rows(tree, row)
            parts += _draw(tree, offsets, widths)
            row += tree.leaves + TREE_GAP_ROWS
        x0 = offsets[-1] + widths[-1] + COLUMN_GAP
    if alone:
        box = max(_box_width(node.doc.name, True) for node in alone)
        gap = 14
        width = max(width, min(TARGET_WIDTH, int(2 * MARGIN + len(alone) * (box + gap) - gap)))
        per_row = max(1, int((width - 2 * MARGIN + gap) // (box + gap)))
        top = height + (10 if trees else 0)
        parts.append(f'<text x="{MARGIN}" y="{top + MARGIN + 4}" fill="#4d5566" font-size="{FONT_PX - 1}" '
                     f'dominant-baseline="central">Classes with no superclass or subclass of ours:</text>')
        first = (top + 16) / ROW_PX  # in rows, for _y
        for i, node in enumerate(alone):
            node.row = first + i // per_row
            parts += _draw(node, [MARGIN + (i % per_row) * (box + gap)], [box])
        height = int(_y(first + (len(alone) - 1) // per_row) + BOX_H + MARGIN)
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" class="class-diagram" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="group" aria-labelledby="diagram-title diagram-desc" '
            f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif" font-size="{FONT_PX}">',
            '<title id="diagram-title">Class hierarchy of the ontology</title>',
            f'<desc id="diagram-desc">{len(classes)} classes: {len(trees)} hierarchies and {len(alone)} classes on their '
            'own. Each box links to the description of its class; lines join a class, on the left, to its '
            'subclasses.</desc>']
    return "\n".join(head + parts + ["</svg>"])


def _measure(columns: list[list[_Node]]) -> tuple[int, int, list[list[float]]]:
    level_widths = []
    total = MARGIN
    rows = 0.0
    for column in columns:
        depth = max(tree.height for tree in column)
        widths = [0.0] * depth
        for tree in column:
            for node in tree.walk():
                widths[node.depth] = max(widths[node.depth], _box_width(node.doc.name, node.depth == 0))
        level_widths.append(widths)
        total += sum(widths) + LEVEL_GAP * (depth - 1) + COLUMN_GAP
        rows = max(rows, sum(tree.leaves for tree in column) + TREE_GAP_ROWS * (len(column) - 1))
    width = int(total - COLUMN_GAP + MARGIN)
    height = int(rows * ROW_PX - (ROW_PX - BOX_H) + 2 * MARGIN)
    return width, height, level_widths


def _assign_rows(node: _Node, first: float) -> float:
    """Leaves on consecutive rows from ``first``; a parent midway between its first and last child."""
    if not node.children:
        node.row = first
        return first + 1
    row = first
    for child in node.children:
        row = _assign_rows(child, row)
    node.row = (node.children[0].row + node.children[-1].row) / 2
    return row


def _y(row: float) -> float:
    return MARGIN + row * ROW_PX


def _draw(node: _Node, offsets: list[float], widths: list[float]) -> list[str]:
    x, y, w = offsets[node.depth], _y(node.row), widths[node.depth]
    doc = node.doc
    tooltip = doc.label + (" — " + doc.definition if doc.definition else "")
    css = "root" if node.depth == 0 else "sub"
    weight = ' font-weight="600"' if node.depth == 0 else ""
    fill, stroke = ("#e3edf9", "#0b5cad") if node.depth == 0 else ("#ffffff", "#6b7a90")
    parts = [f'<a href="#{escape(doc.name)}" class="node {css}">'
             f'<title>{escape(tooltip)}</title>'
             f'<rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="4" fill="{fill}" stroke="{stroke}"/>'
             f'<text x="{x + w / 2}" y="{y + BOX_H / 2}" text-anchor="middle" dominant-baseline="central" '
             f'fill="#0b3d75"{weight}>{escape(doc.name)}</text></a>']
    if node.children:
        mid = y + BOX_H / 2
        tip = x + w
        base = tip + 9
        trunk = x + w + LEVEL_GAP / 2 + 4
        ys = [_y(child.row) + BOX_H / 2 for child in node.children]
        lines = [f"M{base},{mid}H{trunk}", f"M{trunk},{min(ys + [mid])}V{max(ys + [mid])}"]
        lines += [f"M{trunk},{cy}H{offsets[node.depth + 1]}" for cy in ys]
        parts.append(f'<path class="edge" d="{" ".join(lines)}" fill="none" stroke="#6b7a90" stroke-width="1.2"/>')
        parts.append(f'<path class="arrow" d="M{tip},{mid}L{base},{mid - 5}L{base},{mid + 5}Z" fill="#ffffff" '
                     f'stroke="#6b7a90" stroke-width="1.2"/>')
        for child in node.children:
            parts += _draw(child, offsets, widths)
    return parts
