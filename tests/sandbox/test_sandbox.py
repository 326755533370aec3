"""The Graph / identity-platform sandbox, exercised over real HTTPS with requests and msal."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hygiene_sandbox import CHECK_IDS, Sandbox, Scenario, generate, generate_client_certificate, northwind
from hygiene_sandbox.graph import O365_COLUMNS
from hygiene_sandbox.vendor import GLOBAL_ADMIN

NOW = datetime.now(UTC)


def _session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would otherwise win over Session.verify
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    return session


def _app(sandbox: Sandbox, session: requests.Session, credential: Any) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        sandbox.client_id,
        client_credential=credential,
        authority=f"{sandbox.authority_host}/{sandbox.tenant_id}",
        instance_discovery=False,
        http_client=session,
        token_cache=msal.TokenCache(),
    )


def _token(sandbox: Sandbox, session: requests.Session) -> str:
    result = _app(sandbox, session, sandbox.client_secret).acquire_token_for_client([f"{sandbox.graph_url}/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


class Client:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = _session(sandbox)
        self.token = _token(sandbox, self.session)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.sandbox.graph_url}{path}"
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.session.get(url, headers=headers, timeout=10, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.session.request(method, f"{self.sandbox.graph_url}{path}", headers=headers, timeout=10, **kwargs)

    def close(self) -> None:
        self.session.close()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return northwind(NOW)


@pytest.fixture(scope="module")
def sandbox(scenario: Scenario) -> Iterator[Sandbox]:
    with Sandbox(scenario) as running:
        yield running


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[Client]:
    made = Client(sandbox)
    yield made
    made.close()


@pytest.fixture
def make_client() -> Iterator[Any]:
    made: list[Client] = []

    def factory(sandbox: Sandbox) -> Client:
        made.append(Client(sandbox))
        return made[-1]

    yield factory
    for item in made:
        item.close()


def _user_id(scenario: Scenario, upn: str) -> str:
    return str(scenario.user(upn)["id"])


# -- identity platform ---------------------------------------------------------------------------------------------


def test_openid_configuration_points_at_the_sandbox(sandbox: Sandbox, client: Client) -> None:
    for tenant in (sandbox.tenant_id, sandbox.scenario.tenant_domain):
        config = client.session.get(f"{sandbox.base_url}/{tenant}/v2.0/.well-known/openid-configuration").json()
        assert config["token_endpoint"] == f"{sandbox.base_url}/{sandbox.tenant_id}/oauth2/v2.0/token"
        assert config["authorization_endpoint"].startswith(sandbox.base_url)
        assert config["issuer"] == f"{sandbox.base_url}/{sandbox.tenant_id}/v2.0"
    unknown = client.session.get(f"{sandbox.base_url}/contoso.example/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400
    assert unknown.json()["error_codes"] == [90002]


def test_msal_secret_token_is_cached(sandbox: Sandbox) -> None:
    with _session(sandbox) as session:
        app = _app(sandbox, session, sandbox.client_secret)
        first = app.acquire_token_for_client([f"{sandbox.graph_url}/.default"])
        before = sandbox.request_count
        second = app.acquire_token_for_client([f"{sandbox.graph_url}/.default"])
    assert first["token_type"] == "Bearer" and first["expires_in"] > 3000
    assert second["access_token"] == first["access_token"]
    assert sandbox.request_count == before  # served from msal's cache


@pytest.mark.parametrize("form", ["thumbprint", "public_certificate"])
def test_msal_certificate_credentials(sandbox: Sandbox, make_client: Any, form: str) -> None:
    certificate = sandbox.client_certificate
    pem = sandbox.client_certificate_pem_path.read_text()
    assert "PRIVATE KEY" in pem and "CERTIFICATE" in pem
    credential: dict[str, str] = {"private_key": certificate.private_key_pem}
    if form == "thumbprint":  # RS256 with x5t
        credential["thumbprint"] = certificate.sha1_thumbprint
    else:  # PS256 with x5t#S256 and x5c
        credential["public_certificate"] = certificate.certificate_pem
    with _session(sandbox) as session:
        result = _app(sandbox, session, credential).acquire_token_for_client([f"{sandbox.graph_url}/.default"])
        assert "access_token" in result, result
        users = session.get(
            f"{sandbox.graph_url}/v1.0/users", headers={"Authorization": f"Bearer {result['access_token']}"}
        )
    assert users.status_code == 200


def test_wrong_secret_and_unknown_app_are_refused(sandbox: Sandbox) -> None:
    scope = [f"{sandbox.graph_url}/.default"]
    with _session(sandbox) as session:
        wrong = _app(sandbox, session, "not-the-secret").acquire_token_for_client(scope)
        unknown = msal.ConfidentialClientApplication(
            str(uuid.uuid4()),
            client_credential=sandbox.client_secret,
            authority=f"{sandbox.authority_host}/{sandbox.tenant_id}",
            instance_discovery=False,
            http_client=session,
        ).acquire_token_for_client(scope)
        with pytest.raises(ValueError):
            msal.ConfidentialClientApplication(
                sandbox.client_id,
                client_credential=sandbox.client_secret,
                authority=f"{sandbox.authority_host}/fabrikam.example",
                instance_discovery=False,
                http_client=session,
            )
    assert wrong["error"] == "invalid_client" and wrong["error_codes"] == [7000215]
    assert wrong["error_description"].startswith("AADSTS7000215:")
    assert unknown["error"] == "unauthorized_client" and unknown["error_codes"] == [700016]


def test_certificate_not_registered_is_refused(sandbox: Sandbox) -> None:
    stranger = generate_client_certificate("someone else")
    with _session(sandbox) as session:
        result = _app(
            sandbox, session, {"private_key": stranger.private_key_pem, "thumbprint": stranger.sha1_thumbprint}
        ).acquire_token_for_client([f"{sandbox.graph_url}/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]


def _assertion(sandbox: Sandbox, **overrides: Any) -> str:
    certificate = sandbox.client_certificate
    key = serialization.load_pem_private_key(certificate.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    der = certificate.certificate.public_bytes(serialization.Encoding.DER)
    header = {"alg": "RS256", "typ": "JWT", "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode()}
    now = int(time.time())
    claims = {
        "aud": f"{sandbox.base_url}/{sandbox.tenant_id}/oauth2/v2.0/token",
        "iss": sandbox.client_id,
        "sub": sandbox.client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({}, None),
        ({"exp": int(time.time()) - 3600}, 700024),
        ({"aud": "https://login.microsoftonline.com/common/oauth2/v2.0/token"}, 50012),
        ({"iss": "someone-else"}, 700021),
    ],
)
def test_client_assertion_is_verified(sandbox: Sandbox, client: Client, overrides: dict[str, Any], code: int) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(sandbox, **overrides),
    }
    response = client.session.post(f"{sandbox.base_url}/{sandbox.tenant_id}/oauth2/v2.0/token", data=form)
    if code is None:
        assert response.status_code == 200 and response.json()["token_type"] == "Bearer"
    else:
        assert response.status_code == 401
        assert response.json()["error_codes"] == [code]
    tampered = form["client_assertion"][:-6] + (
        "AAAAAA" if not form["client_assertion"].endswith("AAAAAA") else "BBBBBB"
    )
    bad = client.session.post(
        f"{sandbox.base_url}/{sandbox.tenant_id}/oauth2/v2.0/token", data={**form, "client_assertion": tampered}
    )
    assert bad.status_code == 401 and bad.json()["error_codes"] == [700027]


def test_scope_must_be_a_default_scope(sandbox: Sandbox, client: Client) -> None:
    response = client.session.post(
        f"{sandbox.base_url}/{sandbox.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "scope": "https://graph.microsoft.com/User.Read.All",
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


# -- Graph basics ----------------------------------------------------------------------------------------------------


def test_graph_needs_a_token_from_the_sandbox(sandbox: Sandbox, client: Client) -> None:
    none = client.session.get(f"{sandbox.graph_url}/v1.0/users")
    forged = client.session.get(f"{sandbox.graph_url}/v1.0/users", headers={"Authorization": "Bearer eyJhbGciOi.x.y"})
    for response in (none, forged):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_expired_token_is_refused(scenario: Scenario, make_client: Any) -> None:
    with Sandbox(scenario) as sandbox:
        client = make_client(sandbox)
        assert client.get("/v1.0/subscribedSkus").status_code == 200
        sandbox.expire_tokens()
        expired = client.get("/v1.0/subscribedSkus")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_paging_follows_next_link_verbatim(scenario: Scenario, client: Client) -> None:
    url = "/v1.0/users?$select=id,userPrincipalName&$top=7"
    seen: list[str] = []
    pages = 0
    next_links = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["@odata.context"].endswith("$metadata#users(id,userPrincipalName)")
        seen.extend(u["id"] for u in body["value"])
        pages += 1
        url = body.get("@odata.nextLink")
        if url:
            next_links.append(url)
            assert url.startswith(client.sandbox.graph_url) and "$skiptoken=" in url and "$top=7" in url
    assert pages == 7 and len(seen) == len(set(seen)) == len(scenario.users) == 44
    # a rebuilt query (or a made-up token) does not work: follow the link verbatim
    token = next_links[0].split("$skiptoken=")[1]
    rebuilt = client.get(f"/v1.0/users?$top=7&$skiptoken={token}")
    made_up = client.get("/v1.0/users?$select=id,userPrincipalName&$top=7&$skiptoken=abc")
    assert rebuilt.status_code == made_up.status_code == 400


def test_top_above_999_is_refused(client: Client) -> None:
    response = client.get("/v1.0/users", params={"$top": "1000"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert client.get("/v1.0/users", params={"$top": "999"}).status_code == 200


def test_select_and_default_properties(client: Client) -> None:
    selected = client.get("/v1.0/users", params={"$select": "displayName,accountEnabled"}).json()["value"]
    assert all(set(u) == {"id", "displayName", "accountEnabled"} for u in selected)
    default = client.get("/v1.0/users").json()["value"][0]
    assert "userPrincipalName" in default and "accountEnabled" not in default and "signInActivity" not in default
    with_activity = client.get("/v1.0/users", params={"$select": "id,signInActivity"}).json()["value"]
    assert all("lastSuccessfulSignInDateTime" in u["signInActivity"] for u in with_activity)
    typo = client.get("/v1.0/users", params={"$select": "id,signinActivity"})
    assert typo.status_code == 400
    devices = client.get("/v1.0/deviceManagement/managedDevices", params={"$select": "deviceName,osVersion"})
    assert all(set(d) == {"@odata.type", "id", "deviceName", "osVersion"} for d in devices.json()["value"])


def test_unknown_paths_and_objects(scenario: Scenario, client: Client) -> None:
    assert client.get("/v1.0/nonsense").status_code == 404
    missing = client.get(f"/v1.0/groups/{uuid.uuid4()}/transitiveMembers")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"
    # per-user MFA state is beta only
    uid = _user_id(scenario, "jack.white@northwind.example")
    assert client.get(f"/v1.0/users/{uid}/authentication/requirements").status_code == 404
    assert client.get(f"/beta/users/{uid}/authentication/requirements").json()["perUserMfaState"] == "enforced"


def test_registration_report_omits_disabled_accounts(scenario: Scenario, client: Client) -> None:
    rows = client.get("/v1.0/reports/authenticationMethods/userRegistrationDetails").json()["value"]
    by_upn = {r["userPrincipalName"]: r for r in rows}
    assert "gary.oldfield@northwind.example" not in by_upn  # disabled
    assert "oliver.bennett@northwind.example" not in by_upn  # not in the report yet
    sam = by_upn["sam.taylor@northwind.example"]
    assert sam["isMfaRegistered"] is True and sam["isMfaCapable"] is False
    assert len(rows) == sum(1 for u in scenario.users if u["accountEnabled"]) - 1


def test_groups_roles_and_policies(scenario: Scenario, client: Client) -> None:
    exclusions = next(g for g, v in scenario.groups.items() if v["displayName"].startswith("CA Exclusion"))
    members = client.get(f"/v1.0/groups/{exclusions}/transitiveMembers", params={"$select": "id"}).json()["value"]
    types = {m["@odata.type"] for m in members}
    user_ids = {m["id"] for m in members if m["@odata.type"] == "#microsoft.graph.user"}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.group"}
    assert _user_id(scenario, "aisha.rahman@northwind.example") in user_ids  # through the nested group
    assert len(user_ids) == 5
    assignments = client.get(
        "/v1.0/roleManagement/directory/roleAssignments", params={"$expand": "principal($select=id)"}
    ).json()["value"]
    kinds = {a["principal"]["@odata.type"] for a in assignments}
    assert kinds == {"#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.servicePrincipal"}
    definitions = client.get("/v1.0/roleManagement/directory/roleDefinitions").json()["value"]
    ga = next(d for d in definitions if d["displayName"] == "Global Administrator")
    assert ga["id"] == ga["templateId"] == GLOBAL_ADMIN
    policies = client.get("/v1.0/identity/conditionalAccess/policies").json()["value"]
    strength = [p for p in policies if p["grantControls"]["authenticationStrength"]]
    assert strength and all(p["grantControls"]["builtInControls"] == [] for p in strength)
    defaults = client.get("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy").json()
    assert defaults["isEnabled"] is False


def test_backup_and_licences(client: Client) -> None:
    root = client.get("/v1.0/solutions/backupRestore").json()
    assert root["serviceStatus"]["status"] == "enabled"
    kinds = ("exchangeProtectionPolicies", "oneDriveForBusinessProtectionPolicies", "sharePointProtectionPolicies")
    statuses = {
        kind: [p["status"] for p in client.get(f"/v1.0/solutions/backupRestore/{kind}").json()["value"]]
        for kind in kinds
    }
    assert statuses == {
        "exchangeProtectionPolicies": ["active"],
        "oneDriveForBusinessProtectionPolicies": ["activeWithErrors"],
        "sharePointProtectionPolicies": ["updating"],
    }
    skus = {s["skuPartNumber"] for s in client.get("/v1.0/subscribedSkus").json()["value"]}
    assert {"SPB", "O365_BUSINESS_ESSENTIALS", "EXCHANGESTANDARD"} <= skus


# -- licences and permissions ----------------------------------------------------------------------------------------


def test_withheld_permission_gives_403(make_client: Any) -> None:
    scenario = northwind(NOW, withheld_permissions={"DeviceManagementManagedDevices.Read.All", "AuditLog.Read.All"})
    with Sandbox(scenario) as sandbox:
        client = make_client(sandbox)
        devices = client.get("/v1.0/deviceManagement/managedDevices")
        activity = client.get("/v1.0/users", params={"$select": "id,signInActivity"})
        plain = client.get("/v1.0/users", params={"$select": "id"})
        # the registration report also accepts UserAuthenticationMethod.Read.All (its doc page)
        report = client.get("/v1.0/reports/authenticationMethods/userRegistrationDetails")
    for denied in (devices, activity):
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
        assert denied.json()["error"]["message"] == "Insufficient privileges to complete the operation."
    assert plain.status_code == 200 and report.status_code == 200


def test_tenant_without_p1_or_intune(make_client: Any) -> None:
    with Sandbox(northwind(NOW, premium=False, intune_licensed=False)) as sandbox:
        client = make_client(sandbox)
        activity = client.get("/v1.0/users", params={"$select": "id,signInActivity", "$top": "999"})
        plain = client.get("/v1.0/users", params={"$select": "id,accountEnabled", "$top": "999"})
        report = client.get("/v1.0/reports/authenticationMethods/userRegistrationDetails")
        devices = client.get("/v1.0/deviceManagement/managedDevices")
        policies = client.get("/v1.0/deviceManagement/deviceCompliancePolicies")
        uid = str(sandbox.scenario.user("helen.price@northwind.example")["id"])
        methods = client.get(f"/v1.0/users/{uid}/authentication/methods").json()["value"]
    for refused in (activity, report):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert plain.status_code == 200
    for unlicensed in (devices, policies):
        assert unlicensed.status_code == 400
        assert unlicensed.json()["error"] == {**unlicensed.json()["error"], "code": "BadRequest"}
        assert unlicensed.json()["error"]["message"] == "Request not applicable to target tenant."
    assert {m["@odata.type"] for m in methods} == {
        "#microsoft.graph.passwordAuthenticationMethod",
        "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
        "#microsoft.graph.phoneAuthenticationMethod",
    }


# -- read-only, batch, throttling, the usage report ------------------------------------------------------------------


def test_writes_are_refused_and_recorded(make_client: Any) -> None:
    with Sandbox(northwind(NOW)) as sandbox:
        client = make_client(sandbox)
        statuses = [
            client.request("PATCH", "/v1.0/users/someone", json={"accountEnabled": False}).status_code,
            client.request("DELETE", "/v1.0/users/someone").status_code,
            client.request("PUT", "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", json={}).status_code,
            client.request("POST", "/v1.0/users", json={"displayName": "x"}).status_code,
        ]
        batch = client.request(
            "POST", "/v1.0/$batch", json={"requests": [{"id": "1", "method": "DELETE", "url": "/users/someone"}]}
        ).json()
        refused = sandbox.refused_writes
        log = repr(sandbox.requests) + repr(refused)
    assert statuses == [405, 405, 405, 405]
    assert batch["responses"][0]["status"] == 405
    assert [(r.method, r.path) for r in refused] == [
        ("PATCH", "/v1.0/users/someone"),
        ("DELETE", "/v1.0/users/someone"),
        ("PUT", "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"),
        ("POST", "/v1.0/users"),
        ("DELETE", "/v1.0/users/someone"),
    ]
    # nothing secret is kept: no secret, no token, no Authorization header
    assert sandbox.client_secret not in log and client.token not in log and "Bearer" not in log


def test_batch(scenario: Scenario, client: Client) -> None:
    uid = _user_id(scenario, "reception.kiosk2@northwind.example")
    body = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/users/{uid}/authentication/requirements"},
            {"id": "2", "method": "GET", "url": f"users/{uuid.uuid4()}/authentication/requirements"},
            {"id": "3", "method": "GET", "url": "/subscribedSkus?$select=skuPartNumber"},
        ]
    }
    answer = client.session.post(
        f"{client.sandbox.graph_url}/beta/$batch", json=body, headers={"Authorization": f"Bearer {client.token}"}
    )
    assert answer.status_code == 200
    responses = {r["id"]: r for r in answer.json()["responses"]}
    assert responses["1"]["status"] == 200 and responses["1"]["body"]["perUserMfaState"] == "enforced"
    assert responses["2"]["status"] == 404
    assert responses["3"]["status"] == 200 and "value" in responses["3"]["body"]
    # v1.0 $batch resolves against v1.0, where the requirements endpoint does not exist
    v1 = client.request("POST", "/v1.0/$batch", json={"requests": body["requests"][:1]}).json()
    assert v1["responses"][0]["status"] == 404
    too_many = {"requests": [{"id": str(i), "method": "GET", "url": "/subscribedSkus"} for i in range(21)]}
    assert client.request("POST", "/v1.0/$batch", json=too_many).status_code == 400


def test_throttling(make_client: Any) -> None:
    with Sandbox(northwind(NOW), throttle_every=2, retry_after=0) as sandbox:
        client = make_client(sandbox)
        statuses = [client.get("/v1.0/subscribedSkus") for _ in range(4)]
        batch = client.request(
            "POST",
            "/v1.0/$batch",
            json={"requests": [{"id": str(i), "method": "GET", "url": "/subscribedSkus"} for i in range(4)]},
        )
        sandbox.set_throttling(0)
        assert client.get("/v1.0/subscribedSkus").status_code == 200
    assert [r.status_code for r in statuses] == [200, 429, 200, 429]
    throttled = statuses[1]
    assert throttled.headers["Retry-After"] == "0" and throttled.json()["error"]["code"] == "TooManyRequests"
    # the 5th request (the batch) passes; of its items, the 6th and 8th requests are throttled
    assert batch.status_code == 200
    subs = {r["id"]: r for r in batch.json()["responses"]}
    assert [subs[str(i)]["status"] for i in range(4)] == [429, 200, 429, 200]
    assert subs["0"]["headers"]["Retry-After"] == "0"


def test_office365_report_redirect_and_csv(scenario: Scenario, client: Client) -> None:
    redirect = client.get("/v1.0/reports/getOffice365ActiveUserDetail(period='D180')", allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(client.sandbox.base_url)
    download = client.session.get(location)  # pre-authenticated: no Authorization header
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/octet-stream"
    text = download.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(next(csv.reader(io.StringIO(text)))) == O365_COLUMNS
    by_upn = {r["User Principal Name"]: r for r in rows}
    assert len(rows) == len(scenario.users)
    assert (
        by_upn["mark.jones@northwind.example"]["Exchange Last Activity Date"]
        == (NOW - timedelta(days=148)).date().isoformat()
    )
    assert by_upn["scanner@northwind.example"]["Exchange Last Activity Date"] == ""  # older than the period
    assert client.session.get(location.rsplit("/", 1)[0] + "/nope").status_code == 404
    assert client.get("/v1.0/reports/getOffice365ActiveUserDetail(period='D365')").status_code == 400


def test_concealed_report_hides_names(make_client: Any) -> None:
    with Sandbox(northwind(NOW, premium=False, conceal_report_names=True)) as sandbox:
        client = make_client(sandbox)
        location = client.get(
            "/v1.0/reports/getOffice365ActiveUserDetail(period='D180')", allow_redirects=False
        ).headers["Location"]
        text = client.session.get(location).content.decode("utf-8-sig")
    assert "@northwind.example" not in text and "Priya" not in text


def test_latency(scenario: Scenario, make_client: Any) -> None:
    with Sandbox(scenario, latency_ms=60) as sandbox:
        client = make_client(sandbox)
        started = time.monotonic()
        client.get("/v1.0/subscribedSkus")
        assert time.monotonic() - started >= 0.06


# -- scenarios ------------------------------------------------------------------------------------------------------


def test_tls_material(sandbox: Sandbox) -> None:
    ca = sandbox.ca_file.read_text()
    assert ca.count("BEGIN CERTIFICATE") == 1 and "PRIVATE KEY" not in ca
    assert stat.S_IMODE(os.stat(sandbox.client_certificate_pem_path).st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(sandbox.client_certificate.certificate_pem.encode())
    assert isinstance(certificate.public_key(), rsa.RSAPublicKey)
    assert certificate.public_key().key_size == 2048


def test_northwind_expectations_name_real_objects(scenario: Scenario) -> None:
    assert set(scenario.expected) == set(CHECK_IDS)
    upns = {u["userPrincipalName"] for u in scenario.users}
    devices = {d["deviceName"] for d in scenario.managed_devices}
    skus = {s["skuPartNumber"] for s in scenario.skus}
    machines = {m["computerDnsName"] for m in scenario.defender_machines}
    named = {
        "m365.devices.os_supported": devices,
        "m365.devices.patch_current": devices,
        "m365.devices.encrypted": devices,
        # Intune devices by name; machines only Defender knows by its name for them
        "m365.devices.edr_active": devices | machines,
        "m365.devices.vulnerabilities": machines,
        "m365.licences.unused": skus,
        "m365.mfa.legacy_auth_blocked": {"tenant"},
        "m365.accounts.admin_count": {"tenant"},
        "m365.backup.enabled": {"Exchange", "OneDrive", "SharePoint"},
        "m365.apps.user_consent": {"user consent", "admin consent workflow"},
        "m365.apps.high_privilege": {sp["displayName"] for sp in scenario.service_principals},
    }
    for check_id, expectation in scenario.expected.items():
        assert expectation.status in ("pass", "fail", "not_assessed")
        assert (expectation.status == "fail") == bool(expectation.resources), check_id
        assert expectation.resources <= named.get(check_id, upns), check_id
    assert 38 <= len(scenario.users) <= 44
    assert any(p["state"] == "enabledForReportingButNotEnforced" for p in scenario.ca_policies)
    # dates are relative to now: a scenario built for another day says the same
    later = northwind(NOW + timedelta(days=400))
    assert {k: v.resources for k, v in later.expected.items()} == {k: v.resources for k, v in scenario.expected.items()}


def test_northwind_variants() -> None:
    no_p1 = northwind(NOW, premium=False, intune_licensed=False, withheld_permissions={"Policy.Read.All"})
    assert no_p1.security_defaults_enabled and not no_p1.ca_policies
    assert no_p1.expected["m365.devices.patch_current"].status == "not_assessed"
    assert no_p1.expected["m365.mfa.legacy_auth_blocked"].status == "not_assessed"
    assert "O365_BUSINESS_PREMIUM" in no_p1.expected["m365.licences.unused"].resources
    assert northwind(NOW, backup="enabled").expected["m365.backup.enabled"].status == "pass"
    assert northwind(NOW, backup="partial").expected["m365.backup.enabled"].resources == {"OneDrive", "SharePoint"}
    assert northwind(NOW, backup="disabled").expected["m365.backup.enabled"].resources == {
        "Exchange",
        "OneDrive",
        "SharePoint",
    }
    assert northwind(NOW, backup="restoreLocked").expected["m365.backup.enabled"].status == "fail"
    assert northwind(NOW, backup="updating").expected["m365.backup.enabled"].status == "not_assessed"
    assert northwind(NOW, backup_controller=False).expected["m365.backup.enabled"].status == "not_assessed"


def test_scenario_json_round_trip(scenario: Scenario, tmp_path: Path) -> None:
    path = scenario.save(tmp_path / "scenario.json")
    assert scenario.client_secret not in path.read_text()
    loaded = Scenario.load(path)
    assert loaded.users == scenario.users and loaded.expected == scenario.expected and loaded.now == scenario.now


def test_generator_is_deterministic_and_consistent() -> None:
    first = generate(1500, 11, NOW)
    second = generate(1500, 11, NOW)
    assert first.users == second.users and first.expected == second.expected
    assert len(first.users) == 1500 and len(first.managed_devices) == 1200
    upns = {u["userPrincipalName"] for u in first.users}
    devices = {d["deviceName"] for d in first.managed_devices}
    assert set(first.expected) == set(CHECK_IDS)
    for check_id in ("m365.mfa.registered", "m365.mfa.enforced", "m365.accounts.inactive"):
        assert first.expected[check_id].resources and first.expected[check_id].resources <= upns
    assert first.expected["m365.devices.patch_current"].resources <= devices
    assert (
        first.expected["m365.devices.os_supported"].resources <= first.expected["m365.devices.patch_current"].resources
    )
    assert generate(1500, 12, NOW).users != first.users


def test_generated_tenant_pages_through_all_users(make_client: Any) -> None:
    scenario = generate(1500, 5, NOW)
    with Sandbox(scenario) as sandbox:
        client = make_client(sandbox)
        url: str | None = "/v1.0/users?$select=id&$top=999"
        count = 0
        while url:
            body = client.get(url).json()
            count += len(body["value"])
            url = body.get("@odata.nextLink")
        assert count == 1500


# -- issue 11: guests and external users, application filters, compliance assignments, the Backup controller --------


def test_users_carry_what_tells_external_accounts_apart(client: Client, scenario: Scenario) -> None:
    fields = "id,userType,externalUserState,creationType,identities"
    users = client.get("/v1.0/users", params={"$select": fields, "$top": "999"}).json()["value"]
    ravi = next(
        u
        for u in users
        if u["id"] == _user_id(scenario, "ravi.kumar_brightbyte.example#EXT#@northwinddental.onmicrosoft.com")
    )
    assert ravi["userType"] == "Guest" and ravi["creationType"] == "Invitation"
    assert ravi["externalUserState"] == "Accepted"
    assert ravi["identities"] == [{"signInType": "federated", "issuer": "brightbyte.example", "issuerAssignedId": None}]
    oldmsp = next(
        u for u in users if u["id"] == _user_id(scenario, "support_oldmsp.example#EXT#@northwinddental.onmicrosoft.com")
    )
    assert oldmsp["externalUserState"] == "PendingAcceptance"  # never redeemed
    priya = next(u for u in users if u["id"] == _user_id(scenario, "priya.shah@northwind.example"))
    assert priya["externalUserState"] is None and priya["creationType"] is None
    assert [i["signInType"] for i in priya["identities"]] == ["userPrincipalName"]


def test_ca_guest_types_and_application_filter_as_graph_sends_them(client: Client) -> None:
    policies = {p["displayName"]: p for p in client.get("/v1.0/identity/conditionalAccess/policies").json()["value"]}
    excluded = policies["CA001: Require MFA for all users"]["conditions"]["users"]["excludeGuestsOrExternalUsers"]
    assert excluded == {
        "guestOrExternalUserTypes": "b2bCollaborationGuest",
        "externalTenants": {
            "@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
            "membershipKind": "all",
        },
    }
    app_filter = policies["CA009: Require MFA for clinical apps"]["conditions"]["applications"]["applicationFilter"]
    assert app_filter["mode"] == "include" and app_filter["rule"].startswith("CustomSecurityAttribute.")


def test_compliance_policy_assignments(client: Client) -> None:
    path = "/v1.0/deviceManagement/deviceCompliancePolicies"
    plain = client.get(path).json()["value"]
    assert all("assignments" not in p for p in plain)
    expanded = {p["displayName"]: p for p in client.get(path, params={"$expand": "assignments"}).json()["value"]}
    pilot = expanded["Windows 11 pilot - latest build"]
    assert [a["target"]["@odata.type"] for a in pilot["assignments"]] == [
        "#microsoft.graph.groupAssignmentTarget",
        "#microsoft.graph.exclusionGroupAssignmentTarget",
    ]
    baseline = expanded["Windows 11 baseline"]["assignments"]
    assert baseline == [
        {
            "id": f"{expanded['Windows 11 baseline']['id']}_adadadad-808e-44e2-905a-0b7873a8a531",
            "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"},
        }
    ]
    one = client.get(f"{path}/{pilot['id']}/assignments").json()["value"]
    assert one == pilot["assignments"]
    bad = client.get(path, params={"$expand": "deviceStatuses"})
    assert bad.status_code == 400
    devices = client.get("/v1.0/deviceManagement/managedDevices", params={"$select": "id,userId,azureADDeviceId"})
    assert any(d["userId"] for d in devices.json()["value"])


def test_backup_controller_refusal_is_the_same_403(make_client: Any) -> None:
    with Sandbox(northwind(NOW, backup_controller=False, google=False)) as sandbox:
        client = make_client(sandbox)
        root = client.get("/v1.0/solutions/backupRestore")
        policies = client.get("/v1.0/solutions/backupRestore/exchangeProtectionPolicies")
    for denied in (root, policies):
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_device_members_come_back_with_limited_information(client: Client, scenario: Scenario) -> None:
    """Without Device.Read.All a group's device members show only their id and type (group-list-members)."""
    gid = next(g for g, v in scenario.groups.items() if v["displayName"] == "Clinic Tablets")
    members = client.get(f"/v1.0/groups/{gid}/transitiveMembers", params={"$select": "id,deviceId"}).json()["value"]
    assert members == [{"@odata.type": "#microsoft.graph.device", "id": members[0]["id"], "deviceId": None}]


ELIGIBILITY = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"


def test_pim_eligibility_schedule_instances(scenario: Scenario, client: Client, make_client: Any) -> None:
    """unifiedRoleEligibilityScheduleInstance as v1.0 serves it; only its CSDL properties can be selected; a tenant
    without Entra ID P2 / Governance answers 400 AadPremiumLicenseRequired."""
    page = client.get(
        ELIGIBILITY,
        params={"$select": "id,principalId,roleDefinitionId,directoryScopeId", "$expand": "principal($select=id)"},
    )
    assert page.status_code == 200, page.text
    (row,) = page.json()["value"]
    nadia = scenario.user("nadia.khan@northwind.example")
    assert row["principalId"] == nadia["id"] and row["directoryScopeId"] == "/"
    assert row["roleDefinitionId"] == GLOBAL_ADMIN
    assert row["principal"] == {"@odata.type": "#microsoft.graph.user", "id": nadia["id"]}
    full = client.get(ELIGIBILITY).json()["value"][0]
    assert full["endDateTime"] is None and full["memberType"] == "Direct"
    invented = client.get(ELIGIBILITY, params={"$select": "id,assignmentType"})
    assert invented.status_code == 400
    with Sandbox(northwind(NOW, premium=False)) as sandbox:
        refused = make_client(sandbox).get(ELIGIBILITY)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "AadPremiumLicenseRequired"
    assert "Microsoft Entra ID P2" in refused.json()["error"]["message"]


def test_pim_for_groups_requires_a_group_or_principal_filter(scenario: Scenario, client: Client) -> None:
    path = "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances"
    unfiltered = client.get(path)
    assert unfiltered.status_code == 400
    it_admins = next(gid for gid, g in scenario.groups.items() if g["displayName"] == "IT Admins")
    page = client.get(path, params={"$filter": f"groupId eq '{it_admins}'", "$expand": "principal($select=id)"})
    assert page.status_code == 200 and page.json()["value"] == []
    assert (
        client.get(path, params={"$filter": f"groupId eq '{it_admins}'", "$select": "id,roleDefinitionId"}).status_code
        == 400
    )


# -- Defender for Endpoint (issue 16) ----------------------------------------------------------------------------------
DEFENDER_SCOPE = ["https://api.securitycenter.microsoft.com/.default"]


def _defender_token(sandbox: Sandbox, session: requests.Session) -> dict[str, Any]:
    return dict(_app(sandbox, session, sandbox.client_secret).acquire_token_for_client(DEFENDER_SCOPE))


def test_defender_api_has_its_own_audience(sandbox: Sandbox, client: Client) -> None:
    session = client.session
    token = _defender_token(sandbox, session)["access_token"]
    machines = session.get(
        f"{sandbox.defender_url}/api/machines?$top=2", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert machines.status_code == 200
    body = machines.json()
    assert len(body["value"]) == 2 and body["@odata.nextLink"].startswith(sandbox.defender_url + "/api/machines?")
    # a Graph token on the Defender API, and a Defender token on Graph: both refused
    graph_token_there = session.get(
        f"{sandbox.defender_url}/api/machines", headers={"Authorization": f"Bearer {client.token}"}, timeout=10
    )
    assert graph_token_there.status_code == 401
    defender_token_on_graph = session.get(
        f"{sandbox.graph_url}/v1.0/users", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert defender_token_on_graph.status_code == 401
    # read-only: anything but GET is refused
    posted = session.post(
        f"{sandbox.defender_url}/api/machines", headers={"Authorization": f"Bearer {token}"}, json={}, timeout=10
    )
    assert posted.status_code == 405


def test_defender_without_licence_or_permission() -> None:
    with Sandbox(northwind(NOW, defender_licensed=False, google=False, azure=False)) as unlicensed:
        session = _session(unlicensed)
        result = _defender_token(unlicensed, session)
        assert "access_token" not in result and 500011 in result.get("error_codes", [])
    scenario = northwind(NOW, withheld_permissions={"Vulnerability.Read.All"}, google=False, azure=False)
    with Sandbox(scenario) as withheld:
        session = _session(withheld)
        headers = {"Authorization": f"Bearer {_defender_token(withheld, session)['access_token']}"}
        export_url = f"{withheld.defender_url}/api/machines/SoftwareVulnerabilitiesByMachine"
        export = session.get(export_url, headers=headers, timeout=10)
        assert export.status_code == 403 and export.json()["error"]["code"] == "Forbidden"
        assert session.get(f"{withheld.defender_url}/api/machines", headers=headers, timeout=10).status_code == 200
    with Sandbox(northwind(NOW, google=False, azure=False).replace(defender_machines=[])) as empty:
        session = _session(empty)
        headers = {"Authorization": f"Bearer {_defender_token(empty, session)['access_token']}"}
        # get-machines: "If there are no recent machines, you see 404 Not Found"
        assert session.get(f"{empty.defender_url}/api/machines", headers=headers, timeout=10).status_code == 404


def test_windows_protection_state_is_served_per_device(sandbox: Sandbox, client: Client) -> None:
    devices = {d["deviceName"]: str(d["id"]) for d in sandbox.scenario.managed_devices}
    path = "/v1.0/deviceManagement/managedDevices/{}/windowsProtectionState"
    state = client.get(path.format(devices["NW-RECEP1-PC"]) + "?$select=realTimeProtectionEnabled,productStatus")
    assert state.status_code == 200
    assert state.json()["realTimeProtectionEnabled"] is False and "tamperProtectionEnabled" not in state.json()
    assert client.get(path.format(devices["NW-IT-LT"])).status_code == 404  # no report from it
    assert client.get(path.format(devices["JACK-MBA"])).status_code == 404  # not a Windows device
