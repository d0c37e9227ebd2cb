"""The gate (docs/behaviour.md, the gate) over real UDP and TCP, with packets built byte by byte."""

import socket
import struct
import subprocess

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from clusterdata import BIG_ENDPOINTS
from servers import ask, recv_exact

QNAME = "nginx.mynamespace.svc.cluster.local."
QR, RD = 0x8000, 0x0100


def header(qid: int, flags: int = RD, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


def question(name: str = QNAME, rdtype: int = 1, rdclass: int = 1) -> bytes:
    return dns.name.from_text(name).to_wire() + struct.pack("!HH", rdtype, rdclass)


def opt(payload: int = 1232, version: int = 0, do: bool = False) -> bytes:
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack("!HHIH", 41, payload, ttl, 0)


def udp_exchange(server, packet: bytes, timeout: float = 1.0) -> bytes | None:
    """Send one datagram; the reply, or None when nothing came back within timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(server)
        s.send(packet)
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def tcp_exchange(server, packet: bytes, timeout: float = 2.0) -> bytes:
    with socket.create_connection(server, timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(packet)) + packet)
        (length,) = struct.unpack("!H", recv_exact(s, 2))
        return recv_exact(s, length)


def reply_of(server, packet: bytes, qid: int) -> dns.message.Message:
    raw = udp_exchange(server, packet)
    assert raw is not None, "no reply"
    assert raw[:2] == struct.pack("!H", qid), "reply ID does not match"
    msg = dns.message.from_wire(raw)          # the reply itself must be well-formed
    assert msg.flags & dns.flags.QR
    return msg


def still_answers(server) -> None:
    r = ask(server, QNAME, "A")
    assert dns.rcode.to_text(r.rcode()) == "NOERROR" and r.answer


@pytest.mark.parametrize("packet", [
    b"", b"\x12", header(0x1234)[:11],                       # shorter than a header
    header(0x1234, flags=QR | RD) + question(),             # a response: never answer one (reflection loops)
], ids=["empty", "one-byte", "eleven-bytes", "qr-set"])
def test_dropped_without_reply(fedns, packet):
    assert udp_exchange(fedns.address, packet, timeout=0.7) is None
    still_answers(fedns.address)


# (name, packet, expected rcode)
RCODE_CASES = [
    ("notify-is-notimp", header(0x2001, flags=(dns.opcode.NOTIFY << 11)) + question(QNAME, 6), "NOTIMP"),
    ("update-is-notimp", header(0x2002, flags=(dns.opcode.UPDATE << 11)) + question("cluster.local.", 6), "NOTIMP"),
    ("two-questions-formerr", header(0x2003, qd=2) + question() + question(), "FORMERR"),
    ("no-question-formerr", header(0x2004, qd=0), "FORMERR"),
    ("answer-in-query-formerr",
     header(0x2005, an=1) + question() + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + bytes(4), "FORMERR"),
    ("pointer-loop-formerr", header(0x2006) + b"\xc0\x0c" + struct.pack("!HH", 1, 1), "FORMERR"),
    ("forward-pointer-formerr", header(0x2007) + b"\x03abc\xc0\x20" + struct.pack("!HH", 1, 1) + bytes(24), "FORMERR"),
    ("two-opt-formerr", header(0x2008, ar=2) + question() + opt() + opt(), "FORMERR"),
    ("edns-version-1-badvers", header(0x2009, ar=1) + question() + opt(version=1), "BADVERS"),
    ("class-chaos-refused", header(0x200A) + question(QNAME, 1, 3), "REFUSED"),
    ("axfr-over-udp-refused", header(0x200B) + question("cluster.local.", 252), "REFUSED"),
    ("ixfr-over-udp-refused", header(0x200C) + question("cluster.local.", 251), "REFUSED"),
    ("meta-type-tkey-formerr", header(0x200D) + question(QNAME, 249), "FORMERR"),
    ("meta-type-opt-formerr", header(0x200E) + question(QNAME, 41), "FORMERR"),
]


@pytest.mark.parametrize("name,packet,rcode", RCODE_CASES, ids=[c[0] for c in RCODE_CASES])
def test_gate_rcodes(fedns, name, packet, rcode):
    qid = struct.unpack("!H", packet[:2])[0]
    msg = reply_of(fedns.address, packet, qid)
    assert dns.rcode.to_text(msg.rcode()) == rcode, str(msg)
    assert not msg.answer


def test_badvers_reply_carries_opt_version_0(fedns):
    msg = reply_of(fedns.address, header(0x3001, ar=1) + question() + opt(version=1), 0x3001)
    assert msg.edns == 0, "BADVERS must say which version the server speaks"


def test_axfr_over_tcp_refused(fedns):
    raw = tcp_exchange(fedns.address, header(0x3002) + question("cluster.local.", 252))
    msg = dns.message.from_wire(raw)
    assert msg.id == 0x3002 and dns.rcode.to_text(msg.rcode()) == "REFUSED"


def test_any_gets_a_minimal_answer(fedns):
    """RFC 8482: one RRset (or a synthesized HINFO), never everything the name has."""
    r = ask(fedns.address, QNAME, "ANY")
    assert dns.rcode.to_text(r.rcode()) == "NOERROR"
    assert len(r.answer) <= 1, str(r)
    assert not r.flags & dns.flags.TC


def test_opt_only_when_the_query_had_one(fedns):
    plain = ask(fedns.address, QNAME, "A", payload=None)
    assert plain.edns == -1
    with_do = dns.message.make_query(QNAME, "A", use_edns=0, payload=4096, want_dnssec=True)
    r = dns.query.udp(with_do, fedns.address[0], port=fedns.address[1], timeout=2)
    assert r.edns == 0 and r.ednsflags & dns.flags.DO, "DO must be copied"
    assert 512 <= r.payload <= 1232


@pytest.mark.parametrize("payload,limit", [(None, 512), (1232, 1232), (4096, 1232)])
def test_large_headless_answer_truncated_over_udp(fedns, payload, limit):
    name = "big.mynamespace.svc.cluster.local."
    q = dns.message.make_query(name, "A", use_edns=(payload is not None), payload=payload or 512)
    raw = udp_exchange(fedns.address, q.to_wire())
    assert raw is not None
    assert len(raw) <= limit, f"{len(raw)} bytes over UDP, limit {limit}"
    msg = dns.message.from_wire(raw)
    assert msg.flags & dns.flags.TC
    # As many whole records as fit (RFC 2181 §9): a client that never retries over TCP (musl) still
    # gets addresses. Every A record here takes 16 bytes, so one more would not have fitted.
    kept = sum(len(rrset) for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A)
    assert 0 < kept < BIG_ENDPOINTS, f"{kept} addresses kept"
    assert len(raw) + 16 > limit, f"{len(raw)} bytes with {kept} addresses: another would have fitted in {limit}"


def test_large_headless_answer_whole_over_tcp(fedns):
    r = ask(fedns.address, "big.mynamespace.svc.cluster.local.", "A", tcp=True)
    assert not r.flags & dns.flags.TC
    assert sum(len(rrset) for rrset in r.answer) == BIG_ENDPOINTS


def test_kdig_retries_over_tcp_after_truncation(fedns):
    """A real client's view: kdig gets TC over UDP and the whole answer over TCP."""
    host, port = fedns.address
    out = subprocess.run(["kdig", f"@{host}", "-p", str(port), "+short", "+timeout=2", "+retry=0",
                          "big.mynamespace.svc.cluster.local", "A"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert "truncated reply" in out.stderr, f"kdig did not see TC over UDP: {out.stderr}"
    assert len(out.stdout.split()) == BIG_ENDPOINTS, out.stdout[:400] + out.stderr
