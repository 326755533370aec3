"""Google Workspace device checks: ChromeOS auto-update expiry, mobile and desktop OS support, patch levels."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.common import days_since
from hygiene.checklib.google import (
    CHROME_NO_ACCESS,
    ENDPOINT_DESKTOP_TYPES,
    ENDPOINT_NO_ACCESS,
    MOBILE_NO_ACCESS,
    endpoint_version,
    excluded_note,
    mobile_platform,
    reachable,
)
from hygiene.model import GoogleChromeDevice, GoogleData, GoogleEndpoint, GoogleMobileDevice
from hygiene.policy import lifecycle_lookup

_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly",
    "https://www.googleapis.com/auth/cloud-identity.devices.readonly (optional: Windows, macOS)",
)


def _endpoint_note(ctx: CheckContext) -> str | None:
    state = ctx.snapshot.dataset("google.endpoints")
    return None if state.available else f"Windows/macOS endpoints not read: {state.reason}"


def _live(
    data: GoogleData, excluded: Counter[str]
) -> tuple[list[GoogleChromeDevice], list[GoogleMobileDevice], list[GoogleEndpoint]]:
    """The devices that can still reach data (wiped, blocked, pending, disabled and deprovisioned ones are
    counted in ``excluded``, not judged); a status not known here is judged."""
    chromes = reachable(data.chrome_devices, lambda d: d.status, CHROME_NO_ACCESS, excluded)
    mobiles = reachable(data.mobile_devices, lambda d: d.status, MOBILE_NO_ACCESS, excluded)
    desktops = [e for e in data.endpoints if e.device_type in ENDPOINT_DESKTOP_TYPES]
    endpoints = reachable(desktops, lambda d: d.management_state, ENDPOINT_NO_ACCESS, excluded)
    return chromes, mobiles, endpoints


@check(
    id="gws.devices.os_supported",
    summary="{open} of {assessed} devices run an operating system that no longer gets security fixes",
    title="Google-managed devices run a supported OS",
    area="patching",
    platform="google",
    severity="high",
    requires=("google.mobile_devices", "google.chrome_devices"),
    description="Fails for ChromeOS devices past their auto-update expiration (autoUpdateThrough), and "
    "for mobile and endpoint-verified Windows/macOS devices on versions past support per "
    "policies/lifecycle/os.yaml. Devices that cannot reach data (mobile: blocked, wiped, pending approval; "
    "ChromeOS: disabled, deprovisioned; endpoints: blocked, wiped, pending) are counted, not judged; any other "
    "status is judged.",
    remediation="Replace ChromeOS devices past their auto-update expiration (Admin console > Devices > Chrome > "
    "Devices, column 'Auto-update expiration'); upgrade or retire phones and computers on unsupported releases, "
    "and block them meanwhile: Admin console > Devices > Mobile & endpoints > Settings > Universal > Data access.",
    references=(
        "https://support.google.com/chrome/a/answer/6220366",
        "https://developers.google.com/workspace/admin/directory/reference/rest/v1/chromeosdevices",
    ),
    permissions=_SCOPES,
)
def os_supported(ctx: CheckContext) -> Outcome:
    data = ctx.google
    today = ctx.now.date()
    findings = []
    assessed = 0
    excluded: Counter[str] = Counter()
    chromes, mobiles, endpoints = _live(data, excluded)
    for chrome in chromes:
        if chrome.auto_update_through is None:
            continue
        assessed += 1
        if chrome.auto_update_through.date() < today:
            findings.append(
                Finding(
                    chrome.id,
                    chrome.serial_number,
                    f"ChromeOS {chrome.model}: auto-update expired {chrome.auto_update_through.date().isoformat()}",
                )
            )
    judged = [(d.id, d.display_name, *mobile_platform(d.os, d.type), d.os) for d in mobiles] + [
        (e.name, e.display_name, ENDPOINT_DESKTOP_TYPES[e.device_type], endpoint_version(e.os_version), e.os_version)
        for e in endpoints
    ]
    unknown = 0
    lookup = lifecycle_lookup(ctx.lifecycle)
    for resource_id, name, platform, version, shown in judged:
        entry = lookup(platform, version)
        if entry is None:
            unknown += 1
            continue
        assessed += 1
        if entry.end_of_support is not None and entry.end_of_support < today:
            findings.append(
                Finding(resource_id, name, f"{entry.name} ({shown}) out of support since {entry.end_of_support}")
            )
    notes = [
        n
        for n in (
            _endpoint_note(ctx),
            f"{unknown} device(s) on versions the table does not list" if unknown else None,
            excluded_note(excluded),
        )
        if n
    ]
    return Outcome(assessed=assessed, findings=findings, note="; ".join(notes) or None)


@check(
    id="gws.devices.patch_current",
    summary="{open} of {assessed} devices are behind on updates or not checking in",
    title="Google-managed devices are patched and checking in",
    area="patching",
    platform="google",
    severity="high",
    requires=("google.mobile_devices", "google.chrome_devices"),
    description="Fails for ChromeOS devices whose OS version is not compliant with the update policy, "
    "Android devices whose security patch level is older than the policy allows, and any device not synced "
    "within the policy's days. Devices that cannot reach data (mobile: blocked, wiped, pending approval; "
    "ChromeOS: disabled, deprovisioned; endpoints: blocked, wiped, pending) are counted, not judged; any other "
    "status is judged.",
    remediation="Admin console > Devices > Chrome > Settings > Device update settings: allow auto-updates and pin "
    "no old version; ask owners of listed phones to install the latest security update; chase devices that have "
    "stopped syncing, and remove lost ones (Devices > Mobile & endpoints > select > Wipe account).",
    references=(
        "https://support.google.com/chrome/a/answer/12284087",
        "https://developers.google.com/workspace/admin/directory/reference/rest/v1/mobiledevices",
    ),
    permissions=_SCOPES,
)
def patch_current(ctx: CheckContext) -> Outcome:
    data = ctx.google
    limits = ctx.thresholds
    findings = []
    assessed = 0

    def sync_problem(last_sync: datetime | None) -> str | None:
        if last_sync is None:
            return "never synced"
        age = days_since(last_sync, ctx.now)
        return f"last synced {age} days ago" if age > limits.device_sync_max_days else None

    excluded: Counter[str] = Counter()
    chromes, mobiles, endpoints = _live(data, excluded)
    for chrome in chromes:
        assessed += 1
        problems = []
        if chrome.os_version_compliance == "notCompliant":
            problems.append(f"ChromeOS {chrome.os_version} not compliant with the update policy")
        if (why := sync_problem(chrome.last_sync)) is not None:
            problems.append(why)
        if problems:
            findings.append(Finding(chrome.id, chrome.serial_number, "; ".join(problems)))
    for mobile in mobiles:
        assessed += 1
        problems = []
        platform, _ = mobile_platform(mobile.os, mobile.type)
        level = mobile.security_patch_level
        if (
            platform == "android"
            and level is not None
            and days_since(level, ctx.now) > limits.android_patch_max_age_days
        ):
            problems.append(f"security patch level {level.date().isoformat()}")
        if (why := sync_problem(mobile.last_sync)) is not None:
            problems.append(why)
        if problems:
            findings.append(Finding(mobile.id, mobile.display_name, "; ".join(problems)))
    for endpoint in endpoints:
        assessed += 1
        if (why := sync_problem(endpoint.last_sync)) is not None:
            findings.append(Finding(endpoint.name, endpoint.display_name, why))
    note = "; ".join(n for n in (_endpoint_note(ctx), excluded_note(excluded)) if n) or None
    return Outcome(assessed=assessed, findings=findings, note=note)
