"""The query editor in a real browser: Debian's headless Chromium, driven by Playwright, against the real server.

Skipped when no Chromium is installed (`apt-get install chromium`), except in CI (CI=true), where it
must run: `.ci/run` installs Chromium. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import re

RESULT_TIMEOUT_MS = 30_000


def test_example_queries_run_and_render_results(browser, server_url: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: None if request.url.startswith((server_url, "blob:", "data:"))
            else elsewhere.append(request.url))
    try:
        page.goto(server_url + "/sparql")
        expect(page).to_have_title(re.compile("SPARQL query editor"))
        expect(page.locator(".tabPanel.active .CodeMirror")).to_contain_text("SELECT ?city ?name")

        # An example question opens its query in a new tab; the run button sends it to our endpoint.
        page.get_by_role("button", name=re.compile(r"^cq01-integrating-cities-conference-hosts")).click()
        panel = page.locator(".tabPanel.active")
        expect(page.get_by_role("tab", name="CQ01 Integrating cities conference hosts")).to_be_visible()  # not "cq01"
        expect(panel.locator(".CodeMirror")).to_contain_text("ic:inSeries event:integrating-cities-conference-series")
        panel.locator(".yasqe_queryButton").click()
        table = panel.locator(".yasr table.dataTable")
        expect(table).to_contain_text("Berlin", timeout=RESULT_TIMEOUT_MS)
        expect(table).to_contain_text("Integrating Cities III")
        expect(table.locator("tbody tr")).to_have_count(3)

        # Another one, run with Ctrl+Enter: IRIs in the results link to our page for them, in this tab.
        page.get_by_role("button", name=re.compile(r"^cq08-inferred-facts-about-a-city")).click()
        panel = page.locator(".tabPanel.active")
        expect(panel.locator(".CodeMirror")).to_contain_text("city:berlin")
        panel.locator(".CodeMirror-code").click()
        page.keyboard.press("Control+Enter")
        germany = "https://w3id.org/integrating-cities/id/country/germany"
        link = panel.locator(".yasr table a.iri[href='/id/country/germany']")
        expect(link).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(link).to_have_text(re.compile(r"country:germany|" + re.escape(germany)))
        expect(link).not_to_have_attribute("target", "_blank")
        expect(page.locator(".tabsList a[role=tab]")).to_have_count(3)  # the two examples beside the first tab
        expect(page.get_by_role("tab", name="Add a new tab")).to_be_visible()  # the tab list holds only tabs
    finally:
        context.close()
    assert not errors, errors
    assert not elsewhere, f"the page fetched from other hosts: {elsewhere}"


def test_the_editor_reads_well_and_fits_a_phone(browser, server_url: str) -> None:
    """The site's navigation; the focus left to the skip link; the run button beside the query text, not over
    it; results whose row number stands apart from the value, literals as values, our IRIs opening our pages in
    this tab; a parse error said in words; on a 390×844 phone, a wide result table scrolls in its box."""
    from playwright.sync_api import expect

    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = watched_page(context, server_url, problems)
    try:
        page.goto(server_url + "/sparql")
        expect(page.get_by_role("navigation", name="Site").get_by_role("link", name="Search")).to_be_visible()
        panel = page.locator(".tabPanel.active")
        expect(panel.locator(".CodeMirror")).to_be_visible()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"

        button = panel.locator(".yasqe_buttons").bounding_box()
        text_right = page.evaluate("""Math.max(...[...document.querySelectorAll('.tabPanel.active .CodeMirror-line > span')]
                                      .map(e => e.getBoundingClientRect().right))""")
        assert text_right < button["x"], (text_right, button)

        panel.locator(".yasqe_queryButton").click()
        row = panel.locator(".yasr table.dataTable tbody tr").first
        expect(row).to_contain_text("Amsterdam", timeout=RESULT_TIMEOUT_MS)
        number, city, name = (row.locator("td").nth(i) for i in range(3))
        gap = city.locator("a").bounding_box()["x"] - (number.locator(".rowNumber").bounding_box()["x"]
                                                         + number.locator(".rowNumber").bounding_box()["width"])
        assert gap >= 8, gap
        expect(name.locator(".nonIri")).to_have_text("Amsterdamen")  # the value, then its language apart
        expect(name.locator(".literal-tag")).to_have_text("en")
        assert '"' not in name.inner_text()
        city.get_by_role("link").click()
        expect(page).to_have_url(server_url + "/id/city/amsterdam")
        page.go_back()

        page.evaluate("window.kgEditor.yasgui.getTab().getYasqe().setValue('SELECT * WHERE { ?s ?p }')")
        page.locator(".tabPanel.active .yasqe_queryButton").click()
        expect(page.get_by_role("alert")).to_contain_text("The query could not be read at line 1, column 25",
                                                          timeout=RESULT_TIMEOUT_MS)

        phone = watched_page(browser.new_context(viewport={"width": 390, "height": 844}), server_url, problems)
        phone.goto(server_url + "/sparql")
        expect(phone.locator(".tabPanel.active .CodeMirror")).to_be_visible()
        phone.evaluate("window.kgEditor.yasgui.getTab().getYasqe().setValue('SELECT * WHERE { ?s ?p ?o } LIMIT 20')")
        phone.locator(".tabPanel.active .yasqe_queryButton").click()
        expect(phone.locator(".yasr table.dataTable tbody tr").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
        assert phone.evaluate("""(() => { const t = document.querySelector('.tabPanel.active .yasr table.dataTable');
                                  let box = t.parentElement; while (box && box.scrollWidth <= box.clientWidth) box = box.parentElement;
                                  return box !== null && box !== document.documentElement && box !== document.body; })()""")
    finally:
        context.close()
    # The browser reports the refused query's 400 itself; nothing else may go wrong.
    assert [p for p in problems if "status of 400" not in p] == [], problems


# --- the maps: every city with coordinates on the home page and the city index, one on a city's page, and the
# --- editor's map view; counted against SPARQL over the same snapshot, never a constant

CITY_POINTS = """PREFIX geo: <http://www.opengis.net/ont/geosparql#>
SELECT ?city (SAMPLE(?name) AS ?label) (SAMPLE(?wkt) AS ?point) WHERE {
  ?city a ic:City ; rdfs:label ?name ; geo:hasGeometry/geo:asWKT ?wkt .
  FILTER(REGEX(STR(?wkt), "^\\\\s*POINT\\\\s*\\\\(", "i"))
} GROUP BY ?city ORDER BY ?city"""


def cities_with_points(store) -> list[tuple[str, str]]:
    """(IRI, label) of every city the graph gives a WKT point, by SPARQL."""
    found = [(row["city"].value, row["label"].value) for row in store.query(CITY_POINTS)]
    assert found, "no city has a point (geo:hasGeometry/geo:asWKT) in the data"
    return found


def watched_page(context, server_url: str, problems: list[str]):
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith((server_url, "blob:", "data:"))
            else problems.append("fetched from another host: " + r.url))
    return page


def local_path(iri: str) -> str:
    return "/" + iri.split("https://w3id.org/integrating-cities/", 1)[1]


def test_maps_show_every_city_and_link_to_its_page(browser, server_url: str, store) -> None:
    from playwright.sync_api import expect

    cities = cities_with_points(store)
    iri, label = cities[0]
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = watched_page(context, server_url, problems)
        for path in ("/", "/id/city/"):
            page.goto(server_url + path)
            figure = page.locator("figure.kg-map-overview[data-state=drawn]")
            expect(figure).to_have_count(1, timeout=RESULT_TIMEOUT_MS)
            markers = figure.locator("svg a.kg-map-marker")
            expect(markers).to_have_count(len(cities))
            # The SVG is named and described; the land is drawn from the vendored atlas.
            svg = figure.locator("svg.kg-map-svg")
            title_id = svg.get_attribute("aria-labelledby")
            assert figure.locator(f"title#{title_id}").text_content().strip()
            assert figure.locator(f"desc#{svg.get_attribute('aria-describedby')}").text_content().strip()
            assert len(figure.locator("path.kg-map-land").first.get_attribute("d")) > 1000
            expect(figure.locator("figcaption")).to_contain_text("memberships and events")
            # Each marker is a link, with a name, to the city's page here (not to w3id.org).
            marker = figure.locator(f"a.kg-map-marker[data-iri='{iri}']")
            expect(marker).to_have_attribute("href", local_path(iri))
            expect(marker).to_have_attribute("aria-label", re.compile("^" + re.escape(label) + r": \d+ membership"))
            assert sorted(markers.evaluate_all("ms => ms.map(m => m.getAttribute('href'))")) == sorted(
                local_path(i) for i, _ in cities)
        # The list of cities stays on the index page.
        expect(page.locator("table a", has_text=label).first).to_have_attribute("href", local_path(iri))

        # Keyboard: a marker takes the focus, and Enter follows it.
        marker = page.locator(f"figure.kg-map a.kg-map-marker[data-iri='{iri}']")
        marker.focus()
        assert marker.evaluate("m => document.activeElement === m")
        page.keyboard.press("Enter")
        expect(page).to_have_url(server_url + local_path(iri))
        expect(page.get_by_role("heading", level=1)).to_have_text(label)

        # The city's own page has a small map with its one point, named after it.
        figure = page.locator("figure.kg-map-place[data-state=drawn]")
        expect(figure).to_have_count(1, timeout=RESULT_TIMEOUT_MS)
        point = figure.locator(".kg-map-marker")
        expect(point).to_have_count(1)
        expect(point).to_have_attribute("aria-label", label)
        expect(figure.locator("figcaption")).to_contain_text(re.compile(r"\d+\.\d\d° [NS], \d+\.\d\d° [EW]"))
        box, frame = point.locator("circle").bounding_box(), figure.locator("svg").bounding_box()
        assert frame["x"] < box["x"] < frame["x"] + frame["width"] and frame["y"] < box["y"] < frame["y"] + frame["height"]
    finally:
        context.close()
    assert not problems, problems


def test_maps_fit_a_phone(browser, server_url: str, store) -> None:
    from playwright.sync_api import expect

    cities = cities_with_points(store)
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = watched_page(context, server_url, problems)
        for path, kind, count in (("/", "overview", len(cities)), ("/id/city/", "overview", len(cities)),
                                  (local_path(cities[-1][0]), "place", 1)):
            page.goto(server_url + path)
            figure = page.locator(f"figure.kg-map-{kind}[data-state=drawn]")
            expect(figure.locator(".kg-map-marker")).to_have_count(count, timeout=RESULT_TIMEOUT_MS)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than a phone screen"
            assert figure.locator("svg.kg-map-svg").bounding_box()["width"] <= 390
    finally:
        context.close()
    assert not problems, problems


def test_the_editor_shows_wkt_results_on_a_map(browser, server_url: str, store) -> None:
    from playwright.sync_api import expect

    cities = cities_with_points(store)
    iri, label = cities[0]
    query = ("PREFIX geo: <http://www.opengis.net/ont/geosparql#>\n"
             "SELECT ?city ?wkt WHERE {\n  ?city a ic:City ; geo:hasGeometry/geo:asWKT ?wkt .\n}")
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = watched_page(context, server_url, problems)
        page.goto(server_url + "/sparql")
        page.wait_for_function("window.kgEditor !== undefined")
        panel = page.locator(".tabPanel.active")
        run = panel.locator(".yasqe_queryButton")
        map_button = panel.locator(".yasr .select_map")

        # Results without WKT literals: no map offered.
        page.evaluate("q => window.kgEditor.yasgui.getTab().getYasqe().setValue(q)", "SELECT ?city WHERE { ?city a ic:City }")
        run.click()
        expect(panel.locator(".yasr table.dataTable")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(map_button).to_be_hidden()

        # SELECT ?city ?wkt: the map is offered, and shows one link per row, to the city's page here.
        page.evaluate("q => window.kgEditor.yasgui.getTab().getYasqe().setValue(q)", query)
        run.click()
        expect(panel.locator(".yasr_response_chip")).to_contain_text(f"{len(cities)} results", timeout=RESULT_TIMEOUT_MS)
        expect(map_button).to_be_visible()
        map_button.click()
        figure = panel.locator("figure.kg-map-results[data-state=drawn]")
        expect(figure).to_have_count(1, timeout=RESULT_TIMEOUT_MS)
        expect(figure.locator("a.kg-map-marker")).to_have_count(len(cities))
        assert len(figure.locator("path.kg-map-land").first.get_attribute("d")) > 1000
        marker = figure.locator(f"a.kg-map-marker[data-iri='{iri}']")
        expect(marker).to_have_attribute("href", local_path(iri))
        expect(marker).to_have_attribute("aria-label", re.compile(re.escape(local_path(iri).rsplit("/", 1)[1])))
        expect(figure.locator("figcaption")).to_contain_text(f"{len(cities)} points from ?wkt")
        marker.click()
        expect(page).to_have_url(server_url + local_path(iri))
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
    finally:
        context.close()
    assert not problems, problems
