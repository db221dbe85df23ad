"""``/explain?s=…&p=…&o=…``: why an inferred triple is in the graph, for people (HTML) and programs (JSON, Turtle).

The model is :mod:`kg.site.explain` (the derivations the build recorded); this blueprint parses the
terms, negotiates the format as every other page does, and answers 400 for a malformed term and 404 for
a triple the inferred graph does not hold.
"""

from __future__ import annotations

import json

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from kg.formats import DOCUMENT_JSON, HTML, TURTLE
from kg.namespaces import PREFIXES
from kg.site.describe import curie
from kg.site.explain import SPEC, BadTerm, Explainer, Step, parse_triple, to_json, to_triples
from kg.web.negotiation import content_type, negotiated
from kg.web.release import current_release
from kg.web.resources import Site, site
from kg.web.ui import asset_url

bp = Blueprint("explain", __name__, template_folder="templates")

#: What /explain negotiates between; ``*/*`` or no Accept header gets the page.
OFFERED = (HTML, DOCUMENT_JSON, TURTLE)


def explainer() -> Explainer:
    release = current_release()
    return release.once("explainer", lambda: Explainer(release.store))


@bp.route("/explain")
def explain() -> Response:
    chosen = negotiated(OFFERED)
    if chosen is None:
        return _text(406, f"406 Not Acceptable: /explain is available as {', '.join(f.media_type for f in OFFERED)}.\n")
    try:
        triple = parse_triple(request.args.get("s"), request.args.get("p"), request.args.get("o"))
    except BadTerm as error:
        return _text(400, f"400 Bad Request: {error}\n")
    model = explainer()
    step = model.explain(triple)
    if step is None:
        return _text(404, f"404 Not Found: the inferred graph does not hold {triple.subject} {triple.predicate} "
                          f"{triple.object} — only inferred triples have an explanation.\n")
    headers = {"Vary": "Accept"}
    if chosen is TURTLE:
        body = ox.serialize(to_triples(step), format=ox.RdfFormat.TURTLE, prefixes=PREFIXES) or b""
        return Response(body, headers=headers, content_type=content_type(TURTLE.media_type))
    graphs = _graph_labels(step)
    if chosen is DOCUMENT_JSON:
        document = {"release": current_release().id, "recorded": model.recorded, "note": model.note,
                    "specification": SPEC, "explanation": to_json(step, graphs)}
        return Response(json.dumps(document, indent=2), headers=headers, content_type=DOCUMENT_JSON.media_type)
    s = site()
    html = render_template("explain.html", asset=asset_url, step=step, graphs=graphs, recorded=model.recorded,
                           note=model.note, label=lambda t: _label(s, t), spec=SPEC)
    return Response(html, headers=headers, content_type=content_type(HTML.media_type))


def _text(status: int, message: str) -> Response:
    return Response(message, status=status, mimetype="text/plain")


def _graph_labels(step: Step) -> dict[str, dict]:
    """Each named graph stating an asserted premise, with its source document."""
    infos = site().describer.graphs
    out: dict[str, dict] = {}
    stack = [step]
    while stack:
        current = stack.pop()
        stack.extend(current.premises)
        for g in current.graphs:
            info = infos.get(g)
            out[g] = {"graph": g, "label": info.label if info else g,
                      "source": info.source if info else None, "source_label": info.source_label if info else None}
    return out


def _label(s: Site, term: ox.Term) -> dict:
    """A term as the page shows it: its label and link for IRIs, its text for literals."""
    if isinstance(term, ox.NamedNode):
        entry = s.catalogue.entries.get(term.value)
        return {"text": entry.label if entry else curie(term.value), "href": s.urls.resource(term.value), "title": term.value}
    return {"text": str(term), "href": None, "title": str(term)}
