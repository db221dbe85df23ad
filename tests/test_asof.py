"""Pages as of a date (`?asOf=`): only the memberships and posts whose own evidence agrees with the date, each
saying whether the sources give a period or only attest the fact at a date; the same answer as the SPARQL
pattern of the competency questions cq37 and cq38."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from kg.config import PROJECT_ROOT
from kg.site.asof import BadDate, Evidence, held_at, parse_as_of
from kg.site.describe import NaryRow

XSD = "http://www.w3.org/2001/XMLSchema#"


def row(start: str | None = None, end: str | None = None, as_of: tuple[str, ...] = (), attested: tuple[str, ...] = ()) -> NaryRow:
    return NaryRow(node="urn:x:m", kind="urn:x:Membership",
                   start=ox.Literal(start, datatype=ox.NamedNode(XSD + "gYear")) if start else None,
                   end=ox.Literal(end, datatype=ox.NamedNode(XSD + "gYear")) if end else None,
                   as_of=[ox.Literal(d, datatype=ox.NamedNode(XSD + "date")) for d in as_of], attested_at=list(attested))


EVENTS = {"urn:x:conference": "2016-04", "urn:x:undated": None}


@pytest.mark.parametrize("membership, at, expected", [
    (row(start="2006"), "2017-07-01", Evidence("period", "2006 – …")),
    (row(start="2006"), "2005", None),
    (row(start="2006", end="2010"), "2010-12", Evidence("period", "2006 – 2010")),
    (row(start="2006", end="2010"), "2011", None),
    (row(as_of=("2017-07-06",)), "2017", Evidence("stated", "2017-07-06")),
    (row(as_of=("2017-07-06",)), "2017-07", Evidence("stated", "2017-07-06")),
    (row(as_of=("2017-07-06",)), "2017-07-01", None),  # stated as of the 6th: not stretched back to the 1st
    (row(as_of=("2017-07-06",)), "2018", None),
    (row(attested=("urn:x:conference",)), "2016", Evidence("attested", "2016-04")),
    (row(attested=("urn:x:conference",)), "2016-04-20", Evidence("attested", "2016-04")),
    (row(attested=("urn:x:undated",)), "2016", None),  # an undated event dates nothing
])
def test_a_row_holds_at_a_date_only_by_its_own_evidence(membership: NaryRow, at: str, expected: Evidence | None) -> None:
    assert held_at(membership, at, EVENTS.get) == expected


@pytest.mark.parametrize("text", ["17", "2017-7", "2017-13", "2017-02-32", "2017-07-01T00:00", "yesterday", ""])
def test_what_is_not_a_year_month_or_day_is_refused(text: str) -> None:
    with pytest.raises(BadDate, match="is not a date: give a year, a month or a day"):
        parse_as_of(text)


def page(client, path: str) -> tuple[int, str]:
    response = client.get(path, headers={"Accept": "text/html"})
    return response.status_code, response.data.decode()


def table(html: str, heading_id: str) -> str:
    """The table under the heading ``heading_id`` (empty when the page has no such section)."""
    return html.split(f'id="{heading_id}"', 1)[1].split("</table>", 1)[0] if f'id="{heading_id}"' in html else ""


def linked_names(html: str, heading_id: str) -> list[str]:
    """The first cell's link texts of each row of the table under the heading ``heading_id``."""
    return [re.sub(r"<[^>]+>", "", cells.split("</td>", 1)[0]).strip() for cells in table(html, heading_id).split("<tr>")[2:]]


def cq(store, name: str) -> list[dict[str, str]]:
    text = (PROJECT_ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    result = store.query(text)
    return [{v.value: s[v.value].value for v in result.variables if s[v.value] is not None} for s in result]


def test_the_working_group_in_2019_shows_what_cq37_finds_and_why(client, store) -> None:
    status, html = page(client, "/id/organisation/eurocities-migration-integration-wg?asOf=2019")
    assert status == 200
    holders = linked_names(html, "members-heading")
    chairs = {r["holder"] for r in cq(store, "cq37-working-group-chair-in-2019")}
    assert chairs and chairs <= set(holders)
    assert "As of 2019:" in html
    assert table(html, "members-heading").count(
        'class="evidence">stated as of 2019: the sources attest it at this date, they give no period') == len(holders)
    # Integrating Cities VI has no date in the sources: its attested chair is in no year.
    assert "Ramon Sanahuja" not in holders and "Ramon Sanahuja" in page(client, "/id/organisation/eurocities-migration-integration-wg")[1]


def test_the_partnership_in_2017_lists_the_cities_cq38_finds(client, store) -> None:
    status, html = page(client, "/id/partnership/inclusion-of-migrants-and-refugees?asOf=2017")
    assert status == 200
    cities = {r["city"] for r in cq(store, "cq38-partnership-cities-in-2017")}
    assert cities and cities <= set(linked_names(html, "members-heading"))
    assert "As of 2006:" in page(client, "/id/partnership/inclusion-of-migrants-and-refugees?asOf=2006")[1]
    assert linked_names(page(client, "/id/partnership/inclusion-of-migrants-and-refugees?asOf=2006")[1], "members-heading") == []


def test_a_period_shows_as_a_period(client) -> None:
    _, html = page(client, "/id/organisation/eurocities?asOf=2010")
    assert 'class="evidence">held 2006 – …<' in html


def test_without_a_date_the_page_shows_everything_and_offers_the_control(client) -> None:
    _, html = page(client, "/id/organisation/eurocities-migration-integration-wg")
    assert 'name="asOf"' in html and "As of " not in html and 'class="evidence"' not in html


def test_a_bad_date_is_400_with_what_to_give(client) -> None:
    status, html = page(client, "/id/organisation/eurocities?asOf=2017-7")
    assert status == 400
    assert "“2017-7” is not a date: give a year, a month or a day, such as 2017, 2017-07 or 2017-07-01." in html
