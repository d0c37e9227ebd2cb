#!/usr/bin/env bash
# Benchmark (not a test): fedns at the scale of a big cluster, 10,000 Services and 50,000 endpoints,
# from the Kubernetes API (the test API server, tests/kubeapi) and from a state file. Prints start →
# first sync, resident memory after sync and at the peak of a relist after 410, event → answer delay
# (median, p99) under 10,000 q/s for both sources, the CoreDNS sizing formula and the targets; writes
# the table to bench-out/scale.md (bench/scale.py). Run it alone on the machine, as root (the relist
# peak resets VmHWM through /proc/PID/clear_refs).
# Env: SERVICES (10000), ENDPOINTS (50000), CHANGES (500), RATE (10000), PHASES ("api file"),
#      TIME_BUDGET (600 s per change phase), FEDNS_BIN (default .build/release/fedns, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -z "${FEDNS_BIN:-}" ]; then
    swift build -c release --product fedns
fi
exec python3 bench/scale.py "$@"
