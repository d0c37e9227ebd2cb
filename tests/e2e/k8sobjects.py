"""Kubernetes objects as `kubectl get -o yaml` prints them, for fedns's file source.

Only the fields DNS reads are filled in. The YAML emitter is ours so the harness needs no
PyYAML; it writes block style like kubectl and quotes a string only where YAML would
otherwise read it as something else.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any, Iterable

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@-]*$")
_NOT_STRING = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o?[0-7]+"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|\.inf|\.nan)$"
)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text and _PLAIN.match(text) and not _NOT_STRING.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (kubectl's layout: list items at the key's indent)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{_scalar(key)}:\n{to_yaml(item, indent + 2)}")
            elif isinstance(item, list) and item:
                lines.append(f"{pad}{_scalar(key)}:\n{to_yaml(item, indent)}")
            elif isinstance(item, (dict, list)):
                lines.append(f"{pad}{_scalar(key)}: {'{}' if isinstance(item, dict) else '[]'}\n")
            else:
                lines.append(f"{pad}{_scalar(key)}: {_scalar(item)}\n")
        return "".join(lines)
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2:]}")
            else:
                lines.append(f"{pad}- {_scalar(item) if not isinstance(item, (dict, list)) else ('{}' if isinstance(item, dict) else '[]')}\n")
        return "".join(lines)
    return pad + _scalar(value) + "\n"


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]}}


def node(name: str, zone: str | None = None, region: str | None = None) -> dict:
    labels = {"kubernetes.io/hostname": name}
    if region:
        labels["topology.kubernetes.io/region"] = region
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {}}


def _ports(ports: Iterable[tuple[str | None, int, str]], with_target: bool) -> list[dict]:
    out = []
    for name, port, proto in ports:
        entry: dict[str, Any] = {}
        if name:
            entry["name"] = name
        entry["port"] = port
        entry["protocol"] = proto
        if with_target:
            entry["targetPort"] = port
        out.append(entry)
    return out


def service(ns: str, name: str, cluster_ips: list[str] | None = None, *, headless: bool = False,
            external_name: str | None = None, ports=(("http", 80, "TCP"),),
            publish_not_ready: bool = False) -> dict:
    """A v1 Service: ClusterIP (one IP per family), headless, or ExternalName."""
    spec: dict[str, Any]
    if external_name:
        spec = {"type": "ExternalName", "externalName": external_name}
    else:
        ips = ["None"] if headless else list(cluster_ips or [])
        families = ["IPv6" if ":" in ip else "IPv4" for ip in ips] if not headless else ["IPv4"]
        spec = {"clusterIP": ips[0], "clusterIPs": ips, "internalTrafficPolicy": "Cluster",
                "ipFamilies": families,
                "ipFamilyPolicy": "RequireDualStack" if len(ips) > 1 else "SingleStack",
                "ports": _ports(ports, True), "selector": {"app": name},
                "sessionAffinity": "None", "type": "ClusterIP"}
        if publish_not_ready:
            spec["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "resourceVersion": "1"}, "spec": spec}


def endpoint(address: str, *, ready: bool | None = True, hostname: str | None = None,
             node_name: str | None = "node-a") -> dict:
    ep: dict[str, Any] = {"addresses": [address]}
    conditions: dict[str, Any] = {}
    if ready is not None:
        conditions = {"ready": ready, "serving": ready, "terminating": False}
    ep["conditions"] = conditions
    if hostname:
        ep["hostname"] = hostname
    if node_name:
        ep["nodeName"] = node_name
    return ep


def endpoint_slice(ns: str, service_name: str, endpoints: list[dict], *, suffix: str = "abcde",
                   address_type: str = "IPv4", ports=(("http", 80, "TCP"),)) -> dict:
    """A discovery.k8s.io/v1 EndpointSlice owned by a Service through its label."""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service_name}-{suffix}", "namespace": ns,
                         "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                                    "kubernetes.io/service-name": service_name}},
            "addressType": address_type, "endpoints": endpoints, "ports": _ports(ports, False)}


def object_list(items: list[dict]) -> str:
    """The objects as one `kind: List` document, the shape `kubectl get … -o yaml` prints."""
    return to_yaml({"apiVersion": "v1", "items": items, "kind": "List",
                    "metadata": {"resourceVersion": ""}})


def write_atomically(path: str, text: str) -> None:
    """Replace a file by rename, as editors and ConfigMap volume updates do."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
