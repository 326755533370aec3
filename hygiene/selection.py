"""Choosing what to scan: ``hygiene scan --checks PATTERN --platforms NAME``.

The patterns (check ids or shell-style globs such as ``aws.iam.*``) and platform names are checked against the
registry and the platform registry (an unknown one is an input error naming the nearest), then turned into a
plan: the platforms to read and, per platform, only the datasets the selected checks need (closed under
:attr:`DatasetSpec.reads_with`), so that an identity-only scan never waits on backup or patch APIs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hygiene.errors import InputError
from hygiene.model import ScanSelection
from hygiene.registry import Registry
from hygiene.sources.platforms import names as platform_names
from hygiene.sources.platforms import platform as platform_spec

GLOB = frozenset("*?[")


@dataclass(frozen=True)
class ScanPlan:
    """What a scan reads: ``datasets`` maps each platform to read to its datasets (None: all of them);
    ``selection`` is None for a full scan."""

    datasets: dict[str, frozenset[str] | None] = field(default_factory=dict)
    selection: ScanSelection | None = None


def split_values(values: Iterable[str]) -> list[str]:
    """Repeatable and comma-separated option values, stripped, empty ones dropped, first occurrence kept."""
    return list(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))


def nearest(value: str, candidates: Iterable[str]) -> str:
    """``; did you mean X?`` for the closest candidate, or nothing."""
    found = difflib.get_close_matches(value, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean {found[0]}?" if found else ""


def _groups(check_ids: Iterable[str]) -> set[str]:
    """``aws.*``, ``aws.iam.*``...: the globs a user would write for the families of ``check_ids``."""
    out: set[str] = set()
    for check_id in check_ids:
        parts = check_id.split(".")
        out.update(".".join(parts[:n]) + ".*" for n in range(1, len(parts)))
    return out


def plan_scan(
    registry: Registry,
    configured: Sequence[str],
    *,
    checks: Sequence[str] = (),
    platforms: Sequence[str] = (),
    disabled: Iterable[str] = (),
    config_path: Path | None = None,
) -> ScanPlan:
    """The plan for a scan of the ``configured`` platforms limited to ``checks`` and ``platforms`` (either may be
    empty: no limit). Raises InputError for an unknown platform or pattern, a platform the config does not
    configure, or a selection that leaves nothing to run."""
    where = str(config_path) if config_path else None
    for name in platforms:
        if name not in platform_names():
            raise InputError(
                None,
                f"--platforms: unknown platform {name!r}{nearest(name, platform_names())} "
                f"(known: {', '.join(platform_names())})",
            )
        if name not in configured:
            raise InputError(where, f"--platforms: {name} is not configured here (configured: {', '.join(configured)})")
    scanned = [p for p in configured if not platforms or p in platforms]
    off = set(disabled)
    everything = [c for c in registry if c.meta.id not in off]
    for pattern in checks:
        selection = ScanSelection(checks=[pattern])
        matching = [c for c in registry if selection.includes(c.meta.id, c.meta.platform)]
        if not matching:
            ids = registry.ids()
            hint = nearest(pattern, [*ids, *_groups(ids)])
            raise InputError(None, f"--checks: no check matches {pattern!r}{hint} (see 'hygiene checks list')")
        if all(c.meta.id in off for c in matching):
            raise InputError(None, f"--checks: {pattern!r} matches only checks the policy profile disables")
        if not any(c.meta.platform in scanned for c in matching if c.meta.id not in off):
            theirs = ", ".join(sorted({c.meta.platform for c in matching}))
            raise InputError(
                where,
                f"--checks: {pattern!r} matches only checks of {theirs}, which this scan does not read "
                f"(platforms: {', '.join(scanned)})",
            )
    if not checks and set(scanned) == set(configured):
        return ScanPlan(datasets={p: None for p in configured})
    selection = ScanSelection(checks=list(checks), platforms=list(platforms))
    chosen = [c for c in everything if c.meta.platform in scanned and selection.includes(c.meta.id, c.meta.platform)]
    datasets: dict[str, frozenset[str] | None] = {}
    for name in scanned:
        mine = [c for c in chosen if c.meta.platform == name]
        # the datasets of this platform the chosen checks (of any platform) require or read when present
        wanted = [d for c in chosen for d in (*c.meta.requires, *c.meta.optional) if d.startswith(name + ".")]
        if not mine and not wanted:
            continue
        if mine and (not checks or any(not c.meta.requires for c in mine)):  # a check reading inside itself: all
            datasets[name] = None
        else:
            datasets[name] = platform_spec(name).closure(wanted)
    for name in list(datasets):  # a platform reading others' data from the snapshot (email: their domains)
        for needed in platform_spec(name).reads_from:
            owner = needed.split(".", 1)[0]
            if owner in configured and not (owner in datasets and datasets[owner] is None):
                datasets[owner] = platform_spec(owner).closure({*(datasets.get(owner) or ()), needed})
    datasets = {p: datasets[p] for p in platform_names() if p in datasets}  # the scan order
    selection.platforms_not_scanned = [p for p in configured if p not in datasets]
    return ScanPlan(datasets=datasets, selection=selection)
