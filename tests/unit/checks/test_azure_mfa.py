"""azure.mfa.management on hand-made snapshots: Azure role holders judged against the Microsoft 365 MFA policies."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from conftest import run_checks
from test_azure_checks import DATASETS, NOW, RG, healthy, m365_user, names, owner

from hygiene.checklib.m365 import AZURE_MANAGEMENT_APP
from hygiene.model import (
    AzureData,
    CAPolicy,
    CAUsers,
    DatasetState,
    M365Data,
    M365User,
    OrganisationRef,
    ReasonKind,
    Snapshot,
    SourceRun,
)
from hygiene.policy import Attestation, ControlsFile
from hygiene.results import CheckResult, Status

CHECK = "azure.mfa.management"
M365_DATASETS = ("m365.users", "m365.mfa_policies", "m365.roles", "m365.per_user_mfa", "m365.sign_ins")


def policy(name: str, apps: tuple[str, ...] = (AZURE_MANAGEMENT_APP,), **changes: Any) -> CAPolicy:
    values: dict[str, Any] = {
        "id": name,
        "name": name,
        "state": "enabled",
        "users": CAUsers(include_users=["All"]),
        "include_applications": list(apps),
        "client_app_types": ["all"],
        "grant_operator": "OR",
        "built_in_controls": ["mfa"],
        **changes,
    }
    return CAPolicy(**values)


def scan(
    data: AzureData,
    m365: M365Data | None,
    controls: ControlsFile | None = None,
    azure_tenant: str = "t",
) -> CheckResult:
    runs = {
        "azure": SourceRun(
            platform="azure",
            status="ok",
            started_at=NOW,
            finished_at=NOW,
            scope={"tenant": azure_tenant},
            datasets={n: DatasetState(available=True) for n in DATASETS},
        )
    }
    if m365 is not None:
        runs["m365"] = SourceRun(
            platform="m365",
            status="ok",
            started_at=NOW,
            finished_at=NOW,
            datasets={n: DatasetState(available=True) for n in M365_DATASETS},
        )
    snapshot = Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="acme", name="Acme"),
        collected_at=NOW,
        sources=runs,
        azure=data,
        m365=m365,
    )
    return {r.check_id: r for r in run_checks(snapshot, controls=controls).results}[CHECK]


def holders(*assignments: Any) -> AzureData:
    data = healthy()
    data.role_assignments += list(assignments)
    return data


def directory(*users: M365User, **changes: Any) -> M365Data:
    return M365Data(tenant_id="t", users=list(users), **changes)


def test_without_microsoft_365_it_is_not_assessed_naming_the_section() -> None:
    result = scan(holders(owner("a")), None)
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.NOT_COLLECTED
    assert "[sources.m365]" in (result.reason or "")


def test_a_policy_for_azure_management_or_all_apps_covers_the_role_holders() -> None:
    data = holders(owner("a"), owner("b", role="Contributor", scope=RG))
    for apps in ((AZURE_MANAGEMENT_APP,), ("All",)):
        result = scan(data, directory(m365_user("a"), m365_user("b"), ca_policies=[policy("Azure MFA", apps)]))
        assert result.status is Status.PASS and result.assessed == 2, result.reason


def test_holders_no_policy_reaches_fail_with_the_lookalikes_named() -> None:
    lookalikes = [
        policy("report only", state="enabledForReportingButNotEnforced"),
        policy("portals only", ("MicrosoftAdminPortals",)),
        policy("azure excluded", ("All",), exclude_applications=[AZURE_MANAGEMENT_APP]),
        policy("mfa or device", built_in_controls=["mfa", "compliantDevice"]),
        policy("filtered", ("All",), application_filter_mode="include"),
    ]
    data = holders(owner("a"), owner("reader", role="Reader"))
    result = scan(data, directory(m365_user("a"), m365_user("reader"), ca_policies=lookalikes))
    assert result.status is Status.FAIL and names(result) == {"a@acme.example", "reader@acme.example"}
    detail = result.findings[0].detail
    assert "Owner at /subscriptions/sub-1" in detail and "report only: report-only" in detail
    assert "mandatory MFA" in (result.note or "")


def test_an_excluded_holder_fails_and_disabled_or_unknown_accounts_are_not_counted() -> None:
    excluding = policy("Azure MFA", users=CAUsers(include_users=["All"], exclude_users=["out"]))
    data = holders(owner("in"), owner("out"), owner("off"), owner("deleted"), owner("sp", kind="ServicePrincipal"))
    m365 = directory(m365_user("in"), m365_user("out"), m365_user("off", enabled=False), ca_policies=[excluding])
    result = scan(data, m365)
    assert names(result) == {"out@acme.example"} and result.assessed == 2


def test_security_defaults_cover_azure_management_at_every_sign_in() -> None:
    result = scan(holders(owner("a")), directory(m365_user("a"), security_defaults_enabled=True))
    assert result.status is Status.PASS and result.reservation is None


def test_per_user_mfa_enforced_counts() -> None:
    result = scan(holders(owner("a")), directory(m365_user("a"), per_user_mfa={"a": "enforced"}))
    assert result.status is Status.PASS


def test_a_group_is_expanded_when_its_members_are_known_else_not_seen() -> None:
    group = owner("grp", kind="Group", role="Contributor")
    known = scan(holders(group), directory(m365_user("m"), group_members={"grp": ["m"]}))
    assert known.status is Status.FAIL and names(known) == {"m@acme.example"}
    unknown = scan(holders(group), directory(m365_user("m"), ca_policies=[policy("Azure MFA")]))
    assert unknown.status is Status.NOT_ASSESSED and "grp" in (unknown.reason or "")


def test_another_tenant_is_not_matched() -> None:
    result = scan(holders(owner("a")), directory(m365_user("a"), ca_policies=[policy("x")]), azure_tenant="other")
    assert result.status is Status.NOT_ASSESSED and "tenant" in (result.reason or "")


def test_mandatory_enforcement_is_only_ever_attested() -> None:
    controls = ControlsFile(
        attestations=[
            Attestation(
                id="att-1",
                check=CHECK,
                statement="Microsoft's mandatory MFA for Azure is in force; we did not postpone it",
                attested_by="Helen Price",
                date=(NOW - timedelta(days=10)).date(),
                expires=date(2027, 6, 1),
            )
        ]
    )
    result = scan(holders(owner("a")), directory(m365_user("a")), controls)
    assert result.status is Status.PASS and result.basis == "attested"
    assert result.reservation and "mandatory MFA" in result.reservation
