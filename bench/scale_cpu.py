"""CPU time fedns spends on one change of a big state file (not a test; see bench/README.md).

The same cluster and the same changes as bench/scale.py's file phase (10,000 Services, 50,000
endpoints as a `kubectl get -o json` List; each change one Service's ClusterIP, a rewrite and a
rename), without any query load: for each change, fedns's utime + stime (/proc/PID/stat) from before
the rename to the changed answer, and to 2.5 s later (the settle polls that follow a change
included), minus what an idle 2.5 s costs. CPU time, not wall time: it holds while other work runs on
the machine. Also VmRSS after the first load and after the changes.

Environment: SERVICES (10000), ENDPOINTS (50000), CPU_CHANGES (10), FEDNS_BIN (.build/release/fedns).
Prints a markdown table.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scale  # noqa: E402
from scale import FednsProcess, memory_kb, new_ip, objects, qname, service_name  # noqa: E402

CHANGES = int(os.environ.get("CPU_CHANGES", "10"))
SETTLE = 2.5


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    binary = os.environ.get("FEDNS_BIN", os.path.join(scale.REPO, ".build", "release", "fedns"))
    workdir = tempfile.mkdtemp(prefix="fedns-scale-cpu-")
    items: list[bytes] = []
    index: dict[tuple[str, str], int] = {}
    for obj in objects.cluster(scale.SERVICES, scale.ENDPOINTS, nodes=scale.NODES):
        obj["metadata"].pop("managedFields", None)
        if obj["kind"] == "Service":
            index[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = len(items)
        items.append(json.dumps(obj, separators=(",", ":")).encode())
    path = os.path.join(workdir, "cluster.json")

    def write() -> None:
        with open(path + ".tmp", "wb") as f:
            f.write(b'{"apiVersion":"v1","items":[' + b",".join(items) + b'],"kind":"List","metadata":{"resourceVersion":""}}')
        os.replace(path + ".tmp", path)
    write()
    fedns = FednsProcess(binary, ["--cluster-state", path], workdir)
    try:
        last = scale.SERVICES - 1
        fedns.wait_answer(qname(last), objects.nth_address("10.96.0.0/12", last + 1), timeout=300)
        time.sleep(SETTLE)
        pid = fedns.proc.pid
        rss_loaded = memory_kb(pid)["VmRSS"] / 1024
        before = cpu_seconds(pid)
        time.sleep(SETTLE)
        idle = cpu_seconds(pid) - before
        to_answer: list[float] = []
        total: list[float] = []
        for k in range(CHANGES):
            i = (k * 7919) % scale.SERVICES
            ns, name = service_name(i)
            changed = objects.service(ns, name, new_ip(k))
            changed["metadata"].pop("managedFields", None)
            items[index[(ns, name)]] = json.dumps(changed, separators=(",", ":")).encode()
            before = cpu_seconds(pid)
            write()
            fedns.wait_answer(qname(i), new_ip(k), timeout=60, interval=0.01)
            to_answer.append(cpu_seconds(pid) - before)
            time.sleep(SETTLE)
            total.append(cpu_seconds(pid) - before - idle)
        rss_after = memory_kb(pid)["VmRSS"] / 1024
    finally:
        fedns.stop()
    print(f"| measure ({scale.SERVICES} Services, {scale.ENDPOINTS} endpoints, {os.path.getsize(path) / 1e6:.1f} MB, "
          f"{CHANGES} changes) | value |")
    print("| --- | --- |")
    print(f"| CPU per change, rename → answer (median, max) | {statistics.median(to_answer):.3f} s, {max(to_answer):.3f} s |")
    print(f"| CPU per change with the settle polls, idle subtracted (median) | {statistics.median(total):.3f} s |")
    print(f"| CPU of an idle {SETTLE} s | {idle:.3f} s |")
    print(f"| VmRSS after the first load, after the changes | {rss_loaded:.1f} MB, {rss_after:.1f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
