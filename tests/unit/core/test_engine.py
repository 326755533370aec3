"""Evaluation and scoring: error isolation, plugins by entry point, the score formula and its caps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import collect, run_checks
from graphfake import Tenant, registration

from hygiene.registry import Registry
from hygiene.results import CheckResult, Status
from hygiene.scoring import score

PLUGIN = """
from hygiene.checkapi import check, Outcome, Finding

@check(id="acme.m365.explodes", title="Explodes", area="accounts", platform="m365", severity="low",
       requires=("m365.users",), remediation="none")
def explodes(ctx):
    raise ZeroDivisionError("boom")

@check(id="acme.m365.count", title="Counts", area="accounts", platform="m365", severity="low",
       requires=("m365.users",), remediation="none")
def counts(ctx):
    users = ctx.snapshot.m365.users
    return Outcome(assessed=len(users), findings=[Finding(u.id, u.upn, "x") for u in users if u.user_type == "Guest"])

@check(id="aws.root.fake", title="Other platform", area="mfa", platform="aws", severity="critical",
       requires=(), remediation="none")
def other(ctx):
    raise AssertionError("never called: aws is not in scope")
"""


def test_a_raising_check_errors_alone(tenant: Tenant, tmp_path: Path) -> None:
    (tmp_path / "acme.py").write_text(PLUGIN)
    report = run_checks(collect(tenant), extra_dirs=[tmp_path])
    results = {r.check_id: r for r in report.results}
    assert results["acme.m365.explodes"].status is Status.ERROR
    assert "ZeroDivisionError: boom" in (results["acme.m365.explodes"].reason or "")
    assert results["acme.m365.count"].status is Status.FAIL
    assert results["m365.mfa.enforced"].status is Status.PASS
    assert "aws.root.fake" not in results and report.out_of_scope_platforms == ["aws", "azure", "email", "google"]
    assert not report.complete


def test_entry_point_plugins_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "acme_checks.py"
    package.write_text(PLUGIN.replace("acme.", "ep."))
    dist = tmp_path / "acme_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hygiene.checks]\nacme = acme_checks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = Registry.load()
        item = registry.get("ep.m365.count")
        assert item is not None and item.origin == "entry point acme"
    finally:
        sys.modules.pop("acme_checks", None)


def test_disabled_checks_and_severity_overrides(tenant: Tenant, tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\ntitle: P\nextends: sme-baseline\nchecks:\n  disabled: [m365.licences.unused]\n"
        "  severity: {m365.accounts.inactive: critical}\n"
    )
    report = run_checks(collect(tenant), profile=str(profile))
    ids = {r.check_id: r for r in report.results}
    assert "m365.licences.unused" not in ids
    assert ids["m365.accounts.inactive"].severity == "critical"


def _result(
    check_id: str,
    severity: str,
    status: Status,
    assessed: int = 10,
    failing: int = 0,
    area: str = "mfa",
    accepted: int = 0,
) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        title=check_id,
        area=area,
        platform="m365",
        severity=severity,
        status=status,
        assessed=assessed,
        failing=failing,
        accepted=accepted,
    )


class TestScore:
    def test_all_pass(self) -> None:
        s = score([_result("a", "critical", Status.PASS), _result("b", "low", Status.PASS)])
        assert (s.value, s.grade, s.coverage) == (100.0, "A", 1.0)

    def test_failing_resources_lower_in_proportion(self) -> None:
        s = score(
            [
                _result("a", "high", Status.FAIL, assessed=10, failing=5, area="accounts"),
                _result("b", "high", Status.PASS, area="accounts"),
            ]
        )
        assert s.value == 75.0 and s.grade == "C" and not s.caps

    def test_not_assessed_lowers_coverage_not_value(self) -> None:
        s = score([_result("a", "high", Status.PASS), _result("b", "high", Status.NOT_ASSESSED, assessed=0)])
        assert s.value == 100.0 and s.coverage == 0.5

    def test_critical_mfa_failure_caps_grade(self) -> None:
        results = [_result("x", "critical", Status.FAIL, assessed=100, failing=1)]
        results += [_result(f"p{i}", "critical", Status.PASS) for i in range(10)]
        s = score(results)
        assert s.value > 99 and s.grade == "D" and "grade at most D" in s.caps[0]

    def test_low_coverage_caps_at_c(self) -> None:
        results = [_result("a", "low", Status.PASS)] + [_result(f"n{i}", "high", Status.NOT_ASSESSED) for i in range(3)]
        s = score(results)
        assert s.grade == "C" and s.coverage < 0.5

    def test_accepted_resources_count_as_passing(self) -> None:
        s = score([_result("a", "high", Status.FAIL, assessed=10, failing=4, accepted=2)])
        assert s.value == 80.0

    def test_grade_is_judged_on_the_score_as_shown(self) -> None:
        s = score([_result("a", "high", Status.FAIL, assessed=10000, failing=1004)])  # 89.96, shown as 90.0
        assert (s.value, s.grade) == (90.0, "A")
        s = score([_result("a", "high", Status.FAIL, assessed=10000, failing=1006)])  # 89.94, shown as 89.9
        assert (s.value, s.grade) == (89.9, "B")

    def test_nothing_assessed(self) -> None:
        s = score([_result("a", "high", Status.NOT_ASSESSED, assessed=0)])
        assert s.grade == "-" and s.coverage == 0.0


def test_score_reflects_scan(tenant: Tenant) -> None:
    tenant.registrations = [registration("alice")]
    report = run_checks(collect(tenant))
    assert report.score.value < 100
    # everything is assessed but the break-glass accounts, of which the config declares none
    assert [r.check_id for r in report.results if r.status is Status.NOT_ASSESSED] == ["m365.admins.break_glass"]
    mfa = next(a for a in report.score.areas if a.area == "mfa")
    assert mfa.failed == 2  # registered, and admins (bob holds Global Administrator)


def test_a_check_s_datasets_of_another_platform_are_read_in_a_partial_scan() -> None:
    """``azure.mfa.management`` requires Microsoft 365 data and ``azure.rbac.owners`` reads it when collected: a scan
    of those checks alone reads exactly those Microsoft 365 datasets (closed under reads_with), and Google not at all;
    without Microsoft 365 configured it reads Azure alone."""
    from hygiene.selection import plan_scan
    from hygiene.sources.platforms import platform

    registry = Registry.load(entry_points_too=False)
    plan = plan_scan(registry, ["m365", "google", "azure"], checks=["azure.mfa.management", "azure.rbac.owners"])
    wanted = {"m365.users", "m365.mfa_policies", "m365.roles", "m365.per_user_mfa", "m365.sign_ins"}
    assert plan.datasets["m365"] == platform("m365").closure(wanted)
    assert plan.datasets["azure"] is not None and "azure.rbac" in plan.datasets["azure"]
    assert "google" not in plan.datasets
    alone = plan_scan(registry, ["azure"], checks=["azure.mfa.management"])
    assert set(alone.datasets) == {"azure"}
