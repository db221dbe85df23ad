"""Realistic synthetic graphs of any size, for benchmarks and for testing the validator (`kg synth`).

``synthesize(out, triples=N, seed=S, violations=K)`` writes a project folder like ours — ``data/``
with one Turtle file per synthetic *source document* (so that named graphs and provenance keep the
shape of the real data), ``data/sources.ttl`` describing them and their graphs,
``data/vocabulary.ttl`` (a generated SKOS scheme of themes with ``skos:broader``, roles, count
kinds, methods), ``data/common-knowledge.ttl`` (the country of every city), and copies of the
real ``ontology/``, ``shapes/`` and ``checks/`` — holding about N triples (within a few per cent),
byte for byte the same for the same seed. Triples are counted per named graph, as ``kg build``
counts them (a fact two documents state counts twice; the ontology is not counted).

What the documents state, in the patterns of docs/MODELLING.md:

* network pages: a city network (``ic:CityNetwork``) with working groups (``ic:unitOf``), the
  memberships of cities in both (``ic:asOf`` the page date), chairs and vice-chairs over
  successive years (``ic:Post``, held by cities or persons, ``ic:during`` a period and, for the
  current holder, ``ic:asOf``), working-group meetings, a stated member count and news items;
* project pages: projects ``ic:fundedBy`` funding programmes, ``ic:ledBy`` a network or city,
  with ``ic:startDate``/``ic:endDate``, partner cities (``ic:during`` the project), a project
  coordinator (a person), mentoring visits, a collective funding statement and news;
* conference programmes: editions of a conference series (``ic:inSeries``, ``ic:editionNumber``)
  with ``ic:Workshop`` sub-events on the conference's days, participants (cities, organisations,
  persons), presentations and the presenters' affiliations (``ic:attestedAt`` the workshop);
* partnership pages: partnerships of a programme with partner cities, states (countries) and
  organisations, coordinators, meetings and a stated count.

Every entity has its type, an English ``rdfs:label`` and ``ic:source``; persons and organisations
``ic:name``. A document that mentions an entity declares it (type, label, source), as the real
files do; facts with one value (dates, edition numbers, members of a membership) are stated only
in the entity's own document. Names are made of syllables from a seeded bijection, so labels and
IRIs never collide by accident.

Output is streamed: each document is formatted with plain string formatting and written when it
is complete; only name tables (cities, persons, …) and per-document sets are kept in memory.

``violations=K`` plants exactly K violations of each kind in :data:`VIOLATION_KINDS`, each on an
entity of its own, and writes ``synth-manifest.json`` listing every planted violation: its kind,
focus node, file, and the reports (focus node and SHACL constraint component or check) that
``kg validate`` must give for it — nothing more. (A duplicated entity is reported on both IRIs.)
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from kg.config import BASE_IRI, PROJECT_ROOT

#: kind -> (what is planted, the component or check it triggers, the rule as the shapes name it)
VIOLATION_KINDS: dict[str, tuple[str, str, str]] = {
    "missing-label": ("a membership without rdfs:label", "sh:MinCountConstraintComponent", "EntityShape: has a label"),
    "label-not-english": ("a post whose label has no @en tag", "sh:LanguageInConstraintComponent", "EntityShape: label in English"),
    "contact-details": ("an e-mail address in a presentation's ic:title", "sh:NotConstraintComponent", "EntityShape: no contact details in the title"),
    "wrong-datatype": ("a person's ic:name tagged @en (not a plain string)", "sh:DatatypeConstraintComponent", "EntityShape: name is a plain string"),
    "missing-source": ("a news item without ic:source", "sh:MinCountConstraintComponent", "SourcedEntityShape: cites a source"),
    "iri-pattern": ("a membership IRI with an underscore", "sh:PatternConstraintComponent", "MembershipShape (IRI pattern)"),
    "date-without-datatype": ("a news item's ic:datePublished as a plain string", "sh:OrConstraintComponent", "DateShape: publication date is a date"),
    "end-before-start": ("a project whose ic:endDate is before its ic:startDate", "sh:SPARQLConstraintComponent", "DateOrderShape: end not before start"),
    "workshop-outside-conference": ("a workshop dated after its conference ends", "sh:SPARQLConstraintComponent", "WorkshopShape: workshop within its conference"),
    "post-without-time": ("a held post with no ic:asOf, ic:during or ic:attestedAt", "sh:SPARQLConstraintComponent", "PostShape: post states its time"),
    "membership-without-time": ("a membership with no ic:asOf, ic:during or ic:attestedAt", "sh:SPARQLConstraintComponent", "MembershipShape: membership states its time"),
    "wrong-link-class": ("a meeting whose ic:location is an organisation", "sh:ClassConstraintComponent", "LinkShape: location is a place"),
    "undefined-term": ("a workshop with ic:thme (typo of ic:theme)", "kg:undefined-term", "checks: undefined-term"),
    "dangling-reference": ("a news item that ic:reportsOn a misspelt project IRI", "kg:dangling-reference", "checks/dangling-reference.rq"),
    "duplicate-entity": ("a person declared under a second IRI with the same label", "kg:duplicate-entity", "checks/duplicate-entity.rq"),
    "implausible-date": ("a news item published in the 22nd century (year + 100)", "kg:implausible-date", "checks/implausible-date.rq"),
}

MANIFEST = "synth-manifest.json"
MAX_DOCUMENTS = 1000  # ic:fileName is "<3 digits>_<16 hex>.txt" (SourceDocumentShape): at most 1000 captures

DOC_KINDS = ("network", "projects", "conference", "partnership")
#: Which violation kinds each kind of document can host.
DOC_OFFERS = {
    "network": {"missing-label", "label-not-english", "missing-source", "iri-pattern", "date-without-datatype",
                "post-without-time", "membership-without-time", "wrong-link-class", "dangling-reference",
                "implausible-date", "wrong-datatype", "duplicate-entity"},
    "projects": {"missing-label", "missing-source", "iri-pattern", "date-without-datatype", "end-before-start",
                 "post-without-time", "membership-without-time", "dangling-reference", "implausible-date",
                 "wrong-datatype", "duplicate-entity"},
    "conference": {"missing-label", "contact-details", "workshop-outside-conference", "undefined-term",
                   "wrong-datatype", "duplicate-entity", "membership-without-time", "iri-pattern"},
    "partnership": {"missing-label", "label-not-english", "iri-pattern", "post-without-time",
                    "membership-without-time", "wrong-link-class", "missing-source", "date-without-datatype",
                    "dangling-reference", "implausible-date"},
}

PREFIXES = {
    "ic": BASE_IRI + "def/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
    "graph": BASE_IRI + "graph/",
    **{k: f"{BASE_IRI}id/{k}/" for k in (
        "city", "country", "organisation", "partnership", "project", "work", "source", "news", "person",
        "membership", "post", "event", "theme", "role", "concept", "scheme", "count", "funding")},
}

# --------------------------------------------------------------------------------------------
# Names: syllable words from a seeded bijection, so that every name is unique by construction
# --------------------------------------------------------------------------------------------

_SYLLABLES = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]  # 75 consonant-vowel syllables
_CITY_ENDINGS = ("", "", "", "burg", "stad", "ford", "ville", "haven", "polis")
_COUNTRY_ENDINGS = ("ia", "land", "ovia", "stan")
_FAMILY_ENDINGS = (("", ""), ("sen", "sen"), ("ić", "ic"), ("ez", "ez"), ("ova", "ova"), ("er", "er"))
_GIVEN = [
    ("Anu", "anu"), ("Céline", "celine"), ("Jürgen", "jurgen"), ("Marta", "marta"), ("Ramon", "ramon"),
    ("Sarah", "sarah"), ("Thomas", "thomas"), ("Niene", "niene"), ("Danilo", "danilo"), ("Ilkka", "ilkka"),
    ("Ana", "ana"), ("Björn", "bjorn"), ("Chloé", "chloe"), ("Dimitris", "dimitris"), ("Eva", "eva"),
    ("Fatima", "fatima"), ("Giorgos", "giorgos"), ("Hanna", "hanna"), ("Ingrid", "ingrid"), ("Jan", "jan"),
    ("Katarzyna", "katarzyna"), ("Lars", "lars"), ("Miguel", "miguel"), ("Nadia", "nadia"), ("Olga", "olga"),
    ("Pieter", "pieter"), ("Rosa", "rosa"), ("Søren", "soren"), ("Tereza", "tereza"), ("Ulla", "ulla"),
    ("Valentina", "valentina"), ("Wim", "wim"), ("Yusuf", "yusuf"), ("Zofia", "zofia"), ("Ahmed", "ahmed"),
    ("Beatriz", "beatriz"), ("Carlo", "carlo"), ("Dagmar", "dagmar"), ("Elif", "elif"), ("François", "francois"),
    ("Gábor", "gabor"), ("Helena", "helena"), ("Ivo", "ivo"), ("Joana", "joana"), ("Kristian", "kristian"),
    ("Leila", "leila"), ("Mónica", "monica"), ("Nikos", "nikos"),
]
_ORG_TEMPLATES = (  # (class, label template, slug template)
    ("ic:NGO", "{W} Refugee Council", "{w}-refugee-council"),
    ("ic:NGO", "{W} Migrant Forum", "{w}-migrant-forum"),
    ("ic:ResearchOrganisation", "{W} Institute for Migration Studies", "{w}-institute-for-migration-studies"),
    ("ic:ResearchOrganisation", "University of {W}", "university-of-{w}"),
    ("ic:Foundation", "{W} Foundation", "{w}-foundation"),
    ("ic:PublicBody", "{W} Integration Agency", "{w}-integration-agency"),
    ("ic:IntergovernmentalOrganisation", "{W} Council of States", "{w}-council-of-states"),
    ("ic:Company", "{W} Consulting", "{w}-consulting"),
)
_FUND_TEMPLATES = (("{W} Integration Fund", "{w}-integration-fund"), ("{W} Social Fund", "{w}-social-fund"),
                   ("{W} Research Programme", "{w}-research-programme"))
_PROGRAMME_TEMPLATES = (("Urban Agenda for {W}", "urban-agenda-for-{w}"), ("{W} Cities Programme", "{w}-cities-programme"))
_NETWORK_TEMPLATES = (("{W} Cities Network", "{w}-cities-network"), ("{W} Urban Network", "{w}-urban-network"),
                      ("Network of {W} Cities", "network-of-{w}-cities"))

# (slug, label, parent slug or None): a small hierarchy like the curated one; more are generated.
_BASE_THEMES = (
    ("integration", "integration", None), ("housing", "housing", None), ("education", "education", None),
    ("work", "work", None), ("reception", "reception", None), ("social-inclusion", "social inclusion", None),
    ("public-services", "public services", None), ("vulnerable-groups", "vulnerable groups", None),
    ("integration-governance", "integration governance", None), ("anti-discrimination", "anti-discrimination", None),
    ("migrant-participation", "migrant participation", None), ("perceptions-of-migration", "perceptions of migration", None),
    ("human-rights", "human rights", None), ("labour-market", "labour market", "work"),
    ("refugee-education", "refugee education", "education"), ("informal-education", "informal education", "education"),
    ("refugee-reception", "refugee reception", "reception"), ("unaccompanied-minors", "unaccompanied minors", "vulnerable-groups"),
    ("young-migrants", "young migrants", "vulnerable-groups"), ("multilevel-governance", "multilevel governance", "integration-governance"),
    ("equal-opportunities", "equal opportunities", "anti-discrimination"), ("poverty-and-inequality", "poverty and inequality", "social-inclusion"),
    ("health", "health", "public-services"), ("language-learning", "language learning", "education"),
)
_THEME_ASPECTS = ("policy", "practice", "funding", "monitoring", "research", "data", "standards", "training",
                  "pilots", "networks", "campaigns", "guidelines")
_ROLES = (("chair", "chair"), ("vice-chair", "vice-chair"), ("member", "member"), ("partner-city", "partner city"),
          ("partner-state", "partner state"), ("partner-organisation", "partner organisation"),
          ("project-coordinator", "project coordinator"), ("coordinator", "coordinator"))
_COUNT_KINDS = (("members", "members"), ("member-cities", "member cities"), ("partner-cities", "partner cities"),
                ("participants", "participants"), ("participating-cities", "participating cities"), ("projects", "projects"))
_QUALIFIERS = (("exactly", "exactly"), ("more-than", "more than"))
_METHODS = (("mentoring", "mentoring"), ("peer-learning", "peer learning"), ("peer-review", "peer review"),
            ("benchmarking", "benchmarking"), ("monitoring", "monitoring"), ("mutual-learning", "mutual learning"))
_PAGE_KINDS = {"network": ("network-page", "network page"), "projects": ("projects-page", "projects page"),
               "conference": ("programme-page", "programme page"), "partnership": ("partnership-page", "partnership page")}
_GRAPH_KINDS = (("source-facts", "source facts"), ("common-knowledge", "common knowledge"),
                ("curated-vocabulary", "curated vocabulary"), ("source-descriptions", "source descriptions"),
                ("ontology", "ontology"), ("inferred", "inferred"))
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_NEWS_TITLES = (
    "{S} welcomes new members", "{S} publishes report on {T}", "{S} meets in {C}", "Call for good practices on {T}",
    "{S} launches campaign on {T}", "{C} joins {S}", "{S} shares lessons on {T}", "Results of the {S} survey on {T}",
    "{C} hosts {S} study visit", "{S} statement on {T}", "{S} webinar on {T}", "{S} annual report",
)
_TALK_TITLES = ("{T} in {C}: lessons learnt", "How {C} works on {T}", "{T}: the {C} approach",
                "Evaluating {T} in {C}", "{C}'s strategy for {T}", "Scaling up {T} in {C}")
_WORKSHOP_TITLES = ("How can cities improve {T}?", "{T}: what works", "Cities and {T}", "Funding {T}",
                    "Measuring {T}", "{T} beyond the city", "Innovations in {T}", "Partnerships for {T}")


class SynthError(Exception):
    """The graph is too small to plant the requested violations (or the output folder is not empty)."""


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out, dash = [], False
    for ch in ascii_text:
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


class _Namer:
    """i -> a word of consonant-vowel syllables; a bijection (per width), scrambled by the seed."""

    def __init__(self, rng: random.Random, width: int) -> None:
        self.width = width
        self.mult = rng.choice((7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)) * 1_000_003
        self.add = rng.getrandbits(48)

    def __call__(self, i: int) -> str:
        w, size = self.width, 75 ** self.width
        while i >= size:
            i -= size
            w += 1
            size = 75 ** w
        j = (i * self.mult + self.add) % size  # mult is coprime to 75**w: a permutation
        parts = []
        for _ in range(w):
            j, r = divmod(j, 75)
            parts.append(_SYLLABLES[r])
        return "".join(parts)


def _roman(n: int) -> str:
    out = []
    for value, numeral in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                           (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


def _human(d: dt.date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _lit(date: dt.date) -> str:
    return f'"{date.isoformat()}"^^xsd:date'


def _ym(year: int, month: int) -> str:
    return f'"{year:04d}-{month:02d}"^^xsd:gYearMonth'


# --------------------------------------------------------------------------------------------
# Documents and planted violations
# --------------------------------------------------------------------------------------------

@dataclass
class _Doc:
    index: int
    kind: str
    stem: str
    src: str  # "source:<stem>"
    date: dt.date
    rng: random.Random
    out: list[str] = field(default_factory=list)
    n: int = 0
    seen: set[str] = field(default_factory=set)
    alias: dict[str, str] = field(default_factory=dict)
    label: str = ""
    title: str = ""
    publisher: str = ""

    @property
    def file(self) -> str:
        return f"data/{self.stem}.ttl"


class _Planter:
    """Decides where the K violations of each kind go: spread over the documents that can host them."""

    def __init__(self, per_kind: int, plan: list[str]) -> None:
        self.left = {kind: per_kind for kind in VIOLATION_KINDS} if per_kind > 0 else {}
        self.records: list[dict] = []
        self.tainted: set[str] = set()
        # docs_after[kind][i]: documents from i on that can host the kind
        self.docs_after = {}
        for kind in self.left:
            counts = [0] * (len(plan) + 1)
            for i in range(len(plan) - 1, -1, -1):
                counts[i] = counts[i + 1] + (kind in DOC_OFFERS[plan[i]])
            self.docs_after[kind] = counts
        self.allow: dict[str, int] = {}

    def start(self, doc: _Doc) -> None:
        self.allow = {}
        for kind, left in self.left.items():
            if left and kind in DOC_OFFERS[doc.kind]:
                docs = self.docs_after[kind][doc.index]
                self.allow[kind] = -(-left // docs)

    def want(self, kind: str, key: str) -> bool:
        """True (and counted) if a violation of ``kind`` is to be planted on entity ``key`` now."""
        if self.allow.get(kind, 0) > 0 and key not in self.tainted:
            self.allow[kind] -= 1
            self.left[kind] -= 1
            self.tainted.add(key)
            return True
        return False

    def record(self, kind: str, focus: str, doc: _Doc, also: list[str] = (), value: str | None = None) -> None:
        component, rule = VIOLATION_KINDS[kind][1], VIOLATION_KINDS[kind][2]
        entry = {"kind": kind, "focus": _expand(focus), "file": doc.file, "component": component, "rule": rule,
                 "reports": [{"focus": _expand(f), "component": component} for f in (focus, *also)]}
        if value is not None:
            entry["value"] = _expand(value)
        self.records.append(entry)

    def unplanted(self) -> dict[str, int]:
        return {kind: left for kind, left in self.left.items() if left}


def _expand(qname: str) -> str:
    prefix, local = qname.split(":", 1)
    return PREFIXES[prefix] + local


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------

@dataclass
class SynthResult:
    out: Path
    triples: int
    files: int
    documents: int
    violations: list[dict]
    seconds: float

    @property
    def rate(self) -> float:
        return self.triples / self.seconds if self.seconds else 0.0


class _Generator:
    def __init__(self, target: int, seed: int, planter: _Planter) -> None:
        self.planter = planter
        r = random.Random(f"{seed}/names")
        n = target
        self.n_countries = min(190, 8 + n // 60_000)
        self.n_cities = max(24, n // 160)
        self.n_persons = max(60, n // 25)
        self.n_orgs = max(16, n // 500)
        self.n_funds = min(60, 6 + n // 250_000)
        self.n_programmes = min(30, 3 + n // 500_000)
        # Countries
        namer = _Namer(r, 2)
        self.country_label, self.country_q = [], []
        for i in range(self.n_countries):
            word = namer(i) + _COUNTRY_ENDINGS[i % len(_COUNTRY_ENDINGS)]
            self.country_label.append(word.capitalize())
            self.country_q.append("country:" + word)
        # Cities, each in a country
        namer = _Namer(r, 2)
        self.city_label, self.city_slug = [], []
        for i in range(self.n_cities):
            word = namer(i) + _CITY_ENDINGS[i % len(_CITY_ENDINGS)]
            self.city_label.append(word.capitalize())
            self.city_slug.append(word)
        self.city_q = ["city:" + s for s in self.city_slug]
        self.city_country = [r.randrange(self.n_countries) for _ in range(self.n_cities)]
        # Persons
        namer = _Namer(r, 2)
        self.person_name, self.person_slug = [], []
        ng, nf = len(_GIVEN), len(_FAMILY_ENDINGS)
        for i in range(self.n_persons):
            given, given_slug = _GIVEN[(i * 7 + i // ng) % ng]
            f = i  # every person has a family name of their own: unique by construction
            word = namer(f)
            ending, ending_slug = _FAMILY_ENDINGS[f % nf]
            self.person_name.append(f"{given} {word.capitalize()}{ending}")
            self.person_slug.append(f"{given_slug}-{word}{ending_slug}")
        self.person_q = ["person:" + s for s in self.person_slug]
        # Organisations, funding programmes, programmes
        self.org_label, self.org_slug = self._named(r, self.n_orgs, [(t[1], t[2]) for t in _ORG_TEMPLATES])
        self.org_class = [_ORG_TEMPLATES[i % len(_ORG_TEMPLATES)][0] for i in range(self.n_orgs)]
        self.org_q = ["organisation:" + s for s in self.org_slug]
        self.fund_label, self.fund_slug = self._named(r, self.n_funds, _FUND_TEMPLATES)
        self.fund_q = ["organisation:" + s for s in self.fund_slug]
        self.prog_label, self.prog_slug = self._named(r, self.n_programmes, _PROGRAMME_TEMPLATES)
        self.prog_q = ["organisation:" + s for s in self.prog_slug]
        # Namers of the entities documents create
        self.net_namer, self.project_namer = _Namer(r, 2), _Namer(r, 3)
        self.partnership_namer, self.series_namer = _Namer(r, 2), _Namer(r, 2)
        # Themes: the base hierarchy and generated narrower themes ("housing data", broader housing)
        self.themes: list[tuple[str, str, str | None]] = list(_BASE_THEMES)
        extra = min(len(_BASE_THEMES) * len(_THEME_ASPECTS), 12 + n // 40_000)
        combos = [(b, a) for a in _THEME_ASPECTS for b in _BASE_THEMES]
        for base, aspect in combos[:extra]:
            self.themes.append((f"{base[0]}-{aspect}", f"{base[1]} {aspect}", base[0]))
        assert len({t[0] for t in self.themes}) == len(self.themes) and len({t[1] for t in self.themes}) == len(self.themes)
        self.theme_q = ["theme:" + t[0] for t in self.themes]
        for names in (self.city_slug, self.person_slug, self.country_q, self.org_slug + self.fund_slug + self.prog_slug):
            assert len(set(names)) == len(names), "synthetic names collide"
        # State carried across documents
        self.city_seen = bytearray(self.n_cities)
        self.country_seen = bytearray(self.n_countries)
        self.networks: list[tuple[str, str]] = []  # (q, label) of networks described so far
        self.projects: list[tuple[str, str]] = []
        self.partnerships: list[tuple[str, str]] = []
        self.series: list[list] = []  # [q, label, word, editions so far]
        self.news_slugs: set[str] = set()
        self.doc_labels: set[str] = set()
        self.stems: set[str] = set()

    @staticmethod
    def _named(r: random.Random, count: int, templates) -> tuple[list[str], list[str]]:
        namer = _Namer(r, 2)
        labels, slugs = [], []
        for i in range(count):
            label_t, slug_t = templates[i % len(templates)]
            word = namer(i)
            labels.append(label_t.format(W=word.capitalize()))
            slugs.append(slug_t.format(w=word))
        return labels, slugs

    # ---------------------------------------------------------------- stubs (declarations in a doc)

    def city(self, d: _Doc, i: int) -> str:
        q = self.city_q[i]
        if q not in d.seen:
            d.seen.add(q)
            d.out.append(f'{q} a ic:City ;\n    rdfs:label "{self.city_label[i]}"@en ;\n    ic:source {d.src} .\n\n')
            d.n += 3
            self.city_seen[i] = 1
        return q

    def country(self, d: _Doc, i: int) -> str:
        q = self.country_q[i]
        if q not in d.seen:
            d.seen.add(q)
            d.out.append(f'{q} a ic:Country ;\n    rdfs:label "{self.country_label[i]}"@en ;\n    ic:source {d.src} .\n\n')
            d.n += 3
            self.country_seen[i] = 1
        return q

    def person(self, d: _Doc, i: int) -> str:
        q = self.person_q[i]
        if q in d.seen:
            return d.alias.get(q, q)
        d.seen.add(q)
        name = self.person_name[i]
        planter = self.planter
        if planter.want("wrong-datatype", q):
            planter.record("wrong-datatype", q, d)
            d.out.append(f'{q} a ic:Person ;\n    rdfs:label "{name}"@en ;\n    ic:name "{name}"@en ;\n    ic:source {d.src} .\n\n')
            d.n += 4
            return q
        d.out.append(f'{q} a ic:Person ;\n    rdfs:label "{name}"@en ;\n    ic:name "{name}" ;\n    ic:source {d.src} .\n\n')
        d.n += 4
        if planter.want("duplicate-entity", q):
            dup = q + "-2"
            planter.record("duplicate-entity", dup, d, also=[q])
            d.out.append(f'{dup} a ic:Person ;\n    rdfs:label "{name}"@en ;\n    ic:name "{name}" ;\n    ic:source {d.src} .\n\n')
            d.n += 4
            d.alias[q] = dup
            return dup
        return q

    def org(self, d: _Doc, i: int) -> str:
        q = self.org_q[i]
        if q not in d.seen:
            d.seen.add(q)
            label = self.org_label[i]
            d.out.append(f'{q} a {self.org_class[i]} ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def fund(self, d: _Doc, i: int) -> str:
        q = self.fund_q[i]
        if q not in d.seen:
            d.seen.add(q)
            label = self.fund_label[i]
            d.out.append(f'{q} a ic:FundingProgramme ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def programme(self, d: _Doc, i: int) -> str:
        q = self.prog_q[i]
        if q not in d.seen:
            d.seen.add(q)
            label = self.prog_label[i]
            d.out.append(f'{q} a ic:Programme ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def network(self, d: _Doc, i: int) -> str:
        q, label = self.networks[i]
        if q not in d.seen:
            d.seen.add(q)
            d.out.append(f'{q} a ic:CityNetwork ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def collaboration(self, d: _Doc, q: str, label: str, cls: str) -> str:
        if q not in d.seen:
            d.seen.add(q)
            d.out.append(f'{q} a {cls} ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def theme(self, d: _Doc, i: int) -> str:
        q = self.theme_q[i]
        if q not in d.seen:
            d.seen.add(q)
            d.out.append(f'{q} a ic:Theme ;\n    rdfs:label "{self.themes[i][1]}"@en ;\n    skos:inScheme scheme:themes ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def concept(self, d: _Doc, q: str, label: str, cls: str, scheme: str) -> str:
        if q not in d.seen:
            d.seen.add(q)
            d.out.append(f'{q} a {cls} ;\n    rdfs:label "{label}"@en ;\n    skos:inScheme scheme:{scheme} ;\n    ic:source {d.src} .\n\n')
            d.n += 4
        return q

    def role(self, d: _Doc, slug: str) -> str:
        return self.concept(d, "role:" + slug, dict(_ROLES)[slug], "ic:Role", "roles")

    def agent(self, d: _Doc, kind: str, i: int) -> tuple[str, str, str]:
        """(qname, slug, label) of a city, organisation or person, declared in the document."""
        if kind == "city":
            return self.city(d, i), self.city_slug[i], self.city_label[i]
        if kind == "org":
            return self.org(d, i), self.org_slug[i], self.org_label[i]
        q = self.person(d, i)
        return q, q.split(":", 1)[1], self.person_name[i]

    # ---------------------------------------------------------------- n-ary patterns

    def membership(self, d: _Doc, member: tuple[str, str, str], org: tuple[str, str, str], role: str | None,
                   when: str, when_n: int, cls: str = "ic:Membership", suffix: str = "", context: str = "") -> None:
        mq, mslug, mlabel = member
        oq, oslug, olabel = org
        slug = f"{mslug}-{oslug}{suffix}"
        q = "membership:" + slug
        if q in d.seen:
            return
        d.seen.add(q)
        role_line = f"    ic:role {self.role(d, role)} ;\n" if role else ""
        label = f"{mlabel} in {olabel}" if cls == "ic:Membership" else f"{mlabel} ({olabel}) at {context}"
        label_line = f'    rdfs:label "{label}"@en ;\n'
        when_line = f"    {when} ;\n"
        n = 5 + (role is not None) + when_n
        p = self.planter
        if p.want("missing-label", q):
            p.record("missing-label", q, d)
            label_line, n = "", n - 1
        elif p.want("membership-without-time", q):
            p.record("membership-without-time", q, d)
            when_line, n = "", n - when_n
        elif p.want("iri-pattern", q):
            q = "membership:" + slug.replace("-", "_", 1)
            p.record("iri-pattern", q, d)
        d.out.append(f"{q} a {cls} ;\n{label_line}    ic:member {mq} ;\n    ic:organisation {oq} ;\n{role_line}{when_line}"
                     f"    ic:source {d.src} .\n\n")
        d.n += n

    def post(self, d: _Doc, org: tuple[str, str, str], role: str, holder: tuple[str, str, str], years: str,
             when: str, when_n: int) -> None:
        oq, oslug, olabel = org
        hq, hslug, hlabel = holder
        q = f"post:{oslug}-{role}-{hslug}-{years.split('–')[0]}"
        if q in d.seen:
            return
        d.seen.add(q)
        role_q = self.role(d, role)
        role_label = dict(_ROLES)[role]
        label = f'"{role_label.capitalize()} of {olabel}: {hlabel} ({years})"@en'
        when_line = f"    {when} ;\n"
        n = 6 + when_n
        p = self.planter
        if p.want("label-not-english", q):
            p.record("label-not-english", q, d)
            label = label[:-3]
        elif p.want("post-without-time", q):
            p.record("post-without-time", q, d)
            when_line, n = "", n - when_n
        d.out.append(f"{q} a ic:Post ;\n    rdfs:label {label} ;\n    ic:postIn {oq} ;\n    ic:role {role_q} ;\n"
                     f"    ic:heldBy {hq} ;\n{when_line}    ic:source {d.src} .\n\n")
        d.n += n

    def news(self, d: _Doc, subject: tuple[str, str], about: str, theme: int, city: int) -> None:
        r = d.rng
        start = r.randrange(len(_NEWS_TITLES))
        published = d.date - dt.timedelta(days=r.randrange(0, 330))
        for k in range(len(_NEWS_TITLES) + 1):
            if k < len(_NEWS_TITLES):
                title = _NEWS_TITLES[(start + k) % len(_NEWS_TITLES)]
            else:
                title = _NEWS_TITLES[start] + f" (part {d.index + 1})"
            title = title.format(S=subject[1], T=self.themes[theme][1], C=self.city_label[city])
            slug = f"{slugify(title)}-{published.isoformat()}"
            if slug not in self.news_slugs:
                break
        self.news_slugs.add(slug)
        q = "news:" + slug
        theme_q = self.theme(d, theme)
        if "{C}" in _NEWS_TITLES[(start + k) % len(_NEWS_TITLES)]:
            self.city(d, city)
        date_lit, about_q = _lit(published), about
        source_line = f"    ic:source {d.src} .\n\n"
        n = 8
        p = self.planter
        if p.want("missing-source", q):
            p.record("missing-source", q, d)
            source_line, n = "    .\n\n", 7
        elif p.want("date-without-datatype", q):
            p.record("date-without-datatype", q, d)
            date_lit = f'"{published.isoformat()}"'
        elif p.want("implausible-date", q):
            p.record("implausible-date", q, d)
            date_lit = _lit(published.replace(year=published.year + 100))
        elif p.want("dangling-reference", q):
            prefix, local = about.split(":", 1)
            about_q = f"{prefix}:{local[:2]}{local[1]}{local[2:]}"  # a doubled letter: never a generated slug
            p.record("dangling-reference", q, d, value=about_q)
        body = (f'{q} a ic:NewsItem ;\n    rdfs:label "{title} (news, {_human(published)})"@en ;\n    ic:title "{title}" ;\n'
                f"    ic:datePublished {date_lit} ;\n    ic:publishedIn {d.src} ;\n    ic:reportsOn {about_q} ;\n"
                f"    ic:theme {theme_q} ;\n{source_line}")
        d.out.append(body.replace(" ;\n    .\n\n", " .\n\n"))
        d.n += n

    def count(self, d: _Doc, slug: str, label: str, of: str, kind: str, value: int, exact: bool) -> None:
        kind_q = self.concept(d, "concept:" + kind, dict(_COUNT_KINDS)[kind], "ic:CountKind", "count-kinds")
        qual = "exactly" if exact else "more-than"
        qual_q = self.concept(d, "concept:" + qual, dict(_QUALIFIERS)[qual], "ic:CountQualifier", "count-qualifiers")
        d.out.append(f'count:{slug} a ic:StatedCount ;\n    rdfs:label "{label}"@en ;\n    ic:countOf {of} ;\n'
                     f"    ic:countKind {kind_q} ;\n    ic:count {value} ;\n    ic:qualifier {qual_q} ;\n"
                     f"    ic:asOf {_lit(d.date)} ;\n    ic:source {d.src} .\n\n")
        d.n += 8

    def meeting(self, d: _Doc, of: tuple[str, str], day: dt.date, city: int, participants: list[int],
                network_q: str | None) -> None:
        oq, olabel = of
        slug = f"{oq.split(':', 1)[1]}-meeting-{day.isoformat()}"
        q = "event:" + slug
        if q in d.seen:
            return
        d.seen.add(q)
        city_q = self.city(d, city)
        location = city_q
        if network_q and self.planter.want("wrong-link-class", q):
            self.planter.record("wrong-link-class", q, d, value=network_q)
            location = network_q
        participants = list(dict.fromkeys(participants))
        parts = " , ".join(self.city(d, c) for c in participants)
        end = day + dt.timedelta(days=d.rng.randrange(2))
        d.out.append(f'{q} a ic:Meeting ;\n    rdfs:label "Meeting of {olabel}, {_human(day)}"@en ;\n    ic:meetingOf {oq} ;\n'
                     f"    ic:startDate {_lit(day)} ;\n    ic:endDate {_lit(end)} ;\n    ic:location {location} ;\n"
                     f"    ic:host {city_q} ;\n    ic:participant {parts} ;\n    ic:source {d.src} .\n\n")
        d.n += 8 + len(participants)

    # ---------------------------------------------------------------- documents

    def begin(self, d: _Doc, label: str, title: str, publisher: str) -> None:
        """Name the document (unique stem and label) before anything is written into it."""
        stem, unique, k = slugify(label), label, 2
        while stem in self.stems or unique in self.doc_labels:
            stem, unique = f"{slugify(label)}-{k}", f"{label} ({k})"
            k += 1
        self.stems.add(stem)
        self.doc_labels.add(unique)
        d.stem, d.src, d.label, d.title, d.publisher = stem, "source:" + stem, unique, title, publisher
        self.planter.start(d)

    def run(self, d: _Doc, budget: int, sections: list[tuple[float, object]]) -> None:
        """Emit sections, picked by weight, until the document reaches its budget or runs out."""
        r = d.rng
        live = [list(s) for s in sections]
        while d.n < budget and live:
            total = sum(w for w, _ in live)
            x = r.random() * total
            for item in live:
                x -= item[0]
                if x <= 0:
                    break
            try:
                next(item[1])
            except StopIteration:
                live.remove(item)

    def network_doc(self, d: _Doc, budget: int) -> None:
        r = d.rng
        i = len(self.networks)
        label_t, slug_t = _NETWORK_TEMPLATES[i % len(_NETWORK_TEMPLATES)]
        word = self.net_namer(i)
        label, slug = label_t.format(W=word.capitalize()), slug_t.format(w=word)
        q = "organisation:" + slug
        self.networks.append((q, label))
        self.begin(d, f"{label}: network page ({d.date.year})", label, q)
        themes = r.sample(range(len(self.themes)), 2 + r.randrange(3))
        d.seen.add(q)
        d.out.append(f'{q} a ic:CityNetwork ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n'
                     f"    ic:theme {' , '.join(self.theme(d, t) for t in themes[:2])} ;\n    ic:source {d.src} .\n\n")
        d.n += 6
        wgs = []
        for t in themes:
            tslug, tlabel, _ = self.themes[t]
            wq, wlabel = f"organisation:{slug}-{tslug}-wg", f"{label} working group on {tlabel}"
            d.seen.add(wq)
            d.out.append(f'{wq} a ic:WorkingGroup ;\n    rdfs:label "{wlabel}"@en ;\n    ic:name "{wlabel}" ;\n'
                         f"    ic:unitOf {q} ;\n    ic:theme {self.theme(d, t)} ;\n    ic:meetingsPerYear {1 + r.randrange(4)} ;\n"
                         f"    ic:source {d.src} .\n\n")
            d.n += 7
            wgs.append((wq, wlabel, t))
        n_members = max(3, min(self.n_cities, int(budget * 0.45 / 11)))
        members = r.sample(range(self.n_cities), n_members)
        exact = r.random() < 0.7
        self.count(d, f"{slug}-member-cities-{d.date.year}", f"Member cities of {label} ({d.date.year})", q,
                   "member-cities", n_members if exact else n_members - n_members % 10 or n_members, exact)
        as_of, net = f"ic:asOf {_lit(d.date)}", (q, slug, label)

        def memberships():
            for c in members:
                self.membership(d, (self.city(d, c), self.city_slug[c], self.city_label[c]), net, "member", as_of, 1)
                if r.random() < 0.3:
                    wq, wlabel, _ = wgs[r.randrange(len(wgs))]
                    self.membership(d, (self.city(d, c), self.city_slug[c], self.city_label[c]),
                                    (wq, wq.split(":", 1)[1], wlabel), "member", as_of, 1)
                yield

        def posts():
            for wq, wlabel, _ in wgs:
                wg = (wq, wq.split(":", 1)[1], wlabel)
                for role in ("chair", "vice-chair"):
                    year = d.date.year - 2 * (1 + r.randrange(6))
                    while year <= d.date.year:
                        end = year + 2
                        if r.random() < 0.5:
                            holder = self.agent(d, "city", members[r.randrange(len(members))])
                        else:
                            holder = self.agent(d, "person", r.randrange(self.n_persons))
                        if end <= d.date.year:
                            when = (f'ic:during [ a ic:Period ; ic:startDate "{year}"^^xsd:gYear ; '
                                    f'ic:endDate "{end}"^^xsd:gYear ]')
                            self.post(d, wg, role, holder, f"{year}–{end}", when, 4)
                        else:
                            self.post(d, wg, role, holder, f"{year}–", f"ic:asOf {_lit(d.date)}", 1)
                        year = end
                        yield

        def meetings():
            for wq, wlabel, _ in wgs:
                for month_back in sorted(r.sample(range(1, 24), 3)):
                    day = d.date - dt.timedelta(days=30 * month_back + r.randrange(25))
                    self.meeting(d, (wq, wlabel), day, members[r.randrange(len(members))],
                                 [members[r.randrange(len(members))] for _ in range(2 + r.randrange(4))], q)
                    yield

        def news():
            while True:
                wq, wlabel, t = wgs[r.randrange(len(wgs))]
                self.news(d, (q, label), wq if r.random() < 0.5 else q, t, members[r.randrange(len(members))])
                yield

        self.run(d, budget, [(6, memberships()), (2, posts()), (1, meetings()), (1, news())])

    def projects_doc(self, d: _Doc, budget: int) -> None:
        r = d.rng
        fund = r.randrange(self.n_funds)
        self.begin(d, f"{self.fund_label[fund]}: funded projects ({d.date.year})",
                   f"Projects funded by {self.fund_label[fund]}", self.fund_q[fund])
        fund_q = self.fund(d, fund)
        made: list[tuple[str, str]] = []

        def projects():
            while True:
                i = len(self.projects)
                word = self.project_namer(i)
                q, label = "project:" + word, word.upper()
                self.projects.append((q, label))
                made.append((q, label))
                d.seen.add(q)
                t = r.randrange(len(self.themes))
                method, method_label = _METHODS[r.randrange(len(_METHODS))]
                start_y, start_m = d.date.year - r.randrange(6), 1 + r.randrange(12)
                months = start_y * 12 + start_m - 1 + 18 + r.randrange(31)
                end_y, end_m = divmod(months, 12)
                end_m += 1
                if self.networks and r.random() < 0.6:
                    lead = self.network(d, r.randrange(len(self.networks)))
                else:
                    lead = self.city(d, r.randrange(self.n_cities))
                funders = [fund_q] + ([self.fund(d, r.randrange(self.n_funds))] if r.random() < 0.3 else [])
                funders = list(dict.fromkeys(funders))
                start, end = _ym(start_y, start_m), _ym(end_y, end_m)
                if self.planter.want("end-before-start", q):
                    self.planter.record("end-before-start", q, d)
                    start, end = end, start
                method_q = self.concept(d, "concept:" + method, method_label, "skos:Concept", "methods")
                d.out.append(f'{q} a ic:Project ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n'
                             f'    ic:acronymExpansion "{self.themes[t][1].capitalize()} through {method_label} in European cities" ;\n'
                             f"    ic:fundedBy {' , '.join(funders)} ;\n    ic:ledBy {lead} ;\n"
                             f"    ic:startDate {start} ;\n    ic:endDate {end} ;\n    ic:theme {self.theme(d, t)} ;\n"
                             f"    ic:method {method_q} ;\n    ic:source {d.src} .\n\n")
                d.n += 10 + len(funders)
                period = f"ic:during [ a ic:Period ; ic:startDate {_ym(start_y, start_m)} ; ic:endDate {_ym(end_y, end_m)} ]"
                proj = (q, word, label)
                partners = r.sample(range(self.n_cities), min(self.n_cities, 3 + r.randrange(10)))
                for c in partners:
                    self.membership(d, self.agent(d, "city", c), proj, "partner-city", period, 4)
                yield
                holder = self.agent(d, "person", r.randrange(self.n_persons))
                self.post(d, proj, "project-coordinator", holder, f"{start_y}–{end_y}", period, 4)
                first = dt.date(start_y, start_m, 1)
                span = max(1, (dt.date(end_y, end_m, 1) - first).days - 3)
                for host in partners[: r.randrange(3)]:
                    day = first + dt.timedelta(days=r.randrange(span))
                    vq = f"event:{word}-mentoring-visit-{self.city_slug[host]}-{day.year}"
                    if vq in d.seen:
                        continue
                    d.seen.add(vq)
                    visitors = [self.city(d, c) for c in partners if c != host][:3]
                    mentoring = self.concept(d, "concept:mentoring", "mentoring", "skos:Concept", "methods")
                    d.out.append(f'{vq} a ic:MentoringVisit ;\n    rdfs:label "{label} mentoring visit to {self.city_label[host]} ({day.year})"@en ;\n'
                                 f"    ic:host {self.city(d, host)} ;\n    ic:visitor {' , '.join(visitors)} ;\n"
                                 f"    ic:location {self.city(d, host)} ;\n    ic:inFrameworkOf {q} ;\n    ic:method {mentoring} ;\n"
                                 f"    ic:theme {self.theme(d, t)} ;\n    ic:startDate {_lit(day)} ;\n"
                                 f"    ic:endDate {_lit(day + dt.timedelta(days=1 + r.randrange(2)))} ;\n    ic:source {d.src} .\n\n")
                    d.n += 10 + len(visitors)
                yield
                self.news(d, (q, label), q, t, partners[0])
                yield

        def collective():
            yield
            while len(made) < 2:
                yield
            projs = made[:6]
            funders = [fund_q] + [self.fund(d, (fund + 1 + k) % self.n_funds) for k in range(1 + r.randrange(2))]
            funders = list(dict.fromkeys(funders))
            d.out.append(f'funding:{d.stem} a ic:CollectiveFunding ;\n'
                         f'    rdfs:label "Funding of {", ".join(p[1] for p in projs)} ({d.date.year})"@en ;\n'
                         f"    ic:fundedProject {' , '.join(p[0] for p in projs)} ;\n    ic:funder {' , '.join(funders)} ;\n"
                         f"    ic:source {d.src} .\n\n")
            d.n += 3 + len(projs) + len(funders)
            self.count(d, f"{d.stem}-projects", f"Projects funded by {self.fund_label[fund]} ({d.stem})", fund_q,
                       "projects", len(projs), False)

        self.run(d, budget, [(10, projects()), (1, collective())])

    def conference_doc(self, d: _Doc, budget: int) -> None:
        r = d.rng
        if not self.series or (r.random() < 0.2 and len(self.series) < 1 + len(self.stems) // 8):
            word = self.series_namer(len(self.series))
            self.series.append([f"event:{word}-conference-series", f"{word.capitalize()} conference series", word, 0])
        series = self.series[r.randrange(len(self.series))]
        series[3] += 1
        sq, slabel, sword, edition = series
        slug = f"{sword}-conference-{_roman(edition).lower()}"
        q, label = "event:" + slug, f"{sword.capitalize()} Conference {_roman(edition)}"
        start = d.date + dt.timedelta(days=14 + r.randrange(120))
        days = [start + dt.timedelta(days=k) for k in range(1 + r.randrange(3))]
        city = r.randrange(self.n_cities)
        t = r.randrange(len(self.themes))
        organiser = r.randrange(len(self.networks)) if self.networks else r.randrange(self.n_orgs)
        self.begin(d, f"{label}: conference programme", f"{label} programme",
                   self.networks[organiser][0] if self.networks else self.org_q[organiser])
        network = self.network(d, organiser) if self.networks else self.org(d, organiser)
        if sq not in d.seen:
            d.seen.add(sq)
            d.out.append(f'{sq} a ic:EventSeries ;\n    rdfs:label "{slabel}"@en ;\n    ic:source {d.src} .\n\n')
            d.n += 3
        speakers = [self.person(d, r.randrange(self.n_persons)) for _ in range(2 + r.randrange(3))]
        speakers = list(dict.fromkeys(speakers))
        d.seen.add(q)
        d.out.append(f'{q} a ic:Conference ;\n    rdfs:label "{label}"@en ;\n    ic:title "{label} – {self.themes[t][1]}" ;\n'
                     f"    ic:inSeries {sq} ;\n    ic:editionNumber {edition} ;\n    ic:startDate {_lit(days[0])} ;\n"
                     f"    ic:endDate {_lit(days[-1])} ;\n    ic:location {self.city(d, city)} ;\n"
                     f"    ic:host {self.city(d, city)} , {network} ;\n    ic:organiser {network} ;\n"
                     f"    ic:theme {self.theme(d, t)} ;\n    ic:speaker {' , '.join(speakers)} ;\n    ic:source {d.src} .\n\n")
        d.n += 13 + len(speakers)
        self.count(d, f"{slug}-participants", f"Participants of {label}", q, "participants",
                   50 * (2 + r.randrange(20)), False)

        def workshops():
            n = 0
            while True:
                n += 1
                wq = f"event:{slug}-workshop-{n:02d}"
                wt = r.randrange(len(self.themes))
                title = _WORKSHOP_TITLES[r.randrange(len(_WORKSHOP_TITLES))].format(T=self.themes[wt][1])
                title = title[0].upper() + title[1:]
                day = days[r.randrange(len(days))]
                cities = r.sample(range(self.n_cities), min(self.n_cities, 2 + r.randrange(4)))
                orgs = r.sample(range(self.n_orgs), r.randrange(3))
                persons = list(dict.fromkeys(r.randrange(self.n_persons) for _ in range(2 + r.randrange(3))))
                agents = ([self.city(d, c) for c in cities] + [self.org(d, o) for o in orgs]
                          + [self.person(d, p) for p in persons])
                agents = list(dict.fromkeys(agents))
                theme_p = "ic:theme"
                p = self.planter
                if p.want("workshop-outside-conference", wq):
                    p.record("workshop-outside-conference", wq, d)
                    day = days[-1] + dt.timedelta(days=1 + r.randrange(5))
                elif p.want("undefined-term", wq):
                    p.record("undefined-term", wq, d)
                    theme_p = "ic:thme"
                project = ""
                if self.projects and r.random() < 0.3:
                    pq, plabel = self.projects[r.randrange(len(self.projects))]
                    project = f"    ic:project {self.collaboration(d, pq, plabel, 'ic:Project')} ;\n"
                d.seen.add(wq)
                d.out.append(f'{wq} a ic:Workshop ;\n    rdfs:label "{label}, workshop {n}: {title}"@en ;\n    ic:title "{title}" ;\n'
                             f"    ic:subEventOf {q} ;\n    ic:workshopNumber {n} ;\n    ic:startDate {_lit(day)} ;\n"
                             f"    ic:endDate {_lit(day)} ;\n    {theme_p} {self.theme(d, wt)} ;\n"
                             f"    ic:participant {' , '.join(agents)} ;\n{project}    ic:source {d.src} .\n\n")
                d.n += 9 + len(agents) + (project != "")
                for k, person in enumerate(persons[: 1 + r.randrange(3)], start=1):
                    if cities and r.random() < 0.7:
                        on_behalf = self.agent(d, "city", cities[k % len(cities)])
                    else:
                        on_behalf = self.agent(d, "org", orgs[0] if orgs else r.randrange(self.n_orgs))
                    presenter = self.agent(d, "person", person)
                    about = cities[(k + 1) % len(cities)]
                    talk = _TALK_TITLES[r.randrange(len(_TALK_TITLES))].format(T=self.themes[wt][1], C=self.city_label[about])
                    talk = talk[0].upper() + talk[1:]
                    tq = f"work:{slug}-workshop-{n:02d}-talk-{k}"
                    ttitle = talk
                    if p.want("contact-details", tq):
                        p.record("contact-details", tq, d)
                        ttitle = f"{talk} (contact: {presenter[1].replace('-', '.')}@{self.city_slug[about]}.eu)"
                    d.out.append(f'{tq} a ic:Presentation ;\n    rdfs:label "{talk} ({presenter[2]}, {label}, workshop {n})"@en ;\n'
                                 f'    ic:title "{ttitle}" ;\n    ic:presenter {presenter[0]} ;\n'
                                 f"    ic:presenterOrganisation {on_behalf[0]} ;\n    ic:presentedAt {wq} ;\n"
                                 f"    ic:about {self.city(d, about)} ;\n    ic:source {d.src} .\n\n")
                    d.n += 8
                    self.membership(d, presenter, on_behalf, None, f"ic:attestedAt {wq}", 1, "ic:Affiliation", f"-{slug}", label)
                yield

        self.run(d, budget, [(1, workshops())])

    def partnership_doc(self, d: _Doc, budget: int) -> None:
        r = d.rng
        prog = r.randrange(self.n_programmes)
        i = len(self.partnerships)
        word = self.partnership_namer(i)
        t, t2 = r.sample(range(len(self.themes)), 2)
        slug = f"{word}-partnership-on-{self.themes[t][0]}"
        q, label = "partnership:" + slug, f"{word.capitalize()} partnership on {self.themes[t][1]}"
        self.partnerships.append((q, label))
        self.begin(d, f"{label}: partnership page ({d.date.year})", label, self.prog_q[prog])
        prog_q = self.programme(d, prog)
        launch_y, launch_m = d.date.year - r.randrange(4), 1 + r.randrange(12)
        if launch_y == d.date.year:
            launch_m = min(launch_m, d.date.month)
        d.seen.add(q)
        d.out.append(f'{q} a ic:Partnership ;\n    rdfs:label "{label}"@en ;\n    ic:name "{label}" ;\n'
                     f"    ic:partOfProgramme {prog_q} ;\n    ic:theme {self.theme(d, t)} ;\n"
                     f"    ic:crossCuttingTheme {self.theme(d, t2)} ;\n    ic:launchDate {_ym(launch_y, launch_m)} ;\n"
                     f"    ic:meetingsPerYear {2 + r.randrange(3)} ;\n    ic:source {d.src} .\n\n")
        d.n += 9
        part = (q, slug, label)
        as_of = f"ic:asOf {_lit(d.date)}"
        n_cities = max(3, min(self.n_cities, int(budget * 0.5 / 11)))
        cities = r.sample(range(self.n_cities), n_cities)
        states = r.sample(range(self.n_countries), min(self.n_countries, 2 + r.randrange(6)))
        orgs = r.sample(range(self.n_orgs), min(self.n_orgs, 2 + r.randrange(6)))
        self.count(d, f"{slug}-partner-cities-{d.date.year}", f"Partner cities of the {label} ({d.date.year})", q,
                   "partner-cities", n_cities, True)

        def members():
            for c in cities:
                self.membership(d, self.agent(d, "city", c), part, "partner-city", as_of, 1)
                yield
            for s in states:
                self.membership(d, (self.country(d, s), self.country_q[s].split(":", 1)[1], self.country_label[s]),
                                part, "partner-state", as_of, 1)
                yield
            for o in orgs:
                since = f"ic:during [ a ic:Period ; ic:startDate {_ym(launch_y, launch_m)} ]"
                self.membership(d, self.agent(d, "org", o), part, "partner-organisation", since, 3)
                yield

        def coordinators():
            holder = self.agent(d, "city", cities[0])
            self.post(d, part, "coordinator", holder, f"{launch_y}–", as_of, 1)
            yield
            s = states[0]
            self.post(d, part, "coordinator", (self.country(d, s), self.country_q[s].split(":", 1)[1], self.country_label[s]),
                      f"{launch_y}–", as_of, 1)
            yield

        def meetings():
            for month_back in sorted(r.sample(range(1, 30), 6)):
                day = d.date - dt.timedelta(days=30 * month_back + r.randrange(25))
                self.meeting(d, (q, label), day, cities[r.randrange(len(cities))],
                             [cities[r.randrange(len(cities))] for _ in range(2 + r.randrange(5))], prog_q)
                yield

        def news():
            while True:
                self.news(d, (q, label), q, t, cities[r.randrange(len(cities))])
                yield

        self.run(d, budget, [(8, members()), (1, coordinators()), (1, meetings()), (1, news())])


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def _prefix_block(body: str, always=("ic", "rdfs", "xsd", "skos")) -> str:
    width = max(len(p) for p in PREFIXES) + 2
    lines = [f"@prefix {(p + ':').ljust(width)}<{iri}> ." for p, iri in PREFIXES.items()
             if p in always or f"{p}:" in body]
    return "\n".join(lines) + "\n\n"


def _vocabulary(g: _Generator) -> tuple[str, int]:
    out, n = [], 0

    def scheme(slug: str, label: str, definition: str, tops: list[str]) -> None:
        nonlocal n
        out.append(f'scheme:{slug} a skos:ConceptScheme ;\n    rdfs:label "{label}"@en ;\n    skos:prefLabel "{label}"@en ;\n'
                   f'    skos:definition "{definition}"@en ;\n    skos:hasTopConcept {" , ".join(tops)} .\n\n')
        n += 4 + len(tops)

    def concept(q: str, cls: str, label: str, scheme_slug: str, broader: str | None, definition: str) -> None:
        nonlocal n
        link = f"skos:broader {broader}" if broader else f"skos:topConceptOf scheme:{scheme_slug}"
        out.append(f'{q} a {cls} ;\n    rdfs:label "{label}"@en ;\n    skos:prefLabel "{label}"@en ;\n'
                   f"    skos:inScheme scheme:{scheme_slug} ;\n    {link} ;\n    skos:definition \"{definition}\"@en .\n\n")
        n += 6

    groups = [
        ("themes", "Themes", "Policy themes of migrant integration (synthetic).", "ic:Theme", "theme",
         [(t[0], t[1], t[2]) for t in g.themes]),
        ("roles", "Roles", "Kinds of roles and posts (synthetic).", "ic:Role", "role", [(s, l, None) for s, l in _ROLES]),
        ("count-kinds", "Count kinds", "What a stated count counts (synthetic).", "ic:CountKind", "concept",
         [(s, l, None) for s, l in _COUNT_KINDS]),
        ("count-qualifiers", "Count qualifiers", "Whether a stated count is exact or a lower bound (synthetic).",
         "ic:CountQualifier", "concept", [(s, l, None) for s, l in _QUALIFIERS]),
        ("methods", "Methods", "Working methods of cities' cooperation (synthetic).", "skos:Concept", "concept",
         [(s, l, None) for s, l in _METHODS]),
        ("page-kinds", "Page kinds", "Kinds of web page a source document is (synthetic).", "skos:Concept", "concept",
         [v + (None,) for v in _PAGE_KINDS.values()]),
        ("graph-kinds", "Graph kinds", "What a named graph holds (synthetic).", "skos:Concept", "concept",
         [(s, l, None) for s, l in _GRAPH_KINDS]),
    ]
    for slug, label, definition, _cls, prefix, items in groups:
        scheme(slug, label, definition, [f"{prefix}:{s}" for s, _l, parent in items if parent is None])
    for slug, _label, _definition, cls, prefix, items in groups:
        for s, l, parent in items:
            concept(f"{prefix}:{s}", cls, l, slug, f"{prefix}:{parent}" if parent else None,
                    f"Synthetic concept: {l}.")
    body = "".join(out)
    header = ("# Synthetic curated vocabulary: the concept schemes, a skos:broader hierarchy of themes and a\n"
              "# definition of every concept. Generated by `kg synth`.\n\n")
    return header + _prefix_block(body) + body, n


def _sources(g: _Generator, docs: list[dict]) -> tuple[str, int]:
    out, n = [], 0
    for doc in docs:
        date = doc["date"]
        out.append(f'source:{doc["stem"]} a ic:SourceDocument ;\n    rdfs:label "{doc["label"]}"@en ;\n'
                   f'    ic:title "{doc["title"]}" ;\n    ic:fileName "{doc["file_name"]}" ;\n'
                   f'    ic:publisher {doc["publisher"]} ;\n    ic:datePublished {_lit(date)} ;\n'
                   f'    ic:pageKind concept:{_PAGE_KINDS[doc["kind"]][0]} .\n\n'
                   f'graph:{doc["stem"]} a ic:DataGraph ;\n    rdfs:label "Facts of {doc["label"]}"@en ;\n'
                   f'    dcterms:description "Every fact stated by source {doc["file_name"]}."@en ;\n'
                   f"    ic:graphKind concept:source-facts ;\n    ic:graphSource source:{doc['stem']} .\n\n")
        n += 12
    for stem, label, kind in (("sources", "Source documents and named graphs", "source-descriptions"),
                              ("common-knowledge", "Common knowledge", "common-knowledge"),
                              ("vocabulary", "Curated vocabulary", "curated-vocabulary"),
                              ("ontology", "Integrating Cities ontology", "ontology"),
                              ("inferred", "Inferred triples", "inferred")):
        out.append(f'graph:{stem} a ic:DataGraph ;\n    rdfs:label "{label}"@en ;\n    ic:graphKind concept:{kind} .\n\n')
        n += 3
    for slug, label in [*_PAGE_KINDS.values()]:
        out.append(f'concept:{slug} a skos:Concept ;\n    rdfs:label "{label}"@en ;\n    skos:inScheme scheme:page-kinds .\n\n')
        n += 3
    for slug, label in _GRAPH_KINDS:
        out.append(f'concept:{slug} a skos:Concept ;\n    rdfs:label "{label}"@en ;\n    skos:inScheme scheme:graph-kinds .\n\n')
        n += 3
    body = "".join(out)
    header = "# Synthetic source documents and the named graphs of the knowledge graph. Generated by `kg synth`.\n\n"
    return header + _prefix_block(body) + body, n


def _common_knowledge(g: _Generator) -> tuple[str, int]:
    out, n = [], 0
    for i in range(g.n_cities):
        if g.city_seen[i]:
            c = g.city_country[i]
            g.country_seen[c] = 1
            out.append(f"{g.city_q[i]} ic:country {g.country_q[c]} .\n")
            n += 1
    out.append("\n")
    for c in range(g.n_countries):
        if g.country_seen[c]:
            out.append(f'{g.country_q[c]} a ic:Country ;\n    rdfs:label "{g.country_label[c]}"@en .\n\n')
            n += 2
    body = "".join(out)
    header = "# Synthetic common knowledge: the country of every city the documents mention. Generated by `kg synth`.\n\n"
    return header + _prefix_block(body) + body, n


def sources_fixed_triples() -> int:
    return 15 + 3 * (len(_PAGE_KINDS) + len(_GRAPH_KINDS))


def synthesize(out: Path, triples: int, seed: int = 0, violations: int = 0, source_root: Path = PROJECT_ROOT,
               force: bool = False) -> SynthResult:
    """Write a synthetic project of about ``triples`` triples into ``out``; see the module docstring."""
    started = time.perf_counter()
    out = Path(out)
    data = out / "data"
    if data.exists() and any(data.iterdir()):
        if not force:
            raise SynthError(f"{data} is not empty (use --force to replace it)")
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    for folder in ("ontology", "shapes", "checks"):
        if (out / folder).exists():
            shutil.rmtree(out / folder)
        shutil.copytree(source_root / folder, out / folder)

    n_docs = max(8, min(MAX_DOCUMENTS, triples // 2000))
    plan = [DOC_KINDS[i % len(DOC_KINDS)] for i in range(n_docs)]
    g = _Generator(triples, seed, _Planter(violations, plan))
    vocabulary, vocab_n = _vocabulary(g)
    (data / "vocabulary.ttl").write_text(vocabulary, encoding="utf-8")
    tail = 12 * n_docs + sources_fixed_triples() + g.n_cities + 2 * g.n_countries
    body_budget = triples - vocab_n - tail
    written, docs = 0, []
    r = random.Random(f"{seed}/documents")
    for index, kind in enumerate(plan):
        date = dt.date(2005 + r.randrange(20), 1 + r.randrange(12), 1 + r.randrange(28))
        d = _Doc(index, kind, "", "", date, random.Random(f"{seed}/document/{index}"))
        budget = max(1, (body_budget - written) // (n_docs - index))
        getattr(g, f"{kind}_doc")(d, budget)
        body = "".join(d.out)
        file_name = f"{index:03d}_{r.getrandbits(64):016x}.txt"
        header = (f"# Synthetic facts stated by source {file_name}: {d.label}.\n"
                  f"# Loaded into graph:{d.stem}. Generated by `kg synth --seed {seed}`.\n\n")
        (data / f"{d.stem}.ttl").write_text(header + _prefix_block(body) + body, encoding="utf-8")
        written += d.n
        docs.append({"stem": d.stem, "label": d.label, "title": d.title, "file_name": file_name, "publisher": d.publisher,
                     "date": date, "kind": kind})
    missing = g.planter.unplanted()
    if missing:
        shutil.rmtree(data)
        raise SynthError(f"too few triples to plant {violations} violation(s) of each kind; still to plant: {missing}")
    common, common_n = _common_knowledge(g)
    (data / "common-knowledge.ttl").write_text(common, encoding="utf-8")
    sources, sources_n = _sources(g, docs)
    (data / "sources.ttl").write_text(sources, encoding="utf-8")
    total = vocab_n + written + common_n + sources_n
    seconds = time.perf_counter() - started
    manifest = {
        "generator": "kg synth",
        "seed": seed,
        "target_triples": triples,
        "triples": total,
        "documents": len(docs),
        "violations_per_kind": violations,
        "kinds": {kind: {"planted": what, "component": component, "rule": rule}
                  for kind, (what, component, rule) in VIOLATION_KINDS.items()},
        "violations": g.planter.records,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return SynthResult(out, total, len(docs) + 3, len(docs), g.planter.records, seconds)
