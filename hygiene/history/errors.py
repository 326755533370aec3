"""The history's own error, in a module of its own so that the schema and the store can both raise it."""

from __future__ import annotations

from hygiene.errors import HygieneError


class HistoryError(HygieneError):
    """The history database cannot be opened or read, or holds no such organisation or scan."""
