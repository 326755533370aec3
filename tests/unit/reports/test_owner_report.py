"""The owner's report (issue 14): figures every output writes alike, "do these three first", findings grouped by
reason, plain words for part numbers, builds, API names and terms, the score trend, and a print stylesheet."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from test_reports import _check, _parse, _users, make_report

from hygiene.figures import format_count, format_percent, format_score, format_score_delta
from hygiene.reports.analysis import score_sentence
from hygiene.reports.charts import trend_chart
from hygiene.reports.html import render_html
from hygiene.reports.markdown import render_markdown
from hygiene.reports.plainwords import Glossary, name_os_builds, plain_note, product_name
from hygiene.reports.plan import first_actions, priority
from hygiene.reports.portfolio_html import render_portfolio_html
from hygiene.reports.reasons import by_reason, reason_groups
from hygiene.reports.summary_pdf import render_summary_pdf
from hygiene.results import Drift, DriftSection, FindingResult, Score, Status, TrendPoint

# -- one way to write a figure --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"), [(62.4, "62.4"), (80, "80.0"), (0, "0.0"), (100.0, "100.0"), (-3, "0.0"), (104, "100.0")]
)
def test_format_score_is_the_stored_value_with_one_decimal(value: float, text: str) -> None:
    assert format_score(value) == text


@pytest.mark.parametrize(("delta", "text"), [(3.5, "+3.5"), (-2, "-2.0"), (0, "0.0"), (-0.04, "0.0"), (0.05, "+0.1")])
def test_format_score_delta_has_a_sign_but_never_on_zero(delta: float, text: str) -> None:
    assert format_score_delta(delta) == text


@pytest.mark.parametrize(
    ("fraction", "text"), [(0.734, "73%"), (0.4996, "49%"), (0.29, "29%"), (1.0, "100%"), (1.2, "100%"), (-1, "0%")]
)
def test_format_percent_rounds_down_so_a_cap_at_50_percent_never_reads_50(fraction: float, text: str) -> None:
    assert format_percent(fraction) == text


def test_format_count_has_thousands_separators() -> None:
    assert [format_count(n) for n in (0, 999, 5000, 1234567)] == ["0", "999", "5,000", "1,234,567"]


def test_html_markdown_pdf_and_portfolio_write_the_same_score() -> None:
    from hygiene.reports.interface import OrgRow, Portfolio

    report = make_report()
    report.score = report.score.model_copy(update={"value": 64.45, "coverage": 0.4996})
    html = render_html(report)
    assert "score 64.5 out of 100" in html and "64.5 / 100" in html and "49%" in html
    assert "**Score 64.5/100" in render_markdown(report)
    pdf = PdfReader(io.BytesIO(render_summary_pdf(report, "internal", lambda s: s)))
    pdf_text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "Score 64.5 / 100" in pdf_text and "coverage 49%" in pdf_text
    portfolio = Portfolio(
        generated_at="2026-12-03T10:00:00+00:00",
        stale_days=30,
        organisations=[
            OrgRow(
                id="a",
                name="A",
                config="a.toml",
                scanned=True,
                score=64.45,
                grade="D",
                coverage=0.4996,
                score_delta=0.0,
                last_scan_at="2026-12-03T09:00:00+00:00",
            )
        ],
        errors=[],
    )
    page = render_portfolio_html(portfolio)
    assert "<td>64.5</td>" in page and "<td>49%</td>" in page and "<td>0.0</td>" in page


# -- the sentence and the three first -------------------------------------------------------------------------


def test_score_sentence_explains_points_coverage_and_a_cap_that_matters() -> None:
    capped = Score(value=85.0, grade="D", coverage=0.8, caps=["Admins MFA fails (critical mfa check): grade at most D"])
    text = score_sentence(capped)
    assert text.startswith("Grade D: 85.0 of 100 points")
    assert "over the 80% of checks that could be assessed" in text
    assert text.endswith("The points alone would earn B; a grade limit holds it at D.")
    plain = score_sentence(Score(value=53.3, grade="F", coverage=1.0, caps=["x fails: grade at most D"]))
    assert "would earn" not in plain and "assessed" not in plain  # the cap does not change an F
    assert score_sentence(Score(value=0.0, grade="-", coverage=0.0)).startswith("No grade")


def test_first_actions_weigh_severity_people_and_effort() -> None:
    root = _check("aws.root.mfa", "mfa", "critical", Status.FAIL, assessed=1, failing=1, platform="aws")
    staff = _check("m365.mfa.enforced", "mfa", "critical", Status.FAIL, assessed=40, failing=20)
    stale = _check("m365.accounts.inactive", "accounts", "medium", Status.FAIL, assessed=40, failing=3)
    old = _check("m365.devices.os", "patching", "high", Status.FAIL, assessed=40, failing=30)
    passing = _check("m365.mfa.admins", "mfa", "critical", Status.PASS, assessed=4)
    unseen = _check("m365.backup.enabled", "backup", "critical", Status.NOT_ASSESSED)
    chosen = first_actions([passing, stale, root, old, staff, unseen])
    # critical × 20 people ÷ hours (100) > high × 30 devices ÷ days (37.5) > critical × 1 ÷ minutes (10)
    assert [a.check_id for a in chosen] == ["m365.mfa.enforced", "m365.devices.os", "aws.root.mfa"]
    assert priority(chosen[0]) == 100
    # fewer failures than three: the checks to get assessed fill the list; passes never appear
    assert [a.check_id for a in first_actions([passing, root, unseen])] == ["aws.root.mfa", "m365.backup.enabled"]
    assert first_actions([passing]) == []


def test_the_html_leads_with_grade_sentence_and_three_actions() -> None:
    html = render_html(make_report())
    parsed = _parse(html)
    text = " ".join("".join(parsed.text).split())
    fold = text.split("Change over time")[0].split("Top risks")[0]
    assert fold.index("Grade D · score 62.4 out of 100") < fold.index("Do these three first")
    assert 'href="#how-scored">How the score is computed</a>' in html and 'id="how-scored"' in html
    first = html.split('id="first-actions"', 1)[1].split("</ol>", 1)[0]
    assert first.count("<li>") == 3
    assert html.index('id="first-actions"') < html.index('id="top-risks"')


# -- findings grouped by reason, at any size ------------------------------------------------------------------


def _finding(detail: str, name: str = "x", accepted: str | None = None) -> FindingResult:
    return FindingResult(resource_id=name, resource_name=name, detail=detail, accepted_by=accepted)


def test_findings_group_by_reason_with_shared_numbers_kept_and_ranges_for_the_rest() -> None:
    findings = [
        _finding("Windows 10 (10.0.19045.6456) out of support since 2025-10-14; user ann@acme.example"),
        _finding("last synced 45 days ago"),
        _finding("Windows 10 (10.0.17763.7919) out of support since 2025-10-14"),
        _finding("last synced 120 days ago"),
        _finding("Windows 10 (10.0.19045.6332) out of support since 2025-10-14; user bob@acme.example"),
        _finding("security patch level 2026-02-06"),
        _finding("security patch level 2026-07-06"),
        _finding("OS 10.0.26100.1 below minimum 10.0.26200.7309"),
        _finding("OS 17.6.1 below minimum 18.0"),
    ]
    groups = [(g.count, g.label) for g in reason_groups(findings)]
    assert groups == [
        (3, "Windows 10 out of support since 2025-10-14"),
        (2, "last synced 45–120 days ago"),
        (2, "security patch level 2026-02-06 to 2026-07-06"),
        (2, "OS … below minimum …"),
    ]
    ordered = [f.detail for f in by_reason(findings)]
    assert ordered[0].startswith("Windows 10") and ordered[2].startswith("Windows 10")


def test_reason_groups_say_nothing_when_every_finding_differs_and_fold_the_tail() -> None:
    assert reason_groups([_finding("a"), _finding("b")]) == []
    assert reason_groups([_finding("a")]) == []
    many = [_finding(f"reason {chr(97 + i)}") for i in range(10) for _ in range(i + 1)]
    groups = reason_groups(many)
    assert len(groups) == 7 and groups[0].label == "reason j" and groups[-1].label == "other reasons"
    assert sum(g.count for g in groups) == len(many)


def test_accepted_findings_come_after_open_ones_whatever_their_group() -> None:
    findings = [_finding("big", "a1", "EXC-1"), _finding("big", "a2", "EXC-1"), _finding("small", "o1")]
    assert [f.resource_id for f in by_reason(findings)] == ["o1", "a1", "a2"]


def test_a_5000_user_check_reads_in_groups_with_separators_and_a_collapsed_list() -> None:
    findings = _users("stale", 3000, "no sign-in for 200 days") + _users("never", 2000, "never signed in")
    big = _check(
        "m365.accounts.inactive", "accounts", "medium", Status.FAIL, assessed=5000, failing=5000, findings=findings
    )
    html = render_html(make_report([big]))
    article = html.split('id="check-m365.accounts.inactive"', 1)[1].split("</article>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", article).split())
    assert "3,000 no sign-in for 200 days" in text and "2,000 never signed in" in text
    assert "5,000 assessed, 5,000 failing." in text
    assert "5,000 findings (first 50 shown)" in text and "… and 4,950 more in findings.csv" in text
    assert re.search(r"<details class=\"findings\">", article)  # the list is collapsed, not spread over the page


# -- plain words ----------------------------------------------------------------------------------------------


def test_licence_part_numbers_become_product_names_unknown_ones_stay() -> None:
    assert product_name("SPB") == "Microsoft 365 Business Premium"
    assert product_name("O365_BUSINESS_ESSENTIALS") == "Microsoft 365 Business Basic"
    assert product_name("EXCHANGESTANDARD") == "Exchange Online (Plan 1)"
    assert product_name("CONTOSO_CUSTOM_SKU") == "CONTOSO_CUSTOM_SKU"


def test_licence_names_are_dated_data_with_their_source() -> None:
    from importlib import resources

    text = resources.files("hygiene.reports").joinpath("data/licence-names.csv").read_text(encoding="utf-8")
    assert "# source: https://learn.microsoft.com/" in text and re.search(r"# as_of: \d{4}-\d{2}-\d{2}", text)


def test_the_html_names_licence_products() -> None:
    html = render_html(make_report())
    licences = html.split('id="licences"', 1)[1].split("</section>", 1)[0]
    assert "Microsoft 365 Business Premium" in licences and ">SPB<" in licences
    assert "Microsoft Power Automate Free" in licences


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("OS 10.0.26100.2033 below minimum", "OS Windows 11 24H2, build 26100.2033 below minimum"),
        ("Windows 10 (10.0.19045.6456) out of support", "Windows 10 (22H2, build 19045.6456) out of support"),
        ("build 10.0.26200", "build Windows 11 25H2, build 26200"),
        ("10.0.99999.1", "Windows build 99999.1"),
        ("iOS 17.6.1 and 110.0.19045", "iOS 17.6.1 and 110.0.19045"),
    ],
)
def test_windows_builds_get_release_names(text: str, named: str) -> None:
    assert name_os_builds(text) == named


@pytest.mark.parametrize(
    ("note", "plain"),
    [
        (
            "signInActivity: successful sign-ins only (recorded since 1 December 2023)",
            "successful sign-ins only (recorded since 1 December 2023)",
        ),
        ("userRegistrationDetails", ""),
        (
            "regions scanned: eu-west-2, us-east-1 (enabled in the account, ec2:DescribeRegions)",
            "regions scanned: eu-west-2, us-east-1 (enabled in the account)",
        ),
        ("lifecycle table as of 2026-11-01", "lifecycle table as of 2026-11-01"),
    ],
)
def test_notes_lose_api_names(note: str, plain: str) -> None:
    assert plain_note(note) == plain


def test_notes_in_the_html_lose_api_names_but_report_json_keeps_them() -> None:
    check = _check(
        "m365.accounts.stale", "accounts", "medium", Status.FAIL, assessed=3, failing=1, note="signInActivity: ok"
    )
    report = make_report([check])
    assert "signInActivity" not in render_html(report).split('id="method"')[0]
    assert "signInActivity: ok" in report.model_dump_json()


def test_glossary_explains_a_term_once_escapes_everything_and_lists_what_was_used() -> None:
    explain = Glossary()
    first = explain("<b>RPO</b> & MFA")
    assert str(first).startswith('&lt;b&gt;<abbr title="recovery point objective')
    assert "&lt;/b&gt; &amp; <abbr" in str(first)
    assert "<abbr" not in str(explain("RPO again"))
    assert [term for term, _ in explain.entries()] == ["RPO", "MFA"]
    html = render_html(make_report())
    assert html.count('<abbr title="multi-factor authentication') == 1 and 'id="glossary"' in html


# -- pictures -------------------------------------------------------------------------------------------------


def test_trend_chart_has_axes_dates_and_scales_by_time() -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    days = (0, 30, 31, 91)
    trend = [
        TrendPoint(scan_id=f"s{d}", finished_at=start + timedelta(days=d), score=50.0 + d / 3, grade="F") for d in days
    ]
    chart = trend_chart(trend)
    assert chart is not None
    xs = [p.x for p in chart.points]
    assert xs[0] == chart.left and xs[-1] == chart.width - chart.right
    assert xs[2] - xs[1] < xs[1] - xs[0]  # one day apart is closer than thirty
    assert [t.label for t in chart.y_ticks] == ["0", "20", "40", "60", "80", "100"]
    assert chart.x_ticks[0].label == "2026-09-01" and chart.x_ticks[-1].label == "2026-12-01"
    assert (chart.x_ticks[0].anchor, chart.x_ticks[-1].anchor) == ("start", "end")  # drawn inwards, never cut
    assert chart.points[-1].label == "2026-12-01: 80.3 (grade F)"
    assert trend_chart(trend[:1]) is None
    same_minute = [p.model_copy(update={"finished_at": start}) for p in trend[:2]]
    only = trend_chart(same_minute)
    assert only is not None and [(t.label, t.anchor) for t in only.x_ticks] == [("2026-09-01 00:00", "end")]


def test_the_html_draws_the_trend_and_a_bar_per_area() -> None:
    report = make_report()
    at = datetime(2025, 3, 14, 9, tzinfo=UTC)
    report.drift = Drift(
        since_previous=DriftSection(
            against="previous",
            against_scan_id="s0",
            against_finished_at=at - timedelta(days=7),
            score_before=58.9,
            score_delta=3.5,
        ),
        trend=[
            TrendPoint(scan_id="s0", finished_at=at - timedelta(days=7), score=58.9, grade="D"),
            TrendPoint(scan_id="s1", finished_at=at, score=62.4, grade="D"),
        ],
    )
    html = render_html(report)
    drift = html.split('id="drift"', 1)[1].split("</section>", 1)[0]
    assert "<polyline" in drift and drift.count("<circle") == 2 and ">100</text>" in drift
    assert ">2025-03-07</text>" in drift and ">2025-03-14</text>" in drift
    assert "score +3.5" in drift
    areas = html.split('class="areas"', 1)[1].split("</table>", 1)[0]
    assert areas.count('<svg class="bar"') == 3  # patching has no score: no bar, "not assessed"
    assert "not assessed" in areas


def test_print_stylesheet_hides_long_lists_and_keeps_the_summary() -> None:
    html = render_html(make_report())
    css = html.split("@media print {", 1)[1].split("</style>", 1)[0]
    assert "details.findings" in css and "display: none" in css
    assert "@page" in css


def test_a_licence_finding_names_the_product_and_keeps_the_part_number() -> None:
    finding = FindingResult(
        resource_id="cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
        resource_name="SPB",
        detail="6 licence(s) on disabled or inactive accounts",
        data={"sku": "SPB", "count": 6},
    )
    check = _check("m365.licences.spare", "accounts", "low", Status.FAIL, assessed=3, failing=1, findings=[finding])
    article = render_html(make_report([check])).split('id="check-m365.licences.spare"', 1)[1].split("</article>")[0]
    assert "<td>Microsoft 365 Business Premium<br><span" in article and ">SPB</span>" in article


HOSTILE = "<img src=x onerror=alert`1`>"


def test_reason_groups_notes_and_chart_labels_escape_vendor_text() -> None:
    findings = [_finding(f"{HOSTILE} not enrolled", f"u{i}") for i in range(3)] + [_finding("other", "u9")]
    check = _check(
        "m365.mfa.hostile",
        "mfa",
        "high",
        Status.FAIL,
        assessed=4,
        failing=4,
        findings=findings,
        note=f"userRegistrationDetails: {HOSTILE}",
        reason=f"3 of 4 accounts {HOSTILE}",
    )
    html = render_html(make_report([check]))
    assert "<img" not in html and "onerror=alert`1`&gt;" in html
    article = html.split('id="check-m365.mfa.hostile"', 1)[1].split("</article>")[0]
    assert "<strong>3</strong> &lt;img src=x onerror=alert`1`&gt; not enrolled" in article
    assert "<strong>Note:</strong> &lt;img" in article  # the API name went, the vendor text stayed inert
