"""Hostile names end to end (issue 12, "make it a property, not a list").

Northwind (Microsoft 365, the Leeds Google Workspace office and the two AWS accounts) is served by the sandboxes
twice: once as it is and once with every free-text field a tenant controls rewritten by
``hygiene_sandbox.hostile`` (markup, escape sequences, formulas, bidirectional overrides, lone surrogates,
secret-looking text, ``../`` paths, 1 MB strings). Both are scanned through the real CLI into one history; then
``history``, ``diff``, ``portfolio`` and ``evidence export``/``verify`` run over it. Every output of the hostile
scan must hold: no crash, no raw control code in text meant for terminals, spreadsheets or line readers, caps
applied, no vendor element/attribute/link/script in the DOM a real browser builds, no plain name in insurer or
customer packs.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser import Skeleton, dump_dom, find_browser
from click.testing import CliRunner, Result
from pypdf import PdfReader

from hygiene.cli import main
from hygiene.config import load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.history.diff import diff_scans
from hygiene.history.models import stored_from_report
from hygiene.notify.change import change_since
from hygiene.notify.channels import slack_payload, teams_payload
from hygiene.results import ScanReport
from hygiene.safetext import RESOURCE_NAME_CAP, TEXT_CAP
from hygiene.sources.email.resolver import MAX_RECORD_CHARS
from hygiene_sandbox import Sandbox, Scenario, northwind
from hygiene_sandbox.aws import AwsSandbox, AwsScenario, northwind_aws
from hygiene_sandbox.hostile import MARKER, ORG_MARKER, hostile_northwind, hostile_northwind_aws, organisation_name

NOW = datetime.now(UTC)
ORG = "northwind"
AUDIENCES = ("insurer", "customer", "internal")
#: what a cut field may add after its cap: "… (N more characters in snapshot.json.gz)"
SUFFIX = 80
#: raw code points no terminal, Markdown, CSV or OCSF text may carry: C0 but tab/LF/CR, DEL, C1, bidirectional
#: overrides/isolates/marks, line and paragraph separators, lone surrogates
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: a formula start once a spreadsheet has split a cell on any of , ; tab | and trimmed spaces and quotes
FORMULA = re.compile(r"""(?:^|[,;\t|])[\s"]*[=+\-@]""")
#: tags a report must never gain from vendor text
ACTIVE_TAGS = {"script", "img", "svg", "iframe", "object", "embed", "a", "link", "form", "input", "style", "base"}


@dataclass
class Run:
    """Everything one scan (and the commands after it) wrote."""

    folder: Path
    scan: Result
    outputs: dict[str, Result] = field(default_factory=dict)

    @property
    def reports(self) -> Path:
        return self.folder / "scan"

    def report(self) -> ScanReport:
        return ScanReport.model_validate_json((self.reports / "report.json").read_bytes())


def _cli(args: list[str], env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, args, env={"COLUMNS": "400", **(env or {})}, catch_exceptions=True)
    assert result.exit_code in (0, 1, 3), (args, result.exit_code, result.output[-3000:])
    assert "Traceback" not in result.output, (args, result.output[-3000:])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}") from result.exception
    return result


def _scan(folder: Path, data_dir: Path, scenario: Scenario, aws_scenario: AwsScenario, configs: Path) -> Run:
    with Sandbox(scenario) as sandbox, AwsSandbox(aws_scenario) as aws:
        config = write_demo_config(configs, sandbox, org_id=ORG, aws=aws)
        env = {SECRET_ENV: sandbox.client_secret}
        env.update({k: v for k, v in aws.environ().items() if k != "AWS_ENDPOINT_URL"})
        result = _cli(
            [
                "--log-level",
                "debug",
                "--log-file",
                str(folder / "debug.jsonl"),
                "scan",
                str(config),
                "--output",
                str(folder / "scan"),
                "--format",
                "json,html,csv,md,ocsf",
                "--data-dir",
                str(data_dir),
            ],
            env,
        )
    return Run(folder, result)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    """The hostile scan, then the plain one, in one history (so that the plain report has everything the hostile
    one has: a trend from the scan before); then every command that reads the history, on the hostile scan."""
    root = tmp_path_factory.mktemp("hostile")
    data_dir = root / "data"
    hostile = _scan(root / "hostile", data_dir, hostile_northwind(NOW), hostile_northwind_aws(NOW), root / "configs")
    plain = _scan(root / "plain", data_dir, northwind(NOW), northwind_aws(NOW), root / "plain-configs")
    scan_id = hostile.report().scan_id
    d = ["--data-dir", str(data_dir)]
    hostile.outputs["history"] = _cli(["history", ORG, *d])
    hostile.outputs["history --json"] = _cli(["history", ORG, "--json", *d])
    hostile.outputs["diff"] = _cli(["diff", ORG, "--against", "previous", *d])
    hostile.outputs["diff --json"] = _cli(["diff", ORG, "--against", "previous", "--json", *d])
    snapshot = hostile.reports / "snapshot.json.gz"
    evaluated = ["evaluate", str(snapshot), "--output", str(root / "evaluated"), "--format", "json,csv,md"]
    hostile.outputs["evaluate"] = _cli(evaluated)
    hostile.outputs["diff back"] = _cli(["diff", ORG, "--scan", scan_id, "--against", plain.report().scan_id, *d])
    for run, configs in ((hostile, "configs"), (plain, "plain-configs")):
        out = ["--output", str(run.folder / "portfolio")]
        run.outputs["portfolio"] = _cli(["portfolio", str(root / configs), *d, *out])
    for audience in AUDIENCES:
        pack = root / f"{audience}.zip"
        hostile.outputs[f"export {audience}"] = _cli(
            ["evidence", "export", ORG, "--scan", scan_id, "--audience", audience, "--output", str(pack), *d]
        )
        hostile.outputs[f"verify {audience}"] = _cli(["evidence", "verify", str(pack), "--key", f"{pack}.pub.pem"])
    yield plain, hostile


@pytest.fixture(scope="module")
def hostile(runs: tuple[Run, Run]) -> Run:
    return runs[1]


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # every text output is valid UTF-8 (no lone surrogate)


def _no_raw_control(name: str, text: str) -> None:
    found = [(m.start(), repr(text[max(0, m.start() - 40) : m.start() + 10])) for m in RAW_CONTROL.finditer(text)]
    assert not found, f"{name}: {len(found)} raw control code point(s), first {found[:3]}"


# -- the scenario really is hostile --------------------------------------------------------------------------


def test_the_hostile_scan_read_hostile_names_on_every_platform(hostile: Run) -> None:
    assert hostile.scan.exit_code in (0, 1, 3)
    results = hostile.report().results
    texts = {
        platform: [f"{f.resource_name} {f.detail}" for r in results if r.platform == platform for f in r.findings]
        for platform in ("m365", "google", "aws", "azure")
    }
    texts["email"] = [f.detail.lower() for r in results if r.platform == "email" for f in r.findings]
    for platform, found in texts.items():  # AWS findings name resources by id, with the Name tag in the detail
        marker = MARKER.lower() if platform == "email" else MARKER  # DMARC tag values are compared lower-case
        assert any(marker in text for text in found), (platform, found[:5])
    raw = [path.read_bytes() for path in (hostile.reports / "raw").rglob("*.json")]
    assert any(b"\\ud800" in body for body in raw)  # lone surrogates crossed the wire as JSON escapes


def test_the_demo_config_carries_the_tenants_name_as_a_toml_string(hostile: Run) -> None:
    """write_demo_config copies the tenant's organisation name into TOML: quotes, controls and a lone surrogate
    must neither break the file nor add keys."""
    config = load_config(hostile.folder.parent / "configs" / "northwind.toml")
    assert config.organisation.name == organisation_name().replace("\ud800", "\ufffd")
    assert config.organisation.id == ORG


def test_hostile_dns_text_is_normalised_at_the_source(hostile: Run) -> None:
    """TXT records with escape codes, markup, bytes that are not UTF-8, lone surrogates, many character-strings and
    50 kB reach the snapshot as text: no raw control code, each record capped, and the raw answers as the
    resolver's text (escaped). Which of them the email findings quote is checked with every other output."""
    snapshot = json.loads(gzip.decompress((hostile.reports / "snapshot.json.gz").read_bytes()))
    answers = [
        answer
        for domain in snapshot["email"]["domains"]
        for answer in [
            domain["spf"],
            domain["dmarc"],
            *domain["spf_chain"].values(),
            *domain["dkim"].values(),
            *(domain.get("dmarc_inherited") or {}).get("answers", []),
        ]
    ]
    texts = [record for answer in answers for record in answer["records"]]
    assert any(MARKER in text for text in texts) and any("\ufffd" in text for text in texts)
    for text in texts:
        _no_raw_control("email.records", text)
        assert len(text) <= MAX_RECORD_CHARS
    assert any(answer["cut"] for answer in answers)  # the 50 kB record
    leeds_key = next(
        d["dkim"]["google"] for d in snapshot["email"]["domains"] if d["name"] == "northwind-leeds.example"
    )
    assert "\u00e9" * 700 in leeds_key["records"][0]  # joined before decoding: no character cut between strings
    dkim = next(r for r in hostile.report().results if r.check_id == "email.dkim")
    assert "northwind-leeds.example" in {f.resource_name for f in dkim.findings}  # markup as p= is not a key
    raw = [path.read_bytes().decode("utf-8") for path in (hostile.reports / "raw" / "email").glob("*")]
    assert raw and any(MARKER in text for text in raw)
    for text in raw:
        _no_raw_control("raw/email", text)


# -- terminal, logs, history, diff ---------------------------------------------------------------------------


TERMINAL = ["scan", "evaluate", "history", "history --json", "diff", "diff --json", "diff back", "portfolio"]


@pytest.mark.parametrize(
    "command", TERMINAL + [f"{verb} {audience}" for verb in ("export", "verify") for audience in AUDIENCES]
)
def test_terminal_output_carries_no_control_codes_or_markup(hostile: Run, command: str) -> None:
    result = hostile.scan if command == "scan" else hostile.outputs[command]
    _no_raw_control(command, result.output)
    assert "\x1b]8;" not in result.output and "evil.example\x07" not in result.output
    if command.endswith("--json"):
        json.loads(result.output)


def test_the_scan_summary_names_hostile_resources_as_text(hostile: Run) -> None:
    # rich markup is printed, never interpreted: the literal tag text survives (within the terminal width)
    assert "[link=http://evil.example]" in hostile.scan.output or "[/]" in hostile.scan.output
    assert "score" in hostile.scan.output


def test_debug_log_is_one_json_object_per_line(hostile: Run) -> None:
    text = _text(hostile.folder / "debug.jsonl")
    lines = text.splitlines()
    assert len(lines) > 100 and MARKER in text
    for line in lines:
        json.loads(line)
    _no_raw_control("debug.jsonl", text)


# -- report files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["summary.md", "findings.csv", "findings.ocsf.jsonl"])
def test_text_reports_carry_no_raw_control_codes(hostile: Run, name: str) -> None:
    text = _text(hostile.reports / name)
    assert (ORG_MARKER if name == "summary.md" else MARKER) in text
    _no_raw_control(name, text)


def test_ocsf_is_one_parsable_record_per_line(hostile: Run) -> None:
    text = _text(hostile.reports / "findings.ocsf.jsonl")
    records = [json.loads(line) for line in text.split("\n") if line]
    assert len(text.splitlines()) == len(records) > 50
    for record in records:
        _caps(record["finding_info"].get("title", ""), RESOURCE_NAME_CAP + TEXT_CAP)
        for resource in record.get("resources", []):
            _caps(resource.get("name") or "", RESOURCE_NAME_CAP)
        # the message joins the check's title, the resource's name and the detail, each capped
        _caps(record.get("message") or "", 200 + RESOURCE_NAME_CAP + TEXT_CAP + 2 * SUFFIX)
        _caps(record["finding_info"].get("desc") or "", TEXT_CAP)


def _caps(value: str, cap: int) -> None:
    assert len(value) <= cap + SUFFIX, (cap, len(value), value[:80])


def _no_formula(name: str, text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for column, cell in row.items():
            for value in (cell, cell.strip(' "')):
                assert not FORMULA.search(value), (name, column, cell[:120])
    return rows


def test_csv_cells_start_no_formula_and_are_capped(hostile: Run) -> None:
    rows = _no_formula("findings.csv", _text(hostile.reports / "findings.csv"))
    assert len(rows) > 50
    for row in rows:
        _caps(_undefused(row.get("resource_name") or ""), RESOURCE_NAME_CAP)
        for column in ("detail", "reason", "note"):
            _caps(_undefused(row.get(column) or ""), TEXT_CAP)


def _undefused(cell: str) -> str:
    """The cell without the ``'`` findings.csv puts before each formula start (which the cap does not count)."""
    return re.sub(r"""(^|[,;\t|])([\s"]*)'(?=[=+\-@\t\r])""", r"\1\2", cell)


def test_report_json_fields_are_capped(hostile: Run) -> None:
    report = hostile.report()
    for result in report.results:
        _caps(result.reason or "", TEXT_CAP)
        _caps(result.note or "", TEXT_CAP)
        for finding in result.findings:
            _caps(finding.resource_name, RESOURCE_NAME_CAP)
            _caps(finding.detail, TEXT_CAP)
    cut = [f for r in report.results for f in r.findings if "more characters in snapshot.json.gz" in f.resource_name]
    assert cut, "the 1 MB names were not cut"


# -- the DOM a real browser builds ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> str:
    return find_browser()


def _assert_inert_dom(plain: Skeleton, hostile: Skeleton) -> None:
    assert len(plain.elements) > 10
    assert set(hostile.elements) <= set(plain.elements), set(hostile.elements) - set(plain.elements)
    for tag in ACTIVE_TAGS:
        assert hostile.count(tag) <= max(plain.count(tag), 0) or tag not in plain.tags(), tag
    for tag, name, value in hostile.attributes:
        assert not name.startswith("on"), (tag, name, value)
        if name in ("href", "src", "action", "formaction", "xlink:href", "srcdoc", "data"):
            assert "evil.example" not in value and not value.strip().lower().startswith("javascript:"), (tag, name)
    assert hostile.scripts == plain.scripts
    assert "pwned" not in hostile.title


def test_html_report_in_a_real_browser(runs: tuple[Run, Run], browser: str, tmp_path: Path) -> None:
    doms = [dump_dom(browser, run.reports / "report.html", tmp_path / str(i)) for i, run in enumerate(runs)]
    assert MARKER in doms[1].text
    _assert_inert_dom(*doms)
    assert doms[1].count("a") == doms[0].count("a")


def test_portfolio_in_a_real_browser(runs: tuple[Run, Run], browser: str, tmp_path: Path) -> None:
    pages = [run.folder / "portfolio" / "portfolio.html" for run in runs]
    doms = [dump_dom(browser, page, tmp_path / str(i)) for i, page in enumerate(pages)]
    assert ORG_MARKER in doms[1].text  # the organisation's name came from the tenant (through the demo config)
    _assert_inert_dom(*doms)
    assert doms[1].elements == doms[0].elements
    data = json.loads(_text(pages[1].with_name("portfolio.json")))
    assert ORG_MARKER in json.dumps(data)


# -- evidence packs ------------------------------------------------------------------------------------------


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as pack:
        return {name: pack.read(name) for name in pack.namelist()}


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_evidence_packs_verify_and_their_pdfs_open(hostile: Run, audience: str) -> None:
    assert hostile.outputs[f"verify {audience}"].exit_code == 0, hostile.outputs[f"verify {audience}"].output
    entries = _entries(hostile.folder.parent / f"{audience}.zip")
    pdfs = [name for name in entries if name.endswith(".pdf")]
    assert pdfs
    for name in pdfs:
        assert _pdf_text(entries[name]).strip(), name
    for name, data in entries.items():
        if name.endswith((".md", ".csv")):
            _no_raw_control(name, data.decode("utf-8-sig"))
        if name.endswith(".csv"):
            _no_formula(name, data.decode("utf-8-sig"))


@pytest.mark.parametrize("audience", ["insurer", "customer"])
def test_insurer_and_customer_packs_carry_no_name(hostile: Run, audience: str) -> None:
    """No vendor name in any entry (the organisation's own name, from the config, is the pack's subject)."""
    entries = _entries(hostile.folder.parent / f"{audience}.zip")
    marker = MARKER.lower().encode()
    leaks = [name for name, data in entries.items() if marker in data.lower()]
    pdfs = [name for name in entries if name.endswith(".pdf")]
    leaks += [f"{name} (text)" for name in pdfs if MARKER.lower() in _pdf_text(entries[name]).lower()]
    assert leaks == []


def test_internal_pack_keeps_names(hostile: Run) -> None:
    entries = _entries(hostile.folder.parent / "internal.zip")
    assert any(MARKER.encode() in data for data in entries.values())


# -- notifications -------------------------------------------------------------------------------------------


def test_notification_payloads_carry_no_live_markup(runs: tuple[Run, Run]) -> None:
    plain, hostile = runs
    change = change_since(
        hostile.report(), diff_scans(stored_from_report(plain.report()), stored_from_report(hostile.report()))
    )
    assert ORG_MARKER in change.headline()
    slack = slack_payload(change)
    for text in (slack["text"], slack["blocks"][0]["text"]["text"]):
        assert "<" not in text and ">" not in text, text[:300]  # no <url|label> link, no <!channel>
        _no_raw_control("slack", text)
    body = teams_payload(change)["attachments"][0]["content"]["body"]
    for block in body:  # Markdown is read in a TextBlock, never in a TextRun
        texts = [block.get("text", "")] + [run["text"] for run in block.get("inlines", [])]
        assert block["type"] == "RichTextBlock" or ORG_MARKER not in block["text"], block
        assert all(run["type"] == "TextRun" for run in block.get("inlines", []))
        for text in texts:
            _no_raw_control("teams", text)
