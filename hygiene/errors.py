"""Errors the CLI turns into exit codes and one-line messages (never a traceback)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class HygieneError(Exception):
    """Base class: a problem the user can fix, reported in one line."""

    exit_code = 2


class InputError(HygieneError):
    """Bad input: a config, profile, exceptions file or snapshot that does not validate."""

    def __init__(self, path: Path | str | None, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


def format_validation_errors(errors: Sequence[Any]) -> str:
    """Render pydantic errors as ``key.path: what is expected`` lines, one per problem."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        kind = err.get("type", "")
        if kind == "missing":
            msg = "required key is missing"
        elif kind == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/configuration.md)"
        parts.append(f"{loc or '(top level)'}: {msg}")
    return "; ".join(parts)
