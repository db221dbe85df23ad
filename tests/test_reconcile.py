"""The reconciliation service OpenRefine uses (/reconcile): every answer valid against the W3C Reconciliation
API's own JSON schemas (tests/vendor/reconciliation-api), and a spreadsheet of names, misspelt ones too,
reconciled to the right entities on the shipped data."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parent / "vendor" / "reconciliation-api"


def _validator(version: str, name: str) -> Draft202012Validator:
    """A validator for one of the specification's schemas, its references resolved among its siblings."""
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in (SCHEMAS / version).glob("*.json")]
    resources = [(doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in documents]
    schema = json.loads((SCHEMAS / version / f"{name}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=Registry().with_resources(resources))


def valid(version: str, name: str, body: object) -> object:
    errors = sorted(_validator(version, name).iter_errors(body), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    return body


def _batch(client, queries: dict, method: str = "post") -> dict:
    payload = {"queries": json.dumps(queries)}
    response = client.post("/reconcile", data=payload) if method == "post" else client.get("/reconcile", query_string=payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    return valid("0.2", "reconciliation-result-batch", response.get_json())


# --- the manifest -------------------------------------------------------------------------------

def test_the_manifest_is_valid_and_its_templates_lead_to_our_pages(client):
    response = client.get("/reconcile")
    manifest = response.get_json()
    valid("0.2", "manifest", manifest)
    assert manifest["identifierSpace"] == "https://w3id.org/integrating-cities/id/"
    assert manifest["schemaSpace"] == "https://w3id.org/integrating-cities/def/"
    assert {"City", "Organisation", "Country"} <= {t["id"] for t in manifest["defaultTypes"]}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    page = manifest["view"]["url"].replace("{{id}}", "city/helsinki").removeprefix("http://localhost")
    assert client.get(page, headers={"Accept": "text/html"}).status_code == 200
    preview = client.get(manifest["preview"]["url"].replace("{{id}}", "city/helsinki").removeprefix("http://localhost"))
    assert preview.status_code == 200 and "Helsinki" in preview.get_data(as_text=True)
    for kind, service in manifest["suggest"].items():
        assert client.get(service["service_path"], query_string={"prefix": "a"}).status_code == 200, kind


def test_openrefine_preflight_and_jsonp(client):
    preflight = client.options("/reconcile", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    wrapped = client.get("/reconcile", query_string={"callback": "jsonp123"})
    assert wrapped.mimetype == "application/javascript"
    text = wrapped.get_data(as_text=True)
    assert text.startswith("/**/jsonp123(") and text.endswith(");")
    valid("0.2", "manifest", json.loads(text[len("/**/jsonp123("):-2]))
    refused = client.get("/reconcile", query_string={"callback": "alert(1)//"})
    assert refused.status_code == 400 and "callback" in refused.get_json()["message"]


# --- reconciling a spreadsheet ------------------------------------------------------------------

#: A column as a user brings it: names as people write them, with the type they reconcile against.
SPREADSHEET = """\
name,type,expected,match
Helsinki,City,city/helsinki,true
Helsinky,City,city/helsinki,false
city of Amsterdam,City,city/amsterdam,true
Barcelone,City,city/barcelona,false
ZÜRICH,City,city/zurich,true
Municipality of Utrecht,City,city/utrecht,true
Gotenburg,City,city/gothenburg,false
Eurocities,Organisation,organisation/eurocities,true
EUROCITIES network,Organisation,organisation/eurocities,true
Migration Policy Groupe,Organisation,organisation/migration-policy-group,false
University of Liege,Organisation,organisation/university-of-liege,true
Oxford University,Organisation,organisation/university-of-oxford,true
Council of Europe,Organisation,organisation/council-of-europe,true
"""


def test_a_spreadsheet_of_names_is_reconciled_to_the_right_entities(client):
    rows = list(csv.DictReader(io.StringIO(SPREADSHEET)))
    result = _batch(client, {f"q{i}": {"query": row["name"], "type": row["type"], "limit": 3} for i, row in enumerate(rows)})
    for i, row in enumerate(rows):
        candidates = result[f"q{i}"]["result"]
        assert candidates, row["name"]
        top = candidates[0]
        assert top["id"] == row["expected"], (row["name"], candidates)
        assert top["match"] is (row["match"] == "true"), (row["name"], top)
        assert not any(c["match"] for c in candidates[1:])
        assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(candidates))


def test_type_constraints_include_subclasses_and_exclude_other_classes(client):
    result = _batch(client, {"org": {"query": "Eurocities", "type": "Organisation"},  # asserted: a City network
                             "city": {"query": "Eurocities", "type": "City"},
                             "iri": {"query": "Helsinki", "type": "https://w3id.org/integrating-cities/def/City"}})
    assert result["org"]["result"][0]["id"] == "organisation/eurocities"
    assert {"id": "CityNetwork", "name": "City network"} in result["org"]["result"][0]["type"]
    assert all(not c["id"].startswith("organisation/") for c in result["city"]["result"])
    assert result["iri"]["result"][0]["match"] is True


def test_property_constraints_confirm_or_lower_a_candidate(client):
    result = _batch(client, {
        "right": {"query": "Helsinki", "properties": [{"pid": "country", "v": "Finland"}]},
        "by-id": {"query": "Helsinki", "properties": [{"pid": "country", "v": {"id": "country/finland"}}]},
        "wrong": {"query": "Helsinki", "properties": [{"pid": "country", "v": "Sweden"}]},
    }, method="get")
    for key in ("right", "by-id"):
        top = result[key]["result"][0]
        assert top["id"] == "city/helsinki" and top["match"] is True and top["score"] == 100
        assert {"id": "property:country", "name": "has the country asked", "value": True} in top["features"]
    wrong = result["wrong"]["result"][0]
    assert wrong["id"] == "city/helsinki" and wrong["match"] is False and wrong["score"] < 100


def test_limit_bounds_the_candidates(client):
    result = _batch(client, {"one": {"query": "working group", "limit": 1}, "many": {"query": "working group", "limit": 4}})
    assert len(result["one"]["result"]) == 1
    assert 1 < len(result["many"]["result"]) <= 4


@pytest.mark.parametrize("data, message", [
    ({"queries": "{not json"}, "not JSON"),
    ({"queries": json.dumps(["Helsinki"])}, "JSON object"),
    ({"queries": json.dumps({"q0": {"query": ""}})}, "non-empty"),
    ({"queries": json.dumps({"q0": {"query": "Oslo", "type": "Town"}})}, "unknown type 'Town'"),
    ({"queries": json.dumps({"q0": {"query": "Oslo", "limit": 0}})}, "positive integer"),
    ({"queries": json.dumps({"q0": {"query": "Oslo", "properties": [{"pid": "mayor", "v": "x"}]}})}, "unknown property"),
    ({"queries": json.dumps({f"q{i}": {"query": "Oslo"} for i in range(101)})}, "at most 100"),
    ({"extend": json.dumps({"ids": ["city/oslo"]})}, "extend must be"),
])
def test_bad_requests_get_a_clear_error(client, data, message):
    response = client.post("/reconcile", data=data)
    assert response.status_code == 400
    body = response.get_json()
    assert message in body["message"] and "Traceback" not in body["message"]


# --- suggest, preview, data extension -----------------------------------------------------------

def test_suggest_entities_types_and_properties_by_prefix(client):
    entities = valid("0.2", "suggest-entities-response",
                     client.get("/reconcile/suggest/entity", query_string={"prefix": "hels"}).get_json())
    assert entities["result"][0] == {"id": "city/helsinki", "name": "Helsinki", "description": "City in Finland",
                                     "notable": [{"id": "City", "name": "City"}]}
    typed = client.get("/reconcile/suggest/entity", query_string={"prefix": "eurocit", "type": "CityNetwork"}).get_json()
    assert [e["id"] for e in typed["result"]] == ["organisation/eurocities"]
    types = valid("0.2", "suggest-types-response", client.get("/reconcile/suggest/type", query_string={"prefix": "cit"}).get_json())
    assert [t["id"] for t in types["result"]][:2] == ["City", "CityNetwork"]
    props = valid("0.2", "suggest-properties-response",
                  client.get("/reconcile/suggest/property", query_string={"prefix": "coun"}).get_json())
    assert "country" in [p["id"] for p in props["result"]]
    assert client.get("/reconcile/suggest/nothing").status_code == 404


def test_the_preview_is_a_small_card_of_the_entity(client):
    response = client.get("/reconcile/preview", query_string={"id": "organisation/eurocities"})
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert ">EUROCITIES</a>" in html and "City network" in html and 'href="http://localhost/id/organisation/eurocities"' in html
    assert client.get("/reconcile/preview", query_string={"id": "city/atlantis"}).status_code == 404


def test_data_extension_fetches_the_properties_we_hold(client):
    proposal = valid("0.2", "data-extension-property-proposal",
                     client.get("/reconcile/propose_properties", query_string={"type": "City"}).get_json())
    assert "country" in [p["id"] for p in proposal["properties"]]
    extend = {"ids": ["city/helsinki", "country/finland", "city/atlantis"],
              "properties": [{"id": "country"}, {"id": "iso3166Alpha2"}]}
    response = client.post("/reconcile", data={"extend": json.dumps(extend)})
    body = valid("0.2", "data-extension-response", response.get_json())
    assert [m["id"] for m in body["meta"]] == ["country", "iso3166Alpha2"]
    assert body["rows"]["city/helsinki"]["country"] == [{"id": "country/finland", "name": "Finland"}]
    assert body["rows"]["country/finland"]["iso3166Alpha2"] == [{"str": "FI"}]
    assert body["rows"]["city/atlantis"] == {"country": [], "iso3166Alpha2": []}


# --- the 1.0 draft ------------------------------------------------------------------------------

def test_the_draft_match_endpoint(client):
    body = {"queries": [{"conditions": [{"matchType": "name", "propertyValue": "Barcelone"}], "type": "City", "limit": 2},
                        {"conditions": [{"matchType": "name", "propertyValue": "Helsinki"},
                                        {"matchType": "property", "propertyId": "country", "propertyValue": "Finland"}]}]}
    response = client.post("/reconcile/match", json=body)
    results = valid("1.0-draft", "reconciliation-result-batch", response.get_json())["results"]
    assert results[0]["candidates"][0]["id"] == "city/barcelona" and results[0]["candidates"][0]["match"] is False
    assert results[1]["candidates"][0]["id"] == "city/helsinki" and results[1]["candidates"][0]["match"] is True
    refused = client.post("/reconcile/match", json={"queries": [{"conditions": []}]})
    assert refused.status_code == 400 and "matchType" in refused.get_json()["message"]


# --- releases -----------------------------------------------------------------------------------

def test_the_index_follows_a_release_switch(project):
    """A name a new build adds is found as soon as the new release is served, without a restart."""
    from kg.build.pipeline import build
    from kg.web import create_app

    first, _ = build(project)
    app = create_app(project, first)
    try:
        client = app.test_client()
        query = {"q0": {"query": "Stadi", "type": "City"}}
        assert not any(c["match"] for c in _batch(client, query)["q0"]["result"])
        with (project.data_dir / "common-knowledge.ttl").open("a", encoding="utf-8") as data:
            data.write('\ncity:helsinki <http://www.w3.org/2004/02/skos/core#altLabel> "Stadi"@en .\n')
        second, _ = build(project)
        app.extensions["kg.releases"].switch_to(second)
        top = _batch(client, query)["q0"]["result"][0]
        assert top["id"] == "city/helsinki" and top["match"] is True
    finally:
        app.extensions["kg.releases"].close()
