"""Every entity of the snapshot with its label, types, dates and places: for the indexes, search and "did you mean".

Read from the store once per snapshot (:class:`Catalogue`), with the same label rules as descriptions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import pyoxigraph as ox

from kg.query.store import GraphStore, Scope
from kg.site.describe import DATE_WORDS, NO_DATE, RDFS, dated, event_range, fallback_label, fold, natural, pick_label

# ---------------------------------------------------------------------------------------------
# The catalogue: every entity with its label, for indexes, search and "did you mean"
# ---------------------------------------------------------------------------------------------

#: Main classes the home page counts (instances after reasoning), each linking to the search listing them.
MAIN_CLASSES = ("City", "Country", "Organisation", "Partnership", "Project", "Initiative", "Person", "Event", "Work",
                "NewsItem", "SourceDocument", "Theme", "Membership", "Post")
#: Kinds whose index is a single table in date order rather than sections by class.
DATED_KINDS = {"event", "news", "post"}


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
    classes: set[str] = field(default_factory=set)  # every ic: class, inferred ones too: what the home page counts
    dated: dict[str, ox.Literal] = field(default_factory=dict)  # earliest ic:datePublished, ic:launchDate, ic:asOf
    context: list[str] = field(default_factory=list)  # labels of its places, venues and hosts: search finds it by them

    @cached_property
    def folded_names(self) -> list[str]:
        """The names as search compares them (case and accents folded): folded once, at the first search,
        not once per search (at 10^6 triples a search folded 892,541 names, 2.1 of its 3.3 s)."""
        return [fold(name) for name in self.names]

    @cached_property
    def folded_context(self) -> list[str]:
        return [fold(name) for name in self.context]

    def in_year(self, year: int) -> bool:
        """Whether it falls in ``year``: an event or period spanning it, or a publication, launch or attestation."""
        years = [int(v.value[:4]) for v in (self.start, self.end, *self.dated.values())
                 if v is not None and v.value[:4].isdigit()]
        if self.start is not None or self.end is not None:
            first = int(self.start.value[:4]) if self.start is not None and self.start.value[:4].isdigit() else min(years, default=year)
            last = int(self.end.value[:4]) if self.end is not None and self.end.value[:4].isdigit() else first
            return first <= year <= last
        return year in years

    @property
    def when(self) -> str:
        """Its dates as a page says them: an event's days, else when it was published, launched or attested;
        an event no source dates says so."""
        if self.start is not None or self.end is not None:
            return event_range(self.start, self.end)
        for key in DATE_WORDS:
            if key in self.dated:
                return dated(key, [self.dated[key]])
        return NO_DATE if self.kind == "event" else ""

    @property
    def sort_date(self) -> str:
        for value in (self.start, self.end, *(self.dated.get(key) for key in DATE_WORDS)):
            if value is not None:
                return value.value
        return ""


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
        for row in store.query(f"SELECT DISTINCT ?s ?t WHERE {{ ?s a ?t {within} FILTER(STRSTARTS(STR(?t), STR(ic:))) }}"):
            if row["s"].value in entries:
                entries[row["s"].value].classes.add(row["t"].value)
        for row in store.query(f"SELECT ?s ?p ?d WHERE {{ VALUES ?p {{ ic:startDate ic:endDate }} ?s ?p ?d {within} }}",
                               Scope.ASSERTED):
            entry = entries.get(row["s"].value)
            if entry is not None:
                attr = "start" if row["p"].value.endswith("startDate") else "end"
                current = getattr(entry, attr)
                if current is None or row["d"].value < current.value:
                    setattr(entry, attr, row["d"])
        for row in store.query(f"SELECT ?s ?p ?d WHERE {{ VALUES ?p {{ {' '.join('ic:' + k for k in DATE_WORDS)} }} "
                               f"?s ?p ?d {within} }}", Scope.ASSERTED):
            entry = entries.get(row["s"].value)
            key = row["p"].value.rsplit("/", 1)[-1]
            if entry is not None and (key not in entry.dated or row["d"].value < entry.dated[key].value):
                entry.dated[key] = row["d"]
        for row in store.query(f"SELECT DISTINCT ?s ?p ?place WHERE {{ VALUES ?p {{ ic:location ic:venue ic:host }} "
                               f"?s ?p ?place {within} }}", Scope.ASSERTED):
            entry = entries.get(row["s"].value)
            place = entries.get(row["place"].value)
            if entry is None:
                continue
            label = place.label if place else fallback_label(row["place"].value)
            if row["p"].value.endswith("/location"):
                entry.places.append((row["place"].value, label))
            if label not in entry.context:
                entry.context.append(label)
        for entry in entries.values():
            entry.types.sort(key=lambda t: self.class_labels.get(t, t))
            if entry.label not in entry.names:
                entry.names.insert(0, entry.label)
        self.entries = entries
        counts: dict[str, int] = defaultdict(int)
        for entry in entries.values():
            for c in entry.classes:
                counts[c] += 1
        self.class_counts = dict(counts)  # instances after reasoning, exactly those /search?type= lists
        self._canonical = {iri.casefold(): iri for iri in [*entries, *(g.value for g in store.named_graphs)]}

    def canonical(self, iri: str) -> str | None:
        """The IRI ``iri`` was meant to be, if it differs only in letter case or trailing slashes
        (``…/id/city/Helsinki/`` → ``…/id/city/helsinki``); None if there is none."""
        return self._canonical.get(iri.rstrip("/").casefold())

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

    def search(self, text: str, type_iri: str | None = None, year: int | None = None) -> list[Entry]:
        """Entities whose label, alternative label or name matches ``text`` (case and accents ignored), best first,
        then those whose place, venue or host does (the conference held in Tampere for "tampere"); with
        ``type_iri``, only instances of that class (inferred ones too), with ``year``, only what falls in it. No
        text but a filter: everything it keeps, by date then label, so the home page's count of a class and the
        list it links to agree."""
        query = fold(text).strip()
        words = query.split()
        candidates = [e for e in self.entries.values() if (type_iri is None or type_iri in e.classes)
                      and (year is None or e.in_year(year))]
        if not words:
            if type_iri is None and year is None:
                return []
            return sorted(candidates, key=lambda e: (e.sort_date == "", e.sort_date, natural(e.label), e.iri))
        scored = []
        for entry in candidates:
            best = None
            for folded in entry.folded_names:
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
            if best is None and any(all(w in folded for w in words) for folded in entry.folded_context):
                best = 5
            if best is not None:
                scored.append((best, len(entry.label), entry.label.casefold(), entry.iri, entry))
        scored.sort(key=lambda s: s[:4])
        return [s[-1] for s in scored]

    def nearest(self, text: str, kind: str | None = None, limit: int = 8) -> list[Entry]:
        """The entities whose label or slug is closest to ``text`` (for "did you mean" on a 404).

        A 404 must stay cheap whatever the graph's size: a name whose quick upper bounds of the ratio
        (difflib's ``real_quick_ratio`` and ``quick_ratio``) fall below what could still be kept is not
        compared in full. The answers are those of comparing every name in full, which took 3.4 s per
        404 at 10^6 triples.
        """
        from difflib import SequenceMatcher

        query = fold(text.replace("-", " ").replace("_", " ")).strip()
        if not query:
            return []
        keep, kind_bonus = 0.55, 0.05
        matcher = SequenceMatcher(None)
        matcher.set_seq1(query)
        scored = []
        for entry in self.entries.values():
            ratio = 0.0
            for candidate in [*entry.folded_names, entry.slug.replace("-", " ")]:
                if query in candidate or (len(candidate) > 3 and candidate in query):
                    ratio = max(ratio, 0.8)
                matcher.set_seq2(candidate)
                floor = max(ratio, keep - kind_bonus)
                if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
                    ratio = max(ratio, matcher.ratio())
            if kind and entry.kind == kind:
                ratio += kind_bonus
            if ratio >= keep:
                scored.append((-ratio, entry.label.casefold(), entry))
        scored.sort(key=lambda s: s[:2])
        return [s[-1] for s in scored[:limit]]
