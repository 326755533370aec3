"""Who controls each Azure subscription: Owner and User Access Administrator at subscription (or management-group)
scope, joined with the Microsoft 365 directory when both platforms are scanned."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.azure import key, unseen, whole_setting
from hygiene.checklib.common import stale_reason
from hygiene.checklib.m365 import external_user_types, last_sign_in
from hygiene.model import AzureData, AzureRoleAssignment, M365User, ReasonKind

#: the profile setting of the most principals that may hold Owner or User Access Administrator on a subscription:
#: ``thresholds.plugins."azure.rbac.owners".max_owners``
MAX_OWNERS = "max_owners"
DEFAULT_MAX_OWNERS = 3
_MANAGEMENT_GROUPS = "/providers/microsoft.management/managementgroups/"


def max_owners(ctx: CheckContext) -> int:
    try:
        return whole_setting(ctx.thresholds.plugins, "azure.rbac.owners", MAX_OWNERS, DEFAULT_MAX_OWNERS)
    except ValueError as exc:
        raise NotAssessed(ReasonKind.ERROR, str(exc)) from None


def _controls_subscription(assignment: AzureRoleAssignment) -> bool:
    """At the subscription itself, or inherited from a management group above it (not a resource group below)."""
    scope = key(assignment.scope)
    return scope == f"/subscriptions/{assignment.subscription_id.lower()}" or scope.startswith(_MANAGEMENT_GROUPS)


def _user_problem(user: M365User, ctx: CheckContext) -> str | None:
    if not user.enabled:
        return "the account is disabled"
    if user.user_type.casefold() == "guest" or external_user_types(user):
        return "a guest or external account"
    if not ctx.snapshot.dataset("m365.sign_ins").available:
        return None
    grace = ctx.thresholds.never_signed_in_grace_days
    stale = stale_reason(last_sign_in(user), user.created, ctx.now, ctx.thresholds.inactive_days, grace)
    return f"a stale account: {stale}" if stale else None


@check(
    id="azure.rbac.owners",
    summary="{open} Azure subscription owners are guests, disabled, stale or too many",
    title="Azure subscriptions are controlled by few, active, internal accounts",
    area="accounts",
    platform="azure",
    severity="high",
    requires=("azure.rbac",),
    optional=("m365.users", "m365.sign_ins"),
    description="Owner and User Access Administrator at subscription scope (or inherited from a management group): "
    "fails for each held by a guest or external account, a disabled account, an account without a sign-in within "
    "the inactive period, or a principal no longer in the directory (joined with the Microsoft 365 directory when "
    "both platforms are scanned; without it those accounts are not seen), and for each subscription where more "
    'principals hold them than the profile allows (thresholds.plugins."azure.rbac.owners".max_owners, default 3).',
    remediation="Azure portal > the subscription > Access control (IAM) > Role assignments > filter Owner and User "
    "Access Administrator: remove guests, leavers and unused accounts; give day-to-day work Contributor or narrower "
    "roles, and make Owner eligible through Privileged Identity Management instead of permanent.",
    references=(
        "https://learn.microsoft.com/azure/role-based-access-control/best-practices",
        "https://learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources",
    ),
    permissions=("Reader",),
)
def owners(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    limit = max_owners(ctx)
    m365 = ctx.snapshot.m365
    directory = (
        {u.id.lower(): u for u in m365.users}
        if m365 is not None and ctx.snapshot.dataset("m365.users").available
        else None
    )
    findings: list[Finding] = []
    blind: list[tuple[ReasonKind, str]] = list(unseen(data, "azure.rbac"))
    not_judged = 0
    assessed = 0
    for subscription in data.subscriptions:
        held = [
            a
            for a in data.role_assignments
            if a.privileged and a.subscription_id.lower() == subscription.id.lower() and _controls_subscription(a)
        ]
        principals = {a.principal_id.lower() for a in held}
        assessed += 1 + len(principals)
        if len(principals) > limit:
            findings.append(
                Finding(
                    f"/subscriptions/{subscription.id}",
                    subscription.name or subscription.id,
                    f"{len(principals)} principals hold Owner or User Access Administrator "
                    f"(the profile allows {limit})",
                )
            )
        for assignment in held:
            kind = (assignment.principal_type or "").casefold()
            if kind in ("group", "foreigngroup"):
                blind.append(
                    (
                        ReasonKind.NOT_COLLECTED,
                        f"{assignment.role} of {subscription.name} is held by group {assignment.principal_id}: "
                        "its members are not judged",
                    )
                )
            if kind != "user":
                continue
            if directory is None:
                not_judged += 1
                continue
            user = directory.get(assignment.principal_id.lower())
            if user is None:
                why: str | None = "the principal is not in the directory (a deleted account: an orphaned assignment)"
                name = assignment.principal_id
            else:
                why, name = _user_problem(user, ctx), user.upn
            if why:
                findings.append(Finding(assignment.id, name, f"{assignment.role} of {subscription.name}: {why}"))
    if not_judged:
        blind.append(
            (
                ReasonKind.NOT_COLLECTED,
                f"{not_judged} user assignments not judged: scan Microsoft 365 too to see whether those accounts are "
                "guests, disabled or stale",
            )
        )
    return Outcome(assessed=assessed, findings=findings, unseen=tuple(blind))
