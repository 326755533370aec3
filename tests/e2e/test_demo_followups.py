"""Issue 14: every command that `hygiene demo` prints after it, and every one the README lists for after
`make demo`, works as printed: run by a shell-like split of the printed line, from the folder the demo ran in,
with the user's own data folder elsewhere (the commands must not need it, and leave it untouched)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hygiene.cli.demo import Steps, follow_ups, program

REPO = Path(__file__).resolve().parents[2]
README_PROGRAM = ".venv/bin/hygiene"


@dataclass
class DemoRun:
    folder: Path
    env: dict[str, str]
    stdout: str
    stderr: str
    commands: list[str]


def printed_commands(stdout: str) -> list[str]:
    """The command lines after "Then try these", without their comment lines."""
    tail = stdout.split("Then try these", 1)[1].splitlines()[1:]
    return [line.strip() for line in tail if line.strip() and not line.strip().startswith("#")]


def readme_commands() -> list[str]:
    """The sh block the README marks as what `make demo` prints after it."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- the demo's follow-ups[^>]*-->\s*```sh\n(.*?)```", readme, re.S)
    assert found, "README.md: no block of the demo's follow-up commands"
    return [line for line in found.group(1).splitlines() if line.strip() and not line.startswith("#")]


def run(argv: list[str], demo: DemoRun) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=demo.folder, env=demo.env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("first-hour")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIENE_")}
    # the user's own data folder: the follow-ups must find the demo's history without it, and leave it alone
    env["HYGIENE_DATA_DIR"] = str(folder / "users-data-folder")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "sandbox"), env.get("PYTHONPATH", "")])
    argv = [sys.executable, "-m", "hygiene.cli", "demo", "--no-aws", "--output", "hygiene-demo"]
    result = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return DemoRun(folder, env, result.stdout, result.stderr, printed_commands(result.stdout))


def test_the_demo_prints_each_follow_up_and_says_what_it_does_while_it_runs(demo: DemoRun) -> None:
    assert len(demo.commands) == 6
    assert all(shlex.split(c)[:3] == [sys.executable, "-m", "hygiene.cli"] for c in demo.commands), demo.commands
    verbs = [" ".join(shlex.split(c, comments=True)[3:5]) for c in demo.commands]
    assert verbs == [
        "history northwind",
        "diff northwind",
        "frameworks show",
        "evidence export",
        "evidence verify",
        "portfolio hygiene-demo/demo-config",
    ]
    assert (demo.folder / "hygiene-demo" / "portfolio.html").is_file()  # the demo writes the portfolio page itself
    # piped, not on a terminal, and still never silent: each stage is a line on stderr
    stages = [
        "loading hygiene",
        "starting the local Microsoft 365 and Google Workspace fakes",
        "reading Microsoft 365",
        "read Microsoft 365: ",
        "then Northwind as it is now",
        "signing the insurer evidence pack",
        "writing the portfolio page",
    ]
    positions = [demo.stderr.find(stage) for stage in stages]
    assert -1 not in positions and positions == sorted(positions), demo.stderr
    # the platforms are read at once (Google starts in the same wave as Microsoft 365), email after them all
    assert positions[2] < demo.stderr.find("reading Google Workspace") < positions[4], demo.stderr
    email = demo.stderr.find("reading Email authentication")
    assert max(demo.stderr.find(f"read {p}: ") for p in ("Microsoft 365", "Google Workspace", "AWS")) < email
    # each platform's datasets as they are read: all of them, in the sandbox
    assert re.search(r"read Microsoft 365: (\d+) of \1 datasets, \d+ responses", demo.stderr), demo.stderr


def test_every_printed_follow_up_works_as_printed(demo: DemoRun) -> None:
    outputs = {}
    for line in demo.commands:
        result = run(shlex.split(line, comments=True), demo)
        assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
        outputs[" ".join(shlex.split(line)[3:5])] = result.stdout
    # each read what the demo wrote, not an empty history elsewhere
    history = outputs["history northwind"]
    assert history.count("northwind") >= 2 and "baseline" in history  # the earlier scan and the scan now
    assert "m365.backup.enabled" in outputs["diff northwind"]  # what broke between them
    assert "not met" in outputs["frameworks show"].lower()
    customer_pack = demo.folder / "hygiene-demo" / "evidence-customer.zip"
    assert "manifest.json" in zipfile.ZipFile(customer_pack).namelist()
    assert "evidence-insurer.zip: OK" in outputs["evidence verify"]
    assert "portfolio.html" in outputs["portfolio hygiene-demo/demo-config"]
    assert not (demo.folder / "users-data-folder" / "history.sqlite3").exists()


def test_the_readme_lists_the_demo_follow_ups_as_make_demo_prints_them(demo: DemoRun) -> None:
    prefix = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "hygiene.cli"])
    readme = readme_commands()
    assert all(line.startswith(README_PROGRAM + " ") for line in readme), readme
    # the same commands, in the same order, with make demo's program instead of this test's
    as_printed = [prefix + line.removeprefix(README_PROGRAM) for line in readme]
    assert [shlex.split(c, comments=True) for c in as_printed] == [shlex.split(c, comments=True) for c in demo.commands]


def test_the_program_is_printed_as_it_was_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "venv bin" / "hygiene"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert shlex.split(program()) == [str(script)]  # not on PATH: its path, quoted for the shell
    monkeypatch.setenv("PATH", str(script.parent))
    assert program() == "hygiene"  # the hygiene on PATH is this one
    monkeypatch.setattr(sys, "argv", [str(REPO / "hygiene" / "cli" / "__main__.py"), "demo"])
    assert shlex.split(program()) == [sys.executable, "-m", "hygiene.cli"]


def test_a_long_stage_is_named_again_until_the_next_begins(capsys: pytest.CaptureFixture[str]) -> None:
    steps = Steps(quiet_after=0.0)
    try:
        steps("starting the local AWS fake (moto)…")
        for _ in range(200):  # the ticker wakes every half second
            if "still starting the local AWS fake" in capsys.readouterr().err:
                break
            time.sleep(0.05)
        else:
            pytest.fail("a stage past quiet_after was not named again")
        steps.pause()
        capsys.readouterr()  # what the ticker printed before the pause
        time.sleep(1.2)
        assert "still" not in capsys.readouterr().err  # nothing repeated while the summary prints
    finally:
        steps.stop()


def test_follow_ups_quote_paths_for_the_shell() -> None:
    folder = Path("my demo") / "it's here"
    commands = follow_ups("hygiene", folder, "northwind", folder / "evidence-insurer.zip", folder / "k.pem")
    for command, _ in commands:
        argv = shlex.split(command)
        assert str(folder) in argv or any(a.startswith(str(folder)) for a in argv), command
