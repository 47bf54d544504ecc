"""Browser helpers: launching Chromium, watching pages, axe-core, screenshots."""

import functools
import re
from pathlib import Path

from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NARROW = {"width": 360, "height": 800}
WIDE = {"width": 1280, "height": 900}
WIDTHS = (NARROW, WIDE)

AXE_PATH = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA (RGAA 4.1 is built on WCAG 2.1 AA), and
# axe's best practices (landmarks, heading order, one h1...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-results" / "screenshots"

_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


# --- Console errors, uncaught exceptions, CSP violations -------------------------


class Watcher:
    """What went wrong in a page: console errors (CSP violations are reported
    there by Chromium, as "Refused to ..." errors) and uncaught exceptions."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        # Statuses a test expects for some URLs (a 404 page, a form re-displayed
        # with errors): Chromium logs them as "Failed to load resource".
        self.expected_failures: set[str] = set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_console(self, message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and url in self.expected_failures:
            return
        self.console_errors.append(f"{message.text} ({url})" if url else message.text)

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]

    def problems(self) -> list[str]:
        return [*self.console_errors, *(f"uncaught: {error}" for error in self.page_errors)]

    def expect_failure(self, url: str) -> None:
        self.expected_failures.add(url)


def watch(page) -> Watcher:
    page.watcher = Watcher(page)
    return page.watcher


# --- axe-core --------------------------------------------------------------------


@functools.cache
def _axe_source() -> str:
    return AXE_PATH.read_text()


def axe_violations(page) -> list[dict]:
    """Run axe-core in the page and return its violations.

    axe is injected with ``page.evaluate`` of its source: evaluation through
    the DevTools protocol is not subject to the page's Content-Security-Policy,
    so the page keeps its real policy (no ``bypass_csp`` context, which would
    hide the very violations these tests look for) and no ``<script>`` is added.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(_RUN_AXE, AXE_TAGS)


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}")
            summary = " ".join(node["summary"].split())
            if summary:
                lines.append(f"       {summary}")
    return "\n".join(lines)


# --- Whole-page checks -------------------------------------------------------------


def screenshot_path(test_name: str, width: int) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "-", test_name).strip("-")
    return SCREENSHOTS / f"{safe}-{width}.png"


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def check_page(page, test_name: str) -> None:
    """At 360 and 1280 px: axe-core finds nothing, the page does not scroll
    sideways, and nothing went wrong in the console. A full-page screenshot
    of each width is kept under test-results/screenshots/.

    Everything is checked at both widths before failing, with one report.
    """
    failures = []
    for viewport in WIDTHS:
        width = viewport["width"]
        page.set_viewport_size(viewport)
        page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))")
        violations = axe_violations(page)
        if violations:
            failures.append(f"axe-core at {width} px:\n{describe_violations(violations)}")
        overflow = horizontal_overflow(page)
        if overflow:
            failures.append(f"at {width} px the page scrolls sideways by {overflow} px")
        page.screenshot(path=screenshot_path(test_name, width), full_page=True)
    problems = page.watcher.problems()
    if problems:
        failures.append("console:\n" + "\n".join(f"- {p}" for p in problems))
    assert not failures, f"{page.url}\n" + "\n".join(failures)
