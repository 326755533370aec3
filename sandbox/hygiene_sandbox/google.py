"""The Google Workspace side of a sandbox scenario: Directory API and Cloud Identity data, exactly as Google
returns it, plus the service account (with domain-wide delegation) a scanner signs its token requests with.

Shapes follow the Admin SDK Directory API and Cloud Identity references (and the discovery documents shipped
in google-api-python-client, which are what the client builds its requests from):
- users: https://developers.google.com/workspace/admin/directory/reference/rest/v1/users (a never-used
  account reports ``lastLoginTime`` as the epoch, ``1970-01-01T00:00:00.000Z``);
- roles and role assignments: https://developers.google.com/workspace/admin/directory/reference/rest/v1/roles ,
  .../v1/roleAssignments (the super admin role is the system role ``_SEED_ADMIN_ROLE``; ``assigneeType`` is
  ``user`` or ``group``: a role assigned to a group makes every member an admin);
- group members: https://developers.google.com/workspace/admin/directory/reference/rest/v1/members (``type``
  ``USER``/``GROUP``/``CUSTOMER``/``EXTERNAL``; ``includeDerivedMembership`` lists the members of nested groups);
- mobile devices: https://developers.google.com/workspace/admin/directory/reference/rest/v1/mobiledevices
  (``securityPatchLevel`` is a string holding epoch milliseconds, format int64; iOS devices report ``"0"``;
  ``status``, a plain string in the discovery document, is APPROVED, BLOCKED, PENDING, WIPING, WIPED... as in the
  Admin console and Cloud Identity's ``managementState`` enum);
- ChromeOS devices: https://developers.google.com/workspace/admin/directory/reference/rest/v1/chromeosdevices
  (``autoUpdateThrough`` "the timestamp after which the device will stop receiving Chrome updates or support",
  documented only as a string: served here as a ``YYYY-MM-DD`` date; the deprecated ``autoUpdateExpiration`` is
  an int64 string, served as epoch milliseconds of the same day; ``osVersionCompliance`` is one of
  ``complianceUnspecified``/``compliant``/``pending``/``notCompliant`` on the wire (the discovery document's
  enum; the REST page prints the proto names ``COMPLIANT``, ``NOT_COMPLIANT``...));
- Cloud Identity devices: https://cloud.google.com/identity/docs/reference/rest/v1/devices (``deviceType``
  ``WINDOWS``/``MAC_OS``/``LINUX``/``ANDROID``/``IOS``/``CHROME_OS``..., ``lastSyncTime``,
  ``securityPatchTime``, ``compromisedState``, ``ownerType``, ``managementState`` APPROVED/BLOCKED/PENDING/
  UNPROVISIONED/WIPING/WIPED).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hygiene_sandbox.expectation import Expectation, JsonDict
from hygiene_sandbox.vendor import GOOGLE_NEVER, GOOGLE_SCOPES, SUPER_ADMIN_ROLE, SYSTEM_ROLES

#: the services a scenario can leave disabled in the service account's Cloud project (``disabled_apis``)
API_SERVICES: dict[str, str] = {
    "admin.googleapis.com": "Admin SDK API",
    "cloudidentity.googleapis.com": "Cloud Identity API",
}

#: the Google Workspace checks a scenario carries expectations for
GOOGLE_CHECK_IDS: tuple[str, ...] = (
    "gws.mfa.enrolled",
    "gws.mfa.enforced",
    "gws.mfa.admins",
    "gws.accounts.inactive",
    "gws.accounts.admin_count",
    "gws.devices.os_supported",
    "gws.devices.patch_current",
    "gws.devices.encrypted",
    "gws.backup.configured",
)


# -- ids, times -------------------------------------------------------------------------------------------------


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("/".join(parts).encode(), digest_size=16, key=b"hygiene-sandbox-google").digest()


def numeric_id(*parts: str, digits: int = 21) -> str:
    """A deterministic decimal id (Google user ids are 21 digits, role ids int64)."""
    value = int.from_bytes(_digest(*parts), "big")
    return "1" + str(value % 10 ** (digits - 1)).zfill(digits - 1)


def opaque_id(*parts: str, length: int = 22) -> str:
    """A deterministic URL-safe opaque id (mobile ``resourceId``, Cloud Identity device ids)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = int.from_bytes(_digest(*parts) + _digest(*parts, "more"), "big")
    out = []
    for _ in range(length):
        value, rem = divmod(value, 64)
        out.append(alphabet[rem])
    return "".join(out)


def uuid_id(*parts: str) -> str:
    raw = _digest(*parts).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"


def etag(*parts: str) -> str:
    """Directory API etags are quoted opaque strings."""
    return '"' + opaque_id("etag", *parts, length=27) + '"'


def google_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the Directory API writes timestamps."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def cloud_time(value: datetime) -> str:
    """google-datetime as Cloud Identity writes it (RFC 3339, UTC, microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_ms(value: datetime | date) -> str:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0), tzinfo=UTC)
    return str(int(value.timestamp() * 1000))


# -- the service account -------------------------------------------------------------------------------------------

_key_lock = threading.Lock()
_shared_key: str | None = None


def generate_service_account_key() -> str:
    """A fresh RSA 2048 private key, PKCS#8 PEM (what a Google JSON key file carries)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def shared_service_account_key() -> str:
    """One service account key per process (RSA key generation is the slow part of building a scenario)."""
    global _shared_key
    with _key_lock:
        if _shared_key is None:
            _shared_key = generate_service_account_key()
        return _shared_key


@dataclass(kw_only=True)
class GoogleScenario:
    """One Google Workspace customer: what the Directory API and Cloud Identity serve, and who may ask."""

    customer_id: str
    domain: str
    #: the super admin the service account impersonates (``with_subject``)
    delegated_admin: str
    organization_name: str = ""
    project_id: str = "hygiene-scanner"
    #: the service account's e-mail; empty: ``hygiene-scanner@{project_id}.iam.gserviceaccount.com``
    client_email: str = ""
    #: the service account's OAuth client id (what domain-wide delegation is granted to); empty: derived
    client_id: str = ""
    private_key_pem: str = field(default_factory=shared_service_account_key, repr=False)
    #: scopes domain-wide delegation grants this client (Admin console > Security > API controls)
    authorized_scopes: set[str] = field(default_factory=lambda: set(GOOGLE_SCOPES))

    users: list[JsonDict] = field(default_factory=list)
    roles: list[JsonDict] = field(default_factory=list)
    role_assignments: list[JsonDict] = field(default_factory=list)
    mobile_devices: list[JsonDict] = field(default_factory=list)
    chromeos_devices: list[JsonDict] = field(default_factory=list)
    #: Cloud Identity ``devices.list`` items
    ci_devices: list[JsonDict] = field(default_factory=list)
    #: Directory ``Group`` objects, and their direct members (``Member`` objects) by group id
    groups: list[JsonDict] = field(default_factory=list)
    group_members: dict[str, list[JsonDict]] = field(default_factory=dict)
    #: Directory ``Domains`` resources (``domains.list``), aliases inside them
    domains: list[JsonDict] = field(default_factory=list)
    #: services not enabled in the service account's Cloud project (``API_SERVICES`` keys): every call to them is
    #: refused with Google's 403 accessNotConfigured / SERVICE_DISABLED
    disabled_apis: set[str] = field(default_factory=set)
    #: the Cloud project number Google names in errors about the service account's project
    project_number: str = "417236845"

    expected: dict[str, Expectation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.client_email:
            self.client_email = f"hygiene-scanner@{self.project_id}.iam.gserviceaccount.com"
        if not self.client_id:
            self.client_id = numeric_id("service-account", self.client_email)

    # -- the key -------------------------------------------------------------------------------------------
    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.private_key_pem.encode("ascii"), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("a service account key is an RSA key")
        return key

    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key().public_key()

    @property
    def private_key_id(self) -> str:
        """40 hex digits, as Google names service account keys: here the SHA-1 of the public key."""
        der = self.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha1(der, usedforsecurity=False).hexdigest()

    def service_account_info(self, token_uri: str) -> JsonDict:
        """The JSON key file Google's console downloads, with ``token_uri`` pointed wherever asked."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + quote(self.client_email, safe=""),
            "universe_domain": "googleapis.com",
        }

    # -- lookups -------------------------------------------------------------------------------------------
    def user(self, email: str) -> JsonDict:
        wanted = email.casefold()
        for candidate in self.users:
            if str(candidate.get("primaryEmail", "")).casefold() == wanted:
                return candidate
            if wanted in (str(a).casefold() for a in candidate.get("aliases") or []):
                return candidate
        raise KeyError(email)

    def replace(self, **changes: Any) -> GoogleScenario:
        return dataclasses.replace(self, **changes)

    # -- serialisation ---------------------------------------------------------------------------------------
    def to_json(self, *, include_secret: bool = False) -> JsonDict:
        raw: JsonDict = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "private_key_pem" and not include_secret:
                continue
            if item.name in ("authorized_scopes", "disabled_apis"):
                value = sorted(value)
            elif item.name == "expected":
                value = {k: v.to_json() for k, v in sorted(value.items())}
            raw[item.name] = value
        return raw

    @classmethod
    def from_json(cls, raw: JsonDict) -> GoogleScenario:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["authorized_scopes"] = set(raw.get("authorized_scopes") or GOOGLE_SCOPES)
        values["disabled_apis"] = set(raw.get("disabled_apis") or ())
        values["expected"] = {k: Expectation.from_json(v) for k, v in (raw.get("expected") or {}).items()}
        return cls(**values)


# -- builders for Google-shaped objects ---------------------------------------------------------------------------


def make_google_user(
    *,
    customer_id: str,
    email: str,
    given_name: str,
    family_name: str,
    created: datetime,
    last_login: datetime | None,
    enrolled: bool,
    enforced: bool,
    org_unit: str = "/",
    is_admin: bool = False,
    is_delegated_admin: bool = False,
    suspended: bool = False,
    archived: bool = False,
    aliases: Iterable[str] = (),
) -> JsonDict:
    """A Directory ``User`` as users.list returns it with projection=full (no custom schemas)."""
    user_id = numeric_id("user", email.casefold())
    local, _, domain = email.partition("@")
    user: JsonDict = {
        "kind": "admin#directory#user",
        "id": user_id,
        "etag": etag("user", email),
        "primaryEmail": email,
        "name": {
            "givenName": given_name,
            "familyName": family_name,
            "fullName": f"{given_name} {family_name}".strip(),
        },
        "isAdmin": is_admin,
        "isDelegatedAdmin": is_delegated_admin,
        "lastLoginTime": google_time(last_login) if last_login is not None else GOOGLE_NEVER,
        "creationTime": google_time(created),
        "agreedToTerms": last_login is not None,
        "suspended": suspended,
        "archived": archived,
        "changePasswordAtNextLogin": last_login is None,
        "ipWhitelisted": False,
        "emails": [{"address": email, "primary": True}]
        + [{"address": alias} for alias in aliases]
        + [{"address": f"{local}@{domain.split('.')[0]}.test-google-a.com"}],
        "customerId": customer_id,
        "orgUnitPath": org_unit,
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": enrolled,
        "isEnforcedIn2Sv": enforced,
        "includeInGlobalAddressList": True,
        "nonEditableAliases": [f"{local}@{domain.split('.')[0]}.test-google-a.com"],
    }
    if aliases:
        user["aliases"] = list(aliases)
    if suspended:
        user["suspensionReason"] = "ADMIN"
    return user


def make_role(customer_id: str, role_name: str, *, description: str | None = None, system: bool = True) -> JsonDict:
    return {
        "kind": "admin#directory#role",
        "etag": etag("role", customer_id, role_name),
        "roleId": numeric_id("role", customer_id, role_name, digits=16),
        "roleName": role_name,
        "roleDescription": description or SYSTEM_ROLES.get(role_name, role_name),
        "rolePrivileges": [
            {
                "privilegeName": "SUPER_ADMIN" if role_name == SUPER_ADMIN_ROLE else "USERS_RETRIEVE",
                "serviceId": "00haapch16h1ysv",
            }
        ],
        "isSystemRole": system,
        "isSuperAdminRole": role_name == SUPER_ADMIN_ROLE,
    }


def make_role_assignment(
    role: JsonDict, assignee: JsonDict, *, org_unit_id: str | None = None, assignee_type: str = "user"
) -> JsonDict:
    """A ``RoleAssignment`` of ``role`` to a user or (``assignee_type="group"``) a group: ``assignedTo`` is its id."""
    assignment: JsonDict = {
        "kind": "admin#directory#roleAssignment",
        "etag": etag("roleAssignment", str(role["roleId"]), str(assignee["id"])),
        "roleAssignmentId": numeric_id("roleAssignment", str(role["roleId"]), str(assignee["id"]), digits=16),
        "roleId": role["roleId"],
        "assignedTo": assignee["id"],
        "assigneeType": assignee_type,
        "scopeType": "ORG_UNIT" if org_unit_id else "CUSTOMER",
    }
    if org_unit_id:
        assignment["orgUnitId"] = org_unit_id
    return assignment


def make_group(email: str, name: str, *, description: str = "", members: int = 0) -> JsonDict:
    """A Directory ``Group`` (security groups are the ones admin roles can be assigned to)."""
    return {
        "kind": "admin#directory#group",
        "id": "0" + opaque_id("group", email.casefold(), length=14).lower().replace("-", "1").replace("_", "2"),
        "etag": etag("group", email),
        "email": email,
        "name": name,
        "directMembersCount": str(members),
        "description": description,
        "adminCreated": True,
    }


def make_member(entity: JsonDict, *, kind: str = "USER", role: str = "MEMBER") -> JsonDict:
    """A ``Member`` of a group: a user or a group (``email`` is the primary address, ``id`` its id)."""
    member: JsonDict = {
        "kind": "admin#directory#member",
        "etag": etag("member", str(entity["id"])),
        "id": entity["id"],
        "email": entity.get("primaryEmail") or entity.get("email"),
        "role": role,
        "type": kind,
    }
    if kind == "USER":
        member["status"] = "ACTIVE"
    return member


def make_mobile_device(
    *,
    owner_email: str,
    owner_name: str,
    model: str,
    os: str,
    last_sync: datetime,
    first_sync: datetime,
    patch_level: datetime | date | None = None,
    status: str = "APPROVED",
    manufacturer: str = "",
    serial: str = "",
    company_owned: bool = False,
) -> JsonDict:
    """A ``MobileDevice`` with projection=FULL. ``os`` is "Android 14" or "iOS 17.5.1"; Android devices report
    their security patch level (epoch ms as a string), iOS devices "0"."""
    android = os.lower().startswith("android")
    release = os.split()[-1]
    device: JsonDict = {
        "kind": "admin#directory#mobiledevice",
        "etag": etag("mobile", owner_email, model, serial),
        "resourceId": opaque_id("mobile", owner_email, model, serial, length=40),
        "deviceId": opaque_id("mobile-device", owner_email, model, serial, length=16).lower(),
        "name": [owner_name],
        "email": [owner_email],
        "model": model,
        "os": os,
        "type": "ANDROID" if android else "IOS_SYNC",
        "status": status,
        "firstSync": google_time(first_sync),
        "lastSync": google_time(last_sync),
        "userAgent": "Android Device Policy 25.31.00" if android else f"Google Device Policy; iOS {release}",
        "releaseVersion": release,
        "securityPatchLevel": epoch_ms(patch_level) if (android and patch_level is not None) else "0",
        "manufacturer": manufacturer or ("Apple Inc." if not android else "Google"),
        "brand": (manufacturer or "google").lower() if android else "Apple",
        "devicePasswordStatus": "On",
        "encryptionStatus": "Encrypted",
        "deviceCompromisedStatus": "No compromise detected",
        "managedAccountIsOnOwnerProfile": company_owned,
        "supportsWorkProfile": android,
        "privilege": ("Device owner" if company_owned else "Profile owner") if android else "Undetected",
    }
    if android:
        device.update({"adbStatus": False, "developerOptionsStatus": False, "unknownSourcesStatus": False})
        device["buildNumber"] = f"AP{release}A.{patch_level.strftime('%y%m%d') if patch_level else '000000'}.001"
    if serial:
        device["serialNumber"] = serial
    return device


def make_chromeos_device(
    *,
    customer_id: str,
    serial: str,
    model: str,
    os_version: str,
    last_sync: datetime,
    enrolled: datetime,
    auto_update_through: date,
    status: str = "ACTIVE",
    compliance: str | None = "compliant",
    user: str | None = None,
    org_unit: str = "/",
    platform: str = "octopus",
    update_state: str | None = None,
) -> JsonDict:
    """A ``ChromeOsDevice`` with projection=FULL (a subset of its fields: the ones a list always carries)."""
    milestone = os_version.split(".")[0]
    device: JsonDict = {
        "kind": "admin#directory#chromeosdevice",
        "etag": etag("chromeos", serial),
        "deviceId": uuid_id("chromeos", serial),
        "serialNumber": serial,
        "status": status,
        "lastSync": google_time(last_sync),
        "model": model,
        "osVersion": os_version,
        "platformVersion": f"{16000 + int(milestone) * 10}.{int(milestone) % 60}.0 (Official Build) "
        f"stable-channel {platform}",
        "firmwareVersion": f"Google_{platform.capitalize()}.11297.{int(milestone) % 100}.0",
        "macAddress": opaque_id("mac", serial, length=12).lower(),
        "bootMode": "Verified",
        "firstEnrollmentTime": google_time(enrolled),
        "lastEnrollmentTime": google_time(enrolled),
        "orgUnitPath": org_unit,
        "orgUnitId": "id:" + opaque_id("ou", customer_id, org_unit, length=14).lower(),
        "autoUpdateThrough": auto_update_through.isoformat(),
        # deprecated: the same moment as epoch milliseconds (int64 format)
        "autoUpdateExpiration": epoch_ms(auto_update_through),
        "osUpdateStatus": {"updateCheckTime": google_time(last_sync), "updateTime": google_time(last_sync)},
        "chromeOsType": "chromeOs",
        "deviceLicenseType": "enterprise",
        "willAutoRenew": False,
        "extendedSupportEligible": False,
    }
    if update_state:
        device["osUpdateStatus"]["state"] = update_state
    if compliance is not None:
        device["osVersionCompliance"] = compliance
    if user:
        device["annotatedUser"] = user
        device["recentUsers"] = [{"type": "USER_TYPE_MANAGED", "email": user}]
    if status == "DEPROVISIONED":
        # the ChromeOsDevice.deprovisionReason enum of admin.directory_v1 (no longer the old camel-case values)
        device["deprovisionReason"] = "DEPROVISION_REASON_RETIRING_DEVICE"
    return device


def make_ci_device(
    *,
    key: str,
    device_type: str,
    model: str,
    os_version: str,
    last_sync: datetime,
    created: datetime,
    serial: str | None,
    owner: str = "COMPANY",
    manufacturer: str = "",
    security_patch: datetime | None = None,
    compromised: str = "UNCOMPROMISED",
    hostname: str | None = None,
    device_id: str | None = None,
    management_state: str = "APPROVED",
    encryption_state: str | None = "ENCRYPTED",
) -> JsonDict:
    """A Cloud Identity ``Device`` as devices.list returns it; its ``name`` is ``devices/{device_id}``;
    ``encryption_state`` None leaves ``encryptionState`` out (the device reported none)."""
    device_id = device_id or opaque_id("ci", key, length=16).lower()
    device: JsonDict = {
        "name": f"devices/{device_id}",
        "createTime": cloud_time(created),
        "lastSyncTime": cloud_time(last_sync),
        "ownerType": owner,
        "model": model,
        "osVersion": os_version,
        "deviceType": device_type,
        "compromisedState": compromised,
        "managementState": management_state,
        "manufacturer": manufacturer,
        "deviceId": uuid_id("ci-device", key),
    }
    if encryption_state is not None:
        device["encryptionState"] = encryption_state
    if serial:
        device["serialNumber"] = serial
    if security_patch is not None:
        device["securityPatchTime"] = cloud_time(security_patch)
    if hostname:
        device["hostname"] = hostname
    return device
