"""The datasets each platform reads, with what they need (permissions, scopes, IAM actions, licences): the
catalogue ``hygiene permissions``, the evidence packs and the sources share. Plain data, free of vendor SDK
imports, so that reading it (an offline evidence export) loads no boto3, googleapiclient or msal.
"""

from __future__ import annotations

# -- Microsoft 365 ------------------------------------------------------------------------------------------------

#: dataset -> (what it is, the permissions it needs, the licence it needs); the source of `hygiene permissions`
M365_DATASETS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "m365.users": ("users, account state, licences", ("User.Read.All",), None),
    "m365.sign_ins": (
        "last sign-in per user (signInActivity; fallback: Office 365 active-user report)",
        ("AuditLog.Read.All", "Reports.Read.All (fallback)"),
        "Entra ID P1 (or the fallback)",
    ),
    "m365.registration": (
        "MFA registration per user (userRegistrationDetails; fallback: $batch of methods)",
        ("AuditLog.Read.All", "UserAuthenticationMethod.Read.All (fallback)"),
        "Entra ID P1 (or the fallback)",
    ),
    "m365.mfa_policies": (
        "security defaults, Conditional Access policies and the groups they target",
        ("Policy.Read.All", "GroupMember.Read.All"),
        None,
    ),
    "m365.per_user_mfa": ("legacy per-user MFA state, for users no policy covers (beta)", ("Policy.Read.All",), None),
    "m365.roles": ("directory role assignments", ("RoleManagement.Read.Directory", "GroupMember.Read.All"), None),
    "m365.role_eligibility": (
        "eligible (PIM) directory role assignments",
        ("RoleManagement.Read.Directory", "GroupMember.Read.All"),
        "Microsoft Entra ID P2 or Microsoft Entra ID Governance",
    ),
    "m365.group_eligibility": (
        "users eligible (PIM for Groups) to join the groups that hold roles",
        ("PrivilegedEligibilitySchedule.Read.AzureADGroup",),
        "Microsoft Entra ID P2 or Microsoft Entra ID Governance",
    ),
    "m365.licences": ("subscribed SKUs", ("LicenseAssignment.Read.All",), None),
    "m365.devices": ("Intune managed devices", ("DeviceManagementManagedDevices.Read.All",), "Microsoft Intune"),
    "m365.compliance_policies": (
        "Intune compliance policies (minimum OS versions) and the groups they are assigned to",
        ("DeviceManagementConfiguration.Read.All", "GroupMember.Read.All (assignment groups)"),
        "Microsoft Intune",
    ),
    "m365.backup": (
        "Microsoft 365 Backup status and protection policies",
        ("BackupRestore-Control.Read.All", "BackupRestore-Configuration.Read.All"),
        "Microsoft 365 Backup (pay-as-you-go)",
    ),
}

# -- Google Workspace ---------------------------------------------------------------------------------------------

_AUTH = "https://www.googleapis.com/auth/"
#: dataset -> (what it is, the OAuth scope it needs, whether the scan is complete without it)
GOOGLE_DATASETS: dict[str, tuple[str, str, bool]] = {
    "google.users": (
        "users: 2-Step Verification, last login, admin flags",
        _AUTH + "admin.directory.user.readonly",
        False,
    ),
    "google.roles": ("admin role assignments", _AUTH + "admin.directory.rolemanagement.readonly", False),
    # read in the roles lane, and only when an admin role is assigned to a group (its members are admins)
    "google.admin_groups": (
        "members of groups that hold admin roles",
        _AUTH + "admin.directory.group.member.readonly",
        False,
    ),
    "google.mobile_devices": ("mobile devices", _AUTH + "admin.directory.device.mobile.readonly", False),
    "google.chrome_devices": ("ChromeOS devices", _AUTH + "admin.directory.device.chromeos.readonly", False),
    "google.endpoints": (
        "Cloud Identity devices (endpoint verification: Windows, macOS, Linux)",
        _AUTH + "cloud-identity.devices.readonly",
        True,
    ),
}

# -- AWS ----------------------------------------------------------------------------------------------------------

#: dataset -> (what it is, the read-only IAM actions it needs)
AWS_DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws.iam": (
        "IAM credential report and account summary (root MFA and keys)",
        ("iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:GetAccountSummary"),
    ),
    "aws.ec2": ("EC2 instances and their EBS volumes", ("ec2:DescribeInstances",)),
    "aws.rds": (
        "RDS instances and DB clusters (Aurora, Multi-AZ, DocumentDB, Neptune) and their backup retention",
        ("rds:DescribeDBInstances", "rds:DescribeDBClusters"),
    ),
    "aws.backup": (
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
    "aws.ssm": (
        "SSM managed instances and patch states",
        ("ssm:DescribeInstanceInformation", "ssm:DescribeInstancePatchStates"),
    ),
}
#: the request that discovers an account's enabled regions when none are configured
AWS_DISCOVERY_ACTIONS = ("ec2:DescribeRegions",)
#: what the organisation-wide view needs: the member accounts, a role in each, the centralised root access features
AWS_ORGANIZATION_ACTIONS = ("organizations:ListAccounts", "sts:AssumeRole", "iam:ListOrganizationsFeatures")
