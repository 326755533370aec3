"""The history tables and their versioned migrations (a tiny built-in runner, no Alembic).

Each migration is a function of a connection; the runner applies the ones above the stored version in order,
each in its own transaction that also bumps ``schema_version``, so a migration is applied entirely or not at
all. New migrations are appended to ``MIGRATIONS``; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    inspect,
    select,
    text,
)

from hygiene.history.errors import HistoryError

#: pg_advisory_xact_lock key of the migrator (the store's per-organisation locks use another key space)
MIGRATION_LOCK = 7236001

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organisation_id", String(200), nullable=False, index=True),
    Column("organisation_name", Text, nullable=False),
    Column("scan_id", String(300), nullable=False, unique=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("profile", Text, nullable=False),
    Column("operator", Text, nullable=False),
    Column("tool_version", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("grade", String(8), nullable=False),
    Column("coverage", Float, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("baseline", Boolean, nullable=False, default=False),
    # schema version 2: a partial scan (--checks/--platforms) and the platforms a scan could not read at all
    Column("partial", Boolean, nullable=False, default=False, server_default=false()),
    Column("unread_platforms", Text, nullable=False, default="", server_default=""),
)

check_results = Table(
    "check_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_pk", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("check_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("area", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("assessed", Integer, nullable=False),
    Column("failing", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("reason", Text, nullable=True),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("result_pk", Integer, ForeignKey("check_results.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("resource_id", Text, nullable=False),
    Column("resource_name", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("accepted_by", Text, nullable=True),
)

report_files = Table(
    "report_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_pk", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("format", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
)

V1_TABLES = [scans, check_results, findings, report_files]


def _v1_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=V1_TABLES)


def _v2_scan_scope(conn: Connection) -> None:
    """``scans.partial`` and ``scans.unread_platforms`` (comma-separated): a partial or incomplete scan is never a
    baseline. A database created by this version already has them (``_v1_initial`` creates the current tables)."""
    present = {c["name"] for c in inspect(conn).get_columns("scans")}
    if "partial" not in present:
        conn.execute(text("ALTER TABLE scans ADD COLUMN partial BOOLEAN NOT NULL DEFAULT FALSE"))
    if "unread_platforms" not in present:
        conn.execute(text("ALTER TABLE scans ADD COLUMN unread_platforms TEXT NOT NULL DEFAULT ''"))


#: schema version 3: the columns of free text (names, the operator, check ids, exception ids) without a length
#: limit; PostgreSQL enforces VARCHAR(n), SQLite never did: a long organisation name recorded on one backend only
V3_UNBOUNDED = {
    "scans": ("organisation_name", "profile", "operator", "tool_version"),
    "check_results": ("check_id", "area", "platform"),
    "findings": ("accepted_by",),
    "report_files": ("format",),
}


def _v3_unbounded_text(conn: Connection) -> None:
    """SQLite has no length limits to lift (and cannot alter a column's type); a database created by this version
    already has TEXT columns (``_v1_initial``), for which the ALTER changes nothing."""
    if conn.dialect.name != "postgresql":
        return
    for table, columns in V3_UNBOUNDED.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE TEXT" for column in columns)
        conn.execute(text(f"ALTER TABLE {table} {changes}"))


#: migration n+1 is MIGRATIONS[n]; SCHEMA_VERSION is the version a fully migrated database has
MIGRATIONS: list[Callable[[Connection], None]] = [_v1_initial, _v2_scan_scope, _v3_unbounded_text]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    metadata.create_all(conn, tables=[schema_version])
    value = conn.execute(select(schema_version.c.version)).scalar()
    return int(value) if value is not None else 0


def migrate(engine: Engine) -> int:
    """Apply the pending migrations, one transaction each; returns the version the database is at."""
    while True:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # serialise concurrent migrators (SQLite: BEGIN IMMEDIATE)
                conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            version = current_version(conn)
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"the history database is at schema version {version}, newer than this hygiene "
                    f"understands ({SCHEMA_VERSION}); upgrade hygiene"
                )
            if version == SCHEMA_VERSION:
                return version
            MIGRATIONS[version](conn)
            if version == 0:
                conn.execute(schema_version.delete())
                conn.execute(schema_version.insert().values(version=1))
            else:
                conn.execute(schema_version.update().values(version=version + 1))
