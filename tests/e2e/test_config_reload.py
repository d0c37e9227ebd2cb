"""The kube-dns ConfigMap keys (docs/configuration.md) (--kube-dns-config-dir) are re-read when they change; an
invalid update is rejected whole and the last good configuration keeps serving."""

import os
import time

import dns.name
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


class SilentUpstream:
    """A UDP upstream that never answers and counts the `. NS` health probes it receives."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.probes = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.sock.getsockname()[1]

    def _serve(self):
        import dns.message
        import dns.rdatatype
        while self.running:
            try:
                data, _ = self.sock.recvfrom(4096)
            except OSError:
                continue
            try:
                q = dns.message.from_wire(data)
            except Exception:
                continue
            if q.question and q.question[0].name == dns.name.root and q.question[0].rdtype == dns.rdatatype.NS:
                self.probes += 1

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def test_a_reload_stops_the_old_forwarders_health_probes(tmp_path):
    old, new = SilentUpstream(), SilentUpstream()
    cm = tmp_path / "kube-dns"
    cm.mkdir()
    write_atomically(str(cm / "upstreamNameservers"), '["%s"]' % old.address)
    server = Fedns(config=fedns_config(("127.0.0.1", 9)), state=cluster_state(),
                   extra_args=["--kube-dns-config-dir", str(cm)]).start()
    try:
        # Timeouts mark the old upstream down (2 in a row); it is then probed every 3 s.
        assert ask(server.address, "www.example.org.", "A", timeout=6).rcode() == dns.rcode.SERVFAIL
        assert eventually(lambda: old.probes >= 1, timeout=8), "the old upstream was never probed"

        write_atomically(str(cm / "upstreamNameservers"), '["%s"]' % new.address)
        assert eventually(lambda: "reloaded" in open(server.log).read(), timeout=5)
        assert ask(server.address, "www.example.org.", "A", timeout=6).rcode() == dns.rcode.SERVFAIL
        assert eventually(lambda: new.probes >= 1, timeout=8), "the new upstream is not probed"
        before = old.probes
        time.sleep(7)   # two probe intervals
        assert old.probes == before, f"the old forwarder is still probed after the reload ({old.probes - before} more)"
        assert new.probes >= 2
    finally:
        server.stop()
        old.close()
        new.close()
