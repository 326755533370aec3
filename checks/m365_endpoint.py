"""Microsoft 365 endpoint protection: disk encryption (Intune), EDR (Defender for Endpoint with Intune's antivirus
state) and missing security updates for critical and high vulnerabilities (Defender vulnerability management)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.endpoint import (
    EDR_PLATFORMS,
    defender_only,
    machine_problems,
    match_machines,
    protection_problems,
    unreported_switches,
)
from hygiene.checklib.endpoint import device_platform as platform_of
from hygiene.model import DefenderVulnerability, ReasonKind

_INTUNE = "DeviceManagementManagedDevices.Read.All (Intune licence)"
_MACHINES = "Machine.Read.All (WindowsDefenderATP; Defender for Endpoint or Defender for Business)"
_VULNERABILITIES = "Vulnerability.Read.All (WindowsDefenderATP; Defender vulnerability management)"
#: vulnerabilitySeverityLevel values (get-assessment-software-vulnerabilities): the ones this check judges, and
#: the ones it knows not to (any other value is unseen, never taken for low)
_JUDGED = {"critical", "high"}
_KNOWN_LOWER = {"medium", "low"}


@check(
    id="m365.devices.encrypted",
    summary="{open} of {assessed} Intune devices are not encrypted",
    title="Intune-managed devices have their disks encrypted",
    area="endpoint",
    platform="m365",
    severity="high",
    requires=("m365.devices",),
    description="Fails for Intune-managed devices whose isEncrypted is false (BitLocker, FileVault or the "
    "phone's own storage encryption off). A device that does not report the property is not seen, never passed.",
    remediation="Turn on BitLocker (Windows) or FileVault (macOS) with an Intune disk encryption policy "
    "(Endpoint security > Disk encryption), and require encryption in the compliance policies so that an "
    "unencrypted device loses access to email and files.",
    references=(
        "https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice",
        "https://learn.microsoft.com/mem/intune/protect/encrypt-devices",
    ),
    permissions=(_INTUNE,),
)
def encrypted(ctx: CheckContext) -> Outcome:
    devices = ctx.m365.devices
    findings = []
    unknown = []
    for device in devices:
        if device.is_encrypted is None:
            unknown.append(device.name)
        elif not device.is_encrypted:
            owner = f"; user {device.user_principal_name}" if device.user_principal_name else ""
            findings.append(
                Finding(device.id, device.name, f"not encrypted ({device.operating_system} {device.os_version}{owner})")
            )
    unseen = (
        ((ReasonKind.API_GAP, f"{len(unknown)} device(s) did not report isEncrypted: {', '.join(unknown)}"),)
        if unknown
        else ()
    )
    return Outcome(assessed=len(devices) - len(unknown), findings=findings, unseen=unseen)


@check(
    id="m365.devices.edr_active",
    summary="{open} of {assessed} computers lack active endpoint detection and response",
    title="Every computer runs Defender for Endpoint, onboarded, healthy and reporting, with antivirus on",
    area="endpoint",
    platform="m365",
    severity="high",
    requires=("m365.devices", "m365.antivirus", "m365.defender_machines"),
    description="Judges each Intune-managed Windows and macOS device and each machine Defender for Endpoint "
    "knows that Intune does not manage. Fails when a computer is not onboarded to Defender for Endpoint "
    "(onboardingStatus), its sensor is not Active (healthStatus), Defender has had no full report from it within "
    "the policy's days (lastSeen), or (Windows, Intune's windowsProtectionState) real-time protection, "
    "antimalware or tamper protection is off or the antivirus signatures are out of date. Machines seen by "
    "Defender but not enrolled in Intune are named. Devices matched on the Entra ID device id, else on the "
    "computer name.",
    remediation="Onboard every computer to Defender for Endpoint or Defender for Business (Intune > Endpoint "
    "security > Endpoint detection and response, or the onboarding package in the Defender portal), "
    "investigate sensors that are not Active or not reporting, and turn tamper protection and real-time "
    "protection on with an antivirus policy (Endpoint security > Antivirus). Enrol Defender-only machines in "
    "Intune so that their encryption and updates are managed.",
    references=(
        "https://learn.microsoft.com/defender-endpoint/api/machine",
        "https://learn.microsoft.com/graph/api/resources/intune-devices-windowsprotectionstate",
        "https://learn.microsoft.com/defender-endpoint/prevent-changes-to-security-settings-with-tamper-protection",
    ),
    permissions=(_INTUNE, _MACHINES),
)
def edr_active(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    computers = [d for d in data.devices if platform_of(d) in EDR_PLATFORMS]
    matches = match_machines(computers, data.defender_machines)
    seen_days = ctx.thresholds.edr_seen_max_days
    findings = []
    no_state = []
    for device in computers:
        machine = matches.get(device.id)
        problems = (
            machine_problems(machine, ctx.now, seen_days)
            if machine is not None
            else ["not onboarded to Defender for Endpoint (not in its machine list)"]
        )
        if platform_of(device) == "windows":
            state = data.protection_states.get(device.id)
            if state is not None:
                problems += protection_problems(state)
            if (state is None or unreported_switches(state)) and not problems:
                no_state.append(device.name)
        if problems:
            findings.append(Finding(device.id, device.name, "; ".join(problems)))
    others, skipped = defender_only(data.defender_machines, matches)
    for machine in others:
        problems = machine_problems(machine, ctx.now, seen_days)
        problems.append("seen by Defender for Endpoint but not enrolled in Intune")
        findings.append(Finding(machine.id, machine.name, "; ".join(problems)))
    assessed = len(computers) + len(others)
    if not assessed:
        raise NotAssessed(ReasonKind.API_GAP, "no Windows or macOS device in Intune and no machine in Defender")
    notes = [f"Defender for Endpoint: {len(data.defender_machines)} machine(s); Intune: {len(computers)} computer(s)"]
    if skipped:
        notes.append(f"{skipped} Defender-discovered network device(s) that cannot run the sensor not judged")
    unseen = (
        ((ReasonKind.API_GAP, f"Intune has no (complete) antivirus state from {len(no_state)} Windows device(s): "
          + ", ".join(no_state)),)
        if no_state
        else ()
    )  # fmt: skip
    return Outcome(assessed=assessed, findings=findings, note="; ".join(notes), unseen=unseen)


def _age_days(now: datetime, when: datetime | None) -> int | None:
    return None if when is None else (now - when).days


@check(
    id="m365.devices.vulnerabilities",
    summary="{open} of {assessed} Defender machines miss a security update for a critical or high vulnerability",
    title="No critical or high vulnerability stays unpatched beyond the update window",
    area="patching",
    platform="m365",
    severity="high",
    requires=("m365.defender_machines", "m365.defender_vulnerabilities"),
    optional=("m365.devices",),
    description="From Defender vulnerability management's export of software vulnerabilities per device: fails "
    "for machines with a critical or high CVE, fixed by an available security update, first seen on the machine "
    "longer ago than the policy's window (missing_update_max_days). A second source of patch levels beside "
    "Intune's OS versions: it covers installed applications too.",
    remediation="Install the named security updates (Windows Update for Business rings or Intune's expedited "
    "quality updates for Windows; the vendor's updater for applications), then check the device in the "
    "Defender portal > Vulnerability management > Weaknesses.",
    references=(
        "https://learn.microsoft.com/defender-endpoint/api/get-assessment-software-vulnerabilities",
        "https://learn.microsoft.com/defender-vulnerability-management/tvm-security-recommendation",
    ),
    permissions=(_MACHINES, _VULNERABILITIES),
)
def vulnerabilities(ctx: CheckContext) -> Outcome:
    data = ctx.m365
    onboarded = [m for m in data.defender_machines if m.onboarding_status.casefold() == "onboarded"]
    if not onboarded:
        raise NotAssessed(ReasonKind.API_GAP, "no machine is onboarded to Defender for Endpoint: no vulnerability data")
    window = ctx.thresholds.missing_update_max_days
    late: dict[str, list[tuple[int, DefenderVulnerability]]] = defaultdict(list)
    undated = 0
    unknown_severity: set[str] = set()
    for row in data.defender_vulnerabilities:
        severity = row.severity.casefold()
        if severity not in _JUDGED:
            if severity not in _KNOWN_LOWER:
                unknown_severity.add(row.severity or "(none)")
            continue
        if row.security_update_available is not True and row.update_id is None:
            continue  # no update to install: not a missing update (the CVE stays in Defender's weaknesses)
        age = _age_days(ctx.now, row.first_seen)
        if age is None:
            undated += 1
        elif age > window:
            late[row.device_id].append((age, row))
    names = {m.id: m.name for m in data.defender_machines}
    # a machine Intune also manages is named by its Intune device id, as m365.devices.patch_current names it: one
    # computer is one device in the insurer's patching answer, whichever of the two finds it behind
    intune = (
        {machine.id: device_id for device_id, machine in match_machines(data.devices, data.defender_machines).items()}
        if ctx.snapshot.dataset("m365.devices").available
        else {}
    )
    findings = []
    for device_id, rows in sorted(late.items()):
        rows.sort(key=lambda item: (-item[0], item[1].cve_id))
        updates: dict[str, str] = {}
        for age, row in rows:
            key = row.update_id or row.software
            if key not in updates:
                label = f"KB{row.update_id}" if row.update_id and row.update_id.isdigit() else key
                updates[key] = f"{label} missing {age} days ({row.cve_id}, {row.severity})"
        name = names.get(device_id) or rows[0][1].device_name or device_id
        shown = list(updates.values())
        detail = "; ".join(shown[:5]) + (f"; and {len(shown) - 5} more update(s)" if len(shown) > 5 else "")
        if device_id in intune:
            findings.append(Finding(intune[device_id], name, detail, {"defender_machine_id": device_id}))
        else:
            findings.append(Finding(device_id, name, detail))
    unseen: list[tuple[ReasonKind, str]] = []
    if undated:
        unseen.append((ReasonKind.API_GAP, f"{undated} critical/high row(s) without firstSeenTimestamp"))
    if unknown_severity:
        unseen.append(
            (ReasonKind.API_GAP, f"rows with a severity not known here: {', '.join(sorted(unknown_severity))}")
        )
    not_onboarded = len(data.defender_machines) - len(onboarded)
    note = f"window {window} days; {len(onboarded)} onboarded machine(s)"
    if not_onboarded:
        note += f"; {not_onboarded} machine(s) not onboarded have no vulnerability data (see m365.devices.edr_active)"
    return Outcome(assessed=len(onboarded), findings=findings, note=note, unseen=tuple(unseen))
