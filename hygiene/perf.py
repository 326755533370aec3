"""Performance helpers shared by the snapshot, the engine and the sources (see docs/benchmarks.md)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are built at once.

    A snapshot of 50,000 users is about a million objects (JSON values, then models); each allocation burst
    triggers collections that traverse the young objects again and again, which triples the time to load or
    build it. Reference counting still frees everything meanwhile; the collector is switched back on afterwards
    (and left alone if something else had switched it off). Nested or concurrent pauses are harmless.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
