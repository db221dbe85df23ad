"""Value type constraint components, https://www.w3.org/TR/shacl/#core-components-value-type.

sh:class, sh:datatype and sh:nodeKind, each a test of one value node. sh:datatype is an
UncertainTest: the literals of its datatype whose lexical form SPARQL cannot judge as rdflib does
are judged by rdflib (pySHACL's reading of them) before the queries run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node, XSDToPython

from kg.build.shacl.base import TYPE, Run, Test, UncertainTest, string
from kg.namespaces import SH

#: The SPARQL expression of each sh:nodeKind, on the value node {x}.
NODE_KINDS = {
    SH.IRI: "isIRI({x})", SH.BlankNode: "isBlank({x})", SH.Literal: "isLiteral({x})",
    SH.BlankNodeOrIRI: "!isLiteral({x})", SH.BlankNodeOrLiteral: "!isIRI({x})", SH.IRIOrLiteral: "!isBlank({x})",
}

#: Lexical forms that rdflib certainly reads as a valid value of the datatype (others go to Python).
SURELY_VALID = {
    XSD.integer: r"^[+-]?[0-9]+$",
    XSD.boolean: r"^(true|false|1|0)$",  # the whole lexical space: "TRUE", "yes", " true" are ill-typed
    XSD.date: r"^[1-9][0-9]{3}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)$",
}
#: The Python type pySHACL requires of a literal's value for these datatypes; others pass unparsed.
PYTHON_TYPES = {
    XSD.string: (str, bytes), RDF.langString: (str, bytes), XSD.integer: int, XSD.float: float,
    XSD.decimal: Decimal, XSD.boolean: bool, XSD.date: date, XSD.time: time, XSD.dateTime: datetime,
}


@dataclass(frozen=True)
class ClassTest(Test):
    cls: URIRef
    component = "ClassConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        t = run.fresh()
        return f"EXISTS {{ {x} {TYPE} {t} FILTER({t} IN ({', '.join(run.subclasses[self.cls])})) }}"


@dataclass(frozen=True)
class DatatypeTest(UncertainTest):
    datatype: URIRef
    component = "DatatypeConstraintComponent"

    @property
    def needs_lookup(self) -> bool:
        """rdflib parses the lexical form of this datatype (xsd:string and xsd:gYear, say, it does not)."""
        return self.datatype not in (XSD.string, RDF.langString) and XSDToPython.get(self.datatype) is not None

    def known(self, x: str) -> str:
        if not self.needs_lookup:
            return "true"  # the datatype alone decides
        surely = f" || REGEX(STR({x}), {string(SURELY_VALID[self.datatype])})" if self.datatype in SURELY_VALID else ""
        return f"!isLiteral({x}) || DATATYPE({x}) != {self.datatype.n3()}{surely}"

    def verdict(self, x: str) -> str:
        if self.datatype == RDF.langString:
            return f"isLiteral({x}) && LANG({x}) != \"\""
        return f"isLiteral({x}) && DATATYPE({x}) = {self.datatype.n3()}"

    def decide(self, value: Node) -> bool:
        """pySHACL's DatatypeConstraintComponent on one value."""
        if not isinstance(value, Literal):
            return False
        if value.datatype == self.datatype:
            return getattr(value, "ill_typed", None) is not True and _has_python_type(value.value, self.datatype)
        if value.datatype is None and value.language is None and self.datatype == XSD.string:
            return _has_python_type(value.value, self.datatype)
        return self.datatype == RDF.langString and bool(value.language) and _has_python_type(value.value, self.datatype)


def _has_python_type(value: object, datatype: URIRef) -> bool:
    expected = PYTHON_TYPES.get(datatype)
    return expected is None or isinstance(value, expected)


@dataclass(frozen=True)
class NodeKindTest(Test):
    kind: URIRef
    component = "NodeKindConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return NODE_KINDS[self.kind].format(x=x)
