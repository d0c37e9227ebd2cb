"""A test Kubernetes API server that speaks the real protocol, for fedns's end-to-end tests and benchmark.

The real API server cannot run on the test machines, so this one stands in for it: HTTPS with a CA
made per run, bearer-token and client-certificate authentication, a small RBAC table, v1 Services,
Namespaces, Nodes and Pods and discovery.k8s.io/v1 EndpointSlices with list (limit/continue, one
resourceVersion per list) and watch (chunked, one JSON event per line, bookmarks, 410 Gone), and
objects shaped as a real cluster's (tests/kubeapi/objects.py). The real `kubectl` works against it.

In a test::

    from tests.kubeapi import KubeAPIServer, objects

    api = KubeAPIServer(tmpdir, tokens={"s3cret": "system:serviceaccount:kube-system:fedns"}).start()
    api.load([objects.namespace("default"), objects.service("default", "web", "10.96.0.10")])
    kubeconfig = api.kubeconfig(os.path.join(tmpdir, "kubeconfig"), token="s3cret")
    ...                                     # start fedns with --kubeconfig kubeconfig
    api.wait_for_watches("endpointslices")  # fedns has synced and is watching
    rv = api.put(objects.service("default", "web", "10.96.0.11"))   # MODIFIED to every watcher
    api.stop()

The store (every write bumps the one resourceVersion and reaches the open watches):
    load(objs)                       the cluster before anyone watched (no events)
    put(obj) / delete(resource, ns, name) / get(resource, ns, name)
    set_ready(ns, slice, address, ready)     flip an endpoint's readiness
    put_raw(resource, ns, name, bytes|dict)  a malformed object, served verbatim among good ones
    resource_version, count(resource)
    request_log(since=0)             recent requests: method, path with query, user, code, accept, time

Credentials and RBAC (api.url is https://127.0.0.1:PORT; api.ca.cert the CA file, as a pod mounts it):
    tokens={token: user | (user, groups)}; set_tokens / add_token / revoke_token (rotation)
    api.ca.client_cert(user, groups, key_type="ec"|"rsa") → CertFiles (PEM paths and bytes), CN/O
    rbac=None allows everything; set_rbac({user_or_group: [(verb, resource)]}), grant(), revoke();
    a denied request gets 403 with the API server's message, a bad credential 401.
    kubeconfig(path, token=…, token_file=…, client_cert=…, embed=True, insecure=False)
    compress=True: lists of 128 KiB or more are gzipped for clients sending Accept-Encoding: gzip

Faults (`resource` None means all; the watch faults return how many open watches they touched):
    expire_watches(resource, compact=True)   ERROR event with a 410 Status, end of stream; with compact
                                             a resume from the old resourceVersion gets 410 too
    compact()                                forget history: old resourceVersions and continue tokens → 410
    split_next_events(offsets, events=1)     the next events cut into chunks at these byte offsets
    drop_next_event(at=20)                   write `at` bytes of the next event, then reset the connection
    truncate_next_list(at, resource=None)    the next list response stops after `at` bytes (connection reset)
    silence_watches()                        keep the watches open and send nothing, ever (no bookmarks)
    close_watches()                          end the watches cleanly, as the request timeout does
    stop_listening() / start_listening()     the outage: every connection closed, port refused; then back
    set_bookmark_interval(seconds)           BOOKMARK every N seconds on watches that allow them
    wait_for_watches(resource, count, timeout), open_watches(resource)
    written_at(rv, timeout)                  time.monotonic() when event rv was first written to a watch

In pytest, the `kube_api` fixture (tests/e2e/conftest.py) is a started server with an empty cluster.
Standalone (benchmark, manual use): `python3 -m tests.kubeapi --help`; the control socket takes the
same calls as JSON lines (tests/kubeapi/control.py, `Control(path).put(obj)`).
"""

from . import objects  # noqa: F401
from .pki import CA, CertFiles  # noqa: F401
from .server import RESOURCES, KubeAPIServer, status_body  # noqa: F401
