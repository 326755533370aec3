"""What to grant: the read-only access each platform's datasets need (from the platform catalogues), and which
checks use them."""

from __future__ import annotations

from hygiene.registry import Registry
from hygiene.sources.platforms import PLATFORMS, platform


def required_permissions(name: str) -> list[str]:
    """Every distinct permission, scope or action the platform ``name`` needs, in catalogue order."""
    return platform(name).needs()


def describe(only: str | None = None) -> str:
    registry = Registry.load(entry_points_too=False)
    lines: list[str] = []
    for spec in PLATFORMS:
        if only not in (None, spec.name):
            continue
        lines.extend(spec.grant(spec))
        lines.append("\nWhat each dataset needs, and the checks that read it:")
        for dataset in spec.datasets:
            # a check uses a dataset it requires, or one whose permission it names (read when available)
            users = [
                c.meta.id
                for c in registry
                if dataset.name in c.meta.requires or any(p.split(" ")[0] in dataset.needs for p in c.meta.permissions)
            ]
            lines.append(f"  {dataset.name}: {dataset.what}")
            lines.append(f"      permissions: {', '.join(dataset.needs)}")
            if dataset.note:
                lines.append(f"      licence: {dataset.note}")
            if users:
                lines.append(f"      used by: {', '.join(users)}")
        lines.append("")
    return "\n".join(lines)
