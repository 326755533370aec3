"""Contract: the product's and the sandbox's copies of each shared vendor fact are equal.

The product may not import the sandbox (``tests/unit/core/test_layers.py``), so a vendor fact both use is written
twice: once in the product, in one place per platform, and once in ``hygiene_sandbox.vendor`` (which the sandbox
and the tests' fakes import). These tests keep the two copies from drifting apart.
"""

from __future__ import annotations

# the product's copies, one place per platform
from hygiene.checklib.m365 import GLOBAL_ADMIN_TEMPLATE, SECURITY_DEFAULTS_ADMIN_ROLES
from hygiene.sources.aws.credential_report import REQUIRED_COLUMNS, ROOT, SENTINELS
from hygiene.sources.google.catalogue import SCOPES as GOOGLE_SCOPES
from hygiene.sources.m365.catalogue import DATASETS as M365_DATASETS
from hygiene_sandbox import vendor
from hygiene_sandbox.scenario import DEFAULT_GRANTED_PERMISSIONS

#: the built-in roles security defaults require MFA for, among those the sandbox knows
#: (https://learn.microsoft.com/entra/fundamentals/security-defaults#require-administrators-to-do-multifactor-authentication)
SECURITY_DEFAULTS_ROLE_NAMES = (
    "Global Administrator",
    "Authentication Administrator",
    "Billing Administrator",
    "Conditional Access Administrator",
    "Exchange Administrator",
    "Helpdesk Administrator",
    "Privileged Role Administrator",
    "Security Administrator",
    "SharePoint Administrator",
    "User Administrator",
)


def test_the_global_administrator_role_template() -> None:
    assert GLOBAL_ADMIN_TEMPLATE == vendor.GLOBAL_ADMIN == vendor.ROLE_TEMPLATES["Global Administrator"]


def test_the_roles_security_defaults_protect() -> None:
    sandbox_ids = {vendor.ROLE_TEMPLATES[name] for name in SECURITY_DEFAULTS_ROLE_NAMES}
    assert sandbox_ids <= SECURITY_DEFAULTS_ADMIN_ROLES
    others = set(vendor.ROLE_TEMPLATES.values()) - sandbox_ids  # Global Reader, Intune Administrator
    assert not others & SECURITY_DEFAULTS_ADMIN_ROLES


def test_the_graph_permissions_a_scanner_app_is_granted() -> None:
    """The sandbox grants by default exactly the permissions the product's catalogue documents."""
    documented = {p.split(" (")[0] for dataset in M365_DATASETS for p in dataset.needs}
    assert documented == DEFAULT_GRANTED_PERMISSIONS


def test_the_google_scopes() -> None:
    assert set(GOOGLE_SCOPES.values()) == vendor.GOOGLE_SCOPES
    assert all(scope.startswith(vendor.GOOGLE_AUTH) for scope in vendor.GOOGLE_SCOPES)


def test_the_credential_report_columns_and_sentinels() -> None:
    assert ROOT == vendor.REPORT_ROOT_ROW
    assert {vendor.REPORT_NA, vendor.REPORT_NO_INFORMATION, vendor.REPORT_NOT_SUPPORTED, ""} == SENTINELS
    assert set(REQUIRED_COLUMNS) <= set(vendor.CREDENTIAL_REPORT_COLUMNS)
    assert [c for c in vendor.CREDENTIAL_REPORT_COLUMNS if c in REQUIRED_COLUMNS] == list(REQUIRED_COLUMNS)
