"""Soak (not a test): fedns in front of Knot for --minutes at 80 % of the saturation it measures
first, on pod-like traffic, checking that no query is lost unaccounted, memory stays flat and no
file descriptor leaks. See bench/soak.sh; shares its servers, inputs and dnsperf driver with run.py.

The mix is what pods with `ndots:5` in namespace ns-0 send (the client walks its search list):
- external lookups: each `host-N.bench.example` first as three cluster-zone NXDOMAINs
  (`.ns-0.svc.cluster.local`, `.svc.cluster.local`, `.cluster.local`), then as asked;
- service lookups `svc-N.ns-M`: one NXDOMAIN (`.ns-0.svc.cluster.local`), then the hit;
- federated names `fed-N.ns-0.myfederation`: one NXDOMAIN, then the federated name, whose local
  shard flips between healthy and unhealthy every few seconds (the state file is rewritten);
- unique names under `miss.bench.example` that no cache holds (NXDOMAIN from Knot, negative TTL 1 s;
  the query file is long enough that a name comes back only after its negative entry expired).

Checks, printed with their figures; the exit status is non-zero when one fails:
- accounting: queries sent = answers received + drops fedns counted (its own and the kernel's);
- resident memory after warm-up grows less than 5 %;
- open file descriptors after the run are no more than before it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

import gen
import run
from servers import Fedns, Knot, free_port
import k8sobjects as k8s

FEDERATED = 50          # federated services, half of them flipping health
FLIP_SECONDS = 3
MISS_ZONE = "miss." + gen.FORWARD_ZONE
WARMUP_SHARE = 0.2      # of the soak, before the memory baseline is taken


def public_zones() -> dict[str, str]:
    bench = gen.forward_zone().replace("3600 900 604800 3600", "3600 900 604800 1")   # negative TTL 1 s
    zonal = [f"fed-{i}.ns-0.myfederation.svc.us-central1-a A 203.0.113.{i % 250 + 1}" for i in range(FEDERATED)]
    example = "\n".join(["$ORIGIN example.com.", "$TTL 300", "@ SOA ns1 hostmaster 1 3600 900 604800 60", "@ NS ns1",
                         "ns1 A 127.0.0.2", *zonal]) + "\n"
    return {gen.FORWARD_ZONE: bench, "example.com": example}


def state(flipped: bool) -> str:
    """gen's services plus the federated ones; when `flipped`, every other federated shard has no ready endpoint."""
    items = [k8s.namespace(f"ns-{i}") for i in range(gen.NAMESPACES)]
    items.append(k8s.node("bench-node", zone="us-central1-a", region="us-central1"))
    for i, (ns, name, ip) in enumerate(gen.services(run.SERVICES)):
        items.append(k8s.service(ns, name, [ip]))
        items.append(k8s.endpoint_slice(ns, name, [k8s.endpoint(f"10.244.{i // 250}.{i % 250 + 1}", node_name="bench-node")]))
    for i in range(FEDERATED):
        items.append(k8s.service("ns-0", f"fed-{i}", [f"10.97.0.{i + 1}"]))
        ready = not (flipped and i % 2)
        items.append(k8s.endpoint_slice("ns-0", f"fed-{i}", [k8s.endpoint(f"10.245.0.{i + 1}", ready=ready, node_name="bench-node")]))
    return k8s.object_list(items)


def queries(lines: int, seed: int = 3) -> str:
    """`name TYPE` lines in the pod mix; each lookup's search-list walk stays in order."""
    rng = random.Random(seed)
    services = gen.services(run.SERVICES)
    search = ["ns-0.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    out: list[str] = []
    miss = 0
    while len(out) < lines:
        kind = rng.random()
        if kind < 0.35:
            name = f"host-{rng.randrange(gen.FORWARD_NAMES)}.{gen.FORWARD_ZONE}"
            out += [f"{name}.{s} A" for s in search] + [f"{name} A"]
        elif kind < 0.70:
            ns, svc, _ = services[rng.randrange(len(services))]
            out += [f"{svc}.{ns}.{search[0]} A", f"{svc}.{ns}.svc.cluster.local A"]
        elif kind < 0.90:
            name = f"fed-{rng.randrange(FEDERATED)}.ns-0.myfederation"
            out += [f"{name}.{search[0]} A", f"{name}.svc.cluster.local A"]
        else:
            miss += 1
            out.append(f"u{miss}-{rng.randrange(1 << 30)}.{MISS_ZONE} A")
    return "\n".join(out) + "\n"


def metrics(address: str) -> dict[str, float]:
    """Sum of each metric's samples over labels, from fedns's /metrics."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as r:
        text = r.read().decode()
    sums: dict[str, float] = {}
    for name, value in re.findall(r"^([a-z_]+)(?:\{[^}]*\})? (\S+)$", text, re.M):
        sums[name] = sums.get(name, 0.0) + float(value)
    return sums


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="length of the soak (default 10)")
    parser.add_argument("--saturation-seconds", type=int, default=10, help="length of the saturation run (default 10)")
    args = parser.parse_args()
    for tool in ("dnsperf", "taskset", "knotd"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"soak: {tool} missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1
    work = tempfile.mkdtemp(prefix="fedns-soak-")
    knot = Knot(public_zones(), prefix=["taskset", "-c", run.CLIENT_CPU]).start()
    metrics_addr = f"127.0.0.1:{free_port()}"
    config = run.fedns_config(knot.address).replace('metrics: {listen: ""}', f'metrics: {{listen: "{metrics_addr}"}}')
    binary = os.environ.get("FEDNS_BIN") or os.path.join(run.REPO, ".build", "release", "fedns")
    fedns = Fedns(config, state(False), host="127.0.0.4", prefix=["taskset", "-c", run.SERVER_CPU], binary=binary,
                  extra_args=["--mode", "node-local", "--node-name", "bench-node"]).start(timeout=60)
    stop_flipping = threading.Event()
    failures: list[str] = []
    try:
        seconds = max(10, int(args.minutes * 60))
        data = os.path.join(work, "queries.txt")
        with open(data, "w") as f:
            # Long enough that a unique name returns only after its 1 s negative entry expired.
            f.write(queries(400_000))

        def flip():
            flipped = False
            while not stop_flipping.wait(FLIP_SECONDS):
                flipped = not flipped
                k8s.write_atomically(fedns.state_path, state(flipped))
        threading.Thread(target=flip, daemon=True).start()

        sat = run.dnsperf(fedns.address, data, seconds=args.saturation_seconds, rate=None, clients=4, outstanding=500)
        saturation = sat["completed"] / args.saturation_seconds
        rate = int(0.8 * saturation)
        time.sleep(2)
        fds_before = open_fds(fedns.pid)
        before = metrics(metrics_addr)
        print(f"soak: saturation {saturation:.0f} q/s; soaking {seconds} s at {rate} q/s", file=sys.stderr)

        rss: list[tuple[float, int]] = []
        result: dict = {}
        load = threading.Thread(target=lambda: result.update(
            run.dnsperf(fedns.address, data, seconds=seconds, rate=rate, clients=4, outstanding=500, timeout=5)))
        started = time.monotonic()
        load.start()
        while load.is_alive():
            rss.append((time.monotonic() - started, rss_kib(fedns.pid)))
            load.join(1)
        time.sleep(2)
        after = metrics(metrics_addr)
        fds_after = open_fds(fedns.pid)

        def delta(name: str) -> int:
            return int(after.get(name, 0) - before.get(name, 0))
        sent, received = result["sent"], result["completed"]
        own_drops, kernel_drops = delta("fedns_dns_drops_total"), delta("fedns_dns_socket_drops_total")
        accounted = received + own_drops + kernel_drops
        warm = [kib for t, kib in rss if t >= WARMUP_SHARE * seconds]
        baseline = warm[0] if warm else rss[-1][1]
        growth = (max(warm or [baseline]) - baseline) / baseline
        print(f"queries sent {sent}, answers received {received}, fedns drops {own_drops}, kernel drops {kernel_drops}, "
              f"unaccounted {sent - accounted} ({result['rcodes']})")
        print(f"resident memory after warm-up: {baseline} KiB, at most {max(warm or [baseline])} KiB "
              f"({growth * 100:+.1f} %), at the end {rss[-1][1]} KiB")
        print(f"open file descriptors: {fds_before} before, {fds_after} after")
        if sent != accounted:
            failures.append(f"accounting: {sent} sent != {received} answered + {own_drops + kernel_drops} counted drops")
        if growth > 0.05:
            failures.append(f"memory grew {growth * 100:.1f} % after warm-up (limit 5 %)")
        if fds_after > fds_before:
            failures.append(f"file descriptors grew from {fds_before} to {fds_after}")
    finally:
        stop_flipping.set()
        fedns.stop()
        knot.stop()
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print(f"FAIL {f}")
    print("soak: " + ("FAILED" if failures else "all checks passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
