"""The wheel's package list (pyproject.toml, explicit because the check pack and policies are mapped in) names every
package of the source tree: a package left out installs nowhere, and only a non-editable install would notice."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_package_is_in_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "hygiene").rglob("*.py")
        if init.name == "__init__.py" or init.parent.name == "sources"
    }
    assert found - listed == set()
