"""Reconciliation (the W3C Reconciliation API 0.2 that OpenRefine speaks): names in a spreadsheet matched
to our entities, and our facts about them fetched back into its columns.

Identifiers are short: an entity's is its IRI after ``<base>id/`` (``city/helsinki``), a class's or
property's its IRI after ``<base>def/`` (``City``, ``country``), so a user reads them in OpenRefine's
cells, and the manifest's identifierSpace and schemaSpace give the IRIs back. Full IRIs are accepted too.

:class:`Reconciler` is built once per release from its :class:`~kg.site.catalogue.Catalogue` (the same
entities, names and classes, inferred ones too, that search lists) and one query for the facts that
property constraints and data extension read. Names are compared as the build's GeoNames matching does
(:func:`kg.terms.fold_name`: no case, accents or "City of"), then by similarity, for misspellings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import pyoxigraph as ox

from kg.query.store import GraphStore
from kg.site.catalogue import Catalogue, Entry
from kg.terms import fold_name

#: A name no closer than this (difflib's ratio, 0–1) is no candidate.
MIN_SIMILARITY = 0.6
#: Candidates when a query gives no ``limit``.
DEFAULT_LIMIT = 5
#: Points a candidate loses for each property constraint it does not meet (scores run 0–100).
MISSED_PROPERTY_PENALTY = 25
#: Suggestions offered for what a suggest box holds.
_SUGGEST_LIMIT = 10

_TEXT_TYPES = {"http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
_INTEGER_TYPES = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in
                  ("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger", "gYear")}
_DECIMAL_TYPES = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in ("decimal", "double", "float")}
_DATE_TYPES = {"http://www.w3.org/2001/XMLSchema#date", "http://www.w3.org/2001/XMLSchema#dateTime"}


class BadQuery(ValueError):
    """A reconciliation, suggest or extension request this service cannot answer (HTTP 400)."""


@dataclass
class Term:
    """A class or property of our ontology, as suggest and data extension offer it."""

    id: str
    name: str
    description: str = ""


@dataclass
class Reconciler:
    """Everything reconciliation needs from one release, built once (:meth:`build`)."""

    catalogue: Catalogue
    classes: dict[str, Term]
    properties: dict[str, Term]
    #: entity IRI → property IRI → values (IRIs of entities, or literals), asserted and inferred
    facts: dict[str, dict[str, list[ox.NamedNode | ox.Literal]]] = field(default_factory=dict)
    #: entity IRI → its names folded (:func:`fold_name`), once per release rather than once per query
    names: dict[str, list[str]] = field(default_factory=dict)
    #: entity IRI → a sentence about it (its definition or description), for previews
    abstracts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, store: GraphStore, catalogue: Catalogue) -> Reconciler:
        base = catalogue.base
        schema = base + "def/"
        definitions = {row["t"].value: row["d"].value for row in store.query(
            "SELECT ?t (SAMPLE(?d) AS ?d) WHERE { GRAPH graph:ontology { ?t skos:definition ?d } } GROUP BY ?t")}

        def terms(kinds: str) -> dict[str, Term]:
            found = {}
            for row in store.query(f"SELECT DISTINCT ?t WHERE {{ GRAPH graph:ontology {{ VALUES ?k {{ {kinds} }} ?t a ?k }} "
                                   f'FILTER(STRSTARTS(STR(?t), "{schema}")) }}'):
                iri = row["t"].value
                found[iri] = Term(iri[len(schema):], catalogue.class_labels.get(iri, iri[len(schema):]),
                                  definitions.get(iri, ""))
            return found

        facts: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for row in store.query(f'SELECT ?s ?p ?o WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{base}id/") '
                               f'&& STRSTARTS(STR(?p), "{schema}")) }}'):
            if row["s"].value in catalogue.entries and not isinstance(row["o"], ox.BlankNode):
                facts[row["s"].value][row["p"].value].append(row["o"])
        abstracts = {row["s"].value: row["d"].value for row in store.query(
            "SELECT ?s (SAMPLE(?d) AS ?d) WHERE { ?s skos:definition|dcterms:description|schema:description ?d "
            f'FILTER(STRSTARTS(STR(?s), "{base}id/")) }} GROUP BY ?s')}
        return cls(catalogue, terms("owl:Class rdfs:Class"),
                   terms("owl:ObjectProperty owl:DatatypeProperty rdf:Property"), {k: dict(v) for k, v in facts.items()},
                   {iri: sorted({fold_name(n) for n in e.names}) for iri, e in catalogue.entries.items()}, abstracts)

    # -- identifiers --------------------------------------------------------------------------

    @property
    def identifier_space(self) -> str:
        return self.catalogue.base + "id/"

    @property
    def schema_space(self) -> str:
        return self.catalogue.base + "def/"

    def entity_id(self, iri: str) -> str:
        return iri[len(self.identifier_space):]

    def entity(self, id_: str) -> Entry | None:
        """The entity a short id or full IRI names, None if there is none."""
        iri = id_ if id_.startswith(self.identifier_space) else self.identifier_space + id_
        return self.catalogue.entries.get(iri)

    def _term_iri(self, id_: str, known: dict[str, Term], what: str) -> str:
        iri = id_ if id_.startswith(self.schema_space) else self.schema_space + id_
        if iri not in known:
            raise BadQuery(f"unknown {what} {id_!r}: the {what}s are those of {self.schema_space}"
                           f" (suggest them at /reconcile/suggest/{what})")
        return iri

    def type_of(self, entry: Entry) -> list[dict[str, str]]:
        return [{"id": self.classes[t].id, "name": self.classes[t].name} for t in entry.types if t in self.classes]

    def describe(self, entry: Entry) -> str:
        """A line that tells namesakes apart: its classes and places (where it is, else its country)."""
        places = [label for _iri, label in entry.places]
        if not places:
            countries = self.facts.get(entry.iri, {}).get(self.schema_space + "country", [])
            places = [self.catalogue.entries[c.value].label for c in countries if c.value in self.catalogue.entries]
        return self.catalogue.type_label(entry) + (f" in {', '.join(places)}" if places else "")

    # -- reconciliation -----------------------------------------------------------------------

    def reconcile(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Candidates for one query of a batch, best first; ``match`` only on the single candidate that has
        exactly the name asked (folded) and meets every property constraint: a misspelling or a name two
        entities share is left for a person to confirm."""
        if not isinstance(query, dict):
            raise BadQuery("each query must be a JSON object such as {\"query\": \"Helsinki\"}")
        text = query.get("query")
        if not isinstance(text, str) or not fold_name(text):
            raise BadQuery("each query needs a non-empty \"query\" string")
        limit = query.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise BadQuery("\"limit\" must be a positive integer")
        types = self._types(query.get("type"))
        constraints = self._constraints(query.get("properties", []))
        wanted = fold_name(text)
        matcher = SequenceMatcher(None)
        matcher.set_seq2(wanted)
        scored: list[tuple[float, bool, Entry, list[dict[str, Any]]]] = []
        for entry in self.catalogue.entries.values():
            if types and not types & entry.classes:
                continue
            similarity, exact = self._similarity(entry, wanted, matcher)
            if similarity < MIN_SIMILARITY:
                continue
            features = [{"id": "name", "name": "name similarity", "value": round(similarity, 3)}]
            missed = 0
            for pid, prop, values in constraints:
                met = self._meets(entry, prop, values)
                features.append({"id": f"property:{pid}", "name": f"has the {pid} asked", "value": met})
                missed += not met
            score = max(0.0, round(100 * similarity - MISSED_PROPERTY_PENALTY * missed, 1))
            scored.append((score, exact and missed == 0, entry, features))
        scored.sort(key=lambda s: (-s[0], len(s[2].label), s[2].iri))
        sure = [s for s in scored if s[1]]
        return [{"id": self.entity_id(entry.iri), "name": entry.label, "description": self.describe(entry),
                 "score": score, "match": exact and len(sure) == 1, "type": self.type_of(entry), "features": features}
                for score, exact, entry, features in scored[:limit]]

    def _similarity(self, entry: Entry, wanted: str, matcher: SequenceMatcher) -> tuple[float, bool]:
        """The closest of its names to ``wanted`` (1.0 for the same folded name), and whether one is the same.
        A name whose quick upper bounds (difflib's) fall below what could still be kept is not compared in
        full: the answers are those of comparing every name."""
        best = 0.0
        for folded in self.names[entry.iri]:
            if folded == wanted:
                return 1.0, True
            matcher.set_seq1(folded)
            floor = max(best, MIN_SIMILARITY)
            if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
                best = max(best, matcher.ratio())
        return min(best, 0.99), False

    def _types(self, given: Any) -> set[str]:
        if given is None or given == "":
            return set()
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not all(isinstance(t, str) for t in given):
            raise BadQuery("\"type\" must be a class id such as \"City\", or a list of them")
        return {self._term_iri(t, self.classes, "type") for t in given}

    def _constraints(self, given: Any) -> list[tuple[str, str, list[str]]]:
        """(pid, property IRI, folded values or entity IRIs) of each constraint ``{"pid": …, "v": …}``."""
        if not isinstance(given, list):
            raise BadQuery("\"properties\" must be a list of {\"pid\": …, \"v\": …}")
        out = []
        for item in given:
            if not isinstance(item, dict) or not isinstance(item.get("pid"), str) or "v" not in item:
                raise BadQuery("each property constraint must be {\"pid\": \"country\", \"v\": \"Finland\"}")
            values = item["v"] if isinstance(item["v"], list) else [item["v"]]
            wanted = []
            for value in values:
                if isinstance(value, dict) and isinstance(value.get("id"), str):
                    entry = self.entity(value["id"])
                    wanted.append(entry.iri if entry else value["id"])
                elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    wanted.append(fold_name(str(value)))
                else:
                    raise BadQuery(f"property {item['pid']!r}: a value must be a string, a number or {{\"id\": …}}")
            out.append((item["pid"], self._term_iri(item["pid"], self.properties, "property"), wanted))
        return out

    def _meets(self, entry: Entry, prop: str, wanted: list[str]) -> bool:
        """Whether one of its values of ``prop`` is one of ``wanted``: the entity itself, or any of its names."""
        for value in self.facts.get(entry.iri, {}).get(prop, []):
            if value.value in wanted:
                return True
            target = self.catalogue.entries.get(value.value) if isinstance(value, ox.NamedNode) else None
            names = self.names[target.iri] if target else [fold_name(value.value)]
            if any(n in wanted for n in names):
                return True
        return False

    # -- suggest ------------------------------------------------------------------------------

    def suggest_entities(self, prefix: str, type_id: str | None = None) -> list[dict[str, Any]]:
        """Entities one of whose names (or of its words) starts with ``prefix``, shortest name first."""
        wanted = fold_name(prefix)
        types = self._types(type_id) if type_id else set()
        hits = []
        for entry in self.catalogue.entries.values():
            if types and not types & entry.classes:
                continue
            rank = _prefix_rank(wanted, self.names[entry.iri])
            if rank is not None:
                hits.append((rank, len(entry.label), entry.label, entry))
        hits.sort(key=lambda h: h[:3])
        return [{"id": self.entity_id(e.iri), "name": e.label, "description": self.describe(e), "notable": self.type_of(e)}
                for *_, e in hits[:_SUGGEST_LIMIT]]

    def suggest_terms(self, prefix: str, terms: dict[str, Term]) -> list[dict[str, str]]:
        """Classes or properties whose label or local name starts with ``prefix`` (by word too)."""
        wanted = fold_name(prefix)
        hits = []
        for term in terms.values():
            rank = _prefix_rank(wanted, [fold_name(term.name), fold_name(term.id)])
            if rank is not None:
                hits.append((rank, term.name, term))
        hits.sort(key=lambda h: h[:2])
        return [_term_json(t) for *_, t in hits[:_SUGGEST_LIMIT]]

    # -- data extension -----------------------------------------------------------------------

    def propose_properties(self, type_id: str, limit: int) -> list[dict[str, str]]:
        """The properties instances of the class hold, the most used first."""
        type_iri = self._term_iri(type_id, self.classes, "type")
        used: dict[str, int] = defaultdict(int)
        for entry in self.catalogue.entries.values():
            if type_iri in entry.classes:
                for prop in self.facts.get(entry.iri, {}):
                    if prop in self.properties:
                        used[prop] += 1
        ranked = sorted(used, key=lambda p: (-used[p], self.properties[p].name))
        return [_term_json(self.properties[p]) for p in ranked[:limit]]

    def extend(self, request: Any) -> dict[str, Any]:
        """The values of the properties asked, for each entity asked (``{"ids": […], "properties": [{"id": …}]}``)."""
        if not isinstance(request, dict) or not isinstance(request.get("ids"), list) \
                or not isinstance(request.get("properties"), list):
            raise BadQuery("extend must be {\"ids\": [\"city/helsinki\"], \"properties\": [{\"id\": \"country\"}]}")
        props = []
        for item in request["properties"]:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise BadQuery("each property to fetch must be {\"id\": \"country\"}")
            props.append((item["id"], self._term_iri(item["id"], self.properties, "property")))
        rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for id_ in request["ids"]:
            if not isinstance(id_, str):
                raise BadQuery("each id to extend must be a string")
            entry = self.entity(id_)
            held = self.facts.get(entry.iri, {}) if entry else {}
            rows[id_] = {pid: _unique([self._cell(v) for v in held.get(prop, [])]) for pid, prop in props}
        meta = [{"id": pid, "name": self.properties[prop].name} for pid, prop in props]
        return {"meta": meta, "rows": rows}

    def _cell(self, value: ox.NamedNode | ox.Literal) -> dict[str, Any]:
        if isinstance(value, ox.NamedNode):
            target = self.catalogue.entries.get(value.value)
            if target is not None:
                return {"id": self.entity_id(target.iri), "name": target.label}
            return {"str": value.value}
        datatype = value.datatype.value
        try:
            if datatype in _INTEGER_TYPES:
                return {"int": int(value.value)}
            if datatype in _DECIMAL_TYPES:
                return {"float": float(value.value)}
        except ValueError:
            pass
        if datatype in _DATE_TYPES and len(value.value) >= 10:
            return {"date": value.value if "T" in value.value else value.value[:10] + "T00:00:00Z"}
        return {"str": value.value}


def _prefix_rank(wanted: str, names: list[str]) -> int | None:
    """0 if a name starts with ``wanted``, 1 if one of its words does, None otherwise."""
    if not wanted:
        return None
    if any(n.startswith(wanted) for n in names):
        return 0
    if any(w.startswith(wanted) for n in names for w in n.split()):
        return 1
    return None


def _term_json(term: Term) -> dict[str, str]:
    return {"id": term.id, "name": term.name, **({"description": term.description} if term.description else {})}


def _unique(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for cell in cells:
        key = json.dumps(cell, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(cell)
    return out
