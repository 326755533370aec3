"""Google Workspace endpoint encryption, from Cloud Identity devices (endpoint verification and advanced
management)."""

from __future__ import annotations

from collections import Counter

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.google import ENDPOINT_NO_ACCESS, excluded_note, reachable
from hygiene.model import ReasonKind

#: encryptionState (cloudidentity v1 discovery document, GoogleAppsCloudidentityDevicesV1Device): the failing values
#: and what they mean; ENCRYPTED passes; ENCRYPTION_STATE_UNSPECIFIED, absent or any other value is not seen
_FAILING = {"NOT_ENCRYPTED": "not encrypted", "UNSUPPORTED_BY_DEVICE": "the device does not support encryption"}


@check(
    id="gws.devices.encrypted",
    summary="{open} of {assessed} Google-managed devices are not encrypted",
    title="Google-managed devices have their storage encrypted",
    area="endpoint",
    platform="google",
    severity="high",
    requires=("google.endpoints",),
    description="Fails for Cloud Identity devices (Windows, macOS and Linux with endpoint verification; Android "
    "and iOS under advanced management) whose encryptionState is NOT_ENCRYPTED or UNSUPPORTED_BY_DEVICE. "
    "Devices that cannot reach data (blocked, wiped, pending) are counted, not judged; a device that reports no "
    "encryption state is not seen, never passed.",
    remediation="Turn on BitLocker / FileVault / device encryption on the listed devices, and require "
    "encryption with a context-aware access level (Admin console > Security > Access and data control > "
    "Context-Aware Access) so that an unencrypted device cannot reach Workspace data.",
    references=(
        "https://cloud.google.com/identity/docs/reference/rest/v1/devices",
        "https://support.google.com/a/answer/9007320",
    ),
    permissions=("https://www.googleapis.com/auth/cloud-identity.devices.readonly",),
)
def encrypted(ctx: CheckContext) -> Outcome:
    excluded: Counter[str] = Counter()
    devices = reachable(ctx.google.endpoints, lambda d: d.management_state, ENDPOINT_NO_ACCESS, excluded)
    findings = []
    unknown = []
    for device in devices:
        state = (device.encryption_state or "").upper()
        if state == "ENCRYPTED":
            continue
        if state in _FAILING:
            what = f"{device.device_type} {device.model} {device.os_version}".strip()
            findings.append(Finding(device.name, device.display_name, f"{_FAILING[state]} ({what})"))
        else:
            unknown.append(device.display_name)
    unseen = (
        ((ReasonKind.API_GAP, f"{len(unknown)} device(s) reported no encryption state: {', '.join(unknown)}"),)
        if unknown
        else ()
    )
    return Outcome(assessed=len(devices) - len(unknown), findings=findings, note=excluded_note(excluded), unseen=unseen)
