"""MFA for Azure management: every account holding an Azure role must meet MFA when it signs in to the Azure portal,
Azure CLI, PowerShell or any Azure Resource Manager client, judged from the Microsoft 365 (Entra ID) policies.

Enforcement (the Microsoft 365 reasoning of ``hygiene.checklib.m365``, with the Azure management app as the target):
an enabled Conditional Access policy requiring MFA that reaches the app "Windows Azure Service Management API"
(all cloud apps, or that app) and covers the user; security defaults, which require MFA of every user for Azure
Resource Manager (https://learn.microsoft.com/entra/fundamentals/security-defaults); per-user MFA. Microsoft's
mandatory MFA for Azure (the portal; create, update and delete through Resource Manager) is not shown by any API
and a tenant could postpone it, so it never makes a pass: the organisation may attest it.
"""

from __future__ import annotations

from dataclasses import replace

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.azure import unseen
from hygiene.checklib.m365 import (
    ALWAYS,
    AZURE_MANAGEMENT_APP,
    WHEN_NECESSARY,
    Enforcement,
    enforcement_for,
    enforcing_policies,
    non_enforcing_policies,
    pim_unseen,
    policy_covers,
    user_roles,
)
from hygiene.model import AzureData, AzureRoleAssignment, M365Data, ReasonKind

_MANDATORY = (
    "Microsoft's mandatory MFA for Azure (the Azure portal; create, update and delete through Azure Resource "
    "Manager) is not shown by any API and could be postponed, and it leaves reads through CLI and API without MFA"
)


def _holders(data: AzureData, m365: M365Data) -> tuple[dict[str, list[AzureRoleAssignment]], list[str]]:
    """user id (lower-case) -> the role assignments that reach them (directly or through a group whose members the
    Microsoft 365 side read), and the groups whose members are not known."""
    scanned = {s.id.lower() for s in data.subscriptions}
    held: dict[str, list[AzureRoleAssignment]] = {}
    unknown: list[str] = []
    for assignment in data.role_assignments:
        if assignment.subscription_id.lower() not in scanned:
            continue
        kind = (assignment.principal_type or "").casefold()
        if kind == "user":
            held.setdefault(assignment.principal_id.lower(), []).append(assignment)
        elif kind in ("group", "foreigngroup"):
            members = m365.group_members.get(assignment.principal_id)
            if members is None:
                unknown.append(f"{assignment.role} held by group {assignment.principal_id}: its members are not read")
                continue
            for member in members:
                held.setdefault(member.lower(), []).append(assignment)
    return held, unknown


def _enforcement(enforcement: Enforcement) -> Enforcement:
    """Security defaults demand MFA of every user for Azure Resource Manager, not only "when necessary"."""
    if enforcement.guarantee == WHEN_NECESSARY:
        return Enforcement(True, "security defaults (MFA for every Azure management sign-in)", ALWAYS)
    return enforcement


def _roles_text(assignments: list[AzureRoleAssignment]) -> str:
    roles = sorted({f"{a.role} at {a.scope}" for a in assignments}, key=str.lower)
    return "; ".join(roles[:3]) + (f" and {len(roles) - 3} more" if len(roles) > 3 else "")


@check(
    id="azure.mfa.management",
    summary="{open} of {assessed} accounts with Azure roles can manage Azure without MFA",
    title="MFA is required for Azure management (portal, CLI, PowerShell, API)",
    area="mfa",
    platform="azure",
    severity="critical",
    requires=("azure.rbac", "m365.users", "m365.mfa_policies", "m365.roles", "m365.per_user_mfa"),
    description="Every enabled account holding an Azure role in a scanned subscription (at any scope, directly or "
    "through a group) must be covered by MFA enforcement for Azure management: an enabled Conditional Access policy "
    "requiring MFA for all cloud apps or for 'Windows Azure Service Management API' (797f4846-ba00-4fd7-ba43-"
    "dac1f8f63013), security defaults, or per-user MFA. Report-only policies, OR-alternatives, application filters "
    "and exclusions do not count. Judged from the Microsoft 365 data: not assessed unless Microsoft 365 is scanned "
    "too. Microsoft's mandatory MFA for Azure is not visible through any API and never makes a pass; an "
    "organisation that relies on it can attest it.",
    remediation="Entra admin center > Protection > Conditional Access > New policy from template 'Require "
    "multifactor authentication for Azure management': include All users (exclude only two break-glass "
    "accounts), target resources 'Windows Azure Service Management API', grant 'Require multifactor "
    "authentication', and switch it On. Without Entra ID P1, turn on security defaults.",
    references=(
        "https://learn.microsoft.com/entra/identity/conditional-access/howto-conditional-access-policy-azure-management",
        "https://learn.microsoft.com/entra/fundamentals/security-defaults",
        "https://learn.microsoft.com/entra/identity/authentication/concept-mandatory-multifactor-authentication",
    ),
    permissions=("Reader", "Policy.Read.All", "GroupMember.Read.All", "RoleManagement.Read.Directory"),
)
def management(ctx: CheckContext) -> Outcome:
    data, m365 = ctx.of(AzureData), ctx.m365
    run = ctx.snapshot.sources.get("azure")
    tenant = (run.scope.get("tenant") if run else None) or ""
    if tenant.lower() != m365.tenant_id.lower():
        raise NotAssessed(
            ReasonKind.NOT_COLLECTED,
            f"Azure was read in tenant {tenant or 'unknown'} and Microsoft 365 in {m365.tenant_id}: the role holders "
            "cannot be matched with the directory and its policies",
        )
    policies = enforcing_policies(m365, AZURE_MANAGEMENT_APP)
    lookalikes = non_enforcing_policies(m365, AZURE_MANAGEMENT_APP)
    roles = user_roles(m365)
    eligible = user_roles(m365, assignment="eligible")
    users = {u.id.lower(): u for u in m365.users}
    held, unknown_groups = _holders(data, m365)
    blind: list[tuple[ReasonKind, str]] = [*unseen(data, "azure.rbac")]
    blind += [(ReasonKind.NOT_COLLECTED, text) for text in unknown_groups]
    if any(p.users.exclude_roles for p in policies):
        blind += pim_unseen(ctx.snapshot)  # an eligible role could meet a policy's role exclusion
    findings: list[Finding] = []
    assessed = 0
    for principal, assignments in held.items():
        user = users.get(principal)
        if user is None or not user.enabled:
            continue  # not an account that can sign in (azure.rbac.owners names orphaned Owner assignments)
        assessed += 1
        active = roles.get(user.id, set())
        enforcement = _enforcement(enforcement_for(user, m365, active, policies, eligible.get(user.id, ())))
        if enforcement.enforced:
            continue
        detail = f"no policy requires MFA for Azure management ({_roles_text(assignments)})"
        near = [f"{p.name}: {why}" for p, why in lookalikes if policy_covers(p, user, active, m365)]
        if near:
            detail += "; not counted: " + "; ".join(near[:3])
        findings.append(Finding(assignments[0].id, user.upn, detail))
    note = f"{len(policies)} Conditional Access policies enforce MFA for Azure management"
    if m365.security_defaults_enabled:
        note = "security defaults require MFA for Azure management"
    if findings:
        attested = ctx.attested_outcome()
        if attested is not None:
            return replace(attested, reservation=f"{_MANDATORY}: the pass rests on the organisation's word")
        note += f"; {_MANDATORY}: not counted"
    return Outcome(assessed=assessed, findings=findings, note=note, unseen=tuple(blind))
