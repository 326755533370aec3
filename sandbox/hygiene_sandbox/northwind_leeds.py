"""Northwind Dental's second office, in Leeds, runs on Google Workspace (domain northwind-leeds.example).

Sixteen accounts, two groups, twelve phones, eight Chromebooks and eight endpoint-verified devices, with the
defects such an office really has. Times are relative to ``now``; operating-system support is judged against the dated
lifecycle table (``policies/lifecycle/os.yaml``) and ChromeOS auto-update dates are absolute, so the device
expectations assume ``now`` between 2026-09-16 (macOS 14 out of support) and 2027-10-11 (Windows 11 25H2 still
supported), as for the Microsoft 365 side.

The people, role, group and device tables are data, ``data/northwind_leeds.yaml`` (built by
``hygiene_sandbox.scenario_data``). The ``expected`` table is written by hand from the design below: it is the
independent oracle, not computed by code that mirrors the checks, nor derived from the data.

The office
----------
2-Step Verification is enforced in the organisational units /Leeds/Management and /Leeds/Clinical, not in
/Leeds/Reception, /Leeds/Shared or /IT Contractors (``isEnforcedIn2Sv`` follows the unit).
- Dr Amara Okoye is the only active super admin (and the delegated admin the scanner impersonates); the
  former practice manager Derek Shaw, also a super admin, is suspended (he does not count; his iPhone 11 on
  iOS 16 is still approved and has not synced for 210 days).
- BrightByte IT (Leeds) holds Help Desk Admin and is enrolled but not enforced (/IT Contractors); Harriet
  Cole (Groups Admin, /Leeds/Reception) is neither; Sarah Whitaker (User Management Admin, scoped to an
  organisational unit) is both.
- Mobile Admin is assigned to the security group "Leeds device admins", not to a person: its members are James
  Holroyd (enrolled, enforced) and the nested group "Leeds reception leads", whose member Chloe Barker has
  neither. Her user record carries no admin flag: only the role assignment and the group's members show her.
- Not enrolled: Fatima Begum (enforced, enrolment pending), Chloe Barker, the shared reception account,
  Tom Ackroyd (never signed in, 45 days old), Ellie Sutcliffe (a new starter, 10 days old, never signed in:
  in grace for inactivity), the scan-to-email account, Harriet Cole.
- Stale: Gemma Lister (120 days), Kiran Mistry (95 days), the scan-to-email account (200 days), Tom Ackroyd
  (never, 45 days old); Sarah Whitaker (85 days) is not. Nathan Pryce left and is archived (ignored).
Phones: Chloe's Galaxy A13 runs Android 12 with a 300-day-old patch level, Olivia's iPhone 12 iOS 17,
Fatima's Galaxy S23 has a 150-day-old patch level, James's iPhone 15 has not synced for 40 days. Four phones
are not in use the normal way: Gemma's old Galaxy S9 (Android 10) was wiped, Kiran's iPhone XR (iOS 16) is
blocked, Ellie's new Galaxy A15 awaits approval (pending): none of them can reach data, so they are counted
and not judged; Nathan's iPhone 12 mini (iOS 16, offline 300 days) has a wipe under way (WIPING): it keeps
the data until the wipe completes, so it is judged.
Chromebooks: the reception Acer passed its auto-update expiration (2025-06-01) and is not compliant; a
clinical HP is pinned to an old version (not compliant); another has not synced for 45 days; one with a
pending compliance state is not judged; a disabled and a deprovisioned one are ignored.
Endpoints (Cloud Identity): the Windows 10 X-ray PC and Sarah's macOS 14 MacBook are out of support; the
office PC (no serial number reported) has not synced for 50 days; the retired reception PC (Windows 10) was
wiped (managementState WIPED: not judged); a phone and an iPhone also listed there are judged from the
mobile-device list instead. Encryption (encryptionState): the X-ray PC is not encrypted and Chloe's old Galaxy
does not support encryption (both fail); the Linux box reports no state (not seen); the wiped PC is not judged.
Backup: Google offers no API for Vault or third-party backup: not assessed unless attested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hygiene_sandbox.expectation import Expectation, JsonDict, fails, not_assessed
from hygiene_sandbox.google import (
    GOOGLE_CHECK_IDS,
    GoogleScenario,
    make_chromeos_device,
    make_ci_device,
    make_google_user,
    make_group,
    make_member,
    make_mobile_device,
    make_role,
    make_role_assignment,
)
from hygiene_sandbox.northwind_dns import google_domains
from hygiene_sandbox.scenario import days_ago
from hygiene_sandbox.scenario_data import build_rows, load_data
from hygiene_sandbox.vendor import (
    GOOGLE_SCOPES,
    SCOPE_CHROMEOS,
    SCOPE_CLOUD_IDENTITY_DEVICES,
    SCOPE_GROUP_MEMBERS,
    SCOPE_MOBILE,
    SCOPE_ROLES,
    SCOPE_USERS,
    SYSTEM_ROLES,
)

DOMAIN = "northwind-leeds.example"
CUSTOMER_ID = "C03nw1ds7"
DELEGATED_ADMIN = f"amara.okoye@{DOMAIN}"
ENFORCED_UNITS = {"/Leeds/Management", "/Leeds/Clinical"}


@dataclass(frozen=True)
class _Person:
    key: str
    given: str
    family: str
    unit: str
    created: float  # days ago
    last_login: float | None  # days ago; None: never
    enrolled: bool
    super_admin: bool = False
    delegated_admin: bool = False
    suspended: bool = False
    archived: bool = False


@dataclass(frozen=True)
class _Mobile:
    owner: str
    model: str
    os: str
    manufacturer: str
    synced: float  # days ago
    first_sync: float  # days ago
    patch_age: float | None  # days; None: not reported (iOS)
    company_owned: bool
    status: str


@dataclass(frozen=True)
class _Chromebook:
    serial: str
    model: str
    version: str
    status: str
    synced: float  # days ago
    enrolled: float  # days ago
    auto_update_through: date
    compliance: str | None  # osVersionCompliance; None: not reported
    user: str | None  # the annotated user's key
    unit: str


@dataclass(frozen=True)
class _Endpoint:
    device_id: str
    type: str
    model: str
    version: str
    serial: str | None  # None: none reported
    synced: float  # days ago
    created: float  # days ago
    owner: str
    manufacturer: str
    state: str
    encryption: str | None  # encryptionState; None: not reported


#: the people, roles, groups and devices tables (``data/northwind_leeds.yaml``)
_DATA = load_data("hygiene_sandbox", "data/northwind_leeds.yaml")


PEOPLE: tuple[_Person, ...] = build_rows(_Person, _DATA["people"], "people")
#: (user key, role name, organisational unit the assignment is restricted to or None)
ROLE_ASSIGNMENTS: tuple[tuple[str, str, str | None], ...] = tuple(
    (key, role, unit) for key, role, unit in _DATA["role_assignments"]
)
#: (group key, name, role name or None, members: user keys and "group:" + group key)
GROUPS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = tuple(
    (key, group["name"], group["role"], tuple(group["members"])) for key, group in _DATA["groups"].items()
)
MOBILES: tuple[_Mobile, ...] = build_rows(_Mobile, _DATA["mobiles"], "mobiles")
CHROMEBOOKS: tuple[_Chromebook, ...] = build_rows(_Chromebook, _DATA["chromebooks"], "chromebooks")
ENDPOINTS: tuple[_Endpoint, ...] = build_rows(_Endpoint, _DATA["endpoints"], "endpoints")


def _email(key: str) -> str:
    return f"{key}@{DOMAIN}"


def northwind_leeds(
    now: datetime, *, withheld_scopes: frozenset[str] = frozenset(), disabled_apis: frozenset[str] = frozenset()
) -> GoogleScenario:
    """The Leeds office's Google Workspace customer, with ``withheld_scopes`` left out of domain-wide
    delegation (token requests naming them are refused) and ``disabled_apis`` (``admin.googleapis.com``,
    ``cloudidentity.googleapis.com``) not enabled in the service account's Cloud project."""
    people = {p.key: p for p in PEOPLE}
    users: list[JsonDict] = []
    for person in PEOPLE:
        users.append(
            make_google_user(
                customer_id=CUSTOMER_ID,
                email=_email(person.key),
                given_name=person.given,
                family_name=person.family,
                created=days_ago(now, person.created, 3),
                last_login=days_ago(now, person.last_login, 1) if person.last_login is not None else None,
                enrolled=person.enrolled,
                enforced=person.unit in ENFORCED_UNITS,
                org_unit=person.unit,
                is_admin=person.super_admin,
                is_delegated_admin=person.delegated_admin,
                suspended=person.suspended,
                archived=person.archived,
            )
        )
    by_key = {p.key: u for p, u in zip(PEOPLE, users, strict=True)}
    roles = [make_role(CUSTOMER_ID, name) for name in SYSTEM_ROLES]
    role_by_name = {str(r["roleName"]): r for r in roles}
    assignments = [
        make_role_assignment(role_by_name[role], by_key[key], org_unit_id=f"id:03ph8a2z{unit.strip('/').lower()}")
        if unit
        else make_role_assignment(role_by_name[role], by_key[key])
        for key, role, unit in ROLE_ASSIGNMENTS
    ]
    groups = {
        key: make_group(f"{key}@{DOMAIN}", name, description=f"{name} (security group)", members=len(members))
        for key, name, _, members in GROUPS
    }
    group_members = {
        str(groups[key]["id"]): [
            make_member(groups[m.removeprefix("group:")], kind="GROUP")
            if m.startswith("group:")
            else make_member(by_key[m])
            for m in members
        ]
        for key, _, _, members in GROUPS
    }
    assignments += [
        make_role_assignment(role_by_name[role], groups[key], assignee_type="group")
        for key, _, role, _ in GROUPS
        if role is not None
    ]

    mobiles = []
    for mobile in MOBILES:
        person = people[mobile.owner]
        mobiles.append(
            make_mobile_device(
                owner_email=_email(mobile.owner),
                owner_name=f"{person.given} {person.family}",
                model=mobile.model,
                os=mobile.os,
                last_sync=days_ago(now, mobile.synced, 2),
                first_sync=days_ago(now, mobile.first_sync),
                patch_level=None if mobile.patch_age is None else days_ago(now, mobile.patch_age).date(),
                manufacturer=mobile.manufacturer,
                company_owned=mobile.company_owned,
                status=mobile.status,
            )
        )

    chromebooks = []
    for book in CHROMEBOOKS:
        chromebooks.append(
            make_chromeos_device(
                customer_id=CUSTOMER_ID,
                serial=book.serial,
                model=book.model,
                os_version=book.version,
                last_sync=days_ago(now, book.synced, 1),
                enrolled=days_ago(now, book.enrolled),
                auto_update_through=book.auto_update_through,
                status=book.status,
                compliance=book.compliance,
                user=None if book.user is None else _email(book.user),
                org_unit=book.unit,
                update_state="updateStateNeedReboot" if book.compliance == "pending" else None,
            )
        )

    endpoints = []
    for device in ENDPOINTS:
        endpoints.append(
            make_ci_device(
                key=device.device_id,
                device_id=device.device_id,
                device_type=device.type,
                model=device.model,
                os_version=device.version,
                serial=device.serial,
                last_sync=days_ago(now, device.synced, 3),
                created=days_ago(now, device.created),
                owner=device.owner,
                manufacturer=device.manufacturer,
                hostname=device.device_id.upper() if device.type in ("WINDOWS", "MAC_OS", "LINUX") else None,
                management_state=device.state,
                encryption_state=device.encryption,
            )
        )

    google = GoogleScenario(
        customer_id=CUSTOMER_ID,
        domain=DOMAIN,
        delegated_admin=DELEGATED_ADMIN,
        organization_name="Northwind Dental Ltd (Leeds)",
        project_id="northwind-hygiene",
        authorized_scopes=set(GOOGLE_SCOPES - withheld_scopes),
        users=users,
        roles=roles,
        role_assignments=assignments,
        mobile_devices=mobiles,
        chromeos_devices=chromebooks,
        ci_devices=endpoints,
        groups=list(groups.values()),
        group_members=group_members,
        disabled_apis=set(disabled_apis),
        domains=google_domains(),
    )
    google.expected = expected_results(withheld_scopes, disabled_apis)
    return google


def expected_results(
    withheld_scopes: frozenset[str], disabled_apis: frozenset[str] = frozenset()
) -> dict[str, Expectation]:
    """The results a correct scan of the Leeds office produces, written out by hand from the design above."""
    d = f"@{DOMAIN}"
    expected: dict[str, Expectation] = {
        # active (not suspended, not archived) users with isEnrolledIn2Sv false
        "gws.mfa.enrolled": fails(
            "fatima.begum" + d,  # enforced, not yet enrolled
            "chloe.barker" + d,
            "reception.leeds" + d,
            "tom.ackroyd" + d,  # never signed in
            "ellie.sutcliffe" + d,  # new starter
            "scanner.leeds" + d,
            "harriet.cole" + d,
        ),
        # active users in units without enforcement
        "gws.mfa.enforced": fails(
            "brightbyte.leeds" + d,  # /IT Contractors
            "chloe.barker" + d,  # /Leeds/Reception
            "olivia.hirst" + d,  # /Leeds/Reception (enrolled, could turn it off)
            "harriet.cole" + d,  # /Leeds/Reception
            "reception.leeds" + d,  # /Leeds/Shared
            "scanner.leeds" + d,  # /Leeds/Shared
        ),
        # active admins (Amara: super, enrolled and enforced; Sarah: delegated, both; James: Mobile Admin through
        # the device admins group, both) lacking either
        "gws.mfa.admins": fails(
            "brightbyte.leeds" + d,
            "harriet.cole" + d,
            "chloe.barker" + d,  # Mobile Admin through a group nested in the device admins group
        ),
        "gws.accounts.inactive": fails(
            "gemma.lister" + d,  # 120 days
            "kiran.mistry" + d,  # 95 days
            "scanner.leeds" + d,  # 200 days
            "tom.ackroyd" + d,  # never, 45 days old (Ellie: never, 10 days old, in grace)
        ),
        # one active super admin (Derek Shaw is suspended)
        "gws.accounts.admin_count": fails("tenant"),
        # not judged: Gemma's wiped Galaxy S9, Kiran's blocked iPhone XR, Ellie's pending Galaxy A15, the disabled
        # and the deprovisioned Chromebooks, the wiped reception PC
        "gws.devices.os_supported": fails(
            "NXHPQEK001",  # ChromeOS auto-update expired 2025-06-01
            "SM-A135F (chloe.barker@northwind-leeds.example)",  # Android 12
            "iPhone 12 (olivia.hirst@northwind-leeds.example)",  # iOS 17
            "iPhone 11 (derek.shaw@northwind-leeds.example)",  # iOS 16 (owner suspended, device still listed)
            "iPhone 12 mini (nathan.pryce@northwind-leeds.example)",  # iOS 16, a wipe under way: still holds data
            "8CG9441LDS",  # Windows 10 (Cloud Identity)
            "C02XL0GHLDS",  # macOS 14 (Cloud Identity)
        ),
        "gws.devices.patch_current": fails(
            "NXHPQEK001",  # notCompliant
            "5CD2345LDS",  # notCompliant (pinned)
            "5CD3456LDS",  # synced 45 days ago
            "SM-A135F (chloe.barker@northwind-leeds.example)",  # patch level 300 days old
            "SM-S911B (fatima.begum@northwind-leeds.example)",  # patch level 150 days old
            "iPhone 15 (james.holroyd@northwind-leeds.example)",  # synced 40 days ago
            "iPhone 11 (derek.shaw@northwind-leeds.example)",  # synced 210 days ago
            "iPhone 12 mini (nathan.pryce@northwind-leeds.example)",  # synced 300 days ago (wipe under way)
            "devices/lfk2x9qc7w3m",  # no serial number; synced 50 days ago (Cloud Identity)
        ),
        # no Google API exposes Vault retention or backups
        "gws.backup.configured": not_assessed(),
    }
    # the X-ray PC is not encrypted; Chloe's Galaxy A13 does not support it; the Linux box reports no state (not
    # seen: named in the note); the wiped reception PC is not judged
    expected["gws.devices.encrypted"] = fails("8CG9441LDS", "R58T30LDS")
    assert set(expected) == set(GOOGLE_CHECK_IDS)

    endpoints_unseen = (
        SCOPE_CLOUD_IDENTITY_DEVICES in withheld_scopes or "cloudidentity.googleapis.com" in disabled_apis
    )
    if endpoints_unseen:
        # endpoints are optional: the device checks are assessed without the Windows and macOS machines
        expected["gws.devices.os_supported"].resources -= {"8CG9441LDS", "C02XL0GHLDS"}
        expected["gws.devices.patch_current"].resources -= {"devices/lfk2x9qc7w3m"}
        expected["gws.devices.encrypted"] = not_assessed()
    if SCOPE_ROLES in withheld_scopes or SCOPE_GROUP_MEMBERS in withheld_scopes:
        # the group's members cannot be seen: the admins seen still fail, and the result says what was not seen
        expected["gws.mfa.admins"].resources -= {"chloe.barker" + d}
    if SCOPE_USERS in withheld_scopes or "admin.googleapis.com" in disabled_apis:
        for check_id in (
            "gws.mfa.enrolled",
            "gws.mfa.enforced",
            "gws.mfa.admins",
            "gws.accounts.inactive",
            "gws.accounts.admin_count",
        ):
            expected[check_id] = not_assessed()
    if SCOPE_MOBILE in withheld_scopes or SCOPE_CHROMEOS in withheld_scopes or "admin.googleapis.com" in disabled_apis:
        expected["gws.devices.os_supported"] = not_assessed()
        expected["gws.devices.patch_current"] = not_assessed()
    return expected
