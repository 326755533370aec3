"""Scan history: the store, its migrations and crash safety, the diff, baselines and the CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from scanreports import T0, report, result

from hygiene.cli import main
from hygiene.history import HistoryError, HistoryStore, history_url, sqlite_url
from hygiene.history.compare import since_previous
from hygiene.history.diff import diff_scans
from hygiene.history.models import stored_from_report
from hygiene.history.render import render_diff
from hygiene.history.schema import SCHEMA_VERSION


def store_at(tmp_path: Path) -> HistoryStore:
    return HistoryStore(sqlite_url(tmp_path / "history.sqlite3"))


# -- store ----------------------------------------------------------------------------------------------------


def test_round_trip_and_file_modes(tmp_path: Path) -> None:
    reports_file = tmp_path / "report.json"
    reports_file.write_text("{}")
    original = report("acme-1", [result("a", "fail", "alice", "bob", accepted=("bob",)), result("b", "pass")])
    data_dir = tmp_path / "data"
    with HistoryStore(history_url(data_dir)) as store:
        summary = store.record(original, {"json": reports_file})
        loaded = store.load("acme-1")
        assert store.version == SCHEMA_VERSION
    assert summary.baseline and loaded.summary.baseline
    assert loaded.results == stored_from_report(original).results
    assert loaded.summary.started_at == T0 and loaded.summary.failing_checks == 1
    assert loaded.summary.score == 72.5 and loaded.summary.grade == "C" and loaded.summary.complete
    assert [(f.format, f.sha256) for f in loaded.files] == [
        ("json", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    ]
    assert (data_dir.stat().st_mode & 0o777) == 0o700
    assert ((data_dir / "history.sqlite3").stat().st_mode & 0o777) == 0o600


def test_duplicate_scan_id_is_refused_and_nothing_half_written(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        store.record(report("acme-1", [result("a", "pass")]))
        with pytest.raises(HistoryError, match="already in the history"):
            store.record(report("acme-1", [result("a", "fail", "x")]))
        assert len(store.scans("acme")) == 1 and store.load("acme-1").results[0].status == "pass"


def test_migrates_an_empty_database_and_reopens_idempotently(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    sqlite3.connect(path).close()  # an empty database file
    with HistoryStore(sqlite_url(path)) as store:
        assert store.version == SCHEMA_VERSION
        store.record(report("acme-1", [result("a", "pass")]))
    for _ in range(2):
        with HistoryStore(sqlite_url(path)) as store:
            assert store.version == SCHEMA_VERSION and len(store.scans("acme")) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"scans", "check_results", "findings", "report_files", "schema_version"} <= tables


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(sqlite_url(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(HistoryError, match="newer than this hygiene"):
        HistoryStore(sqlite_url(path))


def test_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert history_url(tmp_path) == sqlite_url(tmp_path / "history.sqlite3")
    monkeypatch.setenv("HYGIENE_DATA_DIR", str(tmp_path / "d"))
    assert history_url() == sqlite_url(tmp_path / "d" / "history.sqlite3")
    monkeypatch.setenv("HYGIENE_DATABASE_URL", "postgresql://hygiene@db.example/hygiene")
    assert history_url() == "postgresql://hygiene@db.example/hygiene"
    assert history_url(tmp_path) == sqlite_url(tmp_path / "history.sqlite3")  # --data-dir wins
    with pytest.raises(HistoryError, match="not a database URL"):
        HistoryStore("::nonsense::")


WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from scanreports import report, result
    from hygiene.history import HistoryStore, sqlite_url

    store = HistoryStore(sqlite_url({db!r}))
    for n in range(100000):
        results = [result(f"check.{{i}}", "fail", *(f"r{{j}}" for j in range(20))) for i in range(50)]
        store.record(report(f"acme-{{n}}", results))
        print(n, flush=True)
    """
)


def test_killed_writer_leaves_only_whole_scans(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    script = WRITER.format(tests=str(Path(__file__).parents[2]), db=str(db))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        for _ in range(3):  # a few scans committed: the writer is in its loop, mid-transaction most of the time
            assert child.stdout.readline(), "the writer died"
        time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with store_at(tmp_path) as store:
        scans = store.scans("acme")
        assert len(scans) >= 3
        for summary in scans:
            loaded = store.load(summary.scan_id)
            assert len(loaded.results) == 50 and all(len(r.findings) == 20 for r in loaded.results)
        store.record(report("acme-after", [result("a", "pass")]))
        assert store.scans("acme")[-1].scan_id == "acme-after"


# -- diff -----------------------------------------------------------------------------------------------------


def test_diff_semantics() -> None:
    before = report(
        "acme-1",
        [
            result("new.check", "pass"),
            result("fixed.check", "fail", "alice"),
            result("worse.check", "fail", "alice"),
            result("same.check", "fail", "alice", "bob"),
            result("swapped.check", "fail", "alice"),
            result("exc.check", "accepted", "carol", accepted=("carol",)),
            result("gone.check", "fail", "dave"),
        ],
    )
    after = report(
        "acme-2",
        [
            result("new.check", "fail", "erin"),
            result("fixed.check", "pass"),
            result("worse.check", "fail", "alice", "bob"),
            result("same.check", "fail", "bob"),
            result("swapped.check", "fail", "bob"),
            result("exc.check", "fail", "carol"),
            result("gone.check", "not_assessed"),
        ],
        at=T0 + timedelta(days=7),
    )
    d = diff_scans(stored_from_report(before), stored_from_report(after))
    ids = lambda changes: [c.check_id for c in changes]  # noqa: E731
    assert ids(d.new_failures) == ["exc.check", "new.check"]
    assert [r.resource_name for r in d.new_failures[1].new_resources] == ["erin"]
    assert ids(d.new_resources) == ["swapped.check", "worse.check"]
    assert [r.resource_name for r in d.new_resources[1].new_resources] == ["bob"]
    assert ids(d.regressed) == ["worse.check"]
    assert d.regressed[0].failing_before == 1 and d.regressed[0].failing_after == 2
    assert ids(d.unchanged) == ["same.check", "swapped.check"]
    assert ids(d.resolved) == ["fixed.check"]
    assert ids(d.resolved_resources) == ["same.check", "swapped.check"]
    assert ids(d.no_longer_assessed) == ["gone.check"]
    assert [(e.check_id, e.resource_name, e.exception_id) for e in d.expired_exceptions] == [
        ("exc.check", "carol", "EXC-1")
    ]
    assert d.worse
    same = diff_scans(stored_from_report(after), stored_from_report(after))
    assert not same.worse and not same.resolved
    assert ids(same.unchanged) == ["exc.check", "new.check", "same.check", "swapped.check", "worse.check"]


def test_diff_newly_unassessed_is_a_passing_or_accepted_check_that_is_not_assessed_now() -> None:
    before = report(
        "acme-1",
        [
            result("perm.check", "pass"),
            result("crash.check", "pass"),
            result("acc.check", "accepted", "carol", accepted=("carol",)),
            result("still.check", "not_assessed"),
            result("gone.check", "pass"),
            result("failing.check", "fail", "dave"),
        ],
    )
    after = report(
        "acme-2",
        [
            result("perm.check", "not_assessed"),
            result("crash.check", "error"),
            result("acc.check", "not_assessed"),
            result("still.check", "not_assessed"),
            result("failing.check", "error"),
        ],
        at=T0 + timedelta(days=7),
    )
    d = diff_scans(stored_from_report(before), stored_from_report(after))
    assert [c.check_id for c in d.newly_unassessed] == ["acc.check", "crash.check", "perm.check"]
    assert [c.check_id for c in d.no_longer_assessed] == ["failing.check"]  # failing before: its own list
    assert not d.worse  # as before: the notification and `hygiene diff` list them, `worse` is about failures
    assert "newly unassessed (passing before) (3):" in render_diff(d)


def test_since_previous_is_the_reports_previous_scan(tmp_path: Path) -> None:
    first = report("acme-1", [result("a", "pass")])
    second = report("acme-2", [result("a", "fail", "x")], at=T0 + timedelta(days=7))
    with pytest.raises(HistoryError):  # no store: an error, not "nothing changed"
        since_previous(tmp_path / "none.sqlite3", first)
    with store_at(tmp_path) as store:
        store.record(first)
    assert since_previous(tmp_path / "history.sqlite3", first) is None  # its own scan is not its previous
    unrecorded = since_previous(tmp_path / "history.sqlite3", second)
    with store_at(tmp_path) as store:
        store.record(second)
    recorded = since_previous(tmp_path / "history.sqlite3", second)
    assert unrecorded == recorded and recorded is not None
    assert recorded.before.scan_id == "acme-1" and [c.check_id for c in recorded.new_failures] == ["a"]
    assert since_previous(tmp_path / "history.sqlite3", report("globex-1", [], org="globex")) is None


# -- baseline and CLI -----------------------------------------------------------------------------------------


def seed(tmp_path: Path) -> None:
    with HistoryStore(history_url(tmp_path)) as store:
        store.record(report("acme-1", [result("a", "pass"), result("b", "fail", "x")]))
        store.record(report("acme-2", [result("a", "fail", "y"), result("b", "fail", "x")], at=T0 + timedelta(1)))
        store.record(report("acme-3", [result("a", "pass"), result("b", "pass")], at=T0 + timedelta(2)))
        store.record(report("other-1", [result("a", "pass")], org="other"))


def run(*args: str) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(main, list(args))
    return outcome.exit_code, outcome.stdout, outcome.stderr


def test_baseline_defaults_to_the_first_scan_and_can_be_set(tmp_path: Path) -> None:
    seed(tmp_path)
    with HistoryStore(history_url(tmp_path)) as store:
        assert [s.scan_id for s in store.scans("acme") if s.baseline] == ["acme-1"]
        assert store.find("other", "baseline").scan_id == "other-1"
    code, out, _ = run("baseline", "set", "acme", "acme-2", "--data-dir", str(tmp_path))
    assert code == 0 and "baseline is now acme-2" in out
    code, out, _ = run("baseline", "set", "acme", "--data-dir", str(tmp_path))
    assert code == 0 and "acme-3" in out
    with HistoryStore(history_url(tmp_path)) as store:
        assert [s.scan_id for s in store.scans("acme") if s.baseline] == ["acme-3"]
        assert store.find("other", "baseline").scan_id == "other-1"


def test_cli_history_and_diff(tmp_path: Path) -> None:
    seed(tmp_path)
    code, out, _ = run("history", "acme", "--data-dir", str(tmp_path))
    assert code == 0 and "acme-1" in out and "acme-3" in out and "baseline" in out
    code, out, _ = run("history", "acme", "--data-dir", str(tmp_path), "--json")
    import json

    rows = json.loads(out)
    assert [r["scan_id"] for r in rows] == ["acme-1", "acme-2", "acme-3"]
    assert [r["failing_checks"] for r in rows] == [1, 2, 0]
    code, out, _ = run("diff", "acme", "--data-dir", str(tmp_path), "--scan", "acme-2")
    assert code == 0 and "new failures (1)" in out and "  a [high] pass -> fail" in out and "y (id-y)" in out
    code, out, _ = run("diff", "acme", "--data-dir", str(tmp_path), "--against", "previous", "--json")
    data = json.loads(out)
    assert [c["check_id"] for c in data["resolved"]] == ["a", "b"] and data["worse"] is False
    assert data["before"]["scan_id"] == "acme-2" and data["after"]["scan_id"] == "acme-3"
    code, out, _ = run("diff", "acme", "--data-dir", str(tmp_path), "--against", "acme-3")
    assert code == 0 and "nothing new" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "nobody"], "no scans of organisation 'nobody'"),
        (["diff", "nobody"], "no scans of organisation 'nobody'"),
        (["diff", "acme", "--against", "acme-99"], "no scan 'acme-99'"),
        (["diff", "acme", "--scan", "other-1"], "no scan 'other-1' of organisation 'acme'"),
        (["diff", "other", "--against", "previous"], "no previous scan"),
        (["baseline", "set", "acme", "nope"], "no scan 'nope'"),
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    seed(tmp_path)
    code, _, err = run(*args, "--data-dir", str(tmp_path))
    assert code == 2 and message in err and err.strip().count("\n") == 0, err


def test_cli_without_history_does_not_create_one(tmp_path: Path) -> None:
    code, _, err = run("history", "acme", "--data-dir", str(tmp_path / "empty"))
    assert code == 2 and "no scan history at" in err
    assert not (tmp_path / "empty").exists()


# -- end to end -----------------------------------------------------------------------------------------------


def test_two_demo_scans_show_nothing_new(tmp_path: Path) -> None:
    from hygiene.demo import run_demo

    first = run_demo(tmp_path / "one", with_aws=False)
    second = run_demo(tmp_path / "one", with_aws=False)
    code, out, _ = run("history", "northwind", "--data-dir", str(tmp_path / "one"), "--json")
    import json

    rows = json.loads(out)
    assert [r["scan_id"] for r in rows] == [first.report.scan_id, second.report.scan_id]
    assert rows[0]["baseline"] and not rows[1]["baseline"]
    code, out, _ = run("diff", "northwind", "--data-dir", str(tmp_path / "one"), "--json")
    data = json.loads(out)
    assert code == 0 and data["worse"] is False
    assert data["new_failures"] == data["new_resources"] == data["regressed"] == data["expired_exceptions"] == []
    assert data["unchanged"], "the demo organisation has planted failures"
    with HistoryStore(history_url(tmp_path / "one")) as store:
        files = {f.format for f in store.load(second.report.scan_id).files}
    assert {"json", "html", "csv", "md", "snapshot"} <= files


def test_diff_output_shows_hostile_resource_names_inert(tmp_path: Path) -> None:
    """`hygiene diff` prints vendor names: no escape sequence, bidi override or line break reaches the terminal."""
    hostile = "Mallory\x1b[2J\u202egpj.exe\nforged line"
    with HistoryStore(history_url(tmp_path)) as store:
        store.record(report("acme-1", [result("a", "pass")]))
        store.record(report("acme-2", [result("a", "fail", hostile)], at=T0 + timedelta(days=1)))
    outcome = CliRunner().invoke(main, ["diff", "acme", "--against", "previous", "--data-dir", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "\x1b" not in outcome.stdout and "\u202e" not in outcome.stdout
    assert "\nforged line" not in outcome.stdout and "Mallory\ufffd[2J\ufffdgpj.exe forged line" in outcome.stdout
