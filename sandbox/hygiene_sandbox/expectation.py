"""What a sandbox scenario expects a correct scan to report for each check, shared by the scenarios of every
platform (a leaf of the sandbox: the Microsoft 365, Google and AWS scenarios all import it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JsonDict = dict[str, Any]
Status = Literal["pass", "fail", "not_assessed"]


@dataclass
class Expectation:
    """What a full scan must report for one check: the status and the names of the failing resources."""

    status: Status
    resources: set[str] = field(default_factory=set)

    def to_json(self) -> JsonDict:
        return {"status": self.status, "resources": sorted(self.resources)}

    @classmethod
    def from_json(cls, raw: JsonDict) -> Expectation:
        status = raw["status"]
        if status not in ("pass", "fail", "not_assessed"):
            raise ValueError(f"bad expectation status {status!r}")
        return cls(status=status, resources=set(raw.get("resources") or []))


def passes() -> Expectation:
    return Expectation("pass")


def fails(*resources: str) -> Expectation:
    return Expectation("fail", set(resources))


def not_assessed() -> Expectation:
    return Expectation("not_assessed")
