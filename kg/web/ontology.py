"""The ontology IRIs, resolved: ``/def`` (the ontology) and ``/def/<Term>`` (each class and property).

One URL, several representations, chosen by ``Accept`` (q-values and wildcards honoured, the most
specific media range counting, as RFC 9110 says) or named outright by a suffix:

=====================  ========  ===============================================
media type             suffix    what
=====================  ========  ===============================================
text/turtle            .ttl      the ontology graph, or the term's description
application/ld+json    .jsonld   the same as JSON-LD (compacted with our prefixes)
application/n-triples  .nt       the same as N-Triples
application/rdf+xml    .rdf      the same as RDF/XML
text/html              .html     the documentation page (``kg.site.ontology_docs``)
=====================  ========  ===============================================

Without an ``Accept`` header (or with ``*/*``) the answer is Turtle: what a browser sends prefers
HTML, so only RDF clients and tools such as curl get here, and they want data.

A browser asking for a term (``/def/City`` or ``/def/City.html``) is sent ``303 See Other`` to
``/def#City``: the whole vocabulary is documented on one page, where the term's section is the
``:target`` (highlighted by ontology.css) and its neighbours are a scroll away; 303 also says that
the term IRI names a concept, not the page about it (the httpRange-14 resolution). RDF clients get
the term's own description straight away (200, with ``Content-Location`` naming the suffixed URL).

Every negotiated answer carries ``Vary: Accept`` and a ``Link`` header to each alternate; text
types carry ``charset=utf-8``. No acceptable type: 406 with the list. An unknown term: 404 with
the nearest term names (an HTML page for browsers, plain text for others).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, redirect, render_template, request
from markupsafe import Markup

from kg.formats import HTML, TRIPLE_FORMATS, TURTLE, Format
from kg.site import ontology_docs
from kg.site.ontology_docs import OntologyDocs
from kg.site.urls import Urls
from kg.web.negotiation import client_has, content_type, negotiated
from kg.web.release import current_release
from kg.web.ui import asset_url

bp = Blueprint("ontology", __name__)


#: In order of preference when the client likes several equally.
VARIANTS = (*TRIPLE_FORMATS, HTML)
BY_SUFFIX = {v.suffix: v for v in VARIANTS}


def docs() -> OntologyDocs:
    """The documentation model of the release being served, read once per release."""
    release = current_release()
    return release.once("ontology_docs", lambda: ontology_docs.load(release.store))


# --------------------------------------------------------------------------------------------------
# Content negotiation


def negotiate() -> Format | None:
    """The client's preferred variant, Turtle without an Accept header; None if none is acceptable."""
    return negotiated(VARIANTS)


def _wants_html() -> bool:
    return negotiated((TURTLE, HTML)) is HTML


# --------------------------------------------------------------------------------------------------
# URLs and headers


def _url(name: str | None, variant: Format | None = None) -> str:
    """Our URL for the ontology (name None) or a term, generic or with a suffix."""
    urls, suffix = _urls(), variant.suffix if variant else None
    return urls.ontology(suffix) if name is None else urls.term(name, suffix)


def _urls() -> Urls:
    return current_app.extensions["kg.urls"]


def _alternates(name: str | None) -> list[dict[str, str]]:
    out = []
    for variant in VARIANTS:
        href = (_urls().ontology(section=name) if variant is HTML and name is not None
                else _url(name, variant))
        out.append({"href": href, "type": variant.media_type, "label": variant.label, "suffix": variant.suffix})
    return out


def _link_header(name: str | None) -> str:
    root = request.host_url.rstrip("/")
    return ", ".join(f'<{root}{alt["href"]}>; rel="alternate"; type="{alt["type"]}"' for alt in _alternates(name))


def _headers(name: str | None, negotiated: bool) -> dict[str, str]:
    headers = {"Link": _link_header(name)}
    if negotiated:
        headers["Vary"] = "Accept"
    return headers


def _etag(name: str | None, variant: Format) -> str:
    build = current_release().id
    return hashlib.sha256(f"{build}|{name}|{variant.suffix}".encode()).hexdigest()[:20]


# --------------------------------------------------------------------------------------------------
# Routes


@bp.route("/def")
def document() -> Response:
    """The ontology IRI: the documentation page for browsers, the ontology for RDF clients."""
    return _respond(None, None)


@bp.route("/def.<suffix>")
def document_file(suffix: str) -> Response:
    variant = BY_SUFFIX.get(suffix)
    if variant is None:
        return _unknown_format(None, suffix)
    return _respond(None, variant)


@bp.route("/def/")
def trailing_slash() -> Response:
    return redirect(_urls().ontology(), code=301)


@bp.route("/def/<name>")
def term(name: str) -> Response:
    """A term IRI (``/def/City``), or a representation of it (``/def/City.ttl``)."""
    model = docs()
    known = set(model.terms) | ({model.version_name} if model.version_name else set())
    variant = None
    if name not in known and "." in name:
        base, suffix = name.rsplit(".", 1)
        if base in known:
            variant = BY_SUFFIX.get(suffix)
            if variant is None:
                return _unknown_format(base, suffix)
            name = base
    if name not in known:
        return _unknown_term(name)
    if name == model.version_name:  # the version IRI: this very version of the ontology
        if (variant or negotiate()) is HTML:
            return _see_other(_urls().ontology(), None, variant is None)
        return _respond(None, variant, negotiated_headers_for=name)
    return _respond(name, variant)


def _respond(name: str | None, variant: Format | None, negotiated_headers_for: str | None = None) -> Response:
    negotiated = variant is None
    if variant is None:
        variant = negotiate()
        if variant is None:
            return _not_acceptable(name)
    headers = _headers(name, negotiated)
    if variant is HTML and name is not None:
        return _see_other(_urls().ontology(section=name), name, negotiated)
    etag = _etag(name, variant)
    headers |= {"ETag": f'"{etag}"', "Last-Modified": current_release().last_modified}
    if negotiated:
        location = _url(negotiated_headers_for, variant) if negotiated_headers_for else _url(name, variant)
        headers["Content-Location"] = location
    if client_has(etag):
        return Response(status=304, headers=headers)
    if variant is HTML:
        return Response(_page(), content_type=content_type(HTML.media_type), headers=headers)
    body = docs().serialize(name, variant.rdflib or "")
    return Response(body, content_type=content_type(variant.media_type), headers=headers)


def _see_other(location: str, name: str | None, negotiated: bool) -> Response:
    response = redirect(location, code=303)
    response.headers.update(_headers(name, negotiated))
    return response


def _page() -> str:
    model = docs()
    return render_template(
        "ontology.html",
        docs=model,
        diagram=Markup(model.diagram),
        relations=Markup(model.relations),
        alternates=_alternates(None),
        term_formats=TRIPLE_FORMATS,
        asset=asset_url,
        missing=None,
    )


def _not_acceptable(name: str | None) -> Response:
    offered = ", ".join(v.media_type for v in VARIANTS)
    suffixes = ", ".join("." + v.suffix for v in VARIANTS)
    body = (f"406 Not Acceptable: {_url(name)} is available as {offered} (or add one of the suffixes {suffixes}).\n")
    return Response(body, status=406, content_type="text/plain; charset=utf-8", headers=_headers(name, True))


def _unknown_format(name: str | None, suffix: str) -> Response:
    suffixes = ", ".join("." + v.suffix for v in VARIANTS)
    body = f"404 Not Found: no format .{suffix} for {_url(name)}; there are {suffixes}.\n"
    return Response(body, status=404, content_type="text/plain; charset=utf-8", headers={"Link": _link_header(name)})


def _unknown_term(name: str) -> Response:
    model = docs()
    nearest = model.nearest(name)
    headers = {"Vary": "Accept"}
    if _wants_html():
        page = render_template("ontology.html", docs=model, diagram=None, alternates=_alternates(None),
                               term_formats=TRIPLE_FORMATS, asset=asset_url, missing=name, nearest=nearest)
        return Response(page, status=404, content_type=content_type(HTML.media_type), headers=headers)
    lines = [f"404 Not Found: the ontology has no term {model.header.namespace}{name}."]
    if nearest:
        lines += ["", "Did you mean:"] + [f"  {model.header.namespace}{n}" for n in nearest]
    lines += ["", f"All terms: {request.host_url.rstrip('/')}{_urls().ontology()}"]
    return Response("\n".join(lines) + "\n", status=404, content_type="text/plain; charset=utf-8", headers=headers)
