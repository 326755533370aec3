"""The agent's heartbeat file: per organisation the last run, its status, and the next run."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from hygiene.atomic import atomic_write


class OrgBeat(BaseModel):
    last_run: datetime | None = None
    last_status: str | None = None  # ok / failures / incomplete / error
    last_scan_id: str | None = None
    last_error: str | None = None
    next_run: datetime | None = None


class Heartbeat(BaseModel):
    pid: int
    started_at: datetime
    updated_at: datetime
    state: str = "running"  # running / stopped
    organisations: dict[str, OrgBeat] = Field(default_factory=dict)


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / "agent" / "heartbeat.json"


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    beat.updated_at = datetime.now(UTC)
    atomic_write(path, beat.model_dump_json(indent=2).encode("utf-8"))


def read_heartbeat(path: Path) -> Heartbeat | None:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        return Heartbeat.model_validate(raw)
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def agent_running(beat: Heartbeat) -> bool:
    """The heartbeat says running and its process is still there (a killed agent leaves ``running`` behind)."""
    return beat.state == "running" and pid_alive(beat.pid)
