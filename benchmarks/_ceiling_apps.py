"""The two do-nothing applications of benchmarks/http_ceiling.py: what serving costs before any SPARQL runs.

Both answer every request with the same small SPARQL JSON body, the size of an empty result.
"""

from flask import Flask, Response

BODY = b'{"head":{"vars":["label"]},"results":{"bindings":[]}}'
HEADERS = [("Content-Type", "application/sparql-results+json"), ("Content-Length", str(len(BODY)))]


def bare(environ, start_response):
    """A WSGI callable and nothing else."""
    start_response("200 OK", HEADERS)
    return [BODY]


flask_app = Flask(__name__)


@flask_app.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    return Response(BODY, content_type="application/sparql-results+json")
