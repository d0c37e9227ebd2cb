"""Kubernetes objects shaped as the API server returns them, for the test API server.

Every object carries what a real cluster's objects carry and a DNS server must skip: uid,
resourceVersion, creationTimestamp, generation, managedFields, kubectl's last-applied-configuration
annotation, labels, ownerReferences on EndpointSlices, status, and every spec field the API server
defaults (sessionAffinity, ipFamilies, ipFamilyPolicy, internalTrafficPolicy, …). Nodes have
topology labels and a big status (conditions, capacity, images).

The functions return plain dicts in the API server's key order. `kind` and `apiVersion` are
included; the server drops them from list items and keeps them in watch events, as the real one
does. The server stamps metadata.resourceVersion (and uid/creationTimestamp when missing) on write.

`cluster(services=N, endpoints=M)` builds a whole cluster for the benchmark: namespaces, nodes,
N ClusterIP Services and one EndpointSlice per Service holding M endpoints in all.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
import hashlib
import uuid
from typing import Any, Iterable

CREATED = "2026-11-30T08:15:00Z"
_UID_SPACE = uuid.UUID("6b1f4a52-6c55-4f1e-9d0e-3f3cf0a1e0b1")


def uid_for(kind: str, namespace: str | None, name: str) -> str:
    """A stable uid per object (UUID-shaped), so a Service's uid and its slices' ownerReferences agree."""
    h = _digest(f"{kind}/{namespace or ''}/{name}")
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _digest(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _metadata(kind: str, name: str, namespace: str | None, *, labels: dict | None = None,
              annotations: dict | None = None, generate_name: str | None = None,
              generation: int | None = None, owner: list | None = None, managed: list | None = None) -> dict:
    meta: dict[str, Any] = {"name": name}
    if generate_name:
        meta["generateName"] = generate_name
    if namespace is not None:
        meta["namespace"] = namespace
    meta["uid"] = uid_for(kind, namespace, name)
    meta["resourceVersion"] = "0"   # stamped by the server on write
    if generation is not None:
        meta["generation"] = generation
    meta["creationTimestamp"] = CREATED
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    if owner:
        meta["ownerReferences"] = owner
    if managed:
        meta["managedFields"] = managed
    return meta


def _managed(manager: str, operation: str, fields: dict, subresource: str | None = None,
             api_version: str = "v1") -> dict:
    entry: dict[str, Any] = {"manager": manager, "operation": operation, "apiVersion": api_version,
                             "time": CREATED, "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _ports(ports: Iterable, *, service: bool) -> list[dict]:
    out = []
    for p in ports:
        name, port, proto = (p + ("TCP",))[:3] if isinstance(p, tuple) else (None, int(p), "TCP")
        entry: dict[str, Any] = {}
        if name:
            entry["name"] = name
        if service:
            entry["protocol"] = proto
            entry["port"] = port
            entry["targetPort"] = port
        else:
            entry["protocol"] = proto
            entry["port"] = port
        out.append(entry)
    return out


def namespace(name: str, labels: dict | None = None) -> dict:
    """A v1 Namespace, Active."""
    labels = {"kubernetes.io/metadata.name": name, **(labels or {})}
    managed = [_managed("kubectl-create", "Update",
                        {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}})]
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": _metadata("Namespace", name, None, labels=labels, managed=managed),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def service(ns: str, name: str, cluster_ips: list[str] | str | None = None, *, ports=(("http", 80, "TCP"),),
            headless: bool = False, external_name: str | None = None, publish_not_ready: bool = False,
            labels: dict | None = None, selector: dict | None = None) -> dict:
    """A v1 Service as `kubectl apply` leaves it: ClusterIP (one IP per family), headless, or ExternalName."""
    if isinstance(cluster_ips, str):
        cluster_ips = [cluster_ips]
    labels = labels if labels is not None else {"app": name}
    selector = selector if selector is not None else {"app": name}
    port_list = _ports(ports, service=True)
    applied: dict[str, Any] = {"apiVersion": "v1", "kind": "Service",
                               "metadata": {"annotations": {}, "labels": labels, "name": name, "namespace": ns}}
    spec: dict[str, Any]
    if external_name:
        spec = {"externalName": external_name, "sessionAffinity": "None", "type": "ExternalName"}
        applied["spec"] = {"externalName": external_name, "type": "ExternalName"}
    else:
        ips = ["None"] if headless else list(cluster_ips or [])
        if not ips:
            raise ValueError("a ClusterIP Service needs cluster_ips (or headless=True)")
        families = ["IPv4"] if headless else ["IPv6" if ":" in ip else "IPv4" for ip in ips]
        spec = {"clusterIP": ips[0], "clusterIPs": ips, "internalTrafficPolicy": "Cluster",
                "ipFamilies": families,
                "ipFamilyPolicy": "RequireDualStack" if len(ips) > 1 else "SingleStack",
                "ports": port_list}
        if publish_not_ready:
            spec["publishNotReadyAddresses"] = True
        spec.update({"selector": selector, "sessionAffinity": "None", "type": "ClusterIP"})
        applied["spec"] = {"ports": [{k: v for k, v in p.items() if k != "protocol"} for p in port_list],
                           "selector": selector}
        if headless:
            applied["spec"]["clusterIP"] = "None"
    annotations = {"kubectl.kubernetes.io/last-applied-configuration":
                   json.dumps(applied, separators=(",", ":")) + "\n"}
    managed = [_managed("kubectl-client-side-apply", "Update", {
        "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
                       "f:labels": {".": {}, **{f"f:{k}": {} for k in labels}}},
        "f:spec": {"f:internalTrafficPolicy": {}, "f:ports": {".": {}, **{
            f'k:{{"port":{p["port"]},"protocol":"{p["protocol"]}"}}': {".": {}, "f:name": {}, "f:port": {},
                                                                       "f:protocol": {}, "f:targetPort": {}}
            for p in port_list}}, "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}})]
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": _metadata("Service", name, ns, labels=labels, annotations=annotations, managed=managed),
            "spec": spec, "status": {"loadBalancer": {}}}


def endpoint(address: str | list[str], *, ready: bool = True, serving: bool | None = None,
             terminating: bool = False, node_name: str | None = "node-a", zone: str | None = "us-central1-a",
             hostname: str | None = None, pod: str | None = None, namespace: str = "default") -> dict:
    """One EndpointSlice endpoint: addresses, conditions, hostname, nodeName, targetRef, zone."""
    addresses = [address] if isinstance(address, str) else list(address)
    ep: dict[str, Any] = {"addresses": addresses,
                          "conditions": {"ready": ready, "serving": ready if serving is None else serving,
                                         "terminating": terminating}}
    # The API server's field order: addresses, conditions, hostname, targetRef, nodeName, zone.
    if hostname:
        ep["hostname"] = hostname
    pod_name = pod or "pod-" + addresses[0].replace(".", "-").replace(":", "-")
    ep["targetRef"] = {"kind": "Pod", "namespace": namespace, "name": pod_name, "uid": uid_for("Pod", namespace, pod_name)}
    if node_name:
        ep["nodeName"] = node_name
    if zone:
        ep["zone"] = zone
    return ep


def endpoint_slice(ns: str, service_name: str, endpoints: list[dict], *, suffix: str = "abcde",
                   address_type: str = "IPv4", ports=(("http", 80, "TCP"),)) -> dict:
    """A discovery.k8s.io/v1 EndpointSlice as the endpointslice controller writes it, owned by its Service."""
    name = f"{service_name}-{suffix}"
    labels = {"app": service_name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
              "kubernetes.io/service-name": service_name}
    owner = [{"apiVersion": "v1", "kind": "Service", "name": service_name,
              "uid": uid_for("Service", ns, service_name), "controller": True, "blockOwnerDeletion": True}]
    managed = [_managed("kube-controller-manager", "Update", {
        "f:addressType": {}, "f:endpoints": {},
        "f:metadata": {"f:annotations": {".": {}, "f:endpoints.kubernetes.io/last-change-trigger-time": {}},
                       "f:generateName": {}, "f:labels": {".": {}, "f:app": {},
                                                          "f:endpointslice.kubernetes.io/managed-by": {},
                                                          "f:kubernetes.io/service-name": {}},
                       "f:ownerReferences": {".": {}, f'k:{{"uid":"{owner[0]["uid"]}"}}': {}}},
        "f:ports": {}}, api_version="discovery.k8s.io/v1")]
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": _metadata("EndpointSlice", name, ns, labels=labels, generate_name=f"{service_name}-",
                                  generation=1, owner=owner, managed=managed,
                                  annotations={"endpoints.kubernetes.io/last-change-trigger-time": CREATED}),
            "addressType": address_type, "endpoints": endpoints, "ports": _ports(ports, service=False)}


def node(name: str, *, zone: str | None = "us-central1-a", region: str | None = "us-central1",
         internal_ip: str = "10.128.0.2", images: int = 40, pod_cidr: str = "10.244.0.0/24") -> dict:
    """A v1 Node with topology labels and the status a kubelet reports (conditions, capacity, images)."""
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "node.kubernetes.io/instance-type": "e2-standard-4"}
    if region:
        labels["failure-domain.beta.kubernetes.io/region"] = region
        labels["topology.kubernetes.io/region"] = region
    if zone:
        labels["failure-domain.beta.kubernetes.io/zone"] = zone
        labels["topology.kubernetes.io/zone"] = zone
    annotations = {"node.alpha.kubernetes.io/ttl": "0",
                   "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
    managed = [_managed("kubelet", "Update", {"f:metadata": {"f:labels": {".": {}, **{f"f:{k}": {} for k in labels}}}}),
               _managed("kubelet", "Update", {"f:status": {"f:conditions": {}, "f:images": {}, "f:nodeInfo": {}}},
                        subresource="status")]
    conditions = [
        {"type": t, "status": "False", "lastHeartbeatTime": CREATED, "lastTransitionTime": CREATED,
         "reason": f"KubeletHas{r}", "message": f"kubelet has {m}"}
        for t, r, m in (("MemoryPressure", "SufficientMemory", "sufficient memory available"),
                        ("DiskPressure", "NoDiskPressure", "no disk pressure"),
                        ("PIDPressure", "SufficientPID", "sufficient PID available"))]
    conditions.append({"type": "Ready", "status": "True", "lastHeartbeatTime": CREATED, "lastTransitionTime": CREATED,
                       "reason": "KubeletReady", "message": "kubelet is posting ready status"})
    image_list = [{"names": [f"registry.example/team-{i % 7}/app-{i}@sha256:{uuid.uuid5(_UID_SPACE, str(i)).hex * 2}",
                             f"registry.example/team-{i % 7}/app-{i}:v1.{i}.0"],
                   "sizeBytes": 10_000_000 + 137_731 * i} for i in range(images)]
    capacity = {"cpu": "4", "ephemeral-storage": "98831908Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                "memory": "16393220Ki", "pods": "110"}
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": _metadata("Node", name, None, labels=labels, annotations=annotations, managed=managed),
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr],
                     "providerID": f"gce://test-project/{zone or 'none'}/{name}"},
            "status": {"capacity": capacity, "allocatable": {**capacity, "cpu": "3920m", "memory": "13856516Ki"},
                       "conditions": conditions,
                       "addresses": [{"type": "InternalIP", "address": internal_ip}, {"type": "Hostname", "address": name}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"machineID": uuid.uuid5(_UID_SPACE, name).hex, "systemUUID": uid_for("Node", None, name),
                                    "bootID": uid_for("boot", None, name), "kernelVersion": "6.1.0-28-cloud-amd64",
                                    "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "containerd://1.7.24",
                                    "kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4",
                                    "operatingSystem": "linux", "architecture": "amd64"},
                       "images": image_list}}


def pod(ns: str, name: str, ip: str | list[str], *, node_name: str | None = "node-a", labels: dict | None = None,
        ready: bool = True, hostname: str | None = None, subdomain: str | None = None) -> dict:
    """A v1 Pod, Running, with the defaults the API server fills in."""
    ips = [ip] if isinstance(ip, str) else list(ip)
    spec: dict[str, Any] = {
        "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}], "defaultMode": 420}}],
        "containers": [{"name": "app", "image": "registry.example/app:v1", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {}, "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default", "serviceAccount": "default"}
    if node_name:
        spec["nodeName"] = node_name
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    spec.update({"securityContext": {}, "schedulerName": "default-scheduler", "priority": 0,
                 "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority"})
    status_word = "True" if ready else "False"
    status: dict[str, Any] = {"phase": "Running", "conditions": [
        {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": CREATED}
        for t, s in (("Initialized", "True"), ("Ready", status_word), ("ContainersReady", status_word),
                     ("PodScheduled", "True"))]}
    if node_name:
        status["hostIP"] = "10.128.0.2"
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": a} for a in ips]
    status.update({"startTime": CREATED, "qosClass": "BestEffort"})
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": _metadata("Pod", name, ns, labels=labels or {"app": name.rsplit("-", 1)[0]}),
            "spec": spec, "status": status}


@functools.lru_cache(maxsize=None)
def _network_base(network: str) -> int:
    return int(ipaddress.ip_network(network).network_address)


def nth_address(network: str, index: int) -> str:
    """The index-th address of an IPv4 network, e.g. nth_address("10.96.0.0/12", 1) = 10.96.0.1."""
    n = _network_base(network) + index
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def cluster(services: int, endpoints: int, *, namespaces: int | None = None, nodes: int = 20,
            pods: bool = False, node_prefix: str = "node") -> list[dict]:
    """A cluster of `services` ClusterIP Services spread over namespaces, one EndpointSlice each, and
    `endpoints` endpoints in all (spread evenly), on `nodes` Nodes; Pods too when `pods`.

    Names: namespace `ns-<k>`, Service `svc-<i>` (in `ns-<i % namespaces>`), slice `svc-<i>-<hash>`,
    nodes `<node_prefix>-<n>`; ClusterIPs from 10.96.0.0/12, endpoint IPs from 10.64.0.0/10.
    """
    namespaces = namespaces or max(1, min(100, services // 100 or 1))
    zones = ["us-central1-a", "us-central1-b", "us-central1-c"]
    out: list[dict] = [namespace(f"ns-{k}") for k in range(namespaces)]
    out += [node(f"{node_prefix}-{n}", zone=zones[n % 3], internal_ip=nth_address("10.128.0.0/16", n + 2),
                 pod_cidr=f"10.{64 + n // 256}.{n % 256}.0/24") for n in range(nodes)]
    per, extra = divmod(endpoints, services) if services else (0, 0)
    next_ip = 1
    for i in range(services):
        ns, name = f"ns-{i % namespaces}", f"svc-{i}"
        out.append(service(ns, name, nth_address("10.96.0.0/12", i + 1)))
        eps = []
        for j in range(per + (1 if i < extra else 0)):
            ip = nth_address("10.64.0.0/10", next_ip)
            node_index = next_ip % nodes if nodes else 0
            pod_name = f"{name}-{_digest(ip)[:10]}-{j}"
            eps.append(endpoint(ip, node_name=f"{node_prefix}-{node_index}" if nodes else None,
                                zone=zones[node_index % 3], pod=pod_name, namespace=ns))
            if pods:
                out.append(pod(ns, pod_name, ip, node_name=f"{node_prefix}-{node_index}" if nodes else None,
                               labels={"app": name}))
            next_ip += 1
        out.append(endpoint_slice(ns, name, eps, suffix=_digest(name)[:5]))
    return out


def with_changes(obj: dict, **paths: Any) -> dict:
    """A deep copy of obj with dotted paths set, e.g. with_changes(svc, **{"spec.clusterIP": "10.96.0.9"})."""
    out = copy.deepcopy(obj)
    for path, value in paths.items():
        target = out
        keys = path.split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return out
