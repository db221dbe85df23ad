"""Resource pages in a real browser: Debian's headless Chromium, driven by Playwright, against the real server.

Skipped when no Chromium is installed, except in CI (CI=true), where it must run, as tests/test_browser.py.
"""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def page_in(browser, server_url: str):
    """A new page at a given viewport; fails the test on page errors or requests to other hosts."""
    contexts = []
    problems: list[str] = []

    def open_page(width: int = 1280, height: int = 900, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: None if r.url.startswith((server_url, "data:", "blob:")) else problems.append(r.url))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


def test_resource_page_renders_and_its_links_work(page_in, server_url: str) -> None:
    from playwright.sync_api import expect

    page = page_in()
    page.goto(server_url + "/id/city/helsinki")
    expect(page).to_have_title(re.compile(r"^Helsinki · "))
    expect(page.get_by_role("heading", level=1)).to_have_text("Helsinki")
    table = page.locator("table.properties")
    country = table.locator("tr", has=page.get_by_role("rowheader", name="country"))
    expect(country).to_contain_text("Finland")
    expect(table).to_contain_text("City of Helsinki")
    expect(page.locator("li.inferred").first).to_be_visible()
    expect(page.get_by_role("heading", name="Mentioned by")).to_be_visible()

    # Click a linked value: we land on its page, and can come back through one of its own links.
    country.get_by_role("link", name="Finland").click()
    expect(page).to_have_url(server_url + "/id/country/finland")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finland")
    page.get_by_role("link", name="Helsinki", exact=True).first.click()
    expect(page).to_have_url(server_url + "/id/city/helsinki")

    # The data links give RDF.
    response = page.request.get(server_url + "/id/city/helsinki.ttl")
    assert response.ok and response.headers["content-type"].startswith("text/turtle")


def test_from_home_to_an_event_by_clicking_without_javascript(page_in, server_url: str) -> None:
    from playwright.sync_api import expect

    page = page_in(javascript=False)
    page.goto(server_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Integrating Cities Knowledge Graph")
    page.get_by_role("link", name="Events", exact=True).click()
    expect(page).to_have_url(server_url + "/id/event/")
    page.get_by_role("link", name="Integrating Cities III", exact=True).click()
    expect(page.locator(".facts")).to_contain_text("2 April 2009")
    page.locator(".facts").get_by_role("link", name="Berlin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Berlin")

    # The search form works without JavaScript, and leads to the page.
    page.get_by_role("link", name="Search", exact=True).first.click()
    page.get_by_label("Label, alternative name or part of one").fill("celine chateau")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Céline Château", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Céline Château")


def test_pages_fit_a_phone(page_in, server_url: str) -> None:
    page = page_in(width=390, height=844)
    for path in ("/", "/id/city/helsinki", "/id/event/integrating-cities-vi", "/id/event/", "/search?q=city"):
        page.goto(server_url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone screen"


def test_query_links_open_the_editor_with_the_query_loaded(page_in, server_url: str) -> None:
    """A resource's "SPARQL: DESCRIBE" link and a home page example open the editor in the same tab with the
    query in a tab of a readable name, and run it, rather than making the browser save a results file."""
    from playwright.sync_api import expect

    page = page_in()
    page.goto(server_url + "/id/city/helsinki")
    with page.expect_navigation():
        page.get_by_role("link", name="SPARQL: DESCRIBE").click()
    expect(page).to_have_title(re.compile("SPARQL query editor"))
    expect(page.get_by_role("tab", name="DESCRIBE Helsinki")).to_be_visible()
    panel = page.locator(".tabPanel.active")
    expect(panel.locator(".CodeMirror")).to_contain_text("DESCRIBE <https://w3id.org/integrating-cities/id/city/helsinki>")
    expect(panel.locator(".yasr")).to_contain_text("Helsinki", timeout=30_000)

    page.goto(server_url + "/")
    example = page.locator("#query-heading ~ ul a").first
    title = example.inner_text()
    assert re.match(r"^CQ\d+ [A-Z]", title), title
    example.click()
    expect(page.get_by_role("tab", name=title)).to_be_visible()
    expect(page.locator(".tabPanel.active .yasr table.dataTable")).to_be_visible(timeout=30_000)


def test_inferred_echoes_open_with_a_toggle(page_in, server_url: str) -> None:
    from playwright.sync_api import expect

    page = page_in()
    page.goto(server_url + "/id/city/helsinki")
    source_row = page.locator("table.properties tr", has=page.get_by_role("rowheader", name="source"))
    toggle = source_row.locator("details.also").first
    echo = toggle.get_by_role("link", name="dcterms:source")
    expect(echo).to_be_hidden()
    toggle.get_by_text("Also as (Dublin Core, PROV-O)").click()
    expect(echo).to_be_visible()
    expect(page.get_by_role("rowheader", name="dcterms:source")).to_have_count(0)


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_focus_ring_stands_out_and_badges_say_what_they_show(page_in, server_url: str) -> None:
    """The keyboard focus ring reaches 3:1 against white and the panel grey (WCAG 1.4.11); a source badge's
    accessible name is the text it shows."""
    from playwright.sync_api import expect

    page = page_in()
    page.goto(server_url + "/id/city/helsinki")
    page.keyboard.press("Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    for background in ("rgb(255, 255, 255)", page.evaluate("getComputedStyle(document.querySelector('th')).backgroundColor")):
        lighter, darker = sorted((_luminance(ring), _luminance(background)), reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 3, (ring, background)
    badge = page.locator("a.badge.source").first
    shown = badge.inner_text()
    expect(page.get_by_role("link", name=shown, exact=True).first).to_be_visible()
    assert badge.get_attribute("aria-label") in (None, shown)


def test_the_ontology_page_stays_readable_and_its_contents_at_hand(page_in, server_url: str) -> None:
    """On a phone the diagrams keep their 13 px text (they scroll sideways, never shrink to 8 px) and the page
    does not widen; far down the long page the contents are still on screen (beside the text on a wide screen,
    a pinned link on a phone)."""
    from playwright.sync_api import expect

    phone = page_in(width=390, height=844)
    phone.goto(server_url + "/def")
    heights = phone.evaluate("[...document.querySelectorAll('svg text')].map(t => t.getBoundingClientRect().height)")
    assert heights and min(h for h in heights if h) >= 12, min(heights)
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    pinned = phone.get_by_role("link", name="↑ Contents")
    expect(pinned).to_be_in_viewport()
    pinned.click()
    expect(phone.get_by_role("heading", name="Contents")).to_be_in_viewport()

    wide = page_in(width=1280, height=900)
    wide.goto(server_url + "/def")
    wide.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    expect(wide.get_by_role("navigation", name="Contents").get_by_role("link", name="Classes")).to_be_in_viewport()
