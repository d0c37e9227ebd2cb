"""DESIGN §7: the kube-dns ConfigMap keys (--kube-dns-config-dir) are re-read when they change; an
invalid update is rejected whole and the last good configuration keeps serving."""

import os
import time

import dns.rcode

from clusterdata import NGINX_IP, cluster_state, fedns_config
from k8sobjects import write_atomically
from servers import Fedns, ask


def addresses(server, name: str) -> list[str]:
    r = ask(server.address, name, "A")
    if r.rcode() != dns.rcode.NOERROR:
        return []
    return sorted(rr.address for rrset in r.answer if rrset.rdtype == 1 for rr in rrset)


def eventually(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_configmap_change_is_applied_and_a_bad_one_is_rejected_whole(knot, tmp_path):
    cm = tmp_path / "kube-dns"
    cm.mkdir()
    write_atomically(str(cm / "federations"), "myfederation=example.com")
    server = Fedns(config=fedns_config(knot.address), state=cluster_state(),
                   extra_args=["--kube-dns-config-dir", str(cm)]).start()
    try:
        # Asked twice so the second answer comes from the pre-rendered table.
        assert addresses(server, "nginx.mynamespace.myfederation.") == [NGINX_IP]
        assert addresses(server, "nginx.mynamespace.myfederation.") == [NGINX_IP]

        write_atomically(str(cm / "federations"), "otherfed=example.com")
        assert eventually(lambda: addresses(server, "nginx.mynamespace.otherfed.") == [NGINX_IP]), \
            "the new federation was not applied"
        # The old federation is gone, pre-rendered answers included.
        assert addresses(server, "nginx.mynamespace.myfederation.") == []

        write_atomically(str(cm / "federations"), "svc=example.com")   # invalid: svc is reserved
        time.sleep(2.5)
        assert addresses(server, "nginx.mynamespace.otherfed.") == [NGINX_IP], "a bad update replaced the good one"
        log = open(server.log).read()
        assert "rejected" in log and "svc" in log, log[-2000:]
    finally:
        server.stop()
