"""Microsoft 365 account checks: stale members and guests, Global Administrator count, wasted licences."""

from __future__ import annotations

from datetime import datetime

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.common import admin_count_detail, stale_reason
from hygiene.checklib.m365 import (
    GLOBAL_ADMIN_TEMPLATE,
    SUCCESS_RECORDED_FROM,
    SUCCESS_RECORDED_SINCE,
    break_glass_ids,
    break_glass_note,
    last_attempt,
    last_sign_in,
    pim_unseen,
    user_roles,
)
from hygiene.model import M365User, ReasonKind

#: the window of the no-P1 fallback report (getOffice365ActiveUserDetail(period='D180')): older activity is blank
REPORT_DAYS = 180
REPORT_METHOD = "office365ActiveUserDetail"


class _Unseen(Exception):
    """The no-P1 report cannot say whether this account is stale."""


def staleness(
    user: M365User, now: datetime, inactive_days: int, grace_days: int, *, report: bool = False
) -> str | None:
    """Why the account is stale, or None. Only successful sign-ins count as use (``lastSuccessfulSignInDateTime``,
    or the no-P1 report's activity dates when ``report``); attempt timestamps include failures (password spray).
    Raises :class:`_Unseen` when the fallback report cannot tell."""
    success = last_sign_in(user)
    attempt = last_attempt(user)
    if success is not None:
        why = stale_reason(success, user.created, now, inactive_days, grace_days)
        if why and attempt is not None and attempt > success:
            why += f"; failed sign-in attempts since, last {attempt.date().isoformat()}"
        if why and report:
            why = why.replace("no sign-in for", "no activity for")
        return why
    young = user.created is not None and (now - user.created).days <= grace_days
    if young:
        return None
    if attempt is not None:
        recorded = f"no successful sign-in recorded since {SUCCESS_RECORDED_SINCE} (when Entra ID began recording them)"
        if attempt < SUCCESS_RECORDED_FROM:
            return f"{recorded}; last sign-in attempt {attempt.date().isoformat()}, before that"
        return f"{recorded}; failed sign-in attempts only, last attempt {attempt.date().isoformat()}"
    if report:
        if inactive_days > REPORT_DAYS:
            raise _Unseen
        return f"no activity in the Office 365 active-user report (last {REPORT_DAYS} days)"
    if user.created is None:
        # Graph leaves createdDateTime null for some accounts created before June 2018
        return "never signed in; creation date unknown (createdDateTime is null: created before June 2018)"
    return stale_reason(None, user.created, now, inactive_days, grace_days)


#: a successful sign-in this recent marks an account used day to day
DAILY_USE_DAYS = 7


def _daily_admins(ctx: CheckContext, admins: list[M365User]) -> list[str]:
    """Licensed admin accounts (a mailbox or apps licence) used within the last week, less declared break-glass
    accounts: shown in the note of m365.accounts.admin_count, not judged."""
    set_aside = break_glass_ids(ctx.m365)
    found = []
    for user in admins:
        last = last_sign_in(user)
        if user.id in set_aside or not user.assigned_sku_ids or last is None:
            continue
        if (ctx.now - last).days < DAILY_USE_DAYS:
            found.append(user.upn)
    return sorted(found)


def _uses_report(ctx: CheckContext) -> bool:
    return ctx.snapshot.dataset("m365.sign_ins").method == REPORT_METHOD


def _sign_in_note(ctx: CheckContext) -> str | None:
    method = ctx.snapshot.dataset("m365.sign_ins").method
    if method == REPORT_METHOD:
        return "activity from the Office 365 active-user report (no Entra ID P1): last activity dates, not sign-ins"
    if method == "signInActivity":
        return (
            f"signInActivity: successful sign-ins only (recorded since {SUCCESS_RECORDED_SINCE}); "
            "failed attempts do not count as use"
        )
    return method


def _unseen_note(names: list[str], inactive_days: int) -> tuple[tuple[ReasonKind, str], ...]:
    if not names:
        return ()
    shown = ", ".join(sorted(names)[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        (
            ReasonKind.API_GAP,
            f"{len(names)} account(s) with no activity in the {REPORT_DAYS}-day Office 365 report, which cannot "
            f"show whether they were used within {inactive_days} days ({shown}); Entra ID P1 sign-in data would",
        ),
    )


def _stale_accounts(ctx: CheckContext, user_type: str, inactive_days: int) -> Outcome:
    set_aside = break_glass_ids(ctx.m365)
    accounts = [u for u in ctx.m365.users if u.enabled and u.user_type == user_type and u.id not in set_aside]
    grace = ctx.thresholds.never_signed_in_grace_days
    report = _uses_report(ctx)
    findings = []
    unseen = []
    for user in accounts:
        try:
            why = staleness(user, ctx.now, inactive_days, grace, report=report)
        except _Unseen:
            unseen.append(user.upn)
            continue
        if why:
            findings.append(Finding(user.id, user.upn, why))
    notes = [n for n in (_sign_in_note(ctx), break_glass_note(ctx.m365) if set_aside else None) if n]
    return Outcome(
        assessed=len(accounts) - len(unseen),
        findings=findings,
        note="; ".join(notes) or None,
        unseen=_unseen_note(unseen, inactive_days),
    )


_SIGNIN_PERMS = ("User.Read.All", "AuditLog.Read.All (Entra ID P1) or Reports.Read.All")


@check(
    id="m365.accounts.inactive",
    summary="{open} of {assessed} Microsoft 365 accounts are unused but still open",
    title="No stale Microsoft 365 member accounts",
    area="accounts",
    platform="m365",
    severity="medium",
    requires=("m365.users", "m365.sign_ins"),
    description="Fails for enabled members with no successful sign-in within the policy's inactive days (failed "
    "attempts, e.g. a password spray, are not use), and for never-used accounts older than the grace period.",
    remediation="Confirm with each person's manager; block sign-in for leavers (Microsoft 365 admin center > "
    "Users > Active users > select > Block sign-in), convert shared inboxes to shared mailboxes, then remove "
    "licences and delete after your retention period.",
    references=("https://learn.microsoft.com/entra/identity/monitoring-health/howto-manage-inactive-user-accounts",),
    permissions=_SIGNIN_PERMS,
)
def inactive_members(ctx: CheckContext) -> Outcome:
    return _stale_accounts(ctx, "Member", ctx.thresholds.inactive_days)


@check(
    id="m365.accounts.guests_inactive",
    summary="{open} of {assessed} Microsoft 365 guest accounts are unused but still open",
    title="No stale Microsoft 365 guest accounts",
    area="accounts",
    platform="m365",
    severity="low",
    requires=("m365.users", "m365.sign_ins"),
    description="Fails for enabled guests with no successful sign-in within the policy's guest inactive days (or "
    "never used past the grace period).",
    remediation="Remove guests who no longer work with you (Entra admin center > Users > filter User type: Guest), "
    "or set up an access review for guests: Identity Governance > Access reviews.",
    references=("https://learn.microsoft.com/entra/id-governance/manage-guest-access-with-access-reviews",),
    permissions=_SIGNIN_PERMS,
)
def inactive_guests(ctx: CheckContext) -> Outcome:
    return _stale_accounts(ctx, "Guest", ctx.thresholds.guest_inactive_days)


@check(
    id="m365.accounts.admin_count",
    summary="the number of Global Administrators is outside the safe range",
    title="Between 2 and 4 Microsoft 365 Global Administrators",
    area="accounts",
    platform="m365",
    severity="medium",
    requires=("m365.users", "m365.roles"),
    description="Fails when the number of enabled Global Administrators is outside the policy bounds: one is a "
    "single point of failure, many widen the attack surface. The note counts standing (active) and eligible (PIM) "
    "ones and names standing ones that are licensed and signed in within 7 days: everyday accounts with standing "
    "admin rights (not judged).",
    remediation="Entra admin center > Roles & admins > Global Administrator: keep two to four (one can be a "
    "break-glass account); move day-to-day admins to narrower roles such as User Administrator.",
    references=("https://learn.microsoft.com/entra/identity/role-based-access-control/best-practices",),
    permissions=("RoleManagement.Read.Directory",),
)
def admin_count(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    active = user_roles(data)
    eligible = user_roles(data, assignment="eligible")
    enabled = {u.id: u for u in data.users if u.enabled}
    admins = []
    for uid in sorted(set(active) | set(eligible)):
        if uid not in enabled:
            continue
        if GLOBAL_ADMIN_TEMPLATE in active.get(uid, set()):
            admins.append(enabled[uid].upn)
        elif GLOBAL_ADMIN_TEMPLATE in eligible.get(uid, set()):
            admins.append(f"{enabled[uid].upn} (eligible, PIM)")
    limits = ctx.thresholds
    unseen = pim_unseen(ctx.snapshot)
    detail = admin_count_detail(admins, limits.admin_count_min, limits.admin_count_max, "Global Administrator")
    n_eligible = sum(a.endswith("(eligible, PIM)") for a in admins)
    counted = (
        f"{len(admins)} Global Administrators ({len(admins) - n_eligible} standing, {n_eligible} eligible through PIM)"
    )
    daily = _daily_admins(
        ctx, [enabled[uid] for uid in active if uid in enabled and GLOBAL_ADMIN_TEMPLATE in active[uid]]
    )
    if daily:
        counted += (
            f"; standing Global Administrators that are licensed and signed in within {DAILY_USE_DAYS} days (an "
            f"everyday account with standing admin rights; prefer a separate admin account or PIM): {', '.join(daily)}"
        )
    if detail is None:
        return Outcome(assessed=1, note=counted, unseen=unseen)
    found = Finding(data.tenant_id, "tenant", detail, {"count": len(admins), "eligible": n_eligible})
    return Outcome(assessed=1, findings=[found], note=counted, unseen=unseen)


@check(
    id="m365.licences.unused",
    summary="licences of {open} types are paid for on unused or disabled accounts",
    title="No Microsoft 365 licences on disabled or inactive accounts",
    area="accounts",
    platform="m365",
    severity="low",
    requires=("m365.users", "m365.sign_ins", "m365.licences"),
    description="Lists, per licence type, the licences assigned to disabled accounts or stale members, with the "
    "monthly cost where the policy gives prices.",
    remediation="Microsoft 365 admin center > Billing > Licenses: unassign the licences from the listed accounts, "
    "then reduce the subscription quantity at renewal.",
    references=("https://learn.microsoft.com/microsoft-365/commerce/licenses/remove-licenses-from-users",),
    permissions=("User.Read.All", "LicenseAssignment.Read.All", "AuditLog.Read.All or Reports.Read.All"),
)
def unused_licences(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    limits = ctx.thresholds
    part_numbers = {s.sku_id: s.part_number for s in data.skus}
    wasted: dict[str, list[str]] = {}
    unseen: list[str] = []
    report = _uses_report(ctx)
    licensed = [u for u in data.users if u.assigned_sku_ids]
    for user in licensed:
        if user.enabled:
            if user.user_type != "Member":
                continue
            try:
                if not staleness(user, ctx.now, limits.inactive_days, limits.never_signed_in_grace_days, report=report):
                    continue
            except _Unseen:
                unseen.append(user.upn)
                continue
        for sku in user.assigned_sku_ids:
            wasted.setdefault(sku, []).append(user.upn)
    findings = []
    for sku_id, upns in sorted(wasted.items(), key=lambda kv: part_numbers.get(kv[0], kv[0])):
        part = part_numbers.get(sku_id, sku_id)
        price = limits.licence_prices.get(part)
        cost = round(price * len(upns), 2) if price is not None else None
        money = f"; {limits.currency} {cost:.2f} a month" if cost is not None else ""
        shown = ", ".join(sorted(upns)[:10]) + (f" and {len(upns) - 10} more" if len(upns) > 10 else "")
        findings.append(
            Finding(
                sku_id,
                part,
                f"{len(upns)} licence(s) on disabled or inactive accounts{money}: {shown}",
                {"sku": part, "count": len(upns), "monthly_cost": cost, "currency": limits.currency},
            )
        )
    return Outcome(
        assessed=len(data.skus),
        findings=findings,
        note=_sign_in_note(ctx),
        unseen=_unseen_note(unseen, limits.inactive_days),
    )
