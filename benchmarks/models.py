"""The request and critical-path models of the benchmarks: for a generated organisation, the fewest requests that
fetch the same data, and the longest chain of dependent requests given the concurrency each source uses.

Page sizes are the vendors' documented maxima (the doc page is named beside each); where a vendor documents no
maximum the vendor's default page is used, and said so.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

# -- Microsoft Graph ------------------------------------------------------------------------------------------------
#: https://learn.microsoft.com/graph/api/user-list ($top 1..999) and https://learn.microsoft.com/graph/paging
GRAPH_USERS_PAGE = 999
#: https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails documents no $top
#: maximum; the service's default page (1000, as the sandbox serves it) is the page the source gets
GRAPH_REGISTRATION_PAGE = 1000
#: https://learn.microsoft.com/graph/api/group-list-transitivemembers ($top up to 999, like every directory object)
GRAPH_MEMBERS_PAGE = 999
#: https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments documents no $top; default page 100
GRAPH_ROLE_ASSIGNMENTS_PAGE = 100
#: https://learn.microsoft.com/graph/api/rbacapplication-list-roleeligibilityscheduleinstances and
#: privilegedaccessgroup-list-eligibilityscheduleinstances document no $top; the sandbox's default page (100)
GRAPH_ELIGIBILITY_PAGE = 100
#: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list: Intune pages hold at most 1000 items
GRAPH_DEVICES_PAGE = 1000
#: servicePrincipals, appRoleAssignedTo and applications: $top up to 999 (serviceprincipal-list, application-list)
GRAPH_APPS_PAGE = 999
#: https://learn.microsoft.com/graph/json-batching: at most 20 requests in one $batch
GRAPH_BATCH = 20
#: Defender for Endpoint API: machines $top (documented maximum) and the vulnerability export's pageSize (its
#: default; hygiene/sources/m365/defender.py)
DEFENDER_MACHINES_PAGE = 10_000
DEFENDER_EXPORT_PAGE = 50_000

# -- Google ---------------------------------------------------------------------------------------------------------
#: https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/list (maxResults max 500)
GOOGLE_USERS_PAGE = 500
#: https://developers.google.com/workspace/admin/directory/reference/rest/v1/roles/list (maxResults max 100)
GOOGLE_ROLES_PAGE = 100
#: https://developers.google.com/workspace/admin/directory/reference/rest/v1/roleAssignments/list (max 200)
GOOGLE_ROLE_ASSIGNMENTS_PAGE = 200
#: https://developers.google.com/workspace/admin/directory/reference/rest/v1/mobiledevices/list (max 100)
GOOGLE_MOBILE_PAGE = 100
#: https://developers.google.com/workspace/admin/directory/reference/rest/v1/chromeosdevices/list
#: ("Value should not exceed 300")
GOOGLE_CHROMEOS_PAGE = 300
#: https://cloud.google.com/identity/docs/reference/rest/v1/devices/list ("values above 100 will be coerced to 100")
GOOGLE_ENDPOINTS_PAGE = 100
#: https://developers.google.com/workspace/admin/directory/reference/rest/v1/members/list ("Max allowed value is 200")
GOOGLE_MEMBERS_PAGE = 200

# -- AWS ------------------------------------------------------------------------------------------------------------
#: https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html (MaxResults 1-20)
AWS_ACCOUNTS_PAGE = 20
#: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html (MaxResults 5-1000)
AWS_EC2_PAGE = 1000
#: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBInstances.html (MaxRecords 20-100)
AWS_RDS_PAGE = 100
#: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Operations.html: every List* takes MaxResults 1-1000
AWS_BACKUP_PAGE = 1000
#: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html (5-50)
AWS_SSM_INFO_PAGE = 50
#: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstancePatchStates.html
#: (InstanceIds: at most 50 per call)
AWS_SSM_PATCH_IDS = 50
#: ListRecoveryPointsByBackupVault's ByCreatedAfter look-back (hygiene/sources/aws.py, RECOVERY_POINT_LOOKBACK_DAYS)
AWS_RECOVERY_POINT_DAYS = 8
#: the source's first pause, counted from the STARTED answer, before asking GenerateCredentialReport again
#: (hygiene/sources/aws.py, REPORT_FIRST_PAUSE; the sandbox's report is ready at once, so one pause)
AWS_REPORT_POLL_SECONDS = 0.5


def pages(items: int, page: int, at_least: int = 1) -> int:
    """Requests to list ``items`` with pages of ``page`` (an empty collection still costs one request)."""
    return max(at_least, math.ceil(items / page))


@dataclass
class Model:
    """The fewest API requests (per endpoint) and the critical path, in request-latencies (waits converted)."""

    minimum: dict[str, int] = field(default_factory=dict)
    #: requests on the longest dependent chain, given the concurrency the source uses (token requests included)
    chain_requests: float = 0
    #: the same with every independent collection fetched concurrently (information: what a fully concurrent
    #: source could reach)
    ideal_chain_requests: float = 0
    notes: list[str] = field(default_factory=list)

    @property
    def minimum_total(self) -> int:
        return sum(self.minimum.values())

    def critical_path_s(self, latency_ms: float) -> float:
        return self.chain_requests * latency_ms / 1000

    def ideal_path_s(self, latency_ms: float) -> float:
        return self.ideal_chain_requests * latency_ms / 1000

    def as_json(self, latency_ms: float) -> dict[str, Any]:
        return {
            "minimum": self.minimum,
            "minimum_total": self.minimum_total,
            "chain_requests": self.chain_requests,
            "critical_path_s": round(self.critical_path_s(latency_ms), 3),
            "ideal_chain_requests": self.ideal_chain_requests,
            "ideal_path_s": round(self.ideal_path_s(latency_ms), 3),
            "notes": self.notes,
        }


# -- Microsoft 365 --------------------------------------------------------------------------------------------------
def m365_model(scenario: Any, token_requests: int) -> Model:
    """``scenario``: hygiene_sandbox.Scenario; ``token_requests``: those the identity platform saw (before any
    Graph request: OpenID configuration and token)."""
    groups = scenario.groups
    ca_groups = {g for p in scenario.ca_policies for key in ("includeGroups", "excludeGroups")
                 for g in p["conditions"]["users"].get(key) or []}  # fmt: skip
    held = (*scenario.role_assignments, *scenario.role_eligibilities)
    role_groups = {a["principalId"] for a in held if a["principalId"] in groups}
    # PIM for Groups: one filtered list per group that holds a role (hygiene/sources/m365.py, _group_eligibility)
    group_eligibility = sum(
        pages(sum(1 for e in scenario.group_eligibilities if e["groupId"] == g), GRAPH_ELIGIBILITY_PAGE)
        for g in role_groups
    )
    member_pages = {g: pages(len(groups[g]["members"]), GRAPH_MEMBERS_PAGE) for g in ca_groups | role_groups}
    exclusions = [g for g, v in groups.items() if v.get("displayName") == "CA Exclusions"]
    # the generated design: CA001 covers every member but the break-glass account and the exclusion group
    # (hygiene_sandbox.generator docstring), so per-user MFA is read for those only
    uncovered = 1 + sum(len(groups[g]["members"]) for g in exclusions)
    backup_enabled = str((scenario.backup or {}).get("status", "disabled")) != "disabled"
    enabled = {str(u["id"]): bool(u.get("accountEnabled")) for u in scenario.users}
    windows = sum(1 for d in scenario.managed_devices if str(d.get("operatingSystem", "")).startswith("Windows"))
    m = Model()
    m.minimum = {
        "users": pages(len(scenario.users), GRAPH_USERS_PAGE),
        # the report leaves out disabled accounts (documented on its list page)
        "userRegistrationDetails": pages(
            sum(1 for r in scenario.registrations if enabled.get(str(r["id"]), False)), GRAPH_REGISTRATION_PAGE
        ),
        "identitySecurityDefaultsEnforcementPolicy": 1,
        "conditionalAccess/policies": pages(len(scenario.ca_policies), 1000),
        "groups/transitiveMembers": sum(member_pages.values()),
        "roleDefinitions": 1,
        "roleAssignments": pages(len(scenario.role_assignments), GRAPH_ROLE_ASSIGNMENTS_PAGE),
        "roleEligibilityScheduleInstances": pages(len(scenario.role_eligibilities), GRAPH_ELIGIBILITY_PAGE),
        "privilegedAccess/group/eligibilityScheduleInstances": group_eligibility,
        "$batch authentication/requirements": pages(uncovered, GRAPH_BATCH, at_least=0),
        "subscribedSkus": 1,
        "managedDevices": pages(len(scenario.managed_devices), GRAPH_DEVICES_PAGE),
        "deviceCompliancePolicies": 1,
        "backupRestore": 1 + (3 if backup_enabled else 0),
        # windowsProtectionState has no list-level read in v1.0: one $batch sub-request per Windows device
        "$batch windowsProtectionState": pages(windows, GRAPH_BATCH, at_least=0),
        # the Defender for Endpoint API (its own host): no machines is one 404
        "defender machines": pages(len(scenario.defender_machines), DEFENDER_MACHINES_PAGE),
        "defender vulnerabilities": pages(len(scenario.defender_vulnerabilities), DEFENDER_EXPORT_PAGE),
        # hygiene/sources/m365/apps.py: the two consent policies; Graph's service principal, the grants of its
        # app roles, the service principals and the app registrations (largest pages, 999)
        "policies (consent)": 2,
        "servicePrincipals, appRoleAssignedTo, applications": 1
        + pages(len(scenario.graph_grants), GRAPH_APPS_PAGE)
        + pages(len(scenario.service_principals) + 1, GRAPH_APPS_PAGE)
        + pages(len(scenario.applications), GRAPH_APPS_PAGE),
        "domains": 1,  # GET /domains: a handful of domains, one page
    }
    mn = m.minimum
    # the four lanes of hygiene/sources/m365.py (M365Source._collect), then per-user MFA after all of them
    role_members = max((member_pages[g] for g in role_groups), default=0)
    ca_members = max((member_pages[g] for g in ca_groups - role_groups), default=0)
    lanes = {
        "users": mn["users"],
        "registration": mn["userRegistrationDetails"],
        "roles, then policies": mn["roleDefinitions"] + mn["roleAssignments"]
        + mn["roleEligibilityScheduleInstances"] + role_members + group_eligibility
        + mn["identitySecurityDefaultsEnforcementPolicy"] + mn["conditionalAccess/policies"] + ca_members,
        "licences, devices, antivirus, compliance, backup, apps, domains": mn["subscribedSkus"] + mn["managedDevices"]
        + mn["$batch windowsProtectionState"] + mn["deviceCompliancePolicies"] + mn["backupRestore"]
        + mn["policies (consent)"] + mn["servicePrincipals, appRoleAssignedTo, applications"] + mn["domains"],
        "Defender for Endpoint": mn["defender machines"] + mn["defender vulnerabilities"],
    }  # fmt: skip
    batches = mn["$batch authentication/requirements"]
    m.chain_requests = token_requests + max(lanes.values()) + batches
    # fully concurrent: every collection and every group at once, the $batch chunks side by side
    prerequisites = max(
        mn["users"], 1 + mn["roleAssignments"] + mn["roleEligibilityScheduleInstances"] + role_members, 1 + ca_members
    )
    m.ideal_chain_requests = token_requests + max(
        prerequisites + min(1, batches), mn["userRegistrationDetails"], mn["managedDevices"]
    )
    longest = max(lanes, key=lambda k: lanes[k])
    m.notes.append(
        f"five concurrent lanes (longest: {longest}, {lanes[longest]} requests), then {batches} $batch requests "
        f"in sequence; {token_requests} token requests before"
    )
    return m


# -- Google Workspace -----------------------------------------------------------------------------------------------
def google_model(google: Any, token_requests: int) -> Model:
    """``google``: hygiene_sandbox.google.GoogleScenario; ``token_requests``: those the token endpoint saw (one per
    dataset's credential). The source (hygiene/sources/google.py, GoogleSource.collect) runs its six lanes on
    ``LANES`` threads, started in ``ORDER``: each is its token request, then its pages in sequence (role
    definitions, then role assignments, for the roles; then, when a group holds a role, a token for the
    group-member scope and each such group's member pages)."""
    from hygiene.sources.google.source import LANES, ORDER  # the source's own concurrency
    from hygiene_sandbox.google_api import derived_members

    groups = sorted({str(a["assignedTo"]) for a in google.role_assignments if a.get("assigneeType") == "group"})
    member_pages = sum(
        pages(len(derived_members(google, google.group_members.get(g, []))), GOOGLE_MEMBERS_PAGE) for g in groups
    )
    group_token = 1 if groups else 0

    m = Model()
    m.minimum = {
        "users": pages(len(google.users), GOOGLE_USERS_PAGE),
        "roles": pages(len(google.roles), GOOGLE_ROLES_PAGE),
        "roleassignments": pages(len(google.role_assignments), GOOGLE_ROLE_ASSIGNMENTS_PAGE),
        "mobiledevices": pages(len(google.mobile_devices), GOOGLE_MOBILE_PAGE),
        "chromeosdevices": pages(len(google.chromeos_devices), GOOGLE_CHROMEOS_PAGE),
        "cloudidentity devices": pages(len(google.ci_devices), GOOGLE_ENDPOINTS_PAGE),
        "domains": 1,  # domains.list is not paged
    }
    if groups:
        m.minimum["group members"] = member_pages
    mn = m.minimum
    token = (token_requests - group_token) / len(ORDER)  # 1: one credential per lane's dataset
    chains = {
        "google.users": mn["users"],
        "google.roles": mn["roles"] + mn["roleassignments"] + group_token + member_pages,
        "google.mobile_devices": mn["mobiledevices"],
        "google.chrome_devices": mn["chromeosdevices"],
        "google.endpoints": mn["cloudidentity devices"],
        "google.domains": mn["domains"],
    }
    m.chain_requests = _makespan([token + chains[d] for d in ORDER], LANES)
    # every dataset on its own thread, role definitions and assignments side by side
    m.ideal_chain_requests = token + max(
        mn["users"], mn["roles"], mn["roleassignments"], mn["mobiledevices"], mn["chromeosdevices"],
        mn["cloudidentity devices"],
    )  # fmt: skip
    longest = max(chains, key=lambda k: chains[k])
    m.notes.append(
        f"six datasets on {LANES} concurrent lanes (longest: {longest}, {chains[longest]} requests), each "
        "after its own token request"
    )
    return m


# -- AWS ------------------------------------------------------------------------------------------------------------
def _regional(account: Any, region: str, now: Any, lookback_days: int, restore_days: int) -> dict[str, int]:
    """Requests per regional dataset (the source's jobs) of one account in one region."""

    def here(items: list[Any]) -> list[Any]:
        return [i for i in items if getattr(i, "region", region) == region]

    managed = len(here(account.managed_instances))
    jobs = [j for j in here(account.backup_jobs) if j.created >= now - timedelta(days=lookback_days)]
    restores = [r for r in here(account.restore_jobs) if r.created >= now - timedelta(days=restore_days)]
    # recovery points: each protected resource's newest (the sandbox lists one at its LastBackupTime) and the others
    # the scenario holds, created within the look-back; one ListRecoveryPointsByBackupVault (or more pages) per vault
    # is the least that can tell a resource's COMPLETED points from its PARTIAL/EXPIRED ones (per resource,
    # ListRecoveryPointsByResource, would cost one request per resource)
    since = now - timedelta(days=AWS_RECOVERY_POINT_DAYS)
    points = [(r.vault_name, r.last_backup) for r in here(account.protected_resources)]
    points += [(p.vault_name, p.created) for p in here(account.recovery_points)]
    plans = here(account.restore_testing_plans)
    return {
        "ec2": pages(len(here(account.instances)), AWS_EC2_PAGE),
        # DescribeDBInstances, then DescribeDBClusters (Aurora, DocumentDB and Neptune back up per cluster)
        "rds": pages(len(here(account.db_instances)), AWS_RDS_PAGE)
        + pages(len(here(account.db_clusters)), AWS_RDS_PAGE),
        "backup": pages(len(here(account.backup_plans)), AWS_BACKUP_PAGE)
        + pages(len(here(account.vaults)), AWS_BACKUP_PAGE)
        + sum(
            pages(sum(1 for name, at in points if name == v.name and at > since), AWS_BACKUP_PAGE)
            for v in here(account.vaults)
        )
        + pages(len(here(account.protected_resources)), AWS_BACKUP_PAGE)
        + pages(len(jobs), AWS_BACKUP_PAGE)
        + pages(len(plans), AWS_BACKUP_PAGE)
        # ListRestoreTestingSelections per plan: a plan without selections tests nothing
        + sum(pages(len(p.selections), AWS_BACKUP_PAGE) for p in plans)
        + pages(len(restores), AWS_BACKUP_PAGE),
        "ssm": pages(managed, AWS_SSM_INFO_PAGE) + pages(managed, AWS_SSM_PATCH_IDS, at_least=0),
    }


def _makespan(durations: list[float], workers: int) -> float:
    """Tasks started in submission order on ``workers`` threads (ThreadPoolExecutor): when the last one ends."""
    free = [0.0] * workers
    end = 0.0
    for d in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + d)
        end = max(end, start + d)
    return end


@dataclass
class _AwsAccountJobs:
    """One account's jobs in the source's pool (hygiene/sources/aws.py, ``AwsSource.collect`` and ``_Jobs``)."""

    member: bool
    #: durations (s) of its regional jobs, one per region and dataset, in submission order
    regional: list[float]


def _aws_schedule(accounts: list[_AwsAccountJobs], latency: float, pause: float, workers: int) -> float:
    """When the pool's last job ends (from the pool's start), simulating ``_Jobs`` on ``workers`` threads with
    every request taking ``latency``:

    - queued in order: each account's first job (AssumeRole for a member, GenerateCredentialReport, then
      GetAccountSummary), then every regional job (it waits until its account's role is assumed);
    - an account's report job (GenerateCredentialReport again, COMPLETE, then GetCredentialReport) is added when
      its first job ends, due ``pause`` after the STARTED answer; a free thread takes a due report job first, else
      the queue's head, else (queue empty) the report job due soonest, waiting out the rest of its pause."""
    queue: list[tuple[str, int, float]] = [("first", i, 0.0) for i in range(len(accounts))]
    queue += [("regional", i, d) for i, a in enumerate(accounts) for d in a.regional]
    assumed: dict[int, float] = {}  # account -> when its role is assumed
    added: list[tuple[float, float, int]] = []  # (when its first job ends, due, account): report jobs to come
    due: list[tuple[float, int]] = []  # report jobs added: (due, account)
    free = [0.0] * workers
    end = 0.0
    head = 0
    while head < len(queue) or added or due:
        now = heapq.heappop(free)
        while added and added[0][0] <= now:
            _, when, account = heapq.heappop(added)
            heapq.heappush(due, (when, account))
        if due and (due[0][0] <= now or head >= len(queue)):
            when, _ = heapq.heappop(due)
            finish = max(now, when) + 2 * latency
        elif head < len(queue):
            kind, account, duration = queue[head]
            head += 1
            if kind == "first":
                assume = latency if accounts[account].member else 0.0
                assumed[account] = now + assume
                finish = now + assume + 2 * latency
                heapq.heappush(added, (finish, now + assume + latency + pause, account))
            else:
                finish = max(now, assumed[account]) + duration
        else:  # only report jobs whose first jobs still run: wait for the next to be added
            heapq.heappush(free, added[0][0])
            continue
        heapq.heappush(free, finish)
        end = max(end, finish)
    return end


def aws_model(
    scenario: Any, regions: list[str], latency_ms: float, workers: int, lookback_days: int = 30, restore_days: int = 400
) -> Model:
    """``scenario``: hygiene_sandbox.aws.AwsScenario; ``regions``: the configured regions, read in every account
    (the scanner cannot know a region is empty without asking). The source (hygiene/sources/aws.py) assumes its
    role, asks STS who it is and lists the accounts, in sequence; then runs its jobs on a pool of ``workers``
    threads (``_aws_schedule``). The credential report's first pause (``AWS_REPORT_POLL_SECONDS`` after the STARTED
    answer) is on the path: the sandbox's report is ready at once, so one poll finds it COMPLETE."""
    m = Model()
    accounts = [a for a in scenario.accounts if a.state in ("ACTIVE", "PENDING_CLOSURE")]
    now = scenario.now
    regional = {(a.account_id, r): _regional(a, r, now, lookback_days, restore_days) for a in accounts for r in regions}
    m.minimum = {
        "organizations:ListAccounts": pages(len(scenario.accounts), AWS_ACCOUNTS_PAGE),
        # centralised root access (management account, once)
        "iam:ListOrganizationsFeatures": 1,
        # GenerateCredentialReport until COMPLETE (STARTED, then one poll), GetAccountSummary, GetCredentialReport
        "iam (summary + report)": 4 * len(accounts),
        "regional (ec2, rds x2, backup x8, ssm)": sum(sum(r.values()) for r in regional.values()),
    }
    latency = latency_ms / 1000
    pause = AWS_REPORT_POLL_SECONDS
    # AssumeRole, GetCallerIdentity, ListAccounts pages, ListOrganizationsFeatures
    setup = 1 + 1 + m.minimum["organizations:ListAccounts"] + 1
    management = scenario.management_account_id
    jobs = [
        _AwsAccountJobs(
            member=a.account_id != management,
            regional=[n * latency for r in regions for n in regional[(a.account_id, r)].values()],
        )
        for a in sorted(accounts, key=lambda a: (a.account_id != management, a.account_id))  # the source's order
    ]
    critical = setup * latency + _aws_schedule(jobs, latency, pause, workers)
    # every job on its own thread: the slowest account's chain (its role, then its longest regional dataset or
    # the report: STARTED, the pause (the summary read within it), COMPLETE, the report)
    ideal = setup * latency + max(
        ((latency if j.member else 0.0) + max(max(j.regional, default=0.0), latency + max(pause, latency) + 2 * latency)
         for j in jobs),
        default=0.0,
    )  # fmt: skip
    # expressed in request-latencies (the pause included) so that it can be compared with the other platforms
    m.chain_requests = critical / latency if latency else setup
    m.ideal_chain_requests = ideal / latency if latency else setup
    m.notes.append(
        f"setup chain {setup} requests (STS and Organizations), then {len(jobs)} accounts' first jobs, "
        f"{sum(len(j.regional) for j in jobs)} regional jobs and {len(jobs)} report jobs on {workers} threads; the "
        f"credential report's first {pause:g} s pause is counted in the critical path"
    )
    return m


# -- Azure ----------------------------------------------------------------------------------------------------------
#: https://learn.microsoft.com/rest/api/azureresourcegraph/resourcegraph/resources/resources: options.$top 1..1000
AZURE_GRAPH_PAGE = 1000
#: GET /subscriptions documents no page size; the sandbox's page (100) is the page the source gets
AZURE_SUBSCRIPTIONS_PAGE = 100
#: Resource Graph's per-user quota, the documented example (15 queries per 5-second window; the sandbox plays it):
#: https://learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests
AZURE_QUOTA, AZURE_QUOTA_WINDOW_S = 15, 5.0


def azure_model(scenario: Any, token_requests: int, latency_ms: float) -> Model:
    """``scenario``: hygiene_sandbox.azure_scenario.AzureScenario. The source (hygiene/sources/azure/source.py) lists
    the subscriptions, then reads its tables side by side, each one paged query (pages in sequence). Every
    query spends the quota: past ``AZURE_QUOTA`` queries, each further window of ``AZURE_QUOTA`` costs a wait of up
    to ``AZURE_QUOTA_WINDOW_S`` (converted into request-latencies on the path)."""
    from hygiene.sources.azure import rows
    from hygiene_sandbox.azure_arm import parse_query

    readable = {s.subscription_id.lower() for s in scenario.subscriptions if s.reader and s.state == "Enabled"}
    listed = sum(1 for s in scenario.subscriptions if s.reader)
    m = Model()
    m.minimum = {"subscriptions": pages(listed, AZURE_SUBSCRIPTIONS_PAGE)}
    for table, query in rows.QUERIES.items():
        _, types, _ = parse_query(query)
        matching = sum(
            1
            for row in scenario.tables[table]
            if str(row["type"]).lower() in types and str(row["subscriptionId"]).lower() in readable
        )
        m.minimum[table] = pages(matching, AZURE_GRAPH_PAGE)
    queries = sum(v for k, v in m.minimum.items() if k != "subscriptions")
    waits_s = max(0, math.ceil(queries / AZURE_QUOTA) - 1) * AZURE_QUOTA_WINDOW_S
    longest = max(v for k, v in m.minimum.items() if k != "subscriptions")
    m.chain_requests = token_requests + m.minimum["subscriptions"] + longest + waits_s * 1000 / latency_ms
    m.ideal_chain_requests = m.chain_requests
    if waits_s:
        m.notes.append(f"{queries} queries: {waits_s:g} s of Resource Graph quota waits on the path")
    return m
