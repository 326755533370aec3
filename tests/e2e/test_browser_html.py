"""The HTML report in a real headless browser (Debian's chromium): vendor data must never become an element, an
attribute, a link or a script in the DOM the browser builds (issue 12).

Two tenants identical but for their names - one plain, one hostile - are scanned through the real M365 source and
rendered; chromium loads each report from disk and dumps the DOM it built (scripts run). The DOM skeletons (every
element with its attribute names, in document order) must be the same, and no attribute may carry vendor text
that loads or runs anything.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from browser import Skeleton, dump_dom, find_browser, measure_layout, print_to_pdf
from click.testing import CliRunner
from conftest import collect
from graphfake import GLOBAL_ADMIN, Tenant, registration, user
from pypdf import PdfReader

from hygiene.cli import main
from hygiene.snapshot_io import save_snapshot

HOSTILE = [
    "<img src=x onerror=\"document.title='pwned'\">",
    "<script>document.title='pwned'</script>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}${7*7}<b>bold</b>",
    "</td></tr></table><a href='http://evil.example'>click</a>",
    "\u202egpj.exe\x1b[2J",
]


@pytest.fixture(scope="module")
def browser() -> str:
    return find_browser()


def _report(names: list[str], tmp_path: Path) -> Path:
    """report.html of a tenant whose users have ``names`` (each an unprotected Global Administrator)."""
    tmp_path.mkdir()
    tenant = Tenant()
    for i, name in enumerate(names):
        uid = f"u{i}"
        record = user(uid)
        record["displayName"] = record["userPrincipalName"] = name
        tenant.users.append(record)
        tenant.registrations.append(registration(uid, capable=False))
        tenant.role_assignments.append((uid, GLOBAL_ADMIN, "user"))
    snapshot = tmp_path / "snapshot.json.gz"
    save_snapshot(collect(tenant), snapshot)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["evaluate", str(snapshot), "--output", str(out), "--format", "html"])
    assert result.exit_code in (0, 1), result.output
    return out / "report.html"


def _dom(browser: str, names: list[str], tmp_path: Path) -> Skeleton:
    return dump_dom(browser, _report(names, tmp_path), tmp_path / "browser")


def test_hostile_names_create_no_element_attribute_link_or_script(browser: str, tmp_path: Path) -> None:
    plain = _dom(browser, [f"user{i}@contoso.test" for i in range(len(HOSTILE))], tmp_path / "plain")
    hostile = _dom(browser, HOSTILE, tmp_path / "hostile")
    assert len(plain.elements) > 50
    assert hostile.elements == plain.elements  # not one element or attribute more, fewer or different
    for tag, name, value in hostile.attributes:
        assert not name.startswith("on"), (tag, name, value)
        if name in ("href", "src", "action", "formaction", "xlink:href"):
            assert "evil.example" not in value and not value.lower().startswith("javascript:"), (tag, name, value)
    scripts = [a for a in hostile.attributes if a[0] == "script"]
    assert scripts == [a for a in plain.attributes if a[0] == "script"]


# -- layout (issue 14): what the owner sees first, and no sideways scrolling ----------------------------------

#: the grade line and the last of the three first actions
FOLD = ["#grade", "#score-sentence", "#first-actions li:nth-of-type(3)"]


def test_first_viewport_at_1366x768_holds_the_grade_and_three_first_actions(
    browser: str, scan_dir: Path, tmp_path: Path
) -> None:
    """The demo organisation's report (Northwind, a real sandbox scan) on a common laptop screen."""
    measured = measure_layout(browser, scan_dir / "report.html", tmp_path, FOLD, width=1366, height=768)
    for selector in FOLD:
        box = measured["boxes"][selector]
        assert box is not None, selector
        assert box["top"] >= 0 and box["bottom"] <= 768, (selector, box)
    assert measured["scrollWidth"] <= measured["width"], measured


@pytest.mark.parametrize("width", [1366, 500])  # 500: the narrowest window headless chromium opens
def test_no_horizontal_scroll_even_with_long_unbroken_vendor_text(browser: str, tmp_path: Path, width: int) -> None:
    names = ["x" * 300 + "@contoso.test", "averyveryverylongdomainlabel" * 8 + ".example", *HOSTILE]
    page = _report(names, tmp_path / "report")
    measured = measure_layout(browser, page, tmp_path / "browser", FOLD[:1], width=width, height=800)
    assert measured["scrollWidth"] <= measured["width"], measured


def test_the_demo_report_prints_on_a_few_pages(browser: str, scan_dir: Path, tmp_path: Path) -> None:
    """Northwind (about 50 people, 20-odd failing checks) printed to A4: the summary, the plan and one short block
    per check; the finding lists stay on screen (36 pages before the print stylesheet of issue 14)."""
    pdf = PdfReader(print_to_pdf(browser, scan_dir / "report.html", tmp_path))
    text = " ".join(unicodedata.normalize("NFKC", " ".join(page.extract_text() for page in pdf.pages)).split())
    assert len(pdf.pages) <= 12, len(pdf.pages)  # 8 for 39 checks; 12 for the 52 of issue 16 (a short block each)
    assert "Do these three first" in text and "Your 90-day plan" in text and "How the score is computed" in text
    assert "findings.csv" in text  # where the lists left out of print are
    assert "grade at most D" in text  # the grade limits print unfolded
