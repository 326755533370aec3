"""``hygiene policies list`` and ``hygiene policies show NAME``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from hygiene.cli.common import guard, json_option, out
from hygiene.cli.tables import Listing, print_listing

if TYPE_CHECKING:
    from hygiene.policy import Profile

#: the thresholds by what they are about, in the order a reader looks for them; a threshold not listed here
#: (a new one) is shown under "other", never hidden
THRESHOLD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Accounts and admins",
        (
            "inactive_days",
            "never_signed_in_grace_days",
            "guest_inactive_days",
            "admin_count_min",
            "admin_count_max",
            "access_key_max_unused_days",
            "access_key_rotation_days",
        ),
    ),
    (
        "Devices and patching",
        ("device_sync_max_days", "android_patch_max_age_days", "min_os_versions", "patch_scan_max_age_days"),
    ),
    (
        "Backup",
        (
            "backup_rpo_hours",
            "backup_job_lookback_days",
            "rds_min_backup_retention_days",
            "vault_lock_min_retention_days",
            "restore_test_max_days",
        ),
    ),
    ("Licences", ("licence_prices", "currency")),
    ("Per-check settings", ("plugins",)),
)


@click.group("policies")
def policies() -> None:
    """Policy profiles: the thresholds checks are scored against (inactive days, backup RPO...) and their basis."""


@policies.command("list")
@json_option
@guard
def policies_list(as_json: bool) -> None:
    """The built-in profiles; pick one with the config's [policy] profile or `scan --profile NAME`."""
    from hygiene.policy import available_profiles, load_profile

    profiles = [load_profile(name) for name in available_profiles()]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"name": p.name, "title": p.title, "description": p.description.strip(), "basis": p.basis}
                    for p in profiles
                ],
                indent=2,
            )
        )
        return
    listing = Listing(("name", "title", "inactive days", "backup RPO (hours)"), ids=("name",))
    for p in profiles:
        listing.add(p.name, p.title, str(p.thresholds.inactive_days), str(p.thresholds.backup_rpo_hours))
    print_listing(out, listing)


@policies.command("show")
@click.argument("name")
@json_option
@guard
def policies_show(name: str, as_json: bool) -> None:
    """Profile NAME (a built-in name or a YAML path): each threshold with what it means, what it is based on, and
    the checks it disables or re-grades."""
    from hygiene.policy import load_profile

    profile = load_profile(name, Path.cwd())
    if as_json:
        click.echo(profile.model_dump_json(indent=2))
        return
    for part in describe_profile(profile):
        out.print(part, highlight=False, soft_wrap=False)


def describe_profile(profile: Profile) -> list[RenderableType]:
    """The profile for people: title, description, basis, then the thresholds by group, each with its unit, its
    meaning and whether it differs from hygiene's default; then the checks it changes."""
    from hygiene.policy import Thresholds

    defaults = Thresholds()
    values = profile.thresholds.model_dump()
    lines: list[RenderableType] = [Text.assemble((profile.name, "bold"), f" - {profile.title}")]
    if profile.source_path:
        lines.append(Text(f"from {profile.source_path}", style="dim"))
    if profile.description.strip():
        lines += [Text(""), Text(" ".join(profile.description.split()))]
    if profile.basis:
        lines += [Text(""), Text("Based on", style="bold")]
        lines += [Text(f"  - {basis}") for basis in profile.basis]
    grouped = [(title, [n for n in names if n in values]) for title, names in THRESHOLD_GROUPS]
    listed = {n for _, names in grouped for n in names}
    grouped.append(("Other", [n for n in values if n not in listed]))
    for title, names in grouped:
        if not names:
            continue
        table = Table.grid(padding=(0, 2), pad_edge=True)
        table.add_column(no_wrap=True)
        table.add_column(style="bold", overflow="fold")
        table.add_column(overflow="fold")
        for field in names:
            value, default = values[field], getattr(defaults, field)
            meaning = Text(Thresholds.model_fields[field].description or "")
            if value != default and not (isinstance(value, dict) and not default):
                meaning.append(f" (hygiene's default: {_shown(field, default)})", style="dim")
            table.add_row(field, _shown(field, value), meaning)
        lines += [Text(""), Text(title, style="bold"), table]
    return lines + _check_changes(profile)


def _shown(field: str, value: Any) -> str:
    """A threshold's value with its unit: "90 days", "24 hours", "windows 10.0.22631", "none"."""
    if isinstance(value, dict):  # licence prices; per-check settings (plugins): "check id: name value, ..."
        return "; ".join(f"{k}: {_shown(k, v)}" if isinstance(v, dict) else f"{k} {v}" for k, v in value.items()) or (
            "none"
        )
    if isinstance(value, dict | list):
        return str(value)
    if field.endswith("_days"):
        return f"{value} day" + ("" if value == 1 else "s")
    if field.endswith("_hours"):
        return f"{value} hour" + ("" if value == 1 else "s")
    return str(value)


def _check_changes(profile: Profile) -> list[RenderableType]:
    checks = profile.checks
    if not checks.disabled and not checks.severity:
        return [Text(""), Text("Checks: every check runs at its own severity.")]
    table = Table.grid(padding=(0, 2), pad_edge=True)
    table.add_column(no_wrap=True)
    table.add_column()
    for check_id in checks.disabled:
        table.add_row(check_id, "disabled")
    for check_id, severity in checks.severity.items():
        table.add_row(check_id, f"severity {severity}")
    return [Text(""), Text("Checks", style="bold"), table]
