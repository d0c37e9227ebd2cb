"""Upgrades under load (not a test; bench/upgrade.sh): dnsperf sends --rate q/s (10,000 by default) of mixed
queries (cluster names, NXDOMAIN, federated names, forwarded names through Knot) to fedns while it is
replaced --replacements times in a row (10 by default) through --handoff-socket; each successor takes the
listening sockets over, the old process drains and gets SIGTERM as the kubelet sends it when the old pod
is deleted. Prints sent, answered, lost and SERVFAIL from dnsperf's own counters; exits non-zero unless
0 lost and 0 SERVFAIL. The short version runs in the test suite (tests/e2e/test_upgrade.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

from clusterdata import PUBLIC_ZONE, cluster_state, fedns_config  # noqa: E402
from servers import Fedns, Knot, free_port, tail, wait_until  # noqa: E402
from run import parse_dnsperf  # noqa: E402

MIX = [
    "nginx.mynamespace.svc.cluster.local A",
    "nginx.mynamespace.svc.cluster.local.mynamespace.svc.cluster.local A",   # a search-list miss: NXDOMAIN
    "nothere.default.svc.cluster.local A",
    "nginx.mynamespace.myfederation.svc.cluster.local A",
    "db-0.db.mynamespace.svc.cluster.local A",
    "www.example.com A",
    "www.example.com AAAA",
    "missing.example.com A",
    "kubernetes.default.svc.cluster.local A",
    "_https._tcp.kubernetes.default.svc.cluster.local SRV",
]


def log_text(server: Fedns) -> str:
    with open(server.log, encoding="utf-8", errors="replace") as f:
        return f.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=10000)
    parser.add_argument("--replacements", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds of load on each process")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="fedns-upgrade-")
    queries = os.path.join(work, "queries.txt")
    with open(queries, "w") as f:
        f.write("\n".join(MIX * 100) + "\n")
    knot = Knot({"example.com": PUBLIC_ZONE}).start()
    port = free_port()
    flags = ["--mode", "node-local", "--node-name", "node-a", "--handoff-socket", os.path.join(work, "handoff.sock")]
    config, state = fedns_config(knot.address), cluster_state()
    current = Fedns(config, state, extra_args=flags, port=port).start()
    servers = [current]
    seconds = int(args.interval * (args.replacements + 2)) + 2
    result: dict = {}

    def load() -> None:
        out = subprocess.run(["dnsperf", "-s", current.host, "-p", str(port), "-d", queries, "-Q", str(args.rate),
                              "-l", str(seconds), "-c", "8", "-q", "2000", "-t", "5"],
                             capture_output=True, text=True, timeout=seconds + 60)
        result.update(parse_dnsperf(out.stdout))

    sender = threading.Thread(target=load)
    sender.start()
    replaced = 0
    try:
        time.sleep(args.interval)
        for i in range(args.replacements):
            successor = Fedns(config, state, extra_args=flags, port=port)
            servers.append(successor)
            successor.start(wait_ready=False)
            wait_until(lambda: "hand-over: serving the sockets of the previous process" in log_text(successor), 120,
                       interval=0.05, what=f"replacement {i + 1} to take over:\n{tail(successor.log)}")
            wait_until(lambda: "hand-over: drained" in log_text(current), 120, interval=0.05, what="the old process to drain")
            code = current.stop()
            if code != 0:
                print(f"replacement {i + 1}: the old process exited {code}:\n{tail(current.log)}")
                return 1
            current = successor
            replaced += 1
            time.sleep(args.interval)
        sender.join()
    finally:
        sender.join()
        for s in servers:
            s.stop()
        knot.stop()
    servfail = result.get("rcodes", {}).get("SERVFAIL", 0)
    print(f"replacements {replaced} at {args.rate} q/s: sent {result.get('sent')}, answered {result.get('completed')}, "
          f"lost {result.get('lost')}, SERVFAIL {servfail}; response codes {result.get('rcodes')}")
    return 0 if result.get("lost") == 0 and servfail == 0 and replaced == args.replacements else 1


if __name__ == "__main__":
    sys.exit(main())
