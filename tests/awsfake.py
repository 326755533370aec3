"""AWS test doubles: moto for what it implements (STS, Organizations, EC2, RDS), botocore Stubber for the rest.

moto has no backup jobs, protected resources, restore testing or SSM patch states, and its credential report
has no root row; `World` keeps per-account answers for IAM, Backup and SSM and serves them through Stubbers
(which validate every response against the real service model; awsfake adds the enum values Stubber leaves out,
with ``tests/contract/aws_spec.py``).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber
from contract.aws_spec import check_params, check_value

from hygiene_sandbox.vendor import CREDENTIAL_REPORT_COLUMNS

NOW = datetime.now(UTC)
HEADER = ",".join(CREDENTIAL_REPORT_COLUMNS)


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def root_row(account: str, mfa: bool = True, key: bool = False) -> str:
    return (
        f"<root_account>,arn:aws:iam::{account}:root,{iso(900)},not_supported,{iso(3)},not_supported,"
        f"not_supported,{str(mfa).lower()},{str(key).lower()},{iso(800) if key else 'N/A'},"
        f"{iso(10) if key else 'N/A'},{'us-east-1' if key else 'N/A'},{'s3' if key else 'N/A'},"
        "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )


def user_row(
    account: str,
    name: str,
    *,
    password: bool = True,
    last_login: float | None = 2,
    mfa: bool = True,
    created: float = 400,
    key1: tuple[float, float | None] | None = None,
    key1_active: bool = True,
) -> str:
    used = "N/A" if not password else (iso(last_login) if last_login is not None else "no_information")
    k_active, k_rot, k_used, k_region, k_svc = "false", "N/A", "N/A", "N/A", "N/A"
    if key1 is not None:
        k_active, k_rot = str(key1_active).lower(), iso(key1[0])
        if key1[1] is not None:
            k_used, k_region, k_svc = iso(key1[1]), "eu-west-2", "s3"
    return (
        f"{name},arn:aws:iam::{account}:user/{name},{iso(created)},{str(password).lower()},{used},"
        f"{iso(created) if password else 'N/A'},N/A,{str(mfa).lower()},{k_active},{k_rot},{k_used},{k_region},"
        f"{k_svc},false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )


@dataclass
class AccountWorld:
    rows: list[str] = field(default_factory=list)
    mfa_enabled: bool = True
    root_keys: bool = False
    #: GetAccountSummary AccountPasswordPresent for the root user
    root_password: bool = True
    protected: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    vaults: list[dict[str, Any]] = field(default_factory=list)
    #: ListRecoveryPointsByBackupVault items (``_vault`` names the vault, default "main"); every protected resource
    #: also has a COMPLETED point at its LastBackupTime in "main" unless it carries ``_points: False``
    points: list[dict[str, Any]] = field(default_factory=list)
    testing_plans: int = 0
    #: plan index -> ListRestoreTestingSelections items (default: one EBS selection)
    selections: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: plan index -> LastExecutionTime (default: a day ago; None: never run)
    executed: dict[int, Any] = field(default_factory=dict)
    restores: list[dict[str, Any]] = field(default_factory=list)
    managed: list[dict[str, Any]] = field(default_factory=list)
    patch_states: list[dict[str, Any]] = field(default_factory=list)
    #: "service:Operation" names answering AccessDenied
    denied: set[str] = field(default_factory=set)


@dataclass
class World:
    accounts: dict[str, AccountWorld] = field(default_factory=dict)
    stubbers: list[Stubber] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    #: IAM ListOrganizationsFeatures' answer to the management account: its EnabledFeatures, or an error code
    root_features: list[str] | str = field(default_factory=list)
    #: ids of the sessions that listed the organisation (their IAM client is asked for the root access features)
    _org_sessions: set[int] = field(default_factory=set)

    def _account_of(self, session: boto3.Session, region: str) -> str:
        return str(session.client("sts", region_name=region).get_caller_identity()["Account"])

    def factory(self, session: boto3.Session, service: str, region: str) -> Any:
        client = session.client(service, region_name=region)
        client.meta.events.register("provide-client-params.*.*", _contract_params)
        if service == "organizations":
            self._org_sessions.add(id(session))
        if service == "ec2":
            denied = self.accounts.setdefault(self._account_of(session, region), AccountWorld()).denied
            if "ec2:DescribeRegions" in denied:
                client.meta.events.register("before-call.ec2.DescribeRegions", _unauthorized)
        if service == "iam" and id(session) in self._org_sessions:
            return self._features_client(client)
        if service not in ("iam", "backup", "ssm"):
            return client  # moto
        account = self.accounts.setdefault(self._account_of(session, region), AccountWorld())
        stub = Stubber(client)
        self.stubbers.append(stub)
        add = self._adder(stub, account, service)
        if service == "iam":  # in the source's order: the report is asked for first, the summary read meanwhile
            add("generate_credential_report", {"State": "COMPLETE"})
            add(
                "get_account_summary",
                {
                    "SummaryMap": {
                        "AccountMFAEnabled": int(account.mfa_enabled),
                        "AccountAccessKeysPresent": int(account.root_keys),
                        "AccountPasswordPresent": int(account.root_password),
                        "AccountSigningCertificatesPresent": 0,
                    }
                },
            )
            content = (
                "\n".join(
                    [HEADER, root_row(self._root_id(account), account.mfa_enabled, account.root_keys), *account.rows]
                )
                + "\n"
            )
            add(
                "get_credential_report", {"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": NOW}
            )
        elif service == "backup":
            regional = [r for r in account.protected if r.get("_region", region) == region]
            vaults = [v for v in account.vaults if v.get("_region", region) == region]
            add("list_backup_plans", {"BackupPlansList": []})
            add(
                "list_backup_vaults",
                {"BackupVaultList": [{k: v for k, v in vault.items() if not k.startswith("_")} for vault in vaults]},
            )
            implied = [
                {
                    "RecoveryPointArn": f"arn:aws:backup:{region}:1:recovery-point:{i}",
                    "ResourceArn": r["ResourceArn"],
                    "ResourceType": r.get("ResourceType"),
                    "Status": "COMPLETED",
                    "CreationDate": r["LastBackupTime"],
                }
                for i, r in enumerate(regional)
                if r.get("_points", True)
            ]
            for vault in vaults:
                name = vault["BackupVaultName"]
                points = [
                    {k: v for k, v in p.items() if not k.startswith("_")}
                    for p in [*(implied if name == "main" else []), *account.points]
                    if p.get("_vault", "main") == name and p.get("_region", region) == region
                ]
                add("list_recovery_points_by_backup_vault", {"RecoveryPoints": points})
            add(
                "list_protected_resources",
                {"Results": [{k: v for k, v in r.items() if not k.startswith("_")} for r in regional]},
            )
            add("list_backup_jobs", {"BackupJobs": [j for j in account.jobs if region in j["ResourceArn"]]})
            add(
                "list_restore_testing_plans",
                {
                    "RestoreTestingPlans": [
                        {
                            "CreationTime": NOW - timedelta(days=100),
                            "RestoreTestingPlanArn": plan_arn(region, i),
                            "RestoreTestingPlanName": f"p{i}",
                            "ScheduleExpression": "cron(0 5 ? * 1 *)",
                            **(
                                {"LastExecutionTime": account.executed.get(i, ago(1))}
                                if account.executed.get(i, ago(1)) is not None
                                else {}
                            ),
                        }
                        for i in range(account.testing_plans)
                    ]
                },
            )
            for i in range(account.testing_plans):
                add(
                    "list_restore_testing_selections",
                    {
                        "RestoreTestingSelections": account.selections.get(
                            i,
                            [
                                {
                                    "CreationTime": NOW - timedelta(days=100),
                                    "IamRoleArn": "arn:aws:iam::123456789012:role/restore",
                                    "ProtectedResourceType": "EBS",
                                    "RestoreTestingPlanName": f"p{i}",
                                    "RestoreTestingSelectionName": f"s{i}",
                                }
                            ],
                        )
                    },
                )
            add("list_restore_jobs", {"RestoreJobs": account.restores})
        else:
            managed = [m for m in account.managed if m.get("_region", region) == region]
            add(
                "describe_instance_information",
                {"InstanceInformationList": [{k: v for k, v in m.items() if not k.startswith("_")} for m in managed]},
            )
            ids = {m["InstanceId"] for m in managed}
            for start in range(0, len(ids), 50):
                chunk = sorted(ids)[start : start + 50]
                add(
                    "describe_instance_patch_states",
                    {"InstancePatchStates": [p for p in account.patch_states if p["InstanceId"] in chunk]},
                )
        stub.activate()
        return client

    def _features_client(self, client: Any) -> Any:
        """The management session's IAM client: it only asks for the centralised root access features."""
        stub = Stubber(client)
        self.stubbers.append(stub)
        self.calls.append("iam:ListOrganizationsFeatures")
        if isinstance(self.root_features, str):
            stub.add_client_error(
                "list_organizations_features", service_error_code=self.root_features, http_status_code=400
            )
        else:
            stub.add_response(
                "list_organizations_features",
                {"OrganizationId": "o-exampleorg1", "EnabledFeatures": list(self.root_features)},
                {},
            )
        stub.activate()
        return client

    def _root_id(self, account: AccountWorld) -> str:
        return next((a for a, w in self.accounts.items() if w is account), "123456789012")

    def _adder(self, stub: Stubber, account: AccountWorld, service: str) -> Any:
        def add(operation: str, response: dict[str, Any]) -> None:
            op_name = "".join(p.title() for p in operation.split("_"))
            self.calls.append(f"{service}:{op_name}")
            if f"{service}:{op_name}" in account.denied:
                stub.add_client_error(
                    operation,
                    service_error_code="AccessDeniedException" if service != "iam" else "AccessDenied",
                    service_message="not authorised",
                    http_status_code=403,
                )
            else:
                # Stubber validates the structure but not enum values: the contract's shape walk adds them
                shape = stub.client.meta.service_model.operation_model(op_name).output_shape
                problems = [p for p in check_value(shape, response, op_name, parsed=False) if "enum" in p]
                if problems:
                    raise AssertionError("awsfake: a canned answer outside the model's enum: " + "; ".join(problems))
                stub.add_response(operation, response, None)

        return add


def _contract_params(params: dict[str, Any], model: Any, **_: Any) -> None:
    """Every request the source builds against a test double, held to the model: botocore validates structure and
    types; the contract adds enum values and maximums (``tests/contract/aws_spec.py``)."""
    problems = check_params(model.service_model.service_name, model.name, params)
    if problems:
        raise AssertionError("a request outside the model: " + "; ".join(problems))


@contextlib.contextmanager
def accounts_with_state_only() -> Iterator[None]:
    """Organizations accounts as the API returns them since September 9, 2026 (botocore: ``Status`` "will be
    retired"): ``State`` only. moto 5.2 still sends both."""
    from moto.organizations.models import FakeAccount

    original = FakeAccount.describe

    def describe(self: FakeAccount) -> dict[str, Any]:
        found = original(self)
        found.pop("Status", None)
        return found

    FakeAccount.describe = describe  # type: ignore[method-assign]
    try:
        yield
    finally:
        FakeAccount.describe = original  # type: ignore[method-assign]


def set_account_state(account_id: str, state: str) -> None:
    """Give a moto Organizations account a State moto cannot reach through its API (PENDING_ACTIVATION, CLOSED,
    PENDING_CLOSURE, or a value AWS may add later)."""
    from moto.organizations.models import organizations_backends

    for backend in organizations_backends.values():
        for org in backend.values():
            for account in getattr(org, "accounts", []):
                if account.id == account_id:
                    account.state = state


def _unauthorized(model: Any, **_: Any) -> None:
    """EC2's access-denied answer (code UnauthorizedOperation), raised before the request is sent."""
    from botocore.exceptions import ClientError

    raise ClientError(
        {"Error": {"Code": "UnauthorizedOperation", "Message": "You are not authorized to perform this operation."}},
        model.name,
    )


def plan_arn(region: str, index: int) -> str:
    return f"arn:aws:backup:{region}:123456789012:restore-testing-plan:p{index}-0a1b2c3d"


def restore_test_job(region: str, index: int, job_id: str, status: str, days: float, **extra: Any) -> dict[str, Any]:
    """A restore job started by restore testing plan ``index`` (``CreatedBy.RestoreTestingPlanArn``)."""
    return {
        "RestoreJobId": job_id,
        "Status": status,
        "ResourceType": "EBS",
        "CreationDate": ago(days + 0.1),
        "CompletionDate": ago(days),
        "CreatedBy": {"RestoreTestingPlanArn": plan_arn(region, index)},
        **extra,
    }


def patch_state(
    instance: str,
    *,
    missing: int = 0,
    critical: int = 0,
    failed: int = 0,
    reboot: int = 0,
    rejected: int = 0,
    other: int = 0,
    scanned: float = 1,
) -> dict[str, Any]:
    """DescribeInstancePatchStates' InstancePatchState, every count the ssm model has (AvailableSecurityUpdateCount
    left out, as for a Linux node)."""
    return {
        "InstanceId": instance,
        "PatchGroup": "default",
        "BaselineId": "pb-0123456789abcdef0",
        "MissingCount": missing,
        "CriticalNonCompliantCount": critical,
        "SecurityNonCompliantCount": 0,
        "FailedCount": failed,
        "InstalledPendingRebootCount": reboot,
        "InstalledRejectedCount": rejected,
        "OtherNonCompliantCount": other,
        "InstalledCount": 100,
        "InstalledOtherCount": 3,
        "NotApplicableCount": 250,
        "UnreportedNotApplicableCount": 0,
        "OperationStartTime": ago(scanned),
        "OperationEndTime": ago(scanned),
        "Operation": "Scan",
    }


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
