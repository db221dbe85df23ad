"""Pages for people: the SPARQL query editor.

The editor is YASGUI (https://github.com/rdfjs/Yasgui), vendored in ``static/yasgui/`` by
``scripts/update-yasgui.sh`` and served from here, so the page needs no CDN and works offline.
Our prefixes are declared in the editor's starting query, and the competency questions of
``queries/`` are offered as example queries, each with the research question it answers. Results with
GeoSPARQL WKT literals can also be shown on a map (``static/editor-map.js``, a YASR plugin drawn by
``static/map.js`` over the vendored country outlines of ``static/map/``).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG

from flask import Blueprint, Response, current_app, render_template, request, url_for
from werkzeug.security import safe_join

from kg.namespaces import PREFIXES
from kg.web.release import current_release

#: Static URLs carry ``?v=<hash of the file>``, so a browser may keep what such a URL names for a year.
ONE_YEAR = 365 * 24 * 3600

DEFAULT_QUERY_BODY = """\
# Every city in the graph. Open one of the example questions, or write your own query;
# run it with the ▶ button or Ctrl+Enter.
SELECT ?city ?name WHERE {
  ?city a ic:City ;
        rdfs:label ?name .
}
ORDER BY ?name
LIMIT 100
"""

_QUESTION_LABEL = re.compile(r"^Question\s*(?:\((?P<tag>[^)]*)\))?\s*:\s*")


class _Blueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        if filename and request.args.get("v") == _fingerprint(filename):
            return ONE_YEAR
        return None  # revalidate (ETag / Last-Modified)


bp = _Blueprint("ui", __name__, static_folder="static", static_url_path="/assets", template_folder="templates")


@bp.after_request
def _immutable(response: Response) -> Response:
    if request.endpoint == "ui.static" and response.cache_control.max_age == ONE_YEAR:
        response.cache_control.immutable = True
    return response


def editor(endpoint: str | None = None) -> Response:
    """The query editor page (also answers a browser's GET /sparql without a query), sending its queries to
    ``endpoint`` (a path; default /sparql, the current release): a release's editor is pinned to it."""
    urls = current_app.extensions["kg.urls"]
    endpoint = endpoint or urls.sparql
    examples = [_example(q.name, q.title, q.question, q.text) for q in current_release().questions]
    page = render_template(
        "editor.html",
        examples=examples,
        default_query=default_query(),
        config={"endpoint": endpoint, "release": current_release().id, "prefixes": PREFIXES, "defaultQuery": default_query(), "base": urls.base,
                "atlas": asset_url("map/countries-110m.json")},
        endpoint_url=request.host_url.rstrip("/") + endpoint,
        asset=asset_url,
    )
    return Response(page, mimetype="text/html", headers={"Vary": "Accept", "Cache-Control": "no-cache"})


def default_query() -> str:
    """The editor's starting query: every prefix of ours declared, then a small example."""
    width = max(len(prefix) for prefix in PREFIXES)
    declarations = "# All our prefixes are declared here (folded: click the arrows to show them).\n" + "".join(f"PREFIX {prefix + ':':<{width + 1}} <{iri}>\n" for prefix, iri in PREFIXES.items())
    return declarations + "\n" + DEFAULT_QUERY_BODY


def _example(name: str, title: str, question: str, query: str) -> dict[str, str]:
    """One example for the page: the research question split into its question and the note after it; its
    readable title names the editor tab it opens in."""
    match = _QUESTION_LABEL.match(question)
    tag = (match.group("tag") or "") if match else ""
    text = question[match.end():] if match else question
    end = text.find("?") + 1 or len(text)
    return {"name": name, "title": title, "tag": tag, "question": text[:end].strip(), "note": text[end:].strip(),
            "query": query}


def asset_url(filename: str) -> str:
    """URL of one of our static files, fingerprinted with its content so it can be cached for long."""
    return url_for("ui.static", filename=filename, v=_fingerprint(filename))


def _fingerprint(filename: str) -> str | None:
    """A short hash of a static file's content; None if there is no such (regular) file in the folder."""
    joined = safe_join(bp.static_folder or "", filename)
    if joined is None:
        return None
    try:
        stat = Path(joined).stat()
    except (OSError, ValueError):
        return None
    if not S_ISREG(stat.st_mode):
        return None
    return _hash(joined, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _hash(path: str, _mtime_ns: int, _size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
