"""A scan's progress: what the sources tell (responses, datasets with counts), the live display on a terminal and
nothing elsewhere (not a terminal, CI); the summary's first lines."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import collect, healthy_tenant, run_checks
from rich.console import Console

from hygiene.cli.summary import ScanProgress, headline, live_progress_wanted
from hygiene.config import load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.results import ScanReport, Score
from hygiene.scan import ScanOptions, run_scan
from hygiene.sources.aws.transport import RequestCounter
from hygiene.sources.interface import RawRecorder
from hygiene.sources.platforms import platform


def test_raw_recorder_tells_each_response_and_each_dataset(tmp_path: Path) -> None:
    told: list[tuple[str, str | None, int]] = []
    raw = RawRecorder(tmp_path, "m365", progress=lambda *event: told.append(event))
    raw.record("GET", "https://graph.example/v1.0/users", 200, b"{}")
    raw.record("GET", "https://graph.example/v1.0/users?page=2", 200, b"{}")
    raw.dataset_read("m365.users", 1234)
    assert told == [("m365", None, 1), ("m365", None, 2), ("m365", "m365.users", 1234)]
    RawRecorder(None, "m365").dataset_read("m365.users", 1)  # no listener: nothing to tell, no error


def test_aws_tells_each_account_and_region_read() -> None:
    told: list[tuple[str, str | None, int]] = []
    counter = RequestCounter(RawRecorder(None, "aws", progress=lambda *event: told.append(event)))
    counter.succeeded("aws.ec2")
    counter.succeeded("aws.ec2")
    counter.succeeded("aws.iam")
    assert told == [("aws", "aws.ec2", 1), ("aws", "aws.ec2", 2), ("aws", "aws.iam", 1)]


def test_a_sandbox_scan_reports_every_dataset_with_its_count(tmp_path: Path) -> None:
    from hygiene_sandbox import Sandbox, northwind

    told: list[tuple[str, str | None, int]] = []
    phases: list[tuple[str, str]] = []
    with Sandbox(northwind(datetime.now(UTC))) as sandbox:
        config = load_config(write_demo_config(tmp_path / "cfg", sandbox))
        outcome = run_scan(
            config,
            ScanOptions(
                output_dir=tmp_path / "out",
                environ={SECRET_ENV: sandbox.client_secret},
                progress=lambda *phase: phases.append(phase),
                reading=lambda *event: told.append(event),
            ),
        )
    # the platforms are read at once; email after them all: it reads the domains the others listed
    first = ("m365", "google", "azure")
    assert sorted(phases[:6]) == sorted((p, phase) for p in first for phase in ("start", "done"))
    assert all(phases.index((p, "start")) < phases.index((p, "done")) for p in first)
    assert phases[6:] == [("email", "start"), ("email", "done")]
    snapshot_runs = outcome.report.sources
    for name in ("m365", "google", "email"):
        datasets = [d.name for d in platform(name).datasets]
        reported = {dataset: count for p, dataset, count in told if p == name and dataset is not None}
        assert set(reported) == set(datasets), name
        responses = [count for p, dataset, count in told if p == name and dataset is None]
        assert responses == list(range(1, len(responses) + 1)) and responses, name  # one event per response
        final = {d: s.records for d, s in snapshot_runs[name].datasets.items() if s.available}
        assert final == reported, name  # the last count told is the one recorded
    users = [count for p, dataset, count in told if dataset == "m365.users"]
    assert users and users[-1] > 0


def terminal(width: int = 120) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=width, color_system=None), buffer


def test_the_live_display_shows_platforms_datasets_and_counts() -> None:
    console, buffer = terminal()
    with ScanProgress(console, live=True) as progress:
        progress("m365", "start")
        for n in range(1, 31):
            progress.read("m365", None, n)
        progress.read("m365", "m365.users", 1234)
        progress.read("m365", "m365.devices", 310)
        progress("m365", "done")
    text = buffer.getvalue()
    total = len(platform("m365").datasets)
    assert f"Microsoft 365: 2 of {total} datasets read, 30 responses" in text
    assert "devices 310 · users 1,234" in text


def test_no_display_off_a_terminal_or_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = Console(file=io.StringIO(), force_terminal=False)
    assert not live_progress_wanted(piped)
    console, buffer = terminal()
    monkeypatch.delenv("CI", raising=False)
    assert live_progress_wanted(console)
    monkeypatch.setenv("CI", "true")
    assert not live_progress_wanted(console)
    with ScanProgress(console) as progress:
        progress("m365", "start")
        progress.read("m365", None, 1)
        progress.read("m365", "m365.users", 3)
        progress("m365", "done")
    assert buffer.getvalue() == ""


# -- the summary's first lines ------------------------------------------------------------------------------------


def sample_report(score: Score) -> ScanReport:
    """A real report (a healthy test tenant's) with ``score`` in place of its own."""
    return run_checks(collect(healthy_tenant())).model_copy(update={"score": score})


def test_caps_that_do_not_change_the_grade_are_one_line() -> None:
    caps = [f"check {i} fails (critical mfa check): grade at most D" for i in range(8)]
    lines = [line.plain for line in headline(sample_report(Score(value=45.0, grade="F", coverage=0.9, caps=caps)))]
    assert lines[0].startswith("Contoso: grade F, score 45.0/100, 90% of checks assessed")
    assert lines[1] == "  8 grade caps apply, none lower the grade: the score alone gives F"
    assert not any("check 3 fails" in line for line in lines)
    assert "pass" in lines[2]  # then the count of results by status


def test_caps_that_lower_the_grade_are_named() -> None:
    caps = [f"check {i} fails (critical mfa check): grade at most D" for i in range(5)]
    lines = [line.plain for line in headline(sample_report(Score(value=85.0, grade="D", coverage=1.0, caps=caps)))]
    assert lines[1] == "  grade capped at D (the score alone gives B):"
    assert lines[2:5] == [f"    {cap}" for cap in caps[:3]] and lines[5] == "    and 2 more (see the report)"


def test_a_scan_stopped_with_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C during `hygiene scan`: one line and exit 130; click's own 'Aborted!' exits 1, which a scheduler
    reads as 'failures found' (--fail-on)."""
    import os
    import signal
    import subprocess
    import sys

    from hygiene_sandbox import Sandbox, northwind

    with Sandbox(northwind(datetime.now(UTC), google=False), latency_ms=200) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        env = {**os.environ, SECRET_ENV: sandbox.client_secret, "NO_COLOR": "1"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hygiene.cli",
                "scan",
                str(config),
                "-o",
                str(tmp_path / "out"),
                "--data-dir",
                str(tmp_path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(600):  # until the scan has asked the sandbox something: it is reading
            if sandbox.requests:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr and "Aborted!" not in stderr
