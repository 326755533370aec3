"""Configuration, profiles, exceptions files and plugin checks: good input loads, bad input says exactly what."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from hygiene.config import load_config
from hygiene.errors import InputError
from hygiene.policy import available_profiles, load_controls, load_profile
from hygiene.registry import Registry

GOOD = """
[organisation]
id = "northwind"
name = "Northwind Dental Ltd"

[policy]
profile = "sme-baseline"
exceptions = "controls.yaml"

[sources.m365]
tenant_id = "t"
client_id = "c"
client_secret_env = "HYGIENE_M365_CLIENT_SECRET"
"""


def write(tmp_path: Path, text: str, name: str = "org.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_resolves_relative_paths(tmp_path: Path) -> None:
    write(tmp_path, "exceptions: []\n", "controls.yaml")
    config = load_config(write(tmp_path, GOOD))
    assert config.organisation.id == "northwind"
    assert config.policy.exceptions == tmp_path / "controls.yaml"
    assert config.sources.m365 is not None
    assert config.sources.m365.graph_url == "https://graph.microsoft.com"
    assert config.platforms() == ["m365"]
    assert config.sources.m365.break_glass == []
    declared = load_config(write(tmp_path, GOOD + 'break_glass = ["bg1@contoso.onmicrosoft.com"]\n'))
    assert declared.sources.m365 is not None
    assert declared.sources.m365.break_glass == ["bg1@contoso.onmicrosoft.com"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('id = "northwind"', 'id = "north wind!"'), "organisation.id: String should match pattern"),
        (GOOD.replace('name = "Northwind Dental Ltd"\n', ""), "organisation.name: required key is missing"),
        (GOOD.replace('tenant_id = "t"', 'tenant_id = "t"\ntennant = "x"'), "sources.m365.tennant: unknown key"),
        (GOOD.replace('client_secret_env = "HYGIENE_M365_CLIENT_SECRET"', ""), "exactly one of client_secret_env"),
        (GOOD + 'certificate_file = "x.pem"\n', "exactly one of client_secret_env"),
        (GOOD.replace("[sources.m365]", "[sources.m365]\ngraph_url = 'http://graph.local'"), "sources.m365.graph_url"),
        ("[organisation\nid=1", "invalid TOML"),
        ('[organisation]\nid = "a"\nname = "b"\n', "configure at least one of"),
        (GOOD.replace('exceptions = "controls.yaml"', 'exceptions = "missing.yaml"'), "policy.exceptions: file"),
        (GOOD + 'break_glass = ["bg1"]\n', "sources.m365.break_glass.0: String should match pattern"),
        (GOOD + 'break_glass = ["a@x.test", "A@X.test"]\n', "break_glass: 'A@X.test' is listed twice"),
        (GOOD + 'break_glass = "a@x.test"\n', "sources.m365.break_glass"),
    ],
)
def test_config_errors_name_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "exceptions: []\n", "controls.yaml")
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_non_utf8_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\xff\xfe[organisation]")
    with pytest.raises(InputError, match="not UTF-8"):
        load_config(path)


def test_world_readable_key_file_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hygiene.logsetup import configure

    configure("warning")
    key = tmp_path / "app.pem"
    key.write_text("not really a key")
    os.chmod(key, 0o644)
    write(tmp_path, "exceptions: []\n", "controls.yaml")
    load_config(
        write(
            tmp_path, GOOD.replace('client_secret_env = "HYGIENE_M365_CLIENT_SECRET"', 'certificate_file = "app.pem"')
        )
    )
    assert "readable by every user" in capsys.readouterr().err


def test_builtin_profiles_load_with_framework_thresholds() -> None:
    assert {"sme-baseline", "cyber-essentials", "cis-ig1"} <= set(available_profiles())
    assert load_profile("cis-ig1").thresholds.inactive_days == 45
    assert load_profile("cis-ig1").thresholds.backup_rpo_hours == 168
    ce = load_profile("cyber-essentials")
    assert ce.checks.severity["m365.devices.os_supported"] == "critical"
    assert ce.thresholds.licence_prices  # inherited from sme-baseline


def test_profile_from_a_path_and_errors(tmp_path: Path) -> None:
    good = write(
        tmp_path, "name: mine\ntitle: Mine\nextends: sme-baseline\nthresholds:\n  inactive_days: 30\n", "p.yaml"
    )
    profile = load_profile(str(good))
    assert profile.thresholds.inactive_days == 30 and profile.thresholds.admin_count_max == 4
    bad = write(tmp_path, "name: x\ntitle: X\nthresholds:\n  inactive_dayz: 3\n", "bad.yaml")
    with pytest.raises(InputError, match=r"thresholds.inactive_dayz: unknown key"):
        load_profile(str(bad))
    bounds = write(tmp_path, "name: x\ntitle: X\nthresholds:\n  admin_count_min: 5\n  admin_count_max: 2\n", "b.yaml")
    with pytest.raises(InputError, match="admin_count_min must not exceed"):
        load_profile(str(bounds))
    with pytest.raises(InputError, match="unknown policy profile 'nope'"):
        load_profile("nope")


def test_yaml_alias_bombs_are_refused(tmp_path: Path) -> None:
    bomb = write(tmp_path, 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n', "bomb.yaml")
    with pytest.raises(InputError, match="aliases"):
        load_controls(bomb)


class TestControlsFile:
    def test_valid_expired_and_malformed_entries(self, tmp_path: Path) -> None:
        future = date.today() + timedelta(days=30)
        past = date.today() - timedelta(days=3)
        path = write(
            tmp_path,
            f"""
exceptions:
  - check: m365.mfa.registered
    resources: [bob@contoso.test]
    reason: Bob is on long-term leave; account blocked at the door
    owner: ops@contoso.test
    approved_by: ceo@contoso.test
    expires: {future}
  - check: m365.accounts.inactive
    reason: seasonal staff
    owner: ops
    approved_by: ceo
    expires: {past}
  - check: m365.mfa.enforced
    reason: no owner or expiry
  - "just a string"
attestations:
  - check: m365.backup.enabled
    statement: Acme Cloud Backup protects all mailboxes daily; restore tested 2026-10-01
    date: 2026-10-01
    attested_by: it@contoso.test
  - check: NOT A CHECK
    statement: x
    date: 2026-10-01
    attested_by: y
""",
            "controls.yaml",
        )
        controls = load_controls(path)
        assert [e.id for e in controls.exceptions] == ["EXC-1", "EXC-2"]
        assert controls.exceptions[0].is_active(date.today())
        assert not controls.exceptions[1].is_active(date.today())
        assert len(controls.attestations) == 1
        problems = {(r.kind, r.index): r.problem for r in controls.rejected}
        assert set(problems) == {("exception", 2), ("exception", 3), ("attestation", 1)}
        assert "owner: required key is missing" in problems[("exception", 2)]
        assert "expires: required key is missing" in problems[("exception", 2)]
        assert "expected a check id" in problems[("attestation", 1)]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("- a\n- b\n", "expected a mapping"),
            ("exceptions: {check: x}\n", "exceptions: expected a list"),
            ("exemptions: []\n", "unknown top-level key"),
            ("exceptions: [\n", "invalid YAML at line"),
        ],
    )
    def test_broken_files_are_errors(self, tmp_path: Path, text: str, expected: str) -> None:
        path = write(tmp_path, text, "c.yaml")
        with pytest.raises(InputError, match=expected):
            load_controls(path)


class TestRegistry:
    def test_builtin_checks_have_complete_metadata(self) -> None:
        registry = Registry.load(entry_points_too=False)
        assert len(registry) == 52
        for item in registry:
            meta = item.meta
            assert meta.remediation and meta.references and meta.permissions, meta.id
            assert meta.area in ("mfa", "accounts", "backup", "patching", "endpoint", "email")
            assert meta.id.startswith(
                {"m365": "m365.", "google": "gws.", "aws": "aws.", "azure": "azure.", "email": "email."}[meta.platform]
            ), meta.id
        assert "A7.16" in registry.get("m365.mfa.admins").meta.frameworks["cyber-essentials"]  # type: ignore[union-attr]

    def test_extra_folder_and_duplicate_ids(self, tmp_path: Path) -> None:
        (tmp_path / "mine.py").write_text(
            "from hygiene.checkapi import check, Outcome\n"
            "@check(id='acme.custom.one', title='t', area='mfa', platform='m365', severity='low', requires=(),"
            " remediation='r')\n"
            "def one(ctx):\n    return Outcome(assessed=1)\n"
        )
        (tmp_path / "_helper.py").write_text("raise RuntimeError('helpers are not loaded')\n")
        registry = Registry.load([tmp_path], entry_points_too=False)
        assert registry.get("acme.custom.one") is not None and registry.get("acme.custom.one").origin == str(tmp_path)  # type: ignore[union-attr]
        dup = tmp_path / "dup"
        dup.mkdir()
        (dup / "x.py").write_text((tmp_path / "mine.py").read_text())
        with pytest.raises(InputError, match="defined twice"):
            Registry.load([tmp_path, dup], entry_points_too=False)

    def test_broken_plugin_is_one_line_error(self, tmp_path: Path) -> None:
        (tmp_path / "broken.py").write_text("import nonexistent_module_xyz\n")
        with pytest.raises(InputError, match=r"broken\.py: check module failed to load: ModuleNotFoundError"):
            Registry.load([tmp_path], entry_points_too=False)


def test_load_policy_from_a_config_or_none_with_overrides(tmp_path: Path) -> None:
    from hygiene.scan import load_policy

    write(tmp_path, "exceptions: []\n", "controls.yaml")
    other = write(tmp_path, "exceptions: []\nattestations: []\n", "other.yaml")
    config = load_config(write(tmp_path, GOOD))
    assert load_policy(config).profile.name == "sme-baseline"
    bare = load_policy(None)  # offline evaluation of a snapshot without a config
    assert bare.profile.name == "sme-baseline" and not bare.controls.exceptions
    assert len(bare.registry) == len(load_policy(config).registry)
    strict = next(p for p in available_profiles() if p != "sme-baseline")
    assert load_policy(None, strict, exceptions_override=other).profile.name == strict
    assert load_policy(config, strict).profile.name == strict
