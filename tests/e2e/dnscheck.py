"""Compare DNS sections with records written as zone text.

An expected line is `owner TTL [IN] TYPE RDATA`; TTL is a number (must match exactly: records
fedns makes carry the cluster TTL) or `<=N` (records fedns chased or cached count down).
Sections compare as sets; CNAME order is checked separately with `assert_cname_chain`.
"""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype


def _parse(text: str):
    expected = []
    for line in text.strip().splitlines():
        line = line.split(";", 1)[0].strip()
        if not line:
            continue
        owner, ttl, rest = line.split(None, 2)
        first, remainder = rest.split(None, 1)
        if first.upper() == "IN":
            rest = remainder
        rtype, rdata = rest.split(None, 1)
        rdtype = dns.rdatatype.from_text(rtype)
        rd = dns.rdata.from_text(dns.rdataclass.IN, rdtype, rdata, origin=dns.name.root, relativize=False)
        expected.append((dns.name.from_text(owner), rdtype, rd, ttl))
    return expected


def records(section) -> list[tuple[dns.name.Name, int, object, int]]:
    """Flatten a section to (owner, type, rdata, ttl) in wire order."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append((rrset.name, rrset.rdtype, rd, rrset.ttl))
    return out


def show(section) -> str:
    return "\n".join(rrset.to_text() for rrset in section) or "(empty)"


def assert_section(section, expected_text: str, what: str = "answer") -> None:
    """The section holds exactly the expected records (names case-insensitive), TTLs as specified."""
    expected = _parse(expected_text)
    actual = records(section)
    want = {(o, t, rd) for o, t, rd, _ in expected}
    got = {(o, t, rd) for o, t, rd, _ in actual}
    assert got == want, f"{what} section differs.\nexpected:\n{expected_text.strip()}\ngot:\n{show(section)}"
    for owner, rdtype, rd, ttl_spec in expected:
        for a_owner, a_type, a_rd, a_ttl in actual:
            if (a_owner, a_type, a_rd) != (owner, rdtype, rd):
                continue
            if ttl_spec.startswith("<="):
                assert a_ttl <= int(ttl_spec[2:]), f"{owner} {dns.rdatatype.to_text(rdtype)}: TTL {a_ttl} > {ttl_spec[2:]}"
            else:
                assert a_ttl == int(ttl_spec), f"{owner} {dns.rdatatype.to_text(rdtype)}: TTL {a_ttl} != {ttl_spec}"


def assert_cname_chain(msg: dns.message.Message) -> None:
    """CNAMEs come first, each owned by the previous one's target, starting at the question name."""
    qname = msg.question[0].name
    seen_other = False
    current = qname
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            assert not seen_other, f"CNAME after other records:\n{show(msg.answer)}"
            assert rrset.name == current, f"CNAME chain broken at {rrset.name}, expected {current}:\n{show(msg.answer)}"
            current = rrset[0].target
        else:
            seen_other = True
            assert rrset.name == current, f"{rrset.name} is not the end of the chain {current}:\n{show(msg.answer)}"


def assert_negative_soa(msg: dns.message.Message, ttl: int = 5, domain: str = "cluster.local.") -> None:
    """Negative cluster answers carry `<cd>. <ttl> SOA ns.dns.<cd>. hostmaster.<cd>. <serial> 7200 1800 86400 <ttl>`."""
    soas = [r for r in msg.authority if r.rdtype == dns.rdatatype.SOA]
    assert len(soas) == 1, f"expected one SOA in authority, got:\n{show(msg.authority)}"
    soa = soas[0]
    assert soa.name == dns.name.from_text(domain)
    assert soa.ttl == ttl
    rd = soa[0]
    assert (rd.mname, rd.rname) == (dns.name.from_text("ns.dns." + domain), dns.name.from_text("hostmaster." + domain))
    assert (rd.refresh, rd.retry, rd.expire, rd.minimum) == (7200, 1800, 86400, ttl)


def rcode_text(msg: dns.message.Message) -> str:
    return dns.rcode.to_text(msg.rcode())
