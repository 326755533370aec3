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
#: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list: Intune pages hold at most 1000 items
GRAPH_DEVICES_PAGE = 1000
#: https://learn.microsoft.com/graph/json-batching: at most 20 requests in one $batch
GRAPH_BATCH = 20

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
#: the source's first pause before polling GenerateCredentialReport again (hygiene/sources/aws.py, _credential_report;
#: the sandbox's report is ready at once, so one pause)
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
    """``scenario``: hygiene.sandbox.Scenario; ``token_requests``: those the identity platform saw (before any
    Graph request: OpenID configuration and token)."""
    groups = scenario.groups
    ca_groups = {g for p in scenario.ca_policies for key in ("includeGroups", "excludeGroups")
                 for g in p["conditions"]["users"].get(key) or []}  # fmt: skip
    role_groups = {a["principalId"] for a in scenario.role_assignments if a["principalId"] in groups}
    member_pages = {g: pages(len(groups[g]["members"]), GRAPH_MEMBERS_PAGE) for g in ca_groups | role_groups}
    exclusions = [g for g, v in groups.items() if v.get("displayName") == "CA Exclusions"]
    # the generated design: CA001 covers every member but the break-glass account and the exclusion group
    # (hygiene.sandbox.generator docstring), so per-user MFA is read for those only
    uncovered = 1 + sum(len(groups[g]["members"]) for g in exclusions)
    backup_enabled = str((scenario.backup or {}).get("status", "disabled")) != "disabled"
    enabled = {str(u["id"]): bool(u.get("accountEnabled")) for u in scenario.users}
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
        "$batch authentication/requirements": pages(uncovered, GRAPH_BATCH, at_least=0),
        "subscribedSkus": 1,
        "managedDevices": pages(len(scenario.managed_devices), GRAPH_DEVICES_PAGE),
        "deviceCompliancePolicies": 1,
        "backupRestore": 1 + (3 if backup_enabled else 0),
    }
    mn = m.minimum
    # the four lanes of hygiene/sources/m365.py (M365Source._collect), then per-user MFA after all of them
    role_members = max((member_pages[g] for g in role_groups), default=0)
    ca_members = max((member_pages[g] for g in ca_groups - role_groups), default=0)
    lanes = {
        "users": mn["users"],
        "registration": mn["userRegistrationDetails"],
        "roles, then policies": mn["roleDefinitions"] + mn["roleAssignments"] + role_members
        + mn["identitySecurityDefaultsEnforcementPolicy"] + mn["conditionalAccess/policies"] + ca_members,
        "licences, devices, compliance, backup": mn["subscribedSkus"] + mn["managedDevices"]
        + mn["deviceCompliancePolicies"] + mn["backupRestore"],
    }  # fmt: skip
    batches = mn["$batch authentication/requirements"]
    m.chain_requests = token_requests + max(lanes.values()) + batches
    # fully concurrent: every collection and every group at once, the $batch chunks side by side
    prerequisites = max(mn["users"], 1 + mn["roleAssignments"] + role_members, 1 + ca_members)
    m.ideal_chain_requests = token_requests + max(
        prerequisites + min(1, batches), mn["userRegistrationDetails"], mn["managedDevices"]
    )
    longest = max(lanes, key=lambda k: lanes[k])
    m.notes.append(
        f"four concurrent lanes (longest: {longest}, {lanes[longest]} requests), then {batches} $batch requests "
        f"in sequence; {token_requests} token requests before"
    )
    return m


# -- Google Workspace -----------------------------------------------------------------------------------------------
def google_model(google: Any, token_requests: int) -> Model:
    """``google``: hygiene.sandbox.google.GoogleScenario. The source reads its five collections one after another
    (hygiene/sources/google.py), each with one token request per scope."""
    m = Model()
    m.minimum = {
        "users": pages(len(google.users), GOOGLE_USERS_PAGE),
        "roles": pages(len(google.roles), GOOGLE_ROLES_PAGE),
        "roleassignments": pages(len(google.role_assignments), GOOGLE_ROLE_ASSIGNMENTS_PAGE),
        "mobiledevices": pages(len(google.mobile_devices), GOOGLE_MOBILE_PAGE),
        "chromeosdevices": pages(len(google.chromeos_devices), GOOGLE_CHROMEOS_PAGE),
        "cloudidentity devices": pages(len(google.ci_devices), GOOGLE_ENDPOINTS_PAGE),
    }
    m.chain_requests = token_requests + m.minimum_total
    m.ideal_chain_requests = 2 + max(m.minimum["users"], m.minimum["roles"] + m.minimum["roleassignments"] - 1,
                                     m.minimum["mobiledevices"], m.minimum["chromeosdevices"],
                                     m.minimum["cloudidentity devices"])  # fmt: skip
    m.notes.append("the source reads the collections in sequence: every request (tokens included) is on the chain")
    return m


# -- AWS ------------------------------------------------------------------------------------------------------------
def _regional(account: Any, region: str, now: Any, lookback_days: int, restore_days: int) -> int:
    def here(items: list[Any]) -> list[Any]:
        return [i for i in items if getattr(i, "region", region) == region]

    managed = len(here(account.managed_instances))
    jobs = [j for j in here(account.backup_jobs) if j.created >= now - timedelta(days=lookback_days)]
    restores = [r for r in here(account.restore_jobs) if r.created >= now - timedelta(days=restore_days)]
    return (
        pages(len(here(account.instances)), AWS_EC2_PAGE)
        + pages(len(here(account.db_instances)), AWS_RDS_PAGE)
        + pages(len(here(account.backup_plans)), AWS_BACKUP_PAGE)
        + pages(len(here(account.vaults)), AWS_BACKUP_PAGE)
        + pages(len(here(account.protected_resources)), AWS_BACKUP_PAGE)
        + pages(len(jobs), AWS_BACKUP_PAGE)
        + pages(len(here(account.restore_testing_plans)), AWS_BACKUP_PAGE)
        + pages(len(restores), AWS_BACKUP_PAGE)
        + pages(managed, AWS_SSM_INFO_PAGE)
        + pages(managed, AWS_SSM_PATCH_IDS, at_least=0)
    )


def _makespan(durations: list[float], workers: int) -> float:
    """Tasks started in submission order on ``workers`` threads (ThreadPoolExecutor): when the last one ends."""
    free = [0.0] * workers
    end = 0.0
    for d in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + d)
        end = max(end, start + d)
    return end


def aws_model(
    scenario: Any, regions: list[str], latency_ms: float, workers: int, lookback_days: int = 30, restore_days: int = 400
) -> Model:
    """``scenario``: hygiene.sandbox.aws.AwsScenario; ``regions``: the configured regions, read in every account
    (the scanner cannot know a region is empty without asking). The source (hygiene/sources/aws.py) first assumes
    its role, asks STS who it is, lists the accounts and assumes the member role in each, one after another; then
    runs one task per account (IAM: summary, credential report) and one per account x region (EC2, RDS, Backup,
    SSM, each in sequence) on a pool of ``workers`` threads."""
    m = Model()
    accounts = scenario.accounts
    now = scenario.now
    regional = {(a.account_id, r): _regional(a, r, now, lookback_days, restore_days) for a in accounts for r in regions}
    m.minimum = {
        "organizations:ListAccounts": pages(len(accounts), AWS_ACCOUNTS_PAGE),
        # GetAccountSummary, GenerateCredentialReport until COMPLETE (STARTED, then one poll), GetCredentialReport
        "iam (summary + report)": 4 * len(accounts),
        "regional (ec2, rds, backup x6, ssm)": sum(regional.values()),
    }
    latency = latency_ms / 1000
    setup = 1 + 1 + m.minimum["organizations:ListAccounts"] + (len(accounts) - 1)  # STS + Organizations
    # the source submits the IAM tasks first, then the regional ones
    tasks = [4 * latency + AWS_REPORT_POLL_SECONDS for _ in accounts]
    tasks += [regional[(a.account_id, r)] * latency for a in accounts for r in regions]
    critical = setup * latency + _makespan(tasks, workers)
    # every member role assumed at once, every task on its own thread
    ideal = (setup - (len(accounts) - 1) + min(1, len(accounts) - 1)) * latency + max(tasks, default=0.0)
    # expressed in request-latencies (the poll included) so that it can be compared with the other platforms
    m.chain_requests = critical / latency if latency else setup
    m.ideal_chain_requests = ideal / latency if latency else setup
    m.notes.append(
        f"setup chain {setup} requests (STS and Organizations, member roles assumed in sequence), then "
        f"{len(tasks)} tasks on {workers} threads; the credential report costs one {AWS_REPORT_POLL_SECONDS:g} s "
        "poll (counted in the critical path)"
    )
    return m
