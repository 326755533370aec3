"""The one way hygiene replaces a file: atomically and privately (reports, snapshots and packs name people).

A leaf module (standard library only), so every layer can use it. What ``atomic_writer`` guarantees:

- **never a half-written file**: the bytes go to a temporary file in the same folder, flushed and fsynced, then
  ``os.replace``d over ``path``; a reader sees the previous file or the whole new one, never a part;
- **created 0600 from the start**: the temporary file is owner-only before the first byte is written (whatever
  the umask), and the renamed file keeps that mode, whatever the previous file's mode was;
- **parent created 0700**: a missing folder is created owner-only (missing parents above it get the default
  mode, as ``Path.mkdir(parents=True)`` gives);
- **nothing left on failure**: if anything raises before the replace (the caller's code included), the
  temporary file is removed, the previous file (if any) is untouched, and the exception propagates.

Files that must be created once and never replaced (evidence keys: ``O_EXCL``), appended to (logs) or are
databases (the history) are not written here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: owner read/write only
FILE_MODE = 0o600
#: a folder created here is owner-only too
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) if missing; the folder created is owner-only (0700)."""
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; it replaces ``path`` when the block ends without error.

    See the module docstring for the guarantees (atomic replace, 0600 from creation, 0700 parent, clean-up).
    """
    private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)  # mkstemp's 0600 is reduced by the umask; this is exactly 0600
        else:  # pragma: no cover - not POSIX
            os.chmod(tmp, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through ``atomic_writer`` (atomic, 0600, 0700 parent, nothing left on failure)."""
    with atomic_writer(path) as handle:
        handle.write(data)
