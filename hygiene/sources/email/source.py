"""The email-authentication source: the DNS records of every verified mail domain the identity platforms hold.

Read after Microsoft 365 and Google Workspace in the scan order (:meth:`EmailSource.read_after` takes their
domains from the snapshot), plus the domains ``[dns] domains`` lists. Per domain it asks for the TXT records at the
domain (SPF), at the names its SPF record includes or redirects to (recursively, at most
:data:`~hygiene.checklib.email.SPF_CHAIN_BOUND` names), at ``_dmarc.<domain>`` (DMARC) and at the DKIM selectors
of the platforms holding it (``selector1``/``selector2`` for Microsoft 365, ``google`` for Google Workspace); when
``_dmarc.<domain>`` holds no DMARC record, at ``_dmarc.`` of the names above it up to its organisational domain
(:mod:`hygiene.sources.email.orgdomain`). The checks judge the answers offline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import structlog

from hygiene.checklib.email import SPF_CHAIN_BOUND, dmarc_records, spf_records, spf_targets
from hygiene.config import DnsConfig
from hygiene.model import (
    DatasetState,
    DmarcInherited,
    DnsAnswer,
    EmailData,
    EmailDomain,
    MailDomain,
    ReasonKind,
    Snapshot,
    SourceRun,
)
from hygiene.sources.email.catalogue import DATASETS
from hygiene.sources.email.orgdomain import dmarc_walk, psl_version
from hygiene.sources.email.resolver import DnsReader, ResolverUnavailable
from hygiene.sources.interface import Collected, RawRecorder, Source, not_selected

log = structlog.get_logger(__name__)

DATASET = DATASETS[0].name
#: domains read at once: a resolver that times out costs ``[dns] timeout`` per question, so domains are not waited
#: for one after another (each domain's own questions stay in order: its SPF includes follow its SPF record)
LANES = 8
#: the DKIM selectors each platform publishes: Microsoft 365's two CNAMEs (to ``*.onmicrosoft.com``), Google's
#: default ``google`` TXT record
SELECTORS = {"m365": ("selector1", "selector2"), "google": ("google",)}
#: the initial domain every Microsoft 365 tenant has: its SPF, MX and DKIM records are Microsoft's to publish
MICROSOFT_MANAGED = ".onmicrosoft.com"
_TITLES = {"m365": "Microsoft 365", "google": "Google Workspace"}
#: a host name as a DNS question takes it (after IDNA): letter-digit-hyphen labels, at most 253 characters
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def dns_name(name: str) -> str | None:
    """``name`` as an ASCII DNS name (IDNA for an internationalised one), lower-case; None when it is not one."""
    text = name.strip().rstrip(".").lower()
    try:
        text = text.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    return text if _HOSTNAME.match(text) else None


def _mail_domains(domains: list[MailDomain]) -> list[str]:
    return [d.name for d in domains if d.verified and d.email]


class EmailSource(Source[EmailData]):
    platform = "email"

    def __init__(self, config: DnsConfig, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        #: domain -> the platforms holding it
        self.domains: dict[str, list[str]] = {}
        self.unseen: list[tuple[ReasonKind, str]] = []
        self.excluded: list[str] = []

    def read_after(self, snapshot: Snapshot) -> None:
        for platform, data in (("m365", snapshot.m365), ("google", snapshot.google)):
            run = snapshot.sources.get(platform)
            if run is None or data is None:
                continue
            state = run.datasets.get(f"{platform}.domains")
            if state is None or not state.available:
                why = state.reason if state is not None else "not read by this version"
                kind = (state.reason_kind if state is not None else None) or ReasonKind.NOT_COLLECTED
                needs = f" (needs {', '.join(state.needs)})" if state is not None and state.needs else ""
                self.unseen.append((kind, f"{_TITLES[platform]} domains not read: {why}{needs}"))
                continue
            for name in _mail_domains(data.domains):
                if name.lower().rstrip(".").endswith(MICROSOFT_MANAGED):
                    self.excluded.append(f"{name}: Microsoft's initial domain (its DNS is Microsoft's)")
                else:
                    self.add(name, platform)
        for name in self.config.domains:
            self.add(name, None)

    def add(self, name: str, platform: str | None) -> None:
        ascii_name = dns_name(name)
        if ascii_name is None:
            self.unseen.append((ReasonKind.ERROR, f"domain {name[:80]!r} is not a DNS name"))
            return
        platforms = self.domains.setdefault(ascii_name, [])
        if platform is not None and platform not in platforms:
            platforms.append(platform)

    def collect(self, raw: RawRecorder, datasets: frozenset[str] | None = None) -> Collected[EmailData]:
        started = datetime.now(UTC)
        data = EmailData(unseen=[why for _, why in self.unseen], excluded=self.excluded)
        errors: list[str] = []
        questions = 0
        if datasets is not None and DATASET not in datasets:
            state = not_selected()
        else:
            try:
                reader = DnsReader(self.config, raw)
            except ResolverUnavailable as exc:
                state = DatasetState(available=False, reason_kind=ReasonKind.UNREACHABLE, reason=str(exc))
                errors.append(str(exc))
            else:
                data.resolver = reader.where
                with ThreadPoolExecutor(max_workers=LANES, thread_name_prefix="hygiene-dns") as pool:
                    data.domains = list(
                        pool.map(lambda item: self._domain(reader, *item), sorted(self.domains.items()))
                    )
                questions = reader.questions
                raw.dataset_read(DATASET, len(data.domains))
                state = self._state(data)
        run = SourceRun(
            platform=self.platform,
            status=self.summarise_status({DATASET: state}),
            started_at=started,
            finished_at=datetime.now(UTC),
            scope={"resolver": data.resolver},
            requests=questions,
            errors=errors,
            endpoints=["dns:TXT"] if questions else [],
            datasets={DATASET: state},
        )
        return Collected(run=run, data=data)

    def _state(self, data: EmailData) -> DatasetState:
        if data.domains or not self.unseen:
            return DatasetState(available=True, endpoint="dns:TXT", records=len(data.domains))
        return DatasetState(
            available=False,
            reason_kind=self.unseen[0][0],
            reason="no mail domain to check: " + "; ".join(w for _, w in self.unseen),
            needs=[n for _, w in self.unseen for n in _needs(w)],
        )

    @staticmethod
    def _domain(reader: DnsReader, name: str, platforms: list[str]) -> EmailDomain:
        spf = reader.txt(name)
        chain: dict[str, DnsAnswer] = {}
        records = spf_records(spf)
        pending = spf_targets(records[0]) if len(records) == 1 else []
        while pending and len(chain) < SPF_CHAIN_BOUND:
            target = pending.pop(0)
            if target in chain or target == name:
                continue
            answer = chain[target] = reader.txt(target)
            found = spf_records(answer)
            if len(found) == 1:
                pending.extend(spf_targets(found[0]))
        dkim = {
            selector: reader.txt(f"{selector}._domainkey.{name}")
            for platform in platforms
            for selector in SELECTORS.get(platform, ())
        }
        dmarc = reader.txt(f"_dmarc.{name}")
        return EmailDomain(
            name=name,
            platforms=platforms,
            spf=spf,
            spf_chain=chain,
            dmarc=dmarc,
            dmarc_inherited=_inherited(reader, name, dmarc),
            dkim=dkim,
        )


def _inherited(reader: DnsReader, name: str, dmarc: DnsAnswer) -> DmarcInherited | None:
    """The ``_dmarc`` answers above ``name`` when its own answer holds no DMARC record (NXDOMAIN, NODATA, or only
    other TXT records: RFC 7489 section 6.6.3) and it is below its organisational domain. One question per name
    above it up to the organisational domain: one for ``mail.example.co.uk``; none for an organisational domain,
    a failed answer (its record may exist) or several DMARC records (no fallback: policy discovery ends)."""
    if dmarc.outcome == "failed" or dmarc_records(dmarc):
        return None
    walk = dmarc_walk(name)
    if walk is None:
        return None
    return DmarcInherited(
        organisational_domain=walk.organisational_domain,
        icann_organisational_domain=walk.icann_organisational_domain,
        psl_version=psl_version(),
        answers=[reader.txt(f"_dmarc.{ancestor}") for ancestor in walk.ancestors],
        not_asked=list(walk.beyond),
    )


def _needs(why: str) -> list[str]:
    marker = "(needs "
    return [n.strip() for n in why.split(marker, 1)[1].rstrip(")").split(",")] if marker in why else []
