"""The reconciliation service for OpenRefine: ``/reconcile`` speaking the W3C Reconciliation API 0.2, and the
1.0 draft's ``/reconcile/match``.

``/reconcile`` answers the manifest, a batch of ``queries`` or a data ``extend`` request (GET or POST form, as
OpenRefine sends them), as JSON, or as JSONP with ``callback``; the suggest, preview and property proposal
services sit under it. The matching itself is :mod:`kg.site.reconcile`, built once per release.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from kg.site.catalogue import MAIN_CLASSES
from kg.site.reconcile import BadQuery, Reconciler
from kg.web.release import current_release
from kg.web.resources import site

bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")

PREVIEW_WIDTH, PREVIEW_HEIGHT = 400, 160
#: A JSONP callback: a JavaScript name (dotted), nothing a page could be made to run.
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")


def reconciler() -> Reconciler:
    """This release's reconciler, built at its first request (the site's catalogue first: ``once`` holds a lock
    that building both inside it would take twice)."""
    release = current_release()
    catalogue = site().catalogue
    return release.once("reconciler", lambda: Reconciler.build(release.store, catalogue))


@bp.route("", methods=["GET", "POST"])
def service() -> Response:
    """The manifest, a batch of reconciliation queries (``queries``) or a data extension (``extend``)."""
    r = reconciler()
    try:
        if "queries" in request.values:
            batch = _json_param("queries")
            if not isinstance(batch, dict):
                raise BadQuery("queries must be a JSON object of queries by key: {\"q0\": {\"query\": \"Helsinki\"}}")
            _check_size(len(batch))
            return _answer({key: {"result": r.reconcile(query)} for key, query in batch.items()})
        if "extend" in request.values:
            extend = _json_param("extend")
            if isinstance(extend, dict) and isinstance(extend.get("ids"), list):
                _check_size(len(extend["ids"]))
            return _answer(r.extend(extend))
    except BadQuery as error:
        return _error(str(error))
    return _answer(_manifest(r))


@bp.route("/match", methods=["POST"])
def match() -> Response:
    """The 1.0 draft's reconciliation: a JSON body ``{"queries": [{"conditions": […]}]}``, candidates in order."""
    r = reconciler()
    try:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("queries"), list):
            raise BadQuery("the body must be JSON: {\"queries\": [{\"conditions\": [{\"matchType\": \"name\", "
                           "\"propertyValue\": \"Helsinki\"}]}]}")
        _check_size(len(body["queries"]))
        return _answer({"results": [{"candidates": r.reconcile(_from_draft(q))} for q in body["queries"]]})
    except BadQuery as error:
        return _error(str(error))


@bp.route("/suggest/<kind>")
def suggest(kind: str) -> Response:
    """Suggest (prefix search) for ``entity``, ``type`` or ``property``."""
    r = reconciler()
    prefix = request.args.get("prefix", "")
    try:
        if kind == "entity":
            result = r.suggest_entities(prefix, request.args.get("type") or None)
        elif kind == "type":
            result = r.suggest_terms(prefix, r.classes)
        elif kind == "property":
            result = r.suggest_terms(prefix, r.properties)
        else:
            return _error(f"no suggest service {kind!r}: there are entity, type and property", 404)
    except BadQuery as error:
        return _error(str(error))
    return _answer({"result": result})


@bp.route("/propose_properties")
def propose_properties() -> Response:
    """The properties data extension can fetch for instances of ``type``, the most used first."""
    r = reconciler()
    type_id = request.args.get("type", "")
    try:
        limit = int(request.args.get("limit", "10"))
        if limit < 1:
            raise ValueError
        return _answer({"type": type_id, "limit": limit, "properties": r.propose_properties(type_id, limit)})
    except ValueError:
        return _error("limit must be a positive integer")
    except BadQuery as error:
        return _error(str(error))


@bp.route("/preview")
def preview() -> Response:
    """A small card of one entity for OpenRefine's preview pop-up."""
    r = reconciler()
    entry = r.entity(request.args.get("id", ""))
    if entry is None:
        return Response("No entity has this id.", status=404, mimetype="text/plain")
    others = [n for n in entry.names if n != entry.label][:4]
    page = render_template("reconcile_preview.html", entry=entry, kinds=r.catalogue.type_label(entry), others=others,
                           abstract=r.abstracts.get(entry.iri, ""), href=request.url_root.rstrip("/") + site().urls.path(entry.iri))
    return Response(page, mimetype="text/html")


def _manifest(r: Reconciler) -> dict[str, Any]:
    root = request.url_root.rstrip("/")
    service = root + bp.url_prefix
    default_types = [r.classes[iri] for iri in (r.schema_space + c for c in MAIN_CLASSES) if iri in r.classes]
    return {
        "versions": ["0.2"],  # the 1.0 draft's manifest differs (its suggest is booleans); /match is offered alone
        "name": "Integrating Cities Knowledge Graph",
        "identifierSpace": r.identifier_space,
        "schemaSpace": r.schema_space,
        "documentation": root + "/",
        "serviceVersion": current_release().id,
        "view": {"url": root + site().urls.kinds + "{{id}}"},  # an id is the IRI after <base>id/
        "defaultTypes": [{"id": t.id, "name": t.name} for t in default_types],
        "preview": {"url": service + "/preview?id={{id}}", "width": PREVIEW_WIDTH, "height": PREVIEW_HEIGHT},
        "suggest": {kind: {"service_url": root, "service_path": f"{bp.url_prefix}/suggest/{kind}"}
                    for kind in ("entity", "type", "property")},
        "extend": {"propose_properties": {"service_url": root, "service_path": f"{bp.url_prefix}/propose_properties"}},
    }


def _from_draft(query: Any) -> dict[str, Any]:
    """A 1.0-draft query (conditions) as a 0.2 one (a name, property constraints)."""
    if not isinstance(query, dict) or not isinstance(query.get("conditions"), list):
        raise BadQuery("each query needs a list of \"conditions\"")
    names, properties = [], []
    for condition in query["conditions"]:
        if not isinstance(condition, dict):
            raise BadQuery("each condition must be a JSON object")
        if condition.get("matchType") == "name":
            names.append(condition.get("propertyValue"))
        elif condition.get("matchType") == "property":
            properties.append({"pid": condition.get("propertyId"), "v": condition.get("propertyValue")})
        else:
            raise BadQuery("this service matches conditions of matchType \"name\" and \"property\"")
    if len(names) != 1:
        raise BadQuery("each query needs exactly one condition of matchType \"name\"")
    out = {"query": names[0], "properties": properties}
    out.update({k: query[k] for k in ("type", "limit") if k in query})
    return out


def _json_param(name: str) -> Any:
    try:
        return json.loads(request.values[name])
    except ValueError as error:
        raise BadQuery(f"{name} is not JSON: {error}") from None


def _check_size(count: int) -> None:
    most = current_app.extensions["kg.settings"].reconcile_max_queries
    if count > most:
        raise BadQuery(f"{count} queries in one request; at most {most} (KG_RECONCILE_MAX_QUERIES): send them in batches")


def _answer(body: Any, status: int = 200) -> Response:
    """JSON, or JSONP when the request names a ``callback`` (what older OpenRefine clients ask for)."""
    text = json.dumps(body, ensure_ascii=False)
    callback = request.args.get("callback")
    if callback is None:
        return Response(text, status=status, mimetype="application/json")
    if not _CALLBACK.fullmatch(callback):
        return _error("callback must be a JavaScript function name", jsonp=False)
    return Response(f"/**/{callback}({text});", status=status, mimetype="application/javascript",
                    headers={"X-Content-Type-Options": "nosniff"})


def _error(message: str, status: int = 400, jsonp: bool = True) -> Response:
    body = {"status": "error", "message": message}
    if jsonp:
        return _answer(body, status)
    return Response(json.dumps(body), status=status, mimetype="application/json")
