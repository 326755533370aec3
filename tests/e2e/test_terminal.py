"""The terminal end to end: a demo scan with colours forced colours no part of a word (an id, "Windows10", a
path), and a scan off a terminal shows no progress display but logs a structured line per dataset."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from hygiene.cli import main
from hygiene.demo import SECRET_ENV, write_demo_config

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: characters of a word, an id or a path: an escape sequence between two of them colours part of a word
WORD = re.compile(r"[\w./@-]")


def escapes_inside_words(text: str) -> list[str]:
    """Each escape sequence (or run of them) with a word character right before and right after it."""
    found = []
    for match in re.finditer(rf"(?:{ESCAPE.pattern})+", text):
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        if before and after and WORD.match(before) and WORD.match(after):
            found.append(text[max(0, match.start() - 20) : match.end() + 20])
    return found


def test_the_detector_finds_a_coloured_digit_inside_a_word() -> None:
    assert escapes_inside_words("Windows\x1b[1;36m10\x1b[0m is old")
    assert escapes_inside_words("/tmp/\x1b[0m\x1b[95mreport.html")
    assert not escapes_inside_words("\x1b[31mfail\x1b[0m  critical")


def test_a_coloured_demo_scan_colours_no_part_of_a_word(tmp_path: Path) -> None:
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    shown = subprocess.run(
        [sys.executable, "-m", "hygiene.cli", "demo", "--no-aws", "--output", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert shown.returncode in (0, 3), shown.stderr
    assert ESCAPE.search(shown.stdout), "colours were not forced: the test would prove nothing"
    assert not escapes_inside_words(shown.stdout), escapes_inside_words(shown.stdout)[:5]
    assert not escapes_inside_words(shown.stderr), escapes_inside_words(shown.stderr)[:5]
    plain = ESCAPE.sub("", shown.stdout)
    assert "m365.mfa.admins" in plain and "grade" in plain.splitlines()[0]


def test_a_scan_off_a_terminal_shows_no_progress_and_logs_each_dataset(tmp_path: Path) -> None:
    from hygiene_sandbox import Sandbox, northwind

    with Sandbox(northwind(datetime.now(UTC), google=False)) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        result = CliRunner().invoke(
            main,
            ["--log-level", "info", "scan", str(config), "-o", str(tmp_path / "out"), "--no-history"],
            env={SECRET_ENV: sandbox.client_secret, "CI": "true"},
        )
    assert result.exit_code == 0, result.output
    assert "━" not in result.stderr and "datasets read" not in result.stderr  # no live display
    logged = [line for line in result.stderr.splitlines() if "dataset read" in line]
    assert any("count=" in line and "dataset=m365.users" in line and "platform=m365" in line for line in logged)
    datasets = {re.search(r"dataset=(\S+)", line).group(1) for line in logged}  # type: ignore[union-attr]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    read = {name for run in report["sources"].values() for name, state in run["datasets"].items() if state["available"]}
    assert read and datasets == read  # each dataset read, those read alongside others too
    assert len(logged) == len(datasets)  # once each, never once per response
