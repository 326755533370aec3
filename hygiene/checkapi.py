"""What a check is: a pure function of (snapshot, policy thresholds) with declared metadata.

A check module (built-in, an extra folder, or an installed package under the ``hygiene.checks`` entry
point group) defines functions decorated with :func:`check`::

    @check(id="m365.mfa.registered", title="…", area="mfa", platform="m365", severity="high",
           requires=("m365.users", "m365.registration"), remediation="…", references=("https://…",))

``requires`` may name datasets of another platform (an Azure check that needs the Microsoft 365 directory): without
them the check is not_assessed, naming the section to configure. ``optional`` names datasets the check reads when
they were collected and judges without otherwise.
    def mfa_registered(ctx: CheckContext) -> Outcome:
        ...
        return Outcome(assessed=len(users), findings=[Finding(resource_id=…, resource_name=…, detail=…)])

A check never does I/O. It raises :class:`NotAssessed` when the data it was given cannot answer the
question (for instance a fallback report that conceals user names); the engine turns an unavailable
required dataset into ``not_assessed`` before the check is even called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from hygiene.model import AwsData, GoogleData, M365Data, ReasonKind, Snapshot
from hygiene.taxonomy import AREAS, SEVERITIES, Area, Severity

PlatformDataT = TypeVar("PlatformDataT", bound=BaseModel)

if TYPE_CHECKING:
    from hygiene.policy import Attestation, LifecycleTable, Thresholds


@dataclass(frozen=True)
class Finding:
    """One failing resource."""

    resource_id: str
    resource_name: str
    detail: str
    #: structured extras for reports (e.g. sku, monthly cost); plain JSON values only
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a check measured: how many resources it assessed and which of them fail."""

    assessed: int
    findings: list[Finding] = field(default_factory=list)
    #: how the data was obtained or anything a reader must know to interpret the result
    note: str | None = None
    #: "attested" when the result rests on an organisation's attestation rather than on measured data
    basis: Literal["measured", "attested"] = "measured"
    attestation_ids: tuple[str, ...] = ()
    #: parts of the scope the check could not see (an account, a region), with why. With no findings the
    #: result is then not_assessed, never pass; with findings it fails and says what it could not see.
    unseen: tuple[tuple[ReasonKind, str], ...] = ()
    #: what a pass does not guarantee although nothing failed (e.g. MFA required only "when necessary" by
    #: security defaults); reports show it and an insurer answer sheet never turns such a pass into a plain Yes
    reservation: str | None = None


class NotAssessed(Exception):
    """Raised by a check whose data cannot answer its question."""

    def __init__(self, kind: ReasonKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class CheckContext:
    snapshot: Snapshot
    thresholds: Thresholds
    attestations: tuple[Attestation, ...]
    lifecycle: LifecycleTable

    @property
    def now(self) -> datetime:
        """The scan's collection time: every age is measured against it, never against the wall clock."""
        return self.snapshot.collected_at

    def attested_outcome(self) -> Outcome | None:
        """A pass resting on the organisation's active attestations for this check, labelled attested; or None."""
        if not self.attestations:
            return None
        latest = max(self.attestations, key=lambda a: a.date)
        return Outcome(
            assessed=1,
            basis="attested",
            note=f"{latest.statement} (attested by {latest.attested_by} on {latest.date.isoformat()})",
            attestation_ids=tuple(a.id or "" for a in self.attestations),
        )

    def of(self, kind: type[PlatformDataT]) -> PlatformDataT:
        """The snapshot's data of the platform whose model is ``kind`` (e.g. ``ctx.of(M365Data)``): the one accessor
        every platform's checks use, so a new platform needs no change here. The engine only runs a platform's
        checks when the platform was scanned."""
        for name in type(self.snapshot).model_fields:
            value = getattr(self.snapshot, name)
            if isinstance(value, kind):
                return value
        raise AssertionError(f"no {kind.__name__} in the snapshot: the engine runs a platform's checks only once read")

    @property
    def m365(self) -> M365Data:
        """The snapshot's Microsoft 365 data (``of(M365Data)``)."""
        return self.of(M365Data)

    @property
    def google(self) -> GoogleData:
        """The snapshot's Google Workspace data (``of(GoogleData)``)."""
        return self.of(GoogleData)

    @property
    def aws(self) -> AwsData:
        """The snapshot's AWS data (``of(AwsData)``)."""
        return self.of(AwsData)


CheckFunction = Callable[[CheckContext], Outcome]


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str
    area: Area
    platform: str
    severity: Severity
    requires: tuple[str, ...]
    remediation: str
    references: tuple[str, ...] = ()
    #: framework name -> control ids; merged with policies/frameworks/mappings.yaml by the registry
    frameworks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: least-privilege permissions (and licences) the data needs, for `hygiene permissions`
    permissions: tuple[str, ...] = ()
    #: a sentence on what passing means, shown in `hygiene checks show`
    description: str = ""
    #: datasets (often of another platform, e.g. ``m365.users`` for an Azure check) the check reads when they were
    #: collected and judges without otherwise (saying what it could not see); unlike ``requires``, their absence
    #: never makes the check not_assessed. A scan of selected checks reads them when their platform is configured.
    optional: tuple[str, ...] = ()
    #: the failing result in plain words for a business owner, formatted with {open} (failing resources not
    #: risk-accepted), {assessed} and {accepted}; e.g. "{open} of {assessed} staff can sign in without MFA"
    summary: str = ""


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    run: CheckFunction
    origin: str  # where it was loaded from: "builtin", a folder, or an entry point


_META_ATTRIBUTE = "__hygiene_check__"


def check(
    *,
    id: str,
    title: str,
    area: Area,
    platform: str,
    severity: Severity,
    requires: tuple[str, ...],
    remediation: str,
    references: tuple[str, ...] = (),
    frameworks: Mapping[str, tuple[str, ...]] | None = None,
    permissions: tuple[str, ...] = (),
    description: str = "",
    summary: str = "",
    optional: tuple[str, ...] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check. The function is returned unchanged, with its metadata attached."""
    if area not in AREAS:
        raise ValueError(f"check {id}: area must be one of {', '.join(AREAS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"check {id}: severity must be one of {', '.join(SEVERITIES)}")
    meta = CheckMeta(
        id=id,
        title=title,
        area=area,
        platform=platform,
        severity=severity,
        requires=tuple(requires),
        remediation=remediation,
        references=tuple(references),
        frameworks=dict(frameworks or {}),
        permissions=tuple(permissions),
        description=description,
        summary=summary,
        optional=tuple(optional),
    )

    def decorate(fn: CheckFunction) -> CheckFunction:
        setattr(fn, _META_ATTRIBUTE, meta)
        return fn

    return decorate


def check_meta_of(obj: object) -> CheckMeta | None:
    meta = getattr(obj, _META_ATTRIBUTE, None)
    return meta if isinstance(meta, CheckMeta) else None
