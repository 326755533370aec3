"""HTTP replies shared by the fake identity platform and the fake Graph."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
#: what Graph sends for OData JSON
ODATA_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_reply(
    status: int, payload: Any, *, content_type: str = JSON_TYPE, headers: dict[str, str] | None = None
) -> Reply:
    try:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (hostile names): JSON carries it as a \ud800 escape
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")
    merged = {"Content-Type": content_type}
    if headers:
        merged.update(headers)
    return Reply(status, body, merged)


def new_request_id() -> str:
    return str(uuid.uuid4())


def graph_error_body(code: str, message: str, request_id: str, client_request_id: str | None) -> dict[str, Any]:
    """Graph's error envelope (https://learn.microsoft.com/graph/errors)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }
