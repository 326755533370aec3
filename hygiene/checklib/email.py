"""Reading email-authentication records: SPF (RFC 7208), DMARC (RFC 7489) and DKIM key records (RFC 6376).

Shared by the email checks and by the DNS source, which follows the names an SPF record includes or redirects
to (:func:`spf_targets`) so that the checks can count its DNS lookups offline. Pure: records in, verdicts out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hygiene.model import DnsAnswer

#: RFC 7208 section 4.6.4: at most 10 terms causing DNS queries (include, a, mx, ptr, exists, redirect)
SPF_LOOKUP_LIMIT = 10
#: the mechanisms and modifier that cost a DNS lookup (RFC 7208 section 4.6.4)
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
#: the most names the source follows from one SPF record: past the limit the count already fails
SPF_CHAIN_BOUND = 2 * SPF_LOOKUP_LIMIT

#: RFC 7208 section 4.5: a record starts with "v=spf1" followed by a space or its end (case-insensitive)
_SPF = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
#: RFC 7208 section 4.6.1: a modifier is ``name=value``; a mechanism is ``[qualifier]name[:value][/cidr]``
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$")
_MECHANISM = re.compile(r"^([+?~-]?)([A-Za-z][A-Za-z0-9_.-]*)([:/].*)?$")
#: RFC 7489 section 6.4: ``v=DMARC1`` must be the first tag (ABNF %x literal: case-sensitive)
_DMARC = re.compile(r"^v\s*=\s*DMARC1\s*(;|$)")
#: what each SPF ``all`` qualifier asks a receiver to do with mail from elsewhere (RFC 7208 section 4.6.2, 2.6)
ALL_QUALIFIERS = {
    "-": "fail (-all: reject mail from elsewhere)",
    "~": "softfail (~all: accept but mark mail from elsewhere)",
    "?": "neutral (?all: no statement)",
    "+": "pass (+all: anyone may send as the domain)",
}


@dataclass(frozen=True)
class SpfTerm:
    #: "+", "-", "~", "?" for a mechanism; "=" for a modifier
    qualifier: str
    name: str
    #: the domain-spec (or value) after ":" or "=", without a CIDR suffix; "" when none
    value: str


def spf_records(answer: DnsAnswer) -> list[str]:
    """The TXT records of ``answer`` that are SPF records (RFC 7208 section 4.5; other TXT records are ignored)."""
    return [r for r in answer.records if _SPF.match(r)]


def spf_terms(record: str) -> list[SpfTerm]:
    """The terms of one SPF record, in order; an unparsable term becomes name "?" (a permerror)."""
    terms: list[SpfTerm] = []
    for token in record.split(" ")[1:]:
        if not token:
            continue
        modifier = _MODIFIER.match(token)
        if modifier:
            terms.append(SpfTerm("=", modifier.group(1).lower(), modifier.group(2)))
            continue
        mechanism = _MECHANISM.match(token)
        if not mechanism:
            terms.append(SpfTerm("+", "?", token))
            continue
        rest = mechanism.group(3) or ""
        value = rest[1:].split("/", 1)[0] if rest.startswith(":") else ""
        terms.append(SpfTerm(mechanism.group(1) or "+", mechanism.group(2).lower(), value))
    return terms


def _expandable(value: str) -> bool:
    """A domain-spec without macros (``%{...}``): the only kind the source follows."""
    return bool(value) and "%" not in value


def spf_targets(record: str) -> list[str]:
    """The names an SPF record includes or redirects to (lower-case, no trailing dot), macros left out."""
    return [
        t.value.rstrip(".").lower()
        for t in spf_terms(record)
        if t.name in ("include", "redirect") and _expandable(t.value)
    ]


@dataclass
class SpfEvaluation:
    """What an SPF record (with what it includes) says: its lookups, its final ``all`` and its problems."""

    lookups: int = 0
    #: the qualifier of the ``all`` that ends evaluation ("-", "~", "?", "+"), or None when there is none
    all_qualifier: str | None = None
    #: what makes the record fail the check (permerrors, a missing included record)
    problems: list[str] = field(default_factory=list)
    #: names whose answer is unknown (resolver failure) or were not followed: the count may be higher
    unknown: list[str] = field(default_factory=list)


def evaluate_spf(record: str, chain: dict[str, DnsAnswer]) -> SpfEvaluation:
    """Count ``record``'s DNS lookups through ``chain`` (the TXT answers of the names it includes or redirects to)
    and find the ``all`` that ends it (or its redirect target's)."""
    result = SpfEvaluation()
    result.all_qualifier = _walk(record, chain, result, path=(), top=True)
    return result


Chain = dict[str, DnsAnswer]


def _walk(record: str, chain: Chain, result: SpfEvaluation, path: tuple[str, ...], top: bool) -> str | None:
    terms = spf_terms(record)
    for term in terms:
        if term.name == "?":
            result.problems.append(f"unparsable term {term.value[:60]!r} (permerror)")
    final_all: str | None = None
    redirect: str | None = None
    for term in terms:
        if term.name in LOOKUP_TERMS:
            result.lookups += 1
        if term.qualifier == "=":
            if term.name == "redirect":
                redirect = term.value
            continue
        if term.name == "all":
            final_all = term.qualifier
            break  # RFC 7208 section 5.1: mechanisms after "all" are never tested
        if term.name == "include":
            _follow(term.value, chain, result, path, "include")
    if final_all is None and redirect is not None:
        # RFC 7208 section 6.1: redirect applies only when no mechanism matched, i.e. the record has no "all"
        target = _follow(redirect, chain, result, path, "redirect")
        return target if top else None
    return final_all if top else None


def _follow(value: str, chain: Chain, result: SpfEvaluation, path: tuple[str, ...], how: str) -> str | None:
    """Walk the record at ``value``; returns its final ``all`` qualifier (what a redirect ends with)."""
    if not _expandable(value):
        result.unknown.append(f"{how}:{value[:60]} (a macro: its lookups are not counted)")
        return None
    name = value.rstrip(".").lower()
    if name in path:
        result.problems.append(f"{how}:{name} loops back to itself (permerror)")
        return None
    answer = chain.get(name)
    if answer is None:
        if result.lookups <= SPF_LOOKUP_LIMIT:
            result.unknown.append(f"{how}:{name} (not read)")
        return None
    if answer.outcome == "failed":
        result.unknown.append(f"{how}:{name} ({answer.error or 'DNS failure'})")
        return None
    records = spf_records(answer)
    if len(records) != 1:
        # RFC 7208 sections 5.2 and 6.1: none or several records at an included or redirect name is a permerror
        what = "no SPF record" if not records else f"{len(records)} SPF records"
        result.problems.append(f"{how}:{name} has {what} (permerror)")
        return None
    if how == "include":
        _walk(records[0], chain, result, (*path, name), top=False)
        return None
    return _walk(records[0], chain, result, (*path, name), top=True)


@dataclass(frozen=True)
class DmarcPolicy:
    tags: dict[str, str]

    @property
    def policy(self) -> str:
        return self.tags.get("p", "").lower()

    @property
    def subdomain_policy(self) -> str:
        """``sp``, or ``p`` when there is no ``sp`` (RFC 7489 section 6.3)."""
        return self.tags.get("sp", self.tags.get("p", "")).lower()


def dmarc_records(answer: DnsAnswer) -> list[str]:
    """The TXT records at ``_dmarc.<domain>`` that are DMARC records (RFC 7489 section 6.6.3: others discarded)."""
    return [r for r in answer.records if _DMARC.match(r)]


def dmarc_policy(record: str) -> DmarcPolicy:
    """The tags of a DMARC record (names lower-case, values stripped; RFC 7489 section 6.4)."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    return DmarcPolicy(tags)


#: RFC 7489 section 6.3: the policies that act on failing mail
ENFORCING = frozenset({"quarantine", "reject"})
#: every value RFC 7489 section 6.3 defines for p, sp (and RFC 9989 for np)
POLICY_WORDS = ENFORCING | {"none"}


def policy_word(value: str, absent: str = "missing") -> str:
    """A p/sp/np value as a finding shows it: a defined word as it is, anything else the domain's owner wrote
    quoted and cut to 40 characters (it is the domain owner's text, not ours)."""
    if not value:
        return absent
    return value if value in POLICY_WORDS else repr(value[:40])


def dmarc_problems(policy: DmarcPolicy) -> list[str]:
    """Why a DMARC policy does not protect the domain: p/sp not quarantine or reject, pct below 100, no rua."""
    problems: list[str] = []
    if policy.policy not in ENFORCING:
        problems.append(f"p={policy_word(policy.policy)}: failing mail is not quarantined or rejected")
    if "sp" in policy.tags and policy.subdomain_policy not in ENFORCING:
        problems.append(
            f"sp={policy_word(policy.subdomain_policy, 'empty')}: mail from subdomains is not quarantined or rejected"
        )
    return problems + _reach_problems(policy)


def inherited_problems(policy: DmarcPolicy, *, exists: bool) -> list[str]:
    """Why a DMARC policy found above a subdomain with no record of its own does not protect the subdomain: the
    policy a receiver applies to it is ``sp``, or ``p`` without ``sp`` (RFC 7489 section 6.6.3 step 4 and 6.3);
    ``np`` too when the subdomain may not exist (RFC 9989: a name with no DNS records at all); pct, rua as for the
    domain's own record. ``exists``: the subdomain answered (records or NODATA), so ``np`` does not apply."""
    problems: list[str] = []
    if policy.subdomain_policy not in ENFORCING:
        tag = "sp" if "sp" in policy.tags else "p"
        problems.append(
            f"{tag}={policy_word(policy.subdomain_policy)}: mail from the subdomain is not quarantined or rejected"
        )
    if not exists and "np" in policy.tags and policy.tags["np"].lower() not in ENFORCING:
        problems.append(
            f"np={policy_word(policy.tags['np'].lower(), 'empty')}: mail from a name with no DNS records is not "
            "quarantined or rejected"
        )
    return problems + _reach_problems(policy)


def _reach_problems(policy: DmarcPolicy) -> list[str]:
    """pct below 100 (RFC 7489 section 6.3) and no rua=mailto: reporting address."""
    problems: list[str] = []
    pct = policy.tags.get("pct", "100")
    if not pct.isdigit() or int(pct) > 100:
        problems.append(f"pct={pct[:20]} is not a number from 0 to 100")
    elif int(pct) < 100:
        problems.append(f"pct={int(pct)}: the policy applies to {int(pct)}% of failing mail only")
    if not any(uri.strip().lower().startswith("mailto:") for uri in policy.tags.get("rua", "").split(",")):
        problems.append("no rua reporting address: nobody receives the aggregate reports")
    return problems


#: RFC 6376 section 3.6.1 ``key-p-tag``: a base64string (whitespace removed before matching)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def dkim_key(record: str) -> tuple[bool, str]:
    """Whether a TXT record is a usable DKIM key record (RFC 6376 section 3.6.1): ``v`` absent or "DKIM1" and first,
    ``p`` present, not empty (empty: the key is revoked) and base64. Returns (usable, why not)."""
    tags: list[tuple[str, str]] = []
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.append((name.strip().lower(), re.sub(r"\s+", "", value)))
    names = [n for n, _ in tags]
    if "v" in names and (names[0] != "v" or dict(tags)["v"] != "DKIM1"):
        return False, "not a DKIM1 key record"
    if "p" not in names:
        return False, "no p= (public key) tag"
    key = dict(tags)["p"]
    if not key:
        return False, "p= is empty: the key is revoked"
    if not _BASE64.match(key):
        return False, "p= is not a base64 public key"
    return True, ""
