"""Atomic, private file writes: reports name people, so nobody but the owner may read them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: owner read/write only: reports contain personal data (user names, device owners)
REPORT_FILE_MODE = 0o600
#: a report directory this module creates is private too
REPORT_DIR_MODE = 0o700


def ensure_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a directory created here is owner-only."""
    if not path.is_dir():
        path.mkdir(mode=REPORT_DIR_MODE, parents=True, exist_ok=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and ``os.replace``.

    A reader never sees a half-written file, and a failure leaves the previous file (if any) intact.
    The result has mode 0600 whatever the umask or the previous file's mode.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, REPORT_FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.chmod(path, REPORT_FILE_MODE)
