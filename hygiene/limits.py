"""How many scans run at once, and how many of them may use one vendor credential at the same time.

Scans are I/O-bound (a small organisation waits on the vendor for most of its critical path), so a process runs
many at once: :func:`default_concurrency`. Vendors throttle per credential (Microsoft Graph per app registration,
Google per service account's project, AWS per account), so organisations that share one credential (an MSP's
multi-tenant app) also share one :class:`SharedLimits` slot count, wherever their scans run in the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping

CONCURRENCY_ENV = "HYGIENE_CONCURRENCY"
#: concurrent platform reads through one credential (one app registration, service account or AWS account)
DEFAULT_PER_CREDENTIAL = 8
MAX_CONCURRENCY = 256


def default_concurrency(environ: Mapping[str, str] | None = None) -> int:
    """``HYGIENE_CONCURRENCY`` when set (a whole number from 1 to 256), else min(32, 4 per CPU): scans mostly
    wait on the vendors, so a few per core keep a machine busy without queueing on the CPU."""
    env = os.environ if environ is None else environ
    value = env.get(CONCURRENCY_ENV, "").strip()
    if value:
        if not value.isdigit() or not 1 <= int(value) <= MAX_CONCURRENCY:
            raise ValueError(f"{CONCURRENCY_ENV}={value!r}: give a whole number from 1 to {MAX_CONCURRENCY}")
        return int(value)
    return min(32, (os.cpu_count() or 1) * 4)


class SharedLimits:
    """At most ``per_key`` holders of each key at once (one bounded semaphore per key, made when first asked for);
    thread-safe. ``waits`` counts the holds that had to wait (for the logs and the tests)."""

    def __init__(self, per_key: int = DEFAULT_PER_CREDENTIAL) -> None:
        if per_key < 1:
            raise ValueError("per_key must be at least 1")
        self.per_key = per_key
        self.waits = 0
        self._slots: dict[tuple[str, ...], threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def _slot(self, key: tuple[str, ...]) -> threading.BoundedSemaphore:
        with self._lock:
            return self._slots.setdefault(key, threading.BoundedSemaphore(self.per_key))

    @contextlib.contextmanager
    def hold(self, key: tuple[str, ...]) -> Iterator[None]:
        slot = self._slot(key)
        if not slot.acquire(blocking=False):
            with self._lock:
                self.waits += 1
            slot.acquire()
        try:
            yield
        finally:
            slot.release()
