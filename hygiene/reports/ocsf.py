"""OCSF export: one Compliance Finding (class 2003) per failing or risk-accepted resource, as JSON Lines.

SIEMs and data lakes (Splunk, Microsoft Sentinel, Amazon Security Lake, OpenSearch) ingest OCSF events; a
log shipper reads ``findings.ocsf.jsonl`` one event per line. The events target **OCSF 1.5.0** with the
``cloud`` profile; ``tests/unit/reports/test_ocsf.py`` validates every event against that version's schema (the official
export packaged by ``ocsf-json-schema``).

Class and field meanings: https://schema.ocsf.io/1.5.0/classes/compliance_finding and the objects it links.
Choices made here:

- ``status_id`` is the finding's workflow state: 1 New for a failure, 3 Suppressed for a failure whose risk
  an unexpired exception accepts (``status_detail`` names the exception). ``compliance.status_id`` is the
  control's verdict, 3 Fail in both cases: an accepted risk is still a failed control.
- ``finding_info.uid`` is a hash of (organisation, check, resource): stable across scans, so a SIEM can
  follow one finding over time; ``metadata.uid`` is unique per scan and event; ``metadata.correlation_uid``
  is the scan id.
- ``time`` is when the scan finished, in milliseconds since the epoch (OCSF ``timestamp_t``).
- Checks that passed, were not assessed or errored produce no event: they have no failing resource. Their
  state is in report.json.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from hygiene.frameworks import load_mappings
from hygiene.reports.interface import Renderer, ReportInput
from hygiene.results import CheckResult, FindingResult, ScanReport, Status
from hygiene.sources import platforms
from hygiene.sources.interface import OcsfCloud

OCSF_VERSION = "1.5.0"
OCSF_PROFILES = ("cloud",)

CATEGORY_FINDINGS = 2
CLASS_COMPLIANCE_FINDING = 2003
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_COMPLIANCE_FINDING * 100 + ACTIVITY_CREATE

STATUS_NEW = (1, "New")
STATUS_SUPPRESSED = (3, "Suppressed")
COMPLIANCE_FAIL = (3, "Fail")
ANALYTIC_RULE = 1

#: our severities -> OCSF severity_id (Informational 1, Low 2, Medium 3, High 4, Critical 5)
SEVERITY_IDS: dict[str, tuple[int, str]] = {
    "info": (1, "Informational"),
    "low": (2, "Low"),
    "medium": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


@lru_cache(maxsize=1)
def _framework_names() -> Mapping[str, str]:
    try:
        return dict(load_mappings().frameworks)
    except Exception:  # a broken policies folder must not stop the export: fall back to framework ids
        return {}


def _arn_parts(resource_id: str) -> tuple[str, str, str, str] | None:
    """(partition, service, region, account) of an ARN, or None. ``arn:partition:service:region:account:…``"""
    parts = resource_id.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[1], parts[2], parts[3], parts[4]


def _cloud(report: ScanReport, platform: str, finding: FindingResult) -> dict[str, Any]:
    try:
        spec = platforms.platform(platform).ocsf
    except KeyError:  # a platform this version does not know (an old or foreign report)
        spec = OcsfCloud(platform or "Other", 99, "Other")
    provider, type_id, type_name, scope_key = spec.provider, spec.account_type_id, spec.account_type, spec.scope_key
    cloud: dict[str, Any] = {"provider": provider}
    account_uid = ""
    arn = _arn_parts(finding.resource_id) if platform == "aws" else None
    if arn is not None:
        partition, _service, region, account_uid = arn
        cloud["cloud_partition"] = partition
        if region:
            cloud["region"] = region
    elif platform != "aws":
        run = report.sources.get(platform)
        account_uid = run.scope.get(scope_key, "") if run is not None else ""
    if account_uid:
        cloud["account"] = {"uid": account_uid, "type_id": type_id, "type": type_name}
    return cloud


def _resource(platform: str, finding: FindingResult) -> dict[str, Any]:
    resource: dict[str, Any] = {"uid": finding.resource_id, "name": finding.resource_name}
    arn = _arn_parts(finding.resource_id) if platform == "aws" else None
    if arn is not None:
        partition, service, region, _account = arn
        kind = finding.resource_id.split(":", 5)[5].split("/", 1)[0]
        resource["type"] = f"{service}:{kind}" if kind else service
        resource["cloud_partition"] = partition
        if region:
            resource["region"] = region
    if finding.data:
        resource["data"] = finding.data
    return resource


def _compliance(result: CheckResult, accepted_by: str | None) -> dict[str, Any]:
    names = _framework_names()
    requirements = sorted(
        f"{names.get(framework, framework)} {control}"
        for framework, controls in result.frameworks.items()
        for control in controls
    )
    compliance: dict[str, Any] = {
        "control": result.check_id,
        "desc": result.title,
        "category": result.area,
        "status_id": COMPLIANCE_FAIL[0],
        "status": COMPLIANCE_FAIL[1],
        "standards": sorted(names.get(framework, framework) for framework in result.frameworks),
        "requirements": requirements,
    }
    if accepted_by:
        compliance["status_detail"] = f"failed; risk accepted by exception {accepted_by}"
    return compliance


def _event(report: ScanReport, result: CheckResult, finding: FindingResult) -> dict[str, Any]:
    severity_id, severity = SEVERITY_IDS.get(result.severity, (99, "Other"))
    accepted_by = finding.accepted_by if result.status in (Status.FAIL, Status.ACCEPTED) else None
    status_id, status = STATUS_SUPPRESSED if accepted_by else STATUS_NEW
    finding_uid = _digest(report.organisation_id, result.check_id, finding.resource_id)
    event: dict[str, Any] = {
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "class_uid": CLASS_COMPLIANCE_FINDING,
        "class_name": "Compliance Finding",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "time": _ms(report.finished_at),
        "start_time": _ms(report.started_at),
        "end_time": _ms(report.finished_at),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "message": f"{result.title}: {finding.resource_name}: {finding.detail}",
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": list(OCSF_PROFILES),
            "product": {"name": "hygiene", "vendor_name": "hygiene", "version": report.tool_version},
            "uid": _digest(report.scan_id, finding_uid),
            "correlation_uid": report.scan_id,
            "tenant_uid": report.organisation_id,
            "log_name": "hygiene compliance findings",
        },
        "finding_info": {
            "uid": finding_uid,
            "title": result.title,
            "desc": finding.detail,
            "types": [f"hygiene/{result.platform}/{result.area}"],
            "analytic": {"uid": result.check_id, "name": result.title, "type_id": ANALYTIC_RULE, "type": "Rule"},
        },
        "compliance": _compliance(result, accepted_by),
        "cloud": _cloud(report, result.platform, finding),
        "resources": [_resource(result.platform, finding)],
        "unmapped": {
            "hygiene_organisation": report.organisation_name,
            "hygiene_profile": report.profile.name,
            "hygiene_platform": result.platform,
        },
    }
    if accepted_by:
        event["status_detail"] = f"risk accepted by exception {accepted_by}"
    if result.remediation:
        remediation: dict[str, Any] = {"desc": result.remediation}
        if result.references:
            remediation["references"] = list(result.references)
        event["remediation"] = remediation
    return event


def ocsf_events(report: ScanReport) -> Iterator[dict[str, Any]]:
    """One Compliance Finding per failing or accepted resource, ordered by check id then resource id."""
    for result in sorted(report.results, key=lambda r: r.check_id):
        if result.status not in (Status.FAIL, Status.ACCEPTED):
            continue
        for finding in sorted(result.findings, key=lambda f: (f.resource_id, f.resource_name)):
            yield _event(report, result, finding)


def render_ocsf(report: ScanReport) -> str:
    """The text of findings.ocsf.jsonl: one compact JSON object per line, keys sorted (same scan, same bytes)."""
    lines = [
        _line_safe(json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
        for event in ocsf_events(report)
    ]
    return "".join(line + "\n" for line in lines)


#: code points that JSON allows raw inside a string but that line-based readers (Python's str.splitlines,
#: JavaScript before ES2019, many log shippers) take as a line break, lone surrogates no UTF-8 encoder writes,
#: and C1 controls (CSI, OSC: escape sequences on a terminal that shows the file) and bidirectional overrides
#: and isolates (text that reads differently from what it is); json.dumps escapes C0 itself
_LINE_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def _line_safe(line: str) -> str:
    """One JSON-lines record that stays one line for every reader: the risky code points as ``\\uXXXX`` escapes."""
    return _LINE_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


class OcsfExport(Renderer[ReportInput]):
    """findings.ocsf.jsonl: OCSF Compliance Findings as JSON Lines, UTF-8."""

    name = "ocsf"
    file_name = "findings.ocsf.jsonl"
    media_type = "application/x-ndjson"

    def render(self, model: ReportInput) -> bytes:
        return render_ocsf(model.report).encode("utf-8")
