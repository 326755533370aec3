"""Errors the CLI turns into exit codes and one-line messages (never a traceback)."""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Callable, Iterable, Sequence
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


def show_key(key: object) -> str:
    """A key as the user typed it, quoted only when it would not read as one plain word (spaces, newlines...)."""
    text = str(key)
    return text if text and text.isprintable() and " " not in text else repr(text)


UNKNOWN_KEY_HINT = " (check the spelling; see docs/configuration.md)"


def format_validation_errors(errors: Sequence[Any], hint: str = UNKNOWN_KEY_HINT) -> str:
    """Render pydantic errors as ``key.path: what is expected``, one per problem, joined by "; "."""
    parts = []
    for err in errors:
        loc = ".".join(show_key(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        kind = err.get("type", "")
        if kind == "missing":
            msg = "required key is missing"
        elif kind == "extra_forbidden":
            msg = "unknown key" + hint
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` naming the nearest of ``known`` to a mistyped ``value``, or ``""`` when none is
    near: appended to the one line that refuses an unknown id, profile, framework or organisation."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def one_line(text: str) -> str:
    """``text`` on one line: a file name or a value quoted in a message must not break the one-line promise."""
    return " ".join(text.split())


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For CLI commands: a HygieneError becomes one line on stderr and its exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HygieneError as exc:
            print(f"error: {one_line(str(exc))}", file=sys.stderr)
            sys.exit(exc.exit_code)

    return wrapper
