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


def default_data_dir() -> Path:
    """Where history, locks and the agent's heartbeat live: HYGIENE_DATA_DIR, else the platform data folder."""
    import os
    import sys

    override = os.environ.get("HYGIENE_DATA_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "hygiene"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "hygiene"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "hygiene"
