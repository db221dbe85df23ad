"""The SHACL shapes in shapes/: one failing example per constraint, a valid example, the shipped data.

Every file tests/shapes/<ShapeLocalName>/invalid-*.ttl starts with a line

    # expect: sh:<Component> [<path> | sparql]

and must produce exactly one validation result, from that node shape (or one of its property
shapes), with that sh:sourceConstraintComponent and, when a path is given, that sh:resultPath.
A constraint in the shapes with no such example fails test_every_constraint_has_a_failing_example.

Validation is run as kg/build/validate.py and the header of shapes/shapes.ttl say: the ontology as
pySHACL's ont_graph, inference "none".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS, XSD
from rdflib.term import BNode, Node

ROOT = Path(__file__).resolve().parent.parent
SHAPES_DIR = ROOT / "shapes"
ONTOLOGY_DIR = ROOT / "ontology"
DATA_DIR = ROOT / "data"
FIXTURES_DIR = Path(__file__).resolve().parent / "shapes"

#: Must match the header of shapes/shapes.ttl and kg/build/validate.py.
INFERENCE = "none"

SHAPE_NS = Namespace("https://w3id.org/integrating-cities/shapes/")
IC = Namespace("https://w3id.org/integrating-cities/def/")
SCHEMA = Namespace("https://schema.org/")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
#: Prefixes allowed in the expect line.
PREFIXES = {"sh": str(SH), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD), "skos": str(SKOS), "ic": str(IC),
            "owl": str(OWL), "dcterms": str(DCTERMS), "schema": str(SCHEMA), "geo": str(GEO)}

#: Constraint parameter -> the constraint component it activates (SHACL 4 and 5).
PARAMETERS = {
    SH["class"]: "ClassConstraintComponent",
    SH.datatype: "DatatypeConstraintComponent",
    SH.nodeKind: "NodeKindConstraintComponent",
    SH.minCount: "MinCountConstraintComponent",
    SH.maxCount: "MaxCountConstraintComponent",
    SH.minExclusive: "MinExclusiveConstraintComponent",
    SH.minInclusive: "MinInclusiveConstraintComponent",
    SH.maxExclusive: "MaxExclusiveConstraintComponent",
    SH.maxInclusive: "MaxInclusiveConstraintComponent",
    SH.minLength: "MinLengthConstraintComponent",
    SH.maxLength: "MaxLengthConstraintComponent",
    SH.pattern: "PatternConstraintComponent",
    SH.languageIn: "LanguageInConstraintComponent",
    SH.uniqueLang: "UniqueLangConstraintComponent",
    SH.equals: "EqualsConstraintComponent",
    SH.disjoint: "DisjointConstraintComponent",
    SH.lessThan: "LessThanConstraintComponent",
    SH.lessThanOrEquals: "LessThanOrEqualsConstraintComponent",
    SH["not"]: "NotConstraintComponent",
    SH["and"]: "AndConstraintComponent",
    SH["or"]: "OrConstraintComponent",
    SH.xone: "XoneConstraintComponent",
    SH.node: "NodeConstraintComponent",
    SH.qualifiedMinCount: "QualifiedMinCountConstraintComponent",
    SH.qualifiedMaxCount: "QualifiedMaxCountConstraintComponent",
    SH.closed: "ClosedConstraintComponent",
    SH.hasValue: "HasValueConstraintComponent",
    SH["in"]: "InConstraintComponent",
    SH.sparql: "SPARQLConstraintComponent",
}
#: Predicates of a shape that are not constraint parameters.
NOT_PARAMETERS = {
    RDF.type, RDFS.label, RDFS.comment, SH.name, SH.description, SH.message, SH.severity, SH.deactivated,
    SH.order, SH.group, SH.path, SH.property, SH.targetClass, SH.targetNode, SH.targetSubjectsOf,
    SH.targetObjectsOf, SH.target, SH.flags, SH.ignoredProperties, SH.qualifiedValueShape,
    SH.qualifiedValueShapesDisjoint, SH.defaultValue,
}
EXPECT = re.compile(r"^# expect: sh:(?P<component>\w+ConstraintComponent)(?: (?P<path>\S+))?\s*$")


# --------------------------------------------------------------------------- loading


def _parse_folder(folder: Path) -> Graph:
    graph = Graph()
    for path in sorted(folder.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return _parse_folder(SHAPES_DIR)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return _parse_folder(ONTOLOGY_DIR)


def run(data: Graph, shapes: Graph, ontology: Graph) -> tuple[bool, Graph, str]:
    conforms, report, text = validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference=INFERENCE, advanced=True,
        abort_on_first=False, allow_warnings=False, meta_shacl=False,
    )
    return conforms, report, text


# --------------------------------------------------------------------------- constraints of the shapes


@dataclass(frozen=True, order=True)
class Key:
    """One constraint: the node shape it belongs to, its component, and its path ("sparql" or None)."""

    shape: str
    component: str
    path: str | None

    def __str__(self) -> str:
        return f"{self.shape}: sh:{self.component} {self.path or '(focus node)'}"


def local(node: Node) -> str:
    assert isinstance(node, URIRef) and str(node).startswith(str(SHAPE_NS)), f"shape {node} is not in {SHAPE_NS}"
    return str(node)[len(SHAPE_NS):]


def curie(iri: Node) -> str:
    assert isinstance(iri, URIRef), f"only predicate paths are used in the shapes, not {iri!r}"
    for prefix, namespace in PREFIXES.items():
        if str(iri).startswith(namespace):
            return f"{prefix}:{str(iri)[len(namespace):]}"
    raise AssertionError(f"{iri} has no prefix in {sorted(PREFIXES)}")


def expand(token: str) -> URIRef:
    prefix, _, name = token.partition(":")
    assert prefix in PREFIXES, f"unknown prefix in {token!r}; use one of {sorted(PREFIXES)}"
    return URIRef(PREFIXES[prefix] + name)


def node_shapes(shapes: Graph) -> list[URIRef]:
    return sorted(shapes.subjects(RDF.type, SH.NodeShape))


def parameters(shapes: Graph, shape: Node) -> list[str]:
    """The constraint components a shape (node or property) activates itself."""
    components = []
    for predicate in sorted(set(shapes.predicates(shape, None))):
        if predicate in NOT_PARAMETERS or predicate == SH.sparql:
            continue
        assert predicate in PARAMETERS, f"{shape}: unknown constraint parameter {predicate}; add it to PARAMETERS"
        components.append(PARAMETERS[predicate])
    return components


def constraints(shapes: Graph) -> list[tuple[Key, Node]]:
    """Every constraint of the shapes graph, with the shape (node, property or SPARQL) that states it."""
    found = []
    for shape in node_shapes(shapes):
        name = local(shape)
        for component in parameters(shapes, shape):
            found.append((Key(name, component, None), shape))
        for sparql in shapes.objects(shape, SH.sparql):
            found.append((Key(name, "SPARQLConstraintComponent", "sparql"), sparql))
        for prop in shapes.objects(shape, SH.property):
            path = curie(shapes.value(prop, SH.path))
            for component in parameters(shapes, prop):
                found.append((Key(name, component, path), prop))
            assert not list(shapes.objects(prop, SH.sparql)), f"{name} {path}: put SPARQL constraints on node shapes"
    return found


def owner(shapes: Graph, source_shape: Node) -> str:
    """The node shape a result's sh:sourceShape is, or belongs to as a property shape."""
    if (source_shape, RDF.type, SH.NodeShape) in shapes:
        return local(source_shape)
    parents = list(shapes.subjects(SH.property, source_shape))
    assert len(parents) == 1, f"property shape {source_shape} belongs to {len(parents)} node shapes"
    return local(parents[0])


# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Fixture:
    path: Path
    key: Key


def read_fixture(path: Path) -> Fixture:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = EXPECT.match(first)
    assert match, f"{path}: the first line must be '# expect: sh:<Component> [<path> | sparql]', not {first!r}"
    return Fixture(path, Key(path.parent.name, match["component"], match["path"]))


INVALID = sorted(FIXTURES_DIR.glob("*/invalid-*.ttl"))


@pytest.mark.parametrize("path", INVALID, ids=[str(p.relative_to(FIXTURES_DIR)) for p in INVALID])
def test_invalid_example_breaks_exactly_its_constraint(path: Path, shapes: Graph, ontology: Graph) -> None:
    fixture = read_fixture(path)
    data = Graph().parse(path, format="turtle")
    conforms, report, text = run(data, shapes, ontology)
    results = list(report.subjects(RDF.type, SH.ValidationResult))
    assert not conforms and len(results) == 1, f"expected exactly one result for {fixture.key}, got:\n{text}"
    result = results[0]
    component = report.value(result, SH.sourceConstraintComponent)
    assert component == SH[fixture.key.component], text
    assert owner(shapes, report.value(result, SH.sourceShape)) == fixture.key.shape, text
    if fixture.key.path not in (None, "sparql"):
        assert report.value(result, SH.resultPath) == expand(fixture.key.path), text
    if fixture.key.path is None:
        assert report.value(result, SH.resultPath) is None, text
    message = report.value(result, SH.resultMessage)
    assert message is not None and "{?" not in str(message) and "{$" not in str(message), f"unfilled message: {message}"


def test_valid_minimal_example_conforms(shapes: Graph, ontology: Graph) -> None:
    data = Graph().parse(FIXTURES_DIR / "valid-minimal.ttl", format="turtle")
    conforms, _report, text = run(data, shapes, ontology)
    assert conforms, text


def test_every_constraint_has_a_failing_example(shapes: Graph) -> None:
    declared = {key for key, _ in constraints(shapes)}
    covered = {read_fixture(path).key for path in INVALID}
    missing = sorted(declared - covered)
    stale = sorted(covered - declared)
    assert not missing, "constraints without a tests/shapes/<Shape>/invalid-*.ttl example:\n" + "\n".join(map(str, missing))
    assert not stale, "examples whose expect line names no constraint of the shapes:\n" + "\n".join(map(str, stale))


def test_each_constraint_is_named_once(shapes: Graph) -> None:
    """(shape, component, path) identifies a constraint, so that an example points at exactly one."""
    keys = [key for key, _ in constraints(shapes)]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, "split these into separate shapes or paths:\n" + "\n".join(map(str, duplicates))


def test_shapes_and_constraints_are_explained(shapes: Graph) -> None:
    """sh:name, sh:description and sh:message on every node shape, property shape and SPARQL constraint."""
    unexplained = []
    explained = set(node_shapes(shapes)) | {node for _, node in constraints(shapes)}
    for node in explained:
        for predicate in (SH.name, SH.description, SH.message):
            if shapes.value(node, predicate) is None:
                unexplained.append(f"{node} has no {curie(predicate)}")
    assert not unexplained, "\n".join(sorted(unexplained))


def test_core_messages_have_no_placeholders(shapes: Graph) -> None:
    """pySHACL fills {?value} only in SPARQL constraint messages; elsewhere it would be printed as is."""
    sparql_nodes = set(shapes.objects(None, SH.sparql))
    bad = [f"{node}: {message}" for node, message in shapes.subject_objects(SH.message)
           if node not in sparql_nodes and "{" in str(message)]
    assert not bad, "\n".join(sorted(bad))


def test_sparql_constraints_declare_their_prefixes(shapes: Graph) -> None:
    for sparql in shapes.objects(None, SH.sparql):
        prefixes = shapes.value(sparql, SH.prefixes)
        assert prefixes is not None and (prefixes, SH.declare, None) in shapes, f"{sparql} needs sh:prefixes"


def _local_name(iri: Node) -> str:
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def test_every_class_with_instances_has_a_shape(shapes: Graph, ontology: Graph, data: Graph) -> None:
    """Each ontology class the shipped data uses is the sh:targetClass of its own shape:<Class>Shape."""
    classes = set(ontology.subjects(RDF.type, OWL.Class))
    used = {c for c in data.objects(None, RDF.type) if c in classes}
    targeted = {target: shape for shape, target in shapes.subject_objects(SH.targetClass)}
    missing = sorted(c for c in used if c not in targeted or local(targeted[c]) != f"{_local_name(c)}Shape")
    assert not missing, "classes without shape:<Class>Shape: " + ", ".join(missing)


#: Classes whose instances need no ic:source (see shape:SourcedEntityShape): described in sources.ttl,
#: curated in vocabulary.ttl, introduced by common-knowledge.ttl, or blank nodes inside ic:during.
#: ic:Place and ic:Work themselves are here because their subclasses are targeted one by one (ic:SourceDocument
#: is a Work, ic:Country a Place); a new subclass of either must be placed on one side or the other.
NO_SOURCE_NEEDED = {IC[c] for c in ("Source", "SourceDocument", "ReferenceDataset", "CuratedLink", "DataGraph", "Country", "Theme", "Role", "CountKind",
                                    "CountQualifier", "Period", "Place", "Work")}


def superclasses(ontology: Graph, cls: URIRef) -> set[Node]:
    return set(ontology.transitive_objects(cls, RDFS.subClassOf))


def test_cross_cutting_shapes_reach_every_class(shapes: Graph, ontology: Graph) -> None:
    """A class added to the ontology is labelled, link-checked and source-checked, or deliberately exempt."""
    entity_targets = set(shapes.objects(SHAPE_NS.EntityShape, SH.targetClass))
    assert entity_targets == set(shapes.objects(SHAPE_NS.LinkShape, SH.targetClass))
    sourced_targets = set(shapes.objects(SHAPE_NS.SourcedEntityShape, SH.targetClass))
    problems = []
    for cls in sorted(ontology.subjects(RDF.type, OWL.Class)):
        up = superclasses(ontology, cls)
        if cls != IC.Period and not up & entity_targets:
            problems.append(f"{cls} is not targeted by shape:EntityShape and shape:LinkShape")
        if cls not in NO_SOURCE_NEEDED and not up & sourced_targets:
            problems.append(f"{cls} is neither targeted by shape:SourcedEntityShape nor exempt from it")
        if up & sourced_targets and cls in NO_SOURCE_NEEDED:
            problems.append(f"{cls} is exempt from ic:source but targeted by shape:SourcedEntityShape")
    assert not problems, "\n".join(problems)


def test_inference_mode_is_the_documented_one() -> None:
    header = (SHAPES_DIR / "shapes.ttl").read_text(encoding="utf-8").split("@prefix", 1)[0]
    assert f'inference="{INFERENCE}"' in header


# --------------------------------------------------------------------------- the shipped data


@pytest.fixture(scope="module")
def data() -> Graph:
    files = sorted(DATA_DIR.glob("*.ttl"))
    assert files, f"no data files in {DATA_DIR}"
    graph = Graph()
    for path in files:
        graph.parse(path, format="turtle")
    return graph


#: An e-mail address, telephone number or web address inside a literal (the pattern of shape:EntityShape's
#: "no contact details" rules, plus web addresses).
CONTACT = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+[.][a-z0-9.-]+|[(]at[)]|mailto:|[+][0-9]{2,3} ?[(]?[0-9]"
                     r"|tel[.:]? *[+(]?[0-9]|www[.]", re.IGNORECASE)


def test_fixtures_attach_no_contact_detail_to_anyone_the_sources_name(data: Graph) -> None:
    """A failing example needs an e-mail address or a telephone number, but an invented one attached to a real
    person or organisation would be published with the tests: such examples use fictional entities. A value
    the shipped data itself holds (a dataset's web address) is not invented."""
    real = {s for s in data.subjects(RDF.type, None) if isinstance(s, URIRef)}
    people = {str(n).lower() for p in data.subjects(RDF.type, IC.Person) for n in data.objects(p, IC.name)}
    problems = []
    for path in sorted(FIXTURES_DIR.rglob("*.ttl")):
        for s, p, o in Graph().parse(path, format="turtle"):
            if isinstance(o, Literal) and (p == IC.url or CONTACT.search(str(o))) and (s, p, o) not in data:
                text = str(o).lower()
                if s in real or any(name in text or name.replace(" ", ".") in text for name in people):
                    problems.append(f"{path.relative_to(FIXTURES_DIR)}: {s} {curie_or_str(p)} {str(o)!r}")
    assert not problems, "contact details on entities of the sources (use a fictional one):\n" + "\n".join(problems)


def test_shipped_data_conforms(data: Graph, shapes: Graph, ontology: Graph) -> None:
    """All data/*.ttl merged, as the build validates them."""
    conforms, report, _text = run(data, shapes, ontology)
    lines = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        if value == focus:
            value = None
        lines.append(
            f"{focus}"
            f"{' ' + curie_or_str(path) if path is not None else ''}"
            f"{' = ' + str(value) if value is not None and not isinstance(value, BNode) else ''}"
            f": {report.value(result, SH.resultMessage)}"
        )
    assert conforms, f"{len(lines)} violations in data/*.ttl:\n" + "\n".join(sorted(lines))


def curie_or_str(node: Node) -> str:
    try:
        return curie(node)
    except AssertionError:
        return str(node)
