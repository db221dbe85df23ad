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
        expect(panel.locator(".CodeMirror")).to_contain_text("ic:inSeries event:integrating-cities-conference-series")
        panel.locator(".yasqe_queryButton").click()
        table = panel.locator(".yasr table.dataTable")
        expect(table).to_contain_text("Berlin", timeout=RESULT_TIMEOUT_MS)
        expect(table).to_contain_text("Integrating Cities III")
        expect(table.locator("tbody tr")).to_have_count(3)

        # Another one, run with Ctrl+Enter: IRIs in the results are links to the IRI itself.
        page.get_by_role("button", name=re.compile(r"^cq08-inferred-facts-about-a-city")).click()
        panel = page.locator(".tabPanel.active")
        expect(panel.locator(".CodeMirror")).to_contain_text("city:berlin")
        panel.locator(".CodeMirror-code").click()
        page.keyboard.press("Control+Enter")
        germany = "https://w3id.org/integrating-cities/id/country/germany"
        link = panel.locator(f".yasr table a.iri[href='{germany}']")
        expect(link).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(link).to_have_text(re.compile(r"country:germany|" + re.escape(germany)))
        expect(page.get_by_role("tab")).to_have_count(3)
    finally:
        context.close()
    assert not errors, errors
    assert not elsewhere, f"the page fetched from other hosts: {elsewhere}"
