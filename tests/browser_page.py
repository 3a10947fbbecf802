"""Open a local HTML page in Debian's headless Chromium, as a person's browser would.

`make test` installs Debian's `chromium` when it is missing (the Makefile's `browser`
target); Playwright drives that binary (no browser download). `open_page` returns what
the page logged as errors, every request it tried beyond its own file (a self-contained
report makes none), its visible text and a full-page PNG screenshot.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass(frozen=True)
class PageCheck:
    console_errors: list[str]
    outside_requests: list[str]
    text: str
    screenshot: bytes


def open_page(path: Path, *, width: int = 1280, print_media: bool = False) -> PageCheck:
    """Load `path` in headless Chromium and report errors, outside requests, text, PNG."""
    errors: list[str] = []
    outside: list[str] = []
    own = path.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
            page.on(
                "request",
                lambda req: (
                    None
                    if req.url == own or req.url.startswith("data:")
                    else outside.append(req.url)
                ),
            )
            if print_media:
                page.emulate_media(media="print")
            page.goto(own, wait_until="load")
            text = page.inner_text("body")
            png = page.screenshot(full_page=True)
        finally:
            browser.close()
    return PageCheck(errors, outside, text, png)
