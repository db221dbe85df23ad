"""axe-core (tests/vendor/axe-core, vendored by scripts/update-axe.sh) on our pages in a real browser: no violation.

Pages: home, a city, an event, the query editor with results, the ontology documentation and a search. Each is
checked against axe's WCAG 2.x A and AA rules and its best practices; a violation fails the test with its rule,
help text and the elements at fault. Skipped without Chromium as tests/test_browser.py, except in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def violations(page) -> list[str]:
    """axe's violations on the page as it stands, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)", RULES)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in found]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", ["/", "/id/city/helsinki", "/id/event/integrating-cities-vi", "/def", "/search?q=tampere"])
def test_pages_have_no_axe_violations(page, server_url: str, path: str) -> None:
    page.goto(server_url + path)
    assert violations(page) == [], path


def test_the_editor_with_results_has_no_axe_violations(page, server_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(server_url + "/sparql")
    panel = page.locator(".tabPanel.active")
    panel.locator(".yasqe_queryButton").click()
    expect(panel.locator(".yasr table.dataTable tbody tr").first).to_be_visible(timeout=30_000)
    assert violations(page) == []
