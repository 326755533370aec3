"""Every URL in a response is hostile: the Graph token never leaves the configured host, redirects are not
followed, and the usage report is fetched only from a Microsoft report host (issue 12, items 1 and 2, Graph).

Driven through the real M365 source (msal + requests) against the `responses` fake of Graph; the other host is a
`responses` listener that records what reached it.
"""

from __future__ import annotations

import re
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
