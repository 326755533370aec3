"""An organisation's Azure side for the sandbox: its subscriptions and the rows of the Resource Graph tables the
fake Azure Resource Manager (``hygiene_sandbox.azure_arm``) serves, with what a correct scan must report."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hygiene_sandbox.expectation import Expectation, JsonDict

#: the Resource Graph tables the sandbox serves
TABLES = (
    "resources",
    "recoveryservicesresources",
    "dataprotectionresources",
    "patchassessmentresources",
    "patchinstallationresources",
    "authorizationresources",
)


@dataclass
class AzureSubscriptionSpec:
    subscription_id: str
    display_name: str
    #: ``SubscriptionState``: Enabled, Warned, PastDue, Disabled, Deleted
    state: str = "Enabled"
    #: the app holds Reader on it (else ARM does not list it and Resource Graph returns none of its rows)
    reader: bool = True

    def arm(self, tenant_id: str) -> JsonDict:
        """The subscription as ``GET /subscriptions`` lists it (2022-12-01)."""
        return {
            "id": f"/subscriptions/{self.subscription_id}",
            "subscriptionId": self.subscription_id,
            "tenantId": tenant_id,
            "displayName": self.display_name,
            "state": self.state,
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "tags": {},
        }


@dataclass
class AzureScenario:
    tenant_id: str
    subscriptions: list[AzureSubscriptionSpec] = field(default_factory=list)
    #: table name -> rows as Resource Graph stores them (``id``, ``name``, ``type``, ``subscriptionId``, ...,
    #: ``properties``); the fake projects them as each query says
    tables: dict[str, list[JsonDict]] = field(default_factory=lambda: {t: [] for t in TABLES})
    #: rows per Resource Graph page at most (below ``$top`` to exercise paging on small data)
    page_limit: int = 1000
    #: subscriptions per ``GET /subscriptions`` page
    subscription_page_size: int = 100
    #: the origin (``https://host``) the subscription list's ``nextLink`` points to; None: the sandbox itself. Another
    #: origin plays an answer sending the bearer token elsewhere: the source must refuse to follow it
    subscription_next_link_origin: str | None = None
    #: Resource Graph queries per window before 429, and the window (the documented example: 15 per 5 seconds)
    quota: int = 15
    quota_window_seconds: float = 5.0
    expected: dict[str, Expectation] = field(default_factory=dict)
    #: the expectations that differ when Azure is scanned without Microsoft 365 (no directory to join with)
    expected_alone: dict[str, Expectation] = field(default_factory=dict)

    def readable(self) -> set[str]:
        return {s.subscription_id.lower() for s in self.subscriptions if s.reader}

    def to_json(self) -> JsonDict:
        raw = dataclasses.asdict(self)
        raw["expected"] = {k: v.to_json() for k, v in sorted(self.expected.items())}
        raw["expected_alone"] = {k: v.to_json() for k, v in sorted(self.expected_alone.items())}
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AzureScenario:
        values = dict(raw)
        values["subscriptions"] = [AzureSubscriptionSpec(**s) for s in raw.get("subscriptions") or []]
        for name in ("expected", "expected_alone"):
            values[name] = {k: Expectation.from_json(v) for k, v in (raw.get(name) or {}).items()}
        return cls(**values)
