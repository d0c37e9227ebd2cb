"""Listeners first: fedns binds its DNS port before it reads the cluster state file, answers
forwarded names meanwhile, and gives cluster names SERVFAIL with EDE 14 until the load completes."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

import dns.edns
import dns.rcode

sys.path.insert(0, os.path.dirname(__file__))

import k8sobjects as k8s  # noqa: E402
from clusterdata import cluster_objects, fedns_config  # noqa: E402
from servers import Fedns, ask, free_port, wait_until  # noqa: E402

BIG = 3000   # Services, each with a slice of 5 endpoints: some seconds to load in a debug build


def ip(n: int, base: int) -> str:
    return f"10.{base + n // 65536}.{n // 256 % 256}.{n % 256}"


def big_state() -> str:
    """The usual cluster plus BIG Services, as `kubectl get -o json` prints a List."""
    items = cluster_objects()
    for i in range(BIG):
        name = f"svc-{i}"
        items.append(k8s.service("bulk", name, [ip(i, base=100)]))
        items.append(k8s.endpoint_slice("bulk", name, [k8s.endpoint(ip(5 * i + j, base=200)) for j in range(5)]))
    return json.dumps({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})


def ede_codes(reply) -> list[int]:
    return [o.code for o in reply.options if o.otype == dns.edns.EDE]


def ready_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_listeners_answer_before_a_big_state_file_is_loaded(knot):
    ready_port = free_port()
    config = fedns_config(knot.address).replace('ready: {listen: ""}', f'ready: {{listen: "127.0.0.1:{ready_port}"}}')
    server = Fedns(config, big_state(), extra_args=["--mode", "node-local", "--node-name", "node-a"])
    started = time.monotonic()
    server.start(wait_ready=False)
    try:
        # The port answers a forwarded name first...
        forwarded = wait_until(lambda: ask(server.address, "www.example.com.", "A", timeout=0.3), 20,
                               what="fedns to answer a forwarded name")
        assert forwarded.rcode() == dns.rcode.NOERROR and forwarded.answer
        # ...while the file is still loading: cluster and federated names are SERVFAIL with EDE 14, /ready 503.
        cluster = ask(server.address, "nginx.mynamespace.svc.cluster.local.", "A")
        federated = ask(server.address, "nginx.mynamespace.myfederation.svc.cluster.local.", "A")
        not_ready = ready_status(ready_port)
        bound_after = time.monotonic() - started
        assert cluster.rcode() == dns.rcode.SERVFAIL and ede_codes(cluster) == [14], (cluster, bound_after)
        assert federated.rcode() == dns.rcode.SERVFAIL and ede_codes(federated) == [14]
        assert not_ready == 503
        # Then the real answer.
        server.wait_ready(120)
        answer = ask(server.address, "nginx.mynamespace.svc.cluster.local.", "A")
        assert answer.rcode() == dns.rcode.NOERROR and answer.answer
        bulk = ask(server.address, f"svc-{BIG - 1}.bulk.svc.cluster.local.", "A")
        assert bulk.rcode() == dns.rcode.NOERROR and bulk.answer
        assert wait_until(lambda: ready_status(ready_port) == 200, 10, what="/ready 200")
    finally:
        server.stop()
