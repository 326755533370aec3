"""Microsoft 365 third-party apps: who may consent to them, and the apps holding high-privilege Graph permissions."""

from __future__ import annotations

from datetime import timedelta

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.azure import whole_setting
from hygiene.model import M365App, ReasonKind

#: the built-in permission grant policies users can be allowed to consent under
#: (https://learn.microsoft.com/entra/identity/enterprise-apps/configure-user-consent): "-legacy" lets users consent to
#: any app, unverified publishers included; "-low" only to apps from verified publishers (or the organisation's own)
#: for permissions classified low impact; "-recommended" is Microsoft's current managed setting of the same kind
SELF_CONSENT_PREFIX = "ManagePermissionGrantsForSelf."
RISKY_SELF_CONSENT = {"microsoft-user-default-legacy": "users may consent to any app, unverified publishers included"}
SAFE_SELF_CONSENT = {
    "microsoft-user-default-low": "verified publishers or this organisation's apps, low-impact permissions only",
    "microsoft-user-default-recommended": "Microsoft's recommended setting: verified publishers, low-risk permissions",
}

#: Microsoft Graph application permissions (app role values) that read or change every mailbox, file, site or the
#: directory and its roles: an app holding one is as powerful as an administrator
#: (https://learn.microsoft.com/graph/permissions-reference)
HIGH_PRIVILEGE_PERMISSIONS = frozenset(
    {
        "Mail.ReadWrite",
        "Mail.Read",
        "Mail.Send",
        "MailboxSettings.ReadWrite",
        "Directory.ReadWrite.All",
        "RoleManagement.ReadWrite.Directory",
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
        "Application.ReadWrite.OwnedBy",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
        "GroupMember.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.ReadWrite.AuthenticationMethod",
        "Files.ReadWrite.All",
        "Files.Read.All",
        "Sites.FullControl.All",
        "Sites.ReadWrite.All",
        "Sites.Read.All",
        "Domain.ReadWrite.All",
        "DeviceManagementConfiguration.ReadWrite.All",
        "DeviceManagementManagedDevices.ReadWrite.All",
        "DeviceManagementRBAC.ReadWrite.All",
    }
)
CHECK_ID = "m365.apps.high_privilege"
#: a credential ending further away than this is treated as never expiring (profile setting
#: ``thresholds.plugins."m365.apps.high_privilege".max_credential_years``); the Entra admin center offers at most 2
MAX_CREDENTIAL_YEARS = "max_credential_years"
DEFAULT_MAX_CREDENTIAL_YEARS = 3
SIGN_IN_NOTE = (
    "last sign-in of the apps not read: Microsoft Graph reports a service principal's sign-in activity only in beta "
    "(servicePrincipalSignInActivity), which hygiene does not rely on"
)


@check(
    id="m365.apps.user_consent",
    summary="staff can grant third-party apps access to company data without an admin",
    title="Users cannot consent to unverified apps, and the admin consent workflow is on",
    area="accounts",
    platform="m365",
    severity="high",
    requires=("m365.app_consent",),
    description="Passes when the authorization policy lets users consent to apps only under Microsoft's low-impact "
    "built-in policy (verified publishers, low-impact permissions) or not at all, and the admin consent request "
    "workflow is on, so that users ask instead of granting. The legacy setting (any app, unverified publishers "
    "included) fails; a custom permission grant policy is named as not seen.",
    remediation="Entra admin center > Identity > Applications > Enterprise applications > Consent and permissions: "
    "User consent settings: 'Allow user consent for apps from verified publishers, for selected permissions' or "
    "'Do not allow user consent'; Admin consent settings: 'Users can request admin consent to apps they are unable "
    "to consent to': Yes, with reviewers.",
    references=(
        "https://learn.microsoft.com/entra/identity/enterprise-apps/configure-user-consent",
        "https://learn.microsoft.com/entra/identity/enterprise-apps/configure-admin-consent-workflow",
        "https://learn.microsoft.com/graph/api/resources/authorizationpolicy",
    ),
    permissions=("Policy.Read.All",),
)
def user_consent(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    consent = data.app_consent
    if consent is None:
        raise NotAssessed(ReasonKind.NOT_COLLECTED, "the consent policies were not read")
    findings = []
    unseen: list[tuple[ReasonKind, str]] = []
    notes = []
    if consent.user_consent_policies is None:
        unseen.append((ReasonKind.API_GAP, "the authorization policy did not say which consent policies apply"))
    else:
        assigned = consent.user_consent_policies
        own = [p.removeprefix(SELF_CONSENT_PREFIX) for p in assigned if p.startswith(SELF_CONSENT_PREFIX)]
        risky = [f"{p} ({RISKY_SELF_CONSENT[p]})" for p in own if p in RISKY_SELF_CONSENT]
        custom = [p for p in own if p not in RISKY_SELF_CONSENT and p not in SAFE_SELF_CONSENT]
        if risky:
            findings.append(Finding("user-consent", "user consent", "user consent allowed: " + "; ".join(risky)))
        if custom:
            unseen.append(
                (
                    ReasonKind.API_GAP,
                    "users may consent under custom permission grant policies hygiene does not read: "
                    + ", ".join(custom),
                )
            )
        if not risky and not custom:
            allowed = "; ".join(f"{p} ({SAFE_SELF_CONSENT[p]})" for p in own)
            notes.append("user consent: " + (allowed or "not allowed"))
    if consent.admin_consent_requests is None:
        unseen.append((ReasonKind.API_GAP, "the admin consent request policy did not say whether it is enabled"))
    elif not consent.admin_consent_requests:
        findings.append(
            Finding(
                "admin-consent-requests",
                "admin consent workflow",
                "the admin consent request workflow is off: users who cannot consent have no way to ask, and "
                "look for workarounds",
            )
        )
    else:
        notes.append("admin consent requests on")
    return Outcome(assessed=2, findings=findings, note="; ".join(notes) or None, unseen=tuple(unseen))


def _credential_problems(app: M365App, ctx: CheckContext, max_years: int) -> list[str]:
    problems = []
    horizon = ctx.now + timedelta(days=365 * max_years)
    for cred in app.credentials or []:
        label = f"{cred.kind} {cred.name!r}" if cred.name else cred.kind
        if cred.end is None:
            problems.append(f"{label} never expires")
        elif cred.end < ctx.now:
            problems.append(f"{label} expired on {cred.end.date().isoformat()}")
        elif cred.end > horizon:
            problems.append(f"{label} expires only on {cred.end.date().isoformat()} (effectively never)")
    return problems


@check(
    id=CHECK_ID,
    summary="{open} of {assessed} Microsoft 365 apps hold high-privilege access or badly kept credentials",
    title="No apps with high-privilege Microsoft Graph permissions or unmanaged credentials",
    area="accounts",
    platform="m365",
    severity="high",
    requires=("m365.apps",),
    description="Names every enterprise app holding a high-privilege Microsoft Graph application permission (all "
    "mail, files, sites, or the directory and its roles: Mail.ReadWrite, Directory.ReadWrite.All, "
    "RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All, "
    "Files.ReadWrite.All, Sites.FullControl.All and others), and every app registration with a secret or "
    "certificate that has expired or never expires (ends further away than the profile's max_credential_years, "
    "default 3). An app you need and trust is recorded as a risk acceptance.",
    remediation="Entra admin center > Enterprise applications > the app > Permissions: remove what the app does not "
    "need (or replace the permission by a narrower one, e.g. Exchange application RBAC for one mailbox); for each "
    "app registration > Certificates & secrets: delete expired credentials and replace long-lived secrets by a "
    "certificate or federated credential with an end date within two years.",
    references=(
        "https://learn.microsoft.com/graph/permissions-reference",
        "https://learn.microsoft.com/entra/identity/enterprise-apps/manage-application-permissions",
        "https://learn.microsoft.com/entra/identity-platform/security-best-practices-for-app-registration",
    ),
    permissions=("Application.Read.All",),
)
def high_privilege(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    try:
        max_years = whole_setting(ctx.thresholds.plugins, CHECK_ID, MAX_CREDENTIAL_YEARS, DEFAULT_MAX_CREDENTIAL_YEARS)
    except ValueError as exc:
        raise NotAssessed(ReasonKind.ERROR, str(exc)) from None
    findings = []
    for app in data.apps:
        problems = []
        risky = sorted(set(app.graph_permissions) & HIGH_PRIVILEGE_PERMISSIONS)
        if risky:
            whose = (
                "a third-party app"
                if app.owner_tenant_id and app.owner_tenant_id != data.tenant_id
                else "registered in this tenant"
                if app.owner_tenant_id
                else "owner unknown"
            )
            problems.append(f"holds Microsoft Graph application permissions {', '.join(risky)} ({whose})")
        problems += _credential_problems(app, ctx, max_years)
        if problems:
            findings.append(Finding(app.app_id, app.name, "; ".join(problems), {"graph_permissions": risky}))
    return Outcome(assessed=len(data.apps), findings=findings, note=SIGN_IN_NOTE)
