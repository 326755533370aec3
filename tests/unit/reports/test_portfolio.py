"""`hygiene portfolio CONFIG_DIR`: one page (HTML + JSON) over every configured organisation's history."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from click.testing import CliRunner
from scanreports import report

from hygiene.cli import main
from hygiene.history import DATABASE_URL_ENV, HistoryStore
from hygiene.model import SourceRun
from hygiene.reports.portfolio_html import SCRIPT, SCRIPT_HASH, sparkline
from hygiene.results import CheckResult, ScanReport, Status

NOW = datetime.now(UTC).replace(microsecond=0)

CONFIG = """\
[organisation]
id = "{org}"
name = "{name}"

[sources.m365]
tenant_id = "t"
client_id = "c"
client_secret_env = "NOT_SET_ANYWHERE"
"""


def write_config(folder: Path, org: str, name: str) -> None:
    (folder / f"{org}.toml").write_text(CONFIG.format(org=org, name=name))


def check(check_id: str, severity: str, failing: int = 0) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        title=f"title of {check_id}",
        area="identity",
        platform="m365",
        severity=severity,
        status=Status.FAIL if failing else Status.PASS,
        assessed=10,
        failing=failing,
    )


def scan(org: str, n: int, at: datetime, score: float, grade: str, results: list[CheckResult]) -> ScanReport:
    return report(f"{org}-{n}", results, org=org, at=at, score=score, grade=grade)


def setup(tmp_path: Path) -> Path:
    """acme: 12 scans, fresh, grade D; evil (<script> name): one stale scan, grade B; ghost: never scanned;
    broken.toml: not a valid config."""
    configs = tmp_path / "configs"
    configs.mkdir()
    write_config(configs, "acme", "Acme Ltd")
    write_config(configs, "evil", "<script>alert(1)</script> & Co")
    write_config(configs, "ghost", "Ghost GmbH")
    (configs / "broken.toml").write_text("[organisation\n")
    (configs / "notes.txt").write_text("not a config")
    acme_failing = [
        check("m365.low", "low", 7),
        check("m365.mfa", "critical", 3),
        check("m365.pass", "critical"),
        check("m365.guests", "high", 1),
        check("m365.admins", "high", 4),
    ]
    with HistoryStore(os.environ[DATABASE_URL_ENV]) as store:
        for n in range(12):  # scores 50..61, oldest first
            at = NOW - timedelta(days=12 - n)
            store.record(scan("acme", n, at, 50.0 + n, "F", [check("m365.mfa", "critical", 1)]))
        store.record(scan("acme", 12, NOW - timedelta(hours=2), 64.5, "D", acme_failing))
        store.record(scan("evil", 0, NOW - timedelta(days=30), 85.0, "B", [check("m365.mfa", "critical")]))
        store.record(scan("stranger", 0, NOW, 10.0, "F", []))  # in the history, not configured: left out
    return configs


def iso(at: datetime) -> str:
    return (at + timedelta(minutes=1)).isoformat()


def test_portfolio_json_html_and_modes(tmp_path: Path, history_url: str) -> None:
    configs = setup(tmp_path)
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["portfolio", str(configs), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert str((output / "portfolio.html").resolve()) in result.stdout
    assert "broken.toml" in result.stderr

    for name in ("portfolio.html", "portfolio.json"):
        assert ((output / name).stat().st_mode & 0o777) == 0o600
    assert {p.name for p in output.iterdir()} == {"portfolio.html", "portfolio.json"}  # no temporary files left

    doc = json.loads((output / "portfolio.json").read_text())
    generated = datetime.fromisoformat(doc.pop("generated_at"))
    assert NOW - timedelta(seconds=1) <= generated <= datetime.now(UTC)
    errors = doc.pop("errors")
    assert [e["config"] for e in errors] == ["broken.toml"]
    assert "invalid TOML" in errors[0]["error"]
    assert doc == {
        "stale_days": 14,
        "organisations": [
            {
                "id": "acme",
                "name": "Acme Ltd",
                "config": "acme.toml",
                "tags": [],
                "scanned": True,
                "scans": 13,
                "scan_id": "acme-12",
                "last_scan_at": iso(NOW - timedelta(hours=2)),
                "score": 64.5,
                "grade": "D",
                "coverage": 0.9,
                "complete": True,
                "unread_platforms": [],
                "partial": False,
                "score_delta": 3.5,
                "trend": [53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 64.5],
                "worst_issues": [
                    {"check_id": "m365.mfa", "title": "title of m365.mfa", "severity": "critical", "failing": 3},
                    {"check_id": "m365.admins", "title": "title of m365.admins", "severity": "high", "failing": 4},
                    {"check_id": "m365.guests", "title": "title of m365.guests", "severity": "high", "failing": 1},
                ],
                "stale": False,
                "age_days": 0.1,
                "incomplete": None,
                "report_path": None,
                "report_link": None,
            },
            {
                "id": "evil",
                "name": "<script>alert(1)</script> & Co",
                "config": "evil.toml",
                "tags": [],
                "scanned": True,
                "scans": 1,
                "scan_id": "evil-0",
                "last_scan_at": iso(NOW - timedelta(days=30)),
                "score": 85.0,
                "grade": "B",
                "coverage": 0.9,
                "complete": True,
                "unread_platforms": [],
                "partial": False,
                "score_delta": None,
                "trend": [85.0],
                "worst_issues": [],
                "stale": True,
                "age_days": 30.0,
                "incomplete": None,
                "report_path": None,
                "report_link": None,
            },
            {
                "id": "ghost",
                "name": "Ghost GmbH",
                "config": "ghost.toml",
                "tags": [],
                "scanned": False,
                "scans": 0,
                "scan_id": None,
                "last_scan_at": None,
                "score": None,
                "grade": None,
                "coverage": None,
                "complete": None,
                "unread_platforms": [],
                "partial": False,
                "score_delta": None,
                "trend": [],
                "worst_issues": [],
                "stale": True,
                "age_days": None,
                "incomplete": None,
                "report_path": None,
                "report_link": None,
            },
        ],
        "sort": "worst",
        "groups": [],
    }

    html = (output / "portfolio.html").read_text()
    for text in ("Acme Ltd", "Ghost GmbH", "acme", "evil", "ghost", "never scanned", "broken.toml", "stale"):
        assert text in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    # the page's own script only, allowed by its hash and nothing else
    assert html.lower().count("<script") == 1 and f"<script>{SCRIPT}</script>" in html
    assert f"script-src '{SCRIPT_HASH}'" in unescape(html) and "default-src 'none'" in unescape(html)
    assert html.count("<svg") == 2 and "<polyline" in html
    assert "+3.5" in html and "title of m365.mfa (3 failing)" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html and "@import" not in html
    # worst grade first: D (acme) before B (evil), never scanned last
    assert html.index("Acme Ltd") < html.index("&lt;script&gt;") < html.index("Ghost GmbH")


def test_stale_days_option_and_no_history_yet(tmp_path: Path, history_url: str) -> None:
    configs = setup(tmp_path)
    result = CliRunner().invoke(main, ["portfolio", str(configs), "-o", str(tmp_path), "--stale-days", "60"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "portfolio.json").read_text())
    assert [(o["id"], o["stale"]) for o in doc["organisations"]] == [
        ("acme", False),
        ("evil", False),
        ("ghost", True),
    ]
    empty = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["portfolio", str(configs), "--data-dir", str(empty), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not (empty / "history.sqlite3").exists()  # read-only: no history created
    doc = json.loads((tmp_path / "portfolio.json").read_text())
    assert [(o["id"], o["scanned"], o["stale"]) for o in doc["organisations"]] == [
        ("evil", False, True),
        ("acme", False, True),
        ("ghost", False, True),
    ]


def test_sort_worst_grade_then_lowest_score(tmp_path: Path, history_url: str) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    rows = [("a-good", 95.0, "A"), ("b-bad", 40.0, "F"), ("c-meh", 75.0, "C"), ("d-worse", 30.0, "F"), ("e", 0, "-")]
    with HistoryStore(os.environ[DATABASE_URL_ENV]) as store:
        for org, score, grade in rows:
            write_config(configs, org, org.upper())
            store.record(scan(org, 0, NOW, score, grade, []))
    result = CliRunner().invoke(main, ["portfolio", str(configs), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "portfolio.json").read_text())
    assert [o["id"] for o in doc["organisations"]] == ["e", "d-worse", "b-bad", "c-meh", "a-good"]
    assert doc["errors"] == []


def test_a_folder_without_configs_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    result = CliRunner().invoke(main, ["portfolio", str(tmp_path), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path}: no organisation configs (*.toml) in this folder"]
    assert not (tmp_path / "portfolio.html").exists()


def test_sparkline_coordinates() -> None:
    assert sparkline([]) is None
    assert sparkline([100.0]) == {"points": "", "cx": 2.0, "cy": 2.0}
    assert sparkline([0.0, 50.0, 100.0]) == {"points": "2.0,26.0 60.0,14.0 118.0,2.0", "cx": 118.0, "cy": 2.0}


TAGGED = """\
[organisation]
id = "{org}"
name = "{name}"
tags = [{tags}]

[sources.m365]
tenant_id = "t"
client_id = "c"
client_secret_env = "NOT_SET_ANYWHERE"
"""


class Page(HTMLParser):
    """The rows of portfolio.html's organisation table: id, link, tags, grade cell and issues cell text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.groups: list[str] = []
        self.cells: list[str] = []
        self.in_orgs = self.in_groups = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.in_orgs, self.in_groups = a.get("id") == "orgs", a.get("class") == "groups"
        if tag == "tr" and self.in_orgs and a.get("class") == "org":
            self.rows.append(
                {"tags": a["data-tags"], "ranks": {k: v for k, v in a.items() if k.startswith("data-rank")}}
            )
            self.cells = []
        if tag == "td":
            self.cells.append("")
        if tag == "a" and self.rows and self.in_orgs:
            self.rows[-1]["href"] = a["href"]

    def handle_data(self, data: str) -> None:
        if self.cells:
            self.cells[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self.in_orgs and self.rows and self.cells:
            self.rows[-1]["cells"] = [" ".join(c.split()) for c in self.cells]
        if tag == "tr" and self.in_groups and self.cells:
            self.groups.append(" ".join(" ".join(self.cells).split()))
        if tag == "tr":
            self.cells = []


def tagged_setup(tmp_path: Path) -> tuple[Path, Path]:
    """Three tagged organisations with reports on disk: dentist (F, dropped 20 points, fresh), lawyer (C, AWS could
    not be read: incomplete, no failing check), vet (A, 40 days old)."""
    configs, data = tmp_path / "configs", tmp_path / "data"
    configs.mkdir()
    for org, tags in (("dentist", '"dental", "london"'), ("lawyer", '"london"'), ("vet", '"leeds"')):
        (configs / f"{org}.toml").write_text(TAGGED.format(org=org, name=org.title(), tags=tags))
    with HistoryStore(os.environ[DATABASE_URL_ENV]) as store:
        for org, n, at, score, grade, sources in (
            ("dentist", 0, NOW - timedelta(days=3), 60.0, "D", {}),
            ("dentist", 1, NOW - timedelta(hours=1), 40.0, "F", {}),
            ("lawyer", 0, NOW - timedelta(days=1), 70.0, "C", {"aws": "error", "m365": "ok"}),
            ("vet", 0, NOW - timedelta(days=40), 95.0, "A", {}),
        ):
            rep = scan(org, n, at, score, grade, [check("m365.mfa", "critical", 2)] if org == "dentist" else [])
            rep.sources = {
                name: SourceRun(platform=name, status=status, started_at=at, finished_at=at)  # type: ignore[arg-type]
                for name, status in sources.items()
            }
            folder = data / "scans" / f"{org} {n}"  # a space: the link is URL-encoded
            folder.mkdir(parents=True)
            (folder / "report.json").write_text(rep.model_dump_json())
            (folder / "report.html").write_text("<p>report</p>")
            store.record(rep, {"json": folder / "report.json", "html": folder / "report.html"})
    return configs, data


def page(tmp_path: Path, *args: str) -> tuple[Page, dict[str, Any], str]:
    configs, data = (
        tagged_setup(tmp_path) if not (tmp_path / "configs").exists() else (tmp_path / "configs", tmp_path / "data")
    )
    result = CliRunner().invoke(main, ["portfolio", str(configs), "-o", str(data), *args])
    assert result.exit_code == 0, result.output
    text = (data / "portfolio.html").read_text()
    parsed = Page()
    parsed.feed(text)
    return parsed, json.loads((data / "portfolio.json").read_text()), text


def test_links_tags_groups_and_incomplete_scans(tmp_path: Path, history_url: str) -> None:
    parsed, doc, _ = page(tmp_path)
    data = tmp_path / "data"
    assert [o["id"] for o in doc["organisations"]] == ["dentist", "lawyer", "vet"]  # worst grade first
    # links relative to the page's folder, to the latest report, working when opened from there
    for row, org in zip(parsed.rows, doc["organisations"], strict=True):
        target = (data / unquote(row["href"])).resolve()
        assert target == Path(org["report_path"]) and target.is_file()
    assert parsed.rows[0]["href"] == "scans/dentist%201/report.html"
    assert parsed.rows[0]["tags"] == "dental london"
    dentist, lawyer, vet = (r["cells"] for r in parsed.rows)
    assert "dental" in dentist[0] and "london" in dentist[0]
    # an incomplete scan is flagged, never "none" as if everything were fine
    assert doc["organisations"][1]["incomplete"] == "AWS could not be read"
    assert "incomplete" in lawyer[1]
    assert "incomplete scan: AWS could not be read" in lawyer[6] and "none found in what could be read" in lawyer[6]
    assert vet[6] == "none" and "incomplete" not in " ".join(vet)
    assert "40 days ago" in vet[7] and "stale" in vet[7]
    assert parsed.groups == ["dental 1 F 0 0", "leeds 1 A 1 0", "london 2 F 0 1"]


def test_sort_orders_and_tag_filter(tmp_path: Path, history_url: str) -> None:
    _, doc, _ = page(tmp_path, "--sort", "change")
    assert [o["id"] for o in doc["organisations"]] == ["dentist", "lawyer", "vet"]  # -20 first, then no change
    parsed, doc, _ = page(tmp_path, "--sort", "stale")
    assert [o["id"] for o in doc["organisations"]] == ["vet", "lawyer", "dentist"]
    # every order's rank is in the page, for the browser to re-sort
    ranks = {k: [int(r["ranks"][k]) for r in parsed.rows] for k in parsed.rows[0]["ranks"]}
    assert ranks == {
        "data-rank-worst": [2, 1, 0],
        "data-rank-change": [2, 1, 0],
        "data-rank-stale": [0, 1, 2],
        "data-rank-name": [2, 1, 0],
    }
    _, doc, _ = page(tmp_path, "--sort", "name", "--tag", "london")
    assert [o["id"] for o in doc["organisations"]] == ["dentist", "lawyer"]
    result = CliRunner().invoke(main, ["portfolio", str(tmp_path / "configs"), "--sort", "best"])
    assert result.exit_code == 2 and "'best' is not one of" in result.output


def test_a_moved_report_is_not_linked(tmp_path: Path, history_url: str) -> None:
    _configs, data = tagged_setup(tmp_path)
    (data / "scans" / "vet 0" / "report.html").unlink()
    (data / "scans" / "vet 0" / "report.json").unlink()
    parsed, doc, _ = page(tmp_path)
    vet = doc["organisations"][2]
    assert vet["report_link"] is None and vet["report_path"].endswith("report.html")
    assert "href" not in parsed.rows[2] and "report file moved or deleted" in parsed.rows[2]["cells"][0]
