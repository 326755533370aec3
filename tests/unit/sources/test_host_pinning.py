"""Every URL in a response is hostile: the Graph token never leaves the configured host, redirects are not
followed, and the usage report is fetched only from a Microsoft report host (issue 12, items 1 and 2, Graph).

Driven through the real M365 source (msal + requests) against the `responses` fake of Graph; the other host is a
`responses` listener that records what reached it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from conftest import collect, run_checks
from graphfake import Tenant, user

EVIL = "https://evil.example"


def _listen(tenant: Tenant, url_prefix: str) -> list[dict[str, str]]:
    """Record every request that reaches ``url_prefix`` (the attacker's listener)."""
    seen: list[dict[str, str]] = []
    original = tenant.install

    def install(rsps: responses.RequestsMock) -> None:
        original(rsps)

        def record(request: Any) -> tuple[int, dict[str, str], str]:
            seen.append(dict(request.headers))
            return 200, {"Content-Type": "application/json"}, '{"value": []}'

        rsps.add_callback(responses.GET, re.compile(re.escape(url_prefix) + ".*"), callback=record)

    tenant.install = install  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("other", [EVIL, "http://graph.microsoft.com", "https://graph.microsoft.com:8443"])
def test_next_link_off_the_graph_origin_is_never_followed(tenant: Tenant, other: str) -> None:
    tenant.users += [user(f"u{i}") for i in range(5)]  # several pages at page_size 2
    tenant.next_link_origin = other
    seen = _listen(tenant, other)
    snapshot = collect(tenant)
    assert seen == []  # neither the token nor any request reached the other origin
    users = snapshot.sources["m365"].datasets["m365.users"]
    assert not users.available
    host = other.split("://", 1)[1].split(":", 1)[0]
    assert "OffHostLink" in (users.reason or "") and host in (users.reason or "")
    results = {r.check_id: r for r in run_checks(snapshot).results}
    assert results["m365.mfa.enforced"].status.value == "not_assessed"  # never a pass on a partial user list


@pytest.mark.parametrize(
    "location", [f"{EVIL}/data/download/activity.csv", "http://reports.office.com/data/download/activity.csv"]
)
def test_report_redirect_to_a_foreign_host_is_not_fetched(tenant: Tenant, location: str) -> None:
    tenant.premium = False
    tenant.report_location = location
    tenant.activity_csv = "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n"
    seen = _listen(tenant, location.split("/data/", 1)[0])
    snapshot = collect(tenant)
    assert seen == []
    sign_ins = snapshot.sources["m365"].datasets["m365.sign_ins"]
    assert not sign_ins.available and "not a Microsoft report host" in (sign_ins.reason or "")


def test_report_download_from_a_microsoft_report_host_works(tenant: Tenant) -> None:
    tenant.premium = False
    tenant.activity_csv = "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n"
    snapshot = collect(tenant)
    assert snapshot.sources["m365"].datasets["m365.sign_ins"].available


# -- the same through the sandboxes and the real CLI -------------------------------------------------------------


class _Listener:
    """The other host: a TCP listener on 127.0.0.1 that records every connection made to it (a TLS client hello
    or a plain request alike), so a test can assert that nothing - least of all a token - reached it."""

    def __init__(self) -> None:
        import socket
        import threading

        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def listener() -> Iterator[_Listener]:
    other = _Listener()
    yield other
    other.close()


@pytest.mark.parametrize(
    ("rule", "dataset", "check"),
    [
        ((r"^GET /v1\.0/roleManagement/directory/roleAssignments$", "offhost_link"), "m365.roles", "m365.mfa.admins"),
        (
            (r"^GET /v1\.0/identity/conditionalAccess/policies$", "offhost_redirect"),
            "m365.mfa_policies",
            "m365.mfa.enforced",
        ),
        ((r"^GET /admin/directory/v1/users$", "offhost_redirect"), "google.users", "gws.mfa.enrolled"),
        (
            (r"^POST /providers/Microsoft\.ResourceGraph/resources$", "offhost_redirect"),
            "azure.backup",
            "azure.backup.coverage",
        ),
    ],
)
def test_sandbox_off_host_link_or_redirect_is_a_dataset_error_and_no_token_leaves(
    rule: tuple[str, str],
    dataset: str,
    check: str,
    listener: _Listener,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from hygiene.cli import main
    from hygiene.demo import SECRET_ENV, write_demo_config
    from hygiene_sandbox import Sandbox, northwind
    from hygiene_sandbox.chaos import Chaos

    chaos = Chaos(rate=0, persistent=(rule,), offhost_origin=f"https://127.0.0.1:{listener.port}")
    with Sandbox(northwind(), chaos=chaos, page_sizes={"roleAssignments": (1, None)}) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = CliRunner().invoke(main, ["scan", str(config), "--output", str(tmp_path / "out")])
    assert listener.received == []  # no connection at all, so no token
    assert result.exit_code == 3, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    platform = dataset.split(".", 1)[0]
    state = report["sources"][platform]["datasets"][dataset]
    assert state["available"] is False and "127.0.0.1" in state["reason"], state
    assert {r["check_id"]: r["status"] for r in report["results"]}[check] == "not_assessed"


@pytest.mark.parametrize("rule", [r"^backup:ListBackupVaults$", r"^iam:GenerateCredentialReport$"])
def test_aws_redirect_off_the_endpoint_is_not_followed(
    rule: str, listener: _Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 307 from the AWS endpoint to another host: botocore must not re-send the signed request (and its session
    token) there, and the dataset is an error naming the status, never an empty answer."""
    from hygiene.config import AwsConfig
    from hygiene.sources.aws.source import AwsSource
    from hygiene.sources.interface import RawRecorder
    from hygiene_sandbox import aws as aws_sandbox
    from hygiene_sandbox.chaos import Chaos

    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0.0)
    chaos = Chaos(rate=0, persistent=((rule, "offhost_redirect"),), offhost_origin=f"http://127.0.0.1:{listener.port}")
    with aws_sandbox.AwsSandbox(aws_sandbox.northwind_aws(), chaos=chaos) as sandbox:
        config = AwsConfig(
            role_arn=sandbox.role_arn,
            organization_role=sandbox.organization_role,
            regions=sandbox.regions,
            endpoint_url=sandbox.endpoint_url,
        )
        environ = {k: v for k, v in sandbox.environ().items() if k != "AWS_ENDPOINT_URL"}
        collected = AwsSource(config, environ=environ, timeouts=(10.0, 30.0)).collect(RawRecorder(None, "aws"))
        assert sandbox.faults_injected.get("offhost_redirect", 0) > 0
    assert listener.received == []
    dataset = "aws.backup" if rule.startswith("^backup") else "aws.iam"
    state = collected.run.datasets[dataset]
    gaps = [text for _, text in getattr(collected.data, "gaps", [])] if state.available else []
    said = [state.reason or ""] if not state.available else gaps
    assert said, state  # never an (empty) answer
    if dataset == "aws.backup":  # JSON protocol: botocore reports the status; the source names where it pointed
        assert any("redirect (307) to http://127.0.0.1: not followed" in text for text in said), said
    else:  # query protocol: the empty 307 body does not parse, which is an error too (retried, then the dataset)
        assert any("ResponseParserError" in text for text in said), said


@pytest.mark.parametrize("body", ["", "<html><body>Sign in</body></html>", '{"value": []}'])
def test_report_download_must_read_as_the_report(tenant: Tenant, body: str) -> None:
    """The usage report arrives through a redirect: a body that is not the report (empty, a login page, JSON) is an
    error, never "nobody was active" nor "everybody was"."""
    tenant.premium = False
    tenant.activity_csv = body
    sign_ins = collect(tenant).sources["m365"].datasets["m365.sign_ins"]
    assert not sign_ins.available and "is not the Office 365 active-user report" in (sign_ins.reason or "")
