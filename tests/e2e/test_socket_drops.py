"""Queries nobody loses: what the kernel drops in a full UDP receive queue is counted in
`fedns_dns_socket_drops_total`, so queries sent = answers received + drops fedns counted; and the
configured receive buffer (`receiveBuffer`) is the one the listeners get."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import dns.message

from clusterdata import NGINX_IP, WEB_IP, cluster_state, fedns_config
from servers import Fedns, ask, free_port, wait_until


def metric(metrics_addr: str, name: str) -> float:
    with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=3) as r:
        text = r.read().decode()
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert m, f"{name} not exported:\n{text}"
    return float(m.group(1))


def start(knot, buffer: int) -> tuple[Fedns, str]:
    metrics_addr = f"127.0.0.1:{free_port()}"
    config = fedns_config(knot.address).replace('metrics: {listen: ""}', f'metrics: {{listen: "{metrics_addr}"}}')
    server = Fedns(config + f"receiveBuffer: {buffer}\n", cluster_state(),
                   extra_args=["--mode", "node-local", "--node-name", "node-a"]).start()
    return server, metrics_addr


def listener_rcvbufs(port: int) -> list[int]:
    """`rb` of every UDP socket bound to `port`, as `ss` reports it (the kernel's doubled SO_RCVBUF)."""
    out = subprocess.run(["ss", "-u", "-a", "-n", "-m", "sport", "=", f":{port}"], capture_output=True, text=True,
                         check=True).stdout
    return [int(v) for v in re.findall(r"skmem:\(r\d+,rb(\d+),", out)]


def test_kernel_drops_are_counted_and_close_the_accounting(knot):
    # A small buffer fills after a few dozen datagrams: the drops are certain and cheap to cause.
    server, metrics_addr = start(knot, 16384)
    try:
        assert metric(metrics_addr, "fedns_dns_socket_drops_total") == 0
        q = dns.message.make_query("nginx.mynamespace.svc.cluster.local.", "A", use_edns=0)
        sent, answered = 2000, 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # Our own queue must hold every answer, or the test would lose what fedns sent.
            s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)   # SO_RCVBUFFORCE (root); the tests run as root
            s.settimeout(2)
            server.signal(signal.SIGSTOP)
            try:
                for i in range(sent):
                    q.id = i
                    s.sendto(q.to_wire(), server.address)
            finally:
                server.signal(signal.SIGCONT)
            seen = set()
            try:
                while True:
                    seen.add(dns.message.from_wire(s.recv(65535)).id)
            except socket.timeout:
                pass
            answered = len(seen)
        drops = metric(metrics_addr, "fedns_dns_socket_drops_total")
        assert 0 < answered < sent, (answered, sent)
        assert drops == sent - answered, f"sent {sent}, answered {answered}, fedns counted {drops} kernel drops"
        # fedns keeps answering after its queue overflowed.
        assert ask(server.address, "nginx.mynamespace.svc.cluster.local.", "A").answer
    finally:
        server.signal(signal.SIGCONT)
        server.stop()


def test_configured_receive_buffer_is_applied_and_logged(knot):
    server, _ = start(knot, 3 << 20)
    try:
        # The kernel doubles SO_RCVBUF for its bookkeeping and reports the doubled value.
        bufs = listener_rcvbufs(server.port)
        assert bufs and all(b == 2 * (3 << 20) for b in bufs), bufs
        wait_until(lambda: "dns.receive_buffer=6291456" in open(server.log).read(), 5, what="the receive buffer log line")
    finally:
        server.stop()


def test_answers_the_kernel_will_not_send_are_counted(knot, netns):
    """An answer the kernel refuses to send is counted in `fedns_dns_unsent_answers_total` and the
    listener goes on answering everyone else. Here an OUTPUT rule in fedns's namespace drops the
    answers to one client port, as a host firewall would (sendto fails with EPERM); the first query
    of a name takes the slow path and the next ones the pre-rendered one, so both are covered."""
    in_ns = ["ip", "netns", "exec", netns]
    metrics_addr = f"127.0.0.1:{free_port()}"
    config = fedns_config(knot.address).replace('metrics: {listen: ""}', f'metrics: {{listen: "{metrics_addr}"}}')
    server = Fedns(config, cluster_state(), prefix=in_ns).start(wait_ready=False)
    blocked, free = 40053, 40054

    def dig(source_port: int, service: str = "nginx") -> list[str]:
        out = subprocess.run([*in_ns, "dig", f"@{server.host}", "-p", str(server.port), "-b", f"127.0.0.1#{source_port}",
                              "+tries=1", "+time=1", "+short", f"{service}.mynamespace.svc.cluster.local", "A"],
                             capture_output=True, text=True)
        return [line for line in out.stdout.splitlines() if line and not line.startswith(";")]

    def unsent() -> float:
        out = subprocess.run([*in_ns, "curl", "-s", "--max-time", "5", f"http://{metrics_addr}/metrics"],
                             capture_output=True, text=True).stdout
        m = re.search(r"^fedns_dns_unsent_answers_total (\S+)$", out, re.M)
        assert m, f"fedns_dns_unsent_answers_total not exported:\n{out[-2000:]}"
        return float(m.group(1))

    try:
        wait_until(lambda: dig(free) == [NGINX_IP], 60, interval=0.2, what="fedns in the namespace answering")
        assert unsent() == 0
        subprocess.run([*in_ns, "iptables", "-A", "OUTPUT", "-p", "udp", "--sport", str(server.port),
                        "--dport", str(blocked), "-j", "DROP"], check=True)
        for _ in range(3):   # web: not asked before, so the slow path's send first, then the table's
            assert dig(blocked, "web") == [], "the rule drops the answer"
        assert unsent() == 3
        assert dig(free, "web") == [WEB_IP], "the other clients are answered"
        assert unsent() == 3
    finally:
        server.stop()
