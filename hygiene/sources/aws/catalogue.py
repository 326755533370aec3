"""What the AWS source reads and the read-only IAM actions each dataset needs, with the policy document that
grants exactly those."""

from __future__ import annotations

import json

from hygiene.sources.interface import DatasetSpec, OcsfCloud, PlatformSpec

DATASETS = (
    DatasetSpec(
        "aws.iam",
        "IAM credential report and account summary (root MFA and keys)",
        ("iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:GetAccountSummary"),
    ),
    DatasetSpec("aws.ec2", "EC2 instances and their EBS volumes", ("ec2:DescribeInstances",)),
    DatasetSpec(
        "aws.rds",
        "RDS instances and DB clusters (Aurora, Multi-AZ, DocumentDB, Neptune) and their backup retention",
        ("rds:DescribeDBInstances", "rds:DescribeDBClusters"),
    ),
    DatasetSpec(
        "aws.backup",
        "AWS Backup plans, vaults (lock state), recent recovery points, protected resources, jobs, restore testing "
        "plans and their selections, and restore jobs",
        (
            "backup:ListBackupPlans",
            "backup:ListBackupVaults",
            "backup:ListRecoveryPointsByBackupVault",
            "backup:ListProtectedResources",
            "backup:ListBackupJobs",
            "backup:ListRestoreTestingPlans",
            "backup:ListRestoreTestingSelections",
            "backup:ListRestoreJobs",
        ),
    ),
    DatasetSpec(
        "aws.ssm",
        "SSM managed instances and patch states",
        ("ssm:DescribeInstanceInformation", "ssm:DescribeInstancePatchStates"),
    ),
)
#: the request that discovers an account's enabled regions when none are configured
DISCOVERY_ACTIONS = ("ec2:DescribeRegions",)
#: what the organisation-wide view needs: the member accounts, a role in each, the centralised root access features
ORGANIZATION_ACTIONS = ("organizations:ListAccounts", "sts:AssumeRole", "iam:ListOrganizationsFeatures")
#: dataset name -> its spec, in scan order
BY_NAME = {d.name: d for d in DATASETS}

GRANT = """AWS (IAM, read-only)
Create a role for hygiene (in each account, or one in the management account plus `organization_role` in every
member account, e.g. with a CloudFormation StackSet) and attach:
  - the AWS managed policy SecurityAudit (arn:aws:iam::aws:policy/SecurityAudit), which covers the IAM, EC2,
    RDS, SSM and Organizations reads but not most AWS Backup reads; plus
  - the inline policy printed below, which adds the backup reads (and is, on its own, the complete
    least-privilege list of what hygiene calls).
The only call that is not a pure read is iam:GenerateCredentialReport, which asks IAM to rebuild its report.
Without `regions` in the config, each account's enabled regions are discovered (ec2:DescribeRegions); with an
organisation, iam:ListOrganizationsFeatures (management account) says whether centralised root access is on.
In AWS GovCloud (US) or China, write the ARNs below with your partition (arn:aws-us-gov:, arn:aws-cn:).
"""


def policy_document() -> dict[str, object]:
    """The inline IAM policy granting every action hygiene calls, and the member-account role it assumes."""
    actions = sorted(
        {a for dataset in DATASETS for a in dataset.needs}
        | {a for a in ORGANIZATION_ACTIONS if a != "sts:AssumeRole"}
        | set(DISCOVERY_ACTIONS)
        | {"sts:GetCallerIdentity"}
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "HygieneReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {
                "Sid": "HygieneMemberAccounts",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": "arn:aws:iam::*:role/HygieneAudit",
            },
        ],
    }


def grant(platform: PlatformSpec) -> list[str]:
    return [
        GRANT,
        "Policy document (replace HygieneAudit with your organization_role):",
        json.dumps(policy_document(), indent=2),
        "Actions:",
        *(f"  - {action}" for action in platform.needs()),
    ]


PLATFORM = PlatformSpec(
    name="aws",
    title="AWS",
    datasets=DATASETS,
    source="hygiene.sources.aws.source:AwsSource",
    grant=grant,
    ocsf=OcsfCloud("AWS", 10, "AWS Account", "accounts"),
    credentials="hygiene.sources.aws.credentials:check_credentials",
    #: the same profile and role: the same AWS account, whose API rate limits every scan through it shares
    credential_fields=("profile", "role_arn", "endpoint_url"),
    grant_document=policy_document,
)
