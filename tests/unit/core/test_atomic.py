"""hygiene.atomic: the one atomic, private writer (reports, snapshots, packs, notifications, the heartbeat)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hygiene.atomic import atomic_write, atomic_writer


@pytest.fixture(params=[0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_is_0600_from_creation_and_parent_0700(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "new" / "report.json"
    with atomic_writer(target) as handle:
        (tmp,) = [p for p in target.parent.iterdir()]  # only the temporary file so far, before any byte
        assert tmp != target and tmp.name.endswith(".tmp")
        assert mode(tmp) == 0o600
        assert not target.exists()
        handle.write(b"{}")
    assert target.read_bytes() == b"{}"
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700 & ~umask  # never more than owner-only (mkdir honours the umask)
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_replacing_a_readable_file_makes_it_private(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    target.chmod(0o644)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600


def test_an_exception_mid_write_leaves_the_previous_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.json.gz"
    atomic_write(target, b"previous content")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_writer(target) as handle:
        handle.write(b"half of the new ")
        handle.flush()
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json.gz"]


def test_an_exception_before_the_first_write_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "pack.zip"
    with pytest.raises(KeyboardInterrupt), atomic_writer(target):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
