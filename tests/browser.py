"""Headless Chromium (Debian's package, which `make test` installs) driven by Playwright.

No browser is downloaded: Playwright starts /usr/bin/chromium, and every request
that is not to the page's own loopback server is aborted, so a test never
reaches the network (a logo URL of a retailer, say).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(
            "Chromium is not installed: `make test` installs Debian's package "
            "(apt-get install -y chromium), or install it yourself"
        )
    return path


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


def loopback_only(page: Page, origin: str) -> list[str]:
    """Abort every request outside `origin`; returns the list of what was blocked."""
    blocked: list[str] = []

    def route(route: Route) -> None:
        if route.request.url.startswith(origin) or route.request.url.startswith("about:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return blocked
