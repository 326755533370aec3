"""A sandbox scenario: a tenant's Graph data, exactly as Microsoft Graph returns it, plus behaviour flags and
the check results a correct scan of it must produce (``expected``).

The dictionaries are Graph JSON (camelCase, ISO 8601 ``...Z`` timestamps, ``null`` where Graph gives null);
the sandbox serves them as they are, applying only ``$select``, paging and the licence/permission flags.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hygiene_sandbox.azure_scenario import AzureScenario
from hygiene_sandbox.dns_server import DnsScenario
from hygiene_sandbox.expectation import Expectation, JsonDict
from hygiene_sandbox.google import GoogleScenario
from hygiene_sandbox.vendor import (
    AUTH_STRENGTH_MFA,
    AUTH_STRENGTH_PASSWORDLESS,
    AUTH_STRENGTH_PHISHING_RESISTANT,
    GRAPH_APP_ROLES,
    PASSWORD_METHOD_ID,
    ROLE_TEMPLATES,
    SKUS,
)

#: the Microsoft 365 checks a scenario carries expectations for
CHECK_IDS: tuple[str, ...] = (
    "m365.mfa.registered",
    "m365.mfa.enforced",
    "m365.mfa.admins",
    "m365.mfa.legacy_auth_blocked",
    "m365.accounts.inactive",
    "m365.accounts.guests_inactive",
    "m365.accounts.admin_count",
    "m365.licences.unused",
    "m365.devices.os_supported",
    "m365.devices.patch_current",
    "m365.devices.encrypted",
    "m365.devices.edr_active",
    "m365.devices.vulnerabilities",
    "m365.backup.enabled",
    "m365.admins.break_glass",
    "m365.apps.user_consent",
    "m365.apps.high_privilege",
)

#: Graph application permissions a scanner app is normally granted (hygiene's documented least-privileged
#: set); ``Scenario.withheld_permissions`` takes names away from it
DEFAULT_GRANTED_PERMISSIONS: frozenset[str] = frozenset(
    {
        "User.Read.All",
        "AuditLog.Read.All",
        "Reports.Read.All",
        "UserAuthenticationMethod.Read.All",
        "Policy.Read.All",
        "GroupMember.Read.All",
        "RoleManagement.Read.Directory",
        "PrivilegedEligibilitySchedule.Read.AzureADGroup",
        "LicenseAssignment.Read.All",
        "DeviceManagementManagedDevices.Read.All",
        "DeviceManagementConfiguration.Read.All",
        "BackupRestore-Control.Read.All",
        "BackupRestore-Configuration.Read.All",
        # Microsoft Defender for Endpoint API (WindowsDefenderATP), not Graph
        "Machine.Read.All",
        "Vulnerability.Read.All",
        "Application.Read.All",
        "Domain.Read.All",
    }
)

_NAMESPACE = b"hygiene-sandbox-ids"


def stable_id(*parts: str) -> str:
    """A deterministic GUID-shaped id for a named object, so that a scenario is the same on every run."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=16, key=_NAMESPACE).hexdigest()
    variant = "89ab"[int(digest[16], 16) % 4]
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def graph_time(value: datetime | None) -> str | None:
    """Graph's DateTimeOffset form: UTC, ``Z``, whole seconds."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def days_ago(now: datetime, days: float, hours: float = 0.0) -> datetime:
    return now - timedelta(days=days, hours=hours)


@dataclass(kw_only=True)
class Scenario:
    """One simulated tenant. Everything the sandbox serves comes from here."""

    name: str
    #: the moment the data is relative to (sign-in ages, sync ages are computed against it)
    now: datetime
    tenant_id: str
    tenant_domain: str
    #: the tenant's ``*.onmicrosoft.com`` domain (guest UPNs and cloud-only admin accounts use it)
    initial_domain: str = ""
    organization_name: str = ""
    client_id: str
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    description: str = ""

    users: list[JsonDict] = field(default_factory=list)
    registrations: list[JsonDict] = field(default_factory=list)
    #: user id -> authentication method objects (``/users/{id}/authentication/methods``); users not listed
    #: get methods derived from their registration row (password only when they have none)
    auth_methods: dict[str, list[JsonDict]] = field(default_factory=dict)
    security_defaults_enabled: bool = False
    ca_policies: list[JsonDict] = field(default_factory=list)
    #: group id -> {"displayName": ..., "members": [user, group or directory device ids], ...}
    groups: dict[str, JsonDict] = field(default_factory=dict)
    #: directory (Entra ID) device object id -> its properties ("id", "deviceId" = the managed device's
    #: azureADDeviceId, "displayName", ...): devices that are group members
    directory_devices: dict[str, JsonDict] = field(default_factory=dict)
    role_definitions: list[JsonDict] = field(default_factory=list)
    role_assignments: list[JsonDict] = field(default_factory=list)
    #: PIM eligible assignments (``unifiedRoleEligibilityScheduleInstance``), served only with ``pim_licensed``
    role_eligibilities: list[JsonDict] = field(default_factory=list)
    #: PIM for Groups eligibilities (``privilegedAccessGroupEligibilityScheduleInstance``)
    group_eligibilities: list[JsonDict] = field(default_factory=list)
    #: user id -> "disabled" / "enabled" / "enforced" (absent: "disabled")
    per_user_mfa: dict[str, str] = field(default_factory=dict)
    skus: list[JsonDict] = field(default_factory=list)
    managed_devices: list[JsonDict] = field(default_factory=list)
    compliance_policies: list[JsonDict] = field(default_factory=list)
    #: compliance policy id -> deviceCompliancePolicyAssignment objects (``$expand=assignments``, ``/assignments``)
    compliance_assignments: dict[str, list[JsonDict]] = field(default_factory=dict)
    #: managed device id -> its ``windowsProtectionState`` (Windows devices Intune has a report from)
    protection_states: dict[str, JsonDict] = field(default_factory=dict)
    #: Microsoft Defender for Endpoint machines (``/api/machines``) and software-vulnerability export rows
    #: (``/api/machines/SoftwareVulnerabilitiesByMachine``), served under ``/mde`` with their own token audience
    defender_machines: list[JsonDict] = field(default_factory=list)
    defender_vulnerabilities: list[JsonDict] = field(default_factory=list)
    #: the backupRestoreRoot ``serviceStatus`` object ({"status": "disabled", ...})
    backup: JsonDict = field(default_factory=lambda: {"status": "disabled", "disableReason": "none"})
    #: "exchange" / "sharePoint" / "oneDriveForBusiness" -> protection policy objects
    backup_policies: dict[str, list[JsonDict]] = field(default_factory=dict)
    #: the break-glass accounts the organisation declares in its config (``[sources.m365] break_glass``)
    break_glass: list[str] = field(default_factory=list)
    #: authorizationPolicy.defaultUserRolePermissions.permissionGrantPoliciesAssigned
    user_consent_policies: list[str] = field(
        default_factory=lambda: ["ManagePermissionGrantsForSelf.microsoft-user-default-low"]
    )
    #: adminConsentRequestPolicy.isEnabled
    admin_consent_requests: bool = True
    #: enterprise apps (servicePrincipal objects) besides Microsoft Graph's own, which the sandbox adds
    service_principals: list[JsonDict] = field(default_factory=list)
    #: Microsoft Graph application permissions granted (appRoleAssignment objects; resourceId: Graph's service
    #: principal, ``graph_service_principal_id``)
    graph_grants: list[JsonDict] = field(default_factory=list)
    #: app registrations (application objects) with their passwordCredentials and keyCredentials
    applications: list[JsonDict] = field(default_factory=list)
    #: UPN -> workload ("Exchange", "OneDrive", "SharePoint", "Teams", ...) -> last activity "YYYY-MM-DD"
    office365_activity: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the tenant's ``domain`` objects (``GET /domains``)
    domains: list[JsonDict] = field(default_factory=list)

    #: Entra ID P1/P2 present (signInActivity and the registration report need it)
    premium: bool = True
    #: Entra ID P2 or Entra ID Governance (PIM): without it roleEligibilityScheduleInstances answers 400
    #: ``AadPremiumLicenseRequired``
    pim_licensed: bool = True
    #: an active Intune licence (deviceManagement answers 400 "Request not applicable to target tenant." without)
    intune_licensed: bool = True
    #: Microsoft Defender for Endpoint or Defender for Business: without it the token endpoint knows no Defender
    #: resource (AADSTS500011)
    defender_licensed: bool = True
    #: Microsoft 365 Backup billing set up (without: the service reports disabled / invalidBillingProfile)
    backup_licensed: bool = True
    #: the scanning app is a registered Microsoft 365 Backup Controller application; without, the Backup APIs
    #: answer 403 even when the app holds the BackupRestore-* permissions ("These APIs are intended for use by
    #: registered Backup Controller applications", https://learn.microsoft.com/graph/api/backuprestoreroot-get)
    backup_controller: bool = True
    #: Graph application permissions the app has NOT been granted
    withheld_permissions: set[str] = field(default_factory=set)
    #: Microsoft 365 usage reports show hashed names instead of UPNs
    conceal_report_names: bool = False

    expected: dict[str, Expectation] = field(default_factory=dict)

    #: the organisation's Google Workspace customer (served on the same port), or None
    google: GoogleScenario | None = None
    #: the organisation's Azure subscriptions (served on the same port), or None; its expectations are in
    #: ``azure.expected``, not in ``all_expected`` (scans of Microsoft 365 and Google alone stay comparable)
    azure: AzureScenario | None = None
    #: the DNS the sandbox resolver serves (started with the sandbox), or None; its expectations are in
    #: ``dns.expected``, not in ``all_expected`` (a scan without ``[dns]`` does not run the email checks)
    dns: DnsScenario | None = None

    @property
    def all_expected(self) -> dict[str, Expectation]:
        """The Microsoft 365 expectations and, when there is a Google side, the Google Workspace ones."""
        merged = dict(self.expected)
        if self.google is not None:
            merged.update(self.google.expected)
        return merged

    @property
    def granted_permissions(self) -> frozenset[str]:
        return DEFAULT_GRANTED_PERMISSIONS - frozenset(self.withheld_permissions)

    def user(self, upn: str) -> JsonDict:
        lowered = upn.casefold()
        for candidate in self.users:
            if str(candidate.get("userPrincipalName", "")).casefold() == lowered:
                return candidate
        raise KeyError(upn)

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)

    # -- serialisation ------------------------------------------------------------------------
    def to_json(self, *, include_secret: bool = False) -> JsonDict:
        raw: JsonDict = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "client_secret" and not include_secret:
                continue
            if item.name == "now":
                value = value.isoformat()
            elif item.name == "withheld_permissions":
                value = sorted(value)
            elif item.name == "expected":
                value = {k: v.to_json() for k, v in sorted(value.items())}
            elif item.name == "google":
                value = value.to_json(include_secret=include_secret) if value is not None else None
            elif item.name in ("azure", "dns"):
                value = value.to_json() if value is not None else None
            raw[item.name] = value
        return raw

    @classmethod
    def from_json(cls, raw: JsonDict) -> Scenario:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["now"] = datetime.fromisoformat(str(raw["now"]))
        values["withheld_permissions"] = set(raw.get("withheld_permissions") or [])
        values["expected"] = {k: Expectation.from_json(v) for k, v in (raw.get("expected") or {}).items()}
        if raw.get("google") is not None:
            values["google"] = GoogleScenario.from_json(raw["google"])
        if raw.get("azure") is not None:
            values["azure"] = AzureScenario.from_json(raw["azure"])
        if raw.get("dns") is not None:
            values["dns"] = DnsScenario.from_json(raw["dns"])
        return cls(**values)

    def save(self, path: Path, *, include_secret: bool = False) -> Path:
        path.write_text(json.dumps(self.to_json(include_secret=include_secret), indent=1, sort_keys=True))
        return path

    @classmethod
    def load(cls, path: Path) -> Scenario:
        return cls.from_json(json.loads(path.read_text()))


# -- builders for Graph-shaped objects ---------------------------------------------------------------


def make_user(
    *,
    user_id: str,
    upn: str,
    display_name: str,
    created: datetime,
    enabled: bool = True,
    user_type: str = "Member",
    mail: str | None = None,
    job_title: str | None = None,
    department: str | None = None,
    sku_ids: tuple[str, ...] = (),
    last_success: datetime | None = None,
    last_interactive: datetime | None = None,
    last_non_interactive: datetime | None = None,
    invited_from: str | None = None,
    invitation_accepted: bool = True,
    synced: bool = False,
) -> JsonDict:
    """A ``microsoft.graph.user`` with the properties hygiene reads (and a few a real tenant has).

    ``invited_from``: the B2B account's home domain. Invited accounts have ``creationType`` "Invitation", an
    ``externalUserState`` (PendingAcceptance until redeemed, then Accepted) and a ``federated`` identity whose
    issuer is that domain (https://learn.microsoft.com/graph/api/resources/objectidentity); others have null
    for both and one ``userPrincipalName`` identity issued by the tenant's domain."""
    given, _, surname = display_name.partition(" ")
    activity: JsonDict | None
    if last_success is None and last_interactive is None and last_non_interactive is None:
        # a never-used account: Graph returns the object with null timestamps
        activity = {
            "lastSignInDateTime": None,
            "lastSignInRequestId": None,
            "lastNonInteractiveSignInDateTime": None,
            "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": None,
            "lastSuccessfulSignInRequestId": None,
        }
    else:
        activity = {
            "lastSignInDateTime": graph_time(last_interactive),
            "lastSignInRequestId": stable_id(user_id, "interactive") if last_interactive else None,
            "lastNonInteractiveSignInDateTime": graph_time(last_non_interactive),
            "lastNonInteractiveSignInRequestId": stable_id(user_id, "noninteractive") if last_non_interactive else None,
            "lastSuccessfulSignInDateTime": graph_time(last_success),
            "lastSuccessfulSignInRequestId": stable_id(user_id, "success") if last_success else None,
        }
    return {
        "id": user_id,
        "userPrincipalName": upn,
        "displayName": display_name,
        "givenName": given if user_type == "Member" else None,
        "surname": surname or None if user_type == "Member" else None,
        "mail": mail,
        "jobTitle": job_title,
        "department": department,
        "businessPhones": [],
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-GB" if user_type == "Member" else None,
        "usageLocation": "GB" if sku_ids else None,
        "accountEnabled": enabled,
        "userType": user_type,
        "createdDateTime": graph_time(created),
        "assignedLicenses": [{"disabledPlans": [], "skuId": sku} for sku in sku_ids],
        "creationType": "Invitation" if invited_from else None,
        "externalUserState": (None if not invited_from else "Accepted" if invitation_accepted else "PendingAcceptance"),
        "externalUserStateChangeDateTime": graph_time(created + timedelta(days=1)) if invited_from else None,
        "identities": (
            [{"signInType": "federated", "issuer": invited_from, "issuerAssignedId": None}]
            if invited_from
            else [{"signInType": "userPrincipalName", "issuer": upn.rsplit("@", 1)[-1], "issuerAssignedId": upn}]
        ),
        "signInActivity": activity,
        # null for an account that was never synchronised from on-premises (cloud-only)
        "onPremisesSyncEnabled": True if synced else None,
    }


#: methodsRegistered value -> (authentication method @odata.type, systemPreferred name)
METHOD_TYPES: dict[str, str] = {
    "microsoftAuthenticatorPush": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
    "microsoftAuthenticatorPasswordless": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
    "mobilePhone": "#microsoft.graph.phoneAuthenticationMethod",
    "alternateMobilePhone": "#microsoft.graph.phoneAuthenticationMethod",
    "officePhone": "#microsoft.graph.phoneAuthenticationMethod",
    "fido2SecurityKey": "#microsoft.graph.fido2AuthenticationMethod",
    "passKeyDeviceBound": "#microsoft.graph.fido2AuthenticationMethod",
    "windowsHelloForBusiness": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
    "softwareOneTimePasscode": "#microsoft.graph.softwareOathAuthenticationMethod",
    "email": "#microsoft.graph.emailAuthenticationMethod",
    "temporaryAccessPass": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
}
_STRONG = {"microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless", "mobilePhone", "alternateMobilePhone",
           "officePhone", "fido2SecurityKey", "passKeyDeviceBound", "windowsHelloForBusiness",
           "softwareOneTimePasscode"}  # fmt: skip
_PASSWORDLESS = {
    "fido2SecurityKey",
    "passKeyDeviceBound",
    "windowsHelloForBusiness",
    "microsoftAuthenticatorPasswordless",
}
_PREFERRED = {
    "microsoftAuthenticatorPush": "push",
    "microsoftAuthenticatorPasswordless": "push",
    "fido2SecurityKey": "fido2",
    "passKeyDeviceBound": "fido2",
    "mobilePhone": "sms",
    "softwareOneTimePasscode": "oath",
    "windowsHelloForBusiness": "none",
}
#: the userDefaultAuthenticationMethod enum (v1.0 CSDL)
_USER_DEFAULT = {"push", "oath", "voiceMobile", "voiceAlternateMobile", "voiceOffice", "sms", "none"}
#: methodsRegistered value -> phoneAuthenticationMethod.phoneType (the authenticationPhoneType enum)
_PHONE_TYPES = {"mobilePhone": "mobile", "alternateMobilePhone": "alternateMobile", "officePhone": "office"}


def make_registration(
    user: JsonDict,
    *,
    methods: tuple[str, ...],
    updated: datetime,
    is_admin: bool = False,
    capable: bool | None = None,
    sspr_enabled: bool = True,
) -> JsonDict:
    """A ``userRegistrationDetails`` row. ``capable`` overrides isMfaCapable (a registered method that the
    authentication methods policy disallows, e.g. SMS, leaves isMfaRegistered true but isMfaCapable false)."""
    strong = [m for m in methods if m in _STRONG]
    registered = bool(strong)
    mfa_capable = registered if capable is None else capable
    preferred = _PREFERRED.get(strong[0], "none") if strong else "none"
    return {
        "id": user["id"],
        "userPrincipalName": user["userPrincipalName"],
        "userDisplayName": user["displayName"],
        # signInUserType enum: lower case, unlike user.userType
        "userType": "guest" if user.get("userType") == "Guest" else "member",
        "isAdmin": is_admin,
        "isSsprRegistered": bool(methods),
        "isSsprEnabled": sspr_enabled,
        "isSsprCapable": bool(methods) and sspr_enabled,
        "isMfaRegistered": registered,
        "isMfaCapable": mfa_capable,
        "isPasswordlessCapable": any(m in _PASSWORDLESS for m in methods),
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "methodsRegistered": list(methods),
        "systemPreferredAuthenticationMethods": [preferred] if mfa_capable and preferred != "none" else [],
        # a userDefaultAuthenticationMethod member (push, oath, voiceMobile, ..., sms, none: no fido2)
        "userPreferredMethodForSecondaryAuthentication": preferred
        if registered and preferred in _USER_DEFAULT
        else "none",
        "lastUpdatedDateTime": graph_time(updated),
    }


def methods_from_registration(row: JsonDict | None, user_id: str) -> list[JsonDict]:
    """``/users/{id}/authentication/methods`` for a user, derived from their registration row."""
    methods: list[JsonDict] = [
        {
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": PASSWORD_METHOD_ID,
            "password": None,
            "createdDateTime": None,
        }
    ]
    for name in (row or {}).get("methodsRegistered") or []:
        odata_type = METHOD_TYPES.get(str(name))
        if odata_type is None:
            continue
        method: JsonDict = {"@odata.type": odata_type, "id": stable_id(user_id, "method", str(name))}
        if odata_type.endswith("phoneAuthenticationMethod"):
            method.update(
                {
                    "phoneNumber": "+44 7700 900000",
                    "phoneType": _PHONE_TYPES[str(name)],
                    "smsSignInState": "notAllowedByPolicy",
                }
            )
        elif odata_type.endswith("emailAuthenticationMethod"):
            method["emailAddress"] = "personal@example.net"
        elif odata_type.endswith("microsoftAuthenticatorAuthenticationMethod"):
            method.update({"displayName": "Phone", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.12"})
        elif odata_type.endswith("fido2AuthenticationMethod"):
            method.update({"displayName": "Security key", "model": "YubiKey 5 NFC"})
        methods.append(method)
    return methods


def make_ca_policy(
    *,
    policy_id: str,
    name: str,
    created: datetime,
    state: str = "enabled",
    include_users: tuple[str, ...] = (),
    exclude_users: tuple[str, ...] = (),
    include_groups: tuple[str, ...] = (),
    exclude_groups: tuple[str, ...] = (),
    include_roles: tuple[str, ...] = (),
    exclude_roles: tuple[str, ...] = (),
    include_applications: tuple[str, ...] = ("All",),
    exclude_applications: tuple[str, ...] = (),
    client_app_types: tuple[str, ...] = ("all",),
    operator: str = "OR",
    built_in_controls: tuple[str, ...] = (),
    authentication_strength: JsonDict | None = None,
    include_guest_types: tuple[str, ...] = (),
    exclude_guest_types: tuple[str, ...] = (),
    application_filter: JsonDict | None = None,
) -> JsonDict:
    """A ``conditionalAccessPolicy`` as GET /identity/conditionalAccess/policies returns it.

    ``include_guest_types`` / ``exclude_guest_types``: conditionalAccessGuestOrExternalUserTypes members, sent as
    one comma-separated string, for all external tenants; ``application_filter``: a conditionalAccessFilter
    ({"mode": "include" | "exclude", "rule": ...})."""
    return {
        "id": policy_id,
        "templateId": None,
        "displayName": name,
        "createdDateTime": graph_time(created),
        "modifiedDateTime": graph_time(created + timedelta(days=3)),
        "state": state,
        "sessionControls": None,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": list(client_app_types),
            "servicePrincipalRiskLevels": [],
            "insiderRiskLevels": None,
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "authenticationFlows": None,
            "applications": {
                "includeApplications": list(include_applications),
                "excludeApplications": list(exclude_applications),
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": application_filter,
            },
            "users": {
                "includeUsers": list(include_users),
                "excludeUsers": list(exclude_users),
                "includeGroups": list(include_groups),
                "excludeGroups": list(exclude_groups),
                "includeRoles": list(include_roles),
                "excludeRoles": list(exclude_roles),
                "includeGuestsOrExternalUsers": guests_or_external_users(include_guest_types),
                "excludeGuestsOrExternalUsers": guests_or_external_users(exclude_guest_types),
            },
        },
        "grantControls": {
            "operator": operator,
            "builtInControls": list(built_in_controls),
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": authentication_strength,
        },
    }


def guests_or_external_users(types: tuple[str, ...]) -> JsonDict | None:
    """A ``conditionalAccessGuestsOrExternalUsers`` for every external tenant, or None (what Graph sends when the
    condition is not set)."""
    if not types:
        return None
    return {
        "guestOrExternalUserTypes": ",".join(types),
        "externalTenants": {
            "@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
            "membershipKind": "all",
        },
    }


def auth_strength(strength_id: str, created: datetime) -> JsonDict:
    """A built-in ``authenticationStrengthPolicy`` as embedded in grantControls (all built-ins satisfy "mfa")."""
    names = {
        AUTH_STRENGTH_MFA: ("Multifactor authentication", "Combinations of methods that satisfy strong authentication"),
        AUTH_STRENGTH_PASSWORDLESS: ("Passwordless MFA", "Passwordless methods that satisfy strong authentication"),
        AUTH_STRENGTH_PHISHING_RESISTANT: (
            "Phishing-resistant MFA",
            "Phishing-resistant, Passwordless methods for the strongest authentication",
        ),
    }
    display, description = names[strength_id]
    return {
        "id": strength_id,
        "createdDateTime": "2021-12-01T08:00:00Z",
        "modifiedDateTime": graph_time(created),
        "displayName": display,
        "description": description,
        "policyType": "builtIn",
        "requirementsSatisfied": "mfa",
        "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]
        if strength_id == AUTH_STRENGTH_PHISHING_RESISTANT
        else ["windowsHelloForBusiness", "fido2", "microsoftAuthenticatorPush,password", "softwareOath,password"],
    }


def make_role_definition(name: str) -> JsonDict:
    template = ROLE_TEMPLATES[name]
    return {
        "id": template,
        "description": f"Built-in role: {name}.",
        "displayName": name,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "templateId": template,
        "version": "1",
        "rolePermissions": [],
    }


def make_role_assignment(principal_id: str, role: str) -> JsonDict:
    definition = ROLE_TEMPLATES[role]
    return {
        "id": stable_id("roleAssignment", principal_id, definition),
        "principalId": principal_id,
        "roleDefinitionId": definition,
        "directoryScopeId": "/",
        "appScopeId": None,
        "condition": None,
    }


def make_role_eligibility(principal_id: str, role: str, start: datetime) -> JsonDict:
    """A ``unifiedRoleEligibilityScheduleInstance`` (v1.0 CSDL: unifiedRoleScheduleInstanceBase + startDateTime,
    endDateTime, memberType, roleEligibilityScheduleId); a permanent eligibility has a null endDateTime."""
    definition = ROLE_TEMPLATES[role]
    schedule = stable_id("roleEligibilitySchedule", principal_id, definition)
    return {
        "id": stable_id("roleEligibilityScheduleInstance", principal_id, definition),
        "principalId": principal_id,
        "roleDefinitionId": definition,
        "directoryScopeId": "/",
        "appScopeId": None,
        "startDateTime": graph_time(start),
        "endDateTime": None,
        "memberType": "Direct",
        "roleEligibilityScheduleId": schedule,
    }


def make_group_eligibility(group_id: str, principal_id: str, start: datetime) -> JsonDict:
    """A ``privilegedAccessGroupEligibilityScheduleInstance``: a member eligibility (PIM for Groups)."""
    return {
        "id": stable_id("groupEligibilityScheduleInstance", group_id, principal_id),
        "accessId": "member",
        "eligibilityScheduleId": stable_id("groupEligibilitySchedule", group_id, principal_id),
        "groupId": group_id,
        "memberType": "direct",
        "principalId": principal_id,
        "startDateTime": graph_time(start),
        "endDateTime": None,
    }


def make_sku(tenant_id: str, part_number: str, *, enabled: int, consumed: int) -> JsonDict:
    sku_id, _ = SKUS[part_number]
    return {
        "accountName": "northwind",
        "accountId": tenant_id,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "id": f"{tenant_id}_{sku_id}",
        "skuId": sku_id,
        "skuPartNumber": part_number,
        "subscriptionIds": [stable_id(tenant_id, "subscription", part_number)],
        "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": [],
    }


def make_device(
    *,
    device_id: str,
    name: str,
    operating_system: str,
    os_version: str,
    compliance: str,
    last_sync: datetime,
    enrolled: datetime,
    upn: str | None,
    model: str,
    manufacturer: str,
    owner: str = "company",
    android_patch: str | None = None,
    user_id: str | None = None,
) -> JsonDict:
    """An Intune ``managedDevice`` (a subset of its ~80 properties, the ones a real list always carries)."""
    return {
        "@odata.type": "#microsoft.graph.managedDevice",
        "id": device_id,
        "userId": user_id,
        "deviceName": name,
        "managedDeviceOwnerType": owner,
        "enrolledDateTime": graph_time(enrolled),
        "lastSyncDateTime": graph_time(last_sync),
        "operatingSystem": operating_system,
        "complianceState": compliance,
        "jailBroken": "False" if operating_system in ("iOS", "iPadOS", "Android") else "Unknown",
        "managementAgent": "mdm",
        "osVersion": os_version,
        "easActivated": False,
        "azureADRegistered": True,
        "deviceEnrollmentType": "windowsAzureADJoin" if operating_system == "Windows" else "userEnrollment",
        "emailAddress": upn,
        "azureADDeviceId": stable_id(device_id, "aad"),
        "deviceRegistrationState": "registered",
        "isSupervised": False,
        "isEncrypted": True,
        "userPrincipalName": upn,
        "model": model,
        "manufacturer": manufacturer,
        "serialNumber": device_id[:12].upper().replace("-", ""),
        "androidSecurityPatchLevel": android_patch,
        "userDisplayName": None,
        "managedDeviceName": name,
        "partnerReportedThreatState": "unknown",
    }


def make_compliance_policy(policy_id: str, odata_type: str, name: str, created: datetime, minimum: str) -> JsonDict:
    return {
        "@odata.type": odata_type,
        "id": policy_id,
        "createdDateTime": graph_time(created),
        "description": "",
        "lastModifiedDateTime": graph_time(created + timedelta(days=1)),
        "displayName": name,
        "version": 3,
        "osMinimumVersion": minimum,
        "osMaximumVersion": None,
        # iosCompliancePolicy says "passcode", the other platforms "password" (v1.0 CSDL)
        ("passcodeRequired" if odata_type == "#microsoft.graph.iosCompliancePolicy" else "passwordRequired"): True,
    }


#: the fixed ids Intune gives the virtual "all devices" and "all licensed users" groups in assignment ids
ALL_DEVICES_GROUP = "adadadad-808e-44e2-905a-0b7873a8a531"
ALL_USERS_GROUP = "acacacac-9df4-4c7d-9d50-4ef0226f57a9"


def make_assignment(policy_id: str, target: str, group_id: str | None = None) -> JsonDict:
    """A ``deviceCompliancePolicyAssignment``; ``target``: allDevices / allLicensedUsers / group /
    exclusionGroup (the deviceAndAppManagementAssignmentTarget subtypes)."""
    body: JsonDict = {"@odata.type": f"#microsoft.graph.{target}AssignmentTarget"}
    if group_id is not None:
        body["groupId"] = group_id
    virtual = {"allDevices": ALL_DEVICES_GROUP, "allLicensedUsers": ALL_USERS_GROUP}
    return {"id": f"{policy_id}_{group_id or virtual.get(target, target)}", "target": body}


def make_protection_policy(policy_id: str, name: str, status: str, created: datetime) -> JsonDict:
    return {
        "id": policy_id,
        "displayName": name,
        "status": status,
        "createdDateTime": graph_time(created),
        "lastModifiedDateTime": graph_time(created + timedelta(days=1)),
        "createdBy": {"user": {"id": stable_id(policy_id, "creator"), "displayName": "Helen Price"}},
        "lastModifiedBy": {"user": {"id": stable_id(policy_id, "creator"), "displayName": "Helen Price"}},
        # period is an Edm.Duration (days, never years); Learn lists R/PT10M and R/P1W as the service's intervals
        # (https://learn.microsoft.com/graph/api/resources/retentionsetting)
        "retentionSettings": [{"interval": "R/PT10M", "period": "P14D"}, {"interval": "R/P1W", "period": "P365D"}],
    }


def graph_service_principal_id(tenant_id: str) -> str:
    """The object id of Microsoft Graph's service principal in the tenant."""
    return stable_id("servicePrincipal", tenant_id, "Microsoft Graph")


def make_service_principal(tenant_id: str, name: str, owner_tenant_id: str | None) -> JsonDict:
    """An enterprise app (``microsoft.graph.servicePrincipal``, which has no creation date in v1.0) with the
    properties hygiene reads and a few more."""
    return {
        "id": stable_id("servicePrincipal", tenant_id, name),
        "appId": stable_id("application", name),
        "displayName": name,
        "appDisplayName": name,
        "appOwnerOrganizationId": owner_tenant_id,
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "appRoleAssignmentRequired": False,
        "signInAudience": "AzureADMultipleOrgs",
        "appRoles": [],
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        # an enterprise app's own credentials (SAML signing certificates): none here
        "keyCredentials": [],
        "passwordCredentials": [],
    }


def make_graph_grant(tenant_id: str, sp: JsonDict, role_value: str, created: datetime) -> JsonDict:
    """An appRoleAssignment of a Microsoft Graph application permission to an enterprise app."""
    role_id = next(k for k, v in GRAPH_APP_ROLES.items() if v == role_value)
    return {
        "id": stable_id("appRoleAssignment", str(sp["id"]), role_value),
        "appRoleId": role_id,
        "createdDateTime": graph_time(created),
        "principalDisplayName": sp["displayName"],
        "principalId": sp["id"],
        "principalType": "ServicePrincipal",
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": graph_service_principal_id(tenant_id),
        "deletedDateTime": None,
    }


def make_application(sp: JsonDict, secrets: tuple[tuple[str, datetime, datetime], ...] = ()) -> JsonDict:
    """An app registration (``microsoft.graph.application``) of an enterprise app, with client secrets
    (display name, start, end): Graph returns a secret's hint, never its text."""
    return {
        "id": stable_id("application-object", str(sp["appId"])),
        "appId": sp["appId"],
        "displayName": sp["displayName"],
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": [
            {
                "customKeyIdentifier": None,
                "displayName": name,
                "endDateTime": graph_time(end),
                "hint": name[:3],
                "keyId": stable_id("secret", str(sp["appId"]), name),
                "secretText": None,
                "startDateTime": graph_time(start),
            }
            for name, start, end in secrets
        ],
        "keyCredentials": [],
    }
