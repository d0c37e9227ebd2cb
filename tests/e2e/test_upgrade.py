"""Upgrades that lose nothing (--handoff-socket): while a real sender counts every UDP query and its reply
and four TCP clients ask over fresh connections, back to back, fedns is replaced three times; each new process takes the
listening sockets of the running one over a Unix socket (SCM_RIGHTS), the old one drains and, on SIGTERM,
exits 0. A successor that fails before taking over changes nothing: the old one keeps serving and hands
over to the next. Asserted: 0 lost, 0 SERVFAIL, every TCP query answered. bench/upgrade.sh is the long
version (10,000 q/s, ten replacements)."""

from __future__ import annotations

import os
import threading
import time

import dns.message
import dns.query
import dns.rcode

from clusterdata import cluster_state, fedns_config
from counting_sender import CountingSender
from servers import Fedns, free_port, tail, wait_until

QUERIES = [
    ("nginx.mynamespace.svc.cluster.local.", "A"),          # the cluster zone
    ("nothere.mynamespace.svc.cluster.local.", "A"),        # NXDOMAIN
    ("www.example.com.", "A"),                              # forwarded (then cached)
    ("nginx.mynamespace.myfederation.svc.cluster.local.", "A"),  # federation
    ("missing.example.com.", "A"),                          # forwarded NXDOMAIN
]
TAKEN = "hand-over: serving the sockets of the previous process"
DRAINED = "hand-over: drained"


def log_text(server: Fedns) -> str:
    with open(server.log, encoding="utf-8", errors="replace") as f:
        return f.read()


class TCPAsker:
    """One query per fresh TCP connection, back to back, counting answers and failures. Several of them
    keep connections arriving while the old process stops accepting (one it accepted then closed
    unread was seen as a reset)."""

    def __init__(self, server: tuple[str, int]):
        self.server = server
        self.answered = 0
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            q = dns.message.make_query("nginx.mynamespace.svc.cluster.local.", "A")
            try:
                r = dns.query.tcp(q, self.server[0], port=self.server[1], timeout=10)
                if r.rcode() == dns.rcode.NOERROR:
                    self.answered += 1
                else:
                    self.failures.append(dns.rcode.to_text(r.rcode()))
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(e))


def test_three_replacements_under_load_lose_no_query(knot, tmp_path):
    port = free_port()
    handoff = str(tmp_path / "handoff.sock")
    args = ["--mode", "node-local", "--node-name", "node-a", "--handoff-socket", handoff]
    config, state = fedns_config(knot.address), cluster_state()
    current = Fedns(config, state, extra_args=args, port=port).start()
    servers = [current]
    sender = CountingSender(current.address, QUERIES, rate=400).start()
    events: list[tuple[str, float]] = []

    def event(what: str) -> None:
        events.append((what, round(time.monotonic() - sender.started, 2)))
    askers = [TCPAsker(current.address) for _ in range(4)]
    for asker in askers:
        asker.thread.start()
    try:
        # A successor that fails before taking over (one of its addresses cannot be bound): nothing changes.
        broken = Fedns(config, state, extra_args=args + ["--listen", f"192.0.2.1:{port}"], port=port)
        servers.append(broken)
        broken.start(wait_ready=False)
        event("broken successor started")
        assert broken.proc.wait(60) != 0
        assert "192.0.2.1" in log_text(broken)
        wait_until(lambda: "before taking over; still serving" in log_text(current), 30, what="the old process to carry on")

        for _ in range(3):
            successor = Fedns(config, state, extra_args=args, port=port)
            servers.append(successor)
            successor.start(wait_ready=False)
            event("successor started")
            wait_until(lambda: TAKEN in log_text(successor), 60, interval=0.1,
                       what=f"the successor to take over:\n{tail(successor.log)}")
            event("taken")
            wait_until(lambda: DRAINED in log_text(current), 60, interval=0.1, what="the old process to drain")
            event("drained")
            # The kubelet's SIGTERM when the old pod is deleted: it exits 0 at once, leaving the successor serving.
            assert current.stop() == 0, tail(current.log)
            current = successor
            # Load on the new process before the next replacement.
            wait_until(lambda: sender.counts.answered > 0, 10)
            threading.Event().wait(1.0)
    finally:
        counts = sender.stop()
        for asker in askers:
            asker.stopping.set()
        for asker in askers:
            asker.thread.join(30)
        for s in servers:
            s.stop()
    assert counts.sent > 1000, counts
    assert counts.lost == 0, f"{counts}; events {events}"
    assert counts.servfail == 0, counts
    assert counts.mismatched == 0, counts
    assert counts.rcodes["NOERROR"] > 0 and counts.rcodes["NXDOMAIN"] > 0, counts
    for asker in askers:
        assert asker.answered > 10 and asker.failures == [], (asker.answered, asker.failures[:5], events)
