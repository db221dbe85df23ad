"""Every link to our own routes, built in one place (as Datasette's ``Urls`` does).

Our IRIs are dereferenceable because the path after the persistent base *is* the route: ``<base>id/city/
helsinki`` is served at ``/id/city/helsinki``. So a link to one of our resources is its local path, and a
link to anything else is its IRI. The other routes (editor, ontology, downloads, …) are spelled here too, so
pages, templates and response headers cannot disagree about them; tests/test_urls.py checks that the
application answers every path this class builds.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode


class Urls:
    """Paths on our server (relative to its root), for links in pages and headers."""

    home = "/"
    kinds = "/id/"
    graphs = "/graph/"
    sparql = "/sparql"
    search_page = "/search"
    void = "/.well-known/void"
    downloads = "/downloads/"

    def __init__(self, base: str) -> None:
        self.base = base

    def path(self, iri: str) -> str | None:
        """The route for one of our IRIs (the path after the persistent base), None for anyone else's."""
        if iri.startswith(self.base) and len(iri) > len(self.base):
            return "/" + quote(iri[len(self.base):], safe="/-._~")
        return None

    def resource(self, iri: str, suffix: str | None = None) -> str:
        """Where a link to ``iri`` goes: our route for our IRIs (a fixed document with ``suffix``), the IRI
        itself otherwise."""
        path = self.path(iri)
        if path is None:
            return iri
        return f"{path}.{suffix}" if suffix else path

    def kind(self, kind: str) -> str:
        """The index of one kind of entity."""
        return f"{self.kinds}{kind}/"

    def ontology(self, suffix: str | None = None, section: str | None = None) -> str:
        """The ontology's IRI, one of its documents (``suffix``), or a term's section of its page."""
        return "/def" + (f".{suffix}" if suffix else "") + (f"#{section}" if section else "")

    def term(self, name: str, suffix: str | None = None) -> str:
        return f"/def/{quote(name, safe='')}" + (f".{suffix}" if suffix else "")

    def editor(self, text: str, title: str) -> str:
        """The query editor with ``text`` loaded in a tab named ``title`` and run: the form of YASGUI's own
        Share links (``#query=…&tabTitle=…``). A fragment never reaches the server, so a browser following
        it gets the editor page, not a results file to save."""
        return f"{self.sparql}#{urlencode({'query': text, 'tabTitle': title}, quote_via=quote)}"

    def search(self, q: str | None = None, type: str | None = None, year: int | None = None, page: int | None = None) -> str:
        """The search page; ``type`` is a class of our ontology by its local name (``Organisation``)."""
        params = {k: v for k, v in (("q", q), ("type", type), ("year", year), ("page", page if page and page > 1 else None)) if v}
        return self.search_page + (f"?{urlencode(params)}" if params else "")

    def explain(self, subject: str, predicate: str, obj: str) -> str:
        """Why an inferred triple holds (``/explain``); the terms in N-Triples syntax (IRIs may be bare)."""
        return "/explain?" + urlencode({"s": subject, "p": predicate, "o": obj}, quote_via=quote)

    def download(self, file: str) -> str:
        return self.downloads + quote(file, safe="")

    def graph_download(self, graph: str, suffix: str) -> str | None:
        """One named graph of ours as a file of its own (``/downloads/graphs/<name>.ttl``); None for others."""
        prefix = self.base + "graph/"
        name = graph[len(prefix):] if graph.startswith(prefix) else ""
        if not name or "/" in name:
            return None
        return f"{self.downloads}graphs/{quote(name, safe='')}.{suffix}"

    def graph_page(self, graph: str, page: int) -> str:
        """One page of a named graph's facts."""
        path = self.resource(graph)
        return path + (f"?page={page}" if page > 1 else "") + "#facts-heading"
