#!/usr/bin/env bash
# Benchmark (not a test): CPU per answered query, fedns against Unbound, same 1,000 services and
# a forwarded zone served by Knot. Prints a markdown table and writes it to bench-out/results.md.
# Env: RATE (dnsperf -Q, 20000), DURATION (-l, 10), SERVICES (1000), SERVERS ("unbound fedns"),
#      FEDNS_BIN (default: .build/release/fedns, built here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [[ " ${SERVERS:-unbound fedns} " == *" fedns "* ]] && [ -z "${FEDNS_BIN:-}" ]; then
    swift build -c release --product fedns
fi
exec python3 bench/run.py
