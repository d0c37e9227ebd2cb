"""The walk-through (scripts/walkthrough.sh) as a test: the same scenario, each step asserted."""

from __future__ import annotations

import os
import time

import pytest

from publishing import CLUSTERS, DOMAIN, P
from servers import wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and port 53 inside them")

G = f"{P}.{DOMAIN}."


def regional(cluster: str) -> str:
    return f"{P}.{CLUSTERS[cluster][1]}.{DOMAIN}."


def zonal(cluster: str) -> str:
    return f"{P}.{CLUSTERS[cluster][0]}.{DOMAIN}."


def cluster_ip(cluster: str) -> str:
    return CLUSTERS[cluster][3]


@pytest.fixture
def walk():
    from walkthrough import Walkthrough
    w = Walkthrough(say=lambda *_: None).start()
    yield w
    w.stop()


def test_the_announcement_step_by_step(walk):
    w = walk
    # 1. Services, no backends: CNAMEs up the hierarchy, no global name.
    w.wait_public(zonal("gce-us-central1"), "CNAME", [regional("gce-us-central1")])
    w.watcher.wait_ready()
    public = w.public()
    assert public[G] == ("NXDOMAIN", [])
    for c in CLUSTERS:
        assert public[zonal(c)] == ("CNAME", [regional(c)])
        assert public[regional(c)] == ("CNAME", [G])

    # 2. Backends in three regions, not Europe: the announcement's record set.
    healthy = {"gce-asia-east1": 2, "gce-us-central1": 2, "gce-us-east1": 2}
    w.set_backends(healthy)
    w.wait_public(G, "A", ["198.51.100.10", "203.0.113.30", "203.0.113.40"])
    w.wait_public(regional("gce-europe-west1"), "CNAME", [G])
    public = w.public()
    assert public[zonal("gce-europe-west1")] == ("CNAME", [regional("gce-europe-west1")])
    for c in healthy:
        lb = CLUSTERS[c][2]
        assert public[zonal(c)] == ("A", [lb]) and public[regional(c)] == ("A", [lb])

    # 3. From a pod in each cluster: the local ClusterIP where the local shard is healthy, public
    #    addresses of the closest healthy shards where it is not.
    for c in healthy:
        wait_until(lambda c=c: w.pod_lookup(c) == [cluster_ip(c)], 30, interval=0.2, what=f"{c}: the local ClusterIP")
    assert w.pod_lookup("gce-europe-west1") == ["198.51.100.10", "203.0.113.30", "203.0.113.40"]

    # 4. The us-central1 backends fail: the pod there gets public addresses of the healthy shards.
    t0 = time.monotonic()
    w.set_backends({"gce-asia-east1": 2, "gce-us-east1": 2})
    wait_until(lambda: cluster_ip("gce-us-central1") not in w.pod_lookup("gce-us-central1"), 30, interval=0.05,
               what="the us-central1 pod's answer to leave the ClusterIP")
    w.wait_public(regional("gce-us-central1"), "CNAME", [G])
    assert w.public()[G] == ("A", ["198.51.100.10", "203.0.113.40"])
    wait_until(lambda: w.pod_lookup("gce-us-central1") == ["198.51.100.10", "203.0.113.40"], 30, interval=0.2,
               what="the us-central1 pod to get the global addresses")
    print(f"failure → public records changed: {time.monotonic() - t0:.2f} s")

    # 5. They come back: everything returns.
    w.set_backends(healthy)
    w.wait_public(regional("gce-us-central1"), "A", ["203.0.113.30"])
    wait_until(lambda: w.pod_lookup("gce-us-central1") == [cluster_ip("gce-us-central1")], 30, interval=0.2,
               what="the local answer again")
    assert w.public()[G] == ("A", ["198.51.100.10", "203.0.113.30", "203.0.113.40"])
