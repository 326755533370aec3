"""The retry policy the HTTP sources share (Microsoft Graph, the Google APIs): how many attempts, how long to
wait between them, and how a vendor's ``Retry-After`` is read. AWS retries inside botocore (its adaptive mode),
bounded by the same ideas in ``aws/transport.py``."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: the longest ``Retry-After`` honoured; a vendor asking for more gets this (a scan must end)
MAX_RETRY_AFTER_SECONDS = 120.0


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: (connect, read) seconds
    timeout: tuple[float, float] = (10.0, 60.0)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the vendor's ``Retry-After`` when it gave one, else
        exponential backoff with jitter (half to all of ``base_delay * 2**attempt``, capped at ``max_delay``)."""
        if retry_after is not None:
            return retry_after
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(cap / 2, cap)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds, within [0, MAX_RETRY_AFTER_SECONDS]; None when absent or not a number
    (an HTTP date is not honoured: the backoff applies)."""
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None
