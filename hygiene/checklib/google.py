"""Google Workspace reasoning shared by checks."""

from __future__ import annotations

from hygiene.checkapi import CheckContext
from hygiene.model import GoogleData, GoogleUser

#: Cloud Identity device types judged from the Cloud Identity list; mobile and ChromeOS devices come from the
#: Directory API lists, so they are skipped here to avoid counting a device twice
ENDPOINT_DESKTOP_TYPES = {"WINDOWS": "windows", "MAC_OS": "macos", "LINUX": "linux"}


def google_data(ctx: CheckContext) -> GoogleData:
    """The snapshot's Google Workspace data; the engine only runs gws checks when the platform was scanned."""
    assert ctx.snapshot.google is not None
    return ctx.snapshot.google


def active_users(data: GoogleData) -> list[GoogleUser]:
    return [u for u in data.users if u.active]


def admin_ids(data: GoogleData) -> set[str]:
    """Super and delegated admins, plus anyone holding an admin role assignment."""
    ids = {u.id for u in data.users if u.is_super_admin or u.is_delegated_admin}
    ids |= {a.assigned_to for a in data.role_assignments}
    return ids


def mobile_platform(os_text: str, device_type: str) -> tuple[str, str]:
    """("android" | "ios" | other, version) from a mobile device's ``os`` ("Android 14", "iOS 17.5.1")."""
    words = os_text.split()
    version = next((w for w in words if w[:1].isdigit()), "")
    lowered = (os_text + " " + device_type).lower()
    if "android" in lowered:
        return "android", version
    if "ios" in lowered or "ipad" in lowered or "iphone" in lowered:
        return "ios", version
    return lowered.split()[0] if lowered.split() else "unknown", version


def endpoint_version(os_version: str) -> str:
    """Cloud Identity reports e.g. "Windows 10.0.19045" or "MacOS 14.5": the numeric part."""
    return next((w for w in os_version.split() if w[:1].isdigit()), os_version)
