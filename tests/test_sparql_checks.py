"""The lexer that decides what a query asks for, before any engine runs it."""

from __future__ import annotations

import pytest

from kg.query.guard import QueryRefused, analyse, check

G = "https://w3id.org/integrating-cities/graph/"
PUBLISHED = {G + "ontology", G + "inferred"}


@pytest.mark.parametrize("text, form", [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT"),
    ("PREFIX ask: <http://x/> select ?x { ?x ask:y 1 }", "SELECT"),
    ("# ASK in a comment\nCONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ('ASK { ?s ?p "SELECT" }', "ASK"),
    ("DESCRIBE <http://x/>", "DESCRIBE"),
])
def test_query_form(text, form):
    assert analyse(text).form == form


@pytest.mark.parametrize("text", [
    "INSERT DATA { <http://a> <http://b> <http://c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "LOAD <http://example.org/data.ttl>",
    "CLEAR ALL", "DROP GRAPH <http://x>", "prefix : <http://x/> with :g delete { ?s ?p ?o } where { ?s ?p ?o }",
])
def test_updates_are_refused_with_403(text):
    with pytest.raises(QueryRefused) as caught:
        check(analyse(text), PUBLISHED, frozenset(), 64)
    assert caught.value.status == 403


def test_update_words_inside_strings_iris_and_comments_are_not_updates():
    text = 'SELECT ?x WHERE { ?x <http://e/INSERT> "DELETE" . # LOAD\n ?x ?p """CLEAR\nDROP""" }'
    assert analyse(text).updates == []


def test_service_is_refused_unless_allow_listed():
    text = "SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    with pytest.raises(QueryRefused) as caught:
        check(analyse(text), PUBLISHED, frozenset(), 64)
    assert caught.value.status == 403
    check(analyse(text), PUBLISHED, frozenset({"http://127.0.0.1:9/sparql"}), 64)


def test_service_through_a_prefixed_name_or_variable_is_resolved_or_refused():
    assert analyse("PREFIX e: <http://evil/> SELECT * { SERVICE SILENT e:sparql { ?s ?p ?o } }").services == ["http://evil/sparql"]
    with pytest.raises(QueryRefused):
        check(analyse("SELECT * { SERVICE ?where { ?s ?p ?o } }"), PUBLISHED, frozenset({"http://x"}), 64)


@pytest.mark.parametrize("clause", ["FROM <file:///etc/passwd>", "FROM NAMED <http://example.org/remote.ttl>"])
def test_from_only_names_published_graphs(clause):
    with pytest.raises(QueryRefused) as caught:
        check(analyse(f"SELECT * {clause} WHERE {{ ?s ?p ?o }}"), PUBLISHED, frozenset(), 64)
    assert caught.value.status == 400 and "nothing is fetched" in caught.value.message
    plan = analyse(f"SELECT * FROM graph:ontology FROM NAMED <{G}inferred> {{ ?s ?p ?o }}")
    assert (plan.from_graphs, plan.from_named) == ([G + "ontology"], [G + "inferred"])
    check(plan, PUBLISHED, frozenset(), 64)


def test_deep_nesting_is_refused_before_parsing():
    text = "SELECT * WHERE " + "{" * 1000 + " ?s ?p ?o " + "}" * 1000
    assert analyse(text).max_depth == 1000
    with pytest.raises(QueryRefused) as caught:
        check(analyse(text), PUBLISHED, frozenset(), 64)
    assert caught.value.status == 400
