"""The email-authentication checks on hand-made snapshots: what passes, what fails, and that nothing unseen passes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import run_checks

from hygiene.model import (
    DatasetState,
    DmarcInherited,
    DnsAnswer,
    EmailData,
    EmailDomain,
    OrganisationRef,
    Snapshot,
    SourceRun,
)
from hygiene.results import CheckResult, Status

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KEY = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB"
DMARC_OK = "v=DMARC1; p=reject; rua=mailto:d@a.example"


def txt(name: str, *records: str, canonical: str | None = None) -> DnsAnswer:
    return DnsAnswer(name=name, rdtype="TXT", outcome="answer", records=list(records), canonical=canonical)


def missing(name: str, outcome: str = "nxdomain") -> DnsAnswer:
    return DnsAnswer(name=name, rdtype="TXT", outcome=outcome)  # type: ignore[arg-type]


def failed(name: str) -> DnsAnswer:
    return DnsAnswer(name=name, rdtype="TXT", outcome="failed", error="SERVFAIL")


def ms_selectors(name: str) -> dict[str, DnsAnswer]:
    return {
        s: txt(f"{s}._domainkey.{name}", KEY, canonical=f"{s}-x._domainkey.t.onmicrosoft.com")
        for s in ("selector1", "selector2")
    }


def domain(
    name: str = "a.example",
    spf: DnsAnswer | str | None = "v=spf1 include:spf.protection.outlook.com -all",
    chain: dict[str, DnsAnswer] | None = None,
    dmarc: DnsAnswer | str = DMARC_OK,
    dkim: dict[str, DnsAnswer] | None = None,
    platforms: tuple[str, ...] = ("m365",),
) -> EmailDomain:
    return EmailDomain(
        name=name,
        platforms=list(platforms),
        spf=txt(name, spf) if isinstance(spf, str) else spf or missing(name, "nodata"),
        spf_chain=chain
        if chain is not None
        else {"spf.protection.outlook.com": txt("spf.protection.outlook.com", "v=spf1 ip4:40.92.0.0/15 -all")},
        dmarc=txt(f"_dmarc.{name}", dmarc) if isinstance(dmarc, str) else dmarc,
        dkim=dkim if dkim is not None else ms_selectors(name),
    )


def results(*domains: EmailDomain, unseen: tuple[str, ...] = ()) -> dict[str, CheckResult]:
    snapshot = Snapshot(tool_version="t", organisation=OrganisationRef(id="o", name="O"), collected_at=NOW)
    run = SourceRun(
        platform="email",
        status="ok",
        started_at=NOW,
        finished_at=NOW,
        datasets={"email.records": DatasetState(available=True, records=len(domains))},
    )
    snapshot.attach("email", run, EmailData(resolver="127.0.0.1", domains=list(domains), unseen=list(unseen)))
    return {r.check_id: r for r in run_checks(snapshot).results if r.check_id.startswith("email.")}


def verdict(result: CheckResult) -> tuple[str, dict[str, str]]:
    return result.status.value, {f.resource_name: f.detail for f in result.findings}


def test_a_well_kept_domain_passes_every_check() -> None:
    got = results(domain())
    assert got["email.spf"].status is Status.PASS and got["email.spf"].reservation is None
    assert got["email.dmarc"].status is Status.PASS
    assert got["email.dkim"].status is Status.PASS
    assert "Exchange Online signs" in (got["email.dkim"].reservation or "")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=spf1 include:spf.protection.outlook.com +all", "+all"),
        ("v=spf1 include:spf.protection.outlook.com ?all", "?all"),
        ("v=spf1 include:spf.protection.outlook.com", "does not end with -all or ~all"),
        ("v=spf1 include:spf.protection.outlook.com include:loop.example -all", "loops back"),
        ("v=spf1 include:gone.example -all", "gone.example has no SPF record"),
        ("v=spf1 redirect=spf.protection.outlook.com ip4:192.0.2.1 %bad -all", "unparsable"),
    ],
)
def test_spf_failures(record: str, expected: str) -> None:
    chain = {
        "spf.protection.outlook.com": txt("spf.protection.outlook.com", "v=spf1 ip4:40.92.0.0/15 -all"),
        "loop.example": txt("loop.example", "v=spf1 include:loop.example -all"),
        "gone.example": missing("gone.example"),
    }
    status, findings = verdict(results(domain(spf=record, chain=chain))["email.spf"])
    assert status == "fail" and expected in findings["a.example"]


def test_spf_missing_twice_published_and_softfail() -> None:
    got = results(
        domain("none.example", spf=missing("none.example")),
        domain("text.example", spf=txt("text.example", "google-site-verification=x")),
        domain("two.example", spf=txt("two.example", "v=spf1 -all", "V=SPF1 ip4:192.0.2.1 -all")),
        domain("soft.example", spf="v=spf1 include:spf.protection.outlook.com ~all"),
    )["email.spf"]
    status, findings = verdict(got)
    assert status == "fail" and set(findings) == {"none.example", "text.example", "two.example"}
    assert "NXDOMAIN" in findings["none.example"] and "permerror" in findings["two.example"]
    assert "soft.example end with ~all" in (got.reservation or "")


def test_spf_lookups_are_counted_through_includes_and_redirects() -> None:
    # 4 here (mx, a, include, redirect is ignored: there is an all) + 3 in inc (a, mx, include) + 4 in deep
    chain = {
        "inc.example": txt("inc.example", "v=spf1 a mx include:deep.example -all"),
        "deep.example": txt("deep.example", "v=spf1 a mx ptr exists:%{i}.x.example -all"),
    }
    ten = domain(spf="v=spf1 mx a include:inc.example -all", chain=chain)
    assert results(ten)["email.spf"].status is Status.PASS  # 3 + 3 + 4 = 10: at the limit
    eleven = domain(spf="v=spf1 mx a a:b.example include:inc.example -all", chain=chain)
    status, findings = verdict(results(eleven)["email.spf"])
    assert status == "fail" and "needs 11 DNS lookups" in findings["a.example"]
    redirected = domain(
        spf="v=spf1 mx redirect=r.example", chain={"r.example": txt("r.example", "v=spf1 ip4:192.0.2.0/24 -all")}
    )
    assert results(redirected)["email.spf"].status is Status.PASS  # the redirect target's -all ends it
    neutral = domain(spf="v=spf1 mx redirect=r.example", chain={"r.example": txt("r.example", "v=spf1 a ?all")})
    assert verdict(results(neutral)["email.spf"])[0] == "fail"


def test_spf_with_an_include_not_read_or_failing_is_never_a_pass() -> None:
    unknown = results(domain(chain={}))["email.spf"]
    assert unknown.status is Status.NOT_ASSESSED and "not read" in (unknown.reason or "")
    broken = results(domain(chain={"spf.protection.outlook.com": failed("spf.protection.outlook.com")}))
    assert broken["email.spf"].status is Status.NOT_ASSESSED


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=DMARC1; p=none; rua=mailto:d@a.example", "p=none"),
        ("v=DMARC1; p=quarantine; sp=none; rua=mailto:d@a.example", "sp=none"),
        ("v=DMARC1; p=reject; pct=50; rua=mailto:d@a.example", "pct=50"),
        ("v=DMARC1; p=reject; pct=abc; rua=mailto:d@a.example", "pct=abc"),
        ("v=DMARC1; p=reject", "no rua"),
        ("v=DMARC1; rua=mailto:d@a.example", "p=missing"),
        ("v=DMARC1; p=rejected; rua=mailto:d@a.example", "p='rejected'"),
        ("v=DMARC1; p=<b>" + "x" * 100 + "; rua=mailto:d@a.example", "p='<b>" + "x" * 37 + "': failing"),
    ],
)
def test_dmarc_failures(record: str, expected: str) -> None:
    status, findings = verdict(results(domain(dmarc=record))["email.dmarc"])
    assert status == "fail" and expected in findings["a.example"]


def test_dmarc_missing_duplicated_or_not_dmarc() -> None:
    got = results(
        domain("none.example", dmarc=missing("_dmarc.none.example")),
        domain("two.example", dmarc=txt("_dmarc.two.example", DMARC_OK, DMARC_OK + ";")),
        domain("lower.example", dmarc=txt("_dmarc.lower.example", "v=dmarc1; p=reject; rua=mailto:x@y.example")),
        domain("ok.example", dmarc="v=DMARC1;p=QUARANTINE;sp=reject;pct=100;rua=mailto:a@b.example,mailto:c@d.example"),
    )["email.dmarc"]
    status, findings = verdict(got)
    assert status == "fail" and set(findings) == {"none.example", "two.example", "lower.example"}


def test_dkim_for_each_platform_only_its_selectors() -> None:
    google_ok = domain("g.example", platforms=("google",), dkim={"google": txt("google._domainkey.g.example", KEY)})
    revoked = domain(
        "r.example", platforms=("google",), dkim={"google": txt("google._domainkey.r.example", "v=DKIM1; k=rsa; p=")}
    )
    wrong_v = domain("v.example", platforms=("google",), dkim={"google": txt("x", "k=rsa; v=DKIM1; p=abc")})
    not_base64 = domain("b.example", platforms=("google",), dkim={"google": txt("x", "v=DKIM1; p=<script>x</script>")})
    selectors = ms_selectors("m.example")
    selectors["selector2"] = missing("selector2._domainkey.m.example")
    half = domain("m.example", dkim=selectors)
    own_txt = domain("t.example", dkim={s: txt(f"{s}._domainkey.t.example", KEY) for s in ("selector1", "selector2")})
    elsewhere = domain(
        "e.example",
        dkim={s: txt("x", KEY, canonical="selector1.dkim.elsewhere.example") for s in ("selector1", "selector2")},
    )
    listed_only = domain("l.example", platforms=(), dkim={})
    # the May 2025 format, the second selector inactive (its CNAME published, no key behind it yet): a pass
    inactive = "selector2-n-example._domainkey.contoso.r-v1.dkim.mail.microsoft"
    new_format = domain(
        "n.example",
        dkim={
            "selector1": txt("s1", KEY, canonical="selector1-n-example._domainkey.contoso.r-v1.dkim.mail.microsoft"),
            "selector2": DnsAnswer(name="s2", rdtype="TXT", outcome="nxdomain", canonical=inactive),
        },
    )
    no_key = domain(
        "k.example",
        dkim={
            s: DnsAnswer(name=s, rdtype="TXT", outcome="nxdomain", canonical=f"{s}-k._domainkey.t.onmicrosoft.com")
            for s in ("selector1", "selector2")
        },
    )
    got = results(google_ok, revoked, wrong_v, not_base64, half, own_txt, elsewhere, listed_only, new_format, no_key)
    status, findings = verdict(got["email.dkim"])
    assert status == "fail"
    assert set(findings) == {"r.example", "v.example", "b.example", "m.example", "t.example", "e.example", "k.example"}
    assert "not a base64 public key" in findings["b.example"]
    assert "revoked" in findings["r.example"] and "not published" in findings["m.example"]
    assert "no DKIM key" in findings["k.example"]
    assert got["email.dkim"].assessed == 9 and "not judged" in (got["email.dkim"].note or "")


def test_dns_failures_are_not_assessed_never_pass_but_failures_elsewhere_still_fail() -> None:
    broken = domain("b.example", spf=failed("b.example"), dmarc=failed("_dmarc.b.example"))
    broken.dkim = {"selector1": failed("selector1._domainkey.b.example"), "selector2": failed("s2")}
    alone = results(broken)
    assert {k: r.status for k, r in alone.items()} == {
        "email.spf": Status.NOT_ASSESSED,
        "email.dmarc": Status.NOT_ASSESSED,
        "email.dkim": Status.NOT_ASSESSED,
    }
    with_bad = results(broken, domain("p.example", dmarc="v=DMARC1; p=none; rua=mailto:x@y.example"))
    assert with_bad["email.dmarc"].status is Status.FAIL and "b.example" in (with_bad["email.dmarc"].note or "")


def test_domains_not_listed_make_a_pass_not_assessed() -> None:
    got = results(domain(), unseen=("Google Workspace domains not read: scope not granted",))
    assert all(r.status is Status.NOT_ASSESSED for r in got.values())
    assert "Google Workspace domains not read" in (got["email.spf"].reason or "")


def inheriting(name: str, *above: DnsAnswer, org: str, icann: str | None = None, spf: str | None = None) -> EmailDomain:
    """A subdomain with no DMARC record of its own, and the answers the source read above it."""
    sub = domain(name, dmarc=missing(f"_dmarc.{name}"), spf=spf if spf is not None else "v=spf1 -all")
    sub.dmarc_inherited = DmarcInherited(
        organisational_domain=org, icann_organisational_domain=icann or org, psl_version="t", answers=list(above)
    )
    return sub


def test_a_subdomain_inherits_its_organisational_domains_sp_else_p() -> None:
    org = "v=DMARC1; p=none; sp=reject; rua=mailto:d@example.co.uk"
    got = results(
        inheriting("mail.example.co.uk", txt("_dmarc.example.co.uk", org), org="example.co.uk"),
        inheriting("eu.contoso.com", txt("_dmarc.contoso.com", DMARC_OK), org="contoso.com"),
    )["email.dmarc"]
    assert got.status is Status.PASS
    assert "mail.example.co.uk from _dmarc.example.co.uk (sp=reject)" in (got.note or "")
    assert "eu.contoso.com from _dmarc.contoso.com (p=reject)" in (got.note or "")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=DMARC1; p=reject; sp=none; rua=mailto:d@contoso.com", "inherited from _dmarc.contoso.com: sp=none"),
        ("v=DMARC1; p=none; rua=mailto:d@contoso.com", "inherited from _dmarc.contoso.com: p=none"),
        ("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@contoso.com", "sp='bogus'"),
        ("v=DMARC1; p=reject; pct=20; rua=mailto:d@contoso.com", "pct=20"),
        ("v=DMARC1; p=reject", "no rua"),
        ("MS=ms123", "none at _dmarc.contoso.com either (no v=DMARC1 record)"),
    ],
)
def test_an_inherited_policy_that_does_not_protect_the_subdomain_fails(record: str, expected: str) -> None:
    got = results(inheriting("eu.contoso.com", txt("_dmarc.contoso.com", record), org="contoso.com"))["email.dmarc"]
    status, findings = verdict(got)
    assert status == "fail" and expected in findings["eu.contoso.com"]
    assert findings["eu.contoso.com"].startswith("no DMARC record at _dmarc.eu.contoso.com")


def test_no_record_above_either_fails_and_an_organisational_domain_never_falls_back() -> None:
    got = results(
        inheriting("eu.contoso.com", missing("_dmarc.contoso.com", "nodata"), org="contoso.com"),
        domain("contoso.example", dmarc=missing("_dmarc.contoso.example")),
    )["email.dmarc"]
    status, findings = verdict(got)
    assert status == "fail" and set(findings) == {"eu.contoso.com", "contoso.example"}
    assert "none at _dmarc.contoso.com either (no TXT record (NODATA))" in findings["eu.contoso.com"]


def test_a_dns_failure_above_or_names_not_asked_are_not_assessed() -> None:
    failing = inheriting("eu.contoso.com", failed("_dmarc.contoso.com"), org="contoso.com")
    got = results(failing)["email.dmarc"]
    assert got.status is Status.NOT_ASSESSED and "_dmarc.contoso.com TXT could not be read" in (got.reason or "")
    deep = inheriting("a.b.contoso.com", txt("_dmarc.b.contoso.com", DMARC_OK), org="contoso.com")
    assert deep.dmarc_inherited is not None
    deep.dmarc_inherited.not_asked = ["contoso.com"]
    assert results(deep)["email.dmarc"].status is Status.NOT_ASSESSED


def test_where_receivers_could_disagree_the_worst_policy_counts() -> None:
    # RFC 9989's tree walk applies the closest record (b.contoso.com's), RFC 7489 the organisational domain's
    closest_weak = inheriting(
        "a.b.contoso.com",
        txt("_dmarc.b.contoso.com", "v=DMARC1; p=none; rua=mailto:d@contoso.com"),
        txt("_dmarc.contoso.com", DMARC_OK),
        org="contoso.com",
    )
    org_weak = inheriting(
        "a.b.contoso.org",
        txt("_dmarc.b.contoso.org", DMARC_OK),
        txt("_dmarc.contoso.org", "v=DMARC1; p=reject; sp=none; rua=mailto:d@contoso.org"),
        org="contoso.org",
    )
    # a private Public Suffix List entry: receivers reading only its ICANN section use blogspot.com's record
    private = inheriting(
        "x.shop.blogspot.com",
        txt("_dmarc.shop.blogspot.com", DMARC_OK),
        missing("_dmarc.blogspot.com"),
        org="shop.blogspot.com",
        icann="blogspot.com",
    )
    both_good = inheriting(
        "a.b.contoso.net",
        txt("_dmarc.b.contoso.net", DMARC_OK),
        txt("_dmarc.contoso.net", DMARC_OK),
        org="contoso.net",
    )
    status, findings = verdict(results(closest_weak, org_weak, private, both_good)["email.dmarc"])
    assert status == "fail" and set(findings) == {"a.b.contoso.com", "a.b.contoso.org", "x.shop.blogspot.com"}
    assert "_dmarc.b.contoso.com: p=none" in findings["a.b.contoso.com"]
    assert "_dmarc.contoso.org: sp=none" in findings["a.b.contoso.org"]
    assert "none at _dmarc.blogspot.com either" in findings["x.shop.blogspot.com"]


def test_np_counts_for_a_subdomain_that_may_not_exist() -> None:
    record = "v=DMARC1; p=reject; np=none; rua=mailto:d@contoso.com"
    exists = inheriting("eu.contoso.com", txt("_dmarc.contoso.com", record), org="contoso.com")
    assert results(exists)["email.dmarc"].status is Status.PASS
    gone = inheriting("eu.contoso.com", txt("_dmarc.contoso.com", record), org="contoso.com")
    gone.spf = missing("eu.contoso.com")
    status, findings = verdict(results(gone)["email.dmarc"])
    assert status == "fail" and "np=none" in findings["eu.contoso.com"]
