"""Contract: the Google sandbox and tests/googlefake.py against Google's discovery documents.

Real scans (the source, google-api-python-client, httplib2, over HTTPS) of the Northwind Leeds scenario and of a
generated customer; every request in the sandbox's request log must be a discovery method with declared
parameters and a valid ``fields`` mask, and every body the sandbox answered must validate against the method's
response schema (or Google's error shape). The same rules hold googlefake's canned bodies. See
``tests/contract/google_spec.py`` for what is checked and docs/vendor-facts.md (section "contracts").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import googlefake
import pytest

from contract import google_spec as spec
from hygiene.config import GoogleConfig
from hygiene.sources.google import source
from hygiene.sources.google.catalogue import SCOPES
from hygiene.sources.interface import RawRecorder
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import Sandbox, Scenario, generate, northwind

NOW = datetime.now(UTC)
#: enough attempts that a request throttled again on retry (the lanes share the throttle counter) still lands
FAST = RetryPolicy(max_attempts=12, base_delay=0, max_delay=0)


@dataclass
class Exchange:
    method: str
    #: path and query string, as sent
    target: str
    status: int
    body: Any


@dataclass
class Run:
    log: list[tuple[str, str, int]]
    exchanges: list[Exchange]


def _scan(scenario: Scenario, **sandbox_options: Any) -> Run:
    """One scan of the scenario's Google customer by the real source; every API answer the sandbox gave."""
    exchanges: list[Exchange] = []
    with Sandbox(scenario, **sandbox_options) as sandbox:
        api = sandbox._google
        assert api is not None
        handle = api.handle

        def recording(method: str, path: str, query: str, headers: Any, body: bytes) -> Any:
            reply = handle(method, path, query, headers, body)
            if not api.is_token_endpoint(path):
                target = path + ("?" + query if query else "")
                exchanges.append(Exchange(method, target, reply.status, reply.json))
            return reply

        api.handle = recording  # type: ignore[method-assign]
        settings = sandbox.google_settings()
        config = GoogleConfig(
            service_account_file=Path(settings["service_account_file"]),
            delegated_admin=settings["delegated_admin"],
            customer_id=settings["customer_id"],
            api_endpoint=settings["api_endpoint"],
            ca_bundle=Path(settings["ca_bundle"]),
        )
        collected = source.GoogleSource(config, retry=FAST, sleep=lambda _: None).collect(RawRecorder(None, "google"))
        log = [(r.method, r.path, r.status) for r in sandbox.requests if not r.path.startswith("/token")]
    assert all(state.available for state in collected.run.datasets.values()), collected.run.datasets
    return Run(log, exchanges)


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """Northwind Leeds paged three items a page (so page tokens flow), a throttled Northwind Leeds (so the 429 and
    403 rate-limit bodies are served) and a generated customer."""
    return {
        "northwind": _scan(northwind(NOW), google_page_limit=3),
        "throttled": _scan(northwind(NOW), throttle_every=3),
        "generated": _scan(generate(120, seed=11, now=NOW)),
    }


RUNS = ("northwind", "throttled", "generated")


@pytest.mark.parametrize("name", RUNS)
def test_every_request_is_a_discovery_method_with_declared_parameters(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.log, "the scan made no API request"
    problems = sorted({p for method, target, _ in run.log for p in spec.check_request(method, target)})
    assert problems == [], "\n".join(problems)


def test_the_scans_cover_every_method_the_source_calls(runs: dict[str, Run]) -> None:
    called = {spec.find_method(m, t).id for run in runs.values() for m, t, _ in run.log}
    # at least these (a source calling more is held to the same rules by the tests above)
    assert called >= {
        "directory.users.list",
        "directory.roles.list",
        "directory.roleAssignments.list",
        "directory.mobiledevices.list",
        "directory.chromeosdevices.list",
        "cloudidentity.devices.list",
    }
    assert any("pageToken=" in t for _, t, _ in runs["northwind"].log), "no request followed a page token"


@pytest.mark.parametrize("name", RUNS)
def test_every_sandbox_response_validates_against_the_method_schema(runs: dict[str, Run], name: str) -> None:
    ok = [e for e in runs[name].exchanges if e.status == 200]
    assert ok
    problems = [p for e in ok for p in spec.check_response(e.method, e.target, e.body)]
    assert problems == [], "\n".join(problems)


def test_every_sandbox_error_has_googles_error_shape(runs: dict[str, Run]) -> None:
    errors = [e for run in runs.values() for e in run.exchanges if e.status != 200]
    assert {e.status for e in errors} >= {403, 429}, "the throttled scan served no rate-limit errors"
    assert [p for e in errors for p in spec.check_error(e.status, e.body)] == []


@pytest.mark.parametrize("scenario", ["northwind", "generated"])
def test_sandbox_whole_resources_and_errors_validate(scenario: str) -> None:
    """Without a fields mask the sandbox returns whole resources: all of it must be in the schema; and each kind
    of error it answers has Google's error shape."""
    built = northwind(NOW) if scenario == "northwind" else generate(120, seed=11, now=NOW)
    with Sandbox(built) as sandbox:
        api = sandbox._google
        assert api is not None
        google = sandbox.scenario.google
        assert google is not None
        token = api.tokens.issue(google.client_email, google.delegated_admin, frozenset(SCOPES.values()))
        headers = {"authorization": f"Bearer {token}"}
        paths = [
            ("/admin/directory/v1/users", f"customer={google.customer_id}&maxResults=500"),
            (f"/admin/directory/v1/customer/{google.customer_id}/roles", ""),
            (f"/admin/directory/v1/customer/{google.customer_id}/roleassignments", ""),
            (f"/admin/directory/v1/customer/{google.customer_id}/devices/mobile", "projection=FULL"),
            (f"/admin/directory/v1/customer/{google.customer_id}/devices/chromeos", "projection=FULL"),
            ("/v1/devices", f"customer=customers/{google.customer_id}&pageSize=100"),
        ]
        problems = []
        for path, query in paths:
            reply = api.handle("GET", path, query, headers, b"")
            assert reply.status == 200, (path, reply.json)
            target = f"{path}?{query}" if query else path
            problems += spec.check_request("GET", target)
            problems += spec.check_response("GET", target, reply.json)
        # the chaos faults' bodies (hygiene_sandbox.chaos), Directory and Cloud Identity
        for status in (429, 500, 503):
            for path in ("/admin/directory/v1/users", "/v1/devices"):
                fault = api.fault_reply(status, 1 if status != 500 else None, path)
                problems += spec.check_error(fault.status, fault.json)
        refused = api.method_not_allowed("POST", "/admin/directory/v1/users")
        problems += spec.check_error(refused.status, refused.json)
        # authentication and authorisation errors: no token, a token without the method's scope, another customer
        narrow = api.tokens.issue(google.client_email, google.delegated_admin, frozenset({SCOPES["google.users"]}))
        for path, query, auth in (
            ("/admin/directory/v1/users", "customer=my_customer", {}),
            ("/v1/devices", "customer=customers/my_customer", {}),
            (paths[1][0], "", {"authorization": f"Bearer {narrow}"}),
            ("/v1/devices", "customer=customers/my_customer", {"authorization": f"Bearer {narrow}"}),
            ("/admin/directory/v1/customer/C0other/roles", "", headers),
            ("/admin/directory/v1/users", "customer=my_customer&maxResults=9999", headers),
        ):
            reply = api.handle("GET", path, query, auth, b"")
            assert reply.status in (400, 401, 403), (path, reply.status)
            problems += spec.check_error(reply.status, reply.json)
    assert problems == [], "\n".join(problems)


# -- the check can fail -----------------------------------------------------------------------------------------


def test_the_contract_rejects_an_invented_field_enum_parameter_or_endpoint() -> None:
    users = "/admin/directory/v1/users?customer=my_customer"
    assert spec.check_response("GET", users, {"users": [{"id": "1", "isAdmin": True}]}) == []
    assert spec.check_response("GET", users, {"users": [{"id": "1", "isSuperAdmin": True}]}) != []
    assert spec.check_response("GET", users, {"users": [{"id": "1", "isAdmin": "true"}]}) != []
    assert spec.check_response("GET", users, {"users": [{"id": "1", "lastLoginTime": "yesterday"}]}) != []
    assert spec.check_response("GET", users, {"users": [{"name": {"nickname": "Al"}}]}) != []
    roles = "/admin/directory/v1/customer/my_customer/roleassignments"
    assert spec.check_response("GET", roles, {"items": [{"assigneeType": "group"}]}) == []
    assert spec.check_response("GET", roles, {"items": [{"assigneeType": "serviceAccount"}]}) != []
    assert spec.check_response("GET", roles, {"items": [{"roleId": 7}]}) != []  # int64 travels as a string
    devices = "/v1/devices?customer=customers/my_customer"
    assert spec.check_response("GET", devices, {"devices": [{"deviceType": "WINDOWS_PHONE"}]}) != []
    assert spec.check_request("GET", users + "&orderBy=lastLogin") != []
    assert spec.check_request("GET", users + "&maxResults=501") != []
    assert spec.check_request("GET", users + "&includeGuests=true") != []
    assert spec.check_request("GET", users + "&fields=users(id,isSuperAdmin)") != []
    assert spec.check_request("GET", users + "&fields=users(name/nickname)") != []
    assert spec.check_request("GET", users + "&fields=users(id,name/fullName),nextPageToken") == []
    assert spec.check_request("GET", "/admin/directory/v1/customer/my_customer/devices/printers") != []
    assert spec.check_request("POST", "/admin/directory/v1/customer/my_customer/roles") == []  # roles.insert
    assert spec.check_request("DELETE", "/v1/devices") != []
    # a response holding fields the mask did not select
    assert spec.check_response("GET", users + "&fields=users(id)", {"users": [{"id": "1", "isAdmin": True}]}) != []
    # error bodies
    good = {"error": {"code": 403, "message": "m", "status": "PERMISSION_DENIED", "errors": [_item("forbidden")]}}
    assert spec.check_error(403, good) == []
    assert spec.check_error(403, {"error": {**good["error"], "status": "FORBIDDEN"}}) != []
    assert spec.check_error(403, {"error": {**good["error"], "status": "NOT_FOUND"}}) != []
    assert spec.check_error(429, {"error": {**good["error"], "code": 429, "status": "RESOURCE_EXHAUSTED"}}) == []
    assert spec.check_error(403, {"error": {**good["error"], "details": [{"@type": "x", "reason": "r"}]}}) != []


def _item(reason: str) -> dict[str, str]:
    return {"message": reason, "domain": "global", "reason": reason}


def test_the_fields_parser_reads_googles_syntax() -> None:
    assert spec.parse_fields("a,b/c,d(e,f/g),h/*") == {"a": None, "b": {"c": None}, "d": {"e": None, "f": {"g": None}},
                                                     "h": {"*": None}}  # fmt: skip
    assert spec.parse_fields("a(b),a(c)") == {"a": {"b": None, "c": None}}
    for bad in ("", "a(", "a,", "a)b", "(a)", "a//b"):
        with pytest.raises(spec.ContractError):
            spec.parse_fields(bad)


# -- tests/googlefake.py ----------------------------------------------------------------------------------------


def _every_fake_variant() -> googlefake.Workspace:
    """The healthy workspace plus every helper with each of its edge options."""
    ws = googlefake.healthy_workspace()
    ws.users += [
        googlefake.guser("eve", enrolled=False, enforced=False, login=None),
        googlefake.guser("fay", delegated=True, suspended=True),
    ]
    ws.mobiles += [googlefake.mobile("iPad", "iOS 17", "eve", patch=None, sync=400)]
    ws.chromes += [
        googlefake.chrome("CB-OLD", aue_days=30, compliance="notCompliant", status="DEPROVISIONED"),
        googlefake.chrome("CB-PENDING", compliance="pending"),
    ]
    ws.endpoints += [googlefake.endpoint("MAC", "MAC_OS", "macOS 15.1", sync=90)]
    ws.assignments.append(
        {
            "roleId": googlefake.HELP_DESK_ROLE_ID,
            "assignedTo": "grp-1",
            "assigneeType": "group",
            "scopeType": "CUSTOMER",
        }
    )
    ws.groups["grp-1"] = [googlefake.member("id-eve", "eve@leeds.test"), googlefake.member("grp-2", kind="GROUP")]
    return ws


def _bodies(mock: Any) -> Iterator[tuple[int, Any]]:
    for headers, content in mock._iterable:
        yield int(headers["status"]), json.loads(content)


def test_googlefake_bodies_validate_against_the_discovery_schemas() -> None:
    """googlefake validates every page it builds (``Workspace._pages``): the helpers with each edge option pass,
    and an invented field or enum value is refused."""
    ws = _every_fake_variant()
    for dataset in googlefake.SCOPE:
        assert list(_bodies(ws.http_factory(googlefake.SCOPE[dataset])))
    bad = googlefake.healthy_workspace()
    bad.assignments.append({"roleId": googlefake.HELP_DESK_ROLE_ID, "assignedTo": "x", "assigneeType": "robot"})
    with pytest.raises(AssertionError, match="assigneeType"):
        bad.http_factory(googlefake.SCOPE["google.roles"])
    bad = googlefake.healthy_workspace()
    bad.users[0]["isSuperAdmin"] = True
    with pytest.raises(AssertionError, match="isSuperAdmin"):
        bad.http_factory(googlefake.SCOPE["google.users"])


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (403, "insufficientPermissions", "Request had insufficient authentication scopes."),
        (403, "userRateLimitExceeded", ""),
        (429, "rateLimitExceeded", ""),
        (503, "backendError", ""),
        (404, "notFound", ""),
        (401, "authError", ""),
    ],
)
def test_googlefake_errors_have_googles_error_shape(status: int, reason: str, message: str) -> None:
    headers, content = googlefake.error(status, reason, message)
    assert int(headers["status"]) == status
    assert spec.check_error(status, json.loads(content)) == []


def test_the_sandboxs_own_field_lists_are_the_discovery_schemas() -> None:
    """The sandbox validates ``fields`` masks with its own lists (``google_api.SCHEMAS``): they must name exactly
    the discovery schema's properties, nested where the discovery document nests, or the sandbox would accept a
    mask Google refuses (or refuse one Google accepts)."""
    from hygiene_sandbox.google_api import SCHEMAS

    directory, identity = spec.document("admin", "directory_v1"), spec.document("cloudidentity", "v1")
    aliases = {
        "ListDevicesResponse": (identity, "GoogleAppsCloudidentityDevicesV1ListDevicesResponse"),
        "Device": (identity, "GoogleAppsCloudidentityDevicesV1Device"),
    }
    problems = []
    for name, fields in SCHEMAS.items():
        doc, schema = aliases.get(name, (directory, name))
        properties = doc["schemas"][schema]["properties"]
        if set(fields) != set(properties):
            problems.append(f"{name}: sandbox-only {sorted(set(fields) - set(properties))}, "
                            f"discovery-only {sorted(set(properties) - set(fields))}")  # fmt: skip
            continue
        for field, sub in fields.items():
            inner = spec._object_schema(properties[field], doc)
            nested = inner.get("type") in ("object", "any") or "properties" in inner
            if nested != (sub is not None):
                problems.append(f"{name}.{field}: the sandbox and the discovery document disagree on nesting")
    assert problems == [], "\n".join(problems)
