"""The normalised snapshot: what sources collect and checks read.

Sources turn vendor responses into these models; checks never see vendor JSON. A snapshot is saved as
``snapshot.json.gz`` so that ``hygiene evaluate`` can re-run every check offline.

Every piece of data a source tries to collect is a *dataset* (``m365.users``, ``m365.devices`` …) with a
:class:`DatasetState`. A check declares the datasets it needs; when one is unavailable the check is
``not_assessed`` with the dataset's reason, never passed or failed on data nobody saw.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Literal, get_args

from pydantic import BaseModel, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from hygiene.strict import STRICT_CONFIG
from hygiene.strict import StrictModel as Model

SNAPSHOT_SCHEMA_VERSION = 1


#: The per-resource records there are thousands of (users, devices, credential-report rows) are slotted pydantic
#: dataclasses rather than models: the same validation and the same JSON, but no per-instance ``__dict__`` and
#: fields-set, about 1.1 KB less each: 150 MB less at 50,000 users (docs/benchmarks.md).
_RECORD = STRICT_CONFIG


class ReasonKind(StrEnum):
    """Why something could not be assessed."""

    LICENCE = "licence"
    PERMISSION = "permission"
    API_GAP = "api_gap"
    UNREACHABLE = "unreachable"
    NOT_COLLECTED = "not_collected"
    ERROR = "error"


class DatasetState(Model):
    available: bool
    reason_kind: ReasonKind | None = None
    reason: str | None = None
    #: how the data was obtained when there is more than one way (e.g. a fallback report)
    method: str | None = None
    endpoint: str | None = None
    records: int = 0
    #: the part of the platform the dataset covers when that is not all of it (e.g. the AWS regions read): stated in
    #: the note of every result that uses the dataset
    scope: str | None = None
    #: the permissions or licences that would make an unavailable dataset available
    needs: list[str] = Field(default_factory=list)
    #: False: not read because no check of this partial scan needs it (``hygiene scan --checks/--platforms``)
    selected: bool = True


SourceStatus = Literal["ok", "partial", "error"]


class SourceRun(Model):
    """What happened when one platform was collected."""

    platform: str
    status: SourceStatus
    started_at: datetime
    finished_at: datetime
    scope: dict[str, str] = Field(default_factory=dict)
    requests: int = 0
    errors: list[str] = Field(default_factory=list)
    endpoints: list[str] = Field(default_factory=list)
    datasets: dict[str, DatasetState] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Microsoft 365
# --------------------------------------------------------------------------------------------------


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class M365User:
    id: str
    upn: str
    display_name: str = ""
    enabled: bool
    user_type: str = "Member"  # Member / Guest
    created: datetime | None = None
    assigned_sku_ids: list[str] = Field(default_factory=list)
    # signInActivity (needs Entra ID P1): successful only (since Dec 2023), interactive attempts, non-interactive
    last_successful_sign_in: datetime | None = None
    last_interactive_sign_in: datetime | None = None
    last_non_interactive_sign_in: datetime | None = None
    #: no-P1 fallback: the latest "Last Activity Date" across workloads of the Office 365 active-user report
    last_activity_date: datetime | None = None
    #: what tells an external (B2B) account from an internal one: externalUserState (PendingAcceptance / Accepted,
    #: null for internal accounts), creationType ("Invitation" for invited accounts) and the signInType of each of
    #: its identities ("federated" for an identity another organisation or provider issues); None: not read
    external_user_state: str | None = None
    creation_type: str | None = None
    identity_sign_in_types: list[str] | None = None
    #: onPremisesSyncEnabled: True when synchronised from an on-premises directory, False when it once was and no
    #: longer is, None for an account that was never synchronised (cloud-only) or when not read
    on_premises_sync_enabled: bool | None = None


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class M365Registration:
    """One row of the authentication-methods registration report."""

    user_id: str
    is_mfa_registered: bool
    is_mfa_capable: bool
    methods: list[str] = Field(default_factory=list)
    is_admin: bool = False
    #: no-P1 fallback: authentication method types (@odata.type) hygiene does not know, never counted as strong
    unknown_methods: list[str] = Field(default_factory=list)


class CAGuestsOrExternalUsers(Model):
    """conditionalAccessGuestsOrExternalUsers: which guest or external user types, from which tenants."""

    #: conditionalAccessGuestOrExternalUserTypes flags (a comma-separated string on the wire), e.g. internalGuest,
    #: b2bCollaborationGuest, b2bCollaborationMember, b2bDirectConnectUser, otherExternalUser, serviceProvider
    user_types: list[str] = Field(default_factory=list)
    #: externalTenants.membershipKind: all / enumerated / unknownFutureValue; None when externalTenants is null
    tenants_kind: str | None = None
    #: externalTenants.members (conditionalAccessEnumeratedExternalTenants): tenant ids
    tenant_ids: list[str] = Field(default_factory=list)


class CAUsers(Model):
    include_users: list[str] = Field(default_factory=list)
    exclude_users: list[str] = Field(default_factory=list)
    include_groups: list[str] = Field(default_factory=list)
    exclude_groups: list[str] = Field(default_factory=list)
    include_roles: list[str] = Field(default_factory=list)
    exclude_roles: list[str] = Field(default_factory=list)
    include_guests_or_external_users: CAGuestsOrExternalUsers | None = None
    exclude_guests_or_external_users: CAGuestsOrExternalUsers | None = None


class CAPolicy(Model):
    id: str
    name: str
    state: str  # enabled / disabled / enabledForReportingButNotEnforced
    users: CAUsers = Field(default_factory=CAUsers)
    include_applications: list[str] = Field(default_factory=list)
    exclude_applications: list[str] = Field(default_factory=list)
    #: applications.applicationFilter.mode (include / exclude) when the policy filters apps by attributes
    application_filter_mode: str | None = None
    client_app_types: list[str] = Field(default_factory=list)
    grant_operator: str | None = None  # AND / OR
    built_in_controls: list[str] = Field(default_factory=list)
    #: authenticationStrength.requirementsSatisfied ("mfa" when the strength demands MFA)
    auth_strength_requirement: str | None = None
    auth_strength_name: str | None = None
    #: conditions that make the policy apply only sometimes (locations, platforms, risk levels, device
    #: filters): such a policy does not enforce MFA for every sign-in
    narrowing_conditions: list[str] = Field(default_factory=list)


class M365RoleAssignment(Model):
    principal_id: str
    principal_type: str = "user"  # user / group / servicePrincipal
    role_definition_id: str
    role_template_id: str
    role_name: str
    #: "active" (roleAssignments: the role is held now) or "eligible" (PIM roleEligibilityScheduleInstances:
    #: the principal can activate the role whenever it wants)
    assignment: Literal["active", "eligible"] = "active"


class M365Sku(Model):
    sku_id: str
    part_number: str
    enabled_units: int = 0
    consumed_units: int = 0


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class M365Device:
    id: str
    name: str
    operating_system: str
    os_version: str
    compliance_state: str
    last_sync: datetime | None = None
    enrolled: datetime | None = None
    android_security_patch_level: str | None = None
    user_principal_name: str | None = None
    model: str | None = None
    owner_type: str | None = None
    #: the primary user's object id (userId; None for a userless device) and the Entra ID device id
    #: (azureADDeviceId, the ``deviceId`` of the directory's device object): what assignment groups contain
    user_id: str | None = None
    azure_ad_device_id: str | None = None
    #: ``isEncrypted`` (None: not reported; the CSDL declares it non-nullable, so absent means not read)
    is_encrypted: bool | None = None


class M365ProtectionState(Model):
    """A Windows device's Defender antivirus state (Intune ``windowsProtectionState``); None: not reported."""

    real_time_protection: bool | None = None
    malware_protection: bool | None = None
    tamper_protection: bool | None = None
    signature_update_overdue: bool | None = None
    signature_version: str | None = None
    last_reported: datetime | None = None
    #: ``productStatus`` flags (windowsDefenderProductStatus members), e.g. ["avSignaturesOutOfDate"]
    product_status: list[str] = Field(default_factory=list)


class DefenderMachine(Model):
    """A machine of Microsoft Defender for Endpoint (``/api/machines``)."""

    id: str
    name: str
    #: onboardingStatus as sent (documented: onboarded, CanBeOnboarded, Unsupported, InsufficientInfo)
    onboarding_status: str = ""
    #: healthStatus (documented: Active, Inactive, ImpairedCommunication, NoSensorData,
    #: NoSensorDataImpairedCommunication, Unknown)
    health_status: str = ""
    last_seen: datetime | None = None
    os_platform: str = ""
    os_build: int | None = None
    exposure_level: str | None = None
    #: the Entra ID device id (aadDeviceId), which matches an Intune device's azureADDeviceId
    aad_device_id: str | None = None


class DefenderVulnerability(Model):
    """One row of Defender's software-vulnerability export (``/api/machines/SoftwareVulnerabilitiesByMachine``):
    a CVE of a product installed on a device."""

    device_id: str
    device_name: str = ""
    cve_id: str
    #: vulnerabilitySeverityLevel as sent (Low, Medium, High, Critical)
    severity: str = ""
    #: when this product's CVE was first seen on the device
    first_seen: datetime | None = None
    security_update_available: bool | None = None
    update_id: str | None = None
    update_name: str | None = None
    software: str = ""


class M365PolicyAssignment(Model):
    """One deviceCompliancePolicyAssignment's target (deviceAndAppManagementAssignmentTarget subtypes)."""

    #: allDevices / allLicensedUsers / group / exclusionGroup / other (configurationManagerCollection, unknown)
    target: str
    group_id: str | None = None
    odata_type: str = ""


class M365AssignmentGroup(Model):
    """The transitive members of a group a compliance policy is assigned to (or excluded from)."""

    users: list[str] = Field(default_factory=list)
    #: Entra ID ``deviceId`` of each device member; None when device members came back without it (the app may
    #: not read devices: Graph then returns only their id and type)
    devices: list[str] | None = Field(default_factory=list)


class M365CompliancePolicy(Model):
    id: str
    name: str
    platform: str  # windows / android / ios / macos / other (from @odata.type)
    os_minimum_version: str | None = None
    #: None when the assignments could not be read: the policy is then taken to apply to every device
    assignments: list[M365PolicyAssignment] | None = None


class M365BackupPolicy(Model):
    id: str
    name: str
    workload: str  # exchange / sharePoint / oneDriveForBusiness
    #: protectionPolicyStatus: inactive / activeWithErrors / updating / active / unknownFutureValue
    status: str


class M365Backup(Model):
    #: backupServiceStatus: disabled / enabled / protectionChangeLocked / restoreLocked / unknownFutureValue
    service_status: str | None = None
    #: disableReason: none / controllerServiceAppDeleted / invalidBillingProfile / userRequested / unknownFutureValue
    disable_reason: str | None = None
    policies: list[M365BackupPolicy] = Field(default_factory=list)


class M365AppConsent(Model):
    #: authorizationPolicy.defaultUserRolePermissions.permissionGrantPoliciesAssigned: the permission grant
    #: policies under which users may consent for themselves ("ManagePermissionGrantsForSelf.<id>"); None: absent
    user_consent_policies: list[str] | None = None
    #: adminConsentRequestPolicy.isEnabled: users can ask an admin for the apps they cannot consent to; None: not read
    admin_consent_requests: bool | None = None


class M365AppCredential(Model):
    kind: Literal["secret", "certificate"]
    name: str = ""
    #: endDateTime; None: the credential states no end (never expires)
    end: datetime | None = None


class M365App(Model):
    """An app seen in the tenant: an enterprise app (service principal) and, when the tenant owns it, its app
    registration (application object), joined on ``appId``."""

    app_id: str
    name: str
    #: the service principal's object id (None: an app registration without a service principal here)
    service_principal_id: str | None = None
    #: appOwnerOrganizationId: the tenant that registered the app (another tenant's id: a third-party app)
    owner_tenant_id: str | None = None
    #: Microsoft Graph application permissions (app role values) granted to the service principal; an app role id
    #: the Graph service principal does not list is kept as its id
    graph_permissions: list[str] = Field(default_factory=list)
    #: the app registration's passwordCredentials and keyCredentials; None: no app registration in this tenant
    credentials: list[M365AppCredential] | None = None


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class MailDomain:
    """A domain an identity platform holds (Graph ``domain``, Directory ``domains``/``domainAliases``)."""

    name: str
    verified: bool
    #: the tenant's default domain (Graph ``isDefault``) or the customer's primary domain (Google ``isPrimary``)
    default: bool = False
    #: mail for it is handled by the platform: Graph ``supportedServices`` contains "Email"; every Google domain
    email: bool = True


class M365Data(Model):
    tenant_id: str
    users: list[M365User] = Field(default_factory=list)
    registrations: list[M365Registration] = Field(default_factory=list)
    security_defaults_enabled: bool | None = None
    ca_policies: list[CAPolicy] = Field(default_factory=list)
    #: group id -> transitive user members (groups named by CA policies or role assignments)
    group_members: dict[str, list[str]] = Field(default_factory=dict)
    #: role-holding group id -> users eligible to become members through PIM for Groups (they hold the group's
    #: roles once they activate the membership)
    group_eligible_members: dict[str, list[str]] = Field(default_factory=dict)
    role_assignments: list[M365RoleAssignment] = Field(default_factory=list)
    #: per-user MFA state (disabled/enabled/enforced), fetched only for users no other enforcement covers
    per_user_mfa: dict[str, str] = Field(default_factory=dict)
    skus: list[M365Sku] = Field(default_factory=list)
    devices: list[M365Device] = Field(default_factory=list)
    compliance_policies: list[M365CompliancePolicy] = Field(default_factory=list)
    #: group id -> members, for the groups compliance policies are assigned to; absent: could not be read
    assignment_groups: dict[str, M365AssignmentGroup] = Field(default_factory=dict)
    backup: M365Backup | None = None
    #: Intune managed device id -> its Defender antivirus state (Windows devices whose state could be read)
    protection_states: dict[str, M365ProtectionState] = Field(default_factory=dict)
    defender_machines: list[DefenderMachine] = Field(default_factory=list)
    defender_vulnerabilities: list[DefenderVulnerability] = Field(default_factory=list)
    #: the break-glass accounts the configuration declares ([sources.m365] break_glass), by user principal name;
    #: kept in the snapshot so that re-evaluating it judges the same accounts
    break_glass: list[str] = Field(default_factory=list)
    #: who may consent to apps (authorizationPolicy, adminConsentRequestPolicy); None: not read
    app_consent: M365AppConsent | None = None
    #: enterprise apps holding Microsoft Graph application permissions, and app registrations' credentials
    apps: list[M365App] = Field(default_factory=list)
    #: the tenant's domains (``GET /domains``)
    domains: list[MailDomain] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Google Workspace
# --------------------------------------------------------------------------------------------------


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class GoogleUser:
    id: str
    email: str
    name: str = ""
    suspended: bool = False
    archived: bool = False
    is_super_admin: bool = False
    is_delegated_admin: bool = False
    enrolled_2sv: bool = False
    enforced_2sv: bool = False
    #: None when Google reports the 1970 epoch: the account has never been used
    last_login: datetime | None = None
    created: datetime | None = None
    org_unit: str = "/"

    @property
    def active(self) -> bool:
        return not self.suspended and not self.archived


class GoogleRoleAssignment(Model):
    role_id: str
    role_name: str
    is_super_admin_role: bool = False
    #: a user id or a group id (``assignee_type``), or a service account's uniqueId
    assigned_to: str
    #: ``user`` or ``group`` (the discovery document's enum); any other value is kept as sent, never dropped
    assignee_type: str = "user"
    scope_type: str = "CUSTOMER"


class GoogleGroupMember(Model):
    """A member of a group that holds an admin role (Directory ``members.list`` with indirect members)."""

    id: str
    email: str | None = None
    #: ``USER``, ``GROUP``, ``CUSTOMER`` (every user of the account) or ``EXTERNAL`` (documented, "not currently
    #: used"); anything else is kept as sent
    type: str = "USER"


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class GoogleMobileDevice:
    id: str
    model: str
    os: str  # "Android 14", "iOS 17.5.1"
    type: str  # ANDROID, IOS_SYNC, GOOGLE_SYNC …
    status: str = ""
    #: None when the device reports no patch level (iOS sends "0")
    security_patch_level: datetime | None = None
    last_sync: datetime | None = None
    emails: list[str] = Field(default_factory=list)

    @property
    def display_name(self) -> str:
        return f"{self.model} ({self.emails[0]})" if self.emails else self.model


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class GoogleChromeDevice:
    id: str
    serial_number: str
    model: str = ""
    os_version: str = ""
    status: str = ""
    last_sync: datetime | None = None
    auto_update_through: datetime | None = None
    os_version_compliance: str | None = None
    user: str | None = None


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class GoogleEndpoint:
    """A Cloud Identity device (endpoint verification / advanced management)."""

    name: str
    device_type: str
    serial_number: str | None = None
    model: str = ""
    os_version: str = ""
    security_patch_time: datetime | None = None
    last_sync: datetime | None = None
    compromised_state: str | None = None
    #: ``encryptionState``: ENCRYPTED, NOT_ENCRYPTED, UNSUPPORTED_BY_DEVICE, ENCRYPTION_STATE_UNSPECIFIED (None: not
    #: reported)
    encryption_state: str | None = None
    #: ``managementState``: APPROVED, BLOCKED, PENDING, UNPROVISIONED, WIPING, WIPED (None: not reported)
    management_state: str | None = None

    @property
    def display_name(self) -> str:
        return self.serial_number or self.name


class GoogleData(Model):
    customer_id: str
    domain: str | None = None
    users: list[GoogleUser] = Field(default_factory=list)
    role_assignments: list[GoogleRoleAssignment] = Field(default_factory=list)
    #: group id -> its members (direct and indirect), for the groups that hold admin roles and could be listed
    group_members: dict[str, list[GoogleGroupMember]] = Field(default_factory=dict)
    mobile_devices: list[GoogleMobileDevice] = Field(default_factory=list)
    chrome_devices: list[GoogleChromeDevice] = Field(default_factory=list)
    endpoints: list[GoogleEndpoint] = Field(default_factory=list)
    #: the customer's domains and domain aliases (``domains.list``)
    domains: list[MailDomain] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# AWS
# --------------------------------------------------------------------------------------------------


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class AwsAccessKey:
    slot: int  # 1 or 2, as in the credential report
    active: bool
    last_rotated: datetime | None = None
    #: None when the report says N/A: the key has never been used
    last_used: datetime | None = None


@pydantic_dataclass(config=_RECORD, slots=True, kw_only=True)
class AwsCredentialUser:
    """One row of the IAM credential report (the root row is kept apart)."""

    user: str
    arn: str
    created: datetime | None = None
    password_enabled: bool = False
    #: None with password_last_used_note saying why ("never used", "no_information" …)
    password_last_used: datetime | None = None
    password_last_used_note: str | None = None
    mfa_active: bool = False
    access_keys: list[AwsAccessKey] = Field(default_factory=list)


class AwsRoot(Model):
    mfa_enabled: bool
    access_keys_present: bool
    #: GetAccountSummary ``AccountPasswordPresent``; None when the summary does not say
    password_present: bool | None = None
    #: GetAccountSummary ``AccountSigningCertificatesPresent``; None when the summary does not say
    signing_certificates_present: bool | None = None

    @property
    def credentials_removed(self) -> bool:
        """True only when the account summary says the root user has no password, no access key, no signing
        certificate and no MFA device (as after "Delete root user credentials" with centralised root access)."""
        return (
            self.password_present is False
            and self.signing_certificates_present is False
            and not self.access_keys_present
            and not self.mfa_enabled
        )


class AwsInstance(Model):
    id: str
    region: str
    state: str
    name: str | None = None
    platform: str | None = None
    volume_ids: list[str] = Field(default_factory=list)


class AwsDbInstance(Model):
    arn: str
    id: str
    region: str
    backup_retention_days: int
    latest_restorable: datetime | None = None
    #: ``DBInstance.Engine`` (postgres, aurora-postgresql, docdb, neptune …)
    engine: str | None = None
    #: ``DBInstance.DBClusterIdentifier``: the cluster this instance is a member of (Aurora, DocumentDB, Neptune,
    #: Multi-AZ DB clusters back up at cluster level)
    cluster_id: str | None = None


class AwsDbCluster(Model):
    """A DB cluster (``rds:DescribeDBClusters``: Aurora, Multi-AZ DB clusters, DocumentDB, Neptune)."""

    arn: str
    id: str
    region: str
    engine: str
    backup_retention_days: int
    #: the member instances' identifiers
    members: list[str] = Field(default_factory=list)


class AwsVault(Model):
    name: str
    region: str
    locked: bool
    recovery_points: int = 0
    #: ``VaultType``: BACKUP_VAULT, LOGICALLY_AIR_GAPPED_BACKUP_VAULT, RESTORE_ACCESS_BACKUP_VAULT (None: absent)
    vault_type: str | None = None
    #: ``VaultState``: CREATING, AVAILABLE, FAILED (None: absent)
    state: str | None = None
    #: ``LockDate``: absent = governance mode (removable at any time); future = compliance mode in its grace time;
    #: past = compliance mode, immutable
    lock_date: datetime | None = None
    min_retention_days: int | None = None
    max_retention_days: int | None = None


class AwsRecoveryPoint(Model):
    """The newest recovery point of a resource, in one vault, with one status (``ListRecoveryPointsByBackupVault``),
    among those created within the look-back (``AwsData.recovery_point_window_days``)."""

    resource_arn: str
    region: str
    vault_name: str
    status: str
    created: datetime | None = None
    resource_type: str | None = None
    message: str | None = None


class AwsProtectedResource(Model):
    arn: str
    type: str
    region: str
    last_backup: datetime | None = None


class AwsBackupJob(Model):
    id: str
    region: str
    state: str
    resource_arn: str
    resource_type: str | None = None
    created: datetime | None = None
    completed: datetime | None = None
    message: str | None = None


class AwsRestoreJob(Model):
    id: str
    region: str
    status: str
    completed: datetime | None = None
    created: datetime | None = None
    resource_type: str | None = None
    #: ``CreatedBy.RestoreTestingPlanArn``: the restore testing plan that started the job (None: a manual restore)
    testing_plan_arn: str | None = None
    #: ``ValidationStatus``: FAILED, SUCCESSFUL, TIMED_OUT, VALIDATING (None: no validation ran)
    validation_status: str | None = None
    message: str | None = None


class AwsRestoreTestingPlan(Model):
    arn: str
    name: str
    region: str
    created: datetime | None = None
    #: ``LastExecutionTime``: None = never run
    last_execution: datetime | None = None
    #: ``ProtectedResourceType`` of each of its selections (``ListRestoreTestingSelections``)
    selection_types: list[str] = Field(default_factory=list)


class AwsManagedInstance(Model):
    id: str
    region: str
    ping_status: str
    last_ping: datetime | None = None
    platform: str | None = None


class AwsPatchState(Model):
    """SSM ``InstancePatchState``: the counts of the node's last patch operation. The node is NON_COMPLIANT when any
    patch is missing, failed, installed but pending a reboot, or installed though rejected; the critical / security
    / other counts only classify those patches (by the baseline's compliance levels, UNSPECIFIED by default)."""

    instance_id: str
    region: str
    missing: int = 0
    failed: int = 0
    pending_reboot: int = 0
    #: ``InstalledRejectedCount``: patches on the RejectedPatches list that are installed
    installed_rejected: int = 0
    critical_non_compliant: int = 0
    security_non_compliant: int = 0
    #: ``OtherNonCompliantCount``: non-compliant patches classified other than Critical or Security
    other_non_compliant: int = 0
    #: ``AvailableSecurityUpdateCount`` (Windows Server): security patches available but not approved by the
    #: baseline; None when not reported
    available_security_updates: int | None = None
    operation_end: datetime | None = None


class AwsGap(Model):
    """A dataset that could not be read in one account (and region): checks stay honest about it."""

    dataset: str
    account_id: str
    region: str | None = None
    reason_kind: ReasonKind
    reason: str
    needs: list[str] = Field(default_factory=list)


class AwsAccountNotScanned(Model):
    """A member account that Organizations lists in a state in which nothing in it can be used (SUSPENDED,
    CLOSED): named in the scan's scope, never silently dropped."""

    account_id: str
    name: str = ""
    #: ``Account.State`` (or the retired ``Status``) as Organizations listed it
    state: str
    reason: str


class AwsAccount(Model):
    account_id: str
    name: str = ""
    #: ``Account.State`` in Organizations (``Status`` when State is absent); None: not listed (no organisation read)
    state: str | None = None
    regions: list[str] = Field(default_factory=list)
    root: AwsRoot | None = None
    users: list[AwsCredentialUser] = Field(default_factory=list)
    credential_report_generated: datetime | None = None
    instances: list[AwsInstance] = Field(default_factory=list)
    db_instances: list[AwsDbInstance] = Field(default_factory=list)
    db_clusters: list[AwsDbCluster] = Field(default_factory=list)
    backup_plans: int = 0
    vaults: list[AwsVault] = Field(default_factory=list)
    protected_resources: list[AwsProtectedResource] = Field(default_factory=list)
    recovery_points: list[AwsRecoveryPoint] = Field(default_factory=list)
    backup_jobs: list[AwsBackupJob] = Field(default_factory=list)
    restore_testing_plans: list[AwsRestoreTestingPlan] = Field(default_factory=list)
    restore_jobs: list[AwsRestoreJob] = Field(default_factory=list)
    managed_instances: list[AwsManagedInstance] = Field(default_factory=list)
    patch_states: list[AwsPatchState] = Field(default_factory=list)


class AwsData(Model):
    accounts: list[AwsAccount] = Field(default_factory=list)
    gaps: list[AwsGap] = Field(default_factory=list)
    #: member accounts listed but not scanned because they cannot be used (suspended, closed)
    not_scanned: list[AwsAccountNotScanned] = Field(default_factory=list)
    #: the AWS partition of the scanned accounts, from the caller's ARN (``aws``, ``aws-us-gov``, ``aws-cn``)
    partition: str = "aws"
    #: the organisation's management account (from the account ARNs ListAccounts returns); None: not known
    management_account_id: str | None = None
    #: IAM ListOrganizationsFeatures ``EnabledFeatures`` includes RootCredentialsManagement (centralised root
    #: access); None: not known (not an organisation scan, or the call failed: ``root_features_note`` says why)
    root_credentials_management: bool | None = None
    root_features_note: str | None = None
    #: the look-back used for backup and restore jobs, in days
    job_lookback_days: int = 30
    #: the look-back of ``AwsAccount.recovery_points`` (recovery points created within it were read), in days;
    #: None: recovery points were not read (a snapshot from an older version)
    recovery_point_window_days: int | None = None


# --------------------------------------------------------------------------------------------------
# Azure (Resource Graph and the subscription list; docs/vendor-facts.md, "Azure")
# --------------------------------------------------------------------------------------------------


class AzureSubscription(Model):
    """A subscription the app can read and that was scanned (``GET /subscriptions``)."""

    id: str
    name: str = ""
    #: ``state``: Enabled, Warned, PastDue (scanned); Disabled and Deleted are in ``AzureData.not_scanned``
    state: str | None = None


class AzureSubscriptionNotScanned(Model):
    """A subscription named in the scope but not scanned: configured but not readable by the app, or listed in
    a state in which it cannot be used (Disabled, Deleted) or that hygiene does not know."""

    subscription_id: str
    name: str = ""
    state: str | None = None
    reason: str


class AzureGap(Model):
    """A dataset that could not be read for one subscription (or for all: ``subscription_id`` None)."""

    dataset: str
    subscription_id: str | None = None
    reason_kind: ReasonKind
    reason: str
    needs: list[str] = Field(default_factory=list)


class AzureMachine(Model):
    """A virtual machine (``Microsoft.Compute/virtualMachines``) or an Arc-enabled server
    (``Microsoft.HybridCompute/machines``) from the Resource Graph ``resources`` table."""

    #: the ARM resource id as Resource Graph returned it (compare case-insensitively)
    id: str
    name: str
    #: ``vm`` or ``arc``
    kind: Literal["vm", "arc"]
    subscription_id: str
    resource_group: str = ""
    location: str = ""
    #: Windows or Linux when Azure says
    os_type: str | None = None
    #: the guest OS as the machine reports it: a VM's ``properties.extended.instanceView.osName`` / ``osVersion``
    #: (from the VM agent), an Arc server's ``properties.osSku`` / ``osVersion``; None: not reported
    os_name: str | None = None
    os_version: str | None = None


class AzureVault(Model):
    """A Recovery Services vault (``Microsoft.RecoveryServices/vaults``) or a Backup vault
    (``Microsoft.DataProtection/backupVaults``)."""

    id: str
    name: str
    kind: Literal["recovery_services", "backup"]
    subscription_id: str
    #: ``securitySettings.immutabilitySettings.state``: Disabled, Unlocked, Locked (None: not set)
    immutability: str | None = None
    #: Recovery Services ``softDeleteSettings.softDeleteState`` (Invalid, Enabled, Disabled, AlwaysON) or Backup
    #: vault ``softDeleteSettings.state`` (Off, On, AlwaysOn); None: not set
    soft_delete: str | None = None
    #: Recovery Services ``redundancySettings.crossRegionRestore`` or Backup vault
    #: ``featureSettings.crossRegionRestoreSettings.state`` (Enabled, Disabled); None: not set
    cross_region_restore: str | None = None


class AzureBackupItem(Model):
    """A Recovery Services backup item (``.../backupFabrics/protectionContainers/protectedItems``) or a Backup vault
    backup instance (``Microsoft.DataProtection/backupVaults/backupInstances``: disks, blobs, databases)."""

    id: str
    name: str
    subscription_id: str
    #: the vault's ARM id (the item id's prefix)
    vault_id: str
    #: the protected resource's ARM id (a VM, an Arc server, a storage account for a file share); None: not given
    source_resource_id: str | None = None
    #: ``protectedItemType`` / ``workloadType``, e.g. Microsoft.Compute/virtualMachines, AzureFileShareProtectedItem
    item_type: str | None = None
    friendly_name: str | None = None
    #: ``protectionState``: Invalid, IRPending, Protected, ProtectionError, ProtectionStopped, ProtectionPaused,
    #: BackupsSuspended; a backup instance's ``currentProtectionState``: ProtectionConfigured, ProtectionStopped,
    #: ProtectionError, BackupSchedulesSuspended, ConfiguringProtection, SoftDeleted, ...
    protection_state: str | None = None
    last_backup_status: str | None = None
    last_backup_time: datetime | None = None
    #: the newest recovery point (a completed one: Azure Backup lists only restorable points)
    last_recovery_point: datetime | None = None


class AzureBackupJob(Model):
    """A Recovery Services backup job (``.../vaults/backupJobs``; Resource Graph keeps 14 days of them) or a Backup
    vault job (``.../backupVaults/backupJobs``: ``operationCategory`` as the operation)."""

    id: str
    subscription_id: str
    vault_id: str
    #: ``operation``: Backup, Restore, ConfigureBackup, DisableBackup, DeleteBackupData, ...
    operation: str | None = None
    #: ``status``: InProgress, Completed, Failed, CompletedWithWarnings, Cancelled, Cancelling
    status: str | None = None
    entity: str | None = None
    #: a Backup vault job's ``backupInstanceId`` (Recovery Services jobs name their item only by ``entity``)
    instance_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class AzurePatchAssessment(Model):
    """The latest Azure Update Manager assessment of a machine (``.../patchAssessmentResults/latest``)."""

    machine_id: str
    #: ``status``: Succeeded, Failed, InProgress, CompletedWithWarnings, Unknown
    status: str | None = None
    assessed_at: datetime | None = None
    critical: int | None = None
    security: int | None = None


class AzurePatchInstallation(Model):
    """One Azure Update Manager installation run of a machine (``patchinstallationresources``
    ``.../patchInstallationResults/<run>``; Resource Graph keeps 30 days of them)."""

    machine_id: str
    #: ``status``: Succeeded, Failed, InProgress, CompletedWithWarnings, Unknown (PatchOperationStatus)
    status: str | None = None
    started: datetime | None = None
    #: ``lastModifiedDateTime``: when the run last changed (its end once it is over)
    finished: datetime | None = None
    installed: int | None = None
    failed: int | None = None
    #: ``maintenanceWindowExceeded``: the run stopped at the end of its window with updates not installed
    window_exceeded: bool | None = None


class AzureMissingPatch(Model):
    """A critical or security update an assessment found available (``.../softwarePatches/<update>``)."""

    machine_id: str
    name: str
    classifications: list[str] = Field(default_factory=list)
    published: datetime | None = None


class AzureRoleAssignment(Model):
    """A role assignment (``authorizationresources``): any role gives access to Azure management; Owner and User
    Access Administrator (``privileged``) control the subscription."""

    id: str
    subscription_id: str
    #: ``properties.scope``: the subscription, a management group above it, or a resource group or resource in it
    scope: str
    #: the built-in role's name (Owner, User Access Administrator, Contributor, Reader, ...) or the definition id
    role: str
    principal_id: str
    #: ``principalType``: User, Group, ServicePrincipal, ForeignGroup, Device (None: not given)
    principal_type: str | None = None
    #: Owner or User Access Administrator: the roles that control the subscription (``azure.rbac.owners``)
    privileged: bool = True


class AzureData(Model):
    subscriptions: list[AzureSubscription] = Field(default_factory=list)
    not_scanned: list[AzureSubscriptionNotScanned] = Field(default_factory=list)
    gaps: list[AzureGap] = Field(default_factory=list)
    machines: list[AzureMachine] = Field(default_factory=list)
    vaults: list[AzureVault] = Field(default_factory=list)
    backup_items: list[AzureBackupItem] = Field(default_factory=list)
    backup_jobs: list[AzureBackupJob] = Field(default_factory=list)
    patch_assessments: list[AzurePatchAssessment] = Field(default_factory=list)
    missing_patches: list[AzureMissingPatch] = Field(default_factory=list)
    patch_installations: list[AzurePatchInstallation] = Field(default_factory=list)
    role_assignments: list[AzureRoleAssignment] = Field(default_factory=list)
    #: how many days of backup jobs Resource Graph keeps (and so what the job checks can see)
    job_window_days: int = 14


# --------------------------------------------------------------------------------------------------
# The snapshot
# --------------------------------------------------------------------------------------------------


class OrganisationRef(Model):
    id: str
    name: str


class ScanSelection(Model):
    """What a partial scan was limited to (``hygiene scan --checks PATTERN --platforms NAME``): only the checks
    matching ``checks`` (ids or shell-style globs; empty: every check) of the platforms in ``platforms`` (empty:
    every configured platform), and only the datasets those checks need. A partial scan is never a baseline."""

    checks: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    #: configured platforms that were not scanned because no selected check is theirs
    platforms_not_scanned: list[str] = Field(default_factory=list)

    def includes(self, check_id: str, platform: str) -> bool:
        """Whether the check with this id, of this platform, is part of the selection."""
        if self.platforms and platform not in self.platforms:
            return False
        return not self.checks or any(fnmatchcase(check_id, pattern) for pattern in self.checks)


# --------------------------------------------------------------------------------------------------
# Email authentication (DNS)
# --------------------------------------------------------------------------------------------------

#: what one DNS question got: records; NXDOMAIN (the name does not exist); NODATA (the name exists, no record of
#: the type); failed (SERVFAIL, REFUSED, a timeout, no nameserver answered: the answer is unknown)
DnsOutcome = Literal["answer", "nxdomain", "nodata", "failed"]


class DnsAnswer(Model):
    """One DNS question (``name``, ``rdtype``) and its answer, normalised at the source."""

    name: str
    rdtype: str
    outcome: DnsOutcome
    #: TXT: each record's character-strings joined (RFC 7208 section 3.3), text normalised and capped; CNAME: target
    records: list[str] = Field(default_factory=list)
    #: the name the answer was found at after following CNAMEs (DKIM selectors); None: no CNAME on the way
    canonical: str | None = None
    #: failed: why (SERVFAIL, timeout, ...)
    error: str | None = None
    #: the answer had more records, or a record more characters, than the source keeps (it says how many)
    cut: bool = False


class DmarcInherited(Model):
    """The DMARC records above a domain with none of its own (RFC 7489 section 6.6.3; RFC 9989's tree walk):
    ``_dmarc.<name>`` for each name between it and its organisational domain, then the organisational domain by
    the whole Public Suffix List, then by its ICANN section when that differs."""

    #: by the whole list (ICANN and private sections)
    organisational_domain: str
    #: by the ICANN section alone (receivers reading only that part); usually the same
    icann_organisational_domain: str
    #: the publicsuffixlist package version (its last part: the date of the list)
    psl_version: str
    #: the TXT answers at ``_dmarc.<name>``, from the closest parent up
    answers: list[DnsAnswer] = Field(default_factory=list)
    #: names above the bound that were not asked: the policy receivers apply is then not known
    not_asked: list[str] = Field(default_factory=list)


class EmailDomain(Model):
    """The email-authentication records of one domain."""

    name: str
    #: the platforms holding it as a verified mail domain ("m365", "google"); empty: listed in ``[dns] domains``
    platforms: list[str] = Field(default_factory=list)
    spf: DnsAnswer
    #: TXT answers of the names the SPF record includes or redirects to, recursively and bounded
    spf_chain: dict[str, DnsAnswer] = Field(default_factory=dict)
    dmarc: DnsAnswer
    #: asked when ``dmarc`` holds no DMARC record and the domain is below its organisational domain; else None
    dmarc_inherited: DmarcInherited | None = None
    #: DKIM selector -> the TXT answer at ``<selector>._domainkey.<name>`` (CNAMEs followed)
    dkim: dict[str, DnsAnswer] = Field(default_factory=dict)


class EmailData(Model):
    #: "system" or the configured nameservers and port
    resolver: str = "system"
    domains: list[EmailDomain] = Field(default_factory=list)
    #: where domains could not be listed (an identity platform's domains not read), with why: never a pass
    unseen: list[str] = Field(default_factory=list)
    #: mail domains not judged, with why (Microsoft's initial ``*.onmicrosoft.com`` domain: Microsoft's DNS)
    excluded: list[str] = Field(default_factory=list)


class Snapshot(Model):
    schema_version: int = SNAPSHOT_SCHEMA_VERSION
    tool_version: str
    organisation: OrganisationRef
    #: the reference time for every age computed by checks, so offline re-evaluation is reproducible
    collected_at: datetime
    sources: dict[str, SourceRun] = Field(default_factory=dict)
    #: what a partial scan was limited to; None: a full scan
    selection: ScanSelection | None = None
    m365: M365Data | None = None
    google: GoogleData | None = None
    aws: AwsData | None = None
    azure: AzureData | None = None
    email: EmailData | None = None

    def attach(self, platform: str, run: SourceRun, data: BaseModel) -> None:
        """Put one platform's collection into the snapshot: its run under ``sources`` and its data in the field of
        the same name, which must be typed to hold it (a source handing the wrong model is a programming error)."""
        field = type(self).model_fields.get(platform)
        kinds = (
            tuple(k for k in get_args(field.annotation) if isinstance(k, type) and k is not type(None))
            if field is not None
            else ()
        )
        if not kinds or not isinstance(data, kinds):
            raise TypeError(f"the snapshot has no field {platform!r} for {type(data).__name__}")
        self.sources[platform] = run
        setattr(self, platform, data)

    def dataset(self, name: str) -> DatasetState:
        platform = name.split(".", 1)[0]
        run = self.sources.get(platform)
        if run is None:
            return DatasetState(
                available=False, reason_kind=ReasonKind.NOT_COLLECTED, reason=f"{platform} was not scanned"
            )
        state = run.datasets.get(name)
        if state is None:
            return DatasetState(
                available=False,
                reason_kind=ReasonKind.NOT_COLLECTED,
                reason=f"{name} was not collected by this version of the {platform} source",
            )
        return state
