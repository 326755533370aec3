"""The IAM credential report (CSV) and account summary, built from a scenario account.

Columns, their order and the sentinels follow
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html:

- the root user's row is ``<root_account>`` with ARN ``arn:aws:iam::<account>:root``; its ``password_enabled``,
  ``password_last_changed`` and ``password_next_rotation`` are always ``not_supported``;
- ``password_last_used`` is ``no_information`` for a password never used, ``N/A`` for a user without a password;
- ``password_last_changed`` is ``N/A`` without a password; ``password_next_rotation`` is ``N/A`` unless a password
  policy requires rotation (the scenarios have none);
- ``access_key_N_last_rotated`` is ``N/A`` when the user has no *active* key in that slot (the documented rule);
- ``access_key_N_last_used_date/region/service`` are ``N/A`` for a key never used or no key;
- ``cert_N_last_rotated`` is ``N/A`` without an active signing certificate (the scenarios have none).

Booleans are written ``true``/``false`` and times as ``2024-05-01T09:30:00+00:00``: the documentation's prose says
``TRUE``/``FALSE`` and "ISO 8601", the lower-case form and ``+00:00`` offset are what real reports contain.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hygiene_sandbox.aws.scenario import AccessKey, Account
from hygiene_sandbox.vendor import (
    CREDENTIAL_REPORT_COLUMNS,
    REPORT_NA,
    REPORT_NO_INFORMATION,
    REPORT_NOT_SUPPORTED,
    REPORT_ROOT_ROW,
)

#: IAM's default quotas as GetAccountSummary reports them (plausible defaults; the sandbox does not enforce them)
_QUOTAS: dict[str, int] = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "ServerCertificatesQuota": 20,
    "UserPolicySizeQuota": 2048,
    "GroupPolicySizeQuota": 5120,
    "GroupsPerUserQuota": 10,
    "SigningCertificatesPerUserQuota": 2,
    "AccessKeysPerUserQuota": 2,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "AttachedPoliciesPerUserQuota": 10,
    "PoliciesQuota": 1500,
    "PolicySizeQuota": 6144,
    "PolicyVersionsInUseQuota": 10000,
    "VersionsPerPolicyQuota": 5,
    "AssumeRolePolicySizeQuota": 2048,
    "InstanceProfilesQuota": 1000,
    "RolePolicySizeQuota": 10240,
    "RolesQuota": 1000,
}


def report_time(value: datetime) -> str:
    """The credential report's timestamp form: UTC, whole seconds, ``+00:00``."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _key_cells(key: AccessKey | None) -> list[str]:
    if key is None:
        return ["false", REPORT_NA, REPORT_NA, REPORT_NA, REPORT_NA]
    used = key.last_used
    return [
        _flag(key.active),
        report_time(key.created) if key.active else REPORT_NA,
        report_time(used) if used else REPORT_NA,
        key.last_used_region if used else REPORT_NA,
        key.last_used_service if used else REPORT_NA,
    ]


def _keys(keys: list[AccessKey]) -> list[str]:
    cells: list[str] = []
    for slot in (0, 1):
        cells.extend(_key_cells(keys[slot] if slot < len(keys) else None))
    return cells


_NO_CERTS = ["false", REPORT_NA, "false", REPORT_NA]


def credential_report_rows(account: Account) -> list[list[str]]:
    """The report's rows (header first): the root user, then the users in scenario order."""
    rows: list[list[str]] = [list(CREDENTIAL_REPORT_COLUMNS)]
    root = account.root
    rows.append(
        [
            REPORT_ROOT_ROW,
            f"arn:aws:iam::{account.account_id}:root",
            report_time(account.created),
            REPORT_NOT_SUPPORTED,
            report_time(root.password_last_used) if root.password_last_used else REPORT_NO_INFORMATION,
            REPORT_NOT_SUPPORTED,
            REPORT_NOT_SUPPORTED,
            _flag(root.mfa_active),
            *_keys(root.access_keys),
            *_NO_CERTS,
        ]
    )
    for user in account.users:
        if user.password_enabled:
            last_used = report_time(user.password_last_used) if user.password_last_used else REPORT_NO_INFORMATION
            last_changed = report_time(user.password_last_changed or user.created)
        else:
            last_used = REPORT_NA
            last_changed = REPORT_NA
        rows.append(
            [
                user.name,
                user.arn(account.account_id),
                report_time(user.created),
                _flag(user.password_enabled),
                last_used,
                last_changed,
                REPORT_NA,
                _flag(user.mfa_active),
                *_keys(user.access_keys),
                *_NO_CERTS,
            ]
        )
    return rows


def credential_report_csv(account: Account) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(credential_report_rows(account))
    return buffer.getvalue().rstrip("\n").encode()


def account_summary(account: Account, *, roles: int = 4) -> dict[str, int]:
    """GetAccountSummary's SummaryMap. AccountMFAEnabled / AccountAccessKeysPresent describe the root user
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html)."""
    mfa_users = sum(1 for u in account.users if u.mfa_active) + (1 if account.root.mfa_active else 0)
    summary = dict(_QUOTAS)
    summary.update(
        {
            "Users": len(account.users),
            "Groups": min(3, len(account.users)),
            "ServerCertificates": 0,
            "MFADevices": mfa_users,
            "MFADevicesInUse": mfa_users,
            "AccountMFAEnabled": 1 if account.root.mfa_active else 0,
            "AccountAccessKeysPresent": 1 if account.root.access_keys else 0,
            "AccountPasswordPresent": 1 if account.root.password else 0,
            "AccountSigningCertificatesPresent": 0,
            "Policies": 6,
            "PolicyVersionsInUse": 14 + len(account.users),
            "GlobalEndpointTokenVersion": 1,
            "InstanceProfiles": sum(1 for i in account.instances if i.state == "running"),
            "Providers": 0,
            "Roles": roles,
        }
    )
    return summary
