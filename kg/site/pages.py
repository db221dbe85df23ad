"""A description as people see it: the model the resource page template renders.

Built from a :class:`kg.site.describe.Description`; nothing here queries the store. The page also embeds
the description as JSON-LD with schema.org as its vocabulary, for search engines.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import pyoxigraph as ox

from kg.formats import HTML, RDF_FORMATS
from kg.site.describe import DATE_PROPERTIES, DATE_WORDS, IC, NO_DATE, RDF, RDF_LANGSTRING, RDF_TYPE, RDFS, RDFS_LABEL, SCHEMA, SCHEMA_NAME, SKOS, TERM_LABELS, XSD, XSD_STRING, Description, GraphInfo, Linked, NaryRow, curie, dated, event_range, fallback_label, format_date, format_range, natural, to_jsonld
from kg.site.asof import Evidence, held_at
from kg.site.echoes import Fact, fold_echoes, group_by_predicate, vocabularies
from kg.site.urls import Urls

# ---------------------------------------------------------------------------------------------
# Queries and formats the page links to
# ---------------------------------------------------------------------------------------------

def describe_query(iri: str) -> str:
    return f"DESCRIBE <{iri}>"


def inbound_query(iri: str) -> str:
    return f"SELECT ?subject ?property WHERE {{\n  ?subject ?property <{iri}> .\n}}\nORDER BY ?property ?subject"


#: Every representation of a resource, in the order pages list them.
PAGE_FORMATS = (HTML, *RDF_FORMATS)


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

    def __init__(self, description: Description, urls: Urls) -> None:
        self.d = description
        self.urls = urls

    # -- single values ------------------------------------------------------------------------

    def sources(self, graphs: Iterable[str]) -> list[GraphInfo]:
        infos = [self.d.graphs.get(g) or GraphInfo(g, fallback_label(g), fallback_label(g)) for g in dict.fromkeys(graphs)]
        return sorted((i for i in infos if not i.inferred), key=lambda i: (i.source is None, i.short))

    def link(self, iri: str, graphs: Iterable[str] = (), with_when: bool = True) -> dict:
        linked = self.d.linked.get(iri)
        label = linked.label if linked else (curie(iri) if curie(iri) != iri else fallback_label(iri))
        when = self.when_of(linked) if (linked and with_when) else ""
        graphs = list(graphs)
        return {"kind": "iri", "text": label, "href": self.urls.resource(iri), "iri": iri, "title": curie(iri),
                "note": when, "local": iri.startswith(self.urls.base), "sources": self.sources(graphs),
                "inferred": bool(graphs) and all(self.is_inferred(g) for g in graphs)}

    def is_inferred(self, graph: str) -> bool:
        info = self.d.graphs.get(graph)
        return bool(info and info.inferred)

    def when_of(self, linked: Linked) -> str:
        dates = linked.dates
        if "startDate" in dates or "endDate" in dates:
            return event_range(dates.get("startDate"), dates.get("endDate"))
        for key in DATE_WORDS:
            if key in dates:
                return dated(key, [dates[key]])
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
        return {"label": label, "href": self.urls.resource(iri), "curie": curie(iri), "iri": iri}

    def property_key(self, iri: str) -> tuple:
        if iri in PROPERTY_ORDER:
            return (0, PROPERTY_ORDER.index(iri), "")
        if iri in LAST_PROPERTIES:
            return (2, LAST_PROPERTIES.index(iri), "")
        return (1, 0, self.prop(iri)["label"].casefold())

    # -- sections -----------------------------------------------------------------------------

    def rows(self) -> list[dict]:
        """The properties table: asserted properties first, then those with inferred values only; the reasoner's
        restatements of a fact in other vocabularies folded under it (kg.site.echoes)."""
        facts = [Fact(p.value, o, graphs, bool(graphs) and all(self.is_inferred(g) for g in graphs))
                 for (p, o), graphs in self.d.own.items()]
        rank = {iri: i for i, iri in enumerate(PROPERTY_ORDER)}
        rows = []
        for iri, kept in group_by_predicate(fold_echoes(facts, rank)).items():
            shown = [self.value(f.value, f.graphs, iri) | {"also": self.also(f), "explain": self.explain_link(iri, f)}
                     for f in kept]
            shown.sort(key=lambda v: (v["inferred"], natural(v["text"])))
            rows.append({"property": self.prop(iri), "values": shown, "inferred": all(v["inferred"] for v in shown)})
        rows.sort(key=lambda r: (r["inferred"], self.property_key(r["property"]["iri"])))
        return rows

    def explain_link(self, predicate: str, fact: Fact) -> str | None:
        """Where an inferred value's derivation is shown (/explain); None for asserted values and blank nodes,
        which a link cannot name across releases."""
        if not fact.inferred or isinstance(fact.value, ox.BlankNode):
            return None
        return self.urls.explain(f"<{self.d.iri}>", f"<{predicate}>", str(fact.value))

    def also(self, fact: Fact) -> dict | None:
        """The "Also as …" line of a fact: its echoes, each by the term that differs (the class, or the property)."""
        if not fact.echoes:
            return None
        items = [self.prop(e.value.value if e.predicate == RDF + "type" and isinstance(e.value, ox.NamedNode) else e.predicate)
                 for e in fact.echoes]
        return {"vocabularies": vocabularies(fact.echoes, curie), "items": items}

    def when(self) -> str:
        dates = {k: self.d.values(IC + k) for k in DATE_PROPERTIES}
        start = next((v for v in dates["startDate"] if isinstance(v, ox.Literal)), None)
        end = next((v for v in dates["endDate"] if isinstance(v, ox.Literal)), None)
        is_event = any(o.value == IC + "Event" for o in self.d.values(RDF + "type", asserted_only=False))
        if start is not None or end is not None:
            return event_range(start, end) if is_event else format_range(start, end)
        periods = [self.period_text(self.d.blank.get(b, {})) for b in self.d.values(IC + "during") if isinstance(b, ox.BlankNode)]
        if any(periods):
            return "; ".join(p for p in periods if p)
        for key in ("asOf", "datePublished", "launchDate"):
            literals = [v for v in dates[key] if isinstance(v, ox.Literal)]
            if literals:
                return dated(key, literals)
        return NO_DATE if is_event else ""

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

    def nary(self, rows: list[NaryRow], member_side: bool, evidence: dict[str, Evidence] | None = None) -> list[dict]:
        """The rows as the tables show them; with ``evidence`` (a page as of a date), each says why it is shown."""
        out = []
        for row in rows:
            others = row.organisation if member_side else row.member
            when = format_range(row.start, row.end) or (dated("asOf", row.as_of) if row.as_of else "")
            attested = [self.link(a) for a in row.attested_at]
            key = (row.start.value if row.start else "") or (row.as_of[0].value if row.as_of else "") or next(
                (self.d.linked[a].dates.get("startDate").value for a in row.attested_at  # type: ignore[union-attr]
                 if a in self.d.linked and "startDate" in self.d.linked[a].dates), "")
            out.append({"node": self.link(row.node, with_when=False), "kind": self.type_label(row.kind),
                        "others": [self.link(o, with_when=False) for o in others],
                        "roles": [self.link(r, with_when=False) for r in row.role],
                        "when": when, "attested": attested, "sort": key or "9999", "sources": self.sources(row.graphs),
                        "evidence": evidence_text(evidence[row.node]) if evidence else None})
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

    def timeline(self, inbound: list[dict], nary: list[dict]) -> list[dict]:
        """An organisation's dated events, posts and memberships, earliest first: what happened when, in one list
        (undated ones, and the objectives and counts a source dates, stay in their sections below)."""
        if not any(t.value == IC + "Organisation" for t in self.d.values(RDF + "type", asserted_only=False)):
            return []
        def happened(iri: str) -> bool:  # events and launches, not the objectives and counts a source dates
            linked = self.d.linked.get(iri)
            return bool(linked and {"startDate", "endDate", "launchDate"} & set(linked.dates))

        items = [{"date": item["sort"][0], "when": item["note"], "link": item, "what": group["heading"]}
                 for group in inbound for item in group["items"] if happened(item["iri"])]
        items += [{"date": row["sort"], "when": row["when"] or row["attested"][0]["note"], "link": row["node"], "what": row["kind"]}
                  for row in nary if row["sort"] != "9999"]
        unique = {(i["date"], i["link"]["href"]): i for i in items}
        return sorted(unique.values(), key=lambda i: (i["date"], natural(i["link"]["text"])))

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
            out.append({"info": info, "facts": n, "graph_href": self.urls.resource(g),
                        "source_href": self.urls.resource(info.source) if info.source else None})
        out.sort(key=lambda s: (s["info"].inferred, s["info"].source is None, s["info"].short))
        return out

    def event_start(self, iri: str) -> str | None:
        linked = self.d.linked.get(iri)
        start = linked.dates.get("startDate") if linked else None
        return start.value if start is not None else None

    def held(self, rows: list[NaryRow], at: str | None) -> tuple[list[NaryRow], dict[str, Evidence] | None]:
        """All rows, or as of ``at`` only those whose evidence agrees with it (kg.site.asof)."""
        if at is None:
            return rows, None
        found = {row.node: e for row in rows if (e := held_at(row, at, self.event_start)) is not None}
        return [row for row in rows if row.node in found], found

    def build(self, as_of: str | None = None) -> dict:
        d = self.d
        path = self.urls.path(d.iri) or d.iri
        types = [self.link(t.value, g, with_when=False) for (p, t), g in d.own.items()
                 if p == RDF_TYPE and isinstance(t, ox.NamedNode) and not all(self.is_inferred(x) for x in g)]
        types.sort(key=lambda t: t["text"])
        alt = sorted({o.value for o in d.values(SKOS + "altLabel") if isinstance(o, ox.Literal)})
        shown_in_nary = {r.node for r in d.nary_as_member + d.nary_as_organisation}
        inbound = self.inbound(shown_in_nary)
        members_of, member_evidence = self.held(d.nary_as_member, as_of)
        holders, holder_evidence = self.held(d.nary_as_organisation, as_of)
        as_member = self.nary(members_of, member_side=True, evidence=member_evidence)
        as_organisation = self.nary(holders, member_side=False, evidence=holder_evidence)
        every = len(d.nary_as_member) + len(d.nary_as_organisation)
        return {
            "iri": d.iri, "curie": curie(d.iri), "path": path, "label": d.label(), "types": types, "alt_labels": alt,
            "key_facts": self.key_facts(), "rows": self.rows(),
            "as_member": as_member, "as_organisation": as_organisation,
            "as_of": None if as_of is None else {"date": as_of, "text": format_date(as_of, _DATE_TYPES[len(as_of)]),
                                                  "shown": len(as_member) + len(as_organisation), "of": every},
            "has_nary": bool(every),
            "timeline": self.timeline(inbound, as_member + as_organisation),
            "inbound": inbound, "inbound_shown": len(d.inbound), "inbound_total": d.inbound_total,
            "inbound_inferred": d.inbound_inferred, "inbound_query": self.urls.editor(inbound_query(d.iri), f"What links to {d.label()}"),
            "sources": self.source_list(),
            "formats": [{"suffix": f.suffix, "name": f.label, "media_type": f.media_type, "href": f"{path}.{f.suffix}"}
                        for f in PAGE_FORMATS],
            "describe_query": self.urls.editor(describe_query(d.iri), f"DESCRIBE {d.label()}"),
            "jsonld": embedded_jsonld(d),
        }


def page_model(description: Description, urls: Urls, as_of: str | None = None) -> dict:
    """Everything the resource template shows, as plain data; ``as_of`` (checked by kg.site.asof.parse_as_of):
    only the memberships and posts that held then."""
    return PageBuilder(description, urls).build(as_of)


_DATE_TYPES = {4: XSD + "gYear", 7: XSD + "gYearMonth", 10: XSD + "date"}


def evidence_text(evidence: Evidence) -> str:
    """How a row shown as of a date says why: a period, or a date the sources attest it at (and only that)."""
    if evidence.kind == "period":
        return f"held {evidence.date}"
    when = format_date(evidence.date, _DATE_TYPES.get(len(evidence.date), XSD + "date"))
    how = "stated as of" if evidence.kind == "stated" else "shown at an event on"
    return f"{how} {when}: the sources attest it at this date, they give no period"

def embedded_jsonld(description: Description) -> dict:
    """The JSON-LD a page embeds for schema.org consumers: the description with schema.org as the vocabulary
    (the template writes it with Jinja's ``tojson``, which makes it safe inside ``<script>``).

    Besides the description's triples it gives the resource and every labelled node a ``name``
    (schema:name) from its rdfs:label, since schema.org consumers read names there.
    """
    triples = set(description.triples())
    for triple in list(triples):
        if triple.predicate == RDFS_LABEL:
            triples.add(ox.Triple(triple.subject, SCHEMA_NAME, triple.object))
    return to_jsonld(sorted(triples, key=str), description.iri, vocab=SCHEMA)

