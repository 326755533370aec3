"""Saving and loading the normalised snapshot (``snapshot.json.gz``)."""

from __future__ import annotations

import gzip
import json
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError

from hygiene.atomic import atomic_writer
from hygiene.errors import InputError, format_validation_errors
from hygiene.model import SNAPSHOT_SCHEMA_VERSION, Snapshot
from hygiene.perf import gc_paused

MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024  # uncompressed
GZIP_MAGIC = b"\x1f\x8b"


_LIST_CHUNK = 1000


def _json_pieces(value: Any) -> Iterator[bytes]:
    """``value`` as compact JSON, identical to pydantic's, model by model and long lists a chunk at a time."""
    if isinstance(value, BaseModel):
        yield b"{"
        for index, name in enumerate(type(value).model_fields):
            yield (b"," if index else b"") + json.dumps(name).encode() + b":"
            yield from _json_pieces(getattr(value, name))
        yield b"}"
    elif isinstance(value, list) and len(value) > _LIST_CHUNK:
        yield b"["
        for start in range(0, len(value), _LIST_CHUNK):
            yield (b"," if start else b"") + pydantic_core.to_json(value[start : start + _LIST_CHUNK])[1:-1]
        yield b"]"
    else:
        yield pydantic_core.to_json(value)


def save_snapshot(snapshot: Snapshot, path: Path) -> None:
    # streamed in pieces (the same bytes as model_dump_json, without ever holding all of them: that would add
    # ~80 MB at 50,000 users), compressed at zlib's default level: level 9 takes twice as long for a file 4%
    # smaller (docs/benchmarks.md)
    with atomic_writer(path) as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as fh:
        for piece in _json_pieces(snapshot):
            fh.write(piece)


def read_snapshot_json(path: Path) -> dict[str, Any]:
    """A saved snapshot's JSON object, not validated (gzip-compressed or plain JSON, whatever the name says), read
    within :data:`MAX_SNAPSHOT_BYTES` uncompressed: the one reader of snapshot files. Bad input: one-line
    InputError."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(path, "snapshot file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read snapshot ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "snapshot is not a regular file")
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == GZIP_MAGIC
            handle.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=handle, mode="rb") as fh:
                    data = fh.read(MAX_SNAPSHOT_BYTES + 1)
            else:
                data = handle.read(MAX_SNAPSHOT_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(path, f"cannot read snapshot: damaged gzip data ({detail})") from None
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise InputError(path, f"snapshot is larger than the limit of {MAX_SNAPSHOT_BYTES} bytes (uncompressed)")
    try:
        with gc_paused():  # a million fresh objects: 3x faster without the cyclic collector
            raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a JSON snapshot ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise InputError(path, "not a hygiene snapshot (JSON nested too deeply)") from None
    if not isinstance(raw, dict):
        raise InputError(path, "not a hygiene snapshot (expected a JSON object)")
    return raw


def load_snapshot(path: Path) -> Snapshot:
    """A saved snapshot (see :func:`read_snapshot_json`), validated. Bad input: one-line InputError."""
    raw = read_snapshot_json(path)
    version = raw.get("schema_version")
    if version != SNAPSHOT_SCHEMA_VERSION:
        raise InputError(
            path, f"snapshot schema version {version!r:.40} is not supported (expected {SNAPSHOT_SCHEMA_VERSION})"
        )
    try:
        with gc_paused():
            return Snapshot.model_validate(raw)
    except ValidationError as exc:
        raise InputError(path, format_validation_errors(exc.errors()[:5], hint="")) from None
    except RecursionError:
        raise InputError(path, "not a hygiene snapshot (JSON nested too deeply)") from None
