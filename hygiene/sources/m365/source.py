"""Microsoft 365 source: Entra ID, Intune and Microsoft 365 Backup through Microsoft Graph (read-only).

Each dataset is collected on its own, so a missing licence or permission costs only the data it guards.
Permissions are the least-privileged *application* permissions from each endpoint's Graph doc page.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import msal
import structlog
from cryptography.hazmat.primitives import serialization

from hygiene.checklib.m365 import users_without_policy_enforcement
from hygiene.config import M365Config
from hygiene.logsetup import register_secret
from hygiene.model import (
    CAGuestsOrExternalUsers,
    CAPolicy,
    CAUsers,
    DatasetState,
    M365AssignmentGroup,
    M365Backup,
    M365BackupPolicy,
    M365CompliancePolicy,
    M365Data,
    M365Device,
    M365PolicyAssignment,
    M365Registration,
    M365RoleAssignment,
    M365Sku,
    M365User,
    MailDomain,
    ReasonKind,
    SourceRun,
)
from hygiene.perf import gc_paused
from hygiene.sources.interface import (
    Collected,
    CredentialError,
    RawRecorder,
    Source,
    Unavailable,
    not_selected,
    parse_timestamp,
)
from hygiene.sources.m365.apps import read_app_consent, read_apps
from hygiene.sources.m365.catalogue import BY_NAME as DATASETS
from hygiene.sources.m365.credentials import certificate, client_secret
from hygiene.sources.m365.defender import no_defender_token, read_antivirus, read_machines, read_vulnerabilities
from hygiene.sources.m365.graph import GraphClient, GraphError, make_session

log = structlog.get_logger(__name__)

NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
#: PIM without Entra ID P2 / Governance: 400 "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID
#: Governance license." (observed: github.com/maester365/maester/issues/1421)
PREMIUM_P2_REQUIRED = "AadPremiumLicenseRequired"
USER_FIELDS = (
    "id,userPrincipalName,displayName,accountEnabled,userType,createdDateTime,assignedLicenses,"
    "externalUserState,creationType,identities,onPremisesSyncEnabled"
)
DEVICE_FIELDS = (
    "id,deviceName,operatingSystem,osVersion,complianceState,lastSyncDateTime,enrolledDateTime,"
    "androidSecurityPatchLevel,userPrincipalName,model,managedDeviceOwnerType,userId,azureADDeviceId,isEncrypted"
)
#: every type deriving from microsoft.graph.authenticationMethod in the v1.0 CSDL (msgraph-metadata
#: schemas/v1.0-Prod.csdl), plus the beta-only ones a tenant may return, classified: True when it is a second
#: factor (https://learn.microsoft.com/graph/api/resources/authenticationmethods-overview). A type not listed here
#: is never strong, and is recorded (M365Registration.unknown_methods) so that the finding names it.
METHOD_STRENGTH: dict[str, bool] = {
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": True,
    "#microsoft.graph.phoneAuthenticationMethod": True,  # SMS / voice
    "#microsoft.graph.fido2AuthenticationMethod": True,
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": True,
    "#microsoft.graph.softwareOathAuthenticationMethod": True,
    "#microsoft.graph.platformCredentialAuthenticationMethod": True,  # Platform SSO (macOS)
    "#microsoft.graph.externalAuthenticationMethod": True,  # external authentication method (third-party MFA)
    "#microsoft.graph.passwordAuthenticationMethod": False,
    "#microsoft.graph.emailAuthenticationMethod": False,  # self-service password reset only
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod": False,  # time-limited onboarding pass
    "#microsoft.graph.qrCodePinAuthenticationMethod": False,  # QR code + PIN: a primary (single) factor
    # beta only (schemas/type-mappings/beta-entity-types.json); may appear in v1.0 answers
    "#microsoft.graph.hardwareOathAuthenticationMethod": True,
    "#microsoft.graph.passwordlessMicrosoftAuthenticatorAuthenticationMethod": True,
}
STRONG_METHOD_TYPES = frozenset(t for t, strong in METHOD_STRENGTH.items() if strong)


def _ts(value: Any) -> datetime | None:
    return parse_timestamp(value, never_until_year=1601)


def _classify(exc: GraphError, dataset: str) -> Unavailable:
    permissions, licence = DATASETS[dataset].needs, DATASETS[dataset].licence
    endpoint = exc.url.split("?", 1)[0]
    if exc.code == PREMIUM_P2_REQUIRED:
        return Unavailable(
            ReasonKind.LICENCE, f"the tenant has no {licence} licence ({exc.code})", (licence or "",), endpoint
        )
    if exc.status == 403 and exc.code == NON_PREMIUM:
        return Unavailable(
            ReasonKind.LICENCE, f"the tenant has no {licence} licence ({exc.code})", (licence or "",), endpoint
        )
    if exc.status == 400 and "not applicable to target tenant" in exc.message.lower():
        return Unavailable(
            ReasonKind.LICENCE,
            f"{licence or 'a licence'} is not active in the tenant ({exc.message})",
            (licence or "",),
            endpoint,
        )
    if exc.status in (401, 403):
        return Unavailable(
            ReasonKind.PERMISSION,
            f"the app lacks permission ({exc.code}); grant {', '.join(permissions)}",
            permissions,
            endpoint,
        )
    if exc.status == 404:
        return Unavailable(
            ReasonKind.API_GAP, f"the endpoint is not available in this tenant ({exc.code})", (), endpoint
        )
    kind = ReasonKind.UNREACHABLE if exc.status == 0 or exc.status >= 500 else ReasonKind.ERROR
    return Unavailable(kind, f"Graph answered {exc}", (), endpoint)


#: the application permissions each Microsoft 365 Backup call accepts (doc pages backuprestoreroot-get and
#: backuprestoreroot-list-protectionpolicies: least and higher privileged)
BACKUP_CONTROL = frozenset({"BackupRestore-Control.Read.All", "BackupRestore-Control.ReadWrite.All"})
BACKUP_CONFIGURATION = frozenset({"BackupRestore-Configuration.Read.All", "BackupRestore-Configuration.ReadWrite.All"})
BACKUP_CONTROLLER_DOC = "https://learn.microsoft.com/graph/api/backuprestoreroot-get"


def token_roles(token: str) -> frozenset[str] | None:
    """The application permissions (``roles`` claim) of an app-only access token, or None when the token is not
    a readable JWT. Only read to explain a 403, never trusted for access: Graph decides."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    if not isinstance(roles, list):
        return frozenset() if isinstance(claims, dict) else None
    return frozenset(str(r) for r in roles)


def _backup_forbidden(exc: GraphError, roles: frozenset[str] | None) -> Unavailable:
    """A 403 from the Microsoft 365 Backup APIs has two causes that the error body does not tell apart: the app
    lacks the permission, or it holds it but is not a registered Backup Controller application ("These APIs are
    intended for use by registered Backup Controller applications", backuprestoreroot-get). The token's roles
    tell which."""
    endpoint = exc.url.split("?", 1)[0]
    needed = BACKUP_CONTROL if endpoint.rstrip("/").endswith("/solutions/backupRestore") else BACKUP_CONFIGURATION
    permission = min(needed)  # the least privileged one: the Read permission sorts first
    controller = (
        "the Microsoft 365 Backup APIs answer only applications registered as the tenant's Backup Controller "
        f"(with a Microsoft 365 Backup billing policy; {BACKUP_CONTROLLER_DOC}), which a read-only scanner is not"
    )
    if roles is not None and roles & needed:
        return Unavailable(
            ReasonKind.API_GAP,
            f"Graph refused {endpoint} ({exc.code}) although the app holds {', '.join(sorted(roles & needed))}: "
            f"{controller}; record the organisation's backup as an attestation instead",
            (),
            endpoint,
        )
    if roles is not None:
        return Unavailable(
            ReasonKind.PERMISSION,
            f"the app lacks permission ({exc.code}); grant {permission}",
            (permission,),
            endpoint,
        )
    return Unavailable(
        ReasonKind.PERMISSION,
        f"Graph refused {endpoint} ({exc.code}): grant {permission} if the app lacks it; if it holds it, {controller}",
        (permission,),
        endpoint,
    )


class AuthError(Exception):
    pass


class NotConfigured(Exception):
    """An API the config does not name a host for: not read."""


def _credential(config: M365Config, environ: dict[str, str]) -> str | dict[str, str]:
    try:
        if config.client_secret_env is not None:
            secret = client_secret(config, environ)
            register_secret(secret)
            return secret
        assert config.certificate_file is not None
        pem, key, cert = certificate(config.certificate_file)
    except CredentialError as exc:
        raise AuthError(str(exc)) from None
    register_secret(pem.decode("utf-8", errors="replace"))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "private_key": key_pem,
        "thumbprint": hashlib.sha1(der, usedforsecurity=False).hexdigest(),
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


@dataclass
class _Collector:
    graph: GraphClient
    data: M365Data
    states: dict[str, DatasetState]
    #: set once the users are read (or could not be): what the registration fallback waits for
    users_read: threading.Event | None = None
    #: the application permissions in the access token (None: the token is not a readable JWT)
    granted_roles: frozenset[str] | None = None

    def run(self, dataset: str, fn: Callable[[], DatasetState | None]) -> None:
        try:
            state = fn() or DatasetState(available=True)
        except Unavailable as exc:
            state = exc.state()
        except GraphError as exc:
            state = _classify(exc, dataset).state()
        if not state.available:
            log.warning("dataset not collected", dataset=dataset, reason=state.reason)
        else:
            self.graph._raw.dataset_read(dataset, state.records)
        self.states[dataset] = state

    # -- users and sign-ins ---------------------------------------------------------------------
    def users(self) -> DatasetState:
        select = USER_FIELDS + ",signInActivity"
        signins: DatasetState
        try:
            users = self._users(select)
            signins = DatasetState(available=True, method="signInActivity", endpoint="/v1.0/users", records=len(users))
        except GraphError as exc:
            if exc.status not in (400, 403):
                raise
            # signInActivity needs Entra ID P1 and AuditLog.Read.All; fall back to the directory alone
            sign_in_problem = _classify(exc, "m365.sign_ins")
            users = self._users(USER_FIELDS)
            signins = self._activity_report(users, sign_in_problem)
        self.data.users = users
        self.states["m365.sign_ins"] = signins
        return DatasetState(available=True, endpoint="/v1.0/users", records=len(self.data.users))

    def _users(self, select: str) -> list[M365User]:
        """Every user, normalised page by page (the raw pages of a large tenant are never all held at once)."""
        try:
            return [self._user(u) for u in self.graph.get_all("/v1.0/users", {"$select": select, "$top": "999"})]
        except GraphError as exc:
            # some tenants refuse signInActivity pages larger than 120 users
            if exc.status == 400 and "120" in exc.message:
                return [self._user(u) for u in self.graph.get_all("/v1.0/users", {"$select": select, "$top": "120"})]
            raise

    @staticmethod
    def _user(raw: dict[str, Any]) -> M365User:
        activity = raw.get("signInActivity") or {}
        return M365User(
            id=str(raw["id"]),
            upn=str(raw.get("userPrincipalName") or raw["id"]),
            display_name=str(raw.get("displayName") or ""),
            enabled=bool(raw.get("accountEnabled", False)),
            user_type=str(raw.get("userType") or "Member"),
            created=_ts(raw.get("createdDateTime")),
            assigned_sku_ids=[str(lic.get("skuId")) for lic in raw.get("assignedLicenses") or [] if lic.get("skuId")],
            last_successful_sign_in=_ts(activity.get("lastSuccessfulSignInDateTime")),
            last_interactive_sign_in=_ts(activity.get("lastSignInDateTime")),
            last_non_interactive_sign_in=_ts(activity.get("lastNonInteractiveSignInDateTime")),
            external_user_state=str(raw["externalUserState"]) if raw.get("externalUserState") else None,
            creation_type=str(raw["creationType"]) if raw.get("creationType") else None,
            identity_sign_in_types=(
                [str(i.get("signInType") or "") for i in raw["identities"] if isinstance(i, dict)]
                if isinstance(raw.get("identities"), list)
                else None
            ),
            on_premises_sync_enabled=(
                raw["onPremisesSyncEnabled"] if isinstance(raw.get("onPremisesSyncEnabled"), bool) else None
            ),
        )

    def _activity_report(self, users: list[M365User], primary: Unavailable) -> DatasetState:
        """No-P1 fallback: the Office 365 active-user report (Reports.Read.All), joined on the UPN.

        https://learn.microsoft.com/graph/api/reportroot-getoffice365activeuserdetail — answers 302 to a CSV.
        When the tenant conceals user names in reports the rows cannot be joined: say so, never guess.
        """
        path = "/v1.0/reports/getOffice365ActiveUserDetail(period='D180')"
        try:
            location = self.graph.get_redirect(path)
            content = self.graph.download(location)
        except GraphError as exc:
            fallback = _classify(exc, "m365.sign_ins")
            return DatasetState(
                available=False,
                reason_kind=primary.kind,
                reason=f"{primary.reason}; the fallback report also failed: {fallback.reason}",
                needs=list(primary.needs),
                endpoint="/v1.0/users",
            )
        text = content.decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        columns = set(reader.fieldnames or [])
        if not {"Report Refresh Date", "User Principal Name"} <= columns:
            # the download came from a redirect: whatever it is, it is only the report if it reads as the report
            return DatasetState(
                available=False,
                reason_kind=ReasonKind.ERROR,
                reason=f"{primary.reason}; the fallback report's download is not the Office 365 active-user report "
                "(no 'Report Refresh Date' and 'User Principal Name' columns)",
                needs=list(primary.needs),
                endpoint=path,
            )
        rows = list(reader)
        by_upn = {u.upn.casefold() for u in users}
        joined = 0
        latest: dict[str, datetime] = {}
        for row in rows:
            upn = (row.get("User Principal Name") or "").casefold()
            if upn not in by_upn:
                continue
            joined += 1
            dates = [_ts(v + "T00:00:00Z") for k, v in row.items() if k and k.endswith("Last Activity Date") and v]
            dates_ok = [d for d in dates if d is not None]
            if dates_ok:
                latest[upn] = max(dates_ok)
        if rows and joined == 0:
            return DatasetState(
                available=False,
                reason_kind=ReasonKind.API_GAP,
                reason=(
                    "no Entra ID P1 sign-in data, and the Office 365 usage report conceals user names so its rows "
                    "cannot be matched to users (Microsoft 365 admin center > Settings > Org settings > Reports: "
                    "untick 'Display concealed user, group, and site names')"
                ),
                needs=["Entra ID P1, or reports showing user names"],
                endpoint=path,
            )
        self._pending_activity = latest
        return DatasetState(available=True, method="office365ActiveUserDetail", endpoint=path, records=joined)

    def apply_activity(self) -> None:
        latest: dict[str, datetime] = getattr(self, "_pending_activity", {})
        for user in self.data.users:
            found = latest.get(user.upn.casefold())
            if found is not None:
                user.last_activity_date = found

    # -- MFA ------------------------------------------------------------------------------------
    def registration(self) -> DatasetState:
        try:
            registrations = [
                M365Registration(
                    user_id=str(r["id"]),
                    is_mfa_registered=bool(r.get("isMfaRegistered")),
                    is_mfa_capable=bool(r.get("isMfaCapable")),
                    methods=[str(m) for m in r.get("methodsRegistered") or []],
                    is_admin=bool(r.get("isAdmin")),
                )
                for r in self.graph.get_all("/v1.0/reports/authenticationMethods/userRegistrationDetails")
            ]
        except GraphError as exc:
            if exc.status not in (400, 403):
                raise
            return self._registration_by_methods(_classify(exc, "m365.registration"))
        self.data.registrations = registrations
        return DatasetState(
            available=True,
            method="userRegistrationDetails",
            endpoint="/v1.0/reports/authenticationMethods/userRegistrationDetails",
            records=len(registrations),
        )

    def _registration_by_methods(self, primary: Unavailable) -> DatasetState:
        """No-P1 fallback: each enabled account's authentication methods (members and guests, as the P1 report
        has them: a guest can hold an admin role, and a registration not read must never count as "none"),
        20 per $batch request.

        https://learn.microsoft.com/graph/api/authentication-list-methods (UserAuthenticationMethod.Read.All).
        """
        if self.users_read is not None:
            self.users_read.wait()  # the fallback is per user: it needs the user list
        enabled = [u for u in self.data.users if u.enabled]
        urls = {f"/users/{u.id}/authentication/methods": u for u in enabled}
        answers = self.graph.batch(list(urls)) if urls else {}
        registrations = []
        for url, user in urls.items():
            status, body = answers.get(url, (0, None))
            if status != 200 or not isinstance(body, dict):
                code = (body or {}).get("error", {}).get("code", "") if isinstance(body, dict) else ""
                return DatasetState(
                    available=False,
                    reason_kind=primary.kind,
                    reason=f"{primary.reason}; the per-user fallback failed too (HTTP {status} {code})",
                    needs=[*primary.needs, "UserAuthenticationMethod.Read.All"],
                    endpoint="/v1.0/reports/authenticationMethods/userRegistrationDetails",
                )
            types = [str(m.get("@odata.type", "")) for m in body.get("value", [])]
            strong = [t for t in types if t in STRONG_METHOD_TYPES]
            registrations.append(
                M365Registration(
                    user_id=user.id,
                    is_mfa_registered=bool(strong),
                    is_mfa_capable=bool(strong),
                    methods=[t.rsplit(".", 1)[-1].removesuffix("AuthenticationMethod") for t in types],
                    unknown_methods=sorted({t for t in types if t not in METHOD_STRENGTH}),
                )
            )
        self.data.registrations = registrations
        return DatasetState(
            available=True,
            method="authentication/methods ($batch)",
            endpoint="/v1.0/users/{id}/authentication/methods",
            records=len(registrations),
        )

    def mfa_policies(self) -> DatasetState:
        defaults = self.graph.get("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy")
        self.data.security_defaults_enabled = bool(defaults.get("isEnabled"))
        policies = list(self.graph.get_all("/v1.0/identity/conditionalAccess/policies"))
        self.data.ca_policies = [_ca_policy(p) for p in policies]
        groups = {g for p in self.data.ca_policies for g in (*p.users.include_groups, *p.users.exclude_groups)}
        self._resolve_groups(groups)
        return DatasetState(available=True, endpoint="/v1.0/identity/conditionalAccess/policies", records=len(policies))

    def _resolve_groups(self, group_ids: set[str]) -> None:
        for group_id in sorted(group_ids - set(self.data.group_members)):
            members = self.graph.get_all(f"/v1.0/groups/{group_id}/transitiveMembers", {"$select": "id", "$top": "999"})
            self.data.group_members[group_id] = [
                str(m["id"]) for m in members if str(m.get("@odata.type", "#microsoft.graph.user")).endswith(".user")
            ]

    def roles(self) -> DatasetState:
        definitions = {
            str(d["id"]): d
            for d in self.graph.get_all(
                "/v1.0/roleManagement/directory/roleDefinitions", {"$select": "id,displayName,templateId"}
            )
        }
        assignments = list(
            self.graph.get_all(
                "/v1.0/roleManagement/directory/roleAssignments",
                {"$select": "id,principalId,roleDefinitionId,directoryScopeId", "$expand": "principal($select=id)"},
            )
        )
        groups: set[str] = set()
        result = [self._role_assignment(a, definitions, groups, "active") for a in assignments]
        result += self._eligible_roles(definitions, groups)
        self.data.role_assignments = result
        self._resolve_groups(groups)
        self._group_eligibility(groups)
        return DatasetState(
            available=True, endpoint="/v1.0/roleManagement/directory/roleAssignments", records=len(assignments)
        )

    def _eligible_roles(self, definitions: dict[str, Any], groups: set[str]) -> list[M365RoleAssignment]:
        """PIM eligible assignments: principals who can activate a role whenever they want (one paged GET).

        https://learn.microsoft.com/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
        (RoleManagement.Read.Directory; needs Entra ID P2 or Entra ID Governance, else 400
        ``AadPremiumLicenseRequired``): recorded in ``m365.role_eligibility``, which the admin checks treat as an
        unseen part of their population when unavailable.
        """
        path = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
        try:
            rows = list(
                self.graph.get_all(
                    path,
                    {
                        "$select": "id,principalId,roleDefinitionId,directoryScopeId,startDateTime,endDateTime",
                        "$expand": "principal($select=id)",
                    },
                )
            )
        except GraphError as exc:  # the active assignments stay usable; the checks say what they could not see
            self.states["m365.role_eligibility"] = _classify(exc, "m365.role_eligibility").state()
            return []
        self.states["m365.role_eligibility"] = DatasetState(available=True, endpoint=path, records=len(rows))
        return [self._role_assignment(r, definitions, groups, "eligible") for r in rows]

    def _group_eligibility(self, role_groups: set[str]) -> None:
        """PIM for Groups: users eligible to become members of a group that holds a role (one GET per such group;
        none when no group holds a role). The API requires a ``groupId`` (or ``principalId``) filter.

        https://learn.microsoft.com/graph/api/privilegedaccessgroup-list-eligibilityscheduleinstances
        (PrivilegedEligibilitySchedule.Read.AzureADGroup). Eligible *owners* (accessId ``owner``) are not read.
        Active PIM memberships need no call: an activated member is a member, seen by transitiveMembers.
        """
        path = "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances"
        nested: set[str] = set()
        found: dict[str, list[tuple[str, str]]] = {}
        try:
            for group_id in sorted(role_groups):
                rows = self.graph.get_all(
                    path,
                    {
                        "$filter": f"groupId eq '{group_id}'",
                        "$select": "id,groupId,principalId,accessId,memberType,startDateTime,endDateTime",
                        "$expand": "principal($select=id)",
                    },
                )
                for row in rows:
                    if str(row.get("accessId")) != "member":
                        continue  # owner (or a future value): not a membership
                    principal = row.get("principal") or {}
                    kind = str(principal.get("@odata.type", "#microsoft.graph.user")).rsplit(".", 1)[-1]
                    found.setdefault(group_id, []).append((str(row["principalId"]), kind))
                    if kind == "group":
                        nested.add(str(row["principalId"]))
        except GraphError as exc:
            self.states["m365.group_eligibility"] = _classify(exc, "m365.group_eligibility").state()
            return
        self._resolve_groups(nested)
        for group_id, principals in found.items():
            users: list[str] = []
            for principal_id, kind in principals:
                users += self.data.group_members.get(principal_id, []) if kind == "group" else [principal_id]
            self.data.group_eligible_members[group_id] = sorted(set(users))
        self.states["m365.group_eligibility"] = DatasetState(
            available=True,
            method="not needed: no group holds a role" if not role_groups else None,
            endpoint=path,
            records=sum(len(p) for p in found.values()),
        )

    @staticmethod
    def _role_assignment(
        raw: dict[str, Any], definitions: dict[str, Any], groups: set[str], assignment: Literal["active", "eligible"]
    ) -> M365RoleAssignment:
        definition = definitions.get(str(raw.get("roleDefinitionId")), {})
        principal = raw.get("principal") or {}
        odata_type = str(principal.get("@odata.type", "#microsoft.graph.user"))
        kind = (
            "group"
            if odata_type.endswith(".group")
            else ("servicePrincipal" if odata_type.endswith(".servicePrincipal") else "user")
        )
        if kind == "group":
            groups.add(str(raw["principalId"]))
        return M365RoleAssignment(
            principal_id=str(raw["principalId"]),
            principal_type=kind,
            role_definition_id=str(raw.get("roleDefinitionId")),
            role_template_id=str(definition.get("templateId") or raw.get("roleDefinitionId")),
            role_name=str(definition.get("displayName") or raw.get("roleDefinitionId")),
            assignment=assignment,
        )

    def per_user_mfa(self) -> DatasetState:
        """Legacy per-user MFA, read only for the users no policy covers (beta; Policy.Read.All).

        https://learn.microsoft.com/graph/api/authentication-get?view=graph-rest-beta
        """
        uncovered = users_without_policy_enforcement(self.data)
        urls = {f"/users/{u.id}/authentication/requirements": u for u in uncovered}
        answers = self.graph.batch(list(urls), version="beta") if urls else {}
        for url, user in urls.items():
            status, body = answers.get(url, (0, None))
            if status != 200 or not isinstance(body, dict):
                err = body.get("error", {}) if isinstance(body, dict) else {}
                raise GraphError(
                    status,
                    str(err.get("code", f"HTTP{status}")),
                    str(err.get("message", "")),
                    f"/beta/users/{user.id}/authentication/requirements",
                )
            self.data.per_user_mfa[user.id] = str(body.get("perUserMfaState") or "disabled")
        return DatasetState(
            available=True, method="$batch", endpoint="/beta/users/{id}/authentication/requirements", records=len(urls)
        )

    # -- licences, devices, backup --------------------------------------------------------------
    def licences(self) -> DatasetState:
        skus = list(self.graph.get_all("/v1.0/subscribedSkus"))
        self.data.skus = [
            M365Sku(
                sku_id=str(s["skuId"]),
                part_number=str(s.get("skuPartNumber") or s["skuId"]),
                enabled_units=int((s.get("prepaidUnits") or {}).get("enabled") or 0),
                consumed_units=int(s.get("consumedUnits") or 0),
            )
            for s in skus
        ]
        return DatasetState(available=True, endpoint="/v1.0/subscribedSkus", records=len(skus))

    def domains(self) -> DatasetState:
        """The tenant's domains (one request: the collection is small and not paged in practice, but followed if it
        is): the verified ones with the Email service are the mail domains the email checks read DNS for."""
        self.data.domains = [
            MailDomain(
                name=str(d["id"]),
                verified=d.get("isVerified") is True,
                default=d.get("isDefault") is True,
                email="Email" in (d.get("supportedServices") or []),
            )
            for d in self.graph.get_all("/v1.0/domains", {"$select": "id,isVerified,isDefault,supportedServices"})
        ]
        return DatasetState(available=True, endpoint="/v1.0/domains", records=len(self.data.domains))

    def devices(self) -> DatasetState:
        self.data.devices = [
            M365Device(
                id=str(d["id"]),
                name=str(d.get("deviceName") or d["id"]),
                operating_system=str(d.get("operatingSystem") or ""),
                os_version=str(d.get("osVersion") or ""),
                compliance_state=str(d.get("complianceState") or "unknown"),
                last_sync=_ts(d.get("lastSyncDateTime")),
                enrolled=_ts(d.get("enrolledDateTime")),
                android_security_patch_level=d.get("androidSecurityPatchLevel") or None,
                user_principal_name=d.get("userPrincipalName") or None,
                model=d.get("model") or None,
                owner_type=d.get("managedDeviceOwnerType") or None,
                user_id=d.get("userId") or None,
                azure_ad_device_id=d.get("azureADDeviceId") or None,
                is_encrypted=d["isEncrypted"] if isinstance(d.get("isEncrypted"), bool) else None,
            )
            for d in self.graph.get_all("/v1.0/deviceManagement/managedDevices", {"$select": DEVICE_FIELDS})
        ]
        return DatasetState(
            available=True, endpoint="/v1.0/deviceManagement/managedDevices", records=len(self.data.devices)
        )

    def antivirus(self) -> DatasetState:
        devices = self.states.get("m365.devices")
        if devices is None or not devices.available:
            reason = devices.reason if devices is not None else "not read"
            raise Unavailable(
                devices.reason_kind if devices is not None and devices.reason_kind else ReasonKind.ERROR,
                f"Intune devices could not be read: {reason}",
                tuple(devices.needs) if devices is not None else (),
            )
        return read_antivirus(self.graph, self.data)

    def compliance_policies(self) -> DatasetState:
        """The policies with their assignments in one paged read (``$expand=assignments``; the navigation property
        of deviceCompliancePolicy), then each assigned group's transitive members (one paged read per group).

        A policy whose assignments do not come back is read on its own (``/{id}/assignments``); when that fails
        too it is taken to apply to every device, which can only add failures."""
        path = "/v1.0/deviceManagement/deviceCompliancePolicies"
        try:
            rows = list(self.graph.get_all(path, {"$expand": "assignments"}))
        except GraphError as exc:
            if exc.status != 400:
                raise
            rows = list(self.graph.get_all(path))  # $expand refused: the assignments are read per policy
        policies = []
        for p in rows:
            raw_assignments = p.get("assignments")
            if not isinstance(raw_assignments, list):
                try:
                    raw_assignments = list(self.graph.get_all(f"{path}/{p['id']}/assignments"))
                except GraphError as exc:
                    log.warning("compliance policy assignments not read", policy=p.get("id"), status=exc.status)
                    raw_assignments = None
            policies.append(
                M365CompliancePolicy(
                    id=str(p["id"]),
                    name=str(p.get("displayName") or p["id"]),
                    platform=_policy_platform(str(p.get("@odata.type", ""))),
                    os_minimum_version=p.get("osMinimumVersion") or None,
                    assignments=None if raw_assignments is None else [_assignment(a) for a in raw_assignments],
                )
            )
        self.data.compliance_policies = policies
        groups = {a.group_id for p in policies for a in p.assignments or [] if a.group_id}
        for group_id in sorted(groups):
            self._assignment_group(group_id)
        return DatasetState(available=True, endpoint=path, records=len(rows))

    def _assignment_group(self, group_id: str) -> None:
        """Users (object ids) and devices (Entra ``deviceId``) in the group; left out when it cannot be read.

        ``transitiveMembers`` is a collection of directoryObject, which declares no ``deviceId``: the device
        members' ``deviceId`` is read through the type-cast segment ``/microsoft.graph.device`` (one more paged
        read, only for a group that has device members). Without Device.Read.All Graph answers device members
        with their id alone (limited information): their devices are then unknown, never assumed outside."""
        path = f"/v1.0/groups/{group_id}/transitiveMembers"
        try:
            members = list(self.graph.get_all(path, {"$select": "id", "$top": "999"}))
        except GraphError as exc:
            log.warning("assignment group not read", group=group_id, status=exc.status)
            return
        users = [str(m["id"]) for m in members if str(m.get("@odata.type", "")).endswith(".user")]
        device_count = sum(1 for m in members if str(m.get("@odata.type", "")).endswith(".device"))
        devices: list[str] | None = []
        if device_count:
            try:
                rows = list(
                    self.graph.get_all(f"{path}/microsoft.graph.device", {"$select": "id,deviceId", "$top": "999"})
                )
            except GraphError as exc:
                log.warning("assignment group's devices not read", group=group_id, status=exc.status)
                rows = []
            devices = [str(m["deviceId"]) for m in rows if m.get("deviceId")]
            if len(devices) != device_count:
                devices = None  # limited information, or not readable: which devices are members is unknown
        self.data.assignment_groups[group_id] = M365AssignmentGroup(users=users, devices=devices)

    def backup(self) -> DatasetState:
        """https://learn.microsoft.com/graph/api/backuprestoreroot-get and the protection-policy lists."""
        try:
            return self._backup()
        except GraphError as exc:
            if exc.status != 403:
                raise
            raise _backup_forbidden(exc, self.granted_roles) from None

    def app_consent(self) -> DatasetState:
        self.data.app_consent, state = read_app_consent(self.graph)
        return state

    def apps(self) -> DatasetState:
        self.data.apps, state = read_apps(self.graph)
        return state

    def _backup(self) -> DatasetState:
        root = self.graph.get("/v1.0/solutions/backupRestore")
        # backupRestoreRoot.serviceStatus (serviceStatus): status is a backupServiceStatus, disableReason a
        # disableReason (https://learn.microsoft.com/graph/api/resources/servicestatus); absent: unknown, never good
        service = root.get("serviceStatus") if isinstance(root.get("serviceStatus"), dict) else {}
        backup = M365Backup(
            service_status=str(service.get("status") or "unknown"),
            disable_reason=str(service["disableReason"]) if service.get("disableReason") else None,
        )
        if backup.service_status != "disabled":
            for workload, path in (
                ("exchange", "exchangeProtectionPolicies"),
                ("sharePoint", "sharePointProtectionPolicies"),
                ("oneDriveForBusiness", "oneDriveForBusinessProtectionPolicies"),
            ):
                for p in self.graph.get_all(f"/v1.0/solutions/backupRestore/{path}"):
                    backup.policies.append(
                        M365BackupPolicy(
                            id=str(p["id"]),
                            name=str(p.get("displayName") or p["id"]),
                            workload=workload,
                            status=str(p.get("status") or "unknown"),
                        )
                    )
        self.data.backup = backup
        return DatasetState(available=True, endpoint="/v1.0/solutions/backupRestore", records=len(backup.policies))


def _ca_policy(raw: dict[str, Any]) -> CAPolicy:
    conditions = raw.get("conditions") or {}
    users = conditions.get("users") or {}
    apps = conditions.get("applications") or {}
    grant = raw.get("grantControls") or {}
    strength = grant.get("authenticationStrength") or {}

    def ids(key: str) -> list[str]:
        return [str(v) for v in users.get(key) or []]

    app_filter = apps.get("applicationFilter")
    return CAPolicy(
        id=str(raw["id"]),
        name=str(raw.get("displayName") or raw["id"]),
        state=str(raw.get("state") or ""),
        users=CAUsers(
            include_users=ids("includeUsers"),
            exclude_users=ids("excludeUsers"),
            include_groups=ids("includeGroups"),
            exclude_groups=ids("excludeGroups"),
            include_roles=ids("includeRoles"),
            exclude_roles=ids("excludeRoles"),
            include_guests_or_external_users=_guests_or_external(users.get("includeGuestsOrExternalUsers")),
            exclude_guests_or_external_users=_guests_or_external(users.get("excludeGuestsOrExternalUsers")),
        ),
        include_applications=[str(a) for a in apps.get("includeApplications") or []],
        exclude_applications=[str(a) for a in apps.get("excludeApplications") or []],
        # a filter object without a mode still filters: never read as "no filter"
        application_filter_mode=str(app_filter.get("mode") or "unknown") if isinstance(app_filter, dict) else None,
        client_app_types=[str(c) for c in conditions.get("clientAppTypes") or []],
        grant_operator=grant.get("operator"),
        built_in_controls=[str(c) for c in grant.get("builtInControls") or []],
        auth_strength_requirement=strength.get("requirementsSatisfied"),
        auth_strength_name=strength.get("displayName"),
        narrowing_conditions=_narrowing_conditions(conditions),
    )


def _guests_or_external(raw: Any) -> CAGuestsOrExternalUsers | None:
    """conditionalAccessGuestsOrExternalUsers (https://learn.microsoft.com/graph/api/resources/
    conditionalaccessguestsorexternalusers): ``guestOrExternalUserTypes`` is a flags enum, sent as one
    comma-separated string ("internalGuest,b2bCollaborationGuest"); ``externalTenants`` is
    conditionalAccessAllExternalTenants or conditionalAccessEnumeratedExternalTenants."""
    if not isinstance(raw, dict):
        return None
    flags = raw.get("guestOrExternalUserTypes")
    if isinstance(flags, list):  # tolerate a JSON array, though Graph sends a string
        flags = ",".join(str(f) for f in flags)
    types = [t.strip() for t in str(flags or "").split(",") if t.strip()]
    tenants = raw.get("externalTenants")
    kind: str | None = None
    members: list[str] = []
    if isinstance(tenants, dict):
        odata = str(tenants.get("@odata.type") or "")
        kind = str(tenants.get("membershipKind") or "")
        if not kind:
            kind = "all" if odata.endswith("AllExternalTenants") else "enumerated" if odata else "unknown"
        members = [str(m) for m in tenants.get("members") or []]
    return CAGuestsOrExternalUsers(user_types=types, tenants_kind=kind, tenant_ids=members)


def _narrowing_conditions(conditions: dict[str, Any]) -> list[str]:
    """Conditions under which a policy does not apply to every sign-in.

    https://learn.microsoft.com/graph/api/resources/conditionalaccessconditionset: a policy that excludes
    trusted locations, targets some platforms, or only fires on risk does not enforce MFA everywhere.
    """
    narrowing = []
    locations = conditions.get("locations") or {}
    if locations and ("All" not in (locations.get("includeLocations") or []) or locations.get("excludeLocations")):
        narrowing.append("locations")
    platforms = conditions.get("platforms") or {}
    if platforms and ("all" not in (platforms.get("includePlatforms") or []) or platforms.get("excludePlatforms")):
        narrowing.append("device platforms")
    for key, label in (
        ("signInRiskLevels", "sign-in risk"),
        ("userRiskLevels", "user risk"),
        ("servicePrincipalRiskLevels", "service principal risk"),
        ("insiderRiskLevels", "insider risk"),
    ):
        if conditions.get(key):
            narrowing.append(label)
    if (conditions.get("devices") or {}).get("deviceFilter"):
        narrowing.append("device filter")
    if conditions.get("authenticationFlows"):
        narrowing.append("authentication flows")
    return narrowing


#: deviceAndAppManagementAssignmentTarget subtypes (v1.0 CSDL) -> what hygiene calls them
ASSIGNMENT_TARGETS = {
    "#microsoft.graph.allDevicesAssignmentTarget": "allDevices",
    "#microsoft.graph.allLicensedUsersAssignmentTarget": "allLicensedUsers",
    "#microsoft.graph.groupAssignmentTarget": "group",
    "#microsoft.graph.exclusionGroupAssignmentTarget": "exclusionGroup",
}


def _assignment(raw: dict[str, Any]) -> M365PolicyAssignment:
    """A deviceCompliancePolicyAssignment; configurationManagerCollectionAssignmentTarget and unknown targets
    are "other" (applied to every device)."""
    found = raw.get("target")
    target: dict[str, Any] = found if isinstance(found, dict) else {}
    odata = str(target.get("@odata.type") or "")
    kind = ASSIGNMENT_TARGETS.get(odata, "other")
    group_id = str(target["groupId"]) if kind in ("group", "exclusionGroup") and target.get("groupId") else None
    if kind in ("group", "exclusionGroup") and group_id is None:
        kind = "other"
    return M365PolicyAssignment(target=kind, group_id=group_id, odata_type=odata)


def _policy_platform(odata_type: str) -> str:
    lowered = odata_type.lower()
    for needle, platform in (("windows", "windows"), ("android", "android"), ("ios", "ios"), ("macos", "macos")):
        if needle in lowered:
            return platform
    return "other"


class M365Source(Source[M365Data]):
    platform = "m365"

    def __init__(
        self,
        config: M365Config,
        environ: dict[str, str] | None = None,
        retry: Any = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.environ = dict(os.environ if environ is None else environ)
        self.retry = retry
        self.sleep = sleep

    def _token_provider(self, session: Any) -> Callable[[str], str]:
        """Tokens for a resource (``<resource>/.default``) from one confidential client (one token cache)."""
        credential = _credential(self.config, self.environ)
        authority = f"{self.config.authority_host.rstrip('/')}/{self.config.tenant_id}"
        default_cloud = self.config.authority_host.rstrip("/") == "https://login.microsoftonline.com"
        app = msal.ConfidentialClientApplication(
            self.config.client_id,
            client_credential=credential,
            authority=authority,
            http_client=session,
            instance_discovery=default_cloud,
            token_cache=msal.TokenCache(),
        )

        def token(resource: str) -> str:
            result = app.acquire_token_for_client(scopes=[f"{resource.rstrip('/')}/.default"])
            if "access_token" not in result:
                codes = result.get("error_codes") or []
                description = str(result.get("error_description") or "").splitlines()
                raise AuthError(
                    f"token request refused: {result.get('error')} "
                    f"{('AADSTS' + str(codes[0])) if codes else ''}: {description[0] if description else ''}"
                )
            return str(result["access_token"])

        return token

    @staticmethod
    def _collect(
        clients: list[GraphClient],
        data: M365Data,
        states: dict[str, DatasetState],
        roles: frozenset[str] | None = None,
        selected: frozenset[str] | None = None,
        defender: Callable[[], GraphClient] | None = None,
    ) -> None:
        """The datasets in four concurrent lanes, each with its own client (connection pool, counters), so that a
        large tenant waits for the longest chain of pages rather than for every page in turn:

        - users (then the activity fallback);
        - the registration report (its per-user fallback waits for the users);
        - roles, then Conditional Access (both resolve groups into ``data.group_members``: one lane, in turn);
        - licences, devices (then their antivirus state), compliance policies, backup;
        - the Defender for Endpoint API (its own host and token: ``defender`` builds its client);

        then per-user MFA, which needs the users, the roles and the policies. Only the ``selected`` datasets (None:
        all) are read; the selection includes what each one is read with (``DatasetSpec.reads_with``).
        """
        identity, registration, policy, rest = (_Collector(c, data, states, granted_roles=roles) for c in clients)
        users_read = threading.Event()

        def wanted(name: str) -> bool:
            return selected is None or name in selected

        def users_lane() -> None:
            try:
                if wanted("m365.users"):
                    identity.run("m365.users", identity.users)
                    if states["m365.users"].available:
                        identity.apply_activity()
            finally:
                users_read.set()

        def registration_lane() -> None:
            registration.users_read = users_read
            if wanted("m365.registration"):
                registration.run("m365.registration", registration.registration)

        def policy_lane() -> None:
            if wanted("m365.roles"):
                policy.run("m365.roles", policy.roles)
                for dependent in ("m365.role_eligibility", "m365.group_eligibility"):
                    if dependent not in states:
                        states[dependent] = DatasetState(
                            available=False,
                            reason_kind=states["m365.roles"].reason_kind,
                            reason="role assignments could not be read: " + (states["m365.roles"].reason or ""),
                            needs=list(states["m365.roles"].needs),
                        )
            if wanted("m365.mfa_policies"):
                policy.run("m365.mfa_policies", policy.mfa_policies)

        def rest_lane() -> None:
            for name, fn in (
                ("m365.licences", rest.licences),
                ("m365.devices", rest.devices),
                ("m365.antivirus", rest.antivirus),
                ("m365.compliance_policies", rest.compliance_policies),
                ("m365.backup", rest.backup),
                ("m365.app_consent", rest.app_consent),
                ("m365.apps", rest.apps),
                ("m365.domains", rest.domains),
            ):
                if wanted(name):
                    rest.run(name, fn)

        def defender_lane() -> None:
            names = [n for n in ("m365.defender_machines", "m365.defender_vulnerabilities") if wanted(n)]
            if not names or defender is None:
                return
            try:
                client = defender()
            except NotConfigured as exc:
                for name in names:
                    states[name] = DatasetState(available=False, reason_kind=ReasonKind.NOT_COLLECTED, reason=str(exc))
                return
            except (AuthError, ValueError, OSError) as exc:
                for name in names:
                    states[name] = no_defender_token(str(exc))
                return
            except Exception as exc:  # msal raises for 5xx and for network failures
                for name in names:
                    states[name] = DatasetState(
                        available=False,
                        reason_kind=ReasonKind.UNREACHABLE,
                        reason=f"identity platform unreachable for the Defender API token: {type(exc).__name__}",
                    )
                return
            lane = _Collector(client, data, states)
            readers = {
                "m365.defender_machines": lambda: read_machines(client, data),
                "m365.defender_vulnerabilities": lambda: read_vulnerabilities(client, data),
            }
            for name in names:
                lane.run(name, readers[name])

        lanes = (users_lane, registration_lane, policy_lane, rest_lane, defender_lane)
        with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="hygiene-m365") as pool:
            for future in [pool.submit(lane) for lane in lanes]:
                future.result()
        if "m365.users" in states and not states["m365.users"].available:
            data.registrations = []
            for dependent in ("m365.sign_ins", "m365.registration", "m365.per_user_mfa"):
                if wanted(dependent):
                    states[dependent] = DatasetState(
                        available=False,
                        reason_kind=states["m365.users"].reason_kind,
                        reason="users could not be read: " + (states["m365.users"].reason or ""),
                    )
        if wanted("m365.per_user_mfa"):
            if states["m365.users"].available and states["m365.mfa_policies"].available:
                identity.run("m365.per_user_mfa", identity.per_user_mfa)
            elif "m365.per_user_mfa" not in states:
                states["m365.per_user_mfa"] = DatasetState(
                    available=False,
                    reason_kind=states["m365.mfa_policies"].reason_kind,
                    reason="policies could not be read: " + (states["m365.mfa_policies"].reason or ""),
                )
        for name in DATASETS:
            if name not in states:
                states[name] = not_selected()

    def collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[M365Data]:
        started = datetime.now(UTC)
        session = make_session(str(self.config.ca_bundle) if self.config.ca_bundle else None)
        data = M365Data(tenant_id=self.config.tenant_id, break_glass=list(self.config.break_glass))
        states: dict[str, DatasetState] = {}
        errors: list[str] = []
        kwargs: dict[str, Any] = {}
        if self.retry is not None:
            kwargs["retry"] = self.retry
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        graph = GraphClient(self.config.graph_url, lambda: "", session, raw, **kwargs)
        clients = [graph]
        try:
            tokens = self._token_provider(session)
            graph_resource = self.config.graph_url

            def token() -> str:
                return tokens(graph_resource)

            roles = token_roles(token())  # fail fast on bad credentials, before any dataset is attempted
            graph._token = token
        except (AuthError, ValueError, OSError) as exc:
            message = f"authentication failed: {exc}"
            errors.append(message)
            for name in DATASETS:
                states[name] = (
                    DatasetState(available=False, reason_kind=ReasonKind.ERROR, reason=message)
                    if datasets is None or name in datasets
                    else not_selected()
                )
        except Exception as exc:  # msal raises for 5xx and for network failures
            message = f"identity platform unreachable: {type(exc).__name__}: {exc}"
            errors.append(message)
            for name in DATASETS:
                states[name] = (
                    DatasetState(available=False, reason_kind=ReasonKind.UNREACHABLE, reason=message)
                    if datasets is None or name in datasets
                    else not_selected()
                )
        else:
            ca = str(self.config.ca_bundle) if self.config.ca_bundle else None
            clients += [GraphClient(self.config.graph_url, token, make_session(ca), raw, **kwargs) for _ in range(3)]
            defender_resource, defender_url = self.config.defender_resource, self.config.defender_endpoint

            def defender_token() -> str:
                return tokens(defender_resource)

            def defender() -> GraphClient:
                if defender_url is None:
                    raise NotConfigured(
                        "the Defender for Endpoint API is not configured: graph_url is not Microsoft Graph's public "
                        "host, so set [sources.m365] defender_url to its Defender host"
                    )
                defender_token()  # fails here (AuthError) when the tenant has no Defender API
                client = GraphClient(defender_url, defender_token, make_session(ca), raw, **kwargs)
                clients.append(client)
                return client

            with gc_paused():  # builds ~3 objects per user and device: the cyclic collector only slows it down
                self._collect(clients, data, states, roles, datasets, defender)
        errors.extend(
            f"{name}: {s.reason}"
            for name, s in states.items()
            if not s.available
            and s.reason_kind in (ReasonKind.ERROR, ReasonKind.UNREACHABLE)
            and s.reason
            and not s.reason.startswith(("authentication failed", "identity platform"))
        )
        run = SourceRun(
            platform=self.platform,
            status=self.summarise_status(states),
            started_at=started,
            finished_at=datetime.now(UTC),
            scope={
                "tenant_id": self.config.tenant_id,
                "graph_url": self.config.graph_url,
                "defender_url": self.config.defender_endpoint or "",
                "authority_host": self.config.authority_host,
            },
            requests=sum(c.requests for c in clients),
            errors=errors,
            endpoints=sorted(set().union(*(c.endpoints for c in clients))),
            datasets=dict(sorted(states.items())),
        )
        return Collected(run=run, data=data)
