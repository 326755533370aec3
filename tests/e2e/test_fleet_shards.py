"""The shard contract of `hygiene scan-all --shard INDEX/COUNT` (the Kubernetes Indexed Job, run locally): COUNT
worker processes against one history database scan every organisation exactly once between them, with results
identical to a single-process run, and the portfolio built from the database is the same.

The database is a parameter (``history_database``: a URL per name): SQLite files, and fresh databases of the
real PostgreSQL server the tests start (``tests/pgtest.py``); every assertion holds for both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hygiene.history import HistoryStore, sqlite_url

ORGS = [f"clinic-{i:02d}" for i in range(9)]
SHARDS = 3
#: what differs between two scans of the same data: ids, times, and where the files went
VOLATILE = {"scan_id", "last_scan_at", "report_path", "report_link", "age_days", "scanned"}


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


@pytest.fixture(params=BACKENDS)
def history_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A history database URL per name, on the backend of the param: SQLite files, or fresh databases of the
    session's real PostgreSQL server (dropped at the end)."""
    if request.param == "sqlite":
        yield lambda name: sqlite_url(tmp_path / f"{name}.sqlite3")
        return
    server = request.getfixturevalue("postgres_server")
    made: dict[str, str] = {}

    def database(name: str) -> str:
        if name not in made:
            made[name] = server.create_database()
        return made[name]

    try:
        yield database
    finally:
        for url in made.values():
            server.drop_database(url)


def _fleet(folder: Path, sandbox: Any) -> Path:
    from hygiene.demo import write_demo_config

    configs = folder / "configs"
    text = write_demo_config(configs, sandbox).read_text()
    (configs / "northwind.toml").unlink()
    for org in ORGS:
        (configs / f"{org}.toml").write_text(text.replace('id = "northwind"', f'id = "{org}"'))
    return configs


def _start(configs: Path, url: str, work: Path, secret: str, *extra: str) -> subprocess.Popen[str]:
    from hygiene.demo import SECRET_ENV

    env = {
        **os.environ,
        SECRET_ENV: secret,
        "HYGIENE_DATABASE_URL": url,
        "HYGIENE_DATA_DIR": str(work / "data"),  # locks: each worker its own folder, as each pod has
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "hygiene.cli", "scan-all", str(configs), "-o", str(work / "reports"), "--no-raw"]
    return subprocess.Popen(
        [*command, "--concurrency", "4", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def _results(url: str) -> dict[str, list[tuple[str, str, int, int]]]:
    """Per organisation: its one recorded scan's results (check, status, assessed, failing), in order."""
    found: dict[str, list[tuple[str, str, int, int]]] = {}
    with HistoryStore(url) as store:
        for org in store.organisations():
            scans = store.scans(org)
            assert len(scans) == 1, f"{org} recorded {len(scans)} times"
            stored = store.load(scans[0].scan_id)
            found[org] = [(r.check_id, r.status, r.assessed, r.failing) for r in stored.results]
    return found


def _portfolio(configs: Path, url: str, output: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "HYGIENE_DATABASE_URL": url}
    proc = subprocess.run(
        [sys.executable, "-m", "hygiene.cli", "portfolio", str(configs), "-o", str(output), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    rows = json.loads(proc.stdout)["organisations"]
    return [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]


def test_shards_scan_every_organisation_once_with_the_single_run_results(
    tmp_path: Path, history_database: Callable[[str], str]
) -> None:
    from hygiene_sandbox import Sandbox, northwind

    single_url, sharded_url = history_database("single"), history_database("sharded")
    with Sandbox(northwind(datetime.now(UTC), google=False)) as sandbox:
        configs = _fleet(tmp_path, sandbox)
        code, out, err = _finish(_start(configs, single_url, tmp_path / "single", sandbox.client_secret))
        assert code == 0, err
        workers = [
            _start(configs, sharded_url, tmp_path / f"shard-{i}", sandbox.client_secret, "--shard", f"{i}/{SHARDS}")
            for i in range(SHARDS)
        ]
        finished = [_finish(w) for w in workers]
    scanned: list[str] = []
    for i, (code, out, err) in enumerate(finished):
        assert code == 0, err
        first = err.splitlines()[0]
        assert first.startswith("scanning ") and f"of {len(ORGS)} organisation(s) (shard {i}/{SHARDS})" in first
        assert "portfolio: not written by one shard" in err
        scanned += [line.split()[0] for line in out.splitlines() if line.startswith("clinic-")]
    assert sorted(scanned) == ORGS  # every organisation once, across the shards
    for i in range(SHARDS):  # each its own log, even in a shared folder
        assert (tmp_path / f"shard-{i}" / "reports" / f"hygiene-shard-{i}-of-{SHARDS}.log").is_file()
    assert all(sum(1 for _, out, _ in finished if org in out) == 1 for org in ORGS)
    single, sharded = _results(single_url), _results(sharded_url)
    assert sorted(single) == sorted(sharded) == ORGS
    assert sharded == single
    assert any(status == "fail" for rows in single.values() for _, status, _, _ in rows)  # a real comparison
    assert _portfolio(configs, sharded_url, tmp_path / "p2") == _portfolio(configs, single_url, tmp_path / "p1")
