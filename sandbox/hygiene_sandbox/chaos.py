"""Chaos mode for the sandboxes: the faults real services and networks produce, injected deterministically.

    Sandbox(scenario, chaos=Chaos(rate=0.1, seed=7))            # Microsoft Graph and Google APIs
    AwsSandbox(scenario, chaos=Chaos(rate=0.1, seed=7))         # AWS (front server; moto is never touched)

Fault kinds (``FAULTS``):

- ``throttled`` / ``throttled_no_retry_after``: 429 with / without ``Retry-After`` (the vendor's throttling error);
- ``unavailable`` / ``unavailable_no_retry_after``: 503 with / without ``Retry-After``;
- ``server_error``: 500;
- ``reset``: the connection is closed with a TCP reset before any response;
- ``slow``: the answer is held back ``slow_seconds`` (longer than the client's read timeout), then sent;
- ``truncated``: a 200 whose connection drops mid-body (``Content-Length`` promises more than is sent);
- ``malformed``: a complete 200 whose body is cut in half (not valid JSON / XML);
- ``loop``: a page whose ``@odata.nextLink`` / ``nextPageToken`` / ``NextToken`` repeats the page's own link.

Hostile kinds (``HOSTILE_FAULTS``), only in ``persistent`` rules, for the tests that a response cannot send the
client, or its token, anywhere else: ``offhost_redirect`` answers 302 (AWS: 307) to the same path on
``Chaos.offhost_origin``; ``offhost_link`` points a Graph page's ``@odata.nextLink`` there.

``truncated``, ``malformed`` and ``loop`` need a 200 answer with a body (``loop``: a paged one); when a request
drawn for them does not qualify it is served clean and nothing is recorded.

Decisions are a pure function of (seed, request, how many faults that request already had), so a run is
reproducible for the same requests, whatever the thread interleaving. A request (same method, URL and body)
gets at most ``max_faults_per_request`` faults, so a client that retries a few times always gets through, except
for ``persistent`` rules: (regular expression, kind) pairs matched (``re.search``) against the request's target —
``"GET /v1.0/users"`` (method and path, no query) for Graph and Google, ``"backup:ListBackupVaults"`` for AWS —
which fault every matching request, forever. With ``warm_up`` (the default) the first requests are faulted until
every kind has been injected once, so a test run of any size sees each kind.

Token endpoints (the identity platform, Google's ``/token``) are never faulted.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

FAULTS: tuple[str, ...] = (
    "throttled",
    "throttled_no_retry_after",
    "unavailable",
    "unavailable_no_retry_after",
    "server_error",
    "reset",
    "slow",
    "truncated",
    "malformed",
    "loop",
)
#: faults a hostile response plays (only in ``persistent`` rules)
HOSTILE_FAULTS: tuple[str, ...] = ("offhost_redirect", "offhost_link")
#: fault -> (HTTP status, whether it carries Retry-After)
STATUS_FAULTS: dict[str, tuple[int, bool]] = {
    "throttled": (429, True),
    "throttled_no_retry_after": (429, False),
    "unavailable": (503, True),
    "unavailable_no_retry_after": (503, False),
    "server_error": (500, False),
}
#: faults that need a 200 answer with a body
BODY_FAULTS = frozenset({"truncated", "malformed", "loop"})


@dataclass(frozen=True)
class Chaos:
    """What to inject and how often (see the module docstring)."""

    #: the share of requests that get a fault (after the warm-up)
    rate: float = 0.1
    seed: int = 0
    #: the kinds drawn from, uniformly
    faults: tuple[str, ...] = FAULTS
    #: the ``Retry-After`` (seconds) of the faults that carry one
    retry_after: int = 0
    #: how long a ``slow`` answer is held back: longer than the client's read timeout
    slow_seconds: float = 2.0
    max_faults_per_request: int = 2
    warm_up: bool = True
    #: (regular expression on the request's target, fault kind): faults that never clear
    persistent: tuple[tuple[str, str], ...] = ()
    #: where ``offhost_redirect`` and ``offhost_link`` send the client (scheme://host:port)
    offhost_origin: str = "https://127.0.0.1:9"

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.faults if kind not in FAULTS] + [
            kind for _, kind in self.persistent if kind not in FAULTS + HOSTILE_FAULTS
        ]
        if unknown:
            raise ValueError(
                f"unknown chaos fault kind(s) {unknown}; known: {', '.join(FAULTS)} "
                f"(and, in persistent rules, {', '.join(HOSTILE_FAULTS)})"
            )
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("chaos rate must be between 0 and 1")
        if self.max_faults_per_request < 0 or self.retry_after < 0 or self.slow_seconds < 0:
            raise ValueError("chaos max_faults_per_request, retry_after and slow_seconds must not be negative")
        for pattern, _ in self.persistent:
            re.compile(pattern)

    def persistent_fault(self, target: str) -> str | None:
        for pattern, kind in self.persistent:
            if re.search(pattern, target):
                return kind
        return None


def unit(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) for the given seed and parts."""
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0**64


@dataclass
class ChaosMonkey:
    """The running state of one sandbox's chaos: which requests were faulted, and how often each kind was."""

    chaos: Chaos
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _per_request: Counter[str] = field(default_factory=Counter, repr=False)
    _injected: Counter[str] = field(default_factory=Counter, repr=False)

    def propose(self, key: str, target: str) -> str | None:
        """The fault for this request (``key``: method, URL and a digest of the body), or None.

        A proposal is not a fault until :meth:`applied` says so (body faults need a qualifying answer)."""
        chaos = self.chaos
        persistent = chaos.persistent_fault(target)
        if persistent is not None:
            return persistent
        if not chaos.faults:
            return None
        with self._lock:
            done = self._per_request[key]
            warming = chaos.warm_up and chaos.rate > 0
            pending = [kind for kind in chaos.faults if self._injected[kind] == 0] if warming else []
        if done >= chaos.max_faults_per_request:
            return None
        if pending:
            return pending[int(unit(chaos.seed, key, done, "warm-up") * len(pending))]
        if unit(chaos.seed, key, done, "rate") >= chaos.rate:
            return None
        return chaos.faults[int(unit(chaos.seed, key, done, "kind") * len(chaos.faults))]

    def applied(self, key: str, kind: str) -> None:
        with self._lock:
            self._per_request[key] += 1
            self._injected[kind] += 1

    @property
    def injected(self) -> dict[str, int]:
        """Fault kind -> how many times it was injected."""
        with self._lock:
            return {kind: self._injected[kind] for kind in FAULTS + HOSTILE_FAULTS if self._injected[kind]}


class ChaosSwitch:
    """What a sandbox offers tests about its chaos mode (both sandboxes mix this in and set ``_monkey``)."""

    _monkey: ChaosMonkey | None = None

    @property
    def chaos(self) -> Chaos | None:
        return self._monkey.chaos if self._monkey is not None else None

    def set_chaos(self, chaos: Chaos | None) -> None:
        """Start, change or stop chaos mode (counts of injected faults start again)."""
        self._monkey = ChaosMonkey(chaos) if chaos is not None else None

    @property
    def faults_injected(self) -> dict[str, int]:
        """Chaos fault kind -> how many requests got it."""
        return self._monkey.injected if self._monkey is not None else {}


def request_key(method: str, target: str, body: bytes, scope: str = "") -> str:
    """What identifies "the same request" across retries."""
    digest = hashlib.blake2b(body, digest_size=8).hexdigest() if body else ""
    return f"{scope}|{method}|{target}|{digest}"


def cut(body: bytes) -> bytes:
    """The first half of a body: no longer valid JSON or XML."""
    return body[: max(1, len(body) // 2)]


def parse_spec(spec: str) -> Chaos:
    """``rate=0.1,seed=3,retry_after=0,slow=2,persistent=GET /v1.0/users:unavailable`` (``--chaos`` of
    ``python -m hygiene_sandbox``); a bare number is the rate. ``persistent`` may repeat (``;`` separated)."""
    values: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            name, value = "rate", name
        values[name.strip()] = value.strip()
    persistent: list[tuple[str, str]] = []
    for rule in filter(None, (r.strip() for r in values.pop("persistent", "").split(";"))):
        pattern, _, kind = rule.rpartition(":")
        persistent.append((pattern, kind))
    faults = tuple(f for f in values.pop("faults", "").split("+") if f) or FAULTS
    try:
        chaos = Chaos(
            rate=float(values.pop("rate", "0.1")),
            seed=int(values.pop("seed", "0")),
            retry_after=int(values.pop("retry_after", "0")),
            slow_seconds=float(values.pop("slow", "2")),
            max_faults_per_request=int(values.pop("max", "2")),
            faults=faults,
            persistent=tuple(persistent),
        )
    except ValueError as exc:
        raise ValueError(f"bad --chaos value {spec!r}: {exc}") from None
    if values:
        raise ValueError(f"bad --chaos value {spec!r}: unknown setting(s) {', '.join(sorted(values))}")
    return chaos


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Close the handler's connection with a TCP reset (SO_LINGER 0; for TLS, without a close_notify)."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.wfile.flush()
    with contextlib.suppress(OSError):
        handler.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        handler.request.close()  # really closed (and reset) once finish() closes rfile and wfile
