"""The Azure source: the subscription list, then one paged Resource Graph query per table over the subscriptions in
scope (``resources``: machines and vaults; ``recoveryservicesresources``: backup items and jobs;
``dataprotectionresources``: Backup vault backup instances and jobs;
``patchassessmentresources`` and ``patchinstallationresources``: Update Manager assessments and installation runs;
``authorizationresources``: role assignments), read side by side and joined in Python by the checks.

Scope: the configured ``subscriptions`` or, by default, every subscription the app can read. A configured
subscription the app cannot read, or one listed in a state hygiene does not know, is a gap of every dataset
(checks then never pass); a Disabled or Deleted subscription is named as not scanned.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from azure.core.credentials import TokenCredential
from azure.identity import CertificateCredential, ClientSecretCredential
from hygiene.config import AzureConfig
from hygiene.model import (
    AzureData,
    AzureGap,
    AzureSubscription,
    AzureSubscriptionNotScanned,
    DatasetState,
    ReasonKind,
    SourceRun,
)
from hygiene.sources.azure import rows
from hygiene.sources.azure.catalogue import DATASETS, READER
from hygiene.sources.azure.client import ArmClient
from hygiene.sources.interface import Collected, RawRecorder, Source, Unavailable, not_selected
from hygiene.sources.retry import RetryPolicy

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
#: subscription states in which the subscription is read (``SubscriptionState`` in the 2022-12-01 specification)
SCANNED_STATES = frozenset({"enabled", "warned", "pastdue"})
#: states in which nothing in it can be used: named as not scanned
UNUSABLE_STATES = frozenset({"disabled", "deleted"})
#: the datasets read per subscription through Resource Graph
SCOPED = (
    "azure.machines",
    "azure.vaults",
    "azure.backup",
    "azure.dataprotection",
    "azure.patch",
    "azure.patch_installations",
    "azure.rbac",
)


class AzureSource(Source[AzureData]):
    platform = "azure"

    def __init__(
        self,
        config: AzureConfig,
        environ: dict[str, str] | None = None,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.environ = dict(os.environ if environ is None else environ)
        self.policy = policy or RetryPolicy()
        self.sleep = sleep

    # -- credentials ------------------------------------------------------------------------------------
    def credential(self) -> TokenCredential:
        """The app's credential (``azure-identity``), its token requests only to ``authority_host``."""
        authority = self.config.authority_host.rstrip("/")
        options: dict[str, Any] = {
            "authority": authority,
            "disable_instance_discovery": authority != DEFAULT_AUTHORITY,
            "connection_verify": str(self.config.ca_bundle) if self.config.ca_bundle else True,
        }
        if self.config.certificate_file is not None:
            try:
                return CertificateCredential(
                    self.config.tenant_id,
                    self.config.client_id,
                    certificate_path=str(self.config.certificate_file),
                    **options,
                )
            except (ValueError, OSError) as exc:
                raise Unavailable(
                    ReasonKind.ERROR,
                    f"{self.config.certificate_file}: expected a PEM holding an unencrypted private key and its "
                    f"certificate ({' '.join(str(exc).split())[:200]})",
                ) from None
        name = self.config.client_secret_env or ""
        secret = self.environ.get(name)
        if not secret:
            raise Unavailable(ReasonKind.ERROR, f"environment variable {name} (client_secret_env) is not set")
        return ClientSecretCredential(self.config.tenant_id, self.config.client_id, secret, **options)

    # -- collection -------------------------------------------------------------------------------------
    def collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[AzureData]:
        started = datetime.now(UTC)
        data = AzureData()
        states: dict[str, DatasetState] = {}
        client: ArmClient | None = None
        try:
            client = ArmClient(
                self.credential(),
                self.config.management_url,
                raw,
                str(self.config.ca_bundle) if self.config.ca_bundle else None,
                self.policy,
                self.sleep,
            )
            listed = client.subscriptions()
        except Unavailable as missing:
            states = {d.name: missing.state() for d in DATASETS}
        else:
            states["azure.subscriptions"] = DatasetState(available=True, records=len(listed), endpoint="/subscriptions")
            scope = self._scope(listed, data)
            states.update(self._read(client, scope, data, datasets))
        finally:
            if client is not None:
                client.close()
        scope_note = self._scope_note(data)
        for name in SCOPED:
            if states[name].available and scope_note:
                states[name].scope = scope_note
        run = SourceRun(
            platform=self.platform,
            status=self.summarise_status(states),
            started_at=started,
            finished_at=datetime.now(UTC),
            scope={
                "tenant": self.config.tenant_id,
                "subscriptions": ", ".join(s.id for s in data.subscriptions) or "none",
            },
            requests=raw.count,
            errors=[f"{n}: {s.reason}" for n, s in states.items() if not s.available and s.reason],
            endpoints=[self.config.management_url],
            datasets=states,
        )
        return Collected(run, data)

    def _scope(self, listed: list[dict[str, Any]], data: AzureData) -> list[str]:
        """The subscription ids to query; fills ``data.subscriptions``, ``not_scanned`` and the gaps."""
        by_id = {str(s.get("subscriptionId") or "").lower(): s for s in listed if s.get("subscriptionId")}
        wanted = [s.lower() for s in self.config.subscriptions] or list(by_id)
        scope: list[str] = []
        for sub_id in wanted:
            entry = by_id.get(sub_id)
            if entry is None:
                reason = f"subscription {sub_id} is configured but the app cannot read it"
                data.not_scanned.append(AzureSubscriptionNotScanned(subscription_id=sub_id, reason=reason))
                self._gap(data, sub_id, ReasonKind.PERMISSION, reason + f" (grant {READER} on it)")
                continue
            name = str(entry.get("displayName") or "")
            state = entry.get("state") if isinstance(entry.get("state"), str) else None
            key = (state or "").lower()
            if key in SCANNED_STATES:
                data.subscriptions.append(AzureSubscription(id=str(entry["subscriptionId"]), name=name, state=state))
                scope.append(str(entry["subscriptionId"]))
            elif key in UNUSABLE_STATES:
                data.not_scanned.append(
                    AzureSubscriptionNotScanned(
                        subscription_id=str(entry["subscriptionId"]),
                        name=name,
                        state=state,
                        reason=f"the subscription is {state}: nothing in it can be used",
                    )
                )
            else:
                reason = f"subscription {sub_id} is in state {state or 'unknown'}, which hygiene does not know"
                data.not_scanned.append(
                    AzureSubscriptionNotScanned(subscription_id=sub_id, name=name, state=state, reason=reason)
                )
                self._gap(data, sub_id, ReasonKind.API_GAP, reason)
        return scope

    @staticmethod
    def _gap(data: AzureData, sub_id: str, kind: ReasonKind, reason: str) -> None:
        needs = [READER] if kind is ReasonKind.PERMISSION else []
        data.gaps.extend(
            AzureGap(dataset=name, subscription_id=sub_id, reason_kind=kind, reason=reason, needs=needs)
            for name in SCOPED
        )

    def _read(
        self, client: ArmClient, scope: list[str], data: AzureData, selected: frozenset[str] | None = None
    ) -> dict[str, DatasetState]:
        """The six tables, each one paged query, read side by side (paging within a table is sequential); with
        ``selected`` (a partial scan), only the tables holding a selected dataset."""
        if not scope:
            reason = "no subscription to read: the app can read none in an active state"
            gap = Unavailable(ReasonKind.PERMISSION, reason, (READER,)).state()
            return {name: gap.model_copy() for name in SCOPED}

        def machines_and_vaults() -> dict[str, DatasetState]:
            data.machines, data.vaults = rows.resources(client.query(rows.RESOURCES_QUERY, scope))
            return {
                "azure.machines": DatasetState(available=True, records=len(data.machines), endpoint="resources"),
                "azure.vaults": DatasetState(available=True, records=len(data.vaults), endpoint="resources"),
            }

        def backup() -> dict[str, DatasetState]:
            data.backup_items, data.backup_jobs = rows.backup(client.query(rows.BACKUP_QUERY, scope))
            records = len(data.backup_items) + len(data.backup_jobs)
            return {"azure.backup": DatasetState(available=True, records=records, endpoint="recoveryservicesresources")}

        # Backup vault instances and jobs join the Recovery Services ones once every table is read (the order of the
        # lists then does not depend on which thread finished first)
        backup_vault: dict[str, Any] = {}

        def dataprotection() -> dict[str, DatasetState]:
            items, jobs = rows.dataprotection(client.query(rows.DATAPROTECTION_QUERY, scope))
            backup_vault.update(items=items, jobs=jobs)
            return {
                "azure.dataprotection": DatasetState(
                    available=True, records=len(items) + len(jobs), endpoint="dataprotectionresources"
                )
            }

        def patch() -> dict[str, DatasetState]:
            data.patch_assessments, data.missing_patches = rows.patches(client.query(rows.PATCH_QUERY, scope))
            records = len(data.patch_assessments)
            return {"azure.patch": DatasetState(available=True, records=records, endpoint="patchassessmentresources")}

        def installations() -> dict[str, DatasetState]:
            data.patch_installations = rows.installations(client.query(rows.INSTALLATION_QUERY, scope))
            return {
                "azure.patch_installations": DatasetState(
                    available=True, records=len(data.patch_installations), endpoint="patchinstallationresources"
                )
            }

        def rbac() -> dict[str, DatasetState]:
            data.role_assignments = rows.role_assignments(client.query(rows.RBAC_QUERY, scope))
            records = len(data.role_assignments)
            return {"azure.rbac": DatasetState(available=True, records=records, endpoint="authorizationresources")}

        tables: tuple[tuple[Callable[[], dict[str, DatasetState]], tuple[str, ...]], ...] = (
            (machines_and_vaults, ("azure.machines", "azure.vaults")),
            (backup, ("azure.backup",)),
            (dataprotection, ("azure.dataprotection",)),
            (patch, ("azure.patch",)),
            (installations, ("azure.patch_installations",)),
            (rbac, ("azure.rbac",)),
        )
        states: dict[str, DatasetState] = {}
        if selected is not None:
            for _, names in tables:
                if not set(names) & selected:
                    states.update({name: not_selected() for name in names})
            tables = tuple((read, names) for read, names in tables if set(names) & selected)
        with ThreadPoolExecutor(max_workers=max(1, len(tables)), thread_name_prefix="azure") as pool:
            futures = [(pool.submit(read), names) for read, names in tables]
            for future, names in futures:
                try:
                    states.update(future.result())
                except Unavailable as missing:
                    states.update({name: missing.state() for name in names})
        data.backup_items += backup_vault.get("items", [])
        data.backup_jobs += backup_vault.get("jobs", [])
        return states

    @staticmethod
    def _scope_note(data: AzureData) -> str | None:
        if not data.not_scanned:
            return None
        names = ", ".join(f"{s.name or s.subscription_id} ({s.state or 'not readable'})" for s in data.not_scanned)
        return f"subscriptions read: {len(data.subscriptions)}; not scanned: {names}"
