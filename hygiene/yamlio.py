"""Safe YAML reading for user-supplied files: size-limited, no aliases (no billion-laughs), clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hygiene.errors import InputError

MAX_YAML_BYTES = 2 * 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def read_text_limited(path: Path, limit: int, what: str = "file") -> str:
    """A user-supplied text file, refused when larger than ``limit`` bytes or not UTF-8: one-line errors."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror})") from None
    if size > limit:
        raise InputError(path, f"{what} is {size} bytes; the limit is {limit}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror})") from None


def load_yaml_file(path: Path) -> Any:
    text = read_text_limited(path, MAX_YAML_BYTES)
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(path, f"invalid YAML{where}: {problem}") from None
