"""Instructions and mallocs per query on each path a pod's queries take, counted by callgrind.

callgrind counts the instructions a process executes in user space the same way on every run,
whatever else the machine is doing, so unlike CPU time the figure is stable on a shared machine.
The server runs under `valgrind --tool=callgrind`; for each path its queries are first sent once
unmeasured (fedns renders answers lazily and the cache fills), then the counters are zeroed
(`callgrind_control -z`), the same queries are sent again one at a time (one outstanding: every
wake-up reads one datagram, so the count does not depend on timing), and the counters are dumped
(`callgrind_control -d`) and divided by the number of queries. Paths:

- cluster: Service names, answered from the pre-rendered table;
- negative: cluster-zone NXDOMAIN (an external name as its first `ndots:5` candidate) and NODATA
  (AAAA of an IPv4-only Service);
- cache-hit: forwarded names answered from the cache;
- cache-miss: unique forwarded names, each sent to the upstream (Knot, outside the count).

As a check (`--check BASELINE`, what scripts/test.sh runs against the debug build) it fails when
the instructions per query of a guarded path (cluster, cache-hit) rise more than 25 % over the
committed baseline; `--update BASELINE` rewrites the baseline from this run. `bench/run.py` uses
`measure` for its instructions-per-query table, for fedns and Unbound alike.

Usage: python3 bench/callgrind.py [--binary BIN] [--queries N] [--check FILE | --update FILE]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import gen  # noqa: E402

PATHS = ["cluster", "negative", "cache-hit", "cache-miss"]
GUARDED = ["cluster", "cache-hit"]
ALLOWED_RISE = 0.25
MALLOC_NAMES = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"}
VALGRIND = ["valgrind", "--tool=callgrind", "--dump-instr=no", "--collect-jumps=no"]


def valgrind_prefix(work: str) -> list[str]:
    """The command prefix that runs a server under callgrind, with the sigsuspend shim preloaded
    (libdispatch's sigsuspend crashes valgrind 3.19 otherwise; see bench/sigsuspend-shim.c)."""
    shim = os.path.join(work, "sigsuspend-shim.so")
    if not os.path.exists(shim):
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", shim, os.path.join(HERE, "sigsuspend-shim.c")], check=True)
    return ["env", f"LD_PRELOAD={shim}", *VALGRIND, f"--callgrind-out-file={work}/callgrind.out"]


def without_debug_info(binary: str, work: str) -> str:
    """A copy of `binary` without DWARF: valgrind 3.19 cannot read what Swift 6's clang writes and
    gives up; the symbol table stays, so profiles still name functions."""
    copy = os.path.join(work, os.path.basename(binary) + "-nodebug")
    subprocess.run(["objcopy", "--strip-debug", binary, copy], check=True)
    return copy


DISTINCT = 100   # names per path (but cache-miss): a warm-up asks each once


def path_queries(path: str, count: int, services: int, seed: int = 0) -> list[tuple[str, str]]:
    """`count` (name, type) pairs for `path`, cycling through DISTINCT of the path's names
    (cache-miss: `count` unique names, a different set for each `seed`)."""
    if path == "cluster":
        lines = gen.cluster_queries(services).split("\n")
    elif path == "negative":
        lines = gen.negative_queries(services).split("\n")
    elif path == "cache-hit":
        lines = gen.forward_queries().split("\n")
    else:
        lines = gen.miss_queries(count, seed=os.getpid() * 10 + seed).split("\n")
    pairs = [tuple(line.split()) for line in lines if line]
    if path != "cache-miss":
        pairs = pairs[:DISTINCT]
    return [pairs[i % len(pairs)] for i in range(count)]


def ask_all(client: socket.socket, server: tuple[str, int], queries: list[tuple[str, str]], path: str) -> None:
    """Sends each query and waits for its answer (one outstanding); a wrong answer is an error."""
    for i, (name, rdtype) in enumerate(queries):
        query = dns.message.make_query(name, rdtype, use_edns=False)
        query.id = i & 0xFFFF
        client.sendto(query.to_wire(), server)
        while True:
            data, source = client.recvfrom(65535)
            reply = dns.message.from_wire(data)
            if source == server and reply.id == query.id:
                break
        expected = {"NOERROR", "NXDOMAIN"} if path == "negative" else {"NOERROR"}
        if dns.rcode.to_text(reply.rcode()) not in expected or (path != "negative" and not reply.answer):
            raise RuntimeError(f"{path}: {name} {rdtype} answered {dns.rcode.to_text(reply.rcode())} "
                               f"with {len(reply.answer)} answer RRsets")


def control(option: str, pid: int) -> None:
    out = subprocess.run(["callgrind_control", option, str(pid)], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"callgrind_control {option} {pid}: {out.stdout}{out.stderr}")


def read_dump(path: str) -> tuple[int, int]:
    """(instructions, calls to malloc and its kin) in one callgrind dump.

    The instructions are the dump's `summary:` line, the events counted since the counters were
    zeroed. Its `totals:` line (the sum of every cost line) is no measure: in a dump of fedns it
    also carries costs that `callgrind_control -z` does not clear (one seen: 17 million instructions
    in the first dump after start-up, 2.6 million in a later one, attributed to libswiftCore
    functions no call reaches), the same whether the pass asked 250 or 1,000 queries, so a
    per-query figure from it depended on the number of queries. `totals:` serves only a dump
    without a summary."""
    names: dict[str, str] = {}
    callee = ""
    summary = totals = mallocs = 0
    with open(path) as f:
        for line in f:
            if line.startswith(("cfn=", "cfni=")):
                m = re.match(r"cfni?=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    callee = names.get(m.group(1), "")
                else:
                    callee = line.split("=", 1)[1].strip()
            elif line.startswith(("fn=", "fni=")):
                m = re.match(r"fni?=\((\d+)\) (.*)", line.rstrip("\n"))
                if m:
                    names[m.group(1)] = m.group(2)
            elif line.startswith("calls="):
                if callee in MALLOC_NAMES:
                    mallocs += int(line[6:].split()[0])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
            elif line.startswith("totals:"):
                totals = int(line.split()[1])
    return summary or totals, mallocs


def measure(start, upstream: tuple[str, int], queries: int = 2000, services: int = 1000,
            paths: list[str] = PATHS, keep: str | None = None) -> dict[str, dict[str, float]]:
    """Per path: instructions and mallocs per query of the server `start(prefix, work)` runs under
    callgrind (`prefix` goes before its command; `work` is a scratch directory, for
    `without_debug_info`)."""
    work = tempfile.mkdtemp(prefix="fedns-callgrind-")
    server = start(valgrind_prefix(work), work)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(30)
    # One client socket throughout: SO_REUSEPORT sends its datagrams to the same listener socket,
    # so the measured pass meets the table the warm-up filled.
    client.bind(("127.0.0.1", 0))
    counts: dict[str, dict[str, float]] = {}
    try:
        for path in paths:
            batch = path_queries(path, queries, services)
            # Each name once: renders the pre-rendered answers and fills the cache and the listener's table.
            warm = path_queries(path, min(queries, 200), services, seed=1) if path == "cache-miss" else list(dict.fromkeys(batch))
            ask_all(client, server.address, warm, path)
            control("-z", server.pid)
            ask_all(client, server.address, batch, path)
            before = set(glob.glob(f"{work}/callgrind.out*"))
            control("-d", server.pid)
            dumps = sorted(set(glob.glob(f"{work}/callgrind.out*")) - before, key=os.path.getmtime)
            if not dumps:
                raise RuntimeError("callgrind wrote no dump")
            instructions, mallocs = read_dump(dumps[-1])
            if keep:
                os.makedirs(keep, exist_ok=True)
                shutil.copy(dumps[-1], os.path.join(keep, f"callgrind.out.{path}"))
            counts[path] = {"instructions": instructions / len(batch), "mallocs": mallocs / len(batch)}
            print(f"callgrind: {path}: {counts[path]['instructions']:,.0f} instructions, "
                  f"{counts[path]['mallocs']:.2f} mallocs per query", file=sys.stderr)
    finally:
        client.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return counts


def compare(counts: dict, baseline: dict, name: str = "baseline") -> tuple[list[str], bool]:
    """One line per guarded path, and whether any rose more than ALLOWED_RISE over `baseline`.
    A guarded path missing from either side fails: the guard must not pass by measuring nothing."""
    lines, failed = [], False
    for path in GUARDED:
        if path not in counts or path not in baseline:
            lines.append(f"FAIL {path}: no figure {'measured' if path not in counts else 'in ' + name}")
            failed = True
            continue
        rise = counts[path]["instructions"] / baseline[path]["instructions"] - 1
        failed |= rise > ALLOWED_RISE
        lines.append(f"{'FAIL' if rise > ALLOWED_RISE else 'ok'} {path}: {counts[path]['instructions']:,.0f} instructions/query "
                     f"against {baseline[path]['instructions']:,.0f} in {name} ({rise * 100:+.1f} %, limit +{ALLOWED_RISE * 100:.0f} %)")
    return lines, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.environ.get("FEDNS_BIN") or os.path.join(REPO, ".build", "debug", "fedns"))
    parser.add_argument("--queries", type=int, default=500, help="queries per path (default 500)")
    parser.add_argument("--services", type=int, default=100,
                        help="ClusterIP services in the state (default 100: start-up under valgrind is slow)")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--keep", metavar="DIR", help="keep each path's dump as DIR/callgrind.out.PATH (for callgrind_annotate)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="BASELINE", help="fail when a guarded path rose more than 25 %% over it")
    group.add_argument("--update", metavar="BASELINE", help="write this run's figures as the baseline")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "knotd", "cc", "objcopy"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"callgrind: {tool} missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1
    # Swift seeds its hashing per process; a fixed seed makes dictionary probing, and so the count, repeatable.
    os.environ["SWIFT_DETERMINISTIC_HASHING"] = "1"
    from run import fedns_config
    from servers import Fedns, Knot

    knot = Knot({gen.FORWARD_ZONE: gen.forward_zone(miss_wildcard=True)}).start()
    try:
        def start(prefix, work):
            return Fedns(fedns_config(knot.address), gen.state_yaml(args.services), prefix=prefix,
                         binary=without_debug_info(os.path.abspath(args.binary), work),
                         extra_args=["--mode", "node-local", "--node-name", "bench-node"]).start(timeout=900)
        paths = args.paths.split(",")
        if args.check:
            paths = [p for p in paths if p in GUARDED]
        counts = measure(start, knot.address, queries=args.queries, services=args.services, paths=paths, keep=args.keep)
    finally:
        knot.stop()
    for path, c in counts.items():
        print(f"{path}: {c['instructions']:,.0f} instructions/query, {c['mallocs']:.2f} mallocs/query")
    if args.update:
        with open(args.update, "w") as f:
            json.dump({"binary": os.path.relpath(os.path.abspath(args.binary), REPO), "queries": args.queries,
                       "services": args.services,
                       "paths": {p: {k: round(v, 1) for k, v in c.items()} for p, c in counts.items()}}, f, indent=2)
            f.write("\n")
        print(f"callgrind: baseline written to {args.update}")
    if args.check:
        with open(args.check) as f:
            lines, failed = compare(counts, json.load(f)["paths"], os.path.basename(args.check))
        print("\n".join(lines))
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
