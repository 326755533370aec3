"""Endpoint-protection reasoning over the Microsoft 365 model: which Defender for Endpoint machine is which Intune
device, and what keeps a machine or a Windows device's antivirus from counting as protecting it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hygiene.model import DefenderMachine, M365Device, M365ProtectionState

#: Intune platforms on which an EDR sensor is expected (computers; phones are out of scope of the question)
EDR_PLATFORMS = frozenset({"windows", "macos"})
#: onboardingStatus values of machines Defender discovered on the network that cannot run its sensor (printers,
#: network gear): not judged. "CanBeOnboarded" is a computer that could run it and does not: judged.
NOT_ONBOARDABLE = frozenset({"unsupported", "insufficientinfo"})
#: windowsDefenderProductStatus flags that mean the antivirus is not protecting (v1.0 CSDL enum members)
BAD_PRODUCT_STATUS = {
    "serviceNotRunning": "antivirus service not running",
    "serviceStartedWithoutMalwareProtection": "antivirus running without malware protection",
    "productExpired": "antivirus product expired",
    "avSignaturesOutOfDate": "antivirus signatures out of date",
}


def device_platform(device: M365Device) -> str:
    """windows / ios / android / macos, else the operating system as reported (lower case) or "unknown"."""
    name = device.operating_system.lower()
    if name.startswith("windows"):
        return "windows"
    if name in ("ios", "ipados"):
        return "ios"
    if name.startswith("android"):
        return "android"
    if name in ("macos", "mac os x", "macosx"):
        return "macos"
    return name or "unknown"


def _host(name: str) -> str:
    return name.split(".", 1)[0].casefold()


def match_machines(devices: Iterable[M365Device], machines: list[DefenderMachine]) -> dict[str, DefenderMachine]:
    """Intune device id -> its Defender machine: on the Entra ID device id (azureADDeviceId = aadDeviceId), else
    on the computer name (deviceName = the first label of computerDnsName) when exactly one machine has it."""
    by_aad = {m.aad_device_id.casefold(): m for m in machines if m.aad_device_id}
    by_name: dict[str, list[DefenderMachine]] = {}
    for candidate in machines:
        by_name.setdefault(_host(candidate.name), []).append(candidate)
    found: dict[str, DefenderMachine] = {}
    for device in devices:
        machine: DefenderMachine | None = by_aad.get((device.azure_ad_device_id or "").casefold())
        if machine is None:
            named = by_name.get(_host(device.name), [])
            machine = named[0] if len(named) == 1 else None
        if machine is not None:
            found[device.id] = machine
    return found


def defender_only(
    machines: list[DefenderMachine], matches: dict[str, DefenderMachine]
) -> tuple[list[DefenderMachine], int]:
    """The machines no Intune device matched that could run the sensor, and the count of those that cannot."""
    matched = {m.id for m in matches.values()}
    others = [m for m in machines if m.id not in matched]
    judged = [m for m in others if m.onboarding_status.casefold() not in NOT_ONBOARDABLE]
    return judged, len(others) - len(judged)


def machine_problems(machine: DefenderMachine, now: datetime, seen_max_days: int) -> list[str]:
    """Why a Defender machine does not count as protected (empty: it does). An unknown status never counts."""
    if machine.onboarding_status.casefold() != "onboarded":
        return [f"not onboarded to Defender for Endpoint (onboarding status {machine.onboarding_status or 'none'})"]
    problems = []
    if machine.health_status != "Active":
        problems.append(f"Defender sensor {machine.health_status or 'health not reported'}")
    if machine.last_seen is None:
        problems.append("no full report from the Defender sensor")
    elif (now - machine.last_seen).days > seen_max_days:
        problems.append(f"last full Defender report {(now - machine.last_seen).days} days ago")
    return problems


def _switches(state: M365ProtectionState) -> tuple[tuple[bool | None, str], ...]:
    return (
        (state.real_time_protection, "real-time protection"),
        (state.malware_protection, "antimalware"),
        (state.tamper_protection, "tamper protection"),
    )


def unreported_switches(state: M365ProtectionState) -> list[str]:
    """The protection switches a Windows device did not report (None): not seen, never taken for on."""
    return [what for value, what in _switches(state) if value is None]


def protection_problems(state: M365ProtectionState) -> list[str]:
    """What is wrong with a Windows device's Defender antivirus as Intune reports it."""
    problems = [f"{what} off" for value, what in _switches(state) if value is False]
    flagged = [label for flag, label in BAD_PRODUCT_STATUS.items() if flag in state.product_status]
    if state.signature_update_overdue and "antivirus signatures out of date" not in flagged:
        flagged.append("antivirus signatures out of date")
    return problems + flagged
