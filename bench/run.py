"""CPU cost per answered query, fedns against Unbound with the same records (see bench/bench.sh).

Each server is pinned to CPU 1 and dnsperf (and Knot, the forwarded zone's server) to CPU 0;
dnsperf offers a fixed rate below saturation, so the figure that matters is the server's CPU time
(utime+stime from /proc/PID/stat) divided by the queries it answered, and above all the
fedns/Unbound ratio. Both servers run side by side (the idle one costs nothing) and each row is
measured in ROUNDS rounds, Unbound then fedns in each: a ratio is the median of the rounds'
ratios, with their range. At the lower rates one round's ratio was seen to swing by 0.25 (the CPU
per answer there is mostly wake-ups, which the machine's other load moves), so a single pass of
each server minutes apart decided nothing.

Rows (the paths a pod's queries take): cluster names (pre-rendered) at RATE and HIGH_RATE;
cluster-zone NXDOMAIN and NODATA; forwarded names answered from the cache; forwarded names that
miss it (unique names, SLOW_RATE); then the pod mix (`ndots:5` walks, A and AAAA): saturation of
each server, and fedns at 80 % of its own saturation (lost queries, kernel drops, p99 latency of
cluster answers from a probe beside the load). Last, instructions per query on each path from a
callgrind pass (bench/callgrind.py; CALLGRIND=0 skips it).

Environment: RATE (20000), HIGH_RATE (50000), SLOW_RATE (5000), DURATION (dnsperf -l, 10), ROUNDS (3),
MIX_SECONDS (10), SERVICES (1000), SERVERS ("unbound fedns"), FEDNS_BIN (default
.build/release/fedns), BENCH_OUT (bench-out/), CALLGRIND (1), SMOKE (1: two seconds a row,
low rates and 200 queries a callgrind path: checks the script, measures nothing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)

import callgrind  # noqa: E402
import gen  # noqa: E402
from servers import Fedns, Knot, ServerExited, ask, free_port, stop_process, tail, wait_until  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
RATE = int(os.environ.get("RATE", "2000" if SMOKE else "20000"))
HIGH_RATE = int(os.environ.get("HIGH_RATE", "4000" if SMOKE else "50000"))
SLOW_RATE = int(os.environ.get("SLOW_RATE", "1000" if SMOKE else "5000"))
DURATION = int(os.environ.get("DURATION", "2" if SMOKE else "10"))
ROUNDS = max(1, int(os.environ.get("ROUNDS", "1" if SMOKE else "3")))
MIX_SECONDS = int(os.environ.get("MIX_SECONDS", "3" if SMOKE else "10"))
SERVICES = int(os.environ.get("SERVICES", "1000"))
SERVERS = os.environ.get("SERVERS", "unbound fedns").split()
CALLGRIND = os.environ.get("CALLGRIND", "1") == "1"
CALLGRIND_QUERIES = 200 if SMOKE else 2000
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "bench-out"))
SERVER_CPU, CLIENT_CPU = "1", "0"
TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")

# (row, query file, offered rate)
SCENARIOS = [
    ("cluster names", "cluster", RATE),
    ("cluster names", "cluster", HIGH_RATE),
    ("cluster NXDOMAIN/NODATA", "negative", SLOW_RATE),
    ("forwarded, cache hit", "forward", RATE),
    ("forwarded, cache miss", "miss", SLOW_RATE),
]
# fedns / Unbound CPU per answer (issue 10's targets).
TARGETS = {"cluster names": 0.75, "cluster NXDOMAIN/NODATA": 0.75, "forwarded, cache hit": 0.9,
           "forwarded, cache miss": 1.0}


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

    def __init__(self, local_data: str, upstream: tuple[str, int], prefix: list[str] | None = None):
        self.local_data, self.upstream = local_data, upstream
        self.prefix = ["taskset", "-c", SERVER_CPU] if prefix is None else prefix
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
            self.proc = subprocess.Popen([*self.prefix, "unbound", "-d", "-c", conf],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def answers():
            if self.proc.poll() is not None:
                raise ServerExited(f"unbound exited {self.proc.returncode}: {tail(self.log)}")
            return ask(self.address, "svc-0.ns-0.svc.cluster.local.", "A", timeout=0.3).answer
        wait_until(answers, 60, what="unbound")
        return self

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_process(self.proc, grace=10)
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


ANSWERED = ("NOERROR", "NXDOMAIN")


def answered(stats: dict) -> int:
    """Queries that got the answer the data holds (NOERROR, NODATA, NXDOMAIN); SERVFAIL and REFUSED are not answers."""
    return sum(stats["rcodes"].get(code, 0) for code in ANSWERED)


def measure(server, name: str, scenario: str, queries: str, rate: int) -> dict:
    before = cpu_us(server.pid)
    stats = dnsperf(server.address, queries, seconds=DURATION, rate=rate)
    used = cpu_us(server.pid) - before
    done = answered(stats)
    return {"server": name, "scenario": scenario, "rate": rate, **stats, "answered": done, "cpu_us": used,
            "us_per_answer": used / done if done else float("inf")}


def udp_drops(port: int) -> int:
    """The kernel's receive-queue drops summed over every UDP socket bound to `port` (/proc/net/udp, last column)."""
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port:
                        total += int(fields[-1])
        except FileNotFoundError:
            continue
    return total


def latencies(server: tuple[str, int], queries: str, seconds: int, rate: int) -> list[float]:
    """Per-answer latency in seconds from a verbose dnsperf run (`> RCODE name TYPE seconds` lines)."""
    argv = ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", server[0], "-p", str(server[1]), "-d", queries,
            "-l", str(seconds), "-Q", str(rate), "-v"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    return sorted(float(m) for m in re.findall(r"^> (?:NOERROR|NXDOMAIN) \S+ \S+ ([0-9.]+)$", out.stdout, re.M))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("inf")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def warm(server, files: dict) -> None:
    """Unmeasured passes: lazy pre-rendering (fedns) and first-use costs; the cache filled from Knot."""
    dnsperf(server.address, files["cluster"], passes=2, rate=None)
    dnsperf(server.address, files["negative"], passes=2, rate=None)
    first = dnsperf(server.address, files["forward"], passes=1, rate=None)
    if first["noerror"] < gen.FORWARD_NAMES:
        print(f"warning: {first['noerror']}/{gen.FORWARD_NAMES} forwarded names answered on the first pass",
              file=sys.stderr)
    dnsperf(server.address, files["forward"], passes=1, rate=None)


def bench_rows(servers: dict, files: dict) -> list[dict]:
    """Every row, ROUNDS times, the servers in turn within a round; per server and row the median
    round, and for fedns the ratios of its rounds to Unbound's."""
    for server in servers.values():
        warm(server, files)
    results = []
    for scenario, key, rate in SCENARIOS:
        rounds: dict[str, list[dict]] = {name: [] for name in servers}
        for _ in range(ROUNDS):
            for name, server in servers.items():
                # Unique names: a fresh file per run, so no name was ever cached.
                queries = files[key]() if callable(files[key]) else files[key]
                rounds[name].append(measure(server, name, scenario, queries, rate))
        for name, runs in rounds.items():
            row = dict(median(runs, key=lambda r: r["us_per_answer"]), rounds=len(runs),
                       lost=sum(r["lost"] for r in runs), sent=min(r["sent"] for r in runs))
            if name == "fedns" and "unbound" in rounds:
                row["ratios"] = sorted(f["us_per_answer"] / u["us_per_answer"] for f, u in zip(runs, rounds["unbound"])
                                       if u["us_per_answer"])
            results.append(row)
    return results


def median(items: list, key):
    return sorted(items, key=key)[len(items) // 2]


def pod_mix(name: str, server, files: dict) -> dict:
    """Saturation on the pod mix: as many queries as the server answers from 4 clients, 500 outstanding."""
    sat = dnsperf(server.address, files["mix"](), seconds=MIX_SECONDS, rate=None, clients=4, outstanding=500)
    return {"server": name, "saturation": sat["completed"] / MIX_SECONDS, "sat_lost": sat["lost"]}


def pod_mix_at(result: dict, server, files: dict, rate: int) -> None:
    """The pod mix offered at `rate`, with a probe of cluster names (200 q/s) beside it timing each answer."""
    result["rate_80"] = rate
    drops_before = udp_drops(server.address[1])
    load: dict = {}
    thread = threading.Thread(target=lambda: load.update(
        dnsperf(server.address, files["mix"](), seconds=MIX_SECONDS, rate=rate, clients=4, outstanding=500)))
    thread.start()
    probe = latencies(server.address, files["cluster"], max(1, MIX_SECONDS - 2), 200)
    thread.join()
    result.update(lost_80=load["lost"], sent_80=load["sent"], kernel_drops=udp_drops(server.address[1]) - drops_before,
                  cluster_p99_ms=percentile(probe, 0.99) * 1000, probe_answers=len(probe))


def table(results: list[dict], mixes: list[dict], counts: dict, skipped: dict[str, str]) -> str:
    rows = ["| scenario | server | offered/s | sent | answered | lost | CPU µs / answer | fedns / unbound (range) | target |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    verdicts = []
    for r in results:
        ratio, target = "", ""
        if r.get("ratios"):
            value = median(r["ratios"], key=lambda x: x)
            limit = TARGETS[r["scenario"]]
            kept_up = r["sent"] >= 0.99 * r["rate"] * DURATION
            ok = value <= limit and r["lost"] == 0 and kept_up
            ratio = f"{value:.2f}× ({r['ratios'][0]:.2f}–{r['ratios'][-1]:.2f})"
            target = f"≤ {limit}× {'met' if ok else 'NOT met'}"
            verdicts.append(ok)
        rows.append(f"| {r['scenario']} | {r['server']} | {r['rate']} | {r['sent']} | {r['answered']} | {r['lost']} "
                    f"| {r['us_per_answer']:.2f} | {ratio} | {target} |")
    lines = rows + ["", f"dnsperf -l {DURATION}, {ROUNDS} rounds (median round per server, sent the least and lost "
                        f"the sum of the rounds), {SERVICES} ClusterIP services; server on CPU {SERVER_CPU}, "
                        f"dnsperf and Knot on CPU {CLIENT_CPU}; CPU = utime+stime from /proc/PID/stat; answered = "
                        "NOERROR (NODATA included) and NXDOMAIN; a server that sent fewer than 99 % of the offered "
                        "queries did not keep up."]
    if mixes:
        lines += ["", "| pod mix | saturation q/s | at 80 % of fedns's: offered/s | lost | kernel drops | cluster p99 ms |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for m in mixes:
            at80 = (f"{m['rate_80']} | {m['lost_80']} | {m['kernel_drops']} | {m['cluster_p99_ms']:.2f}"
                    if "rate_80" in m else "| | |")
            lines.append(f"| {m['server']} | {m['saturation']:.0f} | {at80} |")
        sat = {m["server"]: m for m in mixes}
        if "fedns" in sat and "unbound" in sat and sat["unbound"]["saturation"]:
            f = sat["fedns"]
            ratio = f["saturation"] / sat["unbound"]["saturation"]
            ok = ratio >= 1.2 and f.get("kernel_drops", 1) == 0 and f.get("cluster_p99_ms", 1e9) < 1.0
            verdicts.append(ok)
            lines.append(f"Pod mix target (saturation ≥ 1.2× Unbound's; at 80 % of it 0 kernel drops and cluster "
                         f"p99 < 1 ms): {'met' if ok else 'NOT met'} ({ratio:.2f}×).")
    if counts:
        lines += ["", "| instructions / query (callgrind) | " + " | ".join(counts) + " |",
                  "| --- |" + " ---: |" * len(counts)]
        for path in callgrind.PATHS:
            cells = [f"{c[path]['instructions']:,.0f} ({c[path]['mallocs']:.1f} malloc)" if path in c else ""
                     for c in counts.values()]
            lines.append(f"| {path} | " + " | ".join(cells) + " |")
    for name, why in skipped.items():
        lines.append(f"{name}: not run ({why}).")
    if verdicts:
        lines.append(f"Targets: {sum(verdicts)} of {len(verdicts)} met.")
    return "\n".join(lines) + "\n"


def main() -> int:
    for tool in ("dnsperf", "taskset", "unbound", "knotd") + (("valgrind",) if CALLGRIND else ()):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"bench: {tool} missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1
    if (os.cpu_count() or 1) < 2:
        print("bench: needs two CPUs (server and dnsperf pinned apart)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="fedns-bench-")

    def write(name: str, text: str) -> str:
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def fresh(kind: str, make):
        """A new query file on every call: unique names never repeat between runs, so none is cached."""
        uses = iter(range(1, 1 << 20))
        return lambda: write(f"queries-{kind}-{(n := next(uses))}.txt", make(n * 1009))

    files: dict = {"cluster": write("queries-cluster.txt", gen.cluster_queries(SERVICES)),
                   "forward": write("queries-forward.txt", gen.forward_queries()),
                   "negative": write("queries-negative.txt", gen.negative_queries(SERVICES)),
                   "miss": fresh("miss", lambda seed: gen.miss_queries(SLOW_RATE * DURATION * 2, seed=seed)),
                   "mix": fresh("mix", lambda seed: gen.pod_mix(SERVICES, 40_000 if SMOKE else 800_000, seed=seed))}
    knot = Knot({gen.FORWARD_ZONE: gen.forward_zone(miss_wildcard=True)}, prefix=["taskset", "-c", CLIENT_CPU]).start()
    binary = os.environ.get("FEDNS_BIN") or os.path.join(REPO, ".build", "release", "fedns")
    results, mixes, skipped = [], [], {}

    def start(name: str, prefix: list[str], work: str | None = None):
        if name == "unbound":
            return Unbound(gen.unbound_local_data(SERVICES), knot.address, prefix=prefix).start()
        if name == "fedns":
            return Fedns(fedns_config(knot.address), gen.state_yaml(SERVICES), host="127.0.0.4", prefix=prefix,
                         binary=callgrind.without_debug_info(binary, work) if work else binary,
                         extra_args=["--mode", "node-local", "--node-name", "bench-node"]).start(timeout=900 if work else 60)
        raise RuntimeError(f"unknown server {name}")

    try:
        servers: dict = {}
        try:
            # Unbound first in each round; fedns first on the pod mix: its saturation sets the 80 % rate.
            for name in sorted(SERVERS, key=lambda n: n != "unbound"):
                try:
                    servers[name] = start(name, ["taskset", "-c", SERVER_CPU])
                except Exception as e:  # report the other server's half rather than nothing
                    skipped[name] = str(e).splitlines()[0]
                    print(f"bench: {name} did not start: {e}", file=sys.stderr)
                    continue
                print(f"bench: {name} on {servers[name].address[0]}:{servers[name].address[1]}, pid {servers[name].pid}",
                      file=sys.stderr)
            results.extend(bench_rows(servers, files))
            for name in sorted(servers, key=lambda n: n != "fedns"):
                mix = pod_mix(name, servers[name], files)
                if name == "fedns":
                    pod_mix_at(mix, servers[name], files, int(0.8 * mix["saturation"]))
                mixes.append(mix)
        finally:
            for server in servers.values():
                server.stop()
        counts = {}
        if CALLGRIND:
            for name in SERVERS:
                if name in skipped:
                    continue
                try:
                    counts[name] = callgrind.measure(lambda prefix, work, name=name: start(name, prefix, work), knot.address,
                                                     queries=CALLGRIND_QUERIES, services=SERVICES)
                except Exception as e:
                    print(f"bench: callgrind pass of {name} failed: {e}", file=sys.stderr)
    finally:
        knot.stop()
        shutil.rmtree(work, ignore_errors=True)
    results.sort(key=lambda r: ([s for s, _, _ in SCENARIOS].index(r["scenario"]), r["rate"], r["server"] != "unbound"))
    text = table(results, mixes, counts, skipped)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
