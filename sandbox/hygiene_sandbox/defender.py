"""A fake Microsoft Defender for Endpoint API (``https://api.security.microsoft.com``), served under ``/mde`` on the
sandbox's port.

Wire behaviour follows the documentation (https://learn.microsoft.com/defender-endpoint/api/):
- tokens: its own audience, the WindowsDefenderATP application ID URI ``https://api.securitycenter.microsoft.com``
  (exposed-apis-create-app-webapp); a Graph token is refused with 401;
- permissions: application permissions of WindowsDefenderATP: ``Machine.Read.All`` (or ``Machine.ReadWrite.All``)
  for ``GET /api/machines`` (get-machines), ``Vulnerability.Read.All`` for the export (get-assessment-software-
  vulnerabilities); a token without them gets 403 ``Forbidden``;
- ``GET /api/machines``: ``$top`` up to 10,000 and ``$skip``; "If there are no recent machines, you see 404 Not
  Found"; pages carry ``@odata.nextLink`` when there is more;
- ``GET /api/machines/SoftwareVulnerabilitiesByMachine``: ``pageSize`` (default 50,000), paged with
  ``@odata.nextLink`` and a ``$skiptoken``;
- errors: ``{"error": {"code", "message", "target"}}`` (common-errors).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hygiene_sandbox.expectation import JsonDict
from hygiene_sandbox.identity import DEFENDER_AUDIENCE, TokenStore
from hygiene_sandbox.scenario import Scenario
from hygiene_sandbox.wire import Reply, json_reply, new_request_id

PREFIX = "/mde"
MACHINES_MAX_TOP = 10_000
EXPORT_DEFAULT_PAGE = 50_000
#: the permissions each list accepts (doc pages get-machines and get-assessment-software-vulnerabilities)
_ACCEPTED = {
    "machines": frozenset({"Machine.Read.All", "Machine.ReadWrite.All"}),
    "vulnerabilities": frozenset({"Vulnerability.Read.All"}),
}


def _error(status: int, code: str, message: str) -> Reply:
    request_id = new_request_id()
    body = {"error": {"code": code, "message": message, "target": request_id}}
    return json_reply(status, body, headers={"request-id": request_id})


class DefenderApi:
    """Answers ``/mde/api/...`` for one scenario."""

    def __init__(self, scenario: Scenario, base_url: str, tokens: TokenStore) -> None:
        self.scenario = scenario
        self.base_url = base_url.rstrip("/") + PREFIX
        self.tokens = tokens
        self.routes: dict[str, tuple[str, Callable[[dict[str, str], str], Reply]]] = {
            "/api/machines": ("machines", self._machines),
            "/api/machines/SoftwareVulnerabilitiesByMachine": ("vulnerabilities", self._vulnerabilities),
        }

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> Reply:
        if method != "GET":
            return _error(405, "MethodNotAllowed", f"{method} is not supported.")
        value = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, token = value.partition(" ")
        issued = self.tokens.lookup(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None or issued.expires_at <= self.tokens.now():
            return _error(401, "Unauthorized", "Authorization has been denied for this request.")
        if issued.audience != DEFENDER_AUDIENCE:
            return _error(401, "Unauthorized", "The token's audience is not the Defender for Endpoint API.")
        resource = path[len(PREFIX) :].rstrip("/")
        route = self.routes.get(resource)
        if route is None:
            return _error(404, "NotFound", f"Nothing is served at '{resource}'.")
        kind, handler = route
        if not issued.roles & _ACCEPTED[kind]:
            return _error(403, "Forbidden", "The application does not have any of the required application roles.")
        params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
        return handler(params, resource)

    def _int(self, params: dict[str, str], name: str, default: int) -> int:
        try:
            return max(1, int(params.get(name, default)))
        except ValueError:
            return default

    def _page(
        self, items: list[Any], resource: str, size: int, skip: int, extra: dict[str, str], context: str
    ) -> Reply:
        page = items[skip : skip + size]
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/api/$metadata#{context}", "value": page}
        if skip + size < len(items):
            body["@odata.nextLink"] = f"{self.base_url}{resource}?" + urlencode({**extra, "$skip": str(skip + size)})
        return json_reply(200, body)

    def _machines(self, params: dict[str, str], resource: str) -> Reply:
        machines = self.scenario.defender_machines
        if not machines:
            return _error(404, "NotFound", "No recent machines were found.")
        top = min(self._int(params, "$top", MACHINES_MAX_TOP), MACHINES_MAX_TOP)
        skip = int(params["$skip"]) if params.get("$skip", "").isdigit() else 0
        return self._page(machines, resource, top, skip, {"$top": str(top)}, "Machines")

    def _vulnerabilities(self, params: dict[str, str], resource: str) -> Reply:
        size = self._int(params, "pagesize", EXPORT_DEFAULT_PAGE)
        skip = int(params["$skip"]) if params.get("$skip", "").isdigit() else 0
        context = "Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)"
        return self._page(
            self.scenario.defender_vulnerabilities, resource, size, skip, {"pageSize": str(size)}, context
        )


def machine_id(name: str) -> str:
    """A Defender machine id: 40 hex digits (a SHA-1, as the service's ids look)."""
    return hashlib.sha1(f"mde/{name}".encode(), usedforsecurity=False).hexdigest()


def protection_state(now: datetime, **overrides: Any) -> JsonDict:
    """An Intune ``windowsProtectionState`` with everything on and current (v1.0 CSDL properties); ``overrides``
    set what is not (``realTimeProtectionEnabled=False``, ``productStatus="avSignaturesOutOfDate"``, ...)."""
    state: JsonDict = {
        "antiMalwareVersion": "4.18.25100.9",
        "engineVersion": "1.1.25100.3",
        "signatureVersion": "1.441.120.0",
        "realTimeProtectionEnabled": True,
        "malwareProtectionEnabled": True,
        "tamperProtectionEnabled": True,
        "networkInspectionSystemEnabled": True,
        "signatureUpdateOverdue": False,
        "quickScanOverdue": False,
        "fullScanOverdue": False,
        "fullScanRequired": False,
        "rebootRequired": False,
        "isVirtualMachine": False,
        "lastQuickScanDateTime": _time(now - timedelta(hours=20)),
        "lastReportedDateTime": _time(now - timedelta(hours=3)),
        "productStatus": "noStatus",
        "deviceState": "clean",
    }
    state.update(overrides)
    return state


def make_machine(
    name: str,
    now: datetime,
    *,
    aad_device_id: str | None,
    onboarding: str = "Onboarded",
    health: str = "Active",
    seen_days: float | None = 0.5,
    platform: str = "Windows11",
    build: int | None = 26200,
    exposure: str | None = "Low",
) -> JsonDict:
    """A Defender for Endpoint ``machine`` as ``GET /api/machines`` returns it (documented properties)."""
    return {
        "id": machine_id(name),
        "computerDnsName": name.lower(),
        "firstSeen": _time(now - timedelta(days=400)),
        "lastSeen": _time(now - timedelta(days=seen_days)) if seen_days is not None else None,
        "osPlatform": platform,
        "version": "24H2" if platform.startswith("Windows") else None,
        "osProcessor": "x64",
        "lastIpAddress": "192.168.10.20",
        "lastExternalIpAddress": "203.0.113.40",
        "osBuild": build,
        "healthStatus": health,
        "onboardingStatus": onboarding,
        "rbacGroupId": 0,
        "rbacGroupName": None,
        "riskScore": "Low" if health == "Active" else "None",
        "exposureLevel": exposure,
        "isAadJoined": aad_device_id is not None,
        "aadDeviceId": aad_device_id,
        "machineTags": [],
        "osArchitecture": "64-bit",
    }


def make_vulnerability(
    machine: JsonDict, now: datetime, *, cve: str, severity: str, first_seen_days: float, kb: str | None, software: str
) -> JsonDict:
    """A row of the software-vulnerability export (``firstSeenTimestamp`` as the documented example writes it: no
    zone, a space between date and time)."""
    vendor, _, product = software.partition(" ")
    return {
        "id": f"{machine['id']}_{product}_{cve}",
        "deviceId": machine["id"],
        "rbacGroupName": "Unassigned",
        "deviceName": machine["computerDnsName"],
        "osPlatform": machine["osPlatform"],
        "osVersion": f"10.0.{machine['osBuild']}.0",
        "osArchitecture": "x64",
        "softwareVendor": vendor,
        "softwareName": product,
        "softwareVersion": "10.0",
        "cveId": cve,
        "cvssScore": 9.8 if severity == "Critical" else 7.5 if severity == "High" else 5.0,
        "vulnerabilitySeverityLevel": severity,
        "recommendedSecurityUpdate": f"KB{kb}: security update" if kb else None,
        "recommendedSecurityUpdateId": kb,
        "recommendedSecurityUpdateUrl": f"https://catalog.update.microsoft.com/Search.aspx?q=KB{kb}" if kb else None,
        "diskPaths": [],
        "registryPaths": [],
        "lastSeenTimestamp": (now - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S"),
        "firstSeenTimestamp": (now - timedelta(days=first_seen_days)).strftime("%Y-%m-%d %H:%M:%S"),
        "exploitabilityLevel": "ExploitIsPublic" if severity == "Critical" else "NoExploit",
        "recommendationReference": f"va-_-{vendor}-_-{product}",
        "securityUpdateAvailable": kb is not None,
    }


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
