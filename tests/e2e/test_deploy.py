"""The manifests in deploy/: what a cluster admin applies with `kubectl apply -k`.

No cluster runs here, so they are shown statically and by running fedns as they would:
- every kustomization under deploy/ (and node-local with each component) renders with `kubectl
  kustomize`; every object validates with `kubernetes-validate --strict` against a current
  Kubernetes; `checkov` finds nothing that is not skipped with a written reason;
- the ClusterRole grants exactly what the API source requests: fedns runs with each overlay's
  config, mode and environment against the test API server enforcing that role, syncs with no 403,
  and requests every (verb, resource) the role grants, no more and no less;
- the config in the ConfigMap passes `fedns check-config`;
- fedns started with a workload's own arguments, in a network namespace of its own, answers DNS on
  the addresses the manifest says and its probes and metrics answer on the ports the manifest names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from urllib.parse import urlsplit

import pytest
import yaml

from clusterdata import NGINX_IP, cluster_objects
import k8sobjects as k8s
from conftest import KUBE_TOKEN, KUBE_USER, REPO_ROOT
from servers import ServerExited, fedns_binary, stop_process, free_port, tail, wait_until

DEPLOY = os.path.join(REPO_ROOT, "deploy")
KUBERNETES_VERSION = "1.37.0"     # kubernetes-validate's newest schemas: the current release

COMPONENTS = sorted(d for d in os.listdir(os.path.join(DEPLOY, "components"))
                    if os.path.isfile(os.path.join(DEPLOY, "components", d, "kustomization.yaml")))


def kustomizations() -> list[str]:
    """Every directory under deploy/ holding a kustomization that renders on its own (not a Component)."""
    found = []
    for root, _dirs, files in os.walk(DEPLOY):
        if "kustomization.yaml" in files:
            with open(os.path.join(root, "kustomization.yaml")) as f:
                if (yaml.safe_load(f) or {}).get("kind") != "Component":
                    found.append(os.path.relpath(root, REPO_ROOT))
    return sorted(found)


def kubectl() -> str:
    path = shutil.which("kubectl")
    if not path:
        pytest.fail("kubectl missing: run scripts/install-deps.sh")
    return path


_rendered: dict[str, list[dict]] = {}


def render(target: str) -> list[dict]:
    """`kubectl kustomize` of a directory (relative to the repository) or of `overlay+component`."""
    if target not in _rendered:
        if "+" in target:
            overlay, component = target.split("+")
            with tempfile.TemporaryDirectory(prefix="fedns-kustomize-") as tmp:
                rel = os.path.relpath(REPO_ROOT, tmp)
                with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                    f.write(f"resources: [{rel}/{overlay}]\ncomponents: [{rel}/deploy/components/{component}]\n")
                out = subprocess.run([kubectl(), "kustomize", tmp], capture_output=True, text=True, timeout=120)
        else:
            out = subprocess.run([kubectl(), "kustomize", os.path.join(REPO_ROOT, target)],
                                 capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"kubectl kustomize {target} failed:\n{out.stderr}"
        _rendered[target] = [d for d in yaml.safe_load_all(out.stdout) if d]
    return _rendered[target]


TARGETS = kustomizations() + [f"deploy/overlays/node-local+{c}" for c in COMPONENTS]


def one(objs: list[dict], kind: str) -> dict:
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def config_text(objs: list[dict]) -> str:
    cm = [o for o in objs if o["kind"] == "ConfigMap" and "fedns.yaml" in o.get("data", {})]
    assert len(cm) == 1, "one ConfigMap holds fedns.yaml"
    return cm[0]["data"]["fedns.yaml"]


def fedns_container(objs: list[dict]) -> tuple[dict, dict]:
    """The workload's pod spec and its fedns container (a DaemonSet's container, or a native sidecar)."""
    workload = [o for o in objs if o["kind"] in ("DaemonSet", "Deployment")]
    assert len(workload) == 1
    spec = workload[0]["spec"]["template"]["spec"]
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    found = [c for c in containers if c["name"] == "fedns"]
    assert len(found) == 1
    return spec, found[0]


def workload_template(objs: list[dict]) -> dict:
    (workload,) = [o for o in objs if o["kind"] in ("DaemonSet", "Deployment")]
    return workload["spec"]["template"]


def flag(args: list[str], name: str) -> list[str]:
    """Values of `--name=V` / `--name V` in args."""
    out = []
    for i, a in enumerate(args):
        if a.startswith(f"--{name}="):
            out.append(a.split("=", 1)[1])
        elif a == f"--{name}" and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.append(args[i + 1])
    return out


# -- rendering, schema validation, security lint ------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_every_kustomization_renders(target):
    objs = render(target)
    assert objs, f"{target} rendered nothing"
    for o in objs:
        assert o.get("apiVersion") and o.get("kind") and o["metadata"].get("name"), o


def test_the_overlays_exist():
    """The issue's overlays, and the base they share."""
    for d in ("deploy/base", "deploy/overlays/node-local", "deploy/overlays/sidecar"):
        assert d in TARGETS


@pytest.mark.parametrize("target", [t for t in TARGETS if "overlays/" in t and "monitoring" not in t])
def test_the_workload_and_its_account_share_a_namespace(target):
    """A DaemonSet outside its ServiceAccount's namespace would never start; a binding naming another
    namespace would grant nothing."""
    objs = render(target)
    account = one(objs, "ServiceAccount")["metadata"]
    for o in objs:
        if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert o["metadata"].get("namespace") == account["namespace"], f"{o['kind']}/{o['metadata']['name']}"
    binding = one(objs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one(objs, "ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}]


def write_rendered(tmp_path) -> list[str]:
    paths = []
    for target in TARGETS:
        path = tmp_path / (target.replace("/", "_").replace("+", "__") + ".yaml")
        path.write_text(yaml.safe_dump_all(render(target)))
        paths.append(str(path))
    return paths


def test_every_object_validates_strictly(tmp_path):
    """kubernetes-validate --strict rejects unknown fields and wrong types; a kind it has no schema
    for (a CRD such as PrometheusRule) must be from a non-core API group."""
    exe = shutil.which("kubernetes-validate")
    assert exe, "kubernetes-validate missing: run scripts/install-deps.sh"
    out = subprocess.run([exe, "--strict", "-k", KUBERNETES_VERSION, *write_rendered(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    passed = len(re.findall(r"^INFO .* passed for resource", text, re.M))
    missing = re.findall(r"Couldn't find schema for kind (\S+) with api version (\S+)", text)
    for kind, api_version in missing:
        assert "/" in api_version and not api_version.endswith("k8s.io/v1") and "." in api_version.split("/")[0], \
            f"no schema for {kind} {api_version}: a typo in a built-in kind?"
    total = sum(len(render(t)) for t in TARGETS)
    assert passed + len(missing) == total, text


def checkov() -> str:
    for path in (os.environ.get("FEDNS_CHECKOV", ""), "/opt/fedns-checkov/bin/checkov", shutil.which("checkov") or ""):
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail("checkov missing: run scripts/install-deps.sh")


def test_security_lint_finds_nothing_unexplained(tmp_path):
    """Every checkov finding is fixed, or skipped in the manifest with a written reason."""
    write_rendered(tmp_path)
    out = subprocess.run([checkov(), "-d", str(tmp_path), "--framework", "kubernetes", "-o", "json", "--skip-download"],
                         capture_output=True, text=True, timeout=600)
    report = json.loads(out.stdout)
    reports = report if isinstance(report, list) else [report]
    failed, skipped, passed, parse_errors = [], [], 0, 0
    for r in reports:
        failed += r["results"].get("failed_checks", [])
        skipped += r["results"].get("skipped_checks", [])
        passed += r["summary"]["passed"]
        parse_errors += r["summary"]["parsing_errors"]
    assert parse_errors == 0 and passed > 50, f"checkov checked almost nothing: {out.stderr[-2000:]}"
    assert not failed, "\n".join(f"{c['check_id']} {c['check_name']}: {c['resource']} ({os.path.basename(c['file_path'])})"
                                 for c in failed)
    for c in skipped:
        reason = c.get("check_result", {}).get("suppress_comment") or ""
        assert len(reason.split()) >= 5, f"{c['check_id']} on {c['resource']} skipped without a reason"


# -- the ClusterRole is what the API source uses --------------------------------------------------

def source_resources() -> dict[str, str]:
    """plural → API group, as the API source declares what it lists and watches."""
    text = open(os.path.join(REPO_ROOT, "Sources/KubernetesSource/Resources.swift")).read()
    found = dict((plural, group) for plural, group in
                 re.findall(r'case \.\w+: \(path, plural, group\) = \("[^"]+", "(\w+)", "([\w.]*)"\)', text))
    assert {"services", "endpointslices", "namespaces", "nodes", "pods"} <= set(found), found
    return found


def source_verbs() -> set[str]:
    verbs = set()
    directory = os.path.join(REPO_ROOT, "Sources/KubernetesSource")
    for name in os.listdir(directory):
        verbs |= set(re.findall(r'\bverb: "(\w+)"', open(os.path.join(directory, name)).read()))
    assert verbs, "no verb found in Sources/KubernetesSource"
    return verbs


def granted(objs: list[dict]) -> set[tuple[str, str, str]]:
    role = one(objs, "ClusterRole")
    out = set()
    for rule in role["rules"]:
        assert not rule.get("resourceNames") and not rule.get("nonResourceURLs"), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert "*" not in (group, resource, verb), f"wildcard in {rule}"
                    out.add((group, resource, verb))
    return out


@pytest.mark.parametrize("target", [t for t in TARGETS if "overlays/" in t and "monitoring" not in t])
def test_cluster_role_grants_only_reads_the_source_makes(target):
    """The role's groups, resources and verbs are among those the source declares, with the group the
    source uses for each resource; pods only where a component asks for them."""
    resources, verbs = source_resources(), source_verbs()
    rules = granted(render(target))
    for group, resource, verb in rules:
        assert resource in resources and resources[resource] == group and verb in verbs, (group, resource, verb)
    assert {r for _, r, _ in rules} == set(resources) - ({"pods"} if not target.endswith("+pods") else set())
    assert {v for _, _, v in rules} == verbs


def workload_run(target: str):
    """What the workload of a rendered overlay runs: its config text, mode and environment."""
    objs = render(target)
    spec, container = fedns_container(objs)
    args = container["args"]
    (mode,) = flag(args, "mode")
    namespace = one(objs, "ServiceAccount")["metadata"]["namespace"]
    env = {}
    for e in container.get("env", []):
        field = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        env[e["name"]] = {"spec.nodeName": "node-a", "metadata.namespace": namespace}.get(field, e.get("value", ""))
    assert spec.get("serviceAccountName") == one(objs, "ServiceAccount")["metadata"]["name"]
    return objs, spec, container, args, mode, env


@pytest.mark.parametrize("target", ["deploy/overlays/node-local", "deploy/overlays/sidecar",
                                    "deploy/overlays/node-local+pods"])
def test_the_source_syncs_with_exactly_the_role(target, kube_api, knot, tmp_path):
    """fedns, configured as the overlay configures it, against an API server enforcing only the
    overlay's ClusterRole: it syncs, is never refused, and uses every grant."""
    objs, _spec, _container, args, mode, env = workload_run(target)
    config = yaml.safe_load(config_text(objs)) or {}
    if target.endswith("+pods"):
        config["pods"] = "verified"        # the feature the pods component is for
    port, ready_port = free_port(), free_port()
    config.update({"metrics": {"listen": ""}, "health": {"listen": ""}, "lameduck": 0,
                   "ready": {"listen": f"127.0.0.1:{ready_port}"}, "upstreams": [f"{knot.address[0]}:{knot.address[1]}"]})
    (tmp_path / "fedns.yaml").write_text(yaml.safe_dump(config))
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(KUBE_TOKEN)
    (account / "ca.crt").write_bytes(kube_api.ca.cert_pem)
    rules = granted(objs)
    kube_api.set_rbac({KUBE_USER: [(verb, resource) for _, resource, verb in rules]})
    kube_api.load(cluster_objects())
    assert "--in-cluster" in args
    argv = [fedns_binary(), "serve", "--config", str(tmp_path / "fedns.yaml"), "--mode", mode, "--in-cluster",
            "--listen", f"127.0.0.1:{port}"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_") and k not in ("NODE_NAME", "POD_NAMESPACE")}
    env = {**clean, **env, "KUBERNETES_SERVICE_HOST": kube_api.host, "KUBERNETES_SERVICE_PORT": str(kube_api.port),
           "FEDNS_SERVICEACCOUNT_DIR": str(account)}
    log = tmp_path / "fedns.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise ServerExited(f"fedns exited with {proc.returncode}:\n{tail(str(log))}")
            return http_status(f"http://127.0.0.1:{ready_port}/ready") == 200
        wait_until(ready, 60, interval=0.2, what=f"fedns ready with {target}'s role")
        # Every grant in use: wait for the watch of each granted resource.
        for resource in {r for _, r, _ in rules}:
            kube_api.wait_for_watches(resource, 1, 30)
        requests = kube_api.request_log()
        refused = [r for r in requests if r.get("code") == 403]
        assert not refused, refused
        used = set()
        for r in requests:
            url = urlsplit(r["path"])
            resource = url.path.rstrip("/").split("/")[-1]
            used.add(("watch" if "watch=1" in url.query else "list", resource))
        assert used == {(verb, resource) for _, resource, verb in rules}, tail(str(log))
    finally:
        stop_process(proc, grace=20)


def http_status(url: str, timeout: float = 2.0, netns: str | None = None) -> int:
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(timeout), url]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
    return int(out.stdout or 0)


# -- the config, the probes and the listen addresses -------------------------------------------

@pytest.mark.parametrize("target", ["deploy/base", "deploy/overlays/node-local", "deploy/overlays/sidecar"])
def test_the_configmap_passes_check_config(target, tmp_path):
    path = tmp_path / "fedns.yaml"
    path.write_text(config_text(render(target)))
    out = subprocess.run([fedns_binary(), "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK" in out.stdout


def serve_flags() -> str:
    return subprocess.run([fedns_binary(), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout


@pytest.mark.parametrize("target", ["deploy/overlays/node-local", "deploy/overlays/sidecar",
                                    "deploy/overlays/node-local+kube-dns-ip"])
def test_the_workload_serves_where_the_manifest_says(target, netns, tmp_path):
    """fedns with the workload's own arguments and the ConfigMap's config (the file source instead of
    --in-cluster), in a fresh network namespace: DNS answers on every listen address, and the
    liveness, readiness, startup probes and the metrics port answer where the manifest points them."""
    objs, spec, container, args, mode, env = workload_run(target)
    (tmp_path / "fedns.yaml").write_text(config_text(objs))
    (tmp_path / "cluster.yaml").write_text(k8s.object_list(cluster_objects()))
    (tmp_path / "kube-dns").mkdir()
    known = serve_flags()
    argv = [fedns_binary()]
    for a in args:
        name = a.split("=", 1)[0]
        if name == "--in-cluster":
            argv += ["--cluster-state", str(tmp_path / "cluster.yaml")]
        elif name == "--config":
            argv.append(f"--config={tmp_path / 'fedns.yaml'}")
        elif name == "--kube-dns-config-dir":
            argv.append(f"--kube-dns-config-dir={tmp_path / 'kube-dns'}")
        elif name == "--handoff-socket":
            if name in known:
                argv.append(f"--handoff-socket={tmp_path / 'handoff.sock'}")
        elif name == "--node-setup":
            # The node set-up has tests of its own (and needs dummy interfaces, which not every
            # kernel here has): this test holds the addresses itself, below.
            if name in known:
                argv.append("--node-setup=false")
        else:
            assert not name.startswith("--") or name in known, f"{target}: fedns serve has no flag {name}"
            argv.append(a)
    listens = flag(args, "listen") or (["169.254.20.10:53"] if mode == "node-local" else ["127.0.0.1:53"])
    if "--node-setup" in args:
        # Hold the addresses as the node set-up would (on loopback where the kernel has no dummy
        # interfaces).
        device = "fedns-test"
        if subprocess.run(["ip", "-n", netns, "link", "add", device, "type", "dummy"], capture_output=True).returncode == 0:
            subprocess.run(["ip", "-n", netns, "link", "set", device, "up"], check=True)
        else:
            device = "lo"
        for listen in listens:
            host = listen.rsplit(":", 1)[0]
            if not host.startswith("127."):
                subprocess.run(["ip", "-n", netns, "addr", "add", f"{host}/32", "dev", device], check=True)
    log = tmp_path / "fedns.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    with open(log, "w") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", netns, *argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env={**clean, **env}, cwd=tmp_path)
    try:
        probes = [(kind, container[kind]["httpGet"]) for kind in ("startupProbe", "livenessProbe", "readinessProbe")
                  if kind in container]
        assert {"livenessProbe", "readinessProbe"} <= {k for k, _ in probes}
        for kind, probe in probes:
            host = probe.get("host", "127.0.0.1")     # no host: the pod's IP, reached here on loopback
            url = f"http://{host}:{probe['port']}{probe['path']}"

            def answers(url=url) -> bool:
                if proc.poll() is not None:
                    raise ServerExited(f"fedns exited with {proc.returncode}:\n{tail(str(log))}")
                return http_status(url, netns=netns) == 200
            wait_until(answers, 60, interval=0.2, what=f"{kind} {url}")
        if spec.get("hostNetwork"):
            for kind, probe in probes:
                assert probe.get("host") == listens[0].rsplit(":", 1)[0], f"{kind} must probe the link-local address"
        for listen in listens:
            host, port = listen.rsplit(":", 1)
            for transport in ("+notcp", "+tcp"):
                out = subprocess.run(["ip", "netns", "exec", netns, "dig", "+short", "+time=2", "+tries=3", transport,
                                      "-p", port, f"@{host}", "nginx.mynamespace.svc.cluster.local", "A"],
                                     capture_output=True, text=True, timeout=30)
                assert out.stdout.split() == [NGINX_IP], f"{listen} {transport}: {out.stdout}{out.stderr}\n{tail(str(log))}"
        if spec.get("hostNetwork"):
            # A declared port would be a host port: the surging pod of an upgrade could not be placed.
            assert not container.get("ports"), "host-network pods declare no ports"
            metrics = int(workload_template(objs)["metadata"]["annotations"]["prometheus.io/port"])
        else:
            (metrics,) = [p["containerPort"] for p in container["ports"] if p["name"] == "metrics"]
            assert workload_template(objs)["metadata"]["annotations"]["prometheus.io/port"] == str(metrics)
        out = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "--max-time", "5",
                              f"http://127.0.0.1:{metrics}/metrics"], capture_output=True, text=True, timeout=30)
        assert "fedns_dns_requests_total" in out.stdout
        service = one(objs, "Service")
        assert service["spec"]["ports"][0]["port"] == metrics
        assert service["metadata"]["annotations"]["prometheus.io/port"] == str(metrics)
    finally:
        stop_process(proc, grace=20)
