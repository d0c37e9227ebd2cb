"""fedns at the scale of a big cluster (see bench/scale.sh): 10,000 Services and 50,000 endpoints.

API source, against the test Kubernetes API server (tests/kubeapi, standalone, on CPU 0):
- start → first sync: from starting fedns to the first answer for the last Service of the list
  (fedns swaps in its snapshot after the whole first sync, so any cluster answer means it is done);
- resident memory (VmRSS) two seconds after the sync, and its peak (VmHWM, reset through
  /proc/PID/clear_refs) while fedns relists after a 410 on its watches;
- event → answer: CHANGES Service IP changes, one at a time, while dnsperf (CPU 0) offers RATE q/s of
  cluster names; from the server's write of the MODIFIED event to fedns's watch to the first
  answer with the new IP seen by a poller (both time.monotonic(), one clock for every process).
File source, same cluster as a `kubectl get -o json` List: the same changes, from the rename of the
rewritten file to the first changed answer.
Beside them the CoreDNS sizing formula for the same cluster, (pods + services) / 1000 + 54 MB, with
pods = endpoints, and the targets.

Environment: SERVICES (10000), ENDPOINTS (50000), CHANGES (500), RATE (10000), PHASES ("api file"),
TIME_BUDGET (seconds per change phase, 600), FEDNS_BIN (default .build/release/fedns), BENCH_OUT.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, REPO)

from servers import ServerExited, ask, free_port, stop_process, tail  # noqa: E402
from tests.kubeapi import objects  # noqa: E402
from tests.kubeapi.control import Control  # noqa: E402

SERVICES = int(os.environ.get("SERVICES", "10000"))
ENDPOINTS = int(os.environ.get("ENDPOINTS", "50000"))
CHANGES = int(os.environ.get("CHANGES", "500"))
RATE = int(os.environ.get("RATE", "10000"))
PHASES = os.environ.get("PHASES", "api file").split()
TIME_BUDGET = float(os.environ.get("TIME_BUDGET", "600"))
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "bench-out"))
SERVER_CPU, CLIENT_CPU = "1", "0"
NODES = 20
NODE_NAME = "node-0"
HOST = "127.0.0.4"
TARGETS = {"first_sync_s": 2.0, "rss_mb": 40.0, "relist_peak_mb": 60.0, "api_p99_ms": 100.0, "file_p99_ms": 1000.0}


def namespaces() -> int:
    return max(1, min(100, SERVICES // 100 or 1))


def service_name(i: int) -> tuple[str, str]:
    return f"ns-{i % namespaces()}", f"svc-{i}"


def qname(i: int) -> str:
    ns, name = service_name(i)
    return f"{name}.{ns}.svc.cluster.local."


def new_ip(k: int) -> str:
    """The k-th changed ClusterIP: 10.100.0.0/16 is in the service range and no generated Service has it."""
    return f"10.100.{(k // 250) % 256}.{k % 250 + 1}"


def fedns_config() -> str:
    return ("clusterDomain: cluster.local\n"
            f"nodeName: {NODE_NAME}\n"
            'upstreams: ["127.0.0.2:5399"]\n'       # nothing is forwarded in this benchmark
            'health: {listen: ""}\nready: {listen: ""}\nmetrics: {listen: ""}\n')


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current VmRSS (Linux: `5` in clear_refs); False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def first_ip(server: tuple[str, int], name: str) -> str | None:
    r = ask(server, name, "A", timeout=0.2)
    for rrset in r.answer:
        for rdata in rrset:
            if rrset.rdtype == 1:
                return rdata.address
    return None


class FednsProcess:
    def __init__(self, binary: str, args: list[str], workdir: str):
        self.port = free_port(HOST)
        self.log = os.path.join(workdir, f"fedns-{args[0].strip('-')}.log")
        config = os.path.join(workdir, "fedns.yaml")
        with open(config, "w") as f:
            f.write(fedns_config())
        argv = ["taskset", "-c", SERVER_CPU, binary, "serve", "--config", config, "--listen", f"{HOST}:{self.port}",
                "--mode", "node-local", "--node-name", NODE_NAME, *args]
        self.started = time.monotonic()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    def wait_answer(self, name: str, expected: str, timeout: float, interval: float = 0.002) -> float:
        """time.monotonic() of the first answer for `name` with `expected` as its address."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                lines = [l for l in tail(self.log, 15).splitlines() if l.strip()]
                first = next((l for l in lines if "rror" in l), lines[0] if lines else "(no output)")
                raise ServerExited(f"fedns exited with {self.proc.returncode}: {first}")
            try:
                if first_ip(self.address, name) == expected:
                    return time.monotonic()
            except Exception:   # not listening yet, or a timeout
                pass
            time.sleep(interval)
        raise TimeoutError(f"no answer {expected} for {name} within {timeout}s")

    def stop(self) -> None:
        stop_process(self.proc)


class Load:
    """dnsperf on CLIENT_CPU offering RATE q/s of cluster names until stopped."""

    def __init__(self, server: tuple[str, int], queries: str, workdir: str):
        self.out = os.path.join(workdir, "dnsperf.out")
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", server[0], "-p", str(server[1]),
                                          "-d", queries, "-Q", str(RATE), "-c", "2", "-q", "200", "-t", "2",
                                          "-l", "36000"], stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        text = open(self.out).read()

        def number(label: str) -> int:
            m = re.search(rf"^\s*{label}:\s+(\d+)", text, re.M)
            return int(m.group(1)) if m else 0
        seconds = re.search(r"Run time \(s\):\s+([\d.]+)", text)
        return {"sent": number("Queries sent"), "completed": number("Queries completed"),
                "lost": number("Queries lost"), "seconds": float(seconds.group(1)) if seconds else 0.0}


def measure_changes(fedns: FednsProcess, change, label: str) -> tuple[list[float], int]:
    """CHANGES changes one after another; each delay in ms from `change`'s write time to the changed answer."""
    rng = random.Random(8)
    delays: list[float] = []
    missed = 0
    phase_end = time.monotonic() + TIME_BUDGET
    for k in range(CHANGES):
        if time.monotonic() > phase_end:
            print(f"scale: {label}: time budget ({TIME_BUDGET:.0f}s) spent after {k} changes", file=sys.stderr)
            break
        i = rng.randrange(SERVICES)
        ip = new_ip(k)
        written_at = change(i, ip)
        try:
            seen = fedns.wait_answer(qname(i), ip, timeout=30, interval=0.0005)
        except TimeoutError:
            missed += 1
            continue
        written = written_at() if callable(written_at) else written_at
        if written is None:
            missed += 1
            continue
        delays.append((seen - written) * 1000)
    return delays, missed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_api(workdir: str) -> tuple[subprocess.Popen, Control, str]:
    kubeconfig = os.path.join(workdir, "kubeconfig")
    control_path = os.path.join(workdir, "kubeapi.sock")
    ready = os.path.join(workdir, "kubeapi.ready")
    log = open(os.path.join(workdir, "kubeapi.log"), "w")
    proc = subprocess.Popen(["taskset", "-c", CLIENT_CPU, sys.executable, "-m", "tests.kubeapi",
                             "--services", str(SERVICES), "--endpoints", str(ENDPOINTS), "--nodes", str(NODES),
                             "--dir", os.path.join(workdir, "kubeapi"), "--write-kubeconfig", kubeconfig,
                             "--control", control_path, "--ready-file", ready, "--bookmark-interval", "60"],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"test API server did not start: {tail(log.name, 10)}")
        time.sleep(0.2)
    return proc, Control(control_path), kubeconfig


def wait_relisted(control: Control, since: float, timeout: float = 120) -> None:
    """Until fedns has listed Services and EndpointSlices again and reopened both watches."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = control.request_log(since)
        watched = {r for r in ("services", "endpointslices")
                   if any(r in e["path"] and "watch=" in e["path"] and e["code"] == 200 for e in log)}
        listed = {r for r in ("services", "endpointslices")
                  if any(r in e["path"] and "watch=" not in e["path"] and e["code"] == 200 for e in log)}
        if watched == listed == {"services", "endpointslices"}:
            return
        time.sleep(0.05)
    raise TimeoutError(f"fedns did not relist within {timeout}s")


def api_phase(binary: str, workdir: str, queries: str, results: dict) -> None:
    api, control, kubeconfig = start_api(workdir)
    print(f"scale: test API server up: {control.count('services')} services, "
          f"{control.count('endpointslices')} endpointslices", file=sys.stderr)
    fedns = None
    try:
        fedns = FednsProcess(binary, ["--kubeconfig", kubeconfig], workdir)
        last = SERVICES - 1
        synced = fedns.wait_answer(qname(last), objects.nth_address("10.96.0.0/12", last + 1), timeout=120)
        results["first_sync_s"] = synced - fedns.started
        time.sleep(2)
        results["rss_mb"] = memory_kb(fedns.proc.pid)["VmRSS"] / 1024
        if reset_peak(fedns.proc.pid):
            since = time.monotonic()
            control.expire_watches()
            wait_relisted(control, since)
            time.sleep(1)
            results["relist_peak_mb"] = memory_kb(fedns.proc.pid)["VmHWM"] / 1024
        else:
            results["notes"].append("relist peak not measured: /proc/PID/clear_refs not writable (needs root)")
        load = Load(fedns.address, queries, workdir)
        time.sleep(1)

        def change(i: int, ip: str):
            ns, name = service_name(i)
            rv = control.put(objects.service(ns, name, ip))
            return lambda: control.written_at(rv, 10)
        delays, missed = measure_changes(fedns, change, "API")
        results["rss_loaded_mb"] = memory_kb(fedns.proc.pid)["VmRSS"] / 1024
        results["load_api"] = load.stop()
        results["api_delays"], results["api_missed"] = delays, missed
    except Exception as e:
        results["notes"].append(f"API source: {str(e).splitlines()[0]}")
        print(f"scale: API phase: {e}", file=sys.stderr)
    finally:
        if fedns:
            fedns.stop()
        control.close()
        api.send_signal(signal.SIGTERM)
        api.wait(30)


def file_phase(binary: str, workdir: str, queries: str, results: dict) -> None:
    print("scale: writing the state file", file=sys.stderr)
    items: list[bytes] = []
    index: dict[tuple[str, str], int] = {}
    for obj in objects.cluster(SERVICES, ENDPOINTS, nodes=NODES):
        obj["metadata"].pop("managedFields", None)     # kubectl get -o json leaves them out
        if obj["kind"] == "Service":
            index[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = len(items)
        items.append(json.dumps(obj, separators=(",", ":")).encode())
    path = os.path.join(workdir, "cluster.json")

    def write() -> float:
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b'{"apiVersion":"v1","items":[' + b",".join(items) + b'],"kind":"List","metadata":{"resourceVersion":""}}')
        os.replace(tmp, path)
        return time.monotonic()
    write()
    results["file_mb"] = os.path.getsize(path) / 1e6
    fedns = None
    try:
        fedns = FednsProcess(binary, ["--cluster-state", path], workdir)
        last = SERVICES - 1
        loaded = fedns.wait_answer(qname(last), objects.nth_address("10.96.0.0/12", last + 1), timeout=300)
        results["file_first_answer_s"] = loaded - fedns.started
        time.sleep(2)
        results["file_rss_mb"] = memory_kb(fedns.proc.pid)["VmRSS"] / 1024
        load = Load(fedns.address, queries, workdir)
        time.sleep(1)

        def change(i: int, ip: str) -> float:
            ns, name = service_name(i)
            changed = objects.service(ns, name, ip)
            changed["metadata"].pop("managedFields", None)
            items[index[(ns, name)]] = json.dumps(changed, separators=(",", ":")).encode()
            return write()
        delays, missed = measure_changes(fedns, change, "file")
        results["file_rss_loaded_mb"] = memory_kb(fedns.proc.pid)["VmRSS"] / 1024
        results["load_file"] = load.stop()
        results["file_delays"], results["file_missed"] = delays, missed
    except Exception as e:
        results["notes"].append(f"file source: {str(e).splitlines()[0]}")
        print(f"scale: file phase: {e}", file=sys.stderr)
    finally:
        if fedns:
            fedns.stop()


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= target else "NOT met"


def report(results: dict) -> str:
    coredns_mb = (ENDPOINTS + SERVICES) / 1000 + 54
    rows = ["| measure | fedns | target | |", "| --- | ---: | ---: | --- |"]

    def row(label: str, value: float | None, unit: str, fmt: str, target_key: str) -> None:
        shown = "—" if value is None else f"{value:{fmt}} {unit}"
        rows.append(f"| {label} | {shown} | ≤ {TARGETS[target_key]:g} {unit} | {verdict(value, TARGETS[target_key])} |")
    if "api" in PHASES:
        row("API: start → first sync", results.get("first_sync_s"), "s", ".2f", "first_sync_s")
        row("API: resident after sync", results.get("rss_mb"), "MB", ".1f", "rss_mb")
        row("API: resident peak during relist (410)", results.get("relist_peak_mb"), "MB", ".1f", "relist_peak_mb")
    for source, key in (("API", "api"), ("file", "file")):
        if key not in PHASES:
            continue
        delays = results.get(f"{key}_delays")
        if delays:
            p50, p99 = statistics.median(delays), percentile(delays, 0.99)
            rows.append(f"| {source}: event → answer, median | {p50:.1f} ms | | |")
            row(f"{source}: event → answer, p99 ({len(delays)} changes, {results[f'{key}_missed']} missed)",
                p99, "ms", ".1f", f"{key}_p99_ms")
        else:
            row(f"{source}: event → answer, p99", None, "ms", ".1f", f"{key}_p99_ms")
    rows.append(f"| CoreDNS sizing formula, (pods + services) / 1000 + 54 | {coredns_mb:.0f} MB | | |")
    lines = rows + [""]
    lines.append(f"{SERVICES} Services, {ENDPOINTS} endpoints ({SERVICES} EndpointSlices), {NODES} nodes; fedns on "
                 f"CPU {SERVER_CPU}, dnsperf ({RATE} q/s of cluster names), the test API server and the poller on "
                 f"CPU {CLIENT_CPU}.")
    for key, source, rss in (("load_api", "API", "rss_loaded_mb"), ("load_file", "file", "file_rss_loaded_mb")):
        load = results.get(key)
        if load:
            rate = load["completed"] / load["seconds"] if load["seconds"] else 0
            lines.append(f"Load during the {source} changes: {load['sent']} queries sent, {load['completed']} answered "
                         f"({rate:.0f}/s), {load['lost']} lost; resident at their end {results[rss]:.1f} MB.")
    if "file_first_answer_s" in results:
        lines.append(f"File source: {results['file_mb']:.1f} MB state file; start → first answer "
                     f"{results['file_first_answer_s']:.2f} s; resident after load {results['file_rss_mb']:.1f} MB.")
    for note in results["notes"]:
        lines.append(f"Not measured: {note}")
    return "\n".join(lines) + "\n"


def main() -> int:
    for tool in ("dnsperf", "taskset"):
        if not shutil.which(tool):
            print(f"scale: {tool} missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1
    binary = os.environ.get("FEDNS_BIN") or os.path.join(REPO, ".build", "release", "fedns")
    if not os.access(binary, os.X_OK):
        print(f"scale: no fedns binary at {binary}", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="fedns-scale-")
    queries = os.path.join(work, "queries.txt")
    names = [f"{qname(i)} A" for i in range(SERVICES)]
    random.Random(1).shuffle(names)
    with open(queries, "w") as f:
        f.write("\n".join(names) + "\n")
    results: dict = {"notes": []}
    try:
        if "api" in PHASES:
            api_phase(binary, work, queries, results)
        if "file" in PHASES:
            file_phase(binary, work, queries, results)
    finally:
        if not os.environ.get("SCALE_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    text = report(results)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "scale.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if not results["notes"] else 1


if __name__ == "__main__":
    sys.exit(main())
