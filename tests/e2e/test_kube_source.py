"""The Kubernetes API source end to end: the `fedns` binary with a kubeconfig (or in-cluster credentials)
pointing at the test API server (tests/kubeapi, HTTPS with a per-run CA), queried with dnspython and dig.

Each test starts its own API server (the `kube_api` fixture) and its own fedns, loads the test cluster
of clusterdata.py, then changes it through the server: watch events, chunking faults, 410 Gone, silence,
token rotation, RBAC, an outage, malformed objects.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

import dns.rcode
import pytest

from clusterdata import CLUSTER_TTL, NGINX_IP, WEB_IP, cluster_objects, fedns_config
from conftest import KUBE_TOKEN, KUBE_USER
from dnscheck import assert_section, rcode_text
from servers import ServerExited, ask, fedns_binary, free_port, stop_process, tail, wait_until

T = CLUSTER_TTL
ZONAL = "svc.us-central1-a.example.com."
FEDERATED = "nginx.mynamespace.myfederation."
NGINX = "nginx.mynamespace.svc.cluster.local."


@dataclass
class KubeFedns:
    """`fedns serve` with the Kubernetes API source, on a free 127.0.0.1 port, metrics on another."""

    config: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    metrics_port: int = 0
    workdir: str = ""
    proc: subprocess.Popen | None = None

    def start(self, wait_synced: bool = True, timeout: float = 20.0) -> "KubeFedns":
        self.workdir = tempfile.mkdtemp(prefix="fedns-kube-")
        self.port = free_port()
        self.metrics_port = free_port()
        config = self.config.replace('metrics: {listen: ""}', f'metrics: {{listen: "127.0.0.1:{self.metrics_port}"}}')
        self.config_path = os.path.join(self.workdir, "fedns.yaml")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.log = os.path.join(self.workdir, "fedns.log")
        argv = [fedns_binary(), "serve", "--config", self.config_path, "--listen", f"127.0.0.1:{self.port}",
                "--mode", "node-local", *(["--node-name", "node-a"] if "nodeName:" in config else []), *self.args]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("KUBERNETES_") and k not in ("NODE_NAME", "POD_NAMESPACE", "FEDNS_SERVICEACCOUNT_DIR")}
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, env={**env, **self.env})
        if wait_synced:
            self.wait_synced(timeout)
        return self

    def wait_synced(self, timeout: float) -> None:
        """Cluster names answer (dns-version TXT NOERROR) only after the first sync."""
        def synced() -> bool:
            if self.proc.poll() is not None:
                raise ServerExited(f"fedns exited with {self.proc.returncode}:\n{tail(self.log)}")
            return ask(self.address, "dns-version.cluster.local.", "TXT", timeout=0.3).rcode() == dns.rcode.NOERROR
        try:
            wait_until(synced, timeout, interval=0.1, what="fedns's first sync")
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n--- fedns log ---\n{tail(self.log)}") from None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def log_text(self) -> str:
        with open(self.log, errors="replace") as f:
            return f.read()

    def metric(self, series: str) -> float:
        """The value of one series (`name{labels}` exactly as exposed), 0 when absent."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as r:
            text = r.read().decode()
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return 0.0

    def stop(self) -> None:
        stop_process(self.proc)
        if self.workdir and not os.environ.get("FEDNS_E2E_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture
def cluster(kube_api):
    """The test API server holding the test cluster."""
    kube_api.load(cluster_objects())
    return kube_api


@pytest.fixture
def start_kube_fedns(knot, tmp_path):
    started: list[KubeFedns] = []

    def start(args: list[str], *, config_extra: str = "", env: dict[str, str] | None = None, wait_synced: bool = True) -> KubeFedns:
        server = KubeFedns(fedns_config(knot.address) + config_extra, args, env or {})
        started.append(server)
        return server.start(wait_synced=wait_synced)
    yield start
    for server in started:
        server.stop()


def kubeconfig(api, tmp_path, **kwargs) -> str:
    return api.kubeconfig(str(tmp_path / "kubeconfig"), **({"token": KUBE_TOKEN} | kwargs))


def service_ip(server, name: str = NGINX) -> str:
    r = ask(server.address, name, "A", timeout=1)
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return rcode_text(r)
    return r.answer[0][0].address


def answer_kind(server, qname: str = FEDERATED) -> str:
    r = ask(server.address, qname, "A", timeout=1)
    if r.answer and r.answer[0].rdtype == 1 and r.answer[0][0].address == NGINX_IP:
        return "local"
    if r.answer and r.answer[0].rdtype == 5:
        return "cname"
    return f"other: {rcode_text(r)} {r.answer}"


def eventually(check, expected, timeout: float = 10.0):
    """Polls `check()` until it returns `expected`; fails naming the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last == expected:
            return
        time.sleep(0.05)
    pytest.fail(f"expected {expected!r} within {timeout}s, last {last!r}")


def nginx(ip: str) -> dict:
    from k8sobjects import service
    return service("mynamespace", "nginx", [ip])


# -- sync and events -------------------------------------------------------------------------------

@pytest.mark.parametrize("credential", ["token", "token-files", "client-cert"])
def test_initial_sync_then_answers(cluster, start_kube_fedns, tmp_path, credential):
    """The first sync lists every kind; then cluster and federated names answer. Each kubeconfig
    credential form works: an embedded token and CA, a CA file with a token file, a client certificate."""
    if credential == "token":
        path = kubeconfig(cluster, tmp_path)
    elif credential == "token-files":
        token_file = tmp_path / "token"
        token_file.write_text(KUBE_TOKEN + "\n")
        path = cluster.kubeconfig(str(tmp_path / "kubeconfig"), token_file=str(token_file), embed=False)
    else:
        path = cluster.kubeconfig(str(tmp_path / "kubeconfig"), client_cert=cluster.ca.client_cert(KUBE_USER), embed=False)
    server = start_kube_fedns(["--kubeconfig", path])
    assert_section(ask(server.address, NGINX, "A").answer, f"{NGINX} {T} A {NGINX_IP}")
    log = server.log_text()
    assert log.index("fedns listening") < log.index("kubernetes: source starting"), log   # listeners first
    assert answer_kind(server) == "local"
    # dig, as a person would ask.
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(server.port), "+short", "web.mynamespace.svc.cluster.local", "A"],
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.split() == [WEB_IP], out
    # Lists were paginated and watches opened for exactly the kinds needed: the own Node only.
    paths = [entry["path"] for entry in cluster.request_log()]
    assert any("/apis/discovery.k8s.io/v1/endpointslices?limit=500" in p for p in paths), paths
    assert any("/api/v1/nodes?" in p and "fieldSelector=metadata.name%3Dnode-a" in p for p in paths), paths
    assert not any(p.startswith("/api/v1/nodes?") and "fieldSelector" not in p for p in paths), paths


def test_a_readiness_flip_turns_the_federated_answer_into_the_cname_and_back(cluster, start_kube_fedns, tmp_path):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)])
    cluster.wait_for_watches("endpointslices")
    assert answer_kind(server) == "local"
    for address in ("10.1.0.1", "10.1.0.2"):
        cluster.set_ready("mynamespace", "nginx-abcde", address, False)
    eventually(lambda: answer_kind(server), "cname", timeout=5)
    r = ask(server.address, FEDERATED, "A")
    assert_section(r.answer, f"""
        {FEDERATED} {T} CNAME nginx.mynamespace.myfederation.{ZONAL}
        nginx.mynamespace.myfederation.{ZONAL} <=300 A 203.0.113.10
    """)
    cluster.set_ready("mynamespace", "nginx-abcde", "10.1.0.1", True)
    eventually(lambda: answer_kind(server), "local", timeout=5)


def test_an_event_split_across_chunks_is_applied_whole(cluster, start_kube_fedns, tmp_path):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)])
    cluster.wait_for_watches("services")
    # Two events cut mid-token, across three chunks (each its own TCP write).
    assert cluster.split_next_events([7, 60, 301], events=2, resource="services") >= 1
    cluster.put(nginx("10.96.7.1"))
    cluster.put(nginx("10.96.7.2"))
    eventually(lambda: service_ip(server), "10.96.7.2")


def test_a_connection_dropped_mid_event_resumes_from_the_last_version(cluster, start_kube_fedns, tmp_path):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)])
    cluster.wait_for_watches("services")
    cluster.drop_next_event(at=30, resource="services")
    cluster.put(nginx("10.96.8.1"))
    # The half event is discarded; the watch reopens from the version before it and gets it whole.
    eventually(lambda: service_ip(server), "10.96.8.1", timeout=10)
    assert server.metric('fedns_kube_watch_restarts_total{resource="services"}') >= 1


def test_410_during_watch_relists_and_removes_what_was_deleted_meanwhile(cluster, start_kube_fedns, tmp_path):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)])
    cluster.wait_for_watches("services")
    assert service_ip(server, "web.mynamespace.svc.cluster.local.") == WEB_IP
    # Away: the server goes down, web is deleted, history is compacted; back, the old version is gone.
    cluster.stop_listening()
    cluster.delete("services", "mynamespace", "web")
    cluster.compact()
    cluster.start_listening()
    eventually(lambda: service_ip(server, "web.mynamespace.svc.cluster.local."), "NXDOMAIN", timeout=15)
    assert service_ip(server) == NGINX_IP
    assert server.metric('fedns_kube_relists_total{resource="services"}') >= 1
    # A 410 ERROR event on an open watch does the same.
    cluster.wait_for_watches("services")
    cluster.expire_watches("services")
    cluster.put(nginx("10.96.9.9"))
    eventually(lambda: service_ip(server), "10.96.9.9", timeout=15)
    assert "410" in server.log_text()


def test_a_silent_watch_is_restarted(cluster, start_kube_fedns, tmp_path):
    cluster.set_bookmark_interval(0.5)
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)],
                              config_extra="source: {bookmarkInterval: 1}\n")
    cluster.wait_for_watches("services")
    cluster.silence_watches("services")
    cluster.put(nginx("10.96.10.1"))   # never sent on the silent watch
    # Silent past 2 × 1 s: the watch is dropped and reopened from the last version, which replays the change.
    eventually(lambda: service_ip(server), "10.96.10.1", timeout=8)
    assert "watch silent" in server.log_text()


# -- credentials and RBAC ----------------------------------------------------------------------------

def test_a_rotated_token_file_is_picked_up_after_a_401(cluster, start_kube_fedns, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(KUBE_TOKEN)
    path = cluster.kubeconfig(str(tmp_path / "kubeconfig"), token_file=str(token_file))
    server = start_kube_fedns(["--kubeconfig", path])
    cluster.wait_for_watches("services")
    # The kubelet rotates the projected token; the old one stops working; the watches end.
    cluster.set_tokens({"rotated-token": KUBE_USER})
    token_file.write_text("rotated-token")
    cluster.close_watches()
    cluster.put(nginx("10.96.11.1"))
    eventually(lambda: service_ip(server), "10.96.11.1", timeout=10)
    assert "token re-read" in server.log_text()


def test_a_bad_token_is_logged_once_retried_and_never_fatal(cluster, start_kube_fedns, tmp_path):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path, token="wrong")], wait_synced=False)
    time.sleep(4)   # several retries
    assert server.proc.poll() is None
    r = ask(server.address, NGINX, "A")
    assert rcode_text(r) == "SERVFAIL"                       # not synced: EDE 14
    assert ask(server.address, "www.example.com.", "A").answer  # forwarding works meanwhile
    log = server.log_text()
    # One line when the server starts rejecting the token: not one per retry, nor per watched resource.
    rejected = [line for line in log.splitlines() if "credentials rejected (401)" in line]
    assert len(rejected) == 1, log
    assert server.metric('fedns_kube_api_errors_total{code="401"}') > 4   # every resource, every retry, counted
    cluster.add_token("wrong", KUBE_USER)
    server.wait_synced(40)
    assert service_ip(server) == NGINX_IP


def test_a_403_names_the_missing_rbac_verb_and_resource(cluster, start_kube_fedns, tmp_path):
    # The ClusterRole of docs/operating.md without its endpointslices rule: only list and watch are granted.
    cluster.set_rbac({KUBE_USER: [(verb, resource) for verb in ("list", "watch")
                                  for resource in ("services", "namespaces", "nodes", "pods")]})
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)], wait_synced=False)
    time.sleep(4)
    assert server.proc.poll() is None
    log = server.log_text()
    assert log.count("cannot list endpointslices.discovery.k8s.io at the cluster scope: grant list and watch on endpointslices") == 1, log
    assert rcode_text(ask(server.address, NGINX, "A")) == "SERVFAIL"   # never synced without the slices
    cluster.grant(KUBE_USER, "endpointslices", verbs=("list", "watch"))
    server.wait_synced(40)
    assert answer_kind(server) == "local"


# -- outages and bad input ----------------------------------------------------------------------------

def test_the_api_server_gone_and_back(cluster, start_kube_fedns, tmp_path):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)])
    cluster.wait_for_watches("services")
    cluster.stop_listening()
    cluster.put(nginx("10.96.12.1"))   # a change while fedns cannot see it
    for _ in range(30):                # the last snapshot keeps serving, unchanged
        assert service_ip(server) == NGINX_IP
        assert answer_kind(server) == "local"
        time.sleep(0.1)
    cluster.start_listening()
    eventually(lambda: service_ip(server), "10.96.12.1", timeout=40)
    log = server.log_text()
    # Once per outage: not per retry, nor per watched resource.
    assert len(re.findall(r"API server unreachable", log)) == 1, log
    assert len(re.findall(r"answering again", log)) == 1, log


def test_a_malformed_object_is_skipped_and_the_rest_served(cluster, start_kube_fedns, tmp_path):
    from k8sobjects import service
    bad = service("mynamespace", "broken", ["10.96.13.1"])
    bad["spec"]["ports"] = "not a list"
    cluster.put_raw("services", "mynamespace", "broken", bad)
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)])
    assert service_ip(server) == NGINX_IP
    assert service_ip(server, "broken.mynamespace.svc.cluster.local.") == "NXDOMAIN"
    assert "mynamespace/broken" in server.log_text()
    # One more in a watch event: skipped, counted, and the next good event still applies.
    cluster.wait_for_watches("services")
    cluster.put_raw("services", "mynamespace", "broken2", b'{"metadata": {"name": "broken2", "namespace": "mynamespace"}, "spec": 7}')
    cluster.put(nginx("10.96.13.2"))
    eventually(lambda: service_ip(server), "10.96.13.2")
    assert server.metric('fedns_kube_objects_skipped_total{resource="services"}') >= 2


def test_in_cluster_credentials_as_a_pod_sees_them(cluster, start_kube_fedns, tmp_path):
    """KUBERNETES_SERVICE_HOST/PORT and the service account directory (token, ca.crt), as the kubelet mounts it."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(KUBE_TOKEN)
    (account / "ca.crt").write_bytes(cluster.ca.cert_pem)
    (account / "namespace").write_text("kube-system")
    host, port = cluster.host, cluster.port
    server = start_kube_fedns(["--in-cluster"], env={"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(port),
                                                     "FEDNS_SERVICEACCOUNT_DIR": str(account)})
    assert service_ip(server) == NGINX_IP
    assert "in-cluster" in server.log_text()


@pytest.mark.parametrize("config_extra, expected", [
    ("", None),                                                       # node-local, no search path: no pods
    ("searchPath: {enabled: true}\n", "fieldSelector=spec.nodeName%3Dnode-a"),   # the own node's pods only
    ("pods: verified\n", ""),                                         # every pod
])
def test_pods_are_watched_only_when_a_feature_needs_them(cluster, start_kube_fedns, tmp_path, config_extra, expected):
    server = start_kube_fedns(["--kubeconfig", kubeconfig(cluster, tmp_path)], config_extra=config_extra)
    pod_requests = [e["path"] for e in cluster.request_log() if e["path"].startswith("/api/v1/pods?")]
    if expected is None:
        assert pod_requests == []
    else:
        assert pod_requests and all(("fieldSelector" in p) == bool(expected) for p in pod_requests), pod_requests
        assert all(expected in p for p in pod_requests), pod_requests
        cluster.wait_for_watches("pods")
    assert service_ip(server) == NGINX_IP


def test_without_a_node_name_the_log_says_what_is_off(cluster, knot, tmp_path):
    """Node-local with the search path but no node name: no Node and no pods are watched, and the log says
    what that turns off; fedns still syncs and serves."""
    config = fedns_config(knot.address).replace("nodeName: node-a\n", "") + "searchPath: {enabled: true}\n"
    server = KubeFedns(config, ["--kubeconfig", kubeconfig(cluster, tmp_path)])
    try:
        server.start()
        log = server.log_text()
        assert "no node name" in log and "cannot tell a client's namespace" in log, log
        assert service_ip(server) == NGINX_IP
        paths = [e["path"] for e in cluster.request_log()]
        assert not any(p.startswith(("/api/v1/nodes", "/api/v1/pods")) for p in paths), paths
    finally:
        server.stop()
