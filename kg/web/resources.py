"""Our IRIs, dereferenceable: every ``…/id/<kind>/<slug>`` (and ``…/graph/<name>``) for programs and for people.

The persistent base ``https://w3id.org/integrating-cities/`` maps onto this server's routes: the path
after the base is the route, so ``…/id/city/helsinki`` is served at ``/id/city/helsinki``.

**Direct content negotiation, not 303 redirects.** A GET on an entity's IRI answers ``200`` with the
representation the ``Accept`` header prefers (q-values honoured; ``*/*`` or no header gets Turtle), with
``Vary: Accept``, a ``Content-Location`` naming the document served (``…/helsinki.ttl``), and ``Link:
rel="alternate"`` headers to every other representation. Each representation is also a document of its
own at the IRI plus a suffix — ``.html``, ``.ttl``, ``.jsonld``, ``.nt``, ``.rdf``, ``.trig``, ``.nq`` —
which never negotiates. We chose this over the httpRange-14 303 pattern (the IRI redirecting to a
document about the thing) because w3id.org already redirects once to us, and a second round trip per
resource costs every client and crawler for no information a client can act on: the
``Content-Location`` header says which document describes the thing, and the thing's IRI (without a
suffix) is what the data uses everywhere. Every one of our IRIs behaves the same way; the
``/sparql`` DESCRIBE query gives the same facts.

An unknown IRI gets ``404`` — a page with a search box and the nearest labels for browsers, one line
of text for programs — and so does any path no route of the site knows. Pages for people: ``/`` (what
the graph is, holds, how to query, cite and download it), ``/id/`` and ``/id/<kind>/`` (indexes, events
in date order), ``/graph/`` (the named graphs), ``/search?q=`` (label search). The home page and the city
index show every city with a point on a map, a city's page a small map of where it is (the data from
:mod:`kg.site.maps`, drawn by ``static/map.js``). Pages work without JavaScript (the maps are then not
shown; the lists and links are all there) and embed their description as JSON-LD for schema.org consumers.

The queries behind these pages are our own, bounded ones (see :mod:`kg.site.describe`); they run in this
process on one read-only store per application, not in the query workers that run user SPARQL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pyoxigraph as ox

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from kg.formats import HTML, JSONLD, NQUADS, NTRIPLES, RDFXML, TRIG, TURTLE, Format
from kg.namespaces import IC
from kg.query.store import GraphStore
from kg.site.catalogue import DATED_KINDS, MAIN_CLASSES, Catalogue
from kg.site.describe import RDF_LANGSTRING, XSD_STRING, Describer, curie
from kg.site.graph_facts import GRAPH_DOWNLOAD_FORMATS, facts_page
from kg.site.maps import CityMap
from kg.site.asof import BadDate, parse_as_of
from kg.site.pages import PAGE_FORMATS, page_model
from kg.site.urls import Urls
from kg.web.negotiation import client_has, content_type, negotiated
from kg.web.release import Release, current_release
from kg.web.ui import asset_url

bp = Blueprint("resources", __name__, template_folder="templates")

#: What a resource's IRI negotiates between, in the order that breaks ties (``*/*`` gets the first).
NEGOTIABLE = (TURTLE, HTML, JSONLD, NTRIPLES, RDFXML, TRIG, NQUADS)
SUFFIXES = {f.suffix: f for f in NEGOTIABLE}
KIND_TITLES = {
    "city": "Cities", "country": "Countries", "region": "Regions", "place": "Districts and other places",
    "organisation": "Organisations", "partnership": "Partnerships", "project": "Projects",
    "initiative": "Initiatives and policy processes", "work": "Works: charters, documents, publications, presentations",
    "source": "Source documents", "news": "News items", "person": "People", "membership": "Memberships and affiliations",
    "post": "Posts", "event": "Events", "theme": "Themes", "role": "Roles", "concept": "Concepts",
    "scheme": "Concept schemes", "count": "Stated counts", "objective": "Objectives and planned activities",
    "funding": "Funding",
}
SEARCH_LIMIT = 50
GRAPH_FACTS_PER_PAGE = 100
_QUESTION = re.compile(r"^Question\s*(?:\([^)]*\))?\s*:\s*")


@dataclass
class Site:
    """What the pages need from one snapshot, built on first use and kept for the application's life."""

    store: GraphStore
    describer: Describer
    catalogue: Catalogue
    urls: Urls
    maps: CityMap

    @property
    def base(self) -> str:
        return self.urls.base


def site() -> Site:
    release = current_release()
    return release.once("site", lambda: _build_site(release))


def _build_site(release: Release) -> Site:
    base = current_app.extensions["kg.settings"].base_iri
    store = release.store
    catalogue = Catalogue(store, base)
    return Site(store, Describer(store, base), catalogue, current_app.extensions["kg.urls"], CityMap(store, catalogue))


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------

def _finish(body: bytes, media_type: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response with an ETag of its body, answered 304 when the client already has it."""
    headers = dict(headers or {})
    etag = hashlib.sha256(current_release().id.encode() + b"\0" + body).hexdigest()[:24]  # new release, new ETag
    headers.setdefault("Cache-Control", "no-cache")
    if status == 200:
        headers["ETag"] = f'"{etag}"'
        headers["Last-Modified"] = current_release().last_modified
        if client_has(etag):
            return Response(status=304, headers=headers)
    return Response(body, status=status, headers=headers, content_type=content_type(media_type))


def _page(template: str, status: int = 200, headers: dict[str, str] | None = None, **context) -> Response:
    html = render_template(template, asset=asset_url, **context)
    return _finish(html.encode("utf-8"), HTML.media_type, status, headers)


def _alternates(path: str) -> str:
    root = request.host_url.rstrip("/")
    return ", ".join(f'<{root}{path}.{f.suffix}>; rel="alternate"; type="{f.media_type}"' for f in PAGE_FORMATS)


# ---------------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------------

@bp.route("/id/<kind>/<path:name>")
def instance(kind: str, name: str) -> Response:
    return _resource(f"id/{kind}/{name}", kind)


@bp.route("/graph/<path:name>")
def graph(name: str) -> Response:
    return _resource(f"graph/{name}", None)


def _resource(path: str, kind: str | None) -> Response:
    stem, dot, suffix = path.rpartition(".")
    chosen: Format | None
    if dot and suffix in SUFFIXES and "/" not in suffix:
        path, chosen, by_accept = stem, SUFFIXES[suffix], False
    else:
        chosen, by_accept = negotiated(NEGOTIABLE), True
    s = site()
    iri = s.base + path
    description = s.describer.describe(iri)
    if description is None:
        canonical = s.catalogue.canonical(iri)  # /id/city/Helsinki, /id/city/helsinki/: one page, one address
        if canonical is not None and canonical != iri:
            return redirect(s.urls.resource(canonical, None if by_accept else suffix), code=301)
        return not_found(iri, kind, html=(chosen is HTML) if not by_accept else None)
    route = "/" + path
    headers = {"Link": _alternates(route)}
    if by_accept:
        headers["Vary"] = "Accept"
    if chosen is None:
        offered = ", ".join(f.media_type for f in NEGOTIABLE)
        return Response(f"406 Not Acceptable: {route} is available as {offered} (or add a suffix: "
                        f"{', '.join('.' + x for x in SUFFIXES)}).\n", status=406, mimetype="text/plain",
                        headers=headers)
    if by_accept:
        headers["Content-Location"] = f"{route}.{chosen.suffix}"
    if chosen is HTML:
        graph = _graph_facts(s, iri) if iri in s.store.snapshot.manifest["graphs"] else None
        as_of = request.args.get("asOf", "").strip()
        try:
            model = page_model(description, s.urls, parse_as_of(as_of) if as_of else None)
        except BadDate as bad:
            model, status = page_model(description, s.urls), 400
            model["as_of_problem"] = str(bad)
        else:
            status = 200
        return _page("resource.html", status=status, headers=headers, r=model, place_map=s.maps.of(iri, s.urls), graph=graph)
    return _finish(description.serialize(chosen), chosen.media_type, headers=headers)


def _graph_facts(s: Site, iri: str) -> dict:
    """A named graph's page: one page of its facts, its own downloads and a query for it."""
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    found = facts_page(s.store, iri, number, GRAPH_FACTS_PER_PAGE)
    label = s.describer.graphs[iri].label if iri in s.describer.graphs else iri

    def term(t: ox.Term) -> dict:
        if isinstance(t, ox.NamedNode):
            entry = s.catalogue.entries.get(t.value)
            return {"text": entry.label if entry else curie(t.value), "href": s.urls.resource(t.value), "title": curie(t.value)}
        if isinstance(t, ox.Literal):
            tag = t.language or ("" if t.datatype.value in (XSD_STRING, RDF_LANGSTRING) else curie(t.datatype.value))
            return {"text": t.value, "href": None, "tag": tag}
        return {"text": str(t), "href": None}

    return {"facts": [(term(f.subject), term(f.predicate), term(f.object)) for f in found.facts], "total": found.total,
            "first": found.first, "page": found.page, "pages": found.pages,
            "previous": s.urls.graph_page(iri, found.page - 1) if found.page > 1 else None,
            "next": s.urls.graph_page(iri, found.page + 1) if found.page < found.pages else None,
            "downloads": [{"name": f.label, "href": s.urls.graph_download(iri, f.suffix), "media_type": f.media_type}
                          for f in GRAPH_DOWNLOAD_FORMATS.values()],
            "query": s.urls.editor(f"SELECT ?s ?p ?o WHERE {{\n  GRAPH <{iri}> {{ ?s ?p ?o }}\n}}\nORDER BY ?s ?p\nLIMIT 100",
                                   f"Facts of {label}")}


# ---------------------------------------------------------------------------------------------
# Pages: home, indexes, search
# ---------------------------------------------------------------------------------------------

@bp.route("/")
def home() -> Response:
    s = site()
    snapshot = s.store.snapshot
    manifest = snapshot.manifest
    inferred = manifest["inferred_graph"]
    graphs = []
    for g in sorted(manifest["graphs"]):
        info = s.describer.graphs.get(g)
        graphs.append({"iri": g, "href": s.urls.resource(g), "label": info.label if info else g,
                       "triples": manifest["graphs"][g]["triples"],
                       "source": info.source if info else None,
                       "source_href": s.urls.resource(info.source) if info and info.source else None,
                       "source_label": info.source_label if info else None})
    total = len(s.store)
    inferred_triples = manifest["graphs"].get(inferred, {}).get("triples", 0)
    classes = [{"label": s.catalogue.class_labels.get(str(IC[c]), c), "count": s.catalogue.class_counts.get(str(IC[c]), 0),
                "href": s.urls.search(type=c), "term": s.urls.term(c)} for c in MAIN_CLASSES]
    examples = [{"name": q.title, "question": _QUESTION.sub("", q.question), "href": s.urls.editor(q.text, q.title)}
                for q in current_release().questions][:6]
    distinct = next((d["triples"] for d in manifest.get("dumps", {}).values() if "triples" in d), None)
    return _page("home.html", total=total, asserted=total - inferred_triples, inferred=inferred_triples, distinct=distinct,
                 entities=len(s.catalogue.entries), classes=classes, graphs=graphs, examples=examples,
                 kinds=_kind_summaries(s), base=s.base, build_id=manifest.get("build_id", ""),
                 built_at=manifest.get("built_at", "")[:10], endpoint=request.host_url.rstrip("/") + s.urls.sparql,
                 example_iri=s.base + "id/city/helsinki", city_map=s.maps.overview(s.urls))


def _kind_summaries(s: Site) -> list[dict]:
    kinds = [{"kind": kind, "title": KIND_TITLES.get(kind, kind.capitalize()), "count": len(entries), "href": s.urls.kind(kind)}
             for kind, entries in s.catalogue.kinds().items()]
    return sorted(kinds, key=lambda k: k["title"])


@bp.route("/id/")
def kinds() -> Response:
    s = site()
    return _page("index.html", title="Everything in the graph, by kind", kinds=_kind_summaries(s), sections=[],
                 intro="Every entity has an IRI under " + s.base + "id/<kind>/. Choose a kind to list its entities.")


@bp.route("/id/<kind>/")
def kind_index(kind: str) -> Response:
    s = site()
    entries = s.catalogue.kinds().get(kind)
    if not entries:
        return not_found(s.base + f"id/{kind}/", None)
    rows = [_entry_row(s, e) for e in entries]
    dated = kind in DATED_KINDS
    if dated:
        sections = [{"heading": None, "id": "all", "rows": rows}]
    else:
        by_type: dict[str, list[dict]] = {}
        for row in rows:
            by_type.setdefault(row["type"], []).append(row)
        sections = [{"heading": t, "id": "type-" + t.lower().replace(" ", "-").replace(",", ""), "rows": r}
                    for t, r in sorted(by_type.items(), key=lambda item: item[0].casefold())]
        if len(sections) == 1:
            sections[0]["heading"] = None
    return _page("index.html", title=KIND_TITLES.get(kind, kind.capitalize()), kinds=[], sections=sections,
                 count=len(rows), dated=dated, show_when=any(r["when"] for r in rows),
                 show_place=any(r["places"] for r in rows), city_map=s.maps.overview(s.urls) if kind == "city" else None,
                 intro=("In date order, earliest first; undated ones last." if dated else None))


def _entry_row(s: Site, entry) -> dict:
    return {"label": entry.label, "href": s.urls.path(entry.iri), "type": s.catalogue.type_label(entry),
            "when": entry.when, "start": entry.start.value if entry.start is not None else None,
            "places": [{"label": label, "href": s.urls.resource(iri)} for iri, label in entry.places], "iri": entry.iri}


@bp.route("/graph/")
def graphs() -> Response:
    s = site()
    manifest = s.store.snapshot.manifest
    rows = []
    for g in sorted(manifest["graphs"]):
        info = s.describer.graphs.get(g)
        rows.append({"label": info.label if info else g, "href": s.urls.resource(g), "type": "Named graph",
                     "when": "", "start": None, "places": [], "iri": g,
                     "note": f"{manifest['graphs'][g]['triples']} triples"})
    return _page("index.html", title="Named graphs", kinds=[], sections=[{"heading": None, "id": "all", "rows": rows}],
                 count=len(rows), dated=False, show_when=False, show_place=False,
                 intro="One named graph per source document, plus the ontology, the curated vocabulary, common "
                       "knowledge, the source descriptions, and the inferred triples.")


@bp.route("/search")
def search() -> Response:
    s = site()
    q = request.args.get("q", "").strip()[:200]
    type_name = request.args.get("type", "").strip()[:100]
    type_iri = s.base + "def/" + type_name if type_name else None
    types = sorted(((s.catalogue.class_labels.get(c, c), c[len(s.base + "def/"):]) for c in s.catalogue.class_counts),
                   key=lambda t: t[0].casefold())
    year_text = request.args.get("year", "").strip()[:10]
    problem = None
    if type_iri is not None and type_iri not in s.catalogue.class_counts:
        problem = f"No entity is of the type “{type_name}”: choose one of the types listed."
    elif year_text and not (year_text.isdigit() and len(year_text) == 4):
        problem = f"“{year_text}” is not a year: give four digits, such as 2017."
    if problem:
        return _page("search.html", status=400, q=q, type_name=type_name, year=year_text, types=types, results=[],
                     total=0, problem=problem)
    year = int(year_text) if year_text else None
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    found = s.catalogue.search(q, type_iri, year)
    shown = found[(page - 1) * SEARCH_LIMIT:page * SEARCH_LIMIT]
    nearest = s.catalogue.nearest(q) if q and not found else []
    pages = {"previous": s.urls.search(q, type_name, year, page - 1) if page > 1 else None,
             "next": s.urls.search(q, type_name, year, page + 1) if page * SEARCH_LIMIT < len(found) else None}
    return _page("search.html", q=q, type_name=type_name, year=year_text, types=types, results=[_entry_row(s, e) for e in shown],
                 total=len(found), first=(page - 1) * SEARCH_LIMIT + 1, pages=pages,
                 type_label=s.catalogue.class_labels.get(type_iri or "", type_name),
                 nearest=[_entry_row(s, e) for e in nearest])


# ---------------------------------------------------------------------------------------------
# Not found
# ---------------------------------------------------------------------------------------------

def not_found(iri: str, kind: str | None, html: bool | None = None) -> Response:
    """404 for an IRI we do not know: a helpful page for people, one line for programs."""
    if html is None:
        html = _prefers_html()
    s = site()
    path = s.urls.path(iri) or iri
    if not html:
        return Response(f"404 Not Found: nothing is known about <{iri}>. Search labels at /search?q=…\n", status=404,
                        mimetype="text/plain", headers={"Vary": "Accept"})
    slug = iri.rstrip("/").rsplit("/", 1)[-1]
    if "." in slug and slug.rsplit(".", 1)[1] in SUFFIXES:
        slug = slug.rsplit(".", 1)[0]
    guess = slug.replace("-", " ").replace("_", " ")
    nearest = [_entry_row(s, e) for e in s.catalogue.nearest(guess, kind)]
    return _page("not_found.html", status=404, headers={"Vary": "Accept"}, iri=iri, path=path, guess=guess,
                 nearest=nearest)


def _prefers_html() -> bool:
    """Browsers prefer text/html; programs (``*/*``, ``text/turtle``, …) get plain text."""
    return negotiated((TURTLE, HTML)) is HTML


@bp.app_errorhandler(404)
def _unknown_path(error: HTTPException) -> Response | HTTPException:
    """Paths no route knows (and 404s of this blueprint) get our page; other blueprints keep their own 404s."""
    if request.url_rule is not None and request.blueprint != bp.name:
        return error
    s = site()
    return not_found(s.base + request.path.lstrip("/"), None)
