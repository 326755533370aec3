"""What the Microsoft 365 source reads and what each dataset needs: Graph application permissions and licences."""

from __future__ import annotations

from hygiene.sources.interface import DatasetSpec, OcsfCloud, PlatformSpec

DATASETS = (
    DatasetSpec("m365.users", "users, account state, licences", ("User.Read.All",)),
    DatasetSpec(
        "m365.sign_ins",
        "last sign-in per user (signInActivity; fallback: Office 365 active-user report)",
        ("AuditLog.Read.All", "Reports.Read.All (fallback)"),
        "Entra ID P1 (or the fallback)",
        reads_with=("m365.users",),
    ),
    DatasetSpec(
        "m365.registration",
        "MFA registration per user (userRegistrationDetails; fallback: $batch of methods)",
        ("AuditLog.Read.All", "UserAuthenticationMethod.Read.All (fallback)"),
        "Entra ID P1 (or the fallback)",
        reads_with=("m365.users",),
    ),
    DatasetSpec(
        "m365.mfa_policies",
        "security defaults, Conditional Access policies and the groups they target",
        ("Policy.Read.All", "GroupMember.Read.All"),
    ),
    DatasetSpec(
        "m365.per_user_mfa",
        "legacy per-user MFA state, for users no policy covers (beta)",
        ("Policy.Read.All",),
        reads_with=("m365.users", "m365.mfa_policies", "m365.roles"),
    ),
    DatasetSpec("m365.roles", "directory role assignments", ("RoleManagement.Read.Directory", "GroupMember.Read.All")),
    DatasetSpec(
        "m365.role_eligibility",
        "eligible (PIM) directory role assignments",
        ("RoleManagement.Read.Directory", "GroupMember.Read.All"),
        "Microsoft Entra ID P2 or Microsoft Entra ID Governance",
        reads_with=("m365.roles",),
    ),
    DatasetSpec(
        "m365.group_eligibility",
        "users eligible (PIM for Groups) to join the groups that hold roles",
        ("PrivilegedEligibilitySchedule.Read.AzureADGroup",),
        "Microsoft Entra ID P2 or Microsoft Entra ID Governance",
        reads_with=("m365.roles",),
    ),
    DatasetSpec("m365.licences", "subscribed SKUs", ("LicenseAssignment.Read.All",)),
    DatasetSpec(
        "m365.devices", "Intune managed devices", ("DeviceManagementManagedDevices.Read.All",), "Microsoft Intune"
    ),
    DatasetSpec(
        "m365.antivirus",
        "Defender antivirus state per Windows device (windowsProtectionState, $batch of 20 devices)",
        ("DeviceManagementManagedDevices.Read.All",),
        "Microsoft Intune",
        reads_with=("m365.devices",),
    ),
    DatasetSpec(
        "m365.defender_machines",
        "Microsoft Defender for Endpoint machines: onboarding, sensor health, last seen (Defender API)",
        ("Machine.Read.All (WindowsDefenderATP application permission)",),
        "Microsoft Defender for Endpoint or Defender for Business",
    ),
    DatasetSpec(
        "m365.defender_vulnerabilities",
        "software vulnerabilities per device, with the security update that fixes each (Defender API export)",
        ("Vulnerability.Read.All (WindowsDefenderATP application permission)",),
        "Microsoft Defender for Endpoint or Defender for Business (vulnerability management)",
    ),
    DatasetSpec(
        "m365.compliance_policies",
        "Intune compliance policies (minimum OS versions) and the groups they are assigned to",
        ("DeviceManagementConfiguration.Read.All", "GroupMember.Read.All (assignment groups)"),
        "Microsoft Intune",
    ),
    DatasetSpec(
        "m365.backup",
        "Microsoft 365 Backup status and protection policies",
        ("BackupRestore-Control.Read.All", "BackupRestore-Configuration.Read.All"),
        "Microsoft 365 Backup (pay-as-you-go)",
    ),
    DatasetSpec(
        "m365.app_consent",
        "who may consent to apps: the authorization policy's user consent and the admin consent workflow",
        ("Policy.Read.All",),
    ),
    DatasetSpec(
        "m365.apps",
        "enterprise apps holding Microsoft Graph application permissions, and app registrations' credentials",
        ("Application.Read.All",),
    ),
    DatasetSpec("m365.domains", "the tenant's domains (verified, with the Email service)", ("Domain.Read.All",)),
)
#: dataset name -> its spec, in scan order
BY_NAME = {d.name: d for d in DATASETS}

GRANT = """Microsoft 365 (Microsoft Graph application permissions, all read-only)
Register an app: Entra admin center > Identity > Applications > App registrations > New registration.
Then API permissions > Add a permission > Microsoft Graph > Application permissions, add those below,
and Grant admin consent. Under Certificates & secrets, upload a certificate (preferred) or create a secret.
The two WindowsDefenderATP permissions (Microsoft Defender for Endpoint / Defender for Business) are under
API permissions > Add a permission > APIs my organization uses > WindowsDefenderATP > Application permissions.
"""


def grant(platform: PlatformSpec) -> list[str]:
    return [GRANT, "Permissions to add:", *(f"  - {need}" for need in platform.needs())]


PLATFORM = PlatformSpec(
    name="m365",
    title="Microsoft 365",
    datasets=DATASETS,
    source="hygiene.sources.m365.source:M365Source",
    grant=grant,
    ocsf=OcsfCloud("Microsoft", 17, "M365 Tenant", "tenant_id"),
    credentials="hygiene.sources.m365.credentials:check_credentials",
    #: one (multi-tenant) app registration: its Graph throttling budget is shared by every tenant it reads
    credential_fields=("authority_host", "client_id", "graph_url"),
)
