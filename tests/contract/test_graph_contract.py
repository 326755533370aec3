"""Contract tests: the Microsoft Graph sandbox and the ``graphfake`` test double held to Microsoft's published
v1.0 metadata (``graph/graph-v1.0.json``, a trimmed extract of msgraph-metadata's ``schemas/v1.0-Prod.csdl``,
made by ``graph/extract.py``; beta: the beta type-mapping files).

Real scans of the sandbox (Northwind in several licence / permission variants, and a generated tenant) are
recorded at the sandbox's Graph boundary: every request the M365 source makes must resolve through the CSDL with
its ``$select`` / ``$expand`` / ``$filter`` / ``$orderby`` properties declared, and every JSON object the sandbox
answers must be an instance of the type the URL addresses. The same holds for what ``tests/graphfake.py`` serves.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

# importable however tests/contract is collected (with or without an __init__.py beside it)
sys.path.insert(0, str(Path(__file__).parent))

from graphcsdl import Contract, Target, check_error
from graphfake import GRAPH, SECRET, Tenant, mfa_policy, registration, user

from hygiene.config import load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.sources.interface import RawRecorder
from hygiene.sources.m365.source import DEVICE_FIELDS, METHOD_STRENGTH, STRONG_METHOD_TYPES, USER_FIELDS, M365Source
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import Sandbox, Scenario, generate, northwind
from hygiene_sandbox.graph import EMPTY_COLLECTIONS, ROUTES, USER_DEFAULT_PROPERTIES, USER_EXTRA_PROPERTIES
from hygiene_sandbox.vendor import GLOBAL_ADMIN

NOW = datetime.now(UTC)
FAST = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
CONTRACT = Contract()


@dataclass
class Exchange:
    """One request the sandbox's Graph answered, as it crossed the wire."""

    method: str
    path: str
    query: str
    request: Any
    status: int
    content_type: str
    response: Any
    #: sent by the test's own probes, not by the source
    probe: bool = False
    #: the request carried ``Prefer: include-unknown-enum-members``
    evolvable: bool = False

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def _record(sandbox: Sandbox) -> list[Exchange]:
    """Record every Graph request and answer of a running sandbox (the request log keeps no bodies)."""
    graph = sandbox._graph
    assert graph is not None
    original = graph.handle
    log: list[Exchange] = []

    def handle(method: str, path: str, query: str, headers: Any, body: bytes) -> Any:
        reply = original(method, path, query, headers, body)
        content_type = reply.headers.get("Content-Type", "")
        payload = reply.json if "json" in content_type and reply.body else None
        request = json.loads(body) if body else None
        prefer = "include-unknown-enum-members" in str(headers.get("prefer") or headers.get("Prefer") or "")
        log.append(Exchange(method, path, query, request, reply.status, content_type, payload, evolvable=prefer))
        return reply

    graph.handle = handle  # type: ignore[method-assign]
    return log


def _scan(scenario: Scenario, folder: Path, probe: Callable[[Sandbox], None] | None = None) -> list[Exchange]:
    with Sandbox(scenario) as sandbox:
        log = _record(sandbox)
        config = load_config(write_demo_config(folder, sandbox))
        assert config.sources.m365 is not None
        source = M365Source(
            config.sources.m365, environ={SECRET_ENV: sandbox.client_secret}, retry=FAST, sleep=lambda s: None
        )
        source.collect(RawRecorder(None, "m365"))
        scanned = len(log)
        if probe is not None:
            probe(sandbox)
    for exchange in log[scanned:]:
        exchange.probe = True
    return log


def _probe_routes(sandbox: Sandbox) -> None:
    """GET what the source does not read today but the sandbox serves (one id each), so that every route's
    answer is checked too."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    token = session.post(
        f"{sandbox.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "scope": f"{sandbox.graph_url}/.default",
        },
        timeout=10,
    ).json()["access_token"]
    scenario = sandbox.scenario
    user_id = str(scenario.users[0]["id"])
    group_id = next(iter(scenario.groups))
    paths = [
        f"/v1.0/users/{user_id}",
        f"/v1.0/users/{user_id}?$select=id,displayName,signInActivity",
        f"/v1.0/users/{user_id}/authentication/methods",
        f"/beta/users/{user_id}/authentication/requirements",
        f"/v1.0/groups/{group_id}/members",
        f"/v1.0/groups/{group_id}/transitiveMembers/microsoft.graph.user",
        f"/v1.0/groups/{group_id}/transitiveMembers/microsoft.graph.group",
        "/v1.0/roleManagement/directory/roleAssignments?$expand=principal($select=id,displayName),roleDefinition",
        "/v1.0/solutions/backupRestore/protectionPolicies",
        "/v1.0/users?$count=true&$top=5",
        # properties the scenarios do not fill: Graph answers [] for a collection, null for the rest
        "/v1.0/users?$select=id,identities,otherMails,proxyAddresses,imAddresses,creationType,externalUserState",
        "/v1.0/users?$filter=userType eq 'Guest'",
        "/v1.0/users/does-not-exist",
        "/v1.0/nothing-here",
    ]
    if scenario.registrations:
        paths.append(f"/v1.0/reports/authenticationMethods/userRegistrationDetails/{scenario.registrations[0]['id']}")
    if scenario.ca_policies:
        paths.append(f"/v1.0/identity/conditionalAccess/policies/{scenario.ca_policies[0]['id']}")
    for path in paths:
        session.get(f"{sandbox.graph_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    session.close()


VARIANTS: dict[str, Callable[[], Scenario]] = {
    "northwind": lambda: northwind(NOW, google=False),
    "northwind-no-p1": lambda: northwind(NOW, premium=False, google=False),
    "northwind-no-intune": lambda: northwind(NOW, intune_licensed=False, google=False),
    "northwind-backup": lambda: northwind(NOW, backup="enabled", google=False),
    "northwind-withheld": lambda: northwind(
        NOW, withheld_permissions={"AuditLog.Read.All", "BackupRestore-Control.Read.All"}, google=False
    ),
    "generated": lambda: generate(120, seed=11, now=NOW, google=False),
}


@pytest.fixture(scope="module")
def sandbox_log(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Exchange]]:
    """One scan per variant for the whole module (the probes once, on Northwind)."""
    logs = {}
    for name, build in VARIANTS.items():
        probe = _probe_routes if name in ("northwind", "northwind-backup") else None
        logs[name] = _scan(build(), tmp_path_factory.mktemp(name), probe)
    return logs


def _exchanges(logs: dict[str, list[Exchange]]) -> Iterator[tuple[str, Exchange]]:
    for name, log in logs.items():
        for exchange in log:
            yield name, exchange


def _request_problems(exchange: Exchange) -> list[str]:
    return CONTRACT.check_request(exchange.method, exchange.url, exchange.request)


def _response_problems(exchange: Exchange) -> list[str]:
    """The answer checked against the type its URL addresses; ``$batch`` inner answers one by one."""
    version, _, rest = exchange.path.lstrip("/").partition("/")
    try:
        target = CONTRACT.resolve(version, rest)
    except ValueError:
        # a URL outside the CSDL (a probe of a missing resource): only an error is a right answer
        if exchange.status < 400:
            return [f"{exchange.url}: {exchange.status} for a path the CSDL does not have"]
        return check_error(exchange.response, exchange.url)
    if target.kind != "batch" or exchange.status >= 400:
        select = dict(parse_qsl(exchange.query)).get("$select")
        return CONTRACT.check_response(
            target,
            exchange.status,
            exchange.response,
            exchange.url,
            evolvable=exchange.evolvable,
            select=[n.strip() for n in select.split(",")] if select else None,
        )
    return _batch_problems(version, exchange.request, exchange.response, exchange.url)


def _batch_problems(version: str, request: Any, response: Any, where: str) -> list[str]:
    """https://learn.microsoft.com/graph/json-batching: ``{"responses": [{"id", "status", "headers"?, "body"?}]}``."""
    if not isinstance(response, dict) or set(response) - {"responses", "@odata.nextLink"}:
        return [f"{where}: a $batch answer is {{'responses': [...]}}, got {response!r}"]
    sent = {str(r["id"]): r for r in request["requests"]}
    problems = []
    for item in response.get("responses", []):
        extra = set(item) - {"id", "status", "headers", "body"}
        if extra:
            problems.append(f"{where}: a $batch response has members Graph does not send: {sorted(extra)}")
        sub = sent.get(str(item.get("id")))
        if sub is None:
            problems.append(f"{where}: a $batch response for an id not asked: {item.get('id')!r}")
            continue
        url = str(sub["url"])
        path = url.partition("?")[0]
        inner = f"{where} -> {url}"
        try:
            target = CONTRACT.resolve(version, path)
        except ValueError as exc:
            problems.append(f"{inner}: {exc}")
            continue
        prefer = "include-unknown-enum-members" in str((sub.get("headers") or {}).get("Prefer", ""))
        problems += CONTRACT.check_response(
            target, int(item.get("status", 0)), item.get("body"), inner, evolvable=prefer
        )
    return problems


def _collapse(problems: list[str], limit: int = 60) -> list[str]:
    """Problems without repeats: the same defect is served for many items, ids and hosts (all dropped here)."""
    collapsed: dict[str, None] = {}
    for problem in problems:
        problem = re.sub(r"https://[^ ]+|/[0-9a-f-]{36}|\[\d+\]", lambda m: "[]" if m[0][0] == "[" else "", problem)
        collapsed.setdefault(problem, None)
    found = list(collapsed)
    return found[:limit] + ([f"... and {len(found) - limit} more"] if len(found) > limit else [])


# -- the sandbox ---------------------------------------------------------------------------------------------
def test_every_request_the_source_makes_is_in_the_csdl(sandbox_log: dict[str, list[Exchange]]) -> None:
    problems = []
    for name, exchange in _exchanges(sandbox_log):
        if not exchange.probe:
            problems += [f"{name}: {p}" for p in _request_problems(exchange)]
    found = _collapse(problems)
    assert not found, "\n".join(found)


def test_the_scans_read_every_dataset(sandbox_log: dict[str, list[Exchange]]) -> None:
    """Guards the two tests around it: the recorded scans did read each endpoint (a scan that stopped early
    would make them pass on nothing)."""
    paths = {e.path.split("/", 2)[2].split("/")[0] for log in sandbox_log.values() for e in log}
    assert {"users", "reports", "policies", "identity", "roleManagement", "groups", "subscribedSkus"} <= paths
    assert {"deviceManagement", "solutions", "$batch"} <= paths
    batches = [e for log in sandbox_log.values() for e in log if e.path.endswith("$batch")]
    assert any(e.path.startswith("/beta/") for e in batches) and any(e.path.startswith("/v1.0/") for e in batches)


def test_every_object_the_sandbox_answers_is_an_instance_of_its_type(sandbox_log: dict[str, list[Exchange]]) -> None:
    problems = []
    for name, exchange in _exchanges(sandbox_log):
        problems += [f"{name}: {p}" for p in _response_problems(exchange)]
    found = _collapse(problems)
    assert not found, "\n".join(found)


#: Scenario field -> the Graph type of each of its objects (everything the sandbox serves comes from these)
SCENARIO_TYPES: dict[str, str] = {
    "users": "microsoft.graph.user",
    "registrations": "microsoft.graph.userRegistrationDetails",
    "ca_policies": "microsoft.graph.conditionalAccessPolicy",
    "role_definitions": "microsoft.graph.unifiedRoleDefinition",
    "role_assignments": "microsoft.graph.unifiedRoleAssignment",
    "skus": "microsoft.graph.subscribedSku",
    "managed_devices": "microsoft.graph.managedDevice",
    "compliance_policies": "microsoft.graph.deviceCompliancePolicy",
    "service_principals": "microsoft.graph.servicePrincipal",
    "graph_grants": "microsoft.graph.appRoleAssignment",
    "applications": "microsoft.graph.application",
}
BACKUP_TYPES = {
    "exchange": "microsoft.graph.exchangeProtectionPolicy",
    "sharePoint": "microsoft.graph.sharePointProtectionPolicy",
    "oneDriveForBusiness": "microsoft.graph.oneDriveForBusinessProtectionPolicy",
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_scenario_object_is_an_instance_of_its_type(variant: str) -> None:
    """The scenario data itself, whole: properties no request has ``$select``ed yet are held to the CSDL too."""
    scenario = VARIANTS[variant]()
    problems = []
    for name, type_name in SCENARIO_TYPES.items():
        for index, item in enumerate(getattr(scenario, name)):
            problems += CONTRACT.check_value(item, type_name, False, f"{name}[{index}]")
    for user_id, methods in scenario.auth_methods.items():
        problems += CONTRACT.check_value(methods, "Collection(microsoft.graph.authenticationMethod)", False, user_id)
    for group_id, group in scenario.groups.items():
        served = {k: v for k, v in group.items() if k != "members"}  # members: the sandbox's own bookkeeping
        problems += CONTRACT.check_value({"id": group_id, **served}, "microsoft.graph.group", False, "group")
    problems += CONTRACT.check_value(scenario.backup, "microsoft.graph.serviceStatus", False, "backup")
    for workload, policies in scenario.backup_policies.items():
        problems += CONTRACT.check_value(policies, f"Collection({BACKUP_TYPES[workload]})", False, workload)
    for user_id, state in scenario.per_user_mfa.items():
        problems += CONTRACT.check_value(state, "microsoft.graph.perUserMfaState", False, user_id, "beta")
    found = _collapse(problems)
    assert not found, "\n".join(found)


def test_every_sandbox_route_is_a_csdl_path() -> None:
    """Each route of the sandbox's table, with its ids filled in, resolves (an invented endpoint fails here)."""
    samples = {
        "uid": "11111111-1111-4111-8111-111111111111",
        "pid": "p",
        "gid": "g",
        "did": "d",
        "sid": "s",
        "arg": "period='D7'",
        "kind": None,
        "cast": None,
    }
    problems = []
    for route in ROUTES:
        pattern = route.pattern.pattern
        names = route.pattern.groupindex
        variants: list[dict[str, str]] = [{}]
        for name in names:
            if samples.get(name) is not None:
                variants = [{**v, name: str(samples[name])} for v in variants]
            else:
                group = pattern.split(f"(?P<{name}>", 1)[1]
                choices = _alternatives(group)
                variants = [{**v, name: c} for v in variants for c in choices]
        for values in variants:
            path = _fill(pattern, values)
            # the beta extract holds only the beta call the source makes: routes served on both are checked on v1.0
            version = "v1.0" if "v1.0" in route.versions else "beta"
            try:
                CONTRACT.resolve(version, path.lstrip("/"))
            except ValueError as exc:
                problems.append(f"route {pattern} ({version}): {exc}")
    assert problems == []


def test_the_sandboxs_select_lists_are_user_properties() -> None:
    """The properties the sandbox lets a client ``$select`` on users exist on ``microsoft.graph.user``."""
    properties, _ = CONTRACT.declared("microsoft.graph.user")
    assert sorted(set(USER_DEFAULT_PROPERTIES) - set(properties)) == []
    assert sorted(USER_EXTRA_PROPERTIES - set(properties)) == []
    # a collection the scenario leaves out must come back as [], never null
    selectable = set(USER_DEFAULT_PROPERTIES) | USER_EXTRA_PROPERTIES
    collections = {n for n in selectable if properties[n]["type"].startswith("Collection(")}
    assert sorted(collections - EMPTY_COLLECTIONS) == []
    groups, _ = CONTRACT.declared("microsoft.graph.group")
    for name in EMPTY_COLLECTIONS:
        assert (properties.get(name) or groups[name])["type"].startswith("Collection("), name


def test_the_sources_field_lists_are_declared() -> None:
    users, _ = CONTRACT.declared("microsoft.graph.user")
    devices, _ = CONTRACT.declared("microsoft.graph.managedDevice")
    assert sorted(set(USER_FIELDS.split(",")) - set(users)) == []
    assert sorted(set(DEVICE_FIELDS.split(",")) - set(devices)) == []


#: authentication method types the source classifies that only the beta schema has (msgraph-metadata
#: schemas/type-mappings/beta-entity-types.json): a tenant may still return them, so they are classified too
BETA_ONLY_METHOD_TYPES = {
    "microsoft.graph.hardwareOathAuthenticationMethod",
    "microsoft.graph.passwordlessMicrosoftAuthenticatorAuthenticationMethod",
}


def test_every_authentication_method_type_is_classified_and_real() -> None:
    """The no-P1 fallback classifies every v1.0 ``authenticationMethod`` type, and names no type that Graph does
    not have (x509CertificateAuthenticationMethod is in neither the v1.0 CSDL nor the beta type list)."""
    v1_types = {
        name
        for name in CONTRACT.views["v1.0"][0]
        if name != "microsoft.graph.authenticationMethod"
        and CONTRACT.is_subtype(name, "microsoft.graph.authenticationMethod")
    }
    classified = {t.removeprefix("#") for t in METHOD_STRENGTH}
    assert v1_types - classified == set()  # nothing Graph may send is left to the "unknown" path by oversight
    assert classified - v1_types <= BETA_ONLY_METHOD_TYPES
    assert "microsoft.graph.x509CertificateAuthenticationMethod" not in classified
    assert {t.removeprefix("#") for t in STRONG_METHOD_TYPES} <= classified


def _alternatives(group: str) -> list[str]:
    """The literal choices of a named group ``(?P<x>a|b|c)`` (up to its closing parenthesis)."""
    depth, text = 0, ""
    for char in group:
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        text += char
    text = text.replace("(?:", "(").replace("\\.", ".")
    if text.startswith("microsoft.graph.("):
        return [f"microsoft.graph.{c}" for c in text[len("microsoft.graph.(") :].rstrip(")").split("|")]
    return text.split("|")


def _fill(pattern: str, values: dict[str, str]) -> str:
    out = pattern.removeprefix("^").removesuffix("$").replace("/?", "")
    for name, value in values.items():
        start = out.index(f"(?P<{name}>")
        depth, end = 0, start
        for index in range(start, len(out)):
            if out[index] == "(":
                depth += 1
            elif out[index] == ")":
                depth -= 1
                if depth == 0:
                    end = index
                    break
        out = out[:start] + value + out[end + 1 :]
    out = re.sub(r"\(\?:/(.*?)\)\?", r"/\1", out)
    return out.replace("\\(", "(").replace("\\)", ")").replace("\\.", ".").replace("\\", "")


def test_the_sandboxs_own_refusals_have_graphs_error_shape() -> None:
    """Answers made outside the routes: chaos faults (429 / 503 / 500), write refusals, unknown paths."""
    problems = []
    with Sandbox(northwind(NOW, google=False)) as sandbox:
        graph = sandbox._graph
        assert graph is not None
        for status in (429, 503, 500):
            reply = graph.fault_reply(status, 1, {})
            problems += check_error(reply.json, f"fault {status}")
        session = requests.Session()
        session.trust_env = False
        session.verify = str(sandbox.ca_file)
        for method, path in (("PATCH", "/v1.0/users/x"), ("POST", "/v1.0/users"), ("GET", "/nowhere")):
            answer = session.request(method, f"{sandbox.graph_url}{path}", json={}, timeout=10)
            assert answer.status_code >= 400, path
            problems += check_error(answer.json(), f"{method} {path}")
        session.close()
    assert problems == []


# -- the test double ---------------------------------------------------------------------------------------
def _load_conftest() -> Any:
    spec = importlib.util.spec_from_file_location("graph_contract_conftest", Path(__file__).parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_tenants() -> dict[str, Tenant]:
    conftest = _load_conftest()
    healthy: Tenant = conftest.healthy_tenant()
    no_p1 = copy.deepcopy(healthy)
    no_p1.premium = False
    no_p1.activity_csv = "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n"
    no_p1.per_user = {"carol": "enforced"}
    strengths = copy.deepcopy(healthy)
    strengths.ca_policies = [
        mfa_policy("strength", controls=[], strength="mfa"),
        mfa_policy("groups", include_users=[], include_groups=["g1"], exclude_users=["dave"]),
        mfa_policy(
            "roles", include_users=[], include_roles=[conftest.SKU_E3], state="enabledForReportingButNotEnforced"
        ),
    ]
    strengths.groups = {"g1": ["alice", "bob"]}
    strengths.role_assignments.append(("g1", GLOBAL_ADMIN, "group"))
    errors = copy.deepcopy(healthy)
    errors.errors = {
        "deviceManagement": (400, "BadRequest", "Request not applicable to target tenant."),
        "backupRestore": (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    }
    errors.throttle = {"subscribedSkus": 1}
    return {"healthy": healthy, "no-p1": no_p1, "strengths": strengths, "errors": errors}


@dataclass
class FakeCall:
    method: str
    url: str
    request: Any
    status: int
    response: Any


@pytest.fixture(scope="module")
def fake_log() -> dict[str, list[FakeCall]]:
    conftest = _load_conftest()
    logs: dict[str, list[FakeCall]] = {}
    for name, tenant in _fake_tenants().items():
        source = M365Source(
            conftest.m365_config(), environ={"HYGIENE_TEST_SECRET": SECRET}, retry=FAST, sleep=lambda s: None
        )
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            tenant.install(rsps)
            source.collect(RawRecorder(None, "m365"))
            calls = []
            for call in rsps.calls:
                if not call.request.url.startswith(GRAPH):
                    continue
                body = call.request.body
                request = json.loads(body) if body else None
                try:
                    payload = json.loads(call.response.content) if call.response.content else None
                except ValueError:
                    payload = None
                calls.append(
                    FakeCall(call.request.method, call.request.url, request, call.response.status_code, payload)
                )
        logs[name] = calls
    return logs


def test_every_request_to_the_fake_is_in_the_csdl(fake_log: dict[str, list[FakeCall]]) -> None:
    problems = []
    for name, calls in fake_log.items():
        for call in calls:
            problems += [f"{name}: {p}" for p in CONTRACT.check_request(call.method, call.url, call.request)]
    found = _collapse(problems)
    assert not found, "\n".join(found)


def test_every_object_the_fake_serves_is_an_instance_of_its_type(fake_log: dict[str, list[FakeCall]]) -> None:
    problems = []
    for name, calls in fake_log.items():
        assert len(calls) > 10, name
        for call in calls:
            split = urlsplit(call.url)
            exchange = Exchange(
                call.method, split.path, split.query, call.request, call.status, "application/json", call.response
            )
            problems += [f"{name}: {p}" for p in _response_problems(exchange)]
    found = _collapse(problems)
    assert not found, "\n".join(found)


def test_the_fakes_error_answers_have_graphs_shape() -> None:
    """The fake's own refusals (unknown path, unknown $batch sub-request, throttling, forced errors, bad token)."""
    tenant = Tenant(
        errors={"/v1.0/subscribedSkus": (403, "Authorization_RequestDenied", "")}, throttle={"/v1.0/groups": 1}
    )
    problems = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tenant.install(rsps)
        auth = {"Authorization": "Bearer token-123"}
        for path, headers in (
            ("/v1.0/nothing-here", auth),
            ("/v1.0/subscribedSkus", auth),
            ("/v1.0/groups/g/transitiveMembers", auth),
            ("/v1.0/users", {"Authorization": "Bearer wrong"}),
        ):
            answer = requests.get(f"{GRAPH}{path}", headers=headers, timeout=5)
            assert answer.status_code >= 400, path
            problems += check_error(answer.json(), path)
        batch = {"requests": [{"id": "1", "method": "GET", "url": "/users/u/nothing"}]}
        answer = requests.post(f"{GRAPH}/v1.0/$batch", json=batch, headers=auth, timeout=5)
        for item in answer.json()["responses"]:
            problems += check_error(item["body"], "$batch /users/u/nothing")
    assert problems == []


def test_the_fake_builders_make_instances_of_their_types() -> None:
    """The canned objects of ``graphfake`` (users, registration rows, CA policies) on their own."""
    problems = []
    for item in (user("a"), user("b", guest=True, signin=None, skus=("05e9a617-0261-4cee-bb44-138d3ef5d965",))):
        problems += CONTRACT.check_value(item, "microsoft.graph.user", False, "graphfake.user()")
    problems += CONTRACT.check_value(
        registration("a"), "microsoft.graph.userRegistrationDetails", False, "graphfake.registration()"
    )
    for policy in (mfa_policy(), mfa_policy(strength="mfa", controls=[]), mfa_policy(controls=["block"])):
        problems += CONTRACT.check_value(policy, "microsoft.graph.conditionalAccessPolicy", False, "mfa_policy()")
    assert problems == []


# -- the contract itself can fail ----------------------------------------------------------------------------
def test_the_contract_rejects_invented_fields_enum_values_and_endpoints() -> None:
    policy = mfa_policy()
    assert CONTRACT.check_value(policy, "microsoft.graph.conditionalAccessPolicy", False, "p") == []

    invented = copy.deepcopy(policy)
    invented["conditions"]["users"]["includeGuests"] = True
    assert CONTRACT.check_value(invented, "microsoft.graph.conditionalAccessPolicy", False, "p") == [
        "p.conditions.users: microsoft.graph.conditionalAccessUsers declares no property 'includeGuests'"
    ]
    wrong_case = copy.deepcopy(policy)
    wrong_case["state"] = "Enabled"
    assert "not a member of microsoft.graph.conditionalAccessPolicyState" in " ".join(
        CONTRACT.check_value(wrong_case, "microsoft.graph.conditionalAccessPolicy", False, "p")
    )
    guests = copy.deepcopy(policy)
    guests["conditions"]["users"]["includeGuestsOrExternalUsers"] = {
        "guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest",
        "externalTenants": {
            "@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
            "membershipKind": "all",
        },
    }
    assert CONTRACT.check_value(guests, "microsoft.graph.conditionalAccessPolicy", False, "p") == []
    guests["conditions"]["users"]["includeGuestsOrExternalUsers"]["guestOrExternalUserTypes"] = "internalGuest, guest"
    assert len(CONTRACT.check_value(guests, "microsoft.graph.conditionalAccessPolicy", False, "p")) == 1

    linux = copy.deepcopy(policy)
    linux["conditions"]["platforms"] = {"includePlatforms": ["linux"], "excludePlatforms": []}
    assert "follows unknownFutureValue" in " ".join(
        CONTRACT.check_value(linux, "microsoft.graph.conditionalAccessPolicy", False, "p")
    )
    assert CONTRACT.check_value(linux, "microsoft.graph.conditionalAccessPolicy", False, "p", evolvable=True) == []

    row = registration("a")
    row["isMfaRegistered"] = "yes"
    row["lastUpdatedDateTime"] = "2025-01-01T00:00:00+01:00"
    assert len(CONTRACT.check_value(row, "microsoft.graph.userRegistrationDetails", False, "r")) == 2
    required = registration("a")
    required["isMfaCapable"] = None  # Nullable="false"
    assert CONTRACT.check_value(required, "microsoft.graph.userRegistrationDetails", False, "r") != []

    method = {"@odata.type": "#microsoft.graph.x509CertificateAuthenticationMethod", "id": "m"}
    assert CONTRACT.check_value(method, "microsoft.graph.authenticationMethod", False, "m") != []
    assert CONTRACT.check_value({"id": "m"}, "microsoft.graph.authenticationMethod", False, "m") != []  # abstract

    assert CONTRACT.check_request("GET", "/v1.0/users?$select=id,lastSignIn") != []
    assert CONTRACT.check_request("GET", "/v1.0/users?$filter=signInActivity/lastSuccessfulSignIn le 2025-01-01") != []
    assert CONTRACT.check_request("GET", "/v1.0/identity/conditionalAccess/namedPolicies") != []
    assert CONTRACT.check_request("GET", "/v1.0/roleManagement/directory/roleAssignments?$expand=member") != []
    assert CONTRACT.check_request("GET", "/v1.0/reports/getOffice365ActiveUserDetail(span='D7')") != []
    assert CONTRACT.check_request("GET", "/beta/users/u/authentication/strength") != []
    assert CONTRACT.check_request("DELETE", "/v1.0/users/u") != []
    batch = {"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}]}
    assert CONTRACT.check_request("POST", "/v1.0/$batch", batch) != []
    batch = {"requests": [{"id": "1", "method": "GET", "url": "/users/u/authentication/methods?$select=id,pin"}]}
    assert CONTRACT.check_request("POST", "/v1.0/$batch", batch) != []
    batch = {"requests": [{"id": "1", "method": "GET", "url": "users/u/authentication/methods"}]}
    assert CONTRACT.check_request("POST", "/v1.0/$batch", batch) == []
    assert check_error({"error": {"code": "NotFound"}}, "e") != []
    assert check_error({"message": "nope"}, "e") != []


def test_the_contract_accepts_what_graph_documents() -> None:
    """Examples taken from the Learn pages' responses (the reverse guard: the contract is not too strict)."""
    ok = [
        ("GET", "/v1.0/users?$select=id,signInActivity&$top=999"),
        ("GET", "/v1.0/users?$filter=signInActivity/lastSuccessfulSignInDateTime le 2025-01-01T00:00:00Z"),
        ("GET", "/v1.0/users?$filter=assignedLicenses/any(s:s/skuId eq cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46)"),
        ("GET", "/v1.0/users?$filter=startswith(displayName,'a') and userType eq 'Guest'&$count=true"),
        ("GET", "/v1.0/users/$count"),
        ("GET", "/v1.0/groups/g/transitiveMembers/microsoft.graph.user?$select=id"),
        ("GET", "/v1.0/roleManagement/directory/roleAssignments?$expand=principal($select=id),roleDefinition"),
        ("GET", "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal"),
        ("GET", "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?$filter=groupId eq 'g'"),
        ("GET", "/v1.0/deviceManagement/deviceCompliancePolicies?$expand=assignments"),
        ("GET", "/v1.0/deviceManagement/deviceCompliancePolicies/p/assignments"),
        ("GET", "/v1.0/reports/getOffice365ActiveUserDetail(period='D180')"),
        ("GET", "/v1.0/solutions/backupRestore/protectionPolicies"),
        ("GET", "/beta/users/u/authentication/requirements"),
        ("POST", "/v1.0/$batch"),
    ]
    for method, url in ok:
        assert CONTRACT.check_request(method, url, {"requests": []}) == [], url
    service = {
        "id": "t",
        "serviceStatus": {
            "status": "protectionChangeLocked",
            "disableReason": "none",
            "backupServiceConsumer": "firstparty",
            "gracePeriodDateTime": None,
            "lastModifiedDateTime": "2025-06-01T10:00:00.1234567Z",
            "restoreAllowedTillDateTime": None,
        },
    }
    target = Target("resource", "microsoft.graph.backupRestoreRoot", False, "v1.0")
    assert CONTRACT.check_response(target, 200, service, "backupRestore") == []
    requirement = Target("resource", "microsoft.graph.strongAuthenticationRequirements", False, "beta")
    assert CONTRACT.check_response(requirement, 200, {"@odata.context": "x", "perUserMfaState": "enforced"}, "r") == []
    assert CONTRACT.check_response(requirement, 200, {"perUserMfaState": "Enforced"}, "r") != []


def test_the_extract_names_its_commit_and_has_every_type_issue_11_reads() -> None:
    """The types the other items of issue 11 read are in the extract now (the merge adds their answers)."""
    assert CONTRACT.source["commit"] == "f54f11b60956ea7b185ca0447b2b80805836ec7b"
    assert CONTRACT.source["file"] == "schemas/v1.0-Prod.csdl"
    types, enums = CONTRACT.views["v1.0"]
    for name in (
        "signInActivity",
        "unifiedRoleEligibilityScheduleInstance",
        "privilegedAccessGroupEligibilityScheduleInstance",
        "privilegedAccessGroupAssignmentScheduleInstance",
        "conditionalAccessGuestsOrExternalUsers",
        "conditionalAccessAllExternalTenants",
        "conditionalAccessEnumeratedExternalTenants",
        "conditionalAccessFilter",
        "deviceCompliancePolicyAssignment",
        "groupAssignmentTarget",
        "exclusionGroupAssignmentTarget",
        "allDevicesAssignmentTarget",
        "allLicensedUsersAssignmentTarget",
        "configurationManagerCollectionAssignmentTarget",
        "backupRestoreRoot",
        "serviceStatus",
        "exchangeProtectionPolicy",
        "sharePointProtectionPolicy",
        "oneDriveForBusinessProtectionPolicy",
        "externalAuthenticationMethod",
        "platformCredentialAuthenticationMethod",
    ):
        assert f"microsoft.graph.{name}" in types, name
    for name in ("conditionalAccessGuestOrExternalUserTypes", "backupServiceStatus", "protectionPolicyStatus"):
        assert f"microsoft.graph.{name}" in enums, name
    assert enums["microsoft.graph.conditionalAccessGuestOrExternalUserTypes"]["flags"] is True
    properties, _ = CONTRACT.declared("microsoft.graph.user")
    assert {"externalUserState", "creationType", "identities", "signInActivity"} <= set(properties)
    # v1.0 has neither of these; hardware OATH is beta only (https://learn.microsoft.com/graph/api/resources/
    # hardwareoathauthenticationmethod?view=graph-rest-beta)
    assert "microsoft.graph.hardwareOathAuthenticationMethod" not in types
    assert "microsoft.graph.x509CertificateAuthenticationMethod" not in types
    assert "microsoft.graph.hardwareOathAuthenticationMethod" in CONTRACT.views["beta"][0]
