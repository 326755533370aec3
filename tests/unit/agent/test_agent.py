"""The scheduled agent: crontab meaning, catch-up, per-organisation lock, heartbeat, signals."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hygiene.agent.heartbeat import Heartbeat, OrgBeat, heartbeat_path, read_heartbeat, write_heartbeat
from hygiene.agent.lock import LockTimeout, lock_path, organisation_lock, scan_lock
from hygiene.agent.runner import Agent
from hygiene.cli import main
from hygiene.config import Config, load_config
from hygiene.errors import InputError
from hygiene.schedule import ScheduleError, cron_trigger, missed_run, next_fire, translate_day_of_week

MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday

CONFIG = """
[organisation]
id = "{org}"
name = "{org} Ltd"

[schedule]
cron = "{cron}"
timezone = "Europe/London"

[sources.m365]
tenant_id = "t"
client_id = "c"
client_secret_env = "NOT_SET_ANYWHERE"
"""


def write_config(folder: Path, org: str, cron: str = "0 2 * * mon") -> Path:
    path = folder / f"{org}.toml"
    path.write_text(CONFIG.format(org=org, cron=cron))
    return path


class TestCrontab:
    @pytest.mark.parametrize(
        ("field", "days"),
        [
            ("1-5", "mon,tue,wed,thu,fri"),
            ("0", "sun"),
            ("7", "sun"),
            ("0,6", "sat,sun"),
            ("5-7", "fri,sat,sun"),
            ("*/2", "tue,thu,sat,sun"),
            ("mon", "mon"),
            ("*", "*"),
        ],
    )
    def test_numeric_days_count_from_sunday(self, field: str, days: str) -> None:
        assert translate_day_of_week(field) == days

    def test_weekday_schedule_fires_monday_to_friday(self) -> None:
        trigger = cron_trigger("30 2 * * 1-5")
        fires, at = [], MONDAY - timedelta(days=1)
        for _ in range(6):
            nxt = next_fire(trigger, at)
            assert nxt is not None
            fires.append(nxt.strftime("%a"))
            at = nxt + timedelta(seconds=1)
        assert fires == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]

    def test_time_zone_is_honoured(self) -> None:
        summer = datetime(2026, 7, 1, tzinfo=UTC)
        fire = next_fire(cron_trigger("0 2 * * *", "Europe/London"), summer)
        assert fire is not None and fire.astimezone(UTC).hour == 1  # 02:00 BST is 01:00 UTC

    @pytest.mark.parametrize("bad", ["0 2 * *", "0 25 * * *", "0 2 * * 8", "0 2 * * funday"])
    def test_bad_expressions(self, bad: str) -> None:
        with pytest.raises(ScheduleError):
            cron_trigger(bad)

    def test_bad_schedule_in_config_names_file_and_key(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, "acme", cron="0 2 * * 9")
        with pytest.raises(InputError, match=r"acme\.toml: schedule: cron '0 2 \* \* 9': day of week '9' is not 0-7"):
            load_config(path)


class TestCatchUp:
    trigger = cron_trigger("0 2 * * mon")

    def test_machine_off_at_fire_time_scans_once_when_back(self) -> None:
        last = MONDAY - timedelta(days=7, hours=-1)  # last week's run
        missed = missed_run(self.trigger, last, MONDAY)
        assert missed is not None and missed.date() == MONDAY.date()

    def test_several_missed_fires_collapse_into_one(self) -> None:
        missed = missed_run(self.trigger, MONDAY - timedelta(days=30), MONDAY)
        assert missed is not None and missed.date() == MONDAY.date()

    def test_nothing_missed(self) -> None:
        assert missed_run(self.trigger, MONDAY - timedelta(hours=9), MONDAY) is None
        assert missed_run(self.trigger, None, MONDAY) is None


def test_lock_serialises_and_survives_a_killed_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time, pathlib\n"
                "from hygiene.agent.lock import organisation_lock\n"
                f"with organisation_lock(pathlib.Path({str(tmp_path)!r}), 'acme'):\n"
                "    print('held', flush=True)\n    time.sleep(60)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waited: list[bool] = []
        with (
            pytest.raises(LockTimeout),
            organisation_lock(tmp_path, "acme", timeout=0.3, poll=0.05, on_wait=lambda: waited.append(True)),
        ):
            pass
        assert waited == [True]
        with organisation_lock(tmp_path, "other", timeout=0.3):
            pass  # other organisations are not blocked
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with organisation_lock(tmp_path, "acme", timeout=2):
        pass  # the OS released the dead holder's lock


def test_scan_lock_lives_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYGIENE_DATA_DIR", str(tmp_path / "default"))
    with scan_lock("acme"):
        assert lock_path(tmp_path / "default", "acme").is_file()
    with scan_lock("acme", tmp_path / "chosen"):
        assert lock_path(tmp_path / "chosen", "acme").is_file()


def test_agent_runs_catches_up_and_records_failures(tmp_path: Path) -> None:
    configs, data = tmp_path / "configs", tmp_path / "data"
    configs.mkdir()
    write_config(configs, "acme")
    write_config(configs, "globex", cron="0 3 * * *")
    (configs / "broken.toml").write_text("[organisation\n")
    calls: list[str] = []

    def fake_scan(config: Config, data_dir: Path) -> tuple[str, str | None]:
        calls.append(config.organisation.id)
        if config.organisation.id == "globex":
            raise RuntimeError("vendor down")
        return "failures", f"{config.organisation.id}-scan"

    agent = Agent(configs, data, scan=fake_scan, now=lambda: MONDAY)
    assert agent.schedule() == 2  # the broken config is skipped, not fatal
    assert {j.id for j in agent.scheduler.get_jobs()} == {"acme", "globex"}
    assert agent.run_once("acme") == "failures" and agent.run_once("globex") == "error"
    beat = read_heartbeat(heartbeat_path(data))
    assert beat is not None
    assert beat.organisations["acme"].last_status == "failures"
    assert beat.organisations["acme"].last_scan_id == "acme-scan"
    assert beat.organisations["globex"].last_error == "RuntimeError: vendor down"
    # a week later, after downtime over Monday 02:00: a restarted agent catches up acme once
    later = Agent(configs, data, scan=fake_scan, now=lambda: MONDAY + timedelta(days=7, hours=8))
    later.schedule()
    assert "acme-catch-up" in {j.id for j in later.scheduler.get_jobs()}


def test_agent_process_status_reload_and_sigterm(tmp_path: Path) -> None:
    configs, data = tmp_path / "configs", tmp_path / "data"
    configs.mkdir()
    write_config(configs, "acme")
    env = {**os.environ, "HYGIENE_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hygiene.cli", "agent", str(configs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        beat_file = heartbeat_path(data)
        deadline = time.monotonic() + 20
        while not beat_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        status = CliRunner().invoke(main, ["agent", "status", "--data-dir", str(data)])
        assert status.exit_code == 0, status.output
        assert "running" in status.output and "acme: last run -" in status.output
        write_config(configs, "globex")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            beat = read_heartbeat(beat_file)
            if beat and "globex" in beat.organisations:
                break
            time.sleep(0.1)
        assert beat is not None and "globex" in beat.organisations
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    status = CliRunner().invoke(main, ["agent", "status", "--data-dir", str(data)])
    assert status.exit_code == 3 and "not running" in status.output


def test_the_agent_says_what_it_loaded_and_when_each_organisation_runs(tmp_path: Path) -> None:
    configs, data = tmp_path / "configs", tmp_path / "data"
    configs.mkdir()
    write_config(configs, "acme", cron="0 2 * * mon")
    write_config(configs, "globex", cron="30 6 * * 1-5")
    (configs / "broken.toml").write_text("[organisation\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hygiene.cli", "agent", str(configs), "--data-dir", str(data), "--concurrency", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    lines: list[str] = []

    def read_until_started() -> None:  # a thread: readline blocks, and select() cannot see Python's buffer
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("history and reports in"):
                return

    reader = threading.Thread(target=read_until_started, daemon=True)
    reader.start()
    try:
        reader.join(timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert lines[0].startswith("hygiene agent (pid ") and lines[0].endswith(
        f"2 organisation(s) from {configs}, up to 3 at once"
    )
    assert lines[1].startswith("  acme (acme Ltd): cron '0 2 * * mon' Europe/London; next run 20")
    assert lines[2].startswith("  globex (globex Ltd): cron '30 6 * * 1-5' Europe/London; next run 20")
    assert lines[3].startswith("  skipped broken.toml: ") and "broken.toml" in lines[3]
    assert lines[1].endswith(" UTC") and lines[4] == (
        f"history and reports in {data}; stop with Ctrl-C or SIGTERM, reload the configs with SIGHUP"
    )


def test_agent_without_valid_configs_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["agent", str(tmp_path), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code != 0


def test_scheduled_scan_records_history_and_notifies_on_regression(tmp_path: Path, history_url: str) -> None:
    """The agent records into HYGIENE_DATABASE_URL (SQLite or PostgreSQL) and compares with it."""
    import responses

    from hygiene.demo import SECRET_ENV, write_demo_config
    from hygiene.history import HistoryStore
    from hygiene_sandbox import Sandbox, northwind

    hook = "https://hooks.test/teams/secret-path"
    with Sandbox(northwind(datetime.now(UTC), google=False)) as sandbox:
        configs = tmp_path / "configs"
        path = write_demo_config(configs, sandbox)
        path.write_text(
            path.read_text() + '\n[notify]\ndigest = "off"\nwebhooks = [{url_env = "HOOK", format = "teams"}]\n'
        )
        os.environ[SECRET_ENV], os.environ["HOOK"] = sandbox.client_secret, hook
        try:
            agent = Agent(configs, tmp_path / "data")
            agent.schedule()
            with responses.RequestsMock() as rsps:
                rsps.add_passthru("https://127.0.0.1")
                rsps.add(responses.POST, hook, status=200)
                assert agent.run_once("northwind") == "failures"
                assert len(rsps.calls) == 1  # first scan: everything failing is new
                assert agent.run_once("northwind") == "failures"
                assert len(rsps.calls) == 1  # nothing new the second time, digest off
        finally:
            os.environ.pop(SECRET_ENV)
            os.environ.pop("HOOK")
    with HistoryStore(history_url) as store:
        assert len(store.scans("northwind")) == 2


def test_manual_scan_waits_for_the_agents_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The holder keeps the lock until the scan has found it taken: no timing window to lose under load."""
    from hygiene.agent import lock
    from hygiene.demo import SECRET_ENV, write_demo_config
    from hygiene_sandbox import Sandbox, northwind

    data = tmp_path / "data"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, pathlib\n"
                "from hygiene.agent.lock import organisation_lock\n"
                f"with organisation_lock(pathlib.Path({str(data)!r}), 'northwind'):\n"
                "    print('held', flush=True)\n    sys.stdin.readline()\n"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    attempts: list[bool] = []
    real_try_lock = lock._try_lock

    def try_lock_then_release_holder(fd: int) -> bool:
        taken = real_try_lock(fd)
        attempts.append(taken)
        if not taken and attempts.count(False) == 1:
            assert holder.stdin is not None
            holder.stdin.write("release\n")
            holder.stdin.flush()
            holder.wait(timeout=30)
        return taken

    monkeypatch.setattr(lock, "_try_lock", try_lock_then_release_holder)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with Sandbox(northwind(datetime.now(UTC), google=False)) as sandbox:
            config = write_demo_config(tmp_path / "cfg", sandbox)
            result = CliRunner().invoke(
                main,
                ["scan", str(config), "--output", str(tmp_path / "out"), "--data-dir", str(data)],
                env={SECRET_ENV: sandbox.client_secret},
            )
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=10)
    assert result.exit_code == 0, result.output
    assert "waiting for the running scan of northwind" in result.stderr
    assert attempts[0] is False and attempts[-1] is True  # found it held, then took it once released


def test_organisations_run_concurrently_and_a_slow_one_never_delays_the_others(tmp_path: Path) -> None:
    """Three organisations due at start (each missed a run: caught up), two threads: the slow tenant (first in
    line) holds one, the other two are scanned meanwhile on the other; the slow one ends only once they have."""
    configs, data = tmp_path / "configs", tmp_path / "data"
    configs.mkdir()
    for org in ("acme", "globex", "a-slow"):
        write_config(configs, org)
    release, all_done = threading.Event(), threading.Event()
    finished: list[str] = []
    running: set[str] = set()
    most = [0]
    lock = threading.Lock()

    def fake_scan(config: Config, data_dir: Path) -> tuple[str, str | None]:
        org = config.organisation.id
        with lock:
            running.add(org)
            most[0] = max(most[0], len(running))
        if org == "a-slow":
            assert release.wait(10), "the other organisations were held up behind the slow one"
        with lock:
            running.discard(org)
            finished.append(org)
            if {"acme", "globex"} <= set(finished):
                release.set()
            if len(finished) == 3:
                all_done.set()
        return "ok", f"{org}-scan"

    long_ago = datetime.now(UTC) - timedelta(days=8)  # each missed last Monday's run: caught up at start
    beats = {org: OrgBeat(last_run=long_ago) for org in ("acme", "globex", "a-slow")}
    write_heartbeat(
        heartbeat_path(data), Heartbeat(pid=1, started_at=long_ago, updated_at=long_ago, organisations=beats)
    )
    agent = Agent(configs, data, scan=fake_scan, concurrency=2)
    assert agent.schedule() == 3 and all(p.catch_up for p in agent.planned)
    thread = threading.Thread(target=agent.scheduler.start, daemon=True)
    thread.start()
    try:
        assert all_done.wait(20), finished
    finally:
        agent.scheduler.shutdown(wait=True)
    assert finished[-1] == "a-slow" and most[0] == 2  # never more than the limit at once


def test_agent_scans_share_the_credential_limits(tmp_path: Path) -> None:
    from hygiene.limits import SharedLimits

    limits = SharedLimits(per_key=3)
    agent = Agent(tmp_path, tmp_path / "data", limits=limits, concurrency=4)
    assert agent.concurrency == 4
    assert isinstance(agent.scan, functools.partial) and agent.scan.keywords == {"limits": limits}
