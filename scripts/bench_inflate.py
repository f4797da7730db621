"""Inflate time of a compact HTML map: the browser's DecompressionStream against the inlined fallback.

    python scripts/bench_html.py --facilities 1000000 --grid 200x200 --runs 1 --keep /tmp/bench
    python scripts/bench_inflate.py /tmp/bench/large.html [--runs 5]

Opens the page in headless Debian Chromium (network blocked) as is, and with ``window.DecompressionStream``
deleted before load (an older browser: the page then inflates with vendor/tiny-inflate.js). Prints, medians of
``--runs``: page load until ``riskmap.ready``, and base64 decoding and inflating alone on the page's data. Not a
test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser import chromium, open_page  # noqa: E402

NO_STREAM = "delete window.DecompressionStream;"
INFLATE_ONLY = """async (native) => {
    const s = [...document.scripts].map(e => e.textContent).find(t => t.includes('riskmapCompact('));
    const b64 = s.match(/\\}, "([A-Za-z0-9+\\/=]+)", \\{/)[1];
    const t0 = performance.now();
    const bin = atob(b64), u8 = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    const t1 = performance.now();
    let n;
    if (native) {
        const st = new Blob([u8]).stream().pipeThrough(new DecompressionStream('gzip'));
        n = (await new Response(st).arrayBuffer()).byteLength;
    } else {  // the page's gzip has a plain 10-byte header (python's gzip.compress)
        const m = u8.length, size = (u8[m-4] | u8[m-3] << 8 | u8[m-2] << 16 | u8[m-1] << 24) >>> 0;
        n = riskmapInflateRaw(u8.subarray(10, m - 8), new Uint8Array(size)).length;
    }
    return [t1 - t0, performance.now() - t1, u8.length, n];
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("page", type=Path, help="an HTML map riskmap wrote")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    load: dict[str, list[float]] = {"DecompressionStream": [], "tiny-inflate": []}
    alone: dict[str, list[list[float]]] = {k: [] for k in load}
    with chromium() as browser:
        for _ in range(args.runs):
            for mode in load:
                native = mode == "DecompressionStream"
                t = time.perf_counter()
                with open_page(browser, args.page, init_script=None if native else NO_STREAM) as (page, log):
                    name = page.evaluate("document.querySelector('.folium-map').id")
                    page.evaluate("(n) => window[n].riskmap.ready", name)
                    load[mode].append(time.perf_counter() - t)
                    if page.locator(".riskmap-message").count() or log.errors:
                        sys.exit(f"{mode}: the page did not draw ({log.errors})")
                    alone[mode].append(page.evaluate(INFLATE_ONLY, native))
    print(f"median of {args.runs} runs")
    print(
        f"{'inflater':20s} {'load s':>7s} {'base64 ms':>10s} {'inflate ms':>11s} {'gzip MB':>8s} {'raw MB':>7s}"
    )
    for mode, runs in alone.items():
        print(
            f"{mode:20s} {statistics.median(load[mode]):7.2f} {statistics.median(r[0] for r in runs):10.0f} "
            f"{statistics.median(r[1] for r in runs):11.0f} {runs[0][2] / 1e6:8.1f} {runs[0][3] / 1e6:7.1f}"
        )


if __name__ == "__main__":
    main()
