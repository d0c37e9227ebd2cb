"""The test Kubernetes API server (tests/kubeapi) speaks the real protocol: the real `kubectl` lists,
watches and reports its errors against it, and direct HTTPS requests check pagination, watches from a
resourceVersion, bookmarks, 410 Gone and the fault controls fedns's tests rely on."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest

from conftest import KUBE_TOKEN, KUBE_USER, REPO_ROOT
from tests.kubeapi import CA, KubeAPIServer, objects
from tests.kubeapi.control import Control

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed: these tests need the real client")


def small_cluster(api, services: int = 3, endpoints: int = 6) -> None:
    api.load(objects.cluster(services, endpoints, nodes=2))


def kubectl_argv(kubeconfig: str, *args: str) -> list[str]:
    # A discovery cache of its own: kubectl keys it by host:port, and another test's server may have had the port.
    cache = os.path.join(os.path.dirname(kubeconfig), "kubectl-cache")
    return [KUBECTL, "--kubeconfig", kubeconfig, "--cache-dir", cache, *args]


def kubectl(kubeconfig: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(kubectl_argv(kubeconfig, *args), capture_output=True, text=True, timeout=timeout)


class Client:
    """Direct HTTPS to the test server, verifying its certificate against the test CA."""

    def __init__(self, api, token: str | None = KUBE_TOKEN, cert=None):
        self.api, self.token = api, token
        self.ctx = ssl.create_default_context(cafile=api.ca.cert)
        if cert:
            self.ctx.load_cert_chain(cert.cert, cert.key)

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str) -> tuple[int, dict]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.ctx, timeout=10)
        try:
            conn.request("GET", path, headers=self.headers())
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def stream(self, path: str) -> "Stream":
        return Stream(self, path)


class Stream:
    """A watch response read chunk by chunk, as the HTTP chunked framing delivers it."""

    def __init__(self, client: Client, path: str):
        raw = socket.create_connection(("127.0.0.1", client.api.port), timeout=10)
        self.sock = client.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in client.headers().items()) + "\r\n"
        self.sock.sendall(head.encode())
        self.reader = self.sock.makefile("rb")
        status_line = self.reader.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.buffer = b""

    def chunk(self, timeout: float = 5) -> bytes | None:
        """The next chunk's data; None at the end of the stream (the zero chunk or EOF)."""
        self.sock.settimeout(timeout)
        size_line = self.reader.readline()
        if not size_line:
            return None
        size = int(size_line.strip(), 16)
        data = self.reader.read(size)
        self.reader.read(2)
        return data if size else None

    def event(self, timeout: float = 5) -> dict | None:
        """The next complete JSON event line, whatever the chunking."""
        while b"\n" not in self.buffer:
            data = self.chunk(timeout)
            if data is None:
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def ended(self, timeout: float = 5) -> bool:
        """True when the stream ends next (final chunk, EOF or reset) rather than sending data."""
        try:
            return self.chunk(timeout) is None
        except (ConnectionError, ssl.SSLError, ValueError):
            return True

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# kubectl


@needs_kubectl
def test_kubectl_lists_the_services_the_server_holds(kube_api, tmp_path):
    small_cluster(kube_api)
    kube_api.put(objects.service("default", "web", "10.96.7.7", ports=(("https", 443, "TCP"),)))
    config = kube_api.kubeconfig(str(tmp_path / "kubeconfig"), token=KUBE_TOKEN)
    result = kubectl(config, "get", "services", "-A")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0][:5] == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP"]
    assert ["default", "web", "ClusterIP", "10.96.7.7", "<none>", "443/TCP"] == rows[1][:6]
    assert {(r[0], r[1]) for r in rows[1:]} == {("default", "web"), ("ns-0", "svc-0"), ("ns-0", "svc-1"), ("ns-0", "svc-2")}
    # kubectl -o json decodes the full objects: the defaults the API server fills are there.
    full = json.loads(kubectl(config, "get", "service", "-n", "default", "web", "-o", "json",
                              "--show-managed-fields").stdout)
    assert full["spec"]["sessionAffinity"] == "None" and full["spec"]["ipFamilyPolicy"] == "SingleStack"
    assert "kubectl.kubernetes.io/last-applied-configuration" in full["metadata"]["annotations"]
    assert full["metadata"]["managedFields"]


@needs_kubectl
def test_kubectl_watch_sees_a_change_made_through_the_control_api(kube_api, tmp_path):
    small_cluster(kube_api)
    config = kube_api.kubeconfig(str(tmp_path / "kubeconfig"), token=KUBE_TOKEN)
    watcher = subprocess.Popen(kubectl_argv(config, "get", "endpointslices", "-A", "--watch"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        kube_api.wait_for_watches("endpointslices", 1, timeout=20)
        kube_api.put(objects.endpoint_slice("ns-0", "late", [objects.endpoint("10.64.9.9")], suffix="x1y2z"))
        deadline = time.monotonic() + 10
        seen = ""
        os.set_blocking(watcher.stdout.fileno(), False)
        while "late-x1y2z" not in seen and time.monotonic() < deadline:
            seen += watcher.stdout.read() or ""
            time.sleep(0.05)
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=10)
    seen += out or ""
    line = next((l for l in seen.splitlines() if "late-x1y2z" in l), None)
    assert line is not None, f"kubectl --watch did not print the new slice:\n{seen}\n{err}"
    assert line.split()[:5] == ["ns-0", "late-x1y2z", "IPv4", "80/TCP", "10.64.9.9"]


@needs_kubectl
def test_kubectl_reports_a_bad_token_as_unauthorized(kube_api, tmp_path):
    config = kube_api.kubeconfig(str(tmp_path / "kubeconfig"), token="not-a-token")
    result = kubectl(config, "get", "services", "-A")
    assert result.returncode != 0
    # kubectl's discovery client words the 401 this way (older kubectl: "(Unauthorized)").
    assert "error: You must be logged in to the server" in result.stderr
    assert "401 Unauthorized" in kubectl(config, "get", "services", "-A", "-v=6").stderr


@needs_kubectl
def test_kubectl_prints_the_forbidden_message(kube_api, tmp_path):
    kube_api.set_rbac({KUBE_USER: [("list", "services"), ("watch", "services")]})
    config = kube_api.kubeconfig(str(tmp_path / "kubeconfig"), token=KUBE_TOKEN)
    result = kubectl(config, "get", "endpointslices", "-A")
    assert result.returncode != 0
    assert ('Error from server (Forbidden): endpointslices.discovery.k8s.io is forbidden: User '
            '"system:serviceaccount:kube-system:fedns" cannot list resource "endpointslices" in API group '
            '"discovery.k8s.io" at the cluster scope') in result.stderr
    assert kubectl(config, "get", "services", "-A").returncode == 0


@needs_kubectl
def test_kubectl_authenticates_with_a_client_certificate_and_its_group(kube_api, tmp_path):
    small_cluster(kube_api)
    kube_api.set_rbac({"system:fedns-readers": [("*", "*")]})
    allowed = kube_api.ca.client_cert("node-a-fedns", ["system:fedns-readers"])
    config = kube_api.kubeconfig(str(tmp_path / "kubeconfig"), client_cert=allowed, embed=False)
    result = kubectl(config, "get", "nodes")
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["node-0", "node-1"]
    outsider = kube_api.ca.client_cert("someone-else")
    denied = kubectl(kube_api.kubeconfig(str(tmp_path / "other"), client_cert=outsider), "get", "nodes")
    assert 'User "someone-else" cannot list resource "nodes" in API group "" at the cluster scope' in denied.stderr


# ---------------------------------------------------------------------------------------------
# direct HTTPS


def test_credentials_401_and_token_rotation(kube_api):
    status, body = Client(kube_api, token="wrong").get("/api/v1/services")
    assert (status, body["kind"], body["reason"], body["code"]) == (401, "Status", "Unauthorized", 401)
    assert Client(kube_api, token=None).get("/api/v1/services")[0] == 401
    assert Client(kube_api).get("/api/v1/services")[0] == 200
    kube_api.set_tokens({"rotated": KUBE_USER})
    assert Client(kube_api).get("/api/v1/services")[0] == 401
    assert Client(kube_api, token="rotated").get("/api/v1/services")[0] == 200


def test_forbidden_status_body(kube_api):
    kube_api.set_rbac({KUBE_USER: [("get", "nodes")]})
    status, body = Client(kube_api).get("/api/v1/namespaces/kube-system/services?limit=5")
    assert status == 403
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'services is forbidden: User "system:serviceaccount:kube-system:fedns" cannot list '
                               'resource "services" in API group "" in the namespace "kube-system"',
                    "reason": "Forbidden", "details": {"kind": "services"}, "code": 403}


def test_pagination_is_consistent_and_an_expired_token_gets_410(kube_api):
    small_cluster(kube_api, services=25, endpoints=25)
    client = Client(kube_api)
    status, first = client.get("/api/v1/services?limit=10")
    assert status == 200 and first["kind"] == "ServiceList" and len(first["items"]) == 10
    list_rv = first["metadata"]["resourceVersion"]
    assert first["metadata"]["remainingItemCount"] == 15
    assert "kind" not in first["items"][0] and first["items"][0]["spec"]["type"] == "ClusterIP"
    # Writes between pages do not show: the pages come from the list's resourceVersion.
    kube_api.delete("services", "ns-0", "svc-9")
    kube_api.put(objects.service("ns-0", "zzz-new", "10.96.9.9"))
    names = [i["metadata"]["name"] for i in first["items"]]
    token = first["metadata"]["continue"]
    while token:
        status, page = client.get(f"/api/v1/services?limit=10&continue={token}")
        assert status == 200 and page["metadata"]["resourceVersion"] == list_rv
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert sorted(names) == sorted(f"svc-{i}" for i in range(25))
    # A new list sees the writes.
    status, fresh = client.get("/api/v1/services")
    assert {i["metadata"]["name"] for i in fresh["items"]} == {f"svc-{i}" for i in range(25) if i != 9} | {"zzz-new"}
    # After compaction the old token is expired.
    kube_api.compact()
    status, body = client.get(f"/api/v1/services?limit=10&continue={first['metadata']['continue']}")
    assert (status, body["reason"], body["code"]) == (410, "Expired", 410)
    assert body["message"].startswith("The provided continue parameter is too old")


def test_field_selectors_own_node_and_own_pods(kube_api):
    kube_api.load([objects.node("node-a"), objects.node("node-b"),
                   objects.pod("default", "p1", "10.64.0.1", node_name="node-a"),
                   objects.pod("default", "p2", "10.64.0.2", node_name="node-b")])
    client = Client(kube_api)
    _, nodes = client.get("/api/v1/nodes?fieldSelector=metadata.name%3Dnode-b")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["node-b"]
    assert nodes["items"][0]["metadata"]["labels"]["topology.kubernetes.io/zone"] == "us-central1-a"
    _, pods = client.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["p1"]
    status, body = client.get("/api/v1/services?fieldSelector=spec.nodeName%3Dx")
    assert status == 400


def test_watch_from_a_resource_version_sees_only_later_events(kube_api):
    small_cluster(kube_api)
    client = Client(kube_api)
    _, listed = client.get("/apis/discovery.k8s.io/v1/endpointslices")
    rv = listed["metadata"]["resourceVersion"]
    slice_name = listed["items"][0]["metadata"]["name"]
    address = listed["items"][0]["endpoints"][0]["addresses"][0]
    kube_api.set_ready("ns-0", slice_name, address, False)          # after rv: seen
    kube_api.put(objects.service("ns-0", "svc-x", "10.96.5.5"))     # another resource: not seen
    stream = client.stream(f"/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion={rv}")
    assert stream.status == 200 and stream.headers["transfer-encoding"] == "chunked"
    event = stream.event()
    assert event["type"] == "MODIFIED" and event["object"]["kind"] == "EndpointSlice"
    assert event["object"]["endpoints"][0]["conditions"] == {"ready": False, "serving": False, "terminating": False}
    assert int(event["object"]["metadata"]["resourceVersion"]) > int(rv)
    deleted_rv = kube_api.delete("endpointslices", "ns-0", slice_name)
    event = stream.event()
    assert event["type"] == "DELETED" and event["object"]["metadata"]["resourceVersion"] == str(deleted_rv)
    stream.close()


def test_bookmarks_carry_the_current_resource_version(kube_api):
    small_cluster(kube_api)
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}"
                                     "&allowWatchBookmarks=true")
    kube_api.wait_for_watches("services")
    kube_api.set_bookmark_interval(0.2)            # applies to the open watch too
    rv = kube_api.put(objects.service("ns-0", "svc-b", "10.96.5.6"))
    assert stream.event()["type"] == "ADDED"
    event = stream.event()
    assert event == {"type": "BOOKMARK", "object": {"kind": "Service", "apiVersion": "v1", "metadata": {
        "resourceVersion": str(rv), "creationTimestamp": None}, "spec": {}, "status": {"loadBalancer": {}}}}
    stream.close()


def test_a_watch_from_a_compacted_resource_version_gets_an_error_event_410(kube_api):
    small_cluster(kube_api)
    old = kube_api.resource_version
    kube_api.put(objects.service("ns-0", "svc-c", "10.96.5.7"))
    kube_api.compact()
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={old}")
    assert stream.status == 200
    event = stream.event()
    assert event["type"] == "ERROR"
    assert (event["object"]["kind"], event["object"]["code"], event["object"]["reason"]) == ("Status", 410, "Expired")
    assert event["object"]["message"].startswith(f"too old resource version: {old} (")
    assert stream.ended()


def test_expire_watches_sends_410_on_open_watches(kube_api):
    small_cluster(kube_api)
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}")
    kube_api.wait_for_watches("services")
    assert kube_api.expire_watches() == 1
    event = stream.event()
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert stream.ended()


def test_split_next_events_cuts_an_event_across_chunks(kube_api):
    small_cluster(kube_api)
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}")
    kube_api.wait_for_watches("services")
    kube_api.split_next_events([7, 300], events=2, resource="services")
    kube_api.put(objects.service("ns-0", "svc-d", "10.96.5.8"))
    kube_api.put(objects.service("ns-0", "svc-e", "10.96.5.9"))
    chunks = [stream.chunk(), stream.chunk(), stream.chunk()]
    whole = b"".join(chunks)
    assert [len(c) for c in chunks[:2]] == [7, 293]
    lines = whole.split(b"\n")
    assert len(lines) == 3 and lines[2] == b""
    assert [json.loads(l)["object"]["metadata"]["name"] for l in lines[:2]] == ["svc-d", "svc-e"]
    # Then back to one chunk per event.
    kube_api.put(objects.service("ns-0", "svc-f", "10.96.5.10"))
    assert json.loads(stream.chunk())["object"]["metadata"]["name"] == "svc-f"


def test_drop_next_event_tears_the_connection_down_mid_event(kube_api):
    small_cluster(kube_api)
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}")
    kube_api.wait_for_watches("services")
    kube_api.drop_next_event(at=25)
    kube_api.put(objects.service("ns-0", "svc-g", "10.96.5.11"))
    assert stream.chunk() == b'{"type":"ADDED","object":{"kind":"Service"'[:25]
    assert stream.ended()
    assert kube_api.open_watches() == 0


def test_silenced_watches_send_nothing_not_even_bookmarks(kube_api):
    small_cluster(kube_api)
    kube_api.set_bookmark_interval(0.1)
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}"
                                     "&allowWatchBookmarks=true")
    kube_api.wait_for_watches("services")
    assert kube_api.silence_watches() == 1
    kube_api.put(objects.service("ns-0", "svc-h", "10.96.5.12"))
    with pytest.raises(socket.timeout):
        stream.chunk(timeout=0.6)
    assert kube_api.open_watches("services") == 1   # still open
    # A new watch is served normally.
    fresh = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}")
    kube_api.put(objects.service("ns-0", "svc-i", "10.96.5.13"))
    assert fresh.event()["object"]["metadata"]["name"] == "svc-i"


def test_outage_refuses_then_serves_on_the_same_port(kube_api):
    small_cluster(kube_api)
    stream = Client(kube_api).stream(f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}")
    kube_api.wait_for_watches("services")
    port = kube_api.port
    kube_api.stop_listening()
    assert stream.ended()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    kube_api.start_listening()
    assert kube_api.port == port
    assert Client(kube_api).get("/api/v1/services")[0] == 200


def test_malformed_object_is_served_verbatim_among_good_ones(kube_api):
    small_cluster(kube_api)
    kube_api.put_raw("services", "ns-0", "svc-1a-bad", {"metadata": {"name": "svc-1a-bad", "namespace": "ns-0"},
                                                         "spec": {"clusterIP": 17, "ports": "eighty"}})
    status, body = Client(kube_api).get("/api/v1/namespaces/ns-0/services")
    assert status == 200
    assert [i["metadata"]["name"] for i in body["items"]] == ["svc-0", "svc-1", "svc-1a-bad", "svc-2"]
    assert body["items"][2]["spec"] == {"clusterIP": 17, "ports": "eighty"}


def test_discovery_documents(kube_api):
    client = Client(kube_api)
    assert client.get("/version")[1]["gitVersion"].startswith("v1.")
    _, core = client.get("/api/v1")
    assert {r["name"] for r in core["resources"]} >= {"services", "namespaces", "nodes", "pods"}
    _, groups = client.get("/apis")
    assert groups["groups"][0]["preferredVersion"]["groupVersion"] == "discovery.k8s.io/v1"
    _, discovery = client.get("/apis/discovery.k8s.io/v1")
    assert [r["name"] for r in discovery["resources"]] == ["endpointslices"]


def test_kubeconfig_token_is_the_base64_free_token(kube_api, tmp_path):
    path = kube_api.kubeconfig(str(tmp_path / "kc"), token=KUBE_TOKEN)
    config = json.load(open(path))
    assert config["users"][0]["user"] == {"token": KUBE_TOKEN}
    assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]) == kube_api.ca.cert_pem


def test_watch_without_resource_version_starts_with_the_current_objects_and_ends_at_its_timeout(kube_api):
    small_cluster(kube_api)
    stream = Client(kube_api).stream("/api/v1/namespaces/ns-0/services?watch=true&timeoutSeconds=1"
                                     "&labelSelector=app%20in%20(svc-0,svc-2)")
    initial = [stream.event(), stream.event()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in initial] == [("ADDED", "svc-0"), ("ADDED", "svc-2")]
    kube_api.put(objects.service("ns-0", "svc-1", "10.96.0.2", labels={"app": "other"}))   # not selected: unseen
    started = time.monotonic()
    assert stream.event(timeout=5) is None          # the final chunk, after timeoutSeconds
    assert 0.5 < time.monotonic() - started < 3


def test_an_object_leaving_the_selection_is_deleted_for_the_watch(kube_api):
    kube_api.load([objects.pod("default", "p1", "10.64.0.1", node_name=None)])
    stream = Client(kube_api).stream(f"/api/v1/pods?watch=1&resourceVersion={kube_api.resource_version}"
                                     "&fieldSelector=spec.nodeName%3Dnode-a")
    kube_api.put(objects.pod("default", "p1", "10.64.0.1", node_name="node-a"))    # scheduled here: ADDED
    kube_api.put(objects.pod("default", "p1", "10.64.0.1", node_name="node-b"))    # moved away: DELETED
    assert [stream.event()["type"], stream.event()["type"]] == ["ADDED", "DELETED"]


def test_a_watch_that_falls_behind_the_retained_history_gets_410(tmp_path):
    with KubeAPIServer(str(tmp_path), tokens={KUBE_TOKEN: KUBE_USER}, history=3) as api:
        start = api.load([objects.namespace("default")])
        for i in range(5):
            api.put(objects.service("default", f"s{i}", f"10.96.1.{i + 1}"))
        event = Client(api).stream(f"/api/v1/services?watch=1&resourceVersion={start}").event()
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
        recent = Client(api).stream(f"/api/v1/services?watch=1&resourceVersion={api.resource_version - 2}")
        assert [recent.event()["object"]["metadata"]["name"] for _ in range(2)] == ["s3", "s4"]


def test_big_lists_are_gzipped_for_clients_that_accept_it(kube_api):
    small_cluster(kube_api, services=300, endpoints=300)
    conn = http.client.HTTPSConnection("127.0.0.1", kube_api.port, context=Client(kube_api).ctx, timeout=10)
    conn.request("GET", "/api/v1/services", headers={"Authorization": f"Bearer {KUBE_TOKEN}", "Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.getheader("Content-Encoding") == "gzip"
    assert len(json.loads(gzip.decompress(response.read()))["items"]) == 300
    # Small ones are not, and a client that does not ask never gets gzip.
    conn.request("GET", "/api/v1/services?limit=2", headers={"Authorization": f"Bearer {KUBE_TOKEN}", "Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.getheader("Content-Encoding") is None and len(json.loads(response.read())["items"]) == 2
    assert len(Client(kube_api).get("/api/v1/services")[1]["items"]) == 300


def test_client_certificate_with_an_rsa_key(kube_api):
    cert = kube_api.ca.client_cert("rsa-user", ["readers"], key_type="rsa")
    assert b"BEGIN RSA PRIVATE KEY" in cert.key_pem
    assert Client(kube_api, token=None, cert=cert).get("/api/v1/services")[0] == 200
    kube_api.set_rbac({"other": [("*", "*")]})
    status, body = Client(kube_api, token=None, cert=cert).get("/api/v1/services")
    assert status == 403 and 'User "rsa-user"' in body["message"]


def test_standalone_server_with_its_control_socket(tmp_path):
    ready, sock, kubeconfig = tmp_path / "ready", tmp_path / "control.sock", tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "tests.kubeapi", "--services", "5", "--endpoints", "10",
                             "--nodes", "1", "--dir", str(tmp_path / "api"), "--control", str(sock),
                             "--write-kubeconfig", str(kubeconfig), "--ready-file", str(ready)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() is not None else "timeout"
            time.sleep(0.05)
        control = Control(str(sock))
        assert control.count("services") == 5 and control.count("endpointslices") == 5
        rv = control.put(objects.service("ns-0", "added", "10.96.3.3"))
        assert rv == control.resource_version()
        with pytest.raises(RuntimeError, match="unknown call"):
            control.call("shutdown_everything")
        config = json.load(open(kubeconfig))
        assert config["clusters"][0]["cluster"]["server"] == ready.read_text().strip()
        assert config["users"][0]["user"]["token"] == "fedns-test-token"
        control.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_the_connection_serves_the_next_request_after_a_watch_ends(kube_api):
    small_cluster(kube_api)
    client = Client(kube_api)
    conn = http.client.HTTPSConnection("127.0.0.1", kube_api.port, context=client.ctx, timeout=10)
    conn.request("GET", f"/api/v1/services?watch=1&resourceVersion={kube_api.resource_version}", headers=client.headers())
    response = conn.getresponse()
    kube_api.wait_for_watches("services")
    kube_api.expire_watches()
    assert json.loads(response.read())["object"]["code"] == 410      # the whole (chunked) body: one ERROR event
    sock = conn.sock
    conn.request("GET", "/api/v1/services", headers=client.headers())
    assert len(json.loads(conn.getresponse().read())["items"]) == 3
    assert conn.sock is sock                                           # the same connection (keep-alive)


def test_truncate_next_list_cuts_the_body_then_lists_are_whole_again(kube_api):
    small_cluster(kube_api)
    kube_api.truncate_next_list(100, resource="services")
    client = Client(kube_api)
    conn = http.client.HTTPSConnection("127.0.0.1", kube_api.port, context=client.ctx, timeout=10)
    conn.request("GET", "/api/v1/services", headers=client.headers())
    response = conn.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert len(cut.value.partial) == 100
    assert client.get("/apis/discovery.k8s.io/v1/endpointslices")[0] == 200    # other resources untouched
    assert len(client.get("/api/v1/services")[1]["items"]) == 3                # spent once


@needs_kubectl
def test_kubeconfig_variants_kubectl_accepts(kube_api, tmp_path):
    """The kubeconfig shapes fedns's tests use: a token file, CA as a file, insecure-skip-tls-verify."""
    small_cluster(kube_api)
    token_file = tmp_path / "token"
    token_file.write_text(KUBE_TOKEN + "\n")
    for name, kwargs in (("token-file", {"token_file": str(token_file), "embed": False}),
                         ("insecure", {"token": KUBE_TOKEN, "insecure": True})):
        config = kube_api.kubeconfig(str(tmp_path / name), **kwargs)
        result = kubectl(config, "get", "namespaces")
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert result.stdout.split()[3:5] == ["ns-0", "Active"]
    # A CA that did not sign the server's certificate: kubectl refuses the server.
    stranger = CA(str(tmp_path / "other-ca"))
    config = kube_api.kubeconfig(str(tmp_path / "wrong-ca"), token=KUBE_TOKEN, embed=False)
    with open(config) as f:
        text = f.read().replace(kube_api.ca.cert, stranger.cert)
    with open(config, "w") as f:
        f.write(text)
    result = kubectl(config, "get", "namespaces")
    assert result.returncode != 0 and "certificate signed by unknown authority" in result.stderr
