"""python3 -m tests.kubeapi: run the test API server on its own (see tests/kubeapi/README.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time

from . import objects
from .control import ControlServer
from .server import KubeAPIServer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tests.kubeapi", description=__doc__)
    p.add_argument("--services", type=int, default=10, help="ClusterIP Services (one EndpointSlice each)")
    p.add_argument("--endpoints", type=int, default=30, help="endpoints in all, spread over the slices")
    p.add_argument("--nodes", type=int, default=20)
    p.add_argument("--namespaces", type=int, default=None, help="default: services/100, at most 100")
    p.add_argument("--pods", action="store_true", help="one Pod per endpoint too")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free one)")
    p.add_argument("--dir", default=None, help="where the CA, certificates and kubeconfig go (default: a temp dir)")
    p.add_argument("--write-kubeconfig", metavar="FILE", help="a kubeconfig for --user with a bearer token")
    p.add_argument("--user", default="system:serviceaccount:kube-system:fedns")
    p.add_argument("--token", default="fedns-test-token")
    p.add_argument("--control", metavar="SOCKET", help="serve the control calls on this Unix socket")
    p.add_argument("--bookmark-interval", type=float, default=60.0)
    p.add_argument("--ready-file", metavar="FILE", help="written with the server's URL once it listens")
    args = p.parse_args(argv)

    host, _, port = args.listen.rpartition(":")
    workdir = args.dir or tempfile.mkdtemp(prefix="fedns-kubeapi-")
    api = KubeAPIServer(workdir, host=host.strip("[]") or "127.0.0.1", port=int(port or 0),
                        tokens={args.token: args.user}, bookmark_interval=args.bookmark_interval)
    started = time.monotonic()
    rv = api.load(objects.cluster(args.services, args.endpoints, namespaces=args.namespaces, nodes=args.nodes,
                                  pods=args.pods))
    api.start()
    control = ControlServer(api, args.control) if args.control else None
    if args.write_kubeconfig:
        api.kubeconfig(args.write_kubeconfig, token=args.token, user=args.user.rsplit(":", 1)[-1])
    print(f"kubeapi: {api.url}, {args.services} services, {args.endpoints} endpoints, resourceVersion {rv}, "
          f"loaded in {time.monotonic() - started:.1f}s; CA {api.ca.cert}", flush=True)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(api.url + "\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(1):
        pass
    api.stop()
    if control:
        control.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
