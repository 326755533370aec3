"""Microsoft 365 break-glass (emergency access) accounts: declared in the configuration, kept as Microsoft advises."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.azure import whole_setting
from hygiene.checklib.m365 import (
    GLOBAL_ADMIN_TEMPLATE,
    PHISHING_RESISTANT_METHODS,
    last_sign_in,
    pim_unseen,
    user_roles,
)
from hygiene.model import M365User, ReasonKind

CHECK_ID = "m365.admins.break_glass"
#: a successful sign-in this recent means the account is used day to day (profile setting
#: ``thresholds.plugins."m365.admins.break_glass".recent_sign_in_days``)
RECENT_SIGN_IN = "recent_sign_in_days"
DEFAULT_RECENT_SIGN_IN_DAYS = 7
MIN_ACCOUNTS = 2


def _problems(user: M365User, ctx: CheckContext, recent_days: int) -> tuple[list[str], str | None]:
    """What is wrong with one declared account, and how it holds Global Administrator (None: not at all)."""
    data = ctx.m365
    problems = []
    if not user.enabled:
        problems.append("the account is disabled")
    if user.on_premises_sync_enabled is True:
        problems.append("synchronised from on-premises (onPremisesSyncEnabled): not cloud-only")
    active = GLOBAL_ADMIN_TEMPLATE in user_roles(data).get(user.id, set())
    eligible = GLOBAL_ADMIN_TEMPLATE in user_roles(data, assignment="eligible").get(user.id, set())
    held = "active" if active else "eligible" if eligible else None
    if held == "eligible":
        problems.append(
            "Global Administrator only as eligible (PIM): activation depends on PIM and its MFA, "
            "so assign the role permanently (active)"
        )
    elif held is None and ctx.snapshot.dataset("m365.role_eligibility").available:
        problems.append("not a Global Administrator")
    registration = {r.user_id: r for r in data.registrations}.get(user.id)
    methods = registration.methods if registration is not None else []
    if not {m.casefold() for m in methods} & PHISHING_RESISTANT_METHODS:
        shown = ", ".join(methods) or "none"
        problems.append(
            "no phishing-resistant method registered (FIDO2 security key, passkey, Windows Hello for Business or a "
            f"certificate; registered: {shown})"
        )
    last = last_sign_in(user)
    if last is not None and (ctx.now - last).days < recent_days:
        how = "signed in successfully" if user.last_successful_sign_in else "active (Office 365 usage report)"
        problems.append(f"{how} on {last.date().isoformat()}: a break-glass account is for emergencies, not daily use")
    return problems, held


@check(
    id=CHECK_ID,
    summary="{open} of {assessed} Microsoft 365 break-glass accounts are missing or badly kept",
    title="Two Microsoft 365 break-glass accounts, kept for emergencies only",
    area="accounts",
    platform="m365",
    severity="high",
    requires=("m365.users", "m365.roles", "m365.registration", "m365.sign_ins"),
    description="Judges the break-glass (emergency access) accounts declared in [sources.m365] break_glass: at least "
    "two; each found in the tenant, enabled, cloud-only (not synchronised from on-premises), a permanently active "
    "Global Administrator, with a phishing-resistant method registered (they are excluded from MFA policies by "
    "design, so the method is what protects them), and not used day to day (a successful sign-in within the "
    "profile's recent_sign_in_days, default 7, is named with its date). The declared accounts are left out of the "
    "stale-account and MFA checks by this declaration. Not assessed when none are declared.",
    remediation="Create two cloud-only accounts on the tenant's onmicrosoft.com domain, assign them Global "
    "Administrator permanently (active, not eligible), register a FIDO2 security key for each and keep the keys "
    "in separate safes; exclude them from Conditional Access MFA policies, sign in only to test them, and list "
    "their user principal names in the config under [sources.m365] break_glass.",
    references=(
        "https://learn.microsoft.com/entra/identity/role-based-access-control/security-emergency-access",
        "https://learn.microsoft.com/entra/identity/authentication/concept-authentication-strengths",
    ),
    permissions=(
        "User.Read.All",
        "RoleManagement.Read.Directory",
        "AuditLog.Read.All (Entra ID P1) or UserAuthenticationMethod.Read.All and Reports.Read.All",
    ),
)
def break_glass(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    if not data.break_glass:
        raise NotAssessed(
            ReasonKind.NOT_COLLECTED,
            "no break-glass accounts are declared; list their user principal names in the config under "
            "[sources.m365] break_glass",
        )
    try:
        recent_days = whole_setting(ctx.thresholds.plugins, CHECK_ID, RECENT_SIGN_IN, DEFAULT_RECENT_SIGN_IN_DAYS)
    except ValueError as exc:
        raise NotAssessed(ReasonKind.ERROR, str(exc)) from None
    by_upn = {u.upn.casefold(): u for u in data.users}
    findings = []
    holds: list[str] = []
    not_seen_as_admin = False
    for upn in data.break_glass:
        user = by_upn.get(upn.casefold())
        if user is None:
            findings.append(Finding(upn, upn, "declared as a break-glass account but not found in the tenant"))
            continue
        problems, held = _problems(user, ctx, recent_days)
        holds.append(f"{user.upn}: Global Administrator {held}" if held else f"{user.upn}: no Global Administrator")
        not_seen_as_admin |= held is None
        if problems:
            findings.append(Finding(user.id, user.upn, "; ".join(problems), {"global_administrator": held}))
    if len(data.break_glass) < MIN_ACCOUNTS:
        findings.append(
            Finding(
                data.tenant_id,
                "tenant",
                f"{len(data.break_glass)} break-glass account declared; keep at least {MIN_ACCOUNTS}, so that "
                "losing one (a lost key, a locked account) does not lock the organisation out",
            )
        )
    unseen = pim_unseen(ctx.snapshot) if not_seen_as_admin else ()
    note = "; ".join(holds) + (f"; a sign-in within {recent_days} days counts as daily use" if holds else "")
    return Outcome(assessed=len(data.break_glass), findings=findings, note=note or None, unseen=unseen)
