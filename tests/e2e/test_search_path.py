"""Issue 3 end to end: the real glibc resolver in a network namespace set up like a Kubernetes pod,
fedns listening inside it on 127.0.0.1:53 in sidecar mode, Knot inside it as public DNS.

`getent ahosts nginx.mynamespace.myfederation` must give the local ClusterIP while the shard is
healthy and the zonal public address when it is not; the queries fedns receives per lookup are
counted with the server-side search path on and off, and both numbers printed.
Needs root (ip netns); skipped with a message otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import urllib.request

import pytest

from clusterdata import NGINX_IP, PUBLIC_ZONE, cluster_state, fedns_config
from servers import Fedns, Knot, wait_until

NS = f"fedns-sp-{os.getpid()}"
POD_NAMESPACE = "default"
ZONAL_IP = "203.0.113.10"
CLONE_NEWNET = 0x40000000
METRICS = "127.0.0.1:9153"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 to make a network namespace (ip netns add)")


@pytest.fixture(scope="module")
def pod_netns():
    """A namespace with the resolv.conf kubelet writes for a ClusterFirst pod in `default`."""
    subprocess.run(["ip", "netns", "add", NS], check=True)
    etc = f"/etc/netns/{NS}"
    try:
        os.makedirs(etc, exist_ok=True)
        with open(f"{etc}/resolv.conf", "w") as f:
            f.write(f"search {POD_NAMESPACE}.svc.cluster.local svc.cluster.local cluster.local\n"
                    "nameserver 127.0.0.1\noptions ndots:5\n")
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        # getaddrinfo (AI_ADDRCONFIG) returns nothing when the namespace has only loopback addresses.
        subprocess.run(["ip", "-n", NS, "addr", "add", "10.250.0.2/32", "dev", "lo"], check=True)
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False)
        shutil.rmtree(etc, ignore_errors=True)


@contextlib.contextmanager
def inside(netns: str):
    """Runs the block (and every process it starts) in `netns`; the harness's own readiness checks
    then reach the servers it starts there."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into the pod namespace")
        yield
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(home)
        os.close(target)


def sidecar_config(upstream, search_path: bool) -> str:
    config = fedns_config(upstream).replace('metrics: {listen: ""}', f'metrics: {{listen: "{METRICS}"}}')
    return config + f"mode: sidecar\nsearchPath: {{enabled: {str(search_path).lower()}, namespace: {POD_NAMESPACE}}}\n"


def requests_received() -> int:
    """The sum of fedns_dns_requests_total over every label (proto, family, type)."""
    with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=2) as r:
        text = r.read().decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("fedns_dns_requests_total")))


def getent(netns: str, name: str) -> tuple[set[str], str]:
    """The addresses `getent ahosts` prints, through glibc and the namespace's resolv.conf."""
    r = subprocess.run(["ip", "netns", "exec", netns, "getent", "ahosts", name], capture_output=True, text=True, timeout=30)
    return {line.split()[0] for line in r.stdout.splitlines() if line.strip()}, r.stdout


def lookup_counted(netns: str, name: str) -> tuple[set[str], int, str]:
    before = requests_received()
    addresses, out = getent(netns, name)
    return addresses, requests_received() - before, out


def test_getent_through_the_pod_search_path(pod_netns):
    name = "nginx.mynamespace.myfederation"
    counts: dict[str, int] = {}
    with inside(pod_netns):
        knot = Knot({"example.com": PUBLIC_ZONE}, host="127.0.0.2").start()
        try:
            for search_path in (True, False):
                label = "on" if search_path else "off"
                fedns = Fedns(sidecar_config(knot.address, search_path), cluster_state(),
                              extra_args=["--node-name", "node-a"], host="127.0.0.1", port=53).start()
                try:
                    addresses, counts[label], out = lookup_counted(pod_netns, name)
                    assert addresses == {NGINX_IP}, f"healthy shard, search path {label}:\n{out}"

                    # The shard goes unhealthy: fedns reloads the state file and sends pods to the zonal name.
                    with open(fedns.state_path, "w") as f:
                        f.write(cluster_state(nginx_ready=False))
                    wait_until(lambda: getent(pod_netns, name)[0] == {ZONAL_IP}, 10, interval=0.3,
                               what=f"getent to give the zonal address (search path {label})")
                    addresses, _, out = lookup_counted(pod_netns, name)
                    assert addresses == {ZONAL_IP}, f"unhealthy shard, search path {label}:\n{out}"
                finally:
                    fedns.stop()
        finally:
            knot.stop()
    print(f"\nqueries fedns received for one `getent ahosts {name}` (healthy shard): "
          f"search path on: {counts['on']}, off: {counts['off']}")
    # The pod has only an IPv4 address, so getaddrinfo (AI_ADDRCONFIG) asks A only.
    # Off: <name>.default.svc.cluster.local (NXDOMAIN), then <name>.svc.cluster.local.
    assert counts["off"] == 2, counts
    # On: the first query is answered with a CNAME to the federated name and its address.
    assert counts["on"] == 1, counts
