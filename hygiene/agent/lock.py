"""One scan at a time per organisation, across processes: the agent and a manual `hygiene scan` share a lock file."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from hygiene.atomic import private_dir
from hygiene.paths import default_data_dir

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class LockTimeout(TimeoutError):
    pass


def lock_path(data_dir: Path, org_id: str) -> Path:
    return data_dir / "locks" / f"{org_id}.lock"


@contextlib.contextmanager
def organisation_lock(
    data_dir: Path,
    org_id: str,
    timeout: float | None = None,
    on_wait: Callable[[], None] | None = None,
    poll: float = 0.5,
) -> Iterator[None]:
    """Hold the organisation's scan lock; wait for it (up to ``timeout`` seconds, None = for ever).

    The OS releases the lock if the holder dies, so a killed scan never leaves a stale lock behind.
    """
    path = lock_path(data_dir, org_id)
    private_dir(data_dir)  # the data folder holds the history: owner-only
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # a lock file, opened in place: never replaced
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        waited = False
        while not _try_lock(fd):
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if deadline is not None and time.monotonic() >= deadline:
                raise LockTimeout(f"another scan of {org_id} is running (lock {path})")
            time.sleep(poll)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def scan_lock(
    org_id: str, data_dir: Path | None = None, on_wait: Callable[[], None] | None = None
) -> contextlib.AbstractContextManager[None]:
    """The lock every scan of ``org_id`` holds, whoever starts it (the agent or ``hygiene scan``), kept in
    ``data_dir`` (default: the platform data folder); waits for the running scan for as long as it takes."""
    return organisation_lock(data_dir or default_data_dir(), org_id, on_wait=on_wait)
