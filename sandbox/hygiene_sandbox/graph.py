"""A fake Microsoft Graph (v1.0 and beta) over a :class:`~hygiene_sandbox.scenario.Scenario`.

Wire behaviour follows the documentation:
- errors: ``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``
  (https://learn.microsoft.com/graph/errors); no or unknown bearer token: 401 ``InvalidAuthenticationToken``;
- paging: ``@odata.nextLink`` with an opaque ``$skiptoken`` that carries the rest of the query; clients must
  follow it verbatim (https://learn.microsoft.com/graph/paging); ``/users`` takes ``$top`` 1..999;
- ``$select`` returns only the selected properties (plus ``id``); ``/users`` without ``$select`` returns the
  default property set and never ``signInActivity``
  (https://learn.microsoft.com/graph/api/user-list#optional-query-parameters);
- ``$batch``: at most 20 requests, each answered with its own status, headers and body; sub-URLs resolve
  against the version of the ``$batch`` URL (https://learn.microsoft.com/graph/json-batching);
- throttling: 429 ``TooManyRequests`` with ``Retry-After`` in seconds (https://learn.microsoft.com/graph/throttling);
- licences: ``signInActivity`` and the registration report need Entra ID P1, else 403
  ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` ("Neither tenant is B2C or tenant doesn't have
  premium license"); Intune endpoints need an Intune licence, else 400 ``BadRequest`` "Request not applicable
  to target tenant." (observed service behaviour, e.g. github.com/microsoftgraph/msgraph-beta-sdk-go/issues/198);
  PIM (roleEligibilityScheduleInstances, PIM for Groups) needs Entra ID P2 or Governance, else 400
  ``AadPremiumLicenseRequired`` (observed: github.com/maester365/maester/issues/1421);
- permissions: each endpoint accepts the application permissions its doc page lists (least privileged or
  higher); a token with none of them gets 403 ``Authorization_RequestDenied`` "Insufficient privileges to
  complete the operation.".
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from hygiene_sandbox.expectation import JsonDict
from hygiene_sandbox.identity import DEFENDER_AUDIENCE, IssuedToken, TokenStore
from hygiene_sandbox.scenario import Scenario, graph_service_principal_id, methods_from_registration
from hygiene_sandbox.vendor import GRAPH_APP_ID, GRAPH_APP_ROLES, SKUS
from hygiene_sandbox.wire import ODATA_TYPE, Reply, graph_error_body, json_reply, new_request_id

NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
NON_PREMIUM_MESSAGE = "Neither tenant is B2C or tenant doesn't have premium license"
DENIED = "Authorization_RequestDenied"
DENIED_MESSAGE = "Insufficient privileges to complete the operation."
INTUNE_NOT_APPLICABLE = "Request not applicable to target tenant."
#: PIM without Entra ID P2 / Governance (observed: github.com/maester365/maester/issues/1421)
PIM_LICENCE_REQUIRED = "AadPremiumLicenseRequired"
PIM_LICENCE_MESSAGE = "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."
#: windowsProtectionState properties (v1.0 CSDL)
PROTECTION_STATE_PROPERTIES = frozenset(
    {
        "id", "antiMalwareVersion", "controlledConfigurationEnabled", "deviceState", "engineVersion",
        "fullScanOverdue", "fullScanRequired", "isVirtualMachine", "lastFullScanDateTime",
        "lastFullScanSignatureVersion", "lastQuickScanDateTime", "lastQuickScanSignatureVersion",
        "lastReportedDateTime", "malwareProtectionEnabled", "networkInspectionSystemEnabled", "productStatus",
        "quickScanOverdue", "realTimeProtectionEnabled", "rebootRequired", "signatureUpdateOverdue",
        "signatureVersion", "tamperProtectionEnabled",
    }
)  # fmt: skip
#: privilegedAccessGroupEligibilityScheduleInstance properties (v1.0 CSDL, with privilegedAccessScheduleInstance)
#: the ``domain`` entity's properties (v1.0 CSDL, EntityType domain), for ``$select``
DOMAIN_PROPERTIES = frozenset(
    {
        "id",
        "authenticationType",
        "availabilityStatus",
        "isAdminManaged",
        "isDefault",
        "isInitial",
        "isRoot",
        "isVerified",
        "manufacturer",
        "model",
        "passwordNotificationWindowInDays",
        "passwordValidityPeriodInDays",
        "state",
        "supportedServices",
    }
)
GROUP_ELIGIBILITY_PROPERTIES = frozenset(
    {"id", "accessId", "eligibilityScheduleId", "groupId", "memberType", "principalId", "startDateTime", "endDateTime"}
)
#: unifiedRoleEligibilityScheduleInstance properties (v1.0 CSDL: unifiedRoleScheduleInstanceBase and its own)
ROLE_ELIGIBILITY_PROPERTIES = frozenset(
    {"id", "appScopeId", "directoryScopeId", "principalId", "roleDefinitionId", "endDateTime", "memberType",
     "roleEligibilityScheduleId", "startDateTime"}
)  # fmt: skip
#: servicePrincipal and application properties a client may $select (v1.0 CSDL; the ones the scenarios fill
#: and a few more; Graph answers null, or [] for a collection, for one the scenario leaves out)
SERVICE_PRINCIPAL_PROPERTIES = frozenset(
    {"id", "appId", "appDisplayName", "displayName", "appOwnerOrganizationId", "servicePrincipalType",
     "accountEnabled", "appRoleAssignmentRequired", "signInAudience", "appRoles", "tags", "keyCredentials",
     "passwordCredentials", "deletedDateTime"}
)  # fmt: skip
APPLICATION_PROPERTIES = frozenset(
    {"id", "appId", "displayName", "signInAudience", "passwordCredentials", "keyCredentials", "createdDateTime",
     "deletedDateTime"}
)  # fmt: skip
BATCH_LIMIT = 20
#: application permissions that let an app read device objects (device-list / device-get doc pages)
DEVICE_READERS = frozenset({"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
DOWNLOAD_PREFIX = "/_sandbox/reports/download/"
DOWNLOAD_LIFETIME = 300.0

#: route -> application permissions that grant it (any one suffices): the "least privileged" and "higher
#: privileged" application permissions of each doc page
PERMISSIONS: dict[str, frozenset[str]] = {
    # https://learn.microsoft.com/graph/api/user-list , /graph/api/user-get
    "users": frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    # https://learn.microsoft.com/graph/api/resources/signinactivity: signInActivity also needs AuditLog.Read.All
    "users.signInActivity": frozenset({"AuditLog.Read.All"}),
    # https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails
    "userRegistrationDetails": frozenset({"AuditLog.Read.All", "UserAuthenticationMethod.Read.All"}),
    # https://learn.microsoft.com/graph/api/authentication-list-methods (acting on other users)
    "authentication.methods": frozenset(
        {"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}
    ),
    # https://learn.microsoft.com/graph/api/authentication-get?view=graph-rest-beta (per-user MFA state)
    "authentication.requirements": frozenset({"Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"}),
    # https://learn.microsoft.com/graph/api/identitysecuritydefaultsenforcementpolicy-get
    "securityDefaults": frozenset({"Policy.Read.All", "Policy.ReadWrite.SecurityDefaults"}),
    # https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies
    "conditionalAccess": frozenset({"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"}),
    # https://learn.microsoft.com/graph/api/group-list-transitivemembers (least: GroupMember.ReadBasic.All)
    "groups.members": frozenset(
        {
            "GroupMember.ReadBasic.All",
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.ReadBasic.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        }
    ),
    # https://learn.microsoft.com/graph/api/rbacapplication-list-roledefinitions , -list-roleassignments
    "roleManagement": frozenset(
        {
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        }
    ),
    # https://learn.microsoft.com/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
    "roleEligibility": frozenset(
        {
            "RoleEligibilitySchedule.Read.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.Read.Directory",
            "RoleManagement.ReadWrite.Directory",
        }
    ),
    # https://learn.microsoft.com/graph/api/privilegedaccessgroup-list-eligibilityscheduleinstances
    "groupEligibility": frozenset(
        {"PrivilegedEligibilitySchedule.Read.AzureADGroup", "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"}
    ),
    # https://learn.microsoft.com/graph/api/authorizationpolicy-get
    "authorizationPolicy": frozenset({"Policy.Read.All", "Policy.ReadWrite.Authorization"}),
    # https://learn.microsoft.com/graph/api/adminconsentrequestpolicy-get
    "adminConsentRequestPolicy": frozenset({"Policy.Read.All", "Policy.ReadWrite.ConsentRequest"}),
    # https://learn.microsoft.com/graph/api/serviceprincipal-list , -list-approleassignedto, application-list
    "applications": frozenset(
        {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
    ),
    # https://learn.microsoft.com/graph/api/domain-list (least privileged: Domain.Read.All)
    "domains": frozenset({"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    # https://learn.microsoft.com/graph/api/subscribedsku-list
    "subscribedSkus": frozenset(
        {
            "LicenseAssignment.Read.All",
            "Organization.Read.All",
            "Organization.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        }
    ),
    # https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list
    "managedDevices": frozenset(
        {"DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All"}
    ),
    # https://learn.microsoft.com/graph/api/intune-deviceconfig-devicecompliancepolicy-list
    "compliancePolicies": frozenset(
        {"DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All"}
    ),
    # https://learn.microsoft.com/graph/api/backuprestoreroot-get
    "backupRestore": frozenset({"BackupRestore-Control.Read.All", "BackupRestore-Control.ReadWrite.All"}),
    # https://learn.microsoft.com/graph/api/backuprestoreroot-list-protectionpolicies
    "protectionPolicies": frozenset(
        {"BackupRestore-Configuration.Read.All", "BackupRestore-Configuration.ReadWrite.All"}
    ),
    # https://learn.microsoft.com/graph/api/reportroot-getoffice365activeuserdetail
    "reports": frozenset({"Reports.Read.All"}),
}

#: the properties GET /users returns without $select (https://learn.microsoft.com/graph/api/user-list)
USER_DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
#: user properties a tenant may $select that the scenarios do not fill (Graph answers null for them)
USER_EXTRA_PROPERTIES = frozenset(
    {
        "ageGroup", "city", "companyName", "country", "creationType", "employeeId", "employeeType",
        "externalUserState", "externalUserStateChangeDateTime", "faxNumber", "identities", "imAddresses",
        "lastPasswordChangeDateTime", "licenseAssignmentStates", "mailNickname", "onPremisesDistinguishedName",
        "onPremisesDomainName", "onPremisesImmutableId", "onPremisesLastSyncDateTime", "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails",
        "passwordPolicies", "postalCode", "proxyAddresses", "securityIdentifier", "showInAddressList", "state",
        "streetAddress", "usageLocation", "assignedPlans", "provisionedPlans", "employeeHireDate",
        "employeeLeaveDateTime", "signInSessionsValidFromDateTime", "deletedDateTime",
    }
)  # fmt: skip

#: collection-valued properties the sandbox may be asked to $select without the scenario filling them (user and
#: group, v1.0 CSDL): a collection is never null in OData JSON, an empty one is []
EMPTY_COLLECTIONS = frozenset(
    {
        "assignedLicenses", "assignedPlans", "businessPhones", "identities", "imAddresses", "licenseAssignmentStates",
        "otherMails", "provisionedPlans", "proxyAddresses",
    }
)  # fmt: skip

#: the Office 365 active user detail CSV columns, in order
#: (https://learn.microsoft.com/graph/api/reportroot-getoffice365activeuserdetail)
O365_COLUMNS = (
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Is Deleted",
    "Deleted Date",
    "Has Exchange License",
    "Has OneDrive License",
    "Has SharePoint License",
    "Has Skype For Business License",
    "Has Yammer License",
    "Has Teams License",
    "Exchange Last Activity Date",
    "OneDrive Last Activity Date",
    "SharePoint Last Activity Date",
    "Skype For Business Last Activity Date",
    "Yammer Last Activity Date",
    "Teams Last Activity Date",
    "Exchange License Assign Date",
    "OneDrive License Assign Date",
    "SharePoint License Assign Date",
    "Skype For Business License Assign Date",
    "Yammer License Assign Date",
    "Teams License Assign Date",
    "Assigned Products",
)
_WORKLOADS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
_EXCHANGE_SKUS = {"SPB", "O365_BUSINESS_PREMIUM", "O365_BUSINESS_ESSENTIALS", "EXCHANGESTANDARD"}
_SUITE_SKUS = {"SPB", "O365_BUSINESS_PREMIUM", "O365_BUSINESS_ESSENTIALS"}

#: default and maximum page sizes per collection (max None: no $top limit enforced, larger values clamp)
DEFAULT_PAGE_SIZES: dict[str, tuple[int, int | None]] = {
    "users": (100, 999),
    "userRegistrationDetails": (1000, None),
    "groups.members": (100, 999),
    "roleDefinitions": (1000, None),
    "roleAssignments": (100, None),
    "roleEligibility": (100, None),
    "groupEligibility": (100, None),
    "managedDevices": (1000, None),
    "compliancePolicies": (1000, None),
    "conditionalAccess": (1000, None),
    "subscribedSkus": (1000, None),
    "domains": (1000, None),
    "protectionPolicies": (1000, None),
    "authentication.methods": (1000, None),
    "servicePrincipals": (100, 999),
    "appRoleAssignedTo": (100, 999),
    "applications": (100, 999),
}
#: Intune caps pages at 1000 items whatever $top says (observed; not documented per endpoint)
_CLAMP_LIMITS = {"managedDevices": 1000, "compliancePolicies": 1000}


#: status -> (code, message) of the transient errors chaos mode injects
_FAULTS = {
    429: ("TooManyRequests", "Too many requests. Please retry after the time in the Retry-After header."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    500: ("generalException", "An unexpected error occurred while processing the request."),
}


class GraphFailure(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Result:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: raw (non-JSON) body, for redirects and downloads
    raw: bytes | None = None


@dataclass
class _Call:
    version: str
    path: str  # e.g. /v1.0/users
    resource: str  # e.g. /users
    params: list[tuple[str, str]]
    token: IssuedToken
    request_id: str
    client_request_id: str | None

    def param(self, name: str) -> str | None:
        """A query option; names are case-insensitive and the ``$`` prefix is optional on v1.0
        (https://learn.microsoft.com/graph/query-parameters)."""
        wanted = name.lstrip("$").lower()
        value = None
        for key, item in self.params:
            if key.lstrip("$").lower() == wanted:
                value = item
        return value


Handler = Callable[["GraphApi", _Call, "re.Match[str]"], Result]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    permission: str
    handler: Handler
    versions: tuple[str, ...] = ("v1.0", "beta")


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_VALUE_SAFE = "$,()'=:/@"


def _encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='$')}={quote(v, safe=_VALUE_SAFE)}" for k, v in pairs)


class GraphApi:
    """Answers Graph requests for one scenario. Thread-safe; the server calls :meth:`handle`."""

    def __init__(
        self,
        scenario: Scenario,
        base_url: str,
        tokens: TokenStore,
        *,
        page_sizes: Mapping[str, tuple[int, int | None]] | None = None,
        throttle_every: int = 0,
        retry_after: int = 1,
        on_refused: Callable[[str, str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.page_sizes = dict(DEFAULT_PAGE_SIZES)
        if page_sizes:
            self.page_sizes.update(page_sizes)
        self.throttle_every = throttle_every
        self.retry_after = retry_after
        self._on_refused = on_refused
        self._lock = threading.Lock()
        self._counter = 0
        self.throttled = 0
        self._key = secrets.token_bytes(32)
        self._downloads: dict[str, tuple[float, bytes]] = {}
        self._index()

    # -- indexes ----------------------------------------------------------------------------------
    def _index(self) -> None:
        s = self.scenario
        self._users = list(s.users)
        self._user_by_id = {str(u["id"]): u for u in self._users}
        self._user_by_upn = {str(u.get("userPrincipalName", "")).casefold(): u for u in self._users}
        self._row_by_id = {str(r["id"]): r for r in s.registrations}
        # the registration report leaves out disabled accounts (and rows for unknown users)
        self._report_rows = [
            r
            for r in s.registrations
            if str(r["id"]) in self._user_by_id and self._user_by_id[str(r["id"])].get("accountEnabled")
        ]
        self._transitive: dict[str, list[JsonDict]] = {}
        self._policy_by_id = {str(p["id"]): p for p in s.ca_policies}

    def _find_user(self, key: str) -> JsonDict:
        user = self._user_by_id.get(key) or self._user_by_upn.get(key.casefold())
        if user is None:
            raise GraphFailure(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        return user

    # -- entry point ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Reply:
        request_id = new_request_id()
        client_request_id = headers.get("client-request-id")
        try:
            version, _, rest = path.lstrip("/").partition("/")
            token = self._authenticate(headers)
            self._maybe_throttle()
            call = _Call(
                version=version,
                path=path,
                resource="/" + rest,
                params=parse_qsl(query, keep_blank_values=True),
                token=token,
                request_id=request_id,
                client_request_id=client_request_id,
            )
            if method == "POST" and call.resource == "/$batch":
                result = self._batch(call, body)
            elif method == "GET":
                result = self._dispatch(call)
            else:
                # the server refuses writes before they get here; anything else is not supported
                result = Result(405, graph_error_body("Request_BadRequest", f"{method} is not supported.", request_id,
                                                      client_request_id))  # fmt: skip
        except GraphFailure as exc:
            result = Result(
                exc.status,
                graph_error_body(exc.code, exc.message, request_id, client_request_id),
                dict(exc.headers),
            )
        return self._to_reply(result, request_id, client_request_id)

    def fault_reply(self, status: int, retry_after: int | None, headers: Mapping[str, str]) -> Reply:
        """A throttling (429), unavailable (503) or internal (500) error as Graph sends it (chaos mode)."""
        request_id = new_request_id()
        client_request_id = headers.get("client-request-id")
        code, message = _FAULTS.get(status, _FAULTS[500])
        extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = graph_error_body(code, message, request_id, client_request_id)
        return self._to_reply(Result(status, body, extra), request_id, client_request_id)

    def _to_reply(self, result: Result, request_id: str, client_request_id: str | None) -> Reply:
        headers = {
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
            "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Sandbox","Slice":"E","Ring":"0","ScaleUnit":"000"}}',
            "Strict-Transport-Security": "max-age=31536000",
            "Cache-Control": "no-cache",
        }
        headers.update(result.headers)
        if result.raw is not None:
            return Reply(result.status, result.raw, headers)
        if result.payload is None:
            return Reply(result.status, b"", headers)
        return json_reply(result.status, result.payload, content_type=ODATA_TYPE, headers=headers)

    def _authenticate(self, headers: Mapping[str, str]) -> IssuedToken:
        value = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, token = value.partition(" ")
        challenge = {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        }
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphFailure(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        issued = self.tokens.lookup(token.strip())
        if issued is None:
            raise GraphFailure(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed or was not issued here.", challenge
            )
        if issued.expires_at <= self.tokens.now():
            raise GraphFailure(
                401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", challenge
            )
        if issued.audience == DEFENDER_AUDIENCE:
            raise GraphFailure(401, "InvalidAuthenticationToken", "Invalid audience.", challenge)
        return issued

    def _maybe_throttle(self) -> None:
        if self.throttle_every <= 0:
            return
        with self._lock:
            self._counter += 1
            hit = self._counter % self.throttle_every == 0
            if hit:
                self.throttled += 1
        if hit:
            raise GraphFailure(
                429,
                "TooManyRequests",
                "Too many requests. Please retry after the time in the Retry-After header.",
                {"Retry-After": str(self.retry_after)},
            )

    def _dispatch(self, call: _Call) -> Result:
        for route in ROUTES:
            match = route.pattern.match(call.resource)
            if match is None:
                continue
            if call.version not in route.versions:
                break
            required = PERMISSIONS[route.permission]
            if not required & call.token.roles:
                raise GraphFailure(403, DENIED, DENIED_MESSAGE)
            return route.handler(self, call, match)
        segment = call.resource.rstrip("/").rsplit("/", 1)[-1] or call.version
        raise GraphFailure(404, "Request_ResourceNotFound", f"Resource not found for the segment '{segment}'.")

    # -- collections ------------------------------------------------------------------------------
    def _skiptoken(self, call: _Call, offset: int) -> str:
        canonical = self._canonical(call)
        mac = hmac.new(self._key, f"{canonical}#{offset}".encode(), hashlib.sha256).digest()[:12]
        return _b64e(b"RFNwdA" + offset.to_bytes(4, "big") + mac)

    def _canonical(self, call: _Call) -> str:
        kept = [(k, v) for k, v in call.params if k.lstrip("$").lower() != "skiptoken"]
        return call.path + "?" + json.dumps(kept)

    def _offset(self, call: _Call) -> int:
        token = call.param("$skiptoken")
        if token is None:
            return 0
        try:
            raw = _b64d(token)
        except ValueError:
            raw = b""
        if len(raw) == 22 and raw.startswith(b"RFNwdA"):
            offset = int.from_bytes(raw[6:10], "big")
            expected = hmac.new(self._key, f"{self._canonical(call)}#{offset}".encode(), hashlib.sha256).digest()[:12]
            if hmac.compare_digest(expected, raw[10:]):
                return offset
        raise GraphFailure(
            400,
            "Directory_InvalidContinuationToken",
            "The continuation token is not valid for this query: follow @odata.nextLink verbatim.",
        )

    def _page_size(self, call: _Call, kind: str) -> int:
        default, maximum = self.page_sizes.get(kind, (100, None))
        top = call.param("$top")
        if top is None:
            return default
        try:
            size = int(top)
        except ValueError:
            raise GraphFailure(400, "BadRequest", f"Invalid $top value '{top}'.") from None
        if size < 1 or (maximum is not None and size > maximum):
            raise GraphFailure(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{size}'. Must be between 1 and {maximum or 1} inclusive.",
            )
        return min(size, _CLAMP_LIMITS.get(kind, size))

    def _select(self, call: _Call, entity: str, known: Iterable[str] | None) -> list[str] | None:
        raw = call.param("$select")
        if raw is None or not raw.strip():
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if known is not None:
            allowed = set(known)
            for name in names:
                if name not in allowed:
                    raise GraphFailure(
                        400, "Request_BadRequest", f"Could not find a property named '{name}' on type '{entity}'."
                    )
        return names

    @staticmethod
    def _project(item: JsonDict, select: Sequence[str] | None, defaults: Sequence[str] | None = None) -> JsonDict:
        names = select if select is not None else defaults
        if names is None:
            return dict(item)
        out: JsonDict = {}
        if "@odata.type" in item:
            out["@odata.type"] = item["@odata.type"]
        if "id" in item and "id" not in names:
            out["id"] = item["id"]
        for name in names:
            # a property the scenario does not fill: Graph answers [] for a collection (never null), else null
            out[name] = item.get(name, [] if name in EMPTY_COLLECTIONS else None)
        return out

    def _filter(self, call: _Call, items: Sequence[JsonDict]) -> Sequence[JsonDict]:
        raw = call.param("$filter")
        if raw is None or not raw.strip():
            return items
        clauses = re.split(r"\s+and\s+", raw.strip(), flags=re.IGNORECASE)
        tests: list[tuple[list[str], Any]] = []
        for clause in clauses:
            match = re.fullmatch(r"\s*([A-Za-z@.]+(?:/[A-Za-z]+)?)\s+eq\s+(.+?)\s*", clause)
            if match is None:
                raise GraphFailure(
                    400, "Request_UnsupportedQuery", f"Unsupported or invalid query filter clause: '{clause}'."
                )
            value_text = match[2]
            value: Any
            if value_text.startswith("'") and value_text.endswith("'"):
                value = value_text[1:-1].replace("''", "'")
            elif value_text in ("true", "false"):
                value = value_text == "true"
            elif value_text == "null":
                value = None
            elif re.fullmatch(r"-?\d+", value_text):
                value = int(value_text)
            else:
                raise GraphFailure(
                    400, "Request_UnsupportedQuery", f"Unsupported or invalid query filter clause: '{clause}'."
                )
            tests.append((match[1].split("/"), value))

        def keep(item: JsonDict) -> bool:
            for path, value in tests:
                current: Any = item
                for part in path:
                    current = current.get(part) if isinstance(current, dict) else None
                if isinstance(current, str) and isinstance(value, str):
                    if current.casefold() != value.casefold():
                        return False
                elif current != value:
                    return False
            return True

        return [item for item in items if keep(item)]

    def _collection(
        self,
        call: _Call,
        items: Sequence[JsonDict],
        *,
        kind: str,
        context: str,
        entity: str,
        known: Iterable[str] | None = None,
        defaults: Sequence[str] | None = None,
        expand: Callable[[JsonDict], JsonDict] | None = None,
    ) -> Result:
        select = self._select(call, entity, known)
        filtered = self._filter(call, items)
        size = self._page_size(call, kind)
        offset = self._offset(call)
        page = filtered[offset : offset + size]
        values = []
        for item in page:
            projected = self._project(item, select, defaults)
            if expand is not None:
                projected = expand(projected)
            values.append(projected)
        shown = f"{context}({','.join(select)})" if select else context
        payload: JsonDict = {"@odata.context": f"{self.base_url}/{call.version}/$metadata#{shown}"}
        if (call.param("$count") or "").lower() == "true":
            payload["@odata.count"] = len(filtered)
        if offset + size < len(filtered):
            kept = [(k, v) for k, v in call.params if k.lstrip("$").lower() != "skiptoken"]
            kept.append(("$skiptoken", self._skiptoken(call, offset + size)))
            payload["@odata.nextLink"] = f"{self.base_url}{call.path}?{_encode_query(kept)}"
        payload["value"] = values
        return Result(200, payload)

    def _no_expand(self, call: _Call, entity: str) -> None:
        raw = call.param("$expand")
        if raw:
            name = raw.split("(", 1)[0].strip()
            raise GraphFailure(400, "BadRequest", f"Could not find a property named '{name}' on type '{entity}'.")

    # -- users --------------------------------------------------------------------------------------
    def _user_known(self) -> set[str]:
        known = set(USER_DEFAULT_PROPERTIES) | USER_EXTRA_PROPERTIES
        for user in self._users[:50]:
            known.update(user)
        return known

    def _check_sign_in_activity(self, call: _Call) -> None:
        wanted = (call.param("$select") or "") + " " + (call.param("$filter") or "") + (call.param("$orderby") or "")
        if "signinactivity" not in wanted.lower():
            return
        if not PERMISSIONS["users.signInActivity"] & call.token.roles:
            raise GraphFailure(403, DENIED, DENIED_MESSAGE)
        if not self.scenario.premium:
            raise GraphFailure(403, NON_PREMIUM, NON_PREMIUM_MESSAGE)

    def users(self, call: _Call, match: re.Match[str]) -> Result:
        self._check_sign_in_activity(call)
        self._no_expand(call, "microsoft.graph.user")
        return self._collection(
            call,
            self._users,
            kind="users",
            context="users",
            entity="microsoft.graph.user",
            known=self._user_known(),
            defaults=[p for p in USER_DEFAULT_PROPERTIES if p != "id"],
        )

    def user(self, call: _Call, match: re.Match[str]) -> Result:
        self._check_sign_in_activity(call)
        user = self._find_user(match["uid"])
        select = self._select(call, "microsoft.graph.user", self._user_known())
        payload = {"@odata.context": f"{self.base_url}/{call.version}/$metadata#users/$entity"}
        payload.update(self._project(user, select, [p for p in USER_DEFAULT_PROPERTIES if p != "id"]))
        return Result(200, payload)

    def authentication_methods(self, call: _Call, match: re.Match[str]) -> Result:
        user = self._find_user(match["uid"])
        uid = str(user["id"])
        methods = self.scenario.auth_methods.get(uid)
        if methods is None:
            methods = methods_from_registration(self._row_by_id.get(uid), uid)
        return self._collection(
            call,
            methods,
            kind="authentication.methods",
            context=f"users('{uid}')/authentication/methods",
            entity="microsoft.graph.authenticationMethod",
        )

    def authentication_requirements(self, call: _Call, match: re.Match[str]) -> Result:
        user = self._find_user(match["uid"])
        uid = str(user["id"])
        state = self.scenario.per_user_mfa.get(uid, "disabled")
        return Result(
            200,
            {
                "@odata.context": f"{self.base_url}/beta/$metadata#users('{uid}')/authentication/requirements/$entity",
                "perUserMfaState": state,
            },
        )

    # -- MFA reports and policies --------------------------------------------------------------------
    def registration_details(self, call: _Call, match: re.Match[str]) -> Result:
        if not self.scenario.premium:
            raise GraphFailure(403, NON_PREMIUM, NON_PREMIUM_MESSAGE)
        self._no_expand(call, "microsoft.graph.userRegistrationDetails")
        known = set(self._report_rows[0]) if self._report_rows else None
        return self._collection(
            call,
            self._report_rows,
            kind="userRegistrationDetails",
            context="reports/authenticationMethods/userRegistrationDetails",
            entity="microsoft.graph.userRegistrationDetails",
            known=known,
        )

    def registration_detail(self, call: _Call, match: re.Match[str]) -> Result:
        if not self.scenario.premium:
            raise GraphFailure(403, NON_PREMIUM, NON_PREMIUM_MESSAGE)
        for row in self._report_rows:
            if row["id"] == match["uid"]:
                payload = {
                    "@odata.context": f"{self.base_url}/{call.version}/$metadata#reports/authenticationMethods/"
                    "userRegistrationDetails/$entity"
                }
                payload.update(row)
                return Result(200, payload)
        raise GraphFailure(404, "Request_ResourceNotFound", f"Resource '{match['uid']}' does not exist.")

    def security_defaults(self, call: _Call, match: re.Match[str]) -> Result:
        return Result(
            200,
            {
                "@odata.context": f"{self.base_url}/{call.version}/$metadata#policies/"
                "identitySecurityDefaultsEnforcementPolicy/$entity",
                "id": "00000000-0000-0000-0000-000000000005",
                "displayName": "Security Defaults",
                "description": "Security defaults is a set of basic identity security mechanisms recommended by "
                "Microsoft. When enabled, these recommendations will be automatically enforced in your organization. "
                "Administrators and users will be better protected from common identity related attacks.",
                "isEnabled": self.scenario.security_defaults_enabled,
            },
        )

    def ca_policies(self, call: _Call, match: re.Match[str]) -> Result:
        return self._collection(
            call,
            self.scenario.ca_policies,
            kind="conditionalAccess",
            context="identity/conditionalAccess/policies",
            entity="microsoft.graph.conditionalAccessPolicy",
        )

    def ca_policy(self, call: _Call, match: re.Match[str]) -> Result:
        policy = self._policy_by_id.get(match["pid"])
        if policy is None:
            raise GraphFailure(404, "ResourceNotFound", f"Policy '{match['pid']}' was not found.")
        payload = {
            "@odata.context": f"{self.base_url}/{call.version}/$metadata#identity/conditionalAccess/policies/$entity"
        }
        payload.update(policy)
        return Result(200, payload)

    # -- groups and roles ------------------------------------------------------------------------------
    def _group(self, gid: str) -> JsonDict:
        group = self.scenario.groups.get(gid)
        if group is None:
            raise GraphFailure(
                404,
                "Request_ResourceNotFound",
                f"Resource '{gid}' does not exist or one of its queried reference-property objects are not present.",
            )
        return group

    def _member_object(self, member_id: str) -> JsonDict | None:
        user = self._user_by_id.get(member_id)
        if user is not None:
            return {
                "@odata.type": "#microsoft.graph.user",
                "id": member_id,
                "displayName": user.get("displayName"),
                "userPrincipalName": user.get("userPrincipalName"),
                "mail": user.get("mail"),
                "accountEnabled": user.get("accountEnabled"),
                "userType": user.get("userType"),
            }
        device = self.scenario.directory_devices.get(member_id)
        if device is not None:
            return {"@odata.type": "#microsoft.graph.device", **device}
        group = self.scenario.groups.get(member_id)
        if group is not None:
            return {
                "@odata.type": "#microsoft.graph.group",
                "id": member_id,
                "displayName": group.get("displayName"),
                "mail": group.get("mail"),
                "securityEnabled": group.get("securityEnabled", True),
            }
        return None

    def _transitive_members(self, gid: str) -> list[JsonDict]:
        with self._lock:
            cached = self._transitive.get(gid)
        if cached is not None:
            return cached
        seen: set[str] = set()
        ordered: list[JsonDict] = []
        stack = [gid]
        visited_groups = {gid}
        while stack:
            current = stack.pop(0)
            for member in self.scenario.groups.get(current, {}).get("members", []):
                member_id = str(member)
                if member_id in seen:
                    continue
                seen.add(member_id)
                obj = self._member_object(member_id)
                if obj is None:
                    continue
                ordered.append(obj)
                if obj["@odata.type"] == "#microsoft.graph.group" and member_id not in visited_groups:
                    visited_groups.add(member_id)
                    stack.append(member_id)
        with self._lock:
            self._transitive[gid] = ordered
        return ordered

    def group_members(self, call: _Call, match: re.Match[str]) -> Result:
        gid = match["gid"]
        self._group(gid)
        if match["kind"] == "transitiveMembers":
            members = self._transitive_members(gid)
        else:
            members = [
                obj
                for m in self.scenario.groups[gid].get("members", [])
                if (obj := self._member_object(str(m))) is not None
            ]
        cast = match["cast"]
        if cast:
            members = [m for m in members if m["@odata.type"] == f"#{cast}"]
        if not DEVICE_READERS & call.token.roles:
            # "if it doesn't have permission to read a certain resource type, members of that type are returned
            # but with limited information": only @odata.type and id, other properties null (group-list-members)
            members = [
                {k: (v if k in ("@odata.type", "id") else None) for k, v in m.items()}
                if m["@odata.type"] == "#microsoft.graph.device"
                else m
                for m in members
            ]
        return self._collection(
            call,
            members,
            kind="groups.members",
            context=f"{cast.rsplit('.', 1)[1]}s" if cast else "directoryObjects",
            # a type-cast segment makes the derived type's properties selectable (deviceId on devices)
            entity=cast or "microsoft.graph.directoryObject",
        )

    def role_definitions(self, call: _Call, match: re.Match[str]) -> Result:
        return self._collection(
            call,
            self.scenario.role_definitions,
            kind="roleDefinitions",
            context="roleManagement/directory/roleDefinitions",
            entity="microsoft.graph.unifiedRoleDefinition",
        )

    def _principal(self, principal_id: str) -> JsonDict:
        obj = self._member_object(principal_id)
        if obj is not None:
            return obj
        return {"@odata.type": "#microsoft.graph.servicePrincipal", "id": principal_id}

    def _role_expand(
        self, call: _Call, entity: str, navigations: tuple[str, ...] = ("principal", "roleDefinition")
    ) -> Callable[[JsonDict], JsonDict] | None:
        """``$expand=principal(...)`` / ``roleDefinition(...)``, the navigation properties both role lists share."""
        raw = (call.param("$expand") or "").strip()
        expansions: list[tuple[str, list[str] | None]] = []
        for part in re.split(r",(?![^()]*\))", raw) if raw else []:
            m = re.fullmatch(r"\s*(\w+)\s*(?:\(\s*\$select\s*=\s*([^)]*)\))?\s*", part)
            if m is None or m[1] not in navigations:
                name = part.split("(", 1)[0].strip()
                raise GraphFailure(400, "BadRequest", f"Could not find a property named '{name}' on type '{entity}'.")
            expansions.append((m[1], [s.strip() for s in m[2].split(",")] if m[2] else None))
        if not expansions:
            return None
        definitions = {str(d["id"]): d for d in self.scenario.role_definitions}

        def expand(item: JsonDict) -> JsonDict:
            for name, select in expansions:
                if name == "principal":
                    target = self._principal(str(item.get("principalId")))
                else:
                    target = definitions.get(str(item.get("roleDefinitionId")), {"id": item.get("roleDefinitionId")})
                item[name] = self._project(target, select)
            return item

        return expand

    def role_assignments(self, call: _Call, match: re.Match[str]) -> Result:
        entity = "microsoft.graph.unifiedRoleAssignment"
        return self._collection(
            call,
            self.scenario.role_assignments,
            kind="roleAssignments",
            context="roleManagement/directory/roleAssignments",
            entity=entity,
            expand=self._role_expand(call, entity),
        )

    def role_eligibilities(self, call: _Call, match: re.Match[str]) -> Result:
        if not self.scenario.pim_licensed:
            raise GraphFailure(400, PIM_LICENCE_REQUIRED, PIM_LICENCE_MESSAGE)
        entity = "microsoft.graph.unifiedRoleEligibilityScheduleInstance"
        return self._collection(
            call,
            self.scenario.role_eligibilities,
            kind="roleEligibility",
            context="roleManagement/directory/roleEligibilityScheduleInstances",
            entity=entity,
            known=ROLE_ELIGIBILITY_PROPERTIES,
            expand=self._role_expand(call, entity),
        )

    def group_eligibilities(self, call: _Call, match: re.Match[str]) -> Result:
        """PIM for Groups: the list requires a ``groupId`` or ``principalId`` eq filter (Learn:
        privilegedaccessgroup-list-eligibilityscheduleinstances; the error text here is the sandbox's own)."""
        if not self.scenario.pim_licensed:
            raise GraphFailure(400, PIM_LICENCE_REQUIRED, PIM_LICENCE_MESSAGE)
        raw = call.param("$filter") or ""
        if not re.search(r"\b(groupId|principalId)\s+eq\s+'", raw):
            raise GraphFailure(
                400, "BadRequest", "The request must be filtered by groupId or principalId ($filter=groupId eq '...')."
            )
        entity = "microsoft.graph.privilegedAccessGroupEligibilityScheduleInstance"
        expand = self._role_expand(call, entity, ("principal",))
        return self._collection(
            call,
            self.scenario.group_eligibilities,
            kind="groupEligibility",
            context="identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
            entity=entity,
            known=GROUP_ELIGIBILITY_PROPERTIES,
            expand=expand,
        )

    # -- app consent and enterprise apps ---------------------------------------------------------------
    def authorization_policy(self, call: _Call, match: re.Match[str]) -> Result:
        """The tenant's one authorizationPolicy (v1.0: a singleton at /policies/authorizationPolicy)."""
        payload = {
            "@odata.context": f"{self.base_url}/{call.version}/$metadata#policies/authorizationPolicy/$entity",
            "id": "authorizationPolicy",
            "displayName": "Authorization Policy",
            "description": "Used to manage authorization related settings across the company.",
            "allowInvitesFrom": "everyone",
            "allowedToSignUpEmailBasedSubscriptions": True,
            "allowedToUseSSPR": True,
            "allowEmailVerifiedUsersToJoinOrganization": False,
            "allowUserConsentForRiskyApps": None,
            "blockMsolPowerShell": False,
            "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
            "defaultUserRolePermissions": {
                "allowedToCreateApps": True,
                "allowedToCreateSecurityGroups": True,
                "allowedToCreateTenants": True,
                "allowedToReadBitlockerKeysForOwnedDevice": True,
                "allowedToReadOtherUsers": True,
                "permissionGrantPoliciesAssigned": list(self.scenario.user_consent_policies),
            },
        }
        return Result(200, payload)

    def admin_consent_request_policy(self, call: _Call, match: re.Match[str]) -> Result:
        enabled = self.scenario.admin_consent_requests
        payload = {
            "@odata.context": f"{self.base_url}/{call.version}/$metadata#policies/adminConsentRequestPolicy/$entity",
            "isEnabled": enabled,
            "notifyReviewers": enabled,
            "remindersEnabled": enabled,
            "requestDurationInDays": 30 if enabled else 0,
            "version": 2 if enabled else 0,
            "reviewers": (
                [{"query": "/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq "
                  "'62e90394-69f5-4237-9190-012177145e10'", "queryType": "MicrosoftGraph", "queryRoot": None}]
                if enabled
                else []
            ),
        }  # fmt: skip
        return Result(200, payload)

    def _service_principals(self) -> list[JsonDict]:
        tenant = self.scenario.tenant_id
        graph: JsonDict = {
            "id": graph_service_principal_id(tenant),
            "appId": GRAPH_APP_ID,
            "displayName": "Microsoft Graph",
            "appDisplayName": "Microsoft Graph",
            "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",  # Microsoft's own tenant
            "servicePrincipalType": "Application",
            "accountEnabled": True,
            "appRoleAssignmentRequired": False,
            "tags": [],
            "keyCredentials": [],
            "passwordCredentials": [],
            "appRoles": [
                {
                    "allowedMemberTypes": ["Application"],
                    "description": f"Allows the app to use {value} without a signed-in user.",
                    "displayName": value,
                    "id": role_id,
                    "isEnabled": True,
                    "origin": "Application",
                    "value": value,
                }
                for role_id, value in GRAPH_APP_ROLES.items()
            ],
        }
        return [graph, *self.scenario.service_principals]

    def service_principals(self, call: _Call, match: re.Match[str]) -> Result:
        self._no_expand(call, "microsoft.graph.servicePrincipal")
        items = self._service_principals()
        return self._collection(
            call,
            items,
            kind="servicePrincipals",
            context="servicePrincipals",
            entity="microsoft.graph.servicePrincipal",
            known=SERVICE_PRINCIPAL_PROPERTIES,
            defaults=["id", "appId", "displayName", "appOwnerOrganizationId", "servicePrincipalType"],
        )

    def app_role_assigned_to(self, call: _Call, match: re.Match[str]) -> Result:
        sp_id = match["sid"]
        if sp_id not in {str(sp["id"]) for sp in self._service_principals()}:
            raise GraphFailure(404, "Request_ResourceNotFound", f"Resource '{sp_id}' does not exist.")
        grants = [g for g in self.scenario.graph_grants if str(g["resourceId"]) == sp_id]
        return self._collection(
            call,
            grants,
            kind="appRoleAssignedTo",
            context=f"servicePrincipals('{sp_id}')/appRoleAssignedTo",
            entity="microsoft.graph.appRoleAssignment",
        )

    def applications(self, call: _Call, match: re.Match[str]) -> Result:
        self._no_expand(call, "microsoft.graph.application")
        return self._collection(
            call,
            self.scenario.applications,
            kind="applications",
            context="applications",
            entity="microsoft.graph.application",
            known=APPLICATION_PROPERTIES,
        )

    # -- licences, devices, backup -------------------------------------------------------------------
    def subscribed_skus(self, call: _Call, match: re.Match[str]) -> Result:
        return self._collection(
            call,
            self.scenario.skus,
            kind="subscribedSkus",
            context="subscribedSkus",
            entity="microsoft.graph.subscribedSku",
        )

    def domains(self, call: _Call, match: re.Match[str]) -> Result:
        return self._collection(
            call,
            self.scenario.domains,
            kind="domains",
            context="domains",
            entity="microsoft.graph.domain",
            known=DOMAIN_PROPERTIES,
        )

    def _intune(self) -> None:
        if not self.scenario.intune_licensed:
            raise GraphFailure(400, "BadRequest", INTUNE_NOT_APPLICABLE)

    def managed_devices(self, call: _Call, match: re.Match[str]) -> Result:
        self._intune()
        known = set(self.scenario.managed_devices[0]) if self.scenario.managed_devices else None
        return self._collection(
            call,
            self.scenario.managed_devices,
            kind="managedDevices",
            context="deviceManagement/managedDevices",
            entity="microsoft.graph.managedDevice",
            known=known,
        )

    def protection_state(self, call: _Call, match: re.Match[str]) -> Result:
        """A managed device's ``windowsProtectionState`` (a contained navigation property). A device Intune has no
        report from (not Windows, never reported) answers 404, as a missing contained entity does."""
        self._intune()
        device_id = match["did"]
        if not any(str(d["id"]) == device_id for d in self.scenario.managed_devices):
            raise GraphFailure(404, "ResourceNotFound", f"Resource not found for the segment '{device_id}'.")
        state = self.scenario.protection_states.get(device_id)
        if state is None:
            raise GraphFailure(404, "ResourceNotFound", "Resource not found for the segment 'windowsProtectionState'.")
        select = self._select(call, "microsoft.graph.windowsProtectionState", PROTECTION_STATE_PROPERTIES)
        payload = {
            "@odata.context": f"{self.base_url}/{call.version}/$metadata#deviceManagement/managedDevices"
            f"('{device_id}')/windowsProtectionState/$entity"
        }
        payload.update(self._project({"@odata.type": "#microsoft.graph.windowsProtectionState", **state}, select))
        return Result(200, payload)

    def compliance_policies(self, call: _Call, match: re.Match[str]) -> Result:
        """``$expand=assignments`` (deviceCompliancePolicy's navigation property) adds each policy's assignments."""
        self._intune()
        expand = (call.param("$expand") or "").strip()
        if expand and expand != "assignments":
            name = expand.split("(", 1)[0].strip()
            raise GraphFailure(
                400,
                "BadRequest",
                f"Could not find a property named '{name}' on type 'microsoft.graph.deviceCompliancePolicy'.",
            )
        assignments = self.scenario.compliance_assignments

        def with_assignments(item: JsonDict) -> JsonDict:
            return {**item, "assignments": list(assignments.get(str(item["id"]), []))}

        return self._collection(
            call,
            self.scenario.compliance_policies,
            kind="compliancePolicies",
            context="deviceManagement/deviceCompliancePolicies",
            entity="microsoft.graph.deviceCompliancePolicy",
            expand=with_assignments if expand else None,
        )

    def compliance_policy_assignments(self, call: _Call, match: re.Match[str]) -> Result:
        self._intune()
        pid = match["pid"]
        if not any(str(p["id"]) == pid for p in self.scenario.compliance_policies):
            raise GraphFailure(404, "ResourceNotFound", f"DeviceCompliancePolicy '{pid}' was not found.")
        return self._collection(
            call,
            self.scenario.compliance_assignments.get(pid, []),
            kind="compliancePolicies",
            context=f"deviceManagement/deviceCompliancePolicies('{pid}')/assignments",
            entity="microsoft.graph.deviceCompliancePolicyAssignment",
        )

    def _backup_controller(self) -> None:
        """The Backup APIs answer only a registered Backup Controller application. What Graph sends then is not
        documented; the sandbox sends the same 403 as for a missing permission, the case a client cannot tell
        apart by the body (the scanner tells it by its token's roles)."""
        if not self.scenario.backup_controller:
            raise GraphFailure(403, DENIED, DENIED_MESSAGE)

    def backup_root(self, call: _Call, match: re.Match[str]) -> Result:
        self._backup_controller()
        status = dict(self.scenario.backup)
        if not self.scenario.backup_licensed:
            # no pay-as-you-go billing profile: the service cannot be enabled
            status.update({"status": "disabled", "disableReason": "invalidBillingProfile"})
        status.setdefault("disableReason", "none")
        status.setdefault("backupServiceConsumer", "firstparty" if status.get("status") != "disabled" else "unknown")
        return Result(
            200,
            {
                "@odata.context": f"{self.base_url}/{call.version}/$metadata#solutions/backupRestore/$entity",
                "id": self.scenario.tenant_id,
                "serviceStatus": status,
            },
        )

    def protection_policies(self, call: _Call, match: re.Match[str]) -> Result:
        self._backup_controller()
        kind = match["kind"]
        odata = {
            "exchange": "#microsoft.graph.exchangeProtectionPolicy",
            "sharePoint": "#microsoft.graph.sharePointProtectionPolicy",
            "oneDriveForBusiness": "#microsoft.graph.oneDriveForBusinessProtectionPolicy",
        }
        policies = self.scenario.backup_policies if self.scenario.backup_licensed else {}
        if kind == "protectionPolicies":
            items = [{"@odata.type": odata[w], **p} for w in odata for p in policies.get(w, [])]
        else:
            workload = kind.removesuffix("ProtectionPolicies")
            items = list(policies.get(workload, []))
        return self._collection(
            call,
            items,
            kind="protectionPolicies",
            context=f"solutions/backupRestore/{kind}",
            entity="microsoft.graph.protectionPolicyBase",
        )

    # -- the Office 365 active user report ------------------------------------------------------------
    def office365_active_users(self, call: _Call, match: re.Match[str]) -> Result:
        arg = match["arg"].replace(" ", "")
        period = re.fullmatch(r"period='D(7|30|90|180)'", arg)
        if period is None:
            raise GraphFailure(400, "BadRequest", "Invalid period: use period='D7', 'D30', 'D90' or 'D180'.")
        content = office365_active_user_csv(self.scenario, int(period[1]))
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._downloads = {k: v for k, v in self._downloads.items() if v[0] > now}
            self._downloads[token] = (now + DOWNLOAD_LIFETIME, content)
        # 302 to a pre-authenticated, short-lived download URL (no Authorization header needed there)
        return Result(
            302, None, {"Location": f"{self.base_url}{DOWNLOAD_PREFIX}{token}", "Content-Type": "text/plain"}, b""
        )

    def download(self, path: str) -> Reply:
        token = path[len(DOWNLOAD_PREFIX) :]
        with self._lock:
            entry = self._downloads.get(token)
        if entry is None or entry[0] < time.monotonic():
            return Reply(404, b"The download link is not valid or has expired.", {"Content-Type": "text/plain"})
        return Reply(
            200,
            entry[1],
            {"Content-Type": "application/octet-stream", "Content-Disposition": "attachment; filename=report.csv"},
        )

    # -- $batch ----------------------------------------------------------------------------------------
    def _batch(self, call: _Call, body: bytes) -> Result:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            raise GraphFailure(400, "BadRequest", "Invalid batch payload format.") from None
        requests = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(requests, list) or not requests:
            raise GraphFailure(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > BATCH_LIMIT:
            raise GraphFailure(
                400, "BadRequest", f"The batch request has {len(requests)} requests; the limit is {BATCH_LIMIT}."
            )
        ids = [str(r.get("id")) if isinstance(r, dict) else "" for r in requests]
        if len(set(ids)) != len(ids) or any(not i or i == "None" for i in ids):
            raise GraphFailure(400, "BadRequest", "Batch request ids must be present and unique.")
        responses = []
        for sub, sub_id in zip(requests, ids, strict=True):
            responses.append(self._batch_item(call, sub, sub_id))
        return Result(200, {"responses": responses})

    def _batch_item(self, call: _Call, sub: JsonDict, sub_id: str) -> JsonDict:
        method = str(sub.get("method", "")).upper()
        url = str(sub.get("url", ""))
        request_id = new_request_id()
        if not method or not url or url.lower().startswith(("http://", "https://")):
            body = graph_error_body(
                "BadRequest", "Invalid request: a relative url and a method are required.", request_id, None
            )
            return {"id": sub_id, "status": 400, "headers": {"Content-Type": "application/json"}, "body": body}
        path_part, _, query = url.lstrip("/").partition("?")
        resource = "/" + unquote(path_part)
        path = f"/{call.version}{resource}"
        if method != "GET":
            if self._on_refused is not None:
                self._on_refused(method, path)
            body = graph_error_body(
                "MethodNotAllowed", f"The sandbox is read-only: {method} refused.", request_id, None
            )
            return {"id": sub_id, "status": 405, "headers": {"Content-Type": "application/json"}, "body": body}
        sub_call = _Call(
            version=call.version,
            path=path,
            resource=resource,
            params=parse_qsl(query, keep_blank_values=True),
            token=call.token,
            request_id=request_id,
            client_request_id=None,
        )
        try:
            if resource == "/$batch":
                raise GraphFailure(400, "BadRequest", "A batch request cannot contain a batch request.")
            self._maybe_throttle()
            result = self._dispatch(sub_call)
        except GraphFailure as exc:
            result = Result(exc.status, graph_error_body(exc.code, exc.message, request_id, None), dict(exc.headers))
        headers = {"Content-Type": "application/json"} if result.payload is not None else {}
        headers.update({k: v for k, v in result.headers.items() if k in ("Retry-After", "Location")})
        item: JsonDict = {"id": sub_id, "status": result.status, "headers": headers}
        if result.payload is not None:
            item["body"] = result.payload
        return item


def _route(pattern: str, permission: str, handler: Handler, versions: tuple[str, ...] = ("v1.0", "beta")) -> _Route:
    return _Route(re.compile(pattern), permission, handler, versions)


ROUTES: tuple[_Route, ...] = (
    _route(r"^/users/?$", "users", GraphApi.users),
    _route(
        r"^/users/(?P<uid>[^/]+)/authentication/methods/?$", "authentication.methods", GraphApi.authentication_methods
    ),
    _route(
        r"^/users/(?P<uid>[^/]+)/authentication/requirements/?$",
        "authentication.requirements",
        GraphApi.authentication_requirements,
        ("beta",),
    ),
    _route(r"^/users/(?P<uid>[^/]+)/?$", "users", GraphApi.user),
    _route(
        r"^/reports/authenticationMethods/userRegistrationDetails/?$",
        "userRegistrationDetails",
        GraphApi.registration_details,
    ),
    _route(
        r"^/reports/authenticationMethods/userRegistrationDetails/(?P<uid>[^/]+)/?$",
        "userRegistrationDetails",
        GraphApi.registration_detail,
    ),
    _route(r"^/reports/getOffice365ActiveUserDetail\((?P<arg>[^)]*)\)/?$", "reports", GraphApi.office365_active_users),
    _route(r"^/policies/identitySecurityDefaultsEnforcementPolicy/?$", "securityDefaults", GraphApi.security_defaults),
    _route(r"^/identity/conditionalAccess/policies/?$", "conditionalAccess", GraphApi.ca_policies),
    _route(r"^/identity/conditionalAccess/policies/(?P<pid>[^/]+)/?$", "conditionalAccess", GraphApi.ca_policy),
    _route(
        r"^/groups/(?P<gid>[^/]+)/(?P<kind>transitiveMembers|members)(?:/(?P<cast>microsoft\.graph\.(?:user|group|device)))?/?$",
        "groups.members",
        GraphApi.group_members,
    ),
    _route(r"^/roleManagement/directory/roleDefinitions/?$", "roleManagement", GraphApi.role_definitions),
    _route(r"^/roleManagement/directory/roleAssignments/?$", "roleManagement", GraphApi.role_assignments),
    _route(
        r"^/roleManagement/directory/roleEligibilityScheduleInstances/?$",
        "roleEligibility",
        GraphApi.role_eligibilities,
    ),
    _route(
        r"^/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances/?$",
        "groupEligibility",
        GraphApi.group_eligibilities,
    ),
    _route(r"^/policies/authorizationPolicy/?$", "authorizationPolicy", GraphApi.authorization_policy),
    _route(
        r"^/policies/adminConsentRequestPolicy/?$", "adminConsentRequestPolicy", GraphApi.admin_consent_request_policy
    ),
    _route(r"^/servicePrincipals/?$", "applications", GraphApi.service_principals),
    _route(r"^/servicePrincipals/(?P<sid>[^/]+)/appRoleAssignedTo/?$", "applications", GraphApi.app_role_assigned_to),
    _route(r"^/applications/?$", "applications", GraphApi.applications),
    _route(r"^/subscribedSkus/?$", "subscribedSkus", GraphApi.subscribed_skus),
    _route(r"^/domains/?$", "domains", GraphApi.domains),
    _route(r"^/deviceManagement/managedDevices/?$", "managedDevices", GraphApi.managed_devices),
    _route(
        r"^/deviceManagement/managedDevices/(?P<did>[^/]+)/windowsProtectionState/?$",
        "managedDevices",
        GraphApi.protection_state,
    ),
    _route(r"^/deviceManagement/deviceCompliancePolicies/?$", "compliancePolicies", GraphApi.compliance_policies),
    _route(
        r"^/deviceManagement/deviceCompliancePolicies/(?P<pid>[^/]+)/assignments/?$",
        "compliancePolicies",
        GraphApi.compliance_policy_assignments,
    ),
    _route(r"^/solutions/backupRestore/?$", "backupRestore", GraphApi.backup_root),
    _route(
        r"^/solutions/backupRestore/(?P<kind>protectionPolicies|exchangeProtectionPolicies|"
        r"sharePointProtectionPolicies|oneDriveForBusinessProtectionPolicies)/?$",
        "protectionPolicies",
        GraphApi.protection_policies,
    ),
)


def _hidden(value: str) -> str:
    """How a concealed usage report shows a name: an opaque upper-case hex string."""
    return hashlib.sha256(value.casefold().encode()).hexdigest()[:32].upper()


def office365_active_user_csv(scenario: Scenario, period_days: int) -> bytes:
    """The Office 365 active user detail report as the download URL serves it (UTF-8 with BOM)."""
    refresh: date = (scenario.now - timedelta(days=2)).date()
    earliest = refresh - timedelta(days=period_days - 1)
    part_by_sku = {sku_id: part for part, (sku_id, _) in SKUS.items()}
    for sku in scenario.skus:
        part_by_sku.setdefault(str(sku["skuId"]), str(sku.get("skuPartNumber")))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(O365_COLUMNS)
    for user in scenario.users:
        upn = str(user.get("userPrincipalName", ""))
        parts = [part_by_sku.get(str(lic.get("skuId")), "") for lic in user.get("assignedLicenses") or []]
        has_exchange = any(p in _EXCHANGE_SKUS for p in parts)
        has_suite = any(p in _SUITE_SKUS for p in parts)
        licensed = {
            "Exchange": has_exchange,
            "OneDrive": has_suite,
            "SharePoint": has_suite,
            "Skype For Business": False,
            "Yammer": has_suite,
            "Teams": has_suite,
        }
        activity = scenario.office365_activity.get(upn, {})
        dates = []
        for workload in _WORKLOADS:
            value = activity.get(workload, "")
            if value:
                day = min(date.fromisoformat(value), refresh)
                value = day.isoformat() if day >= earliest else ""
            dates.append(value)
        created = str(user.get("createdDateTime") or "")[:10]
        assigned = [created if licensed[w] else "" for w in _WORKLOADS]
        products = "+".join(SKUS[p][1] if p in SKUS else p for p in parts if p)
        shown_upn = _hidden(upn) if scenario.conceal_report_names else upn
        shown_name = (
            _hidden(str(user.get("displayName", ""))) if scenario.conceal_report_names else user.get("displayName")
        )
        writer.writerow(
            [
                refresh.isoformat(),
                shown_upn,
                shown_name,
                "False",
                "",
                *(str(licensed[w]) for w in _WORKLOADS),
                *dates,
                *assigned,
                products,
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
