"""Google Workspace reasoning shared by checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from hygiene.model import GoogleData, GoogleUser, ReasonKind, Snapshot

#: Cloud Identity device types judged from the Cloud Identity list; mobile and ChromeOS devices come from the
#: Directory API lists, so they are skipped here to avoid counting a device twice
ENDPOINT_DESKTOP_TYPES = {"WINDOWS": "windows", "MAC_OS": "macos", "LINUX": "linux"}


def active_users(data: GoogleData) -> list[GoogleUser]:
    return [u for u in data.users if u.active]


@dataclass
class Admins:
    """Who holds admin rights: user ids, how (a group's role is named), and what could not be seen."""

    ids: set[str] = field(default_factory=set)
    #: user id -> "Role via group <id>" for admins who hold a role through a group
    via_group: dict[str, list[str]] = field(default_factory=dict)
    #: user ids holding the super admin role through a group (Google's console refuses that; counted if seen)
    group_super_admins: set[str] = field(default_factory=set)
    unseen: list[tuple[ReasonKind, str]] = field(default_factory=list)


def admins(snapshot: Snapshot, data: GoogleData) -> Admins:
    """Every admin: the user flags (``isAdmin``, ``isDelegatedAdmin``), direct role assignments, and the members of
    groups that hold roles (``assigneeType`` ``group``), whose ``isDelegatedAdmin`` flag cannot be relied on. What
    cannot be seen is named (``unseen``), never passed: role assignments not read, a group's members not listed, a
    member or assignee that is not a user of the directory, an assignee or member type this code does not know."""
    out = Admins(ids={u.id for u in data.users if u.is_super_admin or u.is_delegated_admin})
    users = {u.id: u for u in data.users}
    roles_state = snapshot.dataset("google.roles")
    if not roles_state.available:
        needs = f"; needs {', '.join(roles_state.needs)}" if roles_state.needs else ""
        out.unseen.append(
            (
                roles_state.reason_kind or ReasonKind.ERROR,
                "admin roles held directly or through groups: role assignments not read, only the user flags "
                f"isAdmin/isDelegatedAdmin were ({roles_state.reason}){needs}",
            )
        )
        return out
    groups_state = snapshot.dataset("google.admin_groups")
    for assignment in data.role_assignments:
        role = assignment.role_name
        if assignment.assignee_type == "user":
            if assignment.assigned_to in users:
                out.ids.add(assignment.assigned_to)
            else:
                out.unseen.append(
                    (
                        ReasonKind.API_GAP,
                        f"{role} is assigned to id {assignment.assigned_to}, which is not a user of the directory "
                        "(a service account, or a deleted user): its sign-in protection cannot be checked",
                    )
                )
            continue
        if assignment.assignee_type != "group":
            out.unseen.append(
                (
                    ReasonKind.API_GAP,
                    f"{role} is assigned to id {assignment.assigned_to} of assignee type "
                    f"'{assignment.assignee_type}', which this check does not know",
                )
            )
            continue
        group = assignment.assigned_to
        members = data.group_members.get(group) if groups_state.available else None
        if members is None:
            if groups_state.available:
                why, kind = "the group was not found", ReasonKind.ERROR
            else:
                why, kind = str(groups_state.reason), groups_state.reason_kind or ReasonKind.ERROR
            needs = f"; needs {', '.join(groups_state.needs)}" if groups_state.needs else ""
            out.unseen.append((kind, f"{role} is held by group {group}, whose members were not listed ({why}){needs}"))
            continue
        holders: list[str] = []
        for member in members:
            kind_ = member.type.upper()
            if kind_ == "GROUP":
                continue  # a nested group: its members are listed too (includeDerivedMembership)
            if kind_ == "CUSTOMER":
                holders.extend(u.id for u in data.users)  # the member is every user of the account
            elif kind_ == "USER" and member.id in users:
                holders.append(member.id)
            else:
                who = member.email or member.id
                out.unseen.append(
                    (
                        ReasonKind.API_GAP,
                        f"{role} is held through group {group} by {who} ({member.type}), who is not a user of this "
                        "directory: its sign-in protection cannot be checked",
                    )
                )
        for user_id in holders:
            out.ids.add(user_id)
            out.via_group.setdefault(user_id, []).append(f"{role} via group {group}")
            if assignment.is_super_admin_role:
                out.group_super_admins.add(user_id)
    return out


_D = TypeVar("_D")

#: device states in which a device cannot reach the organisation's data, by list. Anything else (including a
#: value not listed here, or no value) is judged like a live device: a device is never dropped on a guess.
#: - mobile ``status`` (Directory API; the discovery document has no enum): BLOCKED "cannot access Google Workspace
#:   data", WIPED and ACCOUNT_WIPED (the data or the account is removed), PENDING (not approved: cannot sync yet).
#:   WIPING/ACCOUNT_WIPING are judged: the device keeps the data until the wipe completes.
MOBILE_NO_ACCESS = {"BLOCKED": "blocked", "WIPED": "wiped", "ACCOUNT_WIPED": "account wiped", "PENDING": "pending"}
#: - ChromeOS ``status``: DEPROVISIONED (removed from management; must be wiped to re-enrol) and DISABLED (lost or
#:   stolen: "no one can use it")
CHROME_NO_ACCESS = {"DEPROVISIONED": "deprovisioned", "DISABLED": "disabled"}
#: - Cloud Identity ``managementState`` (the enum): BLOCKED, WIPED, PENDING as for mobile devices
ENDPOINT_NO_ACCESS = {"BLOCKED": "blocked", "WIPED": "wiped", "PENDING": "pending"}


def reachable(
    devices: Iterable[_D], state: Callable[[_D], str | None], no_access: dict[str, str], excluded: Counter[str]
) -> list[_D]:
    """The devices that can still reach data; the others are counted in ``excluded`` by state."""
    kept = []
    for device in devices:
        label = no_access.get((state(device) or "").upper())
        if label is None:
            kept.append(device)
        else:
            excluded[label] += 1
    return kept


def excluded_note(excluded: Counter[str]) -> str | None:
    """ "3 devices not judged (they cannot reach data): blocked 1, wiped 2" """
    total = sum(excluded.values())
    if not total:
        return None
    parts = ", ".join(f"{label} {count}" for label, count in sorted(excluded.items()))
    return f"{total} device{'s' if total != 1 else ''} not judged (they cannot reach data): {parts}"


def mobile_platform(os_text: str, device_type: str) -> tuple[str, str]:
    """("android" | "ios" | other, version) from a mobile device's ``os`` ("Android 14", "iOS 17.5.1")."""
    words = os_text.split()
    version = next((w for w in words if w[:1].isdigit()), "")
    lowered = (os_text + " " + device_type).lower()
    if "android" in lowered:
        return "android", version
    if "ios" in lowered or "ipad" in lowered or "iphone" in lowered:
        return "ios", version
    return lowered.split()[0] if lowered.split() else "unknown", version


def endpoint_version(os_version: str) -> str:
    """Cloud Identity reports e.g. "Windows 10.0.19045" or "MacOS 14.5": the numeric part."""
    return next((w for w in os_version.split() if w[:1].isdigit()), os_version)
