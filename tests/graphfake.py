"""A tiny Microsoft Graph tenant served through `responses` (intercepts msal and requests at the HTTP boundary).

Each test builds a Tenant, mutates what it needs, and calls `install(rsps)`. Collections are paged with
`@odata.nextLink` at `page_size`, so paging is exercised everywhere.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import responses

from hygiene_sandbox.vendor import GLOBAL_ADMIN, ROLE_TEMPLATES

AUTHORITY = "https://login.test"
GRAPH = "https://graph.test"
#: the Defender for Endpoint API (its own host) and its token audience (the WindowsDefenderATP application ID URI)
DEFENDER = "https://defender.test"
DEFENDER_RESOURCE = "https://api.securitycenter.microsoft.com"
DEFENDER_TOKEN = "defender-token-456"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "canary-client-secret-Zq81"
USER_ADMIN = ROLE_TEMPLATES["User Administrator"]
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SP = "0d5e0000-0000-4000-8000-000000000001"
#: a few of Microsoft Graph's application permissions (appRole id -> value, as its service principal lists them)
GRAPH_APP_ROLES = {
    "e2a3a72e-5f79-4c64-b1b1-878b674786c9": "Mail.ReadWrite",
    "df021288-bdef-4463-88db-98f22de89214": "User.Read.All",
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
}
NOW = datetime.now(UTC)


def iso(days_ago: float | None) -> str | None:
    if days_ago is None:
        return None
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(
    uid: str,
    *,
    enabled: bool = True,
    guest: bool = False,
    created: float = 400,
    signin: float | None = 1,
    skus: tuple[str, ...] = (),
    external: bool | None = None,
) -> dict[str, Any]:
    """A user as GET /users?$select=... returns it. ``external`` (default: the same as ``guest``): invited from
    another organisation (creationType "Invitation", externalUserState "Accepted", a federated identity)."""
    external = guest if external is None else external
    local = {"signInType": "userPrincipalName", "issuer": "contoso.test", "issuerAssignedId": f"{uid}@contoso.test"}
    identities = [local]
    if external:
        identities = [{"signInType": "federated", "issuer": "fabrikam.test", "issuerAssignedId": None}]
    return {
        "id": uid,
        "userPrincipalName": f"{uid}@contoso.test",
        "displayName": uid.title(),
        "accountEnabled": enabled,
        "userType": "Guest" if guest else "Member",
        "createdDateTime": iso(created),
        "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in skus],
        "externalUserState": "Accepted" if external else None,
        "creationType": "Invitation" if external else None,
        "identities": identities,
        "signInActivity": {
            "lastSuccessfulSignInDateTime": iso(signin),
            "lastSignInDateTime": iso(signin),
            "lastNonInteractiveSignInDateTime": None,
        },
    }


def machine(
    mid: str,
    name: str,
    *,
    aad: str | None = None,
    onboarding: str = "Onboarded",
    health: str = "Active",
    seen: float | None = 0.5,
) -> dict[str, Any]:
    """A Defender for Endpoint machine as GET /api/machines returns it (documented properties,
    https://learn.microsoft.com/defender-endpoint/api/machine)."""
    return {
        "id": mid,
        "computerDnsName": name,
        "firstSeen": iso(300),
        "lastSeen": iso(seen),
        "osPlatform": "Windows11",
        "version": "24H2",
        "osProcessor": "x64",
        "lastIpAddress": "10.0.0.5",
        "lastExternalIpAddress": "203.0.113.7",
        "osBuild": 26100,
        "healthStatus": health,
        "onboardingStatus": onboarding,
        "rbacGroupId": 0,
        "rbacGroupName": None,
        "riskScore": "Low",
        "exposureLevel": "Medium",
        "isAadJoined": aad is not None,
        "aadDeviceId": aad,
        "machineTags": [],
    }


def vulnerability(mid: str, cve: str, severity: str, first_seen: float | None, kb: str | None) -> dict[str, Any]:
    """A row of GET /api/machines/SoftwareVulnerabilitiesByMachine (the export's documented columns;
    ``firstSeenTimestamp`` as the example writes it: no zone, a space between date and time)."""
    seen = (NOW - timedelta(days=first_seen)).strftime("%Y-%m-%d %H:%M:%S") if first_seen is not None else None
    return {
        "id": f"{mid}_windows_11_{cve}",
        "deviceId": mid,
        "rbacGroupName": "Unassigned",
        "deviceName": f"{mid}.contoso.test",
        "osPlatform": "Windows11",
        "osVersion": "10.0.26100.1000",
        "osArchitecture": "x64",
        "softwareVendor": "microsoft",
        "softwareName": "windows_11",
        "softwareVersion": "10.0.26100.1000",
        "cveId": cve,
        "vulnerabilitySeverityLevel": severity,
        "recommendedSecurityUpdate": f"KB{kb} security update" if kb else None,
        "recommendedSecurityUpdateId": kb,
        "diskPaths": [],
        "registryPaths": [],
        "lastSeenTimestamp": (NOW - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
        "firstSeenTimestamp": seen,
        "exploitabilityLevel": "NoExploit",
        "recommendationReference": "va-_-microsoft-_-windows_11",
        "securityUpdateAvailable": kb is not None,
    }


def registration(uid: str, capable: bool = True) -> dict[str, Any]:
    return {
        "id": uid,
        "userPrincipalName": f"{uid}@contoso.test",
        "isMfaRegistered": capable,
        "isMfaCapable": capable,
        "methodsRegistered": ["microsoftAuthenticatorPush"] if capable else [],
        "isAdmin": False,
        "userType": "member",
    }


def mfa_policy(
    pid: str = "p-mfa",
    *,
    state: str = "enabled",
    include_users: list[str] | None = None,
    exclude_users: list[str] | None = None,
    include_groups: list[str] | None = None,
    exclude_groups: list[str] | None = None,
    include_roles: list[str] | None = None,
    controls: list[str] | None = None,
    operator: str = "OR",
    strength: str | None = None,
    apps: list[str] | None = None,
    client_types: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": pid,
        "displayName": pid,
        "state": state,
        "conditions": {
            "users": {
                "includeUsers": include_users if include_users is not None else ["All"],
                "excludeUsers": exclude_users or [],
                "includeGroups": include_groups or [],
                "excludeGroups": exclude_groups or [],
                "includeRoles": include_roles or [],
                "excludeRoles": [],
            },
            "applications": {"includeApplications": apps or ["All"], "excludeApplications": []},
            "clientAppTypes": client_types if client_types is not None else ["all"],
        },
        "grantControls": {
            "operator": operator,
            "builtInControls": controls if controls is not None else ["mfa"],
            "authenticationStrength": {"id": "s", "displayName": "MFA strength", "requirementsSatisfied": strength}
            if strength
            else None,
        },
    }


@dataclass
class Tenant:
    users: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    security_defaults: bool = False
    ca_policies: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    role_assignments: list[tuple[str, str, str]] = field(default_factory=list)  # (principal, template, type)
    #: PIM eligible assignments (roleEligibilityScheduleInstances), same shape as role_assignments
    eligibilities: list[tuple[str, str, str]] = field(default_factory=list)
    #: Entra ID P2 / Governance (PIM); without it the eligibility list answers 400 AadPremiumLicenseRequired
    pim_licensed: bool = True
    #: PIM for Groups member eligibilities: (group id, principal id, principal type)
    group_eligibilities: list[tuple[str, str, str]] = field(default_factory=list)
    #: user id -> authentication method @odata.types (no-P1 fallback); default: derived from the registration
    methods: dict[str, list[str]] = field(default_factory=dict)
    per_user: dict[str, str] = field(default_factory=dict)
    skus: list[dict[str, Any]] = field(default_factory=list)
    #: Graph ``domain`` objects (``GET /domains``; Domain.Read.All)
    domains: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    compliance_policies: list[dict[str, Any]] = field(default_factory=list)
    #: compliance policy id -> its deviceCompliancePolicyAssignment objects; a policy not listed is assigned to
    #: all devices. Served with ``$expand=assignments`` and at ``/{id}/assignments``.
    compliance_assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: False: the list ignores ``$expand`` (no ``assignments`` property), so the client must ask per policy
    expand_assignments: bool = True
    #: group id -> Entra deviceId of each device member (None: returned with limited information, no deviceId)
    group_devices: dict[str, list[str | None]] = field(default_factory=dict)
    backup_status: str = "disabled"
    backup_disable_reason: str = "none"
    backup_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: managed device id -> its windowsProtectionState (a Windows device not listed answers 404)
    protection_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Defender for Endpoint: licensed (else the token endpoint knows no such resource: AADSTS500011)
    defender_licensed: bool = True
    machines: list[dict[str, Any]] = field(default_factory=list)
    vulnerabilities: list[dict[str, Any]] = field(default_factory=list)
    #: when set, the Defender API's @odata.nextLink points at this origin (a forged page)
    defender_next_link_origin: str | None = None
    #: the application permissions in the access token: None issues an opaque token (no readable claims), a list
    #: a JWT-shaped token whose ``roles`` claim holds them, as Entra ID's app-only tokens do
    roles: list[str] | None = None
    #: authorizationPolicy.defaultUserRolePermissions.permissionGrantPoliciesAssigned
    consent_policies: list[str] | None = field(
        default_factory=lambda: ["ManagePermissionGrantsForSelf.microsoft-user-default-low"]
    )
    #: adminConsentRequestPolicy.isEnabled
    admin_consent_requests: bool = True
    #: answer authorizationPolicy in its older collection form ({"value": [policy]}), as beta once did
    authorization_policy_collection: bool = False
    #: Microsoft Graph's app roles (id -> value) as its service principal lists them
    graph_app_roles: dict[str, str] = field(default_factory=lambda: dict(GRAPH_APP_ROLES))
    #: False: the $filter on Graph's appId finds nothing (never seen in a real tenant)
    graph_sp_present: bool = True
    #: service principals other than Graph's: id, appId, displayName, appOwnerOrganizationId
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    #: Graph application permissions granted: (service principal id, app role value)
    graph_grants: list[tuple[str, str]] = field(default_factory=list)
    #: app registrations: id, appId, displayName, passwordCredentials, keyCredentials
    applications: list[dict[str, Any]] = field(default_factory=list)
    #: path fragment -> (status, error code, message): forced errors
    errors: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    premium: bool = True
    activity_csv: str | None = None
    page_size: int = 2
    #: path fragment -> number of 429s to answer before succeeding
    throttle: dict[str, int] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    #: path fragments whose pages always link to themselves (a paging loop)
    loops: set[str] = field(default_factory=set)
    #: when set, every @odata.nextLink points at this origin instead of Graph (a forged or proxied page)
    next_link_origin: str | None = None
    #: where the usage report's 302 sends the client (Learn's example host is reports.office.com)
    report_location: str = "https://reports.office.com/data/download/activity.csv?sig=secretsig"

    # -- helpers ------------------------------------------------------------------------------
    def _error(self, status: int, code: str, message: str = "") -> tuple[int, dict[str, str], str]:
        return (
            status,
            {"Content-Type": "application/json"},
            json.dumps({"error": {"code": code, "message": message or code, "innerError": {"request-id": "x"}}}),
        )

    def _page(
        self, request: Any, items: list[dict[str, Any]], next_link_origin: str | None = None
    ) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlparse(request.url).query)
        offset = int(query.get("$skiptoken", ["0"])[0])
        page = items[offset : offset + self.page_size]
        select = query.get("$select", [""])[0]
        if select:
            # Graph answers every $select-ed property, null when unset (and @odata.type, id, expansions)
            expanded = {e.split("(", 1)[0] for e in query.get("$expand", [""])[0].split(",") if e}
            page = [
                {
                    **{k: item[k] for k in ("@odata.type", "id") if k in item},
                    **{k: item.get(k) for k in select.split(",")},
                    **{k: item[k] for k in expanded if k in item},
                }
                for item in page
            ]
        body: dict[str, Any] = {"value": page}
        if offset + self.page_size < len(items):
            base = request.url.split("?", 1)[0]
            origin = next_link_origin or self.next_link_origin
            if origin is not None:
                base = origin + urlparse(base).path
            params = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = str(offset + self.page_size)
            body["@odata.nextLink"] = base + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _forced(self, url: str) -> tuple[int, dict[str, str], str] | None:
        path = urlparse(url).path + "?" + urlparse(url).query
        for fragment, remaining in self.throttle.items():
            if fragment in path and remaining > 0:
                self.throttle[fragment] = remaining - 1
                return (
                    429,
                    {"Retry-After": "0", "Content-Type": "application/json"},
                    json.dumps({"error": {"code": "TooManyRequests", "message": "throttled"}}),
                )
        for fragment, (status, code, message) in self.errors.items():
            if fragment in path:
                return self._error(status, code, message)
        return None

    def assignments_of(self, policy_id: str) -> list[dict[str, Any]]:
        default = [{"id": f"{policy_id}_all", "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}]
        return self.compliance_assignments.get(policy_id, default)

    @property
    def access_token(self) -> str:
        if self.roles is None:
            return "token-123"

        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        claims = {"aud": GRAPH, "tid": TENANT, "appid": CLIENT, "idtyp": "app", "roles": self.roles}
        return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"

    def _graph(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls.append(f"{request.method} {request.url}")
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self._error(401, "InvalidAuthenticationToken")
        forced = self._forced(request.url)
        if forced is not None:
            return forced
        if any(fragment in request.url for fragment in self.loops):
            body = {"value": [{"id": "x"}], "@odata.nextLink": request.url.split("?")[0] + "?$skiptoken=same"}
            return 200, {"Content-Type": "application/json"}, json.dumps(body)
        parsed = urlparse(request.url)
        path = parsed.path
        query = parse_qs(parsed.query)
        if path == "/v1.0/users":
            if "signInActivity" in query.get("$select", [""])[0] and not self.premium:
                return self._error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
            return self._page(request, self.users)
        if path == "/v1.0/reports/authenticationMethods/userRegistrationDetails":
            if not self.premium:
                return self._error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
            return self._page(request, self.registrations)
        if path == "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy":
            return 200, {}, json.dumps({"id": "00000000", "isEnabled": self.security_defaults})
        if path == "/v1.0/identity/conditionalAccess/policies":
            return self._page(request, self.ca_policies)
        match = re.fullmatch(r"/v1.0/groups/([^/]+)/transitiveMembers(/microsoft\.graph\.device)?", path)
        if match:
            # directoryObject declares only id: deviceId is read through the microsoft.graph.device cast
            devices = [
                {"@odata.type": "#microsoft.graph.device", "id": f"device-object-{i}", "deviceId": device_id}
                for i, device_id in enumerate(self.group_devices.get(match.group(1), []))
            ]
            if match.group(2):
                return self._page(request, devices)
            members = [{"@odata.type": "#microsoft.graph.user", "id": m} for m in self.groups.get(match.group(1), [])]
            return self._page(request, members + [{k: v for k, v in d.items() if k != "deviceId"} for d in devices])
        if path == "/v1.0/roleManagement/directory/roleDefinitions":
            defs = [
                {"id": GLOBAL_ADMIN, "displayName": "Global Administrator", "templateId": GLOBAL_ADMIN},
                {"id": USER_ADMIN, "displayName": "User Administrator", "templateId": USER_ADMIN},
            ]
            return self._page(request, defs)
        if path == "/v1.0/roleManagement/directory/roleAssignments":
            rows = [
                {
                    "id": f"ra{i}",
                    "principalId": p,
                    "roleDefinitionId": t,
                    "directoryScopeId": "/",
                    "principal": {"@odata.type": f"#microsoft.graph.{kind}", "id": p},
                }
                for i, (p, t, kind) in enumerate(self.role_assignments)
            ]
            return self._page(request, rows)
        if path == "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances":
            if not self.pim_licensed:
                return self._error(
                    400,
                    "AadPremiumLicenseRequired",
                    "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.",
                )
            rows = [
                {
                    "id": f"re{i}",
                    "principalId": p,
                    "roleDefinitionId": t,
                    "directoryScopeId": "/",
                    "startDateTime": iso(30),
                    "endDateTime": None,
                    "principal": {"@odata.type": f"#microsoft.graph.{kind}", "id": p},
                }
                for i, (p, t, kind) in enumerate(self.eligibilities)
            ]
            return self._page(request, rows)
        if path == "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances":
            if not self.pim_licensed:
                return self._error(400, "AadPremiumLicenseRequired", "The tenant needs to have Microsoft Entra ID P2.")
            wanted = re.fullmatch(r"groupId eq '([^']+)'", query.get("$filter", [""])[0])
            if wanted is None:
                return self._error(400, "BadRequest", "filter by groupId or principalId")
            rows = [
                {
                    "id": f"ge{i}",
                    "groupId": g,
                    "principalId": p,
                    "accessId": "member",
                    "memberType": "direct",
                    "startDateTime": iso(10),
                    "endDateTime": None,
                    "principal": {"@odata.type": f"#microsoft.graph.{kind}", "id": p},
                }
                for i, (g, p, kind) in enumerate(self.group_eligibilities)
                if g == wanted.group(1)
            ]
            return self._page(request, rows)
        if path == "/v1.0/subscribedSkus":
            return self._page(request, self.skus)
        if path == "/v1.0/domains":
            return self._page(request, self.domains)
        if path == "/v1.0/deviceManagement/managedDevices":
            return self._page(request, self.devices)
        if path == "/v1.0/deviceManagement/deviceCompliancePolicies":
            if self.expand_assignments and "assignments" in query.get("$expand", [""])[0]:
                return self._page(
                    request, [{**p, "assignments": self.assignments_of(p["id"])} for p in self.compliance_policies]
                )
            return self._page(request, self.compliance_policies)
        match = re.fullmatch(r"/v1.0/deviceManagement/deviceCompliancePolicies/([^/]+)/assignments", path)
        if match:
            return self._page(request, self.assignments_of(match.group(1)))
        if path == "/v1.0/solutions/backupRestore":
            status = {"status": self.backup_status, "disableReason": self.backup_disable_reason}
            return 200, {}, json.dumps({"id": "x", "serviceStatus": status})
        match = re.fullmatch(r"/v1.0/solutions/backupRestore/(\w+)", path)
        if match:
            return self._page(request, self.backup_policies.get(match.group(1), []))
        if path == "/v1.0/policies/authorizationPolicy":
            permissions = {"allowedToCreateApps": False, "permissionGrantPoliciesAssigned": self.consent_policies}
            policy = {"id": "authorizationPolicy", "defaultUserRolePermissions": permissions}
            return 200, {}, json.dumps({"value": [policy]} if self.authorization_policy_collection else policy)
        if path == "/v1.0/policies/adminConsentRequestPolicy":
            return 200, {}, json.dumps({"isEnabled": self.admin_consent_requests, "version": 1})
        if path == "/v1.0/servicePrincipals":
            if query.get("$filter") == [f"appId eq '{GRAPH_APP_ID}'"]:
                roles = [
                    {"id": k, "value": v, "allowedMemberTypes": ["Application"]}
                    for k, v in self.graph_app_roles.items()
                ]
                found = [{"id": GRAPH_SP, "appId": GRAPH_APP_ID, "appRoles": roles}] if self.graph_sp_present else []
                return self._page(request, found)
            graph = {"id": GRAPH_SP, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph"}
            return self._page(request, [graph, *self.service_principals])
        if path == f"/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo":
            by_value = {v: k for k, v in self.graph_app_roles.items()}
            rows = [
                {
                    "id": f"g{i}",
                    "appRoleId": by_value.get(value, value),
                    "principalId": sp,
                    "principalType": "ServicePrincipal",
                }
                for i, (sp, value) in enumerate(self.graph_grants)
            ]
            return self._page(request, rows)
        if path == "/v1.0/applications":
            return self._page(request, self.applications)
        if path.startswith("/v1.0/reports/getOffice365ActiveUserDetail"):
            return 302, {"Location": self.report_location}, ""
        return self._error(404, "Request_ResourceNotFound", path)

    def _batch(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls.append(f"{request.method} {request.url}")
        body = json.loads(request.body)
        assert len(body["requests"]) <= 20
        responses_out = []
        for sub in body["requests"]:
            url = sub["url"]
            forced = self._forced(url)
            if forced is not None:
                status, headers, text = forced
                responses_out.append({"id": sub["id"], "status": status, "headers": headers, "body": json.loads(text)})
                continue
            match = re.fullmatch(r"/deviceManagement/managedDevices/([^/?]+)/windowsProtectionState(\?.*)?", url)
            if match and match.group(1) in self.protection_states:
                state = {"@odata.type": "#microsoft.graph.windowsProtectionState", "id": match.group(1)}
                responses_out.append(
                    {"id": sub["id"], "status": 200, "body": {**state, **self.protection_states[match.group(1)]}}
                )
                continue
            match = re.fullmatch(r"/users/([^/]+)/authentication/requirements", url)
            if match:
                state = self.per_user.get(match.group(1), "disabled")
                responses_out.append({"id": sub["id"], "status": 200, "body": {"perUserMfaState": state}})
                continue
            match = re.fullmatch(r"/users/([^/]+)/authentication/methods", url)
            if match and match.group(1) in self.methods:
                methods = [{"@odata.type": t, "id": f"m{i}"} for i, t in enumerate(self.methods[match.group(1)])]
                responses_out.append({"id": sub["id"], "status": 200, "body": {"value": methods}})
                continue
            if match:
                capable = any(r["id"] == match.group(1) and r["isMfaCapable"] for r in self.registrations)
                methods = [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "p"}]
                if capable:
                    methods.append(
                        {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": "a"}
                    )
                responses_out.append({"id": sub["id"], "status": 200, "body": {"value": methods}})
                continue
            not_found = json.loads(self._error(404, "Request_ResourceNotFound", f"Resource not found: {url}")[2])
            responses_out.append({"id": sub["id"], "status": 404, "body": not_found})
        return 200, {"Content-Type": "application/json"}, json.dumps({"responses": responses_out})

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add(
            responses.GET,
            f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/authorize",
                "token_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token",
                "issuer": f"{AUTHORITY}/{TENANT}/v2.0",
            },
        )
        rsps.add_callback(responses.POST, f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token", callback=self._token)
        rsps.add_callback(responses.POST, re.compile(rf"{re.escape(GRAPH)}/(v1\.0|beta)/\$batch"), callback=self._batch)
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(GRAPH)}/.*"), callback=self._graph)
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(DEFENDER)}/.*"), callback=self._defender)
        if self.activity_csv is not None:
            rsps.add(
                responses.GET,
                self.report_location.split("?", 1)[0],
                body=self.activity_csv,
                content_type="application/octet-stream",
            )

    token_requests: list[dict[str, list[str]]] = field(default_factory=list)

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
        self.token_requests.append(form)
        ok = form.get("client_secret") == [SECRET] or "client_assertion" in form
        if not ok:
            return (
                401,
                {},
                json.dumps(
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                        "error_codes": [7000215],
                    }
                ),
            )
        scope = form.get("scope", [""])[0]
        if scope == f"{DEFENDER_RESOURCE}/.default":
            if not self.defender_licensed:
                description = (
                    f"AADSTS500011: The resource principal named {DEFENDER_RESOURCE} was not found in the tenant named "
                    "Contoso. This can happen if the application has not been installed by the administrator."
                )
                body = {"error": "invalid_resource", "error_description": description, "error_codes": [500011]}
                return 400, {}, json.dumps(body)
            return 200, {}, json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": DEFENDER_TOKEN})
        return 200, {}, json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": self.access_token})

    def _defender(self, request: Any) -> tuple[int, dict[str, str], str]:
        """The Defender for Endpoint API: its own token; ``$top`` (machines) or ``pageSize`` (the export) pages."""
        self.calls.append(f"{request.method} {request.url}")
        if request.headers.get("Authorization") != f"Bearer {DEFENDER_TOKEN}":
            return self._error(401, "Unauthorized", "Invalid token")
        forced = self._forced(request.url)
        if forced is not None:
            return forced
        path = urlparse(request.url).path
        if path == "/api/machines":
            if not self.machines:
                return self._error(404, "NotFound", "No recent machines")
            return self._page(request, self.machines, self.defender_next_link_origin)
        if path == "/api/machines/SoftwareVulnerabilitiesByMachine":
            return self._page(request, self.vulnerabilities, self.defender_next_link_origin)
        return self._error(404, "NotFound", path)
