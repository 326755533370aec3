"""What the Google Workspace source reads and the OAuth scope (domain-wide delegation) each dataset needs."""

from __future__ import annotations

from hygiene.sources.interface import DatasetSpec, OcsfCloud, PlatformSpec

_AUTH = "https://www.googleapis.com/auth/"

#: one scope per dataset: every API gets a credential with its own single scope (source.py says why)
DATASETS = (
    DatasetSpec(
        "google.users",
        "users: 2-Step Verification, last login, admin flags",
        (_AUTH + "admin.directory.user.readonly",),
    ),
    DatasetSpec("google.roles", "admin role assignments", (_AUTH + "admin.directory.rolemanagement.readonly",)),
    # read in the roles lane, and only when an admin role is assigned to a group (its members are admins)
    DatasetSpec(
        "google.admin_groups",
        "members of groups that hold admin roles",
        (_AUTH + "admin.directory.group.member.readonly",),
        reads_with=("google.roles",),
    ),
    DatasetSpec("google.mobile_devices", "mobile devices", (_AUTH + "admin.directory.device.mobile.readonly",)),
    DatasetSpec("google.chrome_devices", "ChromeOS devices", (_AUTH + "admin.directory.device.chromeos.readonly",)),
    DatasetSpec(
        "google.endpoints",
        "Cloud Identity devices (endpoint verification: Windows, macOS, Linux)",
        (_AUTH + "cloud-identity.devices.readonly",),
        optional=True,
    ),
    DatasetSpec(
        "google.domains",
        "the customer's domains and domain aliases (verified: the mail domains)",
        (_AUTH + "admin.directory.domain.readonly",),
    ),
)
#: dataset -> the one OAuth scope it needs
SCOPES = {d.name: d.needs[0] for d in DATASETS}

GRANT = """Google Workspace (domain-wide delegation, all scopes read-only)
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


def grant(platform: PlatformSpec) -> list[str]:
    scopes = platform.needs()
    return [
        GRANT,
        "Scopes to authorise:",
        *(f"  - {scope}" for scope in scopes),
        "Paste into 'OAuth scopes (comma-delimited)':",
        "  " + ",".join(scopes),
    ]


PLATFORM = PlatformSpec(
    name="google",
    title="Google Workspace",
    datasets=DATASETS,
    source="hygiene.sources.google.source:GoogleSource",
    grant=grant,
    ocsf=OcsfCloud("Google", 15, "Google Workspace", "customer_id"),
    credentials="hygiene.sources.google.credentials:check_credentials",
    #: one service account (one Cloud project's API quota) for every customer it is delegated in
    credential_fields=("service_account_file", "api_endpoint"),
)
