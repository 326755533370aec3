"""What to grant: the read-only application permissions each platform's datasets need, and which checks use them."""

from __future__ import annotations

from hygiene.registry import Registry
from hygiene.sources.m365 import DATASETS as M365_DATASETS

PLATFORM_DATASETS = {"m365": M365_DATASETS}

M365_INTRO = """Microsoft 365 (Microsoft Graph application permissions, all read-only)
Register an app: Entra admin center > Identity > Applications > App registrations > New registration.
Then API permissions > Add a permission > Microsoft Graph > Application permissions, add those below,
and Grant admin consent. Under Certificates & secrets, upload a certificate (preferred) or create a secret.
"""


def required_permissions(platform: str) -> list[str]:
    seen: dict[str, None] = {}
    for _, perms, _ in PLATFORM_DATASETS[platform].values():
        for perm in perms:
            seen.setdefault(perm.split(" ")[0], None)
    return list(seen)


def describe(platform: str | None = None) -> str:
    registry = Registry.load(entry_points_too=False)
    lines: list[str] = []
    for name, datasets in PLATFORM_DATASETS.items():
        if platform not in (None, name):
            continue
        lines.append(M365_INTRO if name == "m365" else name)
        lines.append("Permissions to add:")
        lines.extend(f"  - {perm}" for perm in required_permissions(name))
        lines.append("\nWhat each dataset needs, and the checks that read it:")
        for dataset, (what, perms, licence) in datasets.items():
            users = [c.meta.id for c in registry if dataset in c.meta.requires]
            lines.append(f"  {dataset}: {what}")
            lines.append(f"      permissions: {', '.join(perms)}")
            if licence:
                lines.append(f"      licence: {licence}")
            if users:
                lines.append(f"      used by: {', '.join(users)}")
        lines.append("")
    return "\n".join(lines)
