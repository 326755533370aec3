"""The Google Workspace side of generated tenants: about ``n_users / 2`` accounts, phones for 40% of them,
Chromebooks for 20%, endpoint-verified computers for 10%, with defects decided when each object is made, so
``expected`` lists exactly the objects that were made defective (no check logic is re-run).

Supported operating-system versions assume ``now`` before 2027-10-12 (Windows 11 25H2), as for the Microsoft
side; ChromeOS auto-update dates are placed relative to ``now``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hygiene_sandbox.expectation import Expectation, JsonDict, fails, not_assessed, passes
from hygiene_sandbox.google import (
    GoogleScenario,
    make_chromeos_device,
    make_ci_device,
    make_google_user,
    make_mobile_device,
    make_role,
    make_role_assignment,
)
from hygiene_sandbox.scenario import days_ago
from hygiene_sandbox.vendor import SUPER_ADMIN_ROLE, SYSTEM_ROLES

FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Avery", "Charlie", "Priya",
         "Mohammed", "Olivia", "Noah", "Amelia", "Oliver", "Isla", "George", "Ava", "Arthur")  # fmt: skip
LAST = ("Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
        "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Green", "Hall")  # fmt: skip
ENFORCED_UNITS = ("/Staff", "/Staff/Clinical", "/Management")
UNENFORCED_UNITS = ("/Pilot", "/Contractors", "/Shared")
_ANDROID_GOOD = (("Pixel 8", "Google"), ("SM-S921B", "samsung"), ("Pixel 7a", "Google"))
_ANDROID_OLD = ("Android 11", "Android 12")
_IOS_GOOD = ("iOS 18.6.2", "iOS 26.1")
_IOS_OLD = ("iOS 16.7.10", "iOS 17.6.1")


def generate_google(n_users: int, seed: int, now: datetime) -> GoogleScenario:
    """The Google customer of generated tenant ``seed`` (deterministic for a given seed and ``now``)."""
    rng = random.Random(f"hygiene-google-{seed}")
    domain = f"tenant{seed}-gws.example"
    customer_id = f"C0gen{abs(seed)}"
    g = max(8, n_users // 2)

    users: list[JsonDict] = []
    emails: list[str] = []
    enrolled_fail: set[str] = set()
    enforced_fail: set[str] = set()
    admins_fail: set[str] = set()
    inactive_fail: set[str] = set()
    active_supers = 0
    n_super = rng.choice((1, 2, 2, 3, 3, 4, 5, 6))
    n_delegated = max(1, g // 100)
    roles = [make_role(customer_id, name) for name in SYSTEM_ROLES]
    delegated_roles = [r for r in roles if r["roleName"] != SUPER_ADMIN_ROLE]
    assignments: list[JsonDict] = []

    for i in range(g):
        first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        email = f"{first.lower()}.{last.lower()}{i}@{domain}"
        is_super = i < n_super
        is_delegated = n_super <= i < n_super + n_delegated
        admin = is_super or is_delegated
        roll = rng.random()
        suspended = not admin and roll < 0.04
        archived = not admin and 0.04 <= roll < 0.05
        stale = not admin and 0.05 <= roll < 0.11
        never_old = not admin and 0.11 <= roll < 0.125
        new_starter = not admin and 0.125 <= roll < 0.135
        if i == 0:
            enrolled, enforced = True, True  # the delegated admin the scanner impersonates
        else:
            enrolled = rng.random() >= (0.15 if admin else 0.12) and not (never_old or new_starter)
            enforced = rng.random() >= (0.15 if admin else 0.1)
        if never_old or new_starter:
            last_login: float | None = None
            created = rng.uniform(2, 25) if new_starter else rng.uniform(35, 1500)
        else:
            last_login = rng.uniform(95, 700) if (stale or suspended or archived) else rng.uniform(0.05, 80)
            created = last_login + rng.uniform(10, 900)
        unit = ENFORCED_UNITS if enforced else UNENFORCED_UNITS
        user = make_google_user(
            customer_id=customer_id,
            email=email,
            given_name=first,
            family_name=last,
            created=days_ago(now, created),
            last_login=days_ago(now, last_login) if last_login is not None else None,
            enrolled=enrolled,
            enforced=enforced,
            org_unit=unit[rng.randrange(len(unit))],
            is_admin=is_super,
            is_delegated_admin=is_delegated,
            suspended=suspended,
            archived=archived,
        )
        users.append(user)
        emails.append(email)
        if is_super:
            assignments.append(make_role_assignment(roles[0], user))
        elif is_delegated:
            assignments.append(make_role_assignment(delegated_roles[i % len(delegated_roles)], user))
        if suspended or archived:
            continue
        if not enrolled:
            enrolled_fail.add(email)
        if not enforced:
            enforced_fail.add(email)
        if admin and not (enrolled and enforced):
            admins_fail.add(email)
        if stale or never_old:
            inactive_fail.add(email)
        if is_super:
            active_supers += 1
    # a suspended former super admin: does not count
    former = users[-1]
    if former["suspended"]:
        former["isAdmin"] = True
        assignments.append(make_role_assignment(roles[0], former))

    # -- phones -------------------------------------------------------------------------------------------------
    os_fail: set[str] = set()
    patch_fail: set[str] = set()
    mobiles: list[JsonDict] = []
    for owner in sorted(rng.sample(range(g), (g * 2) // 5)):
        android = rng.random() < 0.45
        roll = rng.random()
        unsupported = roll < 0.08
        stale = 0.08 <= roll < 0.12
        old_patch = android and (unsupported or 0.12 <= roll < 0.24)
        if android:
            model, maker = ("SM-A125F", "samsung") if unsupported else _ANDROID_GOOD[rng.randrange(3)]
            os_name = _ANDROID_OLD[rng.randrange(2)] if unsupported else f"Android {rng.choice((13, 14, 15, 16))}"
        else:
            model, maker = ("iPhone 11" if unsupported else "iPhone 15"), "Apple Inc."
            os_name = _IOS_OLD[rng.randrange(2)] if unsupported else _IOS_GOOD[rng.randrange(2)]
        synced = rng.uniform(35, 300) if stale else rng.uniform(0.05, 20)
        patch_age = rng.uniform(100, 500) if old_patch else rng.uniform(5, 80)
        user = users[owner]
        mobiles.append(
            make_mobile_device(
                owner_email=emails[owner],
                owner_name=str(user["name"]["fullName"]),
                model=model,
                os=os_name,
                last_sync=days_ago(now, synced),
                first_sync=days_ago(now, synced + rng.uniform(30, 900)),
                patch_level=days_ago(now, patch_age).date(),
                manufacturer=maker,
            )
        )
        name = f"{model} ({emails[owner]})"
        if unsupported:
            os_fail.add(name)
        if stale or old_patch:
            patch_fail.add(name)

    # -- Chromebooks --------------------------------------------------------------------------------------------
    chromebooks: list[JsonDict] = []
    for k in range(g // 5):
        serial = f"5CD{abs(seed) % 1000:03d}{k:07d}"
        roll = rng.random()
        status = "ACTIVE" if roll < 0.9 else ("DISABLED" if roll < 0.95 else "DEPROVISIONED")
        roll = rng.random()
        expired = roll < 0.07
        behind = 0.07 <= roll < 0.13
        stale = 0.13 <= roll < 0.17
        compliance: str | None
        if behind or (expired and rng.random() < 0.5):
            compliance = "notCompliant"
        else:
            compliance = rng.choice(("compliant", "compliant", "compliant", "pending", "complianceUnspecified", None))
        aue = now + timedelta(days=-rng.uniform(30, 1500) if expired else rng.uniform(30, 2500))
        synced = rng.uniform(35, 300) if stale else rng.uniform(0.05, 20)
        chromebooks.append(
            make_chromeos_device(
                customer_id=customer_id,
                serial=serial,
                model="HP Chromebook 14 G7",
                os_version="126.0.6478.222" if (expired or behind) else "142.0.7444.181",
                last_sync=days_ago(now, synced),
                enrolled=days_ago(now, synced + rng.uniform(30, 1500)),
                auto_update_through=aue.date(),
                status=status,
                compliance=compliance,
                user=emails[rng.randrange(g)],
            )
        )
        if status != "ACTIVE":
            continue
        if expired:
            os_fail.add(serial)
        if compliance == "notCompliant" or stale:
            patch_fail.add(serial)

    # -- endpoint-verified devices (Cloud Identity) -------------------------------------------------------------------
    endpoints: list[JsonDict] = []
    for k in range(max(3, g // 10)):
        kind = rng.choices(("WINDOWS", "MAC_OS", "LINUX", "ANDROID", "IOS"), (55, 25, 5, 8, 7))[0]
        unsupported = rng.random() < 0.1
        stale = rng.random() < 0.05
        no_serial = rng.random() < 0.03
        key = f"gen{seed}-ci{k}"
        endpoint_serial = None if no_serial else f"EP{abs(seed) % 1000:03d}{k:07d}"
        version = {
            "WINDOWS": "Windows 10.0.19045" if unsupported else "Windows 10.0.26200",
            "MAC_OS": ("MacOS 14.7.1" if rng.random() < 0.5 else "MacOS 13.7.8") if unsupported else "MacOS 15.7.1",
            "LINUX": "Linux 6.8.0-45-generic",
            "ANDROID": "Android 12" if unsupported else "Android 15",
            "IOS": "iOS 17.6.1" if unsupported else "iOS 26.1",
        }[kind]
        if kind == "LINUX":
            stale = False  # not judged on version; kept fresh so that "desktop" needs no interpretation here
        synced = rng.uniform(35, 300) if stale else rng.uniform(0.05, 20)
        device = make_ci_device(
            key=key,
            device_type=kind,
            model={"WINDOWS": "OptiPlex 7020", "MAC_OS": "Mac15,12", "LINUX": "ThinkCentre M70q"}.get(kind, "Phone"),
            os_version=version,
            serial=endpoint_serial,
            last_sync=days_ago(now, synced),
            created=days_ago(now, synced + rng.uniform(30, 900)),
            owner="COMPANY" if kind in ("WINDOWS", "MAC_OS", "LINUX") else "BYOD",
        )
        endpoints.append(device)
        if kind not in ("WINDOWS", "MAC_OS"):
            continue  # phones are judged from the mobile-device list; Linux has no lifecycle entry
        shown = endpoint_serial or str(device["name"])
        if unsupported:
            os_fail.add(shown)
        if stale:
            patch_fail.add(shown)

    # -- devices that cannot reach data: about 6% of phones wiped, blocked or awaiting approval, and 5% of
    # endpoint-verified computers wiped or blocked; they are not judged (a separate generator, so the devices above
    # stay as they were for a given seed)
    srng = random.Random(f"hygiene-google-status-{seed}")
    for device in mobiles:
        if srng.random() < 0.06:
            device["status"] = srng.choice(("WIPED", "BLOCKED", "PENDING"))
            name = f"{device['model']} ({device['email'][0]})"
            os_fail.discard(name)
            patch_fail.discard(name)
    for device in endpoints:
        if srng.random() < 0.05:
            device["managementState"] = srng.choice(("WIPED", "BLOCKED"))
            shown = str(device.get("serialNumber") or device["name"])
            os_fail.discard(shown)
            patch_fail.discard(shown)

    # -- encryption: about 8% of endpoints not encrypted (a separate generator again); judged where they can reach data
    erng = random.Random(f"hygiene-google-encryption-{seed}")
    encrypted_fail: set[str] = set()
    for device in endpoints:
        if erng.random() < 0.08:
            device["encryptionState"] = "NOT_ENCRYPTED"
            if device["managementState"] not in ("WIPED", "BLOCKED"):
                encrypted_fail.add(str(device.get("serialNumber") or device["name"]))

    def outcome(resources: set[str]) -> Expectation:
        return fails(*resources) if resources else passes()

    google = GoogleScenario(
        customer_id=customer_id,
        domain=domain,
        delegated_admin=emails[0],
        organization_name=f"Generated Tenant {seed} (Google Workspace)",
        project_id=f"gen-{abs(seed)}-hygiene",
        users=users,
        roles=roles,
        role_assignments=assignments,
        mobile_devices=mobiles,
        chromeos_devices=chromebooks,
        ci_devices=endpoints,
    )
    google.expected = {
        "gws.mfa.enrolled": outcome(enrolled_fail),
        "gws.mfa.enforced": outcome(enforced_fail),
        "gws.mfa.admins": outcome(admins_fail),
        "gws.accounts.inactive": outcome(inactive_fail),
        "gws.accounts.admin_count": passes() if 2 <= active_supers <= 4 else fails("tenant"),
        "gws.devices.os_supported": outcome(os_fail),
        "gws.devices.patch_current": outcome(patch_fail),
        "gws.devices.encrypted": outcome(encrypted_fail),
        "gws.backup.configured": not_assessed(),
    }
    return google
