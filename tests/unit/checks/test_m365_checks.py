"""Each M365 check's pass / fail / not_assessed paths, through the real source over `responses`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, ClassVar

import pytest
from conftest import SKU_E3
from graphfake import GLOBAL_ADMIN, USER_ADMIN, Tenant, iso, mfa_policy, registration, user

from hygiene.model import ReasonKind
from hygiene.policy import Attestation, ControlsFile, RiskException
from hygiene.results import CheckResult, Status

Scan = Callable[..., dict[str, CheckResult]]


def failing(result: CheckResult) -> set[str]:
    return {f.resource_name for f in result.findings}


def test_healthy_tenant_passes_every_check(tenant: Tenant, scan: Scan) -> None:
    results = scan(tenant)
    assert len(results) == 17
    # no break-glass accounts declared: that check alone cannot be judged
    assert {cid: r.status for cid, r in results.items() if r.status is not Status.PASS} == {
        "m365.admins.break_glass": Status.NOT_ASSESSED
    }
    assert results["m365.mfa.enforced"].assessed == 4  # members only, the guest is not counted
    assert results["m365.accounts.guests_inactive"].assessed == 1


def test_registration_gaps(tenant: Tenant, scan: Scan) -> None:
    tenant.registrations = [registration("alice"), registration("bob", capable=False), registration("carol")]
    result = scan(tenant)["m365.mfa.registered"]
    assert result.status is Status.FAIL
    assert failing(result) == {"bob@contoso.test", "dave@contoso.test"}
    assert result.assessed == 4


def test_disabled_users_are_not_assessed_for_mfa(tenant: Tenant, scan: Scan) -> None:
    tenant.users.append(user("leaver", enabled=False))
    results = scan(tenant)
    assert results["m365.mfa.registered"].status is Status.PASS
    assert results["m365.mfa.enforced"].assessed == 4


class TestEnforcementReconciliation:
    def test_security_defaults_enforce_without_policies(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = []
        tenant.security_defaults = True
        results = scan(tenant)
        assert results["m365.mfa.enforced"].status is Status.PASS
        assert results["m365.mfa.legacy_auth_blocked"].status is Status.PASS
        # no per-user MFA batch (beta); the v1.0 one reads the Windows device's antivirus state
        assert not any("authentication/requirements" in c or "/beta/$batch" in c for c in tenant.calls)

    def test_report_only_policy_does_not_count(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(state="enabledForReportingButNotEnforced")]
        result = scan(tenant)["m365.mfa.enforced"]
        assert result.status is Status.FAIL
        assert len(result.findings) == 4
        assert "registered but never demanded" in result.findings[0].detail

    def test_disabled_policy_does_not_count(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(state="disabled")]
        assert scan(tenant)["m365.mfa.enforced"].failing == 4

    def test_authentication_strength_with_empty_builtin_controls_counts(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(controls=[], strength="mfa")]
        assert scan(tenant)["m365.mfa.enforced"].status is Status.PASS

    def test_or_with_compliant_device_is_a_bypass(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(controls=["mfa", "compliantDevice"], operator="OR")]
        assert scan(tenant)["m365.mfa.enforced"].failing == 4

    def test_and_with_compliant_device_enforces(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(controls=["mfa", "compliantDevice"], operator="AND")]
        assert scan(tenant)["m365.mfa.enforced"].status is Status.PASS

    def test_policy_for_some_apps_only_does_not_count(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(apps=["00000002-0000-0ff1-ce00-000000000000"])]
        assert scan(tenant)["m365.mfa.enforced"].failing == 4

    def test_excluded_group_members_are_not_covered(self, tenant: Tenant, scan: Scan) -> None:
        tenant.groups = {"g-excluded": ["carol", "dave"]}
        tenant.ca_policies = [mfa_policy(exclude_groups=["g-excluded"])]
        result = scan(tenant)["m365.mfa.enforced"]
        assert failing(result) == {"carol@contoso.test", "dave@contoso.test"}

    def test_excluded_user(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(exclude_users=["bob"])]
        assert failing(scan(tenant)["m365.mfa.enforced"]) == {"bob@contoso.test"}

    def test_included_group_is_resolved_transitively(self, tenant: Tenant, scan: Scan) -> None:
        tenant.groups = {"g-staff": ["alice", "carol"]}
        tenant.ca_policies = [mfa_policy(include_users=[], include_groups=["g-staff"])]
        assert failing(scan(tenant)["m365.mfa.enforced"]) == {"bob@contoso.test", "dave@contoso.test"}

    def test_role_targets_cover_role_holders(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(include_users=[], include_roles=[GLOBAL_ADMIN])]
        results = scan(tenant)
        assert failing(results["m365.mfa.enforced"]) == {"carol@contoso.test", "dave@contoso.test"}
        assert results["m365.mfa.admins"].status is Status.PASS

    @pytest.mark.parametrize(
        ("conditions", "label"),
        [
            ({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}, "locations"),
            ({"platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}}, "device platforms"),
            ({"signInRiskLevels": ["high", "medium"]}, "sign-in risk"),
            ({"userRiskLevels": ["high"]}, "user risk"),
            (
                {"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.isCompliant -eq True"}}},
                "device filter",
            ),
        ],
    )
    def test_conditional_policies_do_not_enforce_everywhere(
        self, tenant: Tenant, scan: Scan, conditions: dict[str, Any], label: str
    ) -> None:
        policy = mfa_policy("mfa-sometimes")
        policy["conditions"].update(conditions)
        tenant.ca_policies = [policy]
        result = scan(tenant)["m365.mfa.enforced"]
        assert result.failing == 4
        assert f"not counted: mfa-sometimes: only under conditions: {label}" in result.findings[0].detail

    def test_all_locations_without_exclusions_still_counts(self, tenant: Tenant, scan: Scan) -> None:
        policy = mfa_policy()
        policy["conditions"]["locations"] = {"includeLocations": ["All"], "excludeLocations": []}
        policy["conditions"]["platforms"] = {"includePlatforms": ["all"], "excludePlatforms": []}
        tenant.ca_policies = [policy]
        assert scan(tenant)["m365.mfa.enforced"].status is Status.PASS

    def test_findings_explain_lookalike_policies(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [
            mfa_policy("ro", state="enabledForReportingButNotEnforced"),
            mfa_policy("either", controls=["mfa", "compliantDevice"], operator="OR"),
        ]
        detail = scan(tenant)["m365.mfa.enforced"].findings[0].detail
        assert "ro: report-only" in detail and "either: MFA is one alternative among others" in detail

    def test_per_user_enforced_counts_and_is_read_only_for_uncovered_users(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(exclude_users=["bob", "carol", "dave"])]
        tenant.per_user = {"carol": "enforced", "dave": "enabled"}
        result = scan(tenant)["m365.mfa.enforced"]
        assert failing(result) == {"bob@contoso.test"}
        assert result.note is not None and "1 by per-user MFA 'enforced' (every sign-in, except from" in result.note
        batch_calls = [c for c in tenant.calls if "/beta/$batch" in c]
        assert len(batch_calls) == 1

    def test_per_user_enabled_challenges_modern_authentication_and_says_so(self, tenant: Tenant, scan: Scan) -> None:
        """Per-user MFA 'enabled' already demands MFA at modern-authentication sign-ins (Learn: howto-mfa-userstates);
        the note says legacy protocols still take the password."""
        tenant.ca_policies = [mfa_policy(exclude_users=["dave"])]
        tenant.per_user = {"dave": "enabled"}
        result = scan(tenant)["m365.mfa.enforced"]
        assert result.status is Status.PASS
        assert result.note is not None and "1 by per-user MFA 'enabled'" in result.note
        assert "legacy protocols still take the password alone" in result.note
        assert result.reservation is None


class TestSecurityDefaultsGuarantee:
    """Security defaults require MFA of the administrator roles they name at every sign-in, and of everyone else
    only "when necessary" (https://learn.microsoft.com/entra/fundamentals/security-defaults)."""

    def test_members_are_reported_as_when_necessary_with_a_reservation(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = []
        tenant.security_defaults = True
        result = scan(tenant)["m365.mfa.enforced"]
        assert result.status is Status.PASS
        assert result.note is not None and "2 with MFA at every sign-in" in result.note  # the two Global Admins
        assert "2 by security defaults only (MFA 'when necessary'" in result.note
        assert result.reservation is not None and "2 of 4 members" in result.reservation

    def test_admin_in_a_role_security_defaults_do_not_name_fails(self, tenant: Tenant, scan: Scan) -> None:
        global_reader = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
        tenant.ca_policies = []
        tenant.security_defaults = True
        tenant.role_assignments.append(("carol", global_reader, "user"))
        result = scan(tenant)["m365.mfa.admins"]
        assert failing(result) == {"carol@contoso.test"}
        assert "MFA only 'when necessary'" in result.findings[0].detail


def test_admins_without_mfa(tenant: Tenant, scan: Scan) -> None:
    tenant.role_assignments.append(("g-helpdesk", USER_ADMIN, "group"))
    tenant.groups = {"g-helpdesk": ["carol"]}
    tenant.registrations = [
        registration("alice"),
        registration("bob"),
        registration("carol", capable=False),
        registration("dave"),
    ]
    tenant.ca_policies = [mfa_policy(exclude_users=["bob"])]
    result = scan(tenant)["m365.mfa.admins"]
    assert result.status is Status.FAIL
    assert result.severity == "critical"
    assert result.assessed == 3
    details = {f.resource_name: f.detail for f in result.findings}
    assert set(details) == {"bob@contoso.test", "carol@contoso.test"}
    assert details["bob@contoso.test"].startswith("MFA not enforced")
    assert "User Administrator" in details["carol@contoso.test"]


class TestLegacyAuth:
    def test_no_block_policy_fails(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy()]
        result = scan(tenant)["m365.mfa.legacy_auth_blocked"]
        assert result.status is Status.FAIL and failing(result) == {"tenant"}

    def test_report_only_block_fails_and_is_named(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [
            mfa_policy(),
            mfa_policy(
                "legacy",
                state="enabledForReportingButNotEnforced",
                controls=["block"],
                client_types=["exchangeActiveSync", "other"],
            ),
        ]
        result = scan(tenant)["m365.mfa.legacy_auth_blocked"]
        assert result.status is Status.FAIL and "legacy" in result.findings[0].detail

    def test_block_of_only_one_legacy_client_fails(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies = [mfa_policy(), mfa_policy("eas", controls=["block"], client_types=["exchangeActiveSync"])]
        assert scan(tenant)["m365.mfa.legacy_auth_blocked"].status is Status.FAIL


class TestStaleAccounts:
    def test_inactive_and_never_used(self, tenant: Tenant, scan: Scan) -> None:
        tenant.users += [
            user("old", signin=120),
            user("ghost", signin=None, created=45),
            user("newbie", signin=None, created=5),
        ]
        result = scan(tenant)["m365.accounts.inactive"]
        assert failing(result) == {"old@contoso.test", "ghost@contoso.test"}
        assert "never signed in" in next(f.detail for f in result.findings if f.resource_name.startswith("ghost"))

    def test_failed_attempts_are_not_use(self, tenant: Tenant, scan: Scan) -> None:
        """lastSignInDateTime / lastNonInteractiveSignInDateTime record attempts, failed ones too; only
        lastSuccessfulSignInDateTime (recorded since December 2023) is access (Learn: signInActivity)."""
        stale = user("stale", signin=200, skus=(SKU_E3,))
        stale["signInActivity"]["lastSignInDateTime"] = iso(1)  # a password spray: failed attempt yesterday
        sprayed = user("sprayed", signin=None, skus=(SKU_E3,))
        sprayed["signInActivity"]["lastSignInDateTime"] = iso(1)  # attempts only, never a success
        background = user("background", signin=None)
        background["signInActivity"]["lastNonInteractiveSignInDateTime"] = iso(3)
        fresh = user("fresh", signin=None, created=5)
        fresh["signInActivity"]["lastSignInDateTime"] = iso(1)  # a new account mistyping its password: grace
        tenant.users += [stale, sprayed, background, fresh]
        results = scan(tenant)
        result = results["m365.accounts.inactive"]
        assert failing(result) == {"stale@contoso.test", "sprayed@contoso.test", "background@contoso.test"}
        details = {f.resource_name: f.detail for f in result.findings}
        assert "failed sign-in attempts since, last" in details["stale@contoso.test"]
        assert "failed sign-in attempts only, last attempt" in details["sprayed@contoso.test"]
        assert "no successful sign-in recorded since 1 December 2023" in details["sprayed@contoso.test"]
        assert result.note is not None and "successful sign-ins only" in result.note
        wasted = results["m365.licences.unused"]
        assert wasted.status is Status.FAIL and "sprayed@contoso.test" in wasted.findings[0].detail

    def test_attempt_before_success_recording_began_is_not_called_failed(self, tenant: Tenant, scan: Scan) -> None:
        old = user("old", signin=None)
        old["signInActivity"]["lastSignInDateTime"] = "2023-06-01T09:00:00Z"
        tenant.users.append(old)
        result = scan(tenant)["m365.accounts.inactive"]
        assert failing(result) == {"old@contoso.test"}
        assert "last sign-in attempt 2023-06-01, before that" in result.findings[0].detail

    def test_guest_with_failed_attempts_only_is_stale(self, tenant: Tenant, scan: Scan) -> None:
        guest = user("spraytarget", guest=True, signin=None)
        guest["signInActivity"]["lastSignInDateTime"] = iso(2)
        tenant.users.append(guest)
        assert failing(scan(tenant)["m365.accounts.guests_inactive"]) == {"spraytarget@contoso.test"}

    def test_unknown_creation_date_and_no_sign_in_is_stale(self, tenant: Tenant, scan: Scan) -> None:
        """createdDateTime is null for some accounts created before June 2018: never a silent pass."""
        old = user("old2017", signin=None)
        old["createdDateTime"] = None
        tenant.users.append(old)
        result = scan(tenant)["m365.accounts.inactive"]
        assert failing(result) == {"old2017@contoso.test"}
        assert "creation date unknown" in result.findings[0].detail

    def test_threshold_comes_from_the_profile(self, tenant: Tenant, scan: Scan) -> None:
        tenant.users.append(user("sixty", signin=60))
        assert scan(tenant)["m365.accounts.inactive"].status is Status.PASS
        assert failing(scan(tenant, profile="cis-ig1")["m365.accounts.inactive"]) == {"sixty@contoso.test"}

    def test_guests(self, tenant: Tenant, scan: Scan) -> None:
        tenant.users += [user("oldguest", guest=True, signin=100), user("newguest", guest=True, signin=None, created=3)]
        result = scan(tenant)["m365.accounts.guests_inactive"]
        assert failing(result) == {"oldguest@contoso.test"}
        assert result.assessed == 3


class TestAdminCount:
    def test_single_global_admin_fails(self, tenant: Tenant, scan: Scan) -> None:
        tenant.role_assignments = [("alice", GLOBAL_ADMIN, "user")]
        result = scan(tenant)["m365.accounts.admin_count"]
        assert result.status is Status.FAIL and "1 Global Administrators" in result.findings[0].detail

    def test_group_assigned_admins_are_counted(self, tenant: Tenant, scan: Scan) -> None:
        tenant.role_assignments = [("g-admins", GLOBAL_ADMIN, "group")]
        tenant.groups = {"g-admins": ["alice", "bob", "carol", "dave", "guest1"]}
        result = scan(tenant)["m365.accounts.admin_count"]
        assert result.status is Status.FAIL and "5 Global Administrators" in result.findings[0].detail

    def test_disabled_admins_do_not_count(self, tenant: Tenant, scan: Scan) -> None:
        tenant.users[1]["accountEnabled"] = False
        assert scan(tenant)["m365.accounts.admin_count"].status is Status.FAIL


def test_unused_licences_with_cost(tenant: Tenant, scan: Scan) -> None:
    from conftest import SKU_E3

    tenant.users += [user("leaver", enabled=False, skus=(SKU_E3,)), user("idle", signin=200, skus=(SKU_E3,))]
    result = scan(tenant)["m365.licences.unused"]
    assert result.status is Status.FAIL
    finding = result.findings[0]
    assert finding.resource_name == "SPE_E3"
    assert finding.data == {"sku": "SPE_E3", "count": 2, "monthly_cost": 61.6, "currency": "GBP"}


class TestDevices:
    def device(self, name: str, os: str, version: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": name,
            "deviceName": name,
            "operatingSystem": os,
            "osVersion": version,
            "complianceState": "compliant",
            "lastSyncDateTime": iso(1),
            **extra,
        }

    def test_unsupported_os(self, tenant: Tenant, scan: Scan) -> None:
        tenant.devices = [
            self.device("W10", "Windows", "10.0.19045.5000"),
            self.device("W11", "Windows", "10.0.26200.1"),
            self.device("OLDPHONE", "Android", "12"),
            self.device("IPHONE", "iOS", "18.2"),
            self.device("ODD", "Windows", ""),
        ]
        result = scan(tenant)["m365.devices.os_supported"]
        assert failing(result) == {"W10", "OLDPHONE"}
        assert "2025-10-14" in next(f.detail for f in result.findings if f.resource_name == "W10")
        assert result.assessed == 4 and "1 device" in (result.note or "")

    def test_patch_currency(self, tenant: Tenant, scan: Scan) -> None:
        tenant.devices = [
            self.device("OK", "Windows", "10.0.26200.7000"),
            self.device("BEHIND", "Windows", "10.0.26100.3000"),
            self.device("NONCOMPLIANT", "Windows", "10.0.26200.7000", complianceState="noncompliant"),
            self.device("LOST", "Windows", "10.0.26200.7000", lastSyncDateTime=iso(45)),
            self.device(
                "PHONE", "Android", "14", androidSecurityPatchLevel=(date.today() - timedelta(days=200)).isoformat()
            ),
            self.device(
                "NEWPHONE", "Android", "15", androidSecurityPatchLevel=(date.today() - timedelta(days=20)).isoformat()
            ),
        ]
        result = scan(tenant)["m365.devices.patch_current"]
        assert failing(result) == {"BEHIND", "NONCOMPLIANT", "LOST", "PHONE"}
        assert "compliance policy 'Windows baseline'" in next(
            f.detail for f in result.findings if f.resource_name == "BEHIND"
        )

    def test_no_intune_licence_is_not_assessed(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["/deviceManagement/"] = (400, "BadRequest", "Request not applicable to target tenant.")
        results = scan(tenant)
        for check_id in ("m365.devices.os_supported", "m365.devices.patch_current"):
            assert results[check_id].status is Status.NOT_ASSESSED
            assert results[check_id].reason_kind == "licence"


def _target(kind: str, group: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind}AssignmentTarget"}
    if group is not None:
        target["groupId"] = group
    return {"id": f"{kind}-{group}", "target": target}


class TestComplianceAssignments:
    """A compliance policy's minimum OS applies only to the devices it is assigned to."""

    @staticmethod
    def pc(name: str, user_id: str | None, version: str = "10.0.26200.7000", aad: str | None = None) -> dict[str, Any]:
        return {
            "id": name,
            "deviceName": name,
            "operatingSystem": "Windows",
            "osVersion": version,
            "complianceState": "compliant",
            "lastSyncDateTime": iso(1),
            "userId": user_id,
            "azureADDeviceId": aad or f"aad-{name}",
        }

    @staticmethod
    def pilot(tenant: Tenant, *assignments: dict[str, Any]) -> None:
        tenant.compliance_policies.append(
            {
                "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
                "id": "cp-pilot",
                "displayName": "Windows pilot",
                "osMinimumVersion": "10.0.26200.7309",
            }
        )
        tenant.compliance_assignments["cp-pilot"] = list(assignments)
        tenant.devices = [
            TestComplianceAssignments.pc("ALICE-PC", "alice"),
            TestComplianceAssignments.pc("BOB-PC", "bob"),
            TestComplianceAssignments.pc("KIOSK", None),
        ]

    def patch(self, tenant: Tenant, scan: Scan) -> CheckResult:
        return scan(tenant)["m365.devices.patch_current"]

    def test_pilot_policy_applies_to_its_group_only(self, tenant: Tenant, scan: Scan) -> None:
        tenant.groups["pilot"] = ["alice"]
        self.pilot(tenant, _target("group", "pilot"))
        result = self.patch(tenant, scan)
        assert failing(result) == {"ALICE-PC"}
        assert "below minimum 10.0.26200.7309 (compliance policy 'Windows pilot')" in result.findings[0].detail
        assert any("$expand=assignments" in c for c in tenant.calls)

    def test_user_group_exclusion(self, tenant: Tenant, scan: Scan) -> None:
        tenant.groups["deferred"] = ["bob"]
        self.pilot(tenant, _target("allLicensedUsers"), _target("exclusionGroup", "deferred"))
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC"}  # the kiosk has no user: not targeted

    def test_device_group(self, tenant: Tenant, scan: Scan) -> None:
        tenant.group_devices["pilot-devices"] = ["aad-BOB-PC"]
        self.pilot(tenant, _target("group", "pilot-devices"))
        assert failing(self.patch(tenant, scan)) == {"BOB-PC"}

    def test_device_exclusion_does_not_undo_a_user_group(self, tenant: Tenant, scan: Scan) -> None:
        tenant.groups["pilot"] = ["alice"]
        tenant.group_devices["no-pilot"] = ["aad-ALICE-PC"]
        self.pilot(tenant, _target("group", "pilot"), _target("exclusionGroup", "no-pilot"))
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC"}

    def test_unassigned_policy_applies_nowhere(self, tenant: Tenant, scan: Scan) -> None:
        self.pilot(tenant)
        assert self.patch(tenant, scan).status is Status.PASS

    @pytest.mark.parametrize("case", ["unreadable group", "device members without deviceId", "collection"])
    def test_what_cannot_be_resolved_applies_to_every_device(self, tenant: Tenant, scan: Scan, case: str) -> None:
        if case == "unreadable group":
            tenant.errors["/groups/pilot/"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
            self.pilot(tenant, _target("group", "pilot"))
        elif case == "device members without deviceId":
            tenant.group_devices["pilot"] = [None]
            self.pilot(tenant, _target("group", "pilot"))
        else:
            self.pilot(
                tenant,
                {
                    "id": "c",
                    "target": {
                        "@odata.type": "#microsoft.graph.configurationManagerCollectionAssignmentTarget",
                        "collectionId": "X",
                    },
                },
            )
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC", "BOB-PC", "KIOSK"}

    def test_assignments_read_per_policy_when_expand_is_not_honoured(self, tenant: Tenant, scan: Scan) -> None:
        tenant.expand_assignments = False
        tenant.groups["pilot"] = ["alice"]
        self.pilot(tenant, _target("group", "pilot"))
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC"}
        assert any("/deviceCompliancePolicies/cp-pilot/assignments" in c for c in tenant.calls)

    def test_expand_refused_falls_back_to_per_policy_reads(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["$expand=assignments"] = (400, "BadRequest", "Invalid $expand")
        tenant.groups["pilot"] = ["alice"]
        self.pilot(tenant, _target("group", "pilot"))
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC"}
        assert any(c.endswith("/deviceCompliancePolicies/cp-pilot/assignments") for c in tenant.calls)

    def test_device_id_refused_in_select_keeps_user_members(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["$select=id,deviceId"] = (400, "Request_BadRequest", "Could not find a property 'deviceId'")
        tenant.groups["pilot"] = ["alice"]
        self.pilot(tenant, _target("group", "pilot"))
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC"}
        assert any("/groups/pilot/transitiveMembers?$select=id&" in c for c in tenant.calls)
        tenant.group_devices["pilot"] = ["aad-BOB-PC"]  # device members, unidentifiable: every device
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC", "BOB-PC", "KIOSK"}

    def test_unreadable_assignments_apply_to_every_device(self, tenant: Tenant, scan: Scan) -> None:
        tenant.expand_assignments = False
        tenant.errors["/cp-pilot/assignments"] = (403, "Forbidden", "denied")
        self.pilot(tenant, _target("group", "pilot"))
        assert failing(self.patch(tenant, scan)) == {"ALICE-PC", "BOB-PC", "KIOSK"}


def _guests(types: str, *, tenants: dict[str, Any] | None = None) -> dict[str, Any]:
    """conditionalAccessGuestsOrExternalUsers as Graph sends it: the flags as one comma-separated string."""
    return {
        "guestOrExternalUserTypes": types,
        "externalTenants": tenants
        or {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"},
    }


class TestGuestsAndExternalUsers:
    """conditions.users.include/excludeGuestsOrExternalUsers: a B2B guest admin is not covered by a policy for All
    users that excludes B2B collaboration guests."""

    @staticmethod
    def guest_admin(tenant: Tenant, **kwargs: Any) -> None:
        tenant.users.append(user("gina", guest=True, **kwargs))
        tenant.registrations.append(registration("gina"))
        tenant.role_assignments.append(("gina", GLOBAL_ADMIN, "user"))

    def test_excluded_b2b_guest_admin_is_not_covered(self, tenant: Tenant, scan: Scan) -> None:
        self.guest_admin(tenant)
        tenant.ca_policies[0]["conditions"]["users"]["excludeGuestsOrExternalUsers"] = _guests(
            "internalGuest,b2bCollaborationGuest"
        )
        result = scan(tenant)["m365.mfa.admins"]
        assert failing(result) == {"gina@contoso.test"}
        assert "excludes guest or external user types" in result.findings[0].detail
        assert "b2bCollaborationGuest" in result.findings[0].detail

    def test_exclusion_of_another_type_still_covers(self, tenant: Tenant, scan: Scan) -> None:
        self.guest_admin(tenant)
        tenant.ca_policies[0]["conditions"]["users"]["excludeGuestsOrExternalUsers"] = _guests("serviceProvider")
        assert scan(tenant)["m365.mfa.admins"].status is Status.PASS

    def test_a_guest_that_cannot_be_told_apart_is_not_covered(self, tenant: Tenant, scan: Scan) -> None:
        self.guest_admin(tenant)
        for field in ("externalUserState", "creationType", "identities"):
            tenant.users[-1].pop(field)
        tenant.ca_policies[0]["conditions"]["users"]["excludeGuestsOrExternalUsers"] = _guests("internalGuest")
        result = scan(tenant)["m365.mfa.admins"]
        assert failing(result) == {"gina@contoso.test"}
        assert "possibly" in result.findings[0].detail

    def test_internal_guest_is_not_reached_by_a_b2b_exclusion(self, tenant: Tenant, scan: Scan) -> None:
        self.guest_admin(tenant, external=False)
        tenant.ca_policies[0]["conditions"]["users"]["excludeGuestsOrExternalUsers"] = _guests("b2bCollaborationGuest")
        assert scan(tenant)["m365.mfa.admins"].status is Status.PASS

    def test_unknown_type_in_an_exclusion_is_not_covered(self, tenant: Tenant, scan: Scan) -> None:
        self.guest_admin(tenant)
        tenant.ca_policies[0]["conditions"]["users"]["excludeGuestsOrExternalUsers"] = _guests("unknownFutureValue")
        assert failing(scan(tenant)["m365.mfa.admins"]) == {"gina@contoso.test"}

    def test_b2b_member_is_excluded_like_a_guest(self, tenant: Tenant, scan: Scan) -> None:
        tenant.users[3] = user("dave", external=True)
        tenant.ca_policies[0]["conditions"]["users"]["excludeGuestsOrExternalUsers"] = _guests("b2bCollaborationMember")
        result = scan(tenant)["m365.mfa.enforced"]
        assert failing(result) == {"dave@contoso.test"}
        assert "b2bCollaborationMember" in result.findings[0].detail

    def test_legacy_guests_value_excludes_b2b_members_too(self, tenant: Tenant, scan: Scan) -> None:
        tenant.users[3] = user("dave", external=True)
        tenant.ca_policies[0]["conditions"]["users"]["excludeUsers"] = ["GuestsOrExternalUsers"]
        assert failing(scan(tenant)["m365.mfa.enforced"]) == {"dave@contoso.test"}

    def test_included_guest_types_cover_only_a_positive_match(self, tenant: Tenant, scan: Scan) -> None:
        self.guest_admin(tenant)
        guests_policy = mfa_policy("guests-mfa", include_users=[])
        guests_policy["conditions"]["users"]["includeGuestsOrExternalUsers"] = _guests("b2bCollaborationGuest")
        tenant.ca_policies[0]["conditions"]["users"]["excludeUsers"] = ["gina"]
        tenant.ca_policies.append(guests_policy)
        assert scan(tenant)["m365.mfa.admins"].status is Status.PASS
        # enumerated tenants: the guest's home tenant is not visible in Graph, so it is not a positive match
        guests_policy["conditions"]["users"]["includeGuestsOrExternalUsers"] = _guests(
            "b2bCollaborationGuest",
            tenants={
                "@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
                "membershipKind": "enumerated",
                "members": ["99999999-0000-0000-0000-000000000000"],
            },
        )
        assert failing(scan(tenant)["m365.mfa.admins"]) == {"gina@contoso.test"}


class TestApplicationFilter:
    """conditions.applications.applicationFilter: the policy reaches only the apps a filter selects."""

    FILTER: ClassVar[dict[str, str]] = {"mode": "exclude", "rule": 'CustomSecurityAttribute.Apps_Tier -eq "Low"'}

    def test_mfa_policy_with_an_application_filter_does_not_count(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies[0]["conditions"]["applications"]["applicationFilter"] = self.FILTER
        result = scan(tenant)["m365.mfa.enforced"]
        assert result.failing == 4
        assert "require-mfa: only the apps an application filter selects (exclude mode)" in result.findings[0].detail

    def test_legacy_block_with_an_application_filter_does_not_count(self, tenant: Tenant, scan: Scan) -> None:
        tenant.ca_policies[1]["conditions"]["applications"]["applicationFilter"] = self.FILTER
        assert scan(tenant)["m365.mfa.legacy_auth_blocked"].status is Status.FAIL


class TestBackup:
    def test_disabled_fails_for_each_workload(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_status = "disabled"
        result = scan(tenant)["m365.backup.enabled"]
        assert failing(result) == {"Exchange", "OneDrive", "SharePoint"}

    def test_inactive_workload_policy(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_policies["sharePointProtectionPolicies"][0]["status"] = "activeWithErrors"
        assert failing(scan(tenant)["m365.backup.enabled"]) == {"SharePoint"}

    @pytest.mark.parametrize(
        ("status", "words"),
        [
            ("restoreLocked", "no restore can be performed"),
            ("protectionChangeLocked", "no protection can be added or changed"),
        ],
    )
    def test_locked_service_fails_even_with_active_policies(
        self, tenant: Tenant, scan: Scan, status: str, words: str
    ) -> None:
        tenant.backup_status = status
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.FAIL
        assert failing(result) == {"Exchange", "OneDrive", "SharePoint"}
        assert all(status in f.detail and words in f.detail for f in result.findings)

    @pytest.mark.parametrize("status", ["unknownFutureValue", "someNewStatus"])
    def test_unknown_service_status_is_never_a_pass(self, tenant: Tenant, scan: Scan, status: str) -> None:
        tenant.backup_status = status
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind == "api_gap"
        assert status in (result.reason or "")

    def test_disable_reason_is_named(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_status = "disabled"
        tenant.backup_disable_reason = "invalidBillingProfile"
        result = scan(tenant)["m365.backup.enabled"]
        assert "invalidBillingProfile" in result.findings[0].detail

    def test_active_with_errors_fails_even_beside_an_active_policy(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_policies["exchangeProtectionPolicies"].append(
            {"id": "ex-2", "displayName": "Directors", "status": "activeWithErrors"}
        )
        result = scan(tenant)["m365.backup.enabled"]
        assert failing(result) == {"Exchange"}
        assert "Directors: activeWithErrors (some units protected, others unprotected)" in result.findings[0].detail

    def test_updating_is_not_a_pass(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_policies["sharePointProtectionPolicies"][0]["status"] = "updating"
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.NOT_ASSESSED
        assert "SharePoint" in (result.reason or "") and "changes pending" in (result.reason or "")
        assert result.assessed == 2

    def test_updating_beside_a_failure_still_fails(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_policies["sharePointProtectionPolicies"][0]["status"] = "updating"
        tenant.backup_policies["exchangeProtectionPolicies"][0]["status"] = "unknownFutureValue"
        tenant.backup_policies["oneDriveForBusinessProtectionPolicies"][0]["status"] = "inactive"
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.FAIL and failing(result) == {"OneDrive"}
        assert "SharePoint" in (result.note or "") and "Exchange" in (result.note or "")

    def test_403_with_the_permissions_granted_names_the_backup_controller(self, tenant: Tenant, scan: Scan) -> None:
        tenant.roles = ["User.Read.All", "BackupRestore-Control.Read.All", "BackupRestore-Configuration.Read.All"]
        tenant.errors["/solutions/backupRestore"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind == "api_gap"
        assert "Backup Controller" in (result.reason or "")
        assert "grant" not in (result.reason or "").lower()

    def test_403_without_the_permission_asks_for_it(self, tenant: Tenant, scan: Scan) -> None:
        tenant.roles = ["User.Read.All", "BackupRestore-Configuration.Read.All"]
        tenant.errors["/solutions/backupRestore"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind == "permission"
        assert "grant BackupRestore-Control.Read.All" in (result.reason or "")
        assert "Backup Controller" not in (result.reason or "")

    def test_permission_missing_is_not_assessed(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["/solutions/backupRestore"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
        result = scan(tenant)["m365.backup.enabled"]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind == "permission"
        assert "BackupRestore-Control.Read.All" in (result.reason or "")

    def test_attestation_passes_as_attested_even_without_the_api(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["/solutions/backupRestore"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
        controls = ControlsFile(
            attestations=[
                Attestation(
                    id="ATT-1",
                    check="m365.backup.enabled",
                    statement="Daily Acme Backup of all mailboxes and sites",
                    date=date.today() - timedelta(days=30),
                    attested_by="it@contoso.test",
                )
            ]
        )
        result = scan(tenant, controls=controls)["m365.backup.enabled"]
        assert result.status is Status.PASS and result.basis == "attested"
        assert result.attestation_ids == ["ATT-1"]

    def test_expired_attestation_is_ignored(self, tenant: Tenant, scan: Scan) -> None:
        tenant.backup_status = "disabled"
        controls = ControlsFile(
            attestations=[
                Attestation(
                    id="ATT-1",
                    check="m365.backup.enabled",
                    statement="old",
                    date=date.today() - timedelta(days=400),
                    attested_by="it",
                    expires=date.today() - timedelta(days=35),
                )
            ]
        )
        assert scan(tenant, controls=controls)["m365.backup.enabled"].status is Status.FAIL


class TestExceptions:
    def test_active_exception_accepts_listed_resources_only(self, tenant: Tenant, scan: Scan) -> None:
        tenant.registrations = [registration("alice"), registration("bob")]
        exc = RiskException(
            id="EXC-1",
            check="m365.mfa.registered",
            resources=["carol@contoso.test"],
            reason="r",
            owner="o",
            approved_by="a",
            expires=date.today() + timedelta(days=10),
        )
        result = scan(tenant, controls=ControlsFile(exceptions=[exc]))["m365.mfa.registered"]
        assert result.status is Status.FAIL and result.accepted == 1
        assert {f.resource_name: f.accepted_by for f in result.findings} == {
            "carol@contoso.test": "EXC-1",
            "dave@contoso.test": None,
        }

    def test_all_covered_is_accepted(self, tenant: Tenant, scan: Scan) -> None:
        tenant.registrations = [registration(u) for u in ("alice", "bob", "carol")]
        exc = RiskException(
            id="EXC-1",
            check="m365.mfa.registered",
            reason="r",
            owner="o",
            approved_by="a",
            expires=date.today() + timedelta(days=10),
        )
        assert scan(tenant, controls=ControlsFile(exceptions=[exc]))["m365.mfa.registered"].status is Status.ACCEPTED

    def test_expired_exception_is_not_applied(self, tenant: Tenant, scan: Scan) -> None:
        tenant.registrations = [registration(u) for u in ("alice", "bob", "carol")]
        exc = RiskException(
            id="EXC-1",
            check="m365.mfa.registered",
            reason="r",
            owner="o",
            approved_by="a",
            expires=date.today() - timedelta(days=1),
        )
        assert scan(tenant, controls=ControlsFile(exceptions=[exc]))["m365.mfa.registered"].status is Status.FAIL


class TestNotAssessed:
    def test_missing_permission_names_it(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["/reports/authenticationMethods"] = (
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges",
        )
        # the per-user fallback is refused too
        tenant.errors["/authentication/methods"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
        results = scan(tenant)
        result = results["m365.mfa.registered"]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind == "permission"
        assert "AuditLog.Read.All" in result.permissions
        assert results["m365.mfa.enforced"].status is Status.PASS  # other data unaffected
        assert results["m365.mfa.admins"].status is Status.NOT_ASSESSED

    def test_policies_unreadable(self, tenant: Tenant, scan: Scan) -> None:
        tenant.errors["/identity/conditionalAccess"] = (403, "Authorization_RequestDenied", "denied")
        results = scan(tenant)
        for check_id in ("m365.mfa.enforced", "m365.mfa.legacy_auth_blocked", "m365.mfa.admins"):
            assert results[check_id].status is Status.NOT_ASSESSED, check_id
        assert "Policy.Read.All" in results["m365.mfa.enforced"].permissions


GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"


class TestEligibleAdmins:
    """PIM: principals eligible for a role can activate it whenever they want; they are administrators
    (GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances, Entra ID P2 or Governance)."""

    def test_eligible_global_admin_without_mfa_is_found_and_counted(self, tenant: Tenant, scan: Scan) -> None:
        tenant.eligibilities = [("carol", GLOBAL_ADMIN, "user")]
        tenant.registrations = [registration("alice"), registration("bob"), registration("carol", capable=False),
                                registration("dave")]  # fmt: skip
        results = scan(tenant)
        admins = results["m365.mfa.admins"]
        assert failing(admins) == {"carol@contoso.test"}
        assert "roles: Global Administrator (eligible, PIM)" in admins.findings[0].detail
        assert admins.assessed == 3 and "1 eligible only (PIM)" in (admins.note or "")
        assert "enforcement: 3 with MFA at every sign-in" in (admins.note or "")
        count = results["m365.accounts.admin_count"]
        assert count.status is Status.PASS and (count.note or "").startswith(
            "3 Global Administrators (2 standing, 1 eligible through PIM);"
        )
        assert any("roleEligibilityScheduleInstances" in c for c in tenant.calls)

    def test_eligible_admins_push_the_count_over_the_limit(self, tenant: Tenant, scan: Scan) -> None:
        tenant.eligibilities = [(u, GLOBAL_ADMIN, "user") for u in ("carol", "dave", "guest1")]
        result = scan(tenant)["m365.accounts.admin_count"]
        assert result.status is Status.FAIL
        assert "5 Global Administrators" in result.findings[0].detail
        assert "carol@contoso.test (eligible, PIM)" in result.findings[0].detail

    def test_eligible_through_a_role_assignable_group(self, tenant: Tenant, scan: Scan) -> None:
        tenant.eligibilities = [("g-pim", GLOBAL_READER, "group")]
        tenant.groups = {"g-pim": ["dave"]}
        tenant.ca_policies = [mfa_policy(exclude_users=["dave"])]
        result = scan(tenant)["m365.mfa.admins"]
        assert failing(result) == {"dave@contoso.test"}
        assert "MFA not enforced" in result.findings[0].detail
        assert any("/groups/g-pim/transitiveMembers" in c for c in tenant.calls)

    def test_pim_for_groups_eligible_member_of_a_role_holding_group(self, tenant: Tenant, scan: Scan) -> None:
        """PIM for Groups: dave can activate membership of a group that holds Global Administrator."""
        tenant.role_assignments.append(("g-admins", GLOBAL_ADMIN, "group"))
        tenant.groups = {"g-admins": []}
        tenant.group_eligibilities = [("g-admins", "dave", "user")]
        tenant.registrations = [registration("alice"), registration("bob"), registration("carol"),
                                registration("dave", capable=False)]  # fmt: skip
        results = scan(tenant)
        admins = results["m365.mfa.admins"]
        assert failing(admins) == {"dave@contoso.test"}
        assert "Global Administrator (eligible, PIM)" in admins.findings[0].detail
        assert (results["m365.accounts.admin_count"].note or "").startswith(
            "3 Global Administrators (2 standing, 1 eligible through PIM);"
        )
        calls = [c for c in tenant.calls if "privilegedAccess/group/eligibilityScheduleInstances" in c]
        assert len(calls) == 1 and "$filter=groupId+eq+'g-admins'" in calls[0]

    def test_pim_for_groups_unreadable_is_unseen(self, tenant: Tenant, scan: Scan) -> None:
        tenant.role_assignments.append(("g-admins", GLOBAL_ADMIN, "group"))
        tenant.groups = {"g-admins": []}
        tenant.errors = {"privilegedAccess/group": (403, "Authorization_RequestDenied", "Insufficient privileges")}
        result = scan(tenant)["m365.mfa.admins"]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.PERMISSION
        assert "PrivilegedEligibilitySchedule.Read.AzureADGroup" in result.permissions

    def test_no_pim_for_groups_call_without_role_holding_groups(self, tenant: Tenant, scan: Scan) -> None:
        assert scan(tenant)["m365.mfa.admins"].status is Status.PASS
        assert not any("privilegedAccess" in c for c in tenant.calls)

    def test_role_targeted_policy_does_not_count_for_an_eligible_only_admin(self, tenant: Tenant, scan: Scan) -> None:
        tenant.eligibilities = [("carol", GLOBAL_ADMIN, "user")]
        tenant.ca_policies = [
            mfa_policy("all", exclude_users=["carol"]),
            mfa_policy("admins", include_users=[], include_roles=[GLOBAL_ADMIN]),
        ]
        results = scan(tenant)
        assert failing(results["m365.mfa.admins"]) == {"carol@contoso.test"}
        assert failing(results["m365.mfa.enforced"]) == {"carol@contoso.test"}

    def test_without_p2_the_eligible_part_is_unseen_never_passed(self, tenant: Tenant, scan: Scan) -> None:
        tenant.pim_licensed = False
        results = scan(tenant)
        for check_id in ("m365.mfa.admins", "m365.accounts.admin_count"):
            result = results[check_id]
            assert result.status is Status.NOT_ASSESSED, check_id
            assert result.reason_kind is ReasonKind.LICENCE
            assert "Microsoft Entra ID P2 or Microsoft Entra ID Governance" in (result.reason or "")
        # what was seen still fails when it fails
        tenant.role_assignments = [("alice", GLOBAL_ADMIN, "user")]
        assert scan(tenant)["m365.accounts.admin_count"].status is Status.FAIL
