"""Writes the seeds of FuzzWire and FuzzEngine (scripts/fuzz.sh, and its --smoke in the test
command): a few dozen client queries, gate edge cases and upstream replies, one file each. Run it
again after changing it; the files are committed so the smoke needs no Python.

Usage: python3 fuzz/corpus/make.py
"""

from __future__ import annotations

import hashlib
import os

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))


def q(name: str, rdtype: str = "A", rdclass: str = "IN", **kw) -> bytes:
    return dns.message.make_query(name, rdtype, rdclass, **kw).to_wire()


def reply(name: str, rdtype: str, *records: str, rcode: int = dns.rcode.NOERROR, authority: tuple[str, ...] = (),
          tc: bool = False) -> bytes:
    m = dns.message.make_response(dns.message.make_query(name, rdtype, use_edns=0))
    m.set_rcode(rcode)
    for text in records:
        m.answer.append(dns.rrset.from_text(*text.split(maxsplit=4)))
    for text in authority:
        m.authority.append(dns.rrset.from_text(*text.split(maxsplit=4)))
    if tc:
        m.flags |= dns.flags.TC
    return m.to_wire()


def queries(names: list[tuple[str, str]]) -> list[bytes]:
    out = [q(n, t) for n, t in names]
    out += [q(n, t, use_edns=0, payload=4096, want_dnssec=True) for n, t in names[:4]]
    return out


def edge_cases() -> list[bytes]:
    notify = dns.message.make_query("example.com.", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    two_opts = bytearray(q("example.com.", "A", use_edns=0))
    two_opts[11] = 2                                            # ARCOUNT 2, one more OPT appended
    two_opts += bytes([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0])
    pointer_loop = bytes.fromhex("abcd0100000100000000000" "0c00c00010001")
    return [b"", b"\x00" * 11, q("example.com.", "AXFR"), q("id.server.", "TXT", "CH"), q("hostname.bind.", "TXT", "CH"),
            q("example.com.", "ANY"), q("example.com.", "A", use_edns=1), notify.to_wire(), bytes(two_opts), pointer_loop,
            q("xn--bcher-kva.example.", "A"), q("a" * 63 + "." + "b" * 63 + ".example.", "TXT")]


CLUSTER = [
    ("web.ns.svc.cluster.local.", "A"), ("web.ns.svc.cluster.local.", "AAAA"), ("db.ns.svc.cluster.local.", "A"),
    ("_http._tcp.web.ns.svc.cluster.local.", "SRV"), ("w0.web.ns.svc.cluster.local.", "A"),
    ("5.0.244.10.in-addr.arpa.", "PTR"), ("dns-version.cluster.local.", "TXT"), ("127-0-0-1.ns.pod.cluster.local.", "A"),
    ("nosuch.ns.svc.cluster.local.", "A"), ("svc.cluster.local.", "A"), ("ext.fed.svc.cluster.local.", "A"),
    ("web.ns.fed.", "A"), ("web.ns.fed.svc.cluster.local.", "A"), ("_http._tcp.web.ns.fed.", "SRV"),
    ("api.ns.myfed.", "A"), ("web.ns.myfed.", "CNAME"), ("www.example.org.", "A"), ("example.net.", "MX"),
]

UPSTREAM_REPLIES = [
    reply("www.example.org.", "A", "www.example.org. 300 IN A 192.0.2.80"),
    reply("www.example.org.", "A", "www.example.org. 60 IN CNAME web.example.net.", "web.example.net. 60 IN A 192.0.2.81"),
    reply("nosuch.example.org.", "A", rcode=dns.rcode.NXDOMAIN,
          authority=("example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 1800 86400 300",)),
    reply("big.example.org.", "TXT", tc=True),
    reply("example.org.", "MX", "example.org. 300 IN MX 10 mail.example.org."),
    reply("_sip._udp.example.org.", "SRV", "_sip._udp.example.org. 300 IN SRV 0 5 5060 sip.example.org."),
]

CORPORA = {
    "FuzzWire": queries(CLUSTER[:6] + [("www.example.org.", "A"), ("example.net.", "MX")]) + edge_cases() + UPSTREAM_REPLIES,
    "FuzzEngine": queries(CLUSTER) + edge_cases(),
}


def main() -> None:
    for target, inputs in CORPORA.items():
        d = os.path.join(HERE, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.remove(os.path.join(d, old))
        for data in inputs:
            with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
                f.write(data)
        print(f"{target}: {len(os.listdir(d))} inputs")


if __name__ == "__main__":
    main()
