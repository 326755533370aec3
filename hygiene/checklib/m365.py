"""Microsoft 365 reasoning shared by checks: who is covered by MFA enforcement, who holds which role,
when a user last signed in.

Enforcement per user (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-grant,
https://learn.microsoft.com/graph/api/resources/conditionalaccessgrantcontrols): security defaults on; or an
*enabled* Conditional Access policy (report-only does not enforce) that covers the user, targets all cloud
apps and all client apps, and demands MFA (built-in control ``mfa`` or an authentication strength whose
``requirementsSatisfied`` is ``mfa``, possibly with an *empty* ``builtInControls``) without an OR
alternative that lets the user in without it; or per-user MFA ``enforced`` or ``enabled``. Each source says what
it guarantees (:class:`Enforcement`): security defaults demand MFA of non-admins only "when necessary".

Roles are *active* (roleAssignments) or *eligible* (PIM: roleEligibilityScheduleInstances, or eligibility to join
a role-holding group through PIM for Groups); both make an administrator, only active ones count for role-targeted
Conditional Access.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hygiene.model import (
    CAGuestsOrExternalUsers,
    CAPolicy,
    M365CompliancePolicy,
    M365Data,
    M365Device,
    M365User,
    ReasonKind,
    Snapshot,
)

GLOBAL_ADMIN_TEMPLATE = "62e90394-69f5-4237-9190-012177145e10"
#: client app types that together mean "modern clients" (browser + apps); "all" or [] mean every client
MODERN_CLIENTS = {"browser", "mobileAppsAndDesktopClients"}
LEGACY_CLIENTS = {"exchangeActiveSync", "other"}


def user_roles(data: M365Data, *, assignment: str | None = "active") -> dict[str, set[str]]:
    """user id -> role template ids, with group-assigned roles expanded to the group's members.

    ``assignment``: "active" (held now: what Conditional Access role targeting sees), "eligible" (PIM: can be
    activated at will) or None (both: who is an administrator).
    """
    roles: dict[str, set[str]] = {}
    for a in data.role_assignments:
        if a.principal_type == "group":
            members: list[str] = []
            if assignment in (a.assignment, None):
                members += data.group_members.get(a.principal_id, [])
            if assignment in ("eligible", None):
                # PIM for Groups: eligible to join a group that holds (or can activate) the role
                members += data.group_eligible_members.get(a.principal_id, [])
        elif a.principal_type == "user" and assignment in (a.assignment, None):
            members = [a.principal_id]
        else:
            continue
        for member in members:
            roles.setdefault(member, set()).add(a.role_template_id)
    return roles


def role_labels(names: dict[str, str], active: set[str], eligible: set[str]) -> list[str]:
    """Role names, each role held only as eligible (PIM) marked "(eligible, PIM)"."""
    return sorted(names.get(r, r) for r in active) + sorted(
        f"{names.get(r, r)} (eligible, PIM)" for r in eligible - active
    )


#: the datasets of PIM eligibility (Entra ID P2 or Governance): eligible role assignments, and users eligible to
#: join the groups that hold roles (PIM for Groups)
PIM_DATASETS = {
    "m365.role_eligibility": "administrators eligible through PIM (roleEligibilityScheduleInstances)",
    "m365.group_eligibility": "users eligible to join role-holding groups (PIM for Groups)",
}


def pim_unseen(snapshot: Snapshot) -> tuple[tuple[ReasonKind, str], ...]:
    """The admin population's unseen part when PIM eligibility could not be read: never a pass on active
    assignments alone."""
    unseen = []
    for name, what in PIM_DATASETS.items():
        state = snapshot.dataset(name)
        if state.available:
            continue
        kind = state.reason_kind or ReasonKind.ERROR
        text = f"{what}: {state.reason or 'not read'}"
        if kind is ReasonKind.PERMISSION and state.needs:
            text += "; needs " + ", ".join(state.needs)
        unseen.append((kind, text))
    return tuple(unseen)


def role_names(data: M365Data) -> dict[str, str]:
    return {a.role_template_id: a.role_name for a in data.role_assignments}


#: id(member list) -> (that list, its length, its members as a set): membership tests on large groups (an exclusion
#: group of thousands, tested for every user) must not scan a list; the list is kept so its id is not reused
_member_sets: dict[int, tuple[list[str], int, frozenset[str]]] = {}


def _members(members: list[str]) -> frozenset[str]:
    cached = _member_sets.get(id(members))
    if cached is not None and cached[0] is members and cached[1] == len(members):
        return cached[2]
    if len(_member_sets) >= 256:
        _member_sets.clear()
    found = frozenset(members)
    _member_sets[id(members)] = (members, len(members), found)
    return found


def _in_groups(user_id: str, groups: Iterable[str], data: M365Data) -> bool:
    for g in groups:
        members = data.group_members.get(g)
        if members and (user_id in _members(members) if len(members) > 16 else user_id in members):
            return True
    return False


#: conditionalAccessGuestOrExternalUserTypes members (v1.0 CSDL) other than none and unknownFutureValue
GUEST_OR_EXTERNAL_TYPES = frozenset(
    {
        "internalGuest",
        "b2bCollaborationGuest",
        "b2bCollaborationMember",
        "b2bDirectConnectUser",
        "otherExternalUser",
        "serviceProvider",
    }
)


def external_user_types(user: M365User) -> frozenset[str]:
    """The guest or external user types (Conditional Access) this account may be; empty for an internal member.

    What Graph shows of a user: ``userType`` (Member / Guest); ``externalUserState``, set only for accounts invited
    from outside; ``creationType`` "Invitation"; and identities whose ``signInType`` is "federated" (issued by
    another organisation or provider: https://learn.microsoft.com/graph/api/resources/objectidentity). External
    evidence makes a Guest a b2bCollaborationGuest and a Member a b2bCollaborationMember; a Guest whose identities
    were read and are all local is an internalGuest. A Guest that cannot be told apart may be any of them
    (direct-connect and service-provider users have no user object in the tenant).
    """
    identities = user.identity_sign_in_types
    external = (
        user.external_user_state is not None
        or (user.creation_type or "").casefold() == "invitation"
        or (identities is not None and any(t.casefold() == "federated" for t in identities))
    )
    if user.user_type.casefold() != "guest":
        return frozenset({"b2bCollaborationMember"}) if external else frozenset()
    if external:
        return frozenset({"b2bCollaborationGuest"})
    if identities is not None:
        return frozenset({"internalGuest"})
    return frozenset({"internalGuest", "b2bCollaborationGuest", "otherExternalUser"})


def _guest_scope(scope: CAGuestsOrExternalUsers | None, user: M365User, *, exclusion: bool) -> bool:
    """Whether a guest-or-external-users condition applies to the user, leaning to "not covered" when unsure.

    An exclusion applies when it *might* (any type the user may be is excluded, or an unknown type is named);
    an inclusion only when the user's type is known, listed, and every external tenant is in scope (the home
    tenant of a B2B account is not visible in the user object)."""
    if scope is None:
        return False
    possible = external_user_types(user)
    named = {t for t in scope.user_types if t != "none"}
    if not possible or not named:
        return False
    if exclusion:
        return bool(possible & named) or bool(named - GUEST_OR_EXTERNAL_TYPES)
    all_tenants = scope.tenants_kind in (None, "all")
    return len(possible) == 1 and possible <= named and all_tenants


def policy_covers(
    policy: CAPolicy, user: M365User, roles: set[str], data: M365Data, eligible: Iterable[str] = ()
) -> bool:
    """Whether the policy applies to the user. ``roles`` are the roles held now (includeRoles counts only these);
    ``eligible`` PIM roles count for excludeRoles only: an exclusion that applies once the role is activated
    leaves the account uncovered (the safe side; whether role targeting sees eligible roles is not documented)."""
    scope = policy.users
    included = (
        "All" in scope.include_users
        or user.id in scope.include_users
        or ("GuestsOrExternalUsers" in scope.include_users and user.user_type == "Guest")
        or _guest_scope(scope.include_guests_or_external_users, user, exclusion=False)
        or _in_groups(user.id, scope.include_groups, data)
        or bool(roles & set(scope.include_roles))
    )
    if not included:
        return False
    excluded = (
        user.id in scope.exclude_users
        # the legacy value means every guest and external user: a B2B member is one too
        or ("GuestsOrExternalUsers" in scope.exclude_users and bool(external_user_types(user)))
        or _guest_scope(scope.exclude_guests_or_external_users, user, exclusion=True)
        or _in_groups(user.id, scope.exclude_groups, data)
        or bool((roles | set(eligible)) & set(scope.exclude_roles))
    )
    return not excluded


def guest_exclusion(policy: CAPolicy, user: M365User) -> str | None:
    """How the policy's guest-or-external-user exclusion reaches the user (for findings), or None."""
    scope = policy.users.exclude_guests_or_external_users
    if not _guest_scope(scope, user, exclusion=True):
        return None
    assert scope is not None
    possible = sorted(external_user_types(user))
    seen = possible[0] if len(possible) == 1 else "possibly " + ", ".join(possible[:-1]) + " or " + possible[-1]
    return f"{policy.name} excludes guest or external user types {', '.join(scope.user_types)}; this account is {seen}"


#: the Entra app "Windows Azure Service Management API": the Azure portal, Azure CLI, Azure PowerShell and every
#: Azure Resource Manager client sign in to it, so a Conditional Access policy targeting it covers Azure management
#: (https://learn.microsoft.com/entra/identity/conditional-access/howto-conditional-access-policy-azure-management)
AZURE_MANAGEMENT_APP = "797f4846-ba00-4fd7-ba43-dac1f8f63013"


def _all_apps(policy: CAPolicy, app: str | None = None) -> bool:
    """All cloud apps, none excluded, and no application filter (a filter picks apps by their attributes, so
    the policy does not reliably reach every app: conditionalAccessApplications.applicationFilter). With ``app``,
    the policy need only reach that app: all cloud apps or the app itself included, the app not excluded."""
    if policy.application_filter_mode is not None:
        return False
    if app is None:
        return "All" in policy.include_applications and not policy.exclude_applications
    included = "All" in policy.include_applications or app in policy.include_applications
    return included and app not in policy.exclude_applications


def _all_modern_clients(policy: CAPolicy) -> bool:
    types = set(policy.client_app_types)
    return not types or "all" in types or types >= MODERN_CLIENTS


def requires_mfa(policy: CAPolicy) -> bool:
    """True when every way through the policy's grant controls includes MFA."""
    controls = set(policy.built_in_controls)
    strength_mfa = (policy.auth_strength_requirement or "").lower() == "mfa"
    if "block" in controls:
        return False
    if not ("mfa" in controls or strength_mfa):
        return False
    operator = (policy.grant_operator or "AND").upper()
    if operator == "AND":
        return True
    # OR: any alternative that is not MFA (a compliant device, an app protection policy …) bypasses it
    others = controls - {"mfa"}
    return not others


def why_not_enforcing(policy: CAPolicy, app: str | None = None) -> str | None:
    """Why an MFA-minded policy does not count as enforcement (None when it does, or is not about MFA); with
    ``app``, as enforcement for that app alone."""
    mentions_mfa = "mfa" in policy.built_in_controls or (policy.auth_strength_requirement or "").lower() == "mfa"
    if not mentions_mfa:
        return None
    if policy.state == "enabledForReportingButNotEnforced":
        return "report-only"
    if policy.state != "enabled":
        return "disabled"
    if policy.application_filter_mode is not None:
        return f"only the apps an application filter selects ({policy.application_filter_mode} mode)"
    if not _all_apps(policy, app):
        return "not all cloud apps" if app is None else f"does not reach app {app}"
    if not _all_modern_clients(policy):
        return "not all client apps"
    if policy.narrowing_conditions:
        return "only under conditions: " + ", ".join(policy.narrowing_conditions)
    if not requires_mfa(policy):
        return "MFA is one alternative among others"
    return None


def enforcing_policies(data: M365Data, app: str | None = None) -> list[CAPolicy]:
    """The enabled policies that demand MFA at every sign-in to every cloud app (with ``app``: to that app)."""
    return [
        p
        for p in data.ca_policies
        if p.state == "enabled"
        and _all_apps(p, app)
        and _all_modern_clients(p)
        and requires_mfa(p)
        and not p.narrowing_conditions
    ]


def non_enforcing_policies(data: M365Data, app: str | None = None) -> list[tuple[CAPolicy, str]]:
    """MFA policies that look like enforcement (of ``app``) but are not, with the reason: shown in findings."""
    found = []
    for policy in data.ca_policies:
        why = why_not_enforcing(policy, app)
        if why is not None:
            found.append((policy, why))
    return found


#: the roles for which security defaults require MFA at every sign-in
#: (https://learn.microsoft.com/entra/fundamentals/security-defaults#require-administrators-to-do-multifactor-authentication)
SECURITY_DEFAULTS_ADMIN_ROLES: frozenset[str] = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",  # Application Administrator
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",  # Authentication Administrator
        "0526716b-113d-4c15-b2c8-68e3c22b9f80",  # Authentication Policy Administrator
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",  # Billing Administrator
        "158c047a-c907-4556-b7ef-446551a6b5f7",  # Cloud Application Administrator
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",  # Conditional Access Administrator
        "29232cdf-9323-42fd-ade2-1d097af3e4de",  # Exchange Administrator
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
        "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e",  # Identity Governance Administrator
        "966707d0-3269-4727-9be2-8c3a10f19b9d",  # Password Administrator
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",  # Privileged Authentication Administrator
        "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
        "194ae4cb-b126-40b2-bd5b-6091b380977d",  # Security Administrator
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",  # SharePoint Administrator
        "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
    }
)

#: what each enforcement source guarantees (Enforcement.guarantee)
ALWAYS = "always"
PER_USER_ENFORCED = "per-user enforced"
MODERN_ONLY = "modern authentication"
WHEN_NECESSARY = "when necessary"


@dataclass(frozen=True)
class Enforcement:
    """Whether something demands MFA from the user, and what it really guarantees:

    - ``always``: an enabled CA policy (all apps, all clients) requiring MFA; security defaults for the
      administrator roles they name ("every time they sign in", after registration);
    - ``per-user enforced``: per-user MFA ``enforced``: MFA at every sign-in "with some exceptions, such as when
      they sign in from trusted IP addresses or when the remember MFA on trusted devices feature is turned on"
      (MFA service settings Graph does not show); legacy protocols need app passwords;
    - ``modern authentication``: per-user MFA ``enabled``: browser and modern-authentication sign-ins require MFA
      registration (then MFA) once the session or token expires, but "can still use their password for legacy
      authentication" until registration completes
      (https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates);
    - ``when necessary``: security defaults for everyone else: MFA "when necessary", when Microsoft decides
      (https://learn.microsoft.com/entra/fundamentals/security-defaults), not at every sign-in.
    """

    enforced: bool
    how: str
    guarantee: str = ""


def enforcement_for(
    user: M365User, data: M365Data, roles: set[str], policies: list[CAPolicy], eligible: Iterable[str] = ()
) -> Enforcement:
    """The strongest enforcement that applies. ``roles`` are the roles held now; ``eligible`` PIM roles (see
    :func:`policy_covers`) never make security defaults or a role-targeted policy apply."""
    for policy in policies:
        if policy_covers(policy, user, roles, data, eligible):
            return Enforcement(True, f"Conditional Access: {policy.name}", ALWAYS)
    per_user = data.per_user_mfa.get(user.id)
    if per_user == "enforced":
        return Enforcement(True, "per-user MFA enforced", PER_USER_ENFORCED)
    if data.security_defaults_enabled:
        if roles & SECURITY_DEFAULTS_ADMIN_ROLES:
            return Enforcement(True, "security defaults (administrator role: every sign-in)", ALWAYS)
        if per_user == "enabled":
            return Enforcement(True, "per-user MFA enabled (modern authentication only)", MODERN_ONLY)
        return Enforcement(True, "security defaults (MFA only when Microsoft judges it necessary)", WHEN_NECESSARY)
    if per_user == "enabled":
        return Enforcement(True, "per-user MFA enabled (modern authentication only)", MODERN_ONLY)
    return Enforcement(False, "")


def users_without_policy_enforcement(data: M365Data) -> list[M365User]:
    """Enabled members that neither security defaults nor a CA policy covers (per-user MFA aside)."""
    if data.security_defaults_enabled:
        return []
    roles = user_roles(data)
    eligible = user_roles(data, assignment="eligible")
    policies = enforcing_policies(data)
    return [
        u
        for u in data.users
        if u.enabled
        and u.user_type == "Member"
        and not any(policy_covers(p, u, roles.get(u.id, set()), data, eligible.get(u.id, ())) for p in policies)
    ]


#: when Entra ID began recording lastSuccessfulSignInDateTime (not backfilled:
#: https://learn.microsoft.com/graph/api/resources/signinactivity)
SUCCESS_RECORDED_SINCE = "1 December 2023"
SUCCESS_RECORDED_FROM = datetime(2023, 12, 1, tzinfo=UTC)


def last_sign_in(user: M365User) -> datetime | None:
    """The last sign-in that let the user in: ``lastSuccessfulSignInDateTime``, or (no-P1 fallback) the
    Office 365 report's last activity date. ``lastSignInDateTime`` and ``lastNonInteractiveSignInDateTime``
    record attempts, successful *or failed*, so they are never evidence of use."""
    return user.last_successful_sign_in or user.last_activity_date


def last_attempt(user: M365User) -> datetime | None:
    """The latest sign-in attempt, successful or failed (interactive or not)."""
    attempts = [t for t in (user.last_interactive_sign_in, user.last_non_interactive_sign_in) if t]
    return max(attempts) if attempts else None


def _group_reach(group_id: str | None, device: M365Device, data: M365Data) -> set[str]:
    """How an assignment group reaches a device: "user" (its primary user is a member), "device" (the device
    object is a member), "unknown" (the group, or its device members, could not be read)."""
    group = data.assignment_groups.get(group_id or "")
    if group is None:
        return {"unknown"}
    reach = set()
    if device.user_id is not None and device.user_id in _members(group.users):
        reach.add("user")
    if group.devices is None:
        reach.add("unknown")
    elif device.azure_ad_device_id is not None and device.azure_ad_device_id in group.devices:
        reach.add("device")
    return reach


def compliance_policy_applies(policy: M365CompliancePolicy, device: M365Device, data: M365Data) -> bool:
    """Whether Intune evaluates the device against the policy, leaning to "it does" when unsure.

    Assignment targets (deviceAndAppManagementAssignmentTarget): all devices; all licensed users (devices with a
    primary user); a group (the device's primary user or the device object is a transitive member); an exclusion
    group. An exclusion removes the device only when it reaches it the same way as every inclusion does (user
    groups exclude user-targeted devices, device groups device-targeted ones; Intune does not support mixing
    them). Applying a policy can only add a failure (a higher minimum), so unread assignments, unread groups and
    unknown targets all apply: a false failure is possible, a false pass is not.
    """
    if policy.assignments is None:
        return True
    reach: set[str] = set()
    for assignment in policy.assignments:
        if assignment.target == "allDevices":
            reach.add("device")
        elif assignment.target == "allLicensedUsers":
            if device.user_id is not None:
                reach.add("user")
        elif assignment.target == "group":
            reach |= _group_reach(assignment.group_id, device, data)
        elif assignment.target != "exclusionGroup":
            reach.add("unknown")
    if not reach:
        return False
    if "unknown" in reach:
        return True
    excluded: set[str] = set()
    for assignment in policy.assignments:
        if assignment.target == "exclusionGroup" and assignment.group_id in data.assignment_groups:
            excluded |= _group_reach(assignment.group_id, device, data) - {"unknown"}
    return not reach <= excluded


#: authentication methods that resist phishing (https://learn.microsoft.com/entra/identity/authentication/
#: concept-authentication-strengths: FIDO2 security keys and passkeys, Windows Hello for Business / platform
#: credentials, certificate-based authentication), as the registration report names them (userRegistrationDetails
#: ``methodsRegistered``) and as the per-user fallback names them (the method type without its suffix, e.g.
#: ``fido2``); compared case-insensitively. A value not listed here never counts.
PHISHING_RESISTANT_METHODS = frozenset(
    m.casefold()
    for m in (
        "fido2SecurityKey",
        "passKeyDeviceBound",
        "passKeyDeviceBoundAuthenticator",
        "passKeyDeviceBoundWindowsHello",
        "windowsHelloForBusiness",
        "macOsSecureEnclaveKey",
        "fido2",
        "platformCredential",
        "x509Certificate",
        "x509CertificateMultiFactor",
    )
)


def break_glass_ids(data: M365Data) -> set[str]:
    """The object ids of the declared break-glass accounts found in the tenant (``[sources.m365] break_glass``)."""
    declared = {upn.casefold() for upn in data.break_glass}
    return {u.id for u in data.users if u.upn.casefold() in declared}


def break_glass_note(data: M365Data) -> str | None:
    """The note of a check that leaves the declared break-glass accounts out of its findings."""
    found = sorted(u.upn for u in data.users if u.id in break_glass_ids(data))
    if not found:
        return None
    return (
        "left out as declared break-glass accounts ([sources.m365] break_glass; judged by m365.admins.break_glass): "
        + ", ".join(found)
    )
