"""Screenshot an HTML map in headless Debian Chromium with the network blocked.

    python scripts/screenshot.py riskmap-demo/map.html docs/img/demo-map.png [--width 1400 --height 900]

Prints console errors and blocked requests, if any (there should be none: the map is self-contained).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    errors: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, args=ARGS)
        page = browser.new_page(viewport={"width": a.width, "height": a.height})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def route(r):  # noqa: ANN001
            if r.request.url.startswith(("file:", "data:")):
                return r.continue_()
            blocked.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        page.goto(a.html.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(800)
        a.png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(a.png))
        browser.close()
    print(f"wrote {a.png}; console errors: {errors or 'none'}; blocked requests: {blocked or 'none'}")


if __name__ == "__main__":
    main()
