#!/usr/bin/env bash
# Soak (not a test): fedns in front of Knot for 10 minutes (--minutes N) at 80 % of the saturation it
# measures first, on pod-like traffic (ndots:5 search walks, services, flipping federated shards,
# cache misses); checks the query accounting, flat memory and no descriptor growth (bench/soak.py).
# Env: FEDNS_BIN (default: .build/release/fedns, built here when missing). Run it alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -z "${FEDNS_BIN:-}" ]; then
    swift build -c release --product fedns
fi
exec python3 bench/soak.py "$@"
