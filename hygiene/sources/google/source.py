"""Google Workspace source: Admin SDK Directory API and Cloud Identity devices (read-only).

A service account with domain-wide delegation acts as an admin (``with_subject``). Google refuses a whole
token when any requested scope is not delegated (401 ``unauthorized_client``), so every API gets its own
credential with its own single scope: a missing scope costs only the data it guards.

Throttling (https://developers.google.com/workspace/admin/directory/v1/limits): 429, and 403 with reason
``userRateLimitExceeded`` / ``rateLimitExceeded`` / ``quotaExceeded``; ``execute(num_retries=…)`` ignores
``Retry-After``, so retries are done here: honour the header where given, else exponential backoff, bounded.
Also retried, within the same bound: 5xx, connection failures and resets, read timeouts, bodies cut short, and a
200 whose body is not JSON (never read as an empty page). A page whose ``nextPageToken`` repeats a token already
used is asked for again; if it keeps repeating the dataset fails (``PagingLoop``), it is never cut short or read
twice. Items repeated across pages (same id) are kept once.

The six lanes are independent and run concurrently on ``LANES`` threads (``GoogleSource.collect``); the roles
lane then lists the members of the groups that hold admin roles (``google.admin_groups``, its own scope). Each
dataset runs whole in one lane with its own credential, ``httplib2.Http`` (not thread-safe), service object and
``GoogleClient`` (counters); a dataset that fails leaves the others alone. What is shared is read-only or locked:
the service account key, parsed once (``load_pem_private_key`` validates the RSA key: ~50 ms a time), and the
bundled discovery documents, parsed once per API.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httplib2
import structlog
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document

from hygiene.config import GoogleConfig
from hygiene.logsetup import register_secret
from hygiene.model import (
    DatasetState,
    GoogleChromeDevice,
    GoogleData,
    GoogleEndpoint,
    GoogleGroupMember,
    GoogleMobileDevice,
    GoogleRoleAssignment,
    GoogleUser,
    MailDomain,
    ReasonKind,
    SourceRun,
)
from hygiene.perf import gc_paused
from hygiene.sources.google.catalogue import SCOPES
from hygiene.sources.google.client import DISCOVERY_LOCK, GoogleApiError, GoogleClient, HttpFactory, discovery_document
from hygiene.sources.google.credentials import PrivateKeyError, service_account_info
from hygiene.sources.interface import (
    Collected,
    CredentialError,
    RawRecorder,
    Source,
    Unavailable,
    not_selected,
    parse_timestamp,
)
from hygiene.sources.retry import RetryPolicy

log = structlog.get_logger(__name__)

#: concurrent lanes (as for Microsoft 365's Graph): four of the five datasets start at once, the fifth in the first
#: lane to come free
LANES = 4
#: the order the datasets start in: the longest chains of pages first (mobile devices come 100 a page, users 500),
#: the role assignments (a few pages in any tenant) last. benchmarks/models.py (google_model) follows this order.
ORDER = (
    "google.mobile_devices",
    "google.users",
    "google.endpoints",
    "google.chrome_devices",
    "google.roles",
    "google.domains",
)

USER_FIELDS = (
    "nextPageToken,users(id,primaryEmail,name/fullName,isAdmin,isDelegatedAdmin,isEnrolledIn2Sv,isEnforcedIn2Sv,"
    "lastLoginTime,creationTime,suspended,archived,orgUnitPath)"
)
MOBILE_FIELDS = "nextPageToken,mobiledevices(resourceId,model,os,type,status,securityPatchLevel,lastSync,email)"
CHROME_FIELDS = (
    "nextPageToken,chromeosdevices(deviceId,serialNumber,model,osVersion,status,lastSync,autoUpdateThrough,"
    "autoUpdateExpiration,osVersionCompliance,annotatedUser)"
)
ENDPOINT_FIELDS = (
    "nextPageToken,devices(name,deviceType,serialNumber,model,osVersion,securityPatchTime,lastSyncTime,"
    "compromisedState,managementState,encryptionState)"
)
ASSIGNMENT_FIELDS = "nextPageToken,items(roleId,assignedTo,assigneeType,scopeType)"
MEMBER_FIELDS = "nextPageToken,members(id,email,type)"
#: domains.list is not paged (Domains2 has no nextPageToken): one request
DOMAIN_FIELDS = "domains(domainName,verified,isPrimary,domainAliases(domainAliasName,verified))"
#: the APIs hygiene calls, by the service name Google's errors carry (ErrorInfo ``metadata.service``)
API_TITLES = {
    "admin.googleapis.com": "Admin SDK API",
    "cloudidentity.googleapis.com": "Cloud Identity API",
}
#: a 403 saying the API is not enabled in the caller's Cloud project (not a missing scope or admin role):
#: ``errors[].reason`` accessNotConfigured (Directory API) and/or ErrorInfo reason SERVICE_DISABLED
API_DISABLED_REASONS = {"accessNotConfigured", "SERVICE_DISABLED"}
#: a token that does not carry the scope the method needs
SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}


def _ts(value: Any) -> datetime | None:
    return parse_timestamp(value, never_until_year=1970)


def _epoch_ms(value: Any) -> datetime | None:
    try:
        millis = int(str(value))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis / 1000, UTC) if millis > 0 else None  # iOS reports "0": none


_PROJECT = re.compile(r"^projects/([A-Za-z0-9][A-Za-z0-9-]{0,62})$")


def _api_disabled(exc: GoogleApiError, dataset: str) -> Unavailable:
    """A 403 accessNotConfigured / SERVICE_DISABLED: the API is not enabled in the Cloud project the service
    account belongs to. No scope or admin role fixes that. The body's message and ``activationUrl`` are vendor
    text and are not repeated: only a known service name and a well-formed project id are."""
    service = exc.info.get("service", "")
    if service not in API_TITLES:
        service = "cloudidentity.googleapis.com" if dataset == "google.endpoints" else "admin.googleapis.com"
    match = _PROJECT.match(exc.info.get("consumer", ""))
    project = f"Cloud project {match[1]}" if match else "Cloud project"
    return Unavailable(
        ReasonKind.NOT_COLLECTED,
        f"the {API_TITLES[service]} ({service}) is not enabled in the {project} of the service account "
        f"(Google answered {exc.status} {'/'.join(sorted(exc.reasons & API_DISABLED_REASONS))}): enable the "
        f"{API_TITLES[service]} in that project (Google Cloud console > APIs & Services > Library), wait a few "
        "minutes, and scan again; no scope or admin role is missing",
        (),
        exc.uri.split("?", 1)[0],
    )


def _token_error(exc: RefreshError) -> str:
    """The OAuth ``error`` code of a refused token request (google-auth passes the parsed body as args[1])."""
    body = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return str(exc.args[0] if exc.args else exc).split(":", 1)[0].strip("('\" ")


def _classify(exc: GoogleApiError | RefreshError, dataset: str) -> Unavailable:
    scope = SCOPES[dataset]
    if isinstance(exc, RefreshError):
        code = _token_error(exc)
        if code in ("unauthorized_client", "access_denied"):
            # the token endpoint refuses a delegated token naming a scope domain-wide delegation does not grant
            # this client: the one case that is a missing scope
            return Unavailable(
                ReasonKind.PERMISSION,
                f"domain-wide delegation does not grant {scope} to this service account's client ID (the token "
                f"request was refused: {code})",
                (scope,),
            )
        if code == "invalid_grant":
            return Unavailable(
                ReasonKind.ERROR,
                "the token request was refused (invalid_grant): the delegated admin is not a user of the domain, "
                "or the service account key is not valid (deleted, disabled), or this machine's clock is wrong",
            )
        return Unavailable(ReasonKind.ERROR, f"token request failed ({code[:60]})", (), None)
    endpoint = exc.uri.split("?", 1)[0]
    if exc.status == 403 and exc.reasons & API_DISABLED_REASONS:
        return _api_disabled(exc, dataset)
    if exc.status == 403 and exc.reasons & SCOPE_REASONS:
        return Unavailable(
            ReasonKind.PERMISSION,
            f"the access token does not carry {scope} ({exc.status} {exc.reason}); grant it in domain-wide delegation",
            (scope,),
            endpoint,
        )
    if exc.status in (401, 403):
        return Unavailable(
            ReasonKind.PERMISSION,
            f"Google refused the request ({exc.status} {exc.reason}); grant {scope} in domain-wide delegation "
            "and an admin role that can read this data to the delegated admin",
            (scope,),
            endpoint,
        )
    if exc.status == 404 or (exc.status == 400 and "not enabled" in exc.message.lower()):
        return Unavailable(ReasonKind.API_GAP, f"the API is not available ({exc.status} {exc.message})", (), endpoint)
    kind = ReasonKind.UNREACHABLE if exc.status == 0 or exc.status >= 500 else ReasonKind.ERROR
    return Unavailable(kind, f"Google answered {exc}", (), endpoint)


#: google-auth's credential of each service account key, by the SHA-256 of the key's fields: parsing the private key
#: (an RSA key check, tens of milliseconds) once per process, not once per scan of a fleet; every scan derives its
#: own delegated, scoped copies (``with_subject``, ``with_scopes``), which share the signer. Bounded.
_accounts: dict[bytes, service_account.Credentials] = {}
_ACCOUNTS_MAX = 64
_accounts_lock = threading.Lock()


def _service_account(info: dict[str, Any]) -> service_account.Credentials:
    digest = hashlib.sha256(json.dumps(info, sort_keys=True, default=str).encode()).digest()
    with _accounts_lock:
        found = _accounts.get(digest)
    if found is None:
        found = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
        with _accounts_lock:
            if len(_accounts) >= _ACCOUNTS_MAX:
                _accounts.pop(next(iter(_accounts)))
            _accounts[digest] = found
    return found


class GoogleSource(Source[GoogleData]):
    platform = "google"

    def __init__(
        self,
        config: GoogleConfig,
        http_factory: HttpFactory | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        # ``environ`` is the platform contract's (PlatformSpec.open): the Google key is a file, nothing is read
        # from the environment
        del environ
        self.config = config
        self._http_factory = http_factory
        self.retry = retry or RetryPolicy()
        self.sleep = sleep or time.sleep
        self._info: dict[str, Any] | None = None
        self._credentials: service_account.Credentials | None = None
        self._key_lock = threading.Lock()

    def _service_account_info(self) -> dict[str, Any]:
        if self._info is None:
            try:
                info = service_account_info(self.config.service_account_file)
            except PrivateKeyError as exc:
                raise Unavailable(ReasonKind.ERROR, f"cannot use the private key: {exc}") from None
            except CredentialError as exc:
                raise Unavailable(ReasonKind.ERROR, f"cannot read service account key: {exc}") from None
            register_secret(str(info["private_key"]))
            self._info = info
        return self._info

    def _base_credentials(self) -> service_account.Credentials:
        """The service account acting as the delegated admin, without scopes. The key is read and parsed once
        (the lanes wait for the first); every scoped copy shares its signer."""
        with self._key_lock:
            if self._credentials is None:
                info = self._service_account_info()
                try:
                    credentials = _service_account(info)
                except GoogleAuthError:  # a ValueError too: fields missing ("Google authentication failed")
                    raise
                except ValueError as exc:  # the private key itself (PEM framing, not an RSA key...)
                    path = self.config.service_account_file
                    raise Unavailable(ReasonKind.ERROR, f"cannot use the private key in {path}: {exc}") from None
                self._credentials = credentials.with_subject(self.config.delegated_admin)  # type: ignore[no-untyped-call]
            return self._credentials

    def http_for(self, scope: str) -> Any:
        """A new authorised httplib2 client carrying one scope: its own credential, whose token is asked for on
        its first request and kept (tests inject HttpMockSequence instead)."""
        if self._http_factory is not None:
            return self._http_factory(scope)
        credentials = self._base_credentials().with_scopes([scope])
        ca = str(self.config.ca_bundle) if self.config.ca_bundle else None
        http = httplib2.Http(ca_certs=ca, timeout=self.retry.timeout[1])
        # a redirect is never followed: httplib2 would fetch another host's answer (without the token) and the
        # client would take its {"users": []} for this customer's data
        http.follow_redirects = False
        return AuthorizedHttp(credentials, http=http)

    def collections(self, api: str, version: str, scope: str, *names: str) -> list[Any]:
        """The named collections (``users``, ``roles``...) of a new service object on a new ``http_for(scope)``:
        one per dataset, never shared between threads. The discovery document is the bundled one, parsed once."""
        http = self.http_for(scope)
        options = {"api_endpoint": self.config.api_endpoint.rstrip("/") + "/"} if self.config.api_endpoint else None
        with DISCOVERY_LOCK:
            service = build_from_document(discovery_document(api, version), http=http, client_options=options)
            return [getattr(service, name)() for name in names]

    def _dataset(self, dataset: str, collector: _GoogleCollector) -> DatasetState:
        """One dataset, in its lane: any failure of it becomes its state."""
        fn = {
            "google.users": collector.users,
            "google.roles": collector.roles,
            "google.admin_groups": collector.admin_groups,
            "google.mobile_devices": collector.mobile_devices,
            "google.chrome_devices": collector.chrome_devices,
            "google.endpoints": collector.endpoints,
            "google.domains": collector.domains,
        }[dataset]
        try:
            state = fn()
        except Unavailable as exc:
            state = exc.state()
        except (GoogleApiError, RefreshError) as exc:
            state = _classify(exc, dataset).state()
        except GoogleAuthError as exc:
            state = Unavailable(ReasonKind.ERROR, f"Google authentication failed: {exc}").state()
        if not state.available:
            log.warning("dataset not collected", dataset=dataset, reason=state.reason)
        else:
            collector.client.raw.dataset_read(dataset, state.records)
        return state

    def _lane(
        self, dataset: str, collector: _GoogleCollector, selected: frozenset[str] | None = None
    ) -> dict[str, DatasetState]:
        """A lane's datasets: the admin groups' members follow the role assignments that name the groups."""
        states = {dataset: self._dataset(dataset, collector)}
        if dataset == "google.roles" and (selected is None or "google.admin_groups" in selected):
            roles = states[dataset]
            if roles.available:
                states["google.admin_groups"] = self._dataset("google.admin_groups", collector)
            else:
                states["google.admin_groups"] = DatasetState(
                    available=False,
                    reason_kind=roles.reason_kind,
                    reason=f"role assignments not read, so the groups holding admin roles are unknown: {roles.reason}",
                    needs=list(roles.needs),
                )
        return states

    def collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[GoogleData]:
        started = datetime.now(UTC)
        data = GoogleData(customer_id=self.config.customer_id, domain=self.config.delegated_admin.split("@", 1)[1])
        lanes_read = [name for name in ORDER if datasets is None or name in datasets]
        # one client (counters, endpoints) per dataset; RawRecorder is thread-safe
        collectors = {
            name: _GoogleCollector(self, GoogleClient(raw, retry=self.retry, sleep=self.sleep), data)
            for name in lanes_read
        }
        with gc_paused(), ThreadPoolExecutor(max_workers=LANES, thread_name_prefix="hygiene-google") as pool:
            futures = {name: pool.submit(self._lane, name, collectors[name], datasets) for name in lanes_read}
            lanes: dict[str, DatasetState] = {}
            for name in lanes_read:
                lanes.update(futures[name].result())
            states = {name: lanes.get(name) or not_selected() for name in SCOPES}
        clients = [c.client for c in collectors.values()]
        errors = [
            f"{name}: {state.reason}"
            for name, state in states.items()
            if not state.available and state.reason_kind in (ReasonKind.ERROR, ReasonKind.UNREACHABLE)
        ]
        run = SourceRun(
            platform=self.platform,
            status=self.summarise_status(states),
            started_at=started,
            finished_at=datetime.now(UTC),
            scope={
                "customer_id": self.config.customer_id,
                "delegated_admin": self.config.delegated_admin,
                "api_endpoint": self.config.api_endpoint or "https://admin.googleapis.com",
            },
            requests=sum(c.requests for c in clients),
            errors=errors,
            endpoints=sorted(set().union(*(c.endpoints for c in clients))),
            datasets=states,
        )
        return Collected(run=run, data=data)


@dataclass
class _GoogleCollector:
    source: GoogleSource
    client: GoogleClient
    data: GoogleData

    def _directory(self, dataset: str, *names: str) -> list[Any]:
        return self.source.collections("admin", "directory_v1", SCOPES[dataset], *names)

    def users(self) -> DatasetState:
        (users,) = self._directory("google.users", "users")
        rows = self.client.pages(
            lambda **kw: users.list(
                customer=self.data.customer_id, maxResults=500, orderBy="email", fields=USER_FIELDS, **kw
            ),
            "users",
            "id",
        )
        self.data.users = [
            GoogleUser(
                id=str(u["id"]),
                email=str(u.get("primaryEmail", u["id"])),
                name=str((u.get("name") or {}).get("fullName", "")),
                suspended=bool(u.get("suspended")),
                archived=bool(u.get("archived")),
                is_super_admin=bool(u.get("isAdmin")),
                is_delegated_admin=bool(u.get("isDelegatedAdmin")),
                enrolled_2sv=bool(u.get("isEnrolledIn2Sv")),
                enforced_2sv=bool(u.get("isEnforcedIn2Sv")),
                last_login=_ts(u.get("lastLoginTime")),
                created=_ts(u.get("creationTime")),
                org_unit=str(u.get("orgUnitPath") or "/"),
            )
            for u in rows
        ]
        return DatasetState(available=True, endpoint="admin/directory/v1/users", records=len(self.data.users))

    def roles(self) -> DatasetState:
        role_list, assignment_list = self._directory("google.roles", "roles", "roleAssignments")
        roles = {
            str(r["roleId"]): r
            for r in self.client.pages(
                lambda **kw: role_list.list(
                    customer=self.data.customer_id,
                    maxResults=100,
                    fields="nextPageToken,items(roleId,roleName,isSuperAdminRole)",
                    **kw,
                ),
                "items",
                "roleId",
            )
        }
        assignments = self.client.pages(
            lambda **kw: assignment_list.list(
                customer=self.data.customer_id, maxResults=200, fields=ASSIGNMENT_FIELDS, **kw
            ),
            "items",
        )
        # every assignment is kept, whatever its assignee type: a group's members are admins too, and a type
        # this code does not know must stay visible to the checks rather than vanish
        self.data.role_assignments = [
            GoogleRoleAssignment(
                role_id=str(a["roleId"]),
                role_name=str(roles.get(str(a["roleId"]), {}).get("roleName", a["roleId"])),
                is_super_admin_role=bool(roles.get(str(a["roleId"]), {}).get("isSuperAdminRole")),
                assigned_to=str(a.get("assignedTo", "")),
                assignee_type=str(a.get("assigneeType") or "user"),
                scope_type=str(a.get("scopeType", "CUSTOMER")),
            )
            for a in assignments
        ]
        return DatasetState(
            available=True,
            endpoint="admin/directory/v1/customer/{customer}/roleassignments",
            records=len(self.data.role_assignments),
        )

    def domains(self) -> DatasetState:
        """The customer's domains and their aliases (every one receives mail in Google Workspace)."""
        (domains,) = self._directory("google.domains", "domains")
        answer = self.client.execute(domains.list(customer=self.data.customer_id, fields=DOMAIN_FIELDS))
        found: list[MailDomain] = []
        for domain in answer.get("domains") or []:
            found.append(
                MailDomain(
                    name=str(domain.get("domainName") or ""),
                    verified=domain.get("verified") is True,
                    default=domain.get("isPrimary") is True,
                )
            )
            found += [
                MailDomain(name=str(alias.get("domainAliasName") or ""), verified=alias.get("verified") is True)
                for alias in domain.get("domainAliases") or []
            ]
        self.data.domains = [d for d in found if d.name]
        return DatasetState(
            available=True, endpoint="admin/directory/v1/customer/{customer}/domains", records=len(self.data.domains)
        )

    def admin_groups(self) -> DatasetState:
        """The members of every group that holds an admin role, direct and indirect (``includeDerivedMembership``:
        members of nested groups are listed too), with the group-member scope's own credential. Asked for only
        when a group holds a role: one request (or more, 200 members a page) per such group, none otherwise."""
        groups = sorted({a.assigned_to for a in self.data.role_assignments if a.assignee_type == "group"})
        if not groups:
            return DatasetState(
                available=True,
                method="no admin role is assigned to a group: no member list needed",
                endpoint="admin/directory/v1/groups/{groupKey}/members",
            )
        (members,) = self._directory("google.admin_groups", "members")
        found: dict[str, list[GoogleGroupMember]] = {}
        for group in groups:
            rows = self.client.pages(
                lambda group=group, **kw: members.list(
                    groupKey=group, includeDerivedMembership=True, maxResults=200, fields=MEMBER_FIELDS, **kw
                ),
                "members",
                "id",
            )
            try:
                found[group] = [
                    GoogleGroupMember(id=str(m["id"]), email=m.get("email") or None, type=str(m.get("type") or "USER"))
                    for m in rows
                    if isinstance(m, dict) and m.get("id")
                ]
            except GoogleApiError as exc:
                if exc.status != 404:
                    raise
                # a group that no longer exists: left out of group_members, which the check reports as unseen
                log.warning("a group holding an admin role was not found", status=exc.status)
        self.data.group_members = found
        return DatasetState(
            available=True,
            endpoint="admin/directory/v1/groups/{groupKey}/members",
            records=sum(len(m) for m in found.values()),
        )

    def mobile_devices(self) -> DatasetState:
        (devices,) = self._directory("google.mobile_devices", "mobiledevices")
        rows = self.client.pages(
            lambda **kw: devices.list(
                customerId=self.data.customer_id, maxResults=100, projection="FULL", fields=MOBILE_FIELDS, **kw
            ),
            "mobiledevices",
            "resourceId",
        )
        self.data.mobile_devices = [
            GoogleMobileDevice(
                id=str(d["resourceId"]),
                model=str(d.get("model") or "unknown model"),
                os=str(d.get("os") or ""),
                type=str(d.get("type") or ""),
                status=str(d.get("status") or ""),
                security_patch_level=_epoch_ms(d.get("securityPatchLevel")),
                last_sync=_ts(d.get("lastSync")),
                emails=[str(e) for e in d.get("email") or []],
            )
            for d in rows
        ]
        return DatasetState(
            available=True,
            endpoint="admin/directory/v1/customer/{customerId}/devices/mobile",
            records=len(self.data.mobile_devices),
        )

    def chrome_devices(self) -> DatasetState:
        (devices,) = self._directory("google.chrome_devices", "chromeosdevices")
        rows = self.client.pages(
            lambda **kw: devices.list(
                customerId=self.data.customer_id, maxResults=300, projection="FULL", fields=CHROME_FIELDS, **kw
            ),
            "chromeosdevices",
            "deviceId",
        )
        self.data.chrome_devices = [
            GoogleChromeDevice(
                id=str(d["deviceId"]),
                serial_number=str(d.get("serialNumber") or d["deviceId"]),
                model=str(d.get("model") or ""),
                os_version=str(d.get("osVersion") or ""),
                status=str(d.get("status") or ""),
                last_sync=_ts(d.get("lastSync")),
                # autoUpdateThrough supersedes the deprecated epoch-ms autoUpdateExpiration
                auto_update_through=_ts(d.get("autoUpdateThrough")) or _epoch_ms(d.get("autoUpdateExpiration")),
                os_version_compliance=d.get("osVersionCompliance") or None,
                user=d.get("annotatedUser") or None,
            )
            for d in rows
        ]
        return DatasetState(
            available=True,
            endpoint="admin/directory/v1/customer/{customerId}/devices/chromeos",
            records=len(self.data.chrome_devices),
        )

    def endpoints(self) -> DatasetState:
        (devices,) = self.source.collections("cloudidentity", "v1", SCOPES["google.endpoints"], "devices")
        customer = f"customers/{self.data.customer_id}"
        rows = self.client.pages(
            lambda **kw: devices.list(customer=customer, pageSize=100, fields=ENDPOINT_FIELDS, **kw), "devices", "name"
        )
        self.data.endpoints = [
            GoogleEndpoint(
                name=str(d["name"]),
                device_type=str(d.get("deviceType") or "DEVICE_TYPE_UNSPECIFIED"),
                serial_number=d.get("serialNumber") or None,
                model=str(d.get("model") or ""),
                os_version=str(d.get("osVersion") or ""),
                security_patch_time=_ts(d.get("securityPatchTime")),
                last_sync=_ts(d.get("lastSyncTime")),
                compromised_state=d.get("compromisedState") or None,
                management_state=d.get("managementState") or None,
                encryption_state=d.get("encryptionState") or None,
            )
            for d in rows
        ]
        return DatasetState(available=True, endpoint="v1/devices", records=len(self.data.endpoints))
