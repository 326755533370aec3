"""The terminal's listings: no id cut at any width, --json on every list command (shape checked), help text,
readable profiles, the nearest id suggested for an unknown one, and the AWS policy alone on stdout or in a file."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from hygiene.cli import main
from hygiene.cli.common import out
from hygiene.demo import run_demo
from hygiene.evidence.pack import export_pack

ORG = "northwind"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo scan of the sandbox (Microsoft 365 and Google): its folder holds the history, the config and a pack."""
    folder = tmp_path_factory.mktemp("demo")
    run_demo(folder, with_aws=False)
    export_pack(ORG, data_dir=folder, output=folder / "pack.zip", audience="insurer")
    return folder


def hygiene(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh interpreter, on a terminal ``columns`` wide (rich reads COLUMNS)."""
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "hygiene.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


@contextlib.contextmanager
def terminal(columns: int) -> Iterator[None]:
    """The commands' console as wide as a terminal of ``columns`` (what rich reads from COLUMNS at start)."""
    saved = out._width
    out.width = columns
    try:
        yield
    finally:
        out._width = saved


def shown(*args: str, columns: int) -> str:
    with terminal(columns):
        result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output + result.stderr
    return str(result.stdout)


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


# -- no id cut ------------------------------------------------------------------------------------------------------


def ids_of(command: tuple[str, ...], data: Any) -> list[str]:
    """The ids the listing shows, from its own --json."""
    if command[:2] == ("checks", "list"):
        return [c["id"] for c in data]
    if command[:2] == ("policies", "list"):
        return [p["name"] for p in data]
    if command[:2] == ("frameworks", "list"):
        return [f["id"] for f in data]
    if command[:2] == ("frameworks", "show"):
        return [c["id"] for c in data["controls"]] + [s["check_id"] for c in data["controls"] for s in c["checks"]]
    if command[0] == "history":
        return [s["scan_id"] for s in data]
    raise AssertionError(command)


LISTINGS = [
    ("checks", "list"),
    ("policies", "list"),
    ("frameworks", "list"),
    ("frameworks", "show", "cis-v8.1"),
    ("frameworks", "show", "cis-v8.1", ORG, "--data-dir", "{data}"),
    ("history", ORG, "--data-dir", "{data}"),
]


@pytest.mark.parametrize("columns", [40, 60, 100, 200])
@pytest.mark.parametrize("command", LISTINGS, ids=lambda c: " ".join(c[:3]))
def test_every_id_is_whole_on_one_line_at_any_width(demo: Path, command: tuple[str, ...], columns: int) -> None:
    args = tuple(a.replace("{data}", str(demo)) for a in command)
    ids = ids_of(args, invoke(*args, "--json"))
    assert ids
    text = shown(*args, columns=columns)
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines), f"a line wider than the terminal:\n{text}"
    missing = [i for i in ids if not any(i in line.split() for line in lines)]
    assert not missing, f"cut or folded at {columns} columns: {missing}\n{text}"


def test_a_wide_terminal_gets_a_table_and_a_narrow_one_blocks() -> None:
    wide, narrow = hygiene("checks", "list", columns=160).stdout, hygiene("checks", "list", columns=50).stdout
    assert wide.splitlines()[0].split() == ["id", "severity", "area", "title"]  # origin only for extra checks
    assert "m365.mfa.admins" in narrow.splitlines()[narrow.splitlines().index("m365.mfa.admins")]
    assert "  severity" in narrow


# -- --json on every list command -----------------------------------------------------------------------------------


def test_checks_and_policies_json(demo: Path) -> None:
    checks = invoke("checks", "list", "--json")
    assert {tuple(sorted(c)) for c in checks} == {("area", "id", "origin", "platform", "severity", "title")}
    assert [c["id"] for c in invoke("checks", "list", "--platform", "aws", "--json")] == [
        c["id"] for c in checks if c["platform"] == "aws"
    ]
    one = invoke("checks", "show", "m365.mfa.admins", "--json")
    assert one["id"] == "m365.mfa.admins" and "m365.users" in one["requires"] and one["remediation"]
    profiles = invoke("policies", "list", "--json")
    assert {p["name"] for p in profiles} >= {"sme-baseline", "cis-ig1", "cyber-essentials"}
    assert all(isinstance(p["basis"], list) and p["title"] for p in profiles)
    profile = invoke("policies", "show", "cis-ig1", "--json")
    assert profile["thresholds"]["inactive_days"] == 45 and "checks" in profile


def test_frameworks_history_evidence_and_portfolio_json(demo: Path, tmp_path: Path) -> None:
    frameworks = invoke("frameworks", "list", "--json")
    assert all({"id", "name", "controls", "covered"} <= set(f) for f in frameworks)
    history = invoke("history", ORG, "--data-dir", str(demo), "--json")
    assert len(history) == 1 and history[0]["organisation_id"] == ORG and history[0]["scan_id"].startswith(ORG)
    exported = invoke("evidence", "export", ORG, "--data-dir", str(demo), "--output", str(tmp_path / "p.zip"), "--json")
    assert exported["pack"] == str(tmp_path / "p.zip") and exported["scan_id"] == history[0]["scan_id"]
    assert exported["audience"] == "insurer" and exported["files"] and len(exported["fingerprint"]) >= 32
    verified = invoke("evidence", "verify", str(demo / "pack.zip"), "--json")
    assert verified["ok"] is True and verified["problems"] == [] and verified["scan_id"] == history[0]["scan_id"]
    assert "report.json" in " ".join(verified["files"])
    portfolio = invoke("portfolio", str(demo / "demo-config"), "--data-dir", str(demo), "-o", str(tmp_path), "--json")
    assert portfolio == json.loads((tmp_path / "portfolio.json").read_text())


def test_evidence_verify_json_of_a_broken_pack_exits_1(demo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes((demo / "pack.zip").read_bytes()[:-200])
    result = CliRunner().invoke(main, ["evidence", "verify", str(broken), "--json"])
    assert result.exit_code in (1, 2)
    if result.exit_code == 1:
        assert json.loads(result.stdout)["ok"] is False


def test_agent_status_json_without_an_agent(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["agent", "status", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout) == {
        "heartbeat": str(tmp_path / "agent" / "heartbeat.json"),
        "running": False,
        "agent": None,
    }


# -- permissions ------------------------------------------------------------------------------------------------------


def test_permissions_json_for_aws_is_the_iam_policy_alone(tmp_path: Path) -> None:
    from hygiene.sources.aws.catalogue import policy_document

    shown = hygiene("permissions", "--source", "aws", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == policy_document()
    target = tmp_path / "policy.json"
    written = hygiene("permissions", "--source", "aws", "--output", str(target))
    assert written.returncode == 0 and written.stdout == ""
    assert json.loads(target.read_text()) == policy_document()
    assert [p.name for p in tmp_path.iterdir()] == ["policy.json"]  # nothing left beside it


@pytest.mark.parametrize("platform", ["m365", "google"])
def test_permissions_json_for_other_platforms_lists_datasets_and_needs(platform: str) -> None:
    from hygiene.sources.platforms import platform as spec_of

    spec = spec_of(platform)
    data = invoke("permissions", "--source", platform, "--json")
    assert data["platform"] == platform and data["permissions"] == spec.needs()
    assert [d["name"] for d in data["datasets"]] == [d.name for d in spec.datasets]
    assert all(d["needs"] and isinstance(d["used_by"], list) for d in data["datasets"])
    every = invoke("permissions", "--json")
    assert [p["platform"] for p in every] == ["m365", "google", "aws", "azure", "email"]
    assert "Statement" in every[2]["grant_document"]


# -- help and profiles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["checks", "policies", "frameworks", "evidence", "agent", "config"])
def test_every_group_and_command_has_help(group: str) -> None:
    command = main.commands[group]
    assert isinstance(command, click.Group) and (command.help or "").strip()
    for name, sub in command.commands.items():
        assert (sub.help or "").strip(), f"hygiene {group} {name} has no help"


def test_policies_show_is_a_readable_profile() -> None:
    shown = hygiene("policies", "show", "cis-ig1", columns=200)
    assert shown.returncode == 0
    text = shown.stdout
    assert "{" not in text and '"thresholds"' not in text  # not a JSON dump
    assert "Based on" in text and "5.3: disable dormant accounts after 45 days" in text
    line = next(line for line in text.splitlines() if "inactive_days" in line and "guest" not in line)
    assert "45 days" in line and "without a successful sign-in" in line and "default: 90 days" in line
    assert "backup_rpo_hours" in text and "168 hours" in text


# -- unknown ids ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "nearest"),
    [
        (("checks", "show", "m365.mfa.admin"), "m365.mfa.admins"),
        (("policies", "show", "sme-basline"), "sme-baseline"),
        (("frameworks", "show", "cis-v8"), "cis-v8.1"),
        (("history", "nortwind", "--data-dir", "{data}"), ORG),
        (("frameworks", "show", "cis-v8.1", "northwnd", "--data-dir", "{data}"), ORG),
        (("evidence", "export", "northwin", "--data-dir", "{data}"), ORG),
        (("evaluate", "{data}/snapshot.json.gz", "--profile", "cis-ig"), "cis-ig1"),
    ],
)
def test_an_unknown_id_suggests_the_nearest(demo: Path, args: tuple[str, ...], nearest: str) -> None:
    result = CliRunner().invoke(main, [a.replace("{data}", str(demo)) for a in args])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert f"did you mean {nearest!r}?" in result.stderr


def test_a_mistyped_scan_id_suggests_the_real_one(demo: Path) -> None:
    scan_id = invoke("history", ORG, "--data-dir", str(demo), "--json")[0]["scan_id"]
    typo = scan_id[:-1] + ("0" if scan_id[-1] != "0" else "1")
    result = CliRunner().invoke(main, ["baseline", "set", ORG, typo, "--data-dir", str(demo)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"did you mean {scan_id!r}?" in result.stderr
    far = CliRunner().invoke(main, ["diff", ORG, "--against", "zzz", "--data-dir", str(demo)])
    assert far.exit_code == 2 and "did you mean" not in far.stderr  # nothing near: no guess


def test_policies_show_of_a_profile_file_names_what_it_changes(tmp_path: Path) -> None:
    (tmp_path / "custom.yaml").write_text(
        "name: custom\ntitle: Custom\nextends: sme-baseline\nthresholds:\n  inactive_days: 30\n"
        "checks:\n  disabled: [m365.licences.unused]\n  severity: {gws.accounts.inactive: high}\n"
    )
    text = shown("policies", "show", str(tmp_path / "custom.yaml"), columns=160)
    lines = text.splitlines()
    assert lines[0] == "custom - Custom" and lines[1] == f"from {tmp_path / 'custom.yaml'}"
    assert any("inactive_days" in line and "30 days" in line and "default: 90 days" in line for line in lines)
    assert any(line.split() == ["m365.licences.unused", "disabled"] for line in lines)
    assert any(line.split() == ["gws.accounts.inactive", "severity", "high"] for line in lines)


def test_agent_help_shows_how_to_start_it() -> None:
    text = CliRunner().invoke(main, ["agent", "--help"]).stdout
    assert "Usage: main agent CONFIG_DIR [--data-dir DIR]" in text and "agent status [--data-dir DIR] [--json]" in text
    assert "hygiene agent /etc/hygiene/orgs --data-dir /var/lib/hygiene" in text  # an example, not reflowed


def test_an_id_wider_than_the_terminal_is_still_whole(demo: Path) -> None:
    ids = [c["id"] for c in invoke("checks", "list", "--json")]
    lines = shown("checks", "list", columns=20).splitlines()
    assert all(any(line.strip() == i for line in lines) for i in ids)  # each on a line of its own, not broken
    frameworks = shown("frameworks", "show", "cis-v8.1", columns=20).splitlines()
    controls = invoke("frameworks", "show", "cis-v8.1", "--json")["controls"]
    checks = [s["check_id"] for c in controls for s in c["checks"]]
    assert all(any(line.strip() == i for line in frameworks) for i in checks)
