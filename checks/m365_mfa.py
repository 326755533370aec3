"""Microsoft 365 MFA checks: registration and enforcement reconciled per user, admins, legacy auth."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.m365 import (
    ALWAYS,
    LEGACY_CLIENTS,
    MODERN_ONLY,
    PER_USER_ENFORCED,
    WHEN_NECESSARY,
    break_glass_ids,
    break_glass_note,
    enforcement_for,
    enforcing_policies,
    guest_exclusion,
    non_enforcing_policies,
    pim_unseen,
    policy_covers,
    role_labels,
    role_names,
    user_roles,
)
from hygiene.model import M365Data, M365User


def _enabled_members(data: M365Data) -> list[M365User]:
    """Enabled members, less the declared break-glass accounts (excluded from MFA by design; judged by
    m365.admins.break_glass)."""
    set_aside = break_glass_ids(data)
    return [u for u in data.users if u.enabled and u.user_type == "Member" and u.id not in set_aside]


def _with_break_glass(note: str | None, data: M365Data) -> str | None:
    extra = break_glass_note(data)
    return "; ".join(n for n in (note, extra) if n) or None


@check(
    id="m365.mfa.registered",
    summary="{open} of {assessed} Microsoft 365 accounts have no second factor registered",
    title="Every enabled Microsoft 365 member can do MFA",
    area="mfa",
    platform="m365",
    severity="high",
    requires=("m365.users", "m365.registration"),
    description="Passes when every enabled member account has a strong authentication method registered that "
    "the tenant's policy allows (isMfaCapable).",
    remediation="Ask each listed person to register the Microsoft Authenticator app (or a security key) at "
    "https://aka.ms/mysecurityinfo, and turn on the registration campaign: Entra admin center > Protection > "
    "Authentication methods > Registration campaign.",
    references=(
        "https://learn.microsoft.com/graph/api/resources/userregistrationdetails",
        "https://learn.microsoft.com/entra/identity/authentication/how-to-mfa-registration-campaign",
    ),
    permissions=("User.Read.All", "AuditLog.Read.All (Entra ID P1) or UserAuthenticationMethod.Read.All"),
)
def mfa_registered(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    registrations = {r.user_id: r for r in data.registrations}
    members = _enabled_members(data)
    findings = []
    for user in members:
        row = registrations.get(user.id)
        if row is None:
            findings.append(Finding(user.id, user.upn, "no MFA method registered (absent from the registration data)"))
        elif not row.is_mfa_capable:
            methods = ", ".join(row.methods) or "none"
            detail = f"not MFA-capable; registered methods: {methods}"
            if row.unknown_methods:
                detail += f" (method types hygiene does not know, not counted as MFA: {', '.join(row.unknown_methods)})"
            findings.append(Finding(user.id, user.upn, detail))
    note = _with_break_glass(ctx.snapshot.dataset("m365.registration").method, data)
    return Outcome(assessed=len(members), findings=findings, note=note)


@check(
    id="m365.mfa.enforced",
    summary="{open} of {assessed} Microsoft 365 accounts can sign in with a password alone",
    title="MFA is enforced for every enabled Microsoft 365 member",
    area="mfa",
    platform="m365",
    severity="critical",
    requires=("m365.users", "m365.mfa_policies", "m365.roles", "m365.per_user_mfa"),
    description="Passes when each enabled member is covered by security defaults, an enabled Conditional Access "
    "policy for all cloud apps that requires MFA (built-in control or an MFA authentication strength), or "
    "per-user MFA 'enforced' or 'enabled'. Report-only policies, OR-alternatives and exclusions do not count. "
    "The note says what each source guarantees: security defaults require MFA of non-admins only 'when "
    "necessary', and per-user 'enabled' leaves legacy protocols on the password; an answer sheet never turns "
    "the former into a plain Yes.",
    remediation="Create (or fix) a Conditional Access policy: Entra admin center > Protection > Conditional "
    "Access > New policy from template 'Require multifactor authentication for all users'; include All users, "
    "All cloud apps, grant 'Require multifactor authentication', exclude only two break-glass accounts, and "
    "switch it from Report-only to On. Without Entra ID P1, turn on security defaults instead.",
    references=(
        "https://learn.microsoft.com/entra/identity/conditional-access/policy-all-users-mfa-strength",
        "https://learn.microsoft.com/entra/fundamentals/security-defaults",
    ),
    permissions=("Policy.Read.All", "GroupMember.Read.All", "RoleManagement.Read.Directory"),
)
def mfa_enforced(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    roles = user_roles(data)
    eligible = user_roles(data, assignment="eligible")
    policies = enforcing_policies(data)
    registrations = {r.user_id: r for r in data.registrations}
    lookalikes = non_enforcing_policies(data)
    members = _enabled_members(data)
    findings = []
    guarantees: dict[str, int] = {}
    for user in members:
        held = roles.get(user.id, set())
        enforcement = enforcement_for(user, data, held, policies, eligible.get(user.id, ()))
        if enforcement.enforced:
            guarantees[enforcement.guarantee] = guarantees.get(enforcement.guarantee, 0) + 1
            continue
        row = registrations.get(user.id)
        detail = "no policy requires MFA for this account"
        if row is not None and row.is_mfa_capable:
            detail += " (MFA is registered but never demanded)"
        near = [f"{p.name}: {why}" for p, why in lookalikes if policy_covers(p, user, held, data)]
        near += [text for p in policies if (text := guest_exclusion(p, user))]
        if near:
            detail += "; not counted: " + "; ".join(near[:3])
        findings.append(Finding(user.id, user.upn, detail))
    how = "security defaults" if data.security_defaults_enabled else f"{len(policies)} enforcing CA policies"
    note, reservation = _guarantee_note(guarantees, len(members))
    shown = _with_break_glass(f"{how}; {note}" if note else how, data)
    return Outcome(assessed=len(members), findings=findings, note=shown, reservation=reservation)


def _guarantee_note(guarantees: dict[str, int], members: int) -> tuple[str, str | None]:
    """What the enforcement seen really guarantees, and the reservation a pass carries (security defaults)."""
    parts = []
    if guarantees.get(ALWAYS):
        parts.append(f"{guarantees[ALWAYS]} with MFA at every sign-in")
    if guarantees.get(PER_USER_ENFORCED):
        parts.append(
            f"{guarantees[PER_USER_ENFORCED]} by per-user MFA 'enforced' (every sign-in, except from the MFA service's "
            "trusted IPs or remembered devices, which Graph does not show; legacy protocols need app passwords)"
        )
    if guarantees.get(MODERN_ONLY):
        parts.append(
            f"{guarantees[MODERN_ONLY]} by per-user MFA 'enabled' (browser and modern-authentication sign-ins require "
            "MFA registration, then MFA, once the session expires; legacy protocols still take the password alone "
            "until registration)"
        )
    reservation = None
    if guarantees.get(WHEN_NECESSARY):
        n = guarantees[WHEN_NECESSARY]
        parts.append(f"{n} by security defaults only (MFA 'when necessary', as Microsoft's risk evaluation decides)")
        reservation = (
            f"{n} of {members} members are covered only by security defaults, which require MFA 'when necessary' "
            "(Microsoft decides from location, device, role and task), not at every sign-in"
        )
    return "; ".join(parts), reservation


@check(
    id="m365.mfa.admins",
    summary="{open} of {assessed} Microsoft 365 admin accounts lack MFA registration or enforcement",
    title="Every Microsoft 365 admin has MFA registered and enforced",
    area="mfa",
    platform="m365",
    severity="critical",
    requires=("m365.users", "m365.roles", "m365.registration", "m365.mfa_policies", "m365.per_user_mfa"),
    description="Passes when every enabled account holding a directory role, actively or as eligible through "
    "PIM, is MFA-capable and covered by MFA enforcement at every sign-in (security defaults' 'when necessary' does "
    "not count). Role-targeted Conditional Access counts only for active roles.",
    remediation="For each listed admin: register a phishing-resistant method (security key or passkey), and "
    "make sure a Conditional Access policy 'Require MFA for administrators' (Entra admin center > Protection > "
    "Conditional Access > templates) is On for all admin roles.",
    references=("https://learn.microsoft.com/entra/identity/conditional-access/policy-old-require-mfa-admin",),
    permissions=("RoleManagement.Read.Directory", "AuditLog.Read.All", "Policy.Read.All"),
)
def mfa_admins(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    active = user_roles(data)
    eligible = user_roles(data, assignment="eligible")
    names = role_names(data)
    policies = enforcing_policies(data)
    registrations = {r.user_id: r for r in data.registrations}
    set_aside = break_glass_ids(data)
    admins = [u for u in data.users if u.enabled and (active.get(u.id) or eligible.get(u.id)) and u.id not in set_aside]
    findings = []
    guarantees: dict[str, int] = {}
    eligible_only = 0
    for user in admins:
        held, can_activate = active.get(user.id, set()), eligible.get(user.id, set())
        eligible_only += not held
        problems = []
        row = registrations.get(user.id)
        if row is None or not row.is_mfa_capable:
            problems.append("not MFA-capable")
        enforcement = enforcement_for(user, data, held, policies, can_activate)
        if enforcement.enforced and enforcement.guarantee != WHEN_NECESSARY:
            guarantees[enforcement.guarantee] = guarantees.get(enforcement.guarantee, 0) + 1
        if not enforcement.enforced:
            excluded = [text for p in policies if (text := guest_exclusion(p, user))]
            problems.append("MFA not enforced" + (f" ({'; '.join(excluded[:2])})" if excluded else ""))
        elif enforcement.guarantee == WHEN_NECESSARY:
            problems.append("MFA only 'when necessary' (security defaults require it at every sign-in only for "
                            "the administrator roles they name, and only while the role is active)")  # fmt: skip
        if problems:
            held_text = ", ".join(role_labels(names, held, can_activate))
            findings.append(Finding(user.id, user.upn, f"{' and '.join(problems)}; roles: {held_text}"))
    note = f"{len(admins) - eligible_only} with an active role, {eligible_only} eligible only (PIM)"
    enforced_note, _ = _guarantee_note(guarantees, len(admins))
    if enforced_note:
        note += f"; enforcement: {enforced_note}"
    return Outcome(
        assessed=len(admins), findings=findings, note=_with_break_glass(note, data), unseen=pim_unseen(ctx.snapshot)
    )


@check(
    id="m365.mfa.legacy_auth_blocked",
    summary="old email protocols that skip MFA are still allowed",
    title="Legacy authentication is blocked in Microsoft 365",
    area="mfa",
    platform="m365",
    severity="high",
    requires=("m365.mfa_policies",),
    description="Passes when security defaults are on or an enabled Conditional Access policy blocks the legacy "
    "client apps (Exchange ActiveSync and other clients) for all users and all cloud apps. Legacy protocols "
    "cannot do MFA, so they bypass it.",
    remediation="Entra admin center > Protection > Conditional Access > New policy from template 'Block legacy "
    "authentication': All users, All cloud apps, Conditions > Client apps: Exchange ActiveSync clients and "
    "Other clients, Grant: Block access; switch it On.",
    references=("https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication",),
    permissions=("Policy.Read.All",),
)
def legacy_auth_blocked(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    if data.security_defaults_enabled:
        return Outcome(assessed=1, note="security defaults block legacy authentication")
    for policy in data.ca_policies:
        if (
            policy.state == "enabled"
            and "All" in policy.users.include_users
            and "All" in policy.include_applications
            and policy.application_filter_mode is None
            and "block" in policy.built_in_controls
            and set(policy.client_app_types) >= LEGACY_CLIENTS
        ):
            return Outcome(assessed=1, note=f"blocked by Conditional Access: {policy.name}")
    report_only = [
        p.name
        for p in data.ca_policies
        if p.state != "enabled" and "block" in p.built_in_controls and LEGACY_CLIENTS & set(p.client_app_types)
    ]
    detail = (
        "no security defaults and no enabled Conditional Access policy blocks Exchange ActiveSync and other clients"
    )
    if report_only:
        detail += f" (not enforced: {', '.join(report_only)})"
    return Outcome(assessed=1, findings=[Finding(data.tenant_id, "tenant", detail)])
