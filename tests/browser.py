"""Headless Chromium for tests of HTML outputs, with the network cut off.

Every request that is not ``file:`` or ``data:`` is aborted and recorded, so a page that would need the
internet fails the test instead of passing on a connected machine. Console errors, uncaught page errors and
dialogs (``alert(1)`` from an XSS payload) are recorded for assertions. :func:`map_box` reads a page's map size
rules without a browser.

Usage::

    from browser import chromium, open_page

    def test_page(tmp_path):
        with chromium() as browser, open_page(browser, tmp_path / "map.html") as (page, log):
            assert page.evaluate("typeof L") == "object"
            assert log.errors == [] and log.dialogs == []
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["CHROMIUM", "LAUNCH_ARGS", "PageLog", "chromium", "map_box", "open_page", "require_chromium"]

#: Debian's Chromium; Playwright's own browser download is not used (offline machines).
CHROMIUM = Path(os.environ.get("RISKMAP_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageLog:
    """What a page did that a test may want to forbid."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions together."""
        return [*self.console_errors, *self.page_errors]


def require_chromium() -> None:
    """Skip the calling test when Chromium or Playwright is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser test needs Debian chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser test needs the playwright package")


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Launch headless Chromium (skipping the test if it is missing) and close it afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(
    browser: Browser,
    path: str | os.PathLike[str],
    *,
    width: int = 1400,
    height: int = 900,
    init_script: str | None = None,
) -> Iterator[tuple[Page, PageLog]]:
    """Open a local file with the network blocked; yield the page and its log once it has loaded.

    ``init_script`` runs before the page's own scripts (e.g. to delete an API an older browser lacks).
    """
    log = PageLog()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    if init_script:
        page.add_init_script(init_script)

    def route(r):  # type: ignore[no-untyped-def]
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            log.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))

    def on_dialog(dialog):  # type: ignore[no-untyped-def]
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        yield page, log
    finally:
        context.close()


def map_box(page: str) -> dict[str, str]:
    """The size rules of a written map page, read from its HTML without a browser.

    ``width`` and ``height`` are those of the map element's own CSS rule (``#map_… {…}``); ``full_page`` is
    ``"yes"`` when the page also sets ``html, body`` to the whole window. An embedded page (``--embed``) has a
    fixed height and no full-page rule; a normal one fills the window. Strings such as ``600px`` prove nothing:
    the inlined Leaflet CSS has ``1600px`` in every page.
    """
    (map_id,) = re.findall(r'<div class="folium-map" id="([^"]+)"', page)
    (rule,) = re.findall(rf"#{map_id}\s*\{{([^}}]*)\}}", page)
    box = dict(re.findall(r"([\w-]+)\s*:\s*([^;]+?)\s*;", rule))
    full_page = re.search(r"<style>\s*html,\s*body\s*\{[^}]*height:\s*100%", page)
    return {"width": box["width"], "height": box["height"], "full_page": "yes" if full_page else "no"}
