"""Saving and loading the normalised snapshot (``snapshot.json.gz``)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from pydantic import ValidationError

from hygiene.errors import InputError, format_validation_errors
from hygiene.model import SNAPSHOT_SCHEMA_VERSION, Snapshot

MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024  # uncompressed


def save_snapshot(snapshot: Snapshot, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(snapshot.model_dump_json().encode("utf-8"))
    os.replace(tmp, path)


def load_snapshot(path: Path) -> Snapshot:
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
            data = fh.read(MAX_SNAPSHOT_BYTES + 1)
    except FileNotFoundError:
        raise InputError(path, "snapshot file not found") from None
    except (OSError, EOFError) as exc:
        raise InputError(path, f"cannot read snapshot ({exc})") from None
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise InputError(path, "snapshot is larger than the 512 MiB limit")
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a JSON snapshot ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(path, "not a hygiene snapshot (expected a JSON object)")
    version = raw.get("schema_version")
    if version != SNAPSHOT_SCHEMA_VERSION:
        raise InputError(
            path, f"snapshot schema version {version!r} is not supported (expected {SNAPSHOT_SCHEMA_VERSION})"
        )
    try:
        return Snapshot.model_validate(raw)
    except ValidationError as exc:
        raise InputError(path, format_validation_errors(exc.errors()[:5])) from None
