"""Kubernetes objects as `kubectl get -o yaml` prints them, for fedns's file source.

The objects are the test API server's (tests/kubeapi/objects.py), shaped as the API returns them,
so the file source and the API source read the same objects. The YAML emitter is ours so the
harness needs no PyYAML; it writes block style like kubectl and quotes a string only where YAML
would otherwise read it as something else.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from typing import Any

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from tests.kubeapi import objects  # noqa: E402
from tests.kubeapi.objects import endpoint_slice, namespace, service  # noqa: E402,F401  (the builders, re-exported)

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@-]*$")
_NOT_STRING = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o?[0-7]+"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|\.inf|\.nan"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?)$"   # a YAML 1.1 timestamp: kubectl quotes those too
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
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
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


def endpoint(address: str | list[str], *, ready: bool | None = True, **fields: Any) -> dict:
    """One EndpointSlice endpoint (tests.kubeapi.objects.endpoint); `ready=None` leaves the conditions
    empty, as the API returns an endpoint whose readiness is unknown (read as ready)."""
    ep = objects.endpoint(address, ready=ready is not False, **fields)
    if ready is None:
        ep["conditions"] = {}
    return ep


def node(name: str, zone: str | None = None, region: str | None = None, **fields: Any) -> dict:
    """A v1 Node (tests.kubeapi.objects.node), with topology labels only where a zone/region is given."""
    return objects.node(name, zone=zone, region=region, **fields)


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
