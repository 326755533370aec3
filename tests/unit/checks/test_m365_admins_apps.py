"""Break-glass accounts, app consent and high-privilege apps, through the real source over `responses`."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import collect, m365_config, run_checks
from graphfake import GLOBAL_ADMIN, Tenant, iso, registration, user

from hygiene.results import CheckResult, Status

BG1, BG2 = "bg1@contoso.test", "bg2@contoso.test"
#: service principal object ids (appRoleAssignment.principalId is an Edm.Guid); the healthy tenant has SP_ROTA
SP_ROTA, SP_ARCH, SP_TOOL = (f"5a1e0000-0000-4000-8000-00000000000{c}" for c in "abc")
OTHER_TENANT = "0e7e0000-0000-4000-8000-000000000001"


def _results(tenant: Tenant, **config: Any) -> dict[str, CheckResult]:
    report = run_checks(collect(tenant, m365_config(**config)))
    return {r.check_id: r for r in report.results}


def _break_glass(tenant: Tenant, **changes: Any) -> Tenant:
    """Two proper break-glass accounts: cloud-only, active Global Administrators, a FIDO2 key, last used 60 days
    ago, excluded from the MFA policy."""
    for uid in ("bg1", "bg2"):
        account = user(uid, signin=60)
        account["onPremisesSyncEnabled"] = None
        tenant.users.append(account)
        row = registration(uid)
        row["methodsRegistered"] = ["fido2SecurityKey"]
        tenant.registrations.append(row)
        tenant.role_assignments.append((uid, GLOBAL_ADMIN, "user"))
    tenant.ca_policies[0]["conditions"]["users"]["excludeUsers"] = ["bg1", "bg2"]
    return tenant


def failing(result: CheckResult) -> dict[str, str]:
    return {f.resource_name: f.detail for f in result.findings}


def test_two_well_kept_break_glass_accounts_pass(tenant: Tenant) -> None:
    results = _results(_break_glass(tenant), break_glass=[BG1, BG2])
    result = results["m365.admins.break_glass"]
    assert result.status is Status.PASS, result
    assert result.assessed == 2
    assert "bg1@contoso.test: Global Administrator active" in (result.note or "")
    # excluded from the MFA policy by design: left out of the MFA and stale findings by the declaration
    for check_id in ("m365.mfa.enforced", "m365.mfa.admins", "m365.mfa.registered", "m365.accounts.inactive"):
        assert results[check_id].status is Status.PASS, check_id
        assert "declared break-glass accounts" in (results[check_id].note or ""), check_id
        assert BG1 in (results[check_id].note or "")


def test_undeclared_break_glass_accounts_are_findings_elsewhere(tenant: Tenant) -> None:
    results = _results(_break_glass(tenant))
    assert results["m365.admins.break_glass"].status is Status.NOT_ASSESSED
    assert "[sources.m365] break_glass" in (results["m365.admins.break_glass"].reason or "")
    assert set(failing(results["m365.mfa.enforced"])) == {BG1, BG2}


def test_badly_kept_break_glass_account(tenant: Tenant) -> None:
    tenant = _break_glass(tenant)
    bg2 = next(u for u in tenant.users if u["id"] == "bg2")
    bg2["onPremisesSyncEnabled"] = True
    bg2["signInActivity"]["lastSuccessfulSignInDateTime"] = iso(2)
    next(r for r in tenant.registrations if r["id"] == "bg2")["methodsRegistered"] = ["mobilePhone"]
    tenant.role_assignments.remove(("bg2", GLOBAL_ADMIN, "user"))
    tenant.eligibilities.append(("bg2", GLOBAL_ADMIN, "user"))
    result = _results(tenant, break_glass=[BG1, BG2])["m365.admins.break_glass"]
    assert result.status is Status.FAIL
    detail = failing(result)[BG2]
    assert set(failing(result)) == {BG2}
    assert "onPremisesSyncEnabled" in detail
    assert "only as eligible (PIM)" in detail
    assert "no phishing-resistant method registered" in detail and "mobilePhone" in detail
    assert f"signed in successfully on {iso(2)[:10]}" in detail  # type: ignore[index]
    assert "bg2@contoso.test: Global Administrator eligible" in (result.note or "")


def test_unknown_and_single_break_glass_account(tenant: Tenant) -> None:
    result = _results(_break_glass(tenant), break_glass=["nobody@contoso.test"])["m365.admins.break_glass"]
    assert result.status is Status.FAIL
    found = failing(result)
    assert "not found in the tenant" in found["nobody@contoso.test"]
    assert "keep at least 2" in found["tenant"]


def test_break_glass_eligibility_unread_is_not_a_pass_or_a_fail(tenant: Tenant) -> None:
    tenant = _break_glass(tenant)
    tenant.role_assignments.remove(("bg2", GLOBAL_ADMIN, "user"))
    tenant.pim_licensed = False
    result = _results(tenant, break_glass=[BG1, BG2])["m365.admins.break_glass"]
    assert result.status is Status.NOT_ASSESSED  # bg2 may be eligible: not seen
    assert result.findings == []


def test_per_user_fallback_method_names_count_as_phishing_resistant(tenant: Tenant) -> None:
    tenant = _break_glass(tenant)
    tenant.premium = False
    tenant.methods = {uid: ["#microsoft.graph.fido2AuthenticationMethod"] for uid in ("bg1", "bg2")}
    day = iso(1)[:10]  # type: ignore[index]
    old = iso(60)[:10]  # type: ignore[index]
    tenant.activity_csv = "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n" + "".join(
        f"{day},{uid}@contoso.test,{old if uid.startswith('bg') else day}\n"
        for uid in ("alice", "bob", "carol", "dave", "bg1", "bg2")
    )
    result = _results(tenant, break_glass=[BG1, BG2])["m365.admins.break_glass"]
    assert result.status is Status.PASS, result


@pytest.mark.parametrize(
    ("policies", "requests_on", "status", "names"),
    [
        (["ManagePermissionGrantsForSelf.microsoft-user-default-low"], True, Status.PASS, set()),
        ([], True, Status.PASS, set()),
        (["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"], True, Status.FAIL, {"user consent"}),
        (["ManagePermissionGrantsForSelf.microsoft-user-default-low"], False, Status.FAIL, {"admin consent workflow"}),
        (["ManagePermissionGrantsForSelf.contoso-custom"], True, Status.NOT_ASSESSED, set()),
        (None, True, Status.NOT_ASSESSED, set()),
    ],
)
def test_user_consent(
    tenant: Tenant, policies: list[str] | None, requests_on: bool, status: Status, names: set[str]
) -> None:
    tenant.consent_policies = policies
    tenant.admin_consent_requests = requests_on
    result = _results(tenant)["m365.apps.user_consent"]
    assert result.status is status, result
    assert set(failing(result)) == names


def test_authorization_policy_in_its_collection_form_is_read(tenant: Tenant) -> None:
    tenant.authorization_policy_collection = True
    tenant.consent_policies = ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]
    assert set(failing(_results(tenant)["m365.apps.user_consent"])) == {"user consent"}


def test_user_consent_without_permission_is_not_assessed(tenant: Tenant) -> None:
    tenant.errors["/policies/authorizationPolicy"] = (403, "Authorization_RequestDenied", "denied")
    result = _results(tenant)["m365.apps.user_consent"]
    assert result.status is Status.NOT_ASSESSED
    assert "Policy.Read.All" in (result.reason or "")


def test_high_privilege_apps_and_credentials(tenant: Tenant) -> None:
    tenant.service_principals += [
        {"id": SP_ARCH, "appId": "app-arch", "displayName": "Mail Archiver", "appOwnerOrganizationId": OTHER_TENANT},
        {"id": SP_TOOL, "appId": "app-tool", "displayName": "Old Script", "appOwnerOrganizationId": None},
    ]
    tenant.graph_grants += [(SP_ARCH, "Mail.ReadWrite"), (SP_ARCH, "User.Read.All")]
    tenant.applications += [
        {
            "id": "obj-tool",
            "appId": "app-tool",
            "displayName": "Old Script",
            "passwordCredentials": [{"displayName": "forever", "endDateTime": "2299-12-31T00:00:00Z"}],
            "keyCredentials": [{"displayName": "cert", "endDateTime": iso(10)}],
        }
    ]
    result = _results(tenant)["m365.apps.high_privilege"]
    assert result.status is Status.FAIL
    found = failing(result)
    assert set(found) == {"Mail Archiver", "Old Script"}  # Rota Planner: User.Read.All, a secret ending in a year
    assert "Mail.ReadWrite" in found["Mail Archiver"] and "third-party" in found["Mail Archiver"]
    assert "User.Read.All" not in found["Mail Archiver"]
    assert "secret 'forever' expires only on 2299-12-31" in found["Old Script"]
    assert f"certificate 'cert' expired on {iso(10)[:10]}" in found["Old Script"]  # type: ignore[index]
    assert result.assessed == 3
    assert "beta" in (result.note or "")


def test_credential_without_end_never_expires(tenant: Tenant) -> None:
    tenant.applications[0]["passwordCredentials"] = [{"displayName": "rota", "endDateTime": None}]
    found = failing(_results(tenant)["m365.apps.high_privilege"])
    assert "never expires" in found["Rota Planner"]


def test_unknown_app_role_is_kept_by_id_and_never_high(tenant: Tenant) -> None:
    unknown = "0b8a1c3e-0000-4000-8000-000000000000"
    tenant.graph_grants = [(SP_ROTA, unknown)]
    snapshot = collect(tenant)
    assert snapshot.m365 is not None
    assert [a.graph_permissions for a in snapshot.m365.apps] == [[unknown]]
    assert _results(tenant)["m365.apps.high_privilege"].status is Status.PASS


def test_apps_without_permission_are_not_assessed(tenant: Tenant) -> None:
    tenant.errors["/servicePrincipals"] = (403, "Authorization_RequestDenied", "denied")
    result = _results(tenant)["m365.apps.high_privilege"]
    assert result.status is Status.NOT_ASSESSED
    assert "Application.Read.All" in (result.reason or "")


def test_graph_service_principal_missing_is_not_a_pass(tenant: Tenant) -> None:
    tenant.graph_sp_present = False
    result = _results(tenant)["m365.apps.high_privilege"]
    assert result.status is Status.NOT_ASSESSED
    assert "service principal" in (result.reason or "")


def test_apps_cost_four_requests(tenant: Tenant) -> None:
    tenant.page_size = 999
    collect(tenant)
    calls = [c for c in tenant.calls if "servicePrincipals" in c or "applications" in c or "policies/a" in c]
    assert len(calls) == 6, calls  # 2 consent policies + Graph's SP, its grants, the SPs, the registrations


def test_admin_count_note_names_standing_everyday_admins(tenant: Tenant) -> None:
    """Alice and Bob hold Global Administrator permanently, are licensed (E3) and signed in yesterday."""
    tenant = _break_glass(tenant)
    tenant.eligibilities.append(("carol", GLOBAL_ADMIN, "user"))
    note = _results(tenant, break_glass=[BG1, BG2])["m365.accounts.admin_count"].note or ""
    assert "5 Global Administrators (4 standing, 1 eligible through PIM)" in note
    assert "signed in within 7 days" in note and "alice@contoso.test, bob@contoso.test" in note
    assert BG1 not in note.split("signed in within")[1]  # break-glass accounts are not everyday accounts
