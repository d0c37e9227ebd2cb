"""The test Kubernetes API server: HTTPS, authentication, RBAC, lists, watches, and the faults.

See the package docstring (tests/kubeapi/__init__.py) for how tests use it. Internals in brief:

- Objects live per resource in a dict keyed by (namespace, name), each pre-serialised once on write
  (`Stored.item`: the list-item form without kind/apiVersion; `Stored.event`: with them, for
  watch events and GETs), so a list page is a concatenation of bytes.
- The resourceVersion is one counter for all resources, as etcd's revision is; every write bumps
  it and appends one event to the history. A watch is a cursor over that history: events after its
  resourceVersion, filtered by its namespace and selectors. History older than `window_start`
  (compaction) answers 410.
- A paginated list serves every page from the snapshot its first page took; the continue token
  names the snapshot's resourceVersion and the next key. Compaction drops the snapshots: an old
  token then gets 410 Expired.
- Every connection is a thread; a watch's thread waits on one condition variable, writes one HTTP
  chunk per event (unless a fault plan says otherwise) and a BOOKMARK every `bookmark_interval`.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import collections
import email.utils
import gzip
import json
import os
import select
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import pki


@dataclass(frozen=True)
class Resource:
    """One API resource the server serves."""

    name: str                  # plural, as in the URL: "services"
    group: str                 # "" for the core group
    version: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    singular: str = ""
    empty_body: str = "{}"     # the typed zero-value fields a BOOKMARK object carries after metadata

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The name in forbidden messages: `services`, `endpointslices.discovery.k8s.io`."""
        return f"{self.name}.{self.group}" if self.group else self.name


RESOURCES: dict[str, Resource] = {r.name: r for r in (
    Resource("namespaces", "", "v1", "Namespace", False, ("ns",), "namespace", '"spec":{},"status":{}'),
    Resource("nodes", "", "v1", "Node", False, ("no",), "node",
             '"spec":{},"status":{"daemonEndpoints":{"kubeletEndpoint":{"Port":0}},"nodeInfo":{"machineID":"",'
             '"systemUUID":"","bootID":"","kernelVersion":"","osImage":"","containerRuntimeVersion":"",'
             '"kubeletVersion":"","kubeProxyVersion":"","operatingSystem":"","architecture":""}}'),
    Resource("pods", "", "v1", "Pod", True, ("po",), "pod", '"spec":{"containers":null},"status":{}'),
    Resource("services", "", "v1", "Service", True, ("svc",), "service", '"spec":{},"status":{"loadBalancer":{}}'),
    Resource("endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", True, (), "endpointslice",
             '"addressType":"","endpoints":null'),
)}
KIND_TO_RESOURCE = {r.kind: r for r in RESOURCES.values()}
VERBS = ("get", "list", "watch")
GZIP_THRESHOLD = 128 * 1024     # the API server compresses responses from this size on
SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
                  "gitTreeState": "clean", "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6",
                  "compiler": "gc", "platform": "linux/amd64"}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    """A metav1.Status, as the API server writes it for an error."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason}
    if details:
        body["details"] = details
    body["code"] = code
    return body


EXPIRED_CONTINUE = ("The provided continue parameter is too old to display a consistent list result. You can start a "
                    "new list without the continue parameter, or use the continue token in this response to retrieve "
                    "the remainder of the results. Continuing with the provided token results in an inconsistent list "
                    "- objects that were created, modified, or deleted between the time the first chunk was returned "
                    "and now may show up in the list.")


@dataclass(frozen=True)
class Stored:
    """One object as stored: its identity, what selectors read, and its two serialised forms."""

    resource: str
    namespace: str             # "" for cluster-scoped objects
    name: str
    rv: int
    item: bytes                # list item: no kind/apiVersion
    event: bytes               # watch event object / GET body: with kind/apiVersion
    labels: dict
    node_name: str | None
    obj: dict | None           # None for a raw (malformed) object

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True)
class Event:
    rv: int
    resource: str
    type: str                  # ADDED, MODIFIED, DELETED
    old: Stored | None
    new: Stored


@dataclass
class Principal:
    user: str
    groups: tuple[str, ...]


class TruncatedResponse(Exception):
    """A fault plan: send this response's head and only its first `at` bytes, then reset the connection."""

    def __init__(self, body: bytes, at: int):
        super().__init__("truncated response")
        self.body, self.at = body, at


class HTTPError(Exception):
    """An error answered with a Status body."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.headers = headers or {}


# ---------------------------------------------------------------------------------------------
# selectors


def _split_selector(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_field_selector(text: str, resource: Resource) -> list[tuple[str, str, str]]:
    """[(field, op, value)] for `metadata.name=x,spec.nodeName!=y`; unsupported fields are a 400, as upstream."""
    supported = {"metadata.name", "metadata.namespace"} | ({"spec.nodeName"} if resource.name == "pods" else set())
    out = []
    for term in _split_selector(text):
        for op in ("!=", "==", "="):
            if op in term:
                name, value = term.split(op, 1)
                name = name.strip()
                if name not in supported:
                    raise HTTPError(400, "BadRequest",
                                    f'"{name}" is not a known field selector: only "{", ".join(sorted(supported))}"')
                out.append((name, "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise HTTPError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{term}'")
    return out


def parse_label_selector(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """[(key, op, values)] with op in =, !=, in, notin, exists, !exists."""
    out = []
    for term in _split_selector(text):
        words = term.split()
        if len(words) >= 2 and words[1] in ("in", "notin"):
            values = term.split("(", 1)[1].rstrip(")").split(",") if "(" in term else []
            out.append((words[0], words[1], tuple(v.strip() for v in values if v.strip())))
        elif "!=" in term:
            k, v = term.split("!=", 1)
            out.append((k.strip(), "!=", (v.strip(),)))
        elif "==" in term or "=" in term:
            k, v = term.split("==", 1) if "==" in term else term.split("=", 1)
            out.append((k.strip(), "=", (v.strip(),)))
        elif term.startswith("!"):
            out.append((term[1:].strip(), "!exists", ()))
        else:
            out.append((term, "exists", ()))
    return out


@dataclass
class Filter:
    """What one list or watch asks for: namespace and selectors."""

    namespace: str | None = None
    fields: list = field(default_factory=list)
    labels: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.namespace is None and not self.fields and not self.labels

    def matches(self, s: Stored | None) -> bool:
        if s is None:
            return False
        if self.namespace is not None and s.namespace != self.namespace:
            return False
        for name, op, value in self.fields:
            actual = {"metadata.name": s.name, "metadata.namespace": s.namespace,
                      "spec.nodeName": s.node_name or ""}[name]
            if (actual == value) != (op == "="):
                return False
        for key, op, values in self.labels:
            present = key in s.labels
            actual = s.labels.get(key)
            ok = {"=": present and actual == values[0], "!=": not present or actual != values[0],
                  "in": present and actual in values, "notin": not present or actual not in values,
                  "exists": present, "!exists": not present}[op]
            if not ok:
                return False
        return True


# ---------------------------------------------------------------------------------------------
# Table output (what `kubectl get` asks for with Accept: application/json;as=Table;v=v1;g=meta.k8s.io)


def _age(created: str | None) -> str:
    try:
        then = calendar.timegm(time.strptime(created or "", "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int(time.time() - then))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _ports_cell(ports: list | None, service: bool) -> str:
    if not ports:
        return "<none>"
    out = []
    for p in ports:
        if not isinstance(p, dict):
            continue
        text = f"{p.get('port', '')}/{p.get('protocol', 'TCP')}"
        if service and p.get("nodePort"):
            text = f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        out.append(text)
    return ",".join(out) or "<none>"


TABLE_COLUMNS: dict[str, list[tuple[str, str, str]]] = {   # (name, type, format)
    "services": [("Name", "string", "name"), ("Type", "string", ""), ("Cluster-IP", "string", ""),
                 ("External-IP", "string", ""), ("Port(s)", "string", ""), ("Age", "string", "")],
    "endpointslices": [("Name", "string", "name"), ("AddressType", "string", ""), ("Ports", "string", ""),
                       ("Endpoints", "string", ""), ("Age", "string", "")],
    "nodes": [("Name", "string", "name"), ("Status", "string", ""), ("Roles", "string", ""),
              ("Age", "string", ""), ("Version", "string", "")],
    "namespaces": [("Name", "string", "name"), ("Status", "string", ""), ("Age", "string", "")],
    "pods": [("Name", "string", "name"), ("Ready", "string", ""), ("Status", "string", ""),
             ("Restarts", "string", ""), ("Age", "string", "")],
}


def table_cells(resource: str, obj: dict) -> list:
    """The cells of one row, as the API server's printers fill them."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    age = _age(meta.get("creationTimestamp"))
    name = meta.get("name", "")
    if resource == "services":
        external = spec.get("externalName") or ",".join(spec.get("externalIPs") or []) or "<none>"
        return [name, spec.get("type", ""), spec.get("clusterIP") or "<none>", external,
                _ports_cell(spec.get("ports"), True), age]
    if resource == "endpointslices":
        addresses = [a for ep in obj.get("endpoints") or [] for a in (ep.get("addresses") or [])]
        shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
        return [name, obj.get("addressType", ""), _ports_cell(obj.get("ports"), False), shown or "<unset>", age]
    if resource == "nodes":
        ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown")
        return [name, "Ready" if ready == "True" else "NotReady", "<none>", age,
                (status.get("nodeInfo") or {}).get("kubeletVersion", "")]
    if resource == "namespaces":
        return [name, status.get("phase", ""), age]
    ready = sum(1 for c in status.get("conditions") or [] if c.get("type") == "ContainersReady" and c.get("status") == "True")
    return [name, f"{ready}/1", status.get("phase", ""), "0", age]


def wants_table(headers: dict[str, str]) -> bool:
    return "as=Table" in headers.get("accept", "")


def table_bytes(resource: str, stored: Iterable["Stored"], metadata: str, columns: bool = True) -> bytes:
    rows = []
    for s in stored:
        obj = s.obj if s.obj is not None else {"metadata": {"name": s.name, "namespace": s.namespace}}
        meta = dict(obj.get("metadata") or {})
        if resource not in ("nodes", "namespaces") and "namespace" not in meta:
            meta["namespace"] = s.namespace
        rows.append(_dumps({"cells": table_cells(resource, obj),
                            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}}))
    definitions = [{"name": n, "type": t, "format": f, "description": "", "priority": 0}
                   for n, t, f in TABLE_COLUMNS[resource]] if columns else []
    return (b'{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{' + metadata.encode() + b'},"columnDefinitions":'
            + _dumps(definitions) + b',"rows":[' + b",".join(rows) + b"]}")


# ---------------------------------------------------------------------------------------------
# connections and watches


class Connection:
    """One client connection (TLS socket) and what the fault plans need to reach its watch."""

    def __init__(self, sock: ssl.SSLSocket, peer):
        self.sock, self.peer = sock, peer
        self.closed = threading.Event()
        self.write_lock = threading.Lock()

    def close(self, abrupt: bool = False) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            if abrupt:
                # RST rather than FIN: the peer sees the connection torn down mid-stream.
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def peer_closed(self) -> bool:
        """True when the client has gone away (EOF or error on the socket), without blocking."""
        if self.closed.is_set():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return False
            self.sock.setblocking(False)
            try:
                data = self.sock.recv(1)
            finally:
                self.sock.setblocking(True)
            return data == b""
        except ssl.SSLWantReadError:
            return False
        except (OSError, ValueError):
            return True


@dataclass
class Watch:
    """An open watch: its resource, filter, cursor and any fault plan set for it."""

    id: int
    resource: Resource
    filter: Filter
    principal: Principal
    conn: Connection
    cursor: int
    bookmarks: bool
    table: bool = False                                # kubectl: event objects are one-row Tables
    split_plan: tuple[list[int], int] | None = None    # (byte offsets, number of events)
    drop_at: int | None = None                         # bytes of the next event written before the drop
    silent: bool = False
    end: str | None = None                             # "expire" (ERROR 410) or "close" (final chunk), set by controls
    events_sent: int = 0


# ---------------------------------------------------------------------------------------------
# the server


class KubeAPIServer:
    """A Kubernetes API server for tests. See the package docstring for the API."""

    def __init__(self, workdir: str, *, host: str = "127.0.0.1", port: int = 0,
                 tokens: dict[str, str | tuple[str, Iterable[str]]] | None = None,
                 rbac: dict[str, Iterable[tuple[str, str]]] | None = None,
                 bookmark_interval: float = 60.0, history: int = 100_000, anonymous: bool = False,
                 compress: bool = True):
        """workdir: where the CA and certificates go. tokens: token → user or (user, groups).
        rbac: None allows every authenticated user everything; else user or group → [(verb, resource)],
        "*" matching any verb or resource. history: how many events a watch can resume over.
        compress: gzip responses of 128 KiB or more to clients that send Accept-Encoding: gzip, as the API
        server does."""
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.ca = pki.CA(os.path.join(workdir, "pki"))
        self.server_cert = self.ca.server_cert()
        self.host, self.port = host, port
        self.bookmark_interval = bookmark_interval
        self.history_limit = history
        self.anonymous = anonymous
        self.compress = compress
        self._tokens: dict[str, Principal] = {}
        self.set_tokens(tokens or {})
        self._rbac: dict[str, set[tuple[str, str]]] | None = None
        if rbac is not None:
            self.set_rbac(rbac)

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._rv = 1
        self._objects: dict[str, dict[tuple[str, str], Stored]] = {r: {} for r in RESOURCES}
        self._keys: dict[str, list[tuple[str, str]]] = {r: [] for r in RESOURCES}
        self._history: list[Event] = []
        self._history_first_rv = 2                  # rv of _history[0]
        self.window_start = 1                       # a watch from an rv below this gets 410
        self._snapshots: collections.OrderedDict[tuple[str, int, str | None], tuple[list, list]] = collections.OrderedDict()
        self._watches: dict[int, Watch] = {}
        self._watch_ids = 0
        self._connections: set[Connection] = set()
        self._written: collections.OrderedDict[int, float] = collections.OrderedDict()
        self._truncate_lists: dict[str | None, int] = {}    # resource (None: any) → bytes sent
        self.requests: collections.deque = collections.deque(maxlen=2000)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = False
        self._ssl = self._ssl_context()

    # -- lifecycle -------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.server_cert.cert, self.server_cert.key)
        ctx.load_verify_locations(self.ca.cert)
        ctx.verify_mode = ssl.CERT_OPTIONAL       # a client certificate is one way to authenticate
        ctx.set_alpn_protocols(["http/1.1"])      # Go and AHC would otherwise try HTTP/2
        return ctx

    def start(self) -> "KubeAPIServer":
        self._stopping = False
        self.start_listening()
        return self

    def stop(self) -> None:
        self._stopping = True
        self.stop_listening()

    def __enter__(self) -> "KubeAPIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start_listening(self) -> None:
        """Bind (the same port again after stop_listening) and accept connections."""
        with self._lock:
            if self._listener is not None:
                return
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            self.port = sock.getsockname()[1]
            self._listener = sock
            self._accept_thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True,
                                                   name=f"kubeapi-accept-{self.port}")
            self._accept_thread.start()

    def stop_listening(self) -> None:
        """The outage: close the listening socket and every open connection (watches end without a word)."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections = list(self._connections)
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for conn in connections:
            conn.close()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
            self._accept_thread = None
        with self._changed:
            self._changed.notify_all()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, peer = listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve_connection, args=(sock, peer), daemon=True).start()

    # -- credentials and RBAC --------------------------------------------------------------

    def set_tokens(self, tokens: dict[str, str | tuple[str, Iterable[str]]]) -> None:
        """Replace the valid bearer tokens: token → user or (user, groups). Open watches stay open."""
        parsed = {}
        for token, who in tokens.items():
            user, groups = (who, ()) if isinstance(who, str) else (who[0], tuple(who[1]))
            parsed[token] = Principal(user, tuple(groups))
        self._tokens = parsed

    def add_token(self, token: str, user: str, groups: Iterable[str] = ()) -> None:
        self._tokens = {**self._tokens, token: Principal(user, tuple(groups))}

    def revoke_token(self, token: str) -> None:
        self._tokens = {t: p for t, p in self._tokens.items() if t != token}

    def set_rbac(self, rbac: dict[str, Iterable[tuple[str, str]]] | None) -> None:
        """user or group → [(verb, resource)], "*" for any; None allows everything."""
        self._rbac = None if rbac is None else {who: {tuple(r) for r in rules} for who, rules in rbac.items()}

    def grant(self, who: str, resource: str = "*", verbs: Iterable[str] = VERBS) -> None:
        rbac = dict(self._rbac or {})
        rbac[who] = set(rbac.get(who, set())) | {(v, resource) for v in verbs}
        self._rbac = rbac

    def revoke(self, who: str, resource: str, verbs: Iterable[str] = VERBS) -> None:
        """Remove grants of `resource` (also carving it out of a "*" grant)."""
        rbac = dict(self._rbac or {})
        rules = set(rbac.get(who, set()))
        for verb in verbs:
            rules.discard((verb, resource))
            if ("*", "*") in rules or (verb, "*") in rules:
                rules.discard(("*", "*"))
                rules.discard((verb, "*"))
                rules |= {(v, r) for v in VERBS for r in RESOURCES if (v, r) != (verb, resource)} - {
                    (vv, resource) for vv in verbs}
        rbac[who] = rules
        self._rbac = rbac

    def _authenticate(self, conn: Connection, headers: dict[str, str]) -> Principal:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            principal = self._tokens.get(auth[7:].strip())
            if principal is None:
                raise HTTPError(401, "Unauthorized", "Unauthorized")
            return principal
        cert = conn.sock.getpeercert()
        if cert:
            user, groups = "", []
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        user = value
                    elif key == "organizationName":
                        groups.append(value)
            if user:
                return Principal(user, tuple(groups))
        if self.anonymous:
            return Principal("system:anonymous", ("system:unauthenticated",))
        raise HTTPError(401, "Unauthorized", "Unauthorized")

    def _authorize(self, who: Principal, verb: str, resource: Resource, namespace: str | None, name: str | None) -> None:
        rbac = self._rbac
        if rbac is None:
            return
        for subject in (who.user, *who.groups, "system:authenticated"):
            rules = rbac.get(subject, ())
            if any((v in ("*", verb)) and (r in ("*", resource.name)) for v, r in rules):
                return
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        target = f'{resource.qualified} "{name}"' if name else resource.qualified
        details: dict[str, Any] = {}
        if name:
            details["name"] = name
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.name
        raise HTTPError(403, "Forbidden", f'{target} is forbidden: User "{who.user}" cannot {verb} resource '
                                          f'"{resource.name}" in API group "{resource.group}" {scope}', details)

    # -- the store -------------------------------------------------------------------------

    def _resource_of(self, what: str | dict) -> Resource:
        if isinstance(what, dict):
            kind = what.get("kind")
            if kind not in KIND_TO_RESOURCE:
                raise ValueError(f"unknown kind {kind!r}; pass the resource explicitly")
            return KIND_TO_RESOURCE[kind]
        if what in RESOURCES:
            return RESOURCES[what]
        if what in KIND_TO_RESOURCE:
            return KIND_TO_RESOURCE[what]
        raise ValueError(f"unknown resource {what!r}; one of {sorted(RESOURCES)}")

    def _store(self, resource: Resource, obj: dict, rv: int, *, keep_uid: dict | None = None) -> Stored:
        body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        meta = dict(body.get("metadata") or {})
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("an object needs metadata.name")
        namespace = meta.get("namespace", "") if resource.namespaced else ""
        if resource.namespaced and not namespace:
            raise ValueError(f"a {resource.kind} needs metadata.namespace")
        if keep_uid and keep_uid.get("uid"):
            meta["uid"] = keep_uid["uid"]
            meta["creationTimestamp"] = keep_uid.get("creationTimestamp", meta.get("creationTimestamp"))
        if "uid" not in meta:
            meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = str(rv)
        if "creationTimestamp" not in meta:
            meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        # Keep metadata first, as the API server writes it.
        body = {"metadata": meta, **{k: v for k, v in body.items() if k != "metadata"}}
        item = _dumps(body)
        event = (f'{{"kind":"{resource.kind}","apiVersion":"{resource.group_version}",'.encode() + item[1:])
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        node_name = spec.get("nodeName") if resource.name == "pods" else None
        return Stored(resource.name, namespace, name, rv, item, event, labels, node_name,
                      {"kind": resource.kind, "apiVersion": resource.group_version, **body})

    def _commit(self, resource: Resource, new: Stored | None, key: tuple[str, str], deleted: Stored | None = None) -> int:
        """Apply one write under the lock: the store, the sorted keys, the history, the watchers."""
        objects, keys = self._objects[resource.name], self._keys[resource.name]
        old = objects.get(key)
        if new is not None:
            if old is None:
                bisect.insort(keys, key)
            objects[key] = new
            event = Event(new.rv, resource.name, "MODIFIED" if old else "ADDED", old, new)
        else:
            del objects[key]
            keys.pop(bisect.bisect_left(keys, key))
            event = Event(deleted.rv, resource.name, "DELETED", old, deleted)
        self._history.append(event)
        if len(self._history) > self.history_limit:
            drop = len(self._history) - self.history_limit
            del self._history[:drop]
            self._history_first_rv += drop
            self.window_start = max(self.window_start, self._history_first_rv - 1)
        self._changed.notify_all()
        return event.rv

    def put(self, obj: dict, resource: str | None = None) -> int:
        """Create or replace an object (ADDED or MODIFIED to watchers); returns its new resourceVersion."""
        res = self._resource_of(resource or obj)
        with self._lock:
            rv = self._rv + 1
            meta = obj.get("metadata") or {}
            key = (meta.get("namespace", "") if res.namespaced else "", meta.get("name", ""))
            old = self._objects[res.name].get(key)
            stored = self._store(res, obj, rv, keep_uid=(old.obj or {}).get("metadata") if old else None)
            self._rv = rv
            return self._commit(res, stored, stored.key)

    def put_raw(self, resource: str, namespace: str, name: str, raw: bytes | str | dict, labels: dict | None = None) -> int:
        """Store an object exactly as given (a malformed one): raw JSON bytes, or a dict serialised as is
        (no resourceVersion stamped). It is a list item and a watch event object verbatim."""
        res = self._resource_of(resource)
        data = raw if isinstance(raw, bytes) else raw.encode() if isinstance(raw, str) else _dumps(raw)
        with self._lock:
            self._rv += 1
            stored = Stored(res.name, namespace if res.namespaced else "", name, self._rv, data, data,
                            labels or {}, None, None)
            return self._commit(res, stored, stored.key)

    def delete(self, resource: str, namespace: str | None, name: str) -> int:
        """Delete an object (DELETED to watchers, with its last state at the new resourceVersion)."""
        res = self._resource_of(resource)
        key = (namespace or "" if res.namespaced else "", name)
        with self._lock:
            old = self._objects[res.name].get(key)
            if old is None:
                raise KeyError(f"{res.name} {key} not found")
            self._rv += 1
            gone = self._store(res, old.obj, self._rv) if old.obj is not None else old
            return self._commit(res, None, key, deleted=gone)

    def get(self, resource: str, namespace: str | None, name: str) -> dict:
        """A copy of a stored object (with kind and apiVersion)."""
        res = self._resource_of(resource)
        with self._lock:
            s = self._objects[res.name][(namespace or "" if res.namespaced else "", name)]
        return json.loads(s.event)

    def load(self, objects: Iterable[dict]) -> int:
        """Add many objects at once (each its own resourceVersion), without watch events: the cluster as
        it was before anyone watched. Returns the resourceVersion after the load."""
        with self._lock:
            for obj in objects:
                res = self._resource_of(obj)
                self._rv += 1
                stored = self._store(res, obj, self._rv)
                objects_, keys = self._objects[res.name], self._keys[res.name]
                if stored.key not in objects_:
                    keys.append(stored.key)
                objects_[stored.key] = stored
            for keys in self._keys.values():
                keys.sort()
            self._history.clear()
            self._history_first_rv = self._rv + 1
            self.window_start = max(self.window_start, self._rv)
            self._snapshots.clear()
            return self._rv

    def set_ready(self, namespace: str, slice_name: str, address: str, ready: bool, *, serving: bool | None = None,
                  terminating: bool | None = None) -> int:
        """Flip the readiness of the endpoint with `address` in an EndpointSlice (MODIFIED)."""
        with self._lock:
            obj = self.get("endpointslices", namespace, slice_name)
            for ep in obj.get("endpoints") or []:
                if address in ep.get("addresses", []):
                    conditions = ep.setdefault("conditions", {})
                    conditions["ready"] = ready
                    conditions["serving"] = ready if serving is None else serving
                    if terminating is not None:
                        conditions["terminating"] = terminating
                    break
            else:
                raise KeyError(f"no endpoint {address} in {namespace}/{slice_name}")
            obj["metadata"]["generation"] = int(obj["metadata"].get("generation", 1)) + 1
            return self.put(obj)

    @property
    def resource_version(self) -> int:
        return self._rv

    def count(self, resource: str) -> int:
        return len(self._objects[self._resource_of(resource).name])

    # -- fault controls --------------------------------------------------------------------

    def _watches_of(self, resource: str | None) -> list[Watch]:
        name = self._resource_of(resource).name if resource else None
        with self._lock:
            return [w for w in self._watches.values() if name is None or w.resource.name == name]

    def open_watches(self, resource: str | None = None) -> int:
        """How many watches are open (on `resource`, or on any)."""
        return len(self._watches_of(resource))

    def wait_for_watches(self, resource: str | None = None, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._watches_of(resource)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.open_watches(resource)} watches on {resource or 'any resource'} "
                                       f"open after {timeout}s, wanted {count}")
                self._changed.wait(min(left, 0.1))

    def compact(self) -> int:
        """Forget the history up to now (etcd compaction): a watch resuming from an older resourceVersion and
        a continue token from an older list get 410. Returns the new window start."""
        with self._lock:
            self._history.clear()
            self._history_first_rv = self._rv + 1
            self.window_start = self._rv
            self._snapshots.clear()
            return self.window_start

    def expire_watches(self, resource: str | None = None, compact: bool = True) -> int:
        """Send an ERROR event with a 410 Status on the open watches (of `resource`, or all) and end them;
        with `compact`, resuming from their resourceVersion gets 410 too. Returns how many were expired."""
        with self._changed:
            if compact:
                self.compact()
            watches = self._watches_of(resource)
            for w in watches:
                w.end = "expire"
            self._changed.notify_all()
            return len(watches)

    def split_next_events(self, offsets: list[int], events: int = 1, resource: str | None = None) -> int:
        """The next `events` events on each open watch (of `resource`, or all) are written together, cut
        into HTTP chunks at the given byte offsets of their concatenation, each chunk its own TCP write
        with a pause, so the client reads an event in pieces (or several in one chunk)."""
        watches = self._watches_of(resource)
        for w in watches:
            w.split_plan = (sorted(offsets), events)
        return len(watches)

    def drop_next_event(self, at: int = 20, resource: str | None = None) -> int:
        """On each open watch (of `resource`, or all), write the first `at` bytes of the next event as a chunk,
        then tear the connection down (RST)."""
        watches = self._watches_of(resource)
        for w in watches:
            w.drop_at = at
        return len(watches)

    def truncate_next_list(self, at: int, resource: str | None = None) -> None:
        """The next list response (of `resource`, or of any) announces its full Content-Length, sends only its
        first `at` bytes, then resets the connection: a truncated stream."""
        with self._lock:
            self._truncate_lists[self._resource_of(resource).name if resource else None] = at

    def silence_watches(self, resource: str | None = None) -> int:
        """The open watches (of `resource`, or all) go silent for good: connection kept, nothing sent, not even
        bookmarks. New watches are normal."""
        watches = self._watches_of(resource)
        for w in watches:
            w.silent = True
        return len(watches)

    def close_watches(self, resource: str | None = None) -> int:
        """End the open watches cleanly (the final chunk), as the server's request timeout does."""
        watches = self._watches_of(resource)
        with self._changed:
            for w in watches:
                w.end = "close"
            self._changed.notify_all()
        return len(watches)

    def set_bookmark_interval(self, seconds: float) -> None:
        with self._changed:
            self.bookmark_interval = seconds
            self._changed.notify_all()

    def written_at(self, rv: int, timeout: float = 10.0) -> float | None:
        """time.monotonic() when the event with this resourceVersion was first written to a watch, waiting up
        to `timeout`; None if it was not written in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while rv not in self._written:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(min(left, 0.05))
            return self._written[rv]

    def request_log(self, since: float = 0.0) -> list[dict]:
        """The last requests (2000 at most), oldest first: method, path with query, user, status code, Accept,
        and time (time.monotonic() when it arrived); only those that arrived after `since`."""
        return [dict(e) for e in list(self.requests) if e["time"] > since]

    # -- kubeconfig ------------------------------------------------------------------------

    def kubeconfig(self, path: str, *, token: str | None = None, token_file: str | None = None,
                   client_cert: pki.CertFiles | None = None, embed: bool = True, insecure: bool = False,
                   context: str = "test", user: str = "test-user", namespace: str | None = None) -> str:
        """Write a kubeconfig for this server with one credential (a token, a token file or a client
        certificate); CA and certificate as inline data (`embed`) or file paths. Returns the path."""
        cluster: dict[str, Any] = {"server": self.url}
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        elif embed:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca.cert_pem).decode()
        else:
            cluster["certificate-authority"] = self.ca.cert
        auth: dict[str, Any] = {}
        if token:
            auth["token"] = token
        if token_file:
            auth["tokenFile"] = token_file
        if client_cert:
            if embed:
                auth["client-certificate-data"] = base64.b64encode(client_cert.cert_pem).decode()
                auth["client-key-data"] = base64.b64encode(client_cert.key_pem).decode()
            else:
                auth["client-certificate"] = client_cert.cert
                auth["client-key"] = client_cert.key
        ctx: dict[str, Any] = {"cluster": "test", "user": user}
        if namespace:
            ctx["namespace"] = namespace
        config = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "test", "cluster": cluster}],
                  "users": [{"name": user, "user": auth}], "contexts": [{"name": context, "context": ctx}],
                  "current-context": context, "preferences": {}}
        # JSON is YAML: kubectl and any YAML reader take it.
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        return path

    # -- HTTP ------------------------------------------------------------------------------

    def _serve_connection(self, raw: socket.socket, peer) -> None:
        try:
            raw.settimeout(10)
            sock = self._ssl.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            sock.do_handshake()
            sock.settimeout(None)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        conn = Connection(sock, peer)
        with self._lock:
            if self._listener is None:
                conn.close()
                return
            self._connections.add(conn)
        reader = sock.makefile("rb")
        try:
            while not conn.closed.is_set():
                request = self._read_request(reader)
                if request is None:
                    return
                method, target, headers = request
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    reader.read(length)
                keep = self._handle(conn, method, target, headers)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            try:
                reader.close()
            except OSError:
                pass
            conn.close()

    @staticmethod
    def _read_request(reader) -> tuple[str, str, dict[str, str]] | None:
        line = reader.readline(65537)
        while line in (b"\r\n", b"\n"):
            line = reader.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            raise ValueError("bad request line")
        headers: dict[str, str] = {}
        while True:
            h = reader.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return parts[0], parts[1], headers

    def _send(self, conn: Connection, code: int, body: bytes, headers: dict | None = None) -> None:
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                  405: "Method Not Allowed", 406: "Not Acceptable", 410: "Gone", 500: "Internal Server Error"}.get(code, "Error")
        head = [f"HTTP/1.1 {code} {reason}", f"Audit-Id: {uuid.uuid4()}", "Cache-Control: no-cache, private",
                "Content-Type: application/json", f"Date: {email.utils.formatdate(usegmt=True)}"]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        head.append(f"Content-Length: {len(body)}")
        with conn.write_lock:
            conn.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def _handle(self, conn: Connection, method: str, target: str, headers: dict[str, str]) -> bool:
        """Answer one request; False when the connection must close."""
        parsed = urllib.parse.urlsplit(target)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        entry = {"method": method, "path": target, "user": "-", "code": 200, "accept": headers.get("accept", ""),
                 "time": time.monotonic()}
        self.requests.append(entry)       # before answering: a watch is logged while it is open
        try:
            principal = self._authenticate(conn, headers)
            entry["user"] = principal.user
            if method not in ("GET", "HEAD"):
                raise HTTPError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource "
                                                         f"(this test server is read-only; use its control API)")
            result = self._route(conn, parsed.path, query, principal, headers)
            if result is None:           # a watch: it wrote its own response
                return not conn.closed.is_set()
            if self.compress and len(result) >= GZIP_THRESHOLD and "gzip" in headers.get("accept-encoding", ""):
                # As the API server does for big responses when the client accepts it (watches are never compressed).
                self._send(conn, 200, gzip.compress(result, compresslevel=1), {"Content-Encoding": "gzip"})
            else:
                self._send(conn, 200, result)
            return True
        except TruncatedResponse as t:
            head = (f"HTTP/1.1 200 OK\r\nAudit-Id: {uuid.uuid4()}\r\nCache-Control: no-cache, private\r\n"
                    f"Content-Type: application/json\r\nDate: {email.utils.formatdate(usegmt=True)}\r\n"
                    f"Content-Length: {len(t.body)}\r\n\r\n").encode()
            with conn.write_lock:
                conn.sock.sendall(head + t.body[:t.at])
            conn.close(abrupt=True)
            return False
        except HTTPError as e:
            entry["code"] = e.code
            self._send(conn, e.code, _dumps(status_body(e.code, e.reason, e.message, e.details)), e.headers)
            return True

    def _route(self, conn: Connection, path: str, query: dict, who: Principal, headers: dict) -> bytes | None:
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return _dumps(SERVER_VERSION)
        if parts == ["api"]:
            return _dumps({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}]})
        if parts == ["apis"]:
            return _dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group("discovery.k8s.io")]})
        if parts == ["apis", "discovery.k8s.io"]:
            return _dumps({"kind": "APIGroup", "apiVersion": "v1", **self._group("discovery.k8s.io")})
        if parts == ["api", "v1"]:
            return self._resource_list("v1", "")
        if parts == ["apis", "discovery.k8s.io", "v1"]:
            return self._resource_list("discovery.k8s.io/v1", "discovery.k8s.io")
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif parts[:3] == ["apis", "discovery.k8s.io", "v1"]:
            group, rest = "discovery.k8s.io", parts[3:]
        else:
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")
        res = RESOURCES.get(rest[0])
        if res is None or res.group != group or (namespace is not None and not res.namespaced):
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) == 2 else None
        watching = query.get("watch", "") in ("1", "true", "True")
        if name is not None and not watching:
            self._authorize(who, "get", res, namespace, name)
            with self._lock:
                s = self._objects[res.name].get((namespace or "", name))
            if s is None:
                raise HTTPError(404, "NotFound", f'{res.qualified} "{name}" not found',
                                {"name": name, **({"group": res.group} if res.group else {}), "kind": res.name})
            return table_bytes(res.name, [s], f'"resourceVersion":"{s.rv}"') if wants_table(headers) else s.event
        filt = Filter(namespace=namespace)
        if query.get("fieldSelector"):
            filt.fields = parse_field_selector(query["fieldSelector"], res)
        if name is not None:
            filt.fields.append(("metadata.name", "=", name))
        if query.get("labelSelector"):
            filt.labels = parse_label_selector(query["labelSelector"])
        if watching:
            self._authorize(who, "watch", res, namespace, None)
            self._watch(conn, res, filt, who, query, wants_table(headers))
            return None
        self._authorize(who, "list", res, namespace, None)
        return self._list(res, filt, query, wants_table(headers))

    def _group(self, name: str) -> dict:
        gv = {"groupVersion": f"{name}/v1", "version": "v1"}
        return {"name": name, "versions": [gv], "preferredVersion": gv}

    def _resource_list(self, group_version: str, group: str) -> bytes:
        resources = []
        for r in RESOURCES.values():
            if r.group != group:
                continue
            entry: dict[str, Any] = {"name": r.name, "singularName": r.singular, "namespaced": r.namespaced,
                                     "kind": r.kind, "verbs": ["create", "delete", "deletecollection", "get",
                                                               "list", "patch", "update", "watch"]}
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            resources.append(entry)
            if r.name in ("services", "nodes", "pods", "namespaces"):
                resources.append({"name": f"{r.name}/status", "singularName": "", "namespaced": r.namespaced,
                                  "kind": r.kind, "verbs": ["get", "patch", "update"]})
        return _dumps({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                       "resources": resources})

    # -- lists -----------------------------------------------------------------------------

    def _list(self, res: Resource, filt: Filter, query: dict, table: bool = False) -> bytes:
        limit = int(query.get("limit") or 0)
        token = query.get("continue") or ""
        if query.get("resourceVersion") == "0" and not token:
            limit = 0      # served from the watch cache: the real server ignores limit then
        with self._lock:
            if token:
                try:
                    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                    rv, start = int(decoded["rv"]), decoded["start"]
                except (ValueError, KeyError, TypeError):
                    raise HTTPError(400, "BadRequest", "continue key is not valid: incorrect encoded start "
                                                       "resourceVersion (version meta.k8s.io/v1)") from None
                snapshot_key = (res.name, rv, filt.namespace)
                snapshot = self._snapshots.get(snapshot_key)
                if snapshot is None or rv < self.window_start:
                    raise HTTPError(410, "Expired", EXPIRED_CONTINUE)
                self._snapshots.move_to_end(snapshot_key)
                keys, stored = snapshot
                ns, _, nm = start.rstrip("\x00").partition("/")
                index = bisect.bisect_right(keys, (ns, nm))
            else:
                rv = self._rv
                keys = self._keys[res.name]
                objects = self._objects[res.name]
                if filt.namespace is not None:
                    lo = bisect.bisect_left(keys, (filt.namespace, ""))
                    hi = bisect.bisect_left(keys, (filt.namespace + "\x00", ""))
                    keys = keys[lo:hi]
                else:
                    keys = list(keys)
                stored = [objects[k] for k in keys]
                index = 0
                if limit and len(stored) > limit:
                    self._snapshots[(res.name, rv, filt.namespace)] = (keys, stored)
                    while len(self._snapshots) > 32:
                        self._snapshots.popitem(last=False)
        page: list[Stored] = []
        i = index
        n = len(stored)
        if not filt.fields and not filt.labels:
            end = min(n, i + limit) if limit else n
            page = stored[i:end]
            i = end
        else:
            while i < n and (not limit or len(page) < limit):
                if filt.matches(stored[i]):
                    page.append(stored[i])
                i += 1
        meta = f'"resourceVersion":"{rv}"'
        if i < n:
            last = stored[i - 1]
            cont = base64.urlsafe_b64encode(_dumps({"v": "meta.k8s.io/v1", "rv": rv,
                                                    "start": f"{last.namespace}/{last.name}\x00"})).rstrip(b"=")
            meta += f',"continue":"{cont.decode()}"'
            if not filt.fields and not filt.labels:
                meta += f',"remainingItemCount":{n - i}'
        if table:
            body = table_bytes(res.name, page, meta)
        else:
            head = f'{{"kind":"{res.kind}List","apiVersion":"{res.group_version}","metadata":{{{meta}}},"items":['.encode()
            body = head + b",".join(s.item for s in page) + b"]}"
        with self._lock:
            at = self._truncate_lists.pop(res.name, None)
            if at is None:
                at = self._truncate_lists.pop(None, None)
        if at is not None:
            raise TruncatedResponse(body, at)
        return body

    # -- watches ---------------------------------------------------------------------------

    def _watch(self, conn: Connection, res: Resource, filt: Filter, who: Principal, query: dict,
               table: bool = False) -> None:
        rv_param = query.get("resourceVersion", "")
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        bookmarks = query.get("allowWatchBookmarks", "") in ("1", "true", "True")
        head = ["HTTP/1.1 200 OK", f"Audit-Id: {uuid.uuid4()}", "Cache-Control: no-cache, private",
                "Content-Type: application/json", f"Date: {email.utils.formatdate(usegmt=True)}",
                "Transfer-Encoding: chunked"]
        initial: list[bytes] = []
        too_old = None
        with self._lock:
            if rv_param in ("", "0"):
                cursor = self._rv
                initial = [self._event_line("ADDED", table_bytes(res.name, [s], "") if table else s.event) for s in
                           (self._objects[res.name][k] for k in self._keys[res.name]) if filt.matches(s)]
            else:
                try:
                    cursor = int(rv_param)
                except ValueError:
                    raise HTTPError(400, "BadRequest", f'invalid resource version: "{rv_param}"') from None
                if cursor < self.window_start:
                    too_old = cursor
            self._watch_ids += 1
            watch = Watch(self._watch_ids, res, filt, who, conn, cursor, bookmarks, table)
            if too_old is None:
                self._watches[watch.id] = watch
                self._changed.notify_all()
        with conn.write_lock:
            conn.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            if too_old is not None:
                # As the real server: 200, then one ERROR event with a 410 Status, then the end of the stream.
                status = status_body(410, "Expired", f"too old resource version: {too_old} ({self.window_start})")
                self._write_chunk(conn, self._event_line("ERROR", _dumps(status)))
                self._write_chunk(conn, b"")
                return
            for line in initial:
                self._write_chunk(conn, line)
            self._watch_loop(watch, timeout)
        except (OSError, ssl.SSLError):
            conn.close()
        finally:
            self._unregister(watch)

    def _unregister(self, w: Watch) -> None:
        """The watch no longer counts as open; done before its connection ends, so a client that saw
        the end also sees open_watches() without it."""
        with self._changed:
            self._watches.pop(w.id, None)
            self._changed.notify_all()

    @staticmethod
    def _event_line(kind: str, obj: bytes) -> bytes:
        return b'{"type":"' + kind.encode() + b'","object":' + obj + b"}\n"

    def _write_chunk(self, conn: Connection, data: bytes) -> None:
        with conn.write_lock:
            conn.sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

    def _bookmark(self, res: Resource, rv: int) -> bytes:
        obj = (f'{{"kind":"{res.kind}","apiVersion":"{res.group_version}","metadata":{{"resourceVersion":"{rv}",'
               f'"creationTimestamp":null}},{res.empty_body}}}')
        return self._event_line("BOOKMARK", obj.encode())

    def _pending(self, w: Watch) -> list[tuple[int, bytes]]:
        """Events after the watch's cursor that it should see, as (rv, line); advances the cursor. Under the lock."""
        out = []
        start = max(w.cursor + 1, self._history_first_rv)
        for rv in range(start, self._rv + 1):
            e = self._history[rv - self._history_first_rv]
            if e.resource != w.resource.name:
                continue
            was, now = w.filter.matches(e.old), w.filter.matches(e.new)
            if e.type == "DELETED":
                kind = "DELETED" if was else None
            elif was and now:
                kind = "MODIFIED"
            elif now:
                kind = "ADDED"
            elif was:
                kind = "DELETED"      # it left the selection
            else:
                kind = None
            if kind:
                obj = table_bytes(w.resource.name, [e.new], f'"resourceVersion":"{rv}"') if w.table else e.new.event
                out.append((rv, self._event_line(kind, obj)))
        w.cursor = self._rv
        return out

    def _watch_loop(self, w: Watch, timeout: float | None) -> None:
        conn = w.conn
        deadline = time.monotonic() + timeout if timeout else None
        last_bookmark = time.monotonic()
        split_buffer: list[tuple[int, bytes]] = []
        while True:
            with self._changed:
                while True:
                    if conn.closed.is_set() or self._listener is None:
                        return
                    if w.end:
                        break
                    next_bookmark = last_bookmark + self.bookmark_interval
                    if w.silent:
                        pending = []
                    else:
                        if w.cursor + 1 < self._history_first_rv:
                            w.end = "expire"      # events it has not seen are gone
                            break
                        pending = self._pending(w)
                    now = time.monotonic()
                    if pending or w.silent:
                        break
                    if deadline and now >= deadline:
                        break
                    if w.bookmarks and now >= next_bookmark:
                        break
                    wait = 1.0
                    if deadline:
                        wait = min(wait, deadline - now)
                    if w.bookmarks:
                        wait = min(wait, next_bookmark - now)
                    self._changed.wait(max(wait, 0.001))
                    if conn.peer_closed():
                        return
                rv_now = self._rv
                next_bookmark = last_bookmark + self.bookmark_interval
            if w.end == "expire":
                status = status_body(410, "Expired", f"too old resource version: {w.cursor} ({self.window_start})")
                self._unregister(w)
                self._write_chunk(conn, self._event_line("ERROR", _dumps(status)))
                self._write_chunk(conn, b"")      # the response ends; the connection stays, as upstream
                return
            if w.end == "close":
                self._unregister(w)
                self._write_chunk(conn, b"")
                return
            if w.silent:
                while not conn.closed.wait(0.2):
                    if self._listener is None or conn.peer_closed():
                        return
                return
            for rv, line in pending:
                if w.drop_at is not None:
                    at, w.drop_at = w.drop_at, None
                    self._unregister(w)
                    self._write_chunk(conn, line[:at])
                    conn.close(abrupt=True)
                    return
                if w.split_plan is not None:
                    split_buffer.append((rv, line))
                    offsets, count = w.split_plan
                    if len(split_buffer) < count:
                        continue
                    w.split_plan = None
                    self._write_split(conn, b"".join(l for _, l in split_buffer), offsets)
                    for r, _ in split_buffer:
                        self._mark_written(r)
                    split_buffer = []
                    continue
                self._write_chunk(conn, line)
                self._mark_written(rv)
                w.events_sent += 1
            now = time.monotonic()
            if deadline and now >= deadline:
                self._unregister(w)
                if split_buffer:
                    self._write_split(conn, b"".join(l for _, l in split_buffer), w.split_plan[0] if w.split_plan else [])
                self._write_chunk(conn, b"")
                return
            if w.bookmarks and now >= next_bookmark and not split_buffer:
                self._write_chunk(conn, self._bookmark(w.resource, rv_now))
                last_bookmark = now

    def _write_split(self, conn: Connection, data: bytes, offsets: list[int]) -> None:
        cuts = [0] + [o for o in offsets if 0 < o < len(data)] + [len(data)]
        for a, b in zip(cuts, cuts[1:]):
            self._write_chunk(conn, data[a:b])
            time.sleep(0.02)

    def _mark_written(self, rv: int) -> None:
        if rv in self._written:
            return
        with self._changed:
            self._written[rv] = time.monotonic()
            while len(self._written) > 50_000:
                self._written.popitem(last=False)
            self._changed.notify_all()
