"""Policy data: profiles of thresholds, exceptions, attestations and the OS lifecycle table.

All of it is data under ``policies/`` (or a user's YAML file); this module only validates and loads it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from hygiene.errors import InputError, did_you_mean, format_validation_errors, show_key
from hygiene.paths import policies_dir
from hygiene.strict import StrictModel as _Strict
from hygiene.taxonomy import Severity
from hygiene.yamlio import load_yaml_file


class Thresholds(_Strict):
    """Every number a built-in check compares against. Profiles override the defaults."""

    inactive_days: int = Field(90, ge=1, description="days without a successful sign-in before a member is stale")
    never_signed_in_grace_days: int = Field(30, ge=0, description="age of a never-used account before it counts")
    guest_inactive_days: int = Field(90, ge=1, description="days without a sign-in before a guest is stale")
    admin_count_min: int = Field(2, ge=0, description="fewest global admins: fewer risks a lock-out")
    admin_count_max: int = Field(4, ge=1, description="most global admins: more is more to compromise")
    device_sync_max_days: int = Field(30, ge=1, description="a managed device not synced for longer is stale")
    android_patch_max_age_days: int = Field(90, ge=1, description="oldest acceptable Android security patch level")
    edr_seen_max_days: int = Field(
        7, ge=1, description="a Defender for Endpoint machine not seen (full report) for longer is not protected"
    )
    missing_update_max_days: int = Field(
        14, ge=1, description="days a security update fixing a critical or high vulnerability may stay missing"
    )
    #: platform (windows, macos, ios, android) -> minimum OS version, e.g. {"windows": "10.0.22631"}
    min_os_versions: dict[str, str] = Field(
        default_factory=dict, description="oldest acceptable OS version per platform (beyond the lifecycle table)"
    )
    access_key_max_unused_days: int = Field(90, ge=1, description="an active access key unused for longer is stale")
    access_key_rotation_days: int = Field(90, ge=1, description="an active access key older than this is due")
    backup_rpo_hours: int = Field(24, ge=1, description="newest recovery point must be at most this old")
    backup_job_lookback_days: int = Field(14, ge=1, le=30, description="failed backup jobs this recent count")
    rds_min_backup_retention_days: int = Field(
        7, ge=1, le=35, description="RDS automated backups must be kept at least this long"
    )
    vault_lock_min_retention_days: int = Field(
        7, ge=1, description="a Vault Lock must enforce at least this minimum retention (MinRetentionDays)"
    )
    patch_scan_max_age_days: int = Field(14, ge=1, description="an SSM patch scan older than this is stale")
    restore_test_max_days: int = Field(365, ge=1, description="a restore must have been tested within this")
    #: SKU part number -> monthly price per licence, for the wasted-licence estimate
    licence_prices: dict[str, float] = Field(
        default_factory=dict, description="monthly price per licence (SKU part number), for the wasted-licence estimate"
    )
    currency: str = Field("GBP", description="currency of the licence prices")
    #: settings for third-party checks, by check id
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings read by one check, by check id (built-in Azure checks, third-party checks)",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Thresholds:
        if self.admin_count_min > self.admin_count_max:
            raise ValueError("admin_count_min must not exceed admin_count_max")
        return self


class ProfileChecks(_Strict):
    disabled: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)


class Profile(_Strict):
    name: str
    title: str
    description: str = ""
    extends: str | None = None
    #: where the thresholds come from (framework clauses), for the report's method section
    basis: list[str] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    checks: ProfileChecks = Field(default_factory=ProfileChecks)
    source_path: str | None = None


def profiles_dir() -> Path:
    return policies_dir() / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def is_profile_path(name_or_path: str) -> bool:
    """Whether a profile reference is a path to a YAML file (else the name of a built-in profile)."""
    return Path(name_or_path).suffix in (".yaml", ".yml") or "/" in name_or_path or "\\" in name_or_path


def _profile_path(name_or_path: str, relative_to: Path | None) -> Path:
    candidate = Path(name_or_path)
    if is_profile_path(name_or_path):
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to / candidate
        return candidate
    builtin = profiles_dir() / f"{name_or_path}.yaml"
    if not builtin.exists():
        raise InputError(
            None,
            f"unknown policy profile {name_or_path!r}{did_you_mean(name_or_path, available_profiles())}; built-in "
            f"profiles: {', '.join(available_profiles())} (or give a path to a YAML file)",
        )
    return builtin


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top: tables (dicts) merge key by key, any other value (a list too) is
    replaced. Profiles over the profile they extend, and configs over the files they include."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw_profile(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if path in seen:
        raise InputError(path, "profile 'extends' chain loops back to itself")
    data = load_yaml_file(path, "profile")
    if not isinstance(data, dict):
        raise InputError(path, "a profile must be a mapping with name, title and thresholds")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError(path, "extends: expected a profile name or path")
    try:
        parent_path = _profile_path(parent, path.parent)
    except InputError as exc:
        raise InputError(path, f"extends: {exc.message}") from None
    if not parent_path.is_file():
        raise InputError(path, f"extends: profile file {parent_path} not found")
    base = _raw_profile(parent_path.resolve(), (*seen, path))
    base.pop("name", None)
    return deep_merge(base, data)


def load_profile(name_or_path: str, relative_to: Path | None = None) -> Profile:
    path = _profile_path(name_or_path, relative_to)
    raw = _raw_profile(path.resolve(), ())
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(path, format_validation_errors(exc.errors())) from None
    profile.source_path = str(path)
    return profile


# --------------------------------------------------------------------------------------------------
# Exceptions and attestations
# --------------------------------------------------------------------------------------------------

_CHECK_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class RiskException(_Strict):
    """A risk acceptance: the named resources (or the whole check) fail knowingly until ``expires``."""

    id: str | None = None
    check: str
    resources: list[str] = Field(default_factory=list)
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: date
    compensating_control: str | None = None

    @field_validator("check")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _CHECK_ID.match(value):
            raise ValueError("expected a check id such as m365.mfa.enforced")
        return value

    def is_active(self, on: date) -> bool:
        return self.expires >= on

    def covers(self, resource_id: str, resource_name: str) -> bool:
        if not self.resources:
            return True
        wanted = {r.casefold() for r in self.resources}
        return resource_id.casefold() in wanted or resource_name.casefold() in wanted


class Attestation(_Strict):
    """A statement of what no API can see, e.g. a third-party backup product and its last restore test."""

    id: str | None = None
    check: str
    statement: str = Field(min_length=1)
    date: dt.date
    attested_by: str = Field(min_length=1)
    evidence: str | None = None
    expires: dt.date | None = None

    @field_validator("check")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _CHECK_ID.match(value):
            raise ValueError("expected a check id such as m365.backup.enabled")
        return value

    def is_active(self, on: dt.date) -> bool:
        return self.date <= on and (self.expires is None or self.expires >= on)


class RejectedEntry(_Strict):
    """An exceptions-file entry that was not applied, and why."""

    kind: Literal["exception", "attestation"]
    index: int
    check: str | None = None
    problem: str
    entry: dict[str, Any] = Field(default_factory=dict)


class ControlsFile(_Strict):
    path: str | None = None
    exceptions: list[RiskException] = Field(default_factory=list)
    attestations: list[Attestation] = Field(default_factory=list)
    #: malformed entries: reported in every report, never applied
    rejected: list[RejectedEntry] = Field(default_factory=list)


def load_controls(path: Path | None) -> ControlsFile:
    """Load an exceptions/attestations file. A malformed entry is kept aside as rejected, not applied."""
    if path is None:
        return ControlsFile()
    if not path.exists():
        raise InputError(path, "exceptions file not found")
    data = load_yaml_file(path, "exceptions file")
    if data is None:
        return ControlsFile(path=str(path))
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping with 'exceptions:' and/or 'attestations:' lists")
    unknown = set(data) - {"exceptions", "attestations"}
    if unknown:
        raise InputError(
            path,
            f"unknown top-level key(s) {', '.join(sorted(map(show_key, unknown)))}; "
            "expected 'exceptions' and 'attestations'",
        )
    result = ControlsFile(path=str(path))
    for kind, model, target in (
        ("exception", RiskException, result.exceptions),
        ("attestation", Attestation, result.attestations),
    ):
        entries = data.get(f"{kind}s") or []
        if not isinstance(entries, list):
            raise InputError(path, f"{kind}s: expected a list of entries")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                result.rejected.append(RejectedEntry(kind=kind, index=index, problem="entry is not a mapping"))
                continue
            try:
                parsed = model.model_validate(entry)
            except ValidationError as exc:
                check_value = entry.get("check")
                result.rejected.append(
                    RejectedEntry(
                        kind=kind,
                        index=index,
                        check=check_value if isinstance(check_value, str) else None,
                        problem=format_validation_errors(exc.errors()),
                        entry={str(k): str(v) for k, v in entry.items()},
                    )
                )
                continue
            if parsed.id is None:
                parsed.id = f"{kind[:3].upper()}-{index + 1}"
            target.append(parsed)  # type: ignore[arg-type]
    return result


# --------------------------------------------------------------------------------------------------
# OS lifecycle table
# --------------------------------------------------------------------------------------------------


def parse_version(text: str) -> tuple[int, ...]:
    """Numeric parts of a version string ("10.0.22631.4460" -> (10, 0, 22631, 4460)); junk ends it."""
    parts: list[int] = []
    for piece in re.split(r"[.\s_-]", text.strip()):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


@functools.lru_cache(maxsize=4096)
def version_key(text: str) -> tuple[int, ...]:
    """:func:`parse_version`, memoised: a tenant's thousands of devices share a few dozen versions."""
    return parse_version(text)


class LifecycleEntry(_Strict):
    platform: str
    name: str
    #: inclusive lower and exclusive upper version bounds
    min_version: str
    max_version: str | None = None
    end_of_support: date | None = None
    note: str | None = None

    def matches(self, platform: str, version: tuple[int, ...]) -> bool:
        if platform != self.platform or not version:
            return False
        if version < parse_version(self.min_version):
            return False
        return self.max_version is None or version < parse_version(self.max_version)


class LifecycleTable(_Strict):
    as_of: date
    sources: list[str] = Field(default_factory=list)
    entries: list[LifecycleEntry] = Field(default_factory=list)

    def lookup(self, platform: str, version: str) -> LifecycleEntry | None:
        parsed = parse_version(version)
        for entry in self.entries:
            if entry.matches(platform, parsed):
                return entry
        return None


def lifecycle_lookup(lifecycle: LifecycleTable) -> Callable[[str, str], LifecycleEntry | None]:
    """``lifecycle.lookup`` memoised per (platform, version) for one check run (the table is scanned linearly)."""
    cache: dict[tuple[str, str], LifecycleEntry | None] = {}

    def lookup(platform: str, version: str) -> LifecycleEntry | None:
        key = (platform, version)
        if key not in cache:
            cache[key] = lifecycle.lookup(platform, version)
        return cache[key]

    return lookup


#: the parsed lifecycle file by (path, size, modification time): every scan of a fleet reads it, and parsing the
#: YAML was 3 % of a small organisation's CPU; the table itself is validated (a fresh model) each call
_lifecycle_yaml: dict[tuple[str, int, int], Any] = {}


def _lifecycle_data(path: Path) -> Any:
    try:
        stat = path.stat()
    except OSError:
        return load_yaml_file(path)  # its own error names the file
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    data = _lifecycle_yaml.get(key)
    if data is None:
        data = load_yaml_file(path)
        _lifecycle_yaml.clear()
        _lifecycle_yaml[key] = data
    return data


def load_lifecycle(path: Path | None = None) -> LifecycleTable:
    path = path or policies_dir() / "lifecycle" / "os.yaml"
    data = _lifecycle_data(path)
    try:
        return LifecycleTable.model_validate(data)
    except ValidationError as exc:
        raise InputError(path, format_validation_errors(exc.errors())) from None
