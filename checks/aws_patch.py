"""AWS patching checks through Systems Manager: every running instance managed, and patched."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.aws import age_days, seen_accounts, unseen
from hygiene.model import AwsPatchState


@check(
    id="aws.patch.ssm_managed",
    summary="{open} of {assessed} running EC2 instances are not managed by Systems Manager",
    title="Every running EC2 instance is managed by Systems Manager",
    area="patching",
    platform="aws",
    severity="high",
    requires=("aws.ec2", "aws.ssm"),
    description="Fails for running instances that SSM does not know (no agent, no instance profile) or cannot "
    "reach (PingStatus not Online): nothing can patch or even see them.",
    remediation="Systems Manager console > Quick Setup > Host Management (or Default Host Management "
    "Configuration) for the account and regions; make sure the SSM agent runs and can reach the SSM endpoints.",
    references=("https://docs.aws.amazon.com/systems-manager/latest/userguide/managed_instances.html",),
    permissions=("ec2:DescribeInstances", "ssm:DescribeInstanceInformation"),
)
def ssm_managed(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    findings = []
    assessed = 0
    for account in seen_accounts(data, "aws.ssm"):
        managed = {(m.region, m.id): m for m in account.managed_instances}
        for inst in account.instances:
            if inst.state != "running":
                continue
            assessed += 1
            name = f"{account.account_id}:{inst.region}:{inst.id}"
            known = managed.get((inst.region, inst.id))
            if known is None:
                findings.append(Finding(inst.id, name, f"not managed by Systems Manager ({inst.name or 'no name'})"))
            elif known.ping_status != "Online":
                findings.append(Finding(inst.id, name, f"SSM agent {known.ping_status} since {known.last_ping}"))
    return Outcome(assessed=assessed, findings=findings, unseen=unseen(data, "aws.ec2", "aws.ssm"))


def _severity(state: AwsPatchState) -> str:
    """How the baseline classified the non-compliant patches (CriticalNonCompliantCount, SecurityNonCompliantCount,
    OtherNonCompliantCount), or that it did not."""
    counts = [
        f"{n} {what}"
        for n, what in (
            (state.critical_non_compliant, "critical"),
            (state.security_non_compliant, "security"),
            (state.other_non_compliant, "other"),
        )
        if n
    ]
    return ", ".join(counts) if counts else "severity not classified by the patch baseline"


def _non_compliant(state: AwsPatchState) -> list[str]:
    """Why Patch Manager counts the node NON_COMPLIANT, one phrase per count (empty: compliant)."""
    problems = [
        f"{n} {what}"
        for n, what in (
            (state.missing, "missing"),
            (state.failed, "failed to install"),
            (state.pending_reboot, "installed, pending reboot"),
            (state.installed_rejected, "installed though rejected by the baseline"),
        )
        if n
    ]
    if problems:
        problems[0] += f" ({_severity(state)})"
    elif state.critical_non_compliant or state.security_non_compliant or state.other_non_compliant:
        problems.append(f"non-compliant patches ({_severity(state)})")
    if state.available_security_updates:
        problems.append(f"{state.available_security_updates} security updates available but not approved")
    return problems


@check(
    id="aws.patch.compliance",
    summary="{open} of {assessed} managed instances are not patch compliant or have not been scanned",
    title="Managed instances are patched",
    area="patching",
    platform="aws",
    severity="high",
    requires=("aws.ssm",),
    description="Fails for managed instances that Patch Manager reports NON_COMPLIANT (any patch missing, failed, "
    "installed but waiting for a reboot, or installed though rejected, whatever its severity: AWS's predefined "
    "baselines classify approved patches as Unspecified, so the critical and security counts alone miss them), "
    "with security updates available but not approved, or whose last patch scan is older than the policy's days.",
    remediation="Systems Manager > Patch Manager > Configure patching: a patch policy that scans daily and installs "
    "weekly with reboot if needed; then review Patch Manager > Compliance reporting.",
    references=("https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager.html",),
    permissions=("ssm:DescribeInstancePatchStates",),
)
def compliance(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    limit = ctx.thresholds.patch_scan_max_age_days
    findings = []
    assessed = 0
    for account in seen_accounts(data, "aws.ssm"):
        states = {(p.region, p.instance_id): p for p in account.patch_states}
        for managed in account.managed_instances:
            assessed += 1
            name = f"{account.account_id}:{managed.region}:{managed.id}"
            state = states.get((managed.region, managed.id))
            if state is None:
                findings.append(Finding(managed.id, name, "never scanned for patches"))
                continue
            problems = _non_compliant(state)
            age = age_days(state.operation_end, ctx.now)
            if age is None or age > limit:
                problems.append("last patch scan " + (f"{age} days ago" if age is not None else "unknown"))
            if problems:
                findings.append(Finding(managed.id, name, "; ".join(problems)))
    return Outcome(assessed=assessed, findings=findings, unseen=unseen(data, "aws.ssm"))
