"""Page weight of the cockpit: bytes a browser transfers per page, cold and warm cache, in headless Chromium.

.venv/bin/python bench/page_weight.py        # prints a Markdown table for docs/benchmarks.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from browser_support import Server, check, fill, open_page, serving  # noqa: E402
from test_cockpit import pages, visit  # noqa: E402

from pilote.config import get_settings  # noqa: E402
from pilote.db import make_engine, migrate  # noqa: E402


def _size(request: Request) -> int:
    sizes = request.sizes()
    return sizes["responseBodySize"] + sizes["responseHeadersSize"]


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="pilote-weight-"))
    settings = get_settings(home=home, database_url=None)
    engine = make_engine(settings)
    migrate(engine)
    fill(engine, home)
    print("| page | requests (cold) | KB transferred, cold | KB transferred, warm | HTML size, uncompressed (KB) |")
    print("|---|---:|---:|---:|---:|")
    with serving(settings, engine) as server, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium")
        for name, path in pages(server).items():
            print(row(name, browser, server, path))
        browser.close()


def row(name: str, browser: Browser, server: Server, path: str) -> str:
    """One page's line: requests and KB of a first visit, KB of a second one, size of the HTML."""
    watched = open_page(browser, server)
    sizes: list[int] = []
    watched.page.on("requestfinished", lambda request: sizes.append(_size(request)))
    visit(watched.page, server, path)
    cold, count = sum(sizes), len(sizes)
    sizes.clear()
    visit(watched.page, server, path)
    warm, page = sum(sizes), len(watched.page.content().encode())
    check(watched)
    return f"| {name} | {count} | {cold / 1024:.0f} | {warm / 1024:.1f} | {page / 1024:.0f} |"


if __name__ == "__main__":
    main()
