"""Finds checks: the built-in pack, extra folders, and installed packages (entry point group ``hygiene.checks``).

A check module is a Python file whose functions carry :func:`hygiene.checkapi.check` metadata. Folders are
loaded file by file (files starting with ``_`` are helpers and are skipped); an entry point names a module.
Framework mappings from ``policies/frameworks/mappings.yaml`` are merged into each check's metadata.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import structlog

from hygiene.checkapi import Check, check_meta_of
from hygiene.errors import InputError
from hygiene.frameworks import MAPPINGS_FILE, frameworks_dir, load_mappings
from hygiene.paths import builtin_checks_dir

log = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "hygiene.checks"


#: check modules are loaded once per process; concurrent scans (a fleet's threads) load them under this lock, so
#: that none sees a module another thread has registered in sys.modules but not finished executing
_LOADING = threading.Lock()


def _load_file(path: Path) -> ModuleType:
    with _LOADING:
        return _load_file_unlocked(path)


def _load_file_unlocked(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
    name = f"hygiene_checkpack_{digest}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InputError(path, "cannot load check module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a broken plugin is the user's input: one line, no traceback
        del sys.modules[name]
        raise InputError(path, f"check module failed to load: {type(exc).__name__}: {exc}") from None
    return module


def _checks_in(module: ModuleType, origin: str) -> Iterator[Check]:
    for value in vars(module).values():
        meta = check_meta_of(value)
        if meta is not None and callable(value):
            yield Check(meta=meta, run=value, origin=origin)


def _folder_checks(folder: Path, origin: str) -> Iterator[Check]:
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        yield from _checks_in(_load_file(path), origin)


def _entry_point_checks() -> Iterator[Check]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = importlib.import_module(ep.value.split(":", 1)[0])
        except Exception as exc:
            raise InputError(None, f"entry point {ep.name} ({ep.value}) failed to load: {exc}") from None
        yield from _checks_in(module, f"entry point {ep.name}")


Mappings = dict[str, dict[str, tuple[str, ...]]]
#: the parsed mappings file, keyed by its path, size and modification time: every scan of a fleet (and of the
#: agent) loads the registry, and parsing the file was a third of a small organisation's CPU
_mappings_cache: dict[tuple[str, int, int], Mappings] = {}


def load_framework_mappings() -> Mappings:
    """check id -> framework -> control ids from ``policies/frameworks/mappings.yaml`` (structure validated;
    control ids and coverage are validated by :func:`hygiene.frameworks.validate`); parsed once per version of the
    file, a fresh copy each call."""
    folder = frameworks_dir()
    file = folder / MAPPINGS_FILE
    try:
        stat = file.stat()
    except FileNotFoundError:
        return {}
    key = (str(file), stat.st_size, stat.st_mtime_ns)
    with _LOADING:
        cached = _mappings_cache.get(key)
        if cached is None:
            checks = load_mappings(folder).checks
            cached = {check_id: {k: tuple(v) for k, v in fw.items()} for check_id, fw in checks.items()}
            _mappings_cache.clear()
            _mappings_cache[key] = cached
    return {check_id: dict(frameworks) for check_id, frameworks in cached.items()}


class Registry:
    def __init__(self, checks: Iterable[Check]) -> None:
        self._checks: dict[str, Check] = {}
        for item in checks:
            existing = self._checks.get(item.meta.id)
            if existing is not None:
                raise InputError(
                    None,
                    f"check id {item.meta.id} is defined twice ({existing.origin} and {item.origin})",
                )
            self._checks[item.meta.id] = item

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = (), *, entry_points_too: bool = True) -> Registry:
        found: list[Check] = list(_folder_checks(builtin_checks_dir(), "builtin"))
        for folder in extra_dirs:
            if not folder.is_dir():
                raise InputError(folder, "check folder not found")
            found.extend(_folder_checks(folder, str(folder)))
        if entry_points_too:
            found.extend(_entry_point_checks())
        mappings = load_framework_mappings()
        merged = []
        for item in found:
            extra = mappings.get(item.meta.id)
            if extra:
                frameworks = {**extra, **item.meta.frameworks}
                item = replace(item, meta=replace(item.meta, frameworks=frameworks))
            merged.append(item)
        return cls(merged)

    def __iter__(self) -> Iterator[Check]:
        return iter(sorted(self._checks.values(), key=lambda c: c.meta.id))

    def __len__(self) -> int:
        return len(self._checks)

    def get(self, check_id: str) -> Check | None:
        return self._checks.get(check_id)

    def ids(self) -> list[str]:
        return sorted(self._checks)

    def framework_view(self) -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, str]]:
        """check id -> framework -> control ids, and check id -> platform: what :func:`hygiene.frameworks.assess`
        is fed."""
        return {c.meta.id: dict(c.meta.frameworks) for c in self}, {c.meta.id: c.meta.platform for c in self}


def checks_markdown(items: Iterable[Check]) -> str:
    """The check reference as Markdown; docs/checks.md is generated with `hygiene checks list --markdown`."""
    lines = [
        "# Checks",
        "",
        "Generated by `hygiene checks list --markdown`; a test keeps this file in step with the code.",
        "",
        "| id | severity | area | title |",
        "|---|---|---|---|",
    ]
    ordered = list(items)
    lines += [f"| `{c.meta.id}` | {c.meta.severity} | {c.meta.area} | {c.meta.title} |" for c in ordered]
    for c in ordered:
        meta = c.meta
        lines += ["", f"## `{meta.id}` — {meta.title}", ""]
        if meta.description:
            lines += [meta.description, ""]
        lines.append(f"- platform: {meta.platform}; area: {meta.area}; severity: {meta.severity}")
        lines.append(f"- data: {', '.join(f'`{r}`' for r in meta.requires) or 'read inside the check'}")
        if meta.optional:
            lines.append(f"- data read when collected: {', '.join(f'`{r}`' for r in meta.optional)}")
        if meta.permissions:
            lines.append(f"- permissions: {', '.join(meta.permissions)}")
        for framework, ids in sorted(meta.frameworks.items()):
            lines.append(f"- {framework}: {', '.join(ids)}")
        lines += [f"- remediation: {meta.remediation}"]
        lines += [f"- reference: <{ref}>" for ref in meta.references]
    return "\n".join(lines) + "\n"
