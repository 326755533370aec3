"""Safe YAML reading for user-supplied files: size-limited, no aliases (no billion-laughs), clear errors."""

from __future__ import annotations

import stat
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


def read_bytes_limited(path: Path, limit: int, what: str = "file") -> bytes:
    """A user-supplied file's bytes, refused when it is not a regular file (a FIFO, a device such as /dev/zero,
    a folder) or larger than ``limit`` bytes; at most ``limit + 1`` bytes are ever read. One-line errors."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, f"{what} is not a regular file")
    if info.st_size > limit:
        raise InputError(path, f"{what} is {info.st_size} bytes; the limit is {limit}")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(path, f"{what} is larger than the limit of {limit} bytes")
    return data


def read_text_limited(path: Path, limit: int, what: str = "file") -> str:
    """A user-supplied text file, refused when larger than ``limit`` bytes or not UTF-8: one-line errors."""
    data = read_bytes_limited(path, limit, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"not UTF-8 text (invalid byte at offset {exc.start}: save the {what} as UTF-8)"
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        raise InputError(path, f"not UTF-8 text (NUL byte at offset {offset}: UTF-16? save the {what} as UTF-8)")
    return text.removeprefix("\ufeff")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load_yaml_file(path: Path, what: str = "file") -> Any:
    text = read_text_limited(path, MAX_YAML_BYTES, what)
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(path, f"invalid YAML{where}: {_one_line(problem)}") from None
    except RecursionError:
        raise InputError(path, "invalid YAML: nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # the SafeLoader's constructors raise these for values that look typed but are not, e.g. 2026-02-30
        raise InputError(path, f"invalid YAML value: {_one_line(str(exc))}") from None
