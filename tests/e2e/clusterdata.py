"""The test cluster, its public federation zone and fedns's configuration, shared by the
end-to-end tests and the fixtures that start the servers.

Federated services live in namespace `mynamespace`, federation `myfederation` → `example.com`;
the own node `node-a` is in zone `us-central1-a`, region `us-central1` (from the Node's labels,
not from the config).
"""

from __future__ import annotations

import k8sobjects as k8s

CLUSTER_TTL = 5
NGINX_IP = "10.96.0.10"
WEB_IP = "10.96.0.11"
BIG_ENDPOINTS = 200          # 200 A records: over 512 and over 1232 bytes

PUBLIC_ZONE = """$ORIGIN example.com.
$TTL 300
@        SOA ns1 hostmaster 1 3600 900 604800 300
@        NS  ns1
ns1      A   127.0.0.2
www      A   198.51.100.1
www      AAAA 2001:db8::1
cached   A   198.51.100.2
; nginx: zonal, regional and global names, as a federation publishes them
nginx.mynamespace.myfederation.svc.us-central1-a  A 203.0.113.10
nginx.mynamespace.myfederation.svc.us-central1    A 203.0.113.20
nginx.mynamespace.myfederation.svc                A 203.0.113.30
_http._tcp.nginx.mynamespace.myfederation.svc.us-central1-a SRV 0 100 80 nginx.mynamespace.myfederation.svc.us-central1-a
; web: local shard never ready
web.mynamespace.myfederation.svc.us-central1-a    A 203.0.113.11
web.mynamespace.myfederation.svc.us-central1      A 203.0.113.21
web.mynamespace.myfederation.svc                  A 203.0.113.31
_http._tcp.web.mynamespace.myfederation.svc.us-central1-a SRV 0 100 80 web.mynamespace.myfederation.svc.us-central1-a
; api: exists nowhere (no local Service, no public record) → NXDOMAIN at the end of the chain
"""


def cluster_objects(nginx_ready: bool = True) -> list[dict]:
    """The test cluster; nginx's shard readiness is the knob the reload test turns."""
    big = [k8s.endpoint(f"10.3.{i // 250}.{i % 250 + 1}") for i in range(BIG_ENDPOINTS)]
    return [
        k8s.namespace("default"), k8s.namespace("kube-system"), k8s.namespace("mynamespace"),
        k8s.node("node-a", zone="us-central1-a", region="us-central1"),
        k8s.node("node-b", zone="us-central1-b", region="us-central1"),
        k8s.service("mynamespace", "nginx", [NGINX_IP]),
        k8s.endpoint_slice("mynamespace", "nginx",
                           [k8s.endpoint("10.1.0.1", ready=nginx_ready),
                            k8s.endpoint("10.1.0.2", ready=nginx_ready, node_name="node-b")]),
        k8s.service("mynamespace", "web", [WEB_IP]),
        k8s.endpoint_slice("mynamespace", "web", [k8s.endpoint("10.1.1.1", ready=False)]),
        k8s.service("mynamespace", "db", headless=True, ports=(("pg", 5432, "TCP"),)),
        k8s.endpoint_slice("mynamespace", "db",
                           [k8s.endpoint("10.2.0.1", hostname="db-0"),
                            k8s.endpoint("10.2.0.2", hostname="db-1", ready=None),
                            k8s.endpoint("10.2.0.3", hostname="db-2", ready=False)],
                           ports=(("pg", 5432, "TCP"),)),
        k8s.service("mynamespace", "big", headless=True),
        k8s.endpoint_slice("mynamespace", "big", big),
        k8s.service("mynamespace", "idle", headless=True),
        k8s.endpoint_slice("mynamespace", "idle", [k8s.endpoint("10.4.0.1", ready=False)]),
        k8s.service("mynamespace", "ext", external_name="www.example.com", ports=()),
        k8s.service("default", "kubernetes", ["10.96.0.1"], ports=(("https", 443, "TCP"),)),
    ]


def cluster_state(nginx_ready: bool = True) -> str:
    return k8s.object_list(cluster_objects(nginx_ready))


def fedns_config(upstream: tuple[str, int]) -> str:
    host, port = upstream
    # Admin listeners off: parallel instances would fight over :8080/:8181/:9153.
    return (
        "clusterDomain: cluster.local\n"
        f"ttl: {CLUSTER_TTL}\n"
        "federations: {myfederation: example.com}\n"
        "zonalNameFormat: zone\n"
        "nodeName: node-a\n"
        f'upstreams: ["{host}:{port}"]\n'
        "cache: {maxEntries: 10000}\n"
        'health: {listen: ""}\n'
        'ready: {listen: ""}\n'
        'metrics: {listen: ""}\n'
    )
