"""Screenshots of the demo report for review, and how many A4 pages it prints on (`make screenshots`).

Scans the sandbox (Northwind Dental, `hygiene demo`) into build/screenshots/demo unless a report.html is given,
then with Debian's headless chromium (scripts/install-browser.sh) writes to build/screenshots/:

* ``report-1366x768.png``: the first screen of a common laptop (grade, sentence, three first actions);
* ``report-full.png``: the whole page at 1366 px wide;
* ``report-phone.png``: the first screens at the narrowest window chromium opens (500 px);
* ``report.pdf``: the page printed to A4 with the report's print stylesheet; the page count is printed.

Not part of the test run (it takes about a minute with the demo scan): the tests check the same layout in
tests/e2e/test_browser_html.py.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html import unescape
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
HEIGHT_PROBE = """<script>(() => { const p = document.createElement("pre"); p.id = "height-probe";
p.textContent = JSON.stringify(document.documentElement.scrollHeight); document.body.appendChild(p); })();</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        sys.exit("chromium is missing: run `make browser` (scripts/install-browser.sh)")
    return found


def run(browser: str, profile: Path, *args: str) -> str:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
    completed = subprocess.run(
        [*command, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=300, check=False
    )
    if completed.returncode != 0:
        sys.exit(f"chromium failed: {completed.stderr[-2000:]}")
    return completed.stdout


def page_height(browser: str, profile: Path, page: Path, width: int) -> int:
    probe = page.with_name("height-probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", HEIGHT_PROBE + "</body>", 1), "utf-8")
    try:
        dom = run(browser, profile, f"--window-size={width},800", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    found = re.search(r'<pre id="height-probe">(\d+)</pre>', dom)
    return int(unescape(found.group(1))) if found else 8000


def demo_report(output: Path) -> Path:
    hygiene = Path(sys.executable).with_name("hygiene")
    command = (
        [str(hygiene), "demo", "--output", str(output)]
        if hygiene.exists()
        else [sys.executable, "-m", "hygiene.cli", "demo", "--output", str(output)]
    )
    print("scanning the sandbox organisation (hygiene demo)…", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return output / "report.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", nargs="?", type=Path, help="a report.html (default: scan the demo organisation)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    page = (args.report or demo_report(out / "demo")).resolve()
    browser = chromium()
    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "profile"
        shots = {
            "report-1366x768.png": (1366, 768),
            "report-phone.png": (500, 1600),
            "report-full.png": (1366, page_height(browser, profile, page, 1366)),
        }
        for name, (width, height) in shots.items():
            run(browser, profile, f"--window-size={width},{height}", f"--screenshot={out / name}", page.as_uri())
            print(f"{out / name}  ({width}×{height})")
        pdf = out / "report.pdf"
        run(browser, profile, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    pages = len(PdfReader(pdf).pages)
    print(f"{pdf}  ({pages} A4 page{'s' if pages != 1 else ''})")
    (out / "summary.json").write_text(json.dumps({"report": str(page), "printed_pages": pages}, indent=2) + "\n")


if __name__ == "__main__":
    main()
