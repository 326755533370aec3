"""AWS source: IAM credential report, AWS Backup, RDS, EC2 and SSM, across accounts and regions (read-only).

Every call is a read except ``GenerateCredentialReport``, which only asks IAM to (re)build the report. Accounts
and regions are scanned concurrently in a bounded pool (``AwsSource.collect`` describes the tasks): one boto3
session per account, and one client per account, service and region, built under a lock (building clients from a
session is not thread-safe; using them is) and shared by the jobs that need it. botocore's adaptive retry
mode handles throttling (``ThrottlingException``), 5xx, connection resets and read timeouts, with bounded timeouts
(its client-side rate limiter only engages once a request has been throttled). Two faults botocore does not handle
are handled here: a 2xx whose body cannot be parsed (botocore reads a malformed JSON body as ``{"message": ...}``,
an empty page) is turned into a retryable ``MalformedResponse`` error, and a page whose next token repeats one
already used is asked for again, then fails (``PagingLoop``) rather than looping or being read twice. Access denied
becomes a gap naming the IAM action, for that account (and region) only.
"""

from __future__ import annotations

import heapq
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import boto3
import structlog
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from hygiene.config import AwsConfig
from hygiene.logsetup import forget_secrets, register_secret
from hygiene.model import (
    AwsAccount,
    AwsAccountNotScanned,
    AwsBackupJob,
    AwsData,
    AwsDbCluster,
    AwsDbInstance,
    AwsGap,
    AwsInstance,
    AwsManagedInstance,
    AwsPatchState,
    AwsProtectedResource,
    AwsRecoveryPoint,
    AwsRestoreJob,
    AwsRestoreTestingPlan,
    AwsRoot,
    AwsVault,
    DatasetState,
    ReasonKind,
    SourceRun,
)
from hygiene.perf import gc_paused
from hygiene.sources.aws.catalogue import BY_NAME as DATASETS
from hygiene.sources.aws.credential_report import CredentialReportError, parse_credential_report
from hygiene.sources.aws.transport import (
    AWS_ERRORS,
    TIMEOUTS,
    PagingLoopError,
    RequestCounter,
    boto_config,
    new_session,
    pages,
)
from hygiene.sources.interface import Collected, RawRecorder, Source, not_selected

log = structlog.get_logger(__name__)

#: an AwsGap's region when the account's other enabled regions could not be discovered (never None: None means the
#: dataset is missing in every region of the account)
REGIONS_NOT_DISCOVERED = "regions-not-discovered"
#: regional dataset -> its service (one job per account, region and dataset)
REGIONAL_DATASETS = {"aws.ec2": "ec2", "aws.rds": "rds", "aws.backup": "backup", "aws.ssm": "ssm"}
#: ListOrganizationsFeatures errors (less any ``Exception`` suffix; iam model) that mean centralised root access is
#: off: IAM trusted access not enabled, no organisation, or not all features (the feature needs all three)
FEATURES_OFF_CODES = frozenset({"ServiceAccessNotEnabled", "OrganizationNotFound", "OrganizationNotInAllFeaturesMode"})
#: Organizations ``Account.State`` values (botocore organizations model, shape AccountState;
#: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html) of accounts
#: that are scanned: ACTIVE, and PENDING_CLOSURE ("the account remains functional and can still be used")
SCANNED_STATES = frozenset({"ACTIVE", "PENDING_CLOSURE"})
#: states in which the account cannot be used by anyone: listed in the scope as not scanned, not a gap
UNUSABLE_STATES = {
    "SUSPENDED": "suspended: AWS has restricted access to the account, nothing in it can be used or read",
    "CLOSED": "closed: the account can no longer be used",
}
DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "UnauthorizedAccess",
    "OptInRequired",
}
SERVICE_PREFIX = {"iam": "iam", "ec2": "ec2", "rds": "rds", "backup": "backup", "ssm": "ssm"}
RESTORE_LOOKBACK_DAYS = 400
#: recovery points created this many days back are read (``ListRecoveryPointsByBackupVault`` with
#: ``ByCreatedAfter``): one request per vault and 1,000 points. It covers the profiles' RPOs (24 h, 168 h) with a
#: day to spare; a policy RPO beyond it can only fail a resource with no good point inside it, never pass one
RECOVERY_POINT_LOOKBACK_DAYS = 8
#: a throwaway key for the clients ``AwsSource._warm_models`` builds (they never send a request)
_WARM_UP_KEY = "warm-up-no-request"
#: the services whose models and client classes this process has warmed (or is warming): a fleet's scans warm once
_WARMED: set[str] = set()
_WARMED_LOCK = threading.Lock()


#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html: ``arn:partition:service:region:account:…``
_PARTITION = re.compile(r"^arn:(aws[a-z-]*):")


def arn_partition(arn: str) -> str:
    """The partition of an ARN (``aws``, ``aws-us-gov``, ``aws-cn``…). Raises ValueError for anything else: the
    caller's ARN always has one, and guessing ``aws`` would build ARNs that match nothing in another partition."""
    match = _PARTITION.match(arn)
    if match is None:
        raise ValueError(f"not an ARN: {arn[:80]!r}")
    return match.group(1)


#: ``Account.Arn``: ``arn:PARTITION:organizations::MANAGEMENT-ACCOUNT:account/o-ORG/ACCOUNT`` (botocore organizations
#: model, shape AccountArn; https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html)
_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:organizations::(\d{12}):account/o-[a-z0-9]+/\d{12}$")


def management_account(account_arn: str) -> str | None:
    """The management account's id from an organisation account's ARN; None if the ARN is not of that form."""
    match = _ACCOUNT_ARN.match(account_arn)
    return match.group(1) if match else None


def account_state(account: dict[str, Any]) -> str | None:
    """``Account.State``, else the retired ``Status`` (botocore: "will be retired on September 9, 2026"; ``Status``
    has ACTIVE, SUSPENDED and PENDING_CLOSURE only, which mean the same as in State); None when neither is given."""
    for key in ("State", "Status"):
        value = account.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _flag(summary: dict[str, Any], key: str) -> bool | None:
    """A 0/1 entry of GetAccountSummary's SummaryMap; None when absent (unknown, never "no")."""
    value = summary.get(key)
    return None if value is None else bool(value)


class _Denied(Exception):
    def __init__(self, kind: ReasonKind, reason: str, needs: tuple[str, ...]) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.needs = needs


def _classify(exc: Exception, service: str) -> _Denied:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        action = f"{SERVICE_PREFIX.get(service, service)}:{exc.operation_name}"
        if code in DENIED_CODES:
            return _Denied(ReasonKind.PERMISSION, f"access denied to {action} ({code}); needs {action}", (action,))
        if code in ("SubscriptionRequiredException", "InvalidClientTokenId", "UnrecognizedClientException"):
            return _Denied(ReasonKind.PERMISSION, f"{action} refused: {code}", (action,))
        metadata = exc.response.get("ResponseMetadata", {})
        status = int(metadata.get("HTTPStatusCode") or 0)
        if 300 <= status < 400:
            # botocore never follows a redirect (the signed request and its session token stay on the endpoint);
            # say where it pointed, never read it as an empty answer
            where = urlsplit(str(metadata.get("HTTPHeaders", {}).get("location") or ""))
            return _Denied(
                ReasonKind.ERROR,
                f"{action}: the endpoint answered a redirect ({status}) to {where.scheme}://{where.hostname or '?'}"
                ": not followed",
                (),
            )
        return _Denied(
            ReasonKind.ERROR, f"{action} failed: {code}: {exc.response.get('Error', {}).get('Message', '')}", ()
        )
    if isinstance(exc, NoCredentialsError):
        return _Denied(ReasonKind.PERMISSION, "no AWS credentials found (profile, environment or instance role)", ())
    if isinstance(exc, (PagingLoopError, ResponseParserError)):
        return _Denied(ReasonKind.ERROR, f"{service}: {type(exc).__name__}: {exc}", ())
    return _Denied(ReasonKind.UNREACHABLE, f"{service}: {type(exc).__name__}: {exc}", ())


#: the first pause before asking again whether a credential report is ready, then twice as long each time up to
#: ``REPORT_MAX_PAUSE`` (a small account's report is often ready within a second)
REPORT_FIRST_PAUSE = 0.5
REPORT_MAX_PAUSE = 2.0
#: services whose clients several jobs share: STS (the member roles), IAM (an account's first and report jobs)
_SHARED_CLIENTS = frozenset({"sts", "organizations", "iam"})
#: credential reports fetched and parsed at once (12,500 users: ~3.5 MB of XML, then base64, CSV and records)
REPORTS_AT_ONCE = 2
#: how long a credential report may take to build before the account's IAM dataset is given up
REPORT_DEADLINE = 120.0


class _Jobs:
    """The pool's work, handed out by priority rather than in submission order: each of the pool's tasks takes one
    job when it starts. A credential-report fetch whose first pause is over comes first (its parsing then overlaps
    the other jobs' waits on the network), then the queue in order (accounts' first jobs, then the regional ones),
    and when the queue is empty the report fetch due soonest (it waits out the rest of its pause itself).

    Every job only waits for jobs handed out before it: a regional job for its account's first job (queued
    before it); a report fetch is only added once its account's first job is done. So no deadlock, whatever the
    pool size."""

    def __init__(self, jobs: list[Callable[[], None]]) -> None:
        self._queue = deque(jobs)
        self._due: list[tuple[float, int, Callable[[], None]]] = []  # (monotonic time, order, job), a heap
        self._added = 0
        self._ready = threading.Condition()

    def push(self, job: Callable[[], None]) -> None:
        """Queue a job after those queued (an account's regional jobs, once its regions are discovered); the caller
        submits one more pool task for it."""
        with self._ready:
            self._queue.append(job)
            self._ready.notify()

    def add(self, due: float, job: Callable[[], None]) -> None:
        with self._ready:
            heapq.heappush(self._due, (due, self._added, job))
            self._added += 1
            self._ready.notify()

    def run_one(self) -> None:
        with self._ready:
            while not self._queue and not self._due:  # only report fetches remain, their accounts still starting
                self._ready.wait()
            if self._due and (self._due[0][0] <= time.monotonic() or not self._queue):
                job = heapq.heappop(self._due)[2]
            else:
                job = self._queue.popleft()
        job()


@dataclass
class _Target:
    """An account to scan, and what its tasks hand one another (see ``AwsSource.collect``)."""

    account_id: str
    name: str
    #: the credentials to use; None: the base session's own
    credentials: dict[str, str] | None
    #: a member account's role, assumed by the account's first task
    role_arn: str | None = None
    #: the account's session, or None when it could not be had (the gaps are recorded)
    session: Future[boto3.Session | None] = field(default_factory=Future)
    #: (account summary, report state, monotonic time of that answer), or None when IAM failed (gap recorded)
    iam: Future[tuple[dict[str, Any], str, float] | None] = field(default_factory=Future)
    #: the account's State in Organizations (None: no organisation listed)
    state: str | None = None


class AwsSource(Source[AwsData]):
    platform = "aws"

    def __init__(
        self,
        config: AwsConfig,
        environ: dict[str, str] | None = None,
        job_lookback_days: int = 30,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        client_factory: Callable[[boto3.Session, str, str], Any] | None = None,
        timeouts: tuple[float, float] = TIMEOUTS,
    ) -> None:
        #: tests inject botocore Stubbers through this for the APIs moto does not implement
        self.client_factory = client_factory
        self.config = config
        self.environ = dict(os.environ if environ is None else environ)
        self.job_lookback_days = job_lookback_days
        self.now = now
        self.sleep = sleep
        #: (connect, read) seconds for every call
        self.timeouts = timeouts
        #: the clients several jobs use (``_SHARED_CLIENTS``), by (session, service, region), built once per scan
        #: (botocore clients are thread-safe; building one from a session is not, hence the lock); a regional job's
        #: client is its own, and freed with it
        self._clients: dict[tuple[int, str, str], tuple[boto3.Session, Any]] = {}
        self._clients_lock = threading.Lock()
        self._reports = threading.BoundedSemaphore(REPORTS_AT_ONCE)
        #: the assumed roles' session secrets of the running collect (forgotten when it ends)
        self._session_secrets: list[str] = []
        self._secrets_lock = threading.Lock()

    # -- sessions --------------------------------------------------------------------------------------
    def _base_session(self) -> boto3.Session:
        key = self.environ.get("AWS_ACCESS_KEY_ID")
        if key and not self.config.profile:
            secret = self.environ.get("AWS_SECRET_ACCESS_KEY")
            token = self.environ.get("AWS_SESSION_TOKEN")
            register_secret(secret)
            register_secret(token)
            return new_session(
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=token,
                region_name=self.environ.get("AWS_DEFAULT_REGION") or self.environ.get("AWS_REGION"),
            )
        return new_session(profile_name=self.config.profile)

    def _session(self, target: _Target, base: boto3.Session) -> boto3.Session:
        if target.credentials is None:
            frozen = base.get_credentials()
            if frozen is None:
                raise NoCredentialsError()
            creds = frozen.get_frozen_credentials()
            return new_session(
                aws_access_key_id=creds.access_key,
                aws_secret_access_key=creds.secret_key,
                aws_session_token=creds.token,
                region_name=base.region_name,
            )
        return new_session(region_name=base.region_name, **target.credentials)

    def _client(self, session: boto3.Session, service: str, region: str, counter: RequestCounter) -> Any:
        key = (id(session), service, region)
        with self._clients_lock:
            found = self._clients.get(key)
            if found is None:
                if self.client_factory is not None:
                    client = self.client_factory(session, service, region)
                else:
                    client = session.client(
                        service,
                        region_name=region,
                        endpoint_url=self.config.endpoint_url,
                        config=boto_config(self.timeouts),
                    )
                found = (session, counter.attach(client))  # the session is kept: its id stays its own
                if service in _SHARED_CLIENTS:
                    self._clients[key] = found
        return found[1]

    def _assume(self, session: boto3.Session, role_arn: str, region: str, counter: RequestCounter) -> dict[str, str]:
        sts = self._client(session, "sts", region, counter)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="hygiene-readonly-scan", DurationSeconds=3600)[
            "Credentials"
        ]
        expires = creds.get("Expiration")  # a datetime (botocore parses the timestamp); none: kept for good
        with self._secrets_lock:
            self._session_secrets += [creds["SecretAccessKey"], creds["SessionToken"]]
        register_secret(creds["SecretAccessKey"], expires)
        register_secret(creds["SessionToken"], expires)
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def _targets(
        self, base: boto3.Session, region: str, counter: RequestCounter, errors: list[str], data: AwsData
    ) -> tuple[boto3.Session, list[_Target]]:
        """The session member roles are assumed from, and the accounts: this one, then the organisation's members
        that can be used (their roles are assumed later, concurrently, by each account's first task). Members that
        cannot be used (suspended, closed) are named in ``data.not_scanned``; members in any other state are gaps
        (``_unclassified``)."""
        credentials = None
        session = base
        if self.config.role_arn:
            credentials = self._assume(base, self.config.role_arn, region, counter)
            session = new_session(region_name=base.region_name, **credentials)
        identity = self._client(session, "sts", region, counter).get_caller_identity()
        data.partition = arn_partition(str(identity.get("Arn", "")))
        own = _Target(str(identity["Account"]), "", credentials)
        targets = [own]
        if not self.config.organization_role:
            return session, targets
        try:
            org = self._client(session, "organizations", region, counter)
            accounts = list(pages(org, "list_accounts", "Accounts"))
        except AWS_ERRORS as exc:
            errors.append(f"organization accounts not listed: {_classify(exc, 'organizations').reason}")
            return session, targets
        for account in sorted(accounts, key=lambda a: str(a["Id"])):
            account_id, name = str(account["Id"]), str(account.get("Name", ""))
            state = account_state(account)
            if account_id == own.account_id:
                own.name, own.state = name, state
                continue
            if state in SCANNED_STATES:
                role = f"arn:{data.partition}:iam::{account_id}:role/{self.config.organization_role}"
                targets.append(_Target(account_id, name, None, role_arn=role, state=state))
            elif state in UNUSABLE_STATES:
                data.not_scanned.append(
                    AwsAccountNotScanned(account_id=account_id, name=name, state=state, reason=UNUSABLE_STATES[state])
                )
            else:
                self._unclassified(data, account_id, name, state)
        data.management_account_id = next(
            (m for m in (management_account(str(a.get("Arn", ""))) for a in accounts) if m is not None), None
        )
        self._root_features(session, region, counter, data)
        return session, targets

    def _root_features(self, session: boto3.Session, region: str, counter: RequestCounter, data: AwsData) -> None:
        """Whether the organisation has centralised root access (IAM ListOrganizationsFeatures: one request, from
        the management account or IAM's delegated administrator). Unknown stays None, with the reason."""
        try:
            features = self._client(session, "iam", region, counter).list_organizations_features()
        except AWS_ERRORS as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""
            if code.removesuffix("Exception") in FEATURES_OFF_CODES:
                data.root_credentials_management = False
                data.root_features_note = f"centralised root access is not enabled ({code})"
            else:
                data.root_features_note = "centralised root access unknown: " + _classify(exc, "iam").reason
            return
        enabled = [str(f) for f in features.get("EnabledFeatures") or []]
        data.root_credentials_management = "RootCredentialsManagement" in enabled
        data.root_features_note = "centralised root access features: " + (", ".join(enabled) or "none")

    @staticmethod
    def _unclassified(data: AwsData, account_id: str, name: str, state: str | None) -> None:
        """An account in a transitional or unknown state (or with no state at all) is a gap in every dataset:
        it is not scanned, and nothing may pass for it."""
        listed = f"{state!r}" if state else "no State (nor Status)"
        reason = (
            f"account {account_id} ({name or 'no name'}) is listed by Organizations with {listed}: not scanned; "
            "scan again once it is ACTIVE"
            if state == "PENDING_ACTIVATION"
            else f"account {account_id} ({name or 'no name'}) is listed by Organizations with {listed}, a state "
            "hygiene does not know: not scanned"
        )
        log.warning("aws account in an unclassified state", account=account_id, state=state)
        for dataset in DATASETS:
            data.gaps.append(
                AwsGap(dataset=dataset, account_id=account_id, reason_kind=ReasonKind.NOT_COLLECTED, reason=reason)
            )

    # -- collection ------------------------------------------------------------------------------------
    def collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[AwsData]:
        """The read (:meth:`_collect`); the assumed roles' session secrets, scrubbed from everything it logged or
        kept, are forgotten when it ends: no later line can hold them, and a fleet process would otherwise compare
        every raw answer with every session it ever had (thousands in a 500-organisation run)."""
        try:
            return self._collect(raw, datasets)
        finally:
            forget_secrets(self._session_secrets)
            self._session_secrets = []

    def _collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[AwsData]:
        """Set-up in sequence (assume the role, ask who we are, list the accounts), then three kinds of job on a
        pool of ``max_workers`` threads (``_Jobs`` decides which job a free thread takes):

        1. per account: assume the member role (members only), ask IAM to generate the credential report, and read
           the account summary while it builds;
        2. per account, region and service (EC2, RDS, Backup, SSM), once the account's role is assumed: that
           service's reads, in sequence;
        3. per account, once its first job is done and the report's first pause is over: ask again until
           COMPLETE, fetch and parse the report.

        The report's pause holds no thread while other work is queued. benchmarks/models.py models this
        schedule. Only the ``datasets`` selected (None: all) are read: no credential report without ``aws.iam``, no
        region discovery without a regional dataset."""
        started = datetime.now(UTC)
        counter = RequestCounter(raw)
        data = AwsData(
            job_lookback_days=self.job_lookback_days, recovery_point_window_days=RECOVERY_POINT_LOOKBACK_DAYS
        )
        errors: list[str] = []
        states: dict[str, DatasetState] = {}
        self._clients = {}
        warming = self._warm_models()
        try:
            base = self._base_session()
            #: configured regions, else the profile's region until each account's enabled regions are discovered
            regions = list(self.config.regions) or [base.region_name or "us-east-1"]
            management, targets = self._targets(base, regions[0], counter, errors, data)
        except (*AWS_ERRORS, ValueError) as exc:  # ValueError: a caller ARN without a partition
            if warming is not None:
                warming.join()
            denied = _classify(exc, "sts")
            message = f"AWS credentials not usable: {denied.reason}"
            errors.append(message)
            for name in DATASETS:
                states[name] = (
                    DatasetState(available=False, reason_kind=denied.kind, reason=message)
                    if datasets is None or name in datasets
                    else not_selected()
                )
            return self._result(started, states, counter, errors, data, {}, datasets)
        accounts = {
            t.account_id: AwsAccount(account_id=t.account_id, name=t.name, state=t.state, regions=regions)
            for t in targets
        }
        lock = threading.Lock()
        read_iam = datasets is None or "aws.iam" in datasets
        regional_read = [d for d in REGIONAL_DATASETS if datasets is None or d in datasets]
        #: each account's enabled regions are discovered only when no regions are configured and one is read
        discover = not self.config.regions and bool(regional_read)

        def begin(target: _Target) -> None:
            account = accounts[target.account_id]
            try:
                try:
                    if target.role_arn is not None:
                        target.credentials = self._assume(management, target.role_arn, regions[0], counter)
                    session = self._session(target, base)
                except AWS_ERRORS as exc:
                    if target.role_arn is None:
                        raise
                    self._unassumed(data, lock, target, exc)
                    return
                target.session.set_result(session)
                if read_iam:
                    target.iam.set_result(self._iam_start(session, account, regions[0], counter, data, lock))
                if discover:  # the account's regional jobs, once its enabled regions are known
                    account.regions = self._enabled_regions(session, account, regions[0], counter, data, lock)
                    for job in [partial(regional, target, r, d) for r in account.regions for d in regional_read]:
                        jobs.push(job)
                        with lock:
                            added.append(pool.submit(jobs.run_one))
            finally:  # whatever happened, the tasks waiting on these must not wait forever
                for pending in (target.session, target.iam):
                    if not pending.done():
                        pending.set_result(None)

        def regional(target: _Target, region: str, dataset: str) -> None:
            session = target.session.result()
            if session is not None:
                self._regional(session, accounts[target.account_id], region, dataset, counter, data, lock)

        def finish(target: _Target) -> None:
            session, iam = target.session.result(), target.iam.result()
            if session is not None and iam is not None:
                self._iam_finish(session, accounts[target.account_id], regions[0], iam, counter, data, lock)

        def first(target: _Target) -> None:
            try:
                begin(target)
            finally:  # the report fetch is added whatever happened (it does nothing without a started report)
                started = target.iam.result()
                jobs.add(started[2] + REPORT_FIRST_PAUSE if started else 0.0, partial(finish, target))

        queued: list[Callable[[], None]] = [partial(first, target) for target in targets]
        if not discover:
            queued += [partial(regional, t, r, d) for t in targets for r in regions for d in regional_read]
        jobs = _Jobs(queued)
        #: one pool task per regional job added once an account's regions are discovered
        added: list[Future[None]] = []
        with ThreadPoolExecutor(self.config.max_workers, thread_name_prefix="hygiene-aws") as pool:
            for future in [pool.submit(jobs.run_one) for _ in range(len(queued) + len(targets))]:
                future.result()
        for future in added:  # all done: the pool's shutdown waited for them
            future.result()
        self._clients = {}
        if warming is not None:
            warming.join()
        data.accounts = [accounts[a] for a in sorted(accounts)]
        for account in data.accounts:
            for collection in (
                account.instances,
                account.db_instances,
                account.db_clusters,
                account.vaults,
                account.protected_resources,
                account.restore_testing_plans,
                account.backup_jobs,
                account.restore_jobs,
                account.managed_instances,
                account.patch_states,
            ):
                collection.sort(key=lambda item: (item.region, str(getattr(item, "id", getattr(item, "arn", "")))))
            account.recovery_points.sort(key=lambda p: (p.region, p.vault_name, p.resource_arn, str(p.created)))
        return self._result(started, states, counter, errors, data, accounts, datasets)

    def _warm_models(self) -> threading.Thread | None:
        """Load the botocore models every client of the scan needs (EC2's and RDS's take ~0.1 s each, once per
        process) on a thread of its own while the set-up requests wait on the network, instead of in the first
        tasks of the pool. Builds throwaway clients (no request is made) so that exactly what client creation
        loads is loaded; ``_LOADER`` keeps it."""
        if self.client_factory is not None:
            return None
        wanted = ["sts", *(["organizations"] if self.config.organization_role else []), *SERVICE_PREFIX]
        with _WARMED_LOCK:  # the models and client classes are the process's: a later scan has nothing to warm
            services = [service for service in dict.fromkeys(wanted) if service not in _WARMED]
            _WARMED.update(services)
        if not services:
            return None
        region = (list(self.config.regions) or ["us-east-1"])[0]

        def warm() -> None:
            key = _WARM_UP_KEY
            session = new_session(aws_access_key_id=key, aws_secret_access_key=key, region_name=region)
            for service in services:
                try:
                    client = session.client(service, endpoint_url=self.config.endpoint_url, config=boto_config())
                    client.can_paginate(next(iter(client.meta.method_to_api_mapping)))  # loads the paginators
                except Exception as exc:  # only a warm-up: the scan's own client creation reports errors
                    log.debug("aws model warm-up failed", service=service, error=type(exc).__name__)

        thread = threading.Thread(target=warm, name="hygiene-aws-warm-up", daemon=True)
        thread.start()
        return thread

    def _enabled_regions(
        self,
        session: boto3.Session,
        account: AwsAccount,
        home: str,
        counter: RequestCounter,
        data: AwsData,
        lock: threading.Lock,
    ) -> list[str]:
        """The account's enabled regions (EC2 DescribeRegions without AllRegions lists only those; one request).
        If they cannot be read, the profile's region alone, and a gap in every regional dataset for the regions
        not seen."""
        try:
            found = self._client(session, "ec2", home, counter).describe_regions().get("Regions", [])
            enabled = sorted(
                {str(r["RegionName"]) for r in found if r.get("RegionName") and r.get("OptInStatus") != "not-opted-in"}
            )
        except AWS_ERRORS as exc:
            denied = _classify(exc, "ec2")
            reason = (
                f"{account.account_id}: enabled regions not discovered, so only {home} was scanned and no other "
                f"region was seen (or list the regions in the config): {denied.reason}"
            )
            log.warning("aws regions not discovered", account=account.account_id, reason=denied.reason)
            with lock:
                for dataset in REGIONAL_DATASETS:
                    data.gaps.append(
                        AwsGap(
                            dataset=dataset,
                            account_id=account.account_id,
                            region=REGIONS_NOT_DISCOVERED,
                            reason_kind=denied.kind,
                            reason=reason,
                            needs=list(denied.needs),
                        )
                    )
            return [home]
        return enabled or [home]

    def _unassumed(self, data: AwsData, lock: threading.Lock, target: _Target, exc: Exception) -> None:
        """Every dataset of an account whose role could not be assumed is a gap naming sts:AssumeRole."""
        reason = f"could not assume {self.config.organization_role} in {target.account_id}: " + str(exc)[:200]
        log.warning("aws account not scanned", account=target.account_id, reason=reason)
        with lock:
            for name in DATASETS:
                data.gaps.append(
                    AwsGap(
                        dataset=name,
                        account_id=target.account_id,
                        reason_kind=ReasonKind.PERMISSION,
                        reason=reason + "; needs sts:AssumeRole",
                        needs=["sts:AssumeRole"],
                    )
                )

    def _gap(
        self,
        data: AwsData,
        lock: threading.Lock,
        dataset: str,
        account: AwsAccount,
        region: str | None,
        exc: Exception,
        service: str,
    ) -> None:
        denied = _classify(exc, service)
        where = account.account_id + (f"/{region}" if region else "")
        with lock:
            data.gaps.append(
                AwsGap(
                    dataset=dataset,
                    account_id=account.account_id,
                    region=region,
                    reason_kind=denied.kind,
                    reason=f"{where}: {denied.reason}",
                    needs=list(denied.needs),
                )
            )
        log.warning("aws dataset not collected", dataset=dataset, where=where, reason=denied.reason)

    def _iam_start(
        self,
        session: boto3.Session,
        account: AwsAccount,
        region: str,
        counter: RequestCounter,
        data: AwsData,
        lock: threading.Lock,
    ) -> tuple[dict[str, Any], str, float] | None:
        """Ask IAM to generate the credential report (AWS builds at most one every four hours), then read the
        account summary while it builds. (summary, report state, when that state was answered), or None."""
        iam = self._client(session, "iam", region, counter)
        try:
            state = str(iam.generate_credential_report().get("State"))
            answered = time.monotonic()
            summary = iam.get_account_summary()["SummaryMap"]
        except AWS_ERRORS as exc:
            self._gap(data, lock, "aws.iam", account, None, exc, "iam")
            return None
        return dict(summary), state, answered

    def _iam_finish(
        self,
        session: boto3.Session,
        account: AwsAccount,
        region: str,
        started: tuple[dict[str, Any], str, float],
        counter: RequestCounter,
        data: AwsData,
        lock: threading.Lock,
    ) -> None:
        summary, state, answered = started
        iam = self._client(session, "iam", region, counter)
        try:
            with self._reports:  # a report is megabytes, several times over while parsed (and parsing holds the GIL)
                content, generated = self._credential_report(iam, state, answered)
                # a report row becomes three acyclic objects: the cyclic collector would only traverse them again
                # and again while they are built (12,500 rows: a third of the parse time)
                with gc_paused():
                    root, users = parse_credential_report(content)
                del content
        except AWS_ERRORS as exc:
            self._gap(data, lock, "aws.iam", account, None, exc, "iam")
            return
        except CredentialReportError as exc:
            with lock:
                data.gaps.append(
                    AwsGap(
                        dataset="aws.iam",
                        account_id=account.account_id,
                        reason_kind=ReasonKind.ERROR,
                        reason=f"{account.account_id}: credential report unreadable: {exc}",
                    )
                )
            return
        counter.succeeded("aws.iam")
        account.root = AwsRoot(
            mfa_enabled=bool(summary.get("AccountMFAEnabled")) or bool(root and root.mfa_active),
            access_keys_present=bool(summary.get("AccountAccessKeysPresent")) or bool(root and root.access_key_active),
            password_present=_flag(summary, "AccountPasswordPresent"),
            signing_certificates_present=_flag(summary, "AccountSigningCertificatesPresent"),
        )
        account.users = users
        account.credential_report_generated = generated

    def _credential_report(self, iam: Any, state: str, answered: float) -> tuple[bytes, datetime | None]:
        """Fetch the report once GenerateCredentialReport says COMPLETE: ``state`` is its last answer, given at
        ``answered`` (monotonic); until COMPLETE, ask again after a pause (``REPORT_FIRST_PAUSE``, doubling up to
        ``REPORT_MAX_PAUSE``) counted from the previous answer, so time spent meanwhile is not waited twice."""
        deadline = answered + REPORT_DEADLINE
        pause = REPORT_FIRST_PAUSE
        while state != "COMPLETE":
            if time.monotonic() > deadline:
                raise CredentialReportError("the credential report was not ready within 2 minutes")
            remaining = answered + pause - time.monotonic()
            if remaining > 0:
                self.sleep(remaining)
            state = str(iam.generate_credential_report().get("State"))
            answered = time.monotonic()
            pause = min(pause * 2, REPORT_MAX_PAUSE)
        report = iam.get_credential_report()
        generated = report.get("GeneratedTime")
        return bytes(report["Content"]), generated if isinstance(generated, datetime) else None

    def _regional(
        self,
        session: boto3.Session,
        account: AwsAccount,
        region: str,
        dataset: str,
        counter: RequestCounter,
        data: AwsData,
        lock: threading.Lock,
    ) -> None:
        """One regional dataset of one account: a gap for that account and region if it cannot be read."""
        collectors: dict[str, Callable[[Any], None]] = {
            "aws.ec2": lambda c: self._ec2(c, account, region, lock),
            "aws.rds": lambda c: self._rds(c, account, region, lock),
            "aws.backup": lambda c: self._backup(c, account, region, self.now(), lock),
            "aws.ssm": lambda c: self._ssm(c, account, region, lock),
        }
        service = REGIONAL_DATASETS[dataset]
        try:
            collectors[dataset](self._client(session, service, region, counter))
        except AWS_ERRORS as exc:
            self._gap(data, lock, dataset, account, region, exc, service)
        else:
            counter.succeeded(dataset)

    def _ec2(self, ec2: Any, account: AwsAccount, region: str, lock: threading.Lock) -> None:
        found = []
        for reservation in pages(ec2, "describe_instances", "Reservations"):
            for inst in reservation.get("Instances", []):
                tags = {t.get("Key"): t.get("Value") for t in inst.get("Tags", []) or []}
                found.append(
                    AwsInstance(
                        id=str(inst["InstanceId"]),
                        region=region,
                        state=str(inst.get("State", {}).get("Name", "")),
                        name=tags.get("Name"),
                        platform=inst.get("PlatformDetails") or inst.get("Platform"),
                        volume_ids=[
                            str(m["Ebs"]["VolumeId"]) for m in inst.get("BlockDeviceMappings", []) if m.get("Ebs")
                        ],
                    )
                )
        with lock:
            account.instances.extend(found)

    def _rds(self, rds: Any, account: AwsAccount, region: str, lock: threading.Lock) -> None:
        """DB instances, then DB clusters: Aurora, DocumentDB and Neptune instances (and Multi-AZ DB clusters')
        are backed up, and keep their retention, at cluster level (``DBInstance.DBClusterIdentifier``)."""
        found = [
            AwsDbInstance(
                arn=str(db["DBInstanceArn"]),
                id=str(db["DBInstanceIdentifier"]),
                region=region,
                backup_retention_days=int(db.get("BackupRetentionPeriod", 0)),
                latest_restorable=db.get("LatestRestorableTime"),
                engine=db.get("Engine"),
                cluster_id=db.get("DBClusterIdentifier"),
            )
            for db in pages(rds, "describe_db_instances", "DBInstances")
        ]
        clusters = [
            AwsDbCluster(
                arn=str(c["DBClusterArn"]),
                id=str(c["DBClusterIdentifier"]),
                region=region,
                engine=str(c.get("Engine", "")),
                backup_retention_days=int(c.get("BackupRetentionPeriod") or 0),
                members=[str(m["DBInstanceIdentifier"]) for m in c.get("DBClusterMembers", []) or []],
            )
            for c in pages(rds, "describe_db_clusters", "DBClusters")
        ]
        with lock:
            account.db_instances.extend(found)
            account.db_clusters.extend(clusters)

    def _backup(self, backup: Any, account: AwsAccount, region: str, now: datetime, lock: threading.Lock) -> None:
        plans = sum(1 for _ in pages(backup, "list_backup_plans", "BackupPlansList"))
        vaults = [
            AwsVault(
                name=str(v["BackupVaultName"]),
                region=region,
                locked=bool(v.get("Locked")),
                recovery_points=int(v.get("NumberOfRecoveryPoints", 0)),
                vault_type=v.get("VaultType"),
                state=v.get("VaultState"),
                lock_date=v.get("LockDate"),
                min_retention_days=v.get("MinRetentionDays"),
                max_retention_days=v.get("MaxRetentionDays"),
            )
            for v in pages(backup, "list_backup_vaults", "BackupVaultList")
        ]
        # every vault, whatever its NumberOfRecoveryPoints ("can be an approximation"): one request per vault
        # and 1,000 recent points, where ListRecoveryPointsByResource would cost one per resource
        points_since = now - timedelta(days=RECOVERY_POINT_LOOKBACK_DAYS)
        newest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for vault in vaults:
            for p in pages(
                backup,
                "list_recovery_points_by_backup_vault",
                "RecoveryPoints",
                BackupVaultName=vault.name,
                ByCreatedAfter=points_since,
                MaxResults=1000,
            ):
                # the newest point per resource, vault and status is all the checks need (a week of daily points
                # for thousands of resources would otherwise fill the snapshot)
                key = (str(p.get("ResourceArn", "")), vault.name, str(p.get("Status", "")))
                kept = newest.get(key)
                created = p.get("CreationDate")
                if kept is None or (
                    created is not None and (kept.get("CreationDate") is None or created > kept["CreationDate"])
                ):
                    newest[key] = p
        points = [
            AwsRecoveryPoint(
                resource_arn=arn,
                region=region,
                vault_name=vault_name,
                status=status,
                created=p.get("CreationDate"),
                resource_type=p.get("ResourceType"),
                message=p.get("StatusMessage"),
            )
            for (arn, vault_name, status), p in newest.items()
        ]
        protected = [
            AwsProtectedResource(
                arn=str(r["ResourceArn"]),
                type=str(r.get("ResourceType", "")),
                region=region,
                last_backup=r.get("LastBackupTime"),
            )
            for r in pages(backup, "list_protected_resources", "Results")
        ]
        since = now - timedelta(days=self.job_lookback_days)
        jobs = [
            AwsBackupJob(
                id=str(j["BackupJobId"]),
                region=region,
                state=str(j.get("State", "")),
                resource_arn=str(j.get("ResourceArn", "")),
                resource_type=j.get("ResourceType"),
                created=j.get("CreationDate"),
                completed=j.get("CompletionDate"),
                message=j.get("StatusMessage"),
            )
            for j in pages(backup, "list_backup_jobs", "BackupJobs", ByCreatedAfter=since)
        ]
        testing_plans = [
            AwsRestoreTestingPlan(
                arn=str(p["RestoreTestingPlanArn"]),
                name=str(p["RestoreTestingPlanName"]),
                region=region,
                created=p.get("CreationTime"),
                last_execution=p.get("LastExecutionTime"),
            )
            for p in pages(backup, "list_restore_testing_plans", "RestoreTestingPlans")
        ]
        for plan in testing_plans:  # one request per plan: a plan with no selection tests nothing
            plan.selection_types = [
                str(s.get("ProtectedResourceType", ""))
                for s in pages(
                    backup,
                    "list_restore_testing_selections",
                    "RestoreTestingSelections",
                    RestoreTestingPlanName=plan.name,
                )
            ]
        restores = [
            AwsRestoreJob(
                id=str(r["RestoreJobId"]),
                region=region,
                status=str(r.get("Status", "")),
                completed=r.get("CompletionDate"),
                created=r.get("CreationDate"),
                resource_type=r.get("ResourceType"),
                testing_plan_arn=(r.get("CreatedBy") or {}).get("RestoreTestingPlanArn"),
                validation_status=r.get("ValidationStatus"),
                message=r.get("StatusMessage"),
            )
            for r in pages(
                backup, "list_restore_jobs", "RestoreJobs", ByCreatedAfter=now - timedelta(days=RESTORE_LOOKBACK_DAYS)
            )
        ]
        with lock:
            account.backup_plans += plans
            account.vaults.extend(vaults)
            account.recovery_points.extend(points)
            account.protected_resources.extend(protected)
            account.backup_jobs.extend(jobs)
            account.restore_testing_plans.extend(testing_plans)
            account.restore_jobs.extend(restores)

    def _ssm(self, ssm: Any, account: AwsAccount, region: str, lock: threading.Lock) -> None:
        managed = [
            AwsManagedInstance(
                id=str(i["InstanceId"]),
                region=region,
                ping_status=str(i.get("PingStatus", "")),
                last_ping=i.get("LastPingDateTime"),
                platform=i.get("PlatformName"),
            )
            for i in pages(ssm, "describe_instance_information", "InstanceInformationList", MaxResults=50)
        ]
        states = []
        ids = [m.id for m in managed]
        for start in range(0, len(ids), 50):  # the API takes at most 50 ids
            for p in pages(
                ssm,
                "describe_instance_patch_states",
                "InstancePatchStates",
                InstanceIds=ids[start : start + 50],
                MaxResults=50,
            ):
                states.append(
                    AwsPatchState(
                        instance_id=str(p["InstanceId"]),
                        region=region,
                        missing=int(p.get("MissingCount", 0)),
                        failed=int(p.get("FailedCount", 0)),
                        pending_reboot=int(p.get("InstalledPendingRebootCount", 0)),
                        installed_rejected=int(p.get("InstalledRejectedCount", 0)),
                        critical_non_compliant=int(p.get("CriticalNonCompliantCount", 0)),
                        security_non_compliant=int(p.get("SecurityNonCompliantCount", 0)),
                        other_non_compliant=int(p.get("OtherNonCompliantCount", 0)),
                        available_security_updates=(
                            int(p["AvailableSecurityUpdateCount"])
                            if p.get("AvailableSecurityUpdateCount") is not None
                            else None
                        ),
                        operation_end=p.get("OperationEndTime"),
                    )
                )
        with lock:
            account.managed_instances.extend(managed)
            account.patch_states.extend(states)

    def _regions_scope(self, data: AwsData) -> str:
        """The regions read, for every regional result: "regions scanned: A, B (how)", per group of accounts when
        accounts differ."""
        how = "configured" if self.config.regions else "enabled in the account, ec2:DescribeRegions"
        groups: dict[tuple[str, ...], list[str]] = {}
        for account in data.accounts:
            groups.setdefault(tuple(account.regions), []).append(account.account_id)
        if len(groups) <= 1:
            regions = next(iter(groups), tuple(self.config.regions))
            return f"regions scanned: {', '.join(regions) or 'none'} ({how})"
        parts = [f"{', '.join(regions) or 'none'} in {', '.join(ids)}" for regions, ids in groups.items()]
        return f"regions scanned ({how}): " + "; ".join(parts)

    def _result(
        self,
        started: datetime,
        states: dict[str, DatasetState],
        counter: RequestCounter,
        errors: list[str],
        data: AwsData,
        accounts: dict[str, AwsAccount],
        selected: frozenset[str] | None = None,
    ) -> Collected[AwsData]:
        if not states:
            for name in DATASETS:
                if selected is not None and name not in selected:
                    states[name] = not_selected()
                    continue
                gaps = [g for g in data.gaps if g.dataset == name]
                if counter.successes.get(name, 0) == 0:
                    first = gaps[0] if gaps else None
                    states[name] = DatasetState(
                        available=False,
                        reason_kind=first.reason_kind if first else ReasonKind.NOT_COLLECTED,
                        reason="; ".join(g.reason for g in gaps[:5]) or "no account could be scanned",
                        needs=sorted({n for g in gaps for n in g.needs}),
                    )
                else:
                    states[name] = DatasetState(
                        available=True,
                        records=counter.successes[name],
                        method=f"{len(gaps)} account/region gap(s)" if gaps else None,
                        scope=self._regions_scope(data) if name in REGIONAL_DATASETS else None,
                    )
        errors.extend(
            g.reason
            for g in data.gaps
            if g.reason_kind in (ReasonKind.ERROR, ReasonKind.UNREACHABLE)
            and (g.dataset not in states or states[g.dataset].selected)
        )
        status = self.summarise_status(states)
        if status == "ok" and data.gaps:
            status = "partial"
        run = SourceRun(
            platform=self.platform,
            status=status,
            started_at=started,
            finished_at=datetime.now(UTC),
            scope={
                "accounts": ",".join(sorted(accounts)) or "none",
                "regions": ",".join(sorted({r for a in data.accounts for r in a.regions}))
                or ",".join(self.config.regions)
                or "none",
                "regions_from": "configured"
                if self.config.regions
                else "each account's enabled regions (ec2:DescribeRegions)",
                "endpoint_url": self.config.endpoint_url or "aws",
                **(
                    {
                        "accounts_not_scanned": "; ".join(
                            f"{a.account_id} ({a.name or 'no name'}): {a.reason}" for a in data.not_scanned
                        )
                    }
                    if data.not_scanned
                    else {}
                ),
            },
            requests=counter.requests,
            errors=errors,
            endpoints=sorted(counter.endpoints),
            datasets=states,
        )
        return Collected(run=run, data=data)
