"""AWS reasoning shared by checks."""

from __future__ import annotations

from datetime import datetime

from hygiene.model import AwsAccount, AwsData, ReasonKind


def unseen(data: AwsData, *datasets: str) -> tuple[tuple[ReasonKind, str], ...]:
    """The account/region gaps of these datasets, for Outcome.unseen: a check never passes what it did not see."""
    found = []
    for gap in data.gaps:
        if gap.dataset in datasets:
            needs = f"; needs {', '.join(gap.needs)}" if gap.needs and "needs" not in gap.reason else ""
            found.append((gap.reason_kind, gap.reason + needs))
    return tuple(found)


def seen_accounts(data: AwsData, dataset: str) -> list[AwsAccount]:
    """Accounts where the dataset was read (in at least one region for regional datasets)."""
    missing_everywhere = {g.account_id for g in data.gaps if g.dataset == dataset and g.region is None}
    return [a for a in data.accounts if a.account_id not in missing_everywhere]


def instance_arn(account_id: str, region: str, instance_id: str, *, partition: str) -> str:
    """``partition``: ``AwsData.partition`` (from the caller's ARN: ``aws``, ``aws-us-gov``, ``aws-cn``)."""
    return f"arn:{partition}:ec2:{region}:{account_id}:instance/{instance_id}"


def volume_arn(account_id: str, region: str, volume_id: str, *, partition: str) -> str:
    return f"arn:{partition}:ec2:{region}:{account_id}:volume/{volume_id}"


def age_days(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else (now - moment).days
