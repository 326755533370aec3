"""App consent and enterprise apps, read from Microsoft Graph v1.0 (Policy.Read.All, Application.Read.All).

Requests (a tenant with n service principals, m app registrations):

- ``m365.app_consent``: 2 GETs, ``/policies/authorizationPolicy`` and ``/policies/adminConsentRequestPolicy``
  (https://learn.microsoft.com/graph/api/authorizationpolicy-get,
  https://learn.microsoft.com/graph/api/adminconsentrequestpolicy-get; both Policy.Read.All);
- ``m365.apps``: 1 GET for Microsoft Graph's own service principal and its app roles (``$filter`` on ``appId``),
  ceil(g/999) for the app roles it has granted (``appRoleAssignedTo``, g grants), ceil(n/999) for the service
  principals (their ``appId`` and owner tenant) and ceil(m/999) for the app registrations' credentials: 4 requests
  for a small business (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto,
  /serviceprincipal-list, /application-list; Application.Read.All).

The last sign-in of a service principal (``servicePrincipalSignInActivity``) exists only in Graph beta
(``/beta/reports/servicePrincipalSignInActivities``, not in the v1.0 CSDL): it is not read, and the check says so.
"""

from __future__ import annotations

from typing import Any

from hygiene.model import DatasetState, M365App, M365AppConsent, M365AppCredential, ReasonKind
from hygiene.sources.interface import Unavailable, parse_timestamp
from hygiene.sources.m365.graph import GraphClient

#: Microsoft Graph's application id, the same in every tenant
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
AUTHORIZATION_POLICY = "/v1.0/policies/authorizationPolicy"
ADMIN_CONSENT_POLICY = "/v1.0/policies/adminConsentRequestPolicy"
SERVICE_PRINCIPALS = "/v1.0/servicePrincipals"
APPLICATIONS = "/v1.0/applications"


def read_app_consent(graph: GraphClient) -> tuple[M365AppConsent, DatasetState]:
    authorization = graph.get(AUTHORIZATION_POLICY)
    if isinstance(authorization.get("value"), list):  # the older collection form: one policy, "authorizationPolicy"
        authorization = authorization["value"][0] if authorization["value"] else {}
    permissions = authorization.get("defaultUserRolePermissions")
    assigned = permissions.get("permissionGrantPoliciesAssigned") if isinstance(permissions, dict) else None
    requests = graph.get(ADMIN_CONSENT_POLICY)
    enabled = requests.get("isEnabled")
    consent = M365AppConsent(
        user_consent_policies=[str(p) for p in assigned] if isinstance(assigned, list) else None,
        admin_consent_requests=enabled if isinstance(enabled, bool) else None,
    )
    return consent, DatasetState(available=True, endpoint=AUTHORIZATION_POLICY, records=1)


def _credentials(raw: dict[str, Any]) -> list[M365AppCredential]:
    found = []
    for key, kind in (("passwordCredentials", "secret"), ("keyCredentials", "certificate")):
        for cred in raw.get(key) or []:
            if not isinstance(cred, dict):
                continue
            found.append(
                M365AppCredential(
                    kind=kind,
                    name=str(cred.get("displayName") or cred.get("hint") or cred.get("keyId") or ""),
                    end=parse_timestamp(cred.get("endDateTime")),
                )
            )
    return found


def read_apps(graph: GraphClient) -> tuple[list[M365App], DatasetState]:
    """The service principals that hold Microsoft Graph application permissions (app role values resolved from
    Graph's own service principal), and every app registration of the tenant with its credentials."""
    graph_sps = list(
        graph.get_all(SERVICE_PRINCIPALS, {"$filter": f"appId eq '{GRAPH_APP_ID}'", "$select": "id,appId,appRoles"})
    )
    if not graph_sps:  # every tenant has it: without it no grant can be seen, so nothing may pass
        raise Unavailable(
            ReasonKind.API_GAP,
            f"Microsoft Graph's service principal (appId {GRAPH_APP_ID}) was not found, so its grants cannot be read",
            (),
            SERVICE_PRINCIPALS,
        )
    granted: dict[str, set[str]] = {}
    graph_sp = graph_sps[0]
    roles = {str(r.get("id")): str(r.get("value") or r.get("id")) for r in graph_sp.get("appRoles") or []}
    for grant in graph.get_all(
        f"{SERVICE_PRINCIPALS}/{graph_sp['id']}/appRoleAssignedTo",
        {"$select": "id,appRoleId,principalId,principalType", "$top": "999"},
    ):
        if str(grant.get("principalType") or "") != "ServicePrincipal":
            continue  # Graph's app roles are for applications; a user or group grant is not an app permission
        role_id = str(grant.get("appRoleId"))
        granted.setdefault(str(grant.get("principalId")), set()).add(roles.get(role_id, role_id))
    principals = {
        str(sp["id"]): sp
        for sp in graph.get_all(
            SERVICE_PRINCIPALS, {"$select": "id,appId,displayName,appOwnerOrganizationId", "$top": "999"}
        )
    }
    registrations = {
        str(a.get("appId")): a
        for a in graph.get_all(
            APPLICATIONS, {"$select": "id,appId,displayName,passwordCredentials,keyCredentials", "$top": "999"}
        )
    }
    apps: dict[str, M365App] = {}
    for sp_id, permissions in granted.items():
        sp = principals.get(sp_id, {})
        app_id = str(sp.get("appId") or sp_id)
        apps[app_id] = M365App(
            app_id=app_id,
            name=str(sp.get("displayName") or app_id),
            service_principal_id=sp_id,
            owner_tenant_id=str(sp["appOwnerOrganizationId"]) if sp.get("appOwnerOrganizationId") else None,
            graph_permissions=sorted(permissions),
        )
    by_app_id = {str(sp.get("appId")): sp_id for sp_id, sp in principals.items()}
    for app_id, registration in registrations.items():
        app = apps.get(app_id)
        if app is None:
            app = apps[app_id] = M365App(
                app_id=app_id,
                name=str(registration.get("displayName") or app_id),
                service_principal_id=by_app_id.get(app_id),
            )
        app.credentials = _credentials(registration)
    return sorted(apps.values(), key=lambda a: (a.name.casefold(), a.app_id)), DatasetState(
        available=True, endpoint=f"{SERVICE_PRINCIPALS}/{{id}}/appRoleAssignedTo", records=len(apps)
    )
