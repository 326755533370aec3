"""The platforms hygiene reads, in scan order: the one list the scan, ``hygiene permissions``, the evidence packs
and the docs enumerate. Adding a platform adds one line here (see docs/architecture.md, "Adding a platform").
Importing this module loads no vendor SDK: each entry names its source class, imported only to scan."""

from __future__ import annotations

from hygiene.sources.aws.catalogue import PLATFORM as AWS
from hygiene.sources.azure.catalogue import PLATFORM as AZURE
from hygiene.sources.email.catalogue import PLATFORM as EMAIL
from hygiene.sources.google.catalogue import PLATFORM as GOOGLE
from hygiene.sources.interface import DatasetSpec, PlatformSpec
from hygiene.sources.m365.catalogue import PLATFORM as M365

#: the email platform reads the domains Microsoft 365 and Google Workspace listed: it comes after them
PLATFORMS: tuple[PlatformSpec, ...] = (M365, GOOGLE, AWS, AZURE, EMAIL)


def names() -> tuple[str, ...]:
    return tuple(p.name for p in PLATFORMS)


def platform(name: str) -> PlatformSpec:
    for spec in PLATFORMS:
        if spec.name == name:
            return spec
    raise KeyError(f"no platform {name!r}; known: {', '.join(names())}")


def dataset(name: str) -> DatasetSpec | None:
    """The dataset named ``<platform>.<name>``, or None when no platform reads it."""
    spec = next((p for p in PLATFORMS if name.startswith(p.name + ".")), None)
    return None if spec is None else spec.by_name.get(name)
