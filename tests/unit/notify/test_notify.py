"""Notifications: what counts as a regression, payload formats, the outbox retry, email over STARTTLS."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import responses
from conftest import collect, healthy_tenant, run_checks
from graphfake import registration
from scanreports import T0, report, result

from hygiene.config import EmailConfig, NotifyConfig, WebhookConfig
from hygiene.history.diff import diff_scans
from hygiene.history.models import stored_from_report
from hygiene.notify import channels
from hygiene.notify.change import Change, change_since
from hygiene.notify.dispatch import notify, should_notify
from hygiene.results import ScanReport, ScanScope

MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)
HOOK = "https://hooks.test/incoming/abc-secret-token"


def change(**kwargs: Any) -> Change:
    values: dict[str, Any] = {
        "organisation": "Acme",
        "scan_id": "s2",
        "score": 80.0,
        "grade": "B",
        "previous_score": 80.0,
    }
    values.update(kwargs)
    return Change(**values)


def compare(current: ScanReport, previous: ScanReport | None) -> Change:
    """The notification for ``current`` after ``previous``, through the history's diff (as the agent does)."""
    diff = diff_scans(stored_from_report(previous), stored_from_report(current)) if previous else None
    return change_since(current, diff)


def test_compare_finds_new_failures_fixes_and_score_drop() -> None:
    good = run_checks(collect(healthy_tenant()))
    worse_tenant = healthy_tenant()
    worse_tenant.registrations = [registration("alice")]
    worse = run_checks(collect(worse_tenant))
    regressed = compare(worse, good)
    assert regressed.regression and regressed.score_drop > 0
    assert "Every enabled Microsoft 365 member can do MFA" in regressed.new_failures
    recovered = compare(good, worse)
    assert not recovered.regression and recovered.resolved and recovered.new_failures == []
    first = compare(worse, None)
    assert first.regression and first.previous_score is None


# -- where the notification follows the history's diff (it used to compare report files itself) --------------

LATER = T0 + timedelta(days=7)


def test_failing_then_accepted_is_neither_fixed_nor_a_regression() -> None:
    """Was "fixed: …" (anything not failing counted as fixed); the history does not call an accepted risk fixed."""
    change = compare(
        report("s2", [result("c", "accepted", "x", accepted=("x",))], at=LATER),
        report("s1", [result("c", "fail", "x")]),
    )
    assert change.resolved == [] and change.no_longer_assessed == [] and not change.regression


def test_passing_then_accepted_is_not_a_regression() -> None:
    change = compare(
        report("s2", [result("c", "accepted", "x", accepted=("x",))], at=LATER), report("s1", [result("c", "pass")])
    )
    assert change.new_failures == [] and change.no_longer_assessed == [] and not change.regression


@pytest.mark.parametrize("now", ["not_assessed", "error"])
def test_failing_then_not_assessed_is_a_regression_not_a_fix(now: str) -> None:
    """Was "fixed: …" and no alert; a failing check that can no longer be seen is not fixed."""
    change = compare(report("s2", [result("c", now)], at=LATER), report("s1", [result("c", "fail", "x")]))
    assert change.resolved == [] and change.no_longer_assessed == ["title of c"] and change.regression
    assert "NOT ASSESSED: title of c" in change.lines() and "1 check(s) no longer assessed" in change.headline()


@pytest.mark.parametrize("now", ["not_assessed", "error"])
def test_passing_then_not_assessed_is_a_regression(now: str) -> None:
    """Was silent unless a source reported an error or the score dropped (a lost permission reports neither)."""
    change = compare(report("s2", [result("c", now)], at=LATER), report("s1", [result("c", "pass")]))
    assert change.no_longer_assessed == ["title of c"] and change.regression


def test_titles_are_the_current_ones_and_a_removed_failing_check_is_no_longer_assessed() -> None:
    """Was the previous report's title for a fixed check, and "fixed" for a failing check no longer in the scan."""
    before = report("s1", [result("renamed", "fail", "x", title="Old title"), result("removed", "fail", "y")])
    after = report("s2", [result("renamed", "pass", title="New title")], at=LATER)
    change = compare(after, before)
    assert change.resolved == ["New title"] and change.no_longer_assessed == ["title of removed"]


def test_first_scan_every_failing_check_is_new() -> None:
    change = change_since(report("s1", [result("b", "fail", "x"), result("a", "fail", "y"), result("c", "pass")]), None)
    assert change.new_failures == ["title of a", "title of b"] and change.regression
    assert change.previous_score is None and change.previous_scan_id is None


def test_the_previous_scan_and_its_score_come_from_the_diff() -> None:
    change = compare(report("s2", [], at=LATER, score=70.0), report("s1", [], score=72.5))
    assert change.previous_scan_id == "s1" and change.previous_score == 72.5 and change.regression


def test_an_outbox_entry_written_before_the_new_fields_still_loads() -> None:
    old = {k: v for k, v in asdict(change()).items() if k not in ("no_longer_assessed", "previous_scan_id")}
    assert Change(**old) == change()


def test_compare_never_calls_unseen_checks_new_or_fixed() -> None:
    """After (or during) a scan that could not read Microsoft 365, its checks are neither new failures nor fixes."""
    good = run_checks(collect(healthy_tenant()))
    worse_tenant = healthy_tenant()
    worse_tenant.registrations = [registration("alice")]
    worse = run_checks(collect(worse_tenant))
    unread = ScanScope(incomplete=True, unread_platforms={"m365": "authentication failed"})
    assert compare(worse, good).new_failures  # seen both times: a new failure (so the assertions below can fail)
    assert compare(worse, good.model_copy(update={"scope": unread})).new_failures == []
    assert compare(good, worse).resolved
    assert compare(good.model_copy(update={"scope": unread}), worse).resolved == []


@pytest.mark.parametrize(
    ("config", "delta", "last_digest", "expected"),
    [
        (NotifyConfig(on="never"), change(new_failures=["x"]), None, None),
        (NotifyConfig(on="always"), change(), None, "always"),
        (NotifyConfig(), change(new_failures=["x"]), None, "regression"),
        (NotifyConfig(), change(failing_sources=["aws"]), None, "regression"),
        (NotifyConfig(), change(no_longer_assessed=["x"]), None, "regression"),
        (NotifyConfig(), change(score=70.0), None, "regression"),
        (NotifyConfig(), change(), None, "digest"),  # Monday, no digest yet
        (NotifyConfig(), change(), MONDAY - timedelta(hours=2), None),  # already sent today
        (NotifyConfig(digest="fri"), change(), None, None),
    ],
)
def test_when_to_notify(
    config: NotifyConfig, delta: Change, last_digest: datetime | None, expected: str | None
) -> None:
    assert should_notify(config, delta, MONDAY, last_digest) == expected


def test_payload_formats() -> None:
    delta = change(new_failures=["MFA is enforced"], score=60.0)
    teams = channels.teams_payload(delta)
    assert teams["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "NEW: MFA is enforced" in json.dumps(teams)
    slack = channels.slack_payload(delta)
    assert slack["text"].startswith("Acme: score 60.0 (B)") and slack["blocks"][0]["type"] == "section"
    generic = channels.generic_payload(delta)
    assert generic["regression"] is True and generic["new_failures"] == ["MFA is enforced"]


def test_failed_delivery_is_kept_and_retried(tmp_path: Path) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK", format="slack")], digest="off")
    env = {"HOOK": HOOK}
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, status=500)
        assert notify(config, "acme", change(new_failures=["x"]), tmp_path, env, MONDAY) == []
    outbox = list((tmp_path / "notify" / "outbox").glob("acme-*.json"))
    assert len(outbox) == 1 and "abc-secret-token" not in outbox[0].read_text()  # the URL stays in the env
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, status=200)
        sent = notify(config, "acme", change(), tmp_path, env, MONDAY + timedelta(days=1))
        assert sent == ["retried webhook"] and len(rsps.calls) == 1
    assert not list((tmp_path / "notify" / "outbox").glob("*.json"))


def test_old_undelivered_notifications_are_dropped(tmp_path: Path) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK")], digest="off")
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, status=503)
        notify(config, "acme", change(new_failures=["x"]), tmp_path, {"HOOK": HOOK}, MONDAY)
    with responses.RequestsMock():
        assert notify(config, "acme", change(), tmp_path, {"HOOK": HOOK}, MONDAY + timedelta(days=15)) == []
    assert not list((tmp_path / "notify" / "outbox").glob("*.json"))


def test_digest_is_sent_once_a_week(tmp_path: Path) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK")])
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, status=200)
        assert notify(config, "acme", change(), tmp_path, {"HOOK": HOOK}, MONDAY) == ["digest webhook"]
        assert notify(config, "acme", change(), tmp_path, {"HOOK": HOOK}, MONDAY + timedelta(hours=3)) == []
        assert notify(config, "acme", change(), tmp_path, {"HOOK": HOOK}, MONDAY + timedelta(days=7)) == [
            "digest webhook"
        ]


class FakeSMTP:
    sessions: ClassVar[list[FakeSMTP]] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.events = host, port, []
        FakeSMTP.sessions.append(self)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *args: object) -> None:
        self.events.append("quit")

    def starttls(self, context: object) -> None:
        self.events.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.events.append(f"login {user}")

    def send_message(self, message: Any) -> None:
        self.events.append(f"send {message['Subject']} -> {message['To']}")


def test_email_uses_starttls_before_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels.smtplib, "SMTP", FakeSMTP)
    config = NotifyConfig(
        email=EmailConfig(
            smtp_host="smtp.test",
            sender="hygiene@acme.test",
            to=["it@acme.test"],
            username_env="SMTP_USER",
            password_env="SMTP_PASS",
        ),
        digest="off",
    )
    sent = notify(config, "acme", change(new_failures=["x"]), tmp_path, {"SMTP_USER": "bot", "SMTP_PASS": "pw"}, MONDAY)
    assert sent == ["regression email"]
    session = FakeSMTP.sessions[-1]
    assert session.port == 587
    assert session.events[:2] == ["starttls", "login bot"]
    assert session.events[2].startswith("send [hygiene] Acme: score 80") and session.events[2].endswith("it@acme.test")
