"""A 300-endpoint headless service (a Kafka StatefulSet) resolved by real stub resolvers in a network
namespace set up like a pod, fedns listening inside it on 127.0.0.1:53.

musl before 1.2.4 (Alpine before 3.18, Debian 12's musl-tools) never retries over TCP: it must
still get addresses from the truncated UDP answer — as many as 512 bytes hold. glibc retries over
TCP after TC and gets all 300. The same for SRV with the addresses in additional: additional
records go first, the SRV records that fit stay.
Needs root (ip netns) and musl-gcc; skipped with a message otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import k8sobjects as k8s
from servers import Fedns

NS = f"fedns-tc-{os.getpid()}"
ENDPOINTS = [f"10.244.{1 + i // 200}.{i % 200 + 10}" for i in range(300)]
# 12 header + 36 question (kafka.default.svc.cluster.local A) + 16 per address: 28 fit in 512 bytes.
ADDRESSES_IN_512 = 28

LOOKUP_C = r"""
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* lookup NAME: the IPv4 addresses getaddrinfo gives, one a line.
   lookup -srv NAME: res_query's SRV answer as "tc=T an=N ar=N". */
int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "-srv") == 0) {
        unsigned char buf[65536];
        int n = res_query(argv[2], 1, 33, buf, sizeof buf);
        if (n < 12) { printf("res_query failed: %d\n", n); return 1; }
        printf("tc=%d an=%d ar=%d\n", (buf[2] >> 1) & 1, buf[6] << 8 | buf[7], buf[10] << 8 | buf[11]);
        return 0;
    }
    struct addrinfo hints = {0}, *res, *p;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(argv[1], NULL, &hints, &res);
    if (rc != 0) { printf("error: %s\n", gai_strerror(rc)); return 1; }
    for (p = res; p; p = p->ai_next) {
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)p->ai_addr)->sin_addr, text, sizeof text);
        printf("%s\n", text);
    }
    return 0;
}
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 to make a network namespace (ip netns add)")


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """The same lookup program linked statically against musl and dynamically against glibc."""
    if shutil.which("musl-gcc") is None:
        pytest.skip("needs musl-gcc (apt-get install musl-tools; scripts/install-deps.sh installs it)")
    d = tmp_path_factory.mktemp("clients")
    (d / "lookup.c").write_text(LOOKUP_C)
    subprocess.run(["musl-gcc", "-static", "-O1", "-o", str(d / "lookup-musl"), str(d / "lookup.c")], check=True)
    subprocess.run(["gcc", "-O1", "-o", str(d / "lookup-glibc"), str(d / "lookup.c"), "-lresolv"], check=True)
    return {"musl": str(d / "lookup-musl"), "glibc": str(d / "lookup-glibc")}


@pytest.fixture(scope="module")
def pod_with_fedns():
    """A namespace with a ClusterFirst pod's resolv.conf and fedns on 127.0.0.1:53 inside it."""
    subprocess.run(["ip", "netns", "add", NS], check=True)
    etc = f"/etc/netns/{NS}"
    fedns = None
    try:
        os.makedirs(etc, exist_ok=True)
        with open(f"{etc}/resolv.conf", "w") as f:
            f.write("search default.svc.cluster.local svc.cluster.local cluster.local\n"
                    "nameserver 127.0.0.1\noptions ndots:5\n")
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", NS, "addr", "add", "10.250.0.2/32", "dev", "lo"], check=True)
        state = k8s.object_list([
            k8s.namespace("default"),
            k8s.service("default", "kafka", headless=True, ports=(("broker", 9092, "TCP"),)),
            k8s.endpoint_slice("default", "kafka", [k8s.endpoint(ip) for ip in ENDPOINTS], ports=(("broker", 9092, "TCP"),)),
        ])
        config = ('clusterDomain: cluster.local\nupstreams: ["127.0.0.9:53"]\n'
                  'health: {listen: ""}\nready: {listen: ""}\nmetrics: {listen: ""}\n')
        fedns = Fedns(config, state, prefix=["ip", "netns", "exec", NS], host="127.0.0.1", port=53)
        fedns.start(wait_ready=False)
        yield fedns
    finally:
        if fedns:
            fedns.stop()
        subprocess.run(["ip", "netns", "del", NS], check=False)
        shutil.rmtree(etc, ignore_errors=True)


def run_in_pod(argv: list[str]) -> str:
    r = subprocess.run(["ip", "netns", "exec", NS, *argv], capture_output=True, text=True, timeout=30)
    return r.stdout


def wait_answering(client: str) -> None:
    import time
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "error" not in run_in_pod([client, "kafka"]):
            return
        time.sleep(0.2)


def test_musl_gets_the_addresses_that_fit_and_glibc_gets_all(pod_with_fedns, clients):
    wait_answering(clients["glibc"])
    out = run_in_pod([clients["musl"], "kafka"])
    musl = set(out.split())
    assert "error" not in out, f"musl (no TCP retry) got no address from the truncated UDP answer:\n{out}"
    assert len(musl) == ADDRESSES_IN_512 and musl <= set(ENDPOINTS), out

    out = run_in_pod([clients["glibc"], "kafka"])
    assert set(out.split()) == set(ENDPOINTS), f"glibc retries over TCP after TC and must get all 300:\n{out[:500]}"


def test_srv_keeps_srv_records_and_drops_additional_first(pod_with_fedns, clients):
    wait_answering(clients["glibc"])
    name = "_broker._tcp.kafka.default.svc.cluster.local"
    out = run_in_pod([clients["musl"], "-srv", name]).split()
    fields = dict(f.split("=") for f in out) if out and "=" in out[0] else {}
    assert fields.get("tc") == "1" and fields.get("ar") == "0", out
    assert int(fields.get("an", 0)) > 0, f"musl got no SRV record from the truncated UDP answer: {out}"

    out = run_in_pod([clients["glibc"], "-srv", name]).split()
    assert out == ["tc=0", "an=300", "ar=300"], out
