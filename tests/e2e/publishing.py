"""`fedns publish` against a real primary: Knot DNS with a TSIG key allowed to update and transfer
`example.com`, the four member clusters of the federation announcement as state files, and helpers
that read the zone with dnspython (not with fedns's own code).
"""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.request
from dataclasses import dataclass, field

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update

from servers import Knot, ServerExited, fedns_binary, tail, wait_until

KEY_NAME = "fedns-key"
KEY_SECRET = base64.b64encode(b"fedns publish test key, 32 bytes").decode()
OTHER_KEY_NAME = "other-key"           # known to Knot, allowed nothing
OTHER_SECRET = base64.b64encode(b"another key, not allowed updates").decode()
DOMAIN = "example.com"
P = "nginx.mynamespace.myfederation.svc"

# The announcement's clusters: name → (zone, region, load-balancer address, ClusterIP)
CLUSTERS = {
    "gce-asia-east1": ("asia-east1-a", "asia-east1", "198.51.100.10", "10.96.1.10"),
    "gce-europe-west1": ("europe-west1-b", "europe-west1", "198.51.100.20", "10.96.2.10"),
    "gce-us-central1": ("us-central1-a", "us-central1", "203.0.113.30", "10.96.3.10"),
    "gce-us-east1": ("us-east1-b", "us-east1", "203.0.113.40", "10.96.4.10"),
}

BASE_ZONE = """$ORIGIN example.com.
$TTL 300
@        SOA ns1 hostmaster 1 3600 900 604800 300
@        NS  ns1
ns1      A   127.0.0.1
"""


def cluster_state(cluster: str, ready: int, *, zone_labels: bool = True) -> str:
    """`kubectl get svc,endpointslices,nodes -o yaml` of one member cluster: Service nginx (LoadBalancer,
    federated) with `ready` ready backends, and one Node with the cluster's zone and region labels."""
    zone, region, lb, cluster_ip = CLUSTERS[cluster]
    endpoints = "\n".join(
        f"  - addresses: [\"10.{list(CLUSTERS).index(cluster) + 1}.0.{i + 1}\"]\n    conditions: {{ready: true}}"
        for i in range(ready))
    return f"""apiVersion: v1
kind: Node
metadata:
  name: {cluster}-node-1
  labels: {{topology.kubernetes.io/zone: {zone}, topology.kubernetes.io/region: {region}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: mynamespace}}
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: mynamespace
  labels: {{fedns.io/federation: myfederation}}
spec:
  type: LoadBalancer
  clusterIP: {cluster_ip}
  ports: [{{name: http, port: 80, protocol: TCP}}]
status:
  loadBalancer:
    ingress: [{{ip: {lb}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: nginx-{cluster}
  namespace: mynamespace
  labels: {{kubernetes.io/service-name: nginx}}
addressType: IPv4
ports: [{{name: http, port: 80, protocol: TCP}}]
endpoints:{"" if ready else " []"}
{endpoints}
"""


@dataclass
class Primary(Knot):
    """knotd as the zone's primary: `example.com` from a zone file, updates and transfers for KEY_NAME."""

    zones: dict[str, str] = field(default_factory=lambda: {DOMAIN: BASE_ZONE})
    host: str = "127.0.0.53"
    zone_options: str = "    acl: publisher\n"
    journal: str = "changes"              # accepted updates persist across a restart
    extra_config: str = f"""key:
  - id: {KEY_NAME}
    algorithm: hmac-sha256
    secret: {KEY_SECRET}
  - id: {OTHER_KEY_NAME}
    algorithm: hmac-sha256
    secret: {OTHER_SECRET}
acl:
  - id: publisher
    key: {KEY_NAME}
    action: [update, transfer]
"""

    def start(self, timeout: float = 15.0) -> "Primary":
        super().start(timeout)
        return self

    def serving(self) -> bool:
        """knotc reports the zone loaded (its SOA query alone may race the zone's first load)."""
        return subprocess.run(["knotc", "-c", self.conf, "zone-status", DOMAIN], capture_output=True).returncode == 0

    # Reading the zone with dnspython, over TCP.

    def query(self, name: str, rdtype: str) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        return dns.query.tcp(q, self.host, port=self.port, timeout=3)

    def rrset(self, name: str, rdtype: str) -> set[str]:
        """The records of `name`'s own `rdtype` set (a CNAME is not followed), as rdata text."""
        r = self.query(name, rdtype)
        out = set()
        for rrset in r.answer:
            if rrset.name == dns.name.from_text(name) and rrset.rdtype == dns.rdatatype.from_text(rdtype):
                out |= {rd.to_text() for rd in rrset}
        return out

    def rcode(self, name: str, rdtype: str = "A") -> str:
        return dns.rcode.to_text(self.query(name, rdtype).rcode())

    def serial(self) -> int:
        return self.query(DOMAIN + ".", "SOA").answer[0][0].serial

    def foreign_update(self, name: str, rdtype: str, *values: str, replace: bool = True) -> None:
        """A change by someone else (another TSIG key holder), through a real UPDATE."""
        keyring = dns.tsigkeyring.from_text({KEY_NAME: KEY_SECRET})
        u = dns.update.UpdateMessage(DOMAIN, keyring=keyring, keyalgorithm="hmac-sha256")
        if replace:
            u.replace(name, 180, rdtype, *values)
        else:
            u.add(name, 180, rdtype, *values)
        r = dns.query.tcp(u, self.host, port=self.port, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())


def publisher_config(primary: Primary, state_dir: str, *, secret: str = KEY_SECRET, key: str = KEY_NAME,
                     unhealthy_after: str = "40s", admin: str | None = None, server: str | None = None,
                     kube: dict[str, tuple[str, str | None]] | None = None, topology_from_nodes: bool = False) -> str:
    """The publisher's YAML: every cluster from `state_dir/<cluster>.yaml`, or from the API for those in `kube`
    (cluster → (kubeconfig, context))."""
    clusters = []
    for name, (zone, region, _, _) in CLUSTERS.items():
        if kube and name in kube:
            kubeconfig, context = kube[name]
            source = f"{{type: kubernetes, kubeconfig: {kubeconfig}" + (f", context: {context}}}" if context else "}")
        else:
            source = f"{{type: file, file: {state_dir}/{name}.yaml}}"
        where = "" if topology_from_nodes else f"    zone: {zone}\n    region: {region}\n"
        clusters.append(f"  - name: {name}\n{where}    source: {source}\n")
    return (f"federation: myfederation\ndomain: {DOMAIN}\nzonalNameFormat: zone\nttl: 180\n"
            f"clusterUnhealthyAfter: {unhealthy_after}\n"
            + (f"admin: {admin}\n" if admin else "")
            + "clusters:\n" + "".join(clusters)
            + f"dns:\n  server: {server or f'{primary.host}:{primary.port}'}\n  zone: {DOMAIN}\n"
            f"  tsig: {{name: {key}, algorithm: hmac-sha256, secret: {secret}}}\n  owner: myfederation\n")


def write_states(state_dir: str, ready: dict[str, int]) -> None:
    """Rewrites each cluster's state file by rename, as an editor or a ConfigMap volume does."""
    for name in CLUSTERS:
        path = os.path.join(state_dir, f"{name}.yaml")
        with open(path + ".tmp", "w") as f:
            f.write(cluster_state(name, ready.get(name, 0)))
        os.replace(path + ".tmp", path)


def run_publish(config_path: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([fedns_binary(), "publish", "--config", config_path, *args], capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class Watcher:
    """`fedns publish --config FILE` in watching mode, with its admin HTTP on a free port."""

    config_path: str
    admin_port: int = 0
    log: str = ""
    proc: subprocess.Popen | None = None
    extra: list[str] = field(default_factory=list)

    def start(self) -> "Watcher":
        self.log = self.config_path + ".log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([fedns_binary(), "publish", "--config", self.config_path, *self.extra],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise ServerExited(f"fedns publish exited with {self.proc.returncode}:\n{tail(self.log)}")
            try:
                return self.get("/ready")[0] == 200
            except OSError:
                return False
        wait_until(ready, timeout, interval=0.1, what="fedns publish /ready")

    def stop(self) -> int | None:
        """SIGTERM; returns the exit status (None when it had to be killed)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode if self.proc else None
