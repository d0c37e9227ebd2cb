"""The federation rule (docs/behaviour.md) end to end: local answers for healthy shards, the zonal CNAME
chased through Knot for unhealthy ones, and a readiness change picked up from the state file."""

import subprocess
import time

import pytest

from clusterdata import CLUSTER_TTL, NGINX_IP, cluster_state
from dnscheck import assert_cname_chain, assert_negative_soa, assert_section, rcode_text
from k8sobjects import write_atomically
from servers import ask

T = CLUSTER_TTL
ZONAL = "svc.us-central1-a.example.com."
SHAPES = ["{p}.", "{p}.svc.cluster.local."]      # bare, and as it arrives through a pod's search path


@pytest.mark.parametrize("shape", SHAPES)
def test_healthy_shard_answers_local_cluster_ip(fedns, shape):
    qname = shape.format(p="nginx.mynamespace.myfederation")
    r = ask(fedns.address, qname, "A")
    assert rcode_text(r) == "NOERROR", str(r)
    assert_section(r.answer, f"{qname} {T} A {NGINX_IP}")


@pytest.mark.parametrize("shape", SHAPES)
def test_healthy_shard_srv_owner_is_the_queried_name(fedns, shape):
    qname = shape.format(p="_http._tcp.nginx.mynamespace.myfederation")
    r = ask(fedns.address, qname, "SRV")
    assert rcode_text(r) == "NOERROR", str(r)
    assert [(rr.name.to_text().lower(), rr.ttl, rd.port, rd.target.to_text().lower())
            for rr in r.answer for rd in rr] == \
        [(qname, T, 80, "nginx.mynamespace.svc.cluster.local.")]


def test_healthy_shard_missing_type_is_nodata(fedns):
    r = ask(fedns.address, "nginx.mynamespace.myfederation.", "AAAA")
    assert rcode_text(r) == "NOERROR" and not r.answer, str(r)
    assert_negative_soa(r, CLUSTER_TTL)


@pytest.mark.parametrize("shape", SHAPES)
def test_unhealthy_shard_gets_zonal_cname_and_the_chased_answer(fedns, shape):
    qname = shape.format(p="web.mynamespace.myfederation")
    r = ask(fedns.address, qname, "A")
    assert rcode_text(r) == "NOERROR", str(r)
    assert_section(r.answer, f"""
        {qname} {T} CNAME web.mynamespace.myfederation.{ZONAL}
        web.mynamespace.myfederation.{ZONAL} <=300 A 203.0.113.11
    """)
    assert_cname_chain(r)


def test_unhealthy_shard_srv_is_chased_with_the_port_labels(fedns):
    qname = "_http._tcp.web.mynamespace.myfederation.svc.cluster.local."
    target = f"_http._tcp.web.mynamespace.myfederation.{ZONAL}"
    r = ask(fedns.address, qname, "SRV")
    assert rcode_text(r) == "NOERROR", str(r)
    assert_section(r.answer, f"""
        {qname} {T} CNAME {target}
        {target} <=300 SRV 0 100 80 web.mynamespace.myfederation.{ZONAL}
    """)
    assert_cname_chain(r)


def test_cname_query_gets_only_the_cname(fedns):
    qname = "web.mynamespace.myfederation."
    r = ask(fedns.address, qname, "CNAME")
    assert rcode_text(r) == "NOERROR", str(r)
    assert_section(r.answer, f"{qname} {T} CNAME web.mynamespace.myfederation.{ZONAL}")


def test_service_missing_everywhere_is_nxdomain_with_the_cname(fedns):
    qname = "api.mynamespace.myfederation."
    r = ask(fedns.address, qname, "A")
    assert rcode_text(r) == "NXDOMAIN", str(r)
    assert_section(r.answer, f"{qname} {T} CNAME api.mynamespace.myfederation.{ZONAL}")


def test_other_names_under_a_federation_label_are_nxdomain(fedns):
    r = ask(fedns.address, "mynamespace.myfederation.svc.cluster.local.", "A")
    assert rcode_text(r) == "NXDOMAIN", str(r)


def test_dig_follows_the_chain_in_one_reply(fedns):
    """What a client sees: the CNAME then Knot's A, in one reply, no second query."""
    host, port = fedns.address
    out = subprocess.run(["dig", f"@{host}", "-p", str(port), "+noall", "+answer", "+time=2", "+tries=1",
                          "web.mynamespace.myfederation", "A"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
    assert [(r[0].lower(), r[3], r[4].lower()) for r in rows] == [
        ("web.mynamespace.myfederation.", "CNAME", f"web.mynamespace.myfederation.{ZONAL}"),
        (f"web.mynamespace.myfederation.{ZONAL}", "A", "203.0.113.11"),
    ], out.stdout


def _answer_kind(server, qname: str) -> str:
    r = ask(server.address, qname, "A", timeout=1)
    if r.answer and r.answer[0].rdtype == 1 and r.answer[0][0].address == NGINX_IP:
        return "local"
    if r.answer and r.answer[0].rdtype == 5:
        return "cname"
    return f"other: {rcode_text(r)} {r.answer}"


def _wait_for(server, qname: str, kind: str, limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit + 3:   # keep polling past the limit to report how late it was
        if _answer_kind(server, qname) == kind:
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"{qname} did not become {kind} within {limit + 3:.1f}s (last: {_answer_kind(server, qname)})")


def test_readiness_change_in_state_file_flips_the_answer(start_fedns):
    """Rewrite the state file (by rename, then in place): local IP → CNAME → local IP, each within ~1 s."""
    server = start_fedns()
    qname = "nginx.mynamespace.myfederation."
    assert _answer_kind(server, qname) == "local"

    write_atomically(server.state_path, cluster_state(nginx_ready=False))
    took = _wait_for(server, qname, "cname", 1.5)
    assert took <= 1.5, f"took {took:.2f}s to see the shard go unready"
    r = ask(server.address, qname, "A")
    assert_section(r.answer, f"""
        {qname} {T} CNAME nginx.mynamespace.myfederation.{ZONAL}
        nginx.mynamespace.myfederation.{ZONAL} <=300 A 203.0.113.10
    """)

    with open(server.state_path, "w") as f:      # in place, as `kubectl get -o yaml > file` does
        f.write(cluster_state(nginx_ready=True))
    took = _wait_for(server, qname, "local", 1.5)
    assert took <= 1.5, f"took {took:.2f}s to see the shard ready again"
    r = ask(server.address, qname, "A")
    assert_section(r.answer, f"{qname} {T} A {NGINX_IP}")
