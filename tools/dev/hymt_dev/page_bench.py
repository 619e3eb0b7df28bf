"""The page's time from the Translate click to the first characters on screen (docs/performance.md), in Debian's
Chromium driven by Playwright, against `hymt web` in front of a stand-in upstream paced like a GPU (first piece after
--first-ms, then a piece every --piece-ms).

    make bench-page            # or: PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.page_bench [--runs 30] [--json]

The click's time and the first characters' time are both read in the page (performance.now(): a capturing click
listener, and a MutationObserver on the output), so Playwright's own round trips are not counted. Two cases: the
source given (one request: the translation) and the source "auto" (the page asks api/detect first, then translates).
Prints p50, p90 and max per case, and the upstream's own time to the first piece for comparison. Exits 0 whatever
the figures: they are for reading, not for passing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from playwright.sync_api import sync_playwright

from hymt_web import Settings
from tests.browser.support import TranslatorPage, launch_chromium
from tests.support.fake_openai import running
from tests.support.gateway import serving

# Runs in the page: window.firstCharacters resolves with the milliseconds from the next click on Translate to the
# first characters of the output.
MEASURE = """() => { window.firstCharacters = new Promise((resolve) => {
  const output = document.getElementById("output");
  let clicked = null;
  const observer = new MutationObserver(() => {
    if (clicked !== null && output.textContent.trim()) {
      observer.disconnect();
      resolve(performance.now() - clicked);
    }
  });
  observer.observe(output, { childList: true, characterData: true, subtree: true });
  document.getElementById("translate").addEventListener("click", () => { clicked = performance.now(); },
    { capture: true, once: true });
}); }"""

TEXT = "The meeting has been moved to Thursday afternoon, please bring the quarterly report."


def measure(translator: TranslatorPage, runs: int) -> list[float]:
    page = translator.page
    times = []
    for _ in range(runs):
        translator.text.fill(TEXT)
        page.evaluate(MEASURE)
        translator.translate_button.click()
        times.append(page.evaluate("() => window.firstCharacters"))
        translator.wait_until_done()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.page_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="translations per case")
    parser.add_argument("--first-ms", type=float, default=30.0, help="the upstream's time to the first piece")
    parser.add_argument("--piece-ms", type=float, default=10.0, help="the upstream's time between pieces")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = {}
    with running() as fake:
        fake.behaviour.delay = args.first_ms / 1000
        fake.behaviour.chunk_delay = args.piece_ms / 1000
        fake.behaviour.keep_alive = True
        settings = Settings(upstream_url=fake.url, served_model=fake.behaviour.model, client_burst=100_000)
        with serving(settings) as url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(locale="en-US")
                translator = TranslatorPage(page, url)
                translator.open()
                translator.choose("target", "French", "fr")
                measure(translator, 3)  # warm: the first requests open connections and fill caches
                for case in ("source auto", "source given"):  # "auto" is the page's default source
                    if case == "source given":
                        translator.choose("source", "English", "en")
                    times = measure(translator, args.runs)
                    results[case] = {
                        "runs": len(times),
                        "p50_ms": round(statistics.median(times), 1),
                        "p90_ms": round(statistics.quantiles(times, n=10)[-1], 1),
                        "max_ms": round(max(times), 1),
                    }
            finally:
                browser.close()
    if args.json:
        print(json.dumps({"upstream_first_piece_ms": args.first_ms, **results}, indent=2))
    else:
        print(f"upstream's own time to the first piece: {args.first_ms:.0f} ms")
        for case, figures in results.items():
            print(
                f"{case:<13} click to first characters: p50 {figures['p50_ms']} ms, p90 {figures['p90_ms']} ms, "
                f"max {figures['max_ms']} ms ({figures['runs']} runs)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
