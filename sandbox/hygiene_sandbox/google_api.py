"""A fake Google OAuth token endpoint, Admin SDK Directory API and Cloud Identity devices API over a
:class:`~hygiene_sandbox.google.GoogleScenario`, served by the same :class:`~hygiene_sandbox.server.Sandbox`.

Paths are those google-api-python-client builds from its static discovery documents with
``client_options={"api_endpoint": sandbox.base_url}``: the Directory API's rootUrl is
``https://admin.googleapis.com/`` and its method paths start ``admin/directory/v1/``; Cloud Identity's rootUrl is
``https://cloudidentity.googleapis.com/`` with ``v1/devices``. The key file's ``token_uri`` is ``{base_url}/token``.

Wire behaviour, from Google's documentation where it says, and from observed responses where it does not:
- token endpoint (https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an RS256 ``assertion`` signed with the service
  account key, claims ``iss`` (the service account e-mail), ``scope`` (space-delimited), ``aud`` ("always
  https://oauth2.googleapis.com/token": google-auth sends that whatever the key file's token_uri says, so both
  are accepted), ``exp``/``iat`` (at most an hour apart) and, for domain-wide delegation, ``sub``. Answer
  ``{"access_token", "expires_in": 3599, "token_type": "Bearer"}``. If any requested scope is not granted to
  the client in domain-wide delegation the whole request is refused: 401 ``unauthorized_client`` "Client is
  unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes
  requested." (the documented error table). An unknown ``sub`` is 400 ``invalid_grant`` "Invalid email or
  User ID" (observed); a real user who is not an administrator gets a token, and then 403 ``forbidden`` "Not
  Authorized to access this resource/api" from the Directory API (observed, e.g.
  github.com/googleapis/google-api-php-client/issues/2564).
- errors (https://developers.google.com/workspace/admin/directory/v1/limits, https://cloud.google.com/apis/design/errors):
  ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status", "details"?}}``; Cloud
  Identity (a One Platform API) sends no ``errors`` list. A token without the scope the method needs: 403,
  message "Request had insufficient authentication scopes.", ``errors[0].reason`` ``insufficientPermissions``,
  status ``PERMISSION_DENIED``, ``details[0]`` an ErrorInfo with reason ``ACCESS_TOKEN_SCOPE_INSUFFICIENT``
  (observed bodies, e.g. github.com/analogdotnow/Analog/issues/296). No or a bad token: 401 ``UNAUTHENTICATED``
  (``required`` / ``authError``) with ``WWW-Authenticate: Bearer realm="https://accounts.google.com/"``.
- throttling: every ``throttle_every``-th API request is refused, alternately 429 ``rateLimitExceeded``
  (``RESOURCE_EXHAUSTED``, with ``Retry-After``) and 403 ``userRateLimitExceeded`` (no ``Retry-After``), the two
  forms the Directory API limits page and Google's quota errors use.
- paging: opaque ``pageToken``s bound to the query; ``maxResults`` above the method's maximum is a 400
  "Invalid value 'N'. Values must be within the range: [1, MAX]" (users 500, roles 100, role assignments 200,
  mobile 100, ChromeOS 300: the discovery documents' maxima and the chromeosdevices.list description).
  Cloud Identity ``pageSize`` defaults to 20 and "values above 100 will be coerced to 100".
- group members (``members.list``, maxResults at most 200): ``groupKey`` is a group's id or e-mail (404
  "Resource Not Found: groupKey" otherwise); ``includeDerivedMembership=true`` adds the members of nested groups,
  the nested groups themselves still listed; ``roles`` filters by OWNER/MANAGER/MEMBER.
- an API not enabled in the service account's Cloud project (``GoogleScenario.disabled_apis``): every call to it
  with a valid token is a 403 whose message says the API "has not been used in project N before or it is
  disabled", ``errors[0].reason`` ``accessNotConfigured`` (domain ``usageLimits``; Cloud Identity sends no
  ``errors``), status ``PERMISSION_DENIED`` and an ErrorInfo with reason ``SERVICE_DISABLED`` and metadata
  ``service``, ``consumer``, ``activationUrl``, ``containerInfo``, ``serviceTitle`` (observed bodies, e.g.
  github.com/google-gemini/gemini-cli/issues/1343, github.com/DeviaVir/terraform-provider-gsuite/issues/127).
- ``fields`` partial responses (https://developers.google.com/workspace/admin/directory/v1/guides/performance#partial):
  ``a,b``, ``a/b``, ``a(b,c)``, ``*``; selecting a field the resource does not have is a 400 "Invalid field
  selection NAME".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from hygiene_sandbox.expectation import JsonDict
from hygiene_sandbox.google import API_SERVICES, GoogleScenario, etag
from hygiene_sandbox.scenario import Scenario
from hygiene_sandbox.vendor import (
    GOOGLE_AUTH,
    SCOPE_CHROMEOS,
    SCOPE_CLOUD_IDENTITY_DEVICES,
    SCOPE_DOMAINS,
    SCOPE_GROUP_MEMBERS,
    SCOPE_MOBILE,
    SCOPE_ROLES,
    SCOPE_USERS,
)
from hygiene_sandbox.wire import Reply, json_reply

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: the ``aud`` Google requires in an access-token assertion
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
TOKEN_PATH = "/token"
TOKEN_LIFETIME = 3599
SKEW_SECONDS = 300
GOOGLE_JSON = "application/json; charset=UTF-8"
UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the "
    "scopes requested."
)
NOT_AUTHORIZED = "Not Authorized to access this resource/api"
INSUFFICIENT_SCOPES = "Request had insufficient authentication scopes."
_LOGIN_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
#: ``error.status``: the google.rpc.Code of each HTTP status (google/rpc/code.proto's "HTTP Mapping";
#: https://cloud.google.com/apis/design/errors#handling_errors). 405 is the sandbox's own read-only refusal, which
#: Google never sends (google.rpc.Code has no 405); UNIMPLEMENTED is the nearest code.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
#: query parameters every Google API accepts (https://cloud.google.com/apis/docs/system-parameters)
_SYSTEM_PARAMS = frozenset({"alt", "fields", "prettyPrint", "key", "quotaUser", "userIp", "$.xgafv", "callback"})


# -- tokens ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoogleToken:
    client_email: str
    #: the impersonated user (domain-wide delegation), None for the service account itself
    subject: str | None
    scopes: frozenset[str]
    expires_at: float


class GoogleTokenStore:
    """Access tokens issued by the fake token endpoint. Tokens are kept only as lookup keys."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, GoogleToken] = {}
        self._clock = clock
        self.issued = 0
        #: scopes of every token issued, in order (for tests: one token per scope)
        self.issued_scopes: list[frozenset[str]] = []

    def issue(self, client_email: str, subject: str | None, scopes: frozenset[str]) -> str:
        token = "ya29.c.b0" + secrets.token_urlsafe(96)
        with self._lock:
            self._tokens[token] = GoogleToken(client_email, subject, scopes, self._clock() + TOKEN_LIFETIME)
            self.issued += 1
            self.issued_scopes.append(scopes)
        return token

    def lookup(self, token: str) -> GoogleToken | None:
        with self._lock:
            return self._tokens.get(token)

    def now(self) -> float:
        return self._clock()

    def expire_all(self) -> None:
        with self._lock:
            self._tokens = {k: GoogleToken(v.client_email, v.subject, v.scopes, 0.0) for k, v in self._tokens.items()}


# -- errors -----------------------------------------------------------------------------------------------------------


class GoogleFailure(Exception):
    """An API error; ``one_platform`` bodies (Cloud Identity) carry no ``errors`` list."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str,
        *,
        item_message: str | None = None,
        domain: str = "global",
        details: list[JsonDict] | None = None,
        headers: dict[str, str] | None = None,
        location: tuple[str, str] | None = None,
        force_errors: bool = False,
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.item_message = item_message or message
        self.domain = domain
        self.details = details
        self.headers = headers or {}
        self.location = location
        self.force_errors = force_errors

    def body(self, *, one_platform: bool) -> JsonDict:
        error: JsonDict = {"code": self.code, "message": self.message}
        if not one_platform or self.force_errors:
            item: JsonDict = {"message": self.item_message, "domain": self.domain, "reason": self.reason}
            if self.location is not None:
                item["location"], item["locationType"] = self.location
            error["errors"] = [item]
        error["status"] = _STATUS_NAMES.get(self.code, "UNKNOWN")
        if self.details:
            error["details"] = self.details
        return {"error": error}


class OAuthFailure(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def _error_info(reason: str, service: str, method: str, **metadata: str) -> JsonDict:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": service, "method": method, **metadata},
    }


# -- partial responses (fields=) ---------------------------------------------------------------------------------------

FieldTree = dict[str, "FieldTree | None"]
_ANY = "<any>"


def _fields(names: str, kind: str | None = None) -> dict[str, str | None]:
    return dict.fromkeys(names.split(), kind)


#: response schemas (a subset of the discovery documents): field -> nested schema, None for scalars and
#: arrays of scalars, _ANY for nested objects whose inner fields are not validated
SCHEMAS: dict[str, dict[str, str | None]] = {
    "Users": {**_fields("kind etag nextPageToken trigger_event"), "users": "User"},
    "User": {
        **_fields(
            "agreedToTerms aliases archivalTime archived changePasswordAtNextLogin creationTime customerId "
            "deletionTime etag hashFunction id includeInGlobalAddressList ipWhitelisted isAdmin isDelegatedAdmin "
            "isEnforcedIn2Sv isEnrolledIn2Sv isGuestUser isMailboxSetup kind lastLoginTime nonEditableAliases "
            "orgUnitPath password primaryEmail recoveryEmail recoveryPhone suspended suspensionReason "
            "suspensionTime thumbnailPhotoEtag thumbnailPhotoUrl"
        ),
        **_fields(
            "addresses customSchemas emails externalIds gender guestAccountInfo ims keywords languages locations "
            "notes organizations phones posixAccounts relations sshPublicKeys websites",
            _ANY,
        ),
        "name": "UserName",
    },
    "UserName": _fields("displayName familyName fullName givenName"),
    "Roles": {**_fields("kind etag nextPageToken"), "items": "Role"},
    "Role": {
        **_fields("etag isSuperAdminRole isSystemRole kind roleDescription roleId roleName"),
        "rolePrivileges": _ANY,
    },
    "Members": {**_fields("kind etag nextPageToken"), "members": "Member"},
    "Domains2": {**_fields("kind etag"), "domains": "Domains"},
    "Domains": {**_fields("creationTime domainName etag isPrimary kind verified"), "domainAliases": "DomainAlias"},
    "DomainAlias": _fields("creationTime domainAliasName etag kind parentDomainName verified"),
    "Member": _fields("delivery_settings email etag id kind role status type"),
    "RoleAssignments": {**_fields("kind etag nextPageToken"), "items": "RoleAssignment"},
    "RoleAssignment": {
        **_fields("assignedTo assigneeType condition etag kind orgUnitId roleAssignmentId roleId scopeType"),
        "expirationDetails": _ANY,
    },
    "MobileDevices": {**_fields("kind etag nextPageToken"), "mobiledevices": "MobileDevice"},
    "MobileDevice": {
        **_fields(
            "adbStatus basebandVersion bootloaderVersion brand buildNumber defaultLanguage developerOptionsStatus "
            "deviceCompromisedStatus deviceId devicePasswordStatus email encryptionStatus etag firstSync hardware "
            "hardwareId imei kernelVersion kind lastSync managedAccountIsOnOwnerProfile manufacturer meid model "
            "name networkOperator os otherAccountsInfo privilege releaseVersion resourceId securityPatchLevel "
            "serialNumber status supportsWorkProfile type unknownSourcesStatus userAgent wifiMacAddress"
        ),
        "applications": _ANY,
    },
    "ChromeOsDevices": {**_fields("kind etag nextPageToken"), "chromeosdevices": "ChromeOsDevice"},
    "ChromeOsDevice": {
        **_fields(
            "annotatedAssetId annotatedLocation annotatedUser autoUpdateExpiration autoUpdateThrough bootMode "
            "chromeOsType deprovisionReason deviceId deviceLicenseType dockMacAddress etag ethernetMacAddress "
            "ethernetMacAddress0 extendedSupportEligible extendedSupportEnabled extendedSupportStart "
            "firmwareVersion firstEnrollmentTime kind lastDeprovisionTimestamp lastEnrollmentTime lastSync "
            "macAddress manufactureDate meid model notes orderNumber orgUnitId orgUnitPath osVersion "
            "osVersionCompliance platformVersion serialNumber status supportEndDate systemRamTotal willAutoRenew"
        ),
        **_fields(
            "activeTimeRanges backlightInfo bluetoothAdapterInfo cpuInfo cpuStatusReports deviceFiles "
            "diskSpaceUsage diskVolumeReports fanInfo lastKnownNetwork recentUsers screenshotFiles "
            "systemRamFreeReports tpmVersionInfo",
            _ANY,
        ),
        "osUpdateStatus": "OsUpdateStatus",
    },
    "OsUpdateStatus": _fields("rebootTime state targetKioskAppVersion targetOsVersion updateCheckTime updateTime"),
    "ListDevicesResponse": {"devices": "Device", "nextPageToken": None},
    "Device": {
        **_fields(
            "assetTag basebandVersion bootloaderVersion brand buildNumber compromisedState createTime deviceId "
            "deviceType enabledDeveloperOptions enabledUsbDebugging encryptionState hostname imei kernelVersion "
            "lastSyncTime managementState manufacturer meid model name networkOperator osVersion otherAccounts "
            "ownerType releaseVersion securityPatchTime serialNumber unifiedDeviceId wifiMacAddresses"
        ),
        **_fields("androidSpecificAttributes endpointVerificationSpecificAttributes", _ANY),
    },
}
_NAME = re.compile(r"\s*([A-Za-z_$][\w$.@-]*|\*)\s*")


class FieldMaskError(ValueError):
    pass


def parse_fields(text: str) -> FieldTree:
    """Parse a partial-response ``fields`` value into a tree (None: the whole value)."""
    pos = 0

    def name() -> str:
        nonlocal pos
        match = _NAME.match(text, pos)
        if match is None:
            raise FieldMaskError(text[pos:] or text)
        pos = match.end()
        return match[1]

    def peek() -> str:
        while pos < len(text) and text[pos].isspace():
            advance()
        return text[pos] if pos < len(text) else ""

    def advance() -> None:
        nonlocal pos
        pos += 1

    def item() -> FieldTree:
        path = [name()]
        while peek() == "/":
            advance()
            path.append(name())
        sub: FieldTree | None = None
        if peek() == "(":
            advance()
            sub = items()
            if peek() != ")":
                raise FieldMaskError(text)
            advance()
        tree: FieldTree = {path[-1]: sub}
        for part in reversed(path[:-1]):
            tree = {part: tree}
        return tree

    def items() -> FieldTree:
        tree = item()
        while peek() == ",":
            advance()
            tree = _merge(tree, item())
        return tree

    if not text.strip():
        raise FieldMaskError(text)
    result = items()
    if peek():
        raise FieldMaskError(text[pos:])
    return result


def _merge(left: FieldTree, right: FieldTree) -> FieldTree:
    merged: FieldTree = dict(left)
    for key, sub in right.items():
        if key not in merged:
            merged[key] = sub
            continue
        current = merged[key]
        merged[key] = None if current is None or sub is None else _merge(current, sub)
    return merged


def validate_fields(tree: FieldTree, schema: str, prefix: str = "") -> None:
    fields = SCHEMAS[schema]
    for key, sub in tree.items():
        if key == "*":
            continue
        if key not in fields:
            raise FieldMaskError(prefix + key)
        child = fields[key]
        if sub is None or child == _ANY:
            continue
        if child is None:
            raise FieldMaskError(f"{prefix}{key}/{next(iter(sub))}")
        validate_fields(sub, child, f"{prefix}{key}/")


def apply_fields(value: Any, tree: FieldTree | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out: JsonDict = {}
    for key, item in value.items():
        if key in tree:
            out[key] = apply_fields(item, tree[key])
        elif "*" in tree:
            out[key] = apply_fields(item, tree["*"])
        else:
            continue
        if isinstance(out[key], dict) and not out[key] and isinstance(item, dict) and item:
            del out[key]  # nothing selected inside a nested object: the object is left out
    return out


# -- the API --------------------------------------------------------------------------------------------------------


@dataclass
class _Call:
    path: str
    params: dict[str, str]
    token: GoogleToken
    one_platform: bool

    def get(self, name: str) -> str | None:
        return self.params.get(name)


Handler = Callable[["GoogleApi", _Call, "re.Match[str]"], JsonDict]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    #: scopes any one of which lets a token call the method (the discovery document's list)
    scopes: frozenset[str]
    handler: Handler
    #: ErrorInfo metadata for insufficient-scope errors
    service: str
    method: str
    #: may a delegated (not super) admin call it
    delegated_ok: bool = False


_USER_FLAGS = {
    "issuspended": "suspended",
    "isadmin": "isAdmin",
    "isdelegatedadmin": "isDelegatedAdmin",
    "isenrolledin2sv": "isEnrolledIn2Sv",
    "isenforcedin2sv": "isEnforcedIn2Sv",
    "isarchived": "archived",
}


def _field_key(name: str) -> Callable[[JsonDict], str]:
    def key(item: JsonDict) -> str:
        return str(item.get(name, "")).casefold()

    return key


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derived_members(google: GoogleScenario, direct: list[JsonDict]) -> list[JsonDict]:
    """A group's members with ``includeDerivedMembership``: the direct members, then the members of nested groups
    (breadth first), each id once; the nested groups themselves stay listed."""
    out: list[JsonDict] = []
    seen: set[str] = set()
    pending = list(direct)
    while pending:
        member = pending.pop(0)
        if str(member["id"]) in seen:
            continue
        seen.add(str(member["id"]))
        out.append(member)
        if member.get("type") == "GROUP":
            pending.extend(google.group_members.get(str(member["id"]), []))
    return out


class GoogleApi:
    """Answers Google token, Directory and Cloud Identity requests for one scenario. Thread-safe."""

    def __init__(
        self,
        scenario: Scenario,
        base_url: str,
        *,
        throttle_every: int = 0,
        retry_after: int = 1,
        tokens: GoogleTokenStore | None = None,
        page_limit: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens or GoogleTokenStore()
        #: the most items a page holds whatever maxResults says (Google may return fewer than asked for)
        self.page_limit = page_limit
        self.throttle_every = throttle_every
        self.retry_after = retry_after
        self.throttled = 0
        self._counter = 0
        self._hits = 0
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        self._public_key = scenario.google.public_key() if scenario.google is not None else None
        self._key_id = scenario.google.private_key_id if scenario.google is not None else None
        # accounts by primary e-mail and alias (casefolded), for subjects of tokens
        self._accounts: dict[str, JsonDict] = {}
        for user in scenario.google.users if scenario.google is not None else []:
            for address in (user.get("primaryEmail"), *(user.get("aliases") or [])):
                self._accounts.setdefault(str(address).casefold(), user)

    @property
    def google(self) -> GoogleScenario | None:
        return self.scenario.google

    @property
    def token_uri(self) -> str:
        return self.base_url + TOKEN_PATH

    # -- routing ----------------------------------------------------------------------------------------------
    @staticmethod
    def handles(path: str) -> bool:
        return (
            path == TOKEN_PATH or path.startswith("/admin/") or path == "/v1/devices" or path.startswith("/v1/devices/")
        )

    @staticmethod
    def is_token_endpoint(path: str) -> bool:
        return path == TOKEN_PATH

    def method_not_allowed(self, method: str, path: str) -> Reply:
        failure = GoogleFailure(405, f"The sandbox is read-only: {method} is refused.", "methodNotAllowed")
        return self._error_reply(failure, one_platform=path.startswith("/v1/"), extra={"Allow": "GET"})

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Reply:
        if path == TOKEN_PATH:
            if method != "POST":
                return self._oauth_error(OAuthFailure(405, "invalid_request", "The token endpoint only accepts POST."))
            return self._token(body)
        one_platform = path.startswith("/v1/")
        try:
            service = "cloudidentity.googleapis.com" if one_platform else _ADMIN
            token = self._authenticate(headers, service)
            self._service_enabled(service)
            self._maybe_throttle(one_platform)
            params = dict(parse_qsl(query, keep_blank_values=True))
            alt = params.get("alt", "json")
            if alt != "json":
                raise GoogleFailure(400, f"Invalid value '{alt}' for parameter alt.", "invalid")
            for route in ROUTES:
                match = route.pattern.match(path)
                if match is None:
                    continue
                call = _Call(path, params, token, one_platform)
                self._authorise(route, call)
                payload = route.handler(self, call, match)
                return self._reply(200, self._partial(call, payload, route))
            raise GoogleFailure(404, f"Method not found: {path}", "notFound")
        except GoogleFailure as failure:
            return self._error_reply(failure, one_platform=one_platform)

    def fault_reply(self, status: int, retry_after: int | None, path: str) -> Reply:
        """A throttling (429), unavailable (503) or internal (500) error as Google sends it (chaos mode)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 429:
            failure = GoogleFailure(
                429,
                "Quota exceeded for quota metric 'Queries'.",
                "rateLimitExceeded",
                headers=headers,
                force_errors=True,
            )
        elif status == 503:
            failure = GoogleFailure(503, "The service is currently unavailable.", "backendError", headers=headers)
        else:
            failure = GoogleFailure(500, "Internal error encountered.", "backendError", headers=headers)
        return self._error_reply(failure, one_platform=path.startswith("/v1/"))

    def _reply(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> Reply:
        headers = {"Cache-Control": "private", "Vary": "Origin, X-Origin, Referer", "Server": "ESF"}
        if extra:
            headers.update(extra)
        return json_reply(status, payload, content_type=GOOGLE_JSON, headers=headers)

    def _error_reply(self, failure: GoogleFailure, *, one_platform: bool, extra: dict[str, str] | None = None) -> Reply:
        headers = dict(failure.headers)
        if extra:
            headers.update(extra)
        return self._reply(failure.code, failure.body(one_platform=one_platform), headers)

    # -- the token endpoint -----------------------------------------------------------------------------------------
    def _oauth_error(self, failure: OAuthFailure) -> Reply:
        return json_reply(
            failure.status,
            {"error": failure.error, "error_description": failure.description},
            content_type=GOOGLE_JSON,
            headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"},
        )

    def _token(self, body: bytes) -> Reply:
        try:
            return self._issue(body)
        except OAuthFailure as failure:
            return self._oauth_error(failure)

    def _issue(self, body: bytes) -> Reply:
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            raise OAuthFailure(400, "invalid_request", "The request body must be form-encoded.") from None
        grant = form.get("grant_type")
        if not grant:
            raise OAuthFailure(400, "invalid_request", "Required parameter is missing: grant_type")
        if grant != JWT_BEARER_GRANT:
            raise OAuthFailure(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthFailure(400, "invalid_request", "Required parameter is missing: assertion")
        google = self.google
        if google is None or self._public_key is None:
            raise OAuthFailure(400, "invalid_grant", "Invalid grant: account not found")
        claims = self._verify_assertion(assertion, google)
        scope = claims.get("scope")
        scopes = frozenset(str(scope).split()) if isinstance(scope, str) else frozenset()
        if not scopes:
            raise OAuthFailure(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        subject = claims.get("sub")
        if subject is not None:
            if not isinstance(subject, str):
                raise OAuthFailure(400, "invalid_grant", "Invalid email or User ID")
            account = self._accounts.get(subject.casefold())
            if account is None:
                raise OAuthFailure(400, "invalid_grant", "Invalid email or User ID")
            subject = str(account["primaryEmail"])
            # domain-wide delegation: every requested scope must be granted, or no token at all
            if not scopes <= google.authorized_scopes:
                raise OAuthFailure(401, "unauthorized_client", UNAUTHORIZED_CLIENT)
        token = self.tokens.issue(google.client_email, subject, scopes)
        return json_reply(
            200,
            {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"},
            content_type=GOOGLE_JSON,
            headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"},
        )

    def _verify_assertion(self, assertion: str, google: GoogleScenario) -> JsonDict:
        parts = assertion.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not a JWS")
            header = json.loads(_b64d(parts[0]))
            claims = json.loads(_b64d(parts[1]))
            signature = _b64d(parts[2])
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError("not JSON objects")
        except (ValueError, UnicodeDecodeError):
            raise OAuthFailure(400, "invalid_grant", "Invalid JWT: Failed to parse the assertion.") from None
        if claims.get("iss") != google.client_email:
            raise OAuthFailure(400, "invalid_grant", "Invalid grant: account not found")
        kid = header.get("kid")
        if header.get("alg") != "RS256" or (kid is not None and kid != self._key_id):
            raise OAuthFailure(400, "invalid_grant", "Invalid JWT Signature.")
        assert self._public_key is not None
        try:
            self._public_key.verify(
                signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise OAuthFailure(400, "invalid_grant", "Invalid JWT Signature.") from None
        aud = claims.get("aud")
        if aud not in (GOOGLE_TOKEN_URL, self.token_uri):
            raise OAuthFailure(400, "invalid_grant", f"Invalid JWT: the audience must be {GOOGLE_TOKEN_URL}.")
        now = self.tokens.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
            or exp - iat > 3600
            or exp < iat
            or iat - SKEW_SECONDS > now
            or exp + SKEW_SECONDS < now
        ):
            raise OAuthFailure(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check "
                "your iat and exp values in the JWT claim.",
            )
        return claims

    # -- authentication, authorisation, throttling -----------------------------------------------------------------
    def _authenticate(self, headers: Mapping[str, str], service: str) -> GoogleToken:
        value = headers.get("authorization") or headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GoogleFailure(
                401,
                "Request is missing required authentication credential. " + _LOGIN_HELP,
                "required",
                item_message="Login Required.",
                headers=dict(_CHALLENGE),
                location=("Authorization", "header"),
                details=[_error_info("CREDENTIALS_MISSING", service, "")],
            )
        issued = self.tokens.lookup(token.strip())
        if issued is None or issued.expires_at <= self.tokens.now():
            raise GoogleFailure(
                401,
                "Request had invalid authentication credentials. " + _LOGIN_HELP,
                "authError",
                item_message="Invalid Credentials",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
                location=("Authorization", "header"),
                details=[
                    _error_info("ACCESS_TOKEN_EXPIRED" if issued else "ACCESS_TOKEN_TYPE_UNSUPPORTED", service, "")
                ],
            )
        return issued

    def _authorise(self, route: _Route, call: _Call) -> None:
        if not route.scopes & call.token.scopes:
            raise GoogleFailure(
                403,
                INSUFFICIENT_SCOPES,
                "insufficientPermissions",
                item_message="Insufficient Permission",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope", '
                    f'scope="{" ".join(sorted(route.scopes))}"'
                },
                details=[_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", route.service, route.method)],
            )
        subject = call.token.subject
        user = self._accounts.get(subject.casefold()) if subject is not None else None
        # the Admin SDK acts with the impersonated admin's privileges: super admins read everything; other admin
        # roles are approximated as "may read users"; anyone else, or the service account itself, is refused
        allowed = (
            user is not None
            and not user.get("suspended")
            and (bool(user.get("isAdmin")) or (route.delegated_ok and bool(user.get("isDelegatedAdmin"))))
        )
        if not allowed:
            if call.one_platform:
                raise GoogleFailure(403, "The caller does not have permission", "forbidden")
            raise GoogleFailure(403, NOT_AUTHORIZED, "forbidden")

    def _service_enabled(self, service: str) -> None:
        """Google's answer when the API is not enabled in the Cloud project of the caller's service account."""
        google = self.google
        if google is None or service not in google.disabled_apis:
            return
        title = API_SERVICES.get(service, service)
        project = google.project_number
        activation = f"https://console.developers.google.com/apis/api/{service}/overview?project={project}"
        message = (
            f"{title} has not been used in project {project} before or it is disabled. Enable it by visiting "
            f"{activation} then retry. If you enabled this API recently, wait a few minutes for the action to "
            "propagate to our systems and retry."
        )
        raise GoogleFailure(
            403,
            message,
            "accessNotConfigured",
            domain="usageLimits",
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com",
                    "metadata": {
                        "service": service,
                        "consumer": f"projects/{project}",
                        "activationUrl": activation,
                        "containerInfo": project,
                        "serviceTitle": title,
                    },
                }
            ],
        )

    def _maybe_throttle(self, one_platform: bool) -> None:
        if self.throttle_every <= 0:
            return
        with self._lock:
            self._counter += 1
            hit = self._counter % self.throttle_every == 0
            if hit:
                self.throttled += 1
                self._hits += 1
            odd = self._hits % 2 == 1
        if not hit:
            return
        service = "cloudidentity.googleapis.com" if one_platform else "admin.googleapis.com"
        if odd:
            message = (
                f"Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service "
                f"'{service}' for consumer 'project_number:000000000000'."
            )
            raise GoogleFailure(
                429,
                message,
                "rateLimitExceeded",
                headers={"Retry-After": str(self.retry_after)},
                details=[_error_info("RATE_LIMIT_EXCEEDED", service, "", quota_metric=f"{service}/default",
                                     quota_limit="defaultPerMinutePerUser", consumer="projects/000000000000")],
                force_errors=True,
            )  # fmt: skip
        # https://developers.google.com/workspace/admin/directory/v1/limits: 403 userRateLimitExceeded
        raise GoogleFailure(
            403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits", force_errors=True
        )

    # -- helpers -------------------------------------------------------------------------------------------------
    def _customer(self, value: str | None, *, one_platform: bool = False) -> GoogleScenario:
        google = self.google
        if google is None:
            raise GoogleFailure(404, "The sandbox scenario has no Google Workspace customer.", "notFound")
        if value is None or value == "":
            raise GoogleFailure(400, "Bad Request", "badRequest")
        if value not in ("my_customer", google.customer_id):
            if one_platform:
                raise GoogleFailure(403, "The caller does not have permission", "forbidden")
            raise GoogleFailure(403, NOT_AUTHORIZED, "forbidden")
        return google

    @staticmethod
    def _int(call: _Call, name: str, default: int, maximum: int) -> int:
        raw = call.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1 or value > maximum:
            raise GoogleFailure(
                400,
                f"Invalid value '{raw}'. Values must be within the range: [1, {maximum}]",
                "invalid",
                location=(name, "parameter"),
            )
        return value

    def _canonical(self, call: _Call) -> str:
        kept = sorted(
            (k, v)
            for k, v in call.params.items()
            if k not in _SYSTEM_PARAMS and k not in ("pageToken", "maxResults", "pageSize")
        )
        return call.path + "?" + json.dumps(kept)

    def _page_token(self, call: _Call, offset: int) -> str:
        mac = hmac.new(self._key, f"{self._canonical(call)}#{offset}".encode(), hashlib.sha256).digest()[:15]
        return _b64e(b"\x01" + offset.to_bytes(4, "big") + mac)

    def _offset(self, call: _Call) -> int:
        token = call.get("pageToken")
        if not token:
            return 0
        try:
            raw = _b64d(token)
        except ValueError:
            raw = b""
        if len(raw) == 20 and raw[0] == 1:
            offset = int.from_bytes(raw[1:5], "big")
            mac = hmac.new(self._key, f"{self._canonical(call)}#{offset}".encode(), hashlib.sha256).digest()[:15]
            if hmac.compare_digest(mac, raw[5:]):
                return offset
        raise GoogleFailure(400, "Invalid page token.", "invalid", location=("pageToken", "parameter"))

    def _page(self, call: _Call, items: list[JsonDict], size: int) -> tuple[list[JsonDict], str | None]:
        offset = self._offset(call)
        if self.page_limit:
            size = min(size, self.page_limit)
        page = items[offset : offset + size]
        after = offset + len(page)
        return page, self._page_token(call, after) if after < len(items) else None

    def _directory_list(
        self, call: _Call, items: list[JsonDict], *, kind: str, key: str, default: int, maximum: int
    ) -> JsonDict:
        size = self._int(call, "maxResults", default, maximum)
        page, token = self._page(call, items, size)
        body: JsonDict = {"kind": kind, "etag": etag(kind, call.path, str(len(items)))}
        body[key] = page
        if token:
            body["nextPageToken"] = token
        return body

    def _partial(self, call: _Call, payload: JsonDict, route: _Route) -> Any:
        raw = call.get("fields")
        if raw is None:
            return payload
        schema = _RESPONSE_SCHEMA[route.method]
        try:
            tree = parse_fields(raw)
            validate_fields(tree, schema)
        except FieldMaskError as exc:
            raise GoogleFailure(
                400, f"Invalid field selection {exc}", "invalidParameter", location=("fields", "parameter")
            ) from None
        return apply_fields(payload, tree)

    @staticmethod
    def _sorted(items: list[JsonDict], call: _Call, keys: Mapping[str, Callable[[JsonDict], Any]]) -> list[JsonDict]:
        order = call.get("orderBy")
        if order:
            if order not in keys:
                raise GoogleFailure(400, f"Invalid value '{order}' for orderBy.", "invalid")
            items = sorted(items, key=keys[order])
        if (call.get("sortOrder") or "ASCENDING").upper() == "DESCENDING":
            items = list(reversed(items))
        return items

    # -- Directory API ---------------------------------------------------------------------------------------------
    def users(self, call: _Call, match: re.Match[str]) -> JsonDict:
        google = self.google
        if google is None:
            raise GoogleFailure(404, "The sandbox scenario has no Google Workspace customer.", "notFound")
        customer, domain = call.get("customer"), call.get("domain")
        if customer:
            self._customer(customer)
        elif domain:
            if domain.casefold() != google.domain.casefold():
                raise GoogleFailure(403, NOT_AUTHORIZED, "forbidden")
        else:
            raise GoogleFailure(400, "Bad Request", "badRequest")
        users = list(google.users)
        if domain:
            users = [u for u in users if str(u.get("primaryEmail", "")).casefold().endswith("@" + domain.casefold())]
        if call.get("showDeleted") == "true":
            users = []  # the scenarios hold no deleted users
        users = self._user_query(users, call.get("query"))
        users = self._sorted(
            users,
            call,
            {
                "email": lambda u: str(u.get("primaryEmail", "")).casefold(),
                "givenName": lambda u: str((u.get("name") or {}).get("givenName", "")).casefold(),
                "familyName": lambda u: str((u.get("name") or {}).get("familyName", "")).casefold(),
            },
        )
        if call.get("viewType") == "domain_public":
            public = ("kind", "id", "etag", "primaryEmail", "name", "emails", "thumbnailPhotoUrl", "thumbnailPhotoEtag")
            users = [{k: u[k] for k in public if k in u} for u in users]
        return self._directory_list(call, users, kind="admin#directory#users", key="users", default=100, maximum=500)

    @staticmethod
    def _user_query(users: list[JsonDict], query: str | None) -> list[JsonDict]:
        """A small part of the user search syntax: ``isSuspended=false isAdmin=true orgUnitPath='/Sales'``."""
        if not query or not query.strip():
            return users
        for term in re.findall(r"""\S+?[=:](?:'[^']*'|"[^"]*"|\S+)""", query):
            name, _, value = re.split(r"([=:])", term, maxsplit=1)
            value = value.strip("'\"")
            if name.casefold() == "orgunitpath":
                users = [u for u in users if str(u.get("orgUnitPath", "/")).casefold() == value.casefold()]
            elif name.casefold() in _USER_FLAGS and value.lower() in ("true", "false"):
                field = _USER_FLAGS[name.casefold()]
                users = [u for u in users if bool(u.get(field)) == (value.lower() == "true")]
            else:
                raise GoogleFailure(400, "Invalid Input", "invalid", location=("query", "parameter"))
        return users

    def roles(self, call: _Call, match: re.Match[str]) -> JsonDict:
        google = self._customer(match["customer"])
        return self._directory_list(
            call, list(google.roles), kind="admin#directory#roles", key="items", default=100, maximum=100
        )

    def role_assignments(self, call: _Call, match: re.Match[str]) -> JsonDict:
        google = self._customer(match["customer"])
        items = list(google.role_assignments)
        role_id, user_key = call.get("roleId"), call.get("userKey")
        if role_id:
            items = [a for a in items if str(a.get("roleId")) == role_id]
        if user_key:
            try:
                uid = str(google.user(user_key)["id"]) if "@" in user_key else user_key
            except KeyError:
                raise GoogleFailure(404, "Resource Not Found: userKey", "notFound") from None
            items = [a for a in items if str(a.get("assignedTo")) == uid]
        return self._directory_list(
            call, items, kind="admin#directory#roleAssignments", key="items", default=100, maximum=200
        )

    def domains(self, call: _Call, match: re.Match[str]) -> JsonDict:
        """``domains.list``: not paged (the ``Domains2`` schema has no nextPageToken)."""
        google = self._customer(match["customer"])
        return {"kind": "admin#directory#domains", "etag": '"domains"', "domains": list(google.domains)}

    def group_members(self, call: _Call, match: re.Match[str]) -> JsonDict:
        google = self.google
        if google is None:
            raise GoogleFailure(404, "The sandbox scenario has no Google Workspace customer.", "notFound")
        group = self._group(google, unquote(match["group"]))
        items = list(google.group_members.get(str(group["id"]), []))
        if call.get("includeDerivedMembership") == "true":
            items = derived_members(google, items)
        roles = call.get("roles")
        if roles:
            wanted = {r.strip().upper() for r in roles.split(",")}
            items = [m for m in items if str(m.get("role", "MEMBER")) in wanted]
        return self._directory_list(
            call, items, kind="admin#directory#members", key="members", default=200, maximum=200
        )

    @staticmethod
    def _group(google: GoogleScenario, key: str) -> JsonDict:
        wanted = key.casefold()
        for group in google.groups:
            if str(group["id"]).casefold() == wanted or str(group.get("email", "")).casefold() == wanted:
                return group
        raise GoogleFailure(404, "Resource Not Found: groupKey", "notFound")

    def mobile_devices(self, call: _Call, match: re.Match[str]) -> JsonDict:
        google = self._customer(match["customer"])
        if call.get("query"):
            raise GoogleFailure(400, "Invalid Input: the sandbox does not implement device searches", "invalid")
        items = self._sorted(
            list(google.mobile_devices),
            call,
            {
                "deviceId": lambda d: str(d.get("deviceId", "")),
                "email": lambda d: str((d.get("email") or [""])[0]).casefold(),
                "lastSync": lambda d: str(d.get("lastSync", "")),
                "model": lambda d: str(d.get("model", "")).casefold(),
                "name": lambda d: str((d.get("name") or [""])[0]).casefold(),
                "os": lambda d: str(d.get("os", "")),
                "status": lambda d: str(d.get("status", "")),
                "type": lambda d: str(d.get("type", "")),
            },
        )
        if (call.get("projection") or "FULL") == "BASIC":
            items = [{k: d[k] for k in _MOBILE_BASIC if k in d} for d in items]
        return self._directory_list(
            call, items, kind="admin#directory#mobiledevices", key="mobiledevices", default=100, maximum=100
        )

    def chromeos_devices(self, call: _Call, match: re.Match[str]) -> JsonDict:
        google = self._customer(match["customer"])
        if call.get("query"):
            raise GoogleFailure(400, "Invalid Input: the sandbox does not implement device searches", "invalid")
        items = list(google.chromeos_devices)
        org_unit = call.get("orgUnitPath")
        if org_unit:
            children = call.get("includeChildOrgunits") == "true"
            prefix = org_unit.rstrip("/") + "/"
            items = [
                d
                for d in items
                if str(d.get("orgUnitPath")) == org_unit or (children and str(d.get("orgUnitPath")).startswith(prefix))
            ]
        items = self._sorted(
            items,
            call,
            {
                name: _field_key(name)
                for name in ("annotatedLocation", "annotatedUser", "lastSync", "notes", "serialNumber", "status")
            },
        )
        if (call.get("projection") or "FULL") == "BASIC":
            items = [{k: d[k] for k in _CHROMEOS_BASIC if k in d} for d in items]
        # "Value should not exceed 300" (chromeosdevices.list maxResults)
        return self._directory_list(
            call, items, kind="admin#directory#chromeosdevices", key="chromeosdevices", default=100, maximum=300
        )

    # -- Cloud Identity ---------------------------------------------------------------------------------------------
    def ci_devices(self, call: _Call, match: re.Match[str]) -> JsonDict:
        customer = call.get("customer")
        if customer:
            if not customer.startswith("customers/"):
                raise GoogleFailure(400, "Request contains an invalid argument.", "badRequest")
            google = self._customer(customer.removeprefix("customers/"), one_platform=True)
        else:
            google = self._customer("my_customer", one_platform=True)
        raw = call.get("pageSize")
        try:
            size = int(raw) if raw else 0
        except ValueError:
            raise GoogleFailure(400, f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"", "badRequest") from None
        if size < 0:
            raise GoogleFailure(400, "Request contains an invalid argument.", "badRequest")
        # "If unspecified, at most 20 Devices will be returned. The maximum value is 100; values above 100 will be
        # coerced to 100." (devices.list pageSize)
        size = 20 if size == 0 else min(size, 100)
        items = self._ci_filter(list(google.ci_devices), call.get("filter"))
        page, token = self._page(call, items, size)
        body: JsonDict = {"devices": page}
        if token:
            body["nextPageToken"] = token
        return body

    @staticmethod
    def _ci_filter(items: list[JsonDict], text: str | None) -> list[JsonDict]:
        """A small part of the device search syntax: ``type:windows serial:ABC model:pixel os:14``."""
        if not text or not text.strip():
            return items
        fields = {"type": "deviceType", "serial": "serialNumber", "model": "model", "os": "osVersion"}
        for term in text.split():
            name, sep, value = term.partition(":")
            if not sep or name.lower() not in fields:
                raise GoogleFailure(400, "Request contains an invalid argument.", "badRequest")
            key = fields[name.lower()]
            wanted = value.strip("'\"").casefold().replace("macos", "mac_os")
            if key == "deviceType":
                items = [d for d in items if str(d.get(key, "")).casefold() == wanted]
            else:
                items = [d for d in items if wanted in str(d.get(key, "")).casefold()]
        return items


#: projection=BASIC fields ("Includes only the basic metadata fields (e.g., deviceId, model, status, type, and
#: status)" / "(e.g., deviceId, serialNumber, status, and user)": the exact lists are not documented)
_MOBILE_BASIC = ("kind", "etag", "resourceId", "deviceId", "name", "email", "model", "os", "type", "status",
                 "firstSync", "lastSync", "userAgent")  # fmt: skip
_CHROMEOS_BASIC = ("kind", "etag", "deviceId", "serialNumber", "status", "annotatedUser", "annotatedLocation",
                   "annotatedAssetId", "notes", "orgUnitPath", "orgUnitId", "model", "lastSync")  # fmt: skip

_ADMIN = "admin.googleapis.com"
_DIRECTORY = "ccc.hosted.frontend.directory.v1."
ROUTES: tuple[_Route, ...] = (
    _Route(
        re.compile(r"^/admin/directory/v1/users/?$"),
        frozenset({SCOPE_USERS, GOOGLE_AUTH + "admin.directory.user", GOOGLE_AUTH + "cloud-platform"}),
        GoogleApi.users,
        _ADMIN,
        _DIRECTORY + "DirectoryUsers.List",
        delegated_ok=True,
    ),
    _Route(
        re.compile(r"^/admin/directory/v1/customer/(?P<customer>[^/]+)/roleassignments/?$"),
        frozenset({SCOPE_ROLES, GOOGLE_AUTH + "admin.directory.rolemanagement"}),
        GoogleApi.role_assignments,
        _ADMIN,
        _DIRECTORY + "DirectoryRoleAssignments.List",
    ),
    _Route(
        re.compile(r"^/admin/directory/v1/customer/(?P<customer>[^/]+)/roles/?$"),
        frozenset({SCOPE_ROLES, GOOGLE_AUTH + "admin.directory.rolemanagement"}),
        GoogleApi.roles,
        _ADMIN,
        _DIRECTORY + "DirectoryRoles.List",
    ),
    _Route(
        re.compile(r"^/admin/directory/v1/customer/(?P<customer>[^/]+)/domains/?$"),
        frozenset({SCOPE_DOMAINS, GOOGLE_AUTH + "admin.directory.domain"}),
        GoogleApi.domains,
        _ADMIN,
        _DIRECTORY + "DirectoryDomains.List",
    ),
    _Route(
        re.compile(r"^/admin/directory/v1/groups/(?P<group>[^/]+)/members/?$"),
        # members.list scopes in the discovery document
        frozenset(
            {
                SCOPE_GROUP_MEMBERS,
                GOOGLE_AUTH + "admin.directory.group.member",
                GOOGLE_AUTH + "admin.directory.group",
                GOOGLE_AUTH + "admin.directory.group.readonly",
            }
        ),
        GoogleApi.group_members,
        _ADMIN,
        _DIRECTORY + "DirectoryMembers.List",
    ),
    _Route(
        re.compile(r"^/admin/directory/v1/customer/(?P<customer>[^/]+)/devices/mobile/?$"),
        frozenset(
            {
                SCOPE_MOBILE,
                GOOGLE_AUTH + "admin.directory.device.mobile",
                GOOGLE_AUTH + "admin.directory.device.mobile.action",
            }
        ),
        GoogleApi.mobile_devices,
        _ADMIN,
        _DIRECTORY + "DirectoryMobiledevices.List",
    ),
    _Route(
        re.compile(r"^/admin/directory/v1/customer/(?P<customer>[^/]+)/devices/chromeos/?$"),
        frozenset({SCOPE_CHROMEOS, GOOGLE_AUTH + "admin.directory.device.chromeos"}),
        GoogleApi.chromeos_devices,
        _ADMIN,
        _DIRECTORY + "DirectoryChromeosdevices.List",
    ),
    _Route(
        re.compile(r"^/v1/devices/?$"),
        frozenset({SCOPE_CLOUD_IDENTITY_DEVICES, GOOGLE_AUTH + "cloud-identity.devices"}),
        GoogleApi.ci_devices,
        "cloudidentity.googleapis.com",
        "google.apps.cloudidentity.devices.v1.DevicesService.ListDevices",
    ),
)
_RESPONSE_SCHEMA = {
    _DIRECTORY + "DirectoryUsers.List": "Users",
    _DIRECTORY + "DirectoryRoleAssignments.List": "RoleAssignments",
    _DIRECTORY + "DirectoryRoles.List": "Roles",
    _DIRECTORY + "DirectoryMembers.List": "Members",
    _DIRECTORY + "DirectoryDomains.List": "Domains2",
    _DIRECTORY + "DirectoryMobiledevices.List": "MobileDevices",
    _DIRECTORY + "DirectoryChromeosdevices.List": "ChromeOsDevices",
    "google.apps.cloudidentity.devices.v1.DevicesService.ListDevices": "ListDevicesResponse",
}
