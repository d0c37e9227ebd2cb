"""The cluster zone over real UDP, as a pod's stub resolver sees it (DNS-Based Service Discovery 1.1.0)."""

import json
import socket
import subprocess

import dns.message
import dns.name
import pytest

from clusterdata import CLUSTER_TTL, NGINX_IP, cluster_objects
from dnscheck import assert_cname_chain, assert_negative_soa, assert_section, rcode_text, show
from servers import ask

T = CLUSTER_TTL
CD = "cluster.local."

# (qname, qtype, rcode, answer as zone text); negative cases also check the SOA.
CASES = [
    ("nginx.mynamespace.svc.cluster.local.", "A", "NOERROR",
     f"nginx.mynamespace.svc.cluster.local. {T} A {NGINX_IP}"),
    ("kubernetes.default.svc.cluster.local.", "A", "NOERROR",
     f"kubernetes.default.svc.cluster.local. {T} A 10.96.0.1"),
    # headless: ready endpoints only (ready absent counts as ready; ready=false is left out)
    ("db.mynamespace.svc.cluster.local.", "A", "NOERROR",
     f"db.mynamespace.svc.cluster.local. {T} A 10.2.0.1\n"
     f"db.mynamespace.svc.cluster.local. {T} A 10.2.0.2"),
    ("db-0.db.mynamespace.svc.cluster.local.", "A", "NOERROR",
     f"db-0.db.mynamespace.svc.cluster.local. {T} A 10.2.0.1"),
    ("_pg._tcp.db.mynamespace.svc.cluster.local.", "SRV", "NOERROR",
     f"_pg._tcp.db.mynamespace.svc.cluster.local. {T} SRV 0 50 5432 db-0.db.mynamespace.svc.cluster.local.\n"
     f"_pg._tcp.db.mynamespace.svc.cluster.local. {T} SRV 0 50 5432 db-1.db.mynamespace.svc.cluster.local."),
    ("10.0.96.10.in-addr.arpa.", "PTR", "NOERROR",
     f"10.0.96.10.in-addr.arpa. {T} PTR nginx.mynamespace.svc.cluster.local."),
    ("1.0.2.10.in-addr.arpa.", "PTR", "NOERROR",
     f"1.0.2.10.in-addr.arpa. {T} PTR db-0.db.mynamespace.svc.cluster.local."),
    ("dns-version.cluster.local.", "TXT", "NOERROR",
     'dns-version.cluster.local. 28800 TXT "1.1.0"'),
    # negative answers: NXDOMAIN for names that do not exist, NODATA for names that do
    ("nosuch.mynamespace.svc.cluster.local.", "A", "NXDOMAIN", ""),
    ("nginx.nosuchns.svc.cluster.local.", "A", "NXDOMAIN", ""),
    ("idle.mynamespace.svc.cluster.local.", "A", "NXDOMAIN", ""),        # headless, none ready
    ("db-2.db.mynamespace.svc.cluster.local.", "A", "NXDOMAIN", ""),     # endpoint not ready
    ("nginx.mynamespace.svc.cluster.local.", "AAAA", "NOERROR", ""),     # IPv4-only service
    ("nginx.mynamespace.svc.cluster.local.", "TXT", "NOERROR", ""),
    ("mynamespace.svc.cluster.local.", "A", "NOERROR", ""),              # empty non-terminal
    ("svc.cluster.local.", "A", "NOERROR", ""),
]


@pytest.mark.parametrize("qname,qtype,rcode,answer", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_cluster_names(fedns, qname, qtype, rcode, answer):
    r = ask(fedns.address, qname, qtype)
    assert rcode_text(r) == rcode, f"{qname} {qtype}: {rcode_text(r)}\n{r}"
    if qtype == "SRV" and answer:
        # SRV priority/weight are the server's choice; the port and targets are the contract.
        got = {(rr.name.to_text().lower(), rr.ttl, rd.port, rd.target.to_text().lower()) for rr in r.answer for rd in rr}
        want = set()
        for line in answer.splitlines():
            owner, ttl, _, _, _, port, target = line.split()
            want.add((owner, int(ttl), int(port), target))
        assert got == want, show(r.answer)
    else:
        assert_section(r.answer, answer)
    if not answer:
        assert_negative_soa(r, CLUSTER_TTL)


def test_question_echoed_byte_for_byte(fedns):
    """Mixed-case names (DNS 0x20) come back exactly as asked, and still match case-insensitively."""
    qname = "NgInX.MyNameSpace.SVC.cluster.LOCAL."
    q = dns.message.make_query(qname, "A", use_edns=0)
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(wire, fedns.address)
        reply = s.recv(65535)
    question = wire[12:12 + len(dns.name.from_text(qname).to_wire()) + 4]
    assert reply[12:12 + len(question)] == question
    r = dns.message.from_wire(reply)
    assert_section(r.answer, f"nginx.mynamespace.svc.cluster.local. {T} A {NGINX_IP}")


def test_external_name_chased_through_upstream(fedns):
    r = ask(fedns.address, "ext.mynamespace.svc.cluster.local.", "A")
    assert rcode_text(r) == "NOERROR", str(r)
    assert_section(r.answer, f"""
        ext.mynamespace.svc.cluster.local. {T} CNAME www.example.com.
        www.example.com. <=300 A 198.51.100.1
    """)
    assert_cname_chain(r)


def test_dig_sees_cluster_answer(fedns):
    """The real dig, as an operator would run it."""
    host, port = fedns.address
    out = subprocess.run(["dig", f"@{host}", "-p", str(port), "+short", "+time=2", "+tries=1",
                          "nginx.mynamespace.svc.cluster.local", "A"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [NGINX_IP]


def test_json_state_file_answers_like_yaml(fedns, start_fedns):
    """The state file as `kubectl get … -o json` prints it (read by the streaming JSON decoder, not
    Yams) gives the same answers as the YAML one, for every name of the table above."""
    state = json.dumps({"apiVersion": "v1", "items": cluster_objects(), "kind": "List",
                        "metadata": {"resourceVersion": ""}}, indent=4)
    from_json = start_fedns(state=state)
    for qname, qtype, _, _ in CASES:
        want, got = ask(fedns.address, qname, qtype), ask(from_json.address, qname, qtype)
        assert rcode_text(got) == rcode_text(want), f"{qname} {qtype}"
        lines = [sorted(line for rr in r.answer for line in rr.to_text().splitlines()) for r in (got, want)]
        assert lines[0] == lines[1], f"{qname} {qtype}"
