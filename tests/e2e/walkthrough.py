"""The federation announcement's walk-through on one machine, with real parts only.

Knot DNS is the public DNS provider for example.com (TSIG-signed updates allowed for the publisher's
key); four member clusters each hold Service `nginx` in `mynamespace` (type LoadBalancer, an ingress
address from the documentation ranges): three from state files, `gce-us-central1` from the test
Kubernetes API server. `fedns publish` keeps the public records; one `fedns serve` per cluster runs in
a network namespace of its own, with a pod's resolv.conf, and `getent` asks through it as a pod does.
Each namespace reaches Knot (and the API server) over a veth pair to the host namespace; nothing
leaves the machine.

`scripts/walkthrough.sh` runs it and prints each step; tests/e2e/test_walkthrough.py runs the same
steps and asserts them. Needs root (network namespaces).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from publishing import CLUSTERS, DOMAIN, P, Primary, Watcher, cluster_state, publisher_config  # noqa: E402
from servers import fedns_binary, free_port, stop_process, wait_until  # noqa: E402

FEDERATED = "nginx.mynamespace.myfederation"
API_CLUSTER = "gce-us-central1"
TTL = 5          # public records' TTL here, so cached answers turn over within the walk (default 180)
KUBE_TOKEN = "walkthrough-token"


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


class Walkthrough:
    def __init__(self, say=print):
        self.say = say
        self.workdir = tempfile.mkdtemp(prefix="fedns-walkthrough-")
        self.netns: dict[str, str] = {}
        self.procs: list[subprocess.Popen] = []
        self.primary: Primary | None = None
        self.api = None
        self.watcher: Watcher | None = None
        self.ready: dict[str, int] = {}

    # --- set-up -------------------------------------------------------------------------------

    def start(self) -> "Walkthrough":
        if os.geteuid() != 0:
            raise PermissionError("the walk-through needs root: network namespaces, port 53 inside them")
        for i, cluster in enumerate(CLUSTERS, start=1):
            self.make_netns(i, cluster)
        # Knot on the host side of every veth pair, and on loopback for the publisher.
        self.primary = Primary(host="127.0.0.53", also_listen=[f"10.250.{i}.1" for i in range(1, len(CLUSTERS) + 1)])
        self.primary.start()
        self.start_api()
        for cluster in CLUSTERS:
            self.write_state(cluster)
        self.start_publisher()
        for i, cluster in enumerate(CLUSTERS, start=1):
            self.start_fedns(i, cluster)
        return self

    def make_netns(self, i: int, cluster: str) -> None:
        ns = f"fedns-wt{i}"
        run(["ip", "netns", "del", ns])
        run(["ip", "link", "del", f"fwt{i}h"])
        for argv in (["ip", "netns", "add", ns],
                     ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                     ["ip", "link", "add", f"fwt{i}h", "type", "veth", "peer", "name", f"fwt{i}p"],
                     ["ip", "link", "set", f"fwt{i}p", "netns", ns],
                     ["ip", "addr", "add", f"10.250.{i}.1/24", "dev", f"fwt{i}h"],
                     ["ip", "link", "set", f"fwt{i}h", "up"],
                     ["ip", "netns", "exec", ns, "ip", "addr", "add", f"10.250.{i}.2/24", "dev", f"fwt{i}p"],
                     ["ip", "netns", "exec", ns, "ip", "link", "set", f"fwt{i}p", "up"]):
            r = run(argv)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
        self.netns[cluster] = ns
        os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
        # A pod in namespace `default`, as the kubelet writes its resolv.conf.
        with open(f"/etc/netns/{ns}/resolv.conf", "w") as f:
            f.write("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\noptions ndots:5\n")

    def start_api(self) -> None:
        from tests.kubeapi import KubeAPIServer
        i = list(CLUSTERS).index(API_CLUSTER) + 1
        self.api = KubeAPIServer(os.path.join(self.workdir, "kubeapi"), host=f"10.250.{i}.1",
                                 tokens={KUBE_TOKEN: "system:serviceaccount:kube-system:fedns"})
        # The pod namespace reaches the API server over the veth pair: its certificate names that address.
        self.api.server_cert = self.api.ca.server_cert([f"10.250.{i}.1"])
        self.api._ssl = self.api._ssl_context()
        self.api.start()
        self.kubeconfig = self.api.kubeconfig(os.path.join(self.workdir, "kubeconfig"), token=KUBE_TOKEN)

    def write_state(self, cluster: str) -> None:
        text = cluster_state(cluster, self.ready.get(cluster, 0))
        if cluster == API_CLUSTER:
            import yaml
            for obj in yaml.safe_load_all(text):
                self.api.put(obj)
            return
        path = os.path.join(self.workdir, f"{cluster}.yaml")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def start_publisher(self) -> None:
        admin = free_port()
        config = publisher_config(self.primary, self.workdir, admin=f"127.0.0.1:{admin}",
                                  kube={API_CLUSTER: (self.kubeconfig, None)}).replace("ttl: 180", f"ttl: {TTL}")
        path = os.path.join(self.workdir, "publish.yaml")
        with open(path, "w") as f:
            f.write(config)
        self.watcher = Watcher(path, admin_port=admin).start()

    def start_fedns(self, i: int, cluster: str) -> None:
        config = (f"clusterDomain: cluster.local\nttl: 5\nfederations: {{myfederation: {DOMAIN}}}\nzonalNameFormat: zone\n"
                  f'upstreams: ["10.250.{i}.1:{self.primary.port}"]\n'
                  'health: {listen: ""}\nready: {listen: ""}\nmetrics: {listen: ""}\n')
        path = os.path.join(self.workdir, f"fedns-{cluster}.yaml")
        with open(path, "w") as f:
            f.write(config)
        source = (["--kubeconfig", self.kubeconfig] if cluster == API_CLUSTER
                  else ["--cluster-state", os.path.join(self.workdir, f"{cluster}.yaml")])
        log = open(os.path.join(self.workdir, f"fedns-{cluster}.log"), "w")
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.netns[cluster], fedns_binary(), "serve", "--config", path, *source,
             "--mode", "sidecar", "--listen", "127.0.0.1:53", "--node-name", f"{cluster}-node-1"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

        def answers() -> bool:
            r = run(["ip", "netns", "exec", self.netns[cluster], "dig", "+short", "+time=1", "+tries=1", "@127.0.0.1",
                     "dns-version.cluster.local", "TXT"])
            return '"1.1.0"' in r.stdout
        wait_until(answers, 60, interval=0.2, what=f"fedns in {self.netns[cluster]}")

    def stop(self) -> None:
        if self.watcher:
            self.watcher.stop()
        for p in self.procs:
            stop_process(p, grace=10)
        if self.api:
            self.api.stop()
        if self.primary:
            self.primary.stop()
        for i, ns in enumerate(self.netns.values(), start=1):
            run(["ip", "netns", "del", ns])
            run(["ip", "link", "del", f"fwt{i}h"])
            shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
        if not os.environ.get("FEDNS_WALKTHROUGH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- what a reader checks -----------------------------------------------------------------

    def set_backends(self, ready: dict[str, int]) -> None:
        self.ready = dict(ready)
        for cluster in CLUSTERS:
            self.write_state(cluster)

    def public(self) -> dict[str, tuple[str, list[str]]]:
        """Every public name of nginx as Knot answers it, from `dig`: name → (rcode or type, values)."""
        out = {}
        names = [f"{P}.{DOMAIN}."] + [f"{P}.{CLUSTERS[c][1]}.{DOMAIN}." for c in CLUSTERS] \
            + [f"{P}.{CLUSTERS[c][0]}.{DOMAIN}." for c in CLUSTERS]
        for name in names:
            r = run(["dig", "+norecurse", "+noall", "+answer", "+comments", "-p", str(self.primary.port), "@127.0.0.53",
                     name, "A"])
            status = "NXDOMAIN" if "status: NXDOMAIN" in r.stdout else "NOERROR"
            own = [line.split() for line in r.stdout.splitlines() if line and not line.startswith(";")]
            own = [f for f in own if f[0] == name]
            if not own:
                out[name] = (status, [])
            else:
                out[name] = (own[0][3], sorted(f[4] for f in own))
        return out

    def print_public(self) -> None:
        self.say(f"  {'name':<64} {'type':<8} records")
        for name, (kind, values) in self.public().items():
            self.say(f"  {name:<64} {kind:<8} {' '.join(values)}")

    def pod_lookup(self, cluster: str) -> list[str]:
        """`getent ahostsv4 nginx.mynamespace.myfederation` in the cluster's pod namespace: the addresses."""
        r = run(["ip", "netns", "exec", self.netns[cluster], "getent", "ahostsv4", FEDERATED], timeout=20)
        return sorted({line.split()[0] for line in r.stdout.splitlines() if line.strip()})

    def pod_hosts(self, cluster: str) -> str:
        r = run(["ip", "netns", "exec", self.netns[cluster], "getent", "hosts", FEDERATED], timeout=20)
        return r.stdout.strip() or f"(exit {r.returncode})"

    def wait_public(self, name: str, kind: str, values: list[str], timeout: float = 30) -> float:
        t0 = time.monotonic()
        wait_until(lambda: self.public()[name] == (kind, sorted(values)), timeout, interval=0.05,
                   what=f"{name} to be {kind} {values}")
        return time.monotonic() - t0


def main() -> int:
    w = Walkthrough()
    try:
        print("Setting up: Knot DNS for example.com, the test API server, four clusters, the publisher, four fedns…")
        w.start()
        g, central = f"{P}.{DOMAIN}.", f"{P}.us-central1.{DOMAIN}."

        print("\n1. Services created in all four clusters, no backend pods yet:")
        w.wait_public(f"{P}.us-central1-a.{DOMAIN}.", "CNAME", [central])
        w.watcher.wait_ready()
        w.print_public()

        print("\n2. Backends in asia-east1, us-central1 and us-east1, none in europe-west1:")
        w.set_backends({"gce-asia-east1": 2, "gce-us-central1": 2, "gce-us-east1": 2})
        w.wait_public(g, "A", ["198.51.100.10", "203.0.113.30", "203.0.113.40"])
        w.wait_public(f"{P}.europe-west1.{DOMAIN}.", "CNAME", [g])
        w.print_public()

        print(f"\n3. From a pod in each cluster, getent ahostsv4 {FEDERATED} (the addresses):")
        for cluster in CLUSTERS:
            print(f"  {cluster:<18} {', '.join(w.pod_lookup(cluster))}")

        print("\n4. The us-central1 backends fail:")
        t0 = time.monotonic()
        w.set_backends({"gce-asia-east1": 2, "gce-us-east1": 2})
        local = CLUSTERS["gce-us-central1"][3]
        wait_until(lambda: local not in w.pod_lookup("gce-us-central1"), 30, interval=0.02, what="the pod's answer to change")
        pod_changed = time.monotonic() - t0
        w.wait_public(central, "CNAME", [g])
        public_changed = time.monotonic() - t0
        wait_until(lambda: w.pod_lookup("gce-us-central1") == ["198.51.100.10", "203.0.113.40"], 30, interval=0.2,
                   what="the pod to get the global addresses")
        print(f"  pod in gce-us-central1 now gets: {', '.join(w.pod_lookup('gce-us-central1'))}")
        print(f"  failure → first changed answer in the pod: {pod_changed:.2f} s")
        print(f"  failure → public records changed:          {public_changed:.2f} s")
        w.print_public()

        print("\n5. The backends come back:")
        w.set_backends({"gce-asia-east1": 2, "gce-us-central1": 2, "gce-us-east1": 2})
        w.wait_public(central, "A", ["203.0.113.30"])
        wait_until(lambda: w.pod_lookup("gce-us-central1") == [local], 30, interval=0.1, what="the local answer again")
        for cluster in CLUSTERS:
            print(f"  {cluster:<18} {', '.join(w.pod_lookup(cluster))}")
        return 0
    finally:
        w.stop()


if __name__ == "__main__":
    sys.exit(main())
