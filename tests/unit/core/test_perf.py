"""The performance changes keep behaviour identical: the streamed snapshot is byte for byte pydantic's JSON, the
memoised lookups answer as the originals, the group-membership cache follows changes, the GC pause is undone.
(Timings are measured by benchmarks/run.py, never asserted here.)"""

from __future__ import annotations

import gc
import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hygiene.checklib.m365 import _in_groups
from hygiene.errors import InputError
from hygiene.model import (
    AwsAccessKey,
    AwsAccount,
    AwsCredentialUser,
    AwsData,
    DatasetState,
    GoogleData,
    GoogleUser,
    M365Data,
    M365Device,
    M365User,
    OrganisationRef,
    Snapshot,
    SourceRun,
)
from hygiene.perf import gc_paused
from hygiene.policy import lifecycle_lookup, load_lifecycle, parse_version, version_key
from hygiene.snapshot_io import load_snapshot, save_snapshot

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _snapshot(n: int) -> Snapshot:
    users = [
        M365User(
            id=f"u{i}",
            upn=f"user{i}@example.test",
            display_name='Zoë "quoted" \\ name' if i == 7 else f"User {i}",
            enabled=i % 5 != 0,
            created=NOW - timedelta(days=i),
            assigned_sku_ids=["sku"] if i % 2 else [],
            last_successful_sign_in=None if i % 3 else NOW,
        )
        for i in range(n)
    ]
    devices = [
        M365Device(
            id=f"d{i}",
            name=f"DEV-{i}",
            operating_system="Windows",
            os_version="10.0.26200.7171",
            compliance_state="compliant",
        )
        for i in range(n // 2)
    ]
    run = SourceRun(
        platform="m365",
        status="ok",
        started_at=NOW,
        finished_at=NOW,
        datasets={"m365.users": DatasetState(available=True, records=n)},
    )
    return Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="o", name="Org"),
        collected_at=NOW,
        sources={"m365": run},
        m365=M365Data(tenant_id="t", users=users, devices=devices, group_members={"g": ["u1", "u2"]}),
        google=GoogleData(customer_id="C0", users=[GoogleUser(id="g1", email="a@b.test", last_login=NOW)]),
        aws=AwsData(
            accounts=[
                AwsAccount(
                    account_id="111122223333",
                    users=[
                        AwsCredentialUser(
                            user="alice",
                            arn="arn:aws:iam::111122223333:user/alice",
                            access_keys=[AwsAccessKey(slot=1, active=True, last_rotated=NOW)],
                        )
                    ],
                )
            ]
        ),
    )


def test_streamed_snapshot_is_pydantics_json_and_round_trips(tmp_path: Path) -> None:
    snapshot = _snapshot(2500)  # lists longer than one streamed chunk
    path = tmp_path / "snapshot.json.gz"
    save_snapshot(snapshot, path)
    assert gzip.decompress(path.read_bytes()) == snapshot.model_dump_json().encode("utf-8")
    assert load_snapshot(path) == snapshot


def test_records_reject_unknown_fields_and_keep_defaults() -> None:
    user = M365User(id="u", upn="u@x.test", enabled=True)
    assert user.assigned_sku_ids == [] and user.user_type == "Member"
    try:
        M365User(id="u", upn="u@x.test", enabled=True, colour="red")  # type: ignore[call-arg]
    except ValueError as exc:
        assert "colour" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unknown field was accepted")


def test_memoised_lookups_answer_like_the_originals() -> None:
    lifecycle = load_lifecycle()
    lookup = lifecycle_lookup(lifecycle)
    for platform, version in [
        ("windows", "10.0.19045.6456"),
        ("windows", "10.0.26200.7171"),
        ("android", "12"),
        ("ios", "26.1"),
        ("macos", "junk"),
        ("windows", "10.0.19045.6456"),
    ]:
        assert lookup(platform, version) == lifecycle.lookup(platform, version)
    for text in ("10.0.22631.4460", "14", "1.2-beta", ""):
        assert version_key(text) == parse_version(text)


def test_group_membership_cache_follows_changes() -> None:
    data = M365Data(tenant_id="t", group_members={"big": [f"u{i}" for i in range(100)]})
    assert _in_groups("u5", ["big"], data)
    assert not _in_groups("new", ["big"], data)
    data.group_members["big"].append("new")
    assert _in_groups("new", ["big"], data)
    data.group_members["big"] = ["other"]
    assert not _in_groups("u5", ["big"], data) and _in_groups("other", ["big"], data)


def test_gc_pause_is_undone_and_nests() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_the_lifecycle_file_is_parsed_once_and_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet's scans share the parsed table; an edited file (a new end-of-support date) is read again."""
    import hygiene.policy
    from hygiene.paths import policies_dir

    parsed: list[Path] = []
    original = hygiene.policy.load_yaml_file  # type: ignore[attr-defined]

    def counting(path: Path) -> object:
        parsed.append(path)
        return original(path)

    monkeypatch.setattr(hygiene.policy, "load_yaml_file", counting)
    path = tmp_path / "os.yaml"
    text = (policies_dir() / "lifecycle" / "os.yaml").read_text()
    path.write_text(text)
    first, again = load_lifecycle(path), load_lifecycle(path)
    assert first == again and first is not again  # a fresh model each call
    assert parsed == [path]
    first.entries.clear()
    assert load_lifecycle(path).entries  # what a caller does to its copy stays its own
    path.write_text(text.replace("as_of:", "as_of: 2031-01-01\nold_as_of:", 1))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(InputError, match="old_as_of"):  # the edit is seen (and validated)
        load_lifecycle(path)
