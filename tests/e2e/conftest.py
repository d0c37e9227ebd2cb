"""Fixtures for the end-to-end tests: one Knot serving the public federation zone, one fedns in
front of it for the read-only tests, and a factory for tests that change the cluster or stop fedns.
The data they serve is in clusterdata.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from clusterdata import PUBLIC_ZONE, cluster_state, fedns_config  # noqa: E402
from servers import Fedns, Knot  # noqa: E402


@pytest.fixture(scope="session")
def knot():
    server = Knot({"example.com": PUBLIC_ZONE}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fedns(knot):
    """The shared fedns: tests using it must not change its cluster or stop it."""
    server = Fedns(fedns_config(knot.address), cluster_state(),
                   extra_args=["--mode", "node-local", "--node-name", "node-a"]).start()
    yield server
    server.stop()


@pytest.fixture
def start_fedns(knot):
    """A factory for a private fedns (same cluster, same upstream), stopped after the test."""
    started: list[Fedns] = []

    def start(**kwargs) -> Fedns:
        server = Fedns(fedns_config(knot.address), kwargs.pop("state", cluster_state()),
                       extra_args=["--mode", "node-local", "--node-name", "node-a"], **kwargs).start()
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


# The test Kubernetes API server (tests/kubeapi) is imported as the `tests.kubeapi` package.
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

KUBE_USER = "system:serviceaccount:kube-system:fedns"
KUBE_TOKEN = "fedns-test-token"


@pytest.fixture
def kube_api(tmp_path):
    """A started test Kubernetes API server with an empty cluster, stopped after the test. The token
    KUBE_TOKEN authenticates as KUBE_USER; RBAC allows everything until the test sets it
    (`set_rbac`, `grant`, `revoke`). `kube_api.kubeconfig(path, token=KUBE_TOKEN)` writes a kubeconfig."""
    from tests.kubeapi import KubeAPIServer
    server = KubeAPIServer(str(tmp_path / "kubeapi"), tokens={KUBE_TOKEN: KUBE_USER}).start()
    yield server
    server.stop()


@pytest.fixture
def netns():
    """A fresh network namespace with loopback up; its processes are killed and it is deleted after."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    name = f"fedns-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
        try:
            os.kill(int(pid), 9)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "netns", "del", name], check=False)
