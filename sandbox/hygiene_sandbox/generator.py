"""Synthetic tenants of any size for benchmarks, with the expected results known by construction.

``generate(n_users, seed, now)`` makes ``n_users`` accounts (about 90% members, 10% guests) with realistic
proportions of defects, about ``0.8 * n_users`` Intune devices, groups, roles and Conditional Access
policies, and (``google=True``) a Google Workspace side (``hygiene_sandbox.generator_google``). Each defect
is decided when the object is made, so ``expected`` lists exactly the objects that were made defective (no
check logic is re-run). 50,000 users take a few seconds.

Policy design (fixed, so that the defect flags map one-to-one onto check results):
- CA001 requires MFA for all users except the break-glass account and the "CA Exclusions" group;
- CA002 requires phishing-resistant MFA (authentication strength, empty builtInControls) for admin roles,
  except the break-glass account; admins are never in the exclusion group;
- CA003 (report-only) would cover the exclusion group; a quarter of its members have per-user MFA enforced;
- CA004 blocks legacy authentication, enabled or report-only depending on the seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hygiene_sandbox.defender import make_machine, protection_state
from hygiene_sandbox.expectation import Expectation, JsonDict, fails, not_assessed, passes
from hygiene_sandbox.generator_google import generate_google
from hygiene_sandbox.scenario import (
    Scenario,
    auth_strength,
    days_ago,
    graph_time,
    make_assignment,
    make_ca_policy,
    make_compliance_policy,
    make_registration,
    make_role_assignment,
    make_role_definition,
    make_sku,
    make_user,
    stable_id,
)
from hygiene_sandbox.vendor import AUTH_STRENGTH_PHISHING_RESISTANT, GLOBAL_ADMIN, ROLE_TEMPLATES, SKUS

FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Avery", "Charlie", "Priya",
         "Mohammed", "Olivia", "Noah", "Amelia", "Oliver", "Isla", "George", "Ava", "Arthur", "Mia", "Leo",
         "Freya", "Harry", "Zara", "Ivy", "Luca", "Ellie", "Finn", "Nia")  # fmt: skip
LAST = ("Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
        "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall",
        "Khan", "Patel", "Lewis", "Clarke", "Wood", "Turner", "Hill", "Ahmed", "Ali", "Morgan")  # fmt: skip

# (operating system, supported versions, unsupported versions) — see policies/lifecycle/os.yaml
_GOOD = {
    "Windows": ("10.0.26200.7171", "10.0.26200.7309"),
    "Android": ("14", "15", "16"),
    "iOS": ("18.7.2", "26.1"),
    "macOS": ("15.7.1", "26.1"),
}
_END_OF_SUPPORT = {
    "Windows": ("10.0.19045.6456", "10.0.19045.6332"),
    "Android": ("11", "12"),
    "iOS": ("16.7.12", "17.7.10"),
    "macOS": ("13.7.8", "14.8.1"),
}
#: supported but below the tenant's minimum (a Windows 11 25H2 build older than the baseline)
_OLD_BUILD = "10.0.26200.6100"
_MINIMUMS = {"Windows": "10.0.26200.6584", "Android": "13.0", "iOS": "18.0", "macOS": "15.0"}


def generate(n_users: int, seed: int, now: datetime | None = None, *, google: bool = True) -> Scenario:
    """A synthetic tenant with ``n_users`` accounts; deterministic for a given seed and ``now``. With ``google``
    it also has a Google Workspace customer of about ``n_users / 2`` accounts (``scenario.google``, expectations
    in ``scenario.google.expected``; see ``hygiene_sandbox.generator_google``)."""
    if n_users < 10:
        raise ValueError("generate() needs at least 10 users")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rng = random.Random(seed)
    domain = f"tenant{seed}.example"
    initial = f"tenant{seed}.onmicrosoft.com"
    tenant_id = stable_id("generated-tenant", str(seed))
    main = "SPB"
    basic = "O365_BUSINESS_ESSENTIALS"
    service = "EXCHANGESTANDARD"

    users: list[JsonDict] = []
    registrations: list[JsonDict] = []
    per_user: dict[str, str] = {}
    holders: dict[str, int] = {}
    exclusions: list[str] = []
    admins: list[tuple[str, str, str]] = []  # (id, upn, role)
    member_upns: list[str] = []
    user_ids: dict[str, str] = {}

    registered_fail: set[str] = set()
    enforced_fail: set[str] = set()
    admins_fail: set[str] = set()
    inactive_fail: set[str] = set()
    guests_fail: set[str] = set()
    wasted: set[str] = set()
    global_admins: set[str] = set()

    n_guests = max(1, n_users // 10)
    n_members = n_users - n_guests
    # the break-glass account is the first member: excluded from every policy, so never "enforced"
    n_global_admins = rng.choice((1, 2, 3, 3, 4, 5, 6))
    other_admins = max(1, n_members // 200)
    legacy_blocked = rng.random() < 0.5

    def add(user: JsonDict, parts: tuple[str, ...]) -> None:
        users.append(user)
        for part in parts:
            holders[part] = holders.get(part, 0) + 1

    for i in range(n_members):
        uid = stable_id("gen-user", str(seed), str(i))
        first, surname = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        breakglass = i == 0
        upn = f"breakglass@{initial}" if breakglass else f"{first.lower()}.{surname.lower()}{i}@{domain}"
        name = "Emergency Access Account" if breakglass else f"{first} {surname}"
        roll = rng.random()
        is_global_admin = 1 <= i <= n_global_admins - 1 or breakglass
        is_other_admin = n_global_admins <= i < n_global_admins + other_admins
        is_admin = is_global_admin or is_other_admin
        # lifecycle
        disabled = not is_admin and roll < 0.05
        new_starter = not is_admin and not disabled and 0.05 <= roll < 0.055  # in grace, not in the report yet
        never_used = not is_admin and not disabled and 0.055 <= roll < 0.07
        stale = not is_admin and not disabled and 0.07 <= roll < 0.13
        service_account = not is_admin and not disabled and 0.13 <= roll < 0.14
        created_days = rng.uniform(3, 25) if new_starter else rng.uniform(35, 2500)
        if disabled or stale:
            last_days: float | None = rng.uniform(95, 700)
        elif new_starter or never_used:
            last_days = None
        elif breakglass:
            last_days = rng.uniform(20, 80)
        else:
            last_days = rng.uniform(0.05, 60)
        if last_days is not None and last_days > created_days:
            created_days = last_days + rng.uniform(10, 300)
        if service_account:
            parts: tuple[str, ...] = (service,)
        elif breakglass or (disabled and rng.random() < 0.5):
            parts = ()
        else:
            parts = (basic,) if rng.random() < 0.1 else (main,)
        # MFA
        capable = rng.random() >= (0.2 if is_admin else 0.08)
        if service_account or never_used:
            capable = False
        if breakglass:
            capable = True
        methods = ("fido2SecurityKey",) if breakglass else (("microsoftAuthenticatorPush",) if capable else ())
        excluded = not is_admin and not disabled and rng.random() < 0.02
        if excluded:
            exclusions.append(uid)
            if rng.random() < 0.25:
                per_user[uid] = "enforced"
            elif rng.random() < 0.5:
                per_user[uid] = "enabled"
        last = days_ago(now, last_days) if last_days is not None else None
        user = make_user(
            user_id=uid,
            upn=upn,
            display_name=name,
            created=days_ago(now, created_days),
            enabled=not disabled,
            mail=None if breakglass else upn,
            job_title=None,
            sku_ids=tuple(SKUS[p][0] for p in parts),
            # a service account signs in non-interactively only; those successes are in lastSuccessfulSignInDateTime
            last_success=last,
            last_interactive=last if not service_account else None,
            last_non_interactive=last,
        )
        add(user, parts)
        if not new_starter:
            registrations.append(make_registration(user, methods=methods, updated=days_ago(now, 1), is_admin=is_admin))
        if is_global_admin:
            admins.append((uid, upn, "Global Administrator"))
        elif is_other_admin:
            admins.append((uid, upn, ("Helpdesk Administrator", "User Administrator")[i % 2]))
        if disabled:
            wasted.update(parts)
            continue
        member_upns.append(upn)
        user_ids[upn] = uid
        if new_starter or not capable:
            registered_fail.add(upn)
        # per-user MFA "enabled" demands MFA at modern-authentication sign-ins too (howto-mfa-userstates)
        enforced = not breakglass and (not excluded or per_user.get(uid) in ("enforced", "enabled"))
        if not enforced:
            enforced_fail.add(upn)
        if is_admin and (not capable or not enforced):
            admins_fail.add(upn)
        if is_global_admin:
            global_admins.add(upn)
        if stale or never_used:
            inactive_fail.add(upn)
            wasted.update(parts)

    for j in range(n_guests):
        uid = stable_id("gen-guest", str(seed), str(j))
        first, surname = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        mail = f"{first.lower()}.{surname.lower()}{j}@partner{j % 50}.example"
        upn = mail.replace("@", "_") + f"#EXT#@{initial}"
        roll = rng.random()
        disabled = roll < 0.05
        stale = not disabled and roll < 0.25
        never = not disabled and 0.25 <= roll < 0.32
        young = rng.random() < 0.3 if never else False
        created_days = rng.uniform(3, 25) if young else rng.uniform(40, 1500)
        last_days = None if never else (rng.uniform(95, 900) if stale or disabled else rng.uniform(0.5, 80))
        if last_days is not None and last_days > created_days:
            created_days = last_days + 30
        last = days_ago(now, last_days) if last_days is not None else None
        user = make_user(
            user_id=uid,
            upn=upn,
            display_name=f"{first} {surname} (Partner)",
            created=days_ago(now, created_days),
            enabled=not disabled,
            user_type="Guest",
            mail=mail,
            last_success=last,
            last_interactive=last,
            last_non_interactive=last,
        )
        add(user, ())
        registrations.append(make_registration(user, methods=(), updated=days_ago(now, 1), sspr_enabled=False))
        if not disabled and (stale or (never and not young)):
            guests_fail.add(upn)

    # -- groups, roles, policies ----------------------------------------------------------------------------
    exclusion_group = stable_id("gen-group", str(seed), "exclusions")
    admin_group = stable_id("gen-group", str(seed), "it-admins")
    global_admin_ids = [a[0] for a in admins if a[2] == "Global Administrator"]
    groups: dict[str, JsonDict] = {
        exclusion_group: {"displayName": "CA Exclusions", "members": exclusions, "securityEnabled": True},
        # one Global Administrator holds the role both directly and through the group
        admin_group: {
            "displayName": "IT Admins",
            "members": global_admin_ids[-1:],
            "securityEnabled": True,
            "isAssignableToRole": True,
        },
    }
    role_assignments = [make_role_assignment(uid, role) for uid, _, role in admins]
    role_assignments.append(make_role_assignment(admin_group, "Global Administrator"))
    role_definitions = [make_role_definition(name) for name in ROLE_TEMPLATES]
    breakglass_id = stable_id("gen-user", str(seed), "0")
    created = days_ago(now, 400)
    ca_policies = [
        make_ca_policy(
            policy_id=stable_id("gen-ca", str(seed), "1"),
            name="CA001: Require MFA for all users",
            created=created,
            include_users=("All",),
            exclude_users=(breakglass_id,),
            exclude_groups=(exclusion_group,),
            built_in_controls=("mfa",),
        ),
        make_ca_policy(
            policy_id=stable_id("gen-ca", str(seed), "2"),
            name="CA002: Phishing-resistant MFA for administrators",
            created=created,
            include_roles=(
                GLOBAL_ADMIN,
                ROLE_TEMPLATES["Helpdesk Administrator"],
                ROLE_TEMPLATES["User Administrator"],
            ),
            exclude_users=(breakglass_id,),
            authentication_strength=auth_strength(AUTH_STRENGTH_PHISHING_RESISTANT, created),
        ),
        make_ca_policy(
            policy_id=stable_id("gen-ca", str(seed), "3"),
            name="CA003: MFA for excluded accounts (pilot)",
            created=created,
            state="enabledForReportingButNotEnforced",
            include_groups=(exclusion_group,),
            built_in_controls=("mfa",),
        ),
        make_ca_policy(
            policy_id=stable_id("gen-ca", str(seed), "4"),
            name="CA004: Block legacy authentication",
            created=created,
            state="enabled" if legacy_blocked else "enabledForReportingButNotEnforced",
            include_users=("All",),
            exclude_users=(breakglass_id,),
            client_app_types=("exchangeActiveSync", "other"),
            built_in_controls=("block",),
        ),
    ]

    # -- devices ------------------------------------------------------------------------------------------
    devices: list[JsonDict] = []
    os_fail: set[str] = set()
    patch_fail: set[str] = set()
    n_devices = (n_users * 4) // 5
    platforms = ("Windows",) * 12 + ("Android",) * 3 + ("iOS",) * 4 + ("macOS",)
    for k in range(n_devices):
        os_name = platforms[rng.randrange(len(platforms))]
        name = f"{os_name[:3].upper()}-{k:06d}"
        roll = rng.random()
        unsupported = roll < 0.08
        old_build = os_name == "Windows" and 0.08 <= roll < 0.12
        noncompliant = 0.12 <= roll < 0.16
        stale_sync = 0.16 <= roll < 0.19
        old_patch = os_name == "Android" and 0.19 <= roll < 0.34
        if unsupported:
            version = _END_OF_SUPPORT[os_name][rng.randrange(2)]
        elif old_build:
            version = _OLD_BUILD
        else:
            version = _GOOD[os_name][rng.randrange(len(_GOOD[os_name]))]
        compliance = "noncompliant" if (unsupported or noncompliant) else "compliant"
        synced = rng.uniform(35, 200) if stale_sync else rng.uniform(0.05, 20)
        patch_age = (
            rng.uniform(100, 500) if (old_patch or (unsupported and os_name == "Android")) else rng.uniform(5, 80)
        )
        owner = member_upns[rng.randrange(len(member_upns))] if member_upns else None
        device_id = stable_id("gen-device", str(seed), str(k))
        devices.append(
            {
                "@odata.type": "#microsoft.graph.managedDevice",
                "id": device_id,
                "deviceName": name,
                "managedDeviceOwnerType": "company" if os_name in ("Windows", "macOS") else "personal",
                "enrolledDateTime": graph_time(days_ago(now, synced + rng.uniform(30, 900))),
                "lastSyncDateTime": graph_time(days_ago(now, synced)),
                "operatingSystem": os_name,
                "complianceState": compliance,
                "osVersion": version,
                "userId": user_ids.get(owner) if owner else None,
                "userPrincipalName": owner,
                "emailAddress": owner,
                "model": {"Windows": "OptiPlex 7020", "Android": "Pixel 8", "iOS": "iPhone 15", "macOS": "MacBook Air"}[
                    os_name
                ],
                "manufacturer": {"Windows": "Dell Inc.", "Android": "Google", "iOS": "Apple", "macOS": "Apple"}[
                    os_name
                ],
                "androidSecurityPatchLevel": days_ago(now, patch_age).date().isoformat()
                if os_name == "Android"
                else None,
                "azureADDeviceId": device_id,
                "managementAgent": "mdm",
            }
        )
        if unsupported:
            os_fail.add(name)
        if unsupported or old_build or noncompliant or stale_sync or old_patch:
            patch_fail.add(name)

    # -- endpoint protection: a separate generator, so the devices above stay as they were for a given seed; about
    # 5% of devices unencrypted, 5% of Windows devices with real-time protection off, 5% of computers not onboarded
    # to Defender for Endpoint; no vulnerabilities
    erng = random.Random(f"hygiene-endpoint-{seed}")
    encrypted_fail: set[str] = set()
    edr_fail: set[str] = set()
    protection_states: dict[str, JsonDict] = {}
    machines: list[JsonDict] = []
    for device in devices:
        name, system = str(device["deviceName"]), str(device["operatingSystem"])
        device["isEncrypted"] = erng.random() >= 0.05
        if not device["isEncrypted"]:
            encrypted_fail.add(name)
        if system not in ("Windows", "macOS"):
            continue
        if system == "Windows":
            rtp_off = erng.random() < 0.05
            protection_states[str(device["id"])] = protection_state(now, realTimeProtectionEnabled=not rtp_off)
            if rtp_off:
                edr_fail.add(name)
        if erng.random() < 0.05:
            edr_fail.add(name)
        else:
            machines.append(make_machine(name, now, aad_device_id=str(device["azureADDeviceId"])))

    compliance_policies = [
        make_compliance_policy(stable_id("gen-cp", str(seed), os_name), odata, f"{os_name} minimum", created, minimum)
        for os_name, odata, minimum in (
            ("Windows", "#microsoft.graph.windows10CompliancePolicy", _MINIMUMS["Windows"]),
            ("Android", "#microsoft.graph.androidWorkProfileCompliancePolicy", _MINIMUMS["Android"]),
            ("iOS", "#microsoft.graph.iosCompliancePolicy", _MINIMUMS["iOS"]),
            ("macOS", "#microsoft.graph.macOSCompliancePolicy", _MINIMUMS["macOS"]),
        )
    ]
    # every policy is assigned to all devices (an unassigned policy applies to none)
    compliance_assignments = {str(p["id"]): [make_assignment(str(p["id"]), "allDevices")] for p in compliance_policies}
    skus = [
        make_sku(tenant_id, part, enabled=holders.get(part, 0) + 5, consumed=holders.get(part, 0))
        for part in (main, basic, service)
    ]

    def outcome(resources: set[str]) -> Expectation:
        return fails(*resources) if resources else passes()

    expected = {
        "m365.mfa.registered": outcome(registered_fail),
        "m365.mfa.enforced": outcome(enforced_fail),
        "m365.mfa.admins": outcome(admins_fail),
        "m365.mfa.legacy_auth_blocked": passes() if legacy_blocked else fails("tenant"),
        "m365.accounts.inactive": outcome(inactive_fail),
        "m365.accounts.guests_inactive": outcome(guests_fail),
        "m365.accounts.admin_count": passes() if 2 <= len(global_admins) <= 4 else fails("tenant"),
        "m365.licences.unused": outcome(wasted),
        "m365.devices.os_supported": outcome(os_fail),
        "m365.devices.patch_current": outcome(patch_fail),
        "m365.backup.enabled": fails("Exchange", "OneDrive", "SharePoint"),
        "m365.devices.encrypted": outcome(encrypted_fail),
        "m365.devices.edr_active": outcome(edr_fail)
        if any(d["operatingSystem"] in ("Windows", "macOS") for d in devices)
        else not_assessed(),
        "m365.devices.vulnerabilities": passes() if machines else not_assessed(),
        # no break-glass accounts declared; the sandbox's default consent settings and no app holding a Graph
        # application permission
        "m365.admins.break_glass": not_assessed(),
        "m365.apps.user_consent": passes(),
        "m365.apps.high_privilege": passes(),
    }
    scenario = Scenario(
        name=f"generated-{n_users}-{seed}",
        now=now,
        tenant_id=tenant_id,
        tenant_domain=domain,
        initial_domain=initial,
        organization_name=f"Generated Tenant {seed}",
        client_id=stable_id("gen-app", str(seed)),
        description=f"{n_users} accounts, {n_devices} devices, generated with seed {seed}",
        users=users,
        registrations=registrations,
        security_defaults_enabled=False,
        ca_policies=ca_policies,
        groups=groups,
        role_definitions=role_definitions,
        role_assignments=role_assignments,
        per_user_mfa=per_user,
        skus=skus,
        managed_devices=devices,
        protection_states=protection_states,
        defender_machines=machines,
        compliance_policies=compliance_policies,
        compliance_assignments=compliance_assignments,
        office365_activity={},
        expected=expected,
    )
    if google:
        scenario.google = generate_google(n_users, seed, now)
    return scenario
