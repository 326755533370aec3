"""Contract tests: the Defender for Endpoint sandbox and the ``graphfake`` double held to the API's documented
response properties (``defender/defender-api.json``, transcribed from the Learn pages it names: the API publishes no
machine-readable description).

A real scan of the sandbox (Northwind, and a generated tenant) is recorded at the sandbox's Defender boundary: every
request the M365 source makes must be a documented endpoint with documented query options and the documented token
audience, and every item the sandbox answers must carry only documented properties of the documented types and
enum values. The same holds for the rows ``tests/graphfake.py`` serves.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from graphfake import machine, vulnerability

from hygiene.config import PUBLIC_DEFENDER, M365Config, load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.sources.interface import RawRecorder
from hygiene.sources.m365.defender import MACHINES_PAGE, MACHINES_PATH, VULNERABILITIES_PAGE, VULNERABILITIES_PATH
from hygiene.sources.m365.source import M365Source
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import Sandbox, Scenario, generate, northwind
from hygiene_sandbox.defender import _ACCEPTED, PREFIX
from hygiene_sandbox.identity import DEFENDER_AUDIENCE

SPEC: dict[str, Any] = json.loads((Path(__file__).parent / "defender" / "defender-api.json").read_text())
NOW = datetime.now(UTC)
_PYTHON = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def problems_of(item: Any, type_name: str) -> list[str]:
    """Why ``item`` is not an instance of the documented type (empty: it is)."""
    fields: dict[str, dict[str, Any]] = SPEC["types"][type_name]
    if not isinstance(item, dict):
        return [f"{type_name}: not an object"]
    found = [f"{type_name}.{k}: not a documented property" for k in item if k not in fields]
    for name, rule in fields.items():
        if name not in item:
            continue
        value = item[name]
        if value is None:
            if not rule.get("nullable"):
                found.append(f"{type_name}.{name}: null, not nullable")
            continue
        kinds = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
        ok = False
        for kind in kinds:
            if kind in ("datetime", "timestamp"):
                text = value.replace("Z", "+00:00") if isinstance(value, str) else ""
                try:
                    datetime.fromisoformat(text)
                    ok = True
                except ValueError:
                    pass
            elif kind == "integer":
                ok = ok or (isinstance(value, int) and not isinstance(value, bool))
            elif kind == "number":
                ok = ok or (isinstance(value, int | float) and not isinstance(value, bool))
            else:
                ok = ok or isinstance(value, _PYTHON[kind])
        if not ok:
            found.append(f"{type_name}.{name}: {value!r} is not {rule['type']}")
            continue
        if "enum" in rule:
            allowed = rule["enum"]
            matches = (
                value.casefold() in {a.casefold() for a in allowed}
                if rule.get("enum_case_insensitive")
                else value in allowed
            )
            if not matches:
                found.append(f"{type_name}.{name}: {value!r} is not one of {allowed}")
        if rule["type"] == "array" and "items" in rule:
            found += [f"{type_name}.{name}[]: {v!r}" for v in value if not isinstance(v, _PYTHON[rule["items"]])]
    return found


def _scan(scenario: Scenario, folder: Path) -> list[tuple[str, str, int, Any, str]]:
    """(path, query, status, body, token audience) of every Defender API request of one scan of the sandbox."""
    log: list[tuple[str, str, int, Any, str]] = []
    with Sandbox(scenario) as sandbox:
        api = sandbox._defender
        assert api is not None
        original = api.handle

        def handle(method: str, path: str, query: str, headers: Any) -> Any:
            reply = original(method, path, query, headers)
            token = str(headers.get("Authorization") or headers.get("authorization") or "").partition(" ")[2]
            issued = sandbox.tokens.lookup(token)
            log.append(
                (path, query, reply.status, reply.json if reply.body else None, issued.audience if issued else "")
            )
            return reply

        api.handle = handle  # type: ignore[method-assign]
        config = load_config(write_demo_config(folder, sandbox))
        assert config.sources.m365 is not None
        source = M365Source(
            config.sources.m365,
            environ={SECRET_ENV: sandbox.client_secret},
            retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0),
            sleep=lambda s: None,
        )
        collected = source.collect(RawRecorder(None, "m365"))
        for name in ("m365.defender_machines", "m365.defender_vulnerabilities"):
            assert collected.run.datasets[name].available, collected.run.datasets[name].reason
    return log


@pytest.mark.parametrize("which", ["northwind", "generated"])
def test_the_sandbox_answers_as_documented(tmp_path: Path, which: str) -> None:
    scenario = northwind(NOW) if which == "northwind" else generate(60, seed=7, now=NOW)
    log = _scan(scenario, tmp_path)
    assert {path.removeprefix(PREFIX) for path, *_ in log} == {MACHINES_PATH, VULNERABILITIES_PATH}
    errors = []
    for path, query, status, body, audience in log:
        endpoint = SPEC["endpoints"][path.removeprefix(PREFIX)]
        assert audience == SPEC["token_audience"]
        for key, _ in parse_qsl(query):
            assert key in endpoint["query"] or key == "$skip", f"{path}: {key} is not a documented query option"
        assert status == 200, body
        for item in body["value"]:
            errors += problems_of(item, endpoint["item"])
    assert errors == []


def test_the_source_asks_within_the_documented_limits() -> None:
    assert int(MACHINES_PAGE) <= SPEC["endpoints"][MACHINES_PATH]["max_top"]
    assert int(VULNERABILITIES_PAGE) <= SPEC["endpoints"][VULNERABILITIES_PATH]["max_page_size"]
    assert DEFENDER_AUDIENCE == SPEC["token_audience"] == M365Config.model_fields["defender_resource"].default
    assert SPEC["host"] == PUBLIC_DEFENDER


def test_the_sandbox_accepts_the_documented_permissions() -> None:
    assert _ACCEPTED["machines"] == set(SPEC["endpoints"][MACHINES_PATH]["application_permissions"])
    assert _ACCEPTED["vulnerabilities"] == set(SPEC["endpoints"][VULNERABILITIES_PATH]["application_permissions"])


def test_graphfake_rows_are_documented() -> None:
    rows = [
        (machine("m1", "pc-1.contoso.test", aad="a"), "machine"),
        (machine("m2", "nas", onboarding="CanBeOnboarded", health="Inactive", seen=None), "machine"),
        (vulnerability("m1", "CVE-2026-0001", "Critical", 40, "5050001"), "assetVulnerability"),
        (vulnerability("m1", "CVE-2026-0002", "High", None, None), "assetVulnerability"),
    ]
    assert [p for row, kind in rows for p in problems_of(row, kind)] == []


def test_the_checker_can_fail() -> None:
    bad = {**machine("m1", "pc"), "healthStatus": "Healthy", "invented": 1, "osBuild": "26100"}
    assert len(problems_of(bad, "machine")) == 3
