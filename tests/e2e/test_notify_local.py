"""Notifications delivered for real, on 127.0.0.1 only: a local webhook receiver (stdlib ``http.server``) and a
local SMTP server (aiosmtpd) that requires STARTTLS before AUTH, with a throw-away CA. Exact payloads, and
the failure paths: an HTTP 500, a refused connection, a wrong password and a server that is down all keep the
notification in the outbox (without the URL or any secret), and ``notify`` never raises."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from scanreports import T0, report, result
from structlog.testing import capture_logs

from hygiene.agent.runner import previous_diff
from hygiene.config import EmailConfig, NotifyConfig, WebhookConfig, load_config
from hygiene.errors import InputError
from hygiene.history import HistoryStore, history_url
from hygiene.notify.change import Change, change_since
from hygiene.notify.dispatch import notify
from hygiene.results import ScanReport
from hygiene_sandbox.hostile import ORG_MARKER, organisation_name
from hygiene_sandbox.tls import ServerMaterial, shared_server_material

MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)
SECRET_PATH = "/incoming/abc-secret-token"
SMTP_USER, SMTP_PASSWORD = "hygiene-bot", "s3cret-Pa55"


def regression() -> Change:
    return Change(
        organisation="Acme",
        scan_id="s2",
        score=60.0,
        grade="D",
        previous_score=80.0,
        new_failures=["MFA is enforced"],
        resolved=["Audit log is on"],
        failing_sources=[],
        open_failures=3,
    )


def outbox_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "notify" / "outbox").glob("*.json"))


def free_port() -> int:
    """A port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --- webhook receiver -------------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    url_base: str
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url_base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    Received(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=json.loads(raw),
                    )
                )
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url_base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


EXPECTED_TEAMS = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {
                        "type": "RichTextBlock",
                        "inlines": [
                            {
                                "type": "TextRun",
                                "size": "Medium",
                                "weight": "Bolder",
                                "text": "Acme: score 60.0 (D); was 80.0; 1 new failing check(s)",
                            }
                        ],
                    },
                    {"type": "TextBlock", "text": "NEW: MFA is enforced", "wrap": True},
                    {"type": "TextBlock", "text": "fixed: Audit log is on", "wrap": True},
                    {"type": "TextBlock", "text": "3 check(s) failing in all (scan s2)", "wrap": True},
                ],
            },
        }
    ],
}
EXPECTED_SLACK = {
    "text": "Acme: score 60.0 (D); was 80.0; 1 new failing check(s)",
    "blocks": [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Acme: score 60.0 (D); was 80.0; 1 new failing check(s)\n"
                "NEW: MFA is enforced\n"
                "fixed: Audit log is on\n"
                "3 check(s) failing in all (scan s2)",
            },
        }
    ],
}
EXPECTED_JSON = {
    "event": "hygiene.scan",
    "regression": True,
    "organisation": "Acme",
    "scan_id": "s2",
    "score": 60.0,
    "grade": "D",
    "previous_score": 80.0,
    "new_failures": ["MFA is enforced"],
    "resolved": ["Audit log is on"],
    "failing_sources": [],
    "open_failures": 3,
    "no_longer_assessed": [],
    "previous_scan_id": None,
}


@pytest.mark.parametrize(
    ("fmt", "expected"), [("teams", EXPECTED_TEAMS), ("slack", EXPECTED_SLACK), ("json", EXPECTED_JSON)]
)
def test_webhook_payload_received_exactly(
    receiver: Receiver, tmp_path: Path, fmt: str, expected: dict[str, Any]
) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK", format=fmt)], digest="off")
    env = {"HOOK": receiver.url_base + SECRET_PATH}
    assert notify(config, "acme", regression(), tmp_path, env, MONDAY) == ["regression webhook"]
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert (request.method, request.path) == ("POST", SECRET_PATH)
    assert request.headers["content-type"] == "application/json"
    assert request.body == expected
    assert outbox_files(tmp_path) == []


def test_webhook_500_is_kept_then_delivered_when_healthy(receiver: Receiver, tmp_path: Path) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK", format="json")], digest="off")
    env = {"HOOK": receiver.url_base + SECRET_PATH}
    receiver.fail_next = 1
    with capture_logs() as logs:
        assert notify(config, "acme", regression(), tmp_path, env, MONDAY) == []
    assert len(receiver.requests) == 1 and receiver.fail_next == 0
    [kept] = outbox_files(tmp_path)
    text = kept.read_text(encoding="utf-8")
    assert "abc-secret-token" not in text and "127.0.0.1" not in text and "http" not in text
    assert json.loads(text)["channel"] == {"kind": "webhook", "url_env": "HOOK", "format": "json"}
    assert "abc-secret-token" not in repr(logs)  # the failure is logged without the URL
    assert any("HTTP 500" in str(entry.get("error")) for entry in logs)

    # the receiver is healthy again; nothing new is due (no regression, no digest): only the retry is sent
    quiet = Change(organisation="Acme", scan_id="s3", score=60.0, grade="D", previous_score=60.0)
    sent = notify(config, "acme", quiet, tmp_path, env, MONDAY + timedelta(days=1))
    assert sent == ["retried webhook"]
    assert len(receiver.requests) == 2
    assert receiver.requests[1].body == EXPECTED_JSON  # the kept change, not the new scan
    assert outbox_files(tmp_path) == []


def test_webhook_connection_refused_is_kept(tmp_path: Path) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK", format="slack")], digest="off")
    env = {"HOOK": f"http://127.0.0.1:{free_port()}{SECRET_PATH}"}
    with capture_logs() as logs:
        assert notify(config, "acme", regression(), tmp_path, env, MONDAY) == []
    [kept] = outbox_files(tmp_path)
    assert "abc-secret-token" not in kept.read_text(encoding="utf-8")
    assert "abc-secret-token" not in repr(logs)
    assert any("ConnectionError" in str(entry.get("error")) for entry in logs)


# --- SMTP server with STARTTLS and AUTH --------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[tuple[Envelope, Message]] = field(default_factory=list)
    #: for each AUTH attempt: (TLS active at that moment, login, success)
    auth_attempts: list[tuple[bool, str, bool]] = field(default_factory=list)
    #: TLS active when the message data arrived
    tls_on_data: list[bool] = field(default_factory=list)


class Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.mailbox.tls_on_data.append(session.ssl is not None and session.authenticated is True)
        self.mailbox.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


class Authenticator:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    def __call__(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        self.mailbox.auth_attempts.append((session.ssl is not None, auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)


class BoundController(Controller):
    """An aiosmtpd Controller on a socket already bound to 127.0.0.1:0 (no port race)."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    ca_file: Path


@pytest.fixture(scope="module")
def material() -> ServerMaterial:
    return shared_server_material()


@pytest.fixture
def smtp_server(material: ServerMaterial, tmp_path: Path) -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = BoundController(
        Handler(mailbox),
        loop=asyncio.new_event_loop(),
        tls_context=material.server_context(),
        require_starttls=True,
        authenticator=Authenticator(mailbox),
        auth_require_tls=True,
        auth_required=True,
        server_hostname="mail.acme.test",
    )
    controller.start()
    try:
        yield SmtpServer(port=controller.port, mailbox=mailbox, ca_file=material.write_ca(tmp_path / "ca"))
    finally:
        controller.stop()
        controller.loop.close()


def email_config(port: int, ca_file: Path | None) -> NotifyConfig:
    return NotifyConfig(
        email=EmailConfig(
            smtp_host="127.0.0.1",
            smtp_port=port,
            sender="hygiene@acme.test",
            to=["it@acme.test", "ciso@acme.test"],
            username_env="SMTP_USER",
            password_env="SMTP_PASS",
            ca_bundle=ca_file,
        ),
        digest="off",
    )


def test_email_over_starttls_with_auth(smtp_server: SmtpServer, tmp_path: Path) -> None:
    config = email_config(smtp_server.port, smtp_server.ca_file)
    env = {"SMTP_USER": SMTP_USER, "SMTP_PASS": SMTP_PASSWORD}
    data_dir = tmp_path / "data"
    assert notify(config, "acme", regression(), data_dir, env, MONDAY) == ["regression email"]
    mailbox = smtp_server.mailbox
    assert mailbox.auth_attempts == [(True, SMTP_USER, True)]  # AUTH only after STARTTLS, and it succeeded
    assert mailbox.tls_on_data == [True]
    [(envelope, message)] = mailbox.messages
    assert envelope.mail_from == "hygiene@acme.test"
    assert envelope.rcpt_tos == ["it@acme.test", "ciso@acme.test"]
    assert message["Subject"] == "[hygiene] Acme: score 60.0 (D); was 80.0; 1 new failing check(s)"
    assert message["From"] == "hygiene@acme.test"
    assert message["To"] == "it@acme.test, ciso@acme.test"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode().splitlines() == [
        "Acme: score 60.0 (D); was 80.0; 1 new failing check(s)",
        "NEW: MFA is enforced",
        "fixed: Audit log is on",
        "3 check(s) failing in all (scan s2)",
    ]
    assert outbox_files(data_dir) == []


def test_email_wrong_password_is_kept(smtp_server: SmtpServer, tmp_path: Path) -> None:
    config = email_config(smtp_server.port, smtp_server.ca_file)
    env = {"SMTP_USER": SMTP_USER, "SMTP_PASS": "wrong-password"}
    data_dir = tmp_path / "data"
    with capture_logs() as logs:
        assert notify(config, "acme", regression(), data_dir, env, MONDAY) == []
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN): all over TLS, all refused
    assert smtp_server.mailbox.auth_attempts and set(smtp_server.mailbox.auth_attempts) == {(True, SMTP_USER, False)}
    assert smtp_server.mailbox.messages == []
    [kept] = outbox_files(data_dir)
    text = kept.read_text(encoding="utf-8")
    assert "wrong-password" not in text and SMTP_USER not in text
    assert json.loads(text)["channel"] == {"kind": "email"}
    assert "wrong-password" not in repr(logs)
    assert any("SMTPAuthenticationError" in str(entry.get("error")) for entry in logs)

    # with the right password the kept notification goes out on the next run
    env["SMTP_PASS"] = SMTP_PASSWORD
    quiet = Change(organisation="Acme", scan_id="s3", score=60.0, grade="D", previous_score=60.0)
    assert notify(config, "acme", quiet, data_dir, env, MONDAY + timedelta(days=1)) == ["retried email"]
    assert len(smtp_server.mailbox.messages) == 1
    assert outbox_files(data_dir) == []


def test_email_untrusted_certificate_is_kept(smtp_server: SmtpServer, tmp_path: Path) -> None:
    """Without the CA bundle the self-signed CA is not trusted: no AUTH is attempted, nothing is sent."""
    config = email_config(smtp_server.port, None)
    env = {"SMTP_USER": SMTP_USER, "SMTP_PASS": SMTP_PASSWORD}
    data_dir = tmp_path / "data"
    assert notify(config, "acme", regression(), data_dir, env, MONDAY) == []
    assert smtp_server.mailbox.auth_attempts == [] and smtp_server.mailbox.messages == []
    assert len(outbox_files(data_dir)) == 1


def test_email_server_down_is_kept(material: ServerMaterial, tmp_path: Path) -> None:
    config = email_config(free_port(), material.write_ca(tmp_path / "ca"))
    env = {"SMTP_USER": SMTP_USER, "SMTP_PASS": SMTP_PASSWORD}
    data_dir = tmp_path / "data"
    with capture_logs() as logs:
        assert notify(config, "acme", regression(), data_dir, env, MONDAY) == []
    [kept] = outbox_files(data_dir)
    assert SMTP_PASSWORD not in kept.read_text(encoding="utf-8")
    assert any("ConnectionRefusedError" in str(entry.get("error")) for entry in logs)


def test_config_resolves_email_ca_bundle(tmp_path: Path) -> None:
    (tmp_path / "smtp-ca.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    text = """
[organisation]
id = "acme"
name = "Acme"
[sources.aws]
[notify.email]
smtp_host = "smtp.acme.test"
sender = "hygiene@acme.test"
to = ["it@acme.test"]
ca_bundle = "smtp-ca.pem"
"""
    (tmp_path / "hygiene.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "hygiene.toml")
    assert config.notify is not None and config.notify.email is not None
    assert config.notify.email.ca_bundle == tmp_path.resolve() / "smtp-ca.pem"
    (tmp_path / "smtp-ca.pem").unlink()
    with pytest.raises(InputError, match=r"notify\.email\.ca_bundle"):
        load_config(tmp_path / "hygiene.toml")


# --- a hostile organisation name (issue 12) -----------------------------------------------------------------


def hostile_change() -> Change:
    change = regression()
    change.organisation = organisation_name()  # Slack/Teams link syntax, <!channel>, ESC, U+202E, a lone surrogate
    return change


@pytest.mark.parametrize("fmt", ["slack", "teams"])
def test_webhook_with_a_hostile_organisation_name(receiver: Receiver, tmp_path: Path, fmt: str) -> None:
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK", format=fmt)], digest="off")
    env = {"HOOK": receiver.url_base + SECRET_PATH}
    assert notify(config, "acme", hostile_change(), tmp_path, env, MONDAY) == ["regression webhook"]
    [request] = receiver.requests
    if fmt == "slack":
        texts = [request.body["text"], request.body["blocks"][0]["text"]["text"]]
        for text in texts:  # no <url|label> link, no <!channel> mention: Slack's &lt; &gt; escapes
            assert ORG_MARKER in text and "<" not in text and ">" not in text, text
            assert "&lt;http://evil.example|" in text and "\x1b" not in text and "\u202e" not in text
    else:
        body = request.body["attachments"][0]["content"]["body"]
        headline = body[0]
        assert headline["type"] == "RichTextBlock" and [r["type"] for r in headline["inlines"]] == ["TextRun"]
        assert ORG_MARKER in headline["inlines"][0]["text"]
        assert not any(ORG_MARKER in block.get("text", "") for block in body[1:])  # Markdown only in our lines


def test_email_with_a_hostile_organisation_name(smtp_server: SmtpServer, tmp_path: Path) -> None:
    config = email_config(smtp_server.port, smtp_server.ca_file)
    env = {"SMTP_USER": SMTP_USER, "SMTP_PASS": SMTP_PASSWORD}
    assert notify(config, "acme", hostile_change(), tmp_path / "data", env, MONDAY) == ["regression email"]
    [(_, message)] = smtp_server.mailbox.messages
    subject = str(message["Subject"])
    assert ORG_MARKER in subject and "\x1b" not in subject and "\u202e" not in subject
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    lines = payload.decode().splitlines()
    assert len(lines) == 4 and ORG_MARKER in lines[0] and "\x1b" not in lines[0]


# --- what the notification says: the history's diff with the previous recorded scan ---------------------------


def notify_after(
    receiver: Receiver, data_dir: Path, earlier: list[ScanReport], current: ScanReport, on: str = "always"
) -> list[str]:
    """Record ``earlier`` then ``current`` in ``data_dir``'s history (the agent records its scan before it notifies)
    and notify about ``current`` as the agent does; the JSON payloads arrive at ``receiver``."""
    history = history_url(data_dir)
    with HistoryStore(history) as store:
        for scan in [*earlier, current]:
            store.record(scan)
    config = NotifyConfig(on=on, webhooks=[WebhookConfig(url_env="HOOK", format="json")], digest="off")
    change = change_since(current, previous_diff(history, current))
    return notify(config, "acme", change, data_dir, {"HOOK": receiver.url_base + SECRET_PATH}, MONDAY)


LATER = T0 + timedelta(days=7)


def test_failing_then_accepted_is_not_called_fixed(receiver: Receiver, tmp_path: Path) -> None:
    current = report("acme-2", [result("c", "accepted", "x", accepted=("x",))], at=LATER)
    notify_after(receiver, tmp_path, [report("acme-1", [result("c", "fail", "x")])], current)
    [request] = receiver.requests
    assert request.body["resolved"] == [] and request.body["regression"] is False  # was resolved: ["title of c"]


@pytest.mark.parametrize(("before", "now"), [("fail", "not_assessed"), ("pass", "not_assessed"), ("pass", "error")])
def test_a_check_no_longer_assessed_is_a_regression(receiver: Receiver, tmp_path: Path, before: str, now: str) -> None:
    """fail -> not assessed was "fixed" and silent; pass -> not assessed / error was silent (no source error, no
    score drop): both are notified now."""
    earlier = report("acme-1", [result("c", before, *(["x"] if before == "fail" else []))])
    current = report("acme-2", [result("c", now)], at=LATER)
    assert notify_after(receiver, tmp_path, [earlier], current, on="regression") == ["regression webhook"]
    [request] = receiver.requests
    assert request.body["no_longer_assessed"] == ["title of c"] and request.body["resolved"] == []
    assert request.body["regression"] is True


def test_passing_then_accepted_is_not_notified(receiver: Receiver, tmp_path: Path) -> None:
    current = report("acme-2", [result("c", "accepted", "x", accepted=("x",))], at=LATER)
    assert notify_after(receiver, tmp_path, [report("acme-1", [result("c", "pass")])], current, on="regression") == []
    assert receiver.requests == []


def test_titles_are_the_current_scans(receiver: Receiver, tmp_path: Path) -> None:
    earlier = report("acme-1", [result("c", "fail", "x", title="Old title"), result("gone", "fail", "y")])
    current = report("acme-2", [result("c", "pass", title="New title")], at=LATER)
    notify_after(receiver, tmp_path, [earlier], current)
    [request] = receiver.requests
    # was resolved: ["Old title", "title of gone"]: the old title, and a check no longer run counted as fixed
    assert request.body["resolved"] == ["New title"] and request.body["no_longer_assessed"] == ["title of gone"]


def test_the_previous_scan_is_the_last_recorded_one(receiver: Receiver, tmp_path: Path) -> None:
    """A manual ``hygiene scan --data-dir`` recorded in the history counts (its report folder is elsewhere); a
    report folder of the agent's whose scan is not in the history does not (it used to be the one compared)."""
    agents = report("acme-1", [result("c", "pass")])
    manual = report("acme-2", [result("c", "fail", "x")], at=T0 + timedelta(days=3))
    stray = tmp_path / "reports" / "acme" / "acme-3" / "report.json"
    stray.parent.mkdir(parents=True)
    stray.write_text(report("acme-3", [result("c", "pass")]).model_dump_json(), encoding="utf-8")
    current = report("acme-4", [result("c", "fail", "x")], at=LATER)
    assert notify_after(receiver, tmp_path, [agents, manual], current, on="regression") == []  # nothing new
    notify_after(receiver, tmp_path / "again", [agents, manual], current)
    [request] = receiver.requests
    assert request.body["previous_scan_id"] == "acme-2" and request.body["new_failures"] == []


def test_first_scan_every_failing_check_is_new(receiver: Receiver, tmp_path: Path) -> None:
    current = report("acme-1", [result("b", "fail", "x"), result("a", "fail", "y"), result("c", "pass")])
    assert notify_after(receiver, tmp_path, [], current, on="regression") == ["regression webhook"]
    [request] = receiver.requests
    assert request.body["new_failures"] == ["title of a", "title of b"]
    assert request.body["previous_scan_id"] is None and request.body["previous_score"] is None


def test_unreadable_history_notifies_as_a_first_scan(receiver: Receiver, tmp_path: Path) -> None:
    current = report("acme-1", [result("a", "fail", "y")])
    with capture_logs() as logs:
        diff = previous_diff(history_url(tmp_path / "no-history-here"), current)
    assert diff is None and any("history unreadable" in str(entry.get("event")) for entry in logs)
    config = NotifyConfig(webhooks=[WebhookConfig(url_env="HOOK", format="json")], digest="off")
    env = {"HOOK": receiver.url_base + SECRET_PATH}
    assert notify(config, "acme", change_since(current, diff), tmp_path, env, MONDAY) == ["regression webhook"]
    assert receiver.requests[0].body["new_failures"] == ["title of a"]
