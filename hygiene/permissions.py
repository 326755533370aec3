"""What to grant: the read-only access each platform's datasets need (from the platform catalogues), and which
checks use them."""

from __future__ import annotations

from hygiene.registry import Registry
from hygiene.sources.interface import DatasetSpec
from hygiene.sources.platforms import PLATFORMS, platform


def required_permissions(name: str) -> list[str]:
    """Every distinct permission, scope or action the platform ``name`` needs, in catalogue order."""
    return platform(name).needs()


def _users(registry: Registry, dataset: DatasetSpec) -> list[str]:
    """The checks that use ``dataset``: those that require it or read it when present, or name one of its
    permissions (read when granted)."""
    return [
        c.meta.id
        for c in registry
        if dataset.name in (*c.meta.requires, *c.meta.optional)
        or any(p.split(" ")[0] in dataset.needs for p in c.meta.permissions)
    ]


def grant_json(only: str | None = None) -> object:
    """``hygiene permissions --json``: for one platform that takes a grant document (AWS: the IAM policy), that
    document alone, ready to apply; else per platform its permissions and each dataset with what it needs, its
    licence and the checks that use it."""
    if only is not None and (document := platform(only).grant_document) is not None:
        return document()
    registry = Registry.load(entry_points_too=False)
    described = [
        {
            "platform": spec.name,
            "title": spec.title,
            "permissions": spec.needs(),
            "datasets": [
                {
                    "name": d.name,
                    "what": d.what,
                    "needs": list(d.needs),
                    "licence": d.licence,
                    "optional": d.optional,
                    "used_by": _users(registry, d),
                }
                for d in spec.datasets
            ],
            **({"grant_document": spec.grant_document()} if spec.grant_document else {}),
        }
        for spec in PLATFORMS
        if only in (None, spec.name)
    ]
    return described[0] if only is not None else described


def describe(only: str | None = None) -> str:
    registry = Registry.load(entry_points_too=False)
    lines: list[str] = []
    for spec in PLATFORMS:
        if only not in (None, spec.name):
            continue
        lines.extend(spec.grant(spec))
        lines.append("\nWhat each dataset needs, and the checks that read it:")
        for dataset in spec.datasets:
            users = _users(registry, dataset)
            lines.append(f"  {dataset.name}: {dataset.what}")
            lines.append(f"      permissions: {', '.join(dataset.needs)}")
            if dataset.note:
                lines.append(f"      licence: {dataset.note}")
            if users:
                lines.append(f"      used by: {', '.join(users)}")
        lines.append("")
    return "\n".join(lines)
