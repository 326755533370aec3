"""A fake Microsoft identity platform (v2.0 endpoints) for the client-credentials grant.

What msal needs, and what Entra does with it:
- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: msal reads ``authorization_endpoint`` and
  ``token_endpoint`` (and takes the tenant GUID from the latter). An unknown tenant answers 400
  ``invalid_tenant`` (AADSTS90002).
- ``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``, a ``scope`` of
  ``{resource}/.default`` and either ``client_secret`` or a signed ``client_assertion``
  (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
  The assertion is a JWT signed with the key of a certificate registered on the app, RS256 with an
  ``x5t`` (SHA-1) header or PS256 with ``x5t#S256``; claims ``aud`` (the token endpoint), ``iss`` and
  ``sub`` (the client id), ``exp``/``nbf``, ``jti``
  (https://learn.microsoft.com/entra/identity-platform/certificate-credentials).
- Errors are JSON with ``error``, ``error_description`` ("AADSTSnnnn: ..."), ``error_codes``,
  ``timestamp``, ``trace_id``, ``correlation_id``
  (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).

Nothing here logs or stores a secret or an assertion; access tokens are kept only as lookup keys.
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
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hygiene_sandbox.scenario import Scenario
from hygiene_sandbox.tls import thumbprint_b64url
from hygiene_sandbox.wire import Reply, json_reply

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
TOKEN_LIFETIME = 3599
#: clock skew tolerated on assertion ``exp``/``nbf`` (Entra allows about five minutes)
SKEW_SECONDS = 300
_RESERVED_SCOPES = {"openid", "profile", "offline_access"}

TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/(?:v2\.0/)?token$")
OIDC_PATH = re.compile(r"^/(?P<tenant>[^/]+)(?P<v2>/v2\.0)?/\.well-known/openid-configuration$")
KEYS_PATH = re.compile(r"^/(?P<tenant>[^/]+)/discovery/(?:v2\.0/)?keys$")
INSTANCE_PATH = "/common/discovery/instance"


#: the application ID URI of the Microsoft Defender for Endpoint API (WindowsDefenderATP): the audience of its tokens
#: (https://learn.microsoft.com/defender-endpoint/api/exposed-apis-create-app-webapp)
DEFENDER_AUDIENCE = "https://api.securitycenter.microsoft.com"
#: its application permissions the scanner may be granted (they are not Graph permissions)
DEFENDER_PERMISSIONS = frozenset({"Machine.Read.All", "Machine.ReadWrite.All", "Vulnerability.Read.All"})


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    tenant_id: str
    expires_at: float
    roles: frozenset[str]
    #: the resource the token was issued for (Graph's, or the Defender for Endpoint API's)
    audience: str = ""


class TokenStore:
    """Access tokens issued by the fake token endpoint, for the fake Graph to check."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self._key = secrets.token_bytes(32)
        self._clock = clock
        self.issued = 0

    def issue(self, client_id: str, tenant_id: str, roles: frozenset[str], graph_audience: str) -> str:
        """A JWT-shaped opaque token (Graph tokens are JWTs; only this store can validate these)."""
        now = int(self._clock())
        header = {"typ": "JWT", "alg": "HS256", "kid": "sandbox"}
        claims = {
            "aud": graph_audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "appid": client_id,
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "roles": sorted(roles),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        signing_input = f"{_b64e(json.dumps(header).encode())}.{_b64e(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64e(signature)}"
        with self._lock:
            self._tokens[token] = IssuedToken(
                client_id, tenant_id, now + TOKEN_LIFETIME, frozenset(roles), graph_audience
            )
            self.issued += 1
        return token

    def lookup(self, token: str) -> IssuedToken | None:
        with self._lock:
            return self._tokens.get(token)

    def now(self) -> float:
        return self._clock()

    def expire_all(self) -> None:
        """Make every issued token expired (for tests of token refresh)."""
        with self._lock:
            self._tokens = {k: IssuedToken(v.client_id, v.tenant_id, 0.0, v.roles) for k, v in self._tokens.items()}


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AadError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description


class IdentityPlatform:
    def __init__(
        self,
        scenario: Scenario,
        base_url: str,
        tokens: TokenStore,
        certificates: list[x509.Certificate],
    ) -> None:
        self.scenario = scenario
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.certificates = list(certificates)
        self._lock = threading.Lock()

    def register_certificate(self, certificate: x509.Certificate) -> None:
        with self._lock:
            self.certificates.append(certificate)

    # -- routing ----------------------------------------------------------------------------------
    def handles(self, path: str) -> bool:
        return bool(TOKEN_PATH.match(path) or OIDC_PATH.match(path) or KEYS_PATH.match(path) or path == INSTANCE_PATH)

    def is_token_endpoint(self, path: str) -> bool:
        return TOKEN_PATH.match(path) is not None

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Reply:
        correlation = headers.get("client-request-id") or str(uuid.uuid4())
        try:
            if (match := TOKEN_PATH.match(path)) is not None:
                if method != "POST":
                    raise AadError(
                        405,
                        "invalid_request",
                        900561,
                        "The endpoint only accepts POST requests. Received a GET request.",
                    )
                return self._token(match["tenant"], body, correlation)
            if method != "GET":
                return Reply(405, b"", {"Allow": "GET"})
            if (match := OIDC_PATH.match(path)) is not None:
                return self._openid_configuration(match["tenant"], correlation, v2=bool(match["v2"]))
            if (match := KEYS_PATH.match(path)) is not None:
                self._tenant(match["tenant"])
                return json_reply(200, {"keys": []})
            return self._instance_discovery(query)
        except AadError as exc:
            return self._error_reply(exc, correlation)

    # -- endpoints --------------------------------------------------------------------------------
    def _tenant(self, tenant: str) -> str:
        known = {self.scenario.tenant_id.casefold(), self.scenario.tenant_domain.casefold()}
        if self.scenario.initial_domain:
            known.add(self.scenario.initial_domain.casefold())
        if tenant.casefold() not in known:
            raise AadError(
                400,
                "invalid_tenant" if tenant else "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                "into the correct cloud. Check with your subscription administrator, this may happen if there are "
                "no active subscriptions for the tenant.",
            )
        return self.scenario.tenant_id

    def token_endpoint(self, tenant: str | None = None) -> str:
        return f"{self.base_url}/{tenant or self.scenario.tenant_id}/oauth2/v2.0/token"

    def _openid_configuration(self, tenant: str, correlation: str, *, v2: bool) -> Reply:
        tid = self._tenant(tenant)
        base = self.base_url
        version = "/v2.0" if v2 else ""
        config = {
            "token_endpoint": f"{base}/{tid}/oauth2{version}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{tid}/discovery{version}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0" if v2 else f"https://sts.windows.net/{tid}/",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tid}/oauth2{version}/authorize",
            "device_authorization_endpoint": f"{base}/{tid}/oauth2{version}/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tid}/oauth2{version}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver"],
            "kerberos_endpoint": f"{base}/{tid}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return json_reply(200, config, headers={"client-request-id": correlation})

    def _instance_discovery(self, query: str) -> Reply:
        # only reached when a client is pointed at the sandbox for instance discovery too
        params = parse_qs(query)
        endpoint = (params.get("authorization_endpoint") or [""])[0]
        match = re.match(r"^https://[^/]+/(?P<tenant>[^/]+)/", endpoint)
        tenant = match["tenant"] if match else self.scenario.tenant_id
        host = self.base_url.split("://", 1)[1]
        return json_reply(
            200,
            {
                "tenant_discovery_endpoint": f"{self.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            },
        )

    def _token(self, tenant: str, body: bytes, correlation: str) -> Reply:
        tid = self._tenant(tenant)
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            raise AadError(400, "invalid_request", 900144, "The request body must be form-encoded.") from None
        grant = form.get("grant_type")
        if not grant:
            raise AadError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        if grant != "client_credentials":
            raise AadError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'. This sandbox issues app-only tokens.",
            )
        client_id = form.get("client_id", "")
        if not client_id:
            raise AadError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        if client_id.casefold() != self.scenario.client_id.casefold():
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.scenario.organization_name or self.scenario.tenant_domain}'. This can happen if the "
                "application has not been installed by the administrator of the tenant or consented to by any user "
                "in the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        audience = self._scope(form.get("scope"))
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret and assertion:
            raise AadError(
                400, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid: two credentials."
            )
        if secret:
            if not hmac.compare_digest(secret.encode(), self.scenario.client_secret.encode()):
                raise AadError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                    f"value, not the client secret ID, for a secret added to app '{client_id}'.",
                )
        elif assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise AadError(
                    400,
                    "invalid_request",
                    90014,
                    f"The required field 'client_assertion_type' is missing or is not '{JWT_BEARER}'.",
                )
            self._verify_assertion(assertion, client_id, tenant)
        else:
            raise AadError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        # each resource's token holds the application permissions granted on that resource only
        granted = self.scenario.granted_permissions
        roles = granted & DEFENDER_PERMISSIONS if audience == DEFENDER_AUDIENCE else granted - DEFENDER_PERMISSIONS
        token = self.tokens.issue(client_id, tid, roles, audience)
        return json_reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": token,
            },
            headers={"client-request-id": correlation, "Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    def _scope(self, scope: str | None) -> str:
        if not scope:
            raise AadError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
            )
        wanted = [s for s in scope.split() if s not in _RESERVED_SCOPES]
        if len(wanted) != 1 or not wanted[0].endswith("/.default"):
            raise AadError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
                "with /.default suffixed to the resource identifier (application ID URI).",
            )
        resource = wanted[0][: -len("/.default")].rstrip("/")
        accepted = {"https://graph.microsoft.com", GRAPH_APP_ID, self.base_url}
        if self.scenario.defender_licensed:
            # the WindowsDefenderATP service principal exists only in tenants with Defender for Endpoint
            accepted.add(DEFENDER_AUDIENCE)
        if resource not in accepted:
            raise AadError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self.scenario.organization_name or self.scenario.tenant_domain}. This can happen if the application "
                "has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
            )
        return "https://graph.microsoft.com" if resource == GRAPH_APP_ID else resource

    def _verify_assertion(self, assertion: str, client_id: str, tenant: str) -> None:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        try:
            header: dict[str, Any] = json.loads(_b64d(parts[0]))
            claims: dict[str, Any] = json.loads(_b64d(parts[1]))
            signature = _b64d(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        alg = header.get("alg")
        if alg == "RS256":
            thumb, kind = header.get("x5t"), "sha1"
        elif alg == "PS256":
            thumb, kind = header.get("x5t#S256"), "sha256"
        else:
            raise AadError(
                401,
                "invalid_client",
                5002738,
                f"Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported: RS256, PS256.",
            )
        if not isinstance(thumb, str) or not thumb:
            raise AadError(
                401, "invalid_client", 700027, "Client assertion failed signature validation. [Reason - no x5t header.]"
            )
        thumb = thumb.rstrip("=")
        with self._lock:
            candidates = [c for c in self.certificates if thumbprint_b64url(c, kind) == thumb]
        if not candidates:
            raise AadError(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on application. "
                f"[Reason - The key was not found., Thumbprint of key used by client: '{_hex(thumb)}']",
            )
        certificate = candidates[0]
        x5c = header.get("x5c")
        if x5c is not None:
            first = x5c[0] if isinstance(x5c, list) and x5c else x5c
            try:
                presented = x509.load_der_x509_certificate(base64.b64decode(str(first)))
            except ValueError:
                raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed (x5c).") from None
            if thumbprint_b64url(presented, kind) != thumb:
                raise AadError(
                    401, "invalid_client", 700027, "Client assertion failed signature validation. [Reason - x5c.]"
                )
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        try:
            if alg == "RS256":
                key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            else:
                # RFC 7518 3.5: PSS with MGF1, salt as long as the hash
                key.verify(
                    signature,
                    signing_input,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
                    hashes.SHA256(),
                )
        except InvalidSignature:
            raise AadError(
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation. [Reason - The provided signature value did not match "
                f"the expected signature value., Thumbprint of key used by client: '{_hex(thumb)}']",
            ) from None
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise AadError(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )
        audiences = {
            self.token_endpoint(self.scenario.tenant_id),
            self.token_endpoint(tenant),
            f"{self.base_url}/{self.scenario.tenant_id}/oauth2/token",
            f"{self.base_url}/{tenant}/oauth2/token",
        }
        aud = claims.get("aud")
        aud_values = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(a, str) and a in audiences for a in aud_values):
            raise AadError(401, "invalid_client", 50012, "Client assertion audience claim does not match Realm issuer.")
        now = self.tokens.now()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        expiry = _iso(exp) if isinstance(exp, int | float) else "none"
        if not isinstance(exp, int | float) or exp + SKEW_SECONDS < now:
            raise AadError(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range. "
                f"Current time: {_iso(now)}, expiry time of assertion {expiry}.",
            )
        if isinstance(nbf, int | float) and nbf - SKEW_SECONDS > now:
            raise AadError(
                401,
                "invalid_client",
                700024,
                f"Client assertion is not within its valid time range. Current time: {_iso(now)}, "
                f"assertion valid from {_iso(nbf)}.",
            )

    def _error_reply(self, exc: AadError, correlation: str) -> Reply:
        now = datetime.now(UTC)
        trace = str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{exc.code}: {exc.description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}"
        )
        return json_reply(
            exc.status,
            {
                "error": exc.error,
                "error_description": description,
                "error_codes": [exc.code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"{self.base_url}/error?code={exc.code}",
            },
            headers={"client-request-id": correlation},
        )


def _hex(thumb_b64: str) -> str:
    try:
        return _b64d(thumb_b64).hex().upper()
    except ValueError:
        return "?"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
