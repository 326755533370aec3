"""The sandbox HTTPS server: the fake identity platform and the fake Graph on one local port, and, when the
scenario has a Google side, Google's token endpoint, the Admin SDK Directory API and Cloud Identity devices on
the same port (see ``hygiene_sandbox.google_api``).

    with Sandbox(northwind(now)) as sandbox:
        app = msal.ConfidentialClientApplication(
            sandbox.client_id, client_credential=sandbox.client_secret,
            authority=f"{sandbox.authority_host}/{sandbox.tenant_id}", instance_discovery=False, http_client=session)

        # Google: one base URL for every API, and a key file whose token_uri points at the sandbox
        credentials = service_account.Credentials.from_service_account_file(
            sandbox.google_key_file, scopes=[scope]).with_subject(sandbox.scenario.google.delegated_admin)
        http = AuthorizedHttp(credentials, http=httplib2.Http(ca_certs=str(sandbox.ca_file)))
        build("admin", "directory_v1", http=http, client_options={"api_endpoint": sandbox.google_api_endpoint})

Clients must trust ``sandbox.ca_file``. The server is read-only: PATCH/PUT/DELETE, and POST anywhere but
the token endpoints and ``$batch``, answer 405 and are recorded in ``refused_writes``. The request log keeps
method, path-with-query and status only: never headers, bodies, secrets, assertions or tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from hygiene_sandbox.azure_arm import AzureArm
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
from hygiene_sandbox.defender import PREFIX as DEFENDER_PREFIX
from hygiene_sandbox.defender import DefenderApi
from hygiene_sandbox.dns_server import DnsSandbox
from hygiene_sandbox.google_api import GoogleApi, GoogleTokenStore
from hygiene_sandbox.graph import DOWNLOAD_PREFIX, GraphApi
from hygiene_sandbox.identity import IdentityPlatform, TokenStore
from hygiene_sandbox.scenario import Scenario
from hygiene_sandbox.tls import ClientCertificate, shared_client_certificate, shared_server_material
from hygiene_sandbox.wire import Reply, graph_error_body, json_reply, new_request_id

MAX_BODY = 16 * 1024 * 1024
_WRITE_METHODS = frozenset({"PATCH", "PUT", "DELETE", "MERGE"})


class RequestRecord(NamedTuple):
    method: str
    path: str
    #: 0 when the connection was reset without an answer
    status: int
    #: the chaos fault injected into this request (``hygiene_sandbox.chaos``), if any
    fault: str | None = None


class RefusedWrite(NamedTuple):
    method: str
    path: str
    at: datetime


def _scrub(path: str) -> str:
    """Drop the capability part of pre-authenticated download URLs from what is logged."""
    if path.startswith(DOWNLOAD_PREFIX):
        return DOWNLOAD_PREFIX + "***"
    return path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, context: ssl.SSLContext) -> None:
        self.sandbox = sandbox
        self.ssl_context = context
        self._connections: set[Any] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: Any) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def untrack(self, conn: Any) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # TLS handshakes refused by clients, dropped connections: nothing to report (and nothing secret printed)
        return


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "hygiene-sandbox"
    sys_version = ""
    timeout = 30
    # one write per response (headers and body together) and no Nagle delay: without both, every
    # response waits ~40 ms for a delayed ACK
    wbufsize = -1

    def setup(self) -> None:
        raw = self.request
        raw.settimeout(10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = self.server.ssl_context.wrap_socket(raw, server_side=True)
        self.server.track(self.request)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.request)
            with contextlib.suppress(OSError):
                self.request.close()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self, method: str) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        fault: str | None = None
        if body is None:
            self.close_connection = True
            reply = json_reply(413, {"error": {"code": "RequestEntityTooLarge", "message": "Body too large."}})
        else:
            if sandbox.latency_ms > 0:
                time.sleep(sandbox.latency_ms / 1000.0)
            split = urlsplit(self.path)
            path = unquote(split.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            monkey = sandbox._monkey
            key = request_key(method, self.path, body)
            if monkey is not None and not sandbox._is_token_path(path):
                fault = monkey.propose(key, f"{method} {path}")
            if monkey is not None and fault == "reset":
                monkey.applied(key, fault)
                sandbox._log(method, _scrub(self.path), 0, fault)
                reset_connection(self)
                return
            if fault is not None and fault in STATUS_FAULTS:
                reply = sandbox._fault_reply(fault, path, headers)
            elif fault == "offhost_redirect" and sandbox._monkey is not None:
                location = sandbox._monkey.chaos.offhost_origin + self.path
                reply = Reply(302, b"", {"Location": location, "Content-Type": "text/plain"})
            else:
                reply = sandbox._answer(method, path, split.query, headers, body, self.path)
                if fault is not None and (fault in BODY_FAULTS or fault == "offhost_link"):
                    changed = sandbox._chaos_body(fault, reply, method, split.query, self.path)
                    if changed is None:
                        fault = None
                    else:
                        reply = changed
            if monkey is not None and fault is not None:
                monkey.applied(key, fault)
        sandbox._log(method, _scrub(self.path), reply.status, fault)
        if fault == "slow" and sandbox._monkey is not None:
            sandbox._stopping.wait(sandbox._monkey.chaos.slow_seconds)
        self.send_response(reply.status)
        for key_, value in reply.headers.items():
            self.send_header(key_, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if fault == "truncated":
            self.wfile.write(cut(reply.body))
            reset_connection(self)
            return
        if method != "HEAD":
            self.wfile.write(reply.body)


class Sandbox(ChaosSwitch):
    """A local HTTPS fake of the Microsoft identity platform and Microsoft Graph for one scenario."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        latency_ms: float = 0,
        throttle_every: int = 0,
        retry_after: int = 1,
        state_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        page_sizes: Mapping[str, tuple[int, int | None]] | None = None,
        client_certificate: ClientCertificate | None = None,
        chaos: Chaos | None = None,
        google_page_limit: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.google_page_limit = google_page_limit
        self.latency_ms = latency_ms
        self.throttle_every = throttle_every
        self.retry_after = retry_after
        self.host = host
        self.port = port
        self.page_sizes = page_sizes
        self._state_dir_arg = Path(state_dir) if state_dir is not None else None
        self._state_dir: Path | None = None
        self._own_state_dir = False
        self._client_certificate = client_certificate
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._refused: list[RefusedWrite] = []
        self._graph: GraphApi | None = None
        self._identity: IdentityPlatform | None = None
        self._google: GoogleApi | None = None
        self._azure: AzureArm | None = None
        self._defender: DefenderApi | None = None
        #: the local DNS resolver, started with the sandbox when the scenario has a zone (``scenario.dns``)
        self.dns: DnsSandbox | None = None
        self.tokens = TokenStore()
        self.google_tokens = GoogleTokenStore()
        self._monkey = ChaosMonkey(chaos) if chaos is not None else None
        self._stopping = threading.Event()
        self.ca_file = Path()
        self.client_certificate_pem_path = Path()
        #: the Google service account JSON key (mode 0600), written at start when the scenario has a Google side
        self.google_key_file: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self._stopping.clear()
        material = shared_server_material()
        if self._state_dir_arg is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="hygiene-sandbox-"))
            self._own_state_dir = True
        else:
            self._state_dir = self._state_dir_arg
            self._state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.ca_file = material.write_ca(self._state_dir)
        certificate = self._client_certificate or shared_client_certificate()
        self._client_certificate = certificate
        self.client_certificate_pem_path = certificate.write(self._state_dir / "client-certificate.pem")
        self._server = _Server((self.host, self.port), self, material.server_context())
        self.port = int(self._server.server_address[1])
        self._identity = IdentityPlatform(self.scenario, self.base_url, self.tokens, [certificate.certificate])
        self._graph = GraphApi(
            self.scenario,
            self.base_url,
            self.tokens,
            page_sizes=self.page_sizes,
            throttle_every=self.throttle_every,
            retry_after=self.retry_after,
            on_refused=self._refuse,
        )
        self._google = GoogleApi(
            self.scenario,
            self.base_url,
            throttle_every=self.throttle_every,
            retry_after=self.retry_after,
            tokens=self.google_tokens,
            page_limit=self.google_page_limit,
        )
        self._azure = AzureArm(self.scenario.azure, self.base_url, self.tokens)
        self._defender = DefenderApi(self.scenario, self.base_url, self.tokens)
        if self.scenario.google is not None:
            self.google_key_file = self._write_private_json(
                self._state_dir / "google-service-account.json", self.google_service_account_info()
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hygiene-sandbox", daemon=True
        )
        self._thread.start()
        if self.scenario.dns is not None:
            self.dns = DnsSandbox(self.scenario.dns.zone, host=self.host).start()
        return self

    def stop(self) -> None:
        if self.dns is not None:
            self.dns.stop()
            self.dns = None
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_state_dir and self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def defender_url(self) -> str:
        """The fake Defender for Endpoint API's base URL (its real one: https://api.security.microsoft.com)."""
        return self.base_url + DEFENDER_PREFIX

    @property
    def authority_host(self) -> str:
        return self.base_url

    @property
    def graph_url(self) -> str:
        return self.base_url

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.scenario.tenant_id}"

    @property
    def tenant_id(self) -> str:
        return self.scenario.tenant_id

    @property
    def client_id(self) -> str:
        return self.scenario.client_id

    @property
    def client_secret(self) -> str:
        return self.scenario.client_secret

    @property
    def state_dir(self) -> Path | None:
        return self._state_dir

    @property
    def client_certificate(self) -> ClientCertificate:
        if self._client_certificate is None:
            raise RuntimeError("the sandbox has not been started")
        return self._client_certificate

    # -- Google Workspace -------------------------------------------------------------------------------------
    @property
    def google_token_uri(self) -> str:
        """The ``token_uri`` of the sandbox's service account key file."""
        return f"{self.base_url}/token"

    @property
    def google_api_endpoint(self) -> str:
        """``client_options={"api_endpoint": ...}`` for every Google API client (Directory, Cloud Identity)."""
        return f"{self.base_url}/"

    def google_service_account_info(self) -> dict[str, Any]:
        """The service account key file as a dict, ``token_uri`` pointing at the sandbox (contains the key)."""
        if self.scenario.google is None:
            raise RuntimeError("the scenario has no Google Workspace side")
        return self.scenario.google.service_account_info(self.google_token_uri)

    def google_settings(self) -> dict[str, str]:
        """What a scanner's Google source needs (the key is in the 0600 file ``service_account_file``)."""
        google = self.scenario.google
        if google is None or self.google_key_file is None:
            raise RuntimeError("the sandbox has not been started with a Google Workspace scenario")
        return {
            "service_account_file": str(self.google_key_file),
            "delegated_admin": google.delegated_admin,
            "customer_id": google.customer_id,
            "api_endpoint": self.google_api_endpoint,
            "ca_bundle": str(self.ca_file),
        }

    @staticmethod
    def _write_private_json(path: Path, payload: dict[str, Any]) -> Path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
        os.chmod(path, 0o600)
        return path

    def connection_settings(self) -> dict[str, str]:
        """The non-secret settings a scanner needs (the secret is ``client_secret``)."""
        return {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "authority_host": self.authority_host,
            "graph_url": self.graph_url,
            "defender_url": self.defender_url,
            "ca_bundle": str(self.ca_file),
            "certificate_file": str(self.client_certificate_pem_path),
        }

    # -- observation -----------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._log_lock:
            return len(self._requests)

    @property
    def refused_writes(self) -> list[RefusedWrite]:
        with self._log_lock:
            return list(self._refused)

    @property
    def throttled_count(self) -> int:
        """Requests refused by simulated throttling (Graph and Google)."""
        graph = self._graph.throttled if self._graph is not None else 0
        return graph + (self._google.throttled if self._google is not None else 0)

    def clear_log(self) -> None:
        with self._log_lock:
            self._requests.clear()
            self._refused.clear()

    def set_throttling(self, every: int, retry_after: int | None = None) -> None:
        self.throttle_every = every
        if retry_after is not None:
            self.retry_after = retry_after
        if self._graph is not None:
            self._graph.throttle_every = every
            self._graph.retry_after = self.retry_after
        if self._google is not None:
            self._google.throttle_every = every
            self._google.retry_after = self.retry_after

    def expire_tokens(self) -> None:
        self.tokens.expire_all()
        self.google_tokens.expire_all()

    def _log(self, method: str, path: str, status: int, fault: str | None = None) -> None:
        with self._log_lock:
            self._requests.append(RequestRecord(method, path, status, fault))

    # -- chaos mode (hygiene_sandbox.chaos) --------------------------------------------------------------
    def _is_token_path(self, path: str) -> bool:
        identity, google = self._identity, self._google
        return (identity is not None and identity.handles(path)) or (
            google is not None and google.is_token_endpoint(path)
        )

    def _fault_reply(self, fault: str, path: str, headers: Mapping[str, str]) -> Reply:
        graph, google = self._graph, self._google
        assert graph is not None and google is not None and self._monkey is not None
        status, with_retry_after = STATUS_FAULTS[fault]
        retry_after = self._monkey.chaos.retry_after if with_retry_after else None
        if google.handles(path):
            return google.fault_reply(status, retry_after, path)
        if self._azure is not None and self._azure.handles(path):
            return self._azure.fault_reply(status, retry_after)
        return graph.fault_reply(status, retry_after, headers)

    def _chaos_body(self, fault: str, reply: Reply, method: str, query: str, raw_path: str) -> Reply | None:
        """The answer with a body fault, or None when this answer cannot carry it."""
        if reply.status != 200 or not reply.body or "json" not in reply.headers.get("Content-Type", ""):
            return None
        if fault == "truncated":
            return reply  # the handler cuts the transfer short
        if fault == "malformed":
            return Reply(reply.status, cut(reply.body), dict(reply.headers))
        payload = reply.json
        if method != "GET" or not isinstance(payload, dict):
            return None
        if fault == "offhost_link":
            if not isinstance(payload.get("@odata.nextLink"), str) or self._monkey is None:
                return None
            link = urlsplit(payload["@odata.nextLink"])
            payload["@odata.nextLink"] = self._monkey.chaos.offhost_origin + link.path + "?" + link.query
        elif isinstance(payload.get("@odata.nextLink"), str):
            payload["@odata.nextLink"] = self.base_url + raw_path
        else:
            token = dict(parse_qsl(query)).get("pageToken")
            if not token or "nextPageToken" not in payload:
                return None
            payload["nextPageToken"] = token
        headers = dict(reply.headers)
        return json_reply(200, payload, content_type=headers.pop("Content-Type"), headers=headers)

    def _refuse(self, method: str, path: str) -> None:
        with self._log_lock:
            self._refused.append(RefusedWrite(method, _scrub(path), datetime.now(UTC)))

    # -- dispatch ------------------------------------------------------------------------------------
    def _answer(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, raw_path: str
    ) -> Reply:
        graph, identity, google = self._graph, self._identity, self._google
        assert graph is not None and identity is not None and google is not None
        if google.handles(path):
            if method in ("GET", "HEAD") or (method == "POST" and google.is_token_endpoint(path)):
                return google.handle("GET" if method == "HEAD" else method, path, query, headers, body)
            self._refuse(method, raw_path)
            return google.method_not_allowed(method, path)
        if self._defender is not None and self._defender.handles(path):
            if method not in ("GET", "HEAD"):
                self._refuse(method, raw_path)
            return self._defender.handle("GET" if method == "HEAD" else method, path, query, headers)
        if self._azure is not None and self._azure.handles(path):
            if method in _WRITE_METHODS:
                self._refuse(method, raw_path)
            return self._azure.handle(method, path, query, headers, body)
        is_graph = path.startswith(("/v1.0/", "/beta/"))
        is_batch = path in ("/v1.0/$batch", "/beta/$batch")
        allowed_post = identity.is_token_endpoint(path) or is_batch
        if method in _WRITE_METHODS or (method == "POST" and not allowed_post):
            request_id = new_request_id()
            self._refuse(method, raw_path)
            return json_reply(
                405,
                graph_error_body(
                    "MethodNotAllowed",
                    f"The sandbox is read-only: {method} is refused.",
                    request_id,
                    headers.get("client-request-id"),
                ),
                headers={"Allow": "GET", "request-id": request_id},
            )
        if method not in ("GET", "POST", "HEAD"):
            return Reply(405, b"", {"Allow": "GET"})
        if method == "HEAD":
            method = "GET"
        if path.startswith(DOWNLOAD_PREFIX):
            return graph.download(path)
        if is_graph:
            return graph.handle(method, path, query, headers, body)
        if identity.handles(path):
            return identity.handle(method, path, query, headers, body)
        return json_reply(
            404,
            graph_error_body("Request_ResourceNotFound", f"Nothing is served at '{path}'.", new_request_id(), None),
        )
