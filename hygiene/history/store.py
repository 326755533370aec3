"""The history store: SQLite (WAL, busy timeout, files 0600 in a 0700 folder) by default, PostgreSQL by URL.

One scan is written in one transaction: a process killed mid-write leaves either the whole scan or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from hygiene.atomic import private_dir
from hygiene.errors import did_you_mean
from hygiene.history.errors import HistoryError
from hygiene.history.models import (
    ScanSummary,
    StoredFile,
    StoredFinding,
    StoredResult,
    StoredScan,
    stored_results,
    summary_of,
)
from hygiene.history.schema import SCHEMA_VERSION, check_results, findings, migrate, report_files, scans
from hygiene.paths import default_data_dir
from hygiene.results import ScanReport

DATABASE_URL_ENV = "HYGIENE_DATABASE_URL"
HISTORY_FILE = "history.sqlite3"
BUSY_TIMEOUT_S = 30
#: how long to wait for a PostgreSQL server to answer before the history is an error (a URL's own wins)
CONNECT_TIMEOUT_S = 10
#: the SQLAlchemy driver for the URLs users write: psycopg 3 (psycopg2, SQLAlchemy's default, is not a dependency)
POSTGRES_SCHEMES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
#: pg_advisory_xact_lock key space of the per-organisation writer locks (schema.MIGRATION_LOCK is the migrator's)
ORGANISATION_LOCK_SPACE = 7236002

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)[^@\s]*(?=@)")
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|[^&\s]*)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every password of a URL (``scheme://user:PASSWORD@``) or a connection keyword
    (``password=...``) replaced by ``***``: what the history says in an error or a log line."""
    return _KEYWORD_PASSWORD.sub(r"\g<head>***", _URL_PASSWORD.sub(r"\g<head>***", text))


def one_line(text: str) -> str:
    """A driver's message (psycopg's run over several lines, one per address tried) as one line."""
    return " ".join(text.split())


def database_url(url: str) -> str:
    """The URL as SQLAlchemy opens it: ``postgresql://`` and ``postgres://`` use psycopg 3."""
    scheme, sep, rest = url.strip().partition("://")
    return f"{POSTGRES_SCHEMES[scheme.lower()]}://{rest}" if sep and scheme.lower() in POSTGRES_SCHEMES else url.strip()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def history_url(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--data-dir`` wins, then ``HYGIENE_DATABASE_URL``, then ``history.sqlite3`` in the platform data folder
    (or ``HYGIENE_DATA_DIR``)."""
    if data_dir is not None:
        return sqlite_url(data_dir / HISTORY_FILE)
    env = os.environ if environ is None else environ
    url = env.get(DATABASE_URL_ENV, "").strip()
    return url or sqlite_url(default_data_dir() / HISTORY_FILE)


def agent_history_url(data_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """The agent's history: ``HYGIENE_DATABASE_URL`` when set (a fleet's shared PostgreSQL), else
    ``history.sqlite3`` in its data folder (which it always has: locks, heartbeat and reports live there)."""
    env = os.environ if environ is None else environ
    return env.get(DATABASE_URL_ENV, "").strip() or sqlite_url(data_dir / HISTORY_FILE)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _new_id(key: Any) -> int:
    assert key is not None
    return int(key[0])


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below), pysqlite must not
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    _wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _wal(cursor: Any) -> None:
    """Put the database in WAL mode (kept in the file: only its first connections change it). Switching needs the
    file to itself, and SQLite answers "database is locked" at once, without its busy timeout, when other
    connections hold it: a fleet's first scans all open a new history together (one organisation in four was
    "not scanned" in the fleet benchmark's test). So the switch is retried, within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode is not None and str(mode[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def _sqlite_begin(conn: Connection) -> None:
    # take the write lock up front: no deadlock between two writers that both started by reading
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _prepare_sqlite_file(path: Path, create: bool) -> None:
    if path.exists():
        return
    if not create:
        raise HistoryError(f"no scan history at {path} (scans are recorded there by 'hygiene scan')")
    private_dir(path.parent)
    # an empty database file created 0600 for SQLite to open in place (a database is never replaced whole)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)


class HistoryStore:
    """Open (and migrate) the history at ``url``. ``create=False``: a missing SQLite file is an error."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        try:
            parsed = make_url(database_url(url))
            self.where = redact(make_url(url.strip()).render_as_string(hide_password=True))
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number, an unclosed [IPv6]
            raise HistoryError(
                f"not a database URL: {redact(url)!r} (expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB)"
            ) from None
        self.engine: Engine
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database)
                self.where = str(path)
                _prepare_sqlite_file(path, create)
            self.engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_S}
            try:
                self.engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
            except (ImportError, NoSuchModuleError) as exc:
                raise HistoryError(f"history database {self.where}: driver not installed ({exc})") from None
        with self._errors():
            self.version = migrate(self.engine)

    # -- plumbing -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise HistoryError(f"history database {self.where}: {redact(one_line(str(cause)))}") from None

    @staticmethod
    def _lock_organisation(conn: Connection, organisation_id: str) -> None:
        """Serialise the writers of one organisation until the transaction ends (its baseline flag and scan ids
        are decided by reading first). SQLite: ``BEGIN IMMEDIATE`` already holds the database's write lock."""
        if conn.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(organisation_id.encode()).digest()[:4], "big", signed=True)
            conn.execute(
                text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
                {"space": ORGANISATION_LOCK_SPACE, "key": key},
            )

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------------------
    def record(
        self, report: ScanReport, files: Mapping[str, Path] | None = None, *, baseline: bool | None = None
    ) -> ScanSummary:
        """Store one scan in one transaction. ``baseline=None``: the organisation's first scan becomes its
        baseline. Files are recorded with their SHA-256."""
        stored_files = [
            StoredFile(format=fmt, path=str(Path(path).resolve()), sha256=sha256_file(Path(path)))
            for fmt, path in (files or {}).items()
        ]
        org = report.organisation_id
        with self._errors(), self.engine.begin() as conn:
            self._lock_organisation(conn, org)
            if conn.execute(select(scans.c.id).where(scans.c.scan_id == report.scan_id)).first() is not None:
                raise HistoryError(f"scan {report.scan_id} is already in the history")
            refusal = report.baseline_refusal
            if baseline is None:  # the first full, complete scan becomes the baseline
                has_one = select(scans.c.id).where(scans.c.organisation_id == org, scans.c.baseline).limit(1)
                baseline = refusal is None and not conn.execute(has_one).first()
            elif baseline:
                if refusal is not None:
                    raise HistoryError(f"scan {report.scan_id} cannot be the baseline: {refusal}")
                conn.execute(update(scans).where(scans.c.organisation_id == org).values(baseline=False))
            summary = summary_of(report, baseline=baseline)
            values = summary.model_dump(exclude={"failing_checks"})
            values["unread_platforms"] = ",".join(summary.unread_platforms)
            values["started_at"], values["finished_at"] = _utc(summary.started_at), _utc(summary.finished_at)
            scan_pk = _new_id(conn.execute(insert(scans).values(**values)).inserted_primary_key)
            for result in stored_results(report):  # the text as storable (see models.storable)
                result_pk = _new_id(
                    conn.execute(
                        insert(check_results).values(**result.model_dump(exclude={"findings"}), scan_pk=scan_pk)
                    ).inserted_primary_key
                )
                if result.findings:
                    conn.execute(
                        insert(findings), [{"result_pk": result_pk, **f.model_dump()} for f in result.findings]
                    )
            if stored_files:
                conn.execute(insert(report_files), [{"scan_pk": scan_pk, **f.model_dump()} for f in stored_files])
        return summary

    def set_baseline(self, organisation_id: str, scan_id: str | None = None) -> ScanSummary:
        """Make ``scan_id`` (default: the latest scan) the organisation's only baseline."""
        chosen = self.find(organisation_id, scan_id or "latest")
        if chosen.baseline_refusal is not None:
            raise HistoryError(
                f"scan {chosen.scan_id} cannot be the baseline: {chosen.baseline_refusal}; choose a full, complete "
                f"scan (see 'hygiene history {organisation_id}')"
            )
        with self._errors(), self.engine.begin() as conn:
            self._lock_organisation(conn, organisation_id)
            conn.execute(update(scans).where(scans.c.organisation_id == organisation_id).values(baseline=False))
            conn.execute(update(scans).where(scans.c.scan_id == chosen.scan_id).values(baseline=True))
        return chosen.model_copy(update={"baseline": True})

    # -- reading ------------------------------------------------------------------------------------------
    def organisations(self) -> list[str]:
        with self._errors(), self.engine.begin() as conn:
            query = select(scans.c.organisation_id).distinct()
            # sorted here, by code point: a server's collation (PostgreSQL's en_US, SQLite's binary) never reorders
            return sorted(conn.execute(query).scalars())

    def scans(self, organisation_id: str) -> list[ScanSummary]:
        """The organisation's scans, oldest first; unknown organisation -> HistoryError."""
        failing = (
            select(func.count())
            .select_from(check_results)
            .where(check_results.c.scan_pk == scans.c.id, check_results.c.status == "fail")
            .scalar_subquery()
        )
        query = (
            select(scans, failing.label("failing_checks"))
            .where(scans.c.organisation_id == organisation_id)
            .order_by(scans.c.started_at, scans.c.id)
        )
        with self._errors(), self.engine.begin() as conn:
            rows = conn.execute(query).mappings().all()
        if not rows:
            organisations = self.organisations()
            known = ", ".join(organisations) or "none yet"
            raise HistoryError(
                f"no scans of organisation {organisation_id!r}{did_you_mean(organisation_id, organisations)} in "
                f"{self.where} (known: {known})"
            )
        return [self._summary(row) for row in rows]

    @staticmethod
    def _summary(row: Any) -> ScanSummary:
        data = {k: row[k] for k in ScanSummary.model_fields if k in row}
        data["started_at"], data["finished_at"] = _utc(row["started_at"]), _utc(row["finished_at"])
        data["unread_platforms"] = [p for p in str(row.get("unread_platforms") or "").split(",") if p]
        return ScanSummary(**data)

    def find(self, organisation_id: str, ref: str) -> ScanSummary:
        """``latest``, ``full`` (the latest scan that is not partial: what evidence and framework views describe),
        ``baseline``, ``previous`` (the one before the latest) or a scan id of this organisation."""
        history = self.scans(organisation_id)
        if ref == "latest":
            return history[-1]
        if ref == "full":
            full = [s for s in history if not s.partial]
            if not full:
                raise HistoryError(
                    f"organisation {organisation_id!r} has only partial scans (--checks/--platforms): run a full "
                    "scan, or name a scan id"
                )
            return full[-1]
        if ref == "baseline":
            chosen = [s for s in history if s.baseline]
            if not chosen:
                raise HistoryError(f"organisation {organisation_id!r} has no baseline; see 'hygiene baseline set'")
            return chosen[-1]
        if ref == "previous":
            return self.previous(organisation_id, history[-1].scan_id)
        for summary in history:
            if summary.scan_id == ref:
                return summary
        raise HistoryError(
            f"no scan {ref!r} of organisation {organisation_id!r}"
            f"{did_you_mean(ref, [s.scan_id for s in history])}; see 'hygiene history {organisation_id}'"
        )

    def previous(self, organisation_id: str, scan_id: str) -> ScanSummary:
        history = self.scans(organisation_id)
        ids = [s.scan_id for s in history]
        if scan_id not in ids:
            raise HistoryError(f"no scan {scan_id!r} of organisation {organisation_id!r}{did_you_mean(scan_id, ids)}")
        index = ids.index(scan_id)
        if index == 0:
            raise HistoryError(f"scan {scan_id} is the first scan of {organisation_id!r}: there is no previous scan")
        return history[index - 1]

    def load(self, scan_id: str) -> StoredScan:
        with self._errors(), self.engine.begin() as conn:
            row = conn.execute(select(scans).where(scans.c.scan_id == scan_id)).mappings().first()
            if row is None:
                raise HistoryError(f"no scan {scan_id!r} in {self.where}")
            scan_pk = row["id"]
            failing_count = 0
            results: dict[int, StoredResult] = {}
            for r in conn.execute(
                select(check_results).where(check_results.c.scan_pk == scan_pk).order_by(check_results.c.id)
            ).mappings():
                data = {k: r[k] for k in StoredResult.model_fields if k != "findings"}
                results[r["id"]] = StoredResult(**data)
                failing_count += r["status"] == "fail"
            query = (
                select(findings)
                .join(check_results, findings.c.result_pk == check_results.c.id)
                .where(check_results.c.scan_pk == scan_pk)
                .order_by(findings.c.id)
            )
            for f in conn.execute(query).mappings():
                results[f["result_pk"]].findings.append(StoredFinding(**{k: f[k] for k in StoredFinding.model_fields}))
            files = [
                StoredFile(**{k: f[k] for k in StoredFile.model_fields})
                for f in conn.execute(
                    select(report_files).where(report_files.c.scan_pk == scan_pk).order_by(report_files.c.id)
                ).mappings()
            ]
        summary = self._summary({**row, "failing_checks": failing_count})
        return StoredScan(summary=summary, results=list(results.values()), files=files)


__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "HistoryStore",
    "ScanSummary",
    "agent_history_url",
    "database_url",
    "history_url",
    "redact",
    "sqlite_url",
]
