"""Microsoft 365 (Intune) device checks: supported OS versions and patch currency, per device."""

from __future__ import annotations

from datetime import date

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.endpoint import device_platform as platform_of
from hygiene.checklib.m365 import compliance_policy_applies
from hygiene.model import M365Device
from hygiene.policy import lifecycle_lookup
from hygiene.policy import version_key as parse_version


@check(
    id="m365.devices.os_supported",
    summary="{open} of {assessed} Intune devices run an operating system that no longer gets security fixes",
    title="Intune-managed devices run a supported OS",
    area="patching",
    platform="m365",
    severity="high",
    requires=("m365.devices",),
    description="Fails for Intune-managed devices whose OS version is past its vendor's end of support, per the "
    "dated lifecycle table in policies/lifecycle/os.yaml.",
    remediation="Upgrade the listed devices (Windows 10 to Windows 11 25H2 or later, phones to a supported "
    "release) or replace them; Intune admin center > Devices > Windows > Feature updates can schedule it. "
    "Until then, keep them off email and files with a compliance policy.",
    references=(
        "https://learn.microsoft.com/lifecycle/products/windows-10-home-and-pro",
        "https://learn.microsoft.com/windows/release-health/windows11-release-information",
    ),
    permissions=("DeviceManagementManagedDevices.Read.All (Intune licence)",),
)
def os_supported(ctx: CheckContext) -> Outcome:
    devices = ctx.m365.devices
    today = ctx.now.date()
    findings = []
    unknown = 0
    lookup = lifecycle_lookup(ctx.lifecycle)
    for device in devices:
        entry = lookup(platform_of(device), device.os_version)
        if entry is None:
            unknown += 1
            continue
        if entry.end_of_support is not None and entry.end_of_support < today:
            findings.append(
                Finding(
                    device.id,
                    device.name,
                    f"{entry.name} ({device.os_version}) out of support since {entry.end_of_support.isoformat()}"
                    + (f"; user {device.user_principal_name}" if device.user_principal_name else ""),
                )
            )
    note = f"lifecycle table as of {ctx.lifecycle.as_of.isoformat()}"
    if unknown:
        note += f"; {unknown} device(s) on versions the table does not list were not judged"
    return Outcome(assessed=len(devices) - unknown, findings=findings, note=note)


def _minimum_version(ctx: CheckContext, device: M365Device) -> tuple[str, str] | None:
    """(minimum version, where it comes from) for the device: the higher of the policy profile's and those of the
    tenant's compliance policies for its platform that are assigned to it."""
    platform = platform_of(device)
    profile = ctx.thresholds.min_os_versions.get(platform)
    minimum: tuple[str, str] | None = (profile, "policy profile") if profile else None
    data = ctx.m365
    for policy in data.compliance_policies:
        if policy.platform != platform or not policy.os_minimum_version:
            continue
        if minimum is not None and parse_version(policy.os_minimum_version) <= parse_version(minimum[0]):
            continue
        if compliance_policy_applies(policy, device, data):
            minimum = (policy.os_minimum_version, f"compliance policy '{policy.name}'")
    return minimum


def _patch_level(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@check(
    id="m365.devices.patch_current",
    summary="{open} of {assessed} devices are behind on updates, non-compliant or not checking in",
    title="Intune-managed devices are patched and checking in",
    area="patching",
    platform="m365",
    severity="high",
    requires=("m365.devices", "m365.compliance_policies"),
    description="Fails for devices that are non-compliant, below the minimum OS build the policy or the tenant's "
    "own compliance policies assigned to that device demand (a pilot policy applies to its pilot group only; "
    "a policy whose assignments cannot be read applies to every device), not synced within the policy's days, "
    "or (Android) on a security patch level older than the policy allows.",
    remediation="Intune admin center > Devices > select the device > Sync, then check Windows Update rings / "
    "update policies are assigned to it (Devices > Windows > Update rings). Chase devices that have not "
    "checked in: they are lost, off, or no longer managed.",
    references=(
        "https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice",
        "https://learn.microsoft.com/mem/intune/protect/windows-update-for-business-configure",
    ),
    permissions=("DeviceManagementManagedDevices.Read.All", "DeviceManagementConfiguration.Read.All"),
)
def patch_current(ctx: CheckContext) -> Outcome:
    devices = ctx.m365.devices
    limits = ctx.thresholds
    findings = []
    for device in devices:
        problems = []
        if device.compliance_state in ("noncompliant", "error", "conflict"):
            problems.append(f"compliance state {device.compliance_state}")
        minimum = _minimum_version(ctx, device)
        if minimum and device.os_version and parse_version(device.os_version) < parse_version(minimum[0]):
            problems.append(f"OS {device.os_version} below minimum {minimum[0]} ({minimum[1]})")
        if device.last_sync is None:
            problems.append("never synced")
        else:
            age = (ctx.now - device.last_sync).days
            if age > limits.device_sync_max_days:
                problems.append(f"last synced {age} days ago")
        if platform_of(device) == "android":
            level = _patch_level(device.android_security_patch_level)
            if level is not None and (ctx.now.date() - level).days > limits.android_patch_max_age_days:
                problems.append(f"security patch level {level.isoformat()}")
        if problems:
            findings.append(Finding(device.id, device.name, "; ".join(problems)))
    return Outcome(assessed=len(devices), findings=findings)
