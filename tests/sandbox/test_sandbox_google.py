"""The Google Workspace side of the sandbox, exercised over real HTTPS with google-auth, google-api-python-client
(httplib2) and requests, exactly as the scanner talks to Google."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from hygiene_sandbox import Sandbox, Scenario, generate, northwind
from hygiene_sandbox.google import GOOGLE_CHECK_IDS, GoogleScenario
from hygiene_sandbox.google_api import GOOGLE_TOKEN_URL, FieldMaskError, apply_fields, parse_fields
from hygiene_sandbox.vendor import (
    GOOGLE_NEVER,
    GOOGLE_SCOPES,
    SCOPE_CHROMEOS,
    SCOPE_CLOUD_IDENTITY_DEVICES,
    SCOPE_GROUP_MEMBERS,
    SCOPE_MOBILE,
    SCOPE_ROLES,
    SCOPE_USERS,
)

NOW = datetime.now(UTC)
DOMAIN = "northwind-leeds.example"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return northwind(NOW)


@pytest.fixture(scope="module")
def sandbox(scenario: Scenario) -> Iterator[Sandbox]:
    with Sandbox(scenario) as running:
        yield running


def _google(scenario: Scenario) -> GoogleScenario:
    assert scenario.google is not None
    return scenario.google


def _session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise win over Session.verify
    session.verify = str(sandbox.ca_file)
    return session


def _credentials(sandbox: Sandbox, scope: str, subject: str | None = None) -> service_account.Credentials:
    google = _google(sandbox.scenario)
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        sandbox.google_service_account_info(), scopes=[scope]
    )
    delegated: service_account.Credentials = credentials.with_subject(subject or google.delegated_admin)
    return delegated


def _service(sandbox: Sandbox, api: str, version: str, scope: str, subject: str | None = None) -> Any:
    http = AuthorizedHttp(
        _credentials(sandbox, scope, subject), http=httplib2.Http(ca_certs=str(sandbox.ca_file), timeout=10)
    )
    return build(
        api,
        version,
        http=http,
        client_options={"api_endpoint": sandbox.google_api_endpoint},
        static_discovery=True,
        cache_discovery=False,
    )


def _directory(sandbox: Sandbox, scope: str, subject: str | None = None) -> Any:
    return _service(sandbox, "admin", "directory_v1", scope, subject)


def _token(sandbox: Sandbox, scope: str, subject: str | None = None) -> str:
    credentials = _credentials(sandbox, scope, subject)
    with _session(sandbox) as session:
        credentials.refresh(AuthRequest(session))  # type: ignore[no-untyped-call]
    return str(credentials.token)


def _error(exc: HttpError) -> dict[str, Any]:
    body = json.loads(exc.content)
    assert isinstance(body, dict)
    return dict(body["error"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _assertion(google: GoogleScenario, key: rsa.RSAPrivateKey | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": google.client_email,
        "sub": google.delegated_admin,
        "scope": SCOPE_USERS,
        "aud": GOOGLE_TOKEN_URL,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": "RS256", "typ": "JWT", "kid": google.private_key_id}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signer = key or google.private_key()
    signature = signer.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _post_token(sandbox: Sandbox, assertion: str, grant: str = "urn:ietf:params:oauth:grant-type:jwt-bearer") -> Any:
    with _session(sandbox) as session:
        return session.post(sandbox.google_token_uri, data={"grant_type": grant, "assertion": assertion}, timeout=10)


# -- the token endpoint ------------------------------------------------------------------------------------------------


def test_service_account_key_file(sandbox: Sandbox) -> None:
    assert sandbox.google_key_file is not None
    assert stat.S_IMODE(os.stat(sandbox.google_key_file).st_mode) == 0o600
    info = json.loads(sandbox.google_key_file.read_text())
    assert info["type"] == "service_account" and info["token_uri"] == f"{sandbox.base_url}/token"
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----") and len(info["private_key_id"]) == 40
    assert info["client_email"].endswith(".iam.gserviceaccount.com") and info["client_id"].isdigit()
    settings = sandbox.google_settings()
    assert settings["api_endpoint"] == sandbox.base_url + "/" and settings["delegated_admin"] == f"amara.okoye@{DOMAIN}"


def test_google_auth_jwt_bearer_gives_one_token_per_scope(sandbox: Sandbox) -> None:
    before = sandbox.google_tokens.issued
    credentials = _credentials(sandbox, SCOPE_USERS)
    with _session(sandbox) as session:
        credentials.refresh(AuthRequest(session))  # type: ignore[no-untyped-call]
    token = str(credentials.token)
    assert token.startswith("ya29.") and credentials.valid
    assert credentials.expiry is not None and credentials.expiry > datetime.now() + timedelta(minutes=55)
    assert sandbox.google_tokens.issued == before + 1
    assert sandbox.google_tokens.issued_scopes[-1] == frozenset({SCOPE_USERS})
    # the request log never holds the assertion or the token
    assert all(token not in r.path for r in sandbox.requests)
    assert [r for r in sandbox.requests if r.path == "/token"][-1].method == "POST"


def test_token_refused_when_any_scope_is_not_delegated() -> None:
    scenario = northwind(NOW, google_withheld_scopes={SCOPE_MOBILE})
    with Sandbox(scenario) as sandbox:
        assert SCOPE_MOBILE not in _google(scenario).authorized_scopes
        with pytest.raises(RefreshError) as caught:
            _token(sandbox, SCOPE_MOBILE)
        assert "unauthorized_client" in str(caught.value)
        # one credential carrying a withheld scope loses everything
        both = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            sandbox.google_service_account_info(), scopes=[SCOPE_USERS, SCOPE_MOBILE]
        ).with_subject(_google(scenario).delegated_admin)
        with _session(sandbox) as session, pytest.raises(RefreshError):
            both.refresh(AuthRequest(session))
        refused = _post_token(sandbox, _assertion(_google(scenario), scope=f"{SCOPE_USERS} {SCOPE_MOBILE}"))
        assert refused.status_code == 401
        assert refused.json() == {
            "error": "unauthorized_client",
            "error_description": "Client is unauthorized to retrieve access tokens using this method, or client "
            "not authorized for any of the scopes requested.",
        }
        # the other scopes still work, each on its own token
        users = _directory(sandbox, SCOPE_USERS).users().list(customer="my_customer").execute()
        assert len(users["users"]) == 16


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"sub": f"nobody@{DOMAIN}"}, "invalid_grant", "Invalid email or User ID"),
        ({"iss": "someone@else.iam.gserviceaccount.com"}, "invalid_grant", "account not found"),
        ({"aud": "https://example.invalid/token"}, "invalid_grant", "audience"),
        ({"iat": 1_000_000, "exp": 1_003_600}, "invalid_grant", "short-lived"),
        ({"exp": int(time.time()) + 7200}, "invalid_grant", "short-lived"),
        ({"scope": None}, "invalid_scope", "Invalid OAuth scope"),
    ],
)
def test_assertion_claims_are_checked(sandbox: Sandbox, overrides: dict[str, Any], error: str, fragment: str) -> None:
    answer = _post_token(sandbox, _assertion(_google(sandbox.scenario), **overrides))
    assert answer.status_code == 400
    assert answer.json()["error"] == error and fragment in answer.json()["error_description"]


def test_assertion_signature_and_grant_are_checked(sandbox: Sandbox) -> None:
    google = _google(sandbox.scenario)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _post_token(sandbox, _assertion(google, key=stranger))
    assert forged.status_code == 400 and forged.json()["error_description"] == "Invalid JWT Signature."
    tampered = _assertion(google).rsplit(".", 1)[0] + "." + _b64(b"\0" * 256)
    assert _post_token(sandbox, tampered).json()["error_description"] == "Invalid JWT Signature."
    assert _post_token(sandbox, "not-a-jwt").json()["error"] == "invalid_grant"
    wrong_grant = _post_token(sandbox, _assertion(google), grant="client_credentials")
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
    # the key file's own token_uri is accepted as audience too
    accepted = _post_token(sandbox, _assertion(google, aud=sandbox.google_token_uri))
    assert accepted.status_code == 200
    body = accepted.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == 3599 and body["token_type"] == "Bearer"


def test_non_admin_subject_gets_a_token_but_no_data(sandbox: Sandbox) -> None:
    for subject in (f"james.holroyd@{DOMAIN}", f"derek.shaw@{DOMAIN}"):  # a user; a suspended super admin
        with pytest.raises(HttpError) as caught:
            _directory(sandbox, SCOPE_USERS, subject).users().list(customer="my_customer").execute()
        assert caught.value.resp.status == 403
        error = _error(caught.value)
        assert error["message"] == "Not Authorized to access this resource/api"
        assert error["errors"][0]["reason"] == "forbidden"


# -- authentication and authorisation of API calls --------------------------------------------------------------------


def test_api_needs_a_token(sandbox: Sandbox) -> None:
    with _session(sandbox) as session:
        missing = session.get(f"{sandbox.base_url}/admin/directory/v1/users?customer=my_customer", timeout=10)
        bogus = session.get(
            f"{sandbox.base_url}/v1/devices", headers={"Authorization": "Bearer ya29.not-issued-here"}, timeout=10
        )
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer realm=")
    error = missing.json()["error"]
    assert error["status"] == "UNAUTHENTICATED" and error["errors"][0]["reason"] == "required"
    assert bogus.status_code == 401 and bogus.json()["error"]["status"] == "UNAUTHENTICATED"
    assert "errors" not in bogus.json()["error"]  # Cloud Identity is a One Platform API


def test_insufficient_scopes(sandbox: Sandbox) -> None:
    with pytest.raises(HttpError) as caught:
        _directory(sandbox, SCOPE_MOBILE).users().list(customer="my_customer").execute()
    assert caught.value.resp.status == 403
    assert _error(caught.value) == {
        "code": 403,
        "message": "Request had insufficient authentication scopes.",
        "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
        "status": "PERMISSION_DENIED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "admin.googleapis.com",
                    "method": "ccc.hosted.frontend.directory.v1.DirectoryUsers.List",
                },
            }
        ],
    }
    with pytest.raises(HttpError) as ci:
        _service(sandbox, "cloudidentity", "v1", SCOPE_USERS).devices().list().execute()
    assert ci.value.resp.status == 403 and _error(ci.value)["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


def test_expired_token_is_refreshed_by_google_auth(scenario: Scenario) -> None:
    with Sandbox(scenario) as sandbox:
        directory = _directory(sandbox, SCOPE_USERS)
        directory.users().list(customer="my_customer", maxResults=1).execute()
        issued = sandbox.google_tokens.issued
        sandbox.expire_tokens()
        assert directory.users().list(customer="my_customer", maxResults=1).execute()["users"]
        assert sandbox.google_tokens.issued == issued + 1
        assert [r.status for r in sandbox.requests if r.path.startswith("/admin/")] == [200, 401, 200]


# -- Directory API ------------------------------------------------------------------------------------------------


def test_users_list_shapes_and_aliases(sandbox: Sandbox, scenario: Scenario) -> None:
    directory = _directory(sandbox, SCOPE_USERS)
    google = _google(scenario)
    by_alias = directory.users().list(customer="my_customer", projection="full").execute()
    by_id = directory.users().list(customer=google.customer_id).execute()
    by_domain = directory.users().list(domain=DOMAIN, orderBy="email").execute()
    assert by_alias["kind"] == "admin#directory#users" and by_alias["etag"].startswith('"')
    assert by_alias["users"] == by_id["users"] == google.users
    assert [u["primaryEmail"] for u in by_domain["users"]] == sorted(u["primaryEmail"] for u in google.users)
    never = google.user(f"tom.ackroyd@{DOMAIN}")
    assert never["lastLoginTime"] == GOOGLE_NEVER and never["kind"] == "admin#directory#user"
    suspended = directory.users().list(customer="my_customer", query="isSuspended=true").execute()
    assert [u["primaryEmail"] for u in suspended["users"]] == [f"derek.shaw@{DOMAIN}"]
    with pytest.raises(HttpError) as other:
        directory.users().list(customer="C0someoneelse").execute()
    assert other.value.resp.status == 403
    with pytest.raises(HttpError) as neither:
        directory.users().list().execute()
    assert neither.value.resp.status == 400


def test_paging_through_all_users() -> None:
    scenario = generate(1500, 21, NOW)
    google = _google(scenario)
    assert len(google.users) == 750
    with Sandbox(scenario) as sandbox:
        users = _directory(sandbox, SCOPE_USERS).users()
        request = users.list(customer="my_customer", maxResults=500, fields="nextPageToken,users(primaryEmail)")
        emails: list[str] = []
        pages = 0
        while request is not None:
            response = request.execute()
            pages += 1
            emails += [u["primaryEmail"] for u in response["users"]]
            request = users.list_next(request, response)
        assert pages == 2 and emails == [u["primaryEmail"] for u in google.users]
        with pytest.raises(HttpError) as too_large:
            users.list(customer="my_customer", maxResults=501).execute()
        assert too_large.value.resp.status == 400
        assert _error(too_large.value)["message"] == "Invalid value '501'. Values must be within the range: [1, 500]"
        with pytest.raises(HttpError) as bad_token:
            users.list(customer="my_customer", pageToken="forged").execute()
        assert bad_token.value.resp.status == 400


def test_fields_masks(sandbox: Sandbox, scenario: Scenario) -> None:
    users = _directory(sandbox, SCOPE_USERS).users()
    page = users.list(
        customer="my_customer", maxResults=5, fields="nextPageToken,users(primaryEmail,isEnrolledIn2Sv,name/fullName)"
    ).execute()
    assert set(page) == {"users", "nextPageToken"}
    assert page["users"][0] == {"primaryEmail": f"amara.okoye@{DOMAIN}", "isEnrolledIn2Sv": True,
                                "name": {"fullName": "Amara Okoye"}}  # fmt: skip
    slash = users.list(customer="my_customer", maxResults=2, fields="users/primaryEmail").execute()
    assert slash == {
        "users": [{"primaryEmail": f"amara.okoye@{DOMAIN}"}, {"primaryEmail": f"brightbyte.leeds@{DOMAIN}"}]
    }
    everything = users.list(customer="my_customer", maxResults=1, fields="users/*").execute()
    assert everything["users"][0] == _google(scenario).users[0]
    for bad in ("users(primaryEmail,nosuchfield)", "users(primaryEmail/x)", "users(primaryEmail", "nextPage"):
        with pytest.raises(HttpError) as caught:
            users.list(customer="my_customer", fields=bad).execute()
        assert caught.value.resp.status == 400, bad
        assert _error(caught.value)["message"].startswith("Invalid field selection")


def test_field_mask_parser() -> None:
    tree = parse_fields("kind,items(id,b/c),items/d,x/*")
    assert tree == {"kind": None, "items": {"id": None, "b": {"c": None}, "d": None}, "x": {"*": None}}
    assert apply_fields({"kind": 1, "etag": 2, "items": [{"id": 1, "b": {"c": 2, "e": 3}, "f": 4}]}, tree) == {
        "kind": 1,
        "items": [{"id": 1, "b": {"c": 2}}],
    }
    for bad in ("", "a,", "a(b", "a)b", "a//b"):
        with pytest.raises(FieldMaskError):
            parse_fields(bad)


def test_roles_and_role_assignments(sandbox: Sandbox, scenario: Scenario) -> None:
    directory = _directory(sandbox, SCOPE_ROLES)
    roles = directory.roles().list(customer="my_customer").execute()
    assert roles["kind"] == "admin#directory#roles"
    super_admin = next(r for r in roles["items"] if r["isSuperAdminRole"])
    assert super_admin["roleName"] == "_SEED_ADMIN_ROLE" and super_admin["isSystemRole"]
    assignments = directory.roleAssignments().list(customer="my_customer", maxResults=200).execute()
    assert assignments["kind"] == "admin#directory#roleAssignments"
    supers = [a for a in assignments["items"] if a["roleId"] == super_admin["roleId"]]
    assert {_google(scenario).user(e)["id"] for e in (f"amara.okoye@{DOMAIN}", f"derek.shaw@{DOMAIN}")} == {
        a["assignedTo"] for a in supers
    }
    assert {a["scopeType"] for a in assignments["items"]} == {"CUSTOMER", "ORG_UNIT"}
    for call in (directory.roles().list(customer="my_customer", maxResults=101),
                 directory.roleAssignments().list(customer="my_customer", maxResults=201)):  # fmt: skip
        with pytest.raises(HttpError) as caught:
            call.execute()
        assert caught.value.resp.status == 400


def test_group_members(sandbox: Sandbox, scenario: Scenario) -> None:
    google = _google(scenario)
    group = next(g for g in google.groups if g["email"] == f"leeds-device-admins@{DOMAIN}")
    members = _directory(sandbox, SCOPE_GROUP_MEMBERS).members()
    direct = members.list(groupKey=group["id"]).execute()
    assert direct["kind"] == "admin#directory#members"
    assert [(m["email"], m["type"]) for m in direct["members"]] == [
        (f"james.holroyd@{DOMAIN}", "USER"),
        (f"leeds-reception-leads@{DOMAIN}", "GROUP"),
    ]
    derived = members.list(
        groupKey=group["email"],
        includeDerivedMembership=True,
        maxResults=200,
        fields="nextPageToken,members(id,email,type)",
    ).execute()
    assert [m["email"] for m in derived["members"]] == [
        f"james.holroyd@{DOMAIN}",
        f"leeds-reception-leads@{DOMAIN}",
        f"chloe.barker@{DOMAIN}",  # through the nested group
    ]
    assert set(derived["members"][0]) == {"id", "email", "type"}
    for call, status in (
        (members.list(groupKey=group["id"], maxResults=201), 400),
        (members.list(groupKey="no-such-group"), 404),
    ):
        with pytest.raises(HttpError) as caught:
            call.execute()
        assert caught.value.resp.status == status
    # the role assignment names the group
    assignments = _directory(sandbox, SCOPE_ROLES).roleAssignments().list(customer="my_customer").execute()
    assert {a["assigneeType"] for a in assignments["items"]} == {"user", "group"}
    assert group["id"] in {a["assignedTo"] for a in assignments["items"] if a["assigneeType"] == "group"}


def test_api_not_enabled_in_the_project(scenario: Scenario) -> None:
    google = _google(scenario).replace(disabled_apis={"admin.googleapis.com"})
    with Sandbox(scenario.replace(google=google)) as sandbox:
        with pytest.raises(HttpError) as caught:
            _directory(sandbox, SCOPE_USERS).users().list(customer="my_customer").execute()
        error = _error(caught.value)
        assert caught.value.resp.status == 403 and error["status"] == "PERMISSION_DENIED"
        assert error["errors"][0]["reason"] == "accessNotConfigured"
        assert "has not been used in project 417236845 before or it is disabled" in error["message"]
        info = error["details"][0]
        assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" and info["reason"] == "SERVICE_DISABLED"
        assert info["metadata"]["service"] == "admin.googleapis.com"
        assert info["metadata"]["consumer"] == "projects/417236845"
        # the token endpoint and the other API are unaffected
        devices = _service(sandbox, "cloudidentity", "v1", SCOPE_CLOUD_IDENTITY_DEVICES).devices()
        assert devices.list(pageSize=2).execute()["devices"]


def test_mobile_devices(sandbox: Sandbox, scenario: Scenario) -> None:
    devices = _directory(sandbox, SCOPE_MOBILE).mobiledevices()
    full = devices.list(customerId="my_customer", projection="FULL", maxResults=100).execute()
    assert full["kind"] == "admin#directory#mobiledevices" and len(full["mobiledevices"]) == 12
    assert {d["status"] for d in full["mobiledevices"]} == {"APPROVED", "WIPED", "BLOCKED", "PENDING", "WIPING"}
    by_model = {d["model"]: d for d in full["mobiledevices"]}
    galaxy, iphone = by_model["SM-A135F"], by_model["iPhone 12"]
    assert (
        galaxy["os"] == "Android 12" and galaxy["type"] == "ANDROID" and galaxy["email"] == [f"chloe.barker@{DOMAIN}"]
    )
    patch = datetime.fromtimestamp(int(galaxy["securityPatchLevel"]) / 1000, UTC)
    assert 295 <= (NOW - patch).days <= 301  # epoch milliseconds, as a string
    assert iphone["securityPatchLevel"] == "0" and iphone["type"] == "IOS_SYNC"
    basic = devices.list(customerId="my_customer", projection="BASIC").execute()
    assert "securityPatchLevel" not in basic["mobiledevices"][0] and "model" in basic["mobiledevices"][0]
    paged = devices.list(customerId=_google(scenario).customer_id, maxResults=3).execute()
    assert len(paged["mobiledevices"]) == 3 and paged["nextPageToken"]
    with pytest.raises(HttpError) as caught:
        devices.list(customerId="my_customer", maxResults=101).execute()
    assert caught.value.resp.status == 400


def test_chromeos_devices(sandbox: Sandbox) -> None:
    devices = _directory(sandbox, SCOPE_CHROMEOS).chromeosdevices()
    listed = devices.list(customerId="my_customer", projection="FULL", maxResults=300).execute()
    assert listed["kind"] == "admin#directory#chromeosdevices"
    by_serial = {d["serialNumber"]: d for d in listed["chromeosdevices"]}
    expired = by_serial["NXHPQEK001"]
    assert expired["autoUpdateThrough"] == "2025-06-01" and expired["osVersionCompliance"] == "notCompliant"
    assert int(expired["autoUpdateExpiration"]) == int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1000)
    assert {d["status"] for d in by_serial.values()} == {"ACTIVE", "DISABLED", "DEPROVISIONED"}
    assert by_serial["5CD4567LDS"]["osVersionCompliance"] == "pending"
    assert "osVersionCompliance" not in by_serial["NXKEYEK042"]
    assert date.fromisoformat(by_serial["5CD1234LDS"]["autoUpdateThrough"]) > NOW.date()
    masked = devices.list(
        customerId="my_customer", fields="chromeosdevices(serialNumber,osUpdateStatus/state)"
    ).execute()
    assert masked["chromeosdevices"][0] == {"serialNumber": "5CD1234LDS"}  # no state reported: nothing selected
    assert {"serialNumber": "5CD4567LDS", "osUpdateStatus": {"state": "updateStateNeedReboot"}} in masked[
        "chromeosdevices"
    ]
    with pytest.raises(HttpError) as caught:
        devices.list(customerId="my_customer", maxResults=301).execute()
    assert caught.value.resp.status == 400


def test_cloud_identity_devices(sandbox: Sandbox) -> None:
    devices = _service(sandbox, "cloudidentity", "v1", SCOPE_CLOUD_IDENTITY_DEVICES).devices()
    listed = devices.list(customer="customers/my_customer", pageSize=500).execute()  # coerced to 100
    assert set(listed) == {"devices"} and len(listed["devices"]) == 8
    assert {d["managementState"] for d in listed["devices"]} == {"APPROVED", "WIPED"}
    types = {d["deviceType"] for d in listed["devices"]}
    assert types == {"WINDOWS", "MAC_OS", "LINUX", "ANDROID", "IOS"}
    nameless = next(d for d in listed["devices"] if "serialNumber" not in d)
    assert nameless["name"] == "devices/lfk2x9qc7w3m" and nameless["lastSyncTime"].endswith("Z")
    first = devices.list(pageSize=3).execute()
    assert len(first["devices"]) == 3 and first["nextPageToken"]
    rest = devices.list_next(devices.list(pageSize=3), first).execute()
    assert rest["devices"][0] == listed["devices"][3]
    windows = devices.list(filter="type:windows").execute()
    assert {d["deviceType"] for d in windows["devices"]} == {"WINDOWS"}


# -- throttling, writes, latency ----------------------------------------------------------------------------------


def test_rate_limits_alternate_429_and_403(scenario: Scenario) -> None:
    with Sandbox(scenario, throttle_every=2, retry_after=3) as sandbox:
        token = _token(sandbox, SCOPE_USERS)
        url = f"{sandbox.base_url}/admin/directory/v1/users?customer=my_customer&maxResults=1"
        with _session(sandbox) as session:
            answers = [session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 429, 200, 403]
        assert answers[1].headers["Retry-After"] == "3"
        assert answers[1].json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
        assert answers[1].json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert "Retry-After" not in answers[3].headers
        assert answers[3].json()["error"]["errors"][0] == {
            "message": "User Rate Limit Exceeded",
            "domain": "usageLimits",
            "reason": "userRateLimitExceeded",
        }
        assert sandbox.throttled_count == 2
        # google-api-python-client's own retries get through both kinds
        request = _directory(sandbox, SCOPE_USERS).users().list(customer="my_customer")
        request._sleep = lambda seconds: None
        assert len(request.execute(num_retries=3)["users"]) == 16


def test_writes_are_refused_and_recorded(sandbox: Sandbox) -> None:
    token = _token(sandbox, SCOPE_USERS)
    before = len(sandbox.refused_writes)
    with _session(sandbox) as session:
        headers = {"Authorization": f"Bearer {token}"}
        for method, path in (
            ("POST", "/admin/directory/v1/users"),
            ("PUT", f"/admin/directory/v1/users/amara.okoye@{DOMAIN}"),
            ("PATCH", "/admin/directory/v1/users/123"),
            ("DELETE", "/admin/directory/v1/customer/my_customer/devices/mobile/abc"),
            ("POST", "/v1/devices/abc:wipe"),
        ):
            answer = session.request(method, sandbox.base_url + path, headers=headers, json={}, timeout=10)
            assert answer.status_code == 405, (method, path)
            assert answer.json()["error"]["code"] == 405
    refused = sandbox.refused_writes[before:]
    assert [r.method for r in refused] == ["POST", "PUT", "PATCH", "DELETE", "POST"]
    with pytest.raises(HttpError) as caught:
        directory = _directory(sandbox, SCOPE_USERS)
        directory.users().delete(userKey=f"tom.ackroyd@{DOMAIN}").execute()
    assert caught.value.resp.status == 405
    assert len(sandbox.refused_writes) == before + 6


def test_latency_applies_to_google(scenario: Scenario) -> None:
    with Sandbox(scenario, latency_ms=50) as sandbox:
        directory = _directory(sandbox, SCOPE_USERS)
        directory.users().list(customer="my_customer", maxResults=1).execute()  # token + first call
        started = time.monotonic()
        directory.users().list(customer="my_customer", maxResults=1).execute()
        assert time.monotonic() - started >= 0.05


# -- the scenarios ---------------------------------------------------------------------------------------------------


def test_northwind_google_side_is_consistent(scenario: Scenario) -> None:
    google = _google(scenario)
    assert set(google.expected) == set(GOOGLE_CHECK_IDS)
    assert set(scenario.expected).isdisjoint(google.expected)
    assert set(scenario.all_expected) == set(scenario.expected) | set(GOOGLE_CHECK_IDS)
    assert google.authorized_scopes == set(GOOGLE_SCOPES)
    emails = {u["primaryEmail"] for u in google.users}
    assert 14 <= len(emails) == len(google.users) <= 18 and all(e.endswith("@" + DOMAIN) for e in emails)
    delegated = google.user(google.delegated_admin)
    assert delegated["isAdmin"] and not delegated["suspended"] and delegated["isEnforcedIn2Sv"]
    # every role holder carries the matching flag, and the super admin role is what isAdmin means
    roles = {r["roleId"]: r for r in google.roles}
    users_by_id = {u["id"]: u for u in google.users}
    groups = {g["id"]: g for g in google.groups}
    for assignment in google.role_assignments:
        if assignment["assigneeType"] == "group":  # a role held by a group: its members carry no flag
            assert assignment["assignedTo"] in groups and not roles[assignment["roleId"]]["isSuperAdminRole"]
            continue
        holder = users_by_id[assignment["assignedTo"]]
        flag = "isAdmin" if roles[assignment["roleId"]]["isSuperAdminRole"] else "isDelegatedAdmin"
        assert holder[flag], holder["primaryEmail"]
    assert {u["id"] for u in google.users if u["isAdmin"] or u["isDelegatedAdmin"]} == {
        a["assignedTo"] for a in google.role_assignments if a["assigneeType"] == "user"
    }
    # every group member is a user or a group of the customer
    for members in google.group_members.values():
        for m in members:
            assert (m["id"] in users_by_id) if m["type"] == "USER" else (m["type"] == "GROUP" and m["id"] in groups)
    mobiles = {f"{d['model']} ({d['email'][0]})" for d in google.mobile_devices}
    chromebooks = {d["serialNumber"] for d in google.chromeos_devices if d["status"] == "ACTIVE"}
    endpoints = {
        d.get("serialNumber") or d["name"] for d in google.ci_devices if d["deviceType"] in ("WINDOWS", "MAC_OS")
    }
    named = {
        "gws.accounts.admin_count": {"tenant"},
        "gws.devices.os_supported": mobiles | chromebooks | endpoints,
        "gws.devices.patch_current": mobiles | chromebooks | endpoints,
        # every Cloud Identity device is judged for encryption (phones too)
        "gws.devices.encrypted": {d.get("serialNumber") or d["name"] for d in google.ci_devices},
    }
    for check_id, expectation in google.expected.items():
        assert (expectation.status == "fail") == bool(expectation.resources), check_id
        assert expectation.resources <= named.get(check_id, emails), check_id
    assert google.expected["gws.backup.configured"].status == "not_assessed"
    # the expectations of inactive/MFA checks name only active (not suspended, not archived) accounts
    inactive_accounts = {u["primaryEmail"] for u in google.users if u["suspended"] or u["archived"]}
    for check_id in ("gws.mfa.enrolled", "gws.mfa.enforced", "gws.mfa.admins", "gws.accounts.inactive"):
        assert not google.expected[check_id].resources & inactive_accounts
    # data agrees with the hand-written table where it is easy to say so
    for email in google.expected["gws.mfa.enrolled"].resources:
        assert google.user(email)["isEnrolledIn2Sv"] is False
    for email in google.expected["gws.mfa.enforced"].resources:
        assert google.user(email)["isEnforcedIn2Sv"] is False
    assert sum(1 for u in google.users if u["isAdmin"] and not u["suspended"]) == 1


def test_northwind_google_variants() -> None:
    assert northwind(NOW, google=False).google is None
    users_withheld = _google(northwind(NOW, google_withheld_scopes={SCOPE_USERS})).expected
    assert {k for k, v in users_withheld.items() if v.status == "not_assessed"} == {
        "gws.mfa.enrolled", "gws.mfa.enforced", "gws.mfa.admins", "gws.accounts.inactive",
        "gws.accounts.admin_count", "gws.backup.configured",
    }  # fmt: skip
    devices_withheld = _google(northwind(NOW, google_withheld_scopes={SCOPE_CHROMEOS})).expected
    assert devices_withheld["gws.devices.os_supported"].status == "not_assessed"
    assert devices_withheld["gws.devices.patch_current"].status == "not_assessed"
    full = _google(northwind(NOW)).expected
    for scope in (SCOPE_ROLES, SCOPE_GROUP_MEMBERS):
        # without role assignments or group members, the admin who holds a role through a group is not seen
        withheld = _google(northwind(NOW, google_withheld_scopes={scope})).expected
        assert withheld["gws.mfa.admins"].resources == full["gws.mfa.admins"].resources - {f"chloe.barker@{DOMAIN}"}
        assert {k: v for k, v in withheld.items() if k != "gws.mfa.admins"} == {
            k: v for k, v in full.items() if k != "gws.mfa.admins"
        }
    optional = _google(northwind(NOW, google_withheld_scopes={SCOPE_CLOUD_IDENTITY_DEVICES})).expected
    assert optional["gws.devices.os_supported"].status == "fail"
    assert "8CG9441LDS" not in optional["gws.devices.os_supported"].resources
    assert "devices/lfk2x9qc7w3m" not in optional["gws.devices.patch_current"].resources


def test_scenario_round_trip_keeps_the_google_side(scenario: Scenario, tmp_path: Path) -> None:
    google = _google(scenario)
    path = scenario.save(tmp_path / "scenario.json")
    assert google.private_key_pem not in path.read_text()
    loaded = Scenario.load(path)
    assert loaded.google is not None
    assert loaded.google.users == google.users and loaded.google.expected == google.expected
    assert loaded.google.authorized_scopes == google.authorized_scopes
    with_key = Scenario.load(scenario.save(tmp_path / "secret.json", include_secret=True))
    assert with_key.google is not None and with_key.google.private_key_id == google.private_key_id


def test_generated_google_side() -> None:
    first = generate(2000, 4, NOW)
    second = generate(2000, 4, NOW)
    one, two = _google(first), _google(second)
    assert one.users == two.users and one.expected == two.expected
    assert len(one.users) == 1000 and len(one.mobile_devices) == 400 and len(one.chromeos_devices) == 200
    assert set(one.expected) == set(GOOGLE_CHECK_IDS)
    emails = {u["primaryEmail"] for u in one.users}
    for check_id in ("gws.mfa.enrolled", "gws.mfa.enforced", "gws.accounts.inactive"):
        assert one.expected[check_id].resources and one.expected[check_id].resources <= emails
    devices = (
        {f"{d['model']} ({d['email'][0]})" for d in one.mobile_devices}
        | {d["serialNumber"] for d in one.chromeos_devices}
        | {d.get("serialNumber") or d["name"] for d in one.ci_devices}
    )
    assert one.expected["gws.devices.os_supported"].resources <= devices
    assert one.expected["gws.devices.patch_current"].resources <= devices
    assert generate(2000, 5, NOW).google != one
    assert generate(50, 4, NOW, google=False).google is None
