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
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup

from kg.site import ontology_docs
from kg.site.ontology_docs import OntologyDocs
from kg.web.cache import once
from kg.web.negotiation import client_has, content_type
from kg.web.ui import asset_url

bp = Blueprint("ontology", __name__)


@dataclass(frozen=True)
class Variant:
    suffix: str
    media_type: str
    rdflib_format: str | None  # None: the HTML page
    label: str

    @property
    def content_type(self) -> str:
        return content_type(self.media_type)


TURTLE = Variant("ttl", "text/turtle", "turtle", "Turtle")
JSONLD = Variant("jsonld", "application/ld+json", "json-ld", "JSON-LD")
NTRIPLES = Variant("nt", "application/n-triples", "nt", "N-Triples")
RDFXML = Variant("rdf", "application/rdf+xml", "pretty-xml", "RDF/XML")
HTML = Variant("html", "text/html", None, "HTML")
#: In order of preference when the client likes several equally.
VARIANTS = (TURTLE, JSONLD, NTRIPLES, RDFXML, HTML)
RDF_VARIANTS = VARIANTS[:-1]
BY_SUFFIX = {v.suffix: v for v in VARIANTS}
#: Other names clients use for the same media types.
ALIASES = {TURTLE: ("application/x-turtle",), JSONLD: ("application/json",), HTML: ("application/xhtml+xml",)}

def docs() -> OntologyDocs:
    """The documentation model of the served snapshot, read once per application."""
    return once("kg.ontology_docs", lambda: ontology_docs.load(current_app.extensions["kg.store"]))


# --------------------------------------------------------------------------------------------------
# Content negotiation


def _accepted() -> list[tuple[str, float]]:
    """The Accept header as (media range without parameters, q) pairs; empty when there is none."""
    return [(value.split(";", 1)[0].strip().lower(), quality) for value, quality in request.accept_mimetypes]


def quality(media_type: str, accepted: list[tuple[str, float]]) -> float:
    """How much the client wants ``media_type``: the q of the most specific range that matches it."""
    kind = media_type.split("/", 1)[0]
    best: tuple[int, float] = (0, 0.0)
    for media_range, q in accepted:
        if media_range == media_type:
            specificity = 3
        elif media_range == f"{kind}/*":
            specificity = 2
        elif media_range in ("*/*", "*"):
            specificity = 1
        else:
            continue
        if specificity > best[0] or (specificity == best[0] and q > best[1]):
            best = (specificity, q)
    return best[1]


def variant_quality(variant: Variant, accepted: list[tuple[str, float]]) -> float:
    """The quality of the variant's media type; an alias counts only when named exactly (``application/*``
    must not pick Turtle through ``application/x-turtle``)."""
    named = [q for media_range, q in accepted if media_range in ALIASES.get(variant, ())]
    return max([quality(variant.media_type, accepted), *named])


def negotiate(variants: tuple[Variant, ...] = VARIANTS) -> Variant | None:
    """The client's preferred variant, Turtle without an Accept header; None if none is acceptable."""
    accepted = _accepted()
    if not accepted:
        return variants[0]
    scored = [(variant_quality(v, accepted), -i, v) for i, v in enumerate(variants)]
    q, _, best = max(scored, key=lambda item: item[:2])
    return best if q > 0 else None


def _wants_html() -> bool:
    accepted = _accepted()
    return bool(accepted) and variant_quality(HTML, accepted) > variant_quality(TURTLE, accepted)


# --------------------------------------------------------------------------------------------------
# URLs and headers


def _url(name: str | None, variant: Variant | None = None) -> str:
    """Our URL for the ontology (name None) or a term, generic or with a suffix."""
    if name is None:
        return url_for("ontology.document_file", suffix=variant.suffix) if variant else url_for("ontology.document")
    return url_for("ontology.term", name=f"{name}.{variant.suffix}" if variant else name)


def _alternates(name: str | None) -> list[dict[str, str]]:
    out = []
    for variant in VARIANTS:
        href = (url_for("ontology.document", _anchor=name) if variant is HTML and name is not None
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


def _etag(name: str | None, variant: Variant) -> str:
    build = current_app.extensions["kg.endpoint"].snapshot.manifest.get("build_id", "")
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
    return redirect(url_for("ontology.document"), code=301)


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
            return _see_other(url_for("ontology.document"), None, variant is None)
        return _respond(None, variant, negotiated_headers_for=name)
    return _respond(name, variant)


def _respond(name: str | None, variant: Variant | None, negotiated_headers_for: str | None = None) -> Response:
    negotiated = variant is None
    if variant is None:
        variant = negotiate()
        if variant is None:
            return _not_acceptable(name)
    headers = _headers(name, negotiated)
    if variant is HTML and name is not None:
        return _see_other(url_for("ontology.document", _anchor=name), name, negotiated)
    etag = _etag(name, variant)
    headers |= {"ETag": f'"{etag}"', "Last-Modified": current_app.extensions["kg.last_modified"]}
    if negotiated:
        location = _url(negotiated_headers_for, variant) if negotiated_headers_for else _url(name, variant)
        headers["Content-Location"] = location
    if client_has(etag):
        return Response(status=304, headers=headers)
    if variant is HTML:
        return Response(_page(), content_type=HTML.content_type, headers=headers)
    body = docs().serialize(name, variant.rdflib_format or "")
    return Response(body, content_type=variant.content_type, headers=headers)


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
        alternates=_alternates(None),
        term_formats=RDF_VARIANTS,
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
                               term_formats=RDF_VARIANTS, asset=asset_url, missing=name, nearest=nearest)
        return Response(page, status=404, content_type=HTML.content_type, headers=headers)
    lines = [f"404 Not Found: the ontology has no term {model.header.namespace}{name}."]
    if nearest:
        lines += ["", "Did you mean:"] + [f"  {model.header.namespace}{n}" for n in nearest]
    lines += ["", f"All terms: {request.host_url.rstrip('/')}{url_for('ontology.document')}"]
    return Response("\n".join(lines) + "\n", status=404, content_type="text/plain; charset=utf-8", headers=headers)
