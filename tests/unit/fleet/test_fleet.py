"""`hygiene scan-all`: shards, concurrency, one slow or failing tenant, bad configs, shared credentials."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hygiene.agent.lock import organisation_lock
from hygiene.cli import main
from hygiene.config import Config, load_config
from hygiene.fleet import (
    FleetOptions,
    OrgOutcome,
    Shard,
    read_fleet,
    scan_fleet,
    shard_of,
    worst_exit_code,
)
from hygiene.history import HistoryStore, sqlite_url
from hygiene.limits import CONCURRENCY_ENV, SharedLimits, default_concurrency
from hygiene.registry import Registry
from hygiene.scan import ScanOptions, ScanOutcome

CONFIG = """
{include}
[organisation]
id = "{org}"
name = "{org} Ltd"

[sources.m365]
tenant_id = "{org}.onmicrosoft.com"
{credential}
"""
CREDENTIAL = 'client_id = "c"\nclient_secret_env = "FLEET_TEST_SECRET"'


def write_config(folder: Path, org: str, include: str | None = None, shared_credential: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{org}.toml"
    text = CONFIG.format(
        org=org,
        include=f'include = "{include}"' if include else "",
        credential="" if include and shared_credential else CREDENTIAL,
    )
    path.write_text(text)
    return path


# -- shards ------------------------------------------------------------------------------------------------------


def test_shard_of_is_sha256_modulo_count_stable_across_processes() -> None:
    # the contract the Kubernetes Indexed Job relies on: first 8 bytes of SHA-256, big-endian, modulo COUNT
    for org in ("acme", "globex", "initech", "northwind", "ü-org"):
        digest = hashlib.sha256(org.encode()).hexdigest()
        assert shard_of(org, 7) == int(digest[:16], 16) % 7
    assert [shard_of(k, 4) for k in ("acme", "globex", "initech", "northwind")] == [0, 3, 3, 3]
    assert shard_of("acme", 1000003) == 148459
    # Python's own hash() is salted per process: a shard computed in another interpreter must agree
    import subprocess

    code = "from hygiene.fleet import shard_of; print(shard_of('globex', 5))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == shard_of("globex", 5)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_every_organisation_is_in_exactly_one_shard(count: int) -> None:
    orgs = [f"org-{i}" for i in range(200)]
    owners = {org: [i for i in range(count) if Shard(i, count).owns(org)] for org in orgs}
    assert all(len(found) == 1 for found in owners.values())
    if count > 1:  # and the shards are used, not all in one
        assert len({found[0] for found in owners.values()}) == count


@pytest.mark.parametrize(
    ("text", "message"),
    [("4/4", "must be below COUNT"), ("0/0", "must be below COUNT"), ("x", "is not INDEX/COUNT"), ("-1/2", "INDEX")],
)
def test_bad_shard_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    write_config(tmp_path, "acme")
    result = CliRunner().invoke(main, ["scan-all", str(tmp_path), "--shard", text])
    assert result.exit_code == 2 and message in result.output + result.stderr


def test_shard_parse() -> None:
    assert Shard.parse(" 2/4 ") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"


# -- concurrency -------------------------------------------------------------------------------------------------


def test_default_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_concurrency({}) == min(32, (os.cpu_count() or 1) * 4)
    assert default_concurrency({CONCURRENCY_ENV: "7"}) == 7
    for bad in ("0", "x", "1000"):
        with pytest.raises(ValueError, match=CONCURRENCY_ENV):
            default_concurrency({CONCURRENCY_ENV: bad})


def test_shared_limits_hold_one_key_at_a_time_and_others_freely() -> None:
    limits = SharedLimits(per_key=1)
    inside = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with limits.hold(("m365", "app-1")):
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(5)
    with limits.hold(("m365", "app-2")):  # another credential: no wait
        pass
    assert limits.waits == 0
    got: list[float] = []

    def second() -> None:
        with limits.hold(("m365", "app-1")):
            got.append(time.monotonic())

    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.2)
    assert got == [] and limits.waits == 1  # the same credential waits for the slot
    release.set()
    thread.join(5)
    waiter.join(5)
    assert len(got) == 1


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Path]:
    configs = tmp_path / "configs"
    for org in ("acme", "globex", "initech", "slow"):
        write_config(configs, org)
    (configs / "broken.toml").write_text("[organisation\n")
    (configs / "zz-acme.toml").write_text((configs / "acme.toml").read_text())  # acme's id, a second time
    yield configs


def test_one_slow_or_failing_tenant_never_delays_the_others(fleet: Path, tmp_path: Path) -> None:
    """With two workers, a tenant that hangs holds one worker: every other organisation is scanned meanwhile; a
    tenant whose scan raises is an error outcome; broken and duplicate configs are named; the rest still scanned."""
    release = threading.Event()
    started: list[str] = []

    def scan(config: Config, options: ScanOptions) -> ScanOutcome:
        org = config.organisation.id
        started.append(org)
        if org == "slow":
            assert release.wait(10), "the slow tenant was never released"
        if org == "globex":
            raise RuntimeError("vendor down")
        return _scanned(config, options)

    done: list[OrgOutcome] = []

    def on_done(outcome: OrgOutcome, count: int, total: int) -> None:
        done.append(outcome)
        if {o.org for o in done} >= {"acme", "globex", "initech", "broken.toml", "zz-acme.toml"}:
            release.set()  # only once every other organisation finished does the slow one end

    options = FleetOptions(
        output_dir=tmp_path / "out",
        history=sqlite_url(tmp_path / "history.sqlite3"),
        data_dir=tmp_path / "data",
        concurrency=2,
        scan=scan,
    )
    outcomes = scan_fleet(read_fleet(fleet), options, on_done=on_done)
    assert done[-1].org == "slow"
    by_org = {o.org: o for o in outcomes}
    assert [o.org for o in outcomes] == sorted(by_org)
    assert by_org["globex"].status == "error" and by_org["globex"].exit_code == 3
    assert by_org["globex"].error == "RuntimeError: vendor down"
    assert by_org["broken.toml"].exit_code == 2 and "invalid TOML" in (by_org["broken.toml"].error or "")
    assert by_org["zz-acme.toml"].error == "organisation id 'acme' already used by acme.toml"
    assert by_org["acme"].status == "ok" and by_org["slow"].status == "ok"
    assert worst_exit_code(outcomes) == 2
    assert worst_exit_code([o for o in outcomes if o.exit_code != 2]) == 3
    assert worst_exit_code([]) == 0


def _scanned(config: Config, options: ScanOptions) -> ScanOutcome:
    """A real (empty) evaluation for ``config``: no vendor, nothing failing."""
    from hygiene import __version__
    from hygiene.engine import evaluate
    from hygiene.model import OrganisationRef, Snapshot
    from hygiene.policy import ControlsFile, load_lifecycle, load_profile

    snapshot = Snapshot(
        tool_version=__version__,
        organisation=OrganisationRef(id=config.organisation.id, name=config.organisation.name),
        collected_at=datetime.now(UTC),
    )
    report = evaluate(
        snapshot,
        Registry([]),
        load_profile("sme-baseline", None),
        ControlsFile(),
        load_lifecycle(),
        scan_id=f"{config.organisation.id}-scan",
        operator="test",
    )
    return ScanOutcome(report=report, files={}, snapshot_path=options.output_dir / "snapshot.json.gz")


def test_an_organisation_being_scanned_elsewhere_is_waited_for_others_go_on(fleet: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    waited: list[str] = []
    finished: list[str] = []
    held = threading.Event()
    release = threading.Event()

    def other_scan() -> None:  # e.g. the agent, or a manual `hygiene scan`
        with organisation_lock(data, "initech"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=other_scan)
    holder.start()
    assert held.wait(5)

    def on_done(outcome: OrgOutcome, count: int, total: int) -> None:
        finished.append(outcome.org)
        if len(finished) == total - 1:
            release.set()

    options = FleetOptions(
        output_dir=tmp_path / "out",
        history=sqlite_url(tmp_path / "h.sqlite3"),
        data_dir=data,
        concurrency=4,
        scan=_scanned,
    )
    outcomes = scan_fleet(read_fleet(fleet), options, on_done=on_done, on_wait=waited.append)
    holder.join(5)
    assert waited == ["initech"] and finished[-1] == "initech"
    assert {o.org: o.status for o in outcomes}["initech"] == "ok"


def test_concurrent_registry_loads_see_every_check() -> None:
    """Check modules are registered in sys.modules before they run: threads loading the registry at once (a
    fleet's scans) must each see every check, never a module another thread is still executing."""
    expected = Registry.load().ids()
    for _ in range(5):  # a race: a few rounds, so that without the lock it is all but certain to show
        for name in [n for n in sys.modules if n.startswith("hygiene_checkpack_")]:
            del sys.modules[name]
        barrier = threading.Barrier(8)
        seen: list[list[str]] = []

        def load(barrier: threading.Barrier, seen: list[list[str]]) -> None:
            barrier.wait()
            seen.append(Registry.load().ids())

        threads = [threading.Thread(target=load, args=(barrier, seen)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(seen) == 8 and all(ids == expected for ids in seen)


# -- shared credentials ------------------------------------------------------------------------------------------


def test_a_fleet_of_three_line_files_shares_one_credential(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "_msp.toml").write_text(
        '[sources.m365]\nclient_id = "11111111-2222-3333-4444-555555555555"\nclient_secret_env = "MSP_SECRET"\n'
        '[schedule]\ncron = "0 3 * * *"\n'
    )
    for org in ("acme", "globex"):
        write_config(configs, org, include="_msp.toml")
    entries = read_fleet(configs)
    assert [e.key for e in entries] == ["acme", "globex"]  # _msp.toml is not an organisation
    first, second = (e.config for e in entries)
    assert first is not None and second is not None
    assert first.sources.m365 is not None and second.sources.m365 is not None
    assert first.sources.m365.client_id == second.sources.m365.client_id == "11111111-2222-3333-4444-555555555555"
    assert first.sources.m365.tenant_id == "acme.onmicrosoft.com"
    assert first.schedule is not None and first.schedule.cron == "0 3 * * *"
    from hygiene.sources.platforms import platform

    key = platform("m365").credential_key
    assert key(first.sources.m365) == key(second.sources.m365)
    other = load_config(write_config(tmp_path / "solo", "solo"))
    assert key(other.sources.m365) != key(first.sources.m365)


def test_the_organisation_file_wins_over_what_it_includes(tmp_path: Path) -> None:
    (tmp_path / "_a.toml").write_text('[schedule]\ncron = "0 3 * * *"\ntimezone = "Europe/London"\n')
    (tmp_path / "_b.toml").write_text('include = "_a.toml"\n[schedule]\ncron = "0 4 * * *"\n')
    path = write_config(tmp_path, "acme", include="_b.toml", shared_credential=False)
    path.write_text(path.read_text() + '\n[reports]\nformats = ["json"]\n')
    config = load_config(path)
    assert config.schedule is not None
    assert (config.schedule.cron, config.schedule.timezone) == ("0 4 * * *", "Europe/London")


# -- the command, against the sandbox ----------------------------------------------------------------------------


def test_scan_all_against_the_sandbox(tmp_path: Path) -> None:
    """Three organisations (one shared credential) and a broken config: all scanned concurrently, the broken one
    named, a summary, the history and the portfolio; exit code 2 (the worst: a config that could not be read)."""
    from hygiene.demo import SECRET_ENV, write_demo_config
    from hygiene_sandbox import Sandbox, northwind

    configs, data, output = tmp_path / "configs", tmp_path / "data", tmp_path / "out"
    with Sandbox(northwind(datetime.now(UTC), google=False)) as sandbox:
        text = write_demo_config(configs, sandbox).read_text()
        (configs / "northwind.toml").unlink()
        for org in ("dental-a", "dental-b", "dental-c"):
            (configs / f"{org}.toml").write_text(text.replace('id = "northwind"', f'id = "{org}"'))
        (configs / "broken.toml").write_text('[organisation]\nid = "x"\nname = "X"\ncolour = "blue"\n')
        result = CliRunner(env={SECRET_ENV: sandbox.client_secret}).invoke(
            main,
            ["scan-all", str(configs), "--data-dir", str(data), "-o", str(output), "--concurrency", "3", "--no-raw"],
        )
    assert result.exit_code == 2, result.output + result.stderr
    progress = result.stderr.splitlines()
    assert progress[0] == "scanning 4 of 4 organisation(s) (shard 0/1), 3 at once"
    assert sorted(line.split("] ")[1].split(":")[0] for line in progress[1:5]) == [
        "broken.toml",
        "dental-a",
        "dental-b",
        "dental-c",
    ]
    assert "organisation.colour: unknown key" in result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(("dental-", "broken"))]
    assert [r[:2] for r in rows] == [["broken.toml", "error"], *[[f"dental-{x}", "failures"] for x in "abc"]]
    with HistoryStore(sqlite_url(data / "history.sqlite3")) as store:
        assert sorted(store.organisations()) == ["dental-a", "dental-b", "dental-c"]
    portfolio = json.loads((output / "portfolio.json").read_text())
    assert sorted(o["id"] for o in portfolio["organisations"]) == ["dental-a", "dental-b", "dental-c"]
    assert [e["config"] for e in portfolio["errors"]] == ["broken.toml"]
    assert len({o["score"] for o in portfolio["organisations"]}) == 1  # one tenant, three names: one result


def test_framework_mappings_are_parsed_once_per_version_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every scan loads the registry; the mappings file is parsed again only when it changes."""
    import shutil

    from hygiene import registry
    from hygiene.frameworks import MAPPINGS_FILE, frameworks_dir

    folder = tmp_path / "frameworks"
    shutil.copytree(frameworks_dir(), folder)
    monkeypatch.setattr(registry, "frameworks_dir", lambda: folder)
    parsed: list[Path] = []
    real = registry.load_mappings

    def counting(where: Path) -> object:
        parsed.append(where)
        return real(where)

    monkeypatch.setattr(registry, "load_mappings", counting)
    first = registry.load_framework_mappings()
    first.clear()  # a caller's copy: changing it changes nothing cached
    second = registry.load_framework_mappings()
    assert len(parsed) == 1 and second and second == registry.load_framework_mappings()
    file = folder / MAPPINGS_FILE
    file.write_text(file.read_text() + "\n# changed\n")
    os.utime(file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert registry.load_framework_mappings() == second and len(parsed) == 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_stopped_fleet_starts_no_new_scan_and_keeps_the_finished_ones(tmp_path: Path, signum: int) -> None:
    """Kubernetes stops a pod with SIGTERM (Python's default: die at once, every running scan lost), a person
    with Ctrl-C (which alone would let the pool start every queued scan before exiting): no new scan starts, the
    running one finishes and is recorded, the rest are counted as not started, exit 130, no portfolio."""
    from hygiene.demo import SECRET_ENV, write_demo_config
    from hygiene_sandbox import Sandbox, northwind

    orgs = [f"clinic-{i}" for i in range(6)]
    configs, data, output = tmp_path / "configs", tmp_path / "data", tmp_path / "out"
    with Sandbox(northwind(datetime.now(UTC), google=False), latency_ms=20) as sandbox:
        text = write_demo_config(configs, sandbox).read_text()
        (configs / "northwind.toml").unlink()
        for org in orgs:
            (configs / f"{org}.toml").write_text(text.replace('id = "northwind"', f'id = "{org}"'))
        env = {**os.environ, SECRET_ENV: sandbox.client_secret, "NO_COLOR": "1", "COLUMNS": "200"}
        command = [sys.executable, "-m", "hygiene.cli", "scan-all", str(configs), "--data-dir", str(data)]
        proc = subprocess.Popen(
            [*command, "-o", str(output), "--concurrency", "1", "--no-raw"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        lines = [proc.stderr.readline()]  # "scanning 6 of 6 ..."
        lines.append(proc.stderr.readline())  # "[1/6] ...": one scan finished, the next one running
        proc.send_signal(signum)
        out, rest = proc.communicate(timeout=300)
    stderr = "".join(lines) + rest
    assert proc.returncode == 130, stderr
    assert lines[1].startswith("[1/6] ") and "Traceback" not in stderr
    ended = [line for line in stderr.splitlines() if line.startswith("interrupted: ")]
    assert len(ended) == 1, stderr
    scanned, not_started = (int(ended[0].split()[i]) for i in (1, 4))
    assert 1 <= scanned < len(orgs) and scanned + not_started == len(orgs), ended
    with HistoryStore(sqlite_url(data / "history.sqlite3")) as store:
        recorded = sorted(store.organisations())
    assert len(recorded) == scanned  # what finished is recorded, whole; what did not start is not
    assert sum(1 for line in out.splitlines() if line.startswith("clinic-")) == scanned
    assert not (output / "portfolio.html").exists()


def test_data_dir_over_a_database_url_is_said(tmp_path: Path) -> None:
    """`--data-dir` puts the history in its SQLite file even when HYGIENE_DATABASE_URL names the fleet's database:
    a shard started that way says so instead of recording into a local file without a word."""
    configs = tmp_path / "configs"
    write_config(configs, "acme")
    env = {"HYGIENE_DATABASE_URL": "postgresql://hygiene:pw@db.internal/hygiene"}
    output = ["-o", str(tmp_path / "out")]
    result = CliRunner(env=env).invoke(main, ["portfolio", str(configs), "--data-dir", str(tmp_path / "data"), *output])
    assert "--data-dir wins over HYGIENE_DATABASE_URL" in result.stderr
    assert "pw@" not in result.stderr  # the notice names the file, never the URL
    quiet = CliRunner(env={"HYGIENE_DATABASE_URL": ""}).invoke(
        main, ["portfolio", str(configs), "--data-dir", str(tmp_path / "data"), *output]
    )
    assert "wins over" not in quiet.stderr
