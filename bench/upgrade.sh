#!/usr/bin/env bash
# Upgrades under load (not a test): 10,000 q/s of mixed queries (dnsperf) while fedns is replaced 10 times
# through --handoff-socket; prints sent, answered, lost and SERVFAIL and fails unless 0 lost, 0 SERVFAIL
# (bench/upgrade.py; --rate, --replacements, --interval). Env: FEDNS_BIN (default: .build/release/fedns,
# built here when missing). Run it alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -z "${FEDNS_BIN:-}" ]; then
    swift build -c release --product fedns
    export FEDNS_BIN="$PWD/.build/release/fedns"
fi
exec python3 bench/upgrade.py "$@"
