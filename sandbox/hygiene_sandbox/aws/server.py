"""The AWS sandbox: one local HTTP endpoint in front of an in-process moto server.

    with AwsSandbox(northwind_aws(now)) as sandbox:
        session = boto3.Session(aws_access_key_id=sandbox.credentials.access_key_id,
                                aws_secret_access_key=sandbox.credentials.secret_access_key)
        iam = session.client("iam", region_name="eu-west-2", endpoint_url=sandbox.endpoint_url)

Every request is signed with SigV4; the front server reads the credential scope of its ``Authorization`` header
(``Credential=AKID/date/REGION/SERVICE/aws4_request``) to learn the service, the region and the access key, and
maps the access key to an account: the scanner user's key to the management account, and every key that
``sts:AssumeRole`` hands out (captured from the AssumeRole answer passing through) to the account of the role it
was issued for. It then

- injects chaos faults (``chaos``, see ``hygiene_sandbox.chaos``; targets are ``service:Operation``);
- answers throttling (``throttle_every``), access denied (``scenario.access_denied``) and refused writes itself;
- serves the operations of ``hygiene_sandbox.aws.services`` itself;
- forwards the rest to moto with ``x-moto-account-id`` set to the mapped account (moto 5 would also derive the
  account from moto-issued assumed-role keys; the header makes it explicit), patching the few values moto
  cannot hold (vault recovery point counts, RDS LatestRestorableTime, EC2 PlatformDetails).

moto runs as its own server (``moto_url``: the seeder and debugging use it), but the front server hands requests
to moto's per-service WSGI apps in process, as moto's server would after routing them: no second HTTP hop, no
thread per forwarded request, and moto's host-based routing (which lists its package directory on every request)
done once per service and region. moto builds a backend per account and region on first use (EC2's loads a few
thousand AMIs, with volumes and snapshots, under a process-wide lock); the sandbox builds those for every account
and region before it serves, so that no scan request waits for one.

The request log keeps (service, operation, account, region, status) only: never keys, tokens or signatures.
moto's state is process-wide, so one sandbox runs at a time per process.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple

import structlog
from moto.backends import get_backend
from moto.core import utils as moto_utils
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.test import EnvironBuilder, run_wsgi_app

from hygiene_sandbox.aws.scenario import USABLE_STATES, Account, AwsScenario, Vault
from hygiene_sandbox.aws.seed import Seeder
from hygiene_sandbox.aws.services import OwnApi
from hygiene_sandbox.aws.wire import (
    SERVICES,
    Call,
    Reply,
    ServiceError,
    decode_call,
    epoch,
    error_reply,
    is_read_only,
    iso_z,
    parse_authorization,
    parse_query_credential,
    preload,
    protocol,
    xml_element,
)
from hygiene_sandbox.chaos import (
    BODY_FAULTS,
    STATUS_FAULTS,
    Chaos,
    ChaosMonkey,
    ChaosSwitch,
    cut,
    request_key,
    reset_connection,
)

log = structlog.get_logger(__name__)
MAX_BODY = 16 * 1024 * 1024
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:.*/)?([^/]+)$")
#: operations that are not reads but that a read-only scanner needs
_ALLOWED_NON_READS = frozenset({("sts", "AssumeRole"), ("iam", "GenerateCredentialReport")})
#: Backup operations moto implements (the rest of Backup is either served here or not implemented)
_MOTO_BACKUP_READS = frozenset(
    {"ListBackupPlans", "GetBackupPlan", "ListBackupVaults", "DescribeBackupVault", "ListTags", "ListReportPlans"}
)
#: Organizations reads whose accounts carry ``State`` (and, from moto, the retired ``Status``)
_ORGANIZATION_ACCOUNT_READS = frozenset({"ListAccounts", "DescribeAccount", "ListAccountsForParent"})
#: services whose reads all go to moto
_MOTO_SERVICES = frozenset({"sts", "organizations", "ec2", "rds"})
_FORWARD_HEADERS = ("content-type", "x-amzn-requestid", "x-amz-request-id", "x-amzn-errortype", "x-amz-id-2")
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive", "expect"})
#: moto backends built before serving, for every account: regional ones in every sandbox region, global ones once
_REGIONAL_BACKENDS = ("ec2", "rds", "backup")
_GLOBAL_BACKENDS = (("iam", "aws"), ("sts", "aws"), ("organizations", "aws"))

_active_lock = threading.Lock()
_active: AwsSandbox | None = None


class RequestRecord(NamedTuple):
    service: str
    operation: str
    #: the account the access key maps to ("" when unknown)
    account: str
    region: str
    #: 0 when the connection was reset without an answer
    status: int
    #: the chaos fault injected into this request (``hygiene_sandbox.chaos``), if any
    fault: str | None = None


class RefusedWrite(NamedTuple):
    service: str
    operation: str
    account: str
    region: str
    at: datetime


class AwsCredentials(NamedTuple):
    """The management account's scanning principal (an IAM user's access key)."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


class _Principal(NamedTuple):
    account_id: str
    arn: str


def _throttle_code(service: str) -> str:
    """The code each service throttles with; all are in botocore's retryable-throttle list
    (EC2: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html)."""
    kind = protocol(service)
    if kind == "query":
        return "Throttling"
    if kind == "ec2":
        return "RequestLimitExceeded"
    if service == "organizations":
        return "TooManyRequestsException"
    return "ThrottlingException"


def _fault_error(service: str, status: int) -> ServiceError:
    """The transient errors chaos mode injects, with the codes each protocol uses."""
    if status == 429:
        return ServiceError(_throttle_code(service), "Rate exceeded", 429)
    ec2 = protocol(service) == "ec2"
    if status == 503:
        return ServiceError("Unavailable" if ec2 else "ServiceUnavailable", "Service is unavailable.", 503)
    return ServiceError("InternalError" if ec2 else "InternalFailure", "An internal error occurred.", 500)


_TOKEN_ELEMENT = re.compile(r"<(NextToken|nextToken|Marker)>([^<]*)</\1>")


def _request_token(call: Call) -> str | None:
    """The pagination token a request carries, in whichever place its protocol puts it."""
    for name in ("NextToken", "nextToken", "Marker"):
        values = call.form.get(name) or call.query.get(name)
        if values:
            return str(values[0])
    if call.body and call.protocol == "json":
        with contextlib.suppress(ValueError):
            data = json.loads(call.body)
            if isinstance(data, dict) and data.get("NextToken"):
                return str(data["NextToken"])
    return None


def _loop_reply(call: Call, reply: Reply) -> Reply | None:
    """The answer with its next-page token replaced by the request's own (a paging loop), or None."""
    token = _request_token(call)
    if token is None:
        return None
    if call.protocol in ("query", "ec2"):
        text = reply.body.decode("utf-8", "replace")
        match = _TOKEN_ELEMENT.search(text)
        if match is None:
            return None
        looped = text[: match.start()] + xml_element(match.group(1), token) + text[match.end() :]
        return reply._replace(body=looped.encode())
    try:
        data = json.loads(reply.body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data["NextToken"] = token  # also on the last page: a loop back instead of the end
    return reply._replace(body=json.dumps(data).encode())


def _denied_error(service: str, operation: str, principal_arn: str, resource: str | None = None) -> ServiceError:
    action = f"{service}:{operation}"
    tail = f"on resource: {resource}" if resource else f"because no identity-based policy allows the {action} action"
    message = f"User: {principal_arn} is not authorized to perform: {action} {tail}"
    kind = protocol(service)
    if kind == "query":
        return ServiceError("AccessDenied", message, 403)
    if kind == "ec2":
        return ServiceError(
            "UnauthorizedOperation", f"You are not authorized to perform this operation. {message}", 403
        )
    if kind == "json":
        return ServiceError("AccessDeniedException", message, 400)
    return ServiceError("AccessDeniedException", message, 403)


def _unknown_key_error(service: str) -> ServiceError:
    if protocol(service) in ("query", "ec2"):
        return ServiceError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    return ServiceError("UnrecognizedClientException", "The security token included in the request is invalid.", 403)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _xml(body: bytes) -> tuple[ET.Element, str]:
    root = ET.fromstring(body)  # noqa: S314 - moto's own output on 127.0.0.1
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if namespace:
        ET.register_namespace("", namespace)
    return root, namespace


def _to_bytes(root: ET.Element, declaration: bool = False) -> bytes:
    text = ET.tostring(root, encoding="unicode")
    return (('<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else "") + text).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: AwsSandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # dropped connections: nothing to report (and nothing secret printed)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "hygiene-aws-sandbox"
    sys_version = ""
    timeout = 30
    wbufsize = -1

    def log_message(self, format: str, *args: Any) -> None:
        return

    def version_string(self) -> str:
        return self.server_version

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _serve(self, method: str) -> None:
        try:
            body = self._body()
        except ValueError:
            self.send_error(413)
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply, fault = self.server.sandbox._handle(method, self.path, headers, body)
        if reply is None:  # chaos: reset
            reset_connection(self)
            return
        if fault == "slow":
            self.server.sandbox._stopping.wait(self.server.sandbox._slow_seconds())
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if fault == "truncated":
            self.wfile.write(cut(reply.body))
            reset_connection(self)
            return
        if method != "HEAD":
            self.wfile.write(reply.body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_HEAD(self) -> None:
        self._serve("HEAD")


class AwsSandbox(ChaosSwitch):
    """A local fake of the AWS APIs hygiene reads, behind one endpoint (see the module docstring).

    ``latency_ms`` (added to every answer), ``throttle_every`` (every Nth request gets the service's throttling
    error; 0 = never) and ``scenario.access_denied`` are read on every request and may be changed while it runs.
    """

    def __init__(
        self,
        scenario: AwsScenario,
        *,
        latency_ms: int = 0,
        throttle_every: int = 0,
        report_delay: float = 0.0,
        chaos: Chaos | None = None,
    ) -> None:
        if throttle_every == 1:
            raise ValueError("throttle_every=1 would throttle every request, retries included")
        self.scenario = scenario
        self.latency_ms = latency_ms
        self.throttle_every = throttle_every
        self.own = OwnApi(scenario, report_delay=report_delay)
        self._lock = threading.Lock()
        self._principals: dict[str, _Principal] = {}
        self._requests: list[RequestRecord] = []
        self._refused: list[RefusedWrite] = []
        self._count = 0
        self._throttled = 0
        self._moto: ThreadedMotoServer | None = None
        self._moto_address: tuple[str, int] = ("127.0.0.1", 0)
        #: moto's router, and the WSGI app it picked per (service, region)
        self._dispatcher = DomainDispatcherApplication(create_backend_app)
        self._apps: dict[tuple[str, str], Any] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._credentials: AwsCredentials | None = None
        self._monkey = ChaosMonkey(chaos) if chaos is not None else None
        self._stopping = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> AwsSandbox:
        global _active
        if "MOTO_ACCOUNT_ID" in os.environ:
            raise RuntimeError("MOTO_ACCOUNT_ID is set: moto would put every request in that one account")
        self.scenario.validate()
        self._stopping.clear()
        with _active_lock:
            if _active is not None:
                raise RuntimeError("an AwsSandbox is already running in this process (moto's state is process-wide)")
            _active = self
        try:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._moto.start()
            self._moto_address = self._moto.get_host_and_port()
            self._moto_reset()
            seeder = Seeder(self.scenario, f"http://{self._moto_address[0]}:{self._moto_address[1]}")
            seeder.seed()
            self._warm_moto()
            self._credentials = AwsCredentials(seeder.access_key_id, seeder.secret_access_key)
            management = self.scenario.management_account_id
            self._principals[seeder.access_key_id] = _Principal(
                management, f"arn:aws:iam::{management}:user/{self.scenario.scanner_user}"
            )
            self._server = _Server(("127.0.0.1", 0), self)
            self._thread = threading.Thread(target=self._server.serve_forever, name="hygiene-aws-sandbox", daemon=True)
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        global _active
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._moto is not None:
            with contextlib.suppress(OSError):
                self._moto_reset()
            self._moto.stop()
            self._moto = None
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> AwsSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _warm_moto(self) -> None:
        """Build moto's backends for every account and region, load the service models moto and the sandbox
        answer with, and build the credential reports, now rather than in the first request that needs them (the
        answers are the same either way: only when the work is done changes)."""
        preload(SERVICES)
        for service in SERVICES:
            with contextlib.suppress(Exception):  # not every service has paginators
                moto_utils.get_pagination_model(service)
            moto_utils.get_service_model(service)
        self.own.prepare()
        for account in self.scenario.accounts:
            for service, partition in _GLOBAL_BACKENDS:
                get_backend(service)[account.account_id][partition]  # type: ignore[call-overload]
            for service in _REGIONAL_BACKENDS:
                for region in self.scenario.regions:
                    get_backend(service)[account.account_id][region]  # type: ignore[call-overload]

    def _moto_reset(self) -> None:
        connection = http.client.HTTPConnection(*self._moto_address, timeout=30)
        try:
            connection.request("POST", "/moto-api/reset")
            connection.getresponse().read()
        finally:
            connection.close()

    # -- what callers use ---------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def moto_url(self) -> str:
        """The moto server behind the front one (for debugging: it serves raw moto, without the sandbox's rules)."""
        if self._moto is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self._moto_address[0]}:{self._moto_address[1]}"

    @property
    def credentials(self) -> AwsCredentials:
        if self._credentials is None:
            raise RuntimeError("the sandbox is not running")
        return self._credentials

    @property
    def role_arn(self) -> str:
        """A role in the management account the scanner may assume first."""
        return self.scenario.role_arn

    @property
    def organization_role(self) -> str:
        return self.scenario.organization_role

    @property
    def regions(self) -> list[str]:
        return self.scenario.regions

    def environ(self) -> dict[str, str]:
        """Environment variables that point boto3 at the sandbox as the scanning principal."""
        return {
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_DEFAULT_REGION": self.regions[0],
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._count

    @property
    def refused_writes(self) -> list[RefusedWrite]:
        with self._lock:
            return list(self._refused)

    @property
    def throttled_count(self) -> int:
        with self._lock:
            return self._throttled

    def _slow_seconds(self) -> float:
        return self._monkey.chaos.slow_seconds if self._monkey is not None else 0.0

    def reset_log(self) -> None:
        with self._lock:
            self._requests.clear()
            self._refused.clear()
            self._count = 0
            self._throttled = 0

    # -- the request path -----------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        reply, _ = self._handle(method, target, headers, body)
        if reply is None:
            raise ConnectionResetError("chaos: connection reset")
        return reply

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Reply | None, str | None]:
        """The answer and the chaos fault injected (None: none); no answer means: reset the connection."""
        scope = parse_authorization(headers.get("authorization")) or parse_query_credential(target)
        if scope is None or scope.service not in SERVICES:
            status = 403 if scope is None else 400
            code = "MissingAuthenticationToken" if scope is None else "UnknownService"
            text = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code></Error></ErrorResponse>"
            with self._lock:
                self._count += 1
            self._record("?" if scope is None else scope.service, "?", "", scope.region if scope else "", status)
            return Reply(status, [("Content-Type", "text/xml")], text.encode()), None
        service, region = scope.service, scope.region
        call = decode_call(service, method, target, headers, body)
        operation = call.operation or "?"
        with self._lock:
            principal = self._principals.get(scope.access_key)
            self._count += 1
            throttled = bool(self.throttle_every) and self._count % self.throttle_every == 0
            if throttled:
                self._throttled += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        account_id = principal.account_id if principal else ""
        monkey = self._monkey
        key = request_key(method, target, body, f"{account_id}|{region}")
        fault = monkey.propose(key, f"{service}:{operation}") if monkey is not None and principal else None
        if monkey is not None and fault == "reset":
            monkey.applied(key, fault)
            self._record(service, operation, account_id, region, 0, fault)
            return None, fault
        try:
            if fault is not None and fault in STATUS_FAULTS:
                status, with_retry_after = STATUS_FAULTS[fault]
                reply = error_reply(service, _fault_error(service, status))
                if with_retry_after and monkey is not None:
                    reply = reply._replace(headers=[*reply.headers, ("Retry-After", str(monkey.chaos.retry_after))])
            elif fault == "offhost_redirect" and monkey is not None:
                # a 307 keeps the method and body: a client that followed it would re-send the signed request, and
                # its session token, to the other host
                reply = Reply(307, [("Location", monkey.chaos.offhost_origin + target)], b"")
            else:
                if throttled:
                    raise ServiceError(_throttle_code(service), "Rate exceeded", 400)
                if principal is None:
                    raise _unknown_key_error(service)
                if call.operation is None:
                    raise self._unknown_operation(service)
                reply = self._dispatch(call, principal, region)
        except ServiceError as error:
            reply = error_reply(service, error)
        except Exception as exc:  # a sandbox bug or moto gone: answer like a service fault, never hang the client
            log.warning("aws sandbox request failed", service=service, operation=operation, error=type(exc).__name__)
            reply = error_reply(service, ServiceError("InternalFailure", f"sandbox error: {type(exc).__name__}", 500))
        if fault is not None and fault in BODY_FAULTS:
            changed = self._chaos_body(fault, call, reply)
            if changed is None:
                fault = None
            else:
                reply = changed
        if monkey is not None and fault is not None:
            monkey.applied(key, fault)
        self._record(service, operation, account_id, region, reply.status, fault)
        return reply, fault

    @staticmethod
    def _chaos_body(fault: str, call: Call, reply: Reply) -> Reply | None:
        if reply.status != 200 or not reply.body:
            return None
        if fault == "truncated":
            return reply  # the handler cuts the transfer short
        if fault == "malformed":
            return reply._replace(body=cut(reply.body))
        return _loop_reply(call, reply)

    def _record(
        self, service: str, operation: str, account: str, region: str, status: int, fault: str | None = None
    ) -> None:
        with self._lock:
            self._requests.append(RequestRecord(service, operation, account, region, status, fault))

    @staticmethod
    def _unknown_operation(service: str) -> ServiceError:
        if protocol(service) in ("query", "ec2"):
            return ServiceError("InvalidAction", "The action or operation requested is invalid.", 400)
        return ServiceError("UnknownOperationException", "The operation requested is not known.", 404)

    def _dispatch(self, call: Call, principal: _Principal, region: str) -> Reply:
        service, operation = call.service, str(call.operation)
        account = self._account(principal.account_id)
        if not is_read_only(operation) and (service, operation) not in _ALLOWED_NON_READS:
            with self._lock:
                self._refused.append(RefusedWrite(service, operation, account.account_id, region, datetime.now(UTC)))
            raise _denied_error(service, operation, principal.arn)
        if self.scenario.denied(account.account_id, service, operation):
            raise _denied_error(service, operation, principal.arn)
        if self.own.handles(service, operation):
            return self.own.serve(call, account, region)
        if service in _MOTO_SERVICES or (service == "backup" and operation in _MOTO_BACKUP_READS):
            if (service, operation) == ("sts", "AssumeRole"):
                return self._assume_role(call, principal)
            return self._patch(call, account, region, self._forward(call, account.account_id))
        raise ServiceError("NotImplemented", f"The hygiene AWS sandbox does not implement {service}:{operation}.", 501)

    def _account(self, account_id: str) -> Account:
        try:
            return self.scenario.account(account_id)
        except KeyError:
            raise _unknown_key_error("sts") from None

    # -- moto -----------------------------------------------------------------------------------------------
    def _forward(self, call: Call, account_id: str) -> Reply:
        headers = {k: v for k, v in call.headers.items() if k not in _HOP_HEADERS}
        headers["x-moto-account-id"] = account_id
        presigned = parse_query_credential(call.target)
        if "authorization" not in headers and presigned is not None:
            # moto routes by the Authorization header's scope (it checks no signatures)
            scope = "/".join((presigned.access_key, presigned.date, presigned.region, presigned.service))
            headers["authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={scope}/aws4_request, SignedHeaders=host, Signature=0"
            )
        environ = EnvironBuilder(
            path=call.target,
            method=call.method,
            headers=list(headers.items()),
            data=call.body or None,
            base_url=f"http://{self._moto_address[0]}:{self._moto_address[1]}",
        ).get_environ()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        app_iter, status, response_headers = run_wsgi_app(self._moto_app(call, environ), environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        forwarded = [(name, value) for name, value in response_headers.items() if name.lower() in _FORWARD_HEADERS]
        return Reply(int(status.split(" ", 1)[0]), forwarded, body)

    def _moto_app(self, call: Call, environ: dict[str, Any]) -> Any:
        """moto's WSGI app for the request, as moto's own server routes it (once per service and region)."""
        scope = parse_authorization(environ.get("HTTP_AUTHORIZATION"))
        key = (call.service, scope.region if scope else "")
        with self._lock:
            app = self._apps.get(key)
        if app is None:
            probe = dict(environ)
            probe["wsgi.input"] = io.BytesIO(call.body)  # moto's router may read a form body
            app = self._dispatcher.get_application(probe)
            with self._lock:
                self._apps[key] = app
        return app

    def _assume_role(self, call: Call, principal: _Principal) -> Reply:
        role_arn = (call.form.get("RoleArn") or [""])[0]
        match = _ROLE_ARN.match(role_arn)
        target: Account | None = None
        if match:
            with contextlib.suppress(KeyError):
                target = self.scenario.account(match.group(1))
        role_name = match.group(2) if match else ""
        scenario = self.scenario
        allowed = target is not None and (
            (target.account_id == scenario.management_account_id and role_name == scenario.scanner_role)
            or (
                target.account_id != scenario.management_account_id
                and target.state in USABLE_STATES
                and role_name == scenario.organization_role
            )
        )
        if target is not None and scenario.denied(target.account_id, "sts", "AssumeRole"):
            allowed = False
        if not allowed or target is None:
            raise _denied_error("sts", "AssumeRole", principal.arn, role_arn)
        reply = self._forward(call, principal.account_id)
        if reply.status == 200:
            root, _ = _xml(reply.body)
            key = next((e.text for e in root.iter() if _local(e.tag) == "AccessKeyId"), None)
            arn = next(
                (
                    e.text
                    for user in root.iter()
                    if _local(user.tag) == "AssumedRoleUser"
                    for e in _children(user, "Arn")
                ),
                None,
            )
            if key:
                with self._lock:
                    self._principals[key] = _Principal(target.account_id, arn or role_arn)
        return reply

    def _patch(self, call: Call, account: Account, region: str, reply: Reply) -> Reply:
        """Set the values moto cannot hold, in moto's own answer."""
        if reply.status != 200:
            return reply
        key = (call.service, call.operation)
        if call.service == "organizations" and call.operation in _ORGANIZATION_ACCOUNT_READS:
            return reply._replace(body=self._patch_accounts(reply.body))
        if key in (("backup", "ListBackupVaults"), ("backup", "DescribeBackupVault")):
            vaults = {v.name: v for v in account.vaults if v.region == region}
            data = json.loads(reply.body)
            for vault in data.get("BackupVaultList", [data]):
                found = vaults.get(vault.get("BackupVaultName"))
                if found is not None:
                    self._patch_vault(vault, found)
            return reply._replace(body=json.dumps(data).encode())
        if key == ("rds", "DescribeDBInstances"):
            return reply._replace(body=self._patch_rds(account, region, reply.body))
        if key == ("ec2", "DescribeInstances"):
            return reply._replace(body=self._patch_ec2(account, region, reply.body))
        return reply

    def _patch_accounts(self, body: bytes) -> bytes:
        """Organizations accounts as the API returns them since September 9, 2026: ``State`` (the scenario's,
        moto knows ACTIVE and SUSPENDED only) and no ``Status`` (retired; moto still sends both)."""
        data = json.loads(body)
        for item in [*data.get("Accounts", []), *([data["Account"]] if "Account" in data else [])]:
            item.pop("Status", None)
            with contextlib.suppress(KeyError):
                item["State"] = self.scenario.account(str(item.get("Id"))).state
        return json.dumps(data).encode()

    @staticmethod
    def _patch_vault(vault: dict[str, Any], found: Vault) -> None:
        """What moto does not hold or send: the recovery point count, ``VaultType`` and ``VaultState`` (absent from
        moto's answer), and ``LockDate`` (moto can only set one at least three days ahead; a compliance lock
        past its lock date needs one in the past)."""
        vault["NumberOfRecoveryPoints"] = found.recovery_points
        vault["VaultType"] = found.vault_type
        vault["VaultState"] = "AVAILABLE"
        vault.pop("LockDate", None)
        if found.locked and found.lock_date is not None:
            vault["LockDate"] = epoch(found.lock_date)

    @staticmethod
    def _patch_rds(account: Account, region: str, body: bytes) -> bytes:
        """LatestRestorableTime as the scenario has it (absent when automated backups are off); moto says now."""
        restorable = {d.identifier: d.latest_restorable_time for d in account.db_instances if d.region == region}
        root, namespace = _xml(body)
        prefix = f"{{{namespace}}}" if namespace else ""
        for db in root.iter(f"{prefix}DBInstance"):
            ident = next((e.text for e in _children(db, "DBInstanceIdentifier")), None)
            if ident not in restorable:
                continue
            for old in _children(db, "LatestRestorableTime"):
                db.remove(old)
            moment = restorable[ident]
            if moment is not None:
                ET.SubElement(db, f"{prefix}LatestRestorableTime").text = iso_z(moment)
        return _to_bytes(root)

    @staticmethod
    def _patch_ec2(account: Account, region: str, body: bytes) -> bytes:
        """``platformDetails`` (``Instance.PlatformDetails`` in the botocore ec2 model), which moto omits; and
        ``platform`` as EC2 sends it: ``windows`` for Windows instances, absent otherwise (``Instance.Platform``'s
        documentation in the model; moto invents ``Linux/UNIX``, which is no value of ``PlatformValues``)."""
        platforms = {i.instance_id: i.platform for i in account.instances if i.region == region}
        root, namespace = _xml(body)
        prefix = f"{{{namespace}}}" if namespace else ""
        for instances in root.iter(f"{prefix}instancesSet"):
            for item in _children(instances, "item"):
                ident = next((e.text for e in _children(item, "instanceId")), None)
                if ident not in platforms:
                    continue
                if not _children(item, "platformDetails"):
                    ET.SubElement(item, f"{prefix}platformDetails").text = platforms[ident]
                for old in _children(item, "platform"):
                    item.remove(old)
                if platforms[ident] == "Windows":
                    ET.SubElement(item, f"{prefix}platform").text = "windows"
        return _to_bytes(root, declaration=True)
