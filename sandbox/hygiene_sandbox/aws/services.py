"""The operations the sandbox answers itself, because moto does not implement them (or not faithfully):

- IAM ``GenerateCredentialReport`` / ``GetCredentialReport`` (moto's report has no root row and a fixed time) and
  ``GetAccountSummary`` (moto always says the root user has no MFA);
- AWS Backup ``ListProtectedResources``, ``ListRecoveryPointsByBackupVault``, ``ListBackupJobs``,
  ``ListRestoreTestingPlans``, ``ListRestoreTestingSelections``, ``ListRestoreJobs``;
- SSM ``DescribeInstanceInformation`` and ``DescribeInstancePatchStates``.

Shapes come from the botocore models; every JSON answer is checked against its output shape before it is sent.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hygiene_sandbox.aws.iam import account_summary, credential_report_csv
from hygiene_sandbox.aws.scenario import (
    Account,
    AwsScenario,
    BackupJob,
    ManagedInstance,
    PatchState,
    ProtectedResource,
    RecoveryPoint,
    RestoreJob,
    RestoreTestingPlan,
)
from hygiene_sandbox.aws.wire import (
    Call,
    Reply,
    ServiceError,
    check_output,
    ec2_reply,
    fingerprint,
    json_reply,
    page,
    parse_input,
    query_reply,
    validate_ranges,
    xml_element,
)

#: AWS Backup keeps backup job history for 30 days
#: (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupJobs.html)
BACKUP_JOB_HISTORY = timedelta(days=30)
#: IAM builds at most one credential report every four hours
#: (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html)
REPORT_LIFETIME = timedelta(hours=4)
#: the newest SSM Agent version the scenarios know of (older agents report IsLatestVersion false)
LATEST_AGENT = "3.3.1142.0"

#: page sizes used when the caller gives no MaxResults. AWS documents only the ranges (Backup 1-1000, SSM
#: DescribeInstanceInformation 5-50, DescribeInstancePatchStates 10-100); these defaults are the sandbox's choice
DEFAULT_PAGE = {
    "ListProtectedResources": 1000,
    "ListRecoveryPointsByBackupVault": 1000,
    "ListRestoreTestingSelections": 1000,
    "ListBackupJobs": 1000,
    "ListRestoreTestingPlans": 1000,
    "ListRestoreJobs": 1000,
    "DescribeInstanceInformation": 10,
    "DescribeInstancePatchStates": 10,
}


#: regions AWS enables by default (opt-in-not-required) and regions that must be opted in to, as DescribeRegions
#: reports them (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html); the sandbox lists
#: only an account's ``enabled`` regions unless AllRegions is asked for
DEFAULT_REGIONS = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1",
    "us-east-2", "us-west-1", "us-west-2",
)  # fmt: skip
OPT_IN_REGIONS = (
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1", "eu-central-2",
    "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
)  # fmt: skip
KNOWN_REGIONS = DEFAULT_REGIONS + OPT_IN_REGIONS


def _opt_in(region: str, enabled: bool) -> str:
    """DescribeRegions ``OptInStatus``: opt-in-not-required | opted-in | not-opted-in (ec2 model, Region)."""
    if region not in OPT_IN_REGIONS:
        return "opt-in-not-required"
    return "opted-in" if enabled else "not-opted-in"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "hygiene-aws-sandbox/" + "/".join(parts)))


def vault_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account_id}:backup-vault:{name}"


def recovery_point_arn(account_id: str, region: str, resource_type: str, seed: str) -> str:
    """A recovery point ARN. EFS and DynamoDB recovery points are Backup's own,
    ``arn:aws:backup:<region>:<account>:recovery-point:<UUID>`` (the example in
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartBackupJob.html); EC2 backups are AMIs, EBS
    backups snapshots and RDS backups ``awsbackup:`` snapshots (their usual forms, not checked against the docs)."""
    digest = _uuid(account_id, region, seed).replace("-", "")
    if resource_type == "EC2":
        return f"arn:aws:ec2:{region}::image/ami-{digest[:17]}"
    if resource_type == "EBS":
        return f"arn:aws:ec2:{region}::snapshot/snap-{digest[:17]}"
    if resource_type == "RDS":
        return f"arn:aws:rds:{region}:{account_id}:snapshot:awsbackup:job-{_uuid(seed)}"
    return f"arn:aws:backup:{region}:{account_id}:recovery-point:{_uuid(account_id, region, seed).upper()}"


def restore_testing_plan_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account_id}:restore-testing-plan:{name}-{_uuid(account_id, region, name)}"


class OwnApi:
    """The sandbox's own implementation of the operations listed in the module docstring."""

    def __init__(self, scenario: AwsScenario, *, report_delay: float = 0.0) -> None:
        self.scenario = scenario
        #: seconds between GenerateCredentialReport's STARTED and the report being ready
        self.report_delay = report_delay
        self._lock = threading.Lock()
        self._generated: dict[str, datetime] = {}
        self._content: dict[str, str] = {}
        #: account id -> the report built by prepare()
        self._prepared: dict[str, str] = {}
        self._handlers: dict[tuple[str, str], Callable[[Call, Account, str], Reply]] = {
            ("iam", "GenerateCredentialReport"): self.generate_credential_report,
            ("iam", "GetCredentialReport"): self.get_credential_report,
            ("iam", "GetAccountSummary"): self.get_account_summary,
            ("iam", "ListOrganizationsFeatures"): self.list_organizations_features,
            ("ec2", "DescribeRegions"): self.describe_regions,
            ("backup", "ListProtectedResources"): self.list_protected_resources,
            ("backup", "ListRecoveryPointsByBackupVault"): self.list_recovery_points_by_backup_vault,
            ("backup", "ListRestoreTestingSelections"): self.list_restore_testing_selections,
            ("backup", "ListBackupJobs"): self.list_backup_jobs,
            ("backup", "ListRestoreTestingPlans"): self.list_restore_testing_plans,
            ("backup", "ListRestoreJobs"): self.list_restore_jobs,
            ("ssm", "DescribeInstanceInformation"): self.describe_instance_information,
            ("ssm", "DescribeInstancePatchStates"): self.describe_instance_patch_states,
        }

    def prepare(self) -> None:
        """Build every account's credential report now (the sandbox calls this before it serves): a report is
        rebuilt from the account on each new generation, and the scenario's accounts do not change while the
        sandbox serves, so this only moves the work (0.1 s per 10,000 users) out of the requests. AWS builds the
        report on its side, between ``STARTED`` and ``COMPLETE``; the sandbox shares the scanner's machine."""
        for account in self.scenario.accounts:
            content = self._report_content(account)
            with self._lock:
                self._prepared[account.account_id] = content

    def _report_content(self, account: Account) -> str:
        with self._lock:
            content = self._content.get(account.account_id) or self._prepared.get(account.account_id)
        if content is None:
            content = base64.b64encode(credential_report_csv(account)).decode()
        with self._lock:
            self._content[account.account_id] = content
        return content

    @property
    def operations(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._handlers)

    def handles(self, service: str, operation: str) -> bool:
        return (service, operation) in self._handlers

    def serve(self, call: Call, account: Account, region: str) -> Reply:
        assert call.operation is not None
        return self._handlers[(call.service, call.operation)](call, account, region)

    @staticmethod
    def _json(call: Call, data: dict[str, Any]) -> Reply:
        assert call.operation is not None
        check_output(call.service, call.operation, data)
        return json_reply(call.service, data)

    # -- IAM -------------------------------------------------------------------------------------------------
    def generate_credential_report(self, call: Call, account: Account, region: str) -> Reply:
        """STARTED on the first call (and when the last report is over four hours old), COMPLETE afterwards
        (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateCredentialReport.html)."""
        now = datetime.now(UTC)
        with self._lock:
            generated = self._generated.get(account.account_id)
            if generated is None or now - generated > REPORT_LIFETIME:
                self._generated[account.account_id] = now
                self._content.pop(account.account_id, None)
                result = xml_element("State", "STARTED") + xml_element(
                    "Description", "No report exists. Starting a new report generation task"
                )
            elif now < generated + timedelta(seconds=self.report_delay):
                result = xml_element("State", "INPROGRESS")
            else:
                result = xml_element("State", "COMPLETE")
        return query_reply("iam", "GenerateCredentialReport", result)

    def get_credential_report(self, call: Call, account: Account, region: str) -> Reply:
        now = datetime.now(UTC)
        with self._lock:
            generated = self._generated.get(account.account_id)
        if generated is None:
            raise ServiceError(
                "ReportNotPresent",
                "Credential report is not present. To generate a credential report, use GenerateCredentialReport.",
                410,
            )
        if now < generated + timedelta(seconds=self.report_delay):
            raise ServiceError("ReportInProgress", "Credential report is being generated.", 404)
        if now - generated > REPORT_LIFETIME:
            raise ServiceError("ReportExpired", "Credential report has expired.", 410)
        content = self._report_content(account)
        result = (
            xml_element("Content", content)
            + xml_element("ReportFormat", "text/csv")
            + xml_element("GeneratedTime", generated)
        )
        return query_reply("iam", "GetCredentialReport", result)

    def get_account_summary(self, call: Call, account: Account, region: str) -> Reply:
        entries = "".join(
            f"<entry>{xml_element('key', key)}{xml_element('value', value)}</entry>"
            for key, value in account_summary(account).items()
        )
        return query_reply("iam", "GetAccountSummary", f"<SummaryMap>{entries}</SummaryMap>")

    def list_organizations_features(self, call: Call, account: Account, region: str) -> Reply:
        """Centralised root access features, answered to the management account only
        (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html)."""
        scenario = self.scenario
        if account.account_id != scenario.management_account_id:
            raise ServiceError(
                "AccountNotManagementOrDelegatedAdministratorException",
                "The request was rejected because the account making the request is not the management account or "
                "delegated administrator account for centralized root access.",
            )
        if scenario.root_access_features is None:
            raise ServiceError(
                "ServiceAccessNotEnabledException",
                "The request was rejected because trusted access is not enabled for IAM in Organizations.",
            )
        members = "".join(xml_element("member", f) for f in scenario.root_access_features)
        result = (
            xml_element("OrganizationId", scenario.organization_id) + f"<EnabledFeatures>{members}</EnabledFeatures>"
        )
        return query_reply("iam", "ListOrganizationsFeatures", result)

    # -- EC2 -----------------------------------------------------------------------------------------------------
    def describe_regions(self, call: Call, account: Account, region: str) -> Reply:
        """The account's enabled regions (``Account.enabled``), or with ``AllRegions`` every region the sandbox
        knows, the others ``not-opted-in``; ``RegionName.N`` and the ``region-name`` / ``opt-in-status`` /
        ``endpoint`` filters as documented (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html)."""
        form = call.form
        enabled = account.enabled
        everything = (form.get("AllRegions") or ["false"])[0].lower() == "true"
        names = [v[0] for k, v in sorted(form.items()) if k.startswith("RegionName.")]
        known = list(dict.fromkeys([*enabled, *KNOWN_REGIONS]))
        rows = [
            (name, f"ec2.{name}.amazonaws.com", _opt_in(name, name in enabled))
            for name in known
            if everything or names or name in enabled
        ]
        if names:
            rows = [r for r in rows if r[0] in names]
        filters: dict[str, set[str]] = {}
        for key, value in form.items():
            if key.startswith("Filter.") and key.endswith(".Name"):
                index = key.split(".")[1]
                values = {v[0] for k, v in form.items() if k.startswith(f"Filter.{index}.Value.")}
                filters.setdefault(value[0], set()).update(values)
        column = {"region-name": 0, "endpoint": 1, "opt-in-status": 2}
        for name, values in filters.items():
            if name not in column:
                raise ServiceError("InvalidParameterValue", f"The filter '{name}' is invalid")
            rows = [r for r in rows if r[column[name]] in values]
        items = "".join(
            "<item>"
            + xml_element("regionName", n)
            + xml_element("regionEndpoint", e)
            + xml_element("optInStatus", o)
            + "</item>"
            for n, e, o in rows
        )
        return ec2_reply("DescribeRegions", f"<regionInfo>{items}</regionInfo>")

    # -- AWS Backup ------------------------------------------------------------------------------------------
    def _paged(self, call: Call, params: Mapping[str, Any], items: list[Any], key: str, token_error: str) -> Reply:
        assert call.operation is not None
        validate_ranges(call, params)
        chunk, token = page(
            items,
            params,
            default=DEFAULT_PAGE[call.operation],
            fingerprint=fingerprint(params),
            token_error=token_error,
        )
        data: dict[str, Any] = {key: chunk}
        if token:
            data["NextToken"] = token
        return self._json(call, data)

    def _protected(self, account: Account, resource: ProtectedResource) -> dict[str, Any]:
        return {
            "ResourceArn": resource.arn,
            "ResourceType": resource.resource_type,
            "LastBackupTime": resource.last_backup,
            "ResourceName": resource.name,
            "LastBackupVaultArn": vault_arn(account.account_id, resource.region, resource.vault_name),
            "LastRecoveryPointArn": recovery_point_arn(
                account.account_id, resource.region, resource.resource_type, f"{resource.arn}@{resource.last_backup}"
            ),
        }

    def list_protected_resources(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)
        items = [self._protected(account, r) for r in account.protected_resources if r.region == region]
        return self._paged(call, params, items, "Results", "InvalidParameterValueException")

    @staticmethod
    def _points(account: Account, region: str) -> list[RecoveryPoint]:
        """Every recovery point in the region: each protected resource's newest (at ``LastBackupTime``, with its
        ``last_status``) and the scenario's others."""
        newest = [
            RecoveryPoint(
                resource_arn=r.arn,
                resource_type=r.resource_type,
                region=r.region,
                vault_name=r.vault_name,
                created=r.last_backup,
                status=r.last_status,
                status_message=r.last_status_message,
            )
            for r in account.protected_resources
            if r.region == region
        ]
        return newest + [p for p in account.recovery_points if p.region == region]

    def _point(self, account: Account, point: RecoveryPoint) -> dict[str, Any]:
        done = point.status in ("COMPLETED", "AVAILABLE", "EXPIRED")
        seed = f"{point.resource_arn}@{point.created}"
        return {
            "RecoveryPointArn": recovery_point_arn(account.account_id, point.region, point.resource_type, seed),
            "BackupVaultName": point.vault_name,
            "BackupVaultArn": vault_arn(account.account_id, point.region, point.vault_name),
            "ResourceArn": point.resource_arn,
            "ResourceType": point.resource_type,
            "IamRoleArn": f"arn:aws:iam::{account.account_id}:role/service-role/AWSBackupDefaultServiceRole",
            "Status": point.status,
            "StatusMessage": point.status_message,
            "CreationDate": point.created,
            "InitiationDate": point.created,
            "CompletionDate": point.created + timedelta(hours=1) if point.status != "CREATING" else None,
            "BackupSizeInBytes": 8 * 1024**3 if done else 0,
            "IsEncrypted": True,
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }

    def list_recovery_points_by_backup_vault(self, call: Call, account: Account, region: str) -> Reply:
        """Newest first (AWS does not document the order; the scanner does not rely on one)."""
        params = parse_input(call)
        name = params.get("BackupVaultName")
        if not any(v.name == name and v.region == region for v in account.vaults):
            raise ServiceError("ResourceNotFoundException", f"Backup vault {name} not found", 400)
        checks: list[tuple[str, Callable[[RecoveryPoint, Any], bool]]] = [
            ("ByResourceArn", lambda p, v: p.resource_arn == v),
            ("ByResourceType", lambda p, v: p.resource_type == v),
            ("ByCreatedBefore", lambda p, v: p.created < v),
            ("ByCreatedAfter", lambda p, v: p.created > v),
            ("ByBackupPlanId", lambda p, v: False),  # the sandbox's points record no plan
            ("ByParentRecoveryPointArn", lambda p, v: False),  # nor composite parents
        ]
        points = [
            p
            for p in self._points(account, region)
            if p.vault_name == name and all(test(p, params[key]) for key, test in checks if key in params)
        ]
        points.sort(key=lambda p: (p.created, p.resource_arn), reverse=True)
        items = [self._point(account, p) for p in points]
        return self._paged(call, params, items, "RecoveryPoints", "InvalidParameterValueException")

    def _job(self, account: Account, job: BackupJob) -> dict[str, Any]:
        done = job.state == "COMPLETED"
        return {
            "AccountId": account.account_id,
            "BackupJobId": job.job_id,
            "BackupVaultName": job.vault_name,
            "BackupVaultArn": vault_arn(account.account_id, job.region, job.vault_name),
            "RecoveryPointArn": recovery_point_arn(account.account_id, job.region, job.resource_type, job.job_id)
            if done or job.state == "PARTIAL"
            else None,
            "ResourceArn": job.resource_arn,
            "CreationDate": job.created,
            "CompletionDate": job.completed,
            "State": job.state,
            "StatusMessage": job.status_message,
            "PercentDone": "100.0" if job.completed else "0.0",
            "BackupSizeInBytes": job.size_bytes if done else 0,
            "IamRoleArn": f"arn:aws:iam::{account.account_id}:role/service-role/AWSBackupDefaultServiceRole",
            "StartBy": job.created + timedelta(hours=8),
            "ResourceType": job.resource_type,
            "BytesTransferred": job.size_bytes if done else 0,
            "IsParent": False,
            "ResourceName": job.resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
            "InitiationDate": job.created,
            "MessageCategory": "SUCCESS" if done and not job.status_message else None,
        }

    def list_backup_jobs(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)
        horizon = self.scenario.now - BACKUP_JOB_HISTORY
        jobs = [j for j in account.backup_jobs if j.region == region and j.created >= horizon]
        jobs = [j for j in jobs if self._job_matches(account, j, params)]
        jobs.sort(key=lambda j: j.created, reverse=True)
        items = [self._job(account, j) for j in jobs]
        category = params.get("ByMessageCategory")
        if category and category not in ("*", "AGGREGATE_ALL"):
            items = [i for i in items if i.get("MessageCategory") == category]
        return self._paged(call, params, items, "BackupJobs", "InvalidParameterValueException")

    @staticmethod
    def _account_matches(account: Account, params: Mapping[str, Any]) -> bool:
        wanted = params.get("ByAccountId")
        return wanted in (None, "*", account.account_id)

    def _job_matches(self, account: Account, job: BackupJob, params: Mapping[str, Any]) -> bool:
        checks: list[tuple[str, Callable[[Any], bool]]] = [
            ("ByResourceArn", lambda v: job.resource_arn == v),
            ("ByState", lambda v: job.state == v),
            ("ByBackupVaultName", lambda v: job.vault_name == v),
            ("ByCreatedBefore", lambda v: job.created < v),
            ("ByCreatedAfter", lambda v: job.created > v),
            ("ByResourceType", lambda v: job.resource_type == v),
            ("ByCompleteAfter", lambda v: job.completed is not None and job.completed > v),
            ("ByCompleteBefore", lambda v: job.completed is not None and job.completed < v),
            ("ByParentJobId", lambda v: False),
        ]
        if not self._account_matches(account, params):
            return False
        return all(test(params[name]) for name, test in checks if name in params)

    def list_restore_testing_plans(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)
        items = [
            {
                "CreationTime": plan.created,
                "LastExecutionTime": plan.last_execution,
                "LastUpdateTime": plan.created,
                "RestoreTestingPlanArn": restore_testing_plan_arn(account.account_id, region, plan.name),
                "RestoreTestingPlanName": plan.name,
                "ScheduleExpression": plan.schedule,
                "ScheduleExpressionTimezone": "Etc/UTC",
                "StartWindowHours": 24,
            }
            for plan in account.restore_testing_plans
            if plan.region == region
        ]
        return self._paged(call, params, items, "RestoreTestingPlans", "InvalidParameterValueException")

    def _testing_plan(self, account: Account, region: str, name: Any) -> RestoreTestingPlan:
        for plan in account.restore_testing_plans:
            if plan.region == region and plan.name == name:
                return plan
        raise ServiceError("ResourceNotFoundException", f"Restore testing plan {name} not found", 400)

    def list_restore_testing_selections(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)
        plan = self._testing_plan(account, region, params.get("RestoreTestingPlanName"))
        items = [
            {
                "CreationTime": plan.created,
                "IamRoleArn": f"arn:aws:iam::{account.account_id}:role/service-role/AWSBackupDefaultServiceRole",
                "ProtectedResourceType": resource_type,
                "RestoreTestingPlanName": plan.name,
                "RestoreTestingSelectionName": f"{resource_type.lower()}_selection_{index}",
                "ValidationWindowHours": 0,
            }
            for index, resource_type in enumerate(plan.selections)
        ]
        return self._paged(call, params, items, "RestoreTestingSelections", "InvalidParameterValueException")

    def _restore(self, account: Account, job: RestoreJob) -> dict[str, Any]:
        done = job.status == "COMPLETED"
        source = job.source_arn
        return {
            "AccountId": account.account_id,
            "RestoreJobId": job.job_id,
            "RecoveryPointArn": recovery_point_arn(account.account_id, job.region, job.resource_type, job.job_id),
            "SourceResourceArn": source,
            "BackupVaultArn": vault_arn(account.account_id, job.region, "Default"),
            "CreationDate": job.created,
            "CompletionDate": job.completed,
            "Status": job.status,
            "StatusMessage": job.status_message,
            "PercentDone": "100.00%" if done else "0.00%",
            "BackupSizeInBytes": 8 * 1024**3,
            "IamRoleArn": f"arn:aws:iam::{account.account_id}:role/service-role/AWSBackupDefaultServiceRole",
            "ExpectedCompletionTimeMinutes": 20,
            "CreatedResourceArn": f"{source}-restored" if done and source else None,
            "ResourceType": job.resource_type,
            "RecoveryPointCreationDate": job.created - timedelta(days=1),
            "IsParent": False,
            "CreatedBy": {"RestoreTestingPlanArn": restore_testing_plan_arn(account.account_id, job.region, plan)}
            if (plan := job.testing_plan)
            else None,
            "ValidationStatus": job.validation_status,
            # a restore test deletes what it restored once validation is over
            "DeletionStatus": "SUCCESSFUL" if job.testing_plan and job.status == "COMPLETED" else None,
        }

    def list_restore_jobs(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)

        def matches(job: RestoreJob) -> bool:
            checks: list[tuple[str, Callable[[Any], bool]]] = [
                ("ByResourceType", lambda v: job.resource_type == v),
                ("ByCreatedBefore", lambda v: job.created < v),
                ("ByCreatedAfter", lambda v: job.created > v),
                ("ByStatus", lambda v: job.status == v),
                ("ByCompleteBefore", lambda v: job.completed is not None and job.completed < v),
                ("ByCompleteAfter", lambda v: job.completed is not None and job.completed > v),
                (
                    "ByRestoreTestingPlanArn",
                    lambda v: (
                        job.testing_plan is not None
                        and restore_testing_plan_arn(account.account_id, job.region, job.testing_plan) == v
                    ),
                ),
                ("ByParentJobId", lambda v: False),
            ]
            return all(test(params[name]) for name, test in checks if name in params)

        jobs = [j for j in account.restore_jobs if j.region == region and matches(j)]
        if not self._account_matches(account, params):
            jobs = []
        jobs.sort(key=lambda j: j.created, reverse=True)
        items = [self._restore(account, j) for j in jobs]
        return self._paged(call, params, items, "RestoreJobs", "InvalidParameterValueException")

    # -- Systems Manager ----------------------------------------------------------------------------------------
    def _information(self, account: Account, node: ManagedInstance) -> dict[str, Any]:
        hybrid = node.instance_id.startswith("mi-")
        ping = node.last_ping
        return {
            "InstanceId": node.instance_id,
            "PingStatus": node.ping_status,
            "LastPingDateTime": ping,
            "AgentVersion": node.agent_version,
            "IsLatestVersion": node.agent_version == LATEST_AGENT,
            "PlatformType": node.platform_type,
            "PlatformName": node.platform_name,
            "PlatformVersion": node.platform_version,
            "ActivationId": _uuid(account.account_id, "activation") if hybrid else None,
            "IamRole": "SSMServiceRole" if hybrid else None,
            "RegistrationDate": node.registered if hybrid else None,
            "ResourceType": "ManagedInstance" if hybrid else "EC2Instance",
            "Name": node.computer_name if hybrid else None,
            "IPAddress": node.ip_address,
            "ComputerName": node.computer_name
            or f"ip-{node.ip_address.replace('.', '-')}.{node.region}.compute.internal",
            "AssociationStatus": "Success",
            "LastAssociationExecutionDate": ping,
            "LastSuccessfulAssociationExecutionDate": ping,
            "AssociationOverview": {
                "DetailedStatus": "Success",
                "InstanceAssociationStatusAggregatedCount": {"Success": 1},
            },
            "SourceId": node.instance_id,
            "SourceType": "AWS::SSM::ManagedInstance" if hybrid else "AWS::EC2::Instance",
        }

    @staticmethod
    def _filters(params: Mapping[str, Any]) -> dict[str, set[str]]:
        """Both filter forms, by key (DescribeInstanceInformation); unknown keys are InvalidFilterKey."""
        known = {"InstanceIds", "PingStatus", "PlatformTypes", "ResourceType", "AgentVersion", "IamRole"}
        found: dict[str, set[str]] = {}
        for item in params.get("InstanceInformationFilterList") or []:
            key, values = str(item.get("key")), item.get("valueSet") or []
            if key not in known:
                raise ServiceError("InvalidFilterKey", f"The filter key {key} is not valid.")
            found.setdefault(key, set()).update(str(v) for v in values)
        for item in params.get("Filters") or []:
            key, values = str(item.get("Key")), item.get("Values") or []
            if key not in known and not key.startswith("tag"):
                raise ServiceError("InvalidFilterKey", f"The filter key {key} is not valid.")
            found.setdefault(key, set()).update(str(v) for v in values)
        return found

    def describe_instance_information(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)
        validate_ranges(call, params)
        filters = self._filters(params)
        nodes = [n for n in account.managed_instances if n.region == region]
        wanted_ids = filters.get("InstanceIds")
        if wanted_ids:
            unknown = sorted(wanted_ids - {n.instance_id for n in nodes})
            if unknown:
                raise ServiceError("InvalidInstanceId", f"Instances [{unknown}] not in a valid state for account.")
        items = [self._information(account, n) for n in nodes]
        field_for = {
            "InstanceIds": "InstanceId",
            "PingStatus": "PingStatus",
            "PlatformTypes": "PlatformType",
            "ResourceType": "ResourceType",
            "AgentVersion": "AgentVersion",
            "IamRole": "IamRole",
        }
        for key, values in filters.items():
            # tag filters match nothing: the sandbox's nodes carry no SSM tags
            items = [i for i in items if key in field_for and str(i.get(field_for[key])) in values]
        return self._paged(call, params, items, "InstanceInformationList", "InvalidNextToken")

    @staticmethod
    def _patch_state(region: str, state: PatchState) -> dict[str, Any]:
        return {
            "InstanceId": state.instance_id,
            "PatchGroup": state.patch_group,
            "BaselineId": state.baseline_id.replace("eu-west-2", region),
            "SnapshotId": _uuid(state.instance_id, str(state.operation_end)),
            "InstalledCount": state.installed,
            "InstalledOtherCount": state.installed_other,
            "InstalledPendingRebootCount": state.installed_pending_reboot,
            "InstalledRejectedCount": state.installed_rejected,
            "MissingCount": state.missing,
            "FailedCount": state.failed,
            "UnreportedNotApplicableCount": 0,
            "NotApplicableCount": state.not_applicable,
            "OperationStartTime": state.operation_end - timedelta(minutes=4),
            "OperationEndTime": state.operation_end,
            "Operation": state.operation,
            "RebootOption": "RebootIfNeeded",
            "CriticalNonCompliantCount": state.critical_non_compliant,
            "SecurityNonCompliantCount": state.security_non_compliant,
            "OtherNonCompliantCount": state.other_non_compliant,
            **(
                {"AvailableSecurityUpdateCount": state.available_security_updates}
                if state.available_security_updates is not None
                else {}
            ),
        }

    def describe_instance_patch_states(self, call: Call, account: Account, region: str) -> Reply:
        params = parse_input(call)
        if "InstanceIds" not in params:
            raise ServiceError(
                "ValidationException",
                "1 validation error detected: Value null at 'instanceIds' failed to satisfy constraint: "
                "Member must not be null",
            )
        validate_ranges(call, params)
        wanted = [str(i) for i in params["InstanceIds"]]
        by_id = {s.instance_id: s for s in account.patch_states if s.region == region}
        items = [self._patch_state(region, by_id[i]) for i in dict.fromkeys(wanted) if i in by_id]
        return self._paged(call, params, items, "InstancePatchStates", "InvalidNextToken")
