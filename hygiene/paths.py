"""Where the built-in check pack and policy data are, in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"none of {', '.join(str(c) for c in candidates)} exists")


def builtin_checks_dir() -> Path:
    # A wheel ships checks/ as hygiene/_pack/checks (see pyproject.toml); a checkout has it beside hygiene/.
    return _first_existing(_PACKAGE_DIR / "_pack" / "checks", _PACKAGE_DIR.parent / "checks")


def policies_dir() -> Path:
    return _first_existing(_PACKAGE_DIR / "_pack" / "policies", _PACKAGE_DIR.parent / "policies")
