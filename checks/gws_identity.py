"""Google Workspace identity checks: 2-Step Verification per user, admins, stale accounts, super admin count."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.common import admin_count_detail, stale_reason
from hygiene.checklib.google import active_users, admins

USERS_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
ROLES_SCOPE = "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly"
GROUP_MEMBERS_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"
_2SV_DOC = "https://support.google.com/a/answer/9176657"


@check(
    id="gws.mfa.enrolled",
    summary="{open} of {assessed} Google accounts have not set up 2-Step Verification",
    title="Every active Google user is enrolled in 2-Step Verification",
    area="mfa",
    platform="google",
    severity="high",
    requires=("google.users",),
    description="Fails for active (not suspended, not archived) users who have not enrolled in 2-Step "
    "Verification (isEnrolledIn2Sv).",
    remediation="Ask each listed person to turn on 2-Step Verification at https://myaccount.google.com/security "
    "(a security key or Google prompt); give new users an enrolment period: Admin console > Security > "
    "Authentication > 2-step verification > New user enrollment period.",
    references=(_2SV_DOC, "https://developers.google.com/workspace/admin/directory/reference/rest/v1/users"),
    permissions=(USERS_SCOPE,),
)
def enrolled(ctx: CheckContext) -> Outcome:
    users = active_users(ctx.google)
    findings = [Finding(u.id, u.email, "not enrolled in 2-Step Verification") for u in users if not u.enrolled_2sv]
    return Outcome(assessed=len(users), findings=findings)


@check(
    id="gws.mfa.enforced",
    summary="{open} of {assessed} Google accounts can sign in with a password alone",
    title="2-Step Verification is enforced for every active Google user",
    area="mfa",
    platform="google",
    severity="critical",
    requires=("google.users",),
    description="Fails for active users for whom 2-Step Verification is not enforced (isEnforcedIn2Sv): they "
    "may turn it off, or never turn it on. Enrolment without enforcement is not protection.",
    remediation="Admin console > Security > Authentication > 2-step verification: select the top organisational "
    "unit (and any child units or groups that override it), tick 'Allow users to turn on 2-Step Verification', "
    "set Enforcement to On, and set a new-user enrolment period.",
    references=("https://support.google.com/a/answer/9176657", "https://support.google.com/a/answer/175197"),
    permissions=(USERS_SCOPE,),
)
def enforced(ctx: CheckContext) -> Outcome:
    users = active_users(ctx.google)
    findings = []
    for user in users:
        if user.enforced_2sv:
            continue
        extra = " (enrolled, but could turn it off)" if user.enrolled_2sv else ""
        findings.append(Finding(user.id, user.email, f"2-Step Verification not enforced in {user.org_unit}{extra}"))
    return Outcome(assessed=len(users), findings=findings)


@check(
    id="gws.mfa.admins",
    summary="{open} of {assessed} Google admins are not protected by enforced 2-Step Verification",
    title="Every Google admin has 2-Step Verification enrolled and enforced",
    area="mfa",
    platform="google",
    severity="critical",
    requires=("google.users",),
    description="Fails for active super admins, delegated admins and holders of admin roles (directly, or as "
    "members of a group an admin role is assigned to, nested groups included) whose 2-Step Verification is not "
    "enrolled or not enforced. Not assessed, never passed, when part of the admins cannot be seen: role "
    "assignments not read, a group's members not listed, or a role holder that is not a user of the directory.",
    remediation="Put admins in an organisational unit or group where 2-Step Verification is enforced with "
    "security keys only (Admin console > Security > Authentication > 2-step verification > Methods: Only "
    "security key), and enrol a key for each admin.",
    references=(
        "https://support.google.com/a/answer/9011373",
        "https://developers.google.com/workspace/admin/directory/reference/rest/v1/roleAssignments",
        "https://developers.google.com/workspace/admin/directory/reference/rest/v1/members/list",
    ),
    permissions=(USERS_SCOPE, ROLES_SCOPE, GROUP_MEMBERS_SCOPE),
)
def admins_protected(ctx: CheckContext) -> Outcome:
    data = ctx.google
    seen = admins(ctx.snapshot, data)
    holders = [u for u in active_users(data) if u.id in seen.ids]
    findings = []
    for user in holders:
        problems = [
            text for ok, text in ((user.enrolled_2sv, "not enrolled"), (user.enforced_2sv, "not enforced")) if not ok
        ]
        if problems:
            kind = "super admin" if user.is_super_admin else "admin"
            via = seen.via_group.get(user.id)
            how = f" ({'; '.join(via)})" if via and not user.is_super_admin else ""
            findings.append(Finding(user.id, user.email, f"{kind}{how}: 2-Step Verification {' and '.join(problems)}"))
    in_groups = len({u.id for u in holders if u.id in seen.via_group})
    note = f"{in_groups} admin(s) hold a role through a group" if in_groups else None
    return Outcome(assessed=len(holders), findings=findings, note=note, unseen=tuple(seen.unseen))


@check(
    id="gws.accounts.inactive",
    summary="{open} of {assessed} Google accounts are unused but still active",
    title="No stale Google accounts",
    area="accounts",
    platform="google",
    severity="medium",
    requires=("google.users",),
    description="Fails for active users with no login within the policy's inactive days, and for accounts never "
    "used that are older than the grace period.",
    remediation="Confirm with the person's manager, then suspend the account (Admin console > Directory > Users > "
    "select > Suspend), transfer its Drive files, and delete or archive it after your retention period.",
    references=("https://support.google.com/a/answer/33312",),
    permissions=(USERS_SCOPE,),
)
def inactive(ctx: CheckContext) -> Outcome:
    limits = ctx.thresholds
    users = active_users(ctx.google)
    findings = []
    for user in users:
        why = stale_reason(
            user.last_login, user.created, ctx.now, limits.inactive_days, limits.never_signed_in_grace_days
        )
        if why:
            findings.append(Finding(user.id, user.email, why))
    return Outcome(assessed=len(users), findings=findings)


@check(
    id="gws.accounts.admin_count",
    summary="the number of Google super admins is outside the safe range",
    title="Between 2 and 4 Google super admins",
    area="accounts",
    platform="google",
    severity="medium",
    requires=("google.users",),
    description="Fails when the number of active super admins is outside the policy bounds.",
    remediation="Admin console > Account > Admin roles > Super Admin > Admins: keep two to four; give day-to-day "
    "administrators narrower prebuilt roles (User Management Admin, Help Desk Admin).",
    references=("https://support.google.com/a/answer/9011373",),
    permissions=(USERS_SCOPE,),
)
def admin_count(ctx: CheckContext) -> Outcome:
    data = ctx.google
    through_groups = admins(ctx.snapshot, data).group_super_admins
    supers = [u.email for u in active_users(data) if u.is_super_admin or u.id in through_groups]
    limits = ctx.thresholds
    detail = admin_count_detail(supers, limits.admin_count_min, limits.admin_count_max, "super admin")
    if detail is None:
        return Outcome(assessed=1, note=f"{len(supers)} super admins")
    return Outcome(assessed=1, findings=[Finding(data.customer_id, "tenant", detail, {"count": len(supers)})])
