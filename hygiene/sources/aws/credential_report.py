"""Parsing the IAM credential report (CSV), with every sentinel AWS uses.

https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html:
- ``N/A``: not applicable (no password, no key, a key never used);
- ``no_information``: a password never used, or used before IAM tracked it;
- ``not_supported``: the root row's ``password_enabled`` and ``password_next_rotation``.
The root user's row is named ``<root_account>``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from hygiene.model import AwsAccessKey, AwsCredentialUser

ROOT = "<root_account>"
SENTINELS = {"N/A", "no_information", "not_supported", ""}
REQUIRED_COLUMNS = ("user", "arn", "user_creation_time", "password_enabled", "password_last_used", "mfa_active")


class CredentialReportError(ValueError):
    pass


def parse_time(value: str | None) -> datetime | None:
    if value is None or value.strip() in SENTINELS:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CredentialReportError(f"unexpected date {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


@dataclass
class RootRow:
    mfa_active: bool
    access_key_active: bool


def _keys(row: dict[str, str]) -> list[AwsAccessKey]:
    keys = []
    for slot in (1, 2):
        prefix = f"access_key_{slot}_"
        rotated = row.get(prefix + "last_rotated")
        if (rotated or "N/A").strip() in SENTINELS and not parse_bool(row.get(prefix + "active")):
            continue  # no such key
        keys.append(
            AwsAccessKey(
                slot=slot,
                active=parse_bool(row.get(prefix + "active")),
                last_rotated=parse_time(rotated),
                last_used=parse_time(row.get(prefix + "last_used_date")),
            )
        )
    return keys


def parse_credential_report(content: bytes) -> tuple[RootRow | None, list[AwsCredentialUser]]:
    """(root row, users) from the report bytes. Raises CredentialReportError for anything malformed."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialReportError("the credential report is not UTF-8") from None
    try:
        return _parse_rows(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit, an unterminated quote
        raise CredentialReportError(f"the credential report is not valid CSV ({exc})") from None


def _parse_rows(reader: csv.DictReader[str]) -> tuple[RootRow | None, list[AwsCredentialUser]]:
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CredentialReportError(f"the credential report lacks columns {', '.join(missing)}")
    root: RootRow | None = None
    users: list[AwsCredentialUser] = []
    for row in reader:
        if None in row:  # more cells than headers
            raise CredentialReportError(f"malformed row for {row.get('user')!r}")
        name = (row.get("user") or "").strip()
        if not name:
            raise CredentialReportError("a row has no user name")
        if name == ROOT:
            root = RootRow(
                mfa_active=parse_bool(row.get("mfa_active")),
                access_key_active=any(parse_bool(row.get(f"access_key_{n}_active")) for n in (1, 2)),
            )
            continue
        last_used_raw = (row.get("password_last_used") or "").strip()
        password_enabled = parse_bool(row.get("password_enabled"))
        users.append(
            AwsCredentialUser(
                user=name,
                arn=(row.get("arn") or "").strip(),
                created=parse_time(row.get("user_creation_time")),
                password_enabled=password_enabled,
                password_last_used=parse_time(last_used_raw),
                password_last_used_note=last_used_raw if last_used_raw in SENTINELS else None,
                mfa_active=parse_bool(row.get("mfa_active")),
                access_keys=_keys(row),
            )
        )
    return root, users
