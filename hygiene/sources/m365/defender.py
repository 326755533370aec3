"""Endpoint protection for the Microsoft 365 source: Intune's per-device Defender antivirus state (Graph) and the
Microsoft Defender for Endpoint API (machines, software vulnerabilities).

Costs (what each read adds to a scan):
- ``m365.antivirus``: Graph v1.0 has no list-level read of ``windowsProtectionState`` (it is a contained
  navigation property of ``managedDevice``, msgraph-metadata ``schemas/v1.0-Prod.csdl``; no entity set or function
  returns it for many devices), so it is read per Windows device through ``$batch``: ceil(W / 20) POSTs for W
  Windows devices.
- ``m365.defender_machines``: ``GET /api/machines`` with ``$top=10000`` (the documented maximum page size): one
  request per 10,000 machines (https://learn.microsoft.com/defender-endpoint/api/get-machines).
- ``m365.defender_vulnerabilities``: ``GET /api/machines/SoftwareVulnerabilitiesByMachine`` (the "export software
  vulnerabilities assessment" JSON, one row per device, product and CVE, paged with ``@odata.nextLink``; 30 calls a
  minute): one request per page (https://learn.microsoft.com/defender-endpoint/api/get-assessment-software-vulnerabilities).

The Defender API lives on its own host with its own token audience (the WindowsDefenderATP application ID URI);
its client pins that host exactly as the Graph client pins Graph's, so a ``@odata.nextLink`` elsewhere is never
followed and the Graph token never goes there.
"""

from __future__ import annotations

from typing import Any

from hygiene.model import (
    DatasetState,
    DefenderMachine,
    DefenderVulnerability,
    M365Data,
    M365ProtectionState,
    ReasonKind,
)
from hygiene.sources.interface import Unavailable, parse_timestamp
from hygiene.sources.m365.graph import GraphClient, GraphError

PROTECTION_FIELDS = (
    "realTimeProtectionEnabled,malwareProtectionEnabled,tamperProtectionEnabled,signatureUpdateOverdue,"
    "signatureVersion,lastReportedDateTime,productStatus"
)
MACHINES_PATH = "/api/machines"
VULNERABILITIES_PATH = "/api/machines/SoftwareVulnerabilitiesByMachine"
#: the largest page each Defender list documents: /api/machines $top 10,000; the export's pageSize 200,000 (we
#: ask for 50,000, its default, so one page stays a few tens of megabytes: each record is about 1 KB)
MACHINES_PAGE = "10000"
VULNERABILITIES_PAGE = "50000"
DEFENDER_DOC = "https://learn.microsoft.com/defender-endpoint/api/exposed-apis-create-app-webapp"
LICENCE = "Microsoft Defender for Endpoint or Defender for Business"
#: the token endpoint's answer when the tenant has no WindowsDefenderATP service principal (no Defender licence):
#: AADSTS500011 "The resource principal named https://api.securitycenter.microsoft.com was not found in the tenant"
NO_SERVICE_PRINCIPAL = "500011"


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _flags(value: Any) -> list[str]:
    """An OData flags enum, sent as one comma-separated string ("avSignaturesOutOfDate,platformOutOfDate")."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def protection_state(raw: dict[str, Any]) -> M365ProtectionState:
    return M365ProtectionState(
        real_time_protection=_bool(raw.get("realTimeProtectionEnabled")),
        malware_protection=_bool(raw.get("malwareProtectionEnabled")),
        tamper_protection=_bool(raw.get("tamperProtectionEnabled")),
        signature_update_overdue=_bool(raw.get("signatureUpdateOverdue")),
        signature_version=str(raw["signatureVersion"]) if raw.get("signatureVersion") else None,
        last_reported=parse_timestamp(raw.get("lastReportedDateTime"), never_until_year=1601),
        product_status=_flags(raw.get("productStatus")),
    )


def read_antivirus(graph: GraphClient, data: M365Data) -> DatasetState:
    """Each Windows device's ``windowsProtectionState`` in batches of 20. A device without one (404: Intune has no
    report from it yet) is left out of ``data.protection_states``: the check counts it as not seen."""
    windows = [d for d in data.devices if d.operating_system.lower().startswith("windows")]
    urls = {
        f"/deviceManagement/managedDevices/{d.id}/windowsProtectionState?$select={PROTECTION_FIELDS}": d.id
        for d in windows
    }
    answers = graph.batch(list(urls)) if urls else {}
    for url, device_id in urls.items():
        status, body = answers.get(url, (0, None))
        if status == 200 and isinstance(body, dict):
            data.protection_states[device_id] = protection_state(body)
            continue
        if status in (401, 403) or (status == 400 and "not applicable" in str(body).lower()):
            error = body.get("error") if isinstance(body, dict) else None
            code = str(error.get("code")) if isinstance(error, dict) else f"HTTP{status}"
            message = str(error.get("message") or "") if isinstance(error, dict) else ""
            raise GraphError(status, code, message, graph.url(url))
    return DatasetState(
        available=True,
        endpoint="/v1.0/deviceManagement/managedDevices/{id}/windowsProtectionState",
        records=len(data.protection_states),
    )


def defender_unavailable(exc: GraphError, permission: str) -> Unavailable:
    """A Defender API refusal. 401/403 do not tell a missing permission from a missing licence: name both."""
    endpoint = exc.url.split("?", 1)[0]
    if exc.status in (401, 403):
        return Unavailable(
            ReasonKind.PERMISSION,
            f"the Defender for Endpoint API refused the app ({exc.status} {exc.code}): grant the WindowsDefenderATP "
            f"application permission {permission} with admin consent ({DEFENDER_DOC}); the tenant also needs "
            f"{LICENCE}",
            (f"{permission} (WindowsDefenderATP)", LICENCE),
            endpoint,
        )
    if exc.status == 404:
        return Unavailable(ReasonKind.API_GAP, f"the Defender API has no {endpoint} here ({exc.code})", (), endpoint)
    kind = ReasonKind.UNREACHABLE if exc.status == 0 or exc.status >= 500 else ReasonKind.ERROR
    return Unavailable(kind, f"the Defender API answered {exc}", (), endpoint)


def no_defender_token(message: str) -> DatasetState:
    """The token for the Defender API could not be had: AADSTS500011 means the tenant has no Defender service
    principal (no licence); anything else is an error of its own."""
    if NO_SERVICE_PRINCIPAL in message:
        return DatasetState(
            available=False,
            reason_kind=ReasonKind.LICENCE,
            reason=f"the tenant has no {LICENCE} (the identity platform knows no Defender for Endpoint API: "
            f"AADSTS{NO_SERVICE_PRINCIPAL})",
            needs=[LICENCE],
        )
    return DatasetState(
        available=False, reason_kind=ReasonKind.ERROR, reason=f"no token for the Defender for Endpoint API: {message}"
    )


def _machine(raw: dict[str, Any]) -> DefenderMachine:
    build = raw.get("osBuild")
    return DefenderMachine(
        id=str(raw["id"]),
        name=str(raw.get("computerDnsName") or raw["id"]),
        onboarding_status=str(raw.get("onboardingStatus") or ""),
        health_status=str(raw.get("healthStatus") or ""),
        last_seen=parse_timestamp(raw.get("lastSeen")),
        os_platform=str(raw.get("osPlatform") or ""),
        os_build=build if isinstance(build, int) and not isinstance(build, bool) else None,
        exposure_level=str(raw["exposureLevel"]) if raw.get("exposureLevel") else None,
        aad_device_id=str(raw["aadDeviceId"]) if raw.get("aadDeviceId") else None,
    )


def read_machines(client: GraphClient, data: M365Data) -> DatasetState:
    """Every machine. "If there are no recent machines, you see 404 Not Found" (get-machines): an empty list."""
    try:
        data.defender_machines = [
            _machine(m) for m in client.get_all(MACHINES_PATH, {"$top": MACHINES_PAGE}) if isinstance(m, dict)
        ]
    except GraphError as exc:
        if exc.status != 404:
            raise defender_unavailable(exc, "Machine.Read.All") from None
        data.defender_machines = []
    return DatasetState(available=True, endpoint=MACHINES_PATH, records=len(data.defender_machines))


def _vulnerability(raw: dict[str, Any]) -> DefenderVulnerability | None:
    """A row naming a CVE; inventory rows (``cveId`` null: installed software without a known vulnerability) are
    not vulnerabilities."""
    cve = raw.get("cveId")
    if not cve or not raw.get("deviceId"):
        return None
    return DefenderVulnerability(
        device_id=str(raw["deviceId"]),
        device_name=str(raw.get("deviceName") or ""),
        cve_id=str(cve),
        severity=str(raw.get("vulnerabilitySeverityLevel") or ""),
        first_seen=parse_timestamp(raw.get("firstSeenTimestamp")),
        security_update_available=_bool(raw.get("securityUpdateAvailable")),
        update_id=str(raw["recommendedSecurityUpdateId"]) if raw.get("recommendedSecurityUpdateId") else None,
        update_name=str(raw["recommendedSecurityUpdate"]) if raw.get("recommendedSecurityUpdate") else None,
        software=" ".join(str(raw.get(k) or "") for k in ("softwareVendor", "softwareName", "softwareVersion")).strip(),
    )


def read_vulnerabilities(client: GraphClient, data: M365Data) -> DatasetState:
    try:
        rows = client.get_all(VULNERABILITIES_PATH, {"pageSize": VULNERABILITIES_PAGE})
        data.defender_vulnerabilities = [v for r in rows if isinstance(r, dict) and (v := _vulnerability(r))]
    except GraphError as exc:
        raise defender_unavailable(exc, "Vulnerability.Read.All") from None
    return DatasetState(available=True, endpoint=VULNERABILITIES_PATH, records=len(data.defender_vulnerabilities))
