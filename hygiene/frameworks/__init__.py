"""Compliance frameworks: control catalogues, the check -> control mappings, their validation, and the status
of each control from one scan's results. Pure: fed the check ids and their mappings by the caller (the registry)
and the statuses by the results; the views of the commands (coverage, status from the history) live in
:mod:`hygiene.frameworks.views`.

Data lives in ``policies/frameworks/``: ``mappings.yaml`` (framework names, ``checks:`` check id -> framework ->
control ids, ``unmapped:`` built-in checks deliberately mapped to nothing) and one ``<framework>.yaml`` per framework
listing its controls. :func:`validate` checks that every mapped control exists and that every built-in check is
mapped or listed as unmapped; a test runs it over the shipped data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from hygiene.errors import InputError, did_you_mean, format_validation_errors
from hygiene.paths import policies_dir
from hygiene.strict import FrozenModel as _Model
from hygiene.yamlio import load_yaml_file

MAPPINGS_FILE = "mappings.yaml"

ControlStatus = Literal["met", "not met", "partially assessed", "not covered by automated checks"]
MET: Final[ControlStatus] = "met"
NOT_MET: Final[ControlStatus] = "not met"
PARTIAL: Final[ControlStatus] = "partially assessed"
NOT_COVERED: Final[ControlStatus] = "not covered by automated checks"
STATUSES: tuple[ControlStatus, ...] = (MET, NOT_MET, PARTIAL, NOT_COVERED)

#: check result statuses that satisfy a control
_SATISFIED = frozenset({"pass", "accepted"})


def _str_ids(value: object) -> object:
    """YAML reads ``6.3`` as a float: control ids are always strings."""
    if isinstance(value, list):
        return [str(v) if isinstance(v, int | float) else v for v in value]
    return value


class Control(_Model):
    id: str
    title: str
    automated: bool = True
    note: str | None = None
    ig: int | None = Field(default=None, ge=1, le=3, description="CIS Controls implementation group")
    strategy: str | None = Field(default=None, description="Essential Eight mitigation strategy")
    maturity_level: int | None = Field(default=None, ge=1, le=3, description="Essential Eight maturity level")
    benchmark: str | None = Field(default=None, description="CIS Benchmark the recommendation belongs to")

    @field_validator("id", mode="before")
    @classmethod
    def _id_str(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value


class Catalogue(_Model):
    id: str
    name: str
    controls: list[Control]

    def control(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.id == control_id), None)


class Mappings(_Model):
    frameworks: dict[str, str]
    unmapped: list[str] = Field(default_factory=list)
    checks: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    @field_validator("checks", mode="before")
    @classmethod
    def _ids_str(cls, value: object) -> object:
        if isinstance(value, dict):
            return {
                k: ({f: _str_ids(ids) for f, ids in v.items()} if isinstance(v, dict) else v) for k, v in value.items()
            }
        return value


def frameworks_dir() -> Path:
    return policies_dir() / "frameworks"


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], path: Path) -> M:
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(path, format_validation_errors(exc.errors())) from None


def load_mappings(folder: Path | None = None) -> Mappings:
    path = (folder or frameworks_dir()) / MAPPINGS_FILE
    return _parse(Mappings, path)


def load_catalogue(name: str, folder: Path | None = None) -> Catalogue:
    folder = folder or frameworks_dir()
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise InputError(folder / MAPPINGS_FILE, f"frameworks.{name}: no catalogue {path.name} beside it")
    catalogue = _parse(Catalogue, path)
    if catalogue.id != name:
        raise InputError(path, f"id: is {catalogue.id!r}, expected {name!r} (the file name)")
    seen: set[str] = set()
    for index, control in enumerate(catalogue.controls):
        if control.id in seen:
            raise InputError(path, f"controls.{index}.id: {control.id} is listed twice")
        seen.add(control.id)
    return catalogue


@dataclass(frozen=True)
class FrameworkData:
    mappings: Mappings
    catalogues: dict[str, Catalogue]

    def catalogue(self, name: str) -> Catalogue:
        found = self.catalogues.get(name)
        if found is None:
            raise InputError(
                None,
                f"no framework {name!r}{did_you_mean(name, self.catalogues)}; choose from "
                f"{', '.join(sorted(self.catalogues))}",
            )
        return found


def load(folder: Path | None = None) -> FrameworkData:
    """Mappings and catalogues, with every mapped control id checked against its catalogue."""
    folder = folder or frameworks_dir()
    mappings = load_mappings(folder)
    catalogues = {name: load_catalogue(name, folder) for name in mappings.frameworks}
    path = folder / MAPPINGS_FILE
    for check_id, frameworks in mappings.checks.items():
        for name, ids in frameworks.items():
            catalogue = catalogues.get(name)
            if catalogue is None:
                raise InputError(path, f"checks.{check_id}.{name}: unknown framework (not listed under frameworks:)")
            for control_id in ids:
                if catalogue.control(control_id) is None:
                    raise InputError(path, f"checks.{check_id}.{name}: control {control_id!r} is not in {name}.yaml")
    return FrameworkData(mappings=mappings, catalogues=catalogues)


def validate(folder: Path | None, check_ids: Iterable[str]) -> FrameworkData:
    """:func:`load`, plus: every check in ``check_ids`` (the built-in pack's, from the registry) is mapped or listed
    in ``unmapped``, no check is both, and nothing maps a check that does not exist."""
    folder = folder or frameworks_dir()
    data = load(folder)
    known = set(check_ids)
    path = folder / MAPPINGS_FILE
    mapped = {c for c, frameworks in data.mappings.checks.items() if any(frameworks.values())}
    unmapped = set(data.mappings.unmapped)
    for check_id in sorted(mapped & unmapped):
        raise InputError(path, f"unmapped: {check_id} is also mapped under checks:")
    for check_id in sorted((set(data.mappings.checks) | unmapped) - known):
        raise InputError(path, f"checks.{check_id}: no built-in check has this id")
    for check_id in sorted(known - mapped - unmapped):
        raise InputError(path, f"checks: built-in check {check_id} is not mapped; map it or add it to unmapped:")
    return data


# -- statuses -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckState:
    check_id: str
    platform: str
    #: the check's status in the scan, "absent" when the scan has no result for it, or "not applicable" when the
    #: scan covered none of the check's platform
    status: str


@dataclass(frozen=True)
class ControlView:
    control: Control
    status: ControlStatus | None  # None: no scan, mapping only
    checks: list[CheckState] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return self.control.automated and bool(self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.control.id,
            "title": self.control.title,
            "automated": self.control.automated,
            "note": self.control.note,
            "status": self.status,
            "checks": [{"check_id": c.check_id, "platform": c.platform, "status": c.status} for c in self.checks],
        }


def control_checks(framework: str, check_frameworks: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[str, list[str]]:
    """control id -> the check ids that map to it, from check id -> framework -> control ids."""
    index: dict[str, list[str]] = {}
    for check_id, frameworks in sorted(check_frameworks.items()):
        for control_id in frameworks.get(framework, ()):
            index.setdefault(control_id, []).append(check_id)
    return index


def control_status(control: Control, states: list[CheckState]) -> ControlStatus:
    """met: every applicable check passed or was accepted; not met: any failed; partially assessed: some were not
    assessed, errored or are absent and none failed; not covered: no applicable check, or the control is manual."""
    relevant = [s.status for s in states if s.status != "not applicable"]
    if not control.automated or not relevant:
        return NOT_COVERED
    if any(s == "fail" for s in relevant):
        return NOT_MET
    if all(s in _SATISFIED for s in relevant):
        return MET
    return PARTIAL


def assess(
    catalogue: Catalogue,
    check_frameworks: Mapping[str, Mapping[str, Iterable[str]]],
    check_platforms: Mapping[str, str],
    results: Mapping[str, tuple[str, str]] | None = None,
) -> list[ControlView]:
    """Each control of ``catalogue`` with its mapped checks; with ``results`` (check id -> (status, platform) from
    one scan) also its status. Checks of a platform the scan did not cover are "not applicable", not missing."""
    index = control_checks(catalogue.id, check_frameworks)
    scanned = {platform for _, platform in (results or {}).values()}
    views = []
    for control in catalogue.controls:
        states = []
        for check_id in index.get(control.id, []):
            platform = check_platforms.get(check_id, "")
            if results is None:
                status = ""
            elif check_id in results:
                status = results[check_id][0]
            elif platform and platform not in scanned:
                status = "not applicable"
            else:
                status = "absent"
            states.append(CheckState(check_id=check_id, platform=platform, status=status))
        views.append(
            ControlView(
                control=control, status=None if results is None else control_status(control, states), checks=states
            )
        )
    return views


def coverage_tables(
    data: FrameworkData,
    check_frameworks: Mapping[str, Mapping[str, Iterable[str]]],
    platforms: Mapping[str, str],
    results: Mapping[str, tuple[str, str]],
) -> dict[str, object]:
    """Every framework's controls with their status from one scan's results (check id -> (status, platform)):
    the framework coverage tables of an evidence pack."""
    tables: dict[str, object] = {}
    for name, catalogue in data.catalogues.items():
        views = assess(catalogue, check_frameworks, platforms, results)
        tables[name] = {
            "name": data.mappings.frameworks.get(name) or catalogue.name,
            "summary": {s: sum(1 for v in views if v.status == s) for s in STATUSES},
            "controls": [v.as_dict() for v in views],
        }
    return tables
