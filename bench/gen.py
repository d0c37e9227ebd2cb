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
# Every name under it exists (a wildcard in the forwarded zone): unique names there are cache misses.
MISS_ZONE = "miss." + FORWARD_ZONE
# A pod's search list with `ndots:5` in namespace ns-0 (kubelet's order).
SEARCH = ["ns-0.svc.cluster.local", "svc.cluster.local", "cluster.local"]
FEDERATED = 50


def services(n: int) -> list[tuple[str, str, str]]:
    """(namespace, name, ClusterIP) for n services spread over NAMESPACES namespaces."""
    return [(f"ns-{i % NAMESPACES}", f"svc-{i}", f"10.96.{i // 250}.{i % 250 + 1}") for i in range(n)]


def federated() -> list[tuple[str, str, str]]:
    """(namespace, name, ClusterIP) of the federated services (label `myfederation`), all healthy."""
    return [("ns-0", f"fed-{i}", f"10.97.0.{i + 1}") for i in range(FEDERATED)]


def state_yaml(n: int) -> str:
    items = [k8s.namespace(f"ns-{i}") for i in range(NAMESPACES)]
    items.append(k8s.node("bench-node", zone="us-central1-a", region="us-central1"))
    for i, (ns, name, ip) in enumerate(services(n)):
        items.append(k8s.service(ns, name, [ip]))
        items.append(k8s.endpoint_slice(ns, name, [k8s.endpoint(f"10.244.{i // 250}.{i % 250 + 1}",
                                                                 node_name="bench-node")]))
    for i, (ns, name, ip) in enumerate(federated()):
        items.append(k8s.service(ns, name, [ip]))
        items.append(k8s.endpoint_slice(ns, name, [k8s.endpoint(f"10.245.0.{i + 1}", node_name="bench-node")]))
    return k8s.object_list(items)


def unbound_local_data(n: int) -> str:
    """The same A records for Unbound, in a static local zone (negative answers carry its SOA)."""
    lines = ['    local-zone: "cluster.local." static',
             f'    local-data: "cluster.local. {CLUSTER_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 {CLUSTER_TTL}"']
    for ns, name, ip in services(n):
        lines.append(f'    local-data: "{name}.{ns}.svc.cluster.local. {CLUSTER_TTL} IN A {ip}"')
    # A federated name with a healthy local shard answers as the local Service does; a pod's search
    # list brings it as `<svc>.<ns>.<fed>.svc.<cd>`, which Unbound holds as plain local data.
    for ns, name, ip in federated():
        lines.append(f'    local-data: "{name}.{ns}.myfederation.svc.cluster.local. {CLUSTER_TTL} IN A {ip}"')
    return "\n".join(lines) + "\n"


def forward_zone(miss_wildcard: bool = False) -> str:
    """A zone both servers forward to; long TTLs so the cached pass never refetches. With
    `miss_wildcard`, every name under MISS_ZONE exists (the cache-miss row's unique names)."""
    lines = [f"$ORIGIN {FORWARD_ZONE}.", "$TTL 3600",
             "@ SOA ns1 hostmaster 1 3600 900 604800 3600", "@ NS ns1", "ns1 A 127.0.0.2"]
    lines += [f"host-{i} A 192.0.2.{i % 250 + 1}" for i in range(FORWARD_NAMES)]
    if miss_wildcard:
        lines.append(f"*.{MISS_ZONE.removesuffix('.' + FORWARD_ZONE)} 60 A 198.51.100.1")
    return "\n".join(lines) + "\n"


def cluster_queries(n: int, seed: int = 1) -> str:
    names = [f"{name}.{ns}.svc.cluster.local A" for ns, name, _ in services(n)]
    random.Random(seed).shuffle(names)
    return "\n".join(names) + "\n"


def forward_queries(seed: int = 2) -> str:
    names = [f"host-{i}.{FORWARD_ZONE} A" for i in range(FORWARD_NAMES)]
    random.Random(seed).shuffle(names)
    return "\n".join(names) + "\n"


def negative_queries(n: int, seed: int = 4) -> str:
    """Cluster-zone negative answers: each external name as its first `ndots:5` search candidate
    (NXDOMAIN), and AAAA of every IPv4-only Service (NODATA), at most as many."""
    names = [f"host-{i}.{FORWARD_ZONE}.{SEARCH[0]} A" for i in range(FORWARD_NAMES)]
    names += [f"{name}.{ns}.svc.cluster.local AAAA" for ns, name, _ in services(n)][:FORWARD_NAMES]
    random.Random(seed).shuffle(names)
    return "\n".join(names) + "\n"


def miss_queries(count: int, seed: int = 5) -> str:
    """`count` distinct names under MISS_ZONE: every one a cache miss, answered by the wildcard."""
    tag = random.Random(seed).randrange(1 << 30)
    return "".join(f"u{i}-{tag}.{MISS_ZONE} A\n" for i in range(count))


def pod_mix(n: int, lines: int, seed: int = 3) -> str:
    """`name TYPE` lines as pods with `ndots:5` in ns-0 send them, A and AAAA for each lookup, each
    lookup's search-list walk in order:
    - external names (35 %): `host-N.bench.example` as three cluster-zone candidates (NXDOMAIN), then as asked;
    - Services by short name `svc-N.ns-M` (35 %): one NXDOMAIN candidate, then the hit;
    - federated names `fed-N.ns-0.myfederation` (20 %): one NXDOMAIN candidate, then the local answer;
    - unique names under MISS_ZONE (10 %), which no cache holds."""
    rng = random.Random(seed)
    svcs, feds = services(n), federated()
    out: list[str] = []
    miss = 0
    while len(out) < lines:
        kind = rng.random()
        if kind < 0.35:
            name = f"host-{rng.randrange(FORWARD_NAMES)}.{FORWARD_ZONE}"
            walk = [f"{name}.{s}" for s in SEARCH] + [name]
        elif kind < 0.70:
            ns, svc, _ = svcs[rng.randrange(len(svcs))]
            walk = [f"{svc}.{ns}.{SEARCH[0]}", f"{svc}.{ns}.svc.cluster.local"]
        elif kind < 0.90:
            ns, fed, _ = feds[rng.randrange(len(feds))]
            walk = [f"{fed}.{ns}.myfederation.{SEARCH[0]}", f"{fed}.{ns}.myfederation.svc.cluster.local"]
        else:
            miss += 1
            walk = [f"u{miss}-{rng.randrange(1 << 30)}.{MISS_ZONE}"]
        for qtype in ("A", "AAAA"):
            out += [f"{name} {qtype}" for name in walk]
    return "\n".join(out) + "\n"


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
