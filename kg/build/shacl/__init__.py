"""Fast SHACL validation: our shapes compiled into SPARQL queries that Oxigraph runs.

pySHACL walks every focus node in Python and needs minutes for 10^5 triples. Here each constraint
of the shapes graph becomes one SPARQL query that returns only its violating rows, so the work is
done by the store's indexes (10^6 triples in about 10 s). pySHACL stays the reference:
tests/test_shacl_fast.py checks that both engines give the same Violations on every fixture of
tests/shapes/, on the shipped data and on synthetic graphs with planted violations.

    validate_store(store, shapes) -> list[Violation]   # what kg.build.validate.run_shacl(...)[0] returns
    compile_shapes(shapes) -> CompiledShapes            # once per shapes graph (cached); .validate(store)

The graph validated is the store's default graph: the data and the ontology together, as pySHACL's
``ont_graph`` mixes them. Named graphs are never read.

Supported (each proven equal to pySHACL in tests/test_shacl_fast.py, and on the W3C core suite in
tests/test_shacl_w3c.py, where every test is answered exactly or refused):

* targets: sh:targetClass (instances of subclasses included: rdfs:subClassOf* in the validated
  graph), implicit class targets (a shape that is an rdfs:Class, or an instance of a subclass of it
  the shapes graph states), sh:targetNode (IRIs and literals, present in the data or not),
  sh:targetSubjectsOf and sh:targetObjectsOf, on node shapes or on property shapes;
* sh:property with an IRI sh:path, on node shapes and on property shapes (the values of the outer
  path are the focus nodes of the inner shape, reported once per outer focus node reaching them, as
  pySHACL reports them);
* with ``full_report=False``, sh:path expressions: sh:inversePath, sequences, sh:alternativePath,
  sh:oneOrMorePath, sh:zeroOrMorePath, sh:zeroOrOnePath (``paths``: run as SPARQL property paths,
  reported in SPARQL syntax);
* sh:class, sh:datatype, sh:nodeKind; sh:minInclusive, sh:maxInclusive, sh:minExclusive,
  sh:maxExclusive; sh:minCount, sh:maxCount (distinct values); sh:pattern with sh:flags "i"/"m",
  sh:minLength, sh:maxLength, sh:languageIn, sh:uniqueLang; sh:hasValue and sh:in (IRIs and
  literals, compared as terms); sh:equals and sh:disjoint (on shapes with targets); sh:lessThan and
  sh:lessThanOrEquals (on property shapes with targets, each pair ordered as pySHACL orders it); sh:closed
  with sh:ignoredProperties (on node shapes with targets); sh:qualifiedValueShape with
  sh:qualifiedMinCount, sh:qualifiedMaxCount and sh:qualifiedValueShapesDisjoint (on property
  shapes with targets; siblings found as pySHACL finds them);
* sh:not, sh:and, sh:or, sh:xone, and sh:node where only the top-level results are wanted
  (``compile_shapes(shapes, full_report=False)``: pySHACL nests the node's own results under
  sh:detail, and the build reports those), whose members are node or property shapes made of the
  constraints above;
* sh:sparql on node shapes: sh:select with $this, sh:prefixes/sh:declare, sh:message templates
  ({?var} and {$var}) filled as pySHACL fills them, ?value and ?path taken from the results;
* sh:severity, sh:deactivated; sh:name, sh:description and one sh:message for the report (any
  number of them with ``full_report=False``, messages then "").

Anything else in the sh: namespace, and the corners of these features listed where they are read
(README, "SHACL and OWL fast paths refuse"), raise :class:`UnsupportedShape` naming the feature,
when the shapes are compiled or, for what only the data shows (instances of a blank-node subclass,
a blank node compared by sh:lessThan, a target node absent from the data when a path is
zero-length), when they run. Nothing is skipped silently: kg.build.validate then validates with pySHACL, with a
warning naming the feature. A validation report in the shapes graph (the W3C tests hold their
expected one) is ignored, as pySHACL ignores it.

The modules, laid out as pySHACL lays out its constraint components (one per section of the spec):

* ``compiler``: reads the shapes graph, refuses what it cannot compile, hands each parameter to its
  family below; :class:`CompiledShapes` runs the constraints on a store;
* ``base``: what they all build on: the run against one store, focus nodes, the tests of one value
  node and the constraints whose query rows become Violations;
* ``value_constraints`` (sh:class, sh:datatype, sh:nodeKind), ``value_range_constraints``
  (sh:min/maxInclusive, sh:min/maxExclusive), ``cardinality_constraints`` (sh:minCount, sh:maxCount),
  ``string_based_constraints`` (sh:pattern, sh:min/maxLength, sh:languageIn, sh:uniqueLang),
  ``property_pair_constraints`` (sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals), ``logical_constraints`` (sh:not, sh:and,
  sh:or, sh:xone), ``shape_based_constraints`` (sh:node, sh:qualifiedValueShape, shapes inside the others),
  ``other_constraints`` (sh:hasValue, sh:in, sh:closed), ``sparql_constraints`` (sh:sparql) and ``paths``
  (property paths).

Semantic choices (pySHACL's behaviour is matched, not SPARQL's):

* sh:datatype, sh:minInclusive and sh:pattern judge a literal as pySHACL does, through rdflib's
  reading of it: "2011-02-30"^^xsd:date is ill-typed, " 2"^^xsd:integer is the integer 2, and
  any lexical form of xsd:gYear or xsd:gYearMonth passes (rdflib does not parse them). SPARQL
  judges the literals whose lexical form it can judge the way rdflib does; the few others (one
  lookup query per such constraint, over the values of its paths) are judged in Python by rdflib
  and handed to the constraint's query by value.
* sh:pattern is Python's ``re`` in pySHACL and Rust's ``regex`` in Oxigraph. Patterns are limited
  to the syntax both read alike (see string_based_constraints.portable_pattern); strings with a
  newline (Python's ``$`` also matches before a final newline) and, with the "i" flag, strings
  with "İ" or "ı" (Python folds them to "i") are judged in Python.
* Values are reported as the store holds them: Oxigraph keeps numbers and date-times canonical,
  so "6.0"^^xsd:decimal is reported (and fills a message) as "6", where pySHACL given the rdflib
  parse of the file says "6.0". Blank nodes keep the store's identifiers: a store built from the
  rdflib graph pySHACL validates gives the same "_:id".
* A SPARQL constraint runs once, its focus nodes joined at the start of its outermost group,
  instead of once per pre-bound focus node; the two agree for the queries SHACL allows (no MINUS,
  VALUES, SERVICE or subqueries, which are refused). Its query is run by Oxigraph, not by
  rdflib's SPARQL engine; the two agree on the functions our queries use.
* Values are read as rdflib reads them where rdflib merges terms: "2", "none" and "yes"^^xsd:boolean
  (ill-typed: only "true", "false", "1" and "0" are valid) are one literal, "false", to pySHACL, so
  a value test reports one result for them. A target-node literal is reported as the shapes write it
  (pySHACL's term), though Oxigraph's queries read "4.0"^^xsd:decimal as "4".
* Boolean parameters (sh:deactivated, sh:uniqueLang, sh:closed) must be "true" or "false": the spec switches a
  parameter on with true alone, pySHACL with anything rdflib reads as True ("1"), so others are refused.
* Left out, as no data of ours has it: a case-insensitive sh:pattern on an IRI containing "İ" or "ı"
  (Python and Rust fold them differently; IRIs are matched by Oxigraph).
"""

from kg.build.shacl.base import UnsupportedShape
from kg.build.shacl.compiler import CompiledShapes, compile_shapes, validate_store

__all__ = ["CompiledShapes", "UnsupportedShape", "compile_shapes", "validate_store"]
