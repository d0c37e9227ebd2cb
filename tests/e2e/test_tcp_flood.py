"""New TCP clients during a connection flood (RFC 7766 §6.2.3): idle connections held open by one
client must not lock others out. fedns caps what one client address may hold, closes the
longest-idle connection to admit a newcomer when its table is full, and never closes a connection
with queries in flight. Everything on loopback, with a small table so the flood stays small.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
import urllib.request

import dns.message
import dns.rcode

import k8sobjects as k8s
from servers import Fedns, free_port, recv_exact

MAX_CONNECTIONS = 40


def config(metrics_port: int, upstream: tuple[str, int], share: float | None, idle: float | None) -> str:
    tcp = (f"tcp: {{maxConnections: {MAX_CONNECTIONS}" + (f", clientShare: {share}" if share else "")
           + (f", idleTimeout: {idle}" if idle else "") + "}\n")
    return ("clusterDomain: cluster.local\n"
            f'upstreams: ["{upstream[0]}:{upstream[1]}"]\n'
            "forward: {timeout: 1, budget: 2}\n"
            'health: {listen: ""}\nready: {listen: ""}\n'
            f'metrics: {{listen: "127.0.0.1:{metrics_port}"}}\n' + tcp)


STATE = k8s.object_list([k8s.namespace("default"), k8s.service("default", "web", ["10.96.0.10"])])


def connect(server: tuple[str, int], source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(server)
    return s


def send_query(s: socket.socket, name: str, qid: int) -> None:
    wire = dns.message.make_query(name, "A", id=qid).to_wire()
    s.sendall(struct.pack("!H", len(wire)) + wire)


def read_answer(s: socket.socket) -> dns.message.Message:
    (length,) = struct.unpack("!H", recv_exact(s, 2))
    return dns.message.from_wire(recv_exact(s, length))


def metric(port: int, line_prefix: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_prefix))


@contextlib.contextmanager
def silent_upstream():
    """A UDP socket that never answers: forwarded queries stay in flight for the whole budget."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.9", 0))
    try:
        yield s.getsockname()
    finally:
        s.close()


@contextlib.contextmanager
def fedns_with(share: float | None = None, idle: float | None = None):
    metrics_port = free_port()
    with silent_upstream() as upstream:
        fedns = Fedns(config(metrics_port, upstream, share, idle), STATE).start()
        try:
            yield fedns, metrics_port
        finally:
            fedns.stop()


def hold(server: tuple[str, int], sources: list[str], count: int) -> list[socket.socket]:
    """`count` idle connections, spread over `sources` (fedns may close some at once)."""
    held = []
    for i in range(count):
        held.append(connect(server, sources[i % len(sources)]))
    return held


def newcomer_queries(server: tuple[str, int], n: int) -> list[str]:
    """n queries from 127.0.0.3, each on a fresh connection; the failures, described."""
    failures = []
    for i in range(n):
        try:
            with connect(server, "127.0.0.3") as s:
                send_query(s, "web.default.svc.cluster.local.", i)
                r = read_answer(s)
                if r.rcode() != dns.rcode.NOERROR or not r.answer:
                    failures.append(f"query {i}: {dns.rcode.to_text(r.rcode())}")
        except (OSError, ConnectionError) as e:
            failures.append(f"query {i}: {e!r}")
    return failures


def test_one_address_holding_more_than_the_limit_cannot_lock_out_a_newcomer():
    with fedns_with() as (fedns, metrics_port):
        flood = hold(fedns.address, ["127.0.0.2"], MAX_CONNECTIONS * 3)
        try:
            time.sleep(0.3)
            failures = newcomer_queries(fedns.address, 100)
            assert not failures, f"{len(failures)} of 100 newcomer queries failed during the flood: {failures[:5]}"
            # The default share is a quarter of the table: 10 of the 120 stay, 110 are refused.
            refused = metric(metrics_port, 'fedns_dns_tcp_connections_rejected_total{reason="client_share"}')
            assert refused == MAX_CONNECTIONS * 3 - MAX_CONNECTIONS // 4, refused
        finally:
            for s in flood:
                s.close()


def test_a_full_table_closes_the_longest_idle_connection_for_a_newcomer():
    # A long idle timeout (3 s at a full table) keeps the table full until the first newcomer comes.
    with fedns_with(share=0.5, idle=300) as (fedns, metrics_port):
        flood = hold(fedns.address, ["127.0.0.2", "127.0.0.4", "127.0.0.5"], MAX_CONNECTIONS * 2)
        try:
            time.sleep(0.3)
            # 80 attempts from three addresses that may hold 20 each: the table (40) is full.
            before = metric(metrics_port, "fedns_dns_tcp_connections_evicted_total")
            assert before > 0, "the flood should have filled the table and turned over its idle connections"
            failures = newcomer_queries(fedns.address, 100)
            assert not failures, f"{len(failures)} of 100 newcomer queries failed with a full table: {failures[:5]}"
            evicted = metric(metrics_port, "fedns_dns_tcp_connections_evicted_total") - before
            assert evicted >= 1, "the first newcomer should have been admitted by closing an idle connection"
        finally:
            for s in flood:
                s.close()


def test_a_connection_with_pipelined_queries_in_flight_is_never_closed_for_a_newcomer():
    with fedns_with(share=1, idle=300) as (fedns, metrics_port):
        busy = connect(fedns.address, "127.0.0.6")     # the oldest connection: first in line if it were idle
        flood: list[socket.socket] = []
        try:
            # Forwarded to a silent upstream: each stays in flight for the 2 s budget, then SERVFAIL.
            for i in range(10):
                send_query(busy, f"q{i}.pipelined.example.", 1000 + i)
            time.sleep(0.2)
            flood = hold(fedns.address, ["127.0.0.2"], MAX_CONNECTIONS * 2)
            answers = {}
            busy.settimeout(10)
            for _ in range(10):
                r = read_answer(busy)
                answers[r.id] = dns.rcode.to_text(r.rcode())
            assert sorted(answers) == list(range(1000, 1010)), answers
            assert metric(metrics_port, "fedns_dns_tcp_connections_evicted_total") > 0, \
                "the flood should have been admitted by closing idle connections (the busy one was oldest)"
        finally:
            busy.close()
            for s in flood:
                s.close()
