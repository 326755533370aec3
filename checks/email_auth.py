"""Email authentication per mail domain: SPF (RFC 7208), DMARC (RFC 7489) and DKIM (RFC 6376).

A domain whose answer is unknown (SERVFAIL, timeout) is not seen: with no failing domain the result is then
not_assessed, never pass. A record that does not exist (NXDOMAIN, NODATA) is a failure: the record is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.email import (
    ALL_QUALIFIERS,
    SPF_LOOKUP_LIMIT,
    dkim_key,
    dmarc_policy,
    dmarc_problems,
    dmarc_records,
    evaluate_spf,
    inherited_problems,
    policy_word,
    spf_records,
)
from hygiene.model import DmarcInherited, DnsAnswer, EmailData, EmailDomain, ReasonKind

_REQUIRES = ("email.records",)
_PERMISSIONS = (
    "Domain.Read.All (Microsoft 365 domains)",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly (Google Workspace domains)",
    "dns:TXT (the [dns] nameservers or the system resolver)",
)
#: who publishes each platform's DKIM selector records, for the findings
_SELECTORS = {"m365": ("selector1", "selector2"), "google": ("google",)}


def _unseen(data: EmailData) -> list[tuple[ReasonKind, str]]:
    return [(ReasonKind.NOT_COLLECTED, why) for why in data.unseen]


def _note(data: EmailData) -> str:
    note = f"DNS read through {data.resolver}"
    return note + f"; not judged: {'; '.join(data.excluded)}" if data.excluded else note


def _failed(answer: DnsAnswer, domain: EmailDomain) -> tuple[ReasonKind, str]:
    why = answer.error or "DNS failure"
    return ReasonKind.UNREACHABLE, f"{domain.name}: {answer.name} TXT could not be read ({why})"


def _finding(domain: EmailDomain, detail: str) -> Finding:
    return Finding(resource_id=f"domain:{domain.name}", resource_name=domain.name, detail=detail)


def _missing(answer: DnsAnswer) -> str:
    return "the name does not exist (NXDOMAIN)" if answer.outcome == "nxdomain" else "no TXT record (NODATA)"


@check(
    id="email.spf",
    summary="{open} of {assessed} mail domains have no SPF record that stops others sending as them",
    title="Every mail domain publishes one SPF record ending -all or ~all, within 10 DNS lookups",
    area="email",
    platform="email",
    severity="high",
    requires=_REQUIRES,
    description="Per verified mail domain (Microsoft 365 domains with the Email service, Google Workspace domains "
    "and aliases, and [dns] domains): exactly one TXT record starting v=spf1 (RFC 7208 4.5), ending with -all "
    "(fail: reject mail from elsewhere) or ~all (softfail: accept but mark; a pass with a reservation), and at "
    "most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect) counted through what it includes "
    "(RFC 7208 4.6.4). +all, ?all, no all (the default is neutral), two records, a loop or an included name with "
    "no SPF record fail. A domain whose DNS answer is unknown (SERVFAIL, timeout) is not assessed.",
    remediation="Publish a single TXT record at the domain: 'v=spf1 include:spf.protection.outlook.com -all' "
    "(Microsoft 365) or 'v=spf1 include:_spf.google.com ~all' (Google Workspace), merging any other senders into "
    "it, and flatten includes until it needs at most 10 DNS lookups.",
    references=(
        "https://www.rfc-editor.org/rfc/rfc7208",
        "https://learn.microsoft.com/defender-office-365/email-authentication-spf-configure",
        "https://support.google.com/a/answer/10684623",
    ),
    permissions=_PERMISSIONS,
)
def spf(ctx: CheckContext) -> Outcome:
    data = ctx.of(EmailData)
    findings: list[Finding] = []
    unseen = _unseen(data)
    softfail: list[str] = []
    for domain in data.domains:
        answer = domain.spf
        if answer.outcome == "failed":
            unseen.append(_failed(answer, domain))
            continue
        records = spf_records(answer)
        if not records:
            missing = _missing(answer) if answer.outcome != "answer" else "no TXT record starts with v=spf1"
            findings.append(_finding(domain, f"no SPF record: {missing}"))
            continue
        if len(records) > 1:
            findings.append(_finding(domain, f"{len(records)} SPF records: receivers treat it as an error (permerror)"))
            continue
        if answer.cut:
            findings.append(_finding(domain, "the SPF record is longer than a DNS answer should carry (cut)"))
            continue
        result = evaluate_spf(records[0], domain.spf_chain)
        problems = list(result.problems)
        if result.all_qualifier is None:
            problems.append("does not end with -all or ~all: mail from elsewhere gets the default neutral result")
        elif result.all_qualifier in ("+", "?"):
            problems.append(f"ends with {ALL_QUALIFIERS[result.all_qualifier]}")
        if result.lookups > SPF_LOOKUP_LIMIT:
            problems.append(f"needs {result.lookups} DNS lookups, over the limit of {SPF_LOOKUP_LIMIT} (permerror)")
        if problems:
            findings.append(_finding(domain, "; ".join(problems)))
        elif result.unknown:
            unseen.append(
                (ReasonKind.UNREACHABLE, f"{domain.name}: lookups not all counted: {', '.join(result.unknown)}")
            )
        elif result.all_qualifier == "~":
            softfail.append(domain.name)
    return Outcome(
        assessed=len(data.domains),
        findings=findings,
        unseen=tuple(unseen),
        note=_note(data),
        reservation=(
            f"{', '.join(softfail)} end with ~all (softfail): receivers may still deliver mail from elsewhere, "
            "marked; -all rejects it"
            if softfail
            else None
        ),
    )


@check(
    id="email.dmarc",
    summary="{open} of {assessed} mail domains do not tell receivers to quarantine or reject spoofed mail",
    title="Every mail domain publishes a DMARC policy of quarantine or reject with a reporting address",
    area="email",
    platform="email",
    severity="high",
    requires=_REQUIRES,
    description="Per mail domain: exactly one TXT record at _dmarc.<domain> starting v=DMARC1 (RFC 7489 6.6.3), "
    "with p=quarantine or p=reject, sp= (when present) quarantine or reject, pct= absent or 100 (a lower pct "
    "applies the policy to part of the failing mail only, RFC 7489 6.3) and a rua=mailto: reporting address. "
    "A subdomain with no record of its own inherits its organisational domain's (RFC 7489 6.6.3: sp=, else p=, "
    "must be quarantine or reject, with pct and rua as above); the organisational domain is taken by the whole "
    "Public Suffix List and by its ICANN section, and RFC 9989's tree walk applies the closest record above: each "
    "of these must protect it. A missing record fails; a DNS failure is not assessed.",
    remediation="Publish 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<domain>' at _dmarc.<domain> (after "
    "monitoring with p=none, move to quarantine, then reject); remove pct= or set it to 100.",
    references=(
        "https://www.rfc-editor.org/rfc/rfc7489",
        "https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure",
        "https://support.google.com/a/answer/2466563",
    ),
    permissions=_PERMISSIONS,
)
def dmarc(ctx: CheckContext) -> Outcome:
    data = ctx.of(EmailData)
    findings: list[Finding] = []
    unseen = _unseen(data)
    inherited: list[str] = []
    for domain in data.domains:
        answer = domain.dmarc
        if answer.outcome == "failed":
            unseen.append(_failed(answer, domain))
            continue
        records = dmarc_records(answer)
        if len(records) > 1:
            findings.append(_finding(domain, f"{len(records)} DMARC records: receivers apply none of them"))
        elif records:
            if problems := dmarc_problems(dmarc_policy(records[0])):
                findings.append(_finding(domain, "; ".join(problems)))
        elif domain.dmarc_inherited is None:
            missing = _missing(answer) if answer.outcome != "answer" else "no TXT record starts with v=DMARC1"
            findings.append(_finding(domain, f"no DMARC record at _dmarc.{domain.name}: {missing}"))
        else:
            missing = _missing(answer) if answer.outcome != "answer" else "no TXT record starts with v=DMARC1"
            verdict = _inherited(domain, domain.dmarc_inherited)
            if isinstance(verdict, tuple):
                unseen.append(verdict)
            elif verdict.problems:
                own = f"no DMARC record at _dmarc.{domain.name} ({missing})"
                findings.append(_finding(domain, f"{own}; {'; '.join(verdict.problems)}"))
            else:
                inherited.append(f"{domain.name} from {', '.join(verdict.sources)}")
    note = _note(data)
    if inherited:
        note += "; policy inherited (no record of their own, RFC 7489 6.6.3): " + "; ".join(inherited)
    return Outcome(assessed=len(data.domains), findings=findings, unseen=tuple(unseen), note=note)


@dataclass(frozen=True)
class _Inherited:
    #: the ``_dmarc`` names whose records receivers may apply, each with the policy it gives (``sp=reject``)
    sources: list[str]
    problems: list[str]


def _inherited(domain: EmailDomain, above: DmarcInherited) -> _Inherited | tuple[ReasonKind, str]:
    """Judge the records above a subdomain with none of its own, as every receiver may: RFC 7489 with the whole
    Public Suffix List (``_dmarc.<organisational domain>``), with its ICANN section only, and RFC 9989's tree walk
    (the closest record above). Each must exist and protect the subdomain: where they differ the worst counts.
    A name that could not be read or was not asked: not assessed (the policy receivers apply is unknown)."""
    if above.not_asked:
        return ReasonKind.NOT_COLLECTED, f"{domain.name}: _dmarc names above it not asked: {', '.join(above.not_asked)}"
    for read in above.answers:
        if read.outcome == "failed":
            return _failed(read, domain)
    by_name = {a.name: a for a in above.answers}
    closest = next((a.name for a in above.answers if dmarc_records(a)), None)
    names = [f"_dmarc.{above.organisational_domain}", f"_dmarc.{above.icann_organisational_domain}"]
    sources: list[str] = []
    problems: list[str] = []
    exists = domain.spf.outcome in ("answer", "nodata")
    for name in dict.fromkeys([closest, *names] if closest else names):
        answer = by_name.get(name)
        if answer is None:
            return ReasonKind.NOT_COLLECTED, f"{domain.name}: {name} not read"
        records = dmarc_records(answer)
        if not records:
            why = _missing(answer) if answer.outcome != "answer" else "no v=DMARC1 record"
            problems.append(f"none at {name} either ({why})")
        elif len(records) > 1:
            problems.append(f"{len(records)} DMARC records at {name}: receivers apply none of them")
        else:
            policy = dmarc_policy(records[0])
            tag = "sp" if "sp" in policy.tags else "p"
            sources.append(f"{name} ({tag}={policy_word(policy.subdomain_policy)})")
            problems += [f"inherited from {name}: {p}" for p in inherited_problems(policy, exists=exists)]
    return _Inherited(sources=sources, problems=problems)


#: where Microsoft 365's selector CNAMEs point: ``selector1-<domain-with-dashes>._domainkey.<initial domain>`` (the
#: format of domains added before May 2025) or ``...._domainkey.<initial prefix>.<partition>-v1.dkim.mail.microsoft``
#: (https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure)
MICROSOFT_DKIM_TARGETS = (".onmicrosoft.com", ".dkim.mail.microsoft")


def _dkim_problems(domain: EmailDomain, platform: str) -> tuple[list[str], list[str]]:
    """(problems, unknown) of one platform's selectors on ``domain``. Microsoft 365: both CNAMEs published to
    Microsoft, and at least one resolving to a key (only one selector is active; the other waits for a rotation).
    Google Workspace: its one selector holds a usable key."""
    problems: list[str] = []
    unknown: list[str] = []
    keys: list[str] = []
    not_keys: list[str] = []
    for selector in _SELECTORS[platform]:
        answer = domain.dkim.get(selector)
        where = f"{selector}._domainkey.{domain.name}"
        if answer is None:
            unknown.append(f"{where} not read")
            continue
        if answer.outcome == "failed":
            unknown.append(f"{where} could not be read ({answer.error or 'DNS failure'})")
            continue
        if platform == "m365" and not (answer.canonical or "").endswith(MICROSOFT_DKIM_TARGETS):
            if answer.canonical:
                problems.append(f"{where} is a CNAME to {answer.canonical}, not to Microsoft's DKIM key")
            elif answer.outcome == "answer":
                problems.append(f"{where} is a TXT record, not the CNAME to Microsoft's DKIM key")
            else:
                problems.append(f"{where} is not published ({_missing(answer)})")
            continue
        texts = answer.records if answer.outcome == "answer" else []
        usable = [dkim_key(r) for r in texts]
        if any(ok for ok, _ in usable):
            keys.append(where)
            continue
        why = next((w for ok, w in usable if not ok), None) or _missing(answer)
        not_keys.append(f"{where}: no DKIM key ({why})")
    if not problems and not unknown and not keys:
        problems += not_keys or [f"no {platform} DKIM key"]
    return problems, unknown


@check(
    id="email.dkim",
    summary="{open} of {assessed} mail domains publish no DKIM key for the platform sending their mail",
    title="Every mail domain publishes its mail platform's DKIM keys",
    area="email",
    platform="email",
    severity="medium",
    requires=_REQUIRES,
    description="Per mail domain, for the platform holding it only: Microsoft 365's selector1._domainkey and "
    "selector2._domainkey must both be CNAMEs to Microsoft (*.onmicrosoft.com, or *.dkim.mail.microsoft for domains "
    "added since May 2025), at least one resolving to a DKIM key (one selector is active, the other waits for a key "
    "rotation); Google Workspace's "
    "google._domainkey must be a TXT record 'v=DKIM1; p=<base64 key>' (an empty p= is a revoked key, RFC 6376 "
    "3.6.1). "
    "Domains only listed under [dns] domains are not judged (their selectors are unknown). DNS shows the keys "
    "published, not that the platform signs with them (Microsoft: DKIM enabled in the Defender portal).",
    remediation="Microsoft 365: Defender portal > Email & collaboration > Policies > Email authentication "
    "settings > DKIM: publish the two CNAMEs shown, then enable signing. Google Workspace: Admin console > Apps > "
    "Google Workspace > Gmail > Authenticate email: generate the key, publish the TXT record at "
    "google._domainkey, then start authentication.",
    references=(
        "https://www.rfc-editor.org/rfc/rfc6376",
        "https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure",
        "https://support.google.com/a/answer/174124",
    ),
    permissions=_PERMISSIONS,
)
def dkim(ctx: CheckContext) -> Outcome:
    data = ctx.of(EmailData)
    findings: list[Finding] = []
    unseen = _unseen(data)
    judged = [d for d in data.domains if any(p in _SELECTORS for p in d.platforms)]
    for domain in judged:
        problems: list[str] = []
        unknown: list[str] = []
        for platform in (p for p in domain.platforms if p in _SELECTORS):
            mine, not_known = _dkim_problems(domain, platform)
            problems += mine
            unknown += not_known
        if problems:
            findings.append(_finding(domain, "; ".join(problems)))
        elif unknown:
            unseen.append((ReasonKind.UNREACHABLE, f"{domain.name}: {'; '.join(unknown)}"))
    skipped = len(data.domains) - len(judged)
    note = _note(data)
    if skipped:
        note += f"; {skipped} domain(s) listed only under [dns] domains not judged (selectors unknown)"
    m365 = any("m365" in d.platforms for d in judged)
    return Outcome(
        assessed=len(judged),
        findings=findings,
        unseen=tuple(unseen),
        note=note,
        reservation="DNS shows Microsoft's DKIM keys published; whether Exchange Online signs with them (DKIM "
        "enabled) is not visible to Microsoft Graph"
        if m365
        else None,
    )
