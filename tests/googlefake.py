"""Google Workspace responses for googleapiclient's HttpMockSequence, one sequence per scope (per credential).

The source asks each API with its own single-scope credential, so each scope gets its own ordered sequence:
users -> user pages; rolemanagement -> role pages then assignment pages; group members -> the member pages of each
group that holds a role, by group id; mobile, chromeos, cloud identity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.google_spec import check_response
from google.auth.exceptions import RefreshError
from googleapiclient.http import HttpMockSequence

from hygiene.sources.google.catalogue import SCOPES
from hygiene.sources.google.source import CHROME_FIELDS, DOMAIN_FIELDS, ENDPOINT_FIELDS, MOBILE_FIELDS, USER_FIELDS
from hygiene_sandbox.google import epoch_ms as google_epoch_ms
from hygiene_sandbox.vendor import GOOGLE_NEVER

SCOPE = dict(SCOPES)
#: the request the source makes for each list (its fields mask included): every canned page is validated against
#: that method's response schema in the discovery document (tests/contract/google_spec.py)
TARGETS = {
    "users": f"/admin/directory/v1/users?customer=my_customer&fields={USER_FIELDS}",
    "roles": "/admin/directory/v1/customer/my_customer/roles"
    "?fields=nextPageToken,items(roleId,roleName,isSuperAdminRole)",
    "assignments": "/admin/directory/v1/customer/my_customer/roleassignments"
    "?fields=nextPageToken,items(roleId,assignedTo,assigneeType,scopeType)",
    "mobiledevices": f"/admin/directory/v1/customer/my_customer/devices/mobile?fields={MOBILE_FIELDS}",
    "chromeosdevices": f"/admin/directory/v1/customer/my_customer/devices/chromeos?fields={CHROME_FIELDS}",
    "devices": f"/v1/devices?customer=customers/my_customer&fields={ENDPOINT_FIELDS}",
    "domains": f"/admin/directory/v1/customer/my_customer/domains?fields={DOMAIN_FIELDS}",
    "members": "/admin/directory/v1/groups/g1/members"
    "?includeDerivedMembership=true&maxResults=200&fields=nextPageToken,members(id,email,type)",
}
NOW = datetime.now(UTC)
NEVER = GOOGLE_NEVER
#: role ids are int64 values, sent as decimal strings (Role.roleId, RoleAssignment.roleId: ``format: int64``)
SUPER_ADMIN_ROLE_ID = "91447453409034240"
HELP_DESK_ROLE_ID = "91447453409034241"
#: google.rpc.Code name of each HTTP status an error body carries (google/rpc/code.proto's HTTP mapping)
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def ts(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def epoch_ms(days_ago: float) -> str:
    return google_epoch_ms(NOW - timedelta(days=days_ago))


def guser(
    name: str,
    *,
    enrolled: bool = True,
    enforced: bool = True,
    login: float | None = 1,
    created: float = 400,
    admin: bool = False,
    delegated: bool = False,
    suspended: bool = False,
) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "primaryEmail": f"{name}@leeds.test",
        "name": {"fullName": name.title()},
        "isAdmin": admin,
        "isDelegatedAdmin": delegated,
        "isEnrolledIn2Sv": enrolled,
        "isEnforcedIn2Sv": enforced,
        "lastLoginTime": ts(login) if login is not None else NEVER,
        "creationTime": ts(created),
        "suspended": suspended,
        "archived": False,
        "orgUnitPath": "/Staff",
    }


def mobile(
    model: str, os: str, owner: str, *, patch: float | None = 20, sync: float = 1, status: str = "APPROVED"
) -> dict[str, Any]:
    kind = "ANDROID" if os.startswith("Android") else "IOS_SYNC"
    return {
        "resourceId": f"m-{model}",
        "model": model,
        "os": os,
        "type": kind,
        "status": status,
        "securityPatchLevel": epoch_ms(patch) if patch is not None else "0",
        "lastSync": ts(sync),
        "email": [f"{owner}@leeds.test"],
    }


def chrome(
    serial: str, *, aue_days: float = -400, compliance: str = "compliant", sync: float = 1, status: str = "ACTIVE"
) -> dict[str, Any]:
    return {
        "deviceId": f"c-{serial}",
        "serialNumber": serial,
        "model": "Chromebook 14",
        "osVersion": "130.0",
        "status": status,
        "lastSync": ts(sync),
        "autoUpdateThrough": ts(aue_days),
        "osVersionCompliance": compliance,
    }


def endpoint(
    serial: str,
    device_type: str,
    os_version: str,
    *,
    sync: float = 1,
    state: str | None = "APPROVED",
    encryption: str | None = "ENCRYPTED",
) -> dict[str, Any]:
    """A Cloud Identity ``Device``; ``encryption`` None leaves ``encryptionState`` out (not reported)."""
    device = {
        "name": f"devices/{serial}",
        "deviceType": device_type,
        "serialNumber": serial,
        "model": "PC",
        "osVersion": os_version,
        "lastSyncTime": ts(sync),
    }
    if state is not None:
        device["managementState"] = state
    if encryption is not None:
        device["encryptionState"] = encryption
    return device


def member(user_id: str, email: str | None = None, kind: str = "USER") -> dict[str, Any]:
    """A ``Member`` as members.list returns it with fields=members(id,email,type)."""
    out: dict[str, Any] = {"id": user_id, "type": kind}
    if email is not None:
        out["email"] = email
    return out


class RefusedHttp(HttpMockSequence):  # type: ignore[misc]
    """A credential whose token request is refused (the scope is not delegated)."""

    def __init__(self) -> None:
        super().__init__([])

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise RefreshError("unauthorized_client: Client is unauthorized to retrieve access tokens using this method")


def ok(body: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"status": "200", "content-type": "application/json"}, json.dumps(body)


def error(
    status: int, reason: str, message: str = "", headers: dict[str, str] | None = None
) -> tuple[dict[str, str], str]:
    body = {
        "error": {
            "code": status,
            "message": message or reason,
            "errors": [{"message": message or reason, "domain": "global", "reason": reason}],
            "status": STATUS_NAMES[status],
        }
    }
    return {"status": str(status), "content-type": "application/json", **(headers or {})}, json.dumps(body)


@dataclass
class Workspace:
    users: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    mobiles: list[dict[str, Any]] = field(default_factory=list)
    chromes: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    #: group id -> members (served for every group an assignment names, in group id order)
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: ``domains.list`` items (Domains resources, aliases inside): one answer, not paged
    domains: list[dict[str, Any]] = field(default_factory=list)
    #: the test plays a value the discovery document does not list (yet): a future enum member, not an invention
    future_enum_values: bool = False
    page_size: int = 2
    refused: set[str] = field(default_factory=set)
    #: dataset -> responses served before its pages (throttling, errors)
    before: dict[str, list[tuple[dict[str, str], str]]] = field(default_factory=dict)
    mocks: dict[str, Any] = field(default_factory=dict)

    def _pages(
        self, key: str, items: list[dict[str, Any]], target: str | None = None
    ) -> list[tuple[dict[str, str], str]]:
        """The pages of a list answer; each is held to the discovery document (no invented field or enum value)."""
        chunks = [items[i : i + self.page_size] for i in range(0, len(items), self.page_size)] or [[]]
        out = []
        for number, chunk in enumerate(chunks):
            body: dict[str, Any] = {key: chunk}
            if number + 1 < len(chunks):
                body["nextPageToken"] = f"page-{number + 2}"
            problems = check_response("GET", TARGETS[target or key], body)
            if self.future_enum_values:
                problems = [p for p in problems if "is not one of" not in p]
            if problems:
                raise AssertionError("googlefake: a canned page outside the discovery document: " + "; ".join(problems))
            out.append(ok(body))
        return out

    def _domains(self) -> list[tuple[dict[str, str], str]]:
        body = {"domains": self.domains}
        problems = check_response("GET", TARGETS["domains"], body)
        if problems:
            raise AssertionError("googlefake: a domains answer outside the discovery document: " + "; ".join(problems))
        return [ok(body)]

    def http_factory(self, scope: str) -> Any:
        dataset = next(name for name, s in SCOPE.items() if s == scope)
        if dataset in self.refused:
            mock: Any = RefusedHttp()
        else:
            responses = list(self.before.get(dataset, []))
            responses += {
                "google.users": lambda: self._pages("users", self.users),
                "google.roles": lambda: (
                    self._pages("items", self.roles, "roles") + self._pages("items", self.assignments, "assignments")
                ),
                "google.admin_groups": lambda: [
                    page
                    for group in sorted({a["assignedTo"] for a in self.assignments if a.get("assigneeType") == "group"})
                    for page in self._pages("members", self.groups.get(group, []))
                ],
                "google.mobile_devices": lambda: self._pages("mobiledevices", self.mobiles),
                "google.chrome_devices": lambda: self._pages("chromeosdevices", self.chromes),
                "google.endpoints": lambda: self._pages("devices", self.endpoints),
                "google.domains": lambda: self._domains(),
            }[dataset]()
            mock = HttpMockSequence(responses)
        self.mocks[dataset] = mock
        return mock


def healthy_workspace() -> Workspace:
    return Workspace(
        users=[guser("amy", admin=True), guser("bea", admin=True), guser("cal"), guser("dan")],
        roles=[
            {"roleId": SUPER_ADMIN_ROLE_ID, "roleName": "_SEED_ADMIN_ROLE", "isSuperAdminRole": True},
            {"roleId": HELP_DESK_ROLE_ID, "roleName": "_HELP_DESK_ADMIN_ROLE", "isSuperAdminRole": False},
        ],
        assignments=[
            {"roleId": SUPER_ADMIN_ROLE_ID, "assignedTo": "id-amy", "assigneeType": "user", "scopeType": "CUSTOMER"},
            {"roleId": SUPER_ADMIN_ROLE_ID, "assignedTo": "id-bea", "assigneeType": "user", "scopeType": "CUSTOMER"},
        ],
        mobiles=[mobile("Pixel 8", "Android 15", "cal"), mobile("iPhone 15", "iOS 18.1", "dan", patch=None)],
        chromes=[chrome("CB001")],
        endpoints=[endpoint("WIN001", "WINDOWS", "Windows 10.0.26200"), endpoint("PIX", "ANDROID", "Android 9")],
        domains=[
            {
                "domainName": "example.com",
                "verified": True,
                "isPrimary": True,
                "domainAliases": [{"domainAliasName": "example.org", "verified": False}],
            }
        ],
    )
