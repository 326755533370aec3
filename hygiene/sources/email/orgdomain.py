"""Organisational domains (RFC 7489 section 3.2) and the names a receiver asks for a subdomain's DMARC policy.

RFC 7489 section 3.2 takes the organisational domain from "a public suffix list" without saying which part of
publicsuffix.org's list; receivers differ (whole list, or its ICANN section only), and RFC 9989 (DMARCbis, which
obsoletes RFC 7489) drops the list for a DNS tree walk that applies the closest ``_dmarc`` record above the
domain. So the source asks every name one of these receivers would use, and the check passes a subdomain only
when all of them enforce (:mod:`checks.email_auth`): never a pass that one kind of receiver does not apply.
The list is the one ``publicsuffixlist`` bundles (no network), parsed once per process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList
from publicsuffixlist import __version__ as PSL_PACKAGE_VERSION

#: at most this many ``_dmarc`` names asked above one domain (RFC 9989 bounds its tree walk to 8 questions, the
#: domain's own included); a deeper domain is not assessed
WALK_BOUND = 7


@dataclass(frozen=True)
class DmarcWalk:
    """What to ask for a domain's inherited DMARC policy: ``ancestors`` from the closest parent up (the names
    between the domain and its organisational domain, then the organisational domain by the whole list, then by
    the ICANN section when that differs); ``beyond``: the names above the bound, not asked."""

    organisational_domain: str
    icann_organisational_domain: str
    ancestors: tuple[str, ...]
    beyond: tuple[str, ...]


@functools.cache
def _lists() -> tuple[PublicSuffixList, PublicSuffixList]:
    return PublicSuffixList(), PublicSuffixList(only_icann=True)


def psl_version() -> str:
    """The publicsuffixlist package version; its last part is the date of the list it bundles."""
    return PSL_PACKAGE_VERSION


def dmarc_walk(domain: str) -> DmarcWalk | None:
    """The names to ask when ``domain`` (ASCII, lower-case) has no DMARC record of its own; None when it is its own
    organisational domain by either part of the list (or a public suffix): RFC 7489 has no fallback for it."""
    whole, icann = _lists()
    organisational = whole.privatesuffix(domain)
    icann_organisational = icann.privatesuffix(domain)
    if organisational is None or icann_organisational is None or domain in (organisational, icann_organisational):
        return None
    labels = domain.split(".")
    depth = len(labels) - len(organisational.split("."))
    names = [".".join(labels[i:]) for i in range(1, depth + 1)]
    if icann_organisational != organisational:
        names.append(icann_organisational)
    return DmarcWalk(
        organisational_domain=organisational,
        icann_organisational_domain=icann_organisational,
        ancestors=tuple(names[:WALK_BOUND]),
        beyond=tuple(names[WALK_BOUND:]),
    )
