"""Make the README's screenshots (docs/screenshots/*.png) from the real site, so they can be made again.

    python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Builds the bundled data into a temporary folder (the project's build/ is left alone), serves it with the
same WSGI server as the tests, and has Debian's Chromium, driven by Playwright, photograph the home page, a
city's page and the query editor after running its starting query, at 1280 × 900 CSS pixels.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg.build.pipeline import build  # noqa: E402
from kg.config import load_settings  # noqa: E402

VIEWPORT = {"width": 1280, "height": 900}
EDITOR_VIEWPORT = {"width": 1280, "height": 1200}  # tall enough for the editor and the first results
RESULT_TIMEOUT_MS = 30_000
#: An inferred fact whose explanation takes more than one rule: Helsinki is a schema:Place.
EXPLAINED = ("/explain?s=%3Chttps%3A%2F%2Fw3id.org%2Fintegrating-cities%2Fid%2Fcity%2Fhelsinki%3E"
             "&p=%3Chttp%3A%2F%2Fwww.w3.org%2F1999%2F02%2F22-rdf-syntax-ns%23type%3E&o=%3Chttps%3A%2F%2Fschema.org%2FPlace%3E")


def serve(build_dir: Path) -> tuple[str, Callable[[], None]]:
    """A server over a fresh build of the bundled data: its URL and how to stop it."""
    from waitress import create_server, wasyncore

    from kg.web import create_app

    settings = load_settings({"root": ROOT, "build_dir_name": str(build_dir)}, environ={})
    snapshot, _report = build(settings)
    application = create_app(settings, snapshot)
    sockets: dict = {}
    server = create_server(application, host="127.0.0.1", port=0, threads=4, map=sockets)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        server.task_dispatcher.shutdown()
        wasyncore.close_all(sockets)
        thread.join(timeout=10)
        application.extensions["kg.releases"].close()

    return f"http://127.0.0.1:{server.effective_port}", stop


def photograph(url: str, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport=VIEWPORT).new_page()
        for name, path in (("home", "/"), ("city", "/id/city/helsinki"), ("explain", EXPLAINED)):
            page.goto(url + path)
            page.screenshot(path=out / f"{name}.png")
            written.append(out / f"{name}.png")
        page = browser.new_context(viewport=EDITOR_VIEWPORT).new_page()
        page.goto(url + "/sparql")
        panel = page.locator(".tabPanel.active")
        panel.locator(".yasqe_queryButton").click()
        expect(panel.locator(".yasr table.dataTable tbody tr").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        page.mouse.move(0, 0)  # no hover highlight in the picture
        page.screenshot(path=out / "editor.png")
        written.append(out / "editor.png")
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNG files")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium", help="Chromium to drive")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-screenshots-") as build_dir:
        url, stop = serve(Path(build_dir))
        try:
            for path in photograph(url, args.out, args.chromium):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
