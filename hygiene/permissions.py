"""What to grant: the read-only application permissions each platform's datasets need, and which checks use them."""

from __future__ import annotations

import json

from hygiene.registry import Registry
from hygiene.sources.catalogue import (
    AWS_DATASETS,
    AWS_DISCOVERY_ACTIONS,
    AWS_ORGANIZATION_ACTIONS,
    GOOGLE_DATASETS,
    M365_DATASETS,
)

PLATFORM_DATASETS: dict[str, dict[str, tuple[str, tuple[str, ...], str | None]]] = {
    "m365": M365_DATASETS,
    "google": {
        name: (what, (scope,), "optional: the scan is complete without it" if optional else None)
        for name, (what, scope, optional) in GOOGLE_DATASETS.items()
    },
    "aws": {name: (what, actions, None) for name, (what, actions) in AWS_DATASETS.items()},
}

AWS_INTRO = """AWS (IAM, read-only)
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


def aws_policy_document() -> dict[str, object]:
    actions = sorted(
        {a for _, actions in AWS_DATASETS.values() for a in actions}
        | {a for a in AWS_ORGANIZATION_ACTIONS if a != "sts:AssumeRole"}
        | set(AWS_DISCOVERY_ACTIONS)
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


GOOGLE_INTRO = """Google Workspace (domain-wide delegation, all scopes read-only)
1. Google Cloud console: create a project, enable the Admin SDK API and the Cloud Identity API, create a
   service account and a JSON key for it (keep the key file readable only by the account running hygiene).
2. Admin console > Security > Access and data control > API controls > Domain-wide delegation > Add new:
   the service account's client ID, and the scopes below in the "OAuth scopes" field.
3. The delegated admin (delegated_admin in the config) is the user the service account acts as. Give it a
   custom admin role (Admin console > Account > Admin roles > Create new role) with the Admin API
   privileges to read users, groups, admin roles, mobile devices and ChromeOS devices, or use a super admin.
   hygiene only ever reads, whatever the role allows.
4. If Google answers that an API "has not been used in project ... or it is disabled", enable that API in the
   service account's Cloud project (step 1): no scope is missing.
"""

M365_INTRO = """Microsoft 365 (Microsoft Graph application permissions, all read-only)
Register an app: Entra admin center > Identity > Applications > App registrations > New registration.
Then API permissions > Add a permission > Microsoft Graph > Application permissions, add those below,
and Grant admin consent. Under Certificates & secrets, upload a certificate (preferred) or create a secret.
"""


def required_permissions(platform: str) -> list[str]:
    seen: dict[str, None] = {}
    for _, perms, _ in PLATFORM_DATASETS[platform].values():
        for perm in perms:
            seen.setdefault(perm.split(" ")[0], None)
    return list(seen)


def describe(platform: str | None = None) -> str:
    registry = Registry.load(entry_points_too=False)
    lines: list[str] = []
    for name, datasets in PLATFORM_DATASETS.items():
        if platform not in (None, name):
            continue
        lines.append({"m365": M365_INTRO, "google": GOOGLE_INTRO, "aws": AWS_INTRO}.get(name, name))
        if name == "aws":
            lines.append("Policy document (replace HygieneAudit with your organization_role):")
            lines.append(json.dumps(aws_policy_document(), indent=2))
        lines.append({"google": "Scopes to authorise:", "aws": "Actions:"}.get(name, "Permissions to add:"))
        lines.extend(f"  - {perm}" for perm in required_permissions(name))
        if name == "google":
            lines.append("Paste into 'OAuth scopes (comma-delimited)':")
            lines.append("  " + ",".join(required_permissions(name)))
        lines.append("\nWhat each dataset needs, and the checks that read it:")
        for dataset, (what, perms, licence) in datasets.items():
            # a check uses a dataset it requires, or one whose permission it names (read when available)
            users = [
                c.meta.id
                for c in registry
                if dataset in c.meta.requires or any(p.split(" ")[0] in perms for p in c.meta.permissions)
            ]
            lines.append(f"  {dataset}: {what}")
            lines.append(f"      permissions: {', '.join(perms)}")
            if licence:
                lines.append(f"      licence: {licence}")
            if users:
                lines.append(f"      used by: {', '.join(users)}")
        lines.append("")
    return "\n".join(lines)
