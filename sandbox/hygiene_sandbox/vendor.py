"""Vendor facts the sandbox serves and the tests' fakes restate: one place for them.

Fixed values the vendors define (Microsoft Graph role template, SKU and method ids, Google's prebuilt admin
roles, OAuth scopes and its "never" timestamp, the columns and sentinels of the AWS IAM credential report). The
sandbox and the test doubles in ``tests/`` import them from here; the product keeps its own copies (it must not
import the sandbox), and ``tests/contract/test_vendor_constants.py`` asserts that both copies agree.
"""

from __future__ import annotations

# -- Microsoft 365 (Graph) ------------------------------------------------------------------------------------------

#: built-in directory role template ids (for built-in roles the role definition id equals the template id)
#: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference
ROLE_TEMPLATES: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "SharePoint Administrator": "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "Billing Administrator": "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Conditional Access Administrator": "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
    "Intune Administrator": "3a2c62db-5318-420d-8d74-23affee5d9d5",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
}
GLOBAL_ADMIN = ROLE_TEMPLATES["Global Administrator"]
#: Microsoft Graph's application id and a few of its application permissions (appRole id -> value), as its service
#: principal lists them in every tenant (https://learn.microsoft.com/graph/permissions-reference)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_APP_ROLES: dict[str, str] = {
    "810c84a8-4a9e-49e6-bf7d-12d183f40d01": "Mail.Read",
    "e2a3a72e-5f79-4c64-b1b1-878b674786c9": "Mail.ReadWrite",
    "df021288-bdef-4463-88db-98f22de89214": "User.Read.All",
    "7ab1d382-f21e-4acd-a863-ba3e13f7da61": "Directory.Read.All",
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
    "06b708a9-e830-4db3-a914-8e69da51d44f": "AppRoleAssignment.ReadWrite.All",
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
    "75359482-378d-4052-8f01-80520e7db3cd": "Files.ReadWrite.All",
    "a82116e5-55eb-4c41-a434-62fe8a61c773": "Sites.FullControl.All",
    "798ee544-9d2d-430c-a058-570e29e34338": "Calendars.Read",
}

#: skuPartNumber -> (skuId, product name as the usage reports print it)
#: https://learn.microsoft.com/entra/identity/users/licensing-service-plan-reference
SKUS: dict[str, tuple[str, str]] = {
    "SPB": ("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "MICROSOFT 365 BUSINESS PREMIUM"),
    "O365_BUSINESS_PREMIUM": ("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "MICROSOFT 365 BUSINESS STANDARD"),
    "O365_BUSINESS_ESSENTIALS": ("3b555118-da6a-4418-894f-7df1e2096870", "MICROSOFT 365 BUSINESS BASIC"),
    "EXCHANGESTANDARD": ("4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGE ONLINE (PLAN 1)"),
    "AAD_PREMIUM": ("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "MICROSOFT ENTRA ID P1"),
    "AAD_PREMIUM_P2": ("84a661c4-e949-4bd2-a560-ed7766fcaf2b", "MICROSOFT ENTRA ID P2"),
    "INTUNE_A": ("061f9ace-7d42-4136-88ac-31dc755f143f", "MICROSOFT INTUNE PLAN 1"),
    "POWER_BI_STANDARD": ("a403ebcc-fae0-4ca2-8c8c-7a907fd6c235", "MICROSOFT FABRIC (FREE)"),
    "FLOW_FREE": ("f30db892-07e9-47e9-837c-80727f46fd3d", "MICROSOFT POWER AUTOMATE FREE"),
}

#: built-in authentication strengths (https://learn.microsoft.com/entra/identity/authentication/concept-authentication-strengths)
AUTH_STRENGTH_MFA = "00000000-0000-0000-0000-000000000002"
AUTH_STRENGTH_PASSWORDLESS = "00000000-0000-0000-0000-000000000003"
AUTH_STRENGTH_PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"
#: the well-known id of every user's password method (https://learn.microsoft.com/graph/api/resources/passwordauthenticationmethod)
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"

# -- Google Workspace -----------------------------------------------------------------------------------------------

#: the prefix of Google's OAuth scopes
GOOGLE_AUTH = "https://www.googleapis.com/auth/"
SCOPE_USERS = GOOGLE_AUTH + "admin.directory.user.readonly"
SCOPE_ROLES = GOOGLE_AUTH + "admin.directory.rolemanagement.readonly"
SCOPE_MOBILE = GOOGLE_AUTH + "admin.directory.device.mobile.readonly"
SCOPE_CHROMEOS = GOOGLE_AUTH + "admin.directory.device.chromeos.readonly"
SCOPE_CLOUD_IDENTITY_DEVICES = GOOGLE_AUTH + "cloud-identity.devices.readonly"
SCOPE_GROUP_MEMBERS = GOOGLE_AUTH + "admin.directory.group.member.readonly"
SCOPE_DOMAINS = GOOGLE_AUTH + "admin.directory.domain.readonly"
#: the read-only scopes hygiene asks for, one credential each; domain-wide delegation grants all by default
GOOGLE_SCOPES: frozenset[str] = frozenset(
    {
        SCOPE_USERS,
        SCOPE_ROLES,
        SCOPE_GROUP_MEMBERS,
        SCOPE_MOBILE,
        SCOPE_CHROMEOS,
        SCOPE_CLOUD_IDENTITY_DEVICES,
        SCOPE_DOMAINS,
    }
)
#: what the Directory API reports as the last login of an account that never signed in
GOOGLE_NEVER = "1970-01-01T00:00:00.000Z"
#: Google's prebuilt admin roles: roleName -> roleDescription (roles.list on a new customer)
SYSTEM_ROLES: dict[str, str] = {
    "_SEED_ADMIN_ROLE": "Super Admin",
    "_GROUPS_ADMIN_ROLE": "Groups Administrator",
    "_USER_MANAGEMENT_ADMIN_ROLE": "User Management Administrator",
    "_HELP_DESK_ADMIN_ROLE": "Help Desk Administrator",
    "_SERVICES_ADMIN_ROLE": "Services Administrator",
    "_MOBILE_ADMIN_ROLE": "Mobile Administrator",
}
SUPER_ADMIN_ROLE = "_SEED_ADMIN_ROLE"

# -- AWS -------------------------------------------------------------------------------------------------------------

#: the credential report's root row and its sentinels (``not_supported``: the root row's password fields)
REPORT_ROOT_ROW = "<root_account>"
REPORT_NA = "N/A"
REPORT_NO_INFORMATION = "no_information"
REPORT_NOT_SUPPORTED = "not_supported"

#: the credential report's columns, in order
CREDENTIAL_REPORT_COLUMNS: tuple[str, ...] = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
