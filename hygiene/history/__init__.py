"""Scan history: every scan's score, results and findings in a small database (SQLite by default, PostgreSQL
by URL), so that ``hygiene history`` and ``hygiene diff`` can show what changed between scans."""

from __future__ import annotations

from hygiene.history.store import (
    DATABASE_URL_ENV,
    HistoryError,
    HistoryStore,
    ScanSummary,
    history_url,
    sqlite_url,
)

__all__ = ["DATABASE_URL_ENV", "HistoryError", "HistoryStore", "ScanSummary", "history_url", "sqlite_url"]
