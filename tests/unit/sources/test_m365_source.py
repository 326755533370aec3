"""The M365 source at the HTTP boundary: auth, paging, throttling, fallbacks, raw evidence."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import responses
from conftest import collect, m365_config, run_checks
from graphfake import SECRET, Tenant, registration, user

from hygiene.engine import evaluate
from hygiene.model import ReasonKind
from hygiene.policy import ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import Status
from hygiene.sources.interface import RawRecorder
from hygiene.sources.m365.source import M365Source
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import generate_client_certificate


def test_every_page_is_followed(tenant: Tenant) -> None:
    tenant.users += [user(f"u{i}") for i in range(9)]
    tenant.page_size = 3
    snapshot = collect(tenant)
    assert snapshot.m365 is not None
    assert len(snapshot.m365.users) == 14
    user_pages = [c for c in tenant.calls if "/v1.0/users" in c and "$batch" not in c]
    assert len(user_pages) == 5
    assert "%24skiptoken=3" in user_pages[1] or "$skiptoken=3" in user_pages[1]


def test_throttled_requests_are_retried_and_nothing_is_lost(tenant: Tenant) -> None:
    clean = collect(healthy := tenant)
    throttled = Tenant(**{**healthy.__dict__, "calls": [], "throttle": {"/v1.0/users": 2, "/subscribedSkus": 1}})
    snapshot = collect(throttled)
    assert snapshot.m365 is not None and clean.m365 is not None
    assert [u.upn for u in snapshot.m365.users] == [u.upn for u in clean.m365.users]
    assert snapshot.sources["m365"].status == "ok"
    assert snapshot.sources["m365"].requests == clean.sources["m365"].requests + 3


def test_persistent_throttling_gives_up_and_says_so(tenant: Tenant) -> None:
    tenant.throttle = {"/subscribedSkus": 100}
    snapshot = collect(tenant)
    state = snapshot.sources["m365"].datasets["m365.licences"]
    assert not state.available and state.reason_kind is ReasonKind.ERROR
    report = run_checks(snapshot)
    assert not report.complete
    licences = next(r for r in report.results if r.check_id == "m365.licences.unused")
    assert licences.status is Status.NOT_ASSESSED


def test_throttled_batch_subrequests_are_retried(tenant: Tenant) -> None:
    tenant.ca_policies = []
    tenant.per_user = {"alice": "enforced", "bob": "enforced", "carol": "enforced", "dave": "enforced"}
    tenant.throttle = {"/users/carol/authentication/requirements": 1}
    snapshot = collect(tenant)
    assert snapshot.m365 is not None
    assert snapshot.m365.per_user_mfa["carol"] == "enforced"
    assert sum("/beta/$batch" in c for c in tenant.calls) == 2  # per-user MFA (beta); antivirus batches are v1.0


def test_batches_hold_at_most_twenty(tenant: Tenant) -> None:
    tenant.ca_policies = []
    tenant.users += [user(f"u{i}") for i in range(41)]
    collect(tenant)
    assert sum("/beta/$batch" in c for c in tenant.calls) == 3  # 45 members / 20


def test_no_p1_fallbacks(tenant: Tenant) -> None:
    tenant.premium = False
    today = datetime.now(UTC).date()
    tenant.users.append(user("idle"))
    tenant.activity_csv = (
        "\ufeffReport Refresh Date,User Principal Name,Display Name,Is Deleted,Exchange Last Activity Date,"
        "OneDrive Last Activity Date,Teams Last Activity Date\n"
        + "".join(
            f"{today},{u}@contoso.test,{u},False,{today - timedelta(days=2)},,\n"
            for u in ("alice", "bob", "carol", "dave", "guest1")
        )
        + f"{today},idle@contoso.test,Idle,False,{today - timedelta(days=150)},,{today - timedelta(days=120)}\n"
    )
    snapshot = collect(tenant)
    datasets = snapshot.sources["m365"].datasets
    assert datasets["m365.sign_ins"].method == "office365ActiveUserDetail"
    assert datasets["m365.registration"].method == "authentication/methods ($batch)"
    results = {r.check_id: r for r in run_checks(snapshot).results}
    inactive = results["m365.accounts.inactive"]
    assert {f.resource_name for f in inactive.findings} == {"idle@contoso.test"}
    assert "Office 365 active-user report" in (inactive.note or "")
    assert {f.resource_name for f in results["m365.mfa.registered"].findings} == {"idle@contoso.test"}


def test_concealed_report_names_are_not_guessed(tenant: Tenant) -> None:
    tenant.premium = False
    tenant.activity_csv = (
        "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n2026-11-20,5F3A9C,2026-11-19\n"
    )
    results = {r.check_id: r for r in run_checks(collect(tenant)).results}
    inactive = results["m365.accounts.inactive"]
    assert inactive.status is Status.NOT_ASSESSED and inactive.reason_kind is ReasonKind.API_GAP
    assert "conceals user names" in (inactive.reason or "")


def test_wrong_secret_fails_the_source_not_the_scan(tenant: Tenant) -> None:
    source = M365Source(
        m365_config(),
        environ={"HYGIENE_TEST_SECRET": "wrong-secret-value"},
        retry=RetryPolicy(max_attempts=1),
        sleep=lambda s: None,
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tenant.install(rsps)
        collected = source.collect(RawRecorder(None, "m365"))
    assert collected.run.status == "error"
    assert "AADSTS7000215" in collected.run.errors[0]
    assert all(not d.available for d in collected.run.datasets.values())
    assert not [c for c in tenant.calls if "graph.test" in c]


def test_missing_secret_env_is_reported(tenant: Tenant) -> None:
    source = M365Source(m365_config(), environ={})
    collected = source.collect(RawRecorder(None, "m365"))
    assert collected.run.status == "error"
    assert "HYGIENE_TEST_SECRET" in collected.run.errors[0]


def _certificate_pem(tmp_path: Path) -> Path:
    path = generate_client_certificate("hygiene-test").write(tmp_path / "app.pem")
    path.chmod(0o600)
    return path


def test_certificate_credentials_send_a_signed_assertion(tenant: Tenant, tmp_path: Path) -> None:
    config = m365_config(client_secret_env=None, certificate_file=_certificate_pem(tmp_path))
    snapshot = collect(tenant, config)
    assert snapshot.sources["m365"].status == "ok"
    form = tenant.token_requests[0]
    assert "client_secret" not in form
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    header = json.loads(base64.urlsafe_b64decode(form["client_assertion"][0].split(".")[0] + "=="))
    assert header["alg"] in ("RS256", "PS256") and ("x5t" in header or "x5t#S256" in header)


def test_raw_responses_are_kept_without_secrets(tenant: Tenant, tmp_path: Path) -> None:
    tenant.premium = False
    tenant.activity_csv = "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n"
    collect(tenant, raw_dir=tmp_path)
    files = sorted((tmp_path / "m365").iterdir())
    assert any(f.name.endswith("-v1-0-users.json") for f in files)
    text = "".join(f.read_text(errors="replace") for f in files)
    assert SECRET not in text and "token-123" not in text and "secretsig" not in text
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)


def test_only_reads(tenant: Tenant) -> None:
    collect(tenant)
    methods = {c.split(" ", 1)[0] for c in tenant.calls}
    posts = [c for c in tenant.calls if c.startswith("POST")]
    assert methods <= {"GET", "POST"} and all("$batch" in c for c in posts)


def test_paging_loop_is_detected(tenant: Tenant) -> None:
    tenant.loops = {"/subscribedSkus"}
    snapshot = collect(tenant)
    state = snapshot.sources["m365"].datasets["m365.licences"]
    assert not state.available and "repeated a page link" in (state.reason or "")
    assert state.reason_kind == "error"
    # page 1, then the page that links to itself, asked for again until the retry budget (4 attempts) is spent
    assert sum("subscribedSkus" in c for c in tenant.calls) == 1 + 4


def test_registration_rows_only_for_enabled_users(tenant: Tenant) -> None:
    tenant.registrations.append(registration("ghost"))
    snapshot = collect(tenant)
    assert snapshot.m365 is not None and len(snapshot.m365.registrations) == 5


def _activity_csv(rows: dict[str, int | None]) -> str:
    today = datetime.now(UTC).date()
    head = "\ufeffReport Refresh Date,User Principal Name,Display Name,Is Deleted,Exchange Last Activity Date\n"
    return head + "".join(
        f"{today},{upn}@contoso.test,{upn},False,{'' if days is None else today - timedelta(days=days)}\n"
        for upn, days in rows.items()
    )


def test_no_p1_fallback_cannot_pass_what_the_report_does_not_show(tenant: Tenant) -> None:
    """The D180 report leaves older activity blank: an account with nothing in it is never "active"; with no
    creation date it is stale, and with a threshold beyond 180 days it is an unseen part, never a pass."""
    tenant.premium = False
    nodate = user("nodate", signin=None)
    nodate["createdDateTime"] = None  # null for some accounts created before June 2018
    tenant.users.append(nodate)
    tenant.activity_csv = _activity_csv({"alice": 2, "bob": 2, "carol": 2, "dave": 2, "guest1": 2, "nodate": None})
    snapshot = collect(tenant)
    results = {r.check_id: r for r in run_checks(snapshot).results}
    inactive = results["m365.accounts.inactive"]
    assert {f.resource_name for f in inactive.findings} == {"nodate@contoso.test"}
    assert "no activity in the Office 365 active-user report (last 180 days)" in inactive.findings[0].detail

    tenant.users[-1]["createdDateTime"] = "2019-01-01T00:00:00Z"
    tenant.users[-1]["assignedLicenses"] = []
    tenant.calls.clear()
    profile = load_profile("sme-baseline")
    profile.thresholds.inactive_days = 365
    long = evaluate(
        collect(tenant),
        Registry.load([], entry_points_too=False),
        profile,
        ControlsFile(),
        load_lifecycle(),
        scan_id="t",
        operator="pytest",
    )
    result = next(r for r in long.results if r.check_id == "m365.accounts.inactive")
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.API_GAP
    assert "nodate@contoso.test" in (result.reason or "")


def test_no_p1_methods_fallback_classifies_every_method_type(tenant: Tenant) -> None:
    """External authentication methods and hardware OATH tokens are second factors;
    x509CertificateAuthenticationMethod is not a v1.0 type, and a type hygiene does not know is never strong
    but is named in the finding (v1.0 CSDL: the types deriving from graph.authenticationMethod)."""
    tenant.premium = False
    tenant.activity_csv = _activity_csv({u: 1 for u in ("alice", "bob", "carol", "dave", "guest1")})
    password = "#microsoft.graph.passwordAuthenticationMethod"
    tenant.methods = {
        "alice": [password, "#microsoft.graph.externalAuthenticationMethod"],
        "bob": [password, "#microsoft.graph.hardwareOathAuthenticationMethod"],
        "carol": [password, "#microsoft.graph.x509CertificateAuthenticationMethod"],
        "dave": [
            password,
            "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "#microsoft.graph.emailAuthenticationMethod",
        ],
    }
    results = {r.check_id: r for r in run_checks(collect(tenant)).results}
    registered = results["m365.mfa.registered"]
    assert {f.resource_name for f in registered.findings} == {"carol@contoso.test", "dave@contoso.test"}
    carol = next(f.detail for f in registered.findings if f.resource_name.startswith("carol"))
    assert "not counted as MFA: #microsoft.graph.x509CertificateAuthenticationMethod" in carol
