"""The email platform at its DNS boundary: dnspython's resolver against the sandbox's DNS server on 127.0.0.1.

No mock of our own code: each test serves a zone over real UDP and TCP and reads it through the source.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import collect

from hygiene.config import DnsConfig
from hygiene.model import (
    DatasetState,
    GoogleData,
    M365Data,
    MailDomain,
    OrganisationRef,
    ReasonKind,
    Snapshot,
    SourceRun,
)
from hygiene.sources.email.orgdomain import WALK_BOUND, dmarc_walk
from hygiene.sources.email.resolver import MAX_RECORD_CHARS, DnsReader
from hygiene.sources.email.source import EmailSource, dns_name
from hygiene.sources.interface import RawRecorder
from hygiene_sandbox.dns_server import DnsSandbox, DnsZone

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KEY = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDG"
HOSTILE = "v=spf1 \x1b[31m<script>alert(1)</script>\u202e\u2028 -all"


def zone() -> DnsZone:
    return DnsZone(
        records={
            "good.example": {"TXT": ["MS=ms123", "v=spf1 include:_spf.good.example -all"]},
            "_spf.good.example": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
            "_dmarc.good.example": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@good.example"]},
            "selector1._domainkey.good.example": {"CNAME": ["selector1-good-example._domainkey.t.onmicrosoft.com"]},
            "selector1-good-example._domainkey.t.onmicrosoft.com": {"TXT": [KEY]},
            "selector2._domainkey.good.example": {"CNAME": ["selector2-good-example._domainkey.t.onmicrosoft.com"]},
            # a CNAME whose target Microsoft never published: NXDOMAIN at the end of the chain
            "huge.example": {"TXT": ["v=spf1 " + "ip4:192.0.2.1 " * 600 + "-all"]},
            "hostile.example": {"TXT": [HOSTILE]},
            "many.example": {"TXT": [f"record {i}" for i in range(40)]},
            # an empty non-terminal's child: _domainkey.good.example exists without records
        },
        failing=["broken.example"],
    )


@pytest.fixture
def server() -> Iterator[DnsSandbox]:
    with DnsSandbox(zone()) as dns:
        yield dns


def reader(server: DnsSandbox, tmp_path: Path | None = None, timeout: float = 3.0) -> DnsReader:
    config = DnsConfig(nameservers=["127.0.0.1"], port=server.port, timeout=timeout)
    return DnsReader(config, RawRecorder(tmp_path, "email"))


def test_records_nxdomain_nodata_and_cname_chains(server: DnsSandbox) -> None:
    dns = reader(server)
    good = dns.txt("good.example")
    assert good.outcome == "answer" and sorted(good.records) == ["MS=ms123", "v=spf1 include:_spf.good.example -all"]
    assert good.canonical is None and not good.cut
    assert dns.txt("nothing.example").outcome == "nxdomain"
    assert dns.txt("_domainkey.good.example").outcome == "nodata"  # exists: it has names under it
    selector = dns.txt("selector1._domainkey.good.example")
    assert selector.outcome == "answer" and selector.records == [KEY]
    assert selector.canonical == "selector1-good-example._domainkey.t.onmicrosoft.com"
    dangling = dns.txt("selector2._domainkey.good.example")
    assert dangling.outcome == "nxdomain"
    assert dangling.canonical == "selector2-good-example._domainkey.t.onmicrosoft.com"  # where the chain ended
    assert dns.questions == 5 and server.queries >= 5 and server.tcp_queries == 0


def test_servfail_is_a_failure_never_a_missing_record(server: DnsSandbox) -> None:
    answer = reader(server).txt("broken.example")
    assert answer.outcome == "failed" and "SERVFAIL" in (answer.error or "")
    assert reader(server).txt("_dmarc.broken.example").outcome == "failed"


def test_a_resolver_that_never_answers_is_a_failure(tmp_path: Path) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        config = DnsConfig(nameservers=["127.0.0.1"], port=silent.getsockname()[1], timeout=0.5)
        answer = DnsReader(config, RawRecorder(None, "email")).txt("good.example")
    finally:
        silent.close()
    assert answer.outcome == "failed" and answer.error


def test_a_large_answer_comes_over_tcp_and_a_huge_record_is_cut(server: DnsSandbox) -> None:
    answer = reader(server).txt("huge.example")
    assert server.tcp_queries == 1  # the UDP answer came back truncated (TC): asked again over TCP
    assert answer.outcome == "answer" and answer.cut
    assert len(answer.records[0]) == MAX_RECORD_CHARS and answer.records[0].startswith("v=spf1 ip4:192.0.2.1 ")


def test_hostile_text_is_normalised_at_the_source(server: DnsSandbox, tmp_path: Path) -> None:
    answer = reader(server, tmp_path).txt("hostile.example")
    (text,) = answer.records
    assert "\x1b" not in text and "\u202e" not in text and "\u2028" not in text
    assert text.count("\ufffd") == 3 and "<script>" in text  # markup stays text: each output escapes it
    many = reader(server).txt("many.example")
    assert many.cut and len(many.records) == 32
    raw = sorted((tmp_path / "email").glob("*.txt"))
    assert raw and "hostile.example" in raw[0].read_text()


def test_names_are_dns_names() -> None:
    assert dns_name("Example.COM.") == "example.com"
    assert dns_name("bücher.example") == "xn--bcher-kva.example"
    assert dns_name("a b.example") is None and dns_name("x" * 300 + ".example") is None


def _snapshot(m365: list[MailDomain] | None, google: DatasetState | None = None) -> Snapshot:
    snapshot = Snapshot(tool_version="t", organisation=OrganisationRef(id="o", name="O"), collected_at=NOW)
    run = SourceRun(platform="m365", status="ok", started_at=NOW, finished_at=NOW)
    if m365 is None:
        run.datasets["m365.domains"] = DatasetState(
            available=False, reason_kind=ReasonKind.PERMISSION, reason="denied", needs=["Domain.Read.All"]
        )
    else:
        run.datasets["m365.domains"] = DatasetState(available=True)
    snapshot.attach("m365", run, M365Data(tenant_id="t", domains=m365 or []))
    if google is not None:
        grun = SourceRun(platform="google", status="ok", started_at=NOW, finished_at=NOW)
        grun.datasets["google.domains"] = google
        snapshot.attach("google", grun, GoogleData(customer_id="c"))
    return snapshot


def test_the_source_reads_the_verified_mail_domains_of_the_platforms(server: DnsSandbox, tmp_path: Path) -> None:
    domains = [
        MailDomain(name="good.example", verified=True, default=True),
        MailDomain(name="unverified.example", verified=False),
        MailDomain(name="nomail.example", verified=True, email=False),
        MailDomain(name="t.onmicrosoft.com", verified=True),
    ]
    denied = DatasetState(available=False, reason_kind=ReasonKind.PERMISSION, reason="scope not granted")
    source = EmailSource(DnsConfig(nameservers=["127.0.0.1"], port=server.port, domains=["broken.example"]))
    source.read_after(_snapshot(domains, google=denied))
    collected = source.collect(RawRecorder(tmp_path, "email"))
    data = collected.data
    assert [(d.name, d.platforms) for d in data.domains] == [("broken.example", []), ("good.example", ["m365"])]
    good = data.domains[1]
    assert set(good.spf_chain) == {"_spf.good.example"} and good.dmarc.outcome == "answer"
    assert set(good.dkim) == {"selector1", "selector2"}
    assert data.domains[0].spf.outcome == "failed" and data.domains[0].dkim == {}
    assert data.unseen == ["Google Workspace domains not read: scope not granted"]
    assert data.excluded and "t.onmicrosoft.com" in data.excluded[0]
    # good: SPF, its include, DMARC, two selectors; broken: SPF, DMARC
    assert collected.run.requests == 5 + 2 and collected.run.datasets["email.records"].records == 2


def test_no_domain_list_at_all_is_not_collected_naming_the_permission(server: DnsSandbox) -> None:
    source = EmailSource(DnsConfig(nameservers=["127.0.0.1"], port=server.port))
    source.read_after(_snapshot(None))
    collected = source.collect(RawRecorder(None, "email"))
    state = collected.run.datasets["email.records"]
    assert not state.available and state.reason_kind is ReasonKind.PERMISSION and state.needs == ["Domain.Read.All"]
    assert collected.run.requests == 0 and collected.run.status == "error"


def test_a_partial_scan_without_the_dataset_asks_nothing(server: DnsSandbox) -> None:
    source = EmailSource(DnsConfig(nameservers=["127.0.0.1"], port=server.port, domains=["good.example"]))
    collected = source.collect(RawRecorder(None, "email"), frozenset())
    assert not collected.run.datasets["email.records"].selected and server.queries == 0


# -- the domain datasets of the identity platforms (Graph through responses, the Directory through googlefake) ---


def test_graph_domains_are_read_and_normalised(tenant: Any) -> None:
    tenant.domains = [
        {"id": "contoso.example", "isVerified": True, "isDefault": True, "supportedServices": ["Email", "Intune"]},
        {"id": "web.contoso.example", "isVerified": True, "isDefault": False, "supportedServices": ["Sharepoint"]},
        {"id": "new.contoso.example", "isVerified": False, "isDefault": False, "supportedServices": []},
    ]
    snapshot = collect(tenant)
    assert snapshot.m365 is not None
    assert [(d.name, d.verified, d.default, d.email) for d in snapshot.m365.domains] == [
        ("contoso.example", True, True, True),
        ("web.contoso.example", True, False, False),
        ("new.contoso.example", False, False, False),
    ]
    assert snapshot.sources["m365"].datasets["m365.domains"].records == 3
    assert any("/v1.0/domains" in call and "supportedServices" in call for call in tenant.calls)


def test_graph_domains_denied_name_the_permission(tenant: Any) -> None:
    tenant.errors["/v1.0/domains"] = (403, "Authorization_RequestDenied", "Insufficient privileges")
    state = collect(tenant).sources["m365"].datasets["m365.domains"]
    assert not state.available and state.reason_kind is ReasonKind.PERMISSION and "Domain.Read.All" in state.needs


# -- the DMARC organisational-domain fallback (RFC 7489 section 6.6.3) ----------------------------------------------


def inheriting_zone() -> DnsZone:
    reject_below = "v=DMARC1; p=none; sp=reject; rua=mailto:d@contoso.co.uk"
    return DnsZone(
        records={
            "_dmarc.contoso.co.uk": {"TXT": [reject_below]},
            "mail.contoso.co.uk": {"TXT": ["v=spf1 -all"]},
            "_dmarc.own.contoso.co.uk": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@contoso.co.uk"]},
            "_dmarc.other.contoso.co.uk": {"TXT": ["google-site-verification=abc"]},
            "_dmarc.fabrikam.com": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@fabrikam.com"]},
            "_dmarc.shop.blogspot.com": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@fabrikam.com"]},
            "alone.example": {"TXT": ["v=spf1 -all"]},
        },
        failing=["_dmarc.failing.co.uk", "broken.example"],
    )


def test_a_subdomain_without_a_record_asks_the_names_above_it_and_nothing_more(tmp_path: Path) -> None:
    domains = [
        "mail.contoso.co.uk",  # +1: _dmarc.contoso.co.uk
        "own.contoso.co.uk",  # its own record: +0
        "other.contoso.co.uk",  # only another TXT record at its _dmarc name: +1
        "a.b.fabrikam.com",  # +2: _dmarc.b.fabrikam.com, _dmarc.fabrikam.com
        "x.shop.blogspot.com",  # a private suffix: +2, the organisational domain by the whole list and by ICANN's
        "alone.example",  # an organisational domain (an unknown TLD: the list's default rule): +0
        "mail.failing.co.uk",  # +1, SERVFAIL
        "broken.example",  # its own question fails: +0 (its record may exist)
    ]
    with DnsSandbox(inheriting_zone()) as dns:
        source = EmailSource(DnsConfig(nameservers=["127.0.0.1"], port=dns.port, domains=domains))
        source.read_after(_snapshot([]))
        collected = source.collect(RawRecorder(tmp_path, "email"))
    by_name = {d.name: d for d in collected.data.domains}
    assert collected.run.requests == 2 * len(domains) + 1 + 1 + 2 + 2 + 1

    def asked(name: str) -> list[tuple[str, str]]:
        inherited = by_name[name].dmarc_inherited
        assert inherited is not None and inherited.psl_version.startswith("1.")
        return [(a.name, a.outcome) for a in inherited.answers]

    assert asked("mail.contoso.co.uk") == [("_dmarc.contoso.co.uk", "answer")]
    mail = by_name["mail.contoso.co.uk"].dmarc_inherited
    assert mail is not None and mail.organisational_domain == mail.icann_organisational_domain == "contoso.co.uk"
    assert mail.answers[0].records == ["v=DMARC1; p=none; sp=reject; rua=mailto:d@contoso.co.uk"]
    assert asked("other.contoso.co.uk") == [("_dmarc.contoso.co.uk", "answer")]
    assert asked("a.b.fabrikam.com") == [("_dmarc.b.fabrikam.com", "nxdomain"), ("_dmarc.fabrikam.com", "answer")]
    assert asked("x.shop.blogspot.com") == [("_dmarc.shop.blogspot.com", "answer"), ("_dmarc.blogspot.com", "nxdomain")]
    shop = by_name["x.shop.blogspot.com"].dmarc_inherited
    assert shop is not None and (shop.organisational_domain, shop.icann_organisational_domain) == (
        "shop.blogspot.com",
        "blogspot.com",
    )
    assert asked("mail.failing.co.uk") == [("_dmarc.failing.co.uk", "failed")]
    for name in ("own.contoso.co.uk", "alone.example", "broken.example"):
        assert by_name[name].dmarc_inherited is None
    raw = "".join(p.read_text() for p in (tmp_path / "email").glob("*.txt"))
    assert "_dmarc.contoso.co.uk" in raw and "sp=reject" in raw  # the inherited answer is kept raw too


def test_the_walk_is_bounded_and_an_organisational_domain_or_public_suffix_has_none() -> None:
    deep = dmarc_walk("a.b.c.d.e.f.g.h.i.contoso.com")
    assert deep is not None and len(deep.ancestors) == WALK_BOUND
    assert deep.ancestors[0] == "b.c.d.e.f.g.h.i.contoso.com" and deep.beyond[-1] == "contoso.com"
    assert dmarc_walk("contoso.co.uk") is None and dmarc_walk("co.uk") is None
    assert dmarc_walk("shop.blogspot.com") is None  # its own organisational domain by the whole list: no fallback


def test_bytes_that_are_not_utf8_and_characters_split_between_strings_reach_the_snapshot_as_text() -> None:
    split = "v=DKIM1; n=" + "\u00e9" * 300 + " \udcff\udcfe \ud800; p=abc"  # 0xFF 0xFE, a lone surrogate's bytes
    hostile = DnsZone(
        records={
            "k.example": {"TXT": [split]},
            "s1._domainkey.k.example": {"CNAME": ["<svg/onload=alert(1)>\x1b;x.evil.example"]},
        }
    )
    with DnsSandbox(hostile) as dns:
        key = reader(dns).txt("k.example")
        cname = reader(dns).txt("s1._domainkey.k.example")
    (text,) = key.records
    assert "\u00e9" * 300 in text  # the 255-byte strings split two-byte characters: joined before decoding
    assert text.endswith("; p=abc") and "\udcff" not in text and "\ud800" not in text and "\ufffd" in text
    assert cname.outcome == "nxdomain" and cname.canonical == "<svg/onload=alert\\(1\\)>\\027\\;x.evil.example"
