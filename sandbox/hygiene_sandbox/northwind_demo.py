"""Northwind as ``hygiene demo`` shows it: the same practice, a few months into tidying up.

The test organisation (``northwind``, ``northwind_aws``) plants a defect under every check, so that each check's
failing path is exercised end to end; scanned as it is, every check fails, and a first report of nothing but
failures says little about what good looks like. The demo's Northwind has fixed a few things since (the stories
below), so the report shows contrast: some checks pass, most still fail, one risk is accepted
(:data:`ACCEPTED_RISK`, written to the demo's exceptions file), Google backup stays not assessed (no API) and so
does Azure patching (what was seen passes, one machine was never assessed).

The fixes are applied to the built scenarios (copies; the test organisation is untouched), each by the vendor
objects' own fields. :data:`DEMO_STATUSES` is the hand-written status of every check in the demo's report: the
oracle of the demo's end-to-end test, independent of the scanner.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hygiene_sandbox.scenario import Scenario, stable_id

if TYPE_CHECKING:
    from hygiene_sandbox.aws import AwsScenario

#: the check whose failure the practice has knowingly accepted, and the exceptions file entry that says so
ACCEPTED_CHECK = "m365.licences.unused"
ACCEPTED_RISK = """\
# Written by `hygiene demo`: Northwind's accepted risks (an exceptions file; see docs/policies.md).
exceptions:
  - id: RISK-001
    check: m365.licences.unused
    reason: >-
      Annual Microsoft 365 commitment: the unused licences cannot be cancelled before the renewal date, when they
      are dropped.
    owner: helen.price@northwind.example
    approved_by: Dr Priya Shah (practice owner)
    expires: {expires}
"""

#: every check's status in the demo's report (with AWS), hand-written: what the planted data must produce
DEMO_STATUSES: dict[str, str] = {
    # fixed since the test organisation's state: pass
    "m365.mfa.legacy_auth_blocked": "pass",  # CA005 switched from report-only to on
    "gws.accounts.admin_count": "pass",  # Sarah Whitaker made the second super admin
    "aws.root.mfa": "pass",  # the dev account's root user got an MFA device
    "aws.root.access_keys": "pass",  # ... and its forgotten access key was deleted
    "aws.rds.backup_retention": "pass",  # every database keeps 7 days of automated backups
    "azure.backup.vault_immutable": "pass",  # the Recovery Services vault's immutability locked
    "azure.backup.restore_tested": "pass",  # a test restore of the file server last week
    "m365.apps.user_consent": "pass",  # users consent only to low-risk permissions from verified publishers
    "m365.devices.encrypted": "pass",  # every Intune device encrypted
    # knowingly accepted
    ACCEPTED_CHECK: "accepted",
    # no API: an attestation would answer it
    "gws.backup.configured": "not_assessed",
    # what was seen passes (the AVD host's one update is recent, within the patch window), but one machine was
    # never assessed: not a pass
    "azure.patch.missing": "not_assessed",
    # still to do: fail
    "m365.mfa.registered": "fail",
    "m365.mfa.enforced": "fail",
    "m365.mfa.admins": "fail",
    "m365.accounts.inactive": "fail",
    "m365.accounts.guests_inactive": "fail",
    "m365.accounts.admin_count": "fail",
    "m365.backup.enabled": "fail",  # turned off since the earlier scan: the report's change over time
    "m365.devices.os_supported": "fail",
    "m365.devices.patch_current": "fail",
    "gws.mfa.enrolled": "fail",
    "gws.mfa.enforced": "fail",
    "gws.mfa.admins": "fail",
    "gws.accounts.inactive": "fail",
    "gws.devices.os_supported": "fail",
    "gws.devices.patch_current": "fail",
    "aws.iam.console_mfa": "fail",
    "aws.iam.inactive_users": "fail",
    "aws.iam.access_key_age": "fail",
    "aws.iam.unused_access_keys": "fail",
    "aws.backup.coverage": "fail",
    "aws.backup.job_failures": "fail",
    "aws.backup.vault_immutable": "fail",
    "aws.backup.restore_tested": "fail",
    "aws.patch.ssm_managed": "fail",
    "aws.patch.compliance": "fail",
    "azure.backup.coverage": "fail",
    "azure.backup.job_failures": "fail",
    "azure.patch.assessed": "fail",
    "azure.rbac.owners": "fail",
    "azure.mfa.management": "fail",
    "azure.patch.installations": "fail",
    "azure.patch.os_supported": "fail",
    "gws.devices.encrypted": "fail",
    "m365.admins.break_glass": "fail",  # one of the two declared accounts is synchronised, SMS only, used daily
    "m365.apps.high_privilege": "fail",
    "m365.devices.edr_active": "fail",
    "m365.devices.vulnerabilities": "fail",
    "email.spf": "fail",
    "email.dmarc": "fail",
    "email.dkim": "fail",
}


def accepted_risk(now: datetime) -> str:
    """The demo's exceptions file: the accepted risk expires at the licences' renewal, 60 days on."""
    return ACCEPTED_RISK.format(expires=(now + timedelta(days=60)).date().isoformat())


def tidy_northwind(scenario: Scenario) -> Scenario:
    """A copy of the Microsoft 365 / Google / Azure scenario with the demo's fixes applied."""
    tidy = copy.deepcopy(scenario)
    for policy in tidy.ca_policies:
        if str(policy.get("displayName", "")).startswith("CA005"):
            policy["state"] = "enabled"  # block legacy authentication: on, no longer report-only
    # users may consent only to low-risk permissions from verified publishers (Microsoft's recommended setting)
    tidy.user_consent_policies = ["ManagePermissionGrantsForSelf.microsoft-user-default-low"]
    for device in tidy.managed_devices:
        device["isEncrypted"] = True  # BitLocker on the partner's laptop; the old phone replaced by an encrypted one
    if tidy.google is not None:
        for user in tidy.google.users:
            if str(user.get("primaryEmail", "")).startswith("sarah.whitaker@"):
                user["isAdmin"] = True
                user["isEnrolledIn2Sv"] = True
    if tidy.azure is not None:
        _tidy_azure(tidy, tidy.now)
    return tidy


def _tidy_azure(tidy: Scenario, now: datetime) -> None:
    assert tidy.azure is not None
    # the test organisation pages Resource Graph every 4 rows (paging always exercised), which runs into the
    # documented quota (15 queries per 5 s) and waits; the demo's pages are Resource Graph's own size (1,000)
    tidy.azure.page_limit = 1000
    tables = tidy.azure.tables
    for row in tables.get("resources", []):
        if row.get("type") == "microsoft.recoveryservices/vaults":
            row["properties"]["securitySettings"]["immutabilitySettings"]["state"] = "Locked"
    for row in tables.get("patchassessmentresources", []):
        if str(row.get("type", "")).endswith("/softwarepatches"):
            row["properties"]["publishedDateTime"] = _iso(now - timedelta(days=4))
    jobs = tables.get("recoveryservicesresources", [])
    template = next(row for row in jobs if str(row.get("type", "")).endswith("/backupjobs"))
    restore = copy.deepcopy(template)
    name = stable_id("backup-job", "demo-restore-test")
    restore["id"] = str(template["id"]).rsplit("/", 1)[0] + "/" + name
    restore["name"] = name
    started = now - timedelta(days=6)
    restore["properties"].update(
        operation="Restore",
        status="Completed",
        entityFriendlyName="vm-fileserver",
        startTime=_iso(started),
        endTime=_iso(started + timedelta(hours=2)),
    )
    jobs.append(restore)


def tidy_aws(scenario: AwsScenario) -> AwsScenario:
    """A copy of the AWS scenario with the demo's fixes applied."""
    tidy = copy.deepcopy(scenario)
    for account in tidy.accounts:
        if account.root.password:  # a root user with credentials (not centralised root access)
            account.root.mfa_active = True
            account.root.access_keys = []
        for database in account.db_instances:
            database.backup_retention_period = max(database.backup_retention_period, 7)
        for cluster in account.db_clusters:
            cluster.backup_retention_period = max(cluster.backup_retention_period, 7)
    return tidy


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
