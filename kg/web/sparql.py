"""The SPARQL 1.1 Protocol, query side: GET, POST form, POST direct; service description without a query.
https://www.w3.org/TR/sparql11-protocol/
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from kg.formats import HTML, TRIPLE_FORMATS, TURTLE
from kg.query.engine import EngineUnavailable
from kg.query.executor import (EngineCrashed, LongLaneFull, PoolBusy, QuerySyntaxError, QueryTimeout, QueryTooLarge,
                               SecondLongQuery, WorkerFailed)
from kg.query.fair_use import OverLimit
from kg.query.guard import QueryRefused
from kg.query.protocol import Endpoint, ProtocolRequest
from kg.query.result_formats import NotExpressible
from kg.query.store import QueryUnsupported
from kg.query.service_description import service_graph
from kg.web import ui
from kg.web.negotiation import client_has, content_type, negotiated
from kg.web.release import current_release

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
ACCEPTED_PARAMETERS = {"query", "default-graph-uri", "named-graph-uri", "format"}
NARROW = "Narrow it down (LIMIT, more specific patterns)."
#: A query that was not answered although it was a valid one: status, Retry-After (s), and what to tell the client.
NOT_ANSWERED = {
    QueryTimeout: (503, 1, "Query stopped: {error}. " + NARROW),
    QueryTooLarge: (503, 1, "Query stopped: {error}. " + NARROW),
    LongLaneFull: (503, 5, "Query stopped: {error}. Try again shortly, or narrow it down."),
    SecondLongQuery: (429, 5, "Query stopped: {error}."),
    PoolBusy: (503, 5, "The server is busy: {error}. Try again shortly."),
    # 502, not 503: the upstream failed, not this query; a proxy in front (deploy/haproxy.cfg) retries a 502 on
    # another replica, and never a 503, which may be this query's own doing (its time, its memory).
    EngineUnavailable: (502, 5, "The SPARQL engine is not answering: {error}. Try again shortly."),
}
#: A query the engine read but will not run or answer in the format asked for: status and what to tell the client.
NOT_RUN = {
    QuerySyntaxError: (400, "Invalid SPARQL query: {error}"),
    QueryUnsupported: (400, "Query not supported by the engine: {error}"),
    NotExpressible: (406, "{error}"),
}
#: What a GET without a query is answered with: the service description, or the editor for browsers.
DESCRIPTION_FORMATS = (*TRIPLE_FORMATS, HTML)


def endpoint() -> Endpoint:
    return current_release().endpoint


def _decode_params(raw: bytes, where: str) -> list[tuple[str, str]]:
    """Form-encoded parameters, strictly UTF-8 (werkzeug would silently replace bad bytes)."""
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise QueryRefused(400, f"The {where} is not valid UTF-8 (RFC 3986 percent-encoding of UTF-8 is required).") from None


def _body() -> bytes:
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise QueryRefused(413, f"The request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes.") from None


def read_protocol_request() -> ProtocolRequest | None:
    """The query operation in this request, or None for a plain GET (service description / editor)."""
    params = _decode_params(request.query_string, "query string")
    if request.method == "POST":
        mimetype = request.mimetype
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if mimetype == UPDATE or any(k == "update" for k, _ in params):
            raise QueryRefused(403, "This endpoint is read-only: SPARQL Update is not accepted.")
        if mimetype == FORM:
            if charset not in ("utf-8", "utf8"):
                raise QueryRefused(415, "Form bodies must be UTF-8.")
            params += _decode_params(_body(), "request body")
        elif mimetype == DIRECT:
            if charset not in ("utf-8", "utf8"):
                raise QueryRefused(415, f"A {DIRECT} body must be UTF-8, not {charset}.")
            try:
                params.append(("query", _body().decode("utf-8")))
            except UnicodeDecodeError:
                raise QueryRefused(400, "The request body is not valid UTF-8.") from None
        elif not mimetype:
            raise QueryRefused(415, f"A POST needs a Content-Type: {FORM} or {DIRECT}.")
        else:
            raise QueryRefused(415, f"Unsupported Content-Type {mimetype}: use {FORM} or {DIRECT}.")
    names = [k for k, _ in params]
    if "update" in names:
        raise QueryRefused(403, "This endpoint is read-only: SPARQL Update is not accepted.")
    unknown = sorted(set(names) - ACCEPTED_PARAMETERS)
    if unknown:
        raise QueryRefused(400, f"Unknown parameter(s) {', '.join(unknown)}; accepted: {', '.join(sorted(ACCEPTED_PARAMETERS))}.")
    queries = [v for k, v in params if k == "query"]
    formats = [v for k, v in params if k == "format"]
    if len(queries) > 1:
        raise QueryRefused(400, "More than one query parameter: send exactly one query.")
    if len(formats) > 1:
        raise QueryRefused(400, "More than one format parameter.")
    if not queries:
        if request.method == "POST":
            raise QueryRefused(400, "The POST carries no query.")
        return None
    return ProtocolRequest(
        query=queries[0],
        default_graph_uris=tuple(v for k, v in params if k == "default-graph-uri"),
        named_graph_uris=tuple(v for k, v in params if k == "named-graph-uri"),
        format=formats[0] if formats else None,
    )


def refused(error: QueryRefused) -> Response:
    endpoint().metrics.refused()
    return Response(error.message + "\n", status=error.status, mimetype="text/plain")


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    try:
        protocol_request = read_protocol_request()
        if protocol_request is None:
            return service_description()
        prepared = endpoint().prepare(protocol_request, request.headers.get("Accept"))
    except QueryRefused as error:
        return refused(error)
    headers = {"ETag": f'"{prepared.etag}"', "Last-Modified": current_release().last_modified, "Vary": "Accept"}
    if client_has(prepared.etag):
        return Response(status=304, headers=headers)
    try:
        outcome = endpoint().run(prepared, current_app.extensions["kg.clients"](request.environ))
    except tuple(NOT_RUN) as error:
        status, text = NOT_RUN[type(error)]
        return refused(QueryRefused(status, text.format(error=error)))
    except OverLimit as over:
        return Response(over.message + "\n", status=429, mimetype="text/plain",
                        headers={"Retry-After": str(over.retry_after_s)})
    except tuple(NOT_ANSWERED) as error:
        status, retry_after, text = NOT_ANSWERED[type(error)]
        return Response(text.format(error=error) + "\n", status=status, mimetype="text/plain",
                        headers={"Retry-After": str(retry_after)})
    except EngineCrashed as error:
        endpoint().metrics.error()
        return Response(f"Query failed: {error}.\n", status=500, mimetype="text/plain")
    except WorkerFailed:
        endpoint().metrics.error()
        raise
    headers["KG-Query-Time"] = f"{outcome.seconds:.6f}"
    if endpoint().cache is not None and not prepared.inline:
        headers["KG-Cache"] = "hit" if outcome.cached else "miss"
    if outcome.truncated:
        headers["KG-Result-Truncated"] = f"max-rows={endpoint().settings.max_rows}"
    return Response(outcome.body, status=200, headers=headers, content_type=content_type(prepared.format.media_type))


def service_description() -> Response:
    """The editor for browsers (HTML preferred over Turtle); the service description for everyone else,
    Turtle when nothing offered is acceptable (a description beats a 406 for a client probing the endpoint)."""
    best = negotiated(DESCRIPTION_FORMATS) or TURTLE
    if best is HTML:
        return ui.editor(request.path)
    kg = endpoint()
    graph = service_graph(request.base_url, kg.snapshot.manifest, current_release().graph_labels)
    body = graph.serialize(format=best.rdflib, encoding="utf-8")
    return Response(body, content_type=content_type(best.media_type), headers={"Vary": "Accept"})
