"""Inputs for the benchmark: N ClusterIP services as a fedns state file and as Unbound
`local-data`, the forwarded zone for Knot, and dnsperf query files (`name TYPE` lines).

Usage: python3 bench/gen.py OUTDIR [SERVICES]   (bench/run.py calls the functions directly)
"""

from __future__ import annotations

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import k8sobjects as k8s  # noqa: E402

CLUSTER_TTL = 5
FORWARD_ZONE = "bench.example"
FORWARD_NAMES = 1000
NAMESPACES = 10


def services(n: int) -> list[tuple[str, str, str]]:
    """(namespace, name, ClusterIP) for n services spread over NAMESPACES namespaces."""
    return [(f"ns-{i % NAMESPACES}", f"svc-{i}", f"10.96.{i // 250}.{i % 250 + 1}") for i in range(n)]


def state_yaml(n: int) -> str:
    items = [k8s.namespace(f"ns-{i}") for i in range(NAMESPACES)]
    items.append(k8s.node("bench-node", zone="us-central1-a", region="us-central1"))
    for i, (ns, name, ip) in enumerate(services(n)):
        items.append(k8s.service(ns, name, [ip]))
        items.append(k8s.endpoint_slice(ns, name, [k8s.endpoint(f"10.244.{i // 250}.{i % 250 + 1}",
                                                                 node_name="bench-node")]))
    return k8s.object_list(items)


def unbound_local_data(n: int) -> str:
    """The same A records for Unbound, in a static local zone (negative answers carry its SOA)."""
    lines = ['    local-zone: "cluster.local." static',
             f'    local-data: "cluster.local. {CLUSTER_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 {CLUSTER_TTL}"']
    for ns, name, ip in services(n):
        lines.append(f'    local-data: "{name}.{ns}.svc.cluster.local. {CLUSTER_TTL} IN A {ip}"')
    return "\n".join(lines) + "\n"


def forward_zone() -> str:
    """A zone both servers forward to; long TTLs so the cached pass never refetches."""
    lines = [f"$ORIGIN {FORWARD_ZONE}.", "$TTL 3600",
             "@ SOA ns1 hostmaster 1 3600 900 604800 3600", "@ NS ns1", "ns1 A 127.0.0.2"]
    lines += [f"host-{i} A 192.0.2.{i % 250 + 1}" for i in range(FORWARD_NAMES)]
    return "\n".join(lines) + "\n"


def cluster_queries(n: int, seed: int = 1) -> str:
    names = [f"{name}.{ns}.svc.cluster.local A" for ns, name, _ in services(n)]
    random.Random(seed).shuffle(names)
    return "\n".join(names) + "\n"


def forward_queries(seed: int = 2) -> str:
    names = [f"host-{i}.{FORWARD_ZONE} A" for i in range(FORWARD_NAMES)]
    random.Random(seed).shuffle(names)
    return "\n".join(names) + "\n"


def main() -> None:
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    os.makedirs(out, exist_ok=True)
    files = {"cluster.yaml": state_yaml(n), "unbound-local-data.conf": unbound_local_data(n),
             f"{FORWARD_ZONE}.zone": forward_zone(), "queries-cluster.txt": cluster_queries(n),
             "queries-forward.txt": forward_queries()}
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    print(f"wrote {', '.join(files)} to {out}")


if __name__ == "__main__":
    main()
