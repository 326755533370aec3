"""A page as a real headless browser builds it (Debian's chromium, installed by scripts/install-browser.sh from
``make test``): the DOM after scripts ran, reduced to what tests compare (elements with their attribute names,
attribute values, script bodies, the title and the text)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest


def find_browser() -> str:
    """The chromium binary; skips the test without one (fails it on CI, where ``make test`` installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs it (scripts/install-browser.sh)")
        pytest.skip("no chromium here: run scripts/install-browser.sh")
    return found


class Skeleton(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[str, ...]]] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self.title = ""
        self._texts: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._open.append(tag)
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        current = self._open[-1] if self._open else ""
        if current == "script":
            self.scripts[-1] += data
        elif current == "title":
            self.title += data
        else:
            self._texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self._texts)

    def count(self, tag: str) -> int:
        return Counter(name for name, _ in self.elements)[tag]

    def tags(self) -> set[str]:
        return {name for name, _ in self.elements}


def headless(browser: str, scratch: Path, page: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium on ``page`` with ``options``, its profile under ``scratch``."""
    scratch.mkdir(parents=True, exist_ok=True)
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    return subprocess.run(
        [*command, f"--user-data-dir={scratch / 'profile'}", *options, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def dump_dom(browser: str, page: Path, scratch: Path) -> Skeleton:
    """Load ``page`` from disk in headless chromium (scripts on) and parse the DOM it dumps."""
    completed = headless(browser, scratch, page, "--dump-dom")
    assert completed.returncode == 0 and "<html" in completed.stdout, completed.stderr[-2000:]
    parser = Skeleton()
    parser.feed(completed.stdout)
    return parser


#: injected into a copy of the page: measures the layout after load and writes it into the DOM as JSON
_PROBE = """<script>
(() => {
  const box = (selector) => {
    const element = document.querySelector(selector);
    if (!element) return null;
    const r = element.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  };
  const out = {
    width: window.innerWidth,
    height: window.innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    boxes: Object.fromEntries(SELECTORS.map((s) => [s, box(s)])),
  };
  const probe = document.createElement("pre");
  probe.id = "layout-probe";
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
})();
</script>"""


def measure_layout(
    browser: str, page: Path, scratch: Path, selectors: list[str], *, width: int = 1366, height: int = 768
) -> dict[str, Any]:
    """Load a copy of ``page`` in headless chromium at ``width`` × ``height`` and return what a probe script
    measured: the viewport, the document's scrollWidth and each selector's bounding box (None if absent)."""
    scratch.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    probe = _PROBE.replace("SELECTORS", json.dumps(selectors))
    copy = scratch / f"probe-{width}x{height}.html"
    copy.write_text(html.replace("</body>", probe + "\n</body>", 1), encoding="utf-8")
    completed = headless(browser, scratch, copy, "--hide-scrollbars", f"--window-size={width},{height}", "--dump-dom")
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', completed.stdout, re.DOTALL)
    assert completed.returncode == 0 and found, completed.stderr[-2000:]
    measured: dict[str, Any] = json.loads(unescape(found.group(1)))
    return measured


def print_to_pdf(browser: str, page: Path, scratch: Path) -> Path:
    """``page`` printed by headless chromium with its print stylesheet (A4 per the page's ``@page``)."""
    pdf = scratch / "printed.pdf"
    completed = headless(browser, scratch, page, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert completed.returncode == 0 and pdf.exists(), completed.stderr[-2000:]
    return pdf
