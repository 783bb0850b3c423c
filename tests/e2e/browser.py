"""A real Chromium driven by Playwright, for the portal's browser tests.

Debian's ``chromium`` is launched by path (Playwright's own browser download
needs the internet). Without it the browser tests are skipped with a message,
unless ``WAGATE_REQUIRE_BROWSER=1`` (as CI sets), which makes them fail.

Every page a test opens through :class:`PortalTab` is audited: each link,
script, stylesheet and form points at the gateway itself, no URL in the HTML
names another host, every visible input has a label, and the browser made no
request to another origin and logged no error (a blocked request would be one).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Seconds a page may take to show what a test waits for (the lists poll every 2 s).
WAIT_MS = 30_000
_URL_IN_TEXT = re.compile(r"(?i)\bhttps?://([^/\s\"'<>?#]+)")
_AUDIT_SCRIPT = """
() => {
  const foreign = [];
  for (const element of document.querySelectorAll("*")) {
    for (const name of ["href", "src", "action", "formaction", "poster", "srcset", "data"]) {
      const value = element.getAttribute(name);
      if (value === null) continue;
      const origin = new URL(value, location.href).origin;
      if (origin !== location.origin) foreign.push(`${name}=${value}`);
    }
  }
  const unlabelled = [];
  for (const input of document.querySelectorAll("input, select, textarea")) {
    if (input.type === "hidden") continue;
    if (!(input.labels && input.labels.length) && !input.getAttribute("aria-label")) {
      unlabelled.push(input.name || input.id || input.outerHTML);
    }
  }
  return {foreign, unlabelled, html: document.documentElement.outerHTML};
}
"""


def expect(target: Any) -> Any:
    """Playwright's ``expect``, waiting up to :data:`WAIT_MS` (imported when a browser runs)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=WAIT_MS)
    return playwright_expect(target)


def chromium_path() -> str | None:
    """Where Chromium is: ``WAGATE_TEST_CHROMIUM``, else ``chromium`` on the PATH."""
    configured = os.environ.get("WAGATE_TEST_CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )


def _unavailable(reason: str) -> None:
    message = f"{reason}: skipping the portal's browser tests"
    if os.environ.get("WAGATE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message} would hide them, and WAGATE_REQUIRE_BROWSER=1")
    pytest.skip(f"{message} (set WAGATE_REQUIRE_BROWSER=1 to fail instead)")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for a module's tests (a Playwright ``Browser``)."""
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (make install)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PortalTab:
    """A browser context and page on one gateway, recording and auditing what it loads."""

    base: str
    context: Any
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        """Go to a portal path and audit the page; the response."""
        response = self.page.goto(self.base + path)
        self.audit()
        return response

    def audit(self) -> None:
        """The page names no other host, loads nothing from one, and labels every input."""
        self.page.wait_for_load_state()
        found = self.page.evaluate(_AUDIT_SCRIPT)
        assert found["foreign"] == [], f"{self.page.url} refers to other origins: {found}"
        assert found["unlabelled"] == [], f"{self.page.url} has unlabelled inputs"
        named = _URL_IN_TEXT.findall(found["html"])
        hosts = {match.split("@")[-1].rsplit(":", 1)[0] for match in named}
        assert hosts <= {"127.0.0.1"}, f"{self.page.url} names other hosts: {hosts}"

    def check_network(self) -> None:
        """Every request went to the gateway, and the console logged no error."""
        origin = urlsplit(self.base)
        foreign = [
            url
            for url in self.requests
            if (urlsplit(url).scheme, urlsplit(url).netloc) != (origin.scheme, origin.netloc)
        ]
        assert foreign == [], f"requests to other origins: {foreign}"
        assert self.errors == [], f"browser errors: {self.errors}"


def _is_error(message: Any) -> bool:
    """A console error, other than Chromium's note of an answer with an error status."""
    return bool(message.type == "error" and not message.text.startswith("Failed to load resource"))


@contextmanager
def portal_tab(browser: Any, base: str, **context_options: Any) -> Iterator[PortalTab]:
    """A fresh context (no cookies) and page, checked for foreign requests when done."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    tab = PortalTab(base, context, page)
    context.on("request", lambda request: tab.requests.append(request.url))
    page.on("console", lambda msg: tab.errors.append(msg.text) if _is_error(msg) else None)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
        tab.check_network()
    finally:
        context.close()
