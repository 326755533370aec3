"""A local DNS resolver for the sandbox: answers TXT and CNAME questions for a scenario's zone over UDP and TCP.

It plays a recursive resolver the scanner is pointed at (``[dns] nameservers = ["127.0.0.1"]``, ``port``): it
follows CNAMEs itself and puts the chain in the answer, answers NXDOMAIN for a name that does not exist and NODATA
(NOERROR, no answer) for a name that exists without records of the type asked (an empty non-terminal too),
SERVFAIL for every name at or under a ``failing`` name, and sets TC on a UDP answer larger than the client's
payload (512 bytes without EDNS), so the client asks again over TCP. Messages are parsed and built by dnspython.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

from hygiene_sandbox.expectation import Expectation

JsonDict = dict[str, Any]
TTL = 300
#: a TXT character-string holds at most 255 bytes (RFC 1035 section 3.3); longer values are split
_CHUNK = 255


@dataclass
class DnsZone:
    """What the resolver knows: name -> record type ("TXT", "CNAME") -> values. A TXT value is one record (split
    into 255-byte character-strings when longer); a CNAME's single value is its target."""

    records: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: names at or under which every question answers SERVFAIL (a broken authoritative server)
    failing: list[str] = field(default_factory=list)

    def to_json(self) -> JsonDict:
        return {"records": self.records, "failing": self.failing}

    @classmethod
    def from_json(cls, raw: JsonDict) -> DnsZone:
        return cls(records=dict(raw.get("records") or {}), failing=list(raw.get("failing") or []))

    def exists(self, name: str) -> bool:
        """The name has records or names under it (an empty non-terminal exists: NODATA, not NXDOMAIN)."""
        return name in self.records or any(other.endswith("." + name) for other in self.records)

    def fails(self, name: str) -> bool:
        return any(name == bad or name.endswith("." + bad) for bad in self.failing)


@dataclass
class DnsScenario:
    """The DNS the sandbox resolver serves, and what the email checks must report for it (kept apart from
    ``Scenario.all_expected``, as Azure's are: a scan without ``[dns]`` does not run these checks)."""

    zone: DnsZone
    expected: dict[str, Expectation] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {"zone": self.zone.to_json(), "expected": {k: v.to_json() for k, v in sorted(self.expected.items())}}

    @classmethod
    def from_json(cls, raw: JsonDict) -> DnsScenario:
        return cls(
            zone=DnsZone.from_json(raw.get("zone") or {}),
            expected={k: Expectation.from_json(v) for k, v in (raw.get("expected") or {}).items()},
        )


def _key(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _txt(value: str) -> dns.rdtypes.ANY.TXT.TXT:
    """A TXT record of ``value``'s UTF-8 bytes; U+DC80-U+DCFF stand for the bytes 0x80-0xFF (not UTF-8), other lone
    surrogates become their (invalid) three-byte forms: what a hostile zone may publish."""
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogatepass")
    chunks = [data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


def _cname(target: str) -> dns.rdata.Rdata:
    """A CNAME to ``target``; its labels may hold any character (the name's own text form escapes what zone-file
    text would read as syntax: parentheses, semicolons, controls)."""
    text = dns.name.from_text(target).to_text()
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.CNAME, text)


def answer(zone: DnsZone, query: dns.message.Message) -> dns.message.Message:
    """The response to one query, as a recursive resolver with ``zone`` as the whole of the DNS would give it."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    name = question.name
    for _ in range(8):  # CNAME chains, bounded
        if zone.fails(_key(name)):
            response.set_rcode(dns.rcode.SERVFAIL)
            response.answer = []
            return response
        node = zone.records.get(_key(name), {})
        targets = node.get("CNAME") or []
        if not targets or question.rdtype == dns.rdatatype.CNAME:
            break
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.CNAME)
        rrset.add(_cname(targets[0]), TTL)
        response.answer.append(rrset)
        name = dns.name.from_text(targets[0])
    node = zone.records.get(_key(name), {})
    kind = dns.rdatatype.to_text(question.rdtype)
    values = node.get(kind)
    if values:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, question.rdtype)
        for value in values:
            if question.rdtype == dns.rdatatype.TXT:
                rrset.add(_txt(value), TTL)
            elif question.rdtype == dns.rdatatype.CNAME:
                rrset.add(_cname(value), TTL)
        response.answer.append(rrset)
    elif not zone.exists(_key(name)):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response


def _wire(zone: DnsZone, data: bytes, limit: int | None) -> bytes | None:
    try:
        query = dns.message.from_wire(data)
    except dns.exception.DNSException:
        return None
    response = answer(zone, query)
    if limit is None:
        return response.to_wire()
    size = max(512, query.payload if query.edns >= 0 else 512)
    try:
        return response.to_wire(max_size=min(size, limit))
    except dns.exception.TooBig:
        truncated = dns.message.make_response(query)
        truncated.flags |= dns.flags.RA | dns.flags.TC
        return truncated.to_wire()


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        try:
            while True:
                head = _read(sock, 2)
                if head is None:
                    return
                data = _read(sock, struct.unpack("!H", head)[0])
                if data is None:
                    return
                self.server.sandbox.count(tcp=True)
                reply = _wire(self.server.sandbox.zone, data, None)
                if reply is None:
                    return
                sock.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: DnsSandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _TcpHandler)


class DnsSandbox:
    """The resolver on ``host``: one UDP socket and one TCP listener on the same port (0: a free one)."""

    def __init__(self, zone: DnsZone, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = zone
        self.host = host
        self.port = port
        self.queries = 0
        #: of which over TCP (a client retrying a truncated UDP answer)
        self.tcp_queries = 0
        self._lock = threading.Lock()
        self._udp: socket.socket | None = None
        self._tcp: _TcpServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def count(self, tcp: bool = False) -> None:
        with self._lock:
            self.queries += 1
            self.tcp_queries += tcp

    def start(self) -> DnsSandbox:
        for _ in range(20):  # a free UDP port whose TCP twin is free too
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, self.port))
            port = int(udp.getsockname()[1])
            try:
                self._tcp = _TcpServer((self.host, port), self)
            except OSError:
                udp.close()
                if self.port:
                    raise
                continue
            self._udp, self.port = udp, port
            break
        else:  # pragma: no cover - 20 ports in a row taken for TCP only
            raise OSError("no free port for the sandbox DNS server")
        assert self._udp is not None and self._tcp is not None
        self._udp.settimeout(0.1)
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._serve_udp, name="hygiene-sandbox-dns-udp", daemon=True),
            threading.Thread(
                target=self._tcp.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="hygiene-sandbox-dns-tcp",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _serve_udp(self) -> None:
        udp = self._udp
        assert udp is not None
        while not self._stopping.is_set():
            try:
                data, peer = udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.count()
            reply = _wire(self.zone, data, 65535)
            if reply is not None:
                udp.sendto(reply, peer)

    def stop(self) -> None:
        self._stopping.set()
        if self._tcp is not None:
            self._tcp.shutdown()
            self._tcp.server_close()
            self._tcp = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def __enter__(self) -> DnsSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
