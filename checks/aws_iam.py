"""AWS identity checks from the IAM credential report and account summary: root, console MFA, stale users and keys."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.aws import age_days, seen_accounts, unseen
from hygiene.checklib.common import stale_reason
from hygiene.model import AwsAccount, AwsData

_IAM = ("iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:GetAccountSummary")
_REPORT_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html"


def _accounts(ctx: CheckContext) -> list[AwsAccount]:
    return [a for a in seen_accounts(ctx.aws, "aws.iam") if a.root is not None]


@check(
    id="aws.root.mfa",
    summary="{open} of {assessed} AWS accounts have a root user without MFA",
    title="The root user of every AWS account has MFA",
    area="mfa",
    platform="aws",
    severity="critical",
    requires=("aws.iam",),
    description="Fails for each account whose root user has no MFA device (AccountMFAEnabled). A member account of "
    "an organisation with centralised root access (IAM RootCredentialsManagement) whose root user has no password, "
    "no access key, no signing certificate and no MFA device has no root credentials to protect, and passes; "
    "without centralised root access (or when it cannot be read) a root user without a password still fails, "
    "since its password can be recovered by email.",
    remediation="Sign in as the root user > Security credentials > Multi-factor authentication > Assign MFA "
    "device (a hardware key or passkey); keep it in a safe, with a second one for recovery.",
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-enable-root-access.html",
    ),
    permissions=(*_IAM, "iam:ListOrganizationsFeatures"),
)
def root_mfa(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    accounts = _accounts(ctx)
    findings = []
    removed = []
    for account in accounts:
        root = account.root
        if root is None or root.mfa_enabled:
            continue
        if not root.credentials_removed:
            findings.append(Finding(account.account_id, f"{account.account_id}:root", "root user has no MFA"))
        elif _centrally_managed(data, account):
            removed.append(account.account_id)
        else:
            why = data.root_features_note or "not an organisation scan"
            if account.account_id == data.management_account_id:
                why = "the management account's root user is never centrally managed"
            findings.append(
                Finding(
                    account.account_id,
                    f"{account.account_id}:root",
                    f"root user has no MFA; it has no password or keys either, but its password can be recovered "
                    f"by email: centralised root access is not confirmed ({why})",
                )
            )
    note = (
        f"no root credentials to protect (centralised root access; no root password, keys, signing certificates "
        f"or MFA device): {', '.join(removed)}"
        if removed
        else None
    )
    return Outcome(assessed=len(accounts), findings=findings, unseen=unseen(data, "aws.iam"), note=note)


def _centrally_managed(data: AwsData, account: AwsAccount) -> bool:
    """A member (never the management) account of an organisation whose RootCredentialsManagement is enabled."""
    return (
        data.root_credentials_management is True
        and data.management_account_id is not None
        and account.account_id != data.management_account_id
    )


@check(
    id="aws.root.access_keys",
    summary="{open} of {assessed} AWS accounts have access keys for the root user",
    title="No AWS root user access keys",
    area="mfa",
    platform="aws",
    severity="critical",
    requires=("aws.iam",),
    description="Fails for each account whose root user has an access key: it can do anything, without MFA.",
    remediation="Sign in as the root user > Security credentials > Access keys: deactivate, then delete every "
    "key; use IAM roles for automation.",
    references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_delete-key.html",),
    permissions=_IAM,
)
def root_access_keys(ctx: CheckContext) -> Outcome:
    accounts = _accounts(ctx)
    findings = [
        Finding(a.account_id, f"{a.account_id}:root", "root user has access keys")
        for a in accounts
        if a.root is not None and a.root.access_keys_present
    ]
    return Outcome(assessed=len(accounts), findings=findings, unseen=unseen(ctx.aws, "aws.iam"))


@check(
    id="aws.iam.console_mfa",
    summary="{open} of {assessed} IAM users can sign in to the console with a password alone",
    title="Every IAM user with a console password has MFA",
    area="mfa",
    platform="aws",
    severity="high",
    requires=("aws.iam",),
    description="Fails for IAM users with a console password and no active MFA device.",
    remediation="IAM console > Users > select > Security credentials > Assign MFA device; or better, move people "
    "to IAM Identity Center and remove their IAM passwords.",
    references=(_REPORT_DOC, "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html"),
    permissions=_IAM,
)
def console_mfa(ctx: CheckContext) -> Outcome:
    users = [(a, u) for a in _accounts(ctx) for u in a.users if u.password_enabled]
    findings = [
        Finding(u.arn, f"{a.account_id}:{u.user}", "console password without MFA") for a, u in users if not u.mfa_active
    ]
    return Outcome(
        assessed=len(users),
        findings=findings,
        unseen=unseen(ctx.aws, "aws.iam"),
        note="IAM Identity Center users are not in the credential report",
    )


@check(
    id="aws.iam.inactive_users",
    summary="{open} of {assessed} IAM console users are unused but still able to sign in",
    title="No stale IAM console users",
    area="accounts",
    platform="aws",
    severity="medium",
    requires=("aws.iam",),
    description="Fails for console users whose password was not used within the policy's inactive days, or never "
    "used and older than the grace period.",
    remediation="IAM console > Users > select > Security credentials > Manage console access: disable it (or "
    "delete the user after confirming with its owner).",
    references=(_REPORT_DOC,),
    permissions=_IAM,
)
def inactive_users(ctx: CheckContext) -> Outcome:
    limits = ctx.thresholds
    users = [(a, u) for a in _accounts(ctx) for u in a.users if u.password_enabled]
    findings = []
    for account, user in users:
        why = stale_reason(
            user.password_last_used, user.created, ctx.now, limits.inactive_days, limits.never_signed_in_grace_days
        )
        if why:
            findings.append(Finding(user.arn, f"{account.account_id}:{user.user}", why))
    return Outcome(assessed=len(users), findings=findings, unseen=unseen(ctx.aws, "aws.iam"))


@check(
    id="aws.iam.unused_access_keys",
    summary="{open} of {assessed} active access keys are unused",
    title="No unused active access keys",
    area="accounts",
    platform="aws",
    severity="medium",
    requires=("aws.iam",),
    description="Fails for active access keys not used within the policy's days, or never used and older than the "
    "grace period.",
    remediation="IAM console > Users > select > Security credentials > Access keys: deactivate the listed keys, "
    "wait a week for anything that breaks, then delete them.",
    references=(_REPORT_DOC, "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-8"),
    permissions=_IAM,
)
def unused_access_keys(ctx: CheckContext) -> Outcome:
    limits = ctx.thresholds
    keys = [(a, u, k) for a in _accounts(ctx) for u in a.users for k in u.access_keys if k.active]
    findings = []
    for account, user, key in keys:
        name = f"{account.account_id}:{user.user}:key{key.slot}"
        used = age_days(key.last_used, ctx.now)
        created = age_days(key.last_rotated, ctx.now)
        if used is not None and used > limits.access_key_max_unused_days:
            findings.append(Finding(f"{user.arn}/key{key.slot}", name, f"last used {used} days ago"))
        elif used is None and created is not None and created > limits.never_signed_in_grace_days:
            findings.append(Finding(f"{user.arn}/key{key.slot}", name, f"never used; created {created} days ago"))
    return Outcome(assessed=len(keys), findings=findings, unseen=unseen(ctx.aws, "aws.iam"))


@check(
    id="aws.iam.access_key_age",
    summary="{open} of {assessed} active access keys are overdue for rotation",
    title="Active access keys are rotated",
    area="accounts",
    platform="aws",
    severity="medium",
    requires=("aws.iam",),
    description="Fails for active access keys older than the policy's rotation days.",
    remediation="Create a second key, switch the application to it, deactivate and then delete the old one; "
    "better, replace long-lived keys with IAM roles.",
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#rotating_access_keys",
    ),
    permissions=_IAM,
)
def access_key_age(ctx: CheckContext) -> Outcome:
    limits = ctx.thresholds
    keys = [(a, u, k) for a in _accounts(ctx) for u in a.users for k in u.access_keys if k.active]
    findings = []
    for account, user, key in keys:
        age = age_days(key.last_rotated, ctx.now)
        if age is not None and age > limits.access_key_rotation_days:
            findings.append(
                Finding(
                    f"{user.arn}/key{key.slot}",
                    f"{account.account_id}:{user.user}:key{key.slot}",
                    f"created {age} days ago",
                )
            )
    return Outcome(assessed=len(keys), findings=findings, unseen=unseen(ctx.aws, "aws.iam"))
