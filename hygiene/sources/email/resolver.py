"""DNS questions through dnspython, each answer normalised into a :class:`DnsAnswer` at this boundary.

One question, one :class:`DnsAnswer`: records, NXDOMAIN, NODATA, or ``failed`` (SERVFAIL, REFUSED, a timeout, no
nameserver answering) with why. A truncated UDP answer is asked again over TCP by dnspython. TXT content is
hostile text: each record's character-strings are joined (RFC 7208 section 3.3), decoded as UTF-8 with bad bytes
replaced, controls, bidi overrides and line separators replaced by U+FFFD, and capped (:data:`MAX_RECORD_CHARS`,
:data:`MAX_RECORDS`), with ``cut`` saying so; ``raw/email/`` keeps each answer as the resolver gave it.
"""

from __future__ import annotations

import re
import threading

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from hygiene.config import DnsConfig
from hygiene.model import DnsAnswer
from hygiene.sources.interface import RawRecorder

#: a TXT record longer than this is cut (SPF records should fit a 512-byte UDP answer, RFC 7208 section 3.4; a
#: 4,096-bit DKIM key is about 800 characters)
MAX_RECORD_CHARS = 4096
#: answers with more records than this keep the first ones
MAX_RECORDS = 32
#: C0 and C1 controls, DEL, bidi controls and line/paragraph separators: never kept in vendor text
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class ResolverUnavailable(Exception):
    """No resolver to ask (no nameserver configured and no usable system configuration)."""


def normalised_txt(strings: list[bytes] | tuple[bytes, ...]) -> tuple[str, bool]:
    """One TXT record's character-strings as one string, made safe and capped: (text, cut)."""
    text = _UNSAFE.sub("\ufffd", b"".join(strings).decode("utf-8", "replace"))
    if len(text) > MAX_RECORD_CHARS:
        return text[:MAX_RECORD_CHARS], True
    return text, False


def _name(text: dns.name.Name) -> str:
    return text.to_text(omit_final_dot=True).lower()


class DnsReader:
    """Asks the configured resolver (or the system's), records every answer and counts the questions."""

    def __init__(self, config: DnsConfig, raw: RawRecorder) -> None:
        try:
            resolver = dns.resolver.Resolver(configure=not config.nameservers)
        except dns.resolver.NoResolverConfiguration as exc:
            raise ResolverUnavailable(f"no system resolver configured ({exc}); set [dns] nameservers") from None
        if config.nameservers:
            resolver.nameservers = list(config.nameservers)
            resolver.port = config.port
        resolver.lifetime = config.timeout
        resolver.timeout = min(2.0, config.timeout)
        resolver.cache = None
        self.resolver = resolver
        self.raw = raw
        self.questions = 0
        self._lock = threading.Lock()
        servers = ", ".join(str(n) for n in resolver.nameservers)
        self.where = f"{servers} port {resolver.port}" if config.nameservers else f"system ({servers})"

    def txt(self, name: str) -> DnsAnswer:
        """The TXT records at ``name`` (CNAMEs followed; ``canonical`` says where they were found). Thread-safe."""
        with self._lock:
            self.questions += 1
        url = f"dns://{self.resolver.nameservers[0] if self.resolver.nameservers else 'system'}/{name}?type=TXT"
        try:
            answer = self.resolver.resolve(name, "TXT", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN as exc:
            self._record(url, dns.rcode.NXDOMAIN, None, str(exc))
            return DnsAnswer(name=name, rdtype="TXT", outcome="nxdomain", canonical=_canonical_of_nxdomain(exc, name))
        except dns.resolver.NoNameservers as exc:
            self._record(url, dns.rcode.SERVFAIL, None, str(exc))
            return DnsAnswer(name=name, rdtype="TXT", outcome="failed", error=_failure(exc))
        except dns.exception.Timeout:
            self._record(url, 0, None, "timeout")
            return DnsAnswer(name=name, rdtype="TXT", outcome="failed", error="no answer before the timeout")
        except dns.exception.DNSException as exc:
            self._record(url, 0, None, f"{type(exc).__name__}: {exc}")
            return DnsAnswer(name=name, rdtype="TXT", outcome="failed", error=f"{type(exc).__name__}: {exc}"[:300])
        self._record(url, answer.response.rcode(), answer.response, "")
        canonical = _name(answer.canonical_name)
        moved = canonical if canonical != name.lower().rstrip(".") else None
        if answer.rrset is None:
            return DnsAnswer(name=name, rdtype="TXT", outcome="nodata", canonical=moved)
        records: list[str] = []
        cut = len(answer.rrset) > MAX_RECORDS
        for rdata in sorted(answer.rrset, key=lambda r: r.strings)[:MAX_RECORDS]:
            text, was_cut = normalised_txt(rdata.strings)
            records.append(text)
            cut = cut or was_cut
        return DnsAnswer(name=name, rdtype="TXT", outcome="answer", records=records, canonical=moved, cut=cut)

    def _record(self, url: str, rcode: int, response: dns.message.Message | None, error: str) -> None:
        body = response.to_text() if response is not None else f";; {error}"
        self.raw.record("QUERY", url, int(rcode), body.encode("utf-8", "replace"), "text/dns")


def _canonical_of_nxdomain(exc: dns.resolver.NXDOMAIN, name: str) -> str | None:
    """Where a CNAME chain ended in NXDOMAIN (a DKIM selector CNAME to a key Microsoft never published)."""
    try:
        canonical = _name(exc.canonical_name)
    except (KeyError, TypeError, AttributeError, dns.exception.DNSException):
        return None
    return canonical if canonical != name.lower().rstrip(".") else None


def _failure(exc: dns.resolver.NoNameservers) -> str:
    """SERVFAIL / REFUSED from every nameserver, in a line (dnspython lists each server's answer)."""
    errors = exc.kwargs.get("errors") or []
    answers = sorted({str(e[3]) if len(e) > 3 else str(e) for e in errors})
    return ("no nameserver answered: " + "; ".join(answers))[:300] if answers else "no nameserver answered"
