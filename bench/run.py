"""CPU cost per answered query, fedns against Unbound with the same records (see bench/bench.sh).

Each server is pinned to CPU 1 and dnsperf to CPU 0; dnsperf offers a fixed rate below
saturation, so the figure that matters is the server's CPU time (utime+stime from
/proc/PID/stat) divided by the queries it answered, and above all the fedns/Unbound ratio:
absolute figures drift between runs on a shared machine, ratios hold.

Environment: RATE (dnsperf -Q, default 20000), DURATION (-l, default 10), SERVICES (1000),
SERVERS ("unbound fedns"), FEDNS_BIN (default .build/release/fedns), BENCH_OUT (bench-out/).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)

import gen  # noqa: E402
from servers import Fedns, Knot, ServerExited, ask, free_port, tail, wait_until  # noqa: E402

RATE = int(os.environ.get("RATE", "20000"))
DURATION = int(os.environ.get("DURATION", "10"))
SERVICES = int(os.environ.get("SERVICES", "1000"))
SERVERS = os.environ.get("SERVERS", "unbound fedns").split()
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "bench-out"))
SERVER_CPU, CLIENT_CPU = "1", "0"
TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")
TARGET_RATIO = 1.5


def cpu_us(pid: int) -> float:
    """utime+stime of the whole process (all its threads, live and exited), in µs."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_US   # fields 14 and 15 of proc(5)


def dnsperf(server: tuple[str, int], queries: str, *, seconds: int | None = None, passes: int | None = None,
            rate: int | None = RATE, clients: int = 1, outstanding: int = 100, timeout: int = 2) -> dict:
    """dnsperf on CLIENT_CPU at `rate` q/s (None: as fast as the server answers)."""
    argv = ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", server[0], "-p", str(server[1]), "-d", queries,
            "-t", str(timeout), "-c", str(clients), "-q", str(outstanding)]
    if rate:
        argv += ["-Q", str(rate)]
    if seconds:
        argv += ["-l", str(seconds)]
    if passes:
        argv += ["-n", str(passes)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=(seconds or 60) + 30)
    if out.returncode != 0:
        raise RuntimeError(f"dnsperf failed ({out.returncode}): {out.stderr.strip() or out.stdout[-500:]}")
    return parse_dnsperf(out.stdout)


def parse_dnsperf(text: str) -> dict:
    """The counters of dnsperf's `Statistics:` block; `noerror` from its response-code line."""
    def number(label: str) -> int:
        m = re.search(rf"^\s*{label}:\s+(\d+)", text, re.M)
        if not m:
            raise ValueError(f"dnsperf output has no '{label}':\n{text}")
        return int(m.group(1))
    codes = re.search(r"^\s*Response codes:\s+(.*)$", text, re.M)
    rcodes = dict((name, int(count)) for name, count in re.findall(r"([A-Z]+) (\d+)", codes.group(1))) if codes else {}
    return {"sent": number("Queries sent"), "completed": number("Queries completed"),
            "lost": number("Queries lost"), "rcodes": rcodes, "noerror": rcodes.get("NOERROR", 0)}


class Unbound:
    """Debian's unbound in the foreground with the same records as fedns, forwarding the bench zone to Knot."""

    def __init__(self, local_data: str, upstream: tuple[str, int]):
        self.local_data, self.upstream = local_data, upstream
        self.host, self.port = "127.0.0.3", free_port("127.0.0.3")

    def start(self) -> "Unbound":
        self.workdir = tempfile.mkdtemp(prefix="fedns-bench-unbound-")
        conf = os.path.join(self.workdir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(
                "server:\n"
                "    do-daemonize: no\n    use-syslog: no\n    logfile: \"\"\n    verbosity: 0\n"
                f"    directory: \"{self.workdir}\"\n    chroot: \"\"\n    username: \"\"\n    pidfile: \"\"\n"
                f"    interface: {self.host}@{self.port}\n    port: {self.port}\n"
                "    access-control: 127.0.0.0/8 allow\n"
                "    num-threads: 1\n    do-ip6: no\n"
                # the upstream is on loopback; no DNSSEC validation (fedns does none either)
                "    do-not-query-localhost: no\n    module-config: \"iterator\"\n"
                + self.local_data +
                "remote-control:\n    control-enable: no\n"
                "forward-zone:\n"
                f"    name: \"{gen.FORWARD_ZONE}.\"\n    forward-addr: {self.upstream[0]}@{self.upstream[1]}\n")
        check = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"unbound-checkconf: {check.stdout}{check.stderr}")
        self.log = os.path.join(self.workdir, "unbound.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, "unbound", "-d", "-c", conf],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def answers():
            if self.proc.poll() is not None:
                raise ServerExited(f"unbound exited {self.proc.returncode}: {tail(self.log)}")
            return ask(self.address, "svc-0.ns-0.svc.cluster.local.", "A", timeout=0.3).answer
        wait_until(answers, 15, what="unbound")
        return self

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def fedns_config(upstream: tuple[str, int]) -> str:
    return (
        "clusterDomain: cluster.local\n"
        f"ttl: {gen.CLUSTER_TTL}\n"
        "federations: {myfederation: example.com}\n"
        "nodeName: bench-node\n"
        f'upstreams: ["{upstream[0]}:{upstream[1]}"]\n'
        "cache: {maxEntries: 10000}\n"
        'health: {listen: ""}\nready: {listen: ""}\nmetrics: {listen: ""}\n'
    )


def measure(server, name: str, scenario: str, queries: str) -> dict:
    before = cpu_us(server.pid)
    stats = dnsperf(server.address, queries, seconds=DURATION)
    used = cpu_us(server.pid) - before
    answered = stats["noerror"]
    return {"server": name, "scenario": scenario, **stats, "answered": answered, "cpu_us": used,
            "us_per_answer": used / answered if answered else float("inf")}


def bench_server(name: str, server, files: dict) -> list[dict]:
    results = []
    # Warm-up pass, not measured: lazy pre-rendering (fedns) and first-use costs.
    dnsperf(server.address, files["cluster"], passes=2)
    results.append(measure(server, name, "cluster names", files["cluster"]))
    # First pass fills the cache from Knot; the measured pass is answered from cache.
    warm = dnsperf(server.address, files["forward"], passes=1)
    if warm["noerror"] < gen.FORWARD_NAMES:
        print(f"warning: {name} answered {warm['noerror']}/{gen.FORWARD_NAMES} forwarded names on the first pass",
              file=sys.stderr)
    results.append(measure(server, name, "forwarded (cached)", files["forward"]))
    return results


def table(results: list[dict], skipped: dict[str, str]) -> str:
    base = {(r["scenario"]): r["us_per_answer"] for r in results if r["server"] == "unbound"}
    offered = RATE * DURATION
    rows = ["| scenario | server | offered | sent | answered | lost | CPU µs / answer | fedns / unbound |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        ratio = ""
        if r["server"] == "fedns" and r["scenario"] in base and base[r["scenario"]]:
            ratio = f"{r['us_per_answer'] / base[r['scenario']]:.2f}×"
        rows.append(f"| {r['scenario']} | {r['server']} | {offered} | {r['sent']} | {r['answered']} | {r['lost']} "
                    f"| {r['us_per_answer']:.2f} | {ratio} |")
    lines = rows + ["", f"dnsperf -Q {RATE} -l {DURATION}, {SERVICES} ClusterIP services; server on CPU {SERVER_CPU}, "
                        f"dnsperf on CPU {CLIENT_CPU}; CPU = utime+stime from /proc/PID/stat."]
    fedns_cluster = next((r for r in results if r["server"] == "fedns" and r["scenario"] == "cluster names"), None)
    if fedns_cluster and "cluster names" in base:
        ratio = fedns_cluster["us_per_answer"] / base["cluster names"]
        # dnsperf holds back when answers lag (at most 100 outstanding): sent below offered is loss too.
        kept_up = fedns_cluster["sent"] >= 0.99 * offered
        ok = ratio <= TARGET_RATIO and fedns_cluster["lost"] == 0 and kept_up
        lines.append(f"Target: fedns ≤ {TARGET_RATIO}× Unbound on cluster names with zero lost — "
                     f"{'met' if ok else 'NOT met'} ({ratio:.2f}×, {fedns_cluster['lost']} lost"
                     f"{'' if kept_up else ', did not keep up with the offered rate'}).")
    for name, why in skipped.items():
        lines.append(f"{name}: not run ({why}).")
    return "\n".join(lines) + "\n"


def main() -> int:
    for tool in ("dnsperf", "taskset", "unbound", "knotd"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"bench: {tool} missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1
    if (os.cpu_count() or 1) < 2:
        print("bench: needs two CPUs (server and dnsperf pinned apart)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="fedns-bench-")
    files = {"cluster": os.path.join(work, "queries-cluster.txt"), "forward": os.path.join(work, "queries-forward.txt")}
    with open(files["cluster"], "w") as f:
        f.write(gen.cluster_queries(SERVICES))
    with open(files["forward"], "w") as f:
        f.write(gen.forward_queries())
    knot = Knot({gen.FORWARD_ZONE: gen.forward_zone()}, prefix=["taskset", "-c", CLIENT_CPU]).start()
    results, skipped = [], {}
    try:
        for name in SERVERS:
            try:
                if name == "unbound":
                    server = Unbound(gen.unbound_local_data(SERVICES), knot.address).start()
                elif name == "fedns":
                    binary = os.environ.get("FEDNS_BIN") or os.path.join(REPO, ".build", "release", "fedns")
                    server = Fedns(fedns_config(knot.address), gen.state_yaml(SERVICES), host="127.0.0.4",
                                   prefix=["taskset", "-c", SERVER_CPU], binary=binary,
                                   extra_args=["--mode", "node-local", "--node-name", "bench-node"]).start(timeout=60)
                else:
                    raise RuntimeError(f"unknown server {name}")
            except Exception as e:  # report the other server's half rather than nothing
                skipped[name] = str(e).splitlines()[0]
                print(f"bench: {name} did not start: {e}", file=sys.stderr)
                continue
            try:
                print(f"bench: {name} on {server.address[0]}:{server.address[1]}, pid {server.pid}", file=sys.stderr)
                results.extend(bench_server(name, server, files))
            finally:
                server.stop()
    finally:
        knot.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = table(results, skipped)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
