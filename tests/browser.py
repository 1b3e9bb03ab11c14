"""A real Chromium page for the report's browser tests: Debian's ``chromium`` driven by the PyPI ``playwright``
package (its own browser download does not work here; DESIGN.md), with every console error, page error and
non-local request collected."""
from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from typing import Any, Iterator

CHROMIUM = "/usr/bin/chromium"
WIDTH = 1400


def browser_skip_reason() -> str | None:
    """Why no browser test can run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not importable"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} (Debian's chromium) is missing"
    return None


@contextmanager
def chromium_page(errors: list[str], width: int = WIDTH, height: int = 900,
                  permissions: tuple[str, ...] = ()) -> Iterator[Any]:
    """A page of a fresh headless Chromium at ``width`` x ``height``; ``errors`` collects what went wrong."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            if permissions:
                context.grant_permissions(list(permissions))
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append("network: " + r.url)
                    if not r.url.startswith(("file:", "data:")) else None)
            yield page
        finally:
            browser.close()
